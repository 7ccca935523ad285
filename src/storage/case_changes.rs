//! The writes of cases: a new case with its reporter, photos and first timeline entry, and every change to one,
//! each in one transaction with its timeline entry, answer, evidence, clock pause, audit entry and the news to
//! queue for the reporter's chat.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BeginWrite, ReporterRow, Store, StoreError, db, execute, on_pool};
use crate::domain::Channel;
use crate::domain::cases::{Case, CaseState, Publicity, Tier};

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
    pub channel: Channel,
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
    pub address: Option<String>,
    pub channel: Channel,
    /// The chat it was reported from (Telegram or Zalo user id), if any.
    pub reporter_chat: Option<String>,
    pub received_at: DateTime<Utc>,
    pub accept_due_at: DateTime<Utc>,
    pub reporter: ReporterRow,
    /// SHA-256 (hex) of the key the reporter holds.
    pub reporter_key_hash: String,
    pub photos: Vec<NewAttachment>,
    /// Whether the reporter lets the answered case (and its photos) be shown publicly.
    pub publicity: Publicity,
    /// The intake desk's official who recorded it (a case received by hotline, in person, by letter or email);
    /// `None` when the citizen filed it themselves.
    pub recorded_by: Option<Uuid>,
    /// When the intake desk recorded it (`received_at` is when it was received, and may be earlier).
    pub recorded_at: DateTime<Utc>,
    /// The token of the unsubscribe link of the case's news by email, when the reporter left an address.
    pub news_token: Option<String>,
    /// News queued with the case (the intake desk's confirmation by email).
    pub news: Vec<NewOutboxMessage>,
}

/// Everything one action changes on a case, applied at once if the case is still at `expected_revision`.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseChange {
    /// The case as the action leaves it, at the revision it was read at (the store bumps it).
    pub after: Case,
    pub event: CaseEvent,
    pub answer: Option<NewAnswer>,
    pub evidence: Vec<NewAttachment>,
    /// Start a pause of the deadline clock (waiting for the citizen) or end the open one.
    pub pause: Option<PauseChange>,
    pub audit: Option<AuditEntry>,
    /// News for the reporter: to their chat, and by email when they left an address.
    pub notify: Vec<NewOutboxMessage>,
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
    ($tx:expr, $case_id:expr, $items:expr, $locations:expr, $now:expr) => {
        for (a, location) in $items.iter().zip($locations) {
            // Kept outside the database: the row names the file and holds no bytes.
            let bytes: &[u8] = if location.is_some() { &[] } else { &a.bytes };
            execute!(
                tx: $tx,
                "storing an attachment",
                "INSERT INTO attachments (id, case_id, source, content_type, bytes, sha256, width, height, created_at, \
                 location) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                Uuid::new_v4(),
                $case_id,
                a.source,
                &a.content_type,
                bytes,
                &a.sha256,
                i64::from(a.width),
                i64::from(a.height),
                $now,
                location,
            )?;
        }
    };
}

macro_rules! insert_event {
    ($tx:expr, $case_id:expr, $e:expr) => {
        execute!(
            tx: $tx,
            "recording a case event",
            "INSERT INTO case_events (id, case_id, at, actor_kind, official_id, action, from_state, to_state, public, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            Uuid::new_v4(),
            $case_id,
            $e.at,
            $e.actor_kind,
            $e.official_id,
            &$e.action,
            $e.from_state.map(CaseState::as_str),
            $e.to_state.as_str(),
            $e.public,
            &$e.note,
        )?;
    };
}

macro_rules! insert_audit {
    ($tx:expr, $a:expr, $now:expr) => {
        execute!(
            tx: $tx,
            "writing the audit log",
            "INSERT INTO audit_log (id, at, official_id, action, target, before_state, after_state, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            Uuid::new_v4(),
            $now,
            $a.official_id,
            &$a.action,
            &$a.target,
            &$a.before_state,
            &$a.after_state,
            &$a.detail,
        )?;
    };
}

pub(super) use insert_audit;

macro_rules! insert_outbox {
    ($tx:expr, $case_id:expr, $m:expr, $now:expr) => {
        execute!(
            tx: $tx,
            "queueing a notification",
            "INSERT INTO outbox (id, dedupe_key, channel, recipient, case_id, body, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING",
            $crate::storage::outbox::outbox_id(),
            &$m.dedupe_key,
            $m.channel.as_str(),
            &$m.recipient,
            $case_id,
            &$m.body,
            0_i64,
            $now,
        )?;
    };
}

impl Store {
    /// Writes each attachment's bytes where files are kept; its location, or None for in the row.
    async fn keep_files(&self, items: &[NewAttachment]) -> Result<Vec<Option<String>>, StoreError> {
        let mut locations = Vec::with_capacity(items.len());
        for a in items {
            locations.push(self.files.put(&a.bytes).await?);
        }
        Ok(locations)
    }

