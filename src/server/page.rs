//! The public verification page (`/`): drop or choose files, read the
//! verdict in plain Vietnamese (English on request). Nothing is stored: the
//! files are verified in memory with the default policy, exactly as
//! `/v1/verify` does, and the answer carries everything the reader may want
//! to take away (the JSON report, each signed PDF revision) inside itself.
//!
//! HTML is written with `maud` (compile-time checked, escaped by default);
//! the style sheet and the small script are files served from `/static/`
//! (no inline script or style: the Content-Security-Policy forbids them),
//! the form works without the script.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::verified::run_verification;
use super::{AppState, ClientAddr, privacy};
use crate::report::plain::{self, Lang};
use crate::report::{CoverageKind, Indication, Outcome, Report, SignatureReport};

const CSS: &str = include_str!("static/kyso.css");
/// Largest upload on the certificate tab (a certificate with its chain).
const CERT_MAX: usize = crate::validate::certcheck::MAX_CERTIFICATE_BYTES;
const JS: &str = include_str!("static/kyso.js");

/// What every page answer carries: no script or style from anywhere but
/// this origin's files, no framing, no sniffing, no referrer.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(state: &AppState) -> Router<Arc<AppState>> {
    let max = state.cfg.public_page.max_bytes;
    Router::new()
        .route(
            "/",
            axum::routing::get(form)
                .post(verify)
                .layer(DefaultBodyLimit::max(max)),
        )
        .route(
            "/certificate",
            axum::routing::get(cert_form)
                .post(cert_verify)
                .layer(DefaultBodyLimit::max(CERT_MAX)),
        )
        .route("/static/kyso.css", axum::routing::get(css))
        .route("/static/kyso.js", axum::routing::get(js))
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// A page's language code and the other language.
fn code(lang: Lang) -> &'static str {
    lang.t("vi", "en")
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Vi => Lang::En,
        Lang::En => Lang::Vi,
    }
}

impl LangQuery {
    fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }
}

/// A page's head: title, the style sheet and the script (files, no inline).
pub(super) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — kyso" }
            link rel="stylesheet" href="/static/kyso.css";
            script src="/static/kyso.js" defer {}
        }
    }
}

pub(super) fn html_response(status: StatusCode, body: Markup) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    static_file("text/javascript; charset=utf-8", JS)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Which tab a page belongs to: the document check or the certificate check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Documents,
    Certificate,
}

impl Tab {
    fn path(self) -> &'static str {
        match self {
            Tab::Documents => "/",
            Tab::Certificate => "/certificate",
        }
    }
}

fn page(lang: Lang, tab: Tab, title: &str, main: Markup) -> Markup {
    let other = other(lang);
    let tabs = [
        (
            Tab::Documents,
            lang.t("Kiểm tra tài liệu", "Check documents"),
        ),
        (
            Tab::Certificate,
            lang.t("Kiểm tra chứng thư số", "Check a certificate"),
        ),
    ];
    html! {
        (DOCTYPE)
        html lang=(code(lang)) {
            (head(title))
            body {
                header class="top" {
                    p class="brand" { a href={ "/?lang=" (code(lang)) } { "kyso" } }
                    nav class="tabs" aria-label=(lang.t("Chức năng", "Pages")) {
                        @for (t, label) in tabs {
                            @if t == tab {
                                a href={ (t.path()) "?lang=" (code(lang)) } aria-current="page" { (label) }
                            } @else {
                                a href={ (t.path()) "?lang=" (code(lang)) } { (label) }
                            }
                        }
                    }
                    nav aria-label=(lang.t("Ngôn ngữ", "Language")) {
                        a href={ (tab.path()) "?lang=" (code(other)) } lang=(code(other)) hreflang=(code(other)) {
                            (other.t("Tiếng Việt", "English"))
                        }
                    }
                }
                main id="main" { (main) }
                footer {
                    p { (lang.t(
                        "Tệp của bạn chỉ được kiểm tra trong bộ nhớ và không được lưu lại; kết quả và bản tải về nằm trong chính trang này.",
                        "Your files are checked in memory and not kept; the result and the downloads are inside this page itself."
                    )) }
                }
            }
        }
    }
}

