//! Profiles of signed XML documents, as data (`profiles/xml.toml`, or a
//! procedure's policy): which signatures a document must carry, by role
//! (the element that holds the `Signature`), which elements each role's
//! signature must cover, and which element holds an identity that must be
//! the signer's. kyso checks those facts itself on the parsed tree — never
//! "some reference verified" — so that the element an application reads is
//! the one that was signed.
//!
//! Paths are element local names joined by `/`, matched as a suffix of an
//! element's path from the root: `HDon/DLHDon` is a `DLHDon` whose parent
//! is `HDon`, under any wrapper (`TDiep/DLieu/HDon/DLHDon`). A path must
//! name exactly one element of the document: none is a missing element, two
//! an ambiguous one (an added look-alike is the usual wrapping attack).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uppsala::{Document, NodeId};

use super::dsig::{RefStatus, SigOutcome};
use super::{alg, child_elements, is, text_of};

/// A document profile.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XmlProfile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The profile applies on its own to documents whose root element path
    /// ends with one of these (e.g. `HDon`, `TDiep/DLieu/HDon`).
    #[serde(default)]
    pub detect_roots: Vec<String>,
    /// Attribute names (no namespace) registered as IDs besides `Id`, `ID`,
    /// `id` and `xml:id`.
    #[serde(default)]
    pub id_attributes: Vec<String>,
    pub roles: Vec<Role>,
}

/// One role's signature.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Stable name (`seller`, `tax_authority`, `applicant`).
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    /// Path of the element holding this role's `Signature` (`HDon/DSCKS/NBan`).
    /// Empty: any signature of the document plays this role.
    #[serde(default)]
    pub signature_parent: String,
    /// Elements the signature must cover.
    #[serde(default)]
    pub must_sign: Vec<String>,
    /// The signature must cover its own `SigningTime` (in its `Object`s).
    #[serde(default)]
    pub must_sign_signing_time: bool,
    /// `always`, `never`, or `if:PATH` (required when that element exists).
    #[serde(default = "always")]
    pub required: String,
    /// An element whose text must be an identity of the signer's certificate.
    #[serde(default)]
    pub identity: Option<IdentityRule>,
}

