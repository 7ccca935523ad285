//! Zalo OA OpenAPI v3 and OAuth v4: send [`Outbound`]s, refresh tokens, download the images users send.
//!
//! [`ZaloClient`] is stateless: it holds no token. The server keeps the OA's access and refresh tokens in its
//! database, passes the access token to every call, and serialises refreshes across its instances (a refresh token
//! is single-use, so two instances refreshing at once would lose the grant). When a call fails with
//! [`ZaloError::TokenInvalid`], the server refreshes once with [`ZaloClient::refresh`], stores the new pair, and
//! retries.
//!
//! Facts about the wire format this module relies on, with where they were checked (Zalo's own documentation site,
//! <https://developers.zalo.me/docs/official-account>, renders in the browser only, so the sources are Zalo's SDKs
//! and public integrations that quote it):
//! - A customer-service message is `POST {api}/v3.0/oa/message/cs` with the header `access_token: <token>` (not
//!   `Authorization`) and the JSON body `{"recipient":{"user_id":…},"message":{…}}`; text is `{"text":…}`
//!   (zaloplatform/zalo-java-sdk `src/test/java/v3/SendTextCSMessage.java`). Text is at most 2000 characters (a
//!   public Zalo API spec compilation, §5.3 "Send a consultation message"; eSMS's Zalo docs, "Giới hạn tối đa là
//!   2.000 ký tự").
//! - Buttons ride on a text message: `"attachment":{"type":"template","payload":{"buttons":[{"title":…,
//!   "type":"oa.query.show","payload":"…"}]}}`, at most 5 (zaloplatform/zalo-php-sdk `src/Builder/MessageBuilder.php`:
//!   `buildActionQueryShow`, `withButton` refuses a sixth; developers.esms.vn "Send Zalo message Consulting button").
//!   A title is at most 100 characters and an `oa.query.*` payload at most 1000 (docs.etelecom.vn, Zalo Cloud API
//!   "Send transaction message", button notes; @warriorteam/redai-zalo-sdk `docs/BUTTON_TYPES_GUIDE.md`).
//! - An image is uploaded with `POST {api}/v2.0/oa/upload/image` (multipart field `file`, header `access_token`), which
//!   answers `data.attachment_id` (zalo-java-sdk `src/test/java/UploadImage.java`); JPEG or PNG up to 1 MB, and the id
//!   expires after 7 days (spec compilation §5.8). It is sent as `{"attachment":{"type":"template","payload":
//!   {"template_type":"media","elements":[{"media_type":"image","attachment_id":…}]}}}` (zalo-php-sdk
//!   `MessageBuilder`, case `media`; ChatbotXIO/ChatbotX `integrations/zalo/src/outgoing-message/send-image.ts`).
//! - Failures come back as HTTP 200 with a non-zero `error` and a `message`; success is `"error": 0` with the
//!   message id in `data.message_id` (spec compilation §3.4 and §14.2, the OA error table; the captured
//!   `{"error":-230,…}` body in `shared/fixtures/zalo/`).
//! - Tokens: `POST {oauth}/v4/oa/access_token` with the form fields `refresh_token`, `app_id`,
//!   `grant_type=refresh_token` and the app secret in the header `secret_key` (zalo-java-sdk
//!   `src/test/java/GetAccessTokenByRefreshToken.java`; hexasync.vn "Zalo OA API: Hướng dẫn cách lấy Access Token từ
//!   Refresh token"). The answer's `expires_in` is a string of seconds, `"90000"` (25 hours); the refresh token lasts
//!   3 months and is single-use. OAuth errors carry `error_name`/`error_reason`/`error_description`, sometimes with
//!   HTTP 200 and sometimes without a numeric `error` (ChatbotXIO/ChatbotX pull request 1019).
//!
//! Nothing here logs or puts into an error message the access token, the refresh token or the app secret.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::multipart::{Form, Part};
use serde_json::{Map, Value, json};

use crate::message::{Button, DeliveryError, Outbound};
use crate::zalo::button_payload;

mod answers;
mod render;

use answers::*;
pub use render::render;
use render::*;

/// Where Zalo's OpenAPI lives; [`ZaloClient::with_api_url`] points a client elsewhere (a fake in tests).
pub const DEFAULT_API_URL: &str = "https://openapi.zalo.me";

/// Where Zalo's OAuth v4 lives; [`ZaloClient::with_oauth_url`] points a client elsewhere (a fake in tests).
pub const DEFAULT_OAUTH_URL: &str = "https://oauth.zaloapp.com";

