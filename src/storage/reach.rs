//! Reaching citizens as a group: news subscriptions, Zalo's reply windows and proactive quota, campaigns (queued
//! into the outbox once per recipient), their delivery reports, and quiz rounds with their entries.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// Zalo's free replies within one window (<https://zalooa.freshdesk.com/support/solutions/articles/64000261136>).
pub const ZALO_REPLIES_PER_WINDOW: i64 = 8;

/// A campaign as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: Uuid,
    pub title: String,
    pub text_vi: String,
    pub text_en: Option<String>,
    pub link: Option<String>,
    pub image_type: Option<String>,
    pub channels: String,
    pub scheduled_at: DateTime<Utc>,
    pub state: String,
    pub origin: String,
    pub author_id: Option<Uuid>,
    pub approver_id: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A campaign to store as a draft.
#[derive(Clone, Debug)]
pub struct NewCampaign {
    pub id: Uuid,
    pub title: String,
    pub text_vi: String,
    pub text_en: Option<String>,
    pub link: Option<String>,
    pub image: Option<(String, Vec<u8>)>,
    pub channels: String,
    pub scheduled_at: DateTime<Utc>,
    pub origin: String,
    pub author_id: Option<Uuid>,
    pub communes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A chat user a campaign may reach, as read when it is approved.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RecipientRow {
    pub channel: String,
    pub user_id: String,
    pub commune_code: String,
    pub lang: String,
    pub opted_out: bool,
    pub reachable: bool,
    pub subscribed: Option<bool>,
}

/// One line of a campaign's delivery report: the recipients of one commune and channel in one situation.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CommuneReport {
    pub commune_code: String,
    pub channel: String,
    /// `queued`, `opted_out`, `unsubscribed`, `unreachable` (as at approval)
    pub outcome: String,
    /// How the message went out, or why it was not sent at the end (`opted_out`, `unsubscribed`), if it was decided.
    pub sent_as: Option<String>,
    pub sent: bool,
    /// The last failure or the reason it waits.
    pub last_error: Option<String>,
    pub count: i64,
}

/// A quiz round as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QuizRoundRow {
    pub id: Uuid,
    pub title: String,
    pub question_ids: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub seed: String,
    pub seed_hash: String,
    pub winners: i64,
    pub created_at: DateTime<Utc>,
    /// The communes it is for (codes, comma-separated); empty: every commune.
    pub communes: String,
    /// The official who made it in the console (none for the demo's).
    pub created_by: Option<Uuid>,
    /// The draft campaign made with it to announce it, if any.
    pub campaign_id: Option<Uuid>,
}

/// One person's entry in a quiz round (no identity: only its keyed hash, never read back out).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QuizEntryRow {
    pub entry_id: Uuid,
    pub channel: String,
    pub commune_code: String,
    pub answers: String,
    pub score: i64,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const QUIZ_ROUND_COLUMNS: &str = "id, title, question_ids, opens_at, closes_at, seed, seed_hash, winners, created_at, communes, created_by, campaign_id";

const CAMPAIGN_COLUMNS: &str = "id, title, text_vi, text_en, link, image_type, channels, scheduled_at, state, origin, \
     author_id, approver_id, approved_at, created_at";

/// How many rows one multi-row insert carries when a campaign is queued: well under both engines' bind limits.
const QUEUE_BATCH: usize = 500;

