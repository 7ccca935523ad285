//! The ways a citizen's update reaches the dialogue: `POST /webhooks/telegram` or `POST /webhooks/zalo` of a
//! running `ykien serve` with the reply caught by the fake platform, or [`Chats::take_turn`] called in-process (the
//! baseline), optionally with the event log's two writes the webhook path adds around it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use ykien::services::chat::{Chats, PhotoFetchError, PhotoFuture, PhotoSource};
use ykien::services::event_log::EventLog;
use ykien::storage::{HandledChatEvent, NewChatEvent};
use ykien_bots::message::{Channel, Inbound, InboundKind};

use crate::chat_citizen::{Action, Reply};
use crate::chat_load::{REPLY_TIMEOUT, Transport, Turn};
use crate::chat_platform::Platform;

/// The Telegram update a citizen's action becomes (as Telegram posts it).
pub fn telegram_update(update_id: u64, user: &str, action: &Action) -> String {
    let chat: i64 = user.parse().unwrap_or_default();
    let from = json!({ "id": chat, "is_bot": false, "first_name": "Lan", "language_code": "vi" });
    let private = json!({ "id": chat, "type": "private", "first_name": "Lan" });
    let date = Utc::now().timestamp();
    let message_id = (update_id % 1_000_000_000) as i64;
    let update = match action {
        Action::Press(payload) => json!({
            "update_id": update_id,
            "callback_query": {
                "id": format!("cb{update_id}"),
                "from": from,
                "message": { "message_id": message_id, "date": date, "chat": private, "text": "…" },
                "chat_instance": "42",
                "data": payload,
            }
        }),
        Action::Start(commune) => {
            json!({
                "update_id": update_id,
                "message": {
                    "message_id": message_id, "from": from, "chat": private, "date": date,
                    "text": format!("/start commune_{commune}"),
                    "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }],
                }
            })
        }
        Action::Say(text) => json!({
            "update_id": update_id,
            "message": { "message_id": message_id, "from": from, "chat": private, "date": date, "text": text }
        }),
    };
    update.to_string()
}

/// The Zalo `user_send_text` event a citizen's action becomes: a button press is the text `#yk:` + payload, the
/// start is the typed command.
pub fn zalo_event(event_id: u64, app_id: &str, user: &str, action: &Action) -> String {
    let text = match action {
        Action::Press(payload) => ykien_bots::zalo::button_payload(payload),
        Action::Start(commune) => format!("/start commune_{commune}"),
        Action::Say(text) => text.clone(),
    };
    let event: Value = json!({
        "app_id": app_id,
        "user_id_by_app": format!("9{user}"),
        "event_name": "user_send_text",
        "timestamp": Utc::now().timestamp_millis().to_string(),
        "sender": { "id": user },
        "recipient": { "id": "4339761418830368433" },
        "message": { "text": text, "msg_id": format!("bench-{event_id}") },
    });
    event.to_string()
}

pub enum Webhook {
    Telegram { secret: String },
    Zalo { app_id: String, oa_secret_key: String },
}

/// A running `ykien serve`'s webhook, with the fake platform catching the replies.
pub struct WebhookTransport {
    pub webhook: Webhook,
    pub url: String,
    pub client: reqwest::Client,
    pub platform: Arc<Platform>,
    pub next_event: AtomicU64,
}

impl WebhookTransport {
    pub fn new(webhook: Webhook, service_url: &str, platform: Arc<Platform>, citizens: usize) -> Result<Self, String> {
        let path = match webhook {
            Webhook::Telegram { .. } => "telegram",
            Webhook::Zalo { .. } => "zalo",
        };
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(citizens)
            .tcp_nodelay(true)
            .timeout(REPLY_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            webhook,
            url: format!("{service_url}/webhooks/{path}"),
            client,
            platform,
            next_event: AtomicU64::new(1),
        })
    }

    async fn post(&self, user: &str, action: &Action) -> Result<(), String> {
        let id = self.next_event.fetch_add(1, Ordering::Relaxed);
        let request = self.client.post(&self.url).header("content-type", "application/json");
        let request = match &self.webhook {
            Webhook::Telegram { secret } => request
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .body(telegram_update(id, user, action)),
            Webhook::Zalo { app_id, oa_secret_key } => {
                let body = zalo_event(id, app_id, user, action);
                let signature = ykien_bots::zalo::sign(body.as_bytes(), oa_secret_key).map_err(|e| e.to_string())?;
                request.header(ykien_bots::zalo::SIGNATURE_HEADER, signature).body(body)
            }
        };
        let response = request.send().await.map_err(|e| format!("webhook request: {e}"))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| format!("webhook answer: {e}"))?;
        if !status.is_success() {
            return Err(format!("webhook answered {status}: {}", String::from_utf8_lossy(&body)));
        }
        self.platform.webhook_answered(&body);
        Ok(())
    }
}

