//! XMLDSig core processing (W3C XML Signature 1.1 §3.2), done by kyso on
//! the parsed tree: the structure of one `Signature`, its canonicalized
//! `SignedInfo`, every `Reference` dereferenced and transformed here (only
//! same-document references and caller-supplied detached data — never the
//! network or the file system), the keys `KeyInfo` offers. What the
//! signature *means* (signer, chain, indication) is judged by
//! [`crate::validate`].

use std::io::{BufRead, Read};

use bergshamra_c14n::{C14nMode, C14nSink, canonicalize_doc_to};
use bergshamra_xml::NodeSet;
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use uppsala::{Document, NodeId, NodeKind};

use super::{
    DSIG, DSIG11, XmlDoc, alg, attr, b64, child, child_elements, is, path_of, qname, text_of,
};
use crate::crypto::{DigestAlg, Digester};
use crate::error::Limits;

/// Exclusive C14N's parameter namespace.
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// RFC 6931 PSS parameters.
const PSS_NS: &str = "http://www.w3.org/2007/05/xmldsig-more#";

/// Data supplied by the caller for references outside the document.
pub struct Detached<'a> {
    /// The reference URI it stands for (or its last path segment).
    pub uri: &'a str,
    pub data: DetachedData<'a>,
}

/// A package part, opened when a reference reaches it: a reader of its
/// inflated bytes (which fails at its end when they are not what the
/// package's directory says).
pub trait PartSource: Sync {
    fn open(&self) -> Result<Box<dyn std::io::BufRead + '_>, String>;
}

/// How a detached package part is reached.
pub type Opener<'a> = &'a dyn PartSource;

/// The bytes of a detached reference: given, or a package part opened
/// only when a reference reaches it (so that a package is never held
/// inflated whole).
pub enum DetachedData<'a> {
    Bytes(&'a [u8]),
    /// A part of a ZIP package (OPC, ODF): matched by its part name only
    /// (the reference URI's query dropped, a leading `/` and
    /// percent-escapes resolved, ASCII case ignored — OPC part names are
    /// case-insensitive, and the package reader refuses names that fold
    /// together), never by a last path segment.
    Part(Opener<'a>),
}

impl<'a> Detached<'a> {
    pub fn bytes(uri: &'a str, data: &'a [u8]) -> Self {
        Detached {
            uri,
            data: DetachedData::Bytes(data),
        }
    }

    pub fn part(name: &'a str, open: Opener<'a>) -> Self {
        Detached {
            uri: name,
            data: DetachedData::Part(open),
        }
    }

    fn load(&self) -> Result<Vec<u8>, RefStatus> {
        match &self.data {
            DetachedData::Bytes(b) => Ok(b.to_vec()),
            DetachedData::Part(_) => {
                let mut r = self.reader()?;
                let mut v = Vec::new();
                r.read_to_end(&mut v)
                    .map_err(|e| RefStatus::NotFound(format!("{}: {e}", self.uri)))?;
                Ok(v)
            }
        }
    }

    fn reader(&self) -> Result<Box<dyn std::io::BufRead + 'a>, RefStatus> {
        match &self.data {
            DetachedData::Bytes(b) => Ok(Box::new(*b)),
            DetachedData::Part(src) => src
                .open()
                .map_err(|e| RefStatus::NotFound(format!("{}: {e}", self.uri))),
        }
    }

    fn is_part(&self) -> bool {
        matches!(self.data, DetachedData::Part(_))
    }
}

/// The part name a package reference URI names: the query (OPC's
/// `?ContentType=`) dropped, percent-escapes resolved, a leading `/`
/// removed. `None` for what cannot name a part (a fragment, a scheme).
pub fn part_name_of(uri: &str) -> Option<String> {
    let path = uri.split('?').next().unwrap_or(uri);
    if path.is_empty() || path.contains('#') || path.contains(':') {
        return None;
    }
    let decoded = percent_decode(path)?;
    Some(decoded.trim_start_matches('/').to_string())
}

/// `%XX` escapes resolved (UTF-8); `None` when malformed.
pub fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0usize;
    while let Some(c) = b.get(i) {
        if *c == b'%' {
            let hex = b.get(i.saturating_add(1)..i.saturating_add(3))?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(v);
            i = i.saturating_add(3);
        } else {
            out.push(*c);
            i = i.saturating_add(1);
        }
    }
    String::from_utf8(out).ok()
}

/// The element a reference's data starts at.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SignedNode {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The whole document (URI="" or `#xpointer(/)`), minus what the
    /// transforms removed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub whole_document: bool,
    /// Data supplied by the caller (a detached reference).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub detached: bool,
    #[serde(skip)]
    pub node: Option<NodeId>,
}

/// Why a reference did not verify.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(
    tag = "status",
    content = "detail",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum RefStatus {
    Valid,
    DigestMismatch,
    /// The URI points at nothing in the document and nothing supplied.
    NotFound(String),
    /// A transform or digest kyso does not run (XSLT, XPath, …).
    Unsupported(String),
    Malformed(String),
}

/// One `Reference`, processed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RefOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ref_type: Option<String>,
    pub transforms: Vec<String>,
    pub digest_algorithm: String,
    #[serde(skip)]
    pub digest_alg: Option<DigestAlg>,
    #[serde(flatten)]
    pub status: RefStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<SignedNode>,
    /// SHA-256 of the exact bytes digested (after the transforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digested_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digested_bytes: Option<u64>,
    /// An OPC RelationshipTransform's selection: the relationships of the
    /// part this reference signs (by Id, or by Type); the others are not
    /// signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationships: Option<RelSelection>,
    /// The relationships part matched in libxmlsec's legacy form of the
    /// RelationshipTransform (LibreOffice's OOXML signatures), not the
    /// standard's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub legacy_relationship_transform: bool,
}

/// The relationships an OPC RelationshipTransform keeps (ISO/IEC 29500-2 §13.2.4.24).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelSelection {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// A key offered by `KeyInfo`.
pub enum OfferedKey {
    Cert(X509),
    /// A bare public key (KeyValue): it can check the mathematics but names no signer.
    Bare(PKey<Public>),
}

