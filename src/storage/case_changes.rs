//! The writes of cases: a new case with its reporter, photos and first timeline entry, and every change to one,
//! each in one transaction with its timeline entry, answer, evidence, clock pause, audit entry and the news to
//! queue for the reporter's chat.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ReporterRow, Store, StoreError, db, on_pool};
use crate::domain::Channel;
use crate::domain::cases::{CaseState, Tier};

/// A photo or document attached to a case, sanitized before it gets here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    pub source: &'static str,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

/// One entry of a case's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub actor_kind: &'static str,
    pub official_id: Option<Uuid>,
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub public: bool,
    pub note: Option<String>,
}

/// A message to queue for the citizen's chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOutboxMessage {
    pub dedupe_key: String,
    pub channel: ykien_bots::message::Channel,
    pub recipient: String,
    pub body: String,
}

/// An entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub official_id: Option<Uuid>,
    pub action: String,
    pub target: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub detail: Option<String>,
}

/// A new case with everything that arrives with it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCase {
    pub code: String,
    pub unit_id: Uuid,
    pub category: String,
    pub subdimension: String,
    pub office: String,
    pub tier: Tier,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub channel: Channel,
    /// The chat it was reported from (Telegram or Zalo user id), if any.
    pub reporter_chat: Option<String>,
    pub received_at: DateTime<Utc>,
    pub accept_due_at: DateTime<Utc>,
    pub reporter: ReporterRow,
    /// SHA-256 (hex) of the key the reporter holds.
    pub reporter_key_hash: String,
    pub photos: Vec<NewAttachment>,
}

/// Everything one action changes on a case, applied at once if the case is still at `expected_revision`.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseChange {
    pub case_id: Uuid,
    pub expected_revision: i64,
    pub state: CaseState,
    pub resume_to: Option<CaseState>,
    pub unit_id: Uuid,
    pub office: String,
    pub tier: Tier,
    pub answer_due_at: Option<DateTime<Utc>>,
    pub extension_minutes: i64,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicate_of: Option<Uuid>,
    pub event: CaseEvent,
    pub answer: Option<NewAnswer>,
    pub evidence: Vec<NewAttachment>,
    /// Start a pause of the deadline clock (waiting for the citizen) or end the open one.
    pub pause: Option<PauseChange>,
    pub audit: Option<AuditEntry>,
    pub notify: Option<NewOutboxMessage>,
}

/// An official's answer to store with a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAnswer {
    pub what_was_done: String,
    pub by_unit: String,
    pub legal_basis: Option<String>,
    pub official_id: Option<Uuid>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseChange {
    Start,
    End,
}

