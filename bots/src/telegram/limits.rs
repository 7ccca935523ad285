//! The bot's own send limits: Telegram allows about one message a second per chat and thirty a second overall.

use super::*;

/// How fast a [`TelegramClient`] sends messages (`sendMessage`, `sendPhoto`; each part of a split text counts).
///
/// Both limits are token buckets: a chat may receive [`PER_CHAT_BURST`] messages at once, then
/// `per_chat_per_second`; all chats together `overall_per_second`, with a burst of one second's worth. A send that
/// would exceed either waits (asynchronously) for its turn, first come first served. A rate that is not a positive
/// number means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages a second to one chat (Telegram: about 1).
    pub per_chat_per_second: f64,
    /// Messages a second to all chats together (Telegram: about 30).
    pub overall_per_second: f64,
}

impl Default for Limits {
    /// Telegram's documented limits: 1 message a second per chat, 30 a second overall.
    fn default() -> Self {
        Self {
            per_chat_per_second: 1.0,
            overall_per_second: 30.0,
        }
    }
}

/// The longest interval between two messages a rate can ask for, so that instants never overflow.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Chats remembered before idle ones are forgotten.
pub(super) const MIN_PRUNE_THRESHOLD: usize = 1024;

/// One bucket's shape in the generic cell rate algorithm: a message every `interval`, `tolerance` ahead of that.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gcra {
    pub(super) interval: Duration,
    pub(super) tolerance: Duration,
}

impl Gcra {
    pub(super) fn new(per_second: f64, burst: u32) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / per_second).map_or(MAX_INTERVAL, |d| d.min(MAX_INTERVAL))
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            tolerance: interval * burst.saturating_sub(1),
        }
    }

    /// The earliest instant at or after `now` that a bucket whose theoretical arrival time is `tat` allows a message.
    pub(super) fn earliest(self, tat: Instant, now: Instant) -> Instant {
        let ahead = tat.saturating_duration_since(now);
        if ahead > self.tolerance {
            now + (ahead - self.tolerance)
        } else {
            now
        }
    }
}

#[derive(Debug)]
pub(super) struct LimiterState {
    pub(super) overall_tat: Instant,
    /// Each chat's theoretical arrival time; a chat whose time has passed is as if never seen and may be forgotten.
    pub(super) chats: HashMap<String, Instant>,
    pub(super) prune_threshold: usize,
}

/// The per-chat and overall token buckets, as reservations: a send first reserves its chat's next slot and sleeps until
/// it, then reserves the next overall slot and sleeps until that, each reservation made under the lock and each sleep
/// outside it. (Reserving both at once would let one chat's wait hold every other chat back.) Memory is bounded by the
/// chats active in the last few seconds.
#[derive(Debug)]
pub(super) struct RateLimiter {
    pub(super) per_chat: Gcra,
    pub(super) overall: Gcra,
    pub(super) state: Mutex<LimiterState>,
}

impl RateLimiter {
    pub(super) fn new(limits: Limits) -> Self {
        let overall_burst = if limits.overall_per_second.is_finite() && limits.overall_per_second >= 1.0 {
            // Truncation intended: a second's worth of messages, at most u32::MAX.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let burst = limits.overall_per_second.min(f64::from(u32::MAX)) as u32;
            burst
        } else {
            1
        };
        Self {
            per_chat: Gcra::new(limits.per_chat_per_second, PER_CHAT_BURST),
            overall: Gcra::new(limits.overall_per_second, overall_burst),
            state: Mutex::new(LimiterState {
                overall_tat: Instant::now(),
                chats: HashMap::new(),
                prune_threshold: MIN_PRUNE_THRESHOLD,
            }),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves the next slot for a message to `chat` under the per-chat limit and returns when it is.
    pub(super) fn reserve_chat(&self, chat: &str, now: Instant) -> Instant {
        let mut state = self.lock();
        let tat = state.chats.get(chat).copied().unwrap_or(now);
        let at = self.per_chat.earliest(tat, now);
        state
            .chats
            .insert(chat.to_owned(), tat.max(at) + self.per_chat.interval);
        if state.chats.len() > state.prune_threshold {
            state.chats.retain(|_, tat| *tat > now);
            state.prune_threshold = (state.chats.len() * 2).max(MIN_PRUNE_THRESHOLD);
        }
        at
    }

    /// Reserves the next slot under the overall limit and returns when it is.
    pub(super) fn reserve_overall(&self, now: Instant) -> Instant {
        let mut state = self.lock();
        let at = self.overall.earliest(state.overall_tat, now);
        state.overall_tat = state.overall_tat.max(at) + self.overall.interval;
        at
    }

    /// Waits for this message's turn.
    pub(super) async fn acquire(&self, chat: &str) {
        tokio::time::sleep_until(self.reserve_chat(chat, Instant::now())).await;
        tokio::time::sleep_until(self.reserve_overall(Instant::now())).await;
    }

    #[cfg(test)]
    pub(super) fn remembered_chats(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).chats.len()
    }
}
