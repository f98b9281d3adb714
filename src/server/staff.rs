//! Staff pages (`/staff`): auditors, admins and the portal's clerks sign in
//! once per browser session with their role's API key, then look a dossier
//! up by its code (versions, decision, each file's verdict, downloads),
//! re-verify an archived file with the difference explained, browse the
//! audit log with the chain's status, and read the statistics. Every page
//! calls the same domain functions as the JSON API ([`super::audit`]), with
//! the same role rules and audit entries.
//!
//! The session is a random token in an HttpOnly, SameSite=Strict cookie,
//! kept in this node's memory with an idle expiry; every form carries the
//! session's CSRF token (the sign-in form a double-submit token), and a
//! POST without the right one is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::page::{head, html_response};
use super::{ApiError, AppState, Caller, allowed_roles, privacy};
use crate::report::plain::{self, Lang};

/// Idle time after which a staff session ends (seconds).
const IDLE_SECS: i64 = 30 * 60;
/// Sessions kept at once (then the oldest idle ones go).
const MAX_SESSIONS: usize = 10_000;
const COOKIE: &str = "kyso_staff";
const PRE_COOKIE: &str = "kyso_signin";

/// One signed-in browser.
#[derive(Clone)]
struct Session {
    who: Caller,
    csrf: String,
    last_seen: i64,
}

