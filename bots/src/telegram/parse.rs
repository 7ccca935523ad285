//! Parsing webhook bodies into [`Inbound`]s.

use super::*;

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
pub(super) const INTERPRETED_KINDS: [&str; 3] = ["message", "callback_query", "my_chat_member"];

/// The longest `event_name` taken from an update kind this module does not know, in bytes.
pub(super) const MAX_EVENT_NAME_BYTES: usize = 64;

/// What the webhook's own answer to `inbound` may carry for Telegram to do: for a pressed button,
/// `answerCallbackQuery`, which stops the spinner on the citizen's button without a request of its own. Telegram
/// calls a method named in the body of a webhook's answer ("Making requests when getting updates",
/// <https://core.telegram.org/bots/api#making-requests-when-getting-updates>); whether that call succeeded cannot be
/// known, which is all an acknowledgement with no text needs. `None` for every other update.
pub fn webhook_answer(inbound: &Inbound) -> Option<Value> {
    match &inbound.kind {
        InboundKind::Button {
            callback_id: Some(id), ..
        } if inbound.channel == Channel::Telegram => Some(serde_json::json!({
            "method": "answerCallbackQuery",
            "callback_query_id": id,
        })),
        _ => None,
    }
}

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
/// | `message` with `voice` or `audio` | [`Voice`](InboundKind::Voice): its `file_id`, MIME type, duration and size |
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

pub(super) fn unsupported(event_name: &str) -> InboundKind {
    InboundKind::Unsupported {
        event_name: event_name.to_owned(),
    }
}

/// Adds what updates of old Bot API versions lack and teloxide requires: `is_bot: false` in user objects (under `from`
/// or `user`) and `file_unique_id: ""` next to a `file_id`. The recursion is bounded by serde_json's nesting limit.
pub(super) fn fill_legacy_fields(value: &mut Value) {
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

pub(super) type Parsed = (String, Option<i64>, InboundKind);

pub(super) fn from_message(message: &Message, raw: Option<&Value>) -> Result<Parsed, ParseError> {
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
    if let Some(voice) = raw.and_then(voice_or_audio) {
        return Ok((user_id, at_ms, voice));
    }
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

/// A voice note (`voice`) or an audio file (`audio`) of a raw message, read from the JSON because teloxide cannot
/// read a `voice` without its optional `mime_type`. Both carry `file_id`, `duration` and optionally `mime_type` and
/// `file_size` (<https://core.telegram.org/bots/api#voice>, <https://core.telegram.org/bots/api#audio>).
pub(super) fn voice_or_audio(message: &Value) -> Option<InboundKind> {
    let media = ["voice", "audio"].iter().find_map(|key| message.get(*key))?;
    let reference = media.get("file_id")?.as_str().filter(|id| !id.is_empty())?;
    Some(InboundKind::Voice {
        reference: reference.to_owned(),
        mime_type: media.get("mime_type").and_then(Value::as_str).map(str::to_owned),
        duration_secs: media
            .get("duration")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok()),
        size: media.get("file_size").and_then(Value::as_u64),
    })
}

/// The message contents [`parse_update`] interprets.
pub(super) const INTERPRETED_CONTENT: [&str; 5] = ["text", "photo", "location", "venue", "contact"];

/// The first field of a raw message that says what it holds, among those the Bot API documents.
pub(super) fn content_key(message: &Value) -> Option<&'static str> {
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
pub(super) fn non_blank(text: &str) -> Option<&str> {
    (!text.trim().is_empty()).then_some(text)
}

pub(super) fn location_kind(location: &teloxide::types::Location) -> Result<InboundKind, ParseError> {
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
pub(super) fn text_or_command(text: &str, entities: &[MessageEntity]) -> InboundKind {
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
pub(super) fn byte_index_of_utf16(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (index, c) in text.char_indices() {
        if seen >= units {
            return index;
        }
        seen += c.len_utf16();
    }
    text.len()
}

pub(super) fn from_callback_query(query: &CallbackQuery) -> Parsed {
    let chat = query.message.as_ref().map(|message| message.chat());
    let user_id = chat.map_or_else(|| query.from.id.0.to_string(), |chat| chat.id.0.to_string());
    let kind = match (&query.data, chat) {
        (_, Some(chat)) if !chat.is_private() => unsupported("group_callback_query"),
        (Some(data), _) => InboundKind::Button {
            payload: data.clone(),
            callback_id: Some(query.id.0.clone()),
            message_id: query.message.as_ref().map(|message| message.id().0.to_string()),
        },
        (None, _) => unsupported("callback_game"),
    };
    (user_id, None, kind)
}

pub(super) fn from_my_chat_member(update: &ChatMemberUpdated) -> Parsed {
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
pub(super) fn from_unreadable(update: &Value) -> Result<Parsed, ParseError> {
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
pub(super) fn update_kind_name(kind: &UpdateKind) -> &'static str {
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
pub(super) fn media_kind_name(kind: &MediaKind) -> &'static str {
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
