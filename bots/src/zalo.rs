//! Zalo Official Account webhooks: check the signature, parse the event into an [`Inbound`].
//!
//! Zalo POSTs one JSON event per request to the OA's webhook URL and retries a request not answered `200` within
//! about two seconds, so a handler should verify, parse, store and answer, and do the rest later. Webhook overview:
//! <https://developers.zalo.me/docs/official-account/webhook/tong-quan>.
//!
//! Facts about the wire format this module relies on:
//! - Every id and the `timestamp` (milliseconds) are JSON strings; ids are kept as strings.
//! - The person is `sender.id` in `user_*` events, `follower.id` in `follow`/`unfollow`, and `recipient.id` in the
//!   `oa_send_*` copies of the OA's own messages.
//! - A click on an `oa.query.show`/`oa.query.hide` button arrives as an ordinary `user_send_text` whose text is the
//!   button's payload. That is why ours all start with [`BUTTON_PREFIX`]: text that starts with it is a
//!   [`InboundKind::Button`], anything else is what the user typed.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::message::{Channel, Inbound, InboundKind};

/// The request header carrying Zalo's signature: `mac=<64 lowercase hex digits>`.
pub const SIGNATURE_HEADER: &str = "X-ZEvent-Signature";

/// What every payload of our Zalo buttons starts with, so that a button click (which Zalo delivers as text) can be
/// told from typed text. Short because Zalo shows the payload as the user's message in the chat.
pub const BUTTON_PREFIX: &str = "#yk:";

/// The payload to put on a Zalo `oa.query.*` button so that its click parses back as
/// `InboundKind::Button { payload }`.
#[must_use]
pub fn button_payload(payload: &str) -> String {
    format!("{BUTTON_PREFIX}{payload}")
}

/// Why a webhook request's signature was refused. None of these says what the right signature would have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request has no `X-ZEvent-Signature` header.
    #[error("the request has no X-ZEvent-Signature header")]
    MissingHeader,
    /// The header is not `mac=` followed by 64 hex digits.
    #[error("the X-ZEvent-Signature header is not `mac=` followed by 64 hex digits")]
    MalformedHeader,
    /// The OA secret key is empty, which would make any signature forgeable.
    #[error("no Zalo OA secret key is configured, so no signature can be checked")]
    NoSecretKey,
    /// The body is not JSON, so `app_id` and `timestamp` (part of what is signed) cannot be read.
    #[error("the request body is not JSON, so its signature cannot be checked")]
    BodyNotJson,
    /// The body lacks a field that is part of what is signed.
    #[error("the request body has no string `{0}`, so its signature cannot be checked")]
    MissingBodyField(&'static str),
    /// Everything was readable but the signature is not the one for this body and key.
    #[error("the X-ZEvent-Signature does not match the request body")]
    Mismatch,
}

