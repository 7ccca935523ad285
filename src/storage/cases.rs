//! Reading feedback cases, their timeline, answers, attachments, reporters, ratings and queued news. Writes are
//! in `case_changes`: a case changes only through [`Store::change_case`], one transaction guarded by the case's
//! revision.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Store, StoreError, db, fetch, on_pool};
use crate::domain::Channel;
use crate::domain::cases::{Case, CaseState, Publicity, Tier};

/// One case as the feedback KPIs see it; see [`Store::case_facts`].
#[derive(Clone, Debug, PartialEq)]
pub struct CaseFacts {
    pub unit_code: String,
    pub category: String,
    pub state: CaseState,
    pub received_at: DateTime<Utc>,
    pub accept_due_at: DateTime<Utc>,
    pub answer_due_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The citizen's rating of the answer, 1–5.
    pub rating: Option<i64>,
    /// How many times the citizen reopened it.
    pub reopens: i64,
}

#[derive(sqlx::FromRow)]
struct CaseFactsRecord {
    unit_code: String,
    category: String,
    state: String,
    received_at: DateTime<Utc>,
    accept_due_at: DateTime<Utc>,
    answer_due_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    rating: Option<i64>,
    reopens: i64,
}

/// A case row as the drivers read it, by column name; [`Case`] is what leaves the store.
#[derive(sqlx::FromRow)]
pub(super) struct CaseRecord {
    id: Uuid,
    code: String,
    unit_id: Uuid,
    category: String,
    subdimension: String,
    office: String,
    tier: String,
    state: String,
    resume_to: Option<String>,
    text: String,
    lat: Option<f64>,
    lon: Option<f64>,
    address: Option<String>,
    channel: String,
    received_at: DateTime<Utc>,
    accept_due_at: DateTime<Utc>,
    answer_due_at: Option<DateTime<Utc>>,
    extension_minutes: i64,
    answered_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    duplicate_of: Option<Uuid>,
    revision: i64,
    escalated_at: Option<DateTime<Utc>>,
    reporter_chat: Option<String>,
    public_consent: bool,
    public_photos: bool,
    public_text: Option<String>,
}

/// A stored name this build does not know is a [`StoreError::Corrupt`], never a guess.
fn known<T>(parsed: Option<T>, what: &str, value: &str) -> Result<T, StoreError> {
    parsed.ok_or_else(|| StoreError::Corrupt(format!("{what} '{value}'")))
}

fn case_state(value: &str) -> Result<CaseState, StoreError> {
    known(CaseState::parse(value), "case state", value)
}

impl TryFrom<CaseRecord> for Case {
    type Error = StoreError;

    fn try_from(r: CaseRecord) -> Result<Self, StoreError> {
        Ok(Case {
            tier: known(Tier::parse(&r.tier), "case tier", &r.tier)?,
            state: case_state(&r.state)?,
            resume_to: r.resume_to.as_deref().map(case_state).transpose()?,
            channel: known(Channel::parse(&r.channel), "case channel", &r.channel)?,
            id: r.id,
            code: r.code,
            unit_id: r.unit_id,
            category: r.category,
            subdimension: r.subdimension,
            office: r.office,
            text: r.text,
            lat: r.lat,
            lon: r.lon,
            address: r.address,
            received_at: r.received_at,
            accept_due_at: r.accept_due_at,
            answer_due_at: r.answer_due_at,
            extension_minutes: r.extension_minutes,
            answered_at: r.answered_at,
            closed_at: r.closed_at,
            duplicate_of: r.duplicate_of,
            revision: r.revision,
            escalated_at: r.escalated_at,
            reporter_chat: r.reporter_chat,
            publicity: Publicity {
                consent: r.public_consent,
                photos: r.public_photos,
                cleared_text: r.public_text,
            },
        })
    }
}

