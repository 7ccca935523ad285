//! Officials on their phones: the one-time codes that link a chat to an account, the linked chats, each official's
//! alert settings, and how far the alert ticker has read the cases' timelines.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::case_changes::insert_audit;
use super::{AuditEntry, BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// What typing a link code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkCodeUse {
    /// The chat is now linked to this account.
    Linked { official_id: Uuid },
    /// No code has this hash.
    Unknown,
    /// The code ran out before it was typed.
    Expired,
    /// The code already linked a chat.
    Used,
}

/// A chat linked to an official's account, with the account's names.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkedChatRow {
    pub channel: String,
    pub user_id: String,
    pub official_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub linked_at: DateTime<Utc>,
}

/// An official's alert settings as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertSettingsRow {
    pub official_id: Uuid,
    pub email: Option<String>,
    pub by_chat: bool,
    pub by_email: bool,
    pub new_case: bool,
    pub assigned: bool,
    pub due_soon: bool,
    pub overdue: bool,
    pub citizen: bool,
    pub digest: bool,
    pub due_within_hours: i64,
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
}

/// An account's columns as read (id, username, display name, password hash, role, office, disabled).
type OfficialTuple = (Uuid, String, String, String, String, Option<String>, bool);

const LINKED_CHAT: &str = "SELECT c.channel, c.user_id, c.official_id, o.username, o.display_name, o.disabled, \
     c.linked_at FROM official_chats c JOIN officials o ON o.id = c.official_id";

impl Store {
    /// Stores a fresh link code of an official (its keyed hash); the official's earlier unused codes stop working,
    /// so only the code on the screen links.
    pub async fn insert_link_code(
        &self,
        official_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to make a link code"))?;
            execute!(
                tx: tx,
                "retiring an official's earlier link codes",
                "DELETE FROM official_link_codes WHERE official_id = $1 AND used_at IS NULL",
                official_id,
            )?;
            execute!(
                tx: tx,
                "a link code",
                "INSERT INTO official_link_codes (code_hash, official_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
                code_hash,
                official_id,
                now,
                expires_at,
            )?;
            tx.commit().await.map_err(db("committing a link code"))?;
            Ok(())
        })
    }

    /// Links the chat `(channel, user_id)` with the code of this hash, if it is live, in one transaction: the code is
    /// marked used, the chat's earlier link and the account's earlier chat on this channel end, and the audit log
    /// says so.
    pub async fn use_link_code(
        &self,
        code_hash: &str,
        channel: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkCodeUse, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to link a chat"))?;
            let row: Option<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> =
                sqlx::query_as("SELECT official_id, expires_at, used_at FROM official_link_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("reading a link code"))?;
            let official_id = match row {
                None => return Ok(LinkCodeUse::Unknown),
                Some((_, _, Some(_))) => return Ok(LinkCodeUse::Used),
                Some((_, expires_at, None)) if expires_at <= now => return Ok(LinkCodeUse::Expired),
                Some((official_id, _, None)) => official_id,
            };
            // Marked used only while still unused: of two chats typing one code at once, one links.
            let taken = execute!(
                tx: tx,
                "using a link code",
                "UPDATE official_link_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
                code_hash,
                now,
            )?;
            if taken == 0 {
                return Ok(LinkCodeUse::Used);
            }
            execute!(
                tx: tx,
                "ending a chat's earlier link",
                "DELETE FROM official_chats WHERE (channel = $1 AND user_id = $2) OR (channel = $1 AND official_id = $3)",
                channel,
                user_id,
                official_id,
            )?;
            execute!(
                tx: tx,
                "linking a chat to an account",
                "INSERT INTO official_chats (channel, user_id, official_id, linked_at) VALUES ($1, $2, $3, $4)",
                channel,
                user_id,
                official_id,
                now,
            )?;
            let audit = AuditEntry {
                official_id: Some(official_id),
                action: "link_chat".to_owned(),
                target: format!("{channel} chat"),
                before_state: None,
                after_state: Some("linked".to_owned()),
                detail: None,
            };
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing a chat link"))?;
            Ok(LinkCodeUse::Linked { official_id })
        })
    }

    /// The account a chat is linked to, if any.
    pub async fn linked_official(&self, channel: &str, user_id: &str) -> Result<Option<LinkedChatRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a chat's link",
            sqlx::AssertSqlSafe(format!("{LINKED_CHAT} WHERE c.channel = $1 AND c.user_id = $2")),
            channel,
            user_id,
        )
    }

    /// The chats linked to an account.
    pub async fn official_chats(&self, official_id: Uuid) -> Result<Vec<LinkedChatRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading an account's chats",
            sqlx::AssertSqlSafe(format!("{LINKED_CHAT} WHERE c.official_id = $1 ORDER BY c.channel")),
            official_id,
        )
    }

    /// Ends the link of an account's chat on `channel`, with the audit entry `audit` (by whoever ended it); false
    /// when there was none.
    pub async fn unlink_chat(&self, official_id: Uuid, channel: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to unlink a chat"))?;
            let ended = execute!(
                tx: tx,
                "unlinking a chat",
                "DELETE FROM official_chats WHERE official_id = $1 AND channel = $2",
                official_id,
                channel,
            )?;
            if ended > 0 {
                insert_audit!(tx, audit, now);
            }
            tx.commit().await.map_err(db("committing a chat unlink"))?;
            Ok(ended > 0)
        })
    }

    /// An official's alert settings, if they chose any.
    pub async fn alert_settings(&self, official_id: Uuid) -> Result<Option<AlertSettingsRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading alert settings",
            "SELECT official_id, email, by_chat, by_email, new_case, assigned, due_soon, overdue, citizen, digest, \
             due_within_hours, quiet_from, quiet_to FROM official_alert_settings WHERE official_id = $1",
            official_id,
        )
    }

    /// Every official's alert settings (for the alert ticker).
    pub async fn all_alert_settings(&self) -> Result<Vec<AlertSettingsRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading alert settings",
            "SELECT official_id, email, by_chat, by_email, new_case, assigned, due_soon, overdue, citizen, digest, \
             due_within_hours, quiet_from, quiet_to FROM official_alert_settings",
        )
    }

    /// Stores an official's alert settings, replacing the earlier ones.
    pub async fn save_alert_settings(&self, s: &AlertSettingsRow, now: DateTime<Utc>) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "saving alert settings",
            "INSERT INTO official_alert_settings (official_id, email, by_chat, by_email, new_case, assigned, due_soon, \
             overdue, citizen, digest, due_within_hours, quiet_from, quiet_to, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (official_id) DO UPDATE SET email = $2, by_chat = $3, by_email = $4, new_case = $5, \
             assigned = $6, due_soon = $7, overdue = $8, citizen = $9, digest = $10, due_within_hours = $11, \
             quiet_from = $12, quiet_to = $13, updated_at = $14",
            s.official_id,
            &s.email,
            s.by_chat,
            s.by_email,
            s.new_case,
            s.assigned,
            s.due_soon,
            s.overdue,
            s.citizen,
            s.digest,
            s.due_within_hours,
            &s.quiet_from,
            &s.quiet_to,
            now,
        )?;
        Ok(())
    }

    /// Where the alert ticker stopped reading `name`, if it ever read it.
    pub async fn alert_cursor(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(DateTime<Utc>,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading the alert cursor",
            "SELECT at FROM alert_cursors WHERE name = $1",
            name,
        )?;
        Ok(row.map(|(at,)| at))
    }

    /// Moves the alert cursor `name` to `at`.
    pub async fn set_alert_cursor(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "moving the alert cursor",
            "INSERT INTO alert_cursors (name, at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET at = $2",
            name,
            at,
        )?;
        Ok(())
    }
}

