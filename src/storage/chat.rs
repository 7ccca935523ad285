//! Chat channels: the people talking to the bots and their dialogue state, received webhook events (for
//! deduplication and inspection), draft photos of reports being written, and the platforms' OAuth tokens.
//!
//! A chat turn is stored in one transaction ([`Store::save_chat_turn`]): the chat's row and, when the turn took a
//! survey step, the survey session and its answers with it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::surveys::apply_session_write;
use super::{BeginWrite, LinkedChatRow, SessionWrite, SessionWritten, Store, StoreError, db, execute, fetch, on_pool};

/// A person on one chat channel, as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatUserRow {
    pub channel: String,
    pub user_id: String,
    pub lang: String,
    pub commune_code: Option<String>,
    /// The dialogue state, JSON.
    pub dialog: String,
    pub revision: i64,
    pub reachable: bool,
    pub opted_out: bool,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A platform's OAuth tokens as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub refreshing_until: Option<DateTime<Utc>>,
    pub revision: i64,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("refreshing_until", &self.refreshing_until)
            .field("revision", &self.revision)
            .finish()
    }
}

/// What [`Store::save_chat_turn`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatTurnWritten {
    /// What became of the turn's survey step, if it took one. On [`SessionWritten::Stale`] nothing at all was
    /// written: decide the turn again.
    pub survey: Option<SessionWritten>,
    /// Another event of this chat was stored since its row was read (on another instance): this turn's state
    /// replaced that one.
    pub replaced: bool,
}

/// A webhook event to record ([`Store::record_chat_events`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChatEvent {
    pub channel: String,
    /// The platform's id of the event (Telegram's `update_id`, Zalo's `msg_id` or event key).
    pub event_id: String,
    /// The storage name of its kind ("text", "button", "unsupported", …).
    pub kind: &'static str,
    pub user_id: Option<String>,
    /// The body as received, kept until the event is handled.
    pub raw: String,
    pub received_at: DateTime<Utc>,
    /// Until when the instance that received it is the one to handle it.
    pub claimed_until: DateTime<Utc>,
}

/// An event handled ([`Store::finish_chat_events`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandledChatEvent {
    pub channel: String,
    pub event_id: String,
    /// Keep the raw body (an event nobody handles, for inspection).
    pub keep_raw: bool,
}

/// The row of [`Store::chat_with_link`]: a chat's columns and its link's, each group NULL when there is none.
#[derive(sqlx::FromRow)]
struct ChatWithLink {
    channel: String,
    user_id: String,
    lang: Option<String>,
    commune_code: Option<String>,
    dialog: Option<String>,
    revision: Option<i64>,
    reachable: Option<bool>,
    opted_out: Option<bool>,
    last_interaction_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    official_id: Option<Uuid>,
    username: Option<String>,
    display_name: Option<String>,
    disabled: Option<bool>,
    linked_at: Option<DateTime<Utc>>,
}

impl ChatWithLink {
    fn split(self) -> (Option<ChatUserRow>, Option<LinkedChatRow>) {
        let chat = match (
            self.lang,
            self.dialog,
            self.revision,
            self.reachable,
            self.opted_out,
            self.created_at,
        ) {
            (Some(lang), Some(dialog), Some(revision), Some(reachable), Some(opted_out), Some(created_at)) => {
                Some(ChatUserRow {
                    channel: self.channel.clone(),
                    user_id: self.user_id.clone(),
                    lang,
                    commune_code: self.commune_code,
                    dialog,
                    revision,
                    reachable,
                    opted_out,
                    last_interaction_at: self.last_interaction_at,
                    created_at,
                })
            }
            _ => None,
        };
        let link = match (
            self.official_id,
            self.username,
            self.display_name,
            self.disabled,
            self.linked_at,
        ) {
            (Some(official_id), Some(username), Some(display_name), Some(disabled), Some(linked_at)) => {
                Some(LinkedChatRow {
                    channel: self.channel,
                    user_id: self.user_id,
                    official_id,
                    username,
                    display_name,
                    disabled,
                    linked_at,
                })
            }
            _ => None,
        };
        (chat, link)
    }
}

/// Makes the undelivered messages of channel `$1`, recipient `$2` due at `$3`; a campaign's messages keep to its
/// schedule and its pauses.
pub(super) const OUTBOX_DUE_NOW: &str = "UPDATE outbox SET next_attempt_at = $3 \
     WHERE channel = $1 AND recipient = $2 AND sent_at IS NULL AND next_attempt_at > $3 \
     AND (campaign_id IS NULL OR campaign_id IN (SELECT id FROM campaigns WHERE state = 'approved' AND scheduled_at <= $3))";

