//! Delivering the outbox: messages to citizens, queued in the same transaction as the change they report, sent
//! at least once by whichever instance claims them, retried with exponential backoff. Each chat channel plugs in
//! a [`Sender`]; the other channels queue nothing (their reporters read the tracking page).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Error;
use crate::storage::{OutboxRow, Store};

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (network, rate limit, the platform's outage).
    Retry(String),
    /// The recipient cannot be reached now (blocked the bot, silent for too long); kept and retried much later.
    Unreachable(String),
    /// Not tried: the platform's rules do not allow it before `until` (Zalo's proactive quota is spent for the
    /// month). The reason is shown where the message is tracked.
    Wait { reason: String, until: DateTime<Utc> },
}

/// How a message went out, or why it was dropped without being sent; stored in `outbox.sent_as`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentAs {
    /// Zalo: a reply quoting the citizen's last message, within its 48-hour window.
    Reply,
    /// Zalo: a proactive message, counted against the month's quota.
    Proactive,
    /// A platform without such rules (Telegram).
    Direct,
    /// Not sent: the citizen stopped all messages (`/stop`).
    OptedOut,
    /// Not sent: a campaign's news, and the citizen stopped news ("Dừng nhận tin").
    Unsubscribed,
}

impl SentAs {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Proactive => "proactive",
            Self::Direct => "direct",
            Self::OptedOut => "opted_out",
            Self::Unsubscribed => "unsubscribed",
        }
    }
}

/// The future a sender returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<SentAs, SendError>> + Send + 'a>>;

