//! The HTTP endpoints. Their OpenAPI description is generated from these
//! functions and their types (`/openapi.json`, kept in `docs/openapi.json`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::policy::{Applicant, Decision, FileDecision, decide, decide_file};
use super::signing::*;
use super::verified::{body_error, caller, media_type, run_verification, store_verified};
use super::{ApiError, AppState, Caller, ErrorBody, privacy};
use crate::archive::{
    AuditEntry, ChainCheck, DocumentRecord, FileRecord, Submitted, VersionRecord, is_sha256_hex,
    sha256_hex,
};
use crate::report::Report;
use crate::revocation::{RevSource, RevocationData};
use crate::validate::VerifyOptions;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kyso",
        description = "Digital signature verification and archive for Vietnamese online public services. \
Every /v1 call needs an API key (`Authorization: Bearer KEY`); errors are JSON `{code, message_vi, message_en}`."
    ),
    components(schemas(ErrorBody)),
    modifiers(&ApiKeyScheme)
)]
struct ApiDoc;

/// The `api_key` security scheme every /v1 operation names: a bearer token.
struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

fn v1_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(submit_dossier))
        .routes(routes!(get_dossier))
        .routes(routes!(get_document))
        .routes(routes!(get_report))
        .routes(routes!(reverify))
        .routes(routes!(audit_list))
        .routes(routes!(audit_verify))
        .routes(routes!(sign))
        .routes(routes!(sign_prepare))
        .routes(routes!(sign_complete))
}

fn public_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The routes and their OpenAPI description, from the same source.
pub fn api(state: Arc<AppState>) -> (Router, utoipa::openapi::OpenApi) {
    let v1 = v1_routes().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        super::authorize,
    ));
    let (router, spec) = public_routes().merge(v1).split_for_parts();
    let json = Bytes::from(spec.to_pretty_json().unwrap_or_default());
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let j = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], j) }
            }),
        )
        .with_state(state);
    (router, spec)
}

/// The OpenAPI description of the service (what `/openapi.json` serves).
pub fn openapi_json() -> String {
    let (_, spec) = public_routes().merge(v1_routes()).split_for_parts();
    spec.to_pretty_json().unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the metadata store and the blob store answer.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    let meta = state.archive.meta.ping().await;
    let blobs = state.archive.blobs.ping().await;
    if let Err(e) = meta.and(blobs) {
        tracing::warn!(error = %e, "storage not ready");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "STORAGE_UNAVAILABLE",
            "Kho lưu trữ chưa sẵn sàng.",
            "Storage is not reachable.",
        ));
    }
    Ok(Json(Health { status: "ready" }))
}

/// Prometheus metrics: requests, latencies, verdicts by indication, bytes verified.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &state.revcache.render_metrics(),
    )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Keep the document, its report and evidence in the archive.
    #[serde(default)]
    store: bool,
    /// Validation time (RFC 3339); default the server's clock. Auditors and
    /// admins only, never with `store=true`; marked in the report and the audit log.
    at: Option<String>,
    /// Procedure whose policy gives the trust anchors and algorithms; default policy otherwise.
    procedure: Option<String>,
    /// File name shown in the report.
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    /// SHA-256 of the document: its name in the archive (only when stored).
    sha256: Option<String>,
    stored: bool,
    /// The verification report (see docs/report.md).
    #[schema(value_type = Object)]
    report: serde_json::Value,
}

async fn read_upload(
    req: Request,
    max: usize,
) -> Result<(Bytes, Option<Bytes>, Option<String>), ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let b = Bytes::from_request(req, &())
            .await
            .map_err(|r| body_error(r.status(), max))?;
        return Ok((b, None, None));
    }
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|r| body_error(r.status(), max))?;
    let (mut file, mut detached, mut name) = (None, None, None);
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| body_error(e.status(), max))?
    {
        let fname = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| body_error(e.status(), max))?;
        match fname.as_str() {
            "file" if file.is_none() => {
                file = Some(data);
                name = filename;
            }
            "detached" if detached.is_none() => detached = Some(data),
            _ => {
                return Err(ApiError::bad_request(
                    "UNEXPECTED_FIELD",
                    format!("Trường '{fname}' không được hỗ trợ (file, detached)."),
                    format!("Field '{fname}' is not expected (file, detached)."),
                ));
            }
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::bad_request(
            "MISSING_FILE",
            "Thiếu tệp cần xác minh (trường 'file').",
            "The file to verify is missing (field 'file').",
        )
    })?;
    Ok((file, detached, name))
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

