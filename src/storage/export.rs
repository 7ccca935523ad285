//! Reading a wave's answers for export, a page at a time, so that an export of millions of answers never holds
//! them all in memory.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Store, StoreError, db, on_pool};

/// One exported answer: (response id, unit code as answered, question code, stored code). The stored code is
/// `None` for a free-text answer (free text is never exported).
pub type ExportedAnswer = (Uuid, String, String, Option<String>);

/// April 2262: later than any answer.
const FAR_FUTURE: DateTime<Utc> = DateTime::from_timestamp_nanos(i64::MAX);

/// One page of an export: its answers, and the cursor for the next page (the last response id), `None` at the end.
pub type AnswersPage = (Vec<ExportedAnswer>, Option<Uuid>);

impl Store {
    /// The answers of up to `responses` complete responses of a wave — flagged ones left out until an
    /// administrator restores them (`response_quality`, issue 22) —, ordered by response id and question code,
    /// for responses after the `after` response id (`None`: from the start). Pass the returned cursor back for the
    /// next page; `None` is the end. With `completed`, only responses completed in `[from, until)` (a reporting
    /// period).
    ///
    /// Two queries, each served by an index whatever the wave's size: the page's responses (with their unit's
    /// code), then their answers by primary key. A single join with a (response, question) cursor made SQLite sort
    /// the whole wave again for every page.
    pub async fn answers_page(
        &self,
        wave_id: Uuid,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
        after: Option<Uuid>,
        responses: i64,
    ) -> Result<AnswersPage, StoreError> {
        self.answers_page_of(wave_id, None, completed, after, responses).await
    }

    /// As [`Store::answers_page`], for the responses given in `units` only: one commune's (with the legacy units
    /// whose answers count for it), read a page at a time through the (wave, unit, id) index.
    pub async fn unit_answers_page(
        &self,
        wave_id: Uuid,
        units: &[Uuid],
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
        after: Option<Uuid>,
        responses: i64,
    ) -> Result<AnswersPage, StoreError> {
        if units.is_empty() {
            return Ok((Vec::new(), None));
        }
        self.answers_page_of(wave_id, Some(units), completed, after, responses)
            .await
    }

    async fn answers_page_of(
        &self,
        wave_id: Uuid,
        units: Option<&[Uuid]>,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
        after: Option<Uuid>,
        responses: i64,
    ) -> Result<AnswersPage, StoreError> {
        // The nil UUID sorts first on both engines (all bytes zero) and is never a response id (v4).
        let after = after.unwrap_or(Uuid::nil());
        // Without a period, bounds every engine can store (PostgreSQL's timestamps end in year 294276, chrono's nanoseconds in 2262).
        let (from, until) = completed.unwrap_or((DateTime::UNIX_EPOCH, FAR_FUTURE));
        let units = units.unwrap_or_default();
        let in_units = if units.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (7..7 + units.len()).map(|i| format!("${i}")).collect();
            format!("AND r.unit_id IN ({}) ", marks.join(", "))
        };
        // Only placeholders are added to the text; every value is bound below.
        let sql = AssertSqlSafe(format!(
            "SELECT r.id, u.code FROM responses r JOIN admin_units u ON u.id = r.unit_id \
             WHERE r.wave_id = $1 AND r.complete = $2 AND r.id > $3 \
             AND r.completed_at >= $4 AND r.completed_at < $5 {in_units}\
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             ORDER BY r.id LIMIT $6"
        ));
        let page: Vec<(Uuid, String)> = on_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(sql)
                .bind(wave_id)
                .bind(true)
                .bind(after)
                .bind(from)
                .bind(until)
                .bind(responses.max(1));
            for unit in units {
                q = q.bind(*unit);
            }
            q.fetch_all(p).await.map_err(db("reading responses to export"))
        })?;
        let Some(&(last, _)) = page.last() else {
            return Ok((Vec::new(), None));
        };
        let marks: Vec<String> = (1..=page.len()).map(|i| format!("${i}")).collect();
        // Only placeholders are added to the text; every id is bound below.
        let sql = AssertSqlSafe(format!(
            "SELECT response_id, question_code, code FROM answers WHERE response_id IN ({}) \
             ORDER BY response_id, question_code",
            marks.join(", ")
        ));
        let answers: Vec<(Uuid, String, Option<String>)> = on_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(sql);
            for (id, _) in &page {
                q = q.bind(*id);
            }
            q.fetch_all(p).await.map_err(db("reading answers to export"))
        })?;
        let units: HashMap<Uuid, String> = page.into_iter().collect();
        let rows = answers
            .into_iter()
            .map(|(id, question, code)| {
                let unit = units.get(&id).cloned().unwrap_or_default();
                (id, unit, question, code)
            })
            .collect();
        Ok((rows, Some(last)))
    }
}
