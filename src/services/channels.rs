//! The chat channels at work: the webhook events of Telegram and Zalo, from the moment they are stored to the
//! replies sent; the outbox senders that bring case news to the chats; the Zalo OA's tokens.
//!
//! An event is answered 200 as soon as it is recorded (with its raw body), then received in the background
//! ([`ChatChannels::receive`]): under a lock per chat, the dialogue takes its turn ([`Chats::take_turn`] decides and
//! stores), the replies go out through the channel's client in `ykien-bots`, and the event is marked handled (the
//! log is written in groups: [`EventLog`]). An instance that dies in between leaves the event claimed for a short
//! while; then any instance takes it up again ([`ChatChannels::recover`]). Platform clients never appear above
//! this module.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use ykien_bots::message::{Channel, DeliveryError, Inbound, InboundKind, Outbound};
use ykien_bots::telegram::{self, Limits, TelegramClient};
use ykien_bots::zalo_api::{self, ZaloClient, ZaloError};

use super::Error;
use super::chat::{Chats, PhotoFetchError, PhotoFuture, PhotoSource};
use super::event_log::EventLog;
use super::outbox::{MarkFuture, SendError, SendFuture, Sender, SentAs};
use super::reach::zalo_rules::{self, QuotaFuture, QuotaSource, ZaloKind};
use crate::config::{TelegramConfig, ZaloConfig};
use crate::storage::{HandledChatEvent, NewChatEvent, Store};

/// How long the instance that received an event has to handle it before another may.
pub const EVENT_CLAIM: Duration = Duration::minutes(2);
/// Zalo access tokens are refreshed this long before they expire (they last 25 hours).
pub const REFRESH_BEFORE: Duration = Duration::hours(1);
/// How long one instance may hold the right to refresh Zalo's tokens: well past the OAuth request's own timeout
/// (30 s) and the storing of the new pair, so that a slow refresh cannot outlive its lease while another instance
/// starts one with the same single-use refresh token.
const REFRESH_LEASE: Duration = Duration::minutes(2);

/// The future of [`ChatClient::deliver`].
type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// What a channel must do for the dialogue: fetch photos and deliver messages.
trait ChatClient: PhotoSource {
    fn deliver<'a>(&'a self, user_id: &'a str, message: &'a Outbound) -> DeliverFuture<'a>;
    /// Delivers as a reply quoting the user's message `quote` where the platform has such a thing (Zalo).
    fn deliver_quoting<'a>(
        &'a self,
        user_id: &'a str,
        _quote: Option<&'a str>,
        message: &'a Outbound,
    ) -> DeliverFuture<'a> {
        self.deliver(user_id, message)
    }
}

/// The Telegram bot: its client and the secret its webhook requests carry.
pub struct TelegramChannel {
    client: TelegramClient,
    webhook_secret: String,
    /// The bot's username, once `getMe` told it: what commune posters link to.
    username: std::sync::OnceLock<String>,
}

impl TelegramChannel {
    pub fn new(config: &TelegramConfig) -> Result<Self, String> {
        let limits = Limits {
            overall_per_second: f64::from(config.max_per_second),
            per_chat_per_second: f64::from(config.per_chat_per_second),
        };
        let client = TelegramClient::new(config.token.expose(), &config.api_url, limits).map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            webhook_secret: config.webhook_secret.expose().to_owned(),
            username: std::sync::OnceLock::new(),
        })
    }

    /// Asks Telegram for the bot's username (retrying through an outage at start-up).
    pub async fn learn_username(&self) {
        match self.client.get_me_with_retries(8).await {
            Ok(name) => {
                tracing::info!(bot = %name, "the Telegram bot is ready");
                let _ = self.username.set(name);
            }
            Err(e) => tracing::error!(error = %e, "Telegram did not tell the bot's username; poster links are off"),
        }
    }

    /// The deep link a commune's poster carries: `https://t.me/<bot>?start=commune_<code>`, once the bot's username
    /// is known.
    pub fn commune_link(&self, commune: &str) -> Option<String> {
        let bot = self.username.get()?;
        telegram::deep_link(bot, &super::chat::commune_payload(commune)).ok()
    }

    /// Whether a webhook request's `X-Telegram-Bot-Api-Secret-Token` is ours (compared in constant time).
    pub fn accepts_secret(&self, header: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        header.is_some_and(|h| bool::from(h.ct_eq(self.webhook_secret.as_bytes())))
    }

    /// The client, for `ykien telegram set-webhook`.
    pub fn client(&self) -> &TelegramClient {
        &self.client
    }
}

