//! The upload budget: how many bytes of photos one sender and one commune may send in an hour, the same budget
//! whichever way they come — the feedback form, the API, Telegram or Zalo. The probe of issue 22 sent 1.4 GB a
//! minute from one address through the form and the API, which had separate rate limits counted in requests, not
//! bytes; a budget in bytes bounds what a flood costs in memory, disk and database.
//!
//! A sender is a client address on the web and the API (`YKIEN_BEHIND_PROXY` as for the rate limits) and the chat
//! user on Telegram and Zalo. The web counts a request's declared length before its body is read (a request over
//! the budget is refused without reading it); chats count each photo as it is downloaded. The commune's budget is
//! the sum over all its senders, a ceiling on what one commune's page or poster can be made to take.
//!
//! The state is governor's keyed GCRA (a token bucket that refills evenly over the hour), counted in KiB so an
//! hour's commune budget fits its `u32` cells, in each process's memory: like the rate limits, each instance
//! counts its own (docs/operations.md), which bounds each instance's memory, the point of it.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

/// Bytes of uploads a sender may send in an hour by default: about five reports with the most photos, or fifteen
/// with two phone photos each — for a mobile carrier's address shared by many phones.
pub const DEFAULT_PER_SENDER: u64 = 100 * 1024 * 1024;
/// Bytes of uploads a commune may receive in an hour by default, all senders together.
pub const DEFAULT_PER_COMMUNE: u64 = 1024 * 1024 * 1024;

type Keyed<C> = governor::RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Who is charged for an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender<'a> {
    /// A client address of the web form or the API.
    Address(&'a str),
    /// A chat user: the channel (`telegram`, `zalo`) and its user id.
    Chat(&'a str, &'a str),
}

/// An upload over the budget: the sender or the commune has sent too much this hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// How long until that much is allowed again (at most an hour).
    pub retry_after: Duration,
}

impl OverBudget {
    /// What the citizen reads, in Vietnamese.
    pub fn message_vi(&self) -> String {
        format!(
            "Đã nhận quá nhiều ảnh từ anh/chị hoặc cho xã, phường này trong một giờ qua. Xin gửi lại sau khoảng {} \
             phút; nội dung đã nhập vẫn được giữ.",
            self.retry_after.as_secs().div_ceil(60).max(1)
        )
    }

    /// What the citizen reads, in English.
    pub fn message_en(&self) -> String {
        format!(
            "Too many photos from you or for this commune in the past hour. Please send again in about {} minutes; \
             what you typed is kept.",
            self.retry_after.as_secs().div_ceil(60).max(1)
        )
    }
}

/// The budgets of every sender and commune of this process.
pub struct UploadBudget<C: Clock = MonotonicClock> {
    senders: Keyed<C>,
    communes: Keyed<C>,
    clock: C,
}

impl std::fmt::Debug for UploadBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadBudget").finish_non_exhaustive()
    }
}

impl Default for UploadBudget {
    fn default() -> Self {
        Self::new(DEFAULT_PER_SENDER, DEFAULT_PER_COMMUNE)
    }
}

impl UploadBudget {
    /// Budgets of `per_sender` and `per_commune` bytes an hour.
    pub fn new(per_sender: u64, per_commune: u64) -> Self {
        Self::with_clock(per_sender, per_commune, MonotonicClock)
    }
}

/// KiB, rounded up, as governor's cells.
fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1)
}

fn hourly(bytes: u64) -> Quota {
    let cells = NonZeroU32::new(kib(bytes)).unwrap_or(NonZeroU32::MIN);
    Quota::per_hour(cells).allow_burst(cells)
}

impl<C: Clock + Clone> UploadBudget<C> {
    fn with_clock(per_sender: u64, per_commune: u64, clock: C) -> Self {
        Self {
            senders: governor::RateLimiter::new(hourly(per_sender), DefaultKeyedStateStore::default(), clock.clone()),
            communes: governor::RateLimiter::new(hourly(per_commune), DefaultKeyedStateStore::default(), clock.clone()),
            clock,
        }
    }

    /// Charges `bytes` to `sender` and, when known, to `commune`; refused when either has not that much left this
    /// hour (when the commune refuses, the sender's charge stays: those bytes were sent).
    pub fn charge(&self, sender: &Sender<'_>, commune: Option<&str>, bytes: u64) -> Result<(), OverBudget> {
        let key = match sender {
            Sender::Address(a) => format!("a:{a}"),
            Sender::Chat(channel, user) => format!("c:{channel}:{user}"),
        };
        self.take(&self.senders, &key, bytes)?;
        match commune {
            Some(commune) => self.charge_commune(commune, bytes),
            None => Ok(()),
        }
    }

    /// Charges `bytes` to `commune` alone (an API report, whose sender paid for its whole body already).
    pub fn charge_commune(&self, commune: &str, bytes: u64) -> Result<(), OverBudget> {
        self.take(&self.communes, &commune.to_owned(), bytes)
    }

    fn take(&self, limiter: &Keyed<C>, key: &String, bytes: u64) -> Result<(), OverBudget> {
        let cells = NonZeroU32::new(kib(bytes)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(key, cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(OverBudget {
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
            // More than a whole hour's budget at once.
            Err(_) => Err(OverBudget {
                retry_after: Duration::from_secs(3600),
            }),
        }
    }

    /// Forgets senders and communes whose budget is whole again (called with the other prunings).
    pub fn forget_refilled(&self) {
        self.senders.retain_recent();
        self.communes.retain_recent();
        self.senders.shrink_to_fit();
        self.communes.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn a_sender_and_a_commune_get_their_hourly_bytes_then_wait_and_refill_evenly() {
        let clock = FakeRelativeClock::default();
        let budget = UploadBudget::with_clock(100 * MB, 150 * MB, clock.clone());
        let web = Sender::Address("203.0.113.7");
        let chat = Sender::Chat("zalo", "8431");
        for _ in 0..5 {
            assert!(budget.charge(&web, Some("11953"), 20 * MB).is_ok());
        }
        // The address has used its 100 MB; the commune has 50 MB left, which a chat user may use.
        let over = budget.charge(&web, Some("11953"), 20 * MB).unwrap_err();
        assert!(over.retry_after > Duration::from_secs(600) && over.retry_after <= Duration::from_secs(720));
        assert!(budget.charge(&chat, Some("11953"), 40 * MB).is_ok());
        assert!(
            budget.charge(&chat, Some("11953"), 20 * MB).is_err(),
            "the commune's budget"
        );
        assert!(budget.charge(&chat, Some("11977"), 20 * MB).is_ok(), "another commune");
        // An hour's budget refills over the hour: a fifth of it after twelve minutes.
        clock.advance(Duration::from_secs(12 * 60));
        assert!(budget.charge(&web, None, 20 * MB).is_ok());
        assert!(budget.charge(&web, None, MB).is_err());
        // More than an hour's budget at once is never allowed.
        assert!(budget.charge(&Sender::Address("198.51.100.1"), None, 101 * MB).is_err());
    }
}
