//! A fake Telegram Bot API server for tests: records every call, answers like Telegram, fails when told to.
//!
//! Self-contained (axum, tokio, serde_json and std only, no `crate::`) so that other test crates can include this very
//! file: `#[path = "../bots/tests/fakes/telegram.rs"] mod fake_telegram;`.
//!
//! ```ignore
//! let fake = FakeTelegram::start().await;
//! let client = TelegramClient::new("123:TEST", &fake.api_url(), Limits::default())?;
//! client.send("42", &Outbound::text("Xin chào")).await?;
//! assert_eq!(fake.sent_texts(42), ["Xin chào"]);
//! ```
//!
//! What it understands:
//! - `POST /bot<token>/<Method>` with any token; the method name is matched case-insensitively (teloxide sends
//!   `SendMessage`, the documentation says `sendMessage`) and recorded lower-cased, with its parameters as one JSON
//!   object whether they came as JSON, as an urlencoded form or as multipart form data. Form fields are strings except
//!   JSON objects and arrays (`reply_markup`, `allowed_updates`), `true`/`false`, and the ids in [`NUMERIC_FIELDS`],
//!   which become JSON values, so that a call looks the same however it was sent. A multipart file becomes
//!   `{"file_name": …, "bytes": <length>}` in place of the `attach://…` reference to it (or under its own part name).
//! - Answers `getMe` (bot [`BOT_USERNAME`]), `sendMessage` (message ids counting up from 1, the chat id and text echoed),
//!   `sendPhoto`, `answerCallbackQuery`, `editMessageText`, `editMessageReplyMarkup`, `getFile`
//!   (`file_path: "photos/<file_id>.jpg"`, `file_size` the length of the bytes given to [`FakeTelegram::add_file`],
//!   400 for an unknown id), `setWebhook`, `deleteWebhook`; any other method gets 404 `Not Found`.
//! - `GET /file/bot<token>/<file_path>` serves the registered bytes and is recorded as the method `"file"` with
//!   `{"file_path": …}`.
//! - [`FakeTelegram::fail_next`] makes the next call of a method fail once (still recorded);
//!   [`FakeTelegram::block_chat`] makes every call with that `chat_id` answer 403 as when the user blocked the bot;
//!   [`FakeTelegram::set_delay`] makes every call wait before answering, as a slow platform does.
//! - Each call's token (the `bot<token>` path segment) is kept: [`FakeTelegram::calls_with_token`] tells which
//!   client made which call when several share the fake.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

/// The fake bot's username, as `getMe` answers it.
pub const BOT_USERNAME: &str = "ykien_test_bot";

/// The fake bot's user id.
pub const BOT_ID: i64 = 7_000_000_001;

/// Form fields recorded as JSON numbers when they hold one (in JSON requests teloxide sends them as numbers).
pub const NUMERIC_FIELDS: [&str; 5] = [
    "chat_id",
    "message_id",
    "message_thread_id",
    "max_connections",
    "cache_time",
];

/// How the next call of a method fails ([`FakeTelegram::fail_next`]). The bodies are Telegram's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 429 `Too Many Requests: retry after N` with `parameters.retry_after`.
    TooManyRequests {
        /// The `retry_after` to send, in seconds.
        retry_after_secs: u32,
    },
    /// 403 `Forbidden: bot was blocked by the user`.
    Blocked,
    /// 403 `Forbidden: user is deactivated`.
    UserDeactivated,
    /// 403 `Forbidden: bot can't initiate conversation with a user` (today's wording, unknown to teloxide).
    CantInitiateConversation,
    /// 400 `Bad Request: chat not found`.
    ChatNotFound,
    /// 401 `Unauthorized` (a wrong bot token).
    Unauthorized,
    /// 200 with an HTML page instead of JSON (what a proxy in the way answers).
    NotJson,
}

