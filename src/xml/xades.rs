//! XAdES qualifying properties of one XML signature (ETSI EN 319 132-1):
//! read here, judged in [`crate::validate`]. Read: SignedProperties
//! (SigningTime, SigningCertificate / SigningCertificateV2,
//! SignaturePolicyIdentifier, DataObjectFormat) and the unsigned
//! SignatureTimeStamp, CertificateValues, RevocationValues and
//! ArchiveTimeStamp (v1.3.2, and the v1.4.1 namespace of the latter).

use uppsala::{Document, NodeId};

use super::{DSIG, alg, attr, b64, child, child_elements, is, text_of};
use crate::crypto::DigestAlg;

pub const XADES132: &str = "http://uri.etsi.org/01903/v1.3.2#";
pub const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";
pub const XADES122: &str = "http://uri.etsi.org/01903/v1.2.2#";

/// A `Cert` of SigningCertificate(V2): the digest of the signer's certificate.
#[derive(Debug, Clone)]
pub struct CertRef {
    pub digest_alg: Option<DigestAlg>,
    pub digest_uri: String,
    pub digest: Vec<u8>,
}

/// An encapsulated RFC 3161 token and how the stamped element is canonicalized.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub c14n: String,
    pub token: Vec<u8>,
}

/// An `ArchiveTimeStamp` (B-LTA): where it sits among the unsigned
/// signature properties (it stamps those before it) and its token.
#[derive(Debug, Clone)]
pub struct ArchiveStamp {
    /// Its position among the UnsignedSignatureProperties children.
    pub position: usize,
    /// The v1.4.1 form, whose input EN 319 132-1 §5.5.2.2 defines (a v1.3.2
    /// one is reported, not validated).
    pub v141: bool,
    /// It lists `Include`s (the distributed case), which kyso does not compute.
    pub includes: bool,
    pub stamp: Option<Stamp>,
}

#[derive(Debug, Default)]
pub struct Xades {
    pub namespace: String,
    pub signed_properties: Option<NodeId>,
    pub signing_time: Option<String>,
    pub signing_certs: Vec<CertRef>,
    /// `SigningCertificateV2` (else v1).
    pub signing_cert_v2: bool,
    pub policy: Option<String>,
    pub mime_types: Vec<String>,
    pub signature_timestamps: Vec<Stamp>,
    pub certificate_values: Vec<Vec<u8>>,
    pub crl_values: Vec<Vec<u8>>,
    pub ocsp_values: Vec<Vec<u8>>,
    pub archive_timestamps: Vec<ArchiveStamp>,
    /// The UnsignedSignatureProperties children, in document order.
    pub unsigned_children: Vec<NodeId>,
    /// The `Object` holding the QualifyingProperties.
    pub object: Option<NodeId>,
    /// Malformed parts, said in English.
    pub problems: Vec<String>,
}

fn xades_ns(doc: &Document<'_>, n: NodeId) -> Option<String> {
    let ns = doc.element(n)?.name.namespace_uri.as_deref()?.to_string();
    matches!(ns.as_str(), XADES132 | XADES122).then_some(ns)
}

/// The first descendant `{ns}local` of `n` (depth-first, bounded).
fn find(doc: &Document<'_>, n: NodeId, ns: &str, local: &str) -> Option<NodeId> {
    let mut stack: Vec<NodeId> = Vec::new();
    super::push_children(doc, n, &mut stack, |c| c);
    let mut budget = 100_000usize;
    while let Some(c) = stack.pop() {
        budget = budget.checked_sub(1)?;
        if is(doc, c, ns, local) {
            return Some(c);
        }
        super::push_children(doc, c, &mut stack, |k| k);
    }
    None
}

fn all(doc: &Document<'_>, n: NodeId, ns: &str, local: &str, cap: usize) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut stack: Vec<NodeId> = Vec::new();
    super::push_children(doc, n, &mut stack, |c| c);
    let mut budget = 100_000usize;
    while let Some(c) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 || out.len() >= cap {
            break;
        }
        if is(doc, c, ns, local) {
            out.push(c);
            continue;
        }
        super::push_children(doc, c, &mut stack, |k| k);
    }
    out
}

