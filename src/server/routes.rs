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

use super::audit::{self, AuditPage, DossierView, ReportView, ReverifyResponse};
use super::intake::{self, DossierMeta, DossierResponse};
use super::signing::*;
use super::verified::{body_error, caller};
use super::{ApiError, AppState, Caller, ErrorBody, privacy};
use crate::archive::ChainCheck;
use crate::report::Report;

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
        .routes(routes!(verify_certificate))
        .routes(routes!(get_dossier))
        .routes(routes!(get_document))
        .routes(routes!(get_report))
        .routes(routes!(reverify))
        .routes(routes!(get_certificate))
        .routes(routes!(get_proof))
        .routes(routes!(audit_list))
        .routes(routes!(audit_verify))
        .routes(routes!(get_stats))
        .routes(routes!(sign))
        .routes(routes!(sign_prepare))
        .routes(routes!(sign_complete))
        .routes(routes!(keys_list, keys_create))
        .routes(routes!(keys_revoke))
        .routes(routes!(keys_rotate))
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
    let (mut router, spec) = public_routes().merge(v1).split_for_parts();
    if state.cfg.public_page.enabled {
        router = router.merge(super::page::routes(&state));
    }
    router = router.merge(super::staff::routes());
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

/// Verify one document (PDF; CMS with optional detached content; signed XML —
/// e-invoices, e-forms — with the procedure's XML profile; a signed Office
/// (.docx/.xlsx/.pptx) or ODF (.odt/.ods) package, each signature a
/// `PACKAGE_SIGNATURE` with its coverage): the raw body, or multipart fields
/// `file` and `detached`. Stores nothing unless `store=true`.
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
    let ask = intake::VerifyRequest {
        store: q.store,
        at: q.at,
        procedure: q.procedure,
        name: q.name,
    };
    // Refused before the body is read.
    let at = intake::validation_time(&state, &who, &ask)?;
    let (data, detached, part_name) = read_upload(req, state.cfg.limits.max_body_bytes).await?;
    let done = intake::verify(&state, &who, &ask, at, data, detached, part_name).await?;
    // Serialised once, straight from the report.
    json_for(
        &who,
        StatusCode::OK,
        &VerifyBody {
            sha256: done.sha256.as_deref(),
            stored: ask.store,
            report: &done.verified.report,
        },
    )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    /// Procedure whose policy gives the trust anchors and algorithms; default policy otherwise.
    procedure: Option<String>,
}

/// Check one certificate (raw body: PEM, a chain may follow, or DER) as a
/// document signer's: path to a trusted root now, validity, revocation
/// with its sources, key usage for signing documents, identity values —
/// the same validator and report words as a signature's signer
/// (`kind: CERTIFICATE`). Stores nothing.
#[utoipa::path(post, path = "/v1/certificates/verify", params(CertificateQuery),
    request_body(content = Vec<u8>, content_type = "application/pkix-cert"),
    responses((status = 200, body = VerifyResponse), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("api_key" = [])))]
async fn verify_certificate(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CertificateQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let max = crate::validate::certcheck::MAX_CERTIFICATE_BYTES;
    let data = super::verified::read_body(req, max).await?;
    let report =
        intake::verify_certificate(&state, q.procedure.as_deref(), "certificate".into(), data)
            .await?;
    json_for(
        &who,
        StatusCode::OK,
        &VerifyBody {
            sha256: None,
            stored: false,
            report: &report,
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
    let done = intake::submit(&state, &who, meta, files).await?;
    let status = if done.replay {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    json_for(&who, status, &done)
}

/// Whether `who` may read the `kind` named `id`: auditors and admins read
/// everything; other roles what their own key submitted or was handed.
/// A JSON answer for `who`: identity numbers masked unless privileged.
fn json_for<T: Serialize>(
    who: &Caller,
    status: StatusCode,
    value: &T,
) -> Result<Response, ApiError> {
    let body = privacy::for_role(&who.role, value).map_err(ApiError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
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
    let view = audit::dossier(&state, &who, &code).await?;
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
    let (doc, bytes) = audit::document(&state, &who, &sha).await?;
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
    let view = audit::reports(&state, &who, &sha).await?;
    json_for(&who, StatusCode::OK, &view)
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
    Ok(Json(audit::reverify(&state, &who, &sha).await?))
}

/// For auditors: the proof bundle of an archived document (ASiC-E-style
/// ZIP: the file, intake reports and rows, evidence, audit entries linked
/// to an anchored head, RFC 4998 evidence records), to be checked offline
/// with `kyso archive verify-proof`.
#[utoipa::path(get, path = "/v1/documents/{sha256}/proof", params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/vnd.etsi.asic-e+zip", body = Vec<u8>), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_proof(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let subject = crate::archive::proof::ProofSubject::Document(sha.clone());
    let bundle = state
        .archive
        .proof_bundle(&subject, &state.clock.now_rfc3339())
        .await?;
    let outcome = match &bundle {
        Some(b) => format!("{} bytes", b.len()),
        None => "not found".into(),
    };
    state.audit(&who, "document.proof", &sha, &outcome).await?;
    let bundle = bundle.ok_or_else(ApiError::not_found)?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(crate::archive::proof::MEDIA_TYPE),
    );
    if let Ok(v) = format!(
        "attachment; filename=\"proof-{}.asice\"",
        sha.get(..16).unwrap_or("")
    )
    .parse()
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((h, bundle).into_response())
}

/// The verification certificate (Phiếu kết quả kiểm tra chữ ký số) of an
/// archived document: a PDF of its intake verdict, recomputed from the
/// evidence kept, signed with the service's key (`[certificate] profile`).
#[utoipa::path(get, path = "/v1/documents/{sha256}/certificate", params(("sha256" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_certificate(
    State(state): State<Arc<AppState>>,
    Path(sha): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let pdf = audit::certificate(&state, &who, &sha).await?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = format!(
        "attachment; filename=\"phieu-ket-qua-{}.pdf\"",
        sha.get(..16).unwrap_or("")
    )
    .parse()
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((h, pdf).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// First sequence number (default 1).
    from: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    limit: Option<usize>,
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
    Ok(Json(audit::log(&state, &who, q.from, q.limit).await?))
}

/// Proof that the audit chain is intact: every entry's hash recomputed and linked.
#[utoipa::path(get, path = "/v1/audit/verify",
    responses((status = 200, body = ChainCheck)), security(("api_key" = [])))]
