//! A fake Zalo OpenAPI and OAuth server on one 127.0.0.1 port, for tests of `ykien_bots::zalo_api` and of the whole
//! bot flow in the server crate.
//!
//! Self-contained (axum, tokio, serde_json, std): the server crate's integration tests include this very file with
//! `#[path = "../bots/tests/fakes/zalo.rs"] mod fake_zalo;`, so it refers to nothing of either crate.
//!
//! It serves, at [`FakeZalo::url`] (use it as both the API and the OAuth base URL):
//! - `POST /v3.0/oa/message/cs`: checks the `access_token` header (an unknown or replaced token gets error -216, an
//!   expired one -220, with HTTP 200 as Zalo does) and the message (text not blank and at most 2000 characters, at
//!   most 5 buttons with titles of at most 100 characters, known `attachment_id`s; else -201), then answers
//!   `data.message_id`;
//! - `POST /v2.0/oa/upload/image`: multipart field `file`, at most 1 MiB (else -210), answers `data.attachment_id`;
//! - `POST /v4/oa/access_token`: form fields `refresh_token`, `app_id`, `grant_type=refresh_token`; refresh tokens are
//!   single-use: a refresh issues a new access and refresh token, the old access token stops working and reusing the
//!   old refresh token gets an OAuth error;
//! - `GET /img/<name>`: bytes registered with [`FakeZalo::add_image`], e.g. for the URL of a `user_send_image`
//!   webhook event.
//!
//! Every request is recorded ([`FakeZalo::calls`]). Failures can be scripted: [`FakeZalo::fail_next_send`],
//! [`FakeZalo::make_unreachable`], [`FakeZalo::fail_next_oauth`], [`FakeZalo::expire_access_token`], and
//! [`FakeZalo::set_oauth_delay`] holds every OAuth answer back so that tests can race two refreshes.
//!
//! The error codes and texts of the OpenAPI are Zalo's (its OA error table); which code Zalo gives for an oversized
//! upload is a guess (-210, "Parameter exceeds allowable limit"). Zalo does not document the error body of a refused
//! refresh token; the one used here has the documented shape (`error`, `error_name`, `error_reason`,
//! `error_description`) with a stand-in code, -14014, and so do the wrong-app (-14002, "Invalid appId", documented
//! for the permission endpoint) and wrong-secret (-14001, invented) answers of [`FakeZalo::require_app`].
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::watch;

/// The largest text a message may carry, in characters (Zalo's limit).
pub const TEXT_LIMIT: usize = 2000;
/// The most buttons one message may carry.
pub const MAX_BUTTONS: usize = 5;
/// The longest button title, in characters.
pub const BUTTON_TITLE_LIMIT: usize = 100;
/// The largest image upload, in bytes (Zalo's 1 MB).
pub const IMAGE_LIMIT: usize = 1024 * 1024;
/// The code the fake answers for a refused refresh token (a stand-in: Zalo's real one is not documented).
pub const REFRESH_TOKEN_REFUSED: i64 = -14014;
/// A verified OA's free proactive messages per month ("1000 tin miễn phí mỗi tháng",
/// <https://zalooa.freshdesk.com/support/solutions/articles/64000261136>).
pub const DEFAULT_QUOTA: i64 = 1000;
/// What the fake answers a proactive message once the month's quota is spent (Zalo's own code for it is not public;
/// the server must never get here, since it reads the quota first).
pub const QUOTA_EXCEEDED: i64 = -240;

/// A running fake Zalo. The server stops when this is dropped.
pub struct FakeZalo {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// One request the fake received, whatever it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/v3.0/oa/message/cs`.
    pub path: String,
    /// The `access_token` header.
    pub access_token: Option<String>,
    /// The `secret_key` header.
    pub secret_key: Option<String>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The body, when it was JSON.
    pub json: Option<Value>,
    /// The body's fields, when it was a URL-encoded form.
    pub form: Option<BTreeMap<String, String>>,
    /// The uploaded file, for a multipart upload.
    pub file: Option<UploadedFile>,
}

/// A file received by `POST /v2.0/oa/upload/image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The multipart field's name (Zalo wants `file`).
    pub field: String,
    /// The file name the client gave.
    pub file_name: Option<String>,
    /// The part's content type.
    pub content_type: Option<String>,
    /// Its size in bytes.
    pub size: usize,
    /// Its first bytes (at most 16), to check the format.
    pub head: Vec<u8>,
}