    /// Stores a new case with its reporter, photos and first timeline entry. A code already used is a
    /// `Conflict` (the caller draws another).
    pub async fn insert_case(&self, case: &NewCase) -> Result<Uuid, StoreError> {
        // Files first, outside the writer's turn: a transaction that then fails leaves a file its retry reuses.
        let locations = self.keep_files(&case.photos).await?;
        let writer = self.writer().await;
        let id = Uuid::new_v4();
        let now = case.received_at;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to store a case"))?;
            execute!(
                tx: tx,
                "a case with this tracking code",
                "INSERT INTO cases (id, code, unit_id, category, subdimension, office, tier, state, text, lat, lon, channel, \
                 received_at, accept_due_at, extension_minutes, revision, updated_at, reporter_chat, address, \
                 public_consent, public_photos) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $13, $17, $18, $19, $20)",
                id,
                &case.code,
                case.unit_id,
                &case.category,
                &case.subdimension,
                &case.office,
                case.tier.as_str(),
                CaseState::Received.as_str(),
                &case.text,
                case.lat,
                case.lon,
                case.channel.as_str(),
                case.received_at,
                case.accept_due_at,
                0_i64,
                0_i64,
                &case.reporter_chat,
                &case.address,
                case.publicity.consent,
                case.publicity.photos,
            )?;
            execute!(
                tx: tx,
                "storing the reporter of a case",
                "INSERT INTO case_reporters (case_id, name, phone, email, pseudonym, key_hash, news_token) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                id,
                &case.reporter.name,
                &case.reporter.phone,
                &case.reporter.email,
                &case.reporter.pseudonym,
                &case.reporter_key_hash,
                &case.news_token,
            )?;
            insert_attachments!(tx, id, &case.photos, &locations, now);
            let event = match case.recorded_by {
                None => CaseEvent {
                    at: now,
                    actor_kind: "citizen",
                    official_id: None,
                    action: "submit".into(),
                    from_state: None,
                    to_state: CaseState::Received,
                    public: true,
                    note: None,
                },
                // At the time it was received (the timeline is the case's story); when it was typed in is noted.
                Some(official) => CaseEvent {
                    at: now,
                    actor_kind: "official",
                    official_id: Some(official),
                    action: "intake".into(),
                    from_state: None,
                    to_state: CaseState::Received,
                    public: true,
                    note: Some(format!(
                        "{}; nhập vào hệ thống lúc {}",
                        case.channel.label(),
                        crate::domain::calendar::to_vietnam(case.recorded_at).format("%H:%M %d/%m/%Y")
                    )),
                },
            };
            insert_event!(tx, id, event);
            if let Some(official) = case.recorded_by {
                let audit = AuditEntry {
                    official_id: Some(official),
                    action: "case.intake".into(),
                    target: case.code.clone(),
                    before_state: None,
                    after_state: Some(CaseState::Received.as_str().to_owned()),
                    detail: Some(case.channel.as_str().to_owned()),
                };
                insert_audit!(tx, audit, case.recorded_at);
            }
            for m in &case.news {
                insert_outbox!(tx, id, m, case.recorded_at);
            }
            tx.commit().await.map_err(db("committing a new case"))?;
            Ok::<(), StoreError>(())
        })?;
        Ok(id)
    }

    /// Applies one action to a case if nobody changed it since `expected_revision`; false otherwise (a stale
    /// form), with nothing changed.
    pub async fn change_case(&self, change: &CaseChange) -> Result<bool, StoreError> {
        let locations = self.keep_files(&change.evidence).await?;
        let writer = self.writer().await;
        let now = change.event.at;
        let after = &change.after;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to change a case"))?;
            let updated = execute!(
                tx: tx,
                "changing a case",
                "UPDATE cases SET state = $3, resume_to = $4, unit_id = $5, office = $6, tier = $7, answer_due_at = $8, \
                 extension_minutes = $9, answered_at = $10, closed_at = $11, duplicate_of = $12, revision = revision + 1, \
                 updated_at = $13 WHERE id = $1 AND revision = $2",
                after.id,
                after.revision,
                after.state.as_str(),
                after.resume_to.map(CaseState::as_str),
                after.unit_id,
                &after.office,
                after.tier.as_str(),
                after.answer_due_at,
                after.extension_minutes,
                after.answered_at,
                after.closed_at,
                after.duplicate_of,
                now,
            )?;
            if updated == 0 {
                return Ok(false);
            }
            insert_event!(tx, after.id, change.event);
            if let Some(answer) = &change.answer {
                execute!(
                    tx: tx,
                    "storing an answer",
                    "INSERT INTO case_answers (id, case_id, what_was_done, by_unit, legal_basis, official_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    Uuid::new_v4(),
                    after.id,
                    &answer.what_was_done,
                    &answer.by_unit,
                    &answer.legal_basis,
                    answer.official_id,
                    now,
                )?;
            }
            insert_attachments!(tx, after.id, &change.evidence, &locations, now);
            match change.pause {
                Some(PauseChange::Start) => {
                    execute!(
                        tx: tx,
                        "pausing a case's clock",
                        "INSERT INTO case_pauses (case_id, started_at) VALUES ($1, $2)",
                        after.id,
                        now,
                    )?;
                }
                Some(PauseChange::End) => {
                    execute!(
                        tx: tx,
                        "resuming a case's clock",
                        "UPDATE case_pauses SET ended_at = $2 WHERE case_id = $1 AND ended_at IS NULL",
                        after.id,
                        now,
                    )?;
                }
                None => {}
            }
            if let Some(a) = &change.audit {
                insert_audit!(tx, a, now);
            }
            for m in &change.notify {
                insert_outbox!(tx, after.id, m, now);
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
            let mut tx = p.begin_write().await.map_err(db("starting to escalate a case"))?;
            let updated = execute!(
                tx: tx,
                "escalating a case",
                "UPDATE cases SET escalated_at = $2 WHERE id = $1 AND escalated_at IS NULL",
                case_id,
                now,
            )?;
            if updated == 0 {
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
        execute!(
            writer.pool,
            "storing a rating",
            "INSERT INTO case_ratings (case_id, score, comment, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id) DO UPDATE SET score = excluded.score, comment = excluded.comment, at = excluded.at",
            case_id,
            score,
            comment,
            at,
        )?;
        Ok(())
    }
}