impl Transport for WebhookTransport {
    async fn turn(&self, user: &str, action: &Action, sent: Instant) -> Result<Turn, String> {
        let reply = self.platform.expect(user);
        if let Err(e) = self.post(user, action).await {
            self.platform.forget(user);
            return Err(e);
        }
        let ack = sent.elapsed();
        match tokio::time::timeout(REPLY_TIMEOUT, reply).await {
            Ok(Ok(reply)) => Ok(Turn { reply, ack: Some(ack) }),
            Ok(Err(_)) => Err("the reply waiter was dropped".to_owned()),
            Err(_) => {
                self.platform.forget(user);
                Err(format!("no reply within {} s", REPLY_TIMEOUT.as_secs()))
            }
        }
    }
}

/// Photos are never sent in this benchmark.
struct NoPhotos;

impl PhotoSource for NoPhotos {
    fn fetch<'a>(&'a self, _reference: &'a str, _max_bytes: usize) -> PhotoFuture<'a> {
        Box::pin(async { Err(PhotoFetchError::Failed("no photos in this benchmark".to_owned())) })
    }
}

/// The baseline: the same turns given to [`Chats::take_turn`] in this process (as Telegram events), no HTTP, no
/// platform; with `event_log`, also the webhook path's event log ([`EventLog`], as `ChatChannels` uses it): the event
/// recorded with the same raw update before, marked handled after.
pub struct InProcessTransport {
    pub chats: Chats,
    pub event_log: Option<EventLog>,
    pub next_event: AtomicU64,
}

impl Transport for InProcessTransport {
    async fn turn(&self, user: &str, action: &Action, _sent: Instant) -> Result<Turn, String> {
        let id = self.next_event.fetch_add(1, Ordering::Relaxed);
        let event_id = id.to_string();
        let kind = match action {
            Action::Start(commune) => InboundKind::Command {
                name: "start".to_owned(),
                payload: Some(format!("commune_{commune}")),
            },
            Action::Press(payload) => InboundKind::Button {
                payload: payload.clone(),
                callback_id: Some(format!("cb{id}")),
                message_id: None,
            },
            Action::Say(text) => InboundKind::Text(text.clone()),
        };
        let inbound = Inbound {
            channel: Channel::Telegram,
            event_id,
            user_id: user.to_owned(),
            at_ms: Some(Utc::now().timestamp_millis()),
            kind,
        };
        let channel = Channel::Telegram.as_str();
        if let Some(log) = &self.event_log {
            let now = Utc::now();
            let kind = match action {
                Action::Start(_) => "command",
                Action::Press(_) => "button",
                Action::Say(_) => "text",
            };
            log.record(NewChatEvent {
                channel: channel.to_owned(),
                event_id: inbound.event_id.clone(),
                kind,
                user_id: Some(user.to_owned()),
                raw: telegram_update(id, user, action),
                received_at: now,
                claimed_until: now + chrono::Duration::minutes(2),
            })
            .await
            .map_err(|e| e.to_string())?;
        }
        let handled = self
            .chats
            .take_turn(&inbound, &NoPhotos, Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        let at = Instant::now();
        let last = handled
            .replies
            .iter()
            .rev()
            .find(|m| !m.buttons.is_empty())
            .or(handled.replies.last())
            .ok_or("the dialogue sent no reply")?;
        let reply = Reply {
            text: handled
                .replies
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            payloads: last.buttons.iter().map(|b| b.payload.clone()).collect(),
            numbered: 0,
            messages: handled.replies.len(),
            at,
        };
        if let Some(log) = &self.event_log {
            log.handled(HandledChatEvent {
                channel: channel.to_owned(),
                event_id: inbound.event_id.clone(),
                keep_raw: false,
            });
        }
        Ok(Turn { reply, ack: None })
    }
}