/// Checks that a webhook request was signed by Zalo with our OA secret key.
///
/// Zalo sends `X-ZEvent-Signature: mac=<hex>` where hex is the lowercase SHA-256 (plain, not HMAC) of
/// `app_id + raw body + timestamp + OA secret key`, `app_id` and `timestamp` being the body's own fields. Pass the
/// body exactly as received (before any JSON re-encoding) and the header's value if there was one. The comparison is
/// constant-time. See <https://developers.zalo.me/docs/official-account/webhook/tong-quan>.
///
/// # Errors
/// [`SignatureError`] says which check failed: no header, malformed header, empty key, unreadable body, or mismatch.
pub fn verify_signature(
    raw_body: &[u8],
    header_value: Option<&str>,
    oa_secret_key: &str,
) -> Result<(), SignatureError> {
    let header_value = header_value.ok_or(SignatureError::MissingHeader)?;
    let hex_mac = header_value
        .trim()
        .strip_prefix("mac=")
        .ok_or(SignatureError::MalformedHeader)?;
    let mut claimed = [0u8; 32];
    hex::decode_to_slice(hex_mac, &mut claimed).map_err(|_| SignatureError::MalformedHeader)?;

    let expected = expected_mac(raw_body, oa_secret_key)?;

    if bool::from(expected[..].ct_eq(&claimed[..])) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs a webhook body the way Zalo does: the `X-ZEvent-Signature` value (`mac=` and 64 lowercase hex digits) that
/// [`verify_signature`] accepts for this body and key.
///
/// The inverse of [`verify_signature`], for tests and fakes that play Zalo's part: the hash is the lowercase SHA-256
/// (plain, not HMAC) of `app_id + raw body + timestamp + OA secret key`, `app_id` and `timestamp` being the body's own
/// fields, so the body must be the exact bytes that will be sent.
///
/// # Errors
/// [`SignatureError::NoSecretKey`] for an empty key, [`SignatureError::BodyNotJson`] or
/// [`SignatureError::MissingBodyField`] when `app_id` or `timestamp` cannot be read from the body.
pub fn sign(raw_body: &[u8], oa_secret_key: &str) -> Result<String, SignatureError> {
    let mac = expected_mac(raw_body, oa_secret_key)?;
    Ok(format!("mac={}", hex::encode(mac)))
}

/// The SHA-256 that Zalo puts in `X-ZEvent-Signature` for this body and key; shared by [`sign`] and
/// [`verify_signature`]. Refuses an empty key (any signature would be forgeable) and bodies without the signed fields.
fn expected_mac(raw_body: &[u8], oa_secret_key: &str) -> Result<[u8; 32], SignatureError> {
    if oa_secret_key.is_empty() {
        return Err(SignatureError::NoSecretKey);
    }

    let body: Value = serde_json::from_slice(raw_body).map_err(|_| SignatureError::BodyNotJson)?;
    let app_id = signed_field(&body, "app_id").ok_or(SignatureError::MissingBodyField("app_id"))?;
    let timestamp = signed_field(&body, "timestamp").ok_or(SignatureError::MissingBodyField("timestamp"))?;

    let mut hasher = Sha256::new();
    hasher.update(app_id.as_bytes());
    hasher.update(raw_body);
    hasher.update(timestamp.as_bytes());
    hasher.update(oa_secret_key.as_bytes());
    Ok(hasher.finalize().into())
}

/// A signed top-level field as the text that went into the hash: the string itself, or an integer's decimal digits
/// (Zalo sends strings; an integer is tolerated because that is what string concatenation would have used).
fn signed_field(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Why a Zalo webhook body could not be turned into an [`Inbound`]. The messages name fields, never values, so they
/// are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON (empty, truncated, not UTF-8, nested deeper than serde_json allows…).
    #[error("the Zalo event is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the Zalo event is not a JSON object")]
    NotAnObject,
    /// A field the event needs is absent (or null, or an empty string).
    #[error("the Zalo event has no `{0}`")]
    Missing(&'static str),
    /// A field has the wrong JSON type.
    #[error("the Zalo event's `{field}` is not {expected}")]
    WrongType {
        /// The field, as a dotted path.
        field: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// A field has the right type but an unusable value.
    #[error("the Zalo event's `{field}` {problem}")]
    Invalid {
        /// The field, as a dotted path.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Parses one Zalo OA webhook body into an [`Inbound`].
///
/// | `event_name` | user id | kind |
/// |---|---|---|
/// | `follow` / `unfollow` | `follower.id` | [`Followed`](InboundKind::Followed) / [`Unfollowed`](InboundKind::Unfollowed) |
/// | `user_send_text` | `sender.id` | [`Button`](InboundKind::Button) if the text starts with [`BUTTON_PREFIX`], else [`Text`](InboundKind::Text) |
/// | `user_send_image` | `sender.id` | [`Photo`](InboundKind::Photo): every `message.attachments[].payload.url`, `message.text` as caption |
/// | `user_send_location` | `sender.id` | [`Location`](InboundKind::Location) from `message.attachments[].payload.coordinates` |
/// | `user_send_audio` | `sender.id` | [`Voice`](InboundKind::Voice): the first `message.attachments[].payload.url` |
/// | `user_submit_info` | `sender.id` | [`ContactInfo`](InboundKind::ContactInfo) from `info` |
/// | `user_received_message` / `user_seen_message` | `sender.id` | [`Receipt`](InboundKind::Receipt) for `message.msg_id` / `message.msg_ids` |
/// | `oa_send_*` | `recipient.id` | [`Echo`](InboundKind::Echo) |
/// | anything else | `sender.id`, else `follower.id`, else none (`""`) | [`Unsupported`](InboundKind::Unsupported) |
///
/// `event_id` is `message.msg_id` when the event carries one (receipts excepted: there it names our message, not the
/// event), otherwise `"{event_name}:{user_id}:{timestamp}"`. `at_ms` is `timestamp`, a string of digits or a number.
///
/// For receipts, public integrations disagree on whether `sender` is the user or the OA (ZNS delivery receipts put
/// the OA in `sender`); match receipts to our messages by `message_ids`, not by `user_id`.
///
/// Nothing here recurses on the input beyond serde_json's own nesting limit, and nothing panics: bad input of any
/// shape is a [`ParseError`].
///
/// # Errors
/// [`ParseError`] when the body is not a JSON object, has no `event_name`, no user id where the table says, a field
/// of the wrong type, or no usable content for its kind (text, image URL, coordinates, receipt ids).
pub fn parse_event(raw_body: &[u8]) -> Result<Inbound, ParseError> {
    let value: Value = serde_json::from_slice(raw_body).map_err(ParseError::NotJson)?;
    let Value::Object(event) = value else {
        return Err(ParseError::NotAnObject);
    };
    let event_name = required_str(&event, "event_name", "event_name")?;
    let at_ms = timestamp_ms(&event)?;
    let message = optional_object(&event, "message", "message")?;

    let (user_id, kind) = match event_name {
        "follow" => (id_of(&event, "follower", "follower.id")?, InboundKind::Followed),
        "unfollow" => (id_of(&event, "follower", "follower.id")?, InboundKind::Unfollowed),
        "user_send_text" => (sender_id(&event)?, text_or_button(message)?),
        "user_send_image" => (sender_id(&event)?, photo(message)?),
        "user_send_location" => (sender_id(&event)?, location(message)?),
        "user_send_audio" => (sender_id(&event)?, audio(message)?),
        "user_submit_info" => (sender_id(&event)?, contact_info(&event)?),
        "user_received_message" => (sender_id(&event)?, receipt(message, false)?),
        "user_seen_message" => (sender_id(&event)?, receipt(message, true)?),
        name if name.starts_with("oa_send_") => (id_of(&event, "recipient", "recipient.id")?, InboundKind::Echo),
        name => {
            // Some events name no user at all (`add_user_to_tag` names the OA and a tag): they are kept raw, with no
            // user, rather than refused.
            let user_id = if event.contains_key("sender") {
                sender_id(&event)?
            } else if event.contains_key("follower") {
                id_of(&event, "follower", "follower.id")?
            } else {
                String::new()
            };
            (
                user_id,
                InboundKind::Unsupported {
                    event_name: name.to_owned(),
                },
            )
        }
    };

    let msg_id = match (&kind, message) {
        (InboundKind::Receipt { .. }, _) | (_, None) => None,
        (_, Some(message)) => optional_str(message, "msg_id", "message.msg_id")?,
    };
    let event_id = match msg_id {
        Some(msg_id) => msg_id.to_owned(),
        None => format!(
            "{event_name}:{user_id}:{}",
            at_ms.map(|ms| ms.to_string()).unwrap_or_default()
        ),
    };

    Ok(Inbound {
        channel: Channel::Zalo,
        event_id,
        user_id,
        at_ms,
        kind,
    })
}

fn sender_id(event: &Map<String, Value>) -> Result<String, ParseError> {
    id_of(event, "sender", "sender.id")
}

/// `event[party].id` as a non-empty string.
fn id_of(event: &Map<String, Value>, party: &'static str, field: &'static str) -> Result<String, ParseError> {
    let party = optional_object(event, party, party)?.ok_or(ParseError::Missing(field))?;
    required_str(party, "id", field).map(str::to_owned)
}

/// `timestamp` in milliseconds: a string of digits (what Zalo sends) or an integer; absent is `None`.
fn timestamp_ms(event: &Map<String, Value>) -> Result<Option<i64>, ParseError> {
    const FIELD: &str = "timestamp";
    match event.get(FIELD) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| ParseError::Invalid {
            field: FIELD,
            problem: "is not a whole number of milliseconds",
        }),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(ParseError::Invalid {
            field: FIELD,
            problem: "is not a whole number of milliseconds",
        }),
        Some(_) => Err(ParseError::WrongType {
            field: FIELD,
            expected: "a string or a number",
        }),
    }
}

fn text_or_button(message: Option<&Map<String, Value>>) -> Result<InboundKind, ParseError> {
    let message = message.ok_or(ParseError::Missing("message"))?;
    let text = match message.get("text") {
        Some(Value::String(text)) => text,
        None | Some(Value::Null) => return Err(ParseError::Missing("message.text")),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "message.text",
                expected: "a string",
            });
        }
    };
    Ok(match text.strip_prefix(BUTTON_PREFIX) {
        Some(payload) => InboundKind::Button {
            payload: payload.to_owned(),
            callback_id: None,
            message_id: None,
        },
        None => InboundKind::Text(text.clone()),
    })
}

