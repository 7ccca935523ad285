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
    Message, MessageEntity, MessageEntityKind, MessageKind, ReplyMarkup, Update, UpdateKind,
};
use teloxide::{ApiError, Bot, RequestError};
use tokio::time::Instant;

use crate::message::{Button, Channel, DeliveryError, Inbound, InboundKind, Outbound};

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

// --- parsing ------------------------------------------------------------------------------------------------------

/// Why a webhook body could not be turned into an [`Inbound`]. The messages name fields, never values, so they are
/// safe to log.
///
/// Telegram retries a webhook that is not answered 2xx, and would retry these forever: a handler should log them and
/// still answer 200.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON (empty, truncated, not UTF-8, nested deeper than serde_json allows…).
    #[error("the Telegram update is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the Telegram update is not a JSON object")]
    NotAnObject,
    /// The object is not an update: no `update_id`, or one that is not a whole number from 0 to 2³²−1.
    #[error("the JSON object is not a Telegram update")]
    NotAnUpdate(#[source] serde_json::Error),
    /// The update carries nothing besides its `update_id`.
    #[error("the Telegram update has no content besides its update_id")]
    NoContent,
    /// The update is of a kind this module interprets (`message`, `callback_query`, `my_chat_member`), but its content
    /// does not have the shape the Bot API documents (a missing chat, a date that is not a number…).
    #[error("the Telegram update's `{kind}` does not have the documented shape")]
    Unreadable {
        /// The update kind, as the JSON key Telegram uses.
        kind: &'static str,
    },
    /// A field has the right shape but an unusable value.
    #[error("the Telegram update's `{field}` {problem}")]
    Invalid {
        /// The field, as a dotted path.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// The update kinds whose content [`parse_update`] reads; any other kind is [`InboundKind::Unsupported`] even when
/// its content is unreadable.
const INTERPRETED_KINDS: [&str; 3] = ["message", "callback_query", "my_chat_member"];

/// The longest `event_name` taken from an update kind this module does not know, in bytes.
const MAX_EVENT_NAME_BYTES: usize = 64;

/// Parses one Telegram webhook body (a JSON [`Update`]) into an [`Inbound`].
///
/// `event_id` is the `update_id` in decimal. `user_id` is where a reply goes: the chat's id (in a private chat, the
/// user's id); for a button press the chat of the message that carried the button, else the presser's id.
///
/// | update | kind |
/// |---|---|
/// | `message` in a private chat, text starting with a command (`/start commune_12345`) | [`Command`](InboundKind::Command) `{ name: "start", payload: Some("commune_12345") }` |
/// | `message` in a private chat, other text | [`Text`](InboundKind::Text) |
/// | `message` with `photo` | [`Photo`](InboundKind::Photo): the `file_id` of the largest size, the caption if not blank |
/// | `message` with `location` (or a `venue`, which has one) | [`Location`](InboundKind::Location) |
/// | `message` with `contact` | [`ContactInfo`](InboundKind::ContactInfo): first and last name, phone number |
/// | `callback_query` with `data` | [`Button`](InboundKind::Button) with the query id as `callback_id` |
/// | `my_chat_member` in a private chat, new status `kicked` or `left` / `member` | [`Unfollowed`](InboundKind::Unfollowed) / [`Followed`](InboundKind::Followed) |
/// | anything else | [`Unsupported`](InboundKind::Unsupported), e.g. `"sticker"`, `"edited_message"`, `"group_message"` |
///
/// A text is a command when it has a `bot_command` entity at offset 0, or when it has no entities at all and starts
/// with `/name` (1–32 letters, digits or `_`, optionally `@botname`) followed by a space or the end: Telegram always
/// sends the entity, recorded samples do not. The name loses its `/` and `@botname` and is lower-cased; the payload
/// is the rest of the text, trimmed (for a deep link, the rest of the line), `None` when empty.
///
/// `at_ms` is the message's `date` (also for unsupported messages) or the `date` of a `my_chat_member`; button presses
/// and the other kinds have none (a callback query has no date of its own).
///
/// Updates in the format of Bot API versions before 3.0 and 4.5 are accepted: a user object without `is_bot` is taken
/// as a human and a file without `file_unique_id` gets an empty one (teloxide requires both; Telegram has sent them
/// since 2017 and 2019, recorded samples often lack them).
///
/// Nothing here panics or recurses deeper than serde_json's nesting limit: bad input of any shape is a
/// [`ParseError`].
///
/// # Errors
/// [`ParseError`] when the body is not a JSON object with a valid `update_id` and some content, or when a `message`,
/// `callback_query` or `my_chat_member` does not have the documented shape.
pub fn parse_update(raw_body: &[u8]) -> Result<Inbound, ParseError> {
    let mut value: Value = serde_json::from_slice(raw_body).map_err(ParseError::NotJson)?;
    if !value.is_object() {
        return Err(ParseError::NotAnObject);
    }
    fill_legacy_fields(&mut value);
    let update = Update::deserialize(&value).map_err(ParseError::NotAnUpdate)?;
    let event_id = update.id.0.to_string();

    let (user_id, at_ms, kind) = match &update.kind {
        UpdateKind::Message(message) => from_message(message, value.get("message"))?,
        UpdateKind::CallbackQuery(query) => from_callback_query(query),
        UpdateKind::MyChatMember(member) => from_my_chat_member(member),
        UpdateKind::Error(_) => from_unreadable(&value)?,
        other => {
            let user_id = update
                .from()
                .map(|user| user.id.0.to_string())
                .or_else(|| update.chat().map(|chat| chat.id.0.to_string()))
                .unwrap_or_default();
            let at_ms = match other {
                UpdateKind::EditedMessage(m)
                | UpdateKind::ChannelPost(m)
                | UpdateKind::EditedChannelPost(m)
                | UpdateKind::BusinessMessage(m)
                | UpdateKind::EditedBusinessMessage(m) => Some(m.date.timestamp_millis()),
                _ => None,
            };
            (user_id, at_ms, unsupported(update_kind_name(other)))
        }
    };

    Ok(Inbound {
        channel: Channel::Telegram,
        event_id,
        user_id,
        at_ms,
        kind,
    })
}

fn unsupported(event_name: &str) -> InboundKind {
    InboundKind::Unsupported {
        event_name: event_name.to_owned(),
    }
}

/// Adds what updates of old Bot API versions lack and teloxide requires: `is_bot: false` in user objects (under `from`
/// or `user`) and `file_unique_id: ""` next to a `file_id`. The recursion is bounded by serde_json's nesting limit.
fn fill_legacy_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("file_id") && !map.contains_key("file_unique_id") {
                map.insert("file_unique_id".to_owned(), Value::String(String::new()));
            }
            for (key, child) in map.iter_mut() {
                if let ("from" | "user", Value::Object(user)) = (key.as_str(), &mut *child)
                    && user.contains_key("id")
                    && user.contains_key("first_name")
                    && !user.contains_key("is_bot")
                {
                    user.insert("is_bot".to_owned(), Value::Bool(false));
                }
                fill_legacy_fields(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fill_legacy_fields),
        _ => {}
    }
}

type Parsed = (String, Option<i64>, InboundKind);

fn from_message(message: &Message, raw: Option<&Value>) -> Result<Parsed, ParseError> {
    let at_ms = Some(message.date.timestamp_millis());
    if !message.chat.is_private() {
        let user_id = message
            .from
            .as_ref()
            .map_or_else(|| message.chat.id.0.to_string(), |user| user.id.0.to_string());
        let name = if message.chat.is_channel() {
            "channel_message"
        } else {
            "group_message"
        };
        return Ok((user_id, at_ms, unsupported(name)));
    }
    let user_id = message.chat.id.0.to_string();
    let kind = match &message.kind {
        MessageKind::Common(common) => match &common.media_kind {
            MediaKind::Text(text) => text_or_command(&text.text, &text.entities),
            MediaKind::Photo(photo) => {
                let largest = photo
                    .photo
                    .iter()
                    .max_by_key(|size| (u64::from(size.width) * u64::from(size.height), size.file.size))
                    .ok_or(ParseError::Invalid {
                        field: "message.photo",
                        problem: "is empty",
                    })?;
                InboundKind::Photo {
                    urls: vec![largest.file.id.0.clone()],
                    caption: photo.caption.as_deref().and_then(non_blank).map(str::to_owned),
                }
            }
            MediaKind::Location(location) => location_kind(&location.location)?,
            MediaKind::Venue(venue) => location_kind(&venue.venue.location)?,
            MediaKind::Contact(contact) => {
                let contact = &contact.contact;
                let name = [Some(contact.first_name.as_str()), contact.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter_map(non_blank)
                    .collect::<Vec<_>>()
                    .join(" ");
                InboundKind::ContactInfo {
                    name: non_blank(&name).map(str::to_owned),
                    phone: non_blank(&contact.phone_number).map(str::to_owned),
                    address: None,
                }
            }
            other => unsupported(media_kind_name(other)),
        },
        // teloxide reads a message it cannot read otherwise as content-less, so name it from its JSON.
        MessageKind::Empty {} => match raw.and_then(content_key) {
            Some(key) if INTERPRETED_CONTENT.contains(&key) => {
                return Err(ParseError::Unreadable { kind: "message" });
            }
            Some(key) => unsupported(key),
            None => unsupported("unknown_message"),
        },
        // Dice, service messages (pinned, members joining…), web app data…
        _ => unsupported(raw.and_then(content_key).unwrap_or("service_message")),
    };
    Ok((user_id, at_ms, kind))
}

/// The message contents [`parse_update`] interprets.
const INTERPRETED_CONTENT: [&str; 5] = ["text", "photo", "location", "venue", "contact"];

/// The first field of a raw message that says what it holds, among those the Bot API documents.
fn content_key(message: &Value) -> Option<&'static str> {
    const CONTENT_KEYS: [&str; 18] = [
        "text",
        "photo",
        "venue",
        "location",
        "contact",
        "animation",
        "audio",
        "document",
        "paid_media",
        "game",
        "poll",
        "checklist",
        "sticker",
        "story",
        "video",
        "video_note",
        "voice",
        "dice",
    ];
    let message = message.as_object()?;
    CONTENT_KEYS.into_iter().find(|key| message.contains_key(*key))
}

/// `Some(text)` unless it is empty or only whitespace.
fn non_blank(text: &str) -> Option<&str> {
    (!text.trim().is_empty()).then_some(text)
}

fn location_kind(location: &teloxide::types::Location) -> Result<InboundKind, ParseError> {
    let (lat, lon) = (location.latitude, location.longitude);
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ParseError::Invalid {
            field: "message.location.latitude",
            problem: "is out of range",
        });
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ParseError::Invalid {
            field: "message.location.longitude",
            problem: "is out of range",
        });
    }
    Ok(InboundKind::Location { lat, lon })
}