const INSERT_CHAT_USER: &str = "INSERT INTO chat_users (channel, user_id, lang, commune_code, dialog, reachable, \
     opted_out, last_interaction_at, revision, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) \
     ON CONFLICT (channel, user_id) DO NOTHING";

/// Moves a chat user's row to the next revision, if it is still at `$9` or unconditionally when `$10`.
const UPDATE_CHAT_USER: &str = "UPDATE chat_users SET lang = $3, commune_code = $4, dialog = $5, reachable = $6, \
     opted_out = $7, last_interaction_at = $8, revision = revision + 1 \
     WHERE channel = $1 AND user_id = $2 AND (revision = $9 OR $10)";

/// Runs [`INSERT_CHAT_USER`] or [`UPDATE_CHAT_USER`] for `$row` on `$exec`; evaluates to the rows changed.
macro_rules! put_chat_user {
    ($exec:expr, $row:expr, insert) => {
        sqlx::query(INSERT_CHAT_USER)
            .bind(&$row.channel)
            .bind(&$row.user_id)
            .bind(&$row.lang)
            .bind(&$row.commune_code)
            .bind(&$row.dialog)
            .bind($row.reachable)
            .bind($row.opted_out)
            .bind($row.last_interaction_at)
            .bind($row.created_at)
            .execute($exec)
            .await
            .map_err(db("saving a chat user"))?
            .rows_affected()
    };
    ($exec:expr, $row:expr, update, force: $force:expr) => {
        sqlx::query(UPDATE_CHAT_USER)
            .bind(&$row.channel)
            .bind(&$row.user_id)
            .bind(&$row.lang)
            .bind(&$row.commune_code)
            .bind(&$row.dialog)
            .bind($row.reachable)
            .bind($row.opted_out)
            .bind($row.last_interaction_at)
            .bind($row.revision)
            .bind($force)
            .execute($exec)
            .await
            .map_err(db("saving a chat user"))?
            .rows_affected()
    };
}

const CHAT_USER_COLUMNS: &str = "channel, user_id, lang, commune_code, dialog, revision, reachable, opted_out, \
     last_interaction_at, created_at";

