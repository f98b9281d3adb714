//! The verification pipeline: format → signatures → per-signature checks →
//! indications (ETSI EN 319 102-1 words). Reads no clock: the caller gives
//! the validation time, the trust anchors and the policy.

pub mod cmscheck;
mod pdfcheck;
pub mod tsp;

use std::path::Path;

use openssl::x509::X509;

use crate::error::{Error, Limits, Result};
use crate::pdf::source::{FileSource, MemSource, Source, read_range};
use crate::pki::TrustStore;
use crate::report::{Check, DocumentInfo, Outcome, Report};

pub use cmscheck::{decode_cms_input, verify_cms};
pub use pdfcheck::verify_pdf;
pub use tsp::parse_tst_info;

/// How SHA-1 is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sha1Policy {
    Accept,
    Warn,
    Reject,
}

/// Algorithm policy (configurable; defaults reject MD5 and RSA < 2048, flag SHA-1).
#[derive(Clone, Debug)]
pub struct AlgorithmPolicy {
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    pub sha1: Sha1Policy,
    pub reject_md5: bool,
    /// DSA keys anywhere (FIPS 186-5 no longer approves DSA signatures).
    pub allow_dsa: bool,
}

impl AlgorithmPolicy {
    /// The part that applies to every certificate of a path.
    pub fn key_policy(&self) -> crate::pki::KeyPolicy {
        crate::pki::KeyPolicy {
            min_rsa_bits: self.min_rsa_bits,
            min_ec_bits: self.min_ec_bits,
            allow_dsa: self.allow_dsa,
            rsa_whole_bytes: true,
        }
    }
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        AlgorithmPolicy {
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            sha1: Sha1Policy::Warn,
            reject_md5: true,
            allow_dsa: false,
        }
    }
}

/// Everything the verifier depends on.
#[derive(Clone)]
pub struct VerifyOptions {
    pub trust: TrustStore,
    /// Extra intermediate certificates supplied by the caller.
    pub intermediates: Vec<X509>,
    /// Validation time, Unix seconds.
    pub at: i64,
    pub algorithms: AlgorithmPolicy,
    pub limits: Limits,
    /// Revocation data supplied by the caller (embedded data is added per document).
    pub revocation: crate::revocation::RevocationData,
    /// Without usable revocation data for a certificate, the signature is
    /// `INDETERMINATE/TRY_LATER` (true, the default) or only warned about.
    pub require_revocation: bool,
    /// Proof of existence of the signed object from outside it (a later,
    /// valid document timestamp covering it), Unix seconds.
    pub external_poe: Option<i64>,
    /// Set while checking a timestamp token: its genTime, the latest time at
    /// which the TSA's path is judged for revocation.
    pub tsa_gen_time: Option<i64>,
    /// Revocation data from a local cache and, when allowed, the network.
    pub fetch: crate::revocation::fetch::FetchConfig,
}

impl VerifyOptions {
    pub fn new(trust: TrustStore, at: i64) -> Self {
        VerifyOptions {
            trust,
            intermediates: Vec::new(),
            at,
            algorithms: AlgorithmPolicy::default(),
            limits: Limits::default(),
            revocation: Default::default(),
            require_revocation: true,
            external_poe: None,
            tsa_gen_time: None,
            fetch: Default::default(),
        }
    }
}

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
    let head = &data[..data.len().min(1024)];
    match (detect_format(head), detached) {
        (Format::Pdf, None) => (verify_pdf(&MemSource(data), name, opts), None),
        (_, det) => {
            let det = det.map(MemSource);
            verify_cms(data, det.as_ref().map(|d| d as &dyn Source), name, opts)
        }
    }
}