fn photo(message: Option<&Map<String, Value>>) -> Result<InboundKind, ParseError> {
    const URL: &str = "message.attachments[].payload.url";
    let message = message.ok_or(ParseError::Missing("message"))?;
    let mut urls = Vec::new();
    for payload in attachment_payloads(message)? {
        if let Some(url) = optional_str(payload, "url", URL)? {
            urls.push(url.to_owned());
        }
    }
    if urls.is_empty() {
        return Err(ParseError::Missing(URL));
    }
    let caption = optional_str(message, "text", "message.text")?
        .filter(|text| !text.trim().is_empty())
        .map(str::to_owned);
    Ok(InboundKind::Photo { urls, caption })
}

/// A voice message: `message.attachments[].payload.url` of the attachment of type `audio`, as for images. The
/// event and attachment type are Zalo's (`user_send_audio`, attachment type `audio`:
/// <https://developers.zalo.me/docs/official-account/webhook/tong-quan>); integrations that download it read the same
/// `payload.url` (e.g. the `AttachmentType` of the redai-zalo-sdk webhook types,
/// <https://app.unpkg.com/@warriorteam/redai-zalo-sdk@1.32.17/files/docs/WEBHOOK_EVENTS.md>).
fn audio(message: Option<&Map<String, Value>>) -> Result<InboundKind, ParseError> {
    const URL: &str = "message.attachments[].payload.url";
    let message = message.ok_or(ParseError::Missing("message"))?;
    for payload in attachment_payloads(message)? {
        if let Some(url) = optional_str(payload, "url", URL)? {
            return Ok(InboundKind::Voice {
                reference: url.to_owned(),
                mime_type: None,
                duration_secs: None,
                size: None,
            });
        }
    }
    Err(ParseError::Missing(URL))
}

