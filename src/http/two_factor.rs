//! Two-factor sign-in pages (`services::two_factor`): the code asked after a right password
//! (`/console/login/code`), and one's own set-up (`/console/account/2fa`: QR code, the secret in text, a first
//! code to confirm; off with a code).
//!
//! Between the password and the code, the browser holds a `yk_2fa` cookie (HttpOnly, SameSite=Strict, limited to
//! `/console/login`, five minutes) naming the account, its expiry and a keyed MAC of both: it proves the password
//! step passed, opens no session by itself, and cannot be made for another account without `YKIEN_SECRET`. The
//! code form carries the login cookie's CSRF token like the password form.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::limits::ClientAddress;
use super::render::redirect;
use super::session::{SignedIn, set_session_cookie};
use super::signin::{pre_session_csrf_ok, pre_session_page, throttled_message};
use crate::config::Secret;
use crate::domain::Lang;
use crate::services::accounts::{self, LoginRefused};
use crate::services::two_factor::{self, CodeCheck, Setup};

const LANG: Lang = Lang::Vi;
/// The page that asks for the code after the password.
const CODE_PATH: &str = "/console/login/code";
/// One's own set-up page; with `YKIEN_REQUIRE_2FA`, where an administrator without TOTP is sent.
pub(super) const SETUP_PATH: &str = "/console/account/2fa";
const PENDING_COOKIE: &str = "yk_2fa";
/// How long the code may be typed after the password.
const PENDING_MINUTES: i64 = 5;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/login/code", get(show_code).post(post_code))
        .route("/console/account/2fa", get(show_setup))
        .route("/console/account/2fa/confirm", post(post_confirm))
        .route("/console/account/2fa/off", post(post_off))
}

/// Whether a path stays open to an administrator who must still set up two-factor sign-in.
pub(super) fn open_before_setup(path: &str) -> bool {
    path.starts_with(SETUP_PATH) || path == "/console/logout"
}

/// The key TOTP secrets are sealed under (`serve` refuses to start without it).
fn key(state: &AppState) -> Result<&Secret, PageError> {
    state.config.secret.as_ref().ok_or_else(|| {
        PageError::message(
            LANG,
            CODE_PATH,
            StatusCode::SERVICE_UNAVAILABLE,
            "Chưa cấu hình khoá bí mật",
            "Máy chủ chưa có YKIEN_SECRET nên chưa dùng được xác thực hai bước.",
        )
    })
}

fn pending_mac(state: &AppState, official_id: Uuid, expires: i64) -> String {
    state
        .surveys
        .keyed_hash("second-factor", &format!("{}.{expires}", official_id.simple()))[..32]
        .to_owned()
}

/// The account whose password step the browser passed, if its `yk_2fa` cookie is genuine and live.
fn pending_official(state: &AppState, headers: &HeaderMap, now: DateTime<Utc>) -> Option<Uuid> {
    let value = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == PENDING_COOKIE && v.len() < 128).then(|| v.to_owned())
        })?;
    let mut parts = value.split('.');
    let (Some(id), Some(expires), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let official_id = Uuid::parse_str(id).ok()?;
    let expires: i64 = expires.parse().ok()?;
    let genuine = bool::from(
        mac.as_bytes()
            .ct_eq(pending_mac(state, official_id, expires).as_bytes()),
    );
    (genuine && expires > now.timestamp()).then_some(official_id)
}