impl Store {
    /// Records a person's choice about commune news.
    pub async fn set_news_subscription(
        &self,
        channel: &str,
        user_id: &str,
        subscribed: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "recording a news subscription",
            "INSERT INTO news_subscriptions (channel, user_id, subscribed, changed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, user_id) DO UPDATE SET subscribed = $3, changed_at = $4",
            channel,
            user_id,
            subscribed,
            at,
        )?;
        Ok(())
    }

    /// Whether a person takes commune news (yes unless they said no).
    pub async fn news_subscribed(&self, channel: &str, user_id: &str) -> Result<bool, StoreError> {
        let row: Option<(bool,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a news subscription",
            "SELECT subscribed FROM news_subscriptions WHERE channel = $1 AND user_id = $2",
            channel,
            user_id,
        )?;
        Ok(row.is_none_or(|(s,)| s))
    }

    /// A Zalo user's message was answered: it opens a new reply window at `at` with `replies_taken` of its replies
    /// already used (by the answer itself), and what waited for this user becomes due now (how many messages). One
    /// transaction.
    pub async fn zalo_message_answered(
        &self,
        user_id: &str,
        message_id: &str,
        at: DateTime<Utc>,
        replies_taken: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to open a Zalo reply window"))?;
            execute!(
                tx: tx,
                "opening a Zalo reply window",
                "INSERT INTO zalo_reply_windows (user_id, message_id, received_at, replies_used) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id) DO UPDATE SET message_id = $2, received_at = $3, replies_used = $4",
                user_id,
                message_id,
                at,
                replies_taken,
            )?;
            let due = execute!(tx: tx, "rescheduling messages", super::chat::OUTBOX_DUE_NOW, "zalo", user_id, now)?;
            tx.commit().await.map_err(db("committing a Zalo reply window"))?;
            Ok(due)
        })
    }

    /// Takes `parts` replies of a Zalo user's window opened after `opened_after`, if that many are left: the id of
    /// the message to quote. Atomic, so that two instances never use more than the window holds.
    pub async fn take_zalo_replies(
        &self,
        user_id: &str,
        opened_after: DateTime<Utc>,
        parts: i64,
    ) -> Result<Option<String>, StoreError> {
        let writer = self.writer().await;
        let row: Option<(String,)> = fetch!(
            writer.pool,
            fetch_optional,
            "taking a Zalo reply",
            "UPDATE zalo_reply_windows SET replies_used = replies_used + $3 \
             WHERE user_id = $1 AND received_at > $2 AND replies_used + $3 <= $4 RETURNING message_id",
            user_id,
            opened_after,
            parts,
            ZALO_REPLIES_PER_WINDOW,
        )?;
        Ok(row.map(|(id,)| id))
    }

    /// The window of a Zalo user: (message id, received at, replies used).
    pub async fn zalo_window(&self, user_id: &str) -> Result<Option<(String, DateTime<Utc>, i64)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a Zalo reply window",
            "SELECT message_id, received_at, replies_used FROM zalo_reply_windows WHERE user_id = $1",
            user_id,
        )
    }

    /// The Zalo quota of a month as last read and counted: (remaining, total, read at).
    pub async fn zalo_quota(&self, month: &str) -> Result<Option<(i64, i64, DateTime<Utc>)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading the Zalo quota",
            "SELECT remaining, total, read_at FROM zalo_quota WHERE month = $1",
            month,
        )
    }

    /// Stores the quota Zalo reported for a month.
    pub async fn store_zalo_quota(
        &self,
        month: &str,
        remaining: i64,
        total: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "storing the Zalo quota",
            "INSERT INTO zalo_quota (month, remaining, total, read_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (month) DO UPDATE SET remaining = $2, total = $3, read_at = $4",
            month,
            remaining,
            total,
            at,
        )?;
        Ok(())
    }

    /// Takes `parts` proactive messages of a month's quota if that many are left; false when it is spent.
    pub async fn take_zalo_quota(&self, month: &str, parts: i64) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let taken = execute!(
            writer.pool,
            "taking from the Zalo quota",
            "UPDATE zalo_quota SET remaining = remaining - $2 WHERE month = $1 AND remaining >= $2",
            month,
            parts,
        )?;
        Ok(taken == 1)
    }

    /// Stores a draft campaign with its communes; false (and nothing stored) when it is a once-only draft ("you
    /// said, we did") already prepared, by this instance or another.
    pub async fn insert_campaign(&self, new: &NewCampaign) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let (image_type, image) = match &new.image {
            Some((t, bytes)) => (Some(t.clone()), Some(bytes.clone())),
            None => (None, None),
        };
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to store a campaign"))?;
            // The conflict is the once-only origin's (migration 0020); ids are fresh UUIDs.
            let stored = execute!(
                tx: tx,
                "storing a campaign",
                "INSERT INTO campaigns (id, title, text_vi, text_en, link, image, image_type, channels, scheduled_at, \
                 state, origin, author_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $12) \
                 ON CONFLICT DO NOTHING",
                new.id,
                &new.title,
                &new.text_vi,
                &new.text_en,
                &new.link,
                &image,
                &image_type,
                &new.channels,
                new.scheduled_at,
                &new.origin,
                new.author_id,
                new.created_at,
            )?;
            if stored != 1 {
                return Ok(false);
            }
            for code in &new.communes {
                execute!(
                    tx: tx,
                    "storing a campaign's commune",
                    "INSERT INTO campaign_communes (campaign_id, commune_code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    new.id,
                    code,
                )?;
            }
            tx.commit().await.map_err(db("committing a campaign"))?;
            Ok(true)
        })
    }

    pub async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"));
        fetch!(&self.pool, fetch_optional, "reading a campaign", sql, id)
    }

    /// Campaigns, newest first.
    pub async fn campaigns(&self, limit: i64) -> Result<Vec<CampaignRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC LIMIT $1"
        ));
        fetch!(&self.pool, fetch_all, "listing campaigns", sql, limit)
    }

    /// A commune's news: the campaigns sent to it (approved, from their schedule on), newest first.
    pub async fn commune_news(
        &self,
        commune: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CampaignRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE state = 'approved' AND scheduled_at <= $2 \
             AND id IN (SELECT campaign_id FROM campaign_communes WHERE commune_code = $1) \
             ORDER BY scheduled_at DESC LIMIT $3"
        ));
        fetch!(
            &self.pool,
            fetch_all,
            "reading a commune's news",
            sql,
            commune,
            now,
            limit
        )
    }

    pub async fn campaign_communes(&self, id: Uuid) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = fetch!(
            &self.pool,
            fetch_all,
            "reading a campaign's communes",
            "SELECT commune_code FROM campaign_communes WHERE campaign_id = $1 ORDER BY commune_code",
            id,
        )?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// A campaign's image: (content type, bytes).
    pub async fn campaign_image(&self, id: Uuid) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a campaign's image",
            "SELECT image_type, image FROM campaigns WHERE id = $1",
            id,
        )?;
        Ok(row.and_then(|(t, b)| Some((t?, b?))))
    }

    /// The chat users of a campaign's communes on its channels, as they stand now.
    pub async fn campaign_audience(&self, id: Uuid) -> Result<Vec<RecipientRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a campaign's audience",
            "SELECT u.channel, u.user_id, u.commune_code, u.lang, u.opted_out, u.reachable, s.subscribed \
             FROM chat_users u JOIN campaign_communes cc ON cc.campaign_id = $1 AND cc.commune_code = u.commune_code \
             LEFT JOIN news_subscriptions s ON s.channel = u.channel AND s.user_id = u.user_id \
             ORDER BY u.channel, u.user_id",
            id,
        )
    }

    /// Approves a draft and queues it, in one transaction: one outbox row per (campaign, recipient) (the dedupe key
    /// makes a second approval queue nothing), due at the schedule, and one recipient row per person targeted.
    /// `queued` holds (recipient, outbox id, body) for those who get it; `skipped` (recipient, reason) the others.
    /// False when the campaign was no longer a draft.
    pub async fn approve_and_queue_campaign(
        &self,
        id: Uuid,
        approver: Uuid,
        now: DateTime<Utc>,
        scheduled_at: DateTime<Utc>,
        queued: &[(RecipientRow, Uuid, String)],
        skipped: &[(RecipientRow, &str)],
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to queue a campaign"))?;
            let approved = execute!(
                tx: tx,
                "approving a campaign",
                "UPDATE campaigns SET state = 'approved', approver_id = $2, approved_at = $3 WHERE id = $1 AND state = 'draft'",
                id,
                approver,
                now,
            )?;
            if approved != 1 {
                return Ok(false);
            }
            for chunk in queued.chunks(QUEUE_BATCH) {
                let mut outbox = sqlx::QueryBuilder::new(
                    "INSERT INTO outbox (id, dedupe_key, channel, recipient, body, attempts, next_attempt_at, \
                     created_at, campaign_id) ",
                );
                outbox.push_values(chunk, |mut b, (r, outbox_id, body)| {
                    b.push_bind(*outbox_id)
                        .push_bind(format!("campaign:{id}:{}:{}", r.channel, r.user_id))
                        .push_bind(r.channel.clone())
                        .push_bind(r.user_id.clone())
                        .push_bind(body.clone())
                        .push_bind(0_i64)
                        .push_bind(scheduled_at)
                        .push_bind(now)
                        .push_bind(id);
                });
                outbox.push(" ON CONFLICT (dedupe_key) DO NOTHING");
                outbox
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(db("queueing a campaign's messages"))?;
                let mut recipients = sqlx::QueryBuilder::new(
                    "INSERT INTO campaign_recipients (campaign_id, channel, user_id, commune_code, outcome, outbox_id) ",
                );
                recipients.push_values(chunk, |mut b, (r, outbox_id, _)| {
                    b.push_bind(id)
                        .push_bind(r.channel.clone())
                        .push_bind(r.user_id.clone())
                        .push_bind(r.commune_code.clone())
                        .push_bind("queued")
                        .push_bind(Some(*outbox_id));
                });
                recipients.push(" ON CONFLICT DO NOTHING");
                recipients
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(db("recording a campaign's recipients"))?;
            }
            for chunk in skipped.chunks(QUEUE_BATCH) {
                let mut recipients = sqlx::QueryBuilder::new(
                    "INSERT INTO campaign_recipients (campaign_id, channel, user_id, commune_code, outcome, outbox_id) ",
                );
                recipients.push_values(chunk, |mut b, (r, reason)| {
                    b.push_bind(id)
                        .push_bind(r.channel.clone())
                        .push_bind(r.user_id.clone())
                        .push_bind(r.commune_code.clone())
                        .push_bind(reason.to_string())
                        .push_bind(None::<Uuid>);
                });
                recipients.push(" ON CONFLICT DO NOTHING");
                recipients
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map_err(db("recording a campaign's recipients"))?;
            }
            tx.commit().await.map_err(db("committing a queued campaign"))?;
            Ok(true)
        })
    }

    /// Moves a campaign from one of (at most two) states to another; false when it was in neither.
    pub async fn set_campaign_state(&self, id: Uuid, from: &[&str], to: &str) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let first = from.first().copied().unwrap_or(to);
        let second = from.get(1).copied().unwrap_or(first);
        let changed = execute!(
            writer.pool,
            "changing a campaign's state",
            "UPDATE campaigns SET state = $4 WHERE id = $1 AND state IN ($2, $3)",
            id,
            first,
            second,
            to,
        )?;
        Ok(changed == 1)
    }

    /// Holds (or, with `until` now, releases) a campaign's unsent messages; returns how many.
    pub async fn reschedule_campaign_messages(&self, id: Uuid, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "holding or releasing a campaign's messages",
            "UPDATE outbox SET next_attempt_at = $2 WHERE campaign_id = $1 AND sent_at IS NULL",
            id,
            until,
        )
    }

    /// Drops a campaign's unsent messages (it was cancelled before it started).
    pub async fn drop_campaign_messages(&self, id: Uuid) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "dropping a campaign's messages",
            "DELETE FROM outbox WHERE campaign_id = $1 AND sent_at IS NULL",
            id,
        )
    }

    /// A campaign's delivery report, by commune, channel and situation.
    pub async fn campaign_report(&self, id: Uuid) -> Result<Vec<CommuneReport>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a campaign's delivery report",
            "SELECT r.commune_code, r.channel, r.outcome, o.sent_as, (o.sent_at IS NOT NULL) AS sent, o.last_error, \
             COUNT(*) AS count FROM campaign_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id \
             WHERE r.campaign_id = $1 \
             GROUP BY r.commune_code, r.channel, r.outcome, o.sent_as, (o.sent_at IS NOT NULL), o.last_error \
             ORDER BY r.commune_code, r.channel",
            id,
        )
    }

    /// How each message about a case went out or why it waits: (channel, sent as, sent at, last error), oldest
    /// first.
    pub async fn case_deliveries(
        &self,
        case_id: Uuid,
    ) -> Result<Vec<(String, Option<String>, Option<DateTime<Utc>>, Option<String>)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading how a case's news went out",
            "SELECT channel, sent_as, sent_at, last_error FROM outbox WHERE case_id = $1 ORDER BY created_at",
            case_id,
        )
    }

    /// Stores a quiz round.
    pub async fn insert_quiz_round(&self, round: &QuizRoundRow) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "storing a quiz round",
            "INSERT INTO quiz_rounds (id, title, question_ids, opens_at, closes_at, seed, seed_hash, winners, created_at, \
             communes, created_by, campaign_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            round.id,
            &round.title,
            &round.question_ids,
            round.opens_at,
            round.closes_at,
            &round.seed,
            &round.seed_hash,
            round.winners,
            round.created_at,
            &round.communes,
            round.created_by,
            round.campaign_id,
        )?;
        Ok(())
    }

    pub async fn quiz_round(&self, id: Uuid) -> Result<Option<QuizRoundRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {QUIZ_ROUND_COLUMNS} FROM quiz_rounds WHERE id = $1"));
        fetch!(&self.pool, fetch_optional, "reading a quiz round", sql, id)
    }

    /// Quiz rounds, newest first.
    pub async fn quiz_rounds(&self) -> Result<Vec<QuizRoundRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {QUIZ_ROUND_COLUMNS} FROM quiz_rounds ORDER BY opens_at DESC"
        ));
        fetch!(&self.pool, fetch_all, "listing quiz rounds", sql)
    }

    /// The rounds open at `now`, newest first (whichever communes they are for).
    pub async fn open_quiz_rounds(&self, now: DateTime<Utc>) -> Result<Vec<QuizRoundRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {QUIZ_ROUND_COLUMNS} FROM quiz_rounds WHERE opens_at <= $1 AND closes_at > $1 \
             ORDER BY opens_at DESC, id"
        ));
        fetch!(&self.pool, fetch_all, "listing the open quiz rounds", sql, now)
    }

    /// Closes a round now, before its time; false when it was already closed.
    pub async fn close_quiz_round(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let closed = execute!(
            writer.pool,
            "closing a quiz round",
            "UPDATE quiz_rounds SET closes_at = $2 WHERE id = $1 AND closes_at > $2",
            id,
            now,
        )?;
        Ok(closed == 1)
    }

    /// Whether the "you said, we did" drafts of a wave's report period were prepared.
    pub async fn you_said_prepared(&self, wave_code: &str, period: &str) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading whether a period's drafts were prepared",
            "SELECT drafts FROM you_said_prepared WHERE wave_code = $1 AND period = $2",
            wave_code,
            period,
        )?;
        Ok(row.is_some())
    }

    /// Records that a wave's report period had its drafts prepared (a second record is nothing).
    pub async fn mark_you_said_prepared(
        &self,
        wave_code: &str,
        period: &str,
        drafts: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "recording that a period's drafts were prepared",
            "INSERT INTO you_said_prepared (wave_code, period, drafts, prepared_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (wave_code, period) DO NOTHING",
            wave_code,
            period,
            drafts,
            at,
        )?;
        Ok(())
    }

    /// A person's entry in a round, by the keyed hash of their identity.
    pub async fn quiz_entry(&self, round: Uuid, identity_hash: &str) -> Result<Option<QuizEntryRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a quiz entry",
            "SELECT entry_id, channel, commune_code, answers, score, finished_at, created_at FROM quiz_entries \
             WHERE round_id = $1 AND identity_hash = $2",
            round,
            identity_hash,
        )
    }

    /// Starts a person's entry; false when they already have one in this round.
    pub async fn start_quiz_entry(
        &self,
        round: Uuid,
        identity_hash: &str,
        channel: &str,
        commune_code: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let inserted = execute!(
            writer.pool,
            "starting a quiz entry",
            "INSERT INTO quiz_entries (round_id, identity_hash, entry_id, channel, commune_code, answers, score, created_at) \
             VALUES ($1, $2, $3, $4, $5, '', 0, $6) ON CONFLICT (round_id, identity_hash) DO NOTHING",
            round,
            identity_hash,
            Uuid::new_v4(),
            channel,
            commune_code,
            now,
        )?;
        Ok(inserted == 1)
    }

    /// Records the answers so far of an unfinished entry still at `previous` answers (so that a repeated answer
    /// counts once); false when it moved on or is finished.
    pub async fn record_quiz_answer(
        &self,
        round: Uuid,
        identity_hash: &str,
        previous: &str,
        answers: &str,
        score: i64,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let changed = execute!(
            writer.pool,
            "recording a quiz answer",
            "UPDATE quiz_entries SET answers = $4, score = $5, finished_at = $6 \
             WHERE round_id = $1 AND identity_hash = $2 AND answers = $3 AND finished_at IS NULL",
            round,
            identity_hash,
            previous,
            answers,
            score,
            finished_at,
        )?;
        Ok(changed == 1)
    }

    /// The finished entries of a round, in the order of their ids (what the draw ranks), without identity.
    pub async fn quiz_entries(&self, round: Uuid) -> Result<Vec<QuizEntryRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a round's entries",
            "SELECT entry_id, channel, commune_code, answers, score, finished_at, created_at FROM quiz_entries \
             WHERE round_id = $1 AND finished_at IS NOT NULL ORDER BY entry_id",
            round,
        )
    }
}
