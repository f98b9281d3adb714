//! One certificate checked on its own (`kyso cert verify`, `POST
//! /v1/certificates/verify`, the page's certificate tab): is it a document
//! signer's certificate that chains to a trusted root at the validation
//! time, unrevoked then, with a key usage fit for signing documents — by
//! the same path validator, revocation rule and report words as the signer
//! of a signature ([`crate::core::x509::validate`]). Reported as one entry
//! of kind `CERTIFICATE`; no document is involved, so what a signature
//! would add (integrity, coverage) is not asked.

use crate::core::x509::{self, Role};
use crate::core::{Timing, VerifyOptions};
use crate::pki::cert;
use crate::report::{Check, DocumentInfo, Outcome, Report, SignatureKind, SignatureReport};
use crate::revocation::RevocationData;

/// Largest certificate input: a certificate with its chain, PEM.
pub const MAX_CERTIFICATE_BYTES: usize = 1 << 20;

/// Check the first certificate of `data` (PEM, one or more — the others
/// are offered as intermediates — or one DER certificate).
pub fn verify_certificate(data: &[u8], name: &str, opts: &VerifyOptions) -> Report {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo::new(name, data.len() as u64, "X509");
    if data.len() > MAX_CERTIFICATE_BYTES {
        let e =
            crate::error::Error::limit("max_certificate_bytes", data.len(), MAX_CERTIFICATE_BYTES);
        doc.error = Some(super::document_error(&e));
        return Report::new(doc, when, Vec::new());
    }
    let certs = match crate::pki::path::parse_certificates(data) {
        Ok(c) => c,
        Err(_) => {
            doc.error = Some(Check::new(
                "CERTIFICATE_UNREADABLE",
                Outcome::Failed,
                "Không đọc được chứng thư số (cần tệp PEM hoặc DER)",
                "The certificate could not be read (PEM or DER expected)",
            ));
            return Report::new(doc, when, Vec::new());
        }
    };
    let Some((leaf, rest)) = certs.split_first() else {
        doc.error = Some(Check::new(
            "CERTIFICATE_UNREADABLE",
            Outcome::Failed,
            "Tệp không chứa chứng thư số nào",
            "The file holds no certificate",
        ));
        return Report::new(doc, when, Vec::new());
    };
    let mut rep = SignatureReport::new(0, SignatureKind::Certificate);
    let summary = cert::summarize(leaf);
    rep.pass(
        Check::new(
            "CERTIFICATE_READ",
            Outcome::Info,
            format!("Chứng thư số được kiểm tra: {}", summary.subject),
            format!("Certificate checked: {}", summary.subject),
        )
        .with("sha256", summary.sha256.clone()),
    );
    // No document: nothing is signed, so there is nothing else to prove.
    rep.proven.format = true;
    rep.proven.signer = true;
    rep.proven.integrity = true;
    rep.proven.coverage = true;
    crate::core::algorithms::check_key(
        &opts.algorithms,
        &summary.key_type,
        summary.key_bits,
        ("chứng thư", "certificate"),
        &mut rep,
    );
    rep.signer = Some(summary);
    x509::validate(
        leaf,
        rest,
        &RevocationData::default(),
        Role::DocumentSigner,
        None,
        Timing::default(),
        opts,
        &mut rep,
    );
    rep.conclude();
    Report::new(doc, when, vec![rep])
}