fn upload_form(lang: Lang, state: &AppState) -> Markup {
    let (max_files, max_bytes) = (
        state.cfg.public_page.max_files,
        state.cfg.public_page.max_bytes,
    );
    let certificates = state.cfg.certificate.profile.is_some();
    html! {
        form method="post" action={ "/?lang=" (code(lang)) } enctype="multipart/form-data" class="upload" id="upload" {
            div class="drop" id="drop" {
                label for="files" { (lang.t("Chọn hoặc kéo thả tệp cần kiểm tra", "Choose or drop the files to check")) }
                input type="file" id="files" name="files" multiple required aria-describedby="files-help";
                p id="files-help" class="help" {
                    (lang.t("PDF, chữ ký CMS (.p7s kèm tệp nội dung cùng tên, hoặc .p7m), XML đã ký (hóa đơn, biểu mẫu điện tử). ",
                            "PDF, CMS signatures (.p7s with the content file of the same name, or .p7m), signed XML (e-invoices, e-forms). "))
                    (lang.t("Tối đa ", "At most ")) (max_files) (lang.t(" tệp, tổng ", " files, ")) (max_bytes >> 20) " MiB."
                }
            }
            @if certificates {
                p class="option" {
                    input type="checkbox" id="certificate" name="certificate" value="1";
                    " "
                    label for="certificate" { (lang.t(
                        "Kèm phiếu kết quả kiểm tra (PDF có chữ ký số của cơ quan)",
                        "Include a verification certificate (a PDF signed by the agency)"
                    )) }
                }
            }
            button type="submit" { (lang.t("Kiểm tra", "Check")) }
            progress id="progress" max="100" value="0" hidden aria-label=(lang.t("Tiến độ tải lên", "Upload progress")) {}
        }
    }
}

async fn form(State(state): State<Arc<AppState>>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let main = html! {
        h1 { (lang.t("Kiểm tra chữ ký số", "Verify a digital signature")) }
        p class="lead" { (lang.t(
            "Kiểm tra tài liệu có chữ ký số còn nguyên vẹn không, ai đã ký, chứng thư số có tin cậy và còn hiệu lực vào thời điểm ký không.",
            "Check whether a signed document is intact, who signed it, and whether the signer's certificate was trusted and valid when it was signed."
        )) }
        (upload_form(lang, &state))
    };
    html_response(
        StatusCode::OK,
        page(
            lang,
            Tab::Documents,
            lang.t("Kiểm tra chữ ký số", "Verify a digital signature"),
            main,
        ),
    )
}

/// An error page: what went wrong and the tab's form again.
fn problem(
    state: &AppState,
    (lang, tab): (Lang, Tab),
    status: StatusCode,
    vi: &str,
    en: &str,
) -> Response {
    let form = match tab {
        Tab::Documents => upload_form(lang, state),
        Tab::Certificate => cert_upload(lang),
    };
    let main = html! {
        h1 { (lang.t("Không kiểm tra được", "Could not check")) }
        p class="problem" role="alert" { (lang.t(vi, en)) }
        (form)
    };
    html_response(
        status,
        page(
            lang,
            tab,
            lang.t("Không kiểm tra được", "Could not check"),
            main,
        ),
    )
}

/// One uploaded file.
struct Upload {
    name: String,
    data: Bytes,
}

