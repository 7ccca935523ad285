//! "Quên mật khẩu?": the form that sends a one-time reset link by email (`/console/password/forgot`, the same
//! answer whatever was typed) and the page the link opens (`/console/password/reset/{token}`), which sets a new
//! password. The rules are `services::password_reset`'s. Both need email (`YKIEN_SMTP_URL`) and the public
//! address (`YKIEN_PUBLIC_URL`, the only base a link is built on); without them the pages say to ask an
//! administrator. Like every `/console` page they are sent `no-store` and, like every answer, `no-referrer`, so the
//! token in the address stays out of caches and other sites' logs.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::AppState;
use super::error::PageError;
use super::limits::ClientAddress;
use super::signin::{pre_session_csrf_ok, pre_session_page};
use crate::domain::Lang;
use crate::services::password_reset::{self, LINK_MINUTES, LinkState};
use crate::storage::ResetLinkUse;

const LANG: Lang = Lang::Vi;
const FORGOT_PATH: &str = "/console/password/forgot";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/password/forgot", get(show_forgot).post(post_forgot))
        .route("/console/password/reset/{token}", get(show_reset).post(post_reset))
}

/// The public address links are built on, when email can be sent at all.
fn link_base(state: &AppState) -> Option<&str> {
    state.config.mail.as_ref()?;
    state.config.public_url.as_deref()
}

fn no_email(state: &AppState, headers: &HeaderMap) -> Response {
    // An answer, not a failure: this server resets passwords through its administrators.
    pre_session_page(state, headers, StatusCode::OK, "Quên mật khẩu", |_| {
        html! {
            h1 { "Quên mật khẩu" }
            p { "Máy chủ này chưa được cấu hình gửi thư điện tử, nên chưa gửi được liên kết đặt lại mật khẩu. Xin nhờ quản trị viên đặt mật khẩu mới cho bạn." }
            p { a href="/console/login" { "Quay lại trang đăng nhập" } }
        }
    })
}

fn forgot_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    typed: &str,
    note: Option<(&str, &str)>,
) -> Response {
    pre_session_page(state, headers, status, "Quên mật khẩu", |csrf| {
        html! {
            h1 { "Quên mật khẩu" }
            @if let Some((class, text)) = note { p class=(class) role="status" { (text) } }
            p { "Nhập tên đăng nhập hoặc địa chỉ thư điện tử của tài khoản. Nếu tài khoản có địa chỉ thư điện tử, hệ thống gửi đến đó một liên kết để đặt mật khẩu mới, dùng được một lần trong " (LINK_MINUTES) " phút." }
            form method="post" action=(FORGOT_PATH) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Tên đăng nhập hoặc thư điện tử" input type="text" name="who" autocomplete="username" maxlength="254" value=(typed) required; }
                div.actions { button type="submit" { "Gửi liên kết" } }
            }
            p { a href="/console/login" { "Quay lại trang đăng nhập" } }
        }
    })
}

/// `GET /console/password/forgot`.
pub async fn show_forgot(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if link_base(&state).is_none() {
        return no_email(&state, &headers);
    }
    forgot_page(&state, &headers, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    who: String,
}

/// `POST /console/password/forgot`: the same answer whatever was typed.
pub async fn post_forgot(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !pre_session_csrf_ok(&state, &headers, &form.csrf) {
        return forgot_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            &form.who,
            Some((
                "err",
                "Biểu mẫu đã hết hạn hoặc trình duyệt chặn cookie. Xin gửi lại trên trang này.",
            )),
        );
    }
    let Some(base) = link_base(&state) else {
        return no_email(&state, &headers);
    };
    if form.who.trim().is_empty() {
        return forgot_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            Some(("err", "Xin nhập tên đăng nhập hoặc địa chỉ thư điện tử.")),
        );
    }
    if let Err(e) = password_reset::request_link(&state.store, base, &form.who, &address, Utc::now()).await {
        return PageError::new(LANG, FORGOT_PATH, e).into_response();
    }
    state.outbox.notify_one();
    forgot_page(
        &state,
        &headers,
        StatusCode::OK,
        "",
        Some((
            "ok",
            "Nếu tên hoặc địa chỉ này thuộc một tài khoản có thư điện tử, liên kết đặt lại mật khẩu đã được gửi. Xin \
             xem hộp thư (cả mục thư rác) trong vài phút tới.",
        )),
    )
}

