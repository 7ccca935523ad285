//! The chat channels at work: the webhook events of Telegram and Zalo, from the moment they are stored to the
//! replies sent. Beside it: the platforms' clients and the Zalo OA's tokens (`clients`), and the outbox senders that
//! bring case news and campaigns to the chats (`sender`).
//!
//! A webhook's event is answered 200 once it is stored ([`ChatChannels::accept`]). Under a lock per chat, the
//! dialogue takes its turn ([`Chats::take_turn`] decides and stores); the replies go out through the channel's
//! client in `ykien-bots`, and the event is marked handled (the marks are written in groups: [`EventLog`]). A survey
//! step — most updates — is one commit: the event, with the replies to send, goes in the turn's own transaction,
//! before the 200. Any other event is recorded first (in groups), answered, and its turn taken in the background
//! ([`ChatChannels::receive`]). An instance that dies in between leaves the event claimed for a short while; then
//! any instance takes it up again ([`ChatChannels::recover`]): it sends the stored replies, or takes the turn.
//! Platform clients never appear above this module.

mod clients;
mod sender;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Notify, OwnedMutexGuard};
use ykien_bots::message::{Channel, DeliveryError, Inbound, InboundKind, Outbound};
use ykien_bots::telegram;

use clients::ChatClient;
pub use clients::{REFRESH_BEFORE, TelegramChannel, ZaloChannel, ZaloTokens};
use sender::ChannelSender;

use super::Error;
use super::chat::{ChatTurn, Chats};
use super::event_log::{EventLog, EventRecord};
use super::outbox::Sender;
use super::reach::zalo_rules::{self, QuotaSource};
use crate::storage::{HandledChatEvent, NewChatEvent, Store};

/// How long the instance that received an event has to handle it before another may.
pub const EVENT_CLAIM: Duration = Duration::minutes(2);
/// How long a webhook waits for the chat's previous event to be answered before it records its own to be taken
/// after it, in the background ([`ChatChannels::accept`]).
const CHAT_BUSY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// One lock per chat in this process, held from a turn's decision until its replies are sent, so that two events
/// of one person are answered one at a time, in the order they came.
#[derive(Default)]
struct ChatLocks(Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>);

