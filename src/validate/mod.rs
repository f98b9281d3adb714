//! The verification pipeline: format → signatures → per-signature checks →
//! indications (ETSI EN 319 102-1 words). Reads no clock: the caller gives
//! the validation time, the trust anchors and the policy.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod certcheck;
pub mod cmscheck;
pub mod cmsfile;
pub mod package;
mod pdfcheck;
pub mod signer;
pub mod tsp;
pub mod xmlcheck;

use std::path::Path;

use crate::error::{Error, Result};
use crate::pdf::source::{FileSource, MemSource, Source, read_range};
use crate::report::{Check, DocumentInfo, Outcome, Report};

pub use crate::core::{AlgorithmPolicy, Sha1Policy, Timing, VerifyOptions, XmlProfileChoice};
pub use certcheck::verify_certificate;
pub use cmsfile::{decode_cms_input, verify_cms};
pub use pdfcheck::verify_pdf;
pub use tsp::parse_tst_info;
pub use xmlcheck::verify_xml;

/// What kind of input this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Cms,
    Xml,
    /// A ZIP package: OOXML (.docx/.xlsx/.pptx) or ODF (.odt/.ods).
    Package,
}

/// Guess the format from the first bytes: a ZIP package (OOXML, ODF) by
/// its first local header; a CMS ContentInfo of type
/// signedData (DER/BER, PEM or base64) by its structure first — an
/// enveloping .p7m carries a PDF's `%PDF-` within its first bytes, and is
/// still a CMS file — then a PDF by its header anywhere in the first KiB
/// (ISO 32000-1 §7.5.2; readers accept leading junk), then XML (a `<` that
/// opens a declaration, comment or element), else CMS (whose reader then
/// says what is wrong).
pub fn detect_format(head: &[u8]) -> Format {
    if package::looks_like_package(head) {
        Format::Package
    } else if looks_like_signed_data(head) {
        Format::Cms
    } else if head.windows(5).any(|w| w == b"%PDF-") {
        Format::Pdf
    } else if crate::xml::looks_like_xml(head) {
        Format::Xml
    } else {
        Format::Cms
    }
}

/// The DER of the signedData content type (1.2.840.113549.1.7.2), as a ContentInfo's first field.
const SIGNED_DATA_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];

/// Whether `head` begins a ContentInfo SEQUENCE whose contentType is
/// signedData: in DER/BER, or as PEM or bare base64 of one.
fn looks_like_signed_data(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let t = head.get(start..).unwrap_or(&[]);
    if der_signed_data(t) {
        return true;
    }
    // PEM: skip the armour line; base64: the text itself.
    let body = if t.starts_with(b"-----BEGIN") {
        match t.iter().position(|b| *b == b'\n') {
            Some(nl) => t.get(nl.saturating_add(1)..).unwrap_or(&[]),
            None => return false,
        }
    } else {
        t
    };
    // The first 64 base64 characters (whitespace skipped) decode to 48 bytes,
    // enough for the SEQUENCE header and the content type.
    let chars: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(64)
        .collect();
    if chars.len() < 24
        || !chars
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return false;
    }
    let whole = chars.len().saturating_sub(chars.len() % 4);
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(chars.get(..whole).unwrap_or(&[])) {
        Ok(der) => der_signed_data(&der),
        Err(_) => false,
    }
}

/// A SEQUENCE (definite or indefinite length) whose first element is the signedData OID.
fn der_signed_data(b: &[u8]) -> bool {
    let skip = match b {
        [0x30, 0x80, ..] => 2,
        [0x30, n @ 0x81..=0x84, ..] => 2usize.saturating_add(usize::from(n & 0x7f)),
        [0x30, n, ..] if *n < 0x80 => 2,
        _ => return false,
    };
    b.get(skip..)
        .is_some_and(|r| r.starts_with(&SIGNED_DATA_OID))
}

/// A check for a document that could not be read at all.
pub fn document_error(e: &Error) -> Check {
    let (code, vi) = match e {
        Error::UnknownFormat(_) => (
            "DOC_UNKNOWN_FORMAT",
            "Không nhận ra định dạng tệp (không phải PDF hay CMS)",
        ),
        Error::Limit { .. } => (
            "DOC_LIMIT_EXCEEDED",
            "Tệp vượt quá giới hạn an toàn khi đọc",
        ),
        Error::Unsupported(_) => ("DOC_UNSUPPORTED", "Tệp dùng tính năng chưa được hỗ trợ"),
        _ => ("DOC_MALFORMED", "Cấu trúc tệp bị hỏng hoặc không hợp lệ"),
    };
    Check::new(code, Outcome::Failed, format!("{vi}: {e}"), e.to_string())
}