fn location(message: Option<&Map<String, Value>>) -> Result<InboundKind, ParseError> {
    const COORDINATES: &str = "message.attachments[].payload.coordinates";
    let message = message.ok_or(ParseError::Missing("message"))?;
    for payload in attachment_payloads(message)? {
        let Some(coordinates) = optional_object(payload, "coordinates", COORDINATES)? else {
            continue;
        };
        let lat = degrees(
            coordinates,
            "latitude",
            "message.attachments[].payload.coordinates.latitude",
            90.0,
        )?;
        let lon = degrees(
            coordinates,
            "longitude",
            "message.attachments[].payload.coordinates.longitude",
            180.0,
        )?;
        return Ok(InboundKind::Location { lat, lon });
    }
    Err(ParseError::Missing(COORDINATES))
}

/// The `payload` objects of `message.attachments` (absent attachments: none).
fn attachment_payloads(message: &Map<String, Value>) -> Result<Vec<&Map<String, Value>>, ParseError> {
    const ATTACHMENTS: &str = "message.attachments";
    let attachments = match message.get("attachments") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(attachments)) => attachments,
        Some(_) => {
            return Err(ParseError::WrongType {
                field: ATTACHMENTS,
                expected: "an array",
            });
        }
    };
    let mut payloads = Vec::with_capacity(attachments.len());
    for attachment in attachments {
        let Value::Object(attachment) = attachment else {
            return Err(ParseError::WrongType {
                field: "message.attachments[]",
                expected: "an object",
            });
        };
        if let Some(payload) = optional_object(attachment, "payload", "message.attachments[].payload")? {
            payloads.push(payload);
        }
    }
    Ok(payloads)
}

