//! CMS signature files (.p7s detached, .p7m enveloping; DER, PEM or
//! base64): a format room. It reads the ContentInfo, pairs it with its
//! content and hands each SignerInfo to [`super::signer`].

use base64::Engine;

use super::cmscheck::Content;
use super::document_error;
use super::signer::check_signature;
use crate::cms;
use crate::core::{Timing, VerifyOptions};
use crate::error::{Error, Result};
use crate::pdf::source::Source;
use crate::pki::cert;
use crate::report::{
    Check, DocumentInfo, Indication as I, Outcome, Report, SignatureKind, SignatureReport,
    SubIndication as S,
};

/// Decode a CMS file: DER, PEM, or bare base64.
pub fn decode_cms_input(data: &[u8]) -> Result<Vec<u8>> {
    let trimmed: &[u8] = {
        let s = data
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(data.len());
        data.get(s..).unwrap_or(&[])
    };
    if trimmed.first() == Some(&0x30) {
        return Ok(trimmed.to_vec());
    }
    let text = std::str::from_utf8(trimmed)
        .map_err(|_| Error::UnknownFormat("neither DER, PEM nor base64"))?;
    let body: String = if text.starts_with("-----BEGIN") {
        text.lines().filter(|l| !l.starts_with("-----")).collect()
    } else {
        text.split_whitespace().collect()
    };
    let body: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| Error::UnknownFormat("neither DER, PEM nor base64"))?;
    if der.first() != Some(&0x30) {
        return Err(Error::UnknownFormat("decoded data is not a CMS structure"));
    }
    Ok(der)
}

/// Verify a CMS file (.p7s with detached content, or enveloping .p7m).
/// Returns the report and, for enveloping signatures, the content.
pub fn verify_cms(
    data: &[u8],
    detached: Option<&dyn Source>,
    name: &str,
    opts: &VerifyOptions,
) -> (Report, Option<Vec<u8>>) {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo::new(name, data.len() as u64, "CMS");
    let der_bytes = match decode_cms_input(data) {
        Ok(d) => d,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return (Report::new(doc, when, Vec::new()), None);
        }
    };
    let parsed = cms::first_tlv(&der_bytes).and_then(|(tlv, rest)| {
        if rest.iter().any(|b| *b != 0) {
            return Err(Error::Cms("trailing data after the CMS structure"));
        }
        cms::parse_signed_data(tlv, opts.limits.max_cms_certificates)
    });
    let sd = match parsed {
        Ok(sd) => sd,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return (Report::new(doc, when, Vec::new()), None);
        }
    };
    let econtent = sd.econtent.clone();
    let content = match (&econtent, detached) {
        (Some(c), None) => Some(Content::Bytes(c)),
        (None, Some(src)) => Some(Content::Whole(src)),
        (Some(_), Some(_)) => {
            doc.error = Some(Check::new(
                "CMS_CONTENT_AMBIGUOUS",
                Outcome::Failed,
                "Chữ ký đã chứa nội dung nhưng lại được cung cấp thêm tệp nội dung tách rời",
                "The signature encapsulates its content but detached content was also given",
            ));
            None
        }
        (None, None) => None,
    };
    let mut reports = Vec::new();
    for (i, si) in sd.signer_infos.iter().enumerate() {
        let mut rep = SignatureReport::new(i, SignatureKind::Cms);
        match &content {
            Some(c) => {
                // What a CMS signature covers is its whole content: the
                // encapsulated bytes, or the detached file given whole.
                rep.proven.coverage = true;
                check_signature(&sd, si, c, Timing::default(), opts, &mut rep);
            }
            None => rep.fail(
                I::Indeterminate,
                S::SignedDataNotFound,
                Check::new(
                    "SIGNED_DATA_NOT_FOUND",
                    Outcome::Failed,
                    "Chữ ký tách rời: cần cung cấp tệp nội dung đã ký (--detached)",
                    "Detached signature: the signed content file must be given (--detached)",
                ),
            ),
        }
        reports.push(rep);
    }
    if sd.signer_infos.is_empty() && doc.error.is_none() {
        doc.error = Some(Check::new(
            "CMS_NO_SIGNERS",
            Outcome::Failed,
            "Cấu trúc CMS không chứa chữ ký nào (chỉ có chứng thư)",
            "The CMS structure holds no signer (certificates only)",
        ));
    }
    // The enveloped content is itself a signed PDF (a .p7m wrapping a
    // signed PDF): its own signatures are verified too, and listed after
    // the CMS ones, marked as enveloped.
    if let (Some(c), None) = (&econtent, &doc.error) {
        let head = c.get(..1024).unwrap_or(c);
        if super::detect_format(head) == super::Format::Pdf {
            let inner = super::verify_pdf(&crate::pdf::source::MemSource(c), name, opts);
            if let Some(e) = &inner.document.error {
                // Bytes that only look like a PDF: the CMS signature over
                // them stands on its own; say what the content is not.
                doc.notes.push(Check::new(
                    "ENVELOPED_PDF_UNREADABLE",
                    Outcome::Warning,
                    format!(
                        "Nội dung được ký trông như PDF nhưng không đọc được: {}",
                        e.message_vi
                    ),
                    format!(
                        "The signed content looks like a PDF but cannot be read: {}",
                        e.message_en
                    ),
                ));
                return (Report::new(doc, when, reports), econtent);
            }
            let first = reports.len();
            for (k, mut s) in inner.signatures.into_iter().enumerate() {
                s.index = first.saturating_add(k);
                s.enveloped = true;
                reports.push(s);
            }
            doc.notes.push(Check::new(
                "ENVELOPED_PDF",
                Outcome::Info,
                "Nội dung được ký là một tệp PDF; các chữ ký bên trong PDF (nếu có) cũng được kiểm tra",
                "The signed content is a PDF; the PDF's own signatures (if any) are verified too",
            ));
            doc.enveloped = Some(Box::new(inner.document));
        }
    }
    (Report::new(doc, when, reports), econtent)
}
