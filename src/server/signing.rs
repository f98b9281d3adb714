//! Officials sign result documents: `POST /v1/sign` with a profile's key,
//! or deferred (`/v1/sign/prepare`, then `/v1/sign/{id}/complete` with a
//! signature value made elsewhere — a USB token, a cloud signing service).
//! Every signed result is verified again before it is handed out, stored in
//! the archive with its report, and audit-logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::config::{SigningKey, SigningProfile};
use super::verified::{caller, run_verification, store_verified};
use super::{ApiError, AppState, Caller, ErrorBody};
use crate::archive::{SessionLimits, SessionRecord, SessionRefused, SessionTaken, sha256_hex};
use crate::sign::cms::{Digest, Scheme};
use crate::sign::keys::{KeySigner, SoftKey};
use crate::sign::{SignLevel, SignOptions};

/// How long one `complete` holds a session: a node that dies while
/// finishing leaves it to be taken again after this (finishing takes at
/// most the timestamping and revocation timeouts).
const SESSION_LEASE_SECS: i64 = 60;

/// A loaded profile.
pub struct Profile {
    pub cfg: SigningProfile,
    /// None for `remote` keys (deferred signing only).
    pub key: Option<Arc<dyn KeySigner>>,
    pub cert: X509,
    pub chain: Vec<X509>,
    pub scheme: Scheme,
    pub level: SignLevel,
    pub digest: Digest,
    /// The seal's image and font, read at start.
    pub seal: Option<(super::config::SealConfig, Option<Vec<u8>>, Vec<u8>)>,
}

#[derive(Default)]
pub struct Signing {
    pub profiles: BTreeMap<String, Profile>,
}

fn scheme_of(cert: &X509, pss: bool) -> anyhow::Result<Scheme> {
    Ok(match cert.public_key()?.id() {
        openssl::pkey::Id::RSA if pss => Scheme::RsaPss,
        openssl::pkey::Id::RSA => Scheme::RsaPkcs1,
        openssl::pkey::Id::EC => Scheme::Ecdsa,
        _ => anyhow::bail!("only RSA and EC certificates can sign"),
    })
}

