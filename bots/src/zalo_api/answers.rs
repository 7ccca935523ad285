//! Reading Zalo's answers: error codes and what they mean, token fields, bodies read up to a limit, and secrets
//! redacted from every text that may reach a log.

use super::*;

/// Maps a non-zero OpenAPI error code to its [`ZaloError`]. Codes from the OA error table (see the module
/// documentation); -124 comes from the ZNS table, where it means "Access token invalid".
pub(super) fn classify(code: i64, message: String) -> ZaloError {
    match code {
        -216 | -220 | -124 => ZaloError::TokenInvalid { code },
        -213 | -227 | -230 | -232 => ZaloError::UserUnreachable { code },
        -32 => ZaloError::RateLimited { code },
        _ => ZaloError::Api { code, message },
    }
}

/// Whether an OAuth error's texts say the refresh token (rather than the app id or secret) is what was refused.
/// Zalo's exact codes for this are not documented publicly, so the texts decide.
pub(super) fn refers_to_refresh_token(texts: &[&str]) -> bool {
    texts.iter().any(|text| {
        let text = text.to_lowercase();
        text.contains("refresh") || text.contains("invalid_grant") || text.contains("invalid grant")
    })
}

/// The answer's `error`: a number, or a string of digits.
pub(super) fn error_code(answer: &Map<String, Value>) -> Option<i64> {
    match answer.get("error")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `expires_in` as a positive number of seconds, sent as a string of digits or a number.
pub(super) fn expires_in(answer: &Map<String, Value>) -> Option<i64> {
    let secs = match answer.get("expires_in")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    (secs > 0).then_some(secs)
}

pub(super) fn non_empty_str<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

/// `data.<key>` as a non-empty string (a number is taken as its digits).
pub(super) fn data_string(answer: &Map<String, Value>, key: &str) -> Option<String> {
    match answer.get("data")?.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Zalo's text made safe to keep: every secret replaced, control characters dropped, at most
/// [`MAX_ERROR_TEXT_CHARS`] characters.
pub(super) fn clean_text(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    let mut clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT_CHARS)
        .collect();
    if clean.is_empty() {
        clean.push_str("(no message)");
    }
    clean
}

/// A header value for a secret (`what` names it in the error), marked sensitive so that the HTTP stack's own
/// debugging never shows it.
pub(super) fn secret_header(secret: &str, what: &str) -> Result<HeaderValue, ZaloError> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| ZaloError::Api {
        code: 0,
        message: format!("the {what} contains characters not allowed in an HTTP header"),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A network error as text: what failed and why, without the URL.
pub(super) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(super) enum ReadError {
    TooLarge,
    Failed(String),
}

/// Reads a response body, stopping as soon as it is known to exceed `limit` bytes.
pub(super) async fn read_limited(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if let Some(length) = response.content_length()
        && length > limit as u64
    {
        return Err(ReadError::TooLarge);
    }
    let capacity = response
        .content_length()
        .map_or(0, |length| usize::try_from(length).unwrap_or(limit).min(limit));
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(|e| ReadError::Failed(describe(e)))? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
