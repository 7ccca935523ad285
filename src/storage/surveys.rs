//! Questionnaire versions, responses, answers and survey sessions in the database (waves: [`super::waves`]).
//!
//! Whatever could leave a response half-stored runs in one transaction: a page of answers with its session
//! state (guarded by a revision number, so a resubmitted page is applied once), a completion with its
//! respondent key, a complete response posted to the API with all its answers. A session carries the answers of
//! its response in progress, so that one read gives the whole survey state; [`apply_session_write!`] applies one
//! [`SessionWrite`] inside a caller's transaction, which for a chat also stores the chat's own state.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// A questionnaire version as stored: its source text is the truth, parsed again when loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredQuestionnaire {
    pub id: Uuid,
    pub code: String,
    pub version: i64,
    pub source: String,
    pub checksum: String,
}

/// What importing a questionnaire version did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionnaireImport {
    Created(Uuid),
    Unchanged(Uuid),
    /// The version existed, no wave used it yet, and its text changed.
    Updated(Uuid),
}

/// One answer as stored: (question code, code, text).
pub type StoredAnswer = (String, Option<String>, Option<String>);

/// A response being filled in by one identity in one wave: the survey state of that person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub response_id: Uuid,
    pub unit_id: Uuid,
    /// The survey engine's state, as JSON.
    pub state: String,
    /// The answers given so far, loaded with the session.
    pub answers: Vec<StoredAnswer>,
    pub revision: i64,
}

/// One step of a survey session, written in one transaction with the answers it stores or removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionWrite {
    pub identity_hash: String,
    pub wave_id: Uuid,
    /// The session this step was decided from.
    pub from: SessionFrom,
    /// What the session becomes.
    pub to: SessionTo,
    /// Answers to store in the response (new or changed).
    pub upserts: Vec<StoredAnswer>,
    /// Answers to remove from the response (questions no longer asked).
    pub deletes: Vec<String>,
    /// The screens the respondent went through so far: with the time since the response began, how the response
    /// was made (`response_quality`, written when it completes).
    pub screens: i64,
    /// A keyed hash of the web client's address: a completed response is counted for it, per wave and commune
    /// (`address_responses`). `None` for chats.
    pub address_hash: Option<String>,
}

/// The session a [`SessionWrite`] was decided from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionFrom {
    /// None yet: a response starts, in this unit, through this channel.
    New {
        unit_id: Uuid,
        channel: String,
        /// The sub-dimensions this respondent is asked (codes, comma-separated) on a split wave; `None`: all.
        modules: Option<String>,
    },
    /// The session as read at this revision; the write applies only if nobody moved it meanwhile.
    Revision(i64),
}

/// What a [`SessionWrite`] makes of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionTo {
    /// The response goes on: the new state and every answer given so far.
    Open { state: String, answers: Vec<StoredAnswer> },
    /// The response is complete: the session is forgotten, the identity recorded as having answered.
    Complete,
}

/// What became of a [`SessionWrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionWritten {
    Written,
    /// Another submission moved the session first: nothing was written (the caller's transaction must not commit).
    Stale,
    /// Completing found that this identity already answered the wave (from another session): the unfinished
    /// response was dropped instead.
    AlreadyResponded,
}

/// The `answers` column of a session: its answers so far and the revision of the session they belong to. A binary
/// from before migration 0007, still running during a rolling upgrade, moves a session without touching the column;
/// the revision tells those answers are behind.
#[derive(serde::Deserialize)]
struct SessionAnswers {
    revision: i64,
    answers: Vec<StoredAnswer>,
}

/// A complete response to store at once (the JSON API, the demo).
#[derive(Clone, Debug, PartialEq)]
pub struct NewResponse {
    pub wave_id: Uuid,
    pub unit_id: Uuid,
    pub channel: String,
    pub client_token: Option<String>,
    pub answers: Vec<StoredAnswer>,
    pub at: DateTime<Utc>,
}

/// A new response's id: time-ordered (UUID v7), so that new responses and their answers (keyed by response id)
/// land at the right edge of their indexes instead of at random places in ever larger B-trees — on SQLite, random
/// keys made every commit dirty pages all over the file and checkpoints slow as the tables grew. The time in it
/// (to the millisecond) says no more than the response's own `started_at`.
pub(super) fn response_id() -> Uuid {
    Uuid::now_v7()
}