/// Load every profile (PKCS#11 tokens are logged into once, here).
pub fn load(cfg: &super::config::SigningConfig) -> anyhow::Result<Signing> {
    let mut profiles = BTreeMap::new();
    for (name, p) in &cfg.profiles {
        let ctx = |e: &dyn std::fmt::Display| anyhow::anyhow!("signing profile {name}: {e}");
        let mut chain = Vec::new();
        for c in &p.chain {
            chain.extend(crate::pki::load_certificates(c).map_err(|e| ctx(&e))?);
        }
        let level =
            SignLevel::parse(&p.level).ok_or_else(|| ctx(&format!("level {:?}", p.level)))?;
        let digest =
            Digest::parse(&p.digest).ok_or_else(|| ctx(&format!("digest {:?}", p.digest)))?;
        if level >= SignLevel::BT && p.tsa_url.is_none() {
            return Err(ctx(&"levels B-T and above need tsa_url"));
        }
        let key: Option<Arc<dyn KeySigner>> = match &p.key {
            SigningKey::Pem { key, cert, pss } => Some(Arc::new(
                SoftKey::from_pem(key, cert, &chain, *pss).map_err(|e| ctx(&e))?,
            )),
            SigningKey::Pkcs12 {
                path,
                password,
                pss,
            } => {
                let k = SoftKey::from_pkcs12(path, password, *pss).map_err(|e| ctx(&e))?;
                let k = if chain.is_empty() {
                    k
                } else {
                    SoftKey::from_parts(k, chain.clone()).map_err(|e| ctx(&e))?
                };
                Some(Arc::new(k))
            }
            SigningKey::Pkcs11(c) => Some(Arc::new(
                crate::sign::pkcs11::Pkcs11Key::open(c, chain.clone()).map_err(|e| ctx(&e))?,
            )),
            SigningKey::Remote { .. } => None,
        };
        let (cert, scheme) = match (&key, &p.key) {
            (Some(k), _) => (k.certificate().clone(), k.scheme()),
            (None, SigningKey::Remote { cert, pss }) => {
                let c = crate::pki::load_certificates(cert)
                    .map_err(|e| ctx(&e))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| ctx(&"no certificate in the file"))?;
                let s = scheme_of(&c, *pss)?;
                (c, s)
            }
            _ => return Err(ctx(&"no key")),
        };
        let chain = key.as_ref().map(|k| k.chain().to_vec()).unwrap_or(chain);
        let seal = match &p.seal {
            None => None,
            Some(sc) => {
                let [_, _, w, h] = sc.rect;
                if w <= 0.0 || h <= 0.0 {
                    return Err(ctx(&"seal rect needs a positive width and height"));
                }
                let image = match &sc.image {
                    Some(i) => Some(
                        std::fs::read(i)
                            .map_err(|e| ctx(&format!("seal image {}: {e}", i.display())))?,
                    ),
                    None => None,
                };
                let font = std::fs::read(&sc.font)
                    .map_err(|e| ctx(&format!("seal font {}: {e}", sc.font.display())))?;
                Some((sc.clone(), image, font))
            }
        };
        profiles.insert(
            name.clone(),
            Profile {
                cfg: p.clone(),
                key,
                cert,
                chain,
                scheme,
                level,
                digest,
                seal,
            },
        );
    }
    Ok(Signing { profiles })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignQuery {
    /// Signing profile (configured per official).
    pub profile: String,
    /// Name of the new signature field (default Signature1).
    pub field: Option<String>,
    /// Page of the widget (default: the profile's seal page, or 1).
    pub page: Option<usize>,
    /// Seal rectangle `x,y,w,h` in points, overriding the profile's.
    pub rect: Option<String>,
}

fn profile<'a>(state: &'a AppState, name: &str, who: &Caller) -> Result<&'a Profile, ApiError> {
    let p = state.signing.profiles.get(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NO_SUCH_PROFILE",
            format!("Không có hồ sơ ký '{name}'."),
            format!("There is no signing profile '{name}'."),
        )
    })?;
    if !p.cfg.officials.is_empty() && !p.cfg.officials.contains(&who.key_id) && who.role != "admin"
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PROFILE_FORBIDDEN",
            format!("Khóa '{}' không được dùng hồ sơ ký '{name}'.", who.key_id),
            format!("Key '{}' may not use signing profile '{name}'.", who.key_id),
        ));
    }
    Ok(p)
}

/// The names of the local-key profiles `who` may sign with (the staff
/// page's choice).
pub fn profiles_for(state: &AppState, who: &Caller) -> Vec<String> {
    state
        .signing
        .profiles
        .iter()
        .filter(|(_, p)| p.key.is_some())
        .filter(|(name, _)| profile(state, name, who).is_ok())
        .map(|(name, _)| name.clone())
        .collect()
}

/// Before signing: the profile's certificate is valid now and may sign.
fn check_certificate(state: &AppState, p: &Profile) -> Result<(), ApiError> {
    let now = state.clock.now();
    let s = crate::pki::cert::summarize(&p.cert);
    let nb = crate::pki::cert::parse_rfc3339(&s.not_before).unwrap_or(i64::MAX);
    let na = crate::pki::cert::parse_rfc3339(&s.not_after).unwrap_or(i64::MIN);
    if now < nb || now > na {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNER_CERT_NOT_VALID_NOW",
            format!(
                "Chứng thư số của hồ sơ ký chỉ có hiệu lực từ {} đến {}; không ký.",
                s.not_before, s.not_after
            ),
            format!(
                "The profile's certificate is valid only from {} to {}; not signing.",
                s.not_before, s.not_after
            ),
        ));
    }
    let ku_ok = s
        .key_usage
        .as_ref()
        .map(|k| k.digital_signature || k.non_repudiation)
        .unwrap_or(true);
    if !ku_ok {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNER_CERT_KEY_USAGE",
            "Mục đích sử dụng khóa của chứng thư số không cho phép ký số; không ký.",
            "The certificate's key usage does not allow signing; not signing.",
        ));
    }
    Ok(())
}