/// A command (see [`parse_update`]) or plain text.
fn text_or_command(text: &str, entities: &[MessageEntity]) -> InboundKind {
    let entity_len = entities
        .iter()
        .find(|entity| entity.offset == 0 && entity.kind == MessageEntityKind::BotCommand)
        .map(|entity| entity.length);
    let command_end = match entity_len {
        // Entity offsets and lengths count UTF-16 code units; a command is ASCII, so they are bytes too, but a hostile
        // length must not cut a character.
        Some(len) => Some(byte_index_of_utf16(text, len)),
        None if entities.is_empty() && text.starts_with('/') => {
            Some(text.find(char::is_whitespace).unwrap_or(text.len()))
        }
        None => None,
    };
    let Some(command_end) = command_end else {
        return InboundKind::Text(text.to_owned());
    };
    let token = text.get(1..command_end).unwrap_or_default();
    let name = token.split_once('@').map_or(token, |(name, _)| name);
    let valid = (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !text.starts_with('/') || !valid {
        return InboundKind::Text(text.to_owned());
    }
    let payload = text.get(command_end..).unwrap_or_default().trim();
    InboundKind::Command {
        name: name.to_ascii_lowercase(),
        payload: (!payload.is_empty()).then(|| payload.to_owned()),
    }
}

/// The byte index in `text` after `units` UTF-16 code units (the end of the text if it is shorter), on a character
/// boundary.
fn byte_index_of_utf16(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (index, c) in text.char_indices() {
        if seen >= units {
            return index;
        }
        seen += c.len_utf16();
    }
    text.len()
}

fn from_callback_query(query: &CallbackQuery) -> Parsed {
    let chat = query.message.as_ref().map(|message| message.chat());
    let user_id = chat.map_or_else(|| query.from.id.0.to_string(), |chat| chat.id.0.to_string());
    let kind = match (&query.data, chat) {
        (_, Some(chat)) if !chat.is_private() => unsupported("group_callback_query"),
        (Some(data), _) => InboundKind::Button {
            payload: data.clone(),
            callback_id: Some(query.id.0.clone()),
        },
        (None, _) => unsupported("callback_game"),
    };
    (user_id, None, kind)
}

fn from_my_chat_member(update: &ChatMemberUpdated) -> Parsed {
    let user_id = update.chat.id.0.to_string();
    let at_ms = Some(update.date.timestamp_millis());
    let kind = if update.chat.is_private() {
        match update.new_chat_member.status() {
            ChatMemberStatus::Banned | ChatMemberStatus::Left => InboundKind::Unfollowed,
            ChatMemberStatus::Member => InboundKind::Followed,
            _ => unsupported("my_chat_member"),
        }
    } else {
        unsupported("group_my_chat_member")
    };
    (user_id, at_ms, kind)
}

/// An update teloxide could not read: an error for the kinds we interpret, [`InboundKind::Unsupported`] (named after
/// its key, with the user id if one is where Telegram usually puts it) for the others, including kinds newer than
/// teloxide.
fn from_unreadable(update: &Value) -> Result<Parsed, ParseError> {
    let Some((key, content)) = update
        .as_object()
        .and_then(|map| map.iter().find(|(key, _)| *key != "update_id"))
    else {
        return Err(ParseError::NoContent);
    };
    if let Some(kind) = INTERPRETED_KINDS.iter().find(|kind| **kind == key) {
        return Err(ParseError::Unreadable { kind });
    }
    let user_id = ["from", "user", "chat"]
        .iter()
        .find_map(|party| match content.get(party)?.get("id")? {
            Value::Number(id) if id.is_i64() || id.is_u64() => Some(id.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    let mut end = key.len().min(MAX_EVENT_NAME_BYTES);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    Ok((user_id, None, unsupported(&key[..end])))
}

/// The JSON key of an update kind.
fn update_kind_name(kind: &UpdateKind) -> &'static str {
    match kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited_message",
        UpdateKind::ChannelPost(_) => "channel_post",
        UpdateKind::EditedChannelPost(_) => "edited_channel_post",
        UpdateKind::BusinessConnection(_) => "business_connection",
        UpdateKind::BusinessMessage(_) => "business_message",
        UpdateKind::EditedBusinessMessage(_) => "edited_business_message",
        UpdateKind::DeletedBusinessMessages(_) => "deleted_business_messages",
        UpdateKind::MessageReaction(_) => "message_reaction",
        UpdateKind::MessageReactionCount(_) => "message_reaction_count",
        UpdateKind::InlineQuery(_) => "inline_query",
        UpdateKind::ChosenInlineResult(_) => "chosen_inline_result",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::ShippingQuery(_) => "shipping_query",
        UpdateKind::PreCheckoutQuery(_) => "pre_checkout_query",
        UpdateKind::PurchasedPaidMedia(_) => "purchased_paid_media",
        UpdateKind::Poll(_) => "poll",
        UpdateKind::PollAnswer(_) => "poll_answer",
        UpdateKind::MyChatMember(_) => "my_chat_member",
        UpdateKind::ChatMember(_) => "chat_member",
        UpdateKind::ChatJoinRequest(_) => "chat_join_request",
        UpdateKind::ChatBoost(_) => "chat_boost",
        UpdateKind::RemovedChatBoost(_) => "removed_chat_boost",
        UpdateKind::Error(_) => "unknown",
    }
}

/// The Bot API's field name for a kind of message content we do not interpret.
fn media_kind_name(kind: &MediaKind) -> &'static str {
    match kind {
        MediaKind::Animation(_) => "animation",
        MediaKind::Audio(_) => "audio",
        MediaKind::Contact(_) => "contact",
        MediaKind::Document(_) => "document",
        MediaKind::PaidMedia(_) => "paid_media",
        MediaKind::Game(_) => "game",
        MediaKind::Venue(_) => "venue",
        MediaKind::Location(_) => "location",
        MediaKind::Photo(_) => "photo",
        MediaKind::Poll(_) => "poll",
        MediaKind::Checklist(_) => "checklist",
        MediaKind::Sticker(_) => "sticker",
        MediaKind::Story(_) => "story",
        MediaKind::Text(_) => "text",
        MediaKind::Video(_) => "video",
        MediaKind::VideoNote(_) => "video_note",
        MediaKind::Voice(_) => "voice",
        MediaKind::Migration(_) => "migrate_to_chat_id",
    }
}

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

// --- rate limits --------------------------------------------------------------------------------------------------

/// How fast a [`TelegramClient`] sends messages (`sendMessage`, `sendPhoto`; each part of a split text counts).
///
/// Both limits are token buckets: a chat may receive [`PER_CHAT_BURST`] messages at once, then
/// `per_chat_per_second`; all chats together `overall_per_second`, with a burst of one second's worth. A send that
/// would exceed either waits (asynchronously) for its turn, first come first served. A rate that is not a positive
/// number means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages a second to one chat (Telegram: about 1).
    pub per_chat_per_second: f64,
    /// Messages a second to all chats together (Telegram: about 30).
    pub overall_per_second: f64,
}

