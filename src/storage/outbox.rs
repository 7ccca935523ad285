//! The outbox: messages to citizens' chats, queued in the transaction of the change they report, claimed by one
//! instance at a time and marked sent or failed under that claim.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use sqlx::AssertSqlSafe;

use super::{Pool, Store, StoreError, execute, fetch};

/// A queued message claimed for delivery.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub body: String,
    pub attempts: i64,
}

#[derive(sqlx::FromRow)]
struct ClaimedRecord {
    #[sqlx(flatten)]
    message: OutboxRow,
    next_attempt_at: DateTime<Utc>,
}

/// A new outbox row's id: time-ordered, and in the order they are made within one process (UUID v7 with its
/// counter), so that two messages queued at the same instant (a case accepted and answered in one minute, with
/// the same timestamp) still go out in the order they were queued: `claim_outbox` orders by due time, then id.
pub(crate) fn outbox_id() -> Uuid {
    Uuid::now_v7()
}

impl Store {
    /// Claims up to `limit` due messages for `lock_for` under the claim id `claim`, so that no other instance
    /// sends them meanwhile, in one statement: PostgreSQL passes over the rows another instance is claiming
    /// (`FOR UPDATE SKIP LOCKED`) instead of waiting for them; SQLite has one writer at a time, so its statement
    /// is atomic as it is. A message whose claim expired (the instance died) is claimed again: delivery is at
    /// least once, the dedupe key makes repeats recognisable.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: i64,
        claim: Uuid,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let writer = self.writer().await;
        // PostgreSQL skips the rows another instance is claiming this moment; SQLite has no row locks to skip.
        let lock = match writer.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = AssertSqlSafe(format!(
            "UPDATE outbox SET locked_until = $2, claimed_by = $3 WHERE id IN (SELECT id FROM outbox \
             WHERE sent_at IS NULL AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
             ORDER BY next_attempt_at, id LIMIT $4{lock}) \
             RETURNING id, dedupe_key, channel, recipient, body, attempts, next_attempt_at"
        ));
        let mut claimed: Vec<ClaimedRecord> = fetch!(
            writer.pool,
            fetch_all,
            "claiming due messages",
            sql,
            now,
            now + lock_for,
            claim,
            limit,
        )?;
        // RETURNING keeps no order: send the oldest first, as they were queued.
        claimed.sort_by_key(|r| (r.next_attempt_at, r.message.id));
        Ok(claimed.into_iter().map(|r| r.message).collect())
    }

    /// Extends `claim` on a message to `until`, just before sending it; false when the message is no longer this
    /// claim's (another instance took it over after the claim ran out, or it was sent).
    pub async fn renew_outbox_claim(&self, id: Uuid, claim: Uuid, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let renewed = execute!(
            writer.pool,
            "renewing a message's claim",
            "UPDATE outbox SET locked_until = $3 WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL",
            id,
            claim,
            until,
        )?;
        Ok(renewed == 1)
    }

    /// Marks a message done under `claim`, with how it went out (`sent_as`: `reply`, `proactive`, `direct`, or why
    /// it was not sent: `opted_out`, `unsubscribed`); false when the claim had been taken over meanwhile (the message
    /// was then sent by this instance and may be sent again by the other: at least once).
    pub async fn outbox_sent(
        &self,
        id: Uuid,
        claim: Uuid,
        at: DateTime<Utc>,
        sent_as: &str,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let marked = execute!(
            writer.pool,
            "marking a message sent",
            "UPDATE outbox SET sent_at = $3, locked_until = NULL, attempts = attempts + 1, sent_as = $4, \
             last_error = NULL WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL",
            id,
            claim,
            at,
            sent_as,
        )?;
        Ok(marked == 1)
    }

    /// Records a failed attempt under `claim` and when to try again; nothing when the claim was taken over.
    pub async fn outbox_failed(
        &self,
        id: Uuid,
        claim: Uuid,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "recording a failed message",
            "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, locked_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL",
            id,
            claim,
            error,
            retry_at,
        )?;
        Ok(())
    }
}
