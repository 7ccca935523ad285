//! `/console/account`: an official's own account page — the one-time code that links a Telegram or Zalo chat
//! (`services::linking`), the chats linked now with a button to unlink each, and the alert settings (what, by chat
//! and/or email, warning before deadlines, quiet hours; `services::alerts`), and whether two-factor sign-in is on
//! (its pages are `two_factor.rs`). A refused settings form comes back with what was typed and the reasons.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::{redirect, vn_time};
use super::session::CsrfForm;
use super::session::SignedIn;
use crate::domain::Lang;
use crate::domain::alerts::AlertKind;
use crate::services::alerts::{self, AlertSettingsForm};
use crate::services::linking::{self, LinkCode};

const LANG: Lang = Lang::Vi;
const PATH: &str = "/console/account";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(show_account))
        .route("/console/account/link-code", post(post_link_code))
        .route("/console/account/unlink", post(post_unlink))
        .route("/console/account/alerts", post(post_alerts))
}

/// What the page shows besides the stored state: a fresh code, or a refused settings form.
#[derive(Default)]
struct Shown {
    code: Option<LinkCode>,
    form: Option<(AlertSettingsForm, Vec<(&'static str, String)>)>,
    saved: bool,
}

async fn account_page(state: &AppState, session: &SignedIn, shown: Shown) -> Result<Markup, PageError> {
    let official = &session.official;
    let chats = linking::linked_chats(&state.store, official)
        .await
        .on_page(LANG, PATH)?;
    let sessions = crate::services::account_admin::sessions(&state.store, official.id, Utc::now())
        .await
        .on_page(LANG, PATH)?;
    let two_factor_on = crate::services::two_factor::is_on(&state.store, official.id)
        .await
        .on_page(LANG, PATH)?;
    let (form, problems) = match shown.form {
        Some((form, problems)) => (form, problems),
        None => {
            let settings = alerts::settings(&state.store, official.id).await.on_page(LANG, PATH)?;
            (AlertSettingsForm::from_settings(&settings), Vec::new())
        }
    };
    let problem =
        |field: &str| -> Option<String> { problems.iter().find(|(f, _)| *f == field).map(|(_, m)| m.clone()) };
    let csrf = session.csrf(state);
    let body = html! {
        h1 { "Tài khoản của tôi" }
        p { (official.display_name) " (" (official.username) ", " (official.role.label().vi) ")" }
        h2 { "Nhận cảnh báo trên điện thoại" }
        p.muted { "Liên kết tài khoản với Telegram hoặc Zalo: bấm «Tạo mã liên kết», rồi gửi cho bot Telegram hoặc Zalo OA của tỉnh tin nhắn /link kèm mã (ví dụ /link 12345678). Mỗi mã dùng một lần, trong " (linking::LINK_CODE_MINUTES) " phút. Chat đã liên kết nhận cảnh báo về phản ánh và không còn hiện hộp thoại dành cho người dân." }
        @if let Some(code) = &shown.code {
            p { "Mã liên kết: " strong id="link-code" { (code.code) } " — dùng được đến " (vn_time(code.expires_at)) "." }
        }
        form method="post" action="/console/account/link-code" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Tạo mã liên kết" }
        }
        @if chats.is_empty() { p { "Chưa có chat nào được liên kết." } }
        @else {
            table {
                thead { tr { th { "Kênh" } th { "Liên kết lúc" } th { "" } } }
                tbody { @for chat in &chats { tr {
                    td { (channel_label(&chat.channel)) }
                    td { (vn_time(chat.linked_at)) }
                    td { form method="post" action="/console/account/unlink" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="channel" value=(chat.channel);
                        button.secondary type="submit" { "Huỷ liên kết" }
                    } }
                } } }
            }
        }
        h2 { "Phiên đăng nhập đang mở" }
        ul { @for s in &sessions { li {
            form method="post" action="/console/sessions/end" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="official" value=(official.id);
                input type="hidden" name="session" value=(s.token_hash);
                "Từ " (vn_time(s.created_at)) ", hết hạn " (vn_time(s.expires_at)) " "
                button.secondary type="submit" { "Kết thúc phiên" }
            }
        } } }
        h2 id="two-factor" { "Xác thực hai bước" }
        p {
            @if two_factor_on { "Đang bật: sau mật khẩu, đăng nhập hỏi mã 6 chữ số trong ứng dụng xác thực. " a href="/console/account/2fa" { "Tắt hoặc xem" } }
            @else { "Chưa bật. " a href="/console/account/2fa" { "Bật xác thực hai bước" } " (mã 6 chữ số từ ứng dụng trên điện thoại, hỏi sau mật khẩu mỗi lần đăng nhập)." }
        }
        h2 id="alerts" { "Cảnh báo" }
        @if shown.saved { p.ok { "Đã lưu." } }
        @if !problems.is_empty() { p.err { "Chưa lưu được: xin sửa các mục ghi chú bên dưới." } }
        form method="post" action="/console/account/alerts" {
            input type="hidden" name="csrf" value=(csrf);
            fieldset {
                legend { "Nhận qua" }
                label { input type="checkbox" name="by_chat" value="1" checked[form.by_chat]; " Chat đã liên kết (Telegram, Zalo)" }
                label { input type="checkbox" name="by_email" value="1" checked[form.by_email]; " Thư điện tử" }
                label { "Địa chỉ thư điện tử " input type="email" name="email" value=(form.email) autocomplete="email"; }
                @if let Some(m) = problem("email") { p.err { (m) } }
                p.muted { "Địa chỉ này cũng nhận liên kết đặt lại mật khẩu khi bạn quên mật khẩu." }
            }
            fieldset {
                legend { "Loại cảnh báo" }
                @for kind in AlertKind::ALL {
                    label { input type="checkbox" name="kind" value=(kind.as_str()) checked[form.on.contains(&kind)]; " " (kind.label_vi()) }
                }
            }
            label { "Báo trước hạn (giờ làm việc) " input type="number" name="due_within_hours" min="1" max="40" value=(form.due_within_hours); }
            @if let Some(m) = problem("due_within_hours") { p.err { (m) } }
            fieldset {
                legend { "Giờ yên lặng (giờ Việt Nam; cảnh báo chờ đến hết giờ yên lặng)" }
                label { "Từ " input type="text" name="quiet_from" placeholder="21:00" value=(form.quiet_from); }
                label { " đến " input type="text" name="quiet_to" placeholder="06:30" value=(form.quiet_to); }
                @if let Some(m) = problem("quiet") { p.err { (m) } }
            }
            button type="submit" { "Lưu cài đặt cảnh báo" }
        }
    };
    Ok(page("Tài khoản của tôi", Some((official, &csrf)), body))
}

