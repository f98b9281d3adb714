//! Intake: what happens to a document or a dossier handed to kyso — the
//! validation time allowed, verification with the procedure's policy, the
//! dossier rules on the request (codes, applicant, files), the decision and
//! the all-or-nothing archive write. Called by the JSON API (and the pages
//! and CLI to come); the handlers in [`super::routes`] only translate HTTP.

use std::sync::Arc;

use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::policy::{Applicant, Decision, FileDecision, decide, decide_file};
use super::verified::{Verified, media_type, run_verification, store_verified};
use super::{ApiError, AppState, Caller};
use crate::archive::{DocumentRecord, FileRecord, Submitted, VersionRecord, sha256_hex};

/// What a caller asks of one verification.
pub struct VerifyRequest {
    /// Keep the document, its report and evidence in the archive.
    pub store: bool,
    /// A validation time other than the server's clock (RFC 3339).
    pub at: Option<String>,
    /// The procedure whose policy applies (else the default policy).
    pub procedure: Option<String>,
    /// The file name shown in the report.
    pub name: Option<String>,
}

/// A verification done: the document's SHA-256 when it was stored.
pub struct VerifyDone {
    pub sha256: Option<String>,
    pub verified: Verified,
}

/// The validation time of a request: the server's clock, or the caller's
/// choice — never for what is kept (the intake verdict), and only for
/// roles that investigate; refused before the upload is read.
pub fn validation_time(
    state: &AppState,
    who: &Caller,
    ask: &VerifyRequest,
) -> Result<i64, ApiError> {
    // A certificate revoked today must not be archived as valid "last year".
    if ask.at.is_some() {
        if ask.store {
            return Err(ApiError::bad_request(
                "AT_NOT_WITH_STORE",
                "Kết quả được lưu luôn dùng đồng hồ của máy chủ; không dùng 'at' cùng 'store=true'.",
                "A stored verification always uses the server's clock; 'at' cannot be combined with 'store=true'.",
            ));
        }
        if !matches!(who.role.as_str(), "auditor" | "admin") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "AT_NOT_ALLOWED",
                "Chỉ kiểm toán viên và quản trị viên được chọn thời điểm kiểm tra.",
                "Only auditors and admins may choose the validation time.",
            ));
        }
    }
    parse_at(ask.at.as_deref(), state.clock.now())
}

fn parse_at(at: Option<&str>, now: i64) -> Result<i64, ApiError> {
    match at {
        None => Ok(now),
        Some(s) => crate::pki::cert::parse_rfc3339(s).ok_or_else(|| {
            ApiError::bad_request(
                "BAD_TIME",
                format!("Thời điểm '{s}' không đúng định dạng RFC 3339."),
                format!("Time '{s}' is not RFC 3339."),
            )
        }),
    }
}

/// Verify one document under the procedure's policy at `at`; stored with
/// its report and evidence when asked; a caller-chosen time is noted in the
/// report and audited.
pub async fn verify(
    state: &Arc<AppState>,
    who: &Caller,
    ask: &VerifyRequest,
    at: i64,
    data: Bytes,
    detached: Option<Bytes>,
    part_name: Option<String>,
) -> Result<VerifyDone, ApiError> {
    let name = match ask.name.clone().or(part_name) {
        Some(n) => clean_name(&n)?,
        None => "upload".into(),
    };
    let (policy_name, policy) = state.policy_for(ask.procedure.as_deref().unwrap_or(""));
    let prep = state.prepared(&policy_name, policy);
    let size = data.len() as u64;
    let mt = media_type(&data);
    let mut v = run_verification(state, data.clone(), detached, name, &prep, at, ask.store).await?;
    state.metrics.verified(&v.indication, size);
    if let Some(t) = &ask.at {
        v.report.document.notes.push(crate::report::Check::new(
            "VALIDATION_TIME_CHOSEN_BY_CALLER",
            crate::report::Outcome::Info,
            format!("Thời điểm kiểm tra {t} do người gọi chọn, không phải đồng hồ của máy chủ; kết quả này không phải kết quả tiếp nhận"),
            format!("The validation time {t} was chosen by the caller, not the server's clock; this is not an intake verdict"),
        ));
        state
            .audit(
                who,
                "document.verify_at_time",
                &sha256_hex(&data),
                &format!("at {t}: {}", v.indication),
            )
            .await?;
    }
    let mut sha = None;
    if ask.store {
        let doc_sha = sha256_hex(&data);
        let policy_json = serde_json::to_string(policy).map_err(ApiError::internal)?;
        let rec = v.record(state, &doc_sha, at, &policy_json);
        let draft = state.draft(who, "document.verify_store", &doc_sha, &v.indication);
        store_verified(state, data, mt, &v, &rec, draft).await?;
        sha = Some(doc_sha);
    }
    Ok(VerifyDone {
        sha256: sha,
        verified: v,
    })
}