/// One `Signature` element, read and processed.
pub struct SigOutcome {
    pub node: NodeId,
    pub path: String,
    pub id: Option<String>,
    /// Structural problems: the signature cannot be processed.
    pub format_errors: Vec<String>,
    pub c14n_method: Option<String>,
    pub signature_method: Option<String>,
    /// The canonical SignedInfo: what the signature value is computed over.
    pub signed_info: Vec<u8>,
    pub signature_value: Vec<u8>,
    pub references: Vec<RefOutcome>,
    /// References of the Manifests the SignedInfo references sign.
    pub manifest_references: Vec<RefOutcome>,
    pub keys: Vec<OfferedKey>,
    /// KeyInfo forms seen that kyso does not take keys from (KeyName, RetrievalMethod, …).
    pub key_info_ignored: Vec<String>,
    /// The SignedInfo element and the signature value element (for XAdES).
    pub signed_info_node: Option<NodeId>,
    pub signature_value_node: Option<NodeId>,
}

/// Read and process one `Signature` element.
pub fn process(
    xd: &XmlDoc<'_>,
    sig: NodeId,
    detached: &[Detached<'_>],
    limits: &Limits,
) -> SigOutcome {
    let doc = &xd.doc;
    let mut out = SigOutcome {
        node: sig,
        path: path_of(doc, sig),
        id: attr(doc, sig, "Id").map(str::to_string),
        format_errors: Vec::new(),
        c14n_method: None,
        signature_method: None,
        signed_info: Vec::new(),
        signature_value: Vec::new(),
        references: Vec::new(),
        manifest_references: Vec::new(),
        keys: Vec::new(),
        key_info_ignored: Vec::new(),
        signed_info_node: None,
        signature_value_node: None,
    };
    // XMLDSig §4.1: SignedInfo, SignatureValue, KeyInfo?, Object*.
    let kids: Vec<NodeId> = child_elements(doc, sig).collect();
    let (si, sv) = match kids.as_slice() {
        [a, b, ..] if is(doc, *a, DSIG, "SignedInfo") && is(doc, *b, DSIG, "SignatureValue") => {
            (*a, *b)
        }
        _ => {
            out.format_errors
                .push("Signature must begin with SignedInfo then SignatureValue".into());
            return out;
        }
    };
    for k in kids.iter().skip(2) {
        let ok = is(doc, *k, DSIG, "KeyInfo") || is(doc, *k, DSIG, "Object");
        if !ok {
            out.format_errors.push(format!(
                "unexpected element {} in Signature",
                qname(doc, *k)
            ));
        }
    }
    if kids
        .iter()
        .filter(|k| is(doc, **k, DSIG, "KeyInfo"))
        .count()
        > 1
    {
        out.format_errors.push("more than one KeyInfo".into());
    }
    out.signed_info_node = Some(si);
    out.signature_value_node = Some(sv);
    // RSA signatures are a few KiB; the largest of any scheme (SLH-DSA,
    // refused later, but named as such) under 50 KiB.
    let sv_text = text_of(doc, sv);
    if sv_text.len() > 131_072 {
        out.format_errors.push(format!(
            "SignatureValue of {} characters (at most 131072)",
            sv_text.len()
        ));
        return out;
    }
    match b64(&sv_text) {
        Some(v) if !v.is_empty() => out.signature_value = v,
        _ => out
            .format_errors
            .push("SignatureValue is empty or not base64".into()),
    }

    // SignedInfo: CanonicalizationMethod, SignatureMethod, Reference+.
    let si_kids: Vec<NodeId> = child_elements(doc, si).collect();
    let (cm, sm, refs) = match si_kids.as_slice() {
        [c, s, refs @ ..]
            if is(doc, *c, DSIG, "CanonicalizationMethod")
                && is(doc, *s, DSIG, "SignatureMethod") =>
        {
            (*c, *s, refs)
        }
        _ => {
            out.format_errors.push(
                "SignedInfo must begin with CanonicalizationMethod then SignatureMethod".into(),
            );
            return out;
        }
    };
    if refs.is_empty() || refs.iter().any(|r| !is(doc, *r, DSIG, "Reference")) {
        out.format_errors
            .push("SignedInfo must hold one or more Reference elements and nothing else".into());
        return out;
    }
    if refs.len() > limits.max_xml_references {
        out.format_errors.push(format!(
            "limit exceeded: max_xml_references ({} > {})",
            refs.len(),
            limits.max_xml_references
        ));
        return out;
    }
    out.signature_method = attr(doc, sm, "Algorithm").map(str::to_string);
    let cm_uri = attr(doc, cm, "Algorithm").unwrap_or_default().to_string();
    out.c14n_method = Some(cm_uri.clone());
    match alg::c14n(&cm_uri) {
        Some(mode) => {
            let prefixes = inclusive_prefixes(doc, cm);
            let mut buf = Vec::new();
            if let Err(e) = element_c14n(doc, si, mode, &prefixes, &mut buf) {
                out.format_errors
                    .push(format!("SignedInfo cannot be canonicalized: {e}"));
            }
            out.signed_info = buf;
        }
        None => out
            .format_errors
            .push(format!("unsupported CanonicalizationMethod {cm_uri}")),
    }

    for r in refs {
        out.references
            .push(reference(xd, sig, *r, detached, limits));
    }
    // The references of a Manifest that a SignedInfo reference signs (an
    // Object holding Manifests, or a Manifest itself): processed the same
    // way; what their results mean is the application's (XMLDSig §5.1) —
    // a package signature's parts are all in one.
    let mut manifests: Vec<NodeId> = Vec::new();
    for o in &out.references {
        let Some(n) = o.signed.as_ref().and_then(|s| s.node) else {
            continue;
        };
        if is(doc, n, DSIG, "Manifest") {
            manifests.push(n);
        } else if is(doc, n, DSIG, "Object") {
            manifests.extend(child_elements(doc, n).filter(|c| is(doc, *c, DSIG, "Manifest")));
        }
    }
    manifests.dedup();
    for m in manifests {
        for r in child_elements(doc, m) {
            if out.manifest_references.len() >= limits.max_xml_references {
                out.format_errors.push(format!(
                    "limit exceeded: max_xml_references in Manifests (> {})",
                    limits.max_xml_references
                ));
                break;
            }
            if is(doc, r, DSIG, "Reference") {
                out.manifest_references
                    .push(reference(xd, sig, r, detached, limits));
            }
        }
    }

    if let Some(ki) = kids.iter().find(|k| is(doc, **k, DSIG, "KeyInfo")) {
        key_info(doc, *ki, limits, &mut out);
    }
    out
}

/// One element's subtree (SignedInfo, SignatureValue, a XAdES property)
/// canonicalized with `mode` into `sink`.
pub fn element_c14n<W: C14nSink>(
    doc: &Document<'_>,
    n: NodeId,
    mode: C14nMode,
    prefixes: &[String],
    sink: &mut W,
) -> Result<(), String> {
    let set = NodeSet::tree_with_comments(n, doc);
    canonicalize_doc_to(doc, mode, Some(&set), prefixes, sink).map_err(|e| e.to_string())
}

/// The InclusiveNamespaces PrefixList under a c14n method or transform.
fn inclusive_prefixes(doc: &Document<'_>, method: NodeId) -> Vec<String> {
    child(doc, method, EXC_C14N, "InclusiveNamespaces")
        .and_then(|n| attr(doc, n, "PrefixList"))
        .map(|l| l.split_ascii_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// What flows between transforms.
enum Data {
    Nodes(NodeSet),
    Octets(Vec<u8>),
}

fn reference(
    xd: &XmlDoc<'_>,
    sig: NodeId,
    r: NodeId,
    detached: &[Detached<'_>],
    limits: &Limits,
) -> RefOutcome {
    let doc = &xd.doc;
    let uri = attr(doc, r, "URI").map(str::to_string);
    let mut out = RefOutcome {
        id: attr(doc, r, "Id").map(str::to_string),
        uri: uri.clone(),
        ref_type: attr(doc, r, "Type").map(str::to_string),
        transforms: Vec::new(),
        digest_algorithm: String::new(),
        digest_alg: None,
        status: RefStatus::Valid,
        signed: None,
        digested_sha256: None,
        digested_bytes: None,
        relationships: None,
        legacy_relationship_transform: false,
    };
    // Reference: Transforms?, DigestMethod, DigestValue.
    let kids: Vec<NodeId> = child_elements(doc, r).collect();
    let (transforms, dm, dv) = match kids.as_slice() {
        [t, m, v]
            if is(doc, *t, DSIG, "Transforms")
                && is(doc, *m, DSIG, "DigestMethod")
                && is(doc, *v, DSIG, "DigestValue") =>
        {
            (Some(*t), *m, *v)
        }
        [m, v] if is(doc, *m, DSIG, "DigestMethod") && is(doc, *v, DSIG, "DigestValue") => {
            (None, *m, *v)
        }
        _ => {
            out.status = RefStatus::Malformed(
                "Reference must hold Transforms?, DigestMethod, DigestValue".into(),
            );
            return out;
        }
    };
    let dm_uri = attr(doc, dm, "Algorithm").unwrap_or_default();
    out.digest_algorithm = dm_uri.to_string();
    let Some(dalg) = alg::digest(dm_uri) else {
        out.status = RefStatus::Unsupported(format!("digest method {dm_uri}"));
        return out;
    };
    out.digest_alg = Some(dalg);
    let Some(expected) = b64(&text_of(doc, dv)) else {
        out.status = RefStatus::Malformed("DigestValue is not base64".into());
        return out;
    };
    let steps: Vec<NodeId> = match transforms {
        Some(t) => child_elements(doc, t).collect(),
        None => Vec::new(),
    };
    for s in &steps {
        if !is(doc, *s, DSIG, "Transform") {
            out.status = RefStatus::Malformed("Transforms may hold only Transform elements".into());
            return out;
        }
        out.transforms
            .push(attr(doc, *s, "Algorithm").unwrap_or_default().to_string());
    }
    if steps.len() > 16 {
        out.status = RefStatus::Malformed(format!("{} transforms in one Reference", steps.len()));
        return out;
    }
    out.relationships = steps
        .iter()
        .find(|s| attr(doc, **s, "Algorithm") == Some(alg::RELATIONSHIP_TRANSFORM))
        .map(|s| rel_selection(doc, *s));

    // The reference's octets digested; `legacy` for libxmlsec's form of
    // the RelationshipTransform.
    let digest_of = |legacy: bool, signed: &mut Option<SignedNode>| {
        let mut sink = DigestSink::new(dalg).map_err(RefStatus::Unsupported)?;
        transform_into(
            xd,
            sig,
            uri.as_deref(),
            &steps,
            detached,
            limits,
            None,
            legacy,
            signed,
            &mut sink,
        )?;
        sink.finish().map_err(RefStatus::Unsupported)
    };
    let (digest, sha256, n) = match digest_of(false, &mut out.signed) {
        Ok(v) => v,
        Err(s) => {
            out.status = s;
            return out;
        }
    };
    out.digested_sha256 = Some(hex::encode(sha256));
    out.digested_bytes = Some(n);
    if digest != expected {
        out.status = RefStatus::DigestMismatch;
        // LibreOffice (its bundled libxmlsec before the 2026 fix) signs a
        // relationships part in xmlsec's legacy form; honest LibreOffice
        // .docx/.xlsx files are signed so. Accepted when that form, built
        // from the same part, matches: it carries the same relationships,
        // only with placeholders for the whitespace between them.
        if out.relationships.is_some()
            && digest_of(true, &mut None).is_ok_and(|(d, _, _)| d == expected)
        {
            out.status = RefStatus::Valid;
            out.legacy_relationship_transform = true;
        }
    }
    out
}

/// The octets a reference's transforms produce (XMLDSig §4.4.3), streamed
/// into `sink`: the dereferenced data through every step; a node-set left
/// at the end is serialized with `node_set_c14n` (default C14N 1.0,
/// §4.4.3.2; a XAdES ArchiveTimeStamp names its own). `signed` receives
/// the element the data starts at.
#[allow(clippy::too_many_arguments)]
fn transform_into<W: C14nSink>(
    xd: &XmlDoc<'_>,
    sig: NodeId,
    uri: Option<&str>,
    steps: &[NodeId],
    detached: &[Detached<'_>],
    limits: &Limits,
    node_set_c14n: Option<(C14nMode, Vec<String>)>,
    legacy_rels: bool,
    signed: &mut Option<SignedNode>,
    sink: &mut W,
) -> Result<(), RefStatus> {
    let doc = &xd.doc;
    if let Some(done) = stream_part(doc, uri, steps, detached, limits, signed, sink) {
        return done;
    }
    // Dereference (XMLDSig §4.4.3.3).
    let mut data = dereference(xd, uri, detached, signed)?;
    // Transforms; the last canonicalization streams into the sink.
    let mut final_mode: Option<(C14nMode, Vec<String>)> = None;
    let count = steps.len();
    for (i, s) in steps.iter().enumerate() {
        let turi = attr(doc, *s, "Algorithm").unwrap_or_default();
        let last = i.saturating_add(1) == count;
        if turi == alg::ENVELOPED {
            match &mut data {
                Data::Nodes(set) => {
                    let sig_set = NodeSet::tree_with_comments(sig, doc);
                    *set = set.subtract(&sig_set);
                }
                Data::Octets(_) => {
                    return Err(RefStatus::Malformed(
                        "enveloped-signature transform applied to octets".into(),
                    ));
                }
            }
        } else if let Some(mode) = alg::c14n(turi) {
            let prefixes = inclusive_prefixes(doc, *s);
            match &data {
                Data::Nodes(set) => {
                    if last {
                        final_mode = Some((mode, prefixes));
                    } else {
                        let mut buf = Vec::new();
                        canonicalize_doc_to(doc, mode, Some(set), &prefixes, &mut buf)
                            .map_err(|e| RefStatus::Malformed(format!("canonicalization: {e}")))?;
                        data = Data::Octets(buf);
                    }
                }
                Data::Octets(o) => {
                    // Octets become the node-set of the XML they hold
                    // (XMLDSig §4.4.3.2): parsed under the same rules and
                    // limits as the signed document (no DTD), whole; the
                    // last step streams into the digest.
                    if last {
                        return canonical_octets(o, mode, &prefixes, limits, sink);
                    }
                    let mut buf = Vec::new();
                    canonical_octets(o, mode, &prefixes, limits, &mut buf)?;
                    data = Data::Octets(buf);
                }
            }
        } else if turi == alg::RELATIONSHIP_TRANSFORM {
            let Data::Octets(o) = &data else {
                return Err(RefStatus::Malformed(
                    "RelationshipTransform applied to a node-set (it takes a relationships part)"
                        .into(),
                ));
            };
            data = Data::Octets(relationship_transform(
                o,
                &rel_selection(doc, *s),
                limits,
                legacy_rels,
            )?);
        } else if turi == alg::BASE64 {
            let text = match &data {
                Data::Nodes(set) => visible_text(doc, set, limits),
                Data::Octets(o) => String::from_utf8_lossy(o).into_owned(),
            };
            match b64(&text) {
                Some(bytes) => data = Data::Octets(bytes),
                None => {
                    return Err(RefStatus::Malformed(
                        "base64 transform input is not base64".into(),
                    ));
                }
            }
        } else {
            let why = match turi {
                alg::XPATH | alg::XPATH2 => "XPath filtering is not run (it can select anything)",
                alg::XSLT => "XSLT is not run (it can rewrite anything)",
                _ => "unknown transform",
            };
            return Err(RefStatus::Unsupported(format!("{turi}: {why}")));
        }
    }
    match data {
        Data::Nodes(set) => {
            let (mode, prefixes) = final_mode
                .or(node_set_c14n)
                .unwrap_or((C14nMode::Inclusive, Vec::new()));
            canonicalize_doc_to(doc, mode, Some(&set), &prefixes, sink)
                .map_err(|e| RefStatus::Malformed(format!("canonicalization: {e}")))
        }
        Data::Octets(o) => {
            sink.write(&o);
            Ok(())
        }
    }
}

/// Octets (a detached XML document, an ODF package's XML stream) parsed
/// and canonicalized whole with `mode` into `sink`: streamed
/// ([`super::stream_c14n`]) when UTF-8 without a DTD, else through the
/// tree (other encodings; an external-only DOCTYPE dropped first).
fn canonical_octets<W: C14nSink>(
    octets: &[u8],
    mode: C14nMode,
    prefixes: &[String],
    limits: &Limits,
    sink: &mut W,
) -> Result<(), RefStatus> {
    let body = octets.strip_prefix(b"\xef\xbb\xbf").unwrap_or(octets);
    // Streamed into a buffer first only when the sink must not see a
    // partial output that the tree path would then repeat: a fallback is
    // known before any output (the declaration and DOCTYPE come first).
    let mut held = HoldSink {
        inner: sink,
        wrote: false,
    };
    match super::stream_c14n::canonicalize(body, mode, prefixes, limits, &mut held) {
        Ok(()) => return Ok(()),
        Err(super::stream_c14n::Streamed::Malformed(m)) => {
            return Err(RefStatus::Malformed(format!(
                "the data to canonicalize is not XML: {m}"
            )));
        }
        Err(super::stream_c14n::Streamed::Fallback(_)) if !held.wrote => {}
        Err(super::stream_c14n::Streamed::Fallback(m)) => {
            return Err(RefStatus::Malformed(format!(
                "the data to canonicalize: {m} after its first element"
            )));
        }
    }
    tree_canonical(octets, mode, prefixes, limits, sink)
        .map_err(|e| RefStatus::Malformed(format!("the data to canonicalize: {e}")))
}

/// Octets parsed into a tree (other encodings decoded, an external-only
/// DOCTYPE dropped) and canonicalized whole into `sink`.
fn tree_canonical<W: C14nSink>(
    octets: &[u8],
    mode: C14nMode,
    prefixes: &[String],
    limits: &Limits,
    sink: &mut W,
) -> Result<(), String> {
    let text = super::decode(octets).map_err(|e| format!("not XML: {e}"))?;
    let text = super::normalize_source(&text);
    let stripped = super::without_external_doctype(&text);
    let text = stripped.as_deref().unwrap_or(&text);
    let parsed = super::parse(text, limits, &[]).map_err(|e| format!("not XML: {e}"))?;
    canonicalize_doc_to(&parsed.doc, mode, None, prefixes, sink)
        .map_err(|e| format!("canonicalization: {e}"))
}

/// A sink that remembers whether anything was written.
struct HoldSink<'s, W: C14nSink> {
    inner: &'s mut W,
    wrote: bool,
}

impl<W: C14nSink> C14nSink for HoldSink<'_, W> {
    fn write(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.wrote = true;
        }
        self.inner.write(bytes);
    }
}

/// The tree path alone (the oracle of the streamed one in tests).
pub fn canonical_octets_tree(
    octets: &[u8],
    mode: C14nMode,
    prefixes: &[String],
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    tree_canonical(octets, mode, prefixes, limits, &mut buf)?;
    Ok(buf)
}

/// The octets of the `Reference` element `r` of signature `sig`, as its
/// transforms produce them, into `sink` — what a XAdES ArchiveTimeStamp
/// stamps for each reference (EN 319 132-1 §5.5.2.2); a node-set left at
/// the end is serialized with `c14n`.
pub fn reference_octets<W: C14nSink>(
    xd: &XmlDoc<'_>,
    sig: NodeId,
    r: NodeId,
    detached: &[Detached<'_>],
    limits: &Limits,
    c14n: (C14nMode, Vec<String>),
    sink: &mut W,
) -> Result<(), RefStatus> {
    let doc = &xd.doc;
    let steps: Vec<NodeId> = child(doc, r, DSIG, "Transforms")
        .map(|t| child_elements(doc, t).collect())
        .unwrap_or_default();
    if steps.len() > 16 {
        return Err(RefStatus::Malformed(format!(
            "{} transforms in one Reference",
            steps.len()
        )));
    }
    let mut signed = None;
    transform_into(
        xd,
        sig,
        attr(doc, r, "URI"),
        &steps,
        detached,
        limits,
        Some(c14n),
        false,
        &mut signed,
        sink,
    )
}

fn dereference(
    xd: &XmlDoc<'_>,
    uri: Option<&str>,
    detached: &[Detached<'_>],
    signed: &mut Option<SignedNode>,
) -> Result<Data, RefStatus> {
    let doc = &xd.doc;
    let node_info = |n: NodeId, whole: bool| -> SignedNode {
        let e = doc.element(n);
        SignedNode {
            path: path_of(doc, n),
            name: qname(doc, n),
            namespace: e.and_then(|e| e.name.namespace_uri.as_deref().map(str::to_string)),
            id: attr(doc, n, "Id")
                .or_else(|| attr(doc, n, "ID"))
                .or_else(|| attr(doc, n, "id"))
                .map(str::to_string),
            whole_document: whole,
            detached: false,
            node: Some(n),
        }
    };
    let Some(u) = uri else {
        // No URI: the application knows the data (§4.4.3.1); only a single
        // supplied detached document can stand for it.
        return match detached {
            [d] if !d.is_part() => {
                *signed = Some(detached_node(d.uri));
                Ok(Data::Octets(d.load()?))
            }
            _ => Err(RefStatus::NotFound(
                "Reference without URI: the signed data must be supplied".into(),
            )),
        };
    };
    if u.is_empty() {
        let root = doc.document_element();
        *signed = root.map(|r| node_info(r, true));
        return Ok(Data::Nodes(NodeSet::all_without_comments(doc)));
    }
    if let Some(frag) = u.strip_prefix('#') {
        if frag == "xpointer(/)" {
            let root = doc.document_element();
            *signed = root.map(|r| node_info(r, true));
            return Ok(Data::Nodes(NodeSet::all(doc)));
        }
        let (id, with_comments) = match xpointer_id(frag) {
            Some(id) => (id, true),
            None if frag.starts_with("xpointer(") => {
                return Err(RefStatus::Unsupported(format!(
                    "XPointer {frag}: only #xpointer(/) and #xpointer(id('…')) are resolved"
                )));
            }
            None => (frag, false),
        };
        let Some(n) = xd.ids.get(id).copied() else {
            return Err(RefStatus::NotFound(format!("no element with ID {id}")));
        };
        *signed = Some(node_info(n, false));
        return Ok(Data::Nodes(subtree_set(xd, n, with_comments)));
    }
    // Outside the document: only what the caller supplied, matched by the
    // whole URI or its last path segment. Never fetched.
    // One unnamed document (the service's multipart `detached` part)
    // stands for the outside reference when it is the only one supplied.
    if detached.iter().any(Detached::is_part) {
        // A package: part names only.
        return match find_part(u, detached) {
            Some(d) => {
                *signed = Some(detached_node(d.uri));
                Ok(Data::Octets(d.load()?))
            }
            None => Err(RefStatus::NotFound(format!(
                "{u}: no such part in the package"
            ))),
        };
    }
    let last = u.rsplit(['/', '\\']).next().unwrap_or(u);
    let found = detached
        .iter()
        .find(|d| d.uri == u)
        .or_else(|| detached.iter().find(|d| d.uri == last))
        .or(match detached {
            [d] if d.uri.is_empty() => Some(d),
            _ => None,
        });
    match found {
        Some(d) => {
            *signed = Some(detached_node(u));
            Ok(Data::Octets(d.load()?))
        }
        None => Err(RefStatus::NotFound(format!(
            "{u}: outside the document and not supplied (kyso never fetches references)"
        ))),
    }
}

/// The OPC digital-signature namespace (RelationshipTransform parameters).
pub const MDSSI: &str = "http://schemas.openxmlformats.org/package/2006/digital-signature";
/// The OPC relationships namespace.
pub const OPC_RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

/// The SourceId / SourceType selectors of a RelationshipTransform.
fn rel_selection(doc: &Document<'_>, t: NodeId) -> RelSelection {
    let mut sel = RelSelection::default();
    for c in child_elements(doc, t) {
        if is(doc, c, MDSSI, "RelationshipReference") {
            if let Some(v) = attr(doc, c, "SourceId") {
                sel.ids.push(v.to_string());
            }
        } else if is(doc, c, MDSSI, "RelationshipsGroupReference") {
            if let Some(v) = attr(doc, c, "SourceType") {
                sel.types.push(v.to_string());
            }
        }
    }
    sel
}

/// One `Relationship` of a relationships part: its attributes (no
/// namespace), in document order.
pub type Relationship = Vec<(String, String)>;

/// The relationships of a relationships part, parsed under the XML
/// room's rules and limits; anything in them but `Relationship` elements
/// (whitespace, comments, extension elements) is left out, as the
/// RelationshipTransform does.
pub fn read_relationships(octets: &[u8], limits: &Limits) -> Result<Vec<Relationship>, String> {
    read_rels_part(octets, limits).map(|p| p.rels)
}

/// A relationships part as the RelationshipTransform reads it.
struct RelsPart {
    rels: Vec<Relationship>,
    /// What libxmlsec's legacy transform writes before the relationships:
    /// an empty `<text>`/`<comment>` element for each text or comment child
    /// of the root, in order. `None` when that form is not reproduced here
    /// (other children, or a first namespace declaration other than the
    /// relationships namespace).
    legacy_fillers: Option<String>,
}

fn read_rels_part(octets: &[u8], limits: &Limits) -> Result<RelsPart, String> {
    let text = super::decode(octets).map_err(|e| format!("not XML: {e}"))?;
    let text = super::normalize_source(&text);
    let parsed = super::parse(&text, limits, &[]).map_err(|e| format!("not XML: {e}"))?;
    let doc = &parsed.doc;
    let root = doc
        .document_element()
        .ok_or_else(|| "no root element".to_string())?;
    if !is(doc, root, OPC_RELS, "Relationships") {
        return Err(format!(
            "root element {} is not Relationships",
            qname(doc, root)
        ));
    }
    let first_ns = doc
        .element(root)
        .and_then(|e| e.namespace_declarations.first())
        .map(|(p, u)| (p.is_empty(), u.as_ref() == OPC_RELS));
    let mut fillers = (first_ns == Some((true, true))).then(String::new);
    let mut out = Vec::new();
    for r in doc.children_iter(root) {
        match doc.node_kind(r) {
            Some(NodeKind::Text(_)) => {
                if let Some(f) = fillers.as_mut() {
                    f.push_str("<text></text>");
                }
                continue;
            }
            Some(NodeKind::Comment(_)) => {
                if let Some(f) = fillers.as_mut() {
                    f.push_str("<comment></comment>");
                }
                continue;
            }
            Some(NodeKind::Element(_)) if is(doc, r, OPC_RELS, "Relationship") => {}
            _ => {
                fillers = None;
                continue;
            }
        }
        let Some(e) = doc.element(r) else { continue };
        let mut attrs = Vec::with_capacity(e.attributes.len());
        for a in &e.attributes {
            if a.name.prefix.as_deref() == Some("xmlns") || a.name.local_name == "xmlns" {
                continue;
            }
            if a.name.namespace_uri.is_some() {
                return Err(format!(
                    "a Relationship carries the namespaced attribute {}",
                    a.name.local_name
                ));
            }
            attrs.push((a.name.local_name.to_string(), a.value.to_string()));
        }
        out.push(attrs);
    }
    Ok(RelsPart {
        rels: out,
        legacy_fillers: fillers,
    })
}

/// The value of attribute `name` of a relationship.
pub fn rel_attr<'r>(r: &'r Relationship, name: &str) -> Option<&'r str> {
    r.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Whether a RelationshipTransform with `sel` keeps relationship `r`.
pub fn rel_selected(sel: &RelSelection, r: &Relationship) -> bool {
    rel_attr(r, "Id").is_some_and(|id| sel.ids.iter().any(|s| s == id))
        || rel_attr(r, "Type").is_some_and(|t| sel.types.iter().any(|s| s == t))
}

/// ISO/IEC 29500-2 §13.2.4.24: keep the selected `Relationship`
/// elements, drop everything else, give each a TargetMode (`Internal`
/// when absent), sort them by Id (ordinal); the result is XML text for
/// the canonicalization that follows.
fn relationship_transform(
    octets: &[u8],
    sel: &RelSelection,
    limits: &Limits,
    legacy: bool,
) -> Result<Vec<u8>, RefStatus> {
    let part = read_rels_part(octets, limits)
        .map_err(|e| RefStatus::Malformed(format!("RelationshipTransform input: {e}")))?;
    let fillers = match (legacy, part.legacy_fillers) {
        (false, _) => String::new(),
        (true, Some(f)) => f,
        (true, None) => {
            return Err(RefStatus::Unsupported(
                "the legacy RelationshipTransform form of this part".into(),
            ));
        }
    };
    let rels = part.rels;
    let mut kept: Vec<Relationship> = rels.into_iter().filter(|r| rel_selected(sel, r)).collect();
    for r in &mut kept {
        if rel_attr(r, "TargetMode").is_none() {
            r.push(("TargetMode".into(), "Internal".into()));
        }
    }
    kept.sort_by(|a, b| rel_attr(a, "Id").cmp(&rel_attr(b, "Id")));
    let mut out = String::from("<Relationships xmlns=\"");
    out.push_str(OPC_RELS);
    out.push_str("\">");
    out.push_str(&fillers);
    for r in &kept {
        out.push_str("<Relationship");
        for (k, v) in r {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '"' => out.push_str("&quot;"),
                    '\t' => out.push_str("&#9;"),
                    '\n' => out.push_str("&#10;"),
                    '\r' => out.push_str("&#13;"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push_str("/>");
    }
    out.push_str("</Relationships>");
    Ok(out.into_bytes())
}

/// The package part a reference URI names (part names only).
fn find_part<'d, 'a>(u: &str, detached: &'d [Detached<'a>]) -> Option<&'d Detached<'a>> {
    let name = part_name_of(u)?;
    detached
        .iter()
        .find(|d| d.is_part() && d.uri.eq_ignore_ascii_case(&name))
}

/// A package part digested as it is inflated, never held whole: with no
/// transform (its octets), or with one canonicalization (an ODF XML
/// stream, canonicalized whole as it is read). `None` when the reference
/// is not of that shape (the general path then loads the part).
fn stream_part<W: C14nSink>(
    doc: &Document<'_>,
    uri: Option<&str>,
    steps: &[NodeId],
    detached: &[Detached<'_>],
    limits: &Limits,
    signed: &mut Option<SignedNode>,
    sink: &mut W,
) -> Option<Result<(), RefStatus>> {
    let u = uri?;
    if u.starts_with('#') || u.is_empty() {
        return None;
    }
    let d = find_part(u, detached)?;
    let mode = match steps {
        [] => None,
        [t] => Some(alg::c14n(attr(doc, *t, "Algorithm").unwrap_or_default())?),
        _ => return None,
    };
    *signed = Some(detached_node(d.uri));
    let mut run = || -> Result<(), RefStatus> {
        let mut r = d.reader()?;
        let unreadable = |e: std::io::Error| RefStatus::NotFound(format!("{}: {e}", d.uri));
        match mode {
            None => loop {
                let chunk = r.fill_buf().map_err(unreadable)?;
                if chunk.is_empty() {
                    return Ok(());
                }
                sink.write(chunk);
                let n = chunk.len();
                r.consume(n);
            },
            Some(mode) => {
                let prefixes = steps
                    .first()
                    .map(|t| inclusive_prefixes(doc, *t))
                    .unwrap_or_default();
                if r.fill_buf()
                    .map_err(unreadable)?
                    .starts_with(b"\xef\xbb\xbf")
                {
                    r.consume(3);
                }
                let mut held = HoldSink {
                    inner: sink,
                    wrote: false,
                };
                match super::stream_c14n::canonicalize(r, mode, &prefixes, limits, &mut held) {
                    Ok(()) => Ok(()),
                    Err(super::stream_c14n::Streamed::Fallback(_)) if !held.wrote => {
                        let bytes = d.load()?;
                        canonical_octets(&bytes, mode, &prefixes, limits, held.inner)
                    }
                    Err(super::stream_c14n::Streamed::Fallback(m))
                    | Err(super::stream_c14n::Streamed::Malformed(m)) => Err(RefStatus::Malformed(
                        format!("the data to canonicalize is not XML: {m}"),
                    )),
                }
            }
        }
    };
    Some(run())
}

fn detached_node(uri: &str) -> SignedNode {
    SignedNode {
        path: uri.to_string(),
        name: uri.to_string(),
        detached: true,
        ..Default::default()
    }
}

/// The node-set of `n`'s subtree (comments only `with_comments`), stored
/// the cheaper way: as the nodes outside it when the subtree is most of the
/// document (an invoice's `DLHDon`), else as its own nodes. The walk of the
/// outside stops once it passes half the document; the subtree itself is
/// walked only when it is the smaller side or holds comments to drop.
fn subtree_set(xd: &XmlDoc<'_>, n: NodeId, with_comments: bool) -> NodeSet {
    use bergshamra_xml::nodeset::{NodeIdSet, NodeSetType};
    let doc = &xd.doc;
    let half = xd.nodes / 2;
    let mut outside = NodeIdSet::default();
    let mut stack: Vec<NodeId> = Vec::new();
    super::push_children(doc, doc.root(), &mut stack, |c| c);
    let mut small = true;
    while let Some(id) = stack.pop() {
        if id == n {
            continue;
        }
        outside.insert(id.index());
        if outside.len() > half {
            small = false;
            break;
        }
        super::push_children(doc, id, &mut stack, |c| c);
    }
    let drop_comments = !with_comments && xd.comments > 0;
    if small {
        if drop_comments {
            walk_subtree(doc, n, |id, comment| {
                if comment {
                    outside.insert(id.index());
                }
            });
        }
        return NodeSet::from_ids(outside, NodeSetType::Invert);
    }
    let mut inside = NodeIdSet::default();
    walk_subtree(doc, n, |id, comment| {
        if !(comment && drop_comments) {
            inside.insert(id.index());
        }
    });
    NodeSet::from_ids(inside, NodeSetType::Normal)
}

/// Every node of `n`'s subtree, `n` included, with whether it is a comment.
fn walk_subtree(doc: &Document<'_>, n: NodeId, mut f: impl FnMut(NodeId, bool)) {
    let mut stack = vec![n];
    while let Some(id) = stack.pop() {
        f(id, matches!(doc.node_kind(id), Some(NodeKind::Comment(_))));
        super::push_children(doc, id, &mut stack, |c| c);
    }
}

/// `xpointer(id('X'))` or `xpointer(id("X"))` → X.
fn xpointer_id(frag: &str) -> Option<&str> {
    let inner = frag.strip_prefix("xpointer(id(")?.strip_suffix("))")?;
    inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
}

/// The string value of a node-set: its visible text nodes in document order.
fn visible_text(doc: &Document<'_>, set: &NodeSet, limits: &Limits) -> String {
    let mut s = String::new();
    let mut stack = vec![doc.root()];
    while let Some(n) = stack.pop() {
        if let Some(NodeKind::Text(t) | NodeKind::CData(t)) = doc.node_kind(n) {
            if set.contains_id(n) && (s.len() as u64) < limits.max_xml_bytes {
                s.push_str(t);
            }
        }
        super::push_children(doc, n, &mut stack, |c| c);
    }
    s
}

/// Canonical bytes into the reference's digest, a SHA-256 for the report
/// (the same hasher when the reference digests with SHA-256) and a count,
/// without keeping them.
struct DigestSink {
    d: Digester,
    sha: Option<Digester>,
    n: u64,
    failed: bool,
}

impl DigestSink {
    fn new(alg: DigestAlg) -> Result<Self, String> {
        let sha = if alg == DigestAlg::Sha256 {
            None
        } else {
            Some(DigestAlg::Sha256.hasher().map_err(|e| e.to_string())?)
        };
        Ok(DigestSink {
            d: alg.hasher().map_err(|e| e.to_string())?,
            sha,
            n: 0,
            failed: false,
        })
    }
    fn finish(self) -> Result<(Vec<u8>, Vec<u8>, u64), String> {
        if self.failed {
            return Err("digest computation failed".into());
        }
        let a = self.d.finish().map_err(|e| e.to_string())?;
        let b = match self.sha {
            Some(h) => h.finish().map_err(|e| e.to_string())?,
            None => a.clone(),
        };
        Ok((a, b, self.n))
    }
}

impl C14nSink for DigestSink {
    fn write(&mut self, bytes: &[u8]) {
        let extra_failed = match self.sha.as_mut() {
            Some(h) => h.update(bytes).is_err(),
            None => false,
        };
        if self.d.update(bytes).is_err() || extra_failed {
            self.failed = true;
        }
        self.n = self.n.saturating_add(bytes.len() as u64);
    }
}

/// Keys from KeyInfo: X509Certificate (every X509Data), RSAKeyValue and
/// ECKeyValue. Other forms are listed, never followed.
fn key_info(doc: &Document<'_>, ki: NodeId, limits: &Limits, out: &mut SigOutcome) {
    // Each form listed once, however often it occurs.
    let ignore = |out: &mut SigOutcome, what: String| {
        if !out.key_info_ignored.contains(&what) {
            out.key_info_ignored.push(what);
        }
    };
    let name = |n: NodeId| {
        doc.element(n)
            .map(|e| e.name.local_name.to_string())
            .unwrap_or_default()
    };
    for k in child_elements(doc, ki) {
        if is(doc, k, DSIG, "X509Data") {
            for c in child_elements(doc, k) {
                if !is(doc, c, DSIG, "X509Certificate") {
                    ignore(out, name(c));
                    continue;
                }
                if out.keys.len() >= limits.max_cms_certificates {
                    continue;
                }
                let t = text_of(doc, c);
                if t.len() > 1 << 20 {
                    ignore(out, "X509Certificate over 1 MiB".into());
                    continue;
                }
                match b64(&t).and_then(|d| X509::from_der(&d).ok()) {
                    Some(x) => out.keys.push(OfferedKey::Cert(x)),
                    None => ignore(out, "unreadable X509Certificate".into()),
                }
            }
        } else if is(doc, k, DSIG, "KeyValue") {
            match key_value(doc, k) {
                Some(key) => out.keys.push(OfferedKey::Bare(key)),
                None => ignore(out, "KeyValue (unsupported or malformed)".into()),
            }
        } else {
            ignore(out, name(k));
        }
    }
}

fn key_value(doc: &Document<'_>, kv: NodeId) -> Option<PKey<Public>> {
    use openssl::bn::BigNum;
    let inner = child_elements(doc, kv).next()?;
    if is(doc, inner, DSIG, "RSAKeyValue") {
        let m = b64(&text_of(doc, child(doc, inner, DSIG, "Modulus")?))?;
        let e = b64(&text_of(doc, child(doc, inner, DSIG, "Exponent")?))?;
        if m.len() > 2048 || e.len() > 16 {
            return None;
        }
        let rsa = openssl::rsa::Rsa::from_public_components(
            BigNum::from_slice(&m).ok()?,
            BigNum::from_slice(&e).ok()?,
        )
        .ok()?;
        return PKey::from_rsa(rsa).ok();
    }
    if is(doc, inner, DSIG11, "ECKeyValue") {
        use openssl::ec::{EcGroup, EcKey, EcPoint};
        use openssl::nid::Nid;
        let curve = attr(doc, child(doc, inner, DSIG11, "NamedCurve")?, "URI")?;
        let nid = match curve {
            "urn:oid:1.2.840.10045.3.1.7" => Nid::X9_62_PRIME256V1,
            "urn:oid:1.3.132.0.34" => Nid::SECP384R1,
            "urn:oid:1.3.132.0.35" => Nid::SECP521R1,
            _ => return None,
        };
        let pt = b64(&text_of(doc, child(doc, inner, DSIG11, "PublicKey")?))?;
        let group = EcGroup::from_curve_name(nid).ok()?;
        let mut ctx = openssl::bn::BigNumContext::new().ok()?;
        let point = EcPoint::from_bytes(&group, &pt, &mut ctx).ok()?;
        let key = EcKey::from_public_key(&group, &point).ok()?;
        return PKey::from_ec_key(key).ok();
    }
    None
}

/// RSASSA-PSS parameters under a `#rsa-pss` SignatureMethod (RFC 6931
/// §2.3.10): DigestMethod (default SHA-256), MGF1 digest (default the same),
/// SaltLength (default the digest length), TrailerField (only 1).
pub fn pss_params(doc: &Document<'_>, sm: NodeId) -> Result<crate::crypto::SigScheme, String> {
    let p = child(doc, sm, PSS_NS, "RSAPSSParams");
    let mut hash = DigestAlg::Sha256;
    let mut mgf = None;
    let mut salt = None;
    // The digest a DigestMethod child of `parent` names, if it has one.
    let digest_of = |parent: NodeId, what: &str| -> Result<Option<DigestAlg>, String> {
        match child(doc, parent, DSIG, "DigestMethod") {
            Some(d) => {
                let u = attr(doc, d, "Algorithm").unwrap_or_default();
                alg::digest(u)
                    .map(Some)
                    .ok_or_else(|| format!("{what} digest {u}"))
            }
            None => Ok(None),
        }
    };
    if let Some(p) = p {
        if let Some(h) = digest_of(p, "PSS")? {
            hash = h;
        }
        if let Some(m) = child(doc, p, PSS_NS, "MaskGenerationFunction") {
            mgf = digest_of(m, "MGF1")?;
        }
        if let Some(s) = child(doc, p, PSS_NS, "SaltLength") {
            salt = Some(
                text_of(doc, s)
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| "PSS SaltLength is not a number".to_string())?,
            );
        }
        if let Some(t) = child(doc, p, PSS_NS, "TrailerField") {
            if text_of(doc, t).trim() != "1" {
                return Err("PSS TrailerField other than 1".into());
            }
        }
    }
    Ok(crate::crypto::SigScheme::RsaPss {
        hash,
        mgf1_hash: mgf.unwrap_or(hash),
        salt_len: salt.unwrap_or_else(|| alg::digest_len(hash)),
    })
}