fn always() -> String {
    "always".into()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRule {
    pub element: String,
    /// `MST`, `CCCD`, … (as in certificate identities).
    pub kind: String,
}

#[derive(Deserialize)]
struct ProfileFile {
    profile: Vec<XmlProfile>,
}

/// The built-in profiles (`profiles/xml.toml`).
pub fn builtin() -> Vec<XmlProfile> {
    parse_profiles(include_str!("../../profiles/xml.toml")).unwrap_or_default()
}

/// Profiles from TOML text (`[[profile]]` tables).
pub fn parse_profiles(text: &str) -> Result<Vec<XmlProfile>, String> {
    toml::from_str::<ProfileFile>(text)
        .map(|f| f.profile)
        .map_err(|e| e.to_string())
}

/// The profile to check signed XML against, from a name (`auto`, `none`,
/// a built-in one or one of `extra`), e-form elements that must be signed
/// and an identity element written `PATH=KIND`: what `kyso verify
/// --profile` and a procedure's policy (`xml_profile`, `xml_must_sign`,
/// `xml_identity_element`) say. `auto` with elements named means `e-form`.
pub fn choice(
    name: &str,
    extra: Vec<XmlProfile>,
    must_sign: &[String],
    identity: Option<&str>,
) -> Result<crate::core::XmlProfileChoice, String> {
    use crate::core::XmlProfileChoice;
    let identity = match identity {
        Some(s) => {
            let (path, kind) = s.rsplit_once('=').ok_or_else(|| {
                format!(
                    "identity element {s:?} is not PATH=KIND (e.g. ToKhai/NguoiNop/SoCCCD=CCCD)"
                )
            })?;
            if path.is_empty() || kind.is_empty() {
                return Err(format!("identity element {s:?} is not PATH=KIND"));
            }
            Some(IdentityRule {
                element: path.to_string(),
                kind: kind.to_ascii_uppercase(),
            })
        }
        None => None,
    };
    let chosen = match name {
        "auto" if must_sign.is_empty() && identity.is_none() => return Ok(XmlProfileChoice::Auto),
        "none" => return Ok(XmlProfileChoice::None),
        "auto" => "e-form",
        n => n,
    };
    let mut p = extra
        .into_iter()
        .chain(builtin())
        .find(|p| p.name == chosen)
        .ok_or_else(|| format!("no XML profile named {chosen:?}"))?;
    for r in p.roles.iter_mut().filter(|r| r.required == "always") {
        r.must_sign.extend(must_sign.iter().cloned());
        if identity.is_some() {
            r.identity = identity.clone();
        }
    }
    Ok(XmlProfileChoice::Given(std::sync::Arc::new(p)))
}

/// Local-name path of an element, root first.
fn local_path(doc: &Document<'_>, n: NodeId) -> Vec<String> {
    let mut v = Vec::new();
    let mut cur = Some(n);
    while let Some(c) = cur {
        match doc.element(c) {
            Some(e) => v.push(e.name.local_name.to_string()),
            None => break,
        }
        cur = doc.parent(c);
        if v.len() > 10_000 {
            break;
        }
    }
    v.reverse();
    v
}

fn path_matches(path: &[String], pattern: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    if pattern.starts_with('/') {
        return path.len() == pat.len() && path.iter().zip(&pat).all(|(a, b)| a == b);
    }
    path.len() >= pat.len() && path.iter().rev().zip(pat.iter().rev()).all(|(a, b)| a == b)
}

/// The elements each path pattern names (at most 2 kept per pattern:
/// enough to say "ambiguous"), found in one walk of the document.
#[derive(Debug, Default)]
pub struct Found(HashMap<String, Vec<NodeId>>);

impl Found {
    pub fn get(&self, pattern: &str) -> &[NodeId] {
        self.0.get(pattern).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Every path a profile asks about.
pub fn patterns(p: &XmlProfile) -> Vec<String> {
    let mut v: Vec<String> = p.detect_roots.clone();
    for r in &p.roles {
        v.extend(r.must_sign.iter().cloned());
        if let Some(i) = &r.identity {
            v.push(i.element.clone());
        }
        if let Some(q) = r.required.strip_prefix("if:") {
            v.push(q.to_string());
        }
    }
    v.sort();
    v.dedup();
    v
}

/// Find every pattern's elements in one walk; when all patterns are
/// absolute, only the branches they can still match are walked.
pub fn find_many(doc: &Document<'_>, patterns: &[String]) -> Found {
    let pats: Vec<(bool, Vec<&str>)> = patterns
        .iter()
        .map(|p| {
            (
                p.starts_with('/'),
                p.split('/').filter(|s| !s.is_empty()).collect(),
            )
        })
        .collect();
    let prune = pats.iter().all(|(abs, _)| *abs);
    let mut found: HashMap<String, Vec<NodeId>> = HashMap::new();
    let mut path: Vec<NodeId> = Vec::new();
    let mut stack: Vec<(NodeId, usize)> = Vec::new();
    super::push_children(doc, doc.root(), &mut stack, |c| (c, 0));
    let name = |n: NodeId| doc.element(n).map(|e| e.name.local_name.as_ref());
    while let Some((n, depth)) = stack.pop() {
        let Some(local) = name(n) else { continue };
        path.truncate(depth);
        path.push(n);
        let len = path.len();
        let mut continues = false;
        for ((abs, pat), key) in pats.iter().zip(patterns) {
            if *abs && len < pat.len() {
                continues |= pat.get(depth) == Some(&local);
            }
            let hit = pat.last() == Some(&local)
                && len >= pat.len()
                && (!*abs || len == pat.len())
                && path
                    .iter()
                    .rev()
                    .zip(pat.iter().rev())
                    .all(|(a, b)| name(*a) == Some(*b));
            if hit {
                let e = found.entry(key.clone()).or_default();
                if e.len() < 2 {
                    e.push(n);
                }
            }
        }
        if !prune || continues {
            let next = depth.saturating_add(1);
            super::push_children(doc, n, &mut stack, |c| (c, next));
        }
    }
    Found(found)
}

/// Whether the profile applies by itself to this document: one of its
/// `detect_roots` (absolute paths such as `/HDon`) names an element.
pub fn detects(p: &XmlProfile, found: &Found) -> bool {
    p.detect_roots.iter().any(|r| !found.get(r).is_empty())
}

/// The role a signature plays: the first role whose `signature_parent`
/// matches the element holding it.
pub fn role_of<'p>(p: &'p XmlProfile, doc: &Document<'_>, sig: NodeId) -> Option<&'p Role> {
    let parent = doc.parent(sig)?;
    let pp = local_path(doc, parent);
    p.roles
        .iter()
        .find(|r| r.signature_parent.is_empty() || path_matches(&pp, &r.signature_parent))
}

/// Whether a role must be present in this document.
pub fn required(r: &Role, found: &Found) -> bool {
    match r.required.as_str() {
        "always" => true,
        "never" => false,
        s => s
            .strip_prefix("if:")
            .is_some_and(|p| !found.get(p).is_empty()),
    }
}

/// Whether `a` is `n` or one of its ancestors.
fn ancestor_or_self(doc: &Document<'_>, a: NodeId, n: NodeId) -> bool {
    let mut cur = Some(n);
    let mut guard = 0usize;
    while let Some(c) = cur {
        if c == a {
            return true;
        }
        guard = guard.saturating_add(1);
        if guard > 100_000 {
            return false;
        }
        cur = doc.parent(c);
    }
    false
}

/// Whether element `e` is in the data of a verified reference of `sig`:
/// the reference's element is `e` or an ancestor (a whole-document
/// reference covers every element), and an enveloped-signature transform
/// does not remove it (the signature's own subtree).
pub fn covered(doc: &Document<'_>, sig: &SigOutcome, e: NodeId) -> bool {
    sig.references.iter().any(|r| {
        if r.status != RefStatus::Valid {
            return false;
        }
        let Some(s) = &r.signed else { return false };
        let Some(n) = s.node else { return false };
        let under = if s.whole_document {
            true
        } else {
            ancestor_or_self(doc, n, e)
        };
        let removed =
            r.transforms.iter().any(|t| t == alg::ENVELOPED) && ancestor_or_self(doc, sig.node, e);
        under && !removed
    })
}

/// The `SigningTime` elements under a signature's `Object`s, in document
/// order (at most 2 are collected: one is the rule, two are ambiguous).
pub fn signing_time_elements(doc: &Document<'_>, sig: NodeId) -> Vec<NodeId> {
    let mut found = Vec::new();
    let mut stack: Vec<NodeId> = child_elements(doc, sig)
        .filter(|k| is(doc, *k, super::DSIG, "Object"))
        .collect();
    stack.reverse();
    let mut budget = 100_000usize;
    while let Some(n) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        if doc
            .element(n)
            .is_some_and(|e| e.name.local_name == "SigningTime")
        {
            found.push(n);
            if found.len() > 1 {
                break;
            }
            continue;
        }
        let mut kids: Vec<NodeId> = child_elements(doc, n).collect();
        kids.reverse();
        stack.extend(kids);
    }
    found
}

/// The text of the one element `pattern` names, if exactly one.
pub fn single_text(doc: &Document<'_>, found: &Found, pattern: &str) -> Option<(NodeId, String)> {
    match found.get(pattern) {
        [n] => Some((*n, text_of(doc, *n).trim().to_string())),
        _ => None,
    }
}