/// A survey session's row, as [`Store::session`] reads it.
#[derive(sqlx::FromRow)]
pub(super) struct SessionRecord {
    pub(super) response_id: Uuid,
    pub(super) session_unit_id: Uuid,
    pub(super) state: String,
    pub(super) answers: Option<String>,
    pub(super) revision: i64,
}

/// Upserts answers of one response: one multi-row statement, the same text on both engines.
macro_rules! upsert_answers {
    ($tx:expr, $response_id:expr, $answers:expr) => {
        if !$answers.is_empty() {
            let mut sql = String::from("INSERT INTO answers (response_id, question_code, code, text) VALUES ");
            for i in 0..$answers.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let n = i * 4;
                sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
            }
            sql.push_str(
                " ON CONFLICT (response_id, question_code) DO UPDATE SET code = excluded.code, text = excluded.text",
            );
            // Only placeholders are generated; every value is bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (question, code, text) in $answers.iter() {
                q = q.bind($response_id).bind(question).bind(code).bind(text);
            }
            q.execute(&mut *$tx)
                .await
                .map_err($crate::storage::db("storing answers"))?;
        }
    };
}

/// Removes answers of one response, by question code.
macro_rules! delete_answers {
    ($tx:expr, $response_id:expr, $questions:expr) => {
        for question in $questions {
            sqlx::query("DELETE FROM answers WHERE response_id = $1 AND question_code = $2")
                .bind($response_id)
                .bind(question)
                .execute(&mut *$tx)
                .await
                .map_err($crate::storage::db("removing an answer"))?;
        }
    };
}
pub(super) use {delete_answers, upsert_answers};

