//! A minimal fake of the two platforms' APIs, inside the benchmark: Telegram's Bot API (`sendMessage`,
//! `answerCallbackQuery`, `getMe`) and Zalo's OpenAPI (`/v3.0/oa/message/cs`, `/v4/oa/access_token`). It records
//! nothing: a message to a chat is handed straight to the simulated citizen waiting for it, with the instant it
//! arrived, so that the latency measured is the service's and not a recorder's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::BoxError;
use crate::chat_citizen::Reply;

/// What the Zalo sender puts before each button payload (`ykien_bots::zalo::BUTTON_PREFIX`).
const ZALO_BUTTON_PREFIX: &str = ykien_bots::zalo::BUTTON_PREFIX;
/// The line ending a Zalo message whose choices are a numbered list (more than five buttons).
const CHOOSE_BY_NUMBER: &str = ykien_bots::zalo_api::CHOOSE_BY_NUMBER;

/// A citizen waiting for the bot's answer, and the text of the parts that came before the last one.
struct Waiter {
    tx: oneshot::Sender<Reply>,
    partial: String,
    /// Messages of this reply received so far, before the last.
    parts: usize,
}

#[derive(Default)]
pub struct Counters {
    /// Messages (sendMessage, message/cs) received.
    pub messages: AtomicU64,
    /// answerCallbackQuery calls (made, or carried in a webhook's 200).
    pub callback_answers: AtomicU64,
    /// Messages to a chat nobody was waiting for (a second reply to one update, or one after a time-out).
    pub unexpected: AtomicU64,
    /// Calls of anything else (getMe, the Zalo token endpoint, unknown paths).
    pub other: AtomicU64,
}

#[derive(Default)]
struct Shared {
    waiters: Mutex<HashMap<String, Waiter>>,
    counters: Counters,
    message_id: AtomicI64,
}