struct Shared {
    state: Mutex<FakeState>,
    sends: watch::Sender<usize>,
}

#[derive(Default)]
struct FakeState {
    access_token: Option<String>,
    expired_access_token: Option<String>,
    refresh_token: String,
    issued: u64,
    oauth_calls: usize,
    oauth_delay: Duration,
    app: Option<(String, String)>,
    calls: Vec<Call>,
    sent: Vec<(String, Value)>,
    send_failures: VecDeque<Value>,
    upload_failures: VecDeque<i64>,
    oauth_failures: VecDeque<Value>,
    unreachable: HashMap<String, i64>,
    images: HashMap<String, (Vec<u8>, bool)>,
    attachments: HashSet<String>,
    next_id: u64,
    /// Proactive messages left this month and the month's allowance, as `/v2.0/oa/quota/message` reports them.
    quota: (i64, i64),
    /// For each message in `sent`: the user message it quoted (a reply), or none (proactive).
    quoted: Vec<Option<String>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for FakeZalo {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeZalo {
    /// Starts a fake on 127.0.0.1 (a free port) that accepts `initial_access_token` and will refresh
    /// `initial_refresh_token` once.
    ///
    /// # Panics
    /// If no local port can be bound.
    pub async fn start(initial_access_token: &str, initial_refresh_token: &str) -> FakeZalo {
        let (sends, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                access_token: Some(initial_access_token.to_owned()),
                refresh_token: initial_refresh_token.to_owned(),
                quota: (DEFAULT_QUOTA, DEFAULT_QUOTA),
                ..FakeState::default()
            }),
            sends,
        });
        let router = Router::new()
            .route("/v3.0/oa/message/cs", post(send_cs))
            .route("/v2.0/oa/upload/image", post(upload_image))
            .route("/v2.0/oa/quota/message", post(message_quota))
            .route("/v4/oa/access_token", post(access_token))
            .route("/img/{name}", get(image))
            .fallback(unknown)
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Zalo needs a local port");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeZalo { addr, shared, server }
    }

    /// `http://127.0.0.1:<port>`: the base URL for both the OpenAPI and OAuth.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL at which an image registered with [`FakeZalo::add_image`] is served.
    pub fn image_url(&self, name: &str) -> String {
        format!("{}/img/{name}", self.url())
    }

    /// Serves `bytes` at `GET /img/<name>` with a `Content-Length`.
    pub fn add_image(&self, name: &str, bytes: Vec<u8>) {
        self.shared.lock().images.insert(name.to_owned(), (bytes, true));
    }

    /// Serves `bytes` at `GET /img/<name>` without a `Content-Length` (chunked), so a client must count what it reads.
    pub fn add_image_without_length(&self, name: &str, bytes: Vec<u8>) {
        self.shared.lock().images.insert(name.to_owned(), (bytes, false));
    }

    /// Only this app id and secret key may refresh tokens from now on (by default any are accepted and recorded).
    pub fn require_app(&self, app_id: &str, secret_key: &str) {
        self.shared.lock().app = Some((app_id.to_owned(), secret_key.to_owned()));
    }

    /// The next `message/cs` request with a valid token answers this Zalo error code (with Zalo's text for it)
    /// instead of sending. Several calls queue several failures.
    pub fn fail_next_send(&self, code: i64) {
        self.answer_next_send(json!({ "error": code, "message": message_for(code) }));
    }

    /// The next `message/cs` request with a valid token answers this JSON body (HTTP 200) instead of sending, e.g. a
    /// captured Zalo error body.
    pub fn answer_next_send(&self, body: Value) {
        self.shared.lock().send_failures.push_back(body);
    }

    /// The next image upload with a valid token answers this Zalo error code.
    pub fn fail_next_upload(&self, code: i64) {
        self.shared.lock().upload_failures.push_back(code);
    }

    /// The next OAuth request answers this JSON body (HTTP 200) and changes no token.
    pub fn fail_next_oauth(&self, body: Value) {
        self.shared.lock().oauth_failures.push_back(body);
    }

    /// Every message to this user answers `code` (e.g. -230, -227, -213) until [`FakeZalo::make_reachable`].
    pub fn make_unreachable(&self, user_id: &str, code: i64) {
        self.shared.lock().unreachable.insert(user_id.to_owned(), code);
    }

    /// Messages to this user are delivered again.
    pub fn make_reachable(&self, user_id: &str) {
        self.shared.lock().unreachable.remove(user_id);
    }

    /// The current access token expires: calls with it answer -220 until a refresh issues a new one.
    pub fn expire_access_token(&self) {
        let mut state = self.shared.lock();
        state.expired_access_token = state.access_token.take();
    }

    /// Every OAuth request waits this long before it is answered (and before it looks at the refresh token).
    pub fn set_oauth_delay(&self, delay: Duration) {
        self.shared.lock().oauth_delay = delay;
    }

    /// The access token the fake accepts now, if any (none after [`FakeZalo::expire_access_token`]).
    pub fn current_access_token(&self) -> Option<String> {
        self.shared.lock().access_token.clone()
    }

    /// The refresh token the fake will accept next.
    pub fn current_refresh_token(&self) -> String {
        self.shared.lock().refresh_token.clone()
    }

    /// How many requests reached the OAuth endpoint, successful or not.
    pub fn oauth_calls(&self) -> usize {
        self.shared.lock().oauth_calls
    }

    /// Sets the proactive messages left this month and the month's allowance.
    pub fn set_quota(&self, remain: i64, total: i64) {
        self.shared.lock().quota = (remain, total);
    }

    /// The proactive messages left this month.
    pub fn quota_remain(&self) -> i64 {
        self.shared.lock().quota.0
    }

    /// Every message delivered so far with the user message it quoted (`Some`: sent as a reply) or not (proactive).
    pub fn sent_quoting(&self) -> Vec<(String, Option<String>)> {
        let state = self.shared.lock();
        state
            .sent
            .iter()
            .zip(&state.quoted)
            .map(|((user, _), quote)| (user.clone(), quote.clone()))
            .collect()
    }

    /// Every request received so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The requests received on one path, in order.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|call| call.path == path)
            .cloned()
            .collect()
    }

    /// Every message delivered so far, as (user id, `message` object), in order.
    pub fn sent(&self) -> Vec<(String, Value)> {
        self.shared.lock().sent.clone()
    }

    /// The `message` objects delivered to one user, in order.
    pub fn sent_to(&self, user_id: &str) -> Vec<Value> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|(to, _)| to == user_id)
            .map(|(_, message)| message.clone())
            .collect()
    }

    /// Waits until at least `n` messages have been delivered in all (to anyone), or `timeout` passes; true if they
    /// were. Wakes on each delivery, no polling interval.
    pub async fn wait_for_sends(&self, n: usize, timeout: Duration) -> bool {
        let mut sends = self.shared.sends.subscribe();
        matches!(
            tokio::time::timeout(timeout, sends.wait_for(|count| *count >= n)).await,
            Ok(Ok(_))
        )
    }
}