/// Applies a [`SessionWrite`] inside the transaction `$tx` and evaluates to its [`SessionWritten`]; on
/// [`SessionWritten::Stale`] the caller must drop the transaction, which undoes any part already applied.
macro_rules! apply_session_write {
    ($tx:expr, $write:expr) => {{
        let write: &$crate::storage::SessionWrite = $write;
        let now = chrono::Utc::now();
        // The answers carry the revision they belong to: see `SessionAnswers`.
        let answers_json = |revision: i64, answers: &[$crate::storage::StoredAnswer]| {
            serde_json::to_string(&serde_json::json!({ "revision": revision, "answers": answers }))
                .map_err(|e| $crate::storage::StoreError::Corrupt(e.to_string()))
        };
        let mut written = $crate::storage::SessionWritten::Written;
        let response_id: Option<uuid::Uuid> = match (&write.from, &write.to) {
            ($crate::storage::SessionFrom::New { unit_id, channel, modules }, to) => {
                let id = $crate::storage::surveys::response_id();
                sqlx::query(
                    "INSERT INTO responses (id, wave_id, unit_id, channel, complete, started_at, modules) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(write.wave_id)
                .bind(*unit_id)
                .bind(channel)
                .bind(false)
                .bind(now)
                .bind(modules)
                .execute(&mut *$tx)
                .await
                .map_err($crate::storage::db("response"))?;
                if let $crate::storage::SessionTo::Open { state, answers } = to {
                    // A session started meanwhile by another submission of the same person wins.
                    let inserted = sqlx::query(
                        "INSERT INTO survey_sessions (identity_hash, wave_id, response_id, state, answers, revision, \
                         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (identity_hash, wave_id) DO NOTHING",
                    )
                    .bind(&write.identity_hash)
                    .bind(write.wave_id)
                    .bind(id)
                    .bind(state)
                    .bind(answers_json(0, answers)?)
                    .bind(0_i64)
                    .bind(now)
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::storage::db("survey session"))?
                    .rows_affected();
                    (inserted == 1).then_some(id)
                } else {
                    Some(id)
                }
            }
            ($crate::storage::SessionFrom::Revision(revision), $crate::storage::SessionTo::Open { state, answers }) => {
                let row: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "UPDATE survey_sessions SET state = $3, answers = $4, revision = revision + 1, updated_at = $5 \
                     WHERE identity_hash = $1 AND wave_id = $2 AND revision = $6 RETURNING response_id",
                )
                .bind(&write.identity_hash)
                .bind(write.wave_id)
                .bind(state)
                .bind(answers_json(revision + 1, answers)?)
                .bind(now)
                .bind(*revision)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::storage::db("updating a survey session"))?;
                row.map(|(id,)| id)
            }
            ($crate::storage::SessionFrom::Revision(revision), $crate::storage::SessionTo::Complete) => {
                let row: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "DELETE FROM survey_sessions WHERE identity_hash = $1 AND wave_id = $2 AND revision = $3 \
                     RETURNING response_id",
                )
                .bind(&write.identity_hash)
                .bind(write.wave_id)
                .bind(*revision)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::storage::db("closing a survey session"))?;
                row.map(|(id,)| id)
            }
        };
        match response_id {
            None => written = $crate::storage::SessionWritten::Stale,
            Some(response_id) => {
                $crate::storage::surveys::upsert_answers!($tx, response_id, write.upserts);
                $crate::storage::surveys::delete_answers!($tx, response_id, &write.deletes);
                if matches!(write.to, $crate::storage::SessionTo::Complete) {
                    // Not a unique violation: that would abort the whole transaction on PostgreSQL, and the chat
                    // state written beside it must still be stored.
                    let first = sqlx::query(
                        "INSERT INTO respondents (wave_id, identity_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(write.wave_id)
                    .bind(&write.identity_hash)
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::storage::db("a response from this person in this wave"))?
                    .rows_affected()
                        == 1;
                    if first {
                        sqlx::query("UPDATE responses SET complete = $2, completed_at = $3 WHERE id = $1")
                            .bind(response_id)
                            .bind(true)
                            .bind(now)
                            .execute(&mut *$tx)
                            .await
                            .map_err($crate::storage::db("completing a response"))?;
                        // How it was made; flagged when no person could have (`domain::quality`).
                        let (started_at, unit_id, channel): (chrono::DateTime<chrono::Utc>, uuid::Uuid, String) =
                            sqlx::query_as("SELECT started_at, unit_id, channel FROM responses WHERE id = $1")
                                .bind(response_id)
                                .fetch_one(&mut *$tx)
                                .await
                                .map_err($crate::storage::db("reading a completed response"))?;
                        let seconds = (now - started_at).num_seconds();
                        let flag = $crate::domain::quality::flag(write.screens, seconds);
                        sqlx::query(
                            "INSERT INTO response_quality (response_id, unit_id, wave_id, channel, screens, seconds, \
                             flag, flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(response_id)
                        .bind(unit_id)
                        .bind(write.wave_id)
                        .bind(&channel)
                        .bind(write.screens)
                        .bind(seconds)
                        .bind(flag)
                        .bind(flag.map(|_| now))
                        .execute(&mut *$tx)
                        .await
                        .map_err($crate::storage::db("recording how a response was made"))?;
                        if let Some(address_hash) = &write.address_hash {
                            sqlx::query(
                                "INSERT INTO address_responses (wave_id, unit_id, address_hash, responses) \
                                 VALUES ($1, $2, $3, $4) ON CONFLICT (wave_id, unit_id, address_hash) \
                                 DO UPDATE SET responses = address_responses.responses + 1",
                            )
                            .bind(write.wave_id)
                            .bind(unit_id)
                            .bind(address_hash)
                            .bind(1_i64)
                            .execute(&mut *$tx)
                            .await
                            .map_err($crate::storage::db("counting a response of an address"))?;
                        }
                    } else {
                        sqlx::query("DELETE FROM responses WHERE id = $1 AND complete = $2")
                            .bind(response_id)
                            .bind(false)
                            .execute(&mut *$tx)
                            .await
                            .map_err($crate::storage::db("dropping an unfinished response"))?;
                        written = $crate::storage::SessionWritten::AlreadyResponded;
                    }
                }
            }
        }
        written
    }};
}
pub(super) use apply_session_write;