/// The staff sessions of this node.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn token() -> String {
    let mut b = [0u8; 32];
    // OpenSSL's CSPRNG; on failure an empty token matches nothing.
    if openssl::rand::rand_bytes(&mut b).is_err() {
        return String::new();
    }
    hex::encode(b)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Sessions {
    fn get(&self, headers: &HeaderMap, now: i64) -> Option<Session> {
        let t = cookie(headers, COOKIE)?;
        let mut m = self.map.lock().ok()?;
        let s = m.get_mut(&t)?;
        if now.saturating_sub(s.last_seen) > IDLE_SECS {
            m.remove(&t);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    fn start(&self, who: Caller, now: i64) -> Option<String> {
        let t = token();
        let mut m = self.map.lock().ok()?;
        m.retain(|_, s| now.saturating_sub(s.last_seen) <= IDLE_SECS);
        if m.len() >= MAX_SESSIONS {
            return None;
        }
        m.insert(
            t.clone(),
            Session {
                who,
                csrf: token(),
                last_seen: now,
            },
        );
        Some(t)
    }

    fn end(&self, headers: &HeaderMap) {
        if let (Some(t), Ok(mut m)) = (cookie(headers, COOKIE), self.map.lock()) {
            m.remove(&t);
        }
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/staff", axum::routing::get(home))
        .route("/staff/signin", axum::routing::post(sign_in))
        .route("/staff/signout", axum::routing::post(sign_out))
        .route("/staff/dossiers", axum::routing::get(dossier))
        .route(
            "/staff/documents/{sha256}/reverify",
            axum::routing::post(reverify),
        )
        .route("/staff/audit", axum::routing::get(audit_log))
        .route("/staff/stats", axum::routing::get(stats))
        .route(
            "/staff/sign",
            axum::routing::get(sign_form)
                .post(sign_post)
                .layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route("/staff/stats.csv", axum::routing::get(stats_csv))
        .route("/staff/documents/{sha256}", axum::routing::get(download))
        .route(
            "/staff/documents/{sha256}/{what}",
            axum::routing::get(download_part),
        )
}

fn layout(who: Option<&Session>, title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            (head(title))
            body {
                header class="top" {
                    p class="brand" { a href="/staff" { "kyso — cán bộ" } }
                    @if let Some(s) = who {
                        nav class="tabs" aria-label="Chức năng" {
                            a href="/staff" { "Tra cứu hồ sơ" }
                            @if privacy::privileged(&s.who.role) {
                                a href="/staff/audit" { "Nhật ký kiểm toán" }
                                a href="/staff/stats" { "Thống kê" }
                            }
                            @if may(s, "POST", "/v1/sign") {
                                a href="/staff/sign" { "Ký kết quả" }
                            }
                        }
                        form method="post" action="/staff/signout" class="signout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            span class="who" { (s.who.key_id) " (" (s.who.role) ") " }
                            button type="submit" { "Đăng xuất" }
                        }
                    }
                }
                main id="main" { (main) }
            }
        }
    }
}

fn staff_page(status: StatusCode, who: Option<&Session>, title: &str, main: Markup) -> Response {
    let mut r = html_response(status, layout(who, title, main));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn sign_in_page(status: StatusCode, problem: Option<&str>) -> Response {
    let pre = token();
    let main = html! {
        h1 { "Đăng nhập cho cán bộ" }
        @if let Some(p) = problem { p class="problem" role="alert" { (p) } }
        form method="post" action="/staff/signin" class="upload" {
            input type="hidden" name="csrf" value=(pre);
            label for="key" { "Khóa API của vai trò (portal, auditor, admin, official)" }
            input type="password" id="key" name="key" required autocomplete="off";
            button type="submit" { "Đăng nhập" }
        }
        p class="help" { "Phiên làm việc kết thúc khi đăng xuất hoặc sau 30 phút không thao tác." }
    };
    let mut r = staff_page(status, None, "Đăng nhập", main);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{PRE_COOKIE}={pre}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=600"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn forbidden(s: &Session) -> Response {
    staff_page(
        StatusCode::FORBIDDEN,
        Some(s),
        "Không được phép",
        html! { h1 { "Không được phép" } p class="problem" { "Vai trò " (s.who.role) " không được dùng chức năng này." } },
    )
}

fn error_page(s: &Session, e: &ApiError) -> Response {
    staff_page(
        e.status,
        Some(s),
        "Không thực hiện được",
        html! { h1 { "Không thực hiện được" } p class="problem" role="alert" { (e.body.message_vi) } },
    )
}

/// The signed-in session of this browser, if any (else the caller
/// answers with the sign-in page).
fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    state.staff.get(headers, state.clock.now())
}

/// Whether the session's role may do what the API route allows.
fn may(s: &Session, method: &str, route: &str) -> bool {
    allowed_roles(method, route).contains(&s.who.role.as_str())
}

/// The session of a signed-in browser whose role may do what the API's
/// `method route` allows; else the answer to give (sign-in page, 403).
fn gate(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    route: &str,
) -> Result<Session, Box<Response>> {
    let Some(s) = session(state, headers) else {
        return Err(Box::new(sign_in_page(StatusCode::UNAUTHORIZED, None)));
    };
    if !may(&s, method, route) {
        return Err(Box::new(forbidden(&s)));
    }
    Ok(s)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A form's CSRF token against the session's, in constant time.
fn csrf_ok(s: &Session, given: &str) -> bool {
    same_token(&s.csrf, given)
}

/// Two tokens equal, compared in constant time (lengths first:
/// `openssl::memcmp::eq` panics on unequal lengths); an empty one matches nothing.
fn same_token(ours: &str, given: &str) -> bool {
    !ours.is_empty()
        && ours.len() == given.len()
        && openssl::memcmp::eq(ours.as_bytes(), given.as_bytes())
}

/// A form posted without the right CSRF token: refused, and audited.
async fn csrf_refused(state: &AppState, s: Option<&Session>) -> Response {
    let anon = Caller {
        key_id: "-".into(),
        role: "-".into(),
    };
    let who = s.map(|s| &s.who).unwrap_or(&anon);
    let _ = state
        .audit(
            who,
            "staff.csrf",
            "staff pages",
            "refused: form without a valid CSRF token",
        )
        .await;
    staff_page(
        StatusCode::FORBIDDEN,
        s,
        "Yêu cầu bị từ chối",
        html! {
            h1 { "Yêu cầu bị từ chối" }
            p class="problem" role="alert" { "Biểu mẫu không mang mã chống giả mạo (CSRF) hợp lệ; hãy mở lại trang và gửi lại." }
        },
    )
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = session(&state, &headers) else {
        return sign_in_page(StatusCode::OK, None);
    };
    let main = html! {
        h1 { "Tra cứu hồ sơ" }
        form method="get" action="/staff/dossiers" class="upload" {
            label for="code" { "Mã hồ sơ" }
            input type="text" id="code" name="code" required maxlength="64" autocomplete="off";
            button type="submit" { "Tra cứu" }
        }
    };
    staff_page(StatusCode::OK, Some(&s), "Tra cứu hồ sơ", main)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    // Double submit: the token of the form this browser was given.
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
    if !same_token(&pre, &f.csrf) {
        return csrf_refused(&state, None).await;
    }
    let Some(who) = state.caller_for_key(f.key.trim()) else {
        let anon = Caller {
            key_id: "-".into(),
            role: "-".into(),
        };
        let _ = state
            .audit(&anon, "staff.signin", "staff pages", "refused: unknown key")
            .await;
        return sign_in_page(StatusCode::UNAUTHORIZED, Some("Khóa không hợp lệ."));
    };
    let Some(t) = state.staff.start(who.clone(), state.clock.now()) else {
        return sign_in_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("Quá nhiều phiên đang mở; xin thử lại sau."),
        );
    };
    let _ = state
        .audit(&who, "staff.signin", "staff pages", "signed in")
        .await;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/staff")]).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={t}; Path=/staff; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some(s) = session(&state, &headers) else {
        return sign_in_page(StatusCode::UNAUTHORIZED, None);
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused(&state, Some(&s)).await;
    }
    state.staff.end(&headers);
    let _ = state
        .audit(&s.who, "staff.signout", "staff pages", "signed out")
        .await;
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/staff")]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("kyso_staff=; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

async fn dossier(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    let s = match gate(&state, &headers, "GET", "/v1/dossiers/{code}") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let d = match super::audit::dossier(&state, &s.who, q.code.trim()).await {
        Ok(d) => d,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return staff_page(
                StatusCode::NOT_FOUND,
                Some(&s),
                "Không tìm thấy",
                html! { h1 { "Không tìm thấy hồ sơ " (q.code) } p { "Không có hồ sơ nào mang mã này mà bạn được xem." } },
            );
        }
        Err(e) => return error_page(&s, &e),
    };
    let mask = !privacy::privileged(&s.who.role);
    let reverify = may(&s, "POST", "/v1/documents/{sha256}/reverify");
    let applicant = plain::shown_identity(&d.applicant.kind, &d.applicant.value, mask);
    let main = html! {
        h1 { "Hồ sơ " (d.code) }
        dl class="facts" {
            dt { "Thủ tục" } dd { (d.procedure) }
            dt { "Người nộp" } dd { (d.applicant.kind) " " (applicant) }
            dt { "Số lần nộp" } dd { (d.versions.len()) }
        }
        @for v in d.versions.iter().rev() {
            section class="file" {
                h2 { "Lần nộp " (v.version) " — " (v.created) }
                @if v.accepted_in_lieu_of_originals {
                    p class="verdict ok-text" { "✓ Chấp nhận thay bản gốc giấy" }
                } @else {
                    p class="verdict bad-text" { "✗ Cần nộp bản gốc qua bưu điện" }
                    ul { @for r in &v.decision.reasons_vi { li { (r) } } }
                }
                table class="files" {
                    caption { "Các tệp" }
                    thead { tr { th scope="col" { "#" } th scope="col" { "Vai trò" } th scope="col" { "Tệp" } th scope="col" { "Kết quả" } th scope="col" { "Tải về / kiểm tra lại" } } }
                    tbody {
                        @for f in &v.decision.files {
                            tr {
                                td { (f.index) }
                                td { (f.role) }
                                td { (f.name) }
                                td { (plain::verdict(Lang::Vi, indication_of(&f.indication))) " (" (f.indication) ")" }
                                td {
                                    a href={ "/staff/documents/" (f.sha256) } { "tệp" } " · "
                                    a href={ "/staff/documents/" (f.sha256) "/report" } { "báo cáo" }
                                    @if state.cfg.certificate.profile.is_some() {
                                        " · " a href={ "/staff/documents/" (f.sha256) "/certificate" } { "phiếu kết quả" }
                                    }
                                    @if reverify {
                                        form method="post" action={ "/staff/documents/" (f.sha256) "/reverify" } class="inline" {
                                            input type="hidden" name="csrf" value=(s.csrf);
                                            button type="submit" { "Kiểm tra lại" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    staff_page(StatusCode::OK, Some(&s), &format!("Hồ sơ {}", d.code), main)
}

fn indication_of(s: &str) -> crate::report::Indication {
    match s {
        "TOTAL_PASSED" => crate::report::Indication::TotalPassed,
        "TOTAL_FAILED" => crate::report::Indication::TotalFailed,
        _ => crate::report::Indication::Indeterminate,
    }
}

async fn reverify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sha): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some(s) = session(&state, &headers) else {
        return sign_in_page(StatusCode::UNAUTHORIZED, None);
    };
    if !csrf_ok(&s, &f.csrf) {
        return csrf_refused(&state, Some(&s)).await;
    }
    if !may(&s, "POST", "/v1/documents/{sha256}/reverify") {
        return forbidden(&s);
    }
    let r = match super::audit::reverify(&state, &s.who, &sha).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e),
    };
    let main = html! {
        h1 { "Kiểm tra lại tệp đã lưu" }
        dl class="facts" {
            dt { "SHA-256" } dd class="hash" { (r.sha256) }
            dt { "Thời điểm tiếp nhận" } dd { (r.original_time) }
            dt { "Kết quả khi tiếp nhận" } dd { (r.intake_indication) }
            dt { "Kiểm tra lại tại thời điểm tiếp nhận" } dd { (if r.same_as_intake { "giống kết quả đã lưu" } else { "KHÁC kết quả đã lưu" }) }
            dt { "Bằng chứng đã dùng" } dd { (r.evidence_used) " mục (không tải gì từ mạng)" }
            dt { "Thời điểm hiện tại" } dd { (r.now) }
        }
        p class="why" id="explanation" { (r.explanation_vi) }
        @for d in &r.differences {
            section class="file" {
                h2 { "Chữ ký #" (d.signature + 1) ": " (d.at_original_time) " → " (d.now) }
                ul class="checks" {
                    @for c in &d.changed_checks {
                        li { code { (c.code) } " — " (c.at_original_time) " → " (c.now) ": " (c.message_vi) }
                    }
                }
            }
        }
    };
    staff_page(StatusCode::OK, Some(&s), "Kiểm tra lại", main)
}

#[derive(Deserialize)]
pub struct FromQuery {
    from: Option<i64>,
}

async fn audit_log(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<FromQuery>,
) -> Response {
    let s = match gate(&state, &headers, "GET", "/v1/audit") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let chain = match super::audit::chain(&state, &s.who).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, &e),
    };
    let page = match super::audit::log(&state, &s.who, q.from, Some(100)).await {
        Ok(p) => p,
        Err(e) => return error_page(&s, &e),
    };
    let main = html! {
        h1 { "Nhật ký kiểm toán" }
        @if chain.intact {
            p class="verdict ok-text" id="chain" { "✓ Chuỗi băm nguyên vẹn: " (chain.entries) " mục; mục cuối " code { (chain.head.get(..16).unwrap_or("")) "…" } }
        } @else {
            p class="verdict bad-text" id="chain" role="alert" { "✗ Chuỗi băm bị phá vỡ: " (chain.problems.join("; ")) }
        }
        table class="files" {
            caption { "Các mục" }
            thead { tr { th scope="col" { "#" } th scope="col" { "Thời điểm" } th scope="col" { "Khóa (vai trò)" } th scope="col" { "Hành động" } th scope="col" { "Đối tượng" } th scope="col" { "Kết quả" } } }
            tbody {
                @for e in &page.entries {
                    tr {
                        td { (e.seq) } td { (e.time) } td { (e.key_id) " (" (e.role) ")" }
                        td { (e.action) } td class="hash" { (e.object) } td { (e.outcome) }
                    }
                }
            }
        }
        @if let Some(n) = page.next {
            p { a href={ "/staff/audit?from=" (n) } { "Trang sau" } }
        }
    };
    staff_page(StatusCode::OK, Some(&s), "Nhật ký kiểm toán", main)
}

/// An archived file, as the API's `GET /v1/documents/{sha256}` gives it.
async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Response {
    let s = match gate(&state, &headers, "GET", "/v1/documents/{sha256}") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match super::audit::document(&state, &s.who, &sha).await {
        Ok((doc, bytes)) => {
            let ext = if doc.media_type == "application/pdf" {
                "pdf"
            } else {
                "bin"
            };
            let mut h = HeaderMap::new();
            if let Ok(v) = doc.media_type.parse() {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = format!("attachment; filename=\"{sha}.{ext}\"").parse() {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            (h, bytes).into_response()
        }
        Err(e) => error_page(&s, &e),
    }
}

/// An archived file's reports (JSON, identity numbers masked unless
/// privileged) or its verification certificate (PDF).
async fn download_part(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((sha, what)): Path<(String, String)>,
) -> Response {
    let Some(s) = session(&state, &headers) else {
        return sign_in_page(StatusCode::UNAUTHORIZED, None);
    };
    match what.as_str() {
        "report" if may(&s, "GET", "/v1/documents/{sha256}/report") => {
            match super::audit::reports(&state, &s.who, &sha).await {
                Ok(v) => match privacy::for_role(&s.who.role, &v) {
                    Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
                    Err(e) => error_page(&s, &ApiError::internal(e)),
                },
                Err(e) => error_page(&s, &e),
            }
        }
        "certificate" if may(&s, "GET", "/v1/documents/{sha256}/certificate") => {
            match super::audit::certificate(&state, &s.who, &sha).await {
                Ok(pdf) => (
                    [
                        (header::CONTENT_TYPE, "application/pdf".to_string()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!(
                                "attachment; filename=\"phieu-ket-qua-{}.pdf\"",
                                sha.get(..16).unwrap_or("")
                            ),
                        ),
                    ],
                    pdf,
                )
                    .into_response(),
                Err(e) => error_page(&s, &e),
            }
        }
        "report" | "certificate" => forbidden(&s),
        _ => staff_page(
            StatusCode::NOT_FOUND,
            Some(&s),
            "Không tìm thấy",
            html! { h1 { "Không tìm thấy" } },
        ),
    }
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A bar chart of the submissions per month: accepted in lieu of paper
/// originals (green) over those sent to the post (red), drawn as SVG.
fn chart(months: &[(String, usize, usize)]) -> Markup {
    let (w, h, pad) = (640.0f64, 240.0f64, 32.0f64);
    let max = months
        .iter()
        .map(|(_, a, p)| a + p)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = months.len().max(1) as f64;
    let slot = (w - 2.0 * pad) / n;
    let bar = (slot * 0.6).min(60.0);
    let scale = (h - 2.0 * pad) / max;
    let total: usize = months.iter().map(|(_, a, p)| a + p).sum();
    html! {
        figure class="chart" {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (w) " " (h) } width="100%" role="img"
                aria-labelledby="chart-title" id="stats-chart" {
                title id="chart-title" { "Số lần nộp theo tháng: " (total) " lần; xanh: chấp nhận thay bản gốc, đỏ: gửi bản gốc qua bưu điện" }
                line x1=(pad) y1=(h - pad) x2=(w - pad) y2=(h - pad) stroke="#555" {}
                @for (i, (month, acc, post)) in months.iter().enumerate() {
                    @let x = pad + slot * i as f64 + (slot - bar) / 2.0;
                    @let ha = *acc as f64 * scale;
                    @let hp = *post as f64 * scale;
                    g class="month" data-month=(month) data-accepted=(acc) data-to-post=(post) {
                        rect x=(x) y=(h - pad - ha) width=(bar) height=(ha) fill="#0a6b2d" {}
                        rect x=(x) y=(h - pad - ha - hp) width=(bar) height=(hp) fill="#a4161a" {}
                        text x=(x + bar / 2.0) y=(h - pad + 16.0) text-anchor="middle" font-size="12" { (month) }
                        text x=(x + bar / 2.0) y=(h - pad - ha - hp - 4.0) text-anchor="middle" font-size="12" { (acc) " / " (post) }
                    }
                }
            }
            figcaption { "Xanh: chấp nhận thay bản gốc giấy; đỏ: cần gửi bản gốc qua bưu điện (số trên cột: chấp nhận / gửi bưu điện)." }
        }
    }
}

async fn stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let s = match gate(&state, &headers, "GET", "/v1/stats") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let st = match super::stats::compute(&state, &s.who, q.from.as_deref(), q.to.as_deref()).await {
        Ok(st) => st,
        Err(e) => return error_page(&s, &e),
    };
    let months = super::stats::by_month(&st);
    let list = |title: &str, items: &[super::stats::Count]| {
        html! {
            section class="file" {
                h2 { (title) }
                @if items.is_empty() { p { "Không có." } }
                ol { @for c in items { li { code { (c.name) } ": " (c.count) } } }
            }
        }
    };
    let main = html! {
        h1 { "Thống kê hồ sơ trực tuyến" }
        form method="get" action="/staff/stats" class="upload period" {
            label for="from" { "Từ ngày" }
            input type="date" id="from" name="from" value=(q.from.clone().unwrap_or_default());
            label for="to" { "Đến ngày (không kể)" }
            input type="date" id="to" name="to" value=(q.to.clone().unwrap_or_default());
            button type="submit" { "Xem" }
        }
        p { (st.submissions) " lần nộp từ " (st.from) " đến " (st.to) "."
            @if st.truncated { " (chỉ tính " (st.submissions) " lần đầu)" }
            " "
            a href={ "/staff/stats.csv?from=" (q.from.clone().unwrap_or_default()) "&to=" (q.to.clone().unwrap_or_default()) } { "Tải CSV" }
        }
        (chart(&months))
        table class="files" id="stats-table" {
            caption { "Theo thủ tục và tháng" }
            thead { tr { th scope="col" { "Tháng" } th scope="col" { "Thủ tục" } th scope="col" { "Hồ sơ" } th scope="col" { "Lần nộp" } th scope="col" { "Chấp nhận thay bản gốc" } th scope="col" { "Gửi bản gốc qua bưu điện" } } }
            tbody {
                @for r in &st.rows {
                    tr { td { (r.month) } td { (r.procedure) } td { (r.dossiers) } td { (r.submissions) } td { (r.accepted) } td { (r.to_post) } }
                }
            }
        }
        (list("Lý do từ chối thường gặp", &st.refusals))
        (list("Định dạng tệp", &st.formats))
        (list("Tổ chức cấp chứng thư số (CA)", &st.cas))
    };
    staff_page(StatusCode::OK, Some(&s), "Thống kê", main)
}

async fn stats_csv(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let s = match gate(&state, &headers, "GET", "/v1/stats") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match super::stats::compute(&state, &s.who, q.from.as_deref(), q.to.as_deref()).await {
        Ok(st) => super::stats::csv_response(&st),
        Err(e) => error_page(&s, &e),
    }
}

fn sign_page(
    s: &Session,
    profiles: &[String],
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let main = html! {
        h1 { "Ký văn bản kết quả" }
        @if let Some(p) = problem { p class="problem" role="alert" { (p) } }
        @if profiles.is_empty() {
            p { "Không có hồ sơ ký nào (khóa trên máy chủ) mà bạn được dùng." }
        } @else {
            form method="post" action="/staff/sign" enctype="multipart/form-data" class="upload" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="profile" { "Hồ sơ ký" }
                select id="profile" name="profile" {
                    @for p in profiles { option value=(p) { (p) } }
                }
                div class="drop" {
                    label for="file" { "Văn bản PDF cần ký" }
                    input type="file" id="file" name="file" accept=".pdf,application/pdf" required;
                }
                button type="submit" { "Ký và tải về" }
            }
            p class="help" { "Văn bản đã ký được kiểm tra lại, lưu vào kho và ghi nhật ký trước khi tải về." }
        }
    };
    staff_page(status, Some(s), "Ký văn bản kết quả", main)
}

async fn sign_form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let s = match gate(&state, &headers, "POST", "/v1/sign") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let profiles = super::signing::profiles_for(&state, &s.who);
    sign_page(&s, &profiles, None, StatusCode::OK)
}

/// An official signs an uploaded PDF with one of their profiles: the
/// signed, verified and archived result is the download.
async fn sign_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    mut mp: axum::extract::Multipart,
) -> Response {
    let s = match gate(&state, &headers, "POST", "/v1/sign") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (mut csrf, mut profile, mut pdf) = (String::new(), String::new(), None);
    while let Ok(Some(f)) = mp.next_field().await {
        let name = f.name().unwrap_or("").to_string();
        let Ok(data) = f.bytes().await else { break };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
            "profile" => profile = String::from_utf8_lossy(&data).into_owned(),
            "file" => pdf = Some(data),
            _ => {}
        }
    }
    if !csrf_ok(&s, &csrf) {
        return csrf_refused(&state, Some(&s)).await;
    }
    let profiles = super::signing::profiles_for(&state, &s.who);
    let Some(pdf) = pdf.filter(|p| p.starts_with(b"%PDF-")) else {
        return sign_page(
            &s,
            &profiles,
            Some("Hãy chọn một tệp PDF."),
            StatusCode::BAD_REQUEST,
        );
    };
    let q = super::signing::SignQuery {
        profile,
        field: None,
        page: None,
        rect: None,
    };
    match super::signing::sign_document(&state, &s.who, &q, pdf).await {
        Ok(signed) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"da-ky-{}.pdf\"",
                        signed.sha256.get(..16).unwrap_or("")
                    ),
                ),
            ],
            signed.data,
        )
            .into_response(),
        Err(e) => sign_page(&s, &profiles, Some(&e.body.message_vi), e.status),
    }
}