impl Default for Limits {
    /// Telegram's documented limits: 1 message a second per chat, 30 a second overall.
    fn default() -> Self {
        Self {
            per_chat_per_second: 1.0,
            overall_per_second: 30.0,
        }
    }
}

/// The longest interval between two messages a rate can ask for, so that instants never overflow.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Chats remembered before idle ones are forgotten.
const MIN_PRUNE_THRESHOLD: usize = 1024;

/// One bucket's shape in the generic cell rate algorithm: a message every `interval`, `tolerance` ahead of that.
#[derive(Debug, Clone, Copy)]
struct Gcra {
    interval: Duration,
    tolerance: Duration,
}

impl Gcra {
    fn new(per_second: f64, burst: u32) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / per_second).map_or(MAX_INTERVAL, |d| d.min(MAX_INTERVAL))
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            tolerance: interval * burst.saturating_sub(1),
        }
    }

    /// The earliest instant at or after `now` that a bucket whose theoretical arrival time is `tat` allows a message.
    fn earliest(self, tat: Instant, now: Instant) -> Instant {
        let ahead = tat.saturating_duration_since(now);
        if ahead > self.tolerance {
            now + (ahead - self.tolerance)
        } else {
            now
        }
    }
}

#[derive(Debug)]
struct LimiterState {
    overall_tat: Instant,
    /// Each chat's theoretical arrival time; a chat whose time has passed is as if never seen and may be forgotten.
    chats: HashMap<String, Instant>,
    prune_threshold: usize,
}