/// PDFs up to this size are read into memory whole; larger ones are read on demand.
const SMALL_FILE: u64 = 1 << 20;

/// Verify a file on disk: a PDF, or a CMS signature (with optional detached content).
/// Returns `Err` only for I/O errors on the given paths; malformed input gives a report.
pub fn verify_path(
    path: &Path,
    detached: Option<&Path>,
    opts: &VerifyOptions,
) -> Result<(Report, Option<Vec<u8>>)> {
    let (mut report, content) = verify_path_inner(path, detached, opts)?;
    report.policy = Some(opts.policy_record());
    Ok((report, content))
}

fn verify_path_inner(
    path: &Path,
    detached: Option<&Path>,
    opts: &VerifyOptions,
) -> Result<(Report, Option<Vec<u8>>)> {
    let src = FileSource::open(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let head = read_range(&src, 0, 1024)?;
    match detect_format(&head) {
        // Small files are read at once: one read instead of one per object.
        Format::Pdf if detached.is_none() && src.len() <= SMALL_FILE => {
            let data = read_range(&src, 0, src.len() as usize)?;
            Ok((verify_pdf(&MemSource(&data), &name, opts), None))
        }
        Format::Pdf if detached.is_none() => Ok((verify_pdf(&src, &name, opts), None)),
        Format::Package => {
            if src.len() > opts.limits.max_package_bytes {
                let e = Error::limit(
                    "max_package_bytes",
                    src.len(),
                    opts.limits.max_package_bytes,
                );
                return Ok((too_big(name, src.len(), "PACKAGE", &e, opts), None));
            }
            let data = read_range(&src, 0, src.len() as usize)?;
            Ok((package::verify_package(&data, &name, opts), None))
        }
        Format::Xml => {
            if src.len() > opts.limits.max_xml_bytes {
                let e = Error::limit("max_xml_bytes", src.len(), opts.limits.max_xml_bytes);
                return Ok((too_big(name, src.len(), "XML", &e, opts), None));
            }
            let data = read_range(&src, 0, src.len() as usize)?;
            let det = match detached {
                Some(p) => Some((
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    std::fs::read(p)?,
                )),
                None => None,
            };
            let det: Vec<xmlcheck::Detached<'_>> = det
                .iter()
                .map(|(n, d)| xmlcheck::Detached::bytes(n, d))
                .collect();
            Ok((verify_xml(&data, &det, &name, opts), None))
        }
        _ => {
            let det = match detached {
                Some(p) => Some(FileSource::open(p)?),
                None => None,
            };
            if src.len() > opts.limits.max_cms_bytes {
                let e = Error::limit("max_cms_bytes", src.len(), opts.limits.max_cms_bytes);
                return Ok((too_big(name, src.len(), "CMS", &e, opts), None));
            }
            let data = read_range(&src, 0, src.len() as usize)?;
            Ok(verify_cms(
                &data,
                det.as_ref().map(|d| d as &dyn Source),
                &name,
                opts,
            ))
        }
    }
}

/// The report on a file refused for its size.
fn too_big(
    name: String,
    size: u64,
    format: &'static str,
    e: &Error,
    opts: &VerifyOptions,
) -> Report {
    let mut doc = DocumentInfo::new(name, size, format);
    doc.error = Some(document_error(e));
    Report::new(doc, crate::pki::cert::fmt_unix(opts.at), Vec::new())
}

/// Verify bytes in memory (format detected).
pub fn verify_bytes(
    data: &[u8],
    detached: Option<&[u8]>,
    name: &str,
    opts: &VerifyOptions,
) -> (Report, Option<Vec<u8>>) {
    let head = data.get(..1024).unwrap_or(data);
    let (mut report, content) = match (detect_format(head), detached) {
        (Format::Pdf, None) => (verify_pdf(&MemSource(data), name, opts), None),
        (Format::Package, _) => (package::verify_package(data, name, opts), None),
        (Format::Xml, det) => {
            let det: Vec<xmlcheck::Detached<'_>> = det
                .map(|d| xmlcheck::Detached::bytes("", d))
                .into_iter()
                .collect();
            (verify_xml(data, &det, name, opts), None)
        }
        (_, det) => {
            let det = det.map(MemSource);
            verify_cms(data, det.as_ref().map(|d| d as &dyn Source), name, opts)
        }
    };
    report.policy = Some(opts.policy_record());
    (report, content)
}
