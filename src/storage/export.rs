//! Reading a wave's answers for export, a page at a time, so that an export of millions of answers never holds
//! them all in memory.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, db, on_pool};

/// One exported answer: (response id, unit code as answered, question code, stored code). The stored code is
/// `None` for a free-text answer (free text is never exported).
pub type ExportedAnswer = (Uuid, String, String, Option<String>);

/// April 2262: later than any answer.
const FAR_FUTURE: DateTime<Utc> = DateTime::from_timestamp_nanos(i64::MAX);

impl Store {
    /// Up to `limit` answers of the complete responses of a wave, ordered by response id and question code,
    /// strictly after the `(response id, question code)` cursor (`None`: from the start). Pass the last row's
    /// key back as the cursor for the next page; an empty page is the end. With `completed`, only responses
    /// completed in `[from, until)` (a reporting period).
    pub async fn answers_page(
        &self,
        wave_id: Uuid,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
        after: Option<(Uuid, String)>,
        limit: i64,
    ) -> Result<Vec<ExportedAnswer>, StoreError> {
        // The nil UUID sorts first on both engines (all bytes zero) and is never a response id (v4).
        let (after_id, after_question) = after.unwrap_or((Uuid::nil(), String::new()));
        // Without a period, bounds every engine can store (PostgreSQL's timestamps end in year 294276, chrono's nanoseconds in 2262).
        let (from, until) = completed.unwrap_or((DateTime::UNIX_EPOCH, FAR_FUTURE));
        on_pool!(&self.pool, |p| {
            sqlx::query_as(
                "SELECT r.id, u.code, a.question_code, a.code FROM responses r \
                 JOIN answers a ON a.response_id = r.id \
                 JOIN admin_units u ON u.id = r.unit_id \
                 WHERE r.wave_id = $1 AND r.complete = $2 \
                 AND (r.id > $3 OR (r.id = $3 AND a.question_code > $4)) \
                 AND r.completed_at >= $6 AND r.completed_at < $7 \
                 ORDER BY r.id, a.question_code LIMIT $5",
            )
            .bind(wave_id)
            .bind(true)
            .bind(after_id)
            .bind(after_question)
            .bind(limit)
            .bind(from)
            .bind(until)
            .fetch_all(p)
            .await
            .map_err(db("reading answers to export"))
        })
    }
}