fn channel_label(channel: &str) -> &str {
    match channel {
        "telegram" => "Telegram",
        "zalo" => "Zalo",
        other => other,
    }
}

/// `GET /console/account`.
pub async fn show_account(State(state): State<AppState>, session: SignedIn) -> Result<Response, PageError> {
    let page = account_page(&state, &session, Shown::default()).await?;
    Ok(Html(page.into_string()).into_response())
}

/// `POST /console/account/link-code`: a fresh one-time code, shown once on the page.
pub async fn post_link_code(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let code = linking::new_link_code(&state.store, &state.surveys, &session.official, Utc::now())
        .await
        .on_page(LANG, PATH)?;
    let shown = Shown {
        code: Some(code),
        ..Shown::default()
    };
    Ok(Html(account_page(&state, &session, shown).await?.into_string()).into_response())
}

#[derive(Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    csrf: String,
    channel: String,
}

/// `POST /console/account/unlink`: ends the link of one's chat on a channel.
pub async fn post_unlink(
    State(state): State<AppState>,
    session: SignedIn,
    Form(form): Form<UnlinkForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let official = &session.official;
    linking::unlink(&state.store, official.id, &form.channel, official)
        .await
        .on_page(LANG, PATH)?;
    Ok(redirect(PATH))
}

/// `POST /console/account/alerts`: the alert settings; refused with what was typed and why.
pub async fn post_alerts(
    State(state): State<AppState>,
    session: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    // Read as pairs: `kind` repeats, once per ticked box.
    let mut csrf = String::new();
    let mut form = AlertSettingsForm::default();
    for (key, value) in pairs {
        match key.as_str() {
            "csrf" => csrf = value,
            "email" => form.email = value,
            "by_chat" => form.by_chat = true,
            "by_email" => form.by_email = true,
            "due_within_hours" => form.due_within_hours = value,
            "quiet_from" => form.quiet_from = value,
            "quiet_to" => form.quiet_to = value,
            "kind" => form
                .on
                .extend(AlertKind::ALL.into_iter().filter(|k| k.as_str() == value)),
            _ => {}
        }
    }
    session.check_csrf(&state, Some(&csrf))?;
    match form.read() {
        Ok(settings) => {
            alerts::save_settings(&state.store, session.official.id, &settings, Utc::now())
                .await
                .on_page(LANG, PATH)?;
            state
                .store
                .audit(&session.official.audit("alert_settings", &session.official.username))
                .await
                .map_err(|e| PageError::new(LANG, PATH, e))?;
            let shown = Shown {
                saved: true,
                ..Shown::default()
            };
            Ok(Html(account_page(&state, &session, shown).await?.into_string()).into_response())
        }
        Err(problems) => {
            let shown = Shown {
                form: Some((form, problems)),
                ..Shown::default()
            };
            let page = account_page(&state, &session, shown).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
        }
    }
}