pub(super) const CASE_COLUMNS: &str = "c.id, c.code, c.unit_id, c.category, c.subdimension, c.office, c.tier, c.state, c.resume_to, \
     c.text, c.lat, c.lon, c.address, c.channel, c.received_at, c.accept_due_at, c.answer_due_at, c.extension_minutes, \
     c.answered_at, c.closed_at, c.duplicate_of, c.revision, c.escalated_at, c.reporter_chat, c.public_consent, \
     c.public_photos, c.public_text";

fn cases(records: Vec<CaseRecord>) -> Result<Vec<Case>, StoreError> {
    records.into_iter().map(Case::try_from).collect()
}

/// The reporter's contact, apart from the case.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ReporterRow {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub pseudonym: String,
}

/// An attachment without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentMeta {
    pub id: Uuid,
    pub source: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
}

/// An attachment as stored: its bytes in the row, or the name of its file.
#[derive(sqlx::FromRow)]
struct AttachmentRecord {
    case_id: Uuid,
    source: String,
    content_type: String,
    bytes: Vec<u8>,
    location: Option<String>,
}

/// An attachment with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub case_id: Uuid,
    /// `report` (sent with the report) or `answer` (evidence of the answer).
    pub source: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A pause of a case's deadline clock (waiting for the citizen).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Pause {
    pub started_at: DateTime<Utc>,
    /// `None` while it lasts.
    pub ended_at: Option<DateTime<Utc>>,
}

/// The reporter's rating of the answer.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Rating {
    /// 1 to 5 stars.
    pub score: i64,
    pub comment: Option<String>,
}

/// A stored timeline entry, with the official's display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseEventRow {
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub official: Option<String>,
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub public: bool,
    pub note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CaseEventRecord {
    at: DateTime<Utc>,
    actor_kind: String,
    official: Option<String>,
    action: String,
    from_state: Option<String>,
    to_state: String,
    public: bool,
    note: Option<String>,
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseAnswerRow {
    pub what_was_done: String,
    pub by_unit: String,
    pub legal_basis: Option<String>,
    pub at: DateTime<Utc>,
}

/// Filters of the officials' inbox.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseFilter {
    /// Only cases of these units (the official's scope); `None` for every unit.
    pub unit_ids: Option<Vec<Uuid>>,
    pub states: Vec<CaseState>,
    pub category: Option<String>,
    /// Only open cases whose deadline passed before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub limit: i64,
}