fn options(p: &Profile, q: &SignQuery, now: i64) -> Result<SignOptions, ApiError> {
    let seal = match &p.seal {
        None => None,
        Some((sc, image, font)) => {
            let rect = match &q.rect {
                None => sc.rect,
                Some(r) => {
                    let v: Vec<f64> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                    match v[..] {
                        // Finite, on a page (PDF user space is at most 14 400 units).
                        [x, y, w, h]
                            if [x, y, w, h].iter().all(|v| v.is_finite())
                                && x.abs() <= 14_400.0
                                && y.abs() <= 14_400.0
                                && w > 0.0
                                && h > 0.0
                                && w < 10_000.0
                                && h < 10_000.0 =>
                        {
                            [x, y, w, h]
                        }
                        _ => {
                            return Err(ApiError::bad_request(
                                "BAD_RECT",
                                "Vị trí con dấu cần dạng x,y,rộng,cao (điểm).",
                                "The seal rectangle must be x,y,width,height in points.",
                            ));
                        }
                    }
                }
            };
            let who = crate::pki::cert::summarize(&p.cert);
            let agency = sc.agency.clone().or(who.organization.clone());
            Some(crate::sign::seal::Seal {
                rect,
                image_png: image.clone(),
                lines: crate::sign::seal::default_lines(
                    &who.common_name.unwrap_or_default(),
                    agency.as_deref(),
                    now,
                ),
                font: font.clone(),
            })
        }
    };
    let default_page = p.seal.as_ref().map(|(sc, _, _)| sc.page).unwrap_or(1);
    Ok(SignOptions {
        field: q.field.clone().unwrap_or_else(|| "Signature1".into()),
        digest: p.digest,
        time: now,
        reason: p.cfg.reason.clone(),
        location: p.cfg.location.clone(),
        page: q.page.unwrap_or(default_page).max(1),
        certify: p.cfg.certify,
        seal,
    })
}

fn services(state: &AppState, p: &Profile) -> crate::sign::Services {
    crate::sign::Services {
        tsa_url: p.cfg.tsa_url.clone(),
        // The operator's CRLs serve B-LT before any fetch.
        crls: state
            .configured()
            .evidence
            .iter()
            .filter(|(r, _)| r.kind == "CRL")
            .map(|(_, d)| d.to_vec())
            .collect(),
        ..Default::default()
    }
}

/// A signing error as the caller sees it: what kind of problem, never the
/// parser's or the key backend's own text (that goes to the log).
fn sign_error(e: crate::error::Error) -> ApiError {
    use crate::error::Error as E;
    tracing::warn!(error = %e, "signing refused");
    match &e {
        E::Pdf { .. } | E::Asn1(_) | E::Cms(_) | E::UnknownFormat(_) | E::Limit { .. } => {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SIGNING_INPUT_INVALID",
                "Tệp gửi lên không phải là PDF đọc được để ký (hỏng, mã hóa hoặc không phải PDF).",
                "The file sent is not a PDF that can be signed (damaged, encrypted or not a PDF).",
            )
        }
        E::Invalid(m) if m.starts_with("not a PDF") => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNING_INPUT_INVALID",
            "Tệp gửi lên không phải là PDF đọc được để ký (hỏng, mã hóa hoặc không phải PDF).",
            "The file sent is not a PDF that can be signed (damaged, encrypted or not a PDF).",
        ),
        E::Invalid(m) if m.starts_with("the document has no page") => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNING_PAGE_MISSING",
            "Tài liệu không có trang được chỉ định cho hình chữ ký.",
            "The document has no such page for the seal.",
        ),
        _ => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNING_FAILED",
            "Không ký được tài liệu; nguyên nhân được ghi trong nhật ký của máy chủ.",
            "The document could not be signed; the cause is in the server's log.",
        ),
    }
}

