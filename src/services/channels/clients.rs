//! The platforms' clients as the chat channels use them: the Telegram bot and the Zalo Official Account (with its
//! OAuth tokens, kept in the database and refreshed by one instance at a time), each able to fetch a user's photos
//! and deliver a message.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ykien_bots::message::{DeliveryError, Outbound};
use ykien_bots::telegram::{self, Limits, TelegramClient};
use ykien_bots::zalo_api::{self, ZaloClient, ZaloError};

use crate::config::{TelegramConfig, ZaloConfig};
use crate::services::chat::{PhotoFetchError, PhotoFuture, PhotoSource};
use crate::services::reach::zalo_rules::{QuotaFuture, QuotaSource};
use crate::storage::Store;

/// Zalo access tokens are refreshed this long before they expire (they last 25 hours).
pub const REFRESH_BEFORE: Duration = Duration::hours(1);
/// How long one instance may hold the right to refresh Zalo's tokens: well past the OAuth request's own timeout
/// (30 s) and the storing of the new pair, so that a slow refresh cannot outlive its lease while another instance
/// starts one with the same single-use refresh token.
const REFRESH_LEASE: Duration = Duration::minutes(2);

/// The future of [`ChatClient::deliver`].
pub(super) type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// What a channel must do for the dialogue: fetch photos and deliver messages.
pub(super) trait ChatClient: PhotoSource {
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
        telegram::deep_link(bot, &crate::services::chat::commune_payload(commune)).ok()
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