/// A coordinate in degrees, sent as a string (what Zalo does) or a number, finite and within ±`limit`.
fn degrees(coordinates: &Map<String, Value>, key: &str, field: &'static str, limit: f64) -> Result<f64, ParseError> {
    let value = match coordinates.get(key) {
        None | Some(Value::Null) => return Err(ParseError::Missing(field)),
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| ParseError::Invalid {
            field,
            problem: "is not a number",
        })?,
        Some(Value::Number(n)) => n.as_f64().ok_or(ParseError::Invalid {
            field,
            problem: "is not a number",
        })?,
        Some(_) => {
            return Err(ParseError::WrongType {
                field,
                expected: "a string or a number",
            });
        }
    };
    // NaN and the infinities (which `parse` accepts) fail this check too.
    if (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(ParseError::Invalid {
            field,
            problem: "is out of range",
        })
    }
}

/// `info` of `user_submit_info`. The address is one line: `address`, `ward`, `district`, `city` (the older format)
/// or `full_address.{user_address, user_ward, user_district, user_city}` (the newer one), blanks skipped.
fn contact_info(event: &Map<String, Value>) -> Result<InboundKind, ParseError> {
    let info = optional_object(event, "info", "info")?.ok_or(ParseError::Missing("info"))?;
    let name = non_blank(optional_str(info, "name", "info.name")?).map(str::to_owned);
    let phone = match info.get("phone") {
        None | Some(Value::Null) => None,
        Some(Value::String(phone)) => non_blank(Some(phone)).map(str::to_owned),
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "info.phone",
                expected: "a string",
            });
        }
    };
    let old_parts = [
        optional_str(info, "address", "info.address")?,
        optional_str(info, "ward", "info.ward")?,
        optional_str(info, "district", "info.district")?,
        optional_str(info, "city", "info.city")?,
    ];
    let address = match (
        non_blank(old_parts[0]),
        optional_object(info, "full_address", "info.full_address")?,
    ) {
        (None, Some(full)) => join_address(&[
            optional_str(full, "user_address", "info.full_address.user_address")?,
            optional_str(full, "user_ward", "info.full_address.user_ward")?,
            optional_str(full, "user_district", "info.full_address.user_district")?,
            optional_str(full, "user_city", "info.full_address.user_city")?,
        ]),
        _ => join_address(&old_parts),
    };
    Ok(InboundKind::ContactInfo { name, phone, address })
}

fn join_address(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts.iter().filter_map(|part| non_blank(*part)).collect();
    if parts.is_empty() { None } else { Some(parts.join(", ")) }
}

/// The text without surrounding white space, or `None` if nothing is left.
fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

/// The ids of our messages a receipt covers: `message.msg_ids` (an array, sent with "seen") and/or
/// `message.msg_id` (sent with "received").
fn receipt(message: Option<&Map<String, Value>>, seen: bool) -> Result<InboundKind, ParseError> {
    const IDS: &str = "message.msg_ids";
    let message = message.ok_or(ParseError::Missing("message"))?;
    let mut message_ids = Vec::new();
    if let Some(msg_id) = optional_str(message, "msg_id", "message.msg_id")? {
        message_ids.push(msg_id.to_owned());
    }
    match message.get("msg_ids") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for id in ids {
                match id {
                    Value::String(id) if !id.is_empty() => {
                        if !message_ids.contains(id) {
                            message_ids.push(id.clone());
                        }
                    }
                    _ => {
                        return Err(ParseError::WrongType {
                            field: "message.msg_ids[]",
                            expected: "a string",
                        });
                    }
                }
            }
        }
        Some(_) => {
            return Err(ParseError::WrongType {
                field: IDS,
                expected: "an array",
            });
        }
    }
    if message_ids.is_empty() {
        return Err(ParseError::Missing(IDS));
    }
    Ok(InboundKind::Receipt { message_ids, seen })
}

/// A non-empty string field; absent, null or empty is [`ParseError::Missing`].
fn required_str<'a>(object: &'a Map<String, Value>, key: &str, field: &'static str) -> Result<&'a str, ParseError> {
    optional_str(object, key, field)?.ok_or(ParseError::Missing(field))
}

/// A string field; absent, null or empty is `None`, another type is an error.
fn optional_str<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a str>, ParseError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ParseError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// An object field; absent or null is `None`, another type is an error.
fn optional_object<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(ParseError::WrongType {
            field,
            expected: "an object",
        }),
    }
}
