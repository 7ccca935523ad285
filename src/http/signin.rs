//! Signing in and out of the console, and the administrators' page of blocked sign-ins.
//!
//! The login form carries a CSRF token too: before any session exists, the browser gets a random `yk_login`
//! cookie (HttpOnly, SameSite=Strict, limited to `/console`) and the form a token derived from it with the
//! service secret. A page elsewhere that posts to `/console/login` sends no such cookie (SameSite=Strict) and
//! cannot read the token, so it cannot sign a victim's browser into the attacker's account (login CSRF). Logout
//! carries the session's CSRF token, so another site cannot sign an official out either.
//!
//! Failed sign-ins slow down one (username, address) pair (`services::accounts::login`); administrators see the
//! pairs blocked now and may clear them.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::limits::ClientAddress;
use super::render::{redirect, vn_time};
use super::session::CsrfForm;
use super::session::{Admin, SignedIn, clear_session_cookie, set_session_cookie};
use crate::domain::Lang;
use crate::services::accounts::{self, LoginRefused};
use crate::storage::LoginThrottleRow;

const LANG: Lang = Lang::Vi;
/// The pre-session cookie the login form's CSRF token is derived from.
const LOGIN_COOKIE: &str = "yk_login";

const LOCKOUTS: &str = "/console/lockouts";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/login", get(show_login).post(post_login))
        .route("/console/logout", post(post_logout))
        .route("/console/lockouts", get(show_lockouts))
        .route("/console/lockouts/clear", post(post_clear_lockout))
}

/// The browser's login cookie, or a new one (`true`: it must be set on the answer).
fn login_cookie(headers: &HeaderMap) -> (String, bool) {
    match super::token_cookie(headers, LOGIN_COOKIE) {
        Some(token) => (token, false),
        None => {
            let bytes: [u8; 32] = rand::random();
            (bytes.iter().map(|b| format!("{b:02x}")).collect(), true)
        }
    }
}

fn login_csrf(state: &AppState, cookie: &str) -> String {
    state.surveys.keyed_hash("login-csrf", cookie)[..32].to_owned()
}

/// Whether a form posted before any session (sign-in, its code, "forgot password") carries the token of the
/// browser's login cookie.
pub(super) fn pre_session_csrf_ok(state: &AppState, headers: &HeaderMap, given: &str) -> bool {
    super::token_cookie(headers, LOGIN_COOKIE)
        .is_some_and(|c| bool::from(given.as_bytes().ct_eq(login_csrf(state, &c).as_bytes())))
}