macro_rules! insert_attachments {
    ($tx:expr, $case_id:expr, $items:expr, $now:expr) => {
        for a in $items {
            sqlx::query(
                "INSERT INTO attachments (id, case_id, source, content_type, bytes, sha256, width, height, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(Uuid::new_v4())
            .bind($case_id)
            .bind(a.source)
            .bind(&a.content_type)
            .bind(&a.bytes)
            .bind(&a.sha256)
            .bind(i64::from(a.width))
            .bind(i64::from(a.height))
            .bind($now)
            .execute(&mut *$tx)
            .await
            .map_err(db("storing an attachment"))?;
        }
    };
}

macro_rules! insert_event {
    ($tx:expr, $case_id:expr, $e:expr) => {
        sqlx::query(
            "INSERT INTO case_events (id, case_id, at, actor_kind, official_id, action, from_state, to_state, public, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::new_v4())
        .bind($case_id)
        .bind($e.at)
        .bind($e.actor_kind)
        .bind($e.official_id)
        .bind(&$e.action)
        .bind($e.from_state.map(CaseState::as_str))
        .bind($e.to_state.as_str())
        .bind($e.public)
        .bind(&$e.note)
        .execute(&mut *$tx)
        .await
        .map_err(db("recording a case event"))?;
    };
}

macro_rules! insert_audit {
    ($tx:expr, $a:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO audit_log (id, at, official_id, action, target, before_state, after_state, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::new_v4())
        .bind($now)
        .bind($a.official_id)
        .bind(&$a.action)
        .bind(&$a.target)
        .bind(&$a.before_state)
        .bind(&$a.after_state)
        .bind(&$a.detail)
        .execute(&mut *$tx)
        .await
        .map_err(db("writing the audit log"))?;
    };
}

macro_rules! insert_outbox {
    ($tx:expr, $case_id:expr, $m:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO outbox (id, dedupe_key, channel, recipient, case_id, body, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(&$m.dedupe_key)
        .bind($m.channel.as_str())
        .bind(&$m.recipient)
        .bind($case_id)
        .bind(&$m.body)
        .bind(0_i64)
        .bind($now)
        .execute(&mut *$tx)
        .await
        .map_err(db("queueing a notification"))?;
    };
}

impl Store {
    /// Stores a new case with its reporter, photos and first timeline entry. A code already used is a
    /// `Conflict` (the caller draws another).
    pub async fn insert_case(&self, case: &NewCase) -> Result<Uuid, StoreError> {
        let writer = self.writer().await;
        let id = Uuid::new_v4();
        let now = case.received_at;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin().await.map_err(db("starting to store a case"))?;
            sqlx::query(
                "INSERT INTO cases (id, code, unit_id, category, subdimension, office, tier, state, text, lat, lon, channel, \
                 received_at, accept_due_at, extension_minutes, revision, updated_at, reporter_chat) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $13, $17)",
            )
            .bind(id)
            .bind(&case.code)
            .bind(case.unit_id)
            .bind(&case.category)
            .bind(&case.subdimension)
            .bind(&case.office)
            .bind(case.tier.as_str())
            .bind(CaseState::Received.as_str())
            .bind(&case.text)
            .bind(case.lat)
            .bind(case.lon)
            .bind(case.channel.as_str())
            .bind(case.received_at)
            .bind(case.accept_due_at)
            .bind(0_i64)
            .bind(0_i64)
            .bind(&case.reporter_chat)
            .execute(&mut *tx)
            .await
            .map_err(db("a case with this tracking code"))?;
            sqlx::query(
                "INSERT INTO case_reporters (case_id, name, phone, email, pseudonym, key_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&case.reporter.name)
            .bind(&case.reporter.phone)
            .bind(&case.reporter.email)
            .bind(&case.reporter.pseudonym)
            .bind(&case.reporter_key_hash)
            .execute(&mut *tx)
            .await
            .map_err(db("storing the reporter of a case"))?;
            insert_attachments!(tx, id, &case.photos, now);
            let event = CaseEvent {
                at: now,
                actor_kind: "citizen",
                official_id: None,
                action: "submit".into(),
                from_state: None,
                to_state: CaseState::Received,
                public: true,
                note: None,
            };
            insert_event!(tx, id, event);
            tx.commit().await.map_err(db("committing a new case"))?;
            Ok::<(), StoreError>(())
        })?;
        Ok(id)
    }

    /// Applies one action to a case if nobody changed it since `expected_revision`; false otherwise (a stale
    /// form), with nothing changed.
    pub async fn change_case(&self, change: &CaseChange) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let now = change.event.at;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin().await.map_err(db("starting to change a case"))?;
            let updated = sqlx::query(
                "UPDATE cases SET state = $3, resume_to = $4, unit_id = $5, office = $6, tier = $7, answer_due_at = $8, \
                 extension_minutes = $9, answered_at = $10, closed_at = $11, duplicate_of = $12, revision = revision + 1, \
                 updated_at = $13 WHERE id = $1 AND revision = $2",
            )
            .bind(change.case_id)
            .bind(change.expected_revision)
            .bind(change.state.as_str())
            .bind(change.resume_to.map(CaseState::as_str))
            .bind(change.unit_id)
            .bind(&change.office)
            .bind(change.tier.as_str())
            .bind(change.answer_due_at)
            .bind(change.extension_minutes)
            .bind(change.answered_at)
            .bind(change.closed_at)
            .bind(change.duplicate_of)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db("changing a case"))?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            insert_event!(tx, change.case_id, change.event);
            if let Some(answer) = &change.answer {
                sqlx::query(
                    "INSERT INTO case_answers (id, case_id, what_was_done, by_unit, legal_basis, official_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Uuid::new_v4())
                .bind(change.case_id)
                .bind(&answer.what_was_done)
                .bind(&answer.by_unit)
                .bind(&answer.legal_basis)
                .bind(answer.official_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("storing an answer"))?;
            }
            insert_attachments!(tx, change.case_id, &change.evidence, now);
            match change.pause {
                Some(PauseChange::Start) => {
                    sqlx::query("INSERT INTO case_pauses (case_id, started_at) VALUES ($1, $2)")
                        .bind(change.case_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("pausing a case's clock"))?;
                }
                Some(PauseChange::End) => {
                    sqlx::query("UPDATE case_pauses SET ended_at = $2 WHERE case_id = $1 AND ended_at IS NULL")
                        .bind(change.case_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("resuming a case's clock"))?;
                }
                None => {}
            }
            if let Some(a) = &change.audit {
                insert_audit!(tx, a, now);
            }
            if let Some(m) = &change.notify {
                insert_outbox!(tx, change.case_id, m, now);
            }
            tx.commit().await.map_err(db("committing a case change"))?;
            Ok(true)
        })
    }

    /// Flags an overdue case once, with an internal timeline entry; false if it was flagged already.
    pub async fn escalate_case(
        &self,
        case_id: Uuid,
        state: CaseState,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin().await.map_err(db("starting to escalate a case"))?;
            let updated = sqlx::query("UPDATE cases SET escalated_at = $2 WHERE id = $1 AND escalated_at IS NULL")
                .bind(case_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("escalating a case"))?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            let event = CaseEvent {
                at: now,
                actor_kind: "system",
                official_id: None,
                action: "escalate".into(),
                from_state: Some(state),
                to_state: state,
                public: false,
                note: Some(note.to_owned()),
            };
            insert_event!(tx, case_id, event);
            tx.commit().await.map_err(db("committing an escalation"))?;
            Ok(true)
        })
    }

    /// Records (or replaces) the citizen's rating of the answer.
    pub async fn rate_case(
        &self,
        case_id: Uuid,
        score: i64,
        comment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            sqlx::query(
                "INSERT INTO case_ratings (case_id, score, comment, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (case_id) DO UPDATE SET score = excluded.score, comment = excluded.comment, at = excluded.at",
            )
            .bind(case_id)
            .bind(score)
            .bind(comment)
            .bind(at)
            .execute(p)
            .await
            .map_err(db("storing a rating"))?;
            Ok(())
        })
    }
}