/// The longest text Zalo accepts in one message, in characters. Counted here in UTF-16 code units: never fewer than
/// Zalo's count, whether it counts code points or UTF-16 units (an emoji is 2 units; a Vietnamese letter is 1 composed,
/// and as many as its code points when decomposed).
pub const TEXT_LIMIT: usize = 2000;

/// The most buttons one Zalo message can carry. With more, [`render`] lists the choices in the text instead.
pub const MAX_BUTTONS: usize = 5;

/// The longest button title Zalo accepts, in characters; longer labels are shortened with "…".
pub const BUTTON_TITLE_LIMIT: usize = 100;

/// The last line under a numbered list of choices (shown instead of buttons when there are more than
/// [`MAX_BUTTONS`]): "type the number to choose". The server's dialogue takes a typed number as that button.
pub const CHOOSE_BY_NUMBER: &str = "Gõ số để chọn.";

/// The access token lifetime Zalo documents (25 hours), assumed when a refresh answer carries tokens but no readable
/// `expires_in`: the new refresh token must be kept whatever else is wrong, since the old one is already spent.
pub const DEFAULT_EXPIRES_IN_SECS: i64 = 90_000;

/// The longest any one API or OAuth request takes, from connecting to the end of the answer; a refresh lock held by
/// the server must outlive it, or a second instance may spend the same refresh token.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest [`ZaloClient::download`] takes.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

const ACCESS_TOKEN_HEADER: &str = "access_token";
const SECRET_KEY_HEADER: &str = "secret_key";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger answers from the API or OAuth endpoints are refused rather than buffered: Zalo's are a few hundred bytes.
const MAX_API_RESPONSE_BYTES: usize = 1024 * 1024;
/// Zalo's own `message` texts are short; anything longer is cut before it goes into an error.
const MAX_ERROR_TEXT_CHARS: usize = 300;
const REDACTED: &str = "[redacted]";

/// A client for one Zalo app (app id and secret) talking to Zalo's OpenAPI and OAuth endpoints.
///
/// Cheap to clone (the HTTP connection pool is shared). Holds no token: every call that needs one takes it.
#[derive(Clone)]
pub struct ZaloClient {
    http: reqwest::Client,
    api_url: String,
    oauth_url: String,
    app_id: String,
    app_secret: String,
}

impl fmt::Debug for ZaloClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZaloClient")
            .field("api_url", &self.api_url)
            .field("oauth_url", &self.oauth_url)
            .field("app_id", &self.app_id)
            .field("app_secret", &REDACTED)
            .finish_non_exhaustive()
    }
}

/// What Zalo said about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Zalo's id of the last message sent for this [`Outbound`] (the one with the buttons, if any), as Zalo's delivery
    /// and "seen" receipts name it.
    pub message_id: String,
    /// The ids of every message sent for this [`Outbound`], in order: the image first if there was one, then each part
    /// of a text longer than [`TEXT_LIMIT`]. The last is [`SentMessage::message_id`].
    pub message_ids: Vec<String>,
}

/// What [`ZaloClient::message_quota`] read: the proactive messages left this month, of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageQuota {
    /// Messages left.
    pub remain: i64,
    /// The month's allowance.
    pub total: i64,
}

/// A fresh token pair from [`ZaloClient::refresh`]. Store both before using the access token: the refresh token that
/// produced them is already spent.
///
/// `Debug` shows neither token.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The new OA access token, for the `access_token` header.
    pub access_token: String,
    /// The new refresh token, valid once, for the next [`ZaloClient::refresh`].
    pub refresh_token: String,
    /// How long the access token lasts from now, in seconds (Zalo says 90000, 25 hours).
    pub expires_in_secs: i64,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &REDACTED)
            .field("refresh_token", &REDACTED)
            .field("expires_in_secs", &self.expires_in_secs)
            .finish()
    }
}