/// A page shown before any session, whose form carries the CSRF token of the login cookie (`body` gets it); the
/// cookie is set when the browser had none.
pub(super) fn pre_session_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: &str,
    body: impl FnOnce(&str) -> Markup,
) -> Response {
    let (cookie, is_new) = login_cookie(headers);
    let csrf = login_csrf(state, &cookie);
    let mut response = (status, Html(page(title, None, body(&csrf)).into_string())).into_response();
    if is_new {
        let secure = state.secure_cookie();
        let value = format!("{LOGIN_COOKIE}={cookie}; Path=/console; Max-Age=86400; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

/// The login page with `status`, the username typed kept, and an error above the form when there is one.
fn login_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let mail_on = state.config.mail.is_some() && state.config.public_url.is_some();
    pre_session_page(state, headers, status, "Đăng nhập", |csrf| {
        html! {
            h1 { "Đăng nhập dành cho cán bộ" }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Tên đăng nhập" input type="text" name="username" autocomplete="username" maxlength="64" value=(username) required; }
                label { "Mật khẩu" input type="password" name="password" autocomplete="current-password" required; }
                div.actions { button type="submit" { "Đăng nhập" } }
            }
            @if mail_on { p { a href="/console/password/forgot" { "Quên mật khẩu?" } } }
            @else { p.muted { "Quên mật khẩu? Xin nhờ quản trị viên đặt lại." } }
        }
    })
}

/// `GET /console/login`.
pub async fn show_login(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_response(&state, &headers, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
}

/// `POST /console/login`.
pub async fn post_login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !pre_session_csrf_ok(&state, &headers, &form.csrf) {
        return login_response(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            &form.username,
            Some("Biểu mẫu đăng nhập đã hết hạn hoặc trình duyệt chặn cookie. Xin đăng nhập lại trên trang này."),
        );
    }
    match accounts::login(&state.store, &form.username, &form.password, &address, Utc::now()).await {
        Ok(Ok((token, _))) => {
            let mut r = redirect("/console");
            set_session_cookie(&state, &mut r, &token);
            r
        }
        Ok(Err(LoginRefused::CodeNeeded { official_id })) => super::two_factor::ask_for_code(&state, official_id),
        Ok(Err(LoginRefused::WrongCredentials | LoginRefused::WrongCode | LoginRefused::ReusedCode)) => login_response(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &form.username,
            Some("Sai tên đăng nhập hoặc mật khẩu."),
        ),
        Ok(Err(LoginRefused::Throttled { until })) => login_response(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &form.username,
            Some(&throttled_message(until)),
        ),
        Err(e) => PageError::new(LANG, "/console/login", e).into_response(),
    }
}

/// What a blocked sign-in is told.
pub(super) fn throttled_message(until: chrono::DateTime<Utc>) -> String {
    format!(
        "Đăng nhập sai nhiều lần từ địa chỉ mạng này; xin thử lại sau {}. Nếu cần vào ngay, xin nhờ quản trị viên mở \
         khoá.",
        vn_time(until)
    )
}

/// `POST /console/logout`: with the session's CSRF token only.
pub async fn post_logout(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    accounts::logout(&state.store, &session.token)
        .await
        .on_page(LANG, "/console")?;
    let mut r = redirect("/console/login");
    clear_session_cookie(&mut r);
    Ok(r)
}

/// `GET /console/lockouts`: the sign-ins blocked now (administrators).
pub async fn show_lockouts(State(state): State<AppState>, Admin(session): Admin) -> Result<Response, PageError> {
    let now = Utc::now();
    let blocked = accounts::lockouts(&state.store, now)
        .await
        .on_page(LANG, "/console/lockouts")?;
    let csrf = session.csrf(&state);
    let body: Markup = html! {
        h1 { "Đăng nhập bị chặn" }
        p.muted { "Sau 3 lần sai liên tiếp (mật khẩu hoặc mã xác thực hai bước), mỗi tên đăng nhập bị chặn tạm thời trên từng địa chỉ mạng (30 giây, rồi gấp đôi mỗi lần sai, tối đa 15 phút); các địa chỉ khác vẫn đăng nhập được. Tên không tồn tại cũng được tính như tên thật." }
        (lockouts_table(&blocked, &csrf, LOCKOUTS))
    };
    Ok(Html(page("Đăng nhập bị chặn", Some((&session.official, &csrf)), body).into_string()).into_response())
}

/// The sign-ins blocked now, each with its "Mở khoá" button (on this page and the administrators' page of
/// accounts, `back`).
pub(super) fn lockouts_table(blocked: &[LoginThrottleRow], csrf: &str, back: &str) -> Markup {
    html! {
        @if blocked.is_empty() { p { "Không có lượt đăng nhập nào đang bị chặn." } }
        @else {
            table {
                thead { tr { th { "Tên đăng nhập" } th { "Địa chỉ mạng" } th { "Số lần sai" } th { "Chặn đến" } th { "" } } }
                tbody { @for b in blocked { tr {
                    td { (b.username) } td { (b.address) } td { (b.failures) }
                    td { (b.blocked_until.map(vn_time).unwrap_or_default()) }
                    td { form method="post" action="/console/lockouts/clear" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="username" value=(b.username);
                        input type="hidden" name="address" value=(b.address);
                        input type="hidden" name="back" value=(back);
                        button.secondary type="submit" { "Mở khoá" }
                    } }
                } } }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    csrf: String,
    username: String,
    /// Empty: every address.
    #[serde(default)]
    address: String,
    /// The page the button was on: this one or the administrators' page of accounts.
    #[serde(default)]
    back: String,
}

/// `POST /console/lockouts/clear`: an administrator lets a name sign in again from an address (or everywhere).
pub async fn post_clear_lockout(
    State(state): State<AppState>,
    Admin(session): Admin,
    Form(form): Form<ClearForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let address = Some(form.address.trim()).filter(|a| !a.is_empty());
    accounts::clear_lockout(&state.store, &session.official, form.username.trim(), address)
        .await
        .on_page(LANG, LOCKOUTS)?;
    let back = if form.back == super::users::PATH {
        super::users::PATH
    } else {
        LOCKOUTS
    };
    Ok(redirect(back))
}