impl Store {
    /// Records webhook events by their platform ids, in one transaction: each claimed by this instance until its
    /// `claimed_until`, with its raw body kept until it is handled. For each, in order, whether it is new: `false`
    /// for one already recorded (a retried delivery), and for the second of two with the same id in `events`.
    pub async fn record_chat_events(&self, events: &[NewChatEvent]) -> Result<Vec<bool>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let writer = self.writer().await;
        let inserted: Vec<(String, String)> = on_pool!(writer.pool, |p| {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO chat_events (channel, event_id, kind, user_id, raw, received_at, claimed_until) ",
            );
            insert.push_values(events, |mut row, e| {
                row.push_bind(e.channel.as_str())
                    .push_bind(e.event_id.as_str())
                    .push_bind(e.kind)
                    .push_bind(e.user_id.as_deref())
                    .push_bind(e.raw.as_str())
                    .push_bind(e.received_at)
                    .push_bind(e.claimed_until);
            });
            insert.push(" ON CONFLICT (channel, event_id) DO NOTHING RETURNING channel, event_id");
            insert
                .build_query_as()
                .fetch_all(p)
                .await
                .map_err(db("recording chat events"))
        })?;
        let mut new: std::collections::HashSet<(String, String)> = inserted.into_iter().collect();
        Ok(events
            .iter()
            .map(|e| new.remove(&(e.channel.clone(), e.event_id.clone())))
            .collect())
    }

    /// Marks events handled, in one statement; the raw bodies of those marked `keep_raw` stay (events nobody
    /// handles, kept for inspection), the others' are dropped.
    pub async fn finish_chat_events(&self, events: &[HandledChatEvent], now: DateTime<Utc>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut update = sqlx::QueryBuilder::new("UPDATE chat_events SET claimed_until = NULL, handled_at = ");
            update.push_bind(now);
            let kept: Vec<&HandledChatEvent> = events.iter().filter(|e| e.keep_raw).collect();
            if kept.is_empty() {
                update.push(", raw = NULL");
            } else {
                update.push(", raw = CASE WHEN (channel, event_id) IN ");
                update.push_tuples(&kept, |mut key, e| {
                    key.push_bind(e.channel.as_str()).push_bind(e.event_id.as_str());
                });
                update.push(" THEN raw ELSE NULL END");
            }
            update.push(" WHERE (channel, event_id) IN ");
            update.push_tuples(events, |mut key, e| {
                key.push_bind(e.channel.as_str()).push_bind(e.event_id.as_str());
            });
            update
                .build()
                .execute(p)
                .await
                .map(drop)
                .map_err(db("marking chat events handled"))
        })?;
        Ok(())
    }

    /// Claims events received but never handled (the instance that took them died, or handling failed) whose claim
    /// has run out: (channel, event id, raw body), oldest first.
    pub async fn claim_unhandled_chat_events(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let writer = self.writer().await;
        let candidates: Vec<(String, String, String)> = fetch!(
            writer.pool,
            fetch_all,
            "reading unhandled chat events",
            "SELECT channel, event_id, raw FROM chat_events WHERE handled_at IS NULL AND claimed_until < $1 \
             AND raw IS NOT NULL ORDER BY received_at LIMIT $2",
            now,
            limit,
        )?;
        let mut claimed = Vec::new();
        for (channel, event_id, raw) in candidates {
            let taken = execute!(
                writer.pool,
                "claiming a chat event",
                "UPDATE chat_events SET claimed_until = $3 WHERE channel = $1 AND event_id = $2 \
                 AND handled_at IS NULL AND claimed_until < $4",
                &channel,
                &event_id,
                claim_until,
                now,
            )?;
            if taken == 1 {
                claimed.push((channel, event_id, raw));
            }
        }
        Ok(claimed)
    }

    /// Events of a kind, newest first, with their raw bodies (for inspection and tests).
    pub async fn chat_events_of_kind(
        &self,
        channel: &str,
        kind: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading chat events",
            "SELECT event_id, raw FROM chat_events WHERE channel = $1 AND kind = $2 ORDER BY received_at DESC",
            channel,
            kind,
        )
    }

    /// Deletes event records older than `before`; retried deliveries come within minutes, not weeks.
    pub async fn prune_chat_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        Ok(execute!(
            writer.pool,
            "pruning chat events",
            "DELETE FROM chat_events WHERE received_at < $1 AND handled_at IS NOT NULL",
            before,
        )?)
    }

    /// A person on a chat channel, if they ever wrote.
    pub async fn chat_user(&self, channel: &str, user_id: &str) -> Result<Option<ChatUserRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CHAT_USER_COLUMNS} FROM chat_users WHERE channel = $1 AND user_id = $2"
        ));
        fetch!(&self.pool, fetch_optional, "reading a chat user", sql, channel, user_id)
    }

    /// A chat's row and the official account it is linked to, each if any, in one read: what every chat turn starts
    /// from.
    pub async fn chat_with_link(
        &self,
        channel: &str,
        user_id: &str,
    ) -> Result<(Option<ChatUserRow>, Option<LinkedChatRow>), StoreError> {
        let row: ChatWithLink = fetch!(
            &self.pool,
            fetch_one,
            "reading a chat and its link",
            "SELECT k.channel, k.user_id, u.lang, u.commune_code, u.dialog, u.revision, u.reachable, u.opted_out, \
             u.last_interaction_at, u.created_at, c.official_id, o.username, o.display_name, o.disabled, c.linked_at \
             FROM (SELECT CAST($1 AS TEXT) AS channel, CAST($2 AS TEXT) AS user_id) k \
             LEFT JOIN chat_users u ON u.channel = k.channel AND u.user_id = k.user_id \
             LEFT JOIN official_chats c ON c.channel = k.channel AND c.user_id = k.user_id \
             LEFT JOIN officials o ON o.id = c.official_id",
            channel,
            user_id,
        )?;
        Ok(row.split())
    }

    /// Stores a chat user's row if it is still at `row.revision` (a new row: if none exists yet), moving it to
    /// the next revision; `false` when another update came first (re-read and decide again).
    pub async fn save_chat_user(&self, row: &ChatUserRow, is_new: bool) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let changed = on_pool!(writer.pool, |p| {
            if is_new {
                put_chat_user!(p, row, insert)
            } else {
                put_chat_user!(p, row, update, force: false)
            }
        });
        Ok(changed == 1)
    }

    /// Stores one chat turn in one transaction: its survey step, if it took one, then the chat's row (new, or
    /// still at `row.revision`). A stale survey step writes nothing. A row that another event moved meanwhile is
    /// replaced all the same: what this event did is done (a stored answer, a sent report), so its state wins.
    pub async fn save_chat_turn(
        &self,
        row: &ChatUserRow,
        is_new: bool,
        survey: Option<&SessionWrite>,
    ) -> Result<ChatTurnWritten, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to save a chat turn"))?;
            let survey = match survey {
                Some(write) => Some(apply_session_write!(tx, write)),
                None => None,
            };
            if survey == Some(SessionWritten::Stale) {
                return Ok(ChatTurnWritten {
                    survey,
                    replaced: false,
                });
            }
            let saved = if is_new {
                put_chat_user!(&mut *tx, row, insert)
            } else {
                put_chat_user!(&mut *tx, row, update, force: false)
            };
            let replaced = saved == 0;
            if replaced {
                put_chat_user!(&mut *tx, row, update, force: true);
            }
            tx.commit().await.map_err(db("committing a chat turn"))?;
            Ok(ChatTurnWritten { survey, replaced })
        })
    }

    /// Marks whether the platform can deliver to this person (false after a block or an unfollow).
    pub async fn set_chat_reachable(&self, channel: &str, user_id: &str, reachable: bool) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "marking a chat user reachable or not",
            "UPDATE chat_users SET reachable = $3, revision = revision + 1 WHERE channel = $1 AND user_id = $2",
            channel,
            user_id,
            reachable,
        )?;
        Ok(())
    }

    /// Keeps a sanitised photo, or a checked voice note, for the report this person is writing (in the table named
    /// for photos, which came first).
    pub async fn add_draft_file(
        &self,
        channel: &str,
        user_id: &str,
        content_type: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "keeping a draft photo",
            "INSERT INTO chat_draft_photos (id, channel, user_id, content_type, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            Uuid::new_v4(),
            channel,
            user_id,
            content_type,
            bytes,
            now,
        )?;
        Ok(())
    }

    /// The files (photos and voice notes) of this person's draft report with their content types, oldest first.
    pub async fn draft_files(&self, channel: &str, user_id: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading draft files",
            "SELECT content_type, bytes FROM chat_draft_photos WHERE channel = $1 AND user_id = $2 \
             ORDER BY created_at, id",
            channel,
            user_id,
        )
    }

    /// Drops the files of this person's draft report (sent or abandoned).
    pub async fn clear_draft_files(&self, channel: &str, user_id: &str) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "dropping draft photos",
            "DELETE FROM chat_draft_photos WHERE channel = $1 AND user_id = $2",
            channel,
            user_id,
        )?;
        Ok(())
    }

    /// Makes this person's undelivered messages due now (they wrote again, so the platform lets us answer).
    pub async fn outbox_due_now(&self, channel: &str, recipient: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        Ok(execute!(
            writer.pool,
            "rescheduling messages",
            OUTBOX_DUE_NOW,
            channel,
            recipient,
            now,
        )?)
    }

    /// A channel's stored OAuth tokens.
    pub async fn channel_tokens(&self, channel: &str) -> Result<Option<TokenRow>, StoreError> {
        type Tuple = (String, String, DateTime<Utc>, Option<DateTime<Utc>>, i64);
        let row: Option<Tuple> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a channel's tokens",
            "SELECT access_token, refresh_token, expires_at, refreshing_until, revision FROM channel_tokens \
             WHERE channel = $1",
            channel,
        )?;
        Ok(row.map(
            |(access_token, refresh_token, expires_at, refreshing_until, revision)| TokenRow {
                access_token,
                refresh_token,
                expires_at,
                refreshing_until,
                revision,
            },
        ))
    }

    /// Takes the right to refresh a channel's tokens until `until`, if the row is still at `revision` and nobody
    /// else holds it. `true` for the one caller that won.
    pub async fn take_token_refresh(
        &self,
        channel: &str,
        revision: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let taken = execute!(
            writer.pool,
            "taking the token refresh",
            "UPDATE channel_tokens SET refreshing_until = $3, revision = revision + 1 \
             WHERE channel = $1 AND revision = $2 AND (refreshing_until IS NULL OR refreshing_until < $4)",
            channel,
            revision,
            until,
            now,
        )?;
        Ok(taken == 1)
    }

    /// Stores new tokens (both at once: the new refresh token is saved before the new access token is used) and
    /// releases the refresh.
    pub async fn store_channel_tokens(
        &self,
        channel: &str,
        access_token: &str,
        refresh_token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "storing a channel's tokens",
            "INSERT INTO channel_tokens (channel, access_token, refresh_token, expires_at, refreshing_until, revision, \
             updated_at) VALUES ($1, $2, $3, $4, NULL, 1, $5) ON CONFLICT (channel) DO UPDATE SET \
             access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             expires_at = excluded.expires_at, refreshing_until = NULL, \
             revision = channel_tokens.revision + 1, updated_at = excluded.updated_at",
            channel,
            access_token,
            refresh_token,
            expires_at,
            now,
        )?;
        Ok(())
    }

    /// Gives up a refresh that failed, so that another try may start.
    pub async fn release_token_refresh(&self, channel: &str) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "releasing the token refresh",
            "UPDATE channel_tokens SET refreshing_until = NULL, revision = revision + 1 WHERE channel = $1",
            channel,
        )?;
        Ok(())
    }
}