/// Zalo's answer for an error code.
fn zalo_error(code: i64, message: &str) -> Response {
    axum::Json(json!({ "error": code, "message": message })).into_response()
}

/// The texts Zalo gives with the codes the fake uses (from Zalo's OA error table).
fn message_for(code: i64) -> &'static str {
    match code {
        -32 => "Your OA reached limit call api",
        -124 => "Access token invalid",
        -201 => "Parameter is invalid!",
        -210 => "Parameter exceeds allowable limit",
        -213 => "User has not followed OA",
        -216 => "Access token is invalid",
        -220 => "access_token is expired or removed",
        -227 => "User is banned or has been inactive for more than 45 days",
        -230 => "User has not interacted with the OA in the past 7 days",
        -232 => "User has not interacted with the OA, or the last interaction has expired",
        _ => "Fake Zalo error",
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn new_call(method: &str, path: &str, headers: &HeaderMap) -> Call {
    Call {
        method: method.to_owned(),
        path: path.to_owned(),
        access_token: header_text(headers, "access_token"),
        secret_key: header_text(headers, "secret_key"),
        content_type: header_text(headers, header::CONTENT_TYPE.as_str()),
        json: None,
        form: None,
        file: None,
    }
}

/// The Zalo error for the `access_token` header, if it is not the current token.
fn token_problem(state: &FakeState, token: Option<&str>) -> Option<i64> {
    match token {
        Some(token) if state.access_token.as_deref() == Some(token) => None,
        Some(token) if state.expired_access_token.as_deref() == Some(token) => Some(-220),
        _ => Some(-216),
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// What is wrong with a `message` object, as a -201 text, if anything.
fn message_problem(state: &FakeState, message: &Value) -> Option<String> {
    let Some(message) = message.as_object() else {
        return Some("message is invalid!".to_owned());
    };
    let text = message.get("text");
    match text {
        None => {}
        Some(Value::String(text)) if !text.trim().is_empty() && chars(text) <= TEXT_LIMIT => {}
        Some(_) => return Some("message.text is invalid!".to_owned()),
    }
    let Some(attachment) = message.get("attachment") else {
        return if text.is_some() {
            None
        } else {
            Some("message is invalid!".to_owned())
        };
    };
    if attachment.get("type").and_then(Value::as_str) != Some("template") {
        return Some("attachment.type is invalid!".to_owned());
    }
    let payload = attachment.get("payload").cloned().unwrap_or(Value::Null);
    if let Some(buttons) = payload.get("buttons") {
        let Some(buttons) = buttons.as_array() else {
            return Some("buttons is invalid!".to_owned());
        };
        if buttons.len() > MAX_BUTTONS {
            return Some("buttons is invalid!".to_owned());
        }
        for button in buttons {
            let title_ok = button
                .get("title")
                .and_then(Value::as_str)
                .is_some_and(|title| !title.is_empty() && chars(title) <= BUTTON_TITLE_LIMIT);
            let kind = button.get("type").and_then(Value::as_str).unwrap_or("");
            let payload_ok = match kind {
                "oa.query.show" | "oa.query.hide" => button
                    .get("payload")
                    .and_then(Value::as_str)
                    .is_some_and(|payload| !payload.is_empty() && chars(payload) <= 1000),
                "oa.open.url" | "oa.open.sms" | "oa.open.phone" => button.get("payload").is_some_and(Value::is_object),
                _ => false,
            };
            if !title_ok || !payload_ok {
                return Some("button is invalid!".to_owned());
            }
        }
        if text.is_none() && payload.get("template_type").is_none() {
            return Some("message.text is invalid!".to_owned());
        }
    }
    match payload.get("template_type").and_then(Value::as_str) {
        None if payload.get("buttons").is_some() => None,
        Some("media") => {
            let elements = payload.get("elements").and_then(Value::as_array);
            let Some([element]) = elements.map(Vec::as_slice) else {
                return Some("elements is invalid!".to_owned());
            };
            if element.get("media_type").and_then(Value::as_str) != Some("image") {
                return Some("media_type is invalid!".to_owned());
            }
            match element.get("attachment_id").and_then(Value::as_str) {
                Some(id) if state.attachments.contains(id) => None,
                _ => Some("attachment_id is invalid!".to_owned()),
            }
        }
        _ => Some("template_type is invalid!".to_owned()),
    }
}

async fn send_cs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut call = new_call("POST", "/v3.0/oa/message/cs", &headers);
    call.json = serde_json::from_slice(&body).ok();
    let request = call.json.clone().unwrap_or(Value::Null);
    let mut state = shared.lock();
    let token_error = token_problem(&state, call.access_token.as_deref());
    state.calls.push(call);

    if let Some(code) = token_error {
        return zalo_error(code, message_for(code));
    }
    if let Some(body) = state.send_failures.pop_front() {
        return axum::Json(body).into_response();
    }
    let Some(user_id) = request
        .pointer("/recipient/user_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return zalo_error(-201, "recipient.user_id is invalid!");
    };
    if let Some(&code) = state.unreachable.get(&user_id) {
        return zalo_error(code, message_for(code));
    }
    let message = request.get("message").cloned().unwrap_or(Value::Null);
    if let Some(problem) = message_problem(&state, &message) {
        return zalo_error(-201, &problem);
    }

    let quote = request
        .pointer("/recipient/message_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let quota_type = if quote.is_some() {
        "reply"
    } else if state.quota.0 <= 0 {
        return zalo_error(QUOTA_EXCEEDED, "Out of quota for proactive messages");
    } else {
        state.quota.0 -= 1;
        "sub_quota"
    };
    state.next_id += 1;
    let message_id = format!("{:020x}", 0x5a41_4c4f_0000_0000_u64 + state.next_id);
    state.sent.push((user_id.clone(), message));
    state.quoted.push(quote);
    let delivered = state.sent.len();
    drop(state);
    shared.sends.send_replace(delivered);
    axum::Json(json!({
        "data": { "message_id": message_id, "user_id": user_id, "quota": { "quota_type": quota_type } },
        "error": 0,
        "message": "Success",
    }))
    .into_response()
}

async fn message_quota(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let call = new_call("POST", "/v2.0/oa/quota/message", &headers);
    let mut state = shared.lock();
    let token_error = token_problem(&state, call.access_token.as_deref());
    state.calls.push(call);
    if let Some(code) = token_error {
        return zalo_error(code, message_for(code));
    }
    let (remain, total) = state.quota;
    axum::Json(json!({
        "data": { "type": "active", "remain": remain, "total": total },
        "error": 0,
        "message": "Success",
    }))
    .into_response()
}

async fn upload_image(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let mut call = new_call("POST", "/v2.0/oa/upload/image", &headers);
    if let Ok(mut multipart) = multipart {
        while let Ok(Some(field)) = multipart.next_field().await {
            let field_name = field.name().unwrap_or("").to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let Ok(bytes) = field.bytes().await else { break };
            if call.file.is_none() || field_name == "file" {
                call.file = Some(UploadedFile {
                    field: field_name,
                    file_name,
                    content_type,
                    size: bytes.len(),
                    head: bytes.iter().take(16).copied().collect(),
                });
            }
        }
    }
    let file = call.file.clone();
    let mut state = shared.lock();
    let token_error = token_problem(&state, call.access_token.as_deref());
    state.calls.push(call);

    if let Some(code) = token_error {
        return zalo_error(code, message_for(code));
    }
    if let Some(code) = state.upload_failures.pop_front() {
        return zalo_error(code, message_for(code));
    }
    match file {
        Some(file) if file.field == "file" && file.size > 0 && file.size <= IMAGE_LIMIT => {}
        Some(file) if file.field == "file" && file.size > IMAGE_LIMIT => {
            return zalo_error(-210, message_for(-210));
        }
        _ => return zalo_error(-201, "file is invalid!"),
    }
    state.next_id += 1;
    let attachment_id = format!("fake-attachment-{}", state.next_id);
    state.attachments.insert(attachment_id.clone());
    axum::Json(json!({ "data": { "attachment_id": attachment_id }, "error": 0, "message": "Success" })).into_response()
}

async fn access_token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut call = new_call("POST", "/v4/oa/access_token", &headers);
    let form = parse_form(&body);
    call.form = Some(form.clone());
    let delay = {
        let mut state = shared.lock();
        state.oauth_calls += 1;
        state.calls.push(call.clone());
        state.oauth_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut state = shared.lock();
    if let Some(body) = state.oauth_failures.pop_front() {
        return axum::Json(body).into_response();
    }
    if let Some((app_id, secret_key)) = &state.app {
        if form.get("app_id") != Some(app_id) {
            return oauth_error(-14002, "Invalid appId", "app_id is invalid");
        }
        if call.secret_key.as_ref() != Some(secret_key) {
            return oauth_error(-14001, "Invalid secret key", "secret_key is invalid");
        }
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") || !form.contains_key("app_id") {
        return oauth_error(-14003, "Invalid parameter", "grant_type or app_id is missing");
    }
    if form.get("refresh_token") != Some(&state.refresh_token) {
        return oauth_error(
            REFRESH_TOKEN_REFUSED,
            "Invalid refresh token",
            "refresh_token is invalid, expired or already used",
        );
    }

    state.issued += 1;
    let access = format!("fake-access-token-{}", state.issued);
    let refresh = format!("fake-refresh-token-{}", state.issued);
    state.access_token = Some(access.clone());
    state.expired_access_token = None;
    state.refresh_token = refresh.clone();
    axum::Json(json!({ "access_token": access, "refresh_token": refresh, "expires_in": "90000" })).into_response()
}

/// Zalo's OAuth error shape (HTTP 200).
fn oauth_error(code: i64, name: &str, reason: &str) -> Response {
    axum::Json(json!({ "error": code, "error_name": name, "error_reason": reason, "error_description": reason }))
        .into_response()
}

async fn image(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let path = format!("/img/{name}");
    let mut state = shared.lock();
    state.calls.push(new_call("GET", &path, &headers));
    let Some((bytes, with_length)) = state.images.get(&name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    drop(state);
    let content_type = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let body = if with_length {
        Body::from(bytes)
    } else {
        Body::from_stream(Body::from(bytes).into_data_stream())
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn unknown(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    shared
        .lock()
        .calls
        .push(new_call(method.as_str(), uri.path(), &headers));
    StatusCode::NOT_FOUND.into_response()
}

/// Parses an `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