/// The `dossier` part of a submission.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierMeta {
    /// Dossier code (mã hồ sơ).
    code: String,
    /// Procedure code (mã thủ tục).
    procedure: String,
    applicant: Applicant,
    /// One entry per `file` part, in the same order.
    files: Vec<FileMeta>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileMeta {
    /// Role of the file in the procedure, e.g. `don_de_nghi`, `giay_to_kem_theo`.
    role: String,
    /// File name (else the part's file name).
    name: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DossierResponse {
    pub code: String,
    pub version: u32,
    /// True when this exact submission was already the latest version (nothing new stored).
    pub replay: bool,
    pub decision: Decision,
}

fn valid_token(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        // "." and ".." name directories wherever a code becomes a path.
        && !s.bytes().all(|b| b == b'.')
}

/// A file name as it is stored and echoed: its last path component, at
/// most 255 bytes, no control characters, not `.` or `..`; else 400.
pub fn clean_name(n: &str) -> Result<String, ApiError> {
    let last = n.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let bad = last.is_empty()
        || last.len() > 255
        || last.chars().any(char::is_control)
        || last.chars().all(|c| c == '.');
    if bad {
        return Err(ApiError::bad_request(
            "BAD_NAME",
            "Tên tệp không hợp lệ (rỗng, quá 255 byte hoặc có ký tự điều khiển).",
            "The file name is not acceptable (empty, over 255 bytes or with control characters).",
        ));
    }
    Ok(last.to_string())
}

/// Submit a dossier: the request checked (codes, applicant, one listed
/// file per file sent), every file verified, the procedure's acceptance
/// policy applied, and the version stored all-or-nothing (blobs first, each
/// durable, then one transaction for the rows; the dossier rules in
/// [`crate::archive::plan_submission`]).
pub async fn submit(
    state: &Arc<AppState>,
    who: &Caller,
    meta: DossierMeta,
    files: Vec<(Option<String>, Bytes)>,
) -> Result<DossierResponse, ApiError> {
    if !valid_token(&meta.code, 64) || !valid_token(&meta.procedure, 64) {
        return Err(ApiError::bad_request(
            "BAD_DOSSIER",
            "Mã hồ sơ và mã thủ tục chỉ gồm chữ, số, '.', '-', '_' (tối đa 64 ký tự).",
            "Dossier and procedure codes are letters, digits, '.', '-', '_' (at most 64).",
        ));
    }
    meta.applicant
        .validate()
        .map_err(|(vi, en)| ApiError::bad_request("BAD_APPLICANT", vi, en))?;
    if meta.files.len() != files.len() || files.is_empty() {
        return Err(ApiError::bad_request(
            "FILE_COUNT_MISMATCH",
            format!(
                "Phần 'dossier' kê {} tệp nhưng gửi {} tệp (cần ít nhất một).",
                meta.files.len(),
                files.len()
            ),
            format!(
                "The 'dossier' part lists {} file(s) but {} were sent (at least one is needed).",
                meta.files.len(),
                files.len()
            ),
        ));
    }
    for f in &meta.files {
        if !valid_token(&f.role, 64) || f.name.as_ref().is_some_and(|n| n.len() > 255) {
            return Err(ApiError::bad_request(
                "BAD_DOSSIER",
                "Vai trò tệp chỉ gồm chữ, số, '.', '-', '_'; tên tệp tối đa 255 byte.",
                "File roles are letters, digits, '.', '-', '_'; names at most 255 bytes.",
            ));
        }
    }
    let (policy_name, policy) = state.policy_for(&meta.procedure);
    let policy = policy.clone();
    let prep = state.prepared(&policy_name, &policy);
    let policy_json = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    let now = state.clock.now();
    let applicant_json = serde_json::to_string(&meta.applicant).map_err(ApiError::internal)?;

    let mut decisions: Vec<FileDecision> = Vec::new();
    let mut docs = Vec::new();
    let mut reports = Vec::new();
    let mut file_records = Vec::new();
    // (SHA-256 when already known, bytes) of every blob to keep.
    let mut blobs: Vec<(Option<String>, Bytes)> = Vec::new();
    let mut canon = Vec::new();
    for (i, ((part_name, data), fm)) in files.into_iter().zip(&meta.files).enumerate() {
        let index = i as u32 + 1;
        let name = match fm.name.clone().or(part_name) {
            Some(n) => clean_name(&n)?,
            None => format!("file-{index}"),
        };
        let sha = sha256_hex(&data);
        let size = data.len() as u64;
        let v = run_verification(state, data.clone(), None, name.clone(), &prep, now, true).await?;
        state.metrics.verified(&v.indication, size);
        decisions.push(decide_file(
            &policy,
            &meta.applicant,
            index,
            &fm.role,
            &name,
            &sha,
            &v.report,
        ));
        let rec = v.record(state, &sha, now, &policy_json);
        let report_sha = rec.report_sha256.clone();
        docs.push(DocumentRecord {
            sha256: sha.clone(),
            size,
            media_type: media_type(&data).into(),
        });
        reports.push(rec);
        file_records.push(FileRecord {
            index,
            role: fm.role.clone(),
            name: name.clone(),
            document_sha256: sha.clone(),
            report_sha256: report_sha.clone(),
        });
        blobs.push((Some(sha.clone()), data));
        blobs.push((Some(report_sha), v.report_json));
        blobs.extend(v.new_evidence.into_iter().map(|b| (None, b)));
        canon.push((fm.role.clone(), name, sha));
    }
    let decision = decide(&meta.procedure, &policy_name, decisions);
    let decision_json =
        Bytes::from(serde_json::to_vec_pretty(&decision).map_err(ApiError::internal)?);
    let submission = serde_json::to_vec(&(&meta.procedure, &meta.applicant, &canon))
        .map_err(ApiError::internal)?;
    // Blobs first, each durable; then one transaction for the rows.
    for (known, b) in blobs {
        match known {
            Some(sha) => state.archive.blobs.put(&sha, b).await?,
            None => {
                state.archive.put_blob(b).await?;
            }
        }
    }
    let decision_sha = state.archive.put_blob(decision_json).await?;
    let record = VersionRecord {
        code: meta.code.clone(),
        version: 0,
        procedure: meta.procedure.clone(),
        applicant: applicant_json,
        submission_sha256: sha256_hex(&submission),
        accepted: decision.accepted_in_lieu_of_originals,
        decision_sha256: decision_sha,
        created: state.clock.now_rfc3339(),
        files: file_records,
    };
    let outcome = if decision.accepted_in_lieu_of_originals {
        "accepted"
    } else {
        "not accepted"
    };
    let draft = state.draft(who, "dossier.submit", &meta.code, outcome);
    let submitted = state
        .archive
        .meta
        .submit_version(&record, &docs, &reports, draft)
        .await?;
    let (version, replay, decision) = match submitted {
        Submitted::New(v) => (v.version, false, decision),
        Submitted::Replay(v) => (
            v.version,
            true,
            load_decision(state, &v.decision_sha256).await?,
        ),
    };
    Ok(DossierResponse {
        code: meta.code,
        version,
        replay,
        decision,
    })
}

/// A stored decision.
pub async fn load_decision(state: &AppState, sha: &str) -> Result<Decision, ApiError> {
    let b = state
        .archive
        .get_blob(sha)
        .await?
        .ok_or_else(|| ApiError::internal(format!("decision blob {sha} missing")))?;
    serde_json::from_slice(&b).map_err(ApiError::internal)
}

/// Check one certificate (PEM or DER, a chain after it) under the
/// procedure's policy at the server's clock: path, validity, revocation
/// (the configured data, and the network when the service fetches), key
/// usage for signing documents. Nothing is stored; the check is counted.
pub async fn verify_certificate(
    state: &Arc<AppState>,
    procedure: Option<&str>,
    name: String,
    data: Bytes,
) -> Result<crate::report::Report, ApiError> {
    let (policy_name, policy) = state.policy_for(procedure.unwrap_or(""));
    let prep = state.prepared(&policy_name, policy);
    let mut opts = prep.opts.clone();
    opts.at = state.clock.now();
    opts.revocation = state.configured().data.clone();
    super::verified::fetch_online(state, &mut opts);
    let report = tokio::task::spawn_blocking(move || {
        crate::validate::verify_certificate(&data, &name, &opts)
    })
    .await
    .map_err(ApiError::internal)?;
    state
        .metrics
        .verified(report.summary.indication.as_str(), report.document.size);
    Ok(report)
}
