//! What an [`Outbound`] becomes in Zalo's message format: texts split at Zalo's limit, at most five buttons (the
//! rest as a numbered list), images by attachment id.

use super::*;

/// The `message` objects that carry an [`Outbound`]'s text and buttons, in sending order (the image, which needs an
/// upload first, is not among them).
///
/// - Up to [`MAX_BUTTONS`] buttons: `oa.query.show` buttons whose payloads carry [`crate::zalo::BUTTON_PREFIX`]
///   ([`button_payload`]), titles shortened to [`BUTTON_TITLE_LIMIT`] characters with "…".
/// - More: no buttons; the text gets a blank line, "1. label", "2. label", … and [`CHOOSE_BY_NUMBER`].
/// - Text longer than [`TEXT_LIMIT`] is split into several messages on line boundaries (a single longer line on a
///   space, or anywhere if it has none); the buttons, or the numbered list, go with the last.
/// - An empty text with neither buttons nor image is still one (empty) text message, which Zalo refuses.
#[must_use]
pub fn render(msg: &Outbound) -> Vec<Value> {
    let as_buttons = msg.buttons.len() <= MAX_BUTTONS;
    let mut parts = split_text(&msg.text, TEXT_LIMIT);

    if !as_buttons {
        let list = numbered_choices(&msg.buttons);
        match parts.last_mut() {
            Some(last) if zalo_len(last) + 2 + zalo_len(&list) <= TEXT_LIMIT => {
                last.push_str("\n\n");
                last.push_str(&list);
            }
            _ => parts.extend(split_text(&list, TEXT_LIMIT)),
        }
    }
    if parts.is_empty() && (!msg.buttons.is_empty() || msg.photo.is_none()) {
        parts.push(msg.text.clone());
    }

    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, text)| {
            if index + 1 == count && as_buttons && !msg.buttons.is_empty() {
                json!({
                    "text": text,
                    "attachment": {
                        "type": "template",
                        "payload": { "buttons": msg.buttons.iter().map(query_button).collect::<Vec<_>>() },
                    },
                })
            } else {
                json!({ "text": text })
            }
        })
        .collect()
}

/// The `message` object showing an uploaded image.
pub(super) fn media_message(attachment_id: &str) -> Value {
    json!({
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{ "media_type": "image", "attachment_id": attachment_id }],
            },
        },
    })
}

pub(super) fn query_button(button: &Button) -> Value {
    json!({
        "title": shorten(&button.label, BUTTON_TITLE_LIMIT),
        "type": "oa.query.show",
        "payload": button_payload(&button.payload),
    })
}

/// "1. label\n2. label…\nGõ số để chọn."
pub(super) fn numbered_choices(buttons: &[Button]) -> String {
    let mut list = String::new();
    for (index, button) in buttons.iter().enumerate() {
        list.push_str(&format!("{}. {}\n", index + 1, button.label));
    }
    list.push_str(CHOOSE_BY_NUMBER);
    list
}

/// Length as Zalo's limits are checked here: UTF-16 code units.
pub(super) fn zalo_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The text cut to at most `limit` units, ending with "…" when cut.
pub(super) fn shorten(text: &str, limit: usize) -> String {
    if zalo_len(text) <= limit {
        return text.to_owned();
    }
    let mut short = String::new();
    let mut used = 1; // the "…"
    for c in text.chars() {
        if used + c.len_utf16() > limit {
            break;
        }
        used += c.len_utf16();
        short.push(c);
    }
    let mut short = short.trim_end().to_owned();
    short.push('…');
    short
}

/// Splits text into parts of at most `limit` units on line boundaries; blank lines at a part's edges are dropped.
/// Text that is empty or only white space gives no part.
pub(super) fn split_text(text: &str, limit: usize) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    if zalo_len(text) <= limit {
        return vec![text.to_owned()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, parts: &mut Vec<String>| {
        let part = current.trim_end_matches(['\n', '\r']);
        if !part.trim().is_empty() {
            parts.push(part.to_owned());
        }
        current.clear();
    };
    for line in text.split('\n') {
        if zalo_len(line) > limit {
            flush(&mut current, &mut parts);
            parts.extend(split_long_line(line, limit));
        } else if current.is_empty() {
            if !line.trim().is_empty() {
                current.push_str(line);
            }
        } else if zalo_len(&current) + 1 + zalo_len(line) <= limit {
            current.push('\n');
            current.push_str(line);
        } else {
            flush(&mut current, &mut parts);
            if !line.trim().is_empty() {
                current.push_str(line);
            }
        }
    }
    flush(&mut current, &mut parts);
    parts
}

/// Cuts one line longer than `limit` units: at the last white space that keeps a piece at least half the limit long,
/// otherwise at the limit.
pub(super) fn split_long_line(line: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while zalo_len(rest) > limit {
        let mut end = 0; // byte index where `limit` units end
        let mut units = 0;
        let mut last_space = None;
        for (index, c) in rest.char_indices() {
            if units + c.len_utf16() > limit {
                break;
            }
            if c.is_whitespace() && units >= limit / 2 {
                last_space = Some(index);
            }
            units += c.len_utf16();
            end = index + c.len_utf8();
        }
        if end == 0 {
            break; // cannot happen with limit >= 2
        }
        let (piece, next) = match last_space {
            Some(space) => (&rest[..space], rest[space..].trim_start()),
            None => (&rest[..end], &rest[end..]),
        };
        if !piece.trim().is_empty() {
            pieces.push(piece.trim_end().to_owned());
        }
        rest = next;
    }
    if !rest.trim().is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

/// The file name and MIME type to upload image bytes with, from their magic number (PNG or else JPEG).
pub(super) fn image_kind(image: &[u8]) -> (&'static str, &'static str) {
    if image.starts_with(b"\x89PNG\r\n\x1a\n") {
        ("image.png", "image/png")
    } else {
        ("image.jpg", "image/jpeg")
    }
}