impl Failure {
    fn response(&self) -> Response {
        match self {
            Self::TooManyRequests { retry_after_secs } => error_response(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {retry_after_secs}"),
                Some(json!({ "retry_after": retry_after_secs })),
            ),
            Self::Blocked => error_response(StatusCode::FORBIDDEN, "Forbidden: bot was blocked by the user", None),
            Self::UserDeactivated => error_response(StatusCode::FORBIDDEN, "Forbidden: user is deactivated", None),
            Self::CantInitiateConversation => error_response(
                StatusCode::FORBIDDEN,
                "Forbidden: bot can't initiate conversation with a user",
                None,
            ),
            Self::ChatNotFound => error_response(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None),
            Self::Unauthorized => error_response(StatusCode::UNAUTHORIZED, "Unauthorized", None),
            Self::NotJson => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response(),
        }
    }
}

/// `{"ok": false, "error_code": …, "description": …, "parameters"?: …}` with that HTTP status.
fn error_response(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    (status, axum::Json(body)).into_response()
}

fn ok_response(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

#[derive(Default)]
struct Inner {
    calls: Vec<(String, Value)>,
    failures: HashMap<String, VecDeque<Failure>>,
    blocked: HashSet<String>,
    files: HashMap<String, Vec<u8>>,
    last_message_id: i64,
    /// The `bot<token>` path segment of each call, in the order of `calls`.
    bots: Vec<String>,
    /// How long every method call waits before answering.
    delay: Duration,
    /// When each call of `calls` arrived, on the fake's own clock.
    times: Vec<std::time::Instant>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    /// Woken after every recorded call.
    recorded: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, bot: &str, method: &str, params: Value) {
        let mut inner = self.lock();
        inner.calls.push((method.to_owned(), params));
        inner.bots.push(bot.to_owned());
        inner.times.push(std::time::Instant::now());
        drop(inner);
        self.recorded.notify_waiters();
    }
}

/// A running fake Bot API server on 127.0.0.1; stopped when dropped.
pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts the server on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/file/{bot}/{*file_path}", get(serve_file))
            .route("/{bot}/{method}", post(call_method).get(call_method))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("the fake Telegram server's address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("serve the fake Telegram server");
        });
        Self { addr, shared, server }
    }

    /// The base URL to give the client (`Bot::set_api_url`, `TelegramClient::new`): `http://127.0.0.1:<port>`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// When each call of `method` arrived, on the fake's clock, in order: what a test of the rate limits reads.
    pub fn call_times(&self, method: &str) -> Vec<std::time::Instant> {
        let inner = self.lock_inner();
        inner
            .calls
            .iter()
            .zip(&inner.times)
            .filter(|((m, _), _)| m.eq_ignore_ascii_case(method))
            .map(|(_, t)| *t)
            .collect()
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes the next call of `method` (any case) fail as `failure`; several are used in order.
    pub fn fail_next(&self, method: &str, failure: Failure) {
        self.shared
            .lock()
            .failures
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(failure);
    }

    /// Makes every call with this `chat_id` answer 403 `Forbidden: bot was blocked by the user`.
    pub fn block_chat(&self, chat_id: impl Display) {
        self.shared.lock().blocked.insert(chat_id.to_string());
    }

    /// Undoes [`FakeTelegram::block_chat`]: the user unblocked the bot.
    pub fn unblock_chat(&self, chat_id: impl Display) {
        self.shared.lock().blocked.remove(&chat_id.to_string());
    }

    /// Registers a file that `getFile` describes and `GET /file/…` serves.
    pub fn add_file(&self, file_id: &str, bytes: impl Into<Vec<u8>>) {
        self.shared.lock().files.insert(file_id.to_owned(), bytes.into());
    }

    /// What Telegram does with the body of a webhook's 200: a `method` named in it is called like any other, with the
    /// rest of the body as its parameters (<https://core.telegram.org/bots/api#making-requests-when-getting-updates>).
    /// A body without one (or not JSON) calls nothing.
    pub fn webhook_answered(&self, body: &[u8]) {
        let Ok(Value::Object(mut params)) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        if let Some(Value::String(method)) = params.remove("method") {
            self.shared
                .record("webhook", &method.to_ascii_lowercase(), Value::Object(params));
        }
    }

    /// Every call so far, in order: (method lower-cased, parameters).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.shared.lock().calls.clone()
    }

    /// The parameters of every call of `method` (any case) so far, in order.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|(m, _)| *m == method)
            .map(|(_, params)| params.clone())
            .collect()
    }

    /// How many calls of `method` (any case) so far: what a test polls while thousands are made, without copying
    /// their parameters under the lock the server records with.
    pub fn count_of(&self, method: &str) -> usize {
        let method = method.to_ascii_lowercase();
        self.shared.lock().calls.iter().filter(|(m, _)| *m == method).count()
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        let mut inner = self.shared.lock();
        inner.calls.clear();
        inner.bots.clear();
        inner.times.clear();
    }

    /// Every call so far with the token it was made with (`bot<token>` in its path): (token, method, parameters).
    pub fn calls_with_token(&self) -> Vec<(String, String, Value)> {
        let inner = self.shared.lock();
        inner
            .bots
            .iter()
            .zip(&inner.calls)
            .map(|(bot, (method, params))| {
                let token = bot.strip_prefix("bot").unwrap_or(bot).to_owned();
                (token, method.clone(), params.clone())
            })
            .collect()
    }

    /// Makes every method call wait `delay` before answering, as a slow platform would (after being recorded).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Waits until `method` (any case) was called at least `count` times, and returns those calls' parameters (all of
    /// them, possibly more than `count`). Wakes on each recorded call, no polling interval.
    ///
    /// # Panics
    /// When `timeout` passes first, naming every call recorded.
    pub async fn wait_for(&self, method: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.recorded.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let calls = self.calls_of(method);
            if calls.len() >= count {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let calls = self.calls_of(method);
                if calls.len() >= count {
                    return calls;
                }
                panic!(
                    "expected {count} calls of {method} within {timeout:?}, got {}; all calls: {:?}",
                    calls.len(),
                    self.calls()
                );
            }
        }
    }

    /// The texts sent with `sendMessage` to this chat, in order.
    pub fn sent_texts(&self, chat_id: impl Display) -> Vec<String> {
        let chat_id = chat_id.to_string();
        self.calls_of("sendmessage")
            .iter()
            .filter(|params| params.get("chat_id").map(value_text).as_deref() == Some(chat_id.as_str()))
            .map(|params| params.get("text").map(value_text).unwrap_or_default())
            .collect()
    }
}