/// Verify one document (PDF; CMS with optional detached content; signed XML —
/// e-invoices, e-forms — with the procedure's XML profile): the raw body, or
/// multipart fields `file` and `detached`. Stores nothing unless `store=true`.
#[utoipa::path(post, path = "/v1/verify", params(VerifyQuery),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("api_key" = [])))]
async fn verify(
    State(state): State<Arc<AppState>>,
    Query(q): Query<VerifyQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let max = state.cfg.limits.max_body_bytes;
    // A validation time other than the server's clock: never for what is
    // kept (the intake verdict), and only for roles that investigate — a
    // certificate revoked today must not be archived as valid "last year".
    if q.at.is_some() {
        if q.store {
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
    let at = parse_at(q.at.as_deref(), state.clock.now())?;
    let (data, detached, part_name) = read_upload(req, max).await?;
    let name = match q.name.or(part_name) {
        Some(n) => clean_name(&n)?,
        None => "upload".into(),
    };
    let (policy_name, policy) = state.policy_for(q.procedure.as_deref().unwrap_or(""));
    let prep = state.prepared(&policy_name, policy);
    let size = data.len() as u64;
    let mt = media_type(&data);
    let mut v = run_verification(&state, data.clone(), detached, name, &prep, at, q.store).await?;
    state.metrics.verified(&v.indication, size);
    if let Some(t) = &q.at {
        v.report.document.notes.push(crate::report::Check::new(
            "VALIDATION_TIME_CHOSEN_BY_CALLER",
            crate::report::Outcome::Info,
            format!("Thời điểm kiểm tra {t} do người gọi chọn, không phải đồng hồ của máy chủ; kết quả này không phải kết quả tiếp nhận"),
            format!("The validation time {t} was chosen by the caller, not the server's clock; this is not an intake verdict"),
        ));
        state
            .audit(
                &who,
                "document.verify_at_time",
                &sha256_hex(&data),
                &format!("at {t}: {}", v.indication),
            )
            .await?;
    }
    let mut sha = None;
    if q.store {
        let doc_sha = sha256_hex(&data);
        let policy_json = serde_json::to_string(policy).map_err(ApiError::internal)?;
        let rec = v.record(&state, &doc_sha, at, &policy_json);
        let draft = state.draft(&who, "document.verify_store", &doc_sha, &v.indication);
        store_verified(&state, data, mt, &v, &rec, draft).await?;
        sha = Some(doc_sha);
    }
    // Serialised once, straight from the report.
    json_for(
        &who,
        StatusCode::OK,
        &VerifyBody {
            sha256: sha.as_deref(),
            stored: q.store,
            report: &v.report,
        },
    )
}

#[derive(Serialize)]
struct VerifyBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    stored: bool,
    report: &'a Report,
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
    code: String,
    version: u32,
    /// True when this exact submission was already the latest version (nothing new stored).
    replay: bool,
    decision: Decision,
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

/// Submit a dossier (multipart: a `dossier` JSON part, then one `file` part
/// per file). Every file is verified, the procedure's acceptance policy
/// applied, and the version stored all-or-nothing. 201: new version; 200:
/// the same submission again (idempotent).
#[utoipa::path(post, path = "/v1/dossiers",
    request_body(content = DossierMeta, content_type = "multipart/form-data",
        description = "part `dossier` (JSON as in the schema) then parts `file`"),
    responses((status = 201, body = DossierResponse), (status = 200, body = DossierResponse),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("api_key" = [])))]