/// The XAdES properties of the signature `sig`, if it has any: the
/// `QualifyingProperties` in one of its `Object`s.
pub fn read(doc: &Document<'_>, sig: NodeId, sig_id: Option<&str>) -> Option<Xades> {
    let (object, qp) = child_elements(doc, sig)
        .filter(|o| is(doc, *o, DSIG, "Object"))
        .flat_map(|o| {
            child_elements(doc, o)
                .map(move |q| (o, q))
                .collect::<Vec<_>>()
        })
        .find(|(_, q)| {
            xades_ns(doc, *q).is_some()
                && doc
                    .element(*q)
                    .is_some_and(|e| e.name.local_name == "QualifyingProperties")
        })?;
    let ns = xades_ns(doc, qp)?;
    let mut x = Xades {
        namespace: ns.clone(),
        object: Some(object),
        ..Default::default()
    };
    if let (Some(target), Some(id)) = (attr(doc, qp, "Target"), sig_id) {
        if target.trim_start_matches('#') != id {
            x.problems.push(format!(
                "QualifyingProperties Target {target} is not this signature (#{id})"
            ));
        }
    }
    let sp = child(doc, qp, &ns, "SignedProperties");
    x.signed_properties = sp;
    if let Some(sp) = sp {
        if let Some(t) = find(doc, sp, &ns, "SigningTime") {
            x.signing_time = Some(text_of(doc, t).trim().to_string());
        }
        let (sc, v2) = match find(doc, sp, &ns, "SigningCertificateV2") {
            Some(n) => (Some(n), true),
            None => (find(doc, sp, &ns, "SigningCertificate"), false),
        };
        x.signing_cert_v2 = v2;
        if let Some(sc) = sc {
            for c in all(doc, sc, &ns, "Cert", 16) {
                let Some(cd) = child(doc, c, &ns, "CertDigest") else {
                    x.problems.push("Cert without CertDigest".into());
                    continue;
                };
                let uri = child(doc, cd, DSIG, "DigestMethod")
                    .and_then(|m| attr(doc, m, "Algorithm"))
                    .unwrap_or_default()
                    .to_string();
                let digest = child(doc, cd, DSIG, "DigestValue")
                    .and_then(|v| b64(&text_of(doc, v)))
                    .unwrap_or_default();
                x.signing_certs.push(CertRef {
                    digest_alg: alg::digest(&uri),
                    digest_uri: uri,
                    digest,
                });
            }
        }
        if let Some(p) = find(doc, sp, &ns, "SignaturePolicyIdentifier") {
            x.policy = Some(match find(doc, p, &ns, "Identifier") {
                Some(i) => text_of(doc, i).trim().to_string(),
                None => "implied".into(),
            });
        }
        for m in all(doc, sp, &ns, "MimeType", 16) {
            x.mime_types.push(text_of(doc, m).trim().to_string());
        }
    }
    if let Some(up) = child(doc, qp, &ns, "UnsignedProperties") {
        let usp = child(doc, up, &ns, "UnsignedSignatureProperties").unwrap_or(up);
        x.unsigned_children = child_elements(doc, usp).take(64).collect();
        for ts in all(doc, usp, &ns, "SignatureTimeStamp", 8) {
            match stamp(doc, ts, &ns) {
                Some(st) => x.signature_timestamps.push(st),
                None => x
                    .problems
                    .push("SignatureTimeStamp without a readable EncapsulatedTimeStamp".into()),
            }
        }
        // Validation data: of the signature (CertificateValues,
        // RevocationValues) and of its timestamps (v1.4.1
        // TimeStampValidationData), all usable for any path.
        let holders = [(ns.as_str(), usp)]
            .into_iter()
            .chain(
                all(doc, usp, XADES141, "TimeStampValidationData", 8)
                    .into_iter()
                    .map(|t| (ns.as_str(), t)),
            )
            .collect::<Vec<_>>();
        for (ns, h) in holders {
            if let Some(cv) = child(doc, h, ns, "CertificateValues") {
                for e in all(doc, cv, ns, "EncapsulatedX509Certificate", 64) {
                    if let Some(d) = b64(&text_of(doc, e)) {
                        x.certificate_values.push(d);
                    }
                }
            }
            if let Some(rv) = child(doc, h, ns, "RevocationValues") {
                for e in all(doc, rv, ns, "EncapsulatedCRLValue", 64) {
                    if let Some(d) = b64(&text_of(doc, e)) {
                        x.crl_values.push(d);
                    }
                }
                for e in all(doc, rv, ns, "EncapsulatedOCSPValue", 64) {
                    if let Some(d) = b64(&text_of(doc, e)) {
                        x.ocsp_values.push(d);
                    }
                }
            }
        }
        for (position, c) in x.unsigned_children.iter().enumerate() {
            let v141 = is(doc, *c, XADES141, "ArchiveTimeStamp");
            if !v141 && !is(doc, *c, &ns, "ArchiveTimeStamp") {
                continue;
            }
            // Its token and c14n are in the XAdES namespace of the
            // signature, except the ds:CanonicalizationMethod.
            x.archive_timestamps.push(ArchiveStamp {
                position,
                v141,
                includes: child(doc, *c, &ns, "Include").is_some(),
                stamp: stamp(doc, *c, &ns),
            });
        }
    }
    Some(x)
}

/// A XAdES time-stamp container: its c14n (C14N 1.0 when absent) and the
/// first `EncapsulatedTimeStamp`.
fn stamp(doc: &Document<'_>, ts: NodeId, ns: &str) -> Option<Stamp> {
    let c14n = child(doc, ts, DSIG, "CanonicalizationMethod")
        .and_then(|m| attr(doc, m, "Algorithm"))
        .unwrap_or("http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
        .to_string();
    let token = child(doc, ts, ns, "EncapsulatedTimeStamp").and_then(|e| b64(&text_of(doc, e)))?;
    Some(Stamp { c14n, token })
}