async fn verify(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    req: Request,
) -> Response {
    let lang = q.lang();
    let cfg = state.cfg.public_page.clone();
    if let Some(r) = over_limit(&state, (lang, Tab::Documents), client_ip(&req)).await {
        return r;
    }
    let (files, want_certificate) = match read_files(req, cfg.max_files).await {
        Ok(f) => f,
        Err((status, vi, en)) => return problem(&state, (lang, Tab::Documents), status, vi, en),
    };
    let files = pair_detached(files);
    let (policy_name, policy) = state.policy_for("");
    let prep = state.prepared(&policy_name, policy);
    let now = state.clock.now();
    let mut budget = cfg.max_revision_bytes;
    let mut sections = Vec::new();
    for (file, detached) in files {
        let size = file.data.len() as u64;
        let sha = crate::archive::sha256_hex(&file.data);
        if detached.is_none() && crate::archive::proof::is_bundle(&file.data) {
            sections.push(bundle_section(&state, lang, &file, &sha).await);
            continue;
        }
        let v = match run_verification(
            &state,
            file.data.clone(),
            detached.as_ref().map(|d| d.data.clone()),
            file.name.clone(),
            &prep,
            now,
            false,
        )
        .await
        {
            Ok(v) => v,
            Err(e) => {
                return problem_from(&state, (lang, Tab::Documents), &e);
            }
        };
        state.metrics.verified(&v.indication, size);
        let json = privacy::for_role("public", &v.report).unwrap_or_default();
        let certificate = if want_certificate {
            let facts = super::signing::CertificateFacts {
                file_name: file.name.clone(),
                size,
                sha256: sha.clone(),
                policy: policy_name.clone(),
                anchors: crate::certificate::anchor_names(&prep.opts.trust.anchors),
                dossier: None,
                mask_identities: true,
            };
            Some(super::signing::certificate_pdf(&state, facts, v.report.clone()).await)
        } else {
            None
        };
        sections.push(file_section(
            lang,
            &file,
            detached.as_ref().map(|d| d.name.as_str()),
            &sha,
            &v.report,
            &json,
            certificate.as_ref(),
            &mut budget,
        ));
    }
    let main = html! {
        h1 { (lang.t("Kết quả kiểm tra", "Result")) }
        @for s in &sections { (s) }
        h2 { (lang.t("Kiểm tra tệp khác", "Check other files")) }
        (upload_form(lang, &state))
    };
    html_response(
        StatusCode::OK,
        page(
            lang,
            Tab::Documents,
            lang.t("Kết quả kiểm tra", "Result"),
            main,
        ),
    )
}

/// An error page for a failure of the service (its code's own words).
fn problem_from(state: &AppState, at: (Lang, Tab), e: &super::ApiError) -> Response {
    problem(state, at, e.status, &e.body.message_vi, &e.body.message_en)
}

