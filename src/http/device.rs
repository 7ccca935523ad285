//! A citizen's browser: the device cookie (`yk_device`: random, signed by the service, so that only tokens it issued
//! count; the service stores only a keyed hash of it),
//! the CSRF token every citizen form carries, derived from that cookie with the service secret, and the reporter
//! key cookie that lets the reporter of a case reply, reopen and rate on its tracking page.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::AppState;
use super::pages::message_page;
use crate::domain::Lang;

const DEVICE_COOKIE: &str = "yk_device";

/// The device token from the request's cookies, if the service issued it: 32 random hex digits and their keyed
/// hash under the service secret. A token the client made up — any 64 hex digits, as the probe of issue 22 sent to
/// be a new respondent each time — is not a device.
pub(super) fn device_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = super::token_cookie(headers, DEVICE_COOKIE)?;
    let (random, mac) = token.split_at(32);
    bool::from(mac.as_bytes().ct_eq(device_mac(state, random).as_bytes())).then_some(token)
}

/// The signature half of a device token.
fn device_mac(state: &AppState, random: &str) -> String {
    state.surveys.keyed_hash("device", random)[..32].to_owned()
}

/// A new device token, signed (64 hex digits, like every ykien cookie).
fn new_device(state: &AppState) -> String {
    let bytes: [u8; 16] = rand::random();
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mac = device_mac(state, &random);
    format!("{random}{mac}")
}

/// The `Set-Cookie` value that gives a browser its device token for a year.
fn device_cookie(state: &AppState, device: &str) -> HeaderValue {
    let secure = state.secure_cookie();
    let value = format!("{DEVICE_COOKIE}={device}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The browser's device token, or a new one when it has none yet: the page's answer then gives it its cookie.
pub(super) struct Device {
    pub token: String,
    is_new: bool,
}

impl Device {
    pub fn of(state: &AppState, headers: &HeaderMap) -> Self {
        match device_of(state, headers) {
            Some(token) => Self { token, is_new: false },
            None => Self {
                token: new_device(state),
                is_new: true,
            },
        }
    }

    /// `response`, with the device's cookie when the browser did not have it yet.
    pub fn remembered(&self, state: &AppState, mut response: Response) -> Response {
        if self.is_new {
            response
                .headers_mut()
                .insert(SET_COOKIE, device_cookie(state, &self.token));
        }
        response
    }
}

/// The CSRF token of a device's forms.
pub(super) fn csrf_token(state: &AppState, device: &str) -> String {
    state.surveys.keyed_hash("csrf", device)[..32].to_owned()
}

/// Whether `given` is the device's CSRF token (compared in constant time).
pub(super) fn csrf_ok(state: &AppState, device: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| g.as_bytes().ct_eq(csrf_token(state, device).as_bytes()).into())
}

/// The page for a citizen's form that came without its cookie or CSRF token.
pub(super) fn forbidden(lang: Lang, path: &str) -> Response {
    message_page(
        lang,
        path,
        StatusCode::FORBIDDEN,
        lang.t("Phiên làm việc không hợp lệ", "Invalid session"),
        lang.t(
            "Biểu mẫu đã hết hạn hoặc trình duyệt chặn cookie. Xin mở lại trang khảo sát và thử lại; các câu đã trả lời vẫn được giữ.",
            "The form has expired or the browser blocks cookies. Please open the survey page again and retry; answers already given are kept.",
        ),
    )
}

/// The name of the cookie that holds the reporter key of case `code` (set on `/t/{code}` only).
pub(super) fn reporter_cookie_name(code: &str) -> String {
    format!("yk_rk_{}", code.replace('-', "_"))
}

/// The reporter key of case `code` the browser holds, if any.
pub(super) fn reporter_key(headers: &HeaderMap, code: &str) -> Option<String> {
    super::token_cookie(headers, &reporter_cookie_name(code))
}
