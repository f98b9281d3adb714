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

/// A built-in profile by name.
pub fn named(name: &str) -> Option<XmlProfile> {
    builtin().into_iter().find(|p| p.name == name)
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

/// Every element whose path matches `pattern` (at most 2 are collected:
/// enough to say "ambiguous").
pub fn find(doc: &Document<'_>, pattern: &str) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut stack = vec![doc.root()];
    while let Some(n) = stack.pop() {
        if doc.element(n).is_some() && path_matches(&local_path(doc, n), pattern) {
            out.push(n);
            if out.len() > 1 {
                break;
            }
        }
        stack.extend(child_elements(doc, n));
    }
    out.sort_by_key(|n| n.index());
    out.dedup();
    out
}

/// Whether the profile applies by itself to this document: one of its
/// `detect_roots` (absolute paths such as `/HDon`) names an element.
pub fn detects(p: &XmlProfile, doc: &Document<'_>) -> bool {
    p.detect_roots.iter().any(|r| !find(doc, r).is_empty())
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
pub fn required(r: &Role, doc: &Document<'_>) -> bool {
    match r.required.as_str() {
        "always" => true,
        "never" => false,
        s => s
            .strip_prefix("if:")
            .is_some_and(|p| !find(doc, p).is_empty()),
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
pub fn single_text(doc: &Document<'_>, pattern: &str) -> Option<(NodeId, String)> {
    match find(doc, pattern).as_slice() {
        [n] => Some((*n, text_of(doc, *n).trim().to_string())),
        _ => None,
    }
}