/// The future of [`Sender::unreachable`].
pub type MarkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// One channel's way to deliver a message.
pub trait Sender: Send + Sync {
    /// The channel name used in `outbox.channel` (`telegram`, `zalo`).
    fn channel(&self) -> &str;
    /// Delivers `body` to `recipient`; `dedupe_key` lets the far side drop a repeat.
    fn send<'a>(&'a self, recipient: &'a str, body: &'a str, dedupe_key: &'a str) -> SendFuture<'a>;
    /// Told after a send failed with [`SendError::Unreachable`] and the message was put back to wait, so that
    /// the recipient's next message makes it due again.
    fn unreachable<'a>(&'a self, _recipient: &'a str) -> MarkFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// What `outbox.last_error` starts with when a message was not tried because the platform's rules make it wait
/// (the rest is the reason, in Vietnamese): delivery reports count these as waiting, not failed.
pub const WAITING_PREFIX: &str = "waiting: ";

/// How long a claimed message is reserved for the instance that claimed it; renewed just before each send.
pub const CLAIM_FOR: Duration = Duration::seconds(60);

/// The longest one send may take, waits for the platform's rate limits included. Shorter than [`CLAIM_FOR`], so
/// that a claim renewed before a send cannot run out during it and let another instance send the same message.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

/// How many messages one claim takes: small, so that several instances share a long queue instead of one
/// instance holding it all.
const CLAIM_BATCH: i64 = 10;

/// When to try again after `attempts` failures: 1, 2, 4 … minutes, at most 6 hours; unreachable recipients in 6 h.
pub fn backoff(attempts: i64, error: &SendError) -> Duration {
    match error {
        SendError::Unreachable(_) => Duration::hours(6),
        // Callers retry at the time the wait names; this is only its floor.
        SendError::Wait { .. } => Duration::minutes(1),
        SendError::Retry(_) => Duration::minutes(1_i64 << attempts.clamp(0, 9)).min(Duration::hours(6)),
    }
}

/// The worker's clock: `now` when it started, moving on with the monotonic clock (a caller may run it at another
/// time than the wall clock's, as the tests do).
struct Clock {
    start: DateTime<Utc>,
    started: std::time::Instant,
}

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        self.start + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// Sends what is due at `now`, up to `limit` messages, claiming a few at a time; returns how many were delivered.
pub async fn deliver_due(
    store: &Store,
    senders: &[Arc<dyn Sender>],
    now: DateTime<Utc>,
    limit: i64,
) -> Result<usize, Error> {
    let clock = Clock {
        start: now,
        started: std::time::Instant::now(),
    };
    let claim = Uuid::new_v4();
    let mut delivered = 0;
    let mut taken = 0;
    while taken < limit {
        let messages = store
            .claim_outbox(clock.now(), CLAIM_FOR, CLAIM_BATCH.min(limit - taken), claim)
            .await?;
        if messages.is_empty() {
            break;
        }
        taken += messages.len() as i64;
        for message in messages {
            if deliver_one(store, senders, &clock, claim, message).await? {
                delivered += 1;
            }
        }
    }
    Ok(delivered)
}

/// Sends one claimed message and records the outcome; true when it was delivered.
async fn deliver_one(
    store: &Store,
    senders: &[Arc<dyn Sender>],
    clock: &Clock,
    claim: Uuid,
    message: OutboxRow,
) -> Result<bool, Error> {
    let OutboxRow {
        id,
        dedupe_key,
        channel,
        recipient,
        body,
        attempts,
    } = message;
    // The messages of one claim are sent one after the other: by the time this one's turn comes, the claim may
    // have run out and another instance taken it over.
    if !store.renew_outbox_claim(id, claim, clock.now() + CLAIM_FOR).await? {
        tracing::info!(channel = %channel, dedupe_key = %dedupe_key, "a message was taken over by another worker");
        return Ok(false);
    }
    let sender = senders.iter().find(|s| s.channel() == channel);
    let result = match sender {
        Some(sender) => tokio::time::timeout(SEND_TIMEOUT, sender.send(&recipient, &body, &dedupe_key))
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Retry(format!(
                    "no answer within {} s",
                    SEND_TIMEOUT.as_secs()
                )))
            }),
        // A channel not connected yet (no token configured): keep the message for when it is.
        None => Err(SendError::Unreachable(format!("no sender for channel {channel}"))),
    };
    match result {
        Ok(sent_as) => {
            if !store.outbox_sent(id, claim, clock.now(), sent_as.as_str()).await? {
                tracing::warn!(channel = %channel, dedupe_key = %dedupe_key, "a message was sent after its claim had been taken over; it may arrive twice");
            }
            Ok(matches!(sent_as, SentAs::Reply | SentAs::Proactive | SentAs::Direct))
        }
        Err(SendError::Wait { reason, until }) => {
            tracing::info!(channel = %channel, dedupe_key = %dedupe_key, reason = %reason, "a message waits for the platform's rules");
            store
                .outbox_failed(id, claim, &format!("{WAITING_PREFIX}{reason}"), until.max(clock.now()))
                .await?;
            Ok(false)
        }
        Err(e) => {
            let why = match &e {
                SendError::Retry(m) | SendError::Unreachable(m) | SendError::Wait { reason: m, .. } => m.clone(),
            };
            tracing::warn!(channel = %channel, dedupe_key = %dedupe_key, error = %why, "a message was not delivered; it will be retried");
            store
                .outbox_failed(id, claim, &why, clock.now() + backoff(attempts, &e))
                .await?;
            // Only now: had the recipient been marked first, a message from them in between would find nothing to
            // make due, and this one would wait the whole backoff.
            if let (SendError::Unreachable(_), Some(sender)) = (&e, sender)
                && let Err(e) = sender.unreachable(&recipient).await
            {
                tracing::warn!(channel = %channel, error = ?e, "could not mark a recipient unreachable");
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let retry = SendError::Retry("timeout".into());
        assert_eq!(backoff(0, &retry), Duration::minutes(1));
        assert_eq!(backoff(3, &retry), Duration::minutes(8));
        assert_eq!(backoff(40, &retry), Duration::hours(6));
        assert_eq!(
            backoff(0, &SendError::Unreachable("blocked".into())),
            Duration::hours(6)
        );
    }
}