fn client_ip(req: &Request) -> std::net::IpAddr {
    req.extensions()
        .get::<ClientAddr>()
        .map(|c| c.0)
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Over the per-address limit of the page: the 429 answer, with Retry-After.
async fn over_limit(state: &AppState, at: (Lang, Tab), ip: std::net::IpAddr) -> Option<Response> {
    let limit = state.cfg.public_page.per_minute.max(1);
    let now = state.clock.now();
    if !state
        .rates
        .over(&*state.archive.meta, &format!("page {ip}"), now, limit)
        .await
    {
        return None;
    }
    let mut r = problem(
        state,
        at,
        StatusCode::TOO_MANY_REQUESTS,
        "Địa chỉ của bạn đã gửi quá nhiều lượt kiểm tra trong một phút; xin thử lại sau ít phút.",
        "Too many checks from your address in one minute; please try again in a minute.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    Some(r)
}

fn cert_upload(lang: Lang) -> Markup {
    html! {
        form method="post" action={ "/certificate?lang=" (code(lang)) } enctype="multipart/form-data" class="upload" id="upload" {
            div class="drop" id="drop" {
                label for="files" { (lang.t("Chọn tệp chứng thư số (.cer, .crt, .pem)", "Choose the certificate file (.cer, .crt, .pem)")) }
                input type="file" id="files" name="files" required aria-describedby="files-help";
                p id="files-help" class="help" { (lang.t(
                    "Chứng thư số của người ký, dạng PEM hoặc DER; tệp PEM có thể kèm chuỗi chứng thư trung gian.",
                    "The signer's certificate, PEM or DER; a PEM file may carry the intermediate chain after it."
                )) }
            }
            button type="submit" { (lang.t("Kiểm tra", "Check")) }
            progress id="progress" max="100" value="0" hidden aria-label=(lang.t("Tiến độ tải lên", "Upload progress")) {}
        }
    }
}

async fn cert_form(Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let title = lang.t("Kiểm tra chứng thư số", "Check a certificate");
    let main = html! {
        h1 { (title) }
        p class="lead" { (lang.t(
            "Chứng thư số có chuỗi đến tổ chức cấp tin cậy, còn hiệu lực, không bị thu hồi và được dùng để ký tài liệu không; người được cấp là ai.",
            "Whether a certificate chains to a trusted authority, is within its validity, is not revoked and may sign documents; who it was issued to."
        )) }
        (cert_upload(lang))
    };
    html_response(StatusCode::OK, page(lang, Tab::Certificate, title, main))
}

async fn cert_verify(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LangQuery>,
    req: Request,
) -> Response {
    let lang = q.lang();
    if let Some(r) = over_limit(&state, (lang, Tab::Certificate), client_ip(&req)).await {
        return r;
    }
    let (mut files, _) = match read_files(req, 1).await {
        Ok(f) => f,
        Err((status, vi, en)) => return problem(&state, (lang, Tab::Certificate), status, vi, en),
    };
    let Some(file) = files.pop() else {
        return problem(
            &state,
            (lang, Tab::Certificate),
            StatusCode::BAD_REQUEST,
            "Chưa chọn tệp nào.",
            "No file was chosen.",
        );
    };
    let sha = crate::archive::sha256_hex(&file.data);
    let report =
        match super::intake::verify_certificate(&state, None, file.name.clone(), file.data.clone())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return problem_from(&state, (lang, Tab::Certificate), &e);
            }
        };
    let json = privacy::for_role("public", &report).unwrap_or_default();
    let mut budget = 0;
    let title = lang.t("Kết quả kiểm tra chứng thư số", "Certificate check");
    let main = html! {
        h1 { (title) }
        (file_section(lang, &file, None, &sha, &report, &json, None, &mut budget))
        h2 { (lang.t("Kiểm tra chứng thư khác", "Check another certificate")) }
        (cert_upload(lang))
    };
    html_response(StatusCode::OK, page(lang, Tab::Certificate, title, main))
}

type PageError = (StatusCode, &'static str, &'static str);

async fn read_files(req: Request, max_files: usize) -> Result<(Vec<Upload>, bool), PageError> {
    let too_big = (
        StatusCode::PAYLOAD_TOO_LARGE,
        "Các tệp gửi lên vượt quá dung lượng cho phép.",
        "The files exceed the size allowed.",
    );
    let bad = (
        StatusCode::BAD_REQUEST,
        "Không đọc được các tệp gửi lên.",
        "The upload could not be read.",
    );
    let mut mp = Multipart::from_request(req, &()).await.map_err(|_| bad)?;
    let mut out = Vec::new();
    let mut certificate = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big),
            Err(_) => return Err(bad),
        };
        if field.name() == Some("certificate") {
            certificate = true;
            continue;
        }
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big),
            Err(_) => return Err(bad),
        };
        if name.is_empty() && data.is_empty() {
            continue;
        }
        if out.len() >= max_files {
            return Err((
                StatusCode::BAD_REQUEST,
                "Quá nhiều tệp trong một lần kiểm tra.",
                "Too many files in one check.",
            ));
        }
        let name = super::intake::clean_name(&name).unwrap_or_else(|_| "tệp".into());
        out.push(Upload { name, data });
    }
    if out.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "Chưa chọn tệp nào.",
            "No file was chosen.",
        ));
    }
    Ok((out, certificate))
}