impl Store {
    /// A case by its tracking code.
    pub async fn case_by_code(&self, code: &str) -> Result<Option<Case>, StoreError> {
        let sql = AssertSqlSafe(format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.code = $1"));
        let record: Option<CaseRecord> = fetch!(&self.pool, fetch_optional, "reading a case", sql, code)?;
        record.map(Case::try_from).transpose()
    }

    /// The cases reported from one chat, newest first.
    pub async fn cases_reported_in_chat(&self, channel: Channel, chat: &str) -> Result<Vec<Case>, StoreError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.channel = $1 AND c.reporter_chat = $2 \
             ORDER BY c.received_at DESC LIMIT 20"
        ));
        let records: Vec<CaseRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading a chat's cases",
            sql,
            channel.as_str(),
            chat
        )?;
        cases(records)
    }

    /// A case by its id.
    pub async fn case_by_id(&self, id: Uuid) -> Result<Option<Case>, StoreError> {
        let sql = AssertSqlSafe(format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"));
        let record: Option<CaseRecord> = fetch!(&self.pool, fetch_optional, "reading a case", sql, id)?;
        record.map(Case::try_from).transpose()
    }

    /// Cases matching a filter, overdue first then newest.
    pub async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if let Some(units) = &filter.unit_ids {
            if units.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<String> = units.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND c.unit_id IN ({})", marks.join(", ")));
        }
        if !filter.states.is_empty() {
            let marks: Vec<String> = filter.states.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND c.state IN ({})", marks.join(", ")));
        }
        if filter.category.is_some() {
            sql.push_str(&format!(" AND c.category = {}", next()));
        }
        if filter.overdue_at.is_some() {
            let at = next();
            sql.push_str(&format!(
                " AND ((c.state = 'received' AND c.accept_due_at < {at}) OR \
                 (c.state IN ('accepted', 'assigned') AND c.answer_due_at < {at}))"
            ));
        }
        sql.push_str(&format!(" ORDER BY c.received_at DESC LIMIT {}", next()));
        // Only placeholders were added to the text; every value is bound below, in the same order.
        let sql = AssertSqlSafe(sql);
        let records: Vec<CaseRecord> = on_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(sql);
            for u in filter.unit_ids.iter().flatten() {
                q = q.bind(*u);
            }
            for s in &filter.states {
                q = q.bind(s.as_str());
            }
            if let Some(c) = &filter.category {
                q = q.bind(c);
            }
            if let Some(at) = filter.overdue_at {
                q = q.bind(at);
            }
            q.bind(filter.limit.max(1))
                .fetch_all(p)
                .await
                .map_err(db("listing cases"))?
        });
        cases(records)
    }

    /// The timeline of a case, oldest first.
    pub async fn case_events(&self, case_id: Uuid) -> Result<Vec<CaseEventRow>, StoreError> {
        let records: Vec<CaseEventRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading a case's timeline",
            "SELECT e.at, e.actor_kind, o.display_name AS official, e.action, e.from_state, e.to_state, e.public, \
             e.note FROM case_events e LEFT JOIN officials o ON o.id = e.official_id WHERE e.case_id = $1 \
             ORDER BY e.at, e.id",
            case_id,
        )?;
        records
            .into_iter()
            .map(|r| {
                Ok(CaseEventRow {
                    from_state: r.from_state.as_deref().map(case_state).transpose()?,
                    to_state: case_state(&r.to_state)?,
                    at: r.at,
                    actor_kind: r.actor_kind,
                    official: r.official,
                    action: r.action,
                    public: r.public,
                    note: r.note,
                })
            })
            .collect()
    }

    /// The answers of a case, oldest first.
    pub async fn case_answers(&self, case_id: Uuid) -> Result<Vec<CaseAnswerRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a case's answers",
            "SELECT what_was_done, by_unit, legal_basis, at FROM case_answers WHERE case_id = $1 ORDER BY at",
            case_id,
        )
    }

    /// The reporter of a case (for the intake desk only).
    pub async fn case_reporter(&self, case_id: Uuid) -> Result<ReporterRow, StoreError> {
        fetch!(
            &self.pool,
            fetch_one,
            "the reporter of a case",
            "SELECT name, phone, email, pseudonym FROM case_reporters WHERE case_id = $1",
            case_id,
        )
    }

    /// How many cases each category has (categories without any are absent): what the chat's category step puts
    /// first.
    pub async fn case_counts_by_category(&self) -> Result<Vec<(String, i64)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "counting cases by category",
            "SELECT category, COUNT(*) FROM cases GROUP BY category",
        )
    }

    /// Whether `key_hash` is the hash of the key the case's reporter holds.
    pub async fn is_reporter_key(&self, case_id: Uuid, key_hash: &str) -> Result<bool, StoreError> {
        let (n,): (i64,) = fetch!(
            &self.pool,
            fetch_one,
            "checking a reporter key",
            "SELECT COUNT(*) FROM case_reporters WHERE case_id = $1 AND key_hash = $2",
            case_id,
            key_hash,
        )?;
        Ok(n > 0)
    }

    /// The attachments of a case, without their bytes.
    pub async fn case_attachments(&self, case_id: Uuid) -> Result<Vec<AttachmentMeta>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "listing a case's attachments",
            "SELECT id, source, content_type, width, height FROM attachments WHERE case_id = $1 ORDER BY created_at, id",
            case_id,
        )
    }

    /// One attachment with its bytes, from the row or from where files are kept.
    pub async fn attachment(&self, id: Uuid) -> Result<Attachment, StoreError> {
        let record: AttachmentRecord = fetch!(
            &self.pool,
            fetch_one,
            "attachment",
            "SELECT case_id, source, content_type, bytes, location FROM attachments WHERE id = $1",
            id,
        )?;
        let bytes = match &record.location {
            Some(name) => self.files.get(name).await?,
            None => record.bytes,
        };
        Ok(Attachment {
            case_id: record.case_id,
            source: record.source,
            content_type: record.content_type,
            bytes,
        })
    }

    /// The pauses of a case's clock, oldest first.
    pub async fn case_pauses(&self, case_id: Uuid) -> Result<Vec<Pause>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a case's pauses",
            "SELECT started_at, ended_at FROM case_pauses WHERE case_id = $1 ORDER BY started_at",
            case_id,
        )
    }

    /// What the feedback KPIs need of every case received in `[from, until)`.
    pub async fn case_facts(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<CaseFacts>, StoreError> {
        let records: Vec<CaseFactsRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading cases for their indicators",
            "SELECT u.code AS unit_code, c.category, c.state, c.received_at, c.accept_due_at, c.answer_due_at, \
             c.answered_at, r.score AS rating, \
             (SELECT COUNT(*) FROM case_events e WHERE e.case_id = c.id AND e.action = 'reopen') AS reopens \
             FROM cases c JOIN admin_units u ON u.id = c.unit_id \
             LEFT JOIN case_ratings r ON r.case_id = c.id \
             WHERE c.received_at >= $1 AND c.received_at < $2 ORDER BY c.received_at",
            from,
            until,
        )?;
        records
            .into_iter()
            .map(|r| {
                Ok(CaseFacts {
                    state: case_state(&r.state)?,
                    unit_code: r.unit_code,
                    category: r.category,
                    received_at: r.received_at,
                    accept_due_at: r.accept_due_at,
                    answer_due_at: r.answer_due_at,
                    answered_at: r.answered_at,
                    rating: r.rating,
                    reopens: r.reopens,
                })
            })
            .collect()
    }

    /// Open cases past their deadline that were not flagged yet: received and not accepted in time, or accepted
    /// and not answered in time.
    pub async fn overdue_unescalated(&self, now: DateTime<Utc>) -> Result<Vec<Case>, StoreError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.escalated_at IS NULL AND \
             ((c.state = 'received' AND c.accept_due_at < $1) OR (c.state IN ('accepted', 'assigned') AND c.answer_due_at < $1)) \
             ORDER BY c.received_at LIMIT 500"
        ));
        let records: Vec<CaseRecord> = fetch!(&self.pool, fetch_all, "reading overdue cases", sql, now)?;
        cases(records)
    }

    /// The citizen's rating of a case, if any.
    pub async fn case_rating(&self, case_id: Uuid) -> Result<Option<Rating>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a rating",
            "SELECT score, comment FROM case_ratings WHERE case_id = $1",
            case_id,
        )
    }

    /// Messages queued for a case's reporter, oldest first.
    pub async fn case_outbox(&self, case_id: Uuid) -> Result<Vec<QueuedMessage>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading a case's messages",
            "SELECT channel, recipient, body, sent_at IS NOT NULL AS sent, sent_as, last_error FROM outbox WHERE case_id = $1 \
             ORDER BY created_at, id",
            case_id,
        )
    }
}

/// A message queued for a case's reporter.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QueuedMessage {
    pub channel: String,
    pub recipient: String,
    pub body: String,
    pub sent: bool,
    /// How it went out (`reply`, `proactive`, `direct`) or why it was not sent (`opted_out`); `None` while queued.
    pub sent_as: Option<String>,
    /// The last failure, or why it waits (`waiting: …`).
    pub last_error: Option<String>,
}