/// The page of a link that cannot be used, with why.
fn dead_link(state: &AppState, headers: &HeaderMap, why: &ResetLinkUse) -> Response {
    let (status, text) = match why {
        ResetLinkUse::Used => (
            StatusCode::GONE,
            "Liên kết này đã được dùng để đặt mật khẩu. Mỗi liên kết chỉ dùng được một lần.",
        ),
        ResetLinkUse::Expired => (
            StatusCode::GONE,
            "Liên kết này đã hết hạn (liên kết chỉ dùng được trong 30 phút) hoặc đã có liên kết mới hơn.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Liên kết không đúng. Xin mở đúng liên kết trong thư, không sửa hay cắt bớt.",
        ),
    };
    pre_session_page(state, headers, status, "Liên kết không dùng được", |_| {
        html! {
            h1 { "Liên kết không dùng được" }
            p.err role="alert" { (text) }
            p { a href=(FORGOT_PATH) { "Gửi liên kết mới" } " · " a href="/console/login" { "Trang đăng nhập" } }
        }
    })
}

fn reset_page(
    state: &AppState,
    headers: &HeaderMap,
    (status, token, username): (StatusCode, &str, &str),
    error: Option<&str>,
) -> Response {
    pre_session_page(state, headers, status, "Đặt mật khẩu mới", |csrf| {
        html! {
            h1 { "Đặt mật khẩu mới" }
            p { "Tài khoản: " strong { (username) } }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action=(format!("/console/password/reset/{token}")) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Mật khẩu mới (ít nhất 12 ký tự)" input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                label { "Nhập lại mật khẩu mới" input type="password" name="repeated" autocomplete="new-password" minlength="12" required; }
                div.actions { button type="submit" { "Đặt mật khẩu" } }
            }
            p.muted { "Sau khi đặt, mọi phiên đăng nhập đang mở của tài khoản sẽ kết thúc." }
        }
    })
}

/// `GET /console/password/reset/{token}`: the form, or why the link cannot be used.
pub async fn show_reset(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    match password_reset::link_state(&state.store, &token, Utc::now()).await {
        Ok(LinkState::Live { username }) => reset_page(&state, &headers, (StatusCode::OK, &token, &username), None),
        Ok(LinkState::Unknown) => dead_link(&state, &headers, &ResetLinkUse::Unknown),
        Ok(LinkState::Expired) => dead_link(&state, &headers, &ResetLinkUse::Expired),
        Ok(LinkState::Used) => dead_link(&state, &headers, &ResetLinkUse::Used),
        Err(e) => PageError::new(LANG, "/console/password/reset", e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeated: String,
}

/// `POST /console/password/reset/{token}`: sets the password; the account's sessions end.
pub async fn post_reset(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Response {
    let now = Utc::now();
    let username = match password_reset::link_state(&state.store, &token, now).await {
        Ok(LinkState::Live { username }) => username,
        Ok(LinkState::Unknown) => return dead_link(&state, &headers, &ResetLinkUse::Unknown),
        Ok(LinkState::Expired) => return dead_link(&state, &headers, &ResetLinkUse::Expired),
        Ok(LinkState::Used) => return dead_link(&state, &headers, &ResetLinkUse::Used),
        Err(e) => return PageError::new(LANG, "/console/password/reset", e).into_response(),
    };
    let refuse = |status, why: &str| reset_page(&state, &headers, (status, &token, &username), Some(why));
    if !pre_session_csrf_ok(&state, &headers, &form.csrf) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Biểu mẫu đã hết hạn hoặc trình duyệt chặn cookie. Xin nhập lại trên trang này.",
        );
    }
    if let Some(problem) = password_reset::password_problem(&form.password, &form.repeated) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, &problem);
    }
    match password_reset::set_password(&state.store, &token, form.password, &address, now).await {
        Ok(ResetLinkUse::PasswordSet { username }) => pre_session_page(
            &state,
            &headers,
            StatusCode::OK,
            "Đã đặt mật khẩu mới",
            |_| {
                html! {
                    h1 { "Đã đặt mật khẩu mới" }
                    p.ok role="status" { "Mật khẩu mới của tài khoản " strong { (username) } " đã được lưu; mọi phiên đăng nhập cũ đã kết thúc." }
                    p { a href="/console/login" { "Đăng nhập bằng mật khẩu mới" } }
                }
            },
        ),
        Ok(dead) => dead_link(&state, &headers, &dead),
        Err(e) => PageError::new(LANG, "/console/password/reset", e).into_response(),
    }
}