/// Why a Zalo call failed. The messages carry Zalo's error codes and texts, never a token or the app secret, so they
/// are safe to log and store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZaloError {
    /// Zalo refused the access token: -216 "Access token is invalid", -220 "access_token is expired or removed", or
    /// -124 (ZNS' "Access token invalid"). Refresh once with [`ZaloClient::refresh`] and retry.
    #[error("Zalo refused the OA access token (error {code}); refresh it and retry")]
    TokenInvalid {
        /// Zalo's error code.
        code: i64,
    },
    /// The user cannot receive messages from the OA now: -230 silent for more than 7 days, -232 no interaction or
    /// the last one expired, -227 banned or inactive on Zalo for more than 45 days, -213 not following the OA. Keep
    /// the message until they write again.
    #[error("the Zalo user cannot receive messages from the OA now (error {code})")]
    UserUnreachable {
        /// Zalo's error code.
        code: i64,
    },
    /// -32: the app or the OA reached its API rate limit. Back off.
    #[error("Zalo's rate limit was reached (error {code}); slow down")]
    RateLimited {
        /// Zalo's error code.
        code: i64,
    },
    /// Zalo's OAuth refused the refresh token (unknown, expired, or already used): the grant is lost and an OA
    /// administrator must connect the OA again.
    #[error(
        "Zalo refused the OA refresh token (invalid, expired or already used): {message}; an administrator must reconnect the OA"
    )]
    RefreshTokenInvalid {
        /// Zalo's error code, when it gave a number.
        code: Option<i64>,
        /// Zalo's description of the error (`error_name`, `error_reason`, `error_description`, `message`).
        message: String,
    },
    /// Any other error Zalo reported (invalid parameter, OA not verified, quota…): the request itself will not succeed
    /// by being repeated.
    #[error("Zalo error {code}: {message}")]
    Api {
        /// Zalo's error code; 0 when an OAuth error gave no number, or when the request could not even be made (a token
        /// with characters not allowed in an HTTP header).
        code: i64,
        /// Zalo's `message`, shortened, with anything secret removed.
        message: String,
    },
    /// Zalo (or something in front of it) answered with an HTTP error status and no Zalo error body.
    #[error("Zalo answered HTTP {status}")]
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// The request did not complete: DNS, connection, TLS, timeout.
    #[error("could not reach Zalo: {0}")]
    Network(String),
    /// Zalo answered something this client does not understand (not JSON, a success without the expected fields).
    /// The text names what was missing, never the answer's content.
    #[error("unexpected answer from Zalo: {0}")]
    BadResponse(String),
}

impl ZaloError {
    /// The outbox's view of this error: whether to retry, wait for the user, or give up.
    ///
    /// | error | delivery |
    /// |---|---|
    /// | `TokenInvalid`, `RateLimited`, `Network`, `BadResponse` | [`DeliveryError::Retry`] |
    /// | `RefreshTokenInvalid` | [`DeliveryError::Retry`]: the message is not at fault and can go once an administrator reconnects the OA |
    /// | `UserUnreachable` | [`DeliveryError::Unreachable`] |
    /// | `Http` 408, 429, 5xx | [`DeliveryError::Retry`] |
    /// | `Http` other | [`DeliveryError::Refused`] |
    /// | `Api` | [`DeliveryError::Refused`] |
    #[must_use]
    pub fn delivery(&self) -> DeliveryError {
        let text = self.to_string();
        match self {
            Self::TokenInvalid { .. }
            | Self::RateLimited { .. }
            | Self::RefreshTokenInvalid { .. }
            | Self::Network(_)
            | Self::BadResponse(_) => DeliveryError::Retry(text),
            Self::UserUnreachable { .. } => DeliveryError::Unreachable(text),
            Self::Http { status } if *status == 408 || *status == 429 || *status >= 500 => DeliveryError::Retry(text),
            Self::Http { .. } | Self::Api { .. } => DeliveryError::Refused(text),
        }
    }
}

/// Why [`ZaloClient::download`] returned no image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// The image is larger than the limit given (said by its `Content-Length`, or found while reading).
    #[error("the image is larger than allowed")]
    TooLarge,
    /// The URL is not http(s), the server could not be reached, or it answered an error status.
    #[error("the image could not be downloaded: {0}")]
    Failed(String),
}

impl ZaloClient {
    /// A client for the Zalo app with this id and secret key (the "Khóa bí mật" of the app, which Zalo's OAuth wants
    /// in the `secret_key` header), talking to [`DEFAULT_API_URL`] and [`DEFAULT_OAUTH_URL`].
    ///
    /// Requests time out after [`REQUEST_TIMEOUT`] (downloads after [`DOWNLOAD_TIMEOUT`]), connections after 10 s.
    ///
    /// # Errors
    /// [`ZaloError::Network`] if the HTTP client cannot be built (no TLS roots available).
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Result<Self, ZaloError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("ykien-bots/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ZaloError::Network(describe(e)))?;
        Ok(Self {
            http,
            api_url: DEFAULT_API_URL.to_owned(),
            oauth_url: DEFAULT_OAUTH_URL.to_owned(),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
        })
    }