impl Store {
    /// Stores a questionnaire version; a version already used by a wave may not change.
    pub async fn import_questionnaire(
        &self,
        code: &str,
        version: i64,
        source: &str,
        checksum: &str,
    ) -> Result<QuestionnaireImport, StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting the questionnaire import"))?;
            let existing: Option<(Uuid, String)> =
                sqlx::query_as("SELECT id, checksum FROM questionnaires WHERE code = $1 AND version = $2")
                    .bind(code)
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("reading a questionnaire version"))?;
            let outcome = match existing {
                Some((id, old)) if old == checksum => QuestionnaireImport::Unchanged(id),
                Some((id, _)) => {
                    let used: Option<(String,)> =
                        sqlx::query_as("SELECT code FROM waves WHERE questionnaire_id = $1 ORDER BY opens_at LIMIT 1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db("checking the waves of a questionnaire"))?;
                    if let Some((wave,)) = used {
                        return Err(StoreError::Rejected {
                            index: 0,
                            reason: format!(
                                "{code} version {version} is used by wave {wave} and can no longer change; \
                                 give the new text a higher version"
                            ),
                        });
                    }
                    execute!(
                        tx: tx,
                        "updating a questionnaire version",
                        "UPDATE questionnaires SET source = $2, checksum = $3, imported_at = $4 WHERE id = $1",
                        id,
                        source,
                        checksum,
                        now,
                    )?;
                    QuestionnaireImport::Updated(id)
                }
                None => {
                    let id = Uuid::new_v4();
                    execute!(
                        tx: tx,
                        "questionnaire version",
                        "INSERT INTO questionnaires (id, code, version, source, checksum, imported_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                        id,
                        code,
                        version,
                        source,
                        checksum,
                        now,
                    )?;
                    QuestionnaireImport::Created(id)
                }
            };
            tx.commit().await.map_err(db("committing the questionnaire import"))?;
            Ok(outcome)
        })
    }

    /// One questionnaire version by id.
    pub async fn questionnaire(&self, id: Uuid) -> Result<StoredQuestionnaire, StoreError> {
        let (id, code, version, source, checksum): (Uuid, String, i64, String, String) = fetch!(
            &self.pool,
            fetch_one,
            "questionnaire",
            "SELECT id, code, version, source, checksum FROM questionnaires WHERE id = $1",
            id,
        )?;
        Ok(StoredQuestionnaire {
            id,
            code,
            version,
            source,
            checksum,
        })
    }

    /// A questionnaire by code: the given version, or the highest.
    pub async fn questionnaire_by_code(
        &self,
        code: &str,
        version: Option<i64>,
    ) -> Result<StoredQuestionnaire, StoreError> {
        let row: (Uuid, String, i64, String, String) = fetch!(
            &self.pool,
            fetch_one,
            "questionnaire",
            "SELECT id, code, version, source, checksum FROM questionnaires \
             WHERE code = $1 AND ($2 < 0 OR version = $2) ORDER BY version DESC LIMIT 1",
            code,
            version.unwrap_or(-1),
        )?;
        let (id, code, version, source, checksum) = row;
        Ok(StoredQuestionnaire {
            id,
            code,
            version,
            source,
            checksum,
        })
    }

    /// The session of one identity in one wave with its answers, if a response is being filled in.
    pub async fn session(&self, identity_hash: &str, wave_id: Uuid) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRecord> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a survey session",
            "SELECT s.response_id, r.unit_id AS session_unit_id, s.state, s.answers, s.revision FROM survey_sessions s \
             JOIN responses r ON r.id = s.response_id WHERE s.identity_hash = $1 AND s.wave_id = $2",
            identity_hash,
            wave_id,
        )?;
        match row {
            Some(row) => Ok(Some(self.session_from(row).await?)),
            None => Ok(None),
        }
    }

    /// A session as read, with its answers: those carried with it, or (written by an older binary) the stored ones.
    pub(super) async fn session_from(&self, row: SessionRecord) -> Result<Session, StoreError> {
        let carried = match row.answers {
            Some(json) => Some(
                serde_json::from_str::<SessionAnswers>(&json)
                    .map_err(|e| StoreError::Corrupt(format!("the answers of a survey session: {e}")))?,
            ),
            None => None,
        };
        let answers = match carried {
            Some(carried) if carried.revision == row.revision => carried.answers,
            // Started before migration 0007, or last moved by an older binary during a rolling upgrade: the answers
            // table has them all (the next step writes them with the session again).
            _ => self.answers(row.response_id).await?,
        };
        Ok(Session {
            response_id: row.response_id,
            unit_id: row.session_unit_id,
            state: row.state,
            answers,
            revision: row.revision,
        })
    }

    /// Writes one step of a survey session on its own (the web form); a chat writes it with its own state,
    /// [`Store::save_chat_turn`].
    pub async fn write_session(&self, write: &SessionWrite) -> Result<SessionWritten, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to save answers"))?;
            let written = apply_session_write!(tx, write);
            if written != SessionWritten::Stale {
                tx.commit().await.map_err(db("committing answers"))?;
            }
            Ok(written)
        })
    }

    /// Whether this identity has completed a response in this wave.
    /// Deletes the survey sessions nobody touched since `before`, with the unfinished responses they were filling
    /// in (their answers go with them): an abandoned survey is not kept for ever. Returns how many sessions.
    pub async fn prune_abandoned_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to prune abandoned surveys"))?;
            let sessions = execute!(
                tx: tx,
                "pruning abandoned survey sessions",
                "DELETE FROM survey_sessions WHERE updated_at < $1",
                before,
            )?;
            // Unfinished responses whose session is gone (just now, or in an earlier run) and that began before
            // the cut: nothing can resume them any more.
            execute!(
                tx: tx,
                "pruning abandoned responses",
                "DELETE FROM responses WHERE complete = $1 AND started_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM survey_sessions s WHERE s.response_id = responses.id)",
                false,
                before,
            )?;
            tx.commit()
                .await
                .map_err(db("committing the pruning of abandoned surveys"))?;
            Ok(sessions)
        })
    }

    pub async fn has_responded(&self, wave_id: Uuid, identity_hash: &str) -> Result<bool, StoreError> {
        let (n,): (i64,) = fetch!(
            &self.pool,
            fetch_one,
            "checking for an earlier response",
            "SELECT COUNT(*) FROM respondents WHERE wave_id = $1 AND identity_hash = $2",
            wave_id,
            identity_hash,
        )?;
        Ok(n > 0)
    }

    /// The complete responses of a wave that came through a channel, oldest first.
    pub async fn complete_responses_by_channel(&self, wave_id: Uuid, channel: &str) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(Uuid,)> = fetch!(
            &self.pool,
            fetch_all,
            "listing responses",
            "SELECT id FROM responses WHERE wave_id = $1 AND channel = $2 AND complete = $3 ORDER BY completed_at, id",
            wave_id,
            channel,
            true,
        )?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The answers of one response, in question-code order.
    pub async fn answers(&self, response_id: Uuid) -> Result<Vec<StoredAnswer>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading answers",
            "SELECT question_code, code, text FROM answers WHERE response_id = $1 ORDER BY question_code",
            response_id,
        )
    }

    /// Stores complete responses in one transaction. A response whose client token was already used in its
    /// wave is not stored again: its earlier id is returned with `false`.
    pub async fn insert_complete_responses(&self, responses: &[NewResponse]) -> Result<Vec<(Uuid, bool)>, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to store responses"))?;
            let mut out = Vec::with_capacity(responses.len());
            for r in responses {
                if let Some(token) = &r.client_token {
                    let existing: Option<(Uuid,)> =
                        sqlx::query_as("SELECT id FROM responses WHERE wave_id = $1 AND client_token = $2")
                            .bind(r.wave_id)
                            .bind(token)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db("looking up a client token"))?;
                    if let Some((id,)) = existing {
                        out.push((id, false));
                        continue;
                    }
                }
                let id = response_id();
                execute!(
                    tx: tx,
                    "a response with this client token",
                    "INSERT INTO responses (id, wave_id, unit_id, channel, complete, client_token, started_at, completed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    id,
                    r.wave_id,
                    r.unit_id,
                    &r.channel,
                    true,
                    &r.client_token,
                    r.at,
                )?;
                upsert_answers!(tx, id, r.answers);
                out.push((id, true));
            }
            tx.commit().await.map_err(db("committing responses"))?;
            Ok(out)
        })
    }

    /// Whether a wave has at least one complete response: found at its first row, where counting them reads every
    /// response of the wave (the dashboard asks on every page which wave to show).
    pub async fn has_complete_responses(&self, wave_id: Uuid) -> Result<bool, StoreError> {
        let row: Option<(i32,)> = fetch!(
            &self.pool,
            fetch_optional,
            "looking for a complete response",
            "SELECT 1 FROM responses WHERE wave_id = $1 AND complete = $2 LIMIT 1",
            wave_id,
            true,
        )?;
        Ok(row.is_some())
    }

    /// Complete and unfinished responses of a wave.
    pub async fn count_responses(&self, wave_id: Uuid) -> Result<(i64, i64), StoreError> {
        let rows: Vec<(bool, i64)> = fetch!(
            &self.pool,
            fetch_all,
            "counting responses",
            "SELECT complete, COUNT(*) FROM responses WHERE wave_id = $1 GROUP BY complete",
            wave_id,
        )?;
        let count = |c: bool| rows.iter().find(|(k, _)| *k == c).map_or(0, |(_, n)| *n);
        Ok((count(true), count(false)))
    }
}