/// A JSON value as text: a string without quotes, anything else as JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "ykien test", "username": BOT_USERNAME })
}

fn chat_json(chat_id: i64) -> Value {
    if chat_id < 0 {
        json!({ "id": chat_id, "type": "group", "title": "Test group" })
    } else {
        json!({ "id": chat_id, "type": "private", "first_name": "Test" })
    }
}

/// The `chat_id` parameter as a number, if it is one (or a string of one).
fn chat_id_of(params: &Value) -> Option<i64> {
    match params.get("chat_id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn call_method(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let method = method.to_ascii_lowercase();
    let params = read_params(request).await;
    shared.record(&bot, &method, params.clone());
    let delay = shared.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let scripted = shared.lock().failures.get_mut(&method).and_then(VecDeque::pop_front);
    if let Some(failure) = scripted {
        return failure.response();
    }
    let blocked = params
        .get("chat_id")
        .map(value_text)
        .is_some_and(|chat| shared.lock().blocked.contains(&chat));
    if blocked {
        return Failure::Blocked.response();
    }

    let text_param = |key: &str| params.get(key).map(value_text).unwrap_or_default();
    match method.as_str() {
        "getme" => {
            let mut me = bot_user();
            me["can_join_groups"] = json!(false);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok_response(me)
        }
        "sendmessage" | "sendphoto" | "editmessagetext" | "editmessagereplymarkup" => {
            let Some(chat_id) = chat_id_of(&params) else {
                return Failure::ChatNotFound.response();
            };
            let message_id = if method.starts_with("edit") {
                params.get("message_id").and_then(Value::as_i64).unwrap_or_default()
            } else {
                let mut inner = shared.lock();
                inner.last_message_id += 1;
                inner.last_message_id
            };
            let mut message = json!({
                "message_id": message_id,
                "from": bot_user(),
                "chat": chat_json(chat_id),
                "date": now_secs(),
            });
            if method == "sendphoto" {
                let size = params.pointer("/photo/bytes").cloned().unwrap_or(json!(0));
                message["photo"] = json!([{
                    "file_id": format!("fake-photo-{message_id}"),
                    "file_unique_id": format!("fake-unique-{message_id}"),
                    "file_size": size,
                    "width": 1,
                    "height": 1,
                }]);
                if let Some(caption) = params.get("caption") {
                    message["caption"] = caption.clone();
                }
            } else {
                message["text"] = json!(text_param("text"));
            }
            if let Some(markup @ Value::Object(_)) = params.get("reply_markup")
                && markup.get("inline_keyboard").is_some()
            {
                message["reply_markup"] = markup.clone();
            }
            ok_response(message)
        }
        "getfile" => {
            let file_id = text_param("file_id");
            let size = shared.lock().files.get(&file_id).map(Vec::len);
            match size {
                Some(size) => ok_response(json!({
                    "file_id": file_id,
                    "file_unique_id": format!("unique-{file_id}"),
                    "file_size": size,
                    "file_path": format!("photos/{file_id}.jpg"),
                })),
                None => error_response(StatusCode::BAD_REQUEST, "Bad Request: invalid file_id", None),
            }
        }
        "answercallbackquery" | "setwebhook" | "deletewebhook" => ok_response(json!(true)),
        _ => error_response(StatusCode::NOT_FOUND, "Not Found", None),
    }
}

async fn serve_file(State(shared): State<Arc<Shared>>, Path((bot, file_path)): Path<(String, String)>) -> Response {
    shared.record(&bot, "file", json!({ "file_path": file_path }));
    let bytes = file_path
        .strip_prefix("photos/")
        .and_then(|name| name.strip_suffix(".jpg"))
        .and_then(|file_id| shared.lock().files.get(file_id).cloned());
    match bytes {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "image/jpeg")],
            Bytes::from(bytes),
        )
            .into_response(),
        None => error_response(StatusCode::NOT_FOUND, "Not Found", None),
    }
}