/// A signed PDF handed out: its bytes and SHA-256 (its archive name).
pub struct SignedPdf {
    pub sha256: String,
    pub data: Bytes,
}

impl SignedPdf {
    /// The HTTP answer: the PDF, `x-kyso-sha256` naming it.
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::HeaderName::from_static("x-kyso-sha256"),
                    self.sha256,
                ),
            ],
            self.data,
        )
            .into_response()
    }
}

/// Verify the signed result (kyso hands out only what it validates); store
/// it with its report and an audit entry.
async fn deliver(
    state: &Arc<AppState>,
    who: &Caller,
    profile_name: &str,
    p: &Profile,
    signed: Vec<u8>,
) -> Result<SignedPdf, ApiError> {
    let (policy_name, policy) = state.policy_for("");
    let prep = state.prepared(&policy_name, policy);
    let data = Bytes::from(signed);
    let v = run_verification(
        state,
        data.clone(),
        None,
        "signed.pdf".into(),
        &prep,
        state.clock.now(),
        true,
    )
    .await?;
    let newest = v
        .report
        .signatures
        .iter()
        .rev()
        .find(|s| matches!(s.kind, crate::report::SignatureKind::PdfSignature));
    if newest.map(|s| s.indication) != Some(crate::report::Indication::TotalPassed) {
        let why = newest.map(|s| s.verdict()).unwrap_or_else(|| "-".into());
        state
            .audit(
                who,
                "document.sign",
                profile_name,
                &format!("refused: own signature {why}"),
            )
            .await?;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNATURE_NOT_VALID",
            format!(
                "Chữ ký vừa tạo không được xác nhận là hợp lệ ({why}): chứng thư số của hồ sơ ký bị thu hồi, hết hạn hoặc không tin cậy; tài liệu không được giao."
            ),
            format!(
                "The signature just made does not validate ({why}): the profile's certificate is revoked, expired or untrusted; the document is not handed out."
            ),
        ));
    }
    let sha = sha256_hex(&data);
    let policy_json = serde_json::to_string(policy).map_err(ApiError::internal)?;
    let rec = v.record(state, &sha, state.clock.now(), &policy_json);
    let draft = state.draft(
        who,
        "document.sign",
        &sha,
        &format!("profile {profile_name} {:?}", p.level),
    );
    store_verified(state, data.clone(), "application/pdf", &v, &rec, draft).await?;
    Ok(SignedPdf { sha256: sha, data })
}

