//! Verifying an upload under a policy's settings and keeping it with its
//! evidence: what the verify, dossier and signing endpoints share (a room of
//! its own, so that the endpoint modules do not depend on each other).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use bytes::Bytes;

use super::{ApiError, AppState, Caller};
use crate::archive::{DocumentRecord, EvidenceRef, ReportRecord, sha256_hex};
use crate::report::Report;

/// A verification with what it relied on.
pub struct Verified {
    pub report: Report,
    pub report_json: Bytes,
    pub indication: String,
    pub evidence: Vec<EvidenceRef>,
    /// Evidence obtained during this verification (fetched OCSP/CRL, detached content).
    pub new_evidence: Vec<Bytes>,
}

impl Verified {
    /// The report row of this verification of document `sha`, made at `at`
    /// under the policy `policy_json`.
    pub fn record(&self, state: &AppState, sha: &str, at: i64, policy_json: &str) -> ReportRecord {
        ReportRecord {
            document_sha256: sha.into(),
            report_sha256: sha256_hex(&self.report_json),
            verified_at: state.clock.now_rfc3339(),
            validation_time: at,
            indication: self.indication.clone(),
            online: state.cfg.revocation.online,
            require_revocation: state.cfg.revocation.required,
            evidence: self.evidence.clone(),
            policy: policy_json.into(),
        }
    }
}

/// Keep one verified document: its bytes, the evidence fetched and the report
/// (blobs, each durable), then its rows and the audit entry in one transaction.
pub async fn store_verified(
    state: &AppState,
    data: Bytes,
    media_type: &str,
    v: &Verified,
    rec: &ReportRecord,
    audit: crate::archive::AuditDraft,
) -> Result<(), ApiError> {
    let doc = DocumentRecord {
        sha256: rec.document_sha256.clone(),
        size: data.len() as u64,
        media_type: media_type.into(),
    };
    state.archive.blobs.put(&doc.sha256, data).await?;
    for b in &v.new_evidence {
        state.archive.put_blob(b.clone()).await?;
    }
    state
        .archive
        .blobs
        .put(&rec.report_sha256, v.report_json.clone())
        .await?;
    state
        .archive
        .meta
        .record_verification(&doc, rec, audit)
        .await?;
    Ok(())
}

/// The caller the role layer let through.
pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ApiError::internal("route reached without a caller"))
}

/// Documents up to this size are verified on the request's own thread.
const INLINE_VERIFY_MAX: usize = 1 << 20;

/// Verify bytes under a policy's prepared settings, at `at`. The report's
/// JSON is made only when it is to be stored (`keep`).
pub async fn run_verification(
    state: &Arc<AppState>,
    data: Bytes,
    detached: Option<Bytes>,
    name: String,
    prep: &super::Prepared,
    at: i64,
    keep: bool,
) -> Result<Verified, ApiError> {
    let mut opts = prep.opts.clone();
    opts.at = at;
    let configured = state.configured();
    opts.revocation = configured.data.clone();
    let size = data.len() + detached.as_ref().map_or(0, |d| d.len());
    // Online: through the shared revocation cache; what it hands out is
    // logged, and kept as the evidence of this verification.
    let used = fetch_online(state, &mut opts);
    let det = detached.clone();
    let work = move || {
        let (report, _) = crate::validate::verify_bytes(&data, det.as_deref(), &name, &opts);
        let mut fetched: Vec<(String, Bytes)> = Vec::new();
        if let Some(log) = &used {
            let items = log.lock().map(|l| l.clone()).unwrap_or_default();
            for (kind, raw) in items {
                let b = Bytes::from(raw.to_vec());
                if !fetched.iter().any(|(_, x)| *x == b) {
                    fetched.push((kind.as_str().to_string(), b));
                }
            }
        }
        (report, fetched)
    };
    // A small document offline is verified where the request runs (about a
    // millisecond of CPU; a hand-off to another thread costs a good part of
    // that). Large documents and network fetches go to the blocking pool, at
    // most one per core.
    let inline = size <= INLINE_VERIFY_MAX && !state.cfg.revocation.online;
    let (report, fetched) = if inline {
        work()
    } else {
        let _slot = state
            .verify_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(ApiError::internal)?
    };
    let mut evidence = prep.evidence.clone();
    evidence.extend(configured.refs());
    let mut new_evidence = Vec::new();
    for (kind, b) in fetched {
        evidence.push(EvidenceRef {
            kind,
            sha256: sha256_hex(&b),
        });
        new_evidence.push(b);
    }
    if let Some(d) = detached {
        evidence.push(EvidenceRef {
            kind: "DETACHED_CONTENT".into(),
            sha256: sha256_hex(&d),
        });
        new_evidence.push(d);
    }
    let report_json = if keep {
        Bytes::from(serde_json::to_vec_pretty(&report).map_err(ApiError::internal)?)
    } else {
        Bytes::new()
    };
    let indication = report.summary.indication.as_str().to_string();
    Ok(Verified {
        report,
        report_json,
        indication,
        evidence,
        new_evidence,
    })
}

pub fn media_type(data: &[u8]) -> &'static str {
    match crate::validate::detect_format(&data[..data.len().min(1024)]) {
        crate::validate::Format::Pdf => "application/pdf",
        crate::validate::Format::Xml => "application/xml",
        crate::validate::Format::Package => crate::validate::package::media_type(data),
        crate::validate::Format::Cms => "application/pkcs7-signature",
    }
}

/// A body that could not be read: 413 over the limit, else 400.
pub fn body_error(status: StatusCode, max: usize) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(max)
    } else {
        ApiError::bad_request(
            "MALFORMED_BODY",
            "Nội dung gửi lên không đọc được.",
            "The request body could not be read.",
        )
    }
}

/// A raw request body of at most `max` bytes, whatever the service-wide
/// body limit: 413 over it, 400 when it cannot be read.
pub async fn read_body(req: Request, max: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), max)
        .await
        .map_err(|e| {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            let status = if over {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            body_error(status, max)
        })
}

/// When the service fetches revocation data: through the shared cache,
/// within the configured deadline; the returned log lists what was handed
/// out (the evidence of this verification).
pub fn fetch_online(
    state: &AppState,
    opts: &mut crate::validate::VerifyOptions,
) -> Option<crate::revocation::fetch::UsedLog> {
    if !state.cfg.revocation.online {
        return None;
    }
    let log = crate::revocation::fetch::UsedLog::default();
    opts.fetch.online = true;
    opts.fetch.shared = Some(state.revcache.clone());
    opts.fetch.used = Some(log.clone());
    opts.fetch.timeout =
        std::time::Duration::from_millis(state.cfg.revocation.fetch_timeout_ms.max(1));
    Some(log)
}