/// The request's parameters as one JSON object, whatever the encoding (see the module documentation).
async fn read_params(request: Request) -> Value {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        read_multipart(request).await
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        match axum::Form::<Vec<(String, String)>>::from_request(request, &()).await {
            Ok(axum::Form(fields)) => Value::Object(
                fields
                    .into_iter()
                    .map(|(key, text)| {
                        let value = form_value(&key, text);
                        (key, value)
                    })
                    .collect(),
            ),
            Err(rejection) => json!({ "_unreadable_form": rejection.body_text() }),
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        if body.iter().all(u8::is_ascii_whitespace) {
            return json!({});
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(object @ Value::Object(_)) => object,
            Ok(other) => json!({ "_body": other }),
            Err(_) => json!({ "_body": String::from_utf8_lossy(&body) }),
        }
    }
}

async fn read_multipart(request: Request) -> Value {
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(multipart) => multipart,
        Err(rejection) => return json!({ "_unreadable_multipart": rejection.body_text() }),
    };
    let mut fields = Map::new();
    let mut files: HashMap<String, Value> = HashMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                fields.insert("_unreadable_part".to_owned(), json!(error.body_text()));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.unwrap_or_default();
        match file_name {
            Some(file_name) => {
                files.insert(name, json!({ "file_name": file_name, "bytes": bytes.len() }));
            }
            None => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let value = form_value(&name, text);
                fields.insert(name, value);
            }
        }
    }
    for value in fields.values_mut() {
        if let Some(id) = value.as_str().and_then(|s| s.strip_prefix("attach://"))
            && let Some(file) = files.remove(id)
        {
            *value = file;
        }
    }
    fields.extend(files);
    Value::Object(fields)
}

/// A form field's text as the JSON value it stands for (see the module documentation).
fn form_value(key: &str, text: String) -> Value {
    if matches!(key, "text" | "caption") {
        return Value::String(text);
    }
    if (text.starts_with('{') || text.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(&text)
    {
        return value;
    }
    if NUMERIC_FIELDS.contains(&key)
        && let Ok(n) = text.trim().parse::<i64>()
    {
        return json!(n);
    }
    match text.as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text),
    }
}