/// A detached CMS signature `NAME.p7s` (or `.sig`) uploaded with its
/// content — named `NAME` (`don.pdf.p7s` + `don.pdf`) or `NAME.ext`
/// (`don.p7s` + `don.pdf`) — is one verification, and the content is not
/// checked on its own.
fn pair_detached(files: Vec<Upload>) -> Vec<(Upload, Option<Upload>)> {
    let signed_name = |n: &str| {
        let l = n.to_ascii_lowercase();
        [".p7s", ".sig"].iter().find(|s| l.ends_with(*s)).map(|s| {
            n.get(..n.len().saturating_sub(s.len()))
                .unwrap_or("")
                .to_string()
        })
    };
    let stem = |n: &str| n.rsplit_once('.').map(|(a, _)| a.to_string());
    let names_content =
        |sig_stem: &str, n: &str| n == sig_stem || stem(n).as_deref() == Some(sig_stem);
    let stems: Vec<String> = files.iter().filter_map(|f| signed_name(&f.name)).collect();
    let (content, rest): (Vec<Upload>, Vec<Upload>) = files.into_iter().partition(|f| {
        signed_name(&f.name).is_none() && stems.iter().any(|s| names_content(s, &f.name))
    });
    let mut content: Vec<Option<Upload>> = content.into_iter().map(Some).collect();
    rest.into_iter()
        .map(|f| {
            let det = signed_name(&f.name).and_then(|s| {
                content
                    .iter_mut()
                    .find(|x| x.as_ref().is_some_and(|x| names_content(&s, &x.name)))
                    .and_then(Option::take)
            });
            (f, det)
        })
        .collect()
}

/// CSS class and mark of an indication.
fn status(i: Indication) -> (&'static str, &'static str) {
    match i {
        Indication::TotalPassed => ("ok", "✓"),
        Indication::TotalFailed => ("bad", "✗"),
        Indication::Indeterminate => ("unknown", "?"),
    }
}

