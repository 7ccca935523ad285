//! A citizen in a private Telegram chat with the bot, for the tests that drive the bot through its webhook: each
//! action posts an update as Telegram posts it and waits for the bot's next message to that chat at the fake Bot
//! API. With several service addresses, consecutive updates go to each in turn (instances behind a load
//! balancer). Included with `#[path = "common/telegram.rs"] mod telegram;` next to `fake_telegram` and `chat`.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{ChatCitizen, Reply};
use crate::fake_telegram::FakeTelegram;

/// How long the bot may take to answer.
const WAIT: Duration = Duration::from_secs(20);

/// A private chat with the bot.
pub struct TelegramCitizen<'a> {
    /// The service's base URLs; updates go to each in turn.
    bases: Vec<String>,
    secret: String,
    client: reqwest::Client,
    fake: &'a FakeTelegram,
    pub chat: i64,
    next_update: i64,
    /// Updates posted so far (which base the next goes to).
    posted: usize,
}

impl<'a> TelegramCitizen<'a> {
    /// The chat `chat`, posting to the webhook of `bases` with the webhook `secret`.
    pub fn new(bases: &[&str], secret: &str, fake: &'a FakeTelegram, chat: i64) -> Self {
        Self {
            bases: bases.iter().map(|b| (*b).to_owned()).collect(),
            secret: secret.to_owned(),
            client: reqwest::Client::new(),
            fake,
            chat,
            next_update: chat * 1000,
            posted: 0,
        }
    }

    pub fn user(&self) -> Value {
        json!({ "id": self.chat, "is_bot": false, "first_name": "Lan", "language_code": "vi" })
    }

    pub fn message(&mut self, content: Value) -> Value {
        self.next_update += 1;
        let mut message = json!({
            "message_id": self.next_update % 1_000_000,
            "from": self.user(),
            "chat": { "id": self.chat, "type": "private", "first_name": "Lan" },
            "date": 1_764_000_000,
        });
        for (k, v) in content.as_object().unwrap() {
            message[k] = v.clone();
        }
        json!({ "update_id": self.next_update, "message": message })
    }

    /// Posts an update and waits for the next message to this chat.
    pub async fn send(&mut self, update: Value) -> Reply {
        let before = self.fake.sent_texts(self.chat).len();
        let base = &self.bases[self.posted % self.bases.len()];
        self.posted += 1;
        let response = self
            .client
            .post(format!("{base}/webhooks/telegram"))
            .header("content-type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", &self.secret)
            .body(update.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "the update was accepted by {base}");
        // As Telegram does: a method in the 200's body is called.
        self.fake.webhook_answered(&response.bytes().await.unwrap());
        self.reply_after(before).await
    }

    /// The bot's answer: the messages it sent to this chat after the first `before`, their texts joined as the
    /// citizen reads them, the buttons of the last. A message that only removes a reply keyboard is followed by the
    /// rest of its answer (Telegram cannot remove one and show buttons in one message), which is waited for.
    pub async fn reply_after(&self, before: usize) -> Reply {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut settle: Option<tokio::time::Instant> = None;
        loop {
            let sent: Vec<Value> = self
                .fake
                .calls_of("sendmessage")
                .into_iter()
                .filter(|p| p["chat_id"].to_string().trim_matches('"') == self.chat.to_string())
                .collect();
            if sent.len() > before {
                let last = sent.last().unwrap();
                let only_removes = last["reply_markup"] == json!({ "remove_keyboard": true });
                let waited = settle.get_or_insert_with(|| tokio::time::Instant::now() + Duration::from_secs(2));
                if !only_removes || tokio::time::Instant::now() > *waited {
                    let payloads = last["reply_markup"]["inline_keyboard"]
                        .as_array()
                        .map(|rows| {
                            rows.iter()
                                .flat_map(|r| r.as_array().unwrap().iter())
                                .map(|b| b["callback_data"].as_str().unwrap().to_owned())
                                .collect()
                        })
                        .unwrap_or_default();
                    let texts: Vec<&str> = sent[before..].iter().map(|m| m["text"].as_str().unwrap()).collect();
                    return Reply {
                        text: texts.join("\n\n"),
                        payloads,
                    };
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no reply to chat {}", self.chat);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn start(&mut self, payload: &str) -> Reply {
        let text = format!("/start {payload}");
        let update = self.message(json!({
            "text": text,
            "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }],
        }));
        self.send(update).await
    }

    pub async fn photo(&mut self, file_id: &str) -> Reply {
        let update = self.message(json!({
            "photo": [{ "file_id": file_id, "file_unique_id": format!("u{file_id}"), "width": 90, "height": 60 }],
        }));
        self.send(update).await
    }

    pub async fn location(&mut self, lat: f64, lon: f64) -> Reply {
        let update = self.message(json!({ "location": { "latitude": lat, "longitude": lon } }));
        self.send(update).await
    }
}

impl ChatCitizen for TelegramCitizen<'_> {
    async fn say(&mut self, text: &str) -> Reply {
        let update = self.message(json!({ "text": text }));
        self.send(update).await
    }

    async fn press(&mut self, payload: &str) -> Reply {
        self.next_update += 1;
        let update = json!({
            "update_id": self.next_update,
            "callback_query": {
                "id": format!("cb{}", self.next_update),
                "from": self.user(),
                "message": {
                    "message_id": 1,
                    "date": 1_764_000_000,
                    "chat": { "id": self.chat, "type": "private", "first_name": "Lan" },
                    "text": "…",
                },
                "chat_instance": "42",
                "data": payload,
            }
        });
        self.send(update).await
    }

    async fn voice(&mut self, name: &str, bytes: &[u8]) -> Reply {
        self.fake.add_file(name, bytes.to_vec());
        let update = self.message(json!({
            "voice": { "file_id": name, "file_unique_id": format!("u{name}"), "duration": 7, "mime_type": "audio/ogg" },
        }));
        self.send(update).await
    }

    async fn sticker(&mut self) -> Reply {
        let update = self.message(json!({
            "sticker": { "file_id": "st", "file_unique_id": "ust", "type": "regular", "width": 512, "height": 512,
                         "is_animated": false, "is_video": false },
        }));
        self.send(update).await
    }
}