async fn submit_dossier(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let max = state.cfg.limits.max_body_bytes;
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|r| body_error(r.status(), max))?;
    let mut meta: Option<DossierMeta> = None;
    let mut files: Vec<(Option<String>, Bytes)> = Vec::new();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| body_error(e.status(), max))?
    {
        let fname = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| body_error(e.status(), max))?;
        match fname.as_str() {
            "dossier" if meta.is_none() => {
                meta = Some(serde_json::from_slice(&data).map_err(|e| {
                    ApiError::bad_request(
                        "BAD_DOSSIER",
                        format!("Phần 'dossier' không hợp lệ: {e}"),
                        format!("The 'dossier' part is invalid: {e}"),
                    )
                })?);
            }
            "file" => {
                if files.len() >= state.cfg.limits.max_files {
                    return Err(ApiError::bad_request(
                        "TOO_MANY_FILES",
                        format!("Hồ sơ có quá {} tệp.", state.cfg.limits.max_files),
                        format!(
                            "The dossier has more than {} files.",
                            state.cfg.limits.max_files
                        ),
                    ));
                }
                files.push((filename, data));
            }
            _ => {
                return Err(ApiError::bad_request(
                    "UNEXPECTED_FIELD",
                    format!("Trường '{fname}' không được hỗ trợ (dossier, file)."),
                    format!("Field '{fname}' is not expected (dossier, file)."),
                ));
            }
        }
    }
    let meta = meta.ok_or_else(|| {
        ApiError::bad_request(
            "BAD_DOSSIER",
            "Thiếu phần 'dossier'.",
            "The 'dossier' part is missing.",
        )
    })?;
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
        let v =
            run_verification(&state, data.clone(), None, name.clone(), &prep, now, true).await?;
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
        let rec = v.record(&state, &sha, now, &policy_json);
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
    let draft = state.draft(&who, "dossier.submit", &meta.code, outcome);
    let submitted = state
        .archive
        .meta
        .submit_version(&record, &docs, &reports, draft)
        .await?;
    let (status, version, replay, decision) = match submitted {
        Submitted::New(v) => (StatusCode::CREATED, v.version, false, decision),
        Submitted::Replay(v) => {
            let stored = load_decision(&state, &v.decision_sha256).await?;
            (StatusCode::OK, v.version, true, stored)
        }
    };
    json_for(
        &who,
        status,
        &DossierResponse {
            code: meta.code,
            version,
            replay,
            decision,
        },
    )
}

/// Whether `who` may read the `kind` named `id`: auditors and admins read
/// everything; other roles what their own key submitted or was handed.
async fn may_read(state: &AppState, who: &Caller, kind: &str, id: &str) -> Result<bool, ApiError> {
    if privacy::privileged(&who.role) {
        return Ok(true);
    }
    Ok(state.archive.meta.owns(kind, id, &who.key_id).await?)
}