/// A `data:` URL of `bytes`: base64 and a fixed media type, nothing an
/// attribute value must escape — written as it is (escaping a large
/// embedded revision character by character costs as much as the rest of
/// the page).
fn data_url(media: &'static str, bytes: &[u8]) -> PreEscaped<String> {
    PreEscaped(format!(
        "data:{media};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

#[allow(clippy::too_many_arguments)]
fn file_section(
    lang: Lang,
    file: &Upload,
    detached: Option<&str>,
    sha: &str,
    r: &Report,
    json: &[u8],
    certificate: Option<&Result<Bytes, super::ApiError>>,
    budget: &mut usize,
) -> Markup {
    let stem = file
        .name
        .rsplit_once('.')
        .map(|(a, _)| a)
        .unwrap_or(&file.name)
        .to_string();
    html! {
        section class="file" {
            h2 { (file.name) }
            dl class="facts" {
                dt { (lang.t("Dung lượng", "Size")) } dd { (file.data.len()) " bytes" }
                dt { "SHA-256" } dd class="hash" { (sha) }
                @if let Some(d) = detached {
                    dt { (lang.t("Nội dung được ký", "Signed content")) } dd { (d) }
                }
                dt { (lang.t("Thời điểm kiểm tra", "Validation time")) } dd { (r.validation_time) }
            }
            @if let Some(e) = &r.document.error {
                p class="verdict unknown" role="status" { (lang.t(&e.message_vi, &e.message_en)) }
            }
            @for s in &r.signatures {
                (signature_card(lang, file, &stem, s, budget))
            }
            p class="downloads" {
                a href=(data_url("application/json", json)) download={ (stem) "-report.json" } {
                    (lang.t("Tải báo cáo JSON", "Download the JSON report"))
                }
                @match certificate {
                    Some(Ok(pdf)) => {
                        " · "
                        a href=(data_url("application/pdf", pdf)) download={ "phieu-ket-qua-" (stem) ".pdf" } class="certificate" {
                            (lang.t("Tải phiếu kết quả kiểm tra (PDF đã ký số)", "Download the verification certificate (signed PDF)"))
                        }
                    }
                    Some(Err(e)) => {
                        " · " span class="problem" { (lang.t(&e.body.message_vi, &e.body.message_en)) }
                    }
                    None => {}
                }
            }
        }
    }
}

/// A proof bundle (`kyso archive proof`) checked as `kyso archive
/// verify-proof` checks it: offline, against the TSA trust anchors of
/// `[anchoring] trust`, now; what it proves and what it does not.
async fn bundle_section(state: &Arc<AppState>, lang: Lang, file: &Upload, sha: &str) -> Markup {
    let (_, policy) = state.policy_for("");
    let (policy, data, now) = (policy.clone(), file.data.clone(), state.clock.now());
    let opts = super::anchoring_options(&state.cfg, now);
    let checked = match (opts, state.verify_slots.clone().acquire_owned().await) {
        (Ok(opts), Ok(slot)) => tokio::task::spawn_blocking(move || {
            let _slot = slot;
            crate::archive::proof::verify_bundle(&data, &opts, &policy).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string())),
        (Err(e), _) => Err(format!("{e:#}")),
        (_, Err(e)) => Err(e.to_string()),
    };
    html! {
        section class="file bundle" {
            h2 { (file.name) }
            dl class="facts" {
                dt { (lang.t("Loại tệp", "Kind of file")) }
                dd { (lang.t("Gói bằng chứng lưu trữ (kyso)", "Archive proof bundle (kyso)")) }
                dt { "SHA-256" } dd class="hash" { (sha) }
                dt { (lang.t("Thời điểm kiểm tra", "Validation time")) } dd { (crate::pki::cert::fmt_unix(now)) }
            }
            @match &checked {
                Ok(v) => {
                    article class={ "sig " (if v.ok { "ok" } else { "bad" }) } {
                        h3 {
                            span class="mark" aria-hidden="true" { (if v.ok { "✓ " } else { "✗ " }) }
                            strong { (if v.ok {
                                lang.t("Đã chứng minh", "Proven")
                            } else {
                                lang.t("Chưa chứng minh đầy đủ", "Not fully proven")
                            }) }
                            ": " (v.subject)
                        }
                        ul class="checks" {
                            @for l in (match lang { Lang::En => &v.lines_en, _ => &v.lines_vi }) {
                                li class="check" { (l) }
                            }
                        }
                        @if !v.problems.is_empty() {
                            p class="problem" { (lang.t("Điều chưa chứng minh được:", "What could not be proven:")) }
                            ul class="checks" {
                                @for p in &v.problems { li class="check failed" { (p) } }
                            }
                        }
                    }
                }
                Err(e) => {
                    p class="verdict unknown" role="status" {
                        (lang.t("Không kiểm tra được gói bằng chứng: ", "The proof bundle could not be checked: ")) (e)
                    }
                }
            }
        }
    }
}

fn signature_card(
    lang: Lang,
    file: &Upload,
    stem: &str,
    s: &SignatureReport,
    budget: &mut usize,
) -> Markup {
    let (class, mark) = status(s.indication);
    let word = plain::verdict(lang, s.indication);
    let n = s.index.saturating_add(1);
    let proven = plain::proven_time(s);
    let pages = plain::pages_changed(s);
    // The signed revision: when the signature covers the whole file, it
    // is the file the reader holds; else embedded while the budget lasts.
    let revision = s
        .coverage
        .as_ref()
        .filter(|c| {
            matches!(
                c.kind,
                CoverageKind::EntireFile | CoverageKind::EntireRevision
            )
        })
        .and_then(|c| usize::try_from(c.signed_end).ok())
        .and_then(|e| file.data.get(..e).filter(|r| !r.is_empty()))
        .map(|r| {
            if r.len() == file.data.len() {
                Revision::WholeFile
            } else if r.len() <= *budget {
                *budget = budget.saturating_sub(r.len());
                Revision::Embedded(r)
            } else {
                Revision::TooLarge
            }
        });
    html! {
        article class={ "sig " (class) } aria-labelledby={ "sig-" (stem) "-" (n) } {
            h3 id={ "sig-" (stem) "-" (n) } {
                span class="mark" aria-hidden="true" { (mark) }
                " " (plain::kind(lang, s.kind)) " #" (n) ": "
                strong { (word) }
            }
            p class="why" { (plain::why(lang, s)) }
            dl class="facts" {
                @if let Some(c) = &s.signer {
                    dt { (if s.kind == crate::report::SignatureKind::Certificate {
                        lang.t("Người được cấp", "Issued to")
                    } else {
                        lang.t("Người ký", "Signer")
                    }) }
                    dd class="signer" { (c.common_name.clone().unwrap_or_else(|| plain::cn_of(&c.subject))) }
                    @if let Some(o) = &c.organization {
                        dt { (lang.t("Tổ chức", "Organisation")) } dd { (o) }
                    }
                    @for id in &c.identities {
                        dt { (id.kind) } dd { (plain::shown_identity(&id.kind, &id.value, true)) }
                    }
                    dt { (lang.t("Tổ chức cấp chứng thư", "Issuing CA")) } dd { (plain::cn_of(&c.issuer)) }
                    dt { (lang.t("Hiệu lực chứng thư", "Certificate validity")) } dd { (c.not_before) " → " (c.not_after) }
                }
                @if let Some(root) = s.chain.last() {
                    dt { (lang.t("Chứng thư gốc", "Root")) } dd { (plain::cn_of(root)) }
                }
                @let rev = plain::revocation_lines(lang, s);
                @if !rev.is_empty() {
                    dt { (lang.t("Tình trạng thu hồi", "Revocation")) }
                    dd { @for (i, l) in rev.iter().enumerate() { @if i > 0 { br; } (l) } }
                }
                @if let Some(t) = &s.claimed_signing_time {
                    dt { (lang.t("Thời gian ký (người ký tự khai)", "Signing time (as claimed)")) } dd { (t) }
                }
                @if let Some(t) = &proven {
                    dt { (lang.t("Thời điểm được chứng minh (dấu thời gian)", "Time proven (timestamp)")) } dd { (t) }
                }
                @if let Some(l) = s.level {
                    dt { (lang.t("Mức chữ ký", "Level")) } dd { (l.as_str()) }
                }
                @if let Some(words) = plain::package_coverage(lang, s) {
                    dt { (lang.t("Phạm vi chữ ký", "What is signed")) } dd class="package-coverage" { (words) }
                }
                @if let Some(c) = &s.coverage {
                    @if let Some(m) = c.modification_level {
                        dt { (lang.t("Thay đổi sau khi ký", "Changes after signing")) }
                        dd {
                            (plain::changes(lang, m))
                            @if !pages.is_empty() {
                                " — " (lang.t("trang bị thay đổi", "pages changed")) ": "
                                span class="pages" { (pages.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")) }
                            }
                        }
                    }
                }
            }
            @match revision {
                Some(Revision::WholeFile) => {
                    p class="revision whole" { (lang.t(
                        "Chữ ký bao trùm toàn bộ tệp: bản người ký đã ký chính là tệp bạn đang có.",
                        "The signature covers the whole file: what the signer signed is the file you hold."
                    )) }
                }
                Some(Revision::Embedded(bytes)) => {
                    p class="revision" {
                        a href=(data_url("application/pdf", bytes))
                          download={ (stem) "-signed-revision-" (n) ".pdf" } {
                            (lang.t("Tải đúng bản tài liệu mà người ký đã ký", "Download exactly the revision that was signed"))
                        }
                        " (" (bytes.len()) " bytes)"
                    }
                }
                Some(Revision::TooLarge) => {
                    p class="revision" { (lang.t(
                        "Bản đã ký quá lớn để kèm trong trang; dùng lệnh kyso để lấy ra.",
                        "The signed revision is too large to embed in this page; use the kyso command to extract it."
                    )) }
                }
                None => {}
            }
            details {
                summary { (lang.t("Chi tiết các bước kiểm tra", "All checks")) " (" (s.checks.len()) ")" }
                ul class="checks" {
                    @for c in &s.checks {
                        li class={ "check " (outcome_class(c.outcome)) } {
                            code { (c.code) } " — " (lang.t(&c.message_vi, &c.message_en))
                        }
                    }
                }
            }
        }
    }
}

/// What the page offers of a PDF signature's signed revision.
enum Revision<'a> {
    /// The signature covers the whole file: the revision is the upload.
    WholeFile,
    /// An earlier revision, inside the answer.
    Embedded(&'a [u8]),
    /// Past the page's budget for embedded revisions.
    TooLarge,
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Warning => "warning",
        Outcome::Info | Outcome::Skipped => "info",
    }
}