impl ChatLocks {
    fn get(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = map.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        if map.len() > 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(key.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// The chat channels that are configured, and what they share.
pub struct ChatChannels {
    store: Store,
    chats: Arc<Chats>,
    events: EventLog,
    locks: ChatLocks,
    pub telegram: Option<Arc<TelegramChannel>>,
    pub zalo: Option<Arc<ZaloChannel>>,
    /// Wakes the outbox worker when messages became due (a citizen who could not be reached wrote again).
    outbox: Arc<Notify>,
}

/// The storage name of an event's kind.
fn kind_name(kind: &InboundKind) -> &'static str {
    match kind {
        InboundKind::Text(_) => "text",
        InboundKind::Command { .. } => "command",
        InboundKind::Button { .. } => "button",
        InboundKind::Photo { .. } => "photo",
        InboundKind::Voice { .. } => "voice",
        InboundKind::Location { .. } => "location",
        InboundKind::ContactInfo { .. } => "contact",
        InboundKind::Followed => "followed",
        InboundKind::Unfollowed => "unfollowed",
        InboundKind::Receipt { .. } => "receipt",
        InboundKind::Echo => "echo",
        InboundKind::Unsupported { .. } => "unsupported",
    }
}

impl ChatChannels {
    pub fn new(
        store: Store,
        chats: Arc<Chats>,
        telegram: Option<Arc<TelegramChannel>>,
        zalo: Option<Arc<ZaloChannel>>,
        outbox: Arc<Notify>,
    ) -> Self {
        Self {
            events: EventLog::start(store.clone()),
            store,
            chats,
            locks: ChatLocks::default(),
            telegram,
            zalo,
            outbox,
        }
    }

    /// The outbox senders of the configured channels.
    pub fn senders(&self) -> Vec<Arc<dyn Sender>> {
        let mut senders: Vec<Arc<dyn Sender>> = Vec::new();
        if let Some(client) = &self.telegram {
            let name = Channel::Telegram.as_str();
            senders.push(Arc::new(ChannelSender::new(
                name,
                client.clone(),
                self.store.clone(),
                None,
            )));
        }
        if let Some(client) = &self.zalo {
            let rules = Some(client.clone() as Arc<dyn QuotaSource>);
            let name = Channel::Zalo.as_str();
            senders.push(Arc::new(ChannelSender::new(
                name,
                client.clone(),
                self.store.clone(),
                rules,
            )));
        }
        senders
    }

    /// Takes in a webhook's event; returns once it is stored, `false` for a repeated delivery, which is not handled
    /// again. A pressed button or a text (most updates, in a survey) has its turn taken now: a survey step stores
    /// its event in the turn's own transaction ([`Chats::take_turn`]), and the replies go out in the background. Any
    /// other event (a photo to download, a location…) is recorded first, in a group with the events that come
    /// meanwhile ([`EventLog`]), and received in the background ([`ChatChannels::receive`]). `acknowledged`: a
    /// pressed Telegram button is answered in the webhook's 200, so its spinner needs no `answerCallbackQuery` of
    /// its own.
    pub async fn accept(self: &Arc<Self>, inbound: Inbound, raw: &str, acknowledged: bool) -> Result<bool, Error> {
        let now = Utc::now();
        let event = NewChatEvent {
            channel: inbound.channel.as_str().to_owned(),
            event_id: inbound.event_id.clone(),
            kind: kind_name(&inbound.kind),
            user_id: (!inbound.user_id.is_empty()).then(|| inbound.user_id.clone()),
            raw: raw.to_owned(),
            received_at: now,
            claimed_until: now + EVENT_CLAIM,
            replies: None,
        };
        if matches!(inbound.kind, InboundKind::Button { .. } | InboundKind::Text(_)) {
            if inbound.channel == Channel::Telegram
                && let Some(client) = self.telegram.clone()
            {
                return self.take_now(inbound, client, event, acknowledged).await;
            }
            if inbound.channel == Channel::Zalo
                && let Some(client) = self.zalo.clone()
            {
                return self.take_now(inbound, client, event, acknowledged).await;
            }
        }
        self.record_then_receive(inbound, event, acknowledged).await
    }

    /// Records an event ahead of its turn, which is taken in the background.
    async fn record_then_receive(
        self: &Arc<Self>,
        inbound: Inbound,
        event: NewChatEvent,
        acknowledged: bool,
    ) -> Result<bool, Error> {
        if !self.events.record(event).await? {
            return Ok(false);
        }
        let channels = self.clone();
        tokio::spawn(async move { channels.receive(inbound, acknowledged, None).await });
        Ok(true)
    }

    /// Waits until every event handled so far is marked so in the database (at shutdown, and in tests).
    pub async fn flush(&self) {
        self.events.flush().await;
    }

    /// [`ChatChannels::accept`] of a button or a text: the turn under the chat's lock, then its replies in the
    /// background, the lock going with them. A turn that fails leaves its event recorded and unhandled, for
    /// [`ChatChannels::recover`] to take up. When the chat's previous event is still being answered (its replies
    /// held back by the platform's limits, a photo downloading), the event is recorded and taken after it in the
    /// background instead: a webhook must not wait for that (Zalo sends again what is not answered in about two
    /// seconds).
    async fn take_now<C: ChatClient + 'static>(
        self: &Arc<Self>,
        inbound: Inbound,
        client: Arc<C>,
        event: NewChatEvent,
        acknowledged: bool,
    ) -> Result<bool, Error> {
        let lock = self.locks.get(&chat_key(&inbound));
        let Ok(order) = tokio::time::timeout(CHAT_BUSY_AFTER, lock.lock_owned()).await else {
            return self.record_then_receive(inbound, event, acknowledged).await;
        };
        let record = EventRecord::Pending {
            event: &event,
            log: &self.events,
        };
        match self
            .chats
            .take_turn(&inbound, client.as_ref(), Utc::now(), record)
            .await
        {
            Ok(None) => Ok(false),
            Ok(Some(turn)) => {
                let channels = self.clone();
                tokio::spawn(async move {
                    let sent = channels.deliver(&inbound, client.as_ref(), turn, order).await;
                    channels.finish(&inbound, sent);
                });
                Ok(true)
            }
            Err(e) => {
                drop(order);
                self.open_window_anyway(&inbound).await;
                self.finish(&inbound, Err(e));
                // Recorded now unless the turn recorded it ahead of a failure: either way it is stored.
                self.events.record(event).await.map(|_| true)
            }
        }
    }

    /// Receives a recorded event: the dialogue takes its turn (or, when `stored`, its turn was taken and stored with
    /// the event: these are its replies), the replies are sent in order, the event is marked handled. On failure
    /// the event stays unhandled and [`ChatChannels::recover`] takes it up later.
    async fn receive(&self, inbound: Inbound, acknowledged: bool, stored: Option<Vec<Outbound>>) {
        let result = match inbound.channel {
            Channel::Telegram => match &self.telegram {
                Some(client) => self.answer(&inbound, client.as_ref(), acknowledged, stored).await,
                None => Ok(()),
            },
            Channel::Zalo => match &self.zalo {
                Some(client) => self.answer(&inbound, client.as_ref(), acknowledged, stored).await,
                None => Ok(()),
            },
            // No platform sends these: webhooks only parse into the chat channels.
            Channel::Web | Channel::Api | Channel::Hotline | Channel::WalkIn | Channel::Letter | Channel::Email => {
                Ok(())
            }
        };
        self.finish(&inbound, result);
    }

    /// Marks a handled event so (not waited for: [`EventLog`]), or says why it stays unhandled.
    fn finish(&self, inbound: &Inbound, result: Result<(), Error>) {
        match result {
            Ok(()) => self.events.handled(HandledChatEvent {
                channel: inbound.channel.as_str().to_owned(),
                event_id: inbound.event_id.clone(),
                keep_raw: matches!(inbound.kind, InboundKind::Unsupported { .. }),
            }),
            Err(e) => {
                tracing::error!(channel = inbound.channel.as_str(), event = %inbound.event_id, error = %e, "a chat event could not be handled; it will be retried");
            }
        }
    }

    /// One turn of a recorded event (or its `stored` replies) under the chat's lock, then its replies.
    async fn answer<C: ChatClient>(
        &self,
        inbound: &Inbound,
        client: &C,
        acknowledged: bool,
        stored: Option<Vec<Outbound>>,
    ) -> Result<(), Error> {
        // Stops the spinner on a pressed Telegram button (unless the webhook's 200 did) while the turn is taken, not
        // before it: the reply itself is the next message, and one more round trip to the platform on the way would
        // only add latency.
        let stop_spinner = async {
            if let (
                InboundKind::Button {
                    callback_id: Some(id), ..
                },
                Some(telegram),
                false,
            ) = (&inbound.kind, &self.telegram, acknowledged)
                && let Err(e) = telegram.client().answer_callback(id, None).await
            {
                tracing::debug!(error = %e, "answerCallbackQuery failed");
            }
        };
        let take_turn = async {
            let order = self.locks.get(&chat_key(inbound)).lock_owned().await;
            let turn = match stored {
                Some(replies) => Ok(Some(ChatTurn {
                    replies,
                    outbox_due: false,
                })),
                None => {
                    self.chats
                        .take_turn(inbound, client, Utc::now(), EventRecord::Done)
                        .await
                }
            };
            (order, turn)
        };
        let ((), (order, turn)) = tokio::join!(stop_spinner, take_turn);
        match turn {
            Ok(turn) => self.deliver(inbound, client, turn.unwrap_or_default(), order).await,
            Err(e) => {
                drop(order);
                self.open_window_anyway(inbound).await;
                Err(e)
            }
        }
    }

    /// What follows a turn: Zalo's reply window opened (the replies quote the user's message, and what waited for
    /// them over the quota may go), the outbox woken if messages became due, the replies sent in order under the
    /// chat's lock (`order`), then the pressed Telegram message's buttons removed.
    async fn deliver<C: ChatClient>(
        &self,
        inbound: &Inbound,
        client: &C,
        turn: ChatTurn,
        order: OwnedMutexGuard<()>,
    ) -> Result<(), Error> {
        // Opened once the turn is decided, with the replies the turn takes from it, in one write
        // ([`Store::zalo_message_answered`]).
        let (quotes, waiting) = match zalo_window(inbound) {
            None => (Vec::new(), 0),
            Some(at) => {
                let quotes = zalo_rules::quotes_in_new_window(&inbound.event_id, &turn.replies);
                let taken = quotes.iter().map(|q| q.1).sum();
                let waiting = self
                    .store
                    .zalo_message_answered(&inbound.user_id, &inbound.event_id, at, taken, Utc::now())
                    .await?;
                (quotes.into_iter().map(|q| q.0).collect(), waiting)
            }
        };
        if turn.outbox_due || waiting > 0 {
            self.outbox.notify_one();
        }
        let sent = self.send_replies(inbound, client, &turn.replies, &quotes).await;
        // The chat's next event need not wait for what follows: it changes the pressed message, not the dialogue.
        drop(order);
        // The pressed message's buttons are taken away once its answer is out (not before: under Telegram's limit
        // of a message a second per chat the removal would hold the answer back), so that an old question cannot
        // be answered twice. Zalo's buttons cannot be changed: there the dialogue answers a stale press.
        if let (
            InboundKind::Button {
                message_id: Some(message_id),
                ..
            },
            Some(telegram),
        ) = (&inbound.kind, &self.telegram)
            && inbound.channel == Channel::Telegram
            && let Err(e) = telegram.client().remove_buttons(&inbound.user_id, message_id).await
        {
            tracing::debug!(error = %e, "editMessageReplyMarkup failed");
        }
        sent
    }

    /// A Zalo user wrote though their turn failed: their reply window opens all the same, and what waited for them
    /// may go.
    async fn open_window_anyway(&self, inbound: &Inbound) {
        if let Some(at) = zalo_window(inbound)
            && let Err(e) = self
                .store
                .zalo_message_answered(&inbound.user_id, &inbound.event_id, at, 0, Utc::now())
                .await
        {
            tracing::warn!(error = %e, "a Zalo reply window could not be opened");
        }
    }

    /// Sends a turn's replies in order, each quoting the message of its `quotes` entry if any (Zalo); stops at the
    /// first that cannot be delivered (the dialogue has moved on and is stored: the citizen sees the next prompt when
    /// they write again).
    async fn send_replies<C: ChatClient>(
        &self,
        inbound: &Inbound,
        client: &C,
        replies: &[Outbound],
        quotes: &[Option<String>],
    ) -> Result<(), Error> {
        for (i, reply) in replies.iter().enumerate() {
            let quote = quotes.get(i).cloned().flatten();
            match client.deliver_quoting(&inbound.user_id, quote.as_deref(), reply).await {
                Ok(()) => {}
                Err(DeliveryError::Unreachable(why)) => {
                    tracing::info!(channel = inbound.channel.as_str(), reason = %why, "a reply could not reach the citizen");
                    self.store
                        .set_chat_reachable(inbound.channel.as_str(), &inbound.user_id, false)
                        .await?;
                    break;
                }
                Err(e) => {
                    tracing::warn!(channel = inbound.channel.as_str(), error = %e, "a reply was not delivered");
                    break;
                }
            }
        }
        Ok(())
    }

    /// Takes up events that were recorded but never handled, once their claim ran out (their instance died or
    /// handling failed), and handles them. Returns how many were taken.
    pub async fn recover(&self, batch: i64) -> Result<usize, Error> {
        let now = Utc::now();
        let events = self
            .store
            .claim_unhandled_chat_events(now, now + EVENT_CLAIM, batch)
            .await?;
        let count = events.len();
        for event in events {
            let parsed = match event.channel.as_str() {
                "telegram" => telegram_parse(event.raw.as_bytes()),
                "zalo" => ykien_bots::zalo::parse_event(event.raw.as_bytes()).map_err(|e| e.to_string()),
                channel => Err(format!("unknown channel {channel}")),
            };
            // A turn taken and stored with its event left only its replies to send.
            let stored = event
                .replies
                .as_deref()
                .map(serde_json::from_str::<Vec<Outbound>>)
                .transpose()
                .map_err(|e| format!("its stored replies do not read: {e}"));
            let (channel, event_id) = (event.channel, event.event_id);
            match parsed.and_then(|inbound| Ok((inbound, stored?))) {
                Ok((inbound, stored)) => {
                    tracing::info!(channel, event = %event_id, "handling a chat event left unhandled");
                    // Its webhook's 200, if it went out, may have answered a pressed button: answering again only
                    // fails quietly, and a spinner left turning would not.
                    self.receive(inbound, false, stored).await;
                }
                Err(why) => {
                    tracing::warn!(channel, event = %event_id, error = %why, "a stored chat event no longer reads; dropped");
                    self.events.handled(HandledChatEvent {
                        channel,
                        event_id,
                        keep_raw: true,
                    });
                }
            }
        }
        Ok(count)
    }
}

/// The key of a chat's lock.
fn chat_key(inbound: &Inbound) -> String {
    format!("{}:{}", inbound.channel.as_str(), inbound.user_id)
}

/// When a Zalo user's message opens Zalo's reply window: the platform's time of the message, unless it is not a
/// plausible one (in the future, or older than a window: a clock Zalo's and ours disagree on, or a replayed test
/// event), then the time it came. `None` for anything else.
fn zalo_window(inbound: &Inbound) -> Option<DateTime<Utc>> {
    (inbound.channel == Channel::Zalo && inbound.kind.feeds_dialogue() && !inbound.user_id.is_empty()).then(|| {
        let now = Utc::now();
        inbound
            .at_ms
            .and_then(DateTime::from_timestamp_millis)
            .filter(|t| *t <= now && *t > now - zalo_rules::REPLY_WINDOW)
            .unwrap_or(now)
    })
}

fn telegram_parse(raw: &[u8]) -> Result<Inbound, String> {
    telegram::parse_update(raw).map_err(|e| e.to_string())
}
