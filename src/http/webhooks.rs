//! The chat platforms' webhooks: `POST /webhooks/telegram` and `POST /webhooks/zalo`.
//!
//! Each checks that the request comes from the platform (Telegram: the secret token header set with
//! `setWebhook`; Zalo: the `X-ZEvent-Signature` over the raw body), parses it with `ykien-bots`, records it (a
//! repeated update id or `msg_id` is answered 200 and nothing more), answers 200 at once (for a Telegram button press,
//! with its `answerCallbackQuery` in the body), and leaves the work to [`ChatChannels::receive`] in the background:
//! Zalo retries what is not answered within about two seconds.
//! A channel that is not configured answers 404.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ykien_bots::message::Inbound;

use super::{ApiError, AppState};

/// The header Telegram sends with the secret given to `setWebhook`.
/// <https://core.telegram.org/bots/api#setwebhook>
const TELEGRAM_SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The chat platforms' webhooks.
pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/webhooks/telegram", axum::routing::post(receive_telegram_update))
        .route("/webhooks/zalo", axum::routing::post(receive_zalo_event))
}

fn channel_off() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "channel_off",
        "Kênh này chưa được bật trên máy chủ.",
        "This channel is not configured on this server.",
    )
}

fn unauthorized(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("Yêu cầu không đến từ nền tảng nhắn tin: {why}."),
        format!("The request does not come from the platform: {why}."),
    )
}

fn malformed(channel: &str, why: impl std::fmt::Display) -> ApiError {
    tracing::warn!(channel, error = %why, "a webhook body could not be read");
    ApiError::bad_request(
        format!("Nội dung webhook không đọc được: {why}."),
        format!("The webhook body cannot be read: {why}."),
    )
}

/// `POST /webhooks/telegram`.
pub async fn receive_telegram_update(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(telegram) = &state.channels.telegram else {
        return channel_off().into_response();
    };
    let secret = headers.get(TELEGRAM_SECRET_HEADER).map(|v| v.as_bytes());
    if !telegram.accepts_secret(secret) {
        return unauthorized("mã bí mật sai / wrong secret token").into_response();
    }
    match ykien_bots::telegram::parse_update(&body) {
        Ok(inbound) => accept(&state, inbound, &body).await,
        Err(e) => malformed("telegram", e).into_response(),
    }
}

/// `POST /webhooks/zalo`.
pub async fn receive_zalo_event(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(zalo) = &state.channels.zalo else {
        return channel_off().into_response();
    };
    let signature = headers
        .get(ykien_bots::zalo::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    // Checked over the bytes as received, before anything is parsed.
    if let Err(e) = ykien_bots::zalo::verify_signature(&body, signature, zalo.oa_secret_key()) {
        tracing::warn!(error = %e, "a Zalo webhook request with a bad signature was refused");
        return unauthorized(&e.to_string()).into_response();
    }
    match ykien_bots::zalo::parse_event(&body) {
        Ok(inbound) => accept(&state, inbound, &body).await,
        Err(e) => malformed("zalo", e).into_response(),
    }
}

/// Records the event and hands it to the background; 200 for a new event and for a repeated one. The 200 of a
/// Telegram button press carries its `answerCallbackQuery` ([`ykien_bots::telegram::webhook_answer`]): one request
/// to the platform fewer for most updates of a survey.
async fn accept(state: &AppState, inbound: Inbound, body: &[u8]) -> Response {
    // Both platforms send UTF-8 JSON, and the parsers accepted it.
    let raw = String::from_utf8_lossy(body);
    let answer = ykien_bots::telegram::webhook_answer(&inbound);
    match state.channels.record(&inbound, &raw).await {
        Ok(true) => {
            let channels = state.channels.clone();
            let acknowledged = answer.is_some();
            tokio::spawn(async move { channels.receive(inbound, acknowledged).await });
        }
        Ok(false) => {
            tracing::debug!(channel = inbound.channel.as_str(), event = %inbound.event_id, "a repeated webhook event was ignored");
        }
        // Not stored: a 5xx makes the platform send it again.
        Err(e) => return ApiError::from(e).into_response(),
    }
    let answer = answer.unwrap_or_else(|| serde_json::json!({ "ok": true }));
    (StatusCode::OK, axum::Json(answer)).into_response()
}