impl PhotoSource for TelegramChannel {
    fn fetch<'a>(&'a self, reference: &'a str, max_bytes: usize) -> PhotoFuture<'a> {
        Box::pin(async move {
            self.client.download(reference, max_bytes).await.map_err(|e| match e {
                telegram::DownloadError::TooLarge { .. } => PhotoFetchError::TooLarge,
                telegram::DownloadError::Failed(e) => PhotoFetchError::Failed(e.to_string()),
            })
        })
    }
}

impl ChatClient for TelegramChannel {
    fn deliver<'a>(&'a self, user_id: &'a str, message: &'a Outbound) -> DeliverFuture<'a> {
        Box::pin(async move { self.client.send(user_id, message).await.map(drop) })
    }
}

/// The Zalo Official Account: its client, the key that signs its webhook events, and its tokens.
pub struct ZaloChannel {
    client: ZaloClient,
    oa_secret_key: String,
    tokens: ZaloTokens,
}

impl ZaloChannel {
    pub fn new(config: &ZaloConfig, store: Store) -> Result<Self, String> {
        let client = ZaloClient::new(config.app_id.clone(), config.app_secret.expose())
            .map_err(|e| e.to_string())?
            .with_api_url(config.api_url.clone())
            .with_oauth_url(config.oauth_url.clone());
        Ok(Self {
            tokens: ZaloTokens {
                store,
                client: client.clone(),
            },
            client,
            oa_secret_key: config.oa_secret_key.expose().to_owned(),
        })
    }

    /// The key webhook signatures are checked with.
    pub fn oa_secret_key(&self) -> &str {
        &self.oa_secret_key
    }

    pub fn tokens(&self) -> &ZaloTokens {
        &self.tokens
    }
}

impl PhotoSource for ZaloChannel {
    fn fetch<'a>(&'a self, reference: &'a str, max_bytes: usize) -> PhotoFuture<'a> {
        Box::pin(async move {
            self.client.download(reference, max_bytes).await.map_err(|e| match e {
                zalo_api::DownloadError::TooLarge => PhotoFetchError::TooLarge,
                zalo_api::DownloadError::Failed(why) => PhotoFetchError::Failed(why),
            })
        })
    }
}

impl QuotaSource for ZaloChannel {
    fn read_quota(&self) -> QuotaFuture<'_> {
        Box::pin(async move {
            let token = self.tokens.access_token().await.map_err(|e| e.to_string())?;
            self.client
                .message_quota(&token)
                .await
                .map(|q| (q.remain, q.total))
                .map_err(|e| e.to_string())
        })
    }
}

impl ChatClient for ZaloChannel {
    fn deliver<'a>(&'a self, user_id: &'a str, message: &'a Outbound) -> DeliverFuture<'a> {
        self.deliver_quoting(user_id, None, message)
    }

    /// Sends with the current access token; when Zalo refuses it (-216, -220), refreshes once and sends again.
    fn deliver_quoting<'a>(
        &'a self,
        user_id: &'a str,
        quote: Option<&'a str>,
        message: &'a Outbound,
    ) -> DeliverFuture<'a> {
        Box::pin(async move {
            let token = self.tokens.access_token().await?;
            match self.client.send_quoting(&token, user_id, quote, message).await {
                Ok(_) => Ok(()),
                Err(ZaloError::TokenInvalid { code }) => {
                    tracing::warn!(code, "Zalo refused the OA access token; refreshing it");
                    let token = self.tokens.refresh_rejected(&token).await?;
                    self.client
                        .send_quoting(&token, user_id, quote, message)
                        .await
                        .map(drop)
                        .map_err(|e| e.delivery())
                }
                Err(e) => Err(e.delivery()),
            }
        })
    }
}