/// Sign a PDF with a local profile's key at the profile's level; the result
/// verified and archived (for the API, the staff pages and the CLI).
pub async fn sign_document(
    state: &Arc<AppState>,
    who: &Caller,
    q: &SignQuery,
    data: Bytes,
) -> Result<SignedPdf, ApiError> {
    let p = profile(state, &q.profile, who)?;
    let Some(key) = p.key.clone() else {
        return Err(remote_profile());
    };
    check_certificate(state, p)?;
    let opts = options(p, q, state.clock.now())?;
    let (level, services) = (p.level, services(state, p));
    let signed = tokio::task::spawn_blocking(move || {
        crate::sign::sign_pdf_level(&data, key.as_ref(), &opts, level, &services)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(sign_error)?;
    deliver(state, who, &q.profile, p, signed).await
}

fn remote_profile() -> ApiError {
    ApiError::bad_request(
        "REMOTE_PROFILE",
        "Hồ sơ ký này dùng khóa ở xa: hãy dùng /v1/sign/prepare và /complete.",
        "This profile's key is remote: use /v1/sign/prepare and /complete.",
    )
}

async fn read_pdf(req: Request, max: usize) -> Result<Bytes, ApiError> {
    let b = super::verified::read_body(req, max).await?;
    if !b.starts_with(b"%PDF-") {
        return Err(ApiError::bad_request(
            "NOT_A_PDF",
            "Tài liệu cần ký phải là tệp PDF.",
            "The document to sign must be a PDF.",
        ));
    }
    Ok(b)
}

/// Sign a PDF (raw body) with a profile's key at the profile's level; the
/// signed PDF is verified, archived, and returned (`x-kyso-sha256` names it).
#[utoipa::path(post, path = "/v1/sign", params(SignQuery),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn sign(
    State(state): State<Arc<AppState>>,
    Query(q): Query<SignQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    // Refused before the body is read.
    let p = profile(&state, &q.profile, &who)?;
    if p.key.is_none() {
        return Err(remote_profile());
    }
    check_certificate(&state, p)?;
    let data = read_pdf(req, state.cfg.limits.max_body_bytes).await?;
    Ok(sign_document(&state, &who, &q, data).await?.into_response())
}

#[derive(Serialize, ToSchema)]
pub struct PrepareResponse {
    session_id: String,
    expires_at: String,
    /// `sha256`, `sha384` or `sha512`.
    digest_algorithm: String,
    /// `RSA_PKCS1`, `RSA_PSS` or `ECDSA`.
    signature_scheme: String,
    /// The DER of the signed attributes: sign these bytes (hash-and-sign).
    data_to_sign: String,
    /// Their digest, for signers that take a hash (base64).
    data_to_sign_digest: String,
}

/// Deferred signing, step 1: lay out the signature for a profile's
/// certificate and return the bytes to sign and a session id.
#[utoipa::path(post, path = "/v1/sign/prepare", params(SignQuery),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, body = PrepareResponse), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn sign_prepare(
    State(state): State<Arc<AppState>>,
    Query(q): Query<SignQuery>,
    req: Request,
) -> Result<Json<PrepareResponse>, ApiError> {
    let who = caller(&req)?;
    let p = profile(&state, &q.profile, &who)?;
    check_certificate(&state, p)?;
    let max = state
        .cfg
        .limits
        .max_body_bytes
        .min(state.cfg.signing.max_prepare_bytes);
    let data = read_pdf(req, max).await?;
    let now = state.clock.now();
    let opts = options(p, &q, now)?;
    let (cert, chain, level) = (p.cert.clone(), p.chain.clone(), p.level);
    let prepared = tokio::task::spawn_blocking(move || {
        crate::sign::prepare(&data, &cert, &chain, &opts, crate::sign::room_for(level))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(sign_error)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let digest = openssl::hash::hash(prepared.digest.md(), &prepared.signed_attrs)
        .map_err(ApiError::internal)?;
    let resp_data = b64.encode(&prepared.signed_attrs);
    let id = format!("{:032x}", rand::random::<u128>());
    // The session is kept in the metadata store (with its laid-out
    // document), so `complete` may reach another node.
    let ttl = state.cfg.signing.session_ttl_secs as i64;
    let mut prepared = prepared;
    let contents = prepared.contents();
    let record = SessionRecord {
        id: id.clone(),
        key_id: who.key_id.clone(),
        profile: q.profile.clone(),
        expires: now + ttl,
        doc: prepared.take_doc(),
        contents: (contents.0 as i64, contents.1 as i64),
        signed_attrs: std::mem::take(&mut prepared.signed_attrs),
        digest: format!("{:?}", prepared.digest).to_ascii_lowercase(),
    };
    let limits = SessionLimits {
        per_key: state.cfg.signing.max_sessions_per_key,
        total: state.cfg.signing.max_sessions,
        bytes: state.cfg.signing.max_session_bytes,
    };
    match state
        .archive
        .meta
        .open_session(&record, now, limits)
        .await?
    {
        Ok(()) => {}
        // One key may not take the pool: its own count, and the documents
        // all sessions hold, are bounded too.
        Err(SessionRefused::ForKey) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_SESSIONS_FOR_KEY",
                "Khóa API này đã mở quá nhiều phiên ký; hoàn tất hoặc chờ chúng hết hạn.",
                "This API key has too many signing sessions open; complete them or let them expire.",
            )
            .retry_after(ttl.max(1) as u64));
        }
        Err(SessionRefused::Full) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TOO_MANY_SESSIONS",
                "Quá nhiều phiên ký đang mở; xin thử lại sau.",
                "Too many signing sessions are open; please retry later.",
            )
            .retry_after(ttl.max(1) as u64));
        }
    }
    state
        .audit(&who, "sign.prepare", &id, &format!("profile {}", q.profile))
        .await?;
    Ok(Json(PrepareResponse {
        session_id: id,
        expires_at: crate::pki::cert::fmt_unix(now + ttl),
        digest_algorithm: format!("{:?}", p.digest).to_ascii_lowercase(),
        signature_scheme: match p.scheme {
            Scheme::RsaPkcs1 => "RSA_PKCS1",
            Scheme::RsaPss => "RSA_PSS",
            Scheme::Ecdsa => "ECDSA",
        }
        .into(),
        data_to_sign: resp_data,
        data_to_sign_digest: b64.encode(digest),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CompleteRequest {
    /// The signature value over `data_to_sign` (base64; ECDSA as DER).
    signature: String,
}

/// Deferred signing, step 2: the signature value; the final PDF is made,
/// verified, archived and returned. A value that does not verify is refused
/// and nothing is written; an expired session is gone (410).
#[utoipa::path(post, path = "/v1/sign/{id}/complete", params(("id" = String, Path)),
    request_body = CompleteRequest,
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn sign_complete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let who = caller(&req)?;
    let Json(body) = Json::<CompleteRequest>::from_request(req, &())
        .await
        .map_err(|_| {
            ApiError::bad_request(
                "BAD_JSON",
                "Cần JSON {\"signature\": \"base64\"}.",
                "Expected JSON {\"signature\": \"base64\"}.",
            )
        })?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(body.signature.trim())
        .map_err(|_| {
            ApiError::bad_request(
                "BAD_SIGNATURE_ENCODING",
                "Giá trị chữ ký không phải base64.",
                "The signature value is not base64.",
            )
        })?;
    let now = state.clock.now();
    let session = match state
        .archive
        .meta
        .take_session(&id, &who.key_id, now, now + SESSION_LEASE_SECS)
        .await?
    {
        SessionTaken::Ready(s) => s,
        SessionTaken::Missing => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NO_SUCH_SESSION",
                "Không có phiên ký này.",
                "There is no such signing session.",
            ));
        }
        SessionTaken::Forbidden => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "SESSION_FORBIDDEN",
                "Phiên ký thuộc về khóa khác.",
                "The signing session belongs to another key.",
            ));
        }
        SessionTaken::Busy(until) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "SESSION_BUSY",
                "Phiên ký đang được hoàn tất bởi một yêu cầu khác; hãy thử lại sau.",
                "Another request is completing this signing session; try again later.",
            )
            .retry_after(u64::try_from(until - now).unwrap_or(1).max(1)));
        }
        SessionTaken::Expired => {
            state.audit(&who, "sign.complete", &id, "expired").await?;
            return Err(ApiError::new(
                StatusCode::GONE,
                "SESSION_EXPIRED",
                "Phiên ký đã hết hạn; hãy chuẩn bị lại.",
                "The signing session has expired; prepare again.",
            ));
        }
    };
    let name = session.profile.clone();
    let p = profile(&state, &name, &who)?;
    let (Some(digest), Ok(c0), Ok(c1)) = (
        Digest::parse(&session.digest),
        usize::try_from(session.contents.0),
        usize::try_from(session.contents.1),
    ) else {
        return Err(ApiError::internal("stored signing session unreadable"));
    };
    let prepared =
        crate::sign::Prepared::from_parts(session.doc, (c0, c1), session.signed_attrs, digest);
    if let Err(e) = crate::sign::check_signature_value(&prepared, p.scheme, &sig, &p.cert) {
        // Kept: the caller may retry with the right value until it expires.
        state.archive.meta.release_session(&id).await?;
        state
            .audit(
                &who,
                "sign.complete",
                &id,
                "refused: signature value does not verify",
            )
            .await?;
        return Err(ApiError::bad_request(
            "SIGNATURE_MISMATCH",
            "Giá trị chữ ký không khớp với chứng thư số và dữ liệu cần ký; không ghi gì.",
            format!(
                "The signature value does not match the certificate and the data to be signed; nothing written ({e})."
            ),
        ));
    }
    let (cert, chain, scheme, level, services) = (
        p.cert.clone(),
        p.chain.clone(),
        p.scheme,
        p.level,
        services(&state, p),
    );
    let signed = tokio::task::spawn_blocking(move || {
        crate::sign::finish(prepared, scheme, &sig, &cert, &chain, level, &services)
    })
    .await
    .map_err(ApiError::internal)
    .and_then(|r| r.map_err(sign_error));
    let delivered = match signed {
        Ok(signed) => deliver(&state, &who, &name, p, signed).await,
        Err(e) => Err(e),
    };
    match delivered {
        Ok(r) => {
            // The signed document is made and answered; a session left behind
            // by a store error ends with its expiry (or is completed again).
            if let Err(e) = state.archive.meta.finish_session(&id).await {
                tracing::warn!(session = %id, error = %e, "removing a completed signing session");
            }
            Ok(r.into_response())
        }
        Err(e) => {
            // The caller may try again (a timestamping service was down).
            state.archive.meta.release_session(&id).await?;
            Err(e)
        }
    }
}

