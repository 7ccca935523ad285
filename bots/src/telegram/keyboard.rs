//! Buttons and texts as Telegram takes them (inline keyboards, numbered lists, texts split at the UTF-16 limit),
//! and how a failed request is classified (retry, give up, unreachable).

use super::*;

/// What to do about a failed request.
pub(super) enum Outcome {
    WaitAndRetry(Duration),
    Fail(DeliveryError),
}

pub(super) fn classify(error: &RequestError) -> Outcome {
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

pub(super) fn classify_api(error: &ApiError) -> Outcome {
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
pub(super) fn classify_description(description: &str) -> Outcome {
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

pub(super) fn parse_chat_id(chat_id: &str) -> Result<ChatId, DeliveryError> {
    chat_id
        .trim()
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| DeliveryError::Refused("the Telegram chat id is not a number".to_owned()))
}

pub(super) fn check_buttons(buttons: &[Button]) -> Result<(), DeliveryError> {
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
pub(super) const SHORT_LABEL_CHARS: usize = 12;

pub(super) fn inline_keyboard(buttons: &[Button]) -> InlineKeyboardMarkup {
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

/// A file name matching the image's format (Telegram reads the content, but some clients show the name).
pub(super) fn photo_file_name(photo: &[u8]) -> &'static str {
    if photo.starts_with(b"\x89PNG") {
        "image.png"
    } else {
        "image.jpg"
    }
}

pub(super) fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Splits a text into parts of at most `max` UTF-16 code units (at least 2): whole lines when they fit, a longer line
/// at its last space before the limit (the space dropped), a longer word anywhere (on a character boundary). Parts
/// that are only whitespace are dropped, since Telegram refuses them.
pub(super) fn split_text(text: &str, max: usize) -> Vec<String> {
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