/// A JSON answer for `who`: identity numbers masked unless privileged.
fn json_for<T: Serialize>(
    who: &Caller,
    status: StatusCode,
    value: &T,
) -> Result<Response, ApiError> {
    let body = privacy::for_role(&who.role, value).map_err(ApiError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// An archived document and its reports, if `who` may read it; the read is
/// audited either way (another's document reads as absent).
async fn readable_document(
    state: &AppState,
    who: &Caller,
    sha: &str,
    action: &str,
) -> Result<
    (
        crate::archive::DocumentRecord,
        Vec<crate::archive::ReportRecord>,
    ),
    ApiError,
> {
    let mut found = if is_sha256_hex(sha) {
        state.archive.meta.document(sha).await?
    } else {
        None
    };
    let mut outcome = if found.is_some() {
        "found"
    } else {
        "not found"
    };
    if found.is_some() && !may_read(state, who, "document", sha).await? {
        found = None;
        outcome = "not found (not the submitter)";
    }
    state.audit(who, action, sha, outcome).await?;
    found.ok_or_else(ApiError::not_found)
}

async fn load_decision(state: &AppState, sha: &str) -> Result<Decision, ApiError> {
    let b = state
        .archive
        .get_blob(sha)
        .await?
        .ok_or_else(|| ApiError::internal(format!("decision blob {sha} missing")))?;
    serde_json::from_slice(&b).map_err(ApiError::internal)
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    version: u32,
    created: String,
    accepted_in_lieu_of_originals: bool,
    submission_sha256: String,
    files: Vec<FileRecord>,
    decision: Decision,
}

#[derive(Serialize, ToSchema)]
pub struct DossierView {
    code: String,
    procedure: String,
    applicant: Applicant,
    /// Oldest first; the last is the current one.
    versions: Vec<VersionView>,
}

/// A dossier: every version with its decision and files.
#[utoipa::path(get, path = "/v1/dossiers/{code}", params(("code" = String, Path, description = "Dossier code")),
    responses((status = 200, body = DossierView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_dossier(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let mut d = state.archive.meta.dossier(&code).await?;
    let mut outcome = if d.is_some() { "found" } else { "not found" };
    // Another portal's dossier reads as absent (its existence is not told).
    if d.is_some() && !may_read(&state, &who, "dossier", &code).await? {
        d = None;
        outcome = "not found (not the submitter)";
    }
    state.audit(&who, "dossier.read", &code, outcome).await?;
    let d = d.ok_or_else(ApiError::not_found)?;
    let mut versions = Vec::new();
    for v in d.versions {
        versions.push(VersionView {
            version: v.version,
            created: v.created,
            accepted_in_lieu_of_originals: v.accepted,
            submission_sha256: v.submission_sha256,
            decision: load_decision(&state, &v.decision_sha256).await?,
            files: v.files,
        });
    }
    let view = DossierView {
        code: d.code,
        procedure: d.procedure,
        applicant: serde_json::from_str(&d.applicant).map_err(ApiError::internal)?,
        versions,
    };
    json_for(&who, StatusCode::OK, &view)
}

/// The bytes of an archived document.
#[utoipa::path(get, path = "/v1/documents/{sha256}", params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_document(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let (doc, _) = readable_document(&state, &who, &sha, "document.read").await?;
    let bytes = state
        .archive
        .get_blob(&sha)
        .await?
        .ok_or_else(|| ApiError::internal(format!("document blob {sha} missing")))?;
    let mut h = HeaderMap::new();
    if let Ok(v) = doc.media_type.parse() {
        h.insert(header::CONTENT_TYPE, v);
    }
    // A download, never rendered in place; the name is the digest (already
    // checked to be hex) and an extension from the media type kyso chose.
    let ext = if doc.media_type == "application/pdf" {
        "pdf"
    } else {
        "p7s"
    };
    if let Ok(v) = format!("attachment; filename=\"{sha}.{ext}\"").parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((h, bytes).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    document: DocumentView,
    /// Every verification of this document, oldest first.
    verifications: Vec<VerificationView>,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    sha256: String,
    size: u64,
    media_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerificationView {
    verified_at: String,
    validation_time: String,
    indication: String,
    report_sha256: String,
    evidence: Vec<EvidenceView>,
    #[schema(value_type = Object)]
    report: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    kind: String,
    sha256: String,
}

/// The reports kept for an archived document, with the evidence each relied on.
#[utoipa::path(get, path = "/v1/documents/{sha256}/report", params(("sha256" = String, Path)),
    responses((status = 200, body = ReportView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_report(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let (doc, reports) = readable_document(&state, &who, &sha, "report.read").await?;
    let mut verifications = Vec::new();
    for r in reports {
        let b = state
            .archive
            .get_blob(&r.report_sha256)
            .await?
            .ok_or_else(|| ApiError::internal("report blob missing"))?;
        verifications.push(VerificationView {
            verified_at: r.verified_at,
            validation_time: crate::pki::cert::fmt_unix(r.validation_time),
            indication: r.indication,
            report_sha256: r.report_sha256,
            evidence: r
                .evidence
                .into_iter()
                .map(|e| EvidenceView {
                    kind: e.kind,
                    sha256: e.sha256,
                })
                .collect(),
            report: serde_json::from_slice(&b).map_err(ApiError::internal)?,
        });
    }
    let view = ReportView {
        document: DocumentView {
            sha256: doc.sha256,
            size: doc.size,
            media_type: doc.media_type,
        },
        verifications,
    };
    json_for(&who, StatusCode::OK, &view)
}

#[derive(Serialize, ToSchema)]
pub struct SignatureOutcome {
    index: usize,
    indication: String,
    sub_indication: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Difference {
    /// Signature index (as in the reports).
    signature: usize,
    at_original_time: String,
    now: String,
    /// The checks whose outcome changed, with the reason now.
    changed_checks: Vec<ChangedCheck>,
}

#[derive(Serialize, ToSchema)]
pub struct ChangedCheck {
    code: String,
    at_original_time: String,
    now: String,
    message_vi: String,
    message_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReverifyResponse {
    sha256: String,
    /// The validation time of the intake verification.
    original_time: String,
    now: String,
    /// Evidence items used (kept at intake); nothing was fetched.
    evidence_used: usize,
    /// The verdict at the original time equals the one recorded at intake.
    same_as_intake: bool,
    intake_indication: String,
    #[schema(value_type = Object)]
    at_original_time: serde_json::Value,
    #[schema(value_type = Object)]
    at_now: serde_json::Value,
    /// Per-signature differences between the two results, explained.
    differences: Vec<Difference>,
    explanation_vi: String,
    explanation_en: String,
}

fn outcome_name(o: crate::report::Outcome) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn sig_text(s: &crate::report::SignatureReport) -> String {
    match s.sub_indication {
        Some(sub) => format!("{}/{}", s.indication.as_str(), sub.as_str()),
        None => s.indication.as_str().to_string(),
    }
}

/// For auditors: validate an archived document again, offline, from the
/// evidence kept at intake (anchors, intermediates, CRLs, OCSP responses),
/// at the original validation time and at now; both results and every
/// difference explained.
#[utoipa::path(post, path = "/v1/documents/{sha256}/reverify", params(("sha256" = String, Path)),
    responses((status = 200, body = ReverifyResponse), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn reverify(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
    req: Request,
) -> Result<Json<ReverifyResponse>, ApiError> {
    let who = caller(&req)?;
    let found = if is_sha256_hex(&sha) {
        state.archive.meta.document(&sha).await?
    } else {
        None
    };
    let Some((_, reports)) = found else {
        state
            .audit(&who, "document.reverify", &sha, "not found")
            .await?;
        return Err(ApiError::not_found());
    };
    let intake = reports
        .first()
        .cloned()
        .ok_or_else(|| ApiError::internal("document without report"))?;
    let data = state
        .archive
        .get_blob(&sha)
        .await?
        .ok_or_else(|| ApiError::internal("document blob missing"))?;
    let mut trust = crate::pki::TrustStore::new();
    let mut intermediates = Vec::new();
    let mut revocation = RevocationData::default();
    let mut detached = None;
    for e in &intake.evidence {
        let b = state
            .archive
            .get_blob(&e.sha256)
            .await?
            .ok_or_else(|| ApiError::internal(format!("evidence blob {} missing", e.sha256)))?;
        match e.kind.as_str() {
            "TRUST_ANCHOR" | "INTERMEDIATE" => {
                let c = openssl::x509::X509::from_der(&b).map_err(ApiError::internal)?;
                if e.kind == "TRUST_ANCHOR" {
                    trust.add(c);
                } else {
                    intermediates.push(c);
                }
            }
            "CRL" => revocation.crls.push((RevSource::Caller, b.to_vec().into())),
            "OCSP" => revocation
                .ocsps
                .push((RevSource::Caller, b.to_vec().into())),
            "DETACHED_CONTENT" => detached = Some(b),
            _ => {}
        }
    }
    let now = state.clock.now();
    // The algorithm settings of the policy applied at intake.
    let intake_policy: super::policy::Policy =
        serde_json::from_str(&intake.policy).unwrap_or_else(|_| state.default_policy.clone());
    let algs = super::policy::algorithms(&intake_policy);
    let run = |at: i64| {
        let mut opts = VerifyOptions::new(trust.clone(), at);
        opts.intermediates = intermediates.clone();
        opts.revocation = revocation.clone();
        opts.require_revocation = intake.require_revocation;
        opts.algorithms = algs.clone();
        opts.allow_annotations = intake_policy.allow_annotations;
        opts.xml_profile = super::policy::xml_profile(&intake_policy);
        let data = data.clone();
        let det = detached.clone();
        let name = sha.clone();
        tokio::task::spawn_blocking(move || {
            crate::validate::verify_bytes(&data, det.as_deref(), &name, &opts).0
        })
    };
    let orig = run(intake.validation_time)
        .await
        .map_err(ApiError::internal)?;
    let at_now = run(now).await.map_err(ApiError::internal)?;
    let same = orig.summary.indication.as_str() == intake.indication;
    let mut differences = Vec::new();
    for (a, b) in orig.signatures.iter().zip(&at_now.signatures) {
        if sig_text(a) == sig_text(b) {
            continue;
        }
        let mut changed = Vec::new();
        for cb in &b.checks {
            let before = a.checks.iter().find(|c| c.code == cb.code);
            let differs = before.is_none_or(|ca| ca.outcome != cb.outcome);
            if differs {
                changed.push(ChangedCheck {
                    code: cb.code.to_string(),
                    at_original_time: before
                        .map(|c| outcome_name(c.outcome))
                        .unwrap_or_else(|| "-".into()),
                    now: outcome_name(cb.outcome),
                    message_vi: cb.message_vi.clone(),
                    message_en: cb.message_en.clone(),
                });
            }
        }
        differences.push(Difference {
            signature: a.index,
            at_original_time: sig_text(a),
            now: sig_text(b),
            changed_checks: changed,
        });
    }
    let (vi, en) = if differences.is_empty() {
        (
            "Kết quả tại thời điểm tiếp nhận và hiện tại giống nhau.".to_string(),
            "The result at the original time and now are the same.".to_string(),
        )
    } else {
        (
            format!(
                "{} chữ ký có kết quả khác nhau giữa thời điểm tiếp nhận và hiện tại; kết quả có giá trị pháp lý là kết quả tại thời điểm tiếp nhận, dựa trên bằng chứng đã lưu.",
                differences.len()
            ),
            format!(
                "{} signature(s) differ between the original time and now; the verdict that counts is the one at the original time, from the evidence kept.",
                differences.len()
            ),
        )
    };
    state
        .audit(
            &who,
            "document.reverify",
            &sha,
            &format!(
                "original {} now {}",
                orig.summary.indication.as_str(),
                at_now.summary.indication.as_str()
            ),
        )
        .await?;
    Ok(Json(ReverifyResponse {
        sha256: sha,
        original_time: crate::pki::cert::fmt_unix(intake.validation_time),
        now: crate::pki::cert::fmt_unix(now),
        evidence_used: intake.evidence.len(),
        same_as_intake: same,
        intake_indication: intake.indication,
        at_original_time: serde_json::to_value(&orig).map_err(ApiError::internal)?,
        at_now: serde_json::to_value(&at_now).map_err(ApiError::internal)?,
        differences,
        explanation_vi: vi,
        explanation_en: en,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// First sequence number (default 1).
    from: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    /// `from` for the next page, when there may be more.
    next: Option<i64>,
}

/// The audit log, in order.
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery),
    responses((status = 200, body = AuditPage)), security(("api_key" = [])))]
async fn audit_list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<AuditQuery>,
    req: Request,
) -> Result<Json<AuditPage>, ApiError> {
    let who = caller(&req)?;
    let from = q.from.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let entries = state.archive.meta.audit_page(from, limit).await?;
    state
        .audit(
            &who,
            "audit.read",
            &format!("from {from}"),
            &format!("{} entries", entries.len()),
        )
        .await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq + 1))
        .flatten();
    Ok(Json(AuditPage { entries, next }))
}

/// Proof that the audit chain is intact: every entry's hash recomputed and linked.
#[utoipa::path(get, path = "/v1/audit/verify",
    responses((status = 200, body = ChainCheck)), security(("api_key" = [])))]
async fn audit_verify(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<ChainCheck>, ApiError> {
    let who = caller(&req)?;
    let c = state.archive.verify_chain().await?;
    state
        .audit(
            &who,
            "audit.verify",
            "audit chain",
            &format!("{} entries, intact={}", c.entries, c.intact),
        )
        .await?;
    Ok(Json(c))
}