    /// The same client talking to another OpenAPI base URL (scheme, host, port, no path), e.g. a fake's.
    #[must_use]
    pub fn with_api_url(mut self, api_url: impl Into<String>) -> Self {
        self.api_url = api_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The same client talking to another OAuth base URL (scheme, host, port, no path), e.g. a fake's.
    #[must_use]
    pub fn with_oauth_url(mut self, oauth_url: impl Into<String>) -> Self {
        self.oauth_url = oauth_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The OpenAPI base URL in use.
    #[must_use]
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The OAuth base URL in use.
    #[must_use]
    pub fn oauth_url(&self) -> &str {
        &self.oauth_url
    }

    /// The Zalo app id.
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Sends one [`Outbound`] to a user as customer-service messages (`/v3.0/oa/message/cs`).
    ///
    /// The image, if any, is uploaded and sent first; then the text as [`render`] lays it out: one message, or several
    /// split on line boundaries when longer than [`TEXT_LIMIT`], the buttons on the last. `request_location` and
    /// `remove_keyboard` add nothing on Zalo.
    ///
    /// Not atomic: when a later part fails, the earlier ones have been delivered, and retrying the whole
    /// [`Outbound`] (the outbox delivers at least once) repeats them.
    ///
    /// # Errors
    /// [`ZaloError`] from the upload or the first message that failed; [`ZaloError::delivery`] tells the outbox what
    /// to do.
    pub async fn send(&self, access_token: &str, user_id: &str, msg: &Outbound) -> Result<SentMessage, ZaloError> {
        self.send_quoting(access_token, user_id, None, msg).await
    }

    /// Sends one [`Outbound`] as [`ZaloClient::send`] does, each part quoting `quote` (the id of the user's message it
    /// answers) when given: Zalo counts a message as a reply ("tin phản hồi", free, at most 8 within 48 hours of the
    /// user's last message) only when it carries that message's id, and as a proactive one ("tin chủ động", counted
    /// against the monthly quota) otherwise
    /// (<https://zalooa.freshdesk.com/support/solutions/articles/64000261136>, "Các loại tin của Zalo Official
    /// Account"; <https://zalooa.freshdesk.com/support/solutions/articles/64000263278>). The id rides in
    /// `recipient.message_id` beside `recipient.user_id`.
    ///
    /// # Errors
    /// As [`ZaloClient::send`].
    pub async fn send_quoting(
        &self,
        access_token: &str,
        user_id: &str,
        quote: Option<&str>,
        msg: &Outbound,
    ) -> Result<SentMessage, ZaloError> {
        let mut messages = Vec::new();
        if let Some(photo) = &msg.photo {
            let attachment_id = self.upload_image(access_token, photo).await?;
            messages.push(media_message(&attachment_id));
        }
        messages.extend(render(msg));

        let mut message_ids = Vec::with_capacity(messages.len());
        for message in messages {
            message_ids.push(self.send_message(access_token, user_id, quote, message).await?);
        }
        let message_id = message_ids
            .last()
            .cloned()
            .ok_or_else(|| ZaloError::BadResponse("there was nothing to send".to_owned()))?;
        Ok(SentMessage {
            message_id,
            message_ids,
        })
    }

    /// Uploads a JPEG or PNG image (`POST /v2.0/oa/upload/image`, multipart field `file`) and returns the
    /// `attachment_id` to send it with. Zalo takes images up to 1 MB and forgets the id after 7 days.
    ///
    /// # Errors
    /// [`ZaloError`] as for [`ZaloClient::send`]; [`ZaloError::BadResponse`] when the answer has no `attachment_id`.
    pub async fn upload_image(&self, access_token: &str, image: &[u8]) -> Result<String, ZaloError> {
        let (file_name, mime) = image_kind(image);
        let part = Part::bytes(image.to_vec())
            .file_name(file_name)
            .mime_str(mime)
            .map_err(|e| ZaloError::Network(describe(e)))?;
        let request = self
            .http
            .post(format!("{}/v2.0/oa/upload/image", self.api_url))
            .header(ACCESS_TOKEN_HEADER, secret_header(access_token, "access token")?)
            .multipart(Form::new().part("file", part));
        let answer = self.call_api(request, &[access_token]).await?;
        data_string(&answer, "attachment_id")
            .ok_or_else(|| ZaloError::BadResponse("the upload answer has no data.attachment_id".to_owned()))
    }

    /// Sends one `message` object and returns Zalo's id for it.
    async fn send_message(
        &self,
        access_token: &str,
        user_id: &str,
        quote: Option<&str>,
        message: Value,
    ) -> Result<String, ZaloError> {
        let recipient = match quote {
            Some(message_id) => json!({ "user_id": user_id, "message_id": message_id }),
            None => json!({ "user_id": user_id }),
        };
        let body = json!({ "recipient": recipient, "message": message });
        let request = self
            .http
            .post(format!("{}/v3.0/oa/message/cs", self.api_url))
            .header(ACCESS_TOKEN_HEADER, secret_header(access_token, "access token")?)
            .json(&body);
        let answer = self.call_api(request, &[access_token]).await?;
        data_string(&answer, "message_id")
            .or_else(|| data_string(&answer, "msg_id"))
            .ok_or_else(|| ZaloError::BadResponse("the send answer has no data.message_id".to_owned()))
    }

    /// The OA's remaining free proactive messages ("tin chủ động") this month: `POST /v2.0/oa/quota/message` with the
    /// `access_token` header, answered `{"data":{"type":…,"remain":…,"total":…},"error":0}` (hexasync.vn, "Zalo OA
    /// API: Hướng dẫn cách lấy quota tin Tư vấn trong Zalo OA bằng Postman",
    /// <https://www.hexasync.vn/zalo-oa-api-huong-dan-cach-lay-quota-tin-tu-van-trong-zalo-oa-bang-postman/>).
    ///
    /// # Errors
    /// [`ZaloError`] as for any call; [`ZaloError::BadResponse`] when `remain` or `total` is missing.
    pub async fn message_quota(&self, access_token: &str) -> Result<MessageQuota, ZaloError> {
        let request = self
            .http
            .post(format!("{}/v2.0/oa/quota/message", self.api_url))
            .header(ACCESS_TOKEN_HEADER, secret_header(access_token, "access token")?)
            .json(&json!({}));
        let answer = self.call_api(request, &[access_token]).await?;
        let number = |key: &str| data_string(&answer, key).and_then(|s| s.parse::<i64>().ok());
        match (number("remain"), number("total")) {
            (Some(remain), Some(total)) => Ok(MessageQuota { remain, total }),
            _ => Err(ZaloError::BadResponse(
                "the quota answer has no data.remain or data.total".to_owned(),
            )),
        }
    }

    /// Exchanges a refresh token for a new access and refresh token pair (`POST /v4/oa/access_token`).
    ///
    /// Stores nothing: the caller must save both new tokens before using the access token, because the refresh token
    /// given here is spent as soon as Zalo answers. `expires_in` may be a string (what Zalo sends) or a number; if the
    /// answer carries both tokens but no readable `expires_in`, [`DEFAULT_EXPIRES_IN_SECS`] is assumed rather than
    /// losing the new pair.
    ///
    /// Takes at most [`REQUEST_TIMEOUT`]. After a [`ZaloError::Network`] error (a timeout included) Zalo may have spent
    /// the refresh token all the same; only a [`ZaloError::RefreshTokenInvalid`] on the next attempt tells.
    ///
    /// # Errors
    /// [`ZaloError::RefreshTokenInvalid`] when Zalo says the refresh token is invalid, expired or already used (an
    /// administrator must reconnect the OA); [`ZaloError::Api`] for other OAuth errors (wrong app id or secret key,
    /// app not activated); [`ZaloError::Http`], [`ZaloError::Network`], [`ZaloError::BadResponse`] otherwise.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ZaloError> {
        let secrets = [refresh_token, self.app_secret.as_str()];
        let request = self
            .http
            .post(format!("{}/v4/oa/access_token", self.oauth_url))
            .header(SECRET_KEY_HEADER, secret_header(&self.app_secret, "app secret key")?)
            .form(&[
                ("refresh_token", refresh_token),
                ("app_id", self.app_id.as_str()),
                ("grant_type", "refresh_token"),
            ]);
        let (status, body) = self.fetch(request).await?;
        let answer = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(answer)) => answer,
            _ if !status.is_success() => {
                return Err(ZaloError::Http {
                    status: status.as_u16(),
                });
            }
            _ => {
                return Err(ZaloError::BadResponse(
                    "the token answer is not a JSON object".to_owned(),
                ));
            }
        };

