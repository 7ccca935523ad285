//! `/console/users`: the administrators' page of accounts — disable and enable (a disabled account's sessions end
//! at once), set a new password or send the account a reset link by email, reset its two-factor sign-in, see and
//! end an account's sessions, and the sign-ins blocked now with "Mở khoá". The rules are
//! `services::account_admin`'s, `services::password_reset`'s and `services::two_factor`'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::{redirect, vn_time};
use super::session::CsrfForm;
use super::session::{Admin, SignedIn};
use crate::domain::Lang;
use crate::services::account_admin::{self, Actor};

const LANG: Lang = Lang::Vi;
pub(super) const PATH: &str = "/console/users";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(show_users))
        .route("/console/users/{username}/disabled", post(post_disabled))
        .route("/console/users/{username}/password", post(post_password))
        .route("/console/users/{username}/reset-link", post(post_reset_link))
        .route("/console/users/{username}/2fa/reset", post(post_reset_two_factor))
        .route("/console/sessions/end", post(post_end_session))
}

/// `GET /console/users`.
pub async fn show_users(State(state): State<AppState>, Admin(session): Admin) -> Result<Response, PageError> {
    let accounts = account_admin::accounts(&state.store).await.on_page(LANG, PATH)?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for a in &accounts {
        let sessions = account_admin::sessions(&state.store, a.id, now)
            .await
            .on_page(LANG, PATH)?;
        rows.push((a, sessions));
    }
    let with_totp = crate::services::two_factor::accounts_on(&state.store)
        .await
        .on_page(LANG, PATH)?;
    let blocked = crate::services::accounts::lockouts(&state.store, now)
        .await
        .on_page(LANG, PATH)?;
    let mail_on = state.config.mail.is_some() && state.config.public_url.is_some();
    let csrf = session.csrf(&state);
    let body = html! {
        h1 { "Tài khoản cán bộ" }
        p.muted { "Khoá tài khoản thì mọi phiên đăng nhập của tài khoản đó kết thúc ngay. Đặt mật khẩu mới cũng kết thúc các phiên đang mở. Mọi thay đổi được ghi vào nhật ký." }
        table {
            thead { tr { th { "Tên đăng nhập" } th { "Họ tên" } th { "Vai trò" } th { "Trạng thái" } th { "Xác thực hai bước" } th { "Phiên đang mở" } th { "" } } }
            tbody { @for (a, sessions) in &rows { tr id=(format!("user-{}", a.username)) {
                td { (a.username) } td { (a.display_name) } td { (a.role) }
                td { @if a.disabled { span.err { "Đã khoá" } } @else { "Đang dùng" } }
                td { @if with_totp.contains(&a.id) {
                    "Đang bật "
                    form method="post" action=(format!("/console/users/{}/2fa/reset", a.username)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Đặt lại" }
                    }
                } @else { "Chưa bật" } }
                td { @for s in sessions {
                    form method="post" action="/console/sessions/end" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="official" value=(a.id);
                        input type="hidden" name="session" value=(s.token_hash);
                        "từ " (vn_time(s.created_at)) " "
                        button.secondary type="submit" { "Kết thúc" }
                    }
                } }
                td {
                    form method="post" action=(format!("/console/users/{}/disabled", a.username)) {
                        input type="hidden" name="csrf" value=(csrf);
                        @if a.disabled {
                            input type="hidden" name="disabled" value="false";
                            button type="submit" { "Mở khoá" }
                        } @else {
                            input type="hidden" name="disabled" value="true";
                            button.secondary type="submit" { "Khoá tài khoản" }
                        }
                    }
                    form method="post" action=(format!("/console/users/{}/password", a.username)) {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Mật khẩu mới " input type="password" name="password" autocomplete="new-password" minlength="12"; }
                        button.secondary type="submit" { "Đặt mật khẩu" }
                    }
                    @if mail_on && !a.disabled {
                        form method="post" action=(format!("/console/users/{}/reset-link", a.username)) {
                            input type="hidden" name="csrf" value=(csrf);
                            button.secondary type="submit" { "Gửi liên kết đặt lại mật khẩu" }
                        }
                    }
                }
            } } }
        }
        h2 id="lockouts" { "Đăng nhập bị chặn" }
        p.muted { "Sau 3 lần sai liên tiếp (mật khẩu hoặc mã xác thực hai bước), tên đăng nhập bị chặn tạm thời trên địa chỉ mạng đó. «Mở khoá» cho đăng nhập lại ngay." }
        (super::signin::lockouts_table(&blocked, &csrf, PATH))
    };
    Ok(Html(page("Tài khoản cán bộ", Some((&session.official, &csrf)), body).into_string()).into_response())
}

#[derive(Deserialize)]
pub struct DisabledForm {
    #[serde(default)]
    csrf: String,
    disabled: bool,
}

/// `POST /console/users/{username}/disabled`.
pub async fn post_disabled(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    Form(form): Form<DisabledForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    account_admin::set_disabled(&state.store, Actor::Admin(&session.official), &username, form.disabled)
        .await
        .on_page(LANG, PATH)?;
    Ok(redirect(PATH))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    password: String,
}

/// `POST /console/users/{username}/password`: an administrator sets a new password.
pub async fn post_password(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    match account_admin::reset_password(&state.store, Actor::Admin(&session.official), &username, form.password).await {
        Ok(()) => Ok(redirect(PATH)),
        Err(crate::services::Error::BadRequest(why)) => Err(PageError::message(
            LANG,
            PATH,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Chưa đặt được mật khẩu",
            &why,
        )),
        Err(e) => Err(PageError::new(LANG, PATH, e)),
    }
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    csrf: String,
    official: uuid::Uuid,
    session: String,
}

/// `POST /console/sessions/end`: ends one session — one's own (from the account page) or, for administrators,
/// anyone's.
pub async fn post_end_session(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<EndSessionForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    account_admin::end_session(&state.store, &session.official, form.official, &form.session)
        .await
        .on_page(LANG, PATH)?;
    let back = if form.official == session.official.id {
        "/console/account"
    } else {
        PATH
    };
    Ok(redirect(back))
}

/// `POST /console/users/{username}/reset-link`: emails the account a one-time link to set a new password.
pub async fn post_reset_link(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let Some(base) = state
        .config
        .public_url
        .as_deref()
        .filter(|_| state.config.mail.is_some())
    else {
        return Err(PageError::message(
            LANG,
            PATH,
            StatusCode::SERVICE_UNAVAILABLE,
            "Chưa gửi được thư",
            "Máy chủ chưa cấu hình thư điện tử (YKIEN_SMTP_URL, YKIEN_MAIL_FROM) và địa chỉ công khai (YKIEN_PUBLIC_URL).",
        ));
    };
    let sent = crate::services::password_reset::send_link_for(
        &state.store,
        Actor::Admin(&session.official),
        base,
        &username,
        Utc::now(),
    )
    .await;
    match sent {
        Ok(_) => {
            state.outbox.notify_one();
            Ok(redirect(PATH))
        }
        Err(crate::services::Error::BadRequest(why)) => Err(PageError::message(
            LANG,
            PATH,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Chưa gửi được liên kết",
            &why,
        )),
        Err(e) => Err(PageError::new(LANG, PATH, e)),
    }
}

/// `POST /console/users/{username}/2fa/reset`: turns the account's two-factor sign-in off (it sets it up again).
pub async fn post_reset_two_factor(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(username): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    crate::services::two_factor::reset(&state.store, Actor::Admin(&session.official), &username)
        .await
        .on_page(LANG, PATH)?;
    Ok(redirect(PATH))
}
