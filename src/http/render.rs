//! What pages and files share when they answer: redirects after a form, times as people in Vietnam read them,
//! and images that browsers cannot be tricked into rendering as anything else.

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::domain::calendar::to_vietnam;

/// A `303 See Other` to `to`: every form post answers with one, so a reload never posts twice.
pub(super) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Local time in Vietnam, as officials and citizens read it.
pub(super) fn vn_time(at: DateTime<Utc>) -> String {
    to_vietnam(at).format("%H:%M %d/%m/%Y").to_string()
}

/// A stored file (an image, or a citizen's voice note) that browsers cannot be tricked into rendering as anything
/// else: only the types ykien stores keep their content type.
pub(super) fn image_response(content_type: String, bytes: Vec<u8>) -> Response {
    let allowed = ["image/jpeg", "image/png", "image/webp"];
    let ct = if allowed.contains(&content_type.as_str())
        || crate::domain::voice::VoiceFormat::MIME_TYPES.contains(&content_type.as_str())
    {
        content_type
    } else {
        "application/octet-stream".to_owned()
    };
    (
        [
            (CONTENT_TYPE, ct),
            (CONTENT_DISPOSITION, "inline".to_owned()),
            (CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}