        if let Some(access_token) = non_empty_str(&answer, "access_token") {
            let refresh_token = non_empty_str(&answer, "refresh_token").ok_or_else(|| {
                ZaloError::BadResponse("the token answer has an access_token but no refresh_token".to_owned())
            })?;
            let expires_in_secs = expires_in(&answer).unwrap_or_else(|| {
                tracing::warn!("Zalo's token answer has no readable expires_in; assuming {DEFAULT_EXPIRES_IN_SECS} s");
                DEFAULT_EXPIRES_IN_SECS
            });
            return Ok(Tokens {
                access_token: access_token.to_owned(),
                refresh_token: refresh_token.to_owned(),
                expires_in_secs,
            });
        }

        let code = error_code(&answer).filter(|code| *code != 0);
        let texts: Vec<&str> = ["error_name", "error_reason", "error_description", "message"]
            .iter()
            .filter_map(|key| non_empty_str(&answer, key))
            .collect();
        if code.is_none() && texts.is_empty() {
            return Err(if status.is_success() {
                ZaloError::BadResponse("the token answer has neither tokens nor an error".to_owned())
            } else {
                ZaloError::Http {
                    status: status.as_u16(),
                }
            });
        }
        let message = clean_text(&texts.join("; "), &secrets);
        tracing::warn!(code = ?code, "Zalo refused to refresh the OA token: {message}");
        if refers_to_refresh_token(&texts) {
            Err(ZaloError::RefreshTokenInvalid { code, message })
        } else {
            Err(ZaloError::Api {
                code: code.unwrap_or(0),
                message,
            })
        }
    }

    /// Downloads an image a user sent (a URL on Zalo's CDN from a `user_send_image` event), refusing anything larger
    /// than `max_bytes`: at once when its `Content-Length` says so, otherwise as soon as the body read exceeds it.
    /// Sends no token. Only `http` and `https` URLs are fetched.
    ///
    /// # Errors
    /// [`DownloadError::TooLarge`] over the limit; [`DownloadError::Failed`] for a bad URL, a network error or an
    /// HTTP error status.
    pub async fn download(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, DownloadError> {
        let url = reqwest::Url::parse(url).map_err(|_| DownloadError::Failed("not a valid URL".to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DownloadError::Failed("not an http(s) URL".to_owned()));
        }
        let mut response = self
            .http
            .get(url)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await
            .map_err(|e| DownloadError::Failed(describe(e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Failed(format!("HTTP {}", status.as_u16())));
        }
        read_limited(&mut response, max_bytes).await.map_err(|e| match e {
            ReadError::TooLarge => DownloadError::TooLarge,
            ReadError::Failed(e) => DownloadError::Failed(e),
        })
    }

    /// Sends an OpenAPI request and returns the answer object when its `error` is 0.
    async fn call_api(
        &self,
        request: reqwest::RequestBuilder,
        secrets: &[&str],
    ) -> Result<Map<String, Value>, ZaloError> {
        let (status, body) = self.fetch(request).await?;
        let answer = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(answer)) => answer,
            _ if !status.is_success() => {
                return Err(ZaloError::Http {
                    status: status.as_u16(),
                });
            }
            _ => return Err(ZaloError::BadResponse("the answer is not a JSON object".to_owned())),
        };
        match error_code(&answer) {
            Some(0) => Ok(answer),
            Some(code) => {
                let message = clean_text(non_empty_str(&answer, "message").unwrap_or(""), secrets);
                let error = classify(code, message);
                tracing::debug!(code, "Zalo refused a request: {error}");
                Err(error)
            }
            None if !status.is_success() => Err(ZaloError::Http {
                status: status.as_u16(),
            }),
            None => Err(ZaloError::BadResponse("the answer has no numeric `error`".to_owned())),
        }
    }

    /// Sends a request and reads the whole (small) answer.
    async fn fetch(&self, request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, Vec<u8>), ZaloError> {
        let mut response = request.send().await.map_err(|e| ZaloError::Network(describe(e)))?;
        let status = response.status();
        let body = read_limited(&mut response, MAX_API_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => ZaloError::BadResponse("the answer is larger than 1 MiB".to_owned()),
                ReadError::Failed(e) => ZaloError::Network(e),
            })?;
        Ok((status, body))
    }
}
