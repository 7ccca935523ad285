//! Zalo's sending rules, decided for each message before it goes (issue 18), as Zalo's OA help states them in
//! "Các loại tin của Zalo Official Account" (<https://zalooa.freshdesk.com/support/solutions/articles/64000261136>,
//! read December 2026):
//! - a reply ("tin phản hồi") is free: 8 within 48 hours of the citizen's last message, the count starting again
//!   with each new message from them; it counts as a reply only when it carries that message's id
//!   (<https://zalooa.freshdesk.com/support/solutions/articles/64000263278>);
//! - any other message (the 9th, or after 48 hours) is proactive ("tin chủ động"): only for a verified OA, free up
//!   to a monthly quota (1,000 at the time of writing, reset at 00:00 on the 1st) and paid beyond. The remaining
//!   quota is read from `POST /v2.0/oa/quota/message` (<https://www.hexasync.vn/zalo-oa-api-huong-dan-cach-lay-quota-tin-tu-van-trong-zalo-oa-bang-postman/>)
//!   and counted down here as messages go; ykien never goes past it: a message that would waits for the next
//!   month, or for the citizen's next message, with the reason where it is tracked.
//!
//! The window and the quota live in the database and are taken with one atomic statement each, so several
//! instances never use more than there is. A unit taken for a message whose send then fails is not given back:
//! the count errs on the side of Zalo's rules.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use ykien_bots::message::Outbound;

use crate::domain::calendar::{vn_day, vn_day_start};
use crate::services::Error;
use crate::storage::{Store, ZALO_REPLIES_PER_WINDOW};

/// How long after the citizen's last message Zalo takes replies.
pub const REPLY_WINDOW: Duration = Duration::hours(48);

/// How often the quota is read again from Zalo (between reads it is counted down here).
pub const QUOTA_REREAD: Duration = Duration::hours(1);

/// How a Zalo message may go now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZaloKind {
    /// As a reply quoting this message of the citizen's.
    Reply(String),
    /// As a proactive message (a unit of the month's quota was taken for it).
    Proactive,
    /// Not now: why (in Vietnamese, for the tracking page and the reports) and until when.
    Wait { reason: String, until: DateTime<Utc> },
}

/// The future of [`QuotaSource::read_quota`].
pub type QuotaFuture<'a> = Pin<Box<dyn Future<Output = Result<(i64, i64), String>> + Send + 'a>>;

/// Where the OA's quota is read: (remaining, total) this month.
pub trait QuotaSource: Send + Sync {
    fn read_quota(&self) -> QuotaFuture<'_>;
}

/// The month (Vietnam time) an instant falls in, as `YYYY-MM`, and when the next one starts.
pub fn vn_month(at: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let day = vn_day(at);
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    let next = NaiveDate::from_ymd_opt(y, m, 1).map_or(at + Duration::days(31), vn_day_start);
    (format!("{:04}-{:02}", day.year(), day.month()), next)
}

/// The replies a turn may send in the window its citizen's message `message_id` just opened, in order: the message
/// each quotes (while the window's [`ZALO_REPLIES_PER_WINDOW`] last) and how many of the window it takes (a reply
/// with a photo is two Zalo messages).
pub fn quotes_in_new_window(message_id: &str, replies: &[Outbound]) -> Vec<(Option<String>, i64)> {
    let mut taken = 0;
    replies
        .iter()
        .map(|reply| {
            let parts = 1 + i64::from(reply.photo.is_some());
            if taken + parts <= ZALO_REPLIES_PER_WINDOW {
                taken += parts;
                (Some(message_id.to_owned()), parts)
            } else {
                (None, 0)
            }
        })
        .collect()
}

/// Decides a message of `parts` Zalo messages (an image and a text are two) to `user_id` at `now`.
pub async fn decide(
    store: &Store,
    quota: &dyn QuotaSource,
    user_id: &str,
    parts: i64,
    now: DateTime<Utc>,
) -> Result<ZaloKind, Error> {
    if let Some(message_id) = store.take_zalo_replies(user_id, now - REPLY_WINDOW, parts).await? {
        return Ok(ZaloKind::Reply(message_id));
    }
    let (month, next_month) = vn_month(now);
    let stored = store.zalo_quota(&month).await?;
    if stored.is_none_or(|(_, _, read_at)| read_at + QUOTA_REREAD < now) {
        match quota.read_quota().await {
            Ok((remaining, total)) => store.store_zalo_quota(&month, remaining, total, now).await?,
            Err(why) if stored.is_none() => {
                return Ok(ZaloKind::Wait {
                    reason: format!("chưa đọc được hạn mức tin chủ động từ Zalo ({why})"),
                    until: now + Duration::minutes(5),
                });
            }
            // The count kept here goes on until Zalo answers again.
            Err(why) => tracing::warn!(error = %why, "Zalo's quota could not be read again"),
        }
    }
    if store.take_zalo_quota(&month, parts).await? {
        return Ok(ZaloKind::Proactive);
    }
    // Until the next month, unless the citizen writes first (their message makes it due again at once).
    let window = store.zalo_window(user_id).await?;
    let reason = match window {
        Some((_, at, used)) if at > now - REPLY_WINDOW => format!(
            "đã dùng {used}/8 tin phản hồi trong 48 giờ và hết hạn mức tin chủ động tháng {month}; gửi khi người dân \
             nhắn tin lại hoặc từ đầu tháng sau"
        ),
        _ => format!(
            "quá 48 giờ từ tin nhắn cuối của người dân và hết hạn mức tin chủ động tháng {month}; gửi khi người dân \
             nhắn tin lại hoặc từ đầu tháng sau"
        ),
    };
    Ok(ZaloKind::Wait {
        reason,
        until: next_month,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_read_in_vietnam_time_and_ends_at_its_midnight() {
        // 31 January, 18:00 UTC is already 1 February in Vietnam.
        let at = DateTime::parse_from_rfc3339("2026-01-31T18:00:00Z").unwrap().to_utc();
        let (month, next) = vn_month(at);
        assert_eq!(month, "2026-02");
        assert_eq!(next.to_rfc3339(), "2026-02-28T17:00:00+00:00");
        let december = DateTime::parse_from_rfc3339("2026-12-10T00:00:00Z").unwrap().to_utc();
        assert_eq!(vn_month(december).0, "2026-12");
        assert_eq!(vn_month(december).1.to_rfc3339(), "2026-12-31T17:00:00+00:00");
    }
}