impl Store {
    /// Records that a linked official wrote from their chat: the platform lets us write to them again (Zalo counts
    /// its window from their last message), if the chat was ever a citizen's chat.
    pub async fn touch_chat_user(&self, channel: &str, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "recording a linked official's message",
            "UPDATE chat_users SET reachable = $3, last_interaction_at = $4, revision = revision + 1 \
             WHERE channel = $1 AND user_id = $2",
            channel,
            user_id,
            true,
            now,
        )?;
        Ok(())
    }
}

/// An event of a case's timeline, as the alert ticker reads it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TimelineEventRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub action: String,
    pub at: DateTime<Utc>,
}

/// An alert to queue in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAlert {
    /// Makes the same alert one message, however many ticks (and instances) raise it.
    pub dedupe_key: String,
    pub channel: String,
    pub recipient: String,
    pub case_id: Option<Uuid>,
    pub body: String,
    pub send_at: DateTime<Utc>,
}

impl Store {
    /// The accounts alerts may go to: not disabled, with a linked chat or email alerts turned on.
    pub async fn alert_recipients(&self) -> Result<Vec<super::OfficialRow>, StoreError> {
        let rows: Vec<OfficialTuple> = fetch!(
            &self.pool,
            fetch_all,
            "reading who gets alerts",
            "SELECT o.id, o.username, o.display_name, o.password_hash, o.role, o.office, o.disabled FROM officials o \
             WHERE o.disabled = $1 AND (EXISTS (SELECT 1 FROM official_chats c WHERE c.official_id = o.id) \
             OR EXISTS (SELECT 1 FROM official_alert_settings s WHERE s.official_id = o.id AND s.by_email = $2)) \
             ORDER BY o.username",
            false,
            true,
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(id, username, display_name, password_hash, role, office, disabled)| super::OfficialRow {
                    id,
                    username,
                    display_name,
                    password_hash,
                    role,
                    office,
                    disabled,
                },
            )
            .collect())
    }

    /// The timeline events of every case from `from` (exclusive) to `until` (inclusive), oldest first.
    pub async fn timeline_events_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<TimelineEventRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading recent case events",
            "SELECT id, case_id, action, at FROM case_events WHERE at > $1 AND at <= $2 ORDER BY at, id LIMIT 5000",
            from,
            until,
        )
    }

    /// Queues alerts in the outbox; an alert whose dedupe key was queued before is skipped. Returns how many are new.
    pub async fn queue_alerts(&self, alerts: &[NewAlert], now: DateTime<Utc>) -> Result<u64, StoreError> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to queue alerts"))?;
            let mut queued = 0;
            for a in alerts {
                queued += execute!(
                    tx: tx,
                    "queueing an alert",
                    "INSERT INTO outbox (id, dedupe_key, channel, recipient, case_id, body, attempts, next_attempt_at, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING",
                    super::outbox::outbox_id(),
                    &a.dedupe_key,
                    &a.channel,
                    &a.recipient,
                    a.case_id,
                    &a.body,
                    0_i64,
                    a.send_at,
                    now,
                )?;
            }
            tx.commit().await.map_err(db("committing alerts"))?;
            Ok(queued)
        })
    }
}

/// Where one outbox message stands (for operators' checks and the tests).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxStateRow {
    pub dedupe_key: String,
    pub channel: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Store {
    /// The outbox messages to one recipient of a channel, oldest first.
    pub async fn outbox_to(&self, channel: &str, recipient: &str) -> Result<Vec<OutboxStateRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a recipient's messages",
            "SELECT dedupe_key, channel, attempts, next_attempt_at, sent_at, last_error FROM outbox \
             WHERE channel = $1 AND recipient = $2 ORDER BY created_at, id",
            channel,
            recipient,
        )
    }
}