/// What a verification certificate states besides its report.
pub struct CertificateFacts {
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub policy: String,
    pub anchors: Vec<String>,
    pub dossier: Option<String>,
    /// Mask personal identity numbers (a certificate for the public).
    pub mask_identities: bool,
}

/// A verification certificate (Phiếu kết quả) of `report`, signed with the
/// key of the configured certificate profile at that profile's level.
pub async fn certificate_pdf(
    state: &Arc<AppState>,
    facts: CertificateFacts,
    report: crate::report::Report,
) -> Result<Bytes, ApiError> {
    let not_configured = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "CERTIFICATE_NOT_CONFIGURED",
            "Máy chủ chưa được cấu hình khóa ký phiếu kết quả ([certificate] profile).",
            "The service has no key for verification certificates ([certificate] profile).",
        )
    };
    let name = state
        .cfg
        .certificate
        .profile
        .clone()
        .ok_or_else(not_configured)?;
    let p = state
        .signing
        .profiles
        .get(&name)
        .ok_or_else(not_configured)?;
    let key = p.key.clone().ok_or_else(not_configured)?;
    check_certificate(state, p)?;
    let (level, services) = (p.level, services(state, p));
    let issuer = state.cfg.certificate.issuer.clone();
    let now = state.clock.now();
    let pdf = tokio::task::spawn_blocking(move || {
        let fonts = crate::certificate::Fonts::system_shared()?;
        let f = crate::certificate::Facts {
            file_name: &facts.file_name,
            size: facts.size,
            sha256: &facts.sha256,
            policy: &facts.policy,
            anchors: facts.anchors,
            dossier: facts.dossier.as_deref(),
            issuer: &issuer,
            mask_identities: facts.mask_identities,
        };
        crate::certificate::issue(&f, &report, &fonts, key.as_ref(), level, &services, now)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(sign_error)?;
    Ok(Bytes::from(pdf))
}