/// The Zalo OA's tokens, kept in the database. A refresh token works once, so one refresh at a time across all
/// instances: whoever takes the lease on the row refreshes and stores both new tokens before using them; the
/// others wait for the new row.
pub struct ZaloTokens {
    store: Store,
    client: ZaloClient,
}

const ZALO: &str = "zalo";

impl ZaloTokens {
    /// Stores the first tokens from a refresh token an OA administrator got by authorising the app
    /// (`ykien zalo connect`); returns when the access token expires.
    pub async fn connect(&self, refresh_token: &str) -> Result<DateTime<Utc>, ZaloError> {
        let tokens = self.client.refresh(refresh_token).await?;
        let now = Utc::now();
        let expires_at = now + Duration::seconds(tokens.expires_in_secs);
        self.store
            .store_channel_tokens(ZALO, &tokens.access_token, &tokens.refresh_token, expires_at, now)
            .await
            .map_err(|e| ZaloError::BadResponse(format!("the new tokens could not be stored: {e}")))?;
        Ok(expires_at)
    }

    /// Refreshes the access token ahead of its expiry; nothing when the OA is not connected yet.
    pub async fn keep_fresh(&self) -> Result<(), DeliveryError> {
        let connected = self
            .store
            .channel_tokens(ZALO)
            .await
            .map_err(|e| DeliveryError::Retry(e.to_string()))?
            .is_some();
        if connected {
            self.access_token().await?;
        }
        Ok(())
    }

    /// An access token valid for a while yet, refreshing it first when it expires within [`REFRESH_BEFORE`].
    pub async fn access_token(&self) -> Result<String, DeliveryError> {
        let row = self.row().await?;
        if row.expires_at - REFRESH_BEFORE > Utc::now() {
            return Ok(row.access_token);
        }
        self.refresh(row).await
    }

    /// A new access token after Zalo refused `rejected`, unless another caller already replaced it.
    pub async fn refresh_rejected(&self, rejected: &str) -> Result<String, DeliveryError> {
        let row = self.row().await?;
        if row.access_token != rejected && row.refreshing_until.is_none() {
            return Ok(row.access_token);
        }
        self.refresh(row).await
    }

    async fn row(&self) -> Result<crate::storage::TokenRow, DeliveryError> {
        self.store
            .channel_tokens(ZALO)
            .await
            .map_err(|e| DeliveryError::Retry(e.to_string()))?
            .ok_or_else(|| {
                DeliveryError::Retry(
                    "the Zalo OA is not connected yet; run: ykien zalo connect --refresh-token …".to_owned(),
                )
            })
    }

    async fn refresh(&self, row: crate::storage::TokenRow) -> Result<String, DeliveryError> {
        let now = Utc::now();
        let retry = |e: crate::storage::StoreError| DeliveryError::Retry(e.to_string());
        let won = self
            .store
            .take_token_refresh(ZALO, row.revision, now + REFRESH_LEASE, now)
            .await
            .map_err(retry)?;
        if !won {
            return self.wait_for_refresh(&row).await;
        }
        match self.client.refresh(&row.refresh_token).await {
            Ok(tokens) => {
                let now = Utc::now();
                // The old refresh token is spent: the new pair is stored before the new access token is used.
                self.store
                    .store_channel_tokens(
                        ZALO,
                        &tokens.access_token,
                        &tokens.refresh_token,
                        now + Duration::seconds(tokens.expires_in_secs),
                        now,
                    )
                    .await
                    .map_err(retry)?;
                tracing::info!("the Zalo OA access token was refreshed");
                Ok(tokens.access_token)
            }
            Err(e) => {
                match &e {
                    ZaloError::RefreshTokenInvalid { .. } => tracing::error!(
                        error = %e,
                        "the Zalo OA must be connected again: ykien zalo connect --refresh-token …"
                    ),
                    _ => tracing::warn!(error = %e, "refreshing the Zalo OA access token failed; will retry"),
                }
                self.store.release_token_refresh(ZALO).await.map_err(retry)?;
                Err(e.delivery())
            }
        }
    }

