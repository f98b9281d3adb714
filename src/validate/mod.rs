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

pub mod cmscheck;
pub mod cmsfile;
mod pdfcheck;
pub mod signer;
pub mod tsp;

use std::path::Path;

use crate::error::{Error, Result};
use crate::pdf::source::{FileSource, MemSource, Source, read_range};
use crate::report::{Check, DocumentInfo, Outcome, Report};

pub use crate::core::{AlgorithmPolicy, Sha1Policy, Timing, VerifyOptions};
pub use cmsfile::{decode_cms_input, verify_cms};
pub use pdfcheck::verify_pdf;
pub use tsp::parse_tst_info;

/// What kind of input this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Cms,
}

/// Guess the format from the first bytes.
pub fn detect_format(head: &[u8]) -> Format {
    if head.windows(5).any(|w| w == b"%PDF-") {
        Format::Pdf
    } else {
        Format::Cms
    }
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
        _ => {
            let det = match detached {
                Some(p) => Some(FileSource::open(p)?),
                None => None,
            };
            if src.len() > opts.limits.max_cms_bytes {
                let e = Error::limit("max_cms_bytes", src.len(), opts.limits.max_cms_bytes);
                let doc = DocumentInfo {
                    revisions: Vec::new(),
                    name,
                    size: src.len(),
                    format: "CMS",
                    error: Some(document_error(&e)),
                    notes: Vec::new(),
                };
                return Ok((
                    Report::new(doc, crate::pki::cert::fmt_unix(opts.at), Vec::new()),
                    None,
                ));
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
        (_, det) => {
            let det = det.map(MemSource);
            verify_cms(data, det.as_ref().map(|d| d as &dyn Source), name, opts)
        }
    };
    report.policy = Some(opts.policy_record());
    (report, content)
}