async fn audit_verify(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<ChainCheck>, ApiError> {
    let who = caller(&req)?;
    Ok(Json(audit::chain(&state, &who).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start of the period (YYYY-MM-DD or RFC 3339, included); default: the beginning.
    from: Option<String>,
    /// End of the period (excluded); default: now.
    to: Option<String>,
    /// `json` (default) or `csv` (the per-procedure, per-month table).
    format: Option<String>,
}

/// Statistics of online dossiers: per procedure and month, dossiers,
/// submissions, accepted in lieu of originals and sent to post; refusal
/// reasons, file formats and CAs seen.
#[utoipa::path(get, path = "/v1/stats", params(StatsQuery),
    responses((status = 200, body = super::stats::Stats), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
async fn get_stats(
    State(state): State<Arc<AppState>>,
    Query(q): Query<StatsQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let s = super::stats::compute(&state, &who, q.from.as_deref(), q.to.as_deref()).await?;
    match q.format.as_deref() {
        Some("csv") => Ok(super::stats::csv_response(&s)),
        None | Some("json") => json_for(&who, StatusCode::OK, &s),
        Some(f) => Err(ApiError::bad_request(
            "BAD_FORMAT",
            format!("Định dạng '{f}' không được hỗ trợ (json, csv)."),
            format!("Format '{f}' is not supported (json, csv)."),
        )),
    }
}

fn key_error(e: crate::archive::ArchiveError) -> ApiError {
    match e {
        crate::archive::ArchiveError::Conflict(why) => ApiError::new(
            StatusCode::CONFLICT,
            "KEY_CHANGE_REFUSED",
            format!("Không thực hiện được thay đổi khóa API: {why}."),
            format!("The API key change was refused: {why}."),
        ),
        other => ApiError::internal(other),
    }
}

/// For admins: the stored API keys (never their secrets or hashes).
#[utoipa::path(get, path = "/v1/keys",
    responses((status = 200, body = Vec<super::keys::KeyView>)),
    security(("api_key" = [])))]
async fn keys_list(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<super::keys::KeyView>>, ApiError> {
    Ok(Json(
        super::keys::list(&state.archive, state.clock.now()).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct CreateKey {
    /// `portal`, `official`, `auditor` or `admin`.
    role: String,
}

/// For admins: a new API key; its secret is shown once (only its SHA-256
/// is stored). An audit entry.
#[utoipa::path(post, path = "/v1/keys", request_body = CreateKey,
    responses((status = 201, body = super::keys::NewKey), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
async fn keys_create(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<(StatusCode, Json<super::keys::NewKey>), ApiError> {
    let who = caller(&req)?;
    let Json(body) = Json::<CreateKey>::from_request(req, &())
        .await
        .map_err(|_| {
            ApiError::bad_request(
                "BAD_JSON",
                "Cần JSON {\"role\": \"portal|official|auditor|admin\"}.",
                "Expected JSON {\"role\": \"portal|official|auditor|admin\"}.",
            )
        })?;
    let actor = super::keys::Actor::from(&who);
    let k = super::keys::create(&state.archive, &actor, &body.role, state.clock.now())
        .await
        .map_err(key_error)?;
    super::reload_keys(&state)
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(k)))
}

/// For admins: revoke a stored key; it stops working on this node at once
/// and on the others within 10 s. An audit entry.
#[utoipa::path(post, path = "/v1/keys/{id}/revoke", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
async fn keys_revoke(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    let who = caller(&req)?;
    let actor = super::keys::Actor::from(&who);
    super::keys::revoke(&state.archive, &actor, &id, state.clock.now())
        .await
        .map_err(key_error)?;
    super::reload_keys(&state)
        .await
        .map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// For admins: a new key of the same role in place of `id`, which keeps
/// working for `key_rotation_overlap_secs`. An audit entry.
#[utoipa::path(post, path = "/v1/keys/{id}/rotate", params(("id" = String, Path)),
    responses((status = 200, body = super::keys::NewKey), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
async fn keys_rotate(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<super::keys::NewKey>, ApiError> {
    let who = caller(&req)?;
    let actor = super::keys::Actor::from(&who);
    let k = super::keys::rotate(
        &state.archive,
        &actor,
        &id,
        state.cfg.key_rotation_overlap_secs,
        state.clock.now(),
    )
    .await
    .map_err(key_error)?;
    super::reload_keys(&state)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(k))
}