    /// Another caller refreshes: waits (up to the lease) for its new tokens.
    async fn wait_for_refresh(&self, before: &crate::storage::TokenRow) -> Result<String, DeliveryError> {
        let deadline = tokio::time::Instant::now() + REFRESH_LEASE.to_std().unwrap_or(StdDuration::from_secs(30));
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(50)).await;
            let row = self.row().await?;
            if row.refreshing_until.is_none() && row.revision != before.revision {
                if row.access_token == before.access_token {
                    break;
                }
                return Ok(row.access_token);
            }
        }
        Err(DeliveryError::Retry(
            "another instance was refreshing the Zalo token and did not finish".to_owned(),
        ))
    }
}

/// An outbox sender for one chat channel: case news to the chat the case came from, and campaigns.
struct ChannelSender<C> {
    name: &'static str,
    client: Arc<C>,
    store: Store,
    /// Zalo's rules (reply window, proactive quota), read through this channel; none on Telegram.
    zalo_rules: Option<Arc<dyn QuotaSource>>,
    /// The image of the campaign last sent, so that 100,000 messages read it once.
    campaign_image: tokio::sync::Mutex<Option<(uuid::Uuid, Option<Vec<u8>>)>>,
}

/// The campaign an outbox message belongs to, from its dedupe key (`campaign:<id>:<channel>:<user>`).
fn campaign_of(dedupe_key: &str) -> Option<uuid::Uuid> {
    dedupe_key.strip_prefix("campaign:")?.split(':').next()?.parse().ok()
}

impl<C: ChatClient + 'static> ChannelSender<C> {
    async fn campaign_image(&self, campaign: uuid::Uuid) -> Result<Option<Vec<u8>>, SendError> {
        let mut cached = self.campaign_image.lock().await;
        if let Some((id, image)) = cached.as_ref()
            && *id == campaign
        {
            return Ok(image.clone());
        }
        let image = self
            .store
            .campaign_image(campaign)
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?
            .map(|(_, bytes)| bytes);
        *cached = Some((campaign, image.clone()));
        Ok(image)
    }
}