/// The per-chat and overall token buckets, as reservations: a send first reserves its chat's next slot and sleeps until
/// it, then reserves the next overall slot and sleeps until that, each reservation made under the lock and each sleep
/// outside it. (Reserving both at once would let one chat's wait hold every other chat back.) Memory is bounded by the
/// chats active in the last few seconds.
#[derive(Debug)]
struct RateLimiter {
    per_chat: Gcra,
    overall: Gcra,
    state: Mutex<LimiterState>,
}

impl RateLimiter {
    fn new(limits: Limits) -> Self {
        let overall_burst = if limits.overall_per_second.is_finite() && limits.overall_per_second >= 1.0 {
            // Truncation intended: a second's worth of messages, at most u32::MAX.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let burst = limits.overall_per_second.min(f64::from(u32::MAX)) as u32;
            burst
        } else {
            1
        };
        Self {
            per_chat: Gcra::new(limits.per_chat_per_second, PER_CHAT_BURST),
            overall: Gcra::new(limits.overall_per_second, overall_burst),
            state: Mutex::new(LimiterState {
                overall_tat: Instant::now(),
                chats: HashMap::new(),
                prune_threshold: MIN_PRUNE_THRESHOLD,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves the next slot for a message to `chat` under the per-chat limit and returns when it is.
    fn reserve_chat(&self, chat: &str, now: Instant) -> Instant {
        let mut state = self.lock();
        let tat = state.chats.get(chat).copied().unwrap_or(now);
        let at = self.per_chat.earliest(tat, now);
        state
            .chats
            .insert(chat.to_owned(), tat.max(at) + self.per_chat.interval);
        if state.chats.len() > state.prune_threshold {
            state.chats.retain(|_, tat| *tat > now);
            state.prune_threshold = (state.chats.len() * 2).max(MIN_PRUNE_THRESHOLD);
        }
        at
    }

    /// Reserves the next slot under the overall limit and returns when it is.
    fn reserve_overall(&self, now: Instant) -> Instant {
        let mut state = self.lock();
        let at = self.overall.earliest(state.overall_tat, now);
        state.overall_tat = state.overall_tat.max(at) + self.overall.interval;
        at
    }

    /// Waits for this message's turn.
    async fn acquire(&self, chat: &str) {
        tokio::time::sleep_until(self.reserve_chat(chat, Instant::now())).await;
        tokio::time::sleep_until(self.reserve_overall(Instant::now())).await;
    }

    #[cfg(test)]
    fn remembered_chats(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).chats.len()
    }
}

// --- the client ---------------------------------------------------------------------------------------------------

/// Why a [`TelegramClient`] could not be made from its settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientConfigError {
    /// The bot token is empty or has whitespace or control characters.
    #[error("the Telegram bot token is empty or has whitespace in it")]
    BadToken,
    /// The API URL is not an absolute `http://` or `https://` URL.
    #[error("the Telegram API URL is not an absolute http:// or https:// URL")]
    BadApiUrl,
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client for Telegram could not be built: {0}")]
    HttpClient(String),
}

/// Why [`TelegramClient::download`] returned no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// The file is larger than the limit: said by `getFile` (nothing was downloaded) or found while downloading
    /// (the download was stopped).
    #[error("the Telegram file is larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit that was passed.
        max_bytes: usize,
    },
    /// `getFile` or the download failed; [`DeliveryError::Retry`] when trying again later may help.
    #[error("the Telegram file could not be downloaded: {0}")]
    Failed(#[from] DeliveryError),
}

/// Sends messages through the Telegram Bot API as one bot, within [`Limits`].
///
/// Cheap to share behind an `Arc`; every method takes `&self`. 429 answers are waited out (up to
/// [`MAX_RETRY_AFTER`], [`MAX_ATTEMPTS`] tries); every other failure is returned as a [`DeliveryError`] at once:
///
/// | Telegram's answer | error |
/// |---|---|
/// | 429 with `retry_after` > 60 s, or still 429 after 3 tries | [`Retry`](DeliveryError::Retry) |
/// | 403 (bot blocked, user deactivated, bot can't initiate conversation, kicked), 400 chat/user not found | [`Unreachable`](DeliveryError::Unreachable) |
/// | 401 or 404 (the bot token is wrong), other 400s | [`Refused`](DeliveryError::Refused) |
/// | network error, timeout, an answer that is not JSON, 5xx | [`Retry`](DeliveryError::Retry) |
///
/// Error texts never contain the bot token.
pub struct TelegramClient {
    bot: Bot,
    limiter: RateLimiter,
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient")
            .field("api_url", &self.bot.api_url().as_str())
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl TelegramClient {
    /// A client for the bot with this token, talking to the Bot API server at `api_url` ([`DEFAULT_API_URL`], or a
    /// fake one in tests): methods are called at `<api_url>/bot<token>/<Method>`, files fetched from
    /// `<api_url>/file/bot<token>/<file_path>`. Makes no request.
    ///
    /// The HTTP client is teloxide's default (5 s to connect, 17 s per request), without teloxide's
    /// `TELOXIDE_PROXY` environment variable.
    ///
    /// # Errors
    /// [`ClientConfigError`] for an empty token, a URL that is not `http(s)://host…`, or no TLS backend.
    pub fn new(token: &str, api_url: &str, limits: Limits) -> Result<Self, ClientConfigError> {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ClientConfigError::BadToken);
        }
        let url = reqwest::Url::parse(api_url).map_err(|_| ClientConfigError::BadApiUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(ClientConfigError::BadApiUrl);
        }
        let client = teloxide::net::default_reqwest_settings()
            .build()
            .map_err(|e| ClientConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            bot: Bot::with_client(token, client).set_api_url(url),
            limiter: RateLimiter::new(limits),
        })
    }

    /// Sends one [`Outbound`] to a chat (the [`Inbound::user_id`] of the person) and returns the ids of the messages
    /// Telegram created, in order.
    ///
    /// - `photo` first, as `sendPhoto`; then the text as `sendMessage`, plain (no `parse_mode`), split on line
    ///   boundaries (a longer line on spaces, a word longer than the limit anywhere) into parts of at most
    ///   [`MAX_TEXT_UTF16`]. With a blank text only the photo is sent.
    /// - The last message carries the keyboard: `buttons` as an inline keyboard of callback buttons, one per row, two
    ///   per row when every label has at most 12 characters; or, with `request_location`, a one-time, resized reply
    ///   keyboard with one location-request button (any `buttons` then become a numbered list at the end of the text,
    ///   answered by typing the number); or, with `remove_keyboard` alone, a keyboard removal.
    /// - `remove_keyboard` together with `buttons` removes the reply keyboard with the first message when there are
    ///   several (a photo, or a long text); with a single message the inline keyboard wins.
    ///
    /// Each message waits for its turn under the [`Limits`]. If a later part fails after earlier ones were sent, the
    /// error is returned and a retry of the whole [`Outbound`] repeats the earlier parts.
    ///
    /// # Errors
    /// [`DeliveryError`] as in the table on [`TelegramClient`]; [`DeliveryError::Refused`] without a request when the
    /// chat id is not a number, a button (or the location-request button) has an empty label, a payload is empty or
    /// over 64 bytes, or there is nothing to send.
    pub async fn send(&self, chat_id: &str, message: &Outbound) -> Result<Vec<String>, DeliveryError> {
        let chat = parse_chat_id(chat_id)?;
        check_buttons(&message.buttons)?;
        if message
            .request_location
            .as_deref()
            .is_some_and(|label| label.trim().is_empty())
        {
            return Err(DeliveryError::Refused(
                "the location-request button has an empty label".to_owned(),
            ));
        }

        let mut text = message.text.clone();
        let final_markup = if let Some(label) = &message.request_location {
            if !message.buttons.is_empty() {
                text.push_str("\n\n");
                text.push_str(&numbered_list(&message.buttons));
            }
            Some(ReplyMarkup::Keyboard(
                KeyboardMarkup::new(vec![vec![
                    KeyboardButton::new(label.clone()).request(ButtonRequest::Location),
                ]])
                .one_time_keyboard()
                .resize_keyboard(),
            ))
        } else if !message.buttons.is_empty() {
            Some(ReplyMarkup::InlineKeyboard(inline_keyboard(&message.buttons)))
        } else if message.remove_keyboard {
            Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()))
        } else {
            None
        };
        let early_remove = message.remove_keyboard && matches!(final_markup, Some(ReplyMarkup::InlineKeyboard(_)));

        let parts = split_text(&text, MAX_TEXT_UTF16);
        let count = parts.len() + usize::from(message.photo.is_some());
        if count == 0 {
            return Err(DeliveryError::Refused(
                "the message has neither text nor photo".to_owned(),
            ));
        }
        let markup_for = |index: usize| -> Option<ReplyMarkup> {
            if index + 1 == count {
                final_markup.clone()
            } else if index == 0 && early_remove {
                Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()))
            } else {
                None
            }
        };

        let mut ids = Vec::with_capacity(count);
        if let Some(photo) = &message.photo {
            let bytes = photo.clone();
            let markup = markup_for(0);
            let sent = self
                .call(|| {
                    let (bytes, markup) = (bytes.clone(), markup.clone());
                    async move {
                        self.limiter.acquire(chat_id).await;
                        let file = InputFile::memory(bytes).file_name(photo_file_name(photo));
                        let request = self.bot.send_photo(chat, file);
                        match markup {
                            Some(markup) => request.reply_markup(markup).send().await,
                            None => request.send().await,
                        }
                    }
                })
                .await?;
            ids.push(sent.id.0.to_string());
        }
        for part in parts {
            let markup = markup_for(ids.len());
            let sent = self
                .call(|| {
                    let (part, markup) = (part.clone(), markup.clone());
                    async move {
                        self.limiter.acquire(chat_id).await;
                        let request = self.bot.send_message(chat, part);
                        match markup {
                            Some(markup) => request.reply_markup(markup).send().await,
                            None => request.send().await,
                        }
                    }
                })
                .await?;
            ids.push(sent.id.0.to_string());
        }
        Ok(ids)
    }

    /// Answers a button press (`answerCallbackQuery`), so that the user's client stops its spinner; `text`, if any,
    /// shows as a short notification. Not rate-limited. Telegram accepts an answer only within a few seconds of the
    /// press.
    ///
    /// # Errors
    /// [`DeliveryError`] as in the table on [`TelegramClient`]; a query that is too old is
    /// [`DeliveryError::Refused`].
    pub async fn answer_callback(&self, callback_id: &str, text: Option<&str>) -> Result<(), DeliveryError> {
        self.call(|| {
            let request = self.bot.answer_callback_query(CallbackQueryId(callback_id.to_owned()));
            match text {
                Some(text) => request.text(text.to_owned()).send(),
                None => request.send(),
            }
        })
        .await?;
        Ok(())
    }

    /// Downloads a file by its `file_id` (the [`InboundKind::Photo`] `urls`): `getFile`, then a GET of
    /// `<api_url>/file/bot<token>/<file_path>`, refusing files larger than `max_bytes` before downloading when
    /// `getFile` gives the size, and stopping the download as soon as more than `max_bytes` arrived otherwise.
    /// (Telegram's own server serves files of at most 20 MB.)
    ///
    /// # Errors
    /// [`DownloadError::TooLarge`] over the limit; [`DownloadError::Failed`] with [`DeliveryError::Retry`] for network
    /// errors, timeouts and 5xx, [`DeliveryError::Refused`] for an unknown file id or a file that is gone.
    pub async fn download(&self, file_id: &str, max_bytes: usize) -> Result<Vec<u8>, DownloadError> {
        let file = self
            .call(|| self.bot.get_file(FileId(file_id.to_owned())).send())
            .await?;
        // teloxide reads a missing file_size as u32::MAX: unknown, so the download itself is limited.
        if file.meta.size != u32::MAX && usize::try_from(file.meta.size).map_or(true, |size| size > max_bytes) {
            return Err(DownloadError::TooLarge { max_bytes });
        }
        let url = self.file_url(&file.path)?;
        let mut response = self
            .bot
            .client()
            .get(url)
            .send()
            .await
            .map_err(|e| DeliveryError::Retry(format!("downloading a file: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let problem = format!("downloading a file: HTTP {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                DeliveryError::Retry(problem)
            } else {
                DeliveryError::Refused(problem)
            }
            .into());
        }
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max_bytes))
        {
            return Err(DownloadError::TooLarge { max_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DeliveryError::Retry(format!("downloading a file: {}", e.without_url())))?
        {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(DownloadError::TooLarge { max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// `<api_url>/file/bot<token>/<file_path>`, each segment of the path pushed on its own (teloxide's own download
    /// would send the `/` in `photos/file_1.jpg` as `%2F`).
    fn file_url(&self, file_path: &str) -> Result<reqwest::Url, DeliveryError> {
        let unusable = || DeliveryError::Refused("getFile returned an unusable file_path".to_owned());
        if file_path.split('/').any(|segment| matches!(segment, "" | "." | "..")) {
            return Err(unusable());
        }
        let mut url = self.bot.api_url();
        {
            let mut segments = url.path_segments_mut().map_err(|()| unusable())?;
            segments
                .pop_if_empty()
                .push("file")
                .push(&format!("bot{}", self.bot.token()));
            segments.extend(file_path.split('/'));
        }
        Ok(url)
    }

    /// The bot's username (`getMe`), trying up to `attempts` times (at least once) while the failure is worth retrying,
    /// waiting 1, 2, 4… up to 30 seconds in between, so that a Telegram outage at start-up delays the bot instead of
    /// stopping it. Call it before serving the webhook; the username makes [`deep_link`]s.
    ///
    /// # Errors
    /// The last [`DeliveryError::Retry`] when every attempt failed; [`DeliveryError::Refused`] at once for a wrong
    /// token (401/404) or a bot without a username.
    pub async fn get_me_with_retries(&self, attempts: u32) -> Result<String, DeliveryError> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match self.call(|| self.bot.get_me().send()).await {
                Ok(me) => {
                    return me
                        .user
                        .username
                        .filter(|name| !name.is_empty())
                        .ok_or_else(|| DeliveryError::Refused("getMe returned a bot without a username".to_owned()));
                }
                Err(DeliveryError::Retry(problem)) if attempt < attempts => {
                    tracing::warn!(attempt, %problem, "Telegram getMe failed, trying again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Points the bot's webhook at `url` (`setWebhook`), with the secret Telegram will send in
    /// `X-Telegram-Bot-Api-Secret-Token`, asking only for [`ALLOWED_UPDATES`]. Pending updates are kept.
    ///
    /// # Errors
    /// [`DeliveryError::Refused`] without a request when `url` is not an absolute URL or the secret is not 1–256
    /// characters from `A-Z a-z 0-9 _ -` (what Telegram accepts); otherwise as in the table on [`TelegramClient`]
    /// (Telegram refuses a webhook that is not HTTPS on port 443, 80, 88 or 8443).
    pub async fn set_webhook(&self, url: &str, secret_token: &str) -> Result<(), DeliveryError> {
        let url = reqwest::Url::parse(url)
            .map_err(|_| DeliveryError::Refused("the webhook URL is not an absolute URL".to_owned()))?;
        if !(1..=256).contains(&secret_token.len())
            || !secret_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(DeliveryError::Refused(
                "the webhook secret token is not 1 to 256 characters from A-Z, a-z, 0-9, _ and -".to_owned(),
            ));
        }
        self.call(|| {
            self.bot
                .set_webhook(url.clone())
                .secret_token(secret_token.to_owned())
                .allowed_updates(vec![
                    AllowedUpdate::Message,
                    AllowedUpdate::CallbackQuery,
                    AllowedUpdate::MyChatMember,
                ])
                .send()
        })
        .await?;
        Ok(())
    }

    /// Runs one request, waiting out 429s (at most [`MAX_ATTEMPTS`] tries, each wait at most [`MAX_RETRY_AFTER`]).
    async fn call<T, F, Fut>(&self, mut request: F) -> Result<T, DeliveryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut attempt = 1;
        loop {
            let error = match request().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match classify(&error) {
                Outcome::WaitAndRetry(wait) if wait <= MAX_RETRY_AFTER && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, wait_secs = wait.as_secs(), "Telegram asked to slow down");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Outcome::WaitAndRetry(wait) => {
                    return Err(DeliveryError::Retry(format!(
                        "Telegram asked to retry after {} s (attempt {attempt})",
                        wait.as_secs()
                    )));
                }
                Outcome::Fail(error) => return Err(error),
            }
        }
    }
}

/// What to do about a failed request.
enum Outcome {
    WaitAndRetry(Duration),
    Fail(DeliveryError),
}

fn classify(error: &RequestError) -> Outcome {
    match error {
        RequestError::RetryAfter(seconds) => Outcome::WaitAndRetry(seconds.duration()),
        RequestError::Api(api) => classify_api(api),
        RequestError::MigrateToChatId(_) => Outcome::Fail(DeliveryError::Unreachable(
            "the group chat became a supergroup with another id".to_owned(),
        )),
        // teloxide removes the token from the URL in network errors.
        RequestError::Network(error) => Outcome::Fail(DeliveryError::Retry(format!("network error: {error}"))),
        RequestError::Io(error) => Outcome::Fail(DeliveryError::Retry(format!("I/O error: {error}"))),
        RequestError::InvalidJson { .. } => Outcome::Fail(DeliveryError::Retry(
            "the Bot API answered something that is not a Bot API response".to_owned(),
        )),
    }
}

fn classify_api(error: &ApiError) -> Outcome {
    match error {
        ApiError::BotBlocked
        | ApiError::UserDeactivated
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots
        | ApiError::ChatNotFound
        | ApiError::UserNotFound
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::GroupDeactivated => Outcome::Fail(DeliveryError::Unreachable(error.to_string())),
        ApiError::InvalidToken => Outcome::Fail(DeliveryError::Refused(
            "the Bot API refused the bot token (401 Unauthorized or 404 Not Found)".to_owned(),
        )),
        ApiError::Unknown(description) => classify_description(description),
        other => Outcome::Fail(DeliveryError::Refused(other.to_string())),
    }
}

/// An error description teloxide does not know, classified by its prefix (Telegram's descriptions start with the HTTP
/// reason: `Forbidden: …`, `Bad Request: …`).
fn classify_description(description: &str) -> Outcome {
    let text = description.to_owned();
    if let Some(rest) = description.strip_prefix("Too Many Requests") {
        // "Too Many Requests: retry after 30" without `parameters`.
        let seconds = rest.rsplit(' ').next().and_then(|n| n.trim().parse::<u64>().ok());
        return match seconds {
            Some(seconds) => Outcome::WaitAndRetry(Duration::from_secs(seconds)),
            None => Outcome::Fail(DeliveryError::Retry(text)),
        };
    }
    if description.starts_with("Forbidden") || description.contains("chat not found") {
        Outcome::Fail(DeliveryError::Unreachable(text))
    } else if ["Bad Request", "Unauthorized", "Not Found", "Conflict"]
        .iter()
        .any(|prefix| description.starts_with(prefix))
    {
        Outcome::Fail(DeliveryError::Refused(text))
    } else {
        Outcome::Fail(DeliveryError::Retry(text))
    }
}

fn parse_chat_id(chat_id: &str) -> Result<ChatId, DeliveryError> {
    chat_id
        .trim()
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| DeliveryError::Refused("the Telegram chat id is not a number".to_owned()))
}

fn check_buttons(buttons: &[Button]) -> Result<(), DeliveryError> {
    for button in buttons {
        if button.label.trim().is_empty() {
            return Err(DeliveryError::Refused("a button has an empty label".to_owned()));
        }
        if button.payload.is_empty() || button.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(DeliveryError::Refused(format!(
                "a button payload is empty or longer than {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// The longest label for which buttons go two to a row.
const SHORT_LABEL_CHARS: usize = 12;

fn inline_keyboard(buttons: &[Button]) -> InlineKeyboardMarkup {
    let per_row = if buttons.iter().all(|b| b.label.chars().count() <= SHORT_LABEL_CHARS) {
        2
    } else {
        1
    };
    InlineKeyboardMarkup::new(buttons.chunks(per_row).map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.payload.clone()))
            .collect::<Vec<_>>()
    }))
}

/// "1. label" lines, for buttons that cannot be shown as buttons.
fn numbered_list(buttons: &[Button]) -> String {
    buttons
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{}. {}", i + 1, b.label))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A file name matching the image's format (Telegram reads the content, but some clients show the name).
fn photo_file_name(photo: &[u8]) -> &'static str {
    if photo.starts_with(b"\x89PNG") {
        "image.png"
    } else {
        "image.jpg"
    }
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Splits a text into parts of at most `max` UTF-16 code units (at least 2): whole lines when they fit, a longer line
/// at its last space before the limit (the space dropped), a longer word anywhere (on a character boundary). Parts
/// that are only whitespace are dropped, since Telegram refuses them.
fn split_text(text: &str, max: usize) -> Vec<String> {
    let max = max.max(2);
    let mut parts = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for line in text.split('\n') {
        let line_len = utf16_len(line);
        if let Some((part, len)) = &mut current {
            if *len + 1 + line_len <= max {
                part.push('\n');
                part.push_str(line);
                *len += 1 + line_len;
                continue;
            }
            parts.extend(current.take().map(|(part, _)| part));
        }
        if line_len <= max {
            current = Some((line.to_owned(), line_len));
            continue;
        }
        let mut rest = line;
        loop {
            let mut units = 0;
            let mut cut = None;
            let mut last_space = None;
            for (index, c) in rest.char_indices() {
                if units + c.len_utf16() > max {
                    if c.is_whitespace() {
                        last_space = Some(index);
                    }
                    cut = Some(index);
                    break;
                }
                units += c.len_utf16();
                if c.is_whitespace() && index > 0 {
                    last_space = Some(index);
                }
            }
            let Some(cut) = cut else {
                current = Some((rest.to_owned(), units));
                break;
            };
            match last_space {
                Some(space) => {
                    parts.push(rest[..space].to_owned());
                    rest = rest[space..].trim_start();
                }
                None => {
                    parts.push(rest[..cut].to_owned());
                    rest = &rest[cut..];
                }
            }
        }
    }
    parts.extend(current.map(|(part, _)| part));
    parts.retain(|part| !part.trim().is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_text("xin chào\nbạn", 4096), vec!["xin chào\nbạn"]);
        assert!(split_text("  \n \n", 4096).is_empty());
    }

    #[test]
    fn text_splits_on_lines_then_spaces_then_anywhere() {
        assert_eq!(split_text("aaaa\nbbbb\ncc", 9), vec!["aaaa\nbbbb", "cc"]);
        assert_eq!(split_text("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(split_text("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        // A character outside the BMP counts two units and is never cut.
        assert_eq!(split_text("😀😀😀", 4), vec!["😀😀", "😀"]);
        for part in split_text(&"Phường Phố Hiến ".repeat(1000), 4096) {
            assert!(utf16_len(&part) <= 4096);
        }
    }

    #[test]
    fn split_keeps_every_word() {
        let text = (0..3000).map(|i| format!("từ{i}")).collect::<Vec<_>>().join(" ");
        let parts = split_text(&text, 100);
        assert_eq!(parts.join(" "), text);
    }

    #[test]
    fn per_chat_burst_then_one_a_second() {
        let limiter = RateLimiter::new(Limits::default());
        let now = Instant::now();
        for _ in 0..PER_CHAT_BURST {
            assert_eq!(limiter.reserve_chat("1", now), now);
        }
        assert_eq!(limiter.reserve_chat("1", now), now + Duration::from_secs(1));
        assert_eq!(limiter.reserve_chat("1", now), now + Duration::from_secs(2));
        // Another chat is not held back by the first.
        assert_eq!(limiter.reserve_chat("2", now), now);
        assert_eq!(limiter.reserve_overall(now), now);
        // After a quiet while, the burst is back.
        let later = now + Duration::from_secs(10);
        for _ in 0..PER_CHAT_BURST {
            assert_eq!(limiter.reserve_chat("1", later), later);
        }
    }

    #[test]
    fn overall_limit_spreads_many_chats() {
        let limiter = RateLimiter::new(Limits {
            per_chat_per_second: 1.0,
            overall_per_second: 10.0,
        });
        let now = Instant::now();
        let slots: Vec<Instant> = (0..30).map(|_| limiter.reserve_overall(now)).collect();
        assert!(slots[..10].iter().all(|at| *at == now));
        assert_eq!(slots[10], now + Duration::from_millis(100));
        assert_eq!(slots[29], now + Duration::from_millis(2000));
    }

    #[test]
    fn idle_chats_are_forgotten() {
        let limiter = RateLimiter::new(Limits::default());
        let start = Instant::now();
        for i in 0..100_000u64 {
            // One new chat every 50 ms: each chat is idle again one second later.
            limiter.reserve_chat(&i.to_string(), start + Duration::from_millis(50 * i));
        }
        assert!(limiter.remembered_chats() <= 2 * MIN_PRUNE_THRESHOLD + 1);
    }

    #[test]
    fn no_limit_for_non_positive_rates() {
        let limiter = RateLimiter::new(Limits {
            per_chat_per_second: 0.0,
            overall_per_second: f64::NAN,
        });
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiter.reserve_chat("1", now), now);
            assert_eq!(limiter.reserve_overall(now), now);
        }
    }

    #[test]
    fn error_descriptions_are_classified() {
        let fail = |d: &str| match classify_description(d) {
            Outcome::Fail(e) => e,
            Outcome::WaitAndRetry(w) => panic!("{d}: wait {w:?}"),
        };
        assert!(matches!(
            classify_description("Too Many Requests: retry after 7"),
            Outcome::WaitAndRetry(w) if w == Duration::from_secs(7)
        ));
        assert!(matches!(
            fail("Forbidden: bot can't initiate conversation with a user"),
            DeliveryError::Unreachable(_)
        ));
        assert!(matches!(
            fail("Bad Request: chat not found"),
            DeliveryError::Unreachable(_)
        ));
        assert!(matches!(fail("Bad Request: something new"), DeliveryError::Refused(_)));
        assert!(matches!(fail("Internal Server Error"), DeliveryError::Retry(_)));
    }
}
