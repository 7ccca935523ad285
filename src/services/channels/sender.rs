//! The outbox senders of the chat channels: case news to the chat a case came from, and campaigns, within the
//! citizen's choices (opted out, unsubscribed, unreachable) and, on Zalo, its sending rules.

use std::sync::Arc;

use chrono::Utc;
use ykien_bots::message::{DeliveryError, Outbound};

use super::clients::ChatClient;
use crate::services::outbox::{MarkFuture, SendError, SendFuture, Sender, SentAs};
use crate::services::reach::zalo_rules::{self, QuotaSource, ZaloKind};
use crate::storage::Store;

/// An outbox sender for one chat channel: case news to the chat the case came from, and campaigns.
pub(super) struct ChannelSender<C> {
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
    /// The sender of channel `name` through `client`; `zalo_rules` on Zalo.
    pub(super) fn new(
        name: &'static str,
        client: Arc<C>,
        store: Store,
        zalo_rules: Option<Arc<dyn QuotaSource>>,
    ) -> Self {
        Self {
            name,
            client,
            store,
            zalo_rules,
            campaign_image: tokio::sync::Mutex::new(None),
        }
    }

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