impl<C: ChatClient + 'static> Sender for ChannelSender<C> {
    fn channel(&self) -> &str {
        self.name
    }

    fn send<'a>(&'a self, recipient: &'a str, body: &'a str, dedupe_key: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let retry = |e: crate::storage::StoreError| SendError::Retry(e.to_string());
            let person = self.store.chat_user(self.name, recipient).await.map_err(retry)?;
            let campaign = campaign_of(dedupe_key);
            if let Some(person) = &person {
                if person.opted_out {
                    // After /stop nothing more is sent; the tracking page still shows the news.
                    tracing::info!(channel = self.name, "not sent: the citizen opted out of messages");
                    return Ok(SentAs::OptedOut);
                }
                if campaign.is_some() && !self.store.news_subscribed(self.name, recipient).await.map_err(retry)? {
                    return Ok(SentAs::Unsubscribed);
                }
                if !person.reachable {
                    // Not even tried: the platform would refuse it. It goes when they write again.
                    return Err(SendError::Unreachable(
                        "the citizen cannot be reached now; it goes when they write again".to_owned(),
                    ));
                }
            }
            let mut message: Outbound = serde_json::from_str(body).unwrap_or_else(|_| Outbound::text(body));
            if let Some(campaign) = campaign {
                message.photo = self.campaign_image(campaign).await?;
            }
            let (quote, sent_as) = match &self.zalo_rules {
                None => (None, SentAs::Direct),
                Some(quota) => {
                    let parts = 1 + i64::from(message.photo.is_some());
                    let kind = zalo_rules::decide(&self.store, quota.as_ref(), recipient, parts, Utc::now())
                        .await
                        .map_err(|e| SendError::Retry(e.to_string()))?;
                    match kind {
                        ZaloKind::Reply(id) => (Some(id), SentAs::Reply),
                        ZaloKind::Proactive => (None, SentAs::Proactive),
                        ZaloKind::Wait { reason, until } => return Err(SendError::Wait { reason, until }),
                    }
                }
            };
            match self.client.deliver_quoting(recipient, quote.as_deref(), &message).await {
                Ok(()) => Ok(sent_as),
                Err(DeliveryError::Unreachable(why)) => Err(SendError::Unreachable(why)),
                Err(DeliveryError::Refused(why)) => Err(SendError::Unreachable(why)),
                Err(DeliveryError::Retry(why)) => Err(SendError::Retry(why)),
            }
        })
    }

    fn unreachable<'a>(&'a self, recipient: &'a str) -> MarkFuture<'a> {
        Box::pin(async move {
            self.store
                .set_chat_reachable(self.name, recipient, false)
                .await
                .map_err(|e| SendError::Retry(e.to_string()))
        })
    }
}

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
            senders.push(Arc::new(ChannelSender {
                name: Channel::Telegram.as_str(),
                client: client.clone(),
                store: self.store.clone(),
                zalo_rules: None,
                campaign_image: tokio::sync::Mutex::new(None),
            }));
        }
        if let Some(client) = &self.zalo {
            senders.push(Arc::new(ChannelSender {
                name: Channel::Zalo.as_str(),
                client: client.clone(),
                store: self.store.clone(),
                zalo_rules: Some(client.clone() as Arc<dyn QuotaSource>),
                campaign_image: tokio::sync::Mutex::new(None),
            }));
        }
        senders
    }

    /// Records a parsed event with its raw body; `false` for a repeated delivery, which must not be handled again.
    /// Returns once it is stored (in a group with the events that came meanwhile: [`EventLog`]).
    pub async fn record(&self, inbound: &Inbound, raw: &str) -> Result<bool, Error> {
        let now = Utc::now();
        self.events
            .record(NewChatEvent {
                channel: inbound.channel.as_str().to_owned(),
                event_id: inbound.event_id.clone(),
                kind: kind_name(&inbound.kind),
                user_id: (!inbound.user_id.is_empty()).then(|| inbound.user_id.clone()),
                raw: raw.to_owned(),
                received_at: now,
                claimed_until: now + EVENT_CLAIM,
            })
            .await
    }

    /// Waits until every event handled so far is marked so in the database (at shutdown, and in tests).
    pub async fn flush(&self) {
        self.events.flush().await;
    }

    /// Receives a recorded event: the dialogue takes its turn, the replies are sent in order, the event is
    /// marked handled. On failure the event stays unhandled and [`ChatChannels::recover`] takes it up later.
    /// `acknowledged`: a pressed Telegram button was already answered (in the webhook's 200), so its spinner needs
    /// no `answerCallbackQuery` of its own.
    pub async fn receive(&self, inbound: Inbound, acknowledged: bool) {
        let channel = inbound.channel.as_str();
        let result = match inbound.channel {
            Channel::Telegram => match &self.telegram {
                Some(client) => self.answer(&inbound, client.as_ref(), acknowledged).await,
                None => Ok(()),
            },
            Channel::Zalo => match &self.zalo {
                Some(client) => self.answer(&inbound, client.as_ref(), acknowledged).await,
                None => Ok(()),
            },
            // No platform sends these: webhooks only parse into the chat channels.
            Channel::Web | Channel::Api | Channel::Hotline | Channel::WalkIn | Channel::Letter | Channel::Email => {
                Ok(())
            }
        };
        match result {
            Ok(()) => self.events.handled(HandledChatEvent {
                channel: channel.to_owned(),
                event_id: inbound.event_id.clone(),
                keep_raw: matches!(inbound.kind, InboundKind::Unsupported { .. }),
            }),
            Err(e) => {
                tracing::error!(channel, event = %inbound.event_id, error = %e, "a chat event could not be handled; it will be retried");
            }
        }
    }

    /// One turn of the chat and its replies, under the chat's lock.
    async fn answer<C: ChatClient>(&self, inbound: &Inbound, client: &C, acknowledged: bool) -> Result<(), Error> {
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
                && let Err(e) = telegram.client.answer_callback(id, None).await
            {
                tracing::debug!(error = %e, "answerCallbackQuery failed");
            }
        };
        // A Zalo user's message opens Zalo's reply window: the turn's replies quote it, and what waited for them
        // (over the quota) may go now. It is opened once the turn is decided, with the replies the turn takes from it,
        // in one write ([`Store::zalo_message_answered`]).
        let zalo_window = (inbound.channel == Channel::Zalo
            && inbound.kind.feeds_dialogue()
            && !inbound.user_id.is_empty())
        .then(|| {
            // The platform's time of the message, unless it is not a plausible one (in the future, or older than a
            // window: a clock Zalo's and ours disagree on, or a replayed test event); then the time it came.
            let now = Utc::now();
            inbound
                .at_ms
                .and_then(DateTime::from_timestamp_millis)
                .filter(|t| *t <= now && *t > now - zalo_rules::REPLY_WINDOW)
                .unwrap_or(now)
        });
        let lock = self
            .locks
            .get(&format!("{}:{}", inbound.channel.as_str(), inbound.user_id));
        let take_turn = async {
            let order = lock.lock().await;
            (order, self.chats.take_turn(inbound, client, Utc::now()).await)
        };
        let ((), (order, turn)) = tokio::join!(stop_spinner, take_turn);
        let (turn, quotes, waiting) = match (turn, zalo_window) {
            (Ok(turn), None) => (turn, Vec::new(), 0),
            (Ok(turn), Some(at)) => {
                let quotes = zalo_rules::quotes_in_new_window(&inbound.event_id, &turn.replies);
                let taken = quotes.iter().map(|q| q.1).sum();
                let waiting = self
                    .store
                    .zalo_message_answered(&inbound.user_id, &inbound.event_id, at, taken, Utc::now())
                    .await?;
                (turn, quotes.into_iter().map(|q| q.0).collect(), waiting)
            }
            (Err(e), at) => {
                // The citizen wrote all the same: what waited for them may go.
                if let Some(at) = at
                    && let Err(open) = self
                        .store
                        .zalo_message_answered(&inbound.user_id, &inbound.event_id, at, 0, Utc::now())
                        .await
                {
                    tracing::warn!(error = %open, "a Zalo reply window could not be opened");
                }
                return Err(e);
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
            && let Err(e) = telegram.client.remove_buttons(&inbound.user_id, message_id).await
        {
            tracing::debug!(error = %e, "editMessageReplyMarkup failed");
        }
        sent
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
        for (channel, event_id, raw) in events {
            let parsed = match channel.as_str() {
                "telegram" => telegram_parse(raw.as_bytes()),
                "zalo" => ykien_bots::zalo::parse_event(raw.as_bytes()).map_err(|e| e.to_string()),
                _ => Err(format!("unknown channel {channel}")),
            };
            match parsed {
                Ok(inbound) => {
                    tracing::info!(channel, event = %event_id, "handling a chat event left unhandled");
                    // Its webhook's 200, if it went out, may have answered a pressed button: answering again only
                    // fails quietly, and a spinner left turning would not.
                    self.receive(inbound, false).await;
                }
                Err(why) => {
                    tracing::warn!(channel, event = %event_id, error = %why, "a stored chat event no longer parses; dropped");
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

fn telegram_parse(raw: &[u8]) -> Result<Inbound, String> {
    telegram::parse_update(raw).map_err(|e| e.to_string())
}