fn pending_cookie(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = state.secure_cookie();
    HeaderValue::from_str(&format!(
        "{PENDING_COOKIE}={value}; Path={CODE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// After a right password on an account with two-factor sign-in: the `yk_2fa` cookie, and on to the code page.
pub(super) fn ask_for_code(state: &AppState, official_id: Uuid) -> Response {
    let expires = (Utc::now() + Duration::minutes(PENDING_MINUTES)).timestamp();
    let value = format!(
        "{}.{expires}.{}",
        official_id.simple(),
        pending_mac(state, official_id, expires)
    );
    let mut r = redirect(CODE_PATH);
    if let Some(cookie) = pending_cookie(state, &value, PENDING_MINUTES * 60) {
        r.headers_mut().append(SET_COOKIE, cookie);
    }
    r
}

fn code_page(state: &AppState, headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Response {
    pre_session_page(state, headers, status, "Mã xác thực", |csrf| {
        html! {
            h1 { "Xác thực hai bước" }
            p { "Mở ứng dụng xác thực trên điện thoại (Google Authenticator, Microsoft Authenticator, …) và nhập mã 6 chữ số của tài khoản ykien." }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action=(CODE_PATH) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Mã 6 chữ số" input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" autofocus required; }
                div.actions { button type="submit" { "Xác nhận" } }
            }
            p { a href="/console/login" { "Quay lại trang đăng nhập" } }
        }
    })
}

/// `GET /console/login/code`: only after a right password (else back to the login page).
pub async fn show_code(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if pending_official(&state, &headers, Utc::now()).is_none() {
        return redirect("/console/login");
    }
    code_page(&state, &headers, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /console/login/code`: the code; a right one opens the session, a wrong or reused one counts as a failed
/// sign-in.
pub async fn post_code(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let now = Utc::now();
    let Some(official_id) = pending_official(&state, &headers, now) else {
        return redirect("/console/login");
    };
    if !pre_session_csrf_ok(&state, &headers, &form.csrf) {
        return code_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Some("Biểu mẫu đã hết hạn hoặc trình duyệt chặn cookie. Xin nhập lại mã trên trang này."),
        );
    }
    let key = match key(&state) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let refused = match accounts::login_with_code(&state.store, key, official_id, &form.code, &address, now).await {
        Ok(Ok((token, _))) => {
            let mut r = redirect("/console");
            set_session_cookie(&state, &mut r, &token);
            if let Some(gone) = pending_cookie(&state, "", 0) {
                r.headers_mut().append(SET_COOKIE, gone);
            }
            return r;
        }
        Ok(Err(refused)) => refused,
        Err(e) => return PageError::new(LANG, CODE_PATH, e).into_response(),
    };
    let (status, message) = match refused {
        LoginRefused::Throttled { until } => (StatusCode::TOO_MANY_REQUESTS, throttled_message(until)),
        LoginRefused::ReusedCode => (
            StatusCode::UNAUTHORIZED,
            "Mã này đã được dùng. Xin đợi ứng dụng hiện mã mới (30 giây) rồi nhập mã mới.".to_owned(),
        ),
        LoginRefused::WrongCredentials => return redirect("/console/login"),
        _ => (
            StatusCode::UNAUTHORIZED,
            "Mã không đúng. Xin kiểm tra giờ trên điện thoại và nhập mã đang hiện trong ứng dụng.".to_owned(),
        ),
    };
    code_page(&state, &headers, status, Some(&message))
}

/// The QR code of an `otpauth://` URI as a `data:` PNG (the pages' content security policy allows `data:` images).
fn qr_data_uri(uri: &str) -> Option<String> {
    let png = super::qr::png_of(uri)?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// What the set-up page shows besides the stored state.
#[derive(Default)]
struct Shown<'a> {
    error: Option<&'a str>,
    done: Option<&'a str>,
}

async fn setup_page(
    state: &AppState,
    session: &SignedIn,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let official = &session.official;
    let setup: Option<Setup> = two_factor::setup(&state.store, key(state)?, official, Utc::now())
        .await
        .on_page(LANG, SETUP_PATH)?;
    let required = state.config.require_2fa && official.role == accounts::Role::Admin;
    let csrf = session.csrf(state);
    let body = html! {
        h1 { "Xác thực hai bước" }
        @if let Some(done) = shown.done { p.ok role="status" { (done) } }
        @if let Some(e) = shown.error { p.err role="alert" { (e) } }
        @match &setup {
            None => {
                p id="two-factor-on" { "Xác thực hai bước đang bật: mỗi lần đăng nhập, sau mật khẩu, hệ thống hỏi mã 6 chữ số trong ứng dụng xác thực." }
                @if required { p.muted { "Máy chủ này bắt buộc quản trị viên dùng xác thực hai bước, nên không tắt được." } }
                @else {
                    h2 { "Tắt xác thực hai bước" }
                    form method="post" action="/console/account/2fa/off" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Mã 6 chữ số hiện tại" input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required; }
                        button.secondary type="submit" { "Tắt" }
                    }
                }
                p { a href="/console/account" { "Về trang tài khoản" } }
            }
            Some(setup) => {
                @if required { p.err { "Máy chủ này bắt buộc quản trị viên dùng xác thực hai bước: xin bật trước khi làm việc khác." } }
                ol {
                    li { "Cài một ứng dụng xác thực trên điện thoại (Google Authenticator, Microsoft Authenticator, FreeOTP, …)." }
                    li { "Trong ứng dụng, chọn thêm tài khoản và quét mã QR dưới đây, hoặc nhập khoá bí mật." }
                    li { "Nhập mã 6 chữ số ứng dụng hiện ra để xác nhận." }
                }
                @if let Some(src) = qr_data_uri(&setup.uri) {
                    img src=(src) width="240" height="240" alt="Mã QR để thêm tài khoản vào ứng dụng xác thực";
                }
                p { "Khoá bí mật: " code id="totp-secret" { (setup.secret_base32) } }
                p.muted { "Giữ khoá này như mật khẩu: ai có nó đều tạo được mã của bạn." }
                form method="post" action="/console/account/2fa/confirm" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Mã 6 chữ số" input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required; }
                    button type="submit" { "Bật xác thực hai bước" }
                }
            }
        }
    };
    // The secret is on the page: like every console page, it is sent `no-store`.
    Ok((
        status,
        Html(page("Xác thực hai bước", Some((official, &csrf)), body).into_string()),
    )
        .into_response())
}

/// `GET /console/account/2fa`.
pub async fn show_setup(State(state): State<AppState>, session: SignedIn) -> Result<Response, PageError> {
    setup_page(&state, &session, StatusCode::OK, Shown::default()).await
}

/// `POST /console/account/2fa/confirm`: the first code turns two-factor sign-in on.
pub async fn post_confirm(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let check = two_factor::confirm(&state.store, key(&state)?, &session.official, &form.code, Utc::now())
        .await
        .on_page(LANG, SETUP_PATH)?;
    match check {
        CodeCheck::Accepted => {
            let shown = Shown {
                done: Some("Đã bật xác thực hai bước. Từ lần đăng nhập sau, hệ thống sẽ hỏi mã."),
                ..Shown::default()
            };
            setup_page(&state, &session, StatusCode::OK, shown).await
        }
        CodeCheck::Wrong | CodeCheck::Reused => {
            let shown = Shown {
                error: Some("Mã không đúng. Xin kiểm tra giờ trên điện thoại và nhập mã đang hiện trong ứng dụng."),
                ..Shown::default()
            };
            setup_page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

/// `POST /console/account/2fa/off`: a current code turns it off (not for administrators where it is required).
pub async fn post_off(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    if state.config.require_2fa && session.official.role == accounts::Role::Admin {
        let shown = Shown {
            error: Some("Máy chủ này bắt buộc quản trị viên dùng xác thực hai bước."),
            ..Shown::default()
        };
        return setup_page(&state, &session, StatusCode::FORBIDDEN, shown).await;
    }
    let check = two_factor::turn_off(&state.store, key(&state)?, &session.official, &form.code, Utc::now())
        .await
        .on_page(LANG, SETUP_PATH)?;
    let (status, shown) = match check {
        CodeCheck::Accepted => (
            StatusCode::OK,
            Shown {
                done: Some("Đã tắt xác thực hai bước."),
                ..Shown::default()
            },
        ),
        CodeCheck::Reused => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                error: Some("Mã này đã được dùng. Xin đợi ứng dụng hiện mã mới rồi nhập lại."),
                ..Shown::default()
            },
        ),
        CodeCheck::Wrong => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                error: Some("Mã không đúng; xác thực hai bước vẫn bật."),
                ..Shown::default()
            },
        ),
    };
    setup_page(&state, &session, status, shown).await
}