/// The fake platforms, listening on 127.0.0.1.
pub struct Platform {
    shared: Arc<Shared>,
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Platform {
    pub async fn start() -> Result<Self, BoxError> {
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v3.0/oa/message/cs", post(zalo_message))
            .route("/v4/oa/access_token", post(zalo_token))
            .route("/{bot}/{method}", post(telegram_method))
            .fallback(other)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("the fake platform stopped: {e}");
            }
        });
        Ok(Self { shared, url, task })
    }

    /// Registers a wait for the next complete reply to `user` (before the update is posted: the reply may arrive
    /// before the webhook's own answer).
    pub fn expect(&self, user: &str) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.shared.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.insert(
            user.to_owned(),
            Waiter {
                tx,
                partial: String::new(),
                parts: 0,
            },
        );
        rx
    }

    /// Forgets a wait that timed out.
    pub fn forget(&self, user: &str) {
        self.shared
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// What Telegram does with a webhook's 200: the method its body names is called
    /// (<https://core.telegram.org/bots/api#making-requests-when-getting-updates>); here, counted.
    pub fn webhook_answered(&self, body: &[u8]) {
        let method = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("method").and_then(Value::as_str).map(str::to_owned));
        match method {
            Some(m) if m.eq_ignore_ascii_case("answercallbackquery") => {
                self.shared.counters.callback_answers.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {
                self.shared.counters.other.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    /// One message to `user`; `last` when it completes the reply to one update (it carries the buttons or the
    /// numbered choices), otherwise its text is kept for the last part.
    fn deliver(&self, user: &str, text: &str, payloads: Vec<String>, numbered: usize, last: bool) {
        let at = Instant::now();
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if !last {
            match waiters.get_mut(user) {
                Some(w) => {
                    w.partial.push_str(text);
                    w.partial.push('\n');
                    w.parts += 1;
                }
                None => {
                    self.counters.unexpected.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        match waiters.remove(user) {
            Some(w) => {
                drop(waiters);
                let text = if w.partial.is_empty() {
                    text.to_owned()
                } else {
                    format!("{}{text}", w.partial)
                };
                // The citizen may have given up (time-out) meanwhile: nothing to do then.
                let _ = w.tx.send(Reply {
                    text,
                    payloads,
                    numbered,
                    messages: w.parts + 1,
                    at,
                });
            }
            None => {
                self.counters.unexpected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn telegram_ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn bot_user() -> Value {
    json!({ "id": 7_000_000_001_i64, "is_bot": true, "first_name": "ykien bench", "username": "ykien_bench_bot" })
}

/// `POST {api}/bot{token}/{method}` (teloxide writes `SendMessage`, `AnswerCallbackQuery`: matched ignoring case).
async fn telegram_method(
    State(shared): State<Arc<Shared>>,
    Path((_bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if method.eq_ignore_ascii_case("sendmessage") {
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let chat_id = match params.get("chat_id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let text = params.get("text").and_then(Value::as_str).unwrap_or_default();
        let keyboard = params
            .pointer("/reply_markup/inline_keyboard")
            .and_then(Value::as_array);
        let payloads: Vec<String> = keyboard
            .map(|rows| {
                rows.iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|b| b.get("callback_data").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        shared.deliver(&chat_id, text, payloads, 0, keyboard.is_some());
        let message_id = shared.message_id.fetch_add(1, Ordering::Relaxed) + 1;
        let chat: i64 = chat_id.parse().unwrap_or_default();
        return telegram_ok(json!({
            "message_id": message_id,
            "from": bot_user(),
            "chat": { "id": chat, "type": "private", "first_name": "Bench" },
            "date": chrono::Utc::now().timestamp(),
            "text": text,
        }));
    }
    if method.eq_ignore_ascii_case("answercallbackquery") {
        shared.counters.callback_answers.fetch_add(1, Ordering::Relaxed);
        return telegram_ok(json!(true));
    }
    shared.counters.other.fetch_add(1, Ordering::Relaxed);
    if method.eq_ignore_ascii_case("getme") {
        let mut me = bot_user();
        for flag in [
            "can_join_groups",
            "can_read_all_group_messages",
            "supports_inline_queries",
            "can_connect_to_business",
            "has_main_web_app",
        ] {
            me[flag] = json!(false);
        }
        return telegram_ok(me);
    }
    telegram_ok(json!(true))
}

/// How many choices of a Zalo numbered list (`1. label` lines before "Gõ số để chọn.") are answers, not the
/// "previous question" and "pause" entries the dialogue adds after them.
fn numbered_answers(text: &str) -> usize {
    text.lines()
        .filter_map(|line| {
            let (number, label) = line.split_once(". ")?;
            (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(label)
        })
        .filter(|label| !label.starts_with('←') && !label.starts_with('⏸') && !label.starts_with("↩"))
        .count()
}

/// `POST {api}/v3.0/oa/message/cs`: `{recipient:{user_id}, message:{text, attachment?}}`.
async fn zalo_message(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let user = params
        .pointer("/recipient/user_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let text = params
        .pointer("/message/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let buttons = params
        .pointer("/message/attachment/payload/buttons")
        .and_then(Value::as_array);
    let payloads: Vec<String> = buttons
        .map(|buttons| {
            buttons
                .iter()
                .filter_map(|b| b.get("payload").and_then(Value::as_str))
                .map(|p| p.strip_prefix(ZALO_BUTTON_PREFIX).unwrap_or(p).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let listed = text.trim_end().ends_with(CHOOSE_BY_NUMBER);
    let numbered = if listed { numbered_answers(text) } else { 0 };
    shared.deliver(&user, text, payloads, numbered, buttons.is_some() || listed);
    let message_id = shared.message_id.fetch_add(1, Ordering::Relaxed) + 1;
    axum::Json(json!({
        "error": 0,
        "message": "Success",
        "data": { "message_id": format!("m{message_id}"), "user_id": user },
    }))
    .into_response()
}

/// `POST {oauth}/v4/oa/access_token`: a fresh pair valid 25 hours (the run never needs one: the tokens are stored
/// before the service starts, valid for a day).
async fn zalo_token(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.other.fetch_add(1, Ordering::Relaxed);
    let n = shared.message_id.fetch_add(1, Ordering::Relaxed);
    axum::Json(json!({
        "access_token": format!("bench-access-{n}"),
        "refresh_token": format!("bench-refresh-{n}"),
        "expires_in": "90000",
    }))
    .into_response()
}

async fn other(State(shared): State<Arc<Shared>>) -> Response {
    shared.counters.other.fetch_add(1, Ordering::Relaxed);
    (axum::http::StatusCode::NOT_FOUND, "not faked").into_response()
}

#[cfg(test)]
mod tests {
    use super::numbered_answers;

    #[test]
    fn numbered_lists_count_only_answers() {
        let text =
            "[10% · A]\nCâu hỏi?\n\n1. Có\n2. Không\n3. Không biết\n4. ← Câu trước\n5. ⏸ Tạm dừng\nGõ số để chọn.";
        assert_eq!(numbered_answers(text), 3);
    }
}
