//! Telegram Bot API: parse webhook updates into [`Inbound`], send [`Outbound`]s, download photos.
//!
//! Telegram POSTs one [`Update`] per webhook request (with the `X-Telegram-Bot-Api-Secret-Token` header we chose in
//! [`TelegramClient::set_webhook`]; checking it is the server's job) and retries a request it thinks went unanswered,
//! with the same `update_id`. [`parse_update`] turns the body into an [`Inbound`]; [`TelegramClient`] sends replies,
//! answers button presses and downloads photos through the Bot API (<https://core.telegram.org/bots/api>), using
//! teloxide's types and requests but none of its dispatching: what to answer is decided by the server's dialogue.
//!
//! Facts about the Bot API this module relies on:
//! - `update_id` identifies an update; a retried webhook repeats it. It is the [`Inbound::event_id`].
//! - In a private chat the chat id equals the user's id, and it is where replies go: it is the [`Inbound::user_id`].
//! - A user blocking the bot arrives as `my_chat_member` with the new status `kicked`; sending to them then answers
//!   403 `Forbidden: bot was blocked by the user`.
//! - About one message a second per chat and thirty a second overall are allowed ([`Limits`]); beyond that Telegram
//!   answers 429 with `parameters.retry_after` in seconds.
//! - Texts are at most 4096 characters (UTF-16 code units), `callback_data` and deep-link payloads at most 64 bytes.
//! - teloxide calls each method as `POST <api_url>/bot<token>/<Method>` with the method name in upper camel case
//!   (`SendMessage`, `GetMe`), as JSON, or as `multipart/form-data` when a file may be attached (`SendPhoto`,
//!   `SetWebhook`). It reads the error kind from the `description` text, not from `error_code`, and after any 5xx
//!   answer it waits 10 seconds before returning the error.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use teloxide::payloads::{AnswerCallbackQuerySetters, SendMessageSetters, SendPhotoSetters, SetWebhookSetters};
use teloxide::requests::{Request, Requester};
use teloxide::types::{
    AllowedUpdate, ButtonRequest, CallbackQuery, CallbackQueryId, ChatId, ChatMemberStatus, ChatMemberUpdated, FileId,
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup, KeyboardRemove, MediaKind,
    Message, MessageEntity, MessageEntityKind, MessageId, MessageKind, ReplyMarkup, Update, UpdateKind,
};
use teloxide::{ApiError, Bot, RequestError};
use tokio::time::Instant;

use crate::message::{Button, Channel, DeliveryError, Inbound, InboundKind, Outbound};

mod client;
mod keyboard;
mod limits;
mod parse;

pub use client::*;
use keyboard::*;
pub use limits::*;
pub use parse::*;

/// Telegram's own Bot API server, the default `api_url` of a [`TelegramClient`].
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// The most a message text may hold, in UTF-16 code units (what Telegram counts). Longer texts are split.
pub const MAX_TEXT_UTF16: usize = 4096;

/// The most bytes a button's `callback_data` (our [`Button::payload`]) and a deep-link payload may hold.
pub const MAX_PAYLOAD_BYTES: usize = 64;

/// How many messages a chat may receive at once before [`Limits::per_chat_per_second`] applies, so that a reply right
/// after a button press (and a photo followed by its text) is not delayed.
pub const PER_CHAT_BURST: u32 = 3;

/// The update kinds [`TelegramClient::set_webhook`] asks for: the only ones [`parse_update`] turns into something the
/// dialogue sees.
pub const ALLOWED_UPDATES: [&str; 3] = ["message", "callback_query", "my_chat_member"];

/// The longest 429 `retry_after` that [`TelegramClient`] waits out itself; a longer one is returned as
/// [`DeliveryError::Retry`] for the outbox to schedule.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How many times a request is tried when Telegram answers 429 (the first try included).
pub const MAX_ATTEMPTS: u32 = 3;

// --- deep links ---------------------------------------------------------------------------------------------------

/// Why [`deep_link`] refused to build a link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    /// The bot username is not 5–32 letters, digits or underscores (a leading `@` is allowed and dropped).
    #[error("a Telegram bot username is 5 to 32 letters, digits or underscores")]
    BadUsername,
    /// The payload is empty, longer than 64 characters, or has a character other than `A-Z a-z 0-9 _ -`.
    #[error("a deep-link payload is 1 to 64 characters from A-Z, a-z, 0-9, _ and -")]
    BadPayload,
}

/// The link that opens a chat with the bot and sends it `/start <payload>` when the user presses Start:
/// `https://t.me/<bot>?start=<payload>`, parsed back by [`parse_update`] as
/// `Command { name: "start", payload: Some(payload) }`. For the QR codes on posters of a commune's survey.
///
/// # Errors
/// [`DeepLinkError`] when the username or the payload is not what Telegram accepts; Telegram would silently drop a
/// bad payload and send a bare `/start`.
pub fn deep_link(bot_username: &str, payload: &str) -> Result<String, DeepLinkError> {
    let bot = bot_username.strip_prefix('@').unwrap_or(bot_username);
    if !(5..=32).contains(&bot.len()) || !bot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(DeepLinkError::BadUsername);
    }
    if !(1..=MAX_PAYLOAD_BYTES).contains(&payload.len())
        || !payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(DeepLinkError::BadPayload);
    }
    Ok(format!("https://t.me/{bot}?start={payload}"))
}

#[cfg(test)]
mod tests;
