//! `/unsubscribe/{token}`: the link under every email of a case's news (and its `List-Unsubscribe` header). The
//! page asks for one click, and the POST stops the news of that case to that address at once. A GET alone changes
//! nothing, because mail systems' link scanners open every link of a message (RFC 8058 §3.1 asks the same); mail
//! clients' own "unsubscribe" button posts `List-Unsubscribe=One-Click` to the same address
//! (`List-Unsubscribe-Post`, sent by `services::mail`). The token is the only credential: nothing else identifies
//! the reader, so there is no CSRF token to check.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use maud::html;

use super::AppState;
use super::error::{OnPage, PageError};
use super::pages::{layout, message_page};
use crate::domain::Lang;
use crate::services::cases::NewsLink;

const LANG: Lang = Lang::Vi;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(show_unsubscribe).post(post_unsubscribe))
}

fn unknown_link(path: &str) -> Response {
    message_page(
        LANG,
        path,
        StatusCode::NOT_FOUND,
        "Liên kết không hợp lệ",
        "Liên kết huỷ nhận thư này không đúng hoặc đã bị cắt mất một phần; xin mở lại liên kết trong thư điện tử.",
    )
}

/// `GET /unsubscribe/{token}`: what the link stops, and the button that stops it.
pub async fn show_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let path = format!("/unsubscribe/{token}");
    let Some(link) = state.cases.news_link(&token).await.on_page(LANG, &path)? else {
        return Ok(unknown_link(&path));
    };
    Ok(news_page(&path, &link, false))
}

/// `POST /unsubscribe/{token}`: stops the news of the case by email.
pub async fn post_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let path = format!("/unsubscribe/{token}");
    let Some(link) = state.cases.stop_news(&token, Utc::now()).await.on_page(LANG, &path)? else {
        return Ok(unknown_link(&path));
    };
    Ok(news_page(&path, &link, true))
}

fn news_page(path: &str, link: &NewsLink, just_stopped: bool) -> Response {
    let tracking = format!("/t/{}", link.code);
    let body = html! {
        h1 { "Huỷ nhận thư về phản ánh " (link.code) }
        @if link.stopped {
            p { @if just_stopped { "Đã huỷ. " } "Anh/chị sẽ không nhận thêm thư điện tử nào về phản ánh " strong { (link.code) } "." }
            p { "Anh/chị vẫn có thể theo dõi phản ánh trên trang " a href=(tracking) { (tracking) } "." }
        } @else {
            p { "Anh/chị đang nhận thư điện tử khi phản ánh " strong { (link.code) } " được thụ lý, trả lời hoặc có thay đổi." }
            form method="post" action=(path) {
                div.actions { button type="submit" { "Huỷ nhận thư về phản ánh này" } }
            }
            p.muted { "Việc huỷ chỉ dừng thư điện tử; phản ánh vẫn được xử lý và trả lời như bình thường." }
        }
    };
    Html(layout(LANG, path, "Huỷ nhận thư", body).into_string()).into_response()
}
