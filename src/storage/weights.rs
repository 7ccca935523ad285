//! A wave's stored survey weights (issue 16, `docs/weights.md`): the profile answers raking reads, every weighted
//! response's weight and the wave's [`WaveWeighting`], replaced together in one transaction.
//!
//! Which responses count is the scores' rule: complete, and not flagged (`response_quality`) until an
//! administrator restores them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};
use crate::domain::weights::{ProvinceWeights, WaveWeighting};

/// One profile answer of a complete response: (response id, unit code as answered, question code, stored code).
/// A response with none of the questions asked for comes once with `None, None`, so that it is weighted too (its
/// profile is incomplete, not absent from the wave).
pub type ProfileAnswer = (Uuid, String, Option<String>, Option<String>);

/// Weights written per statement: 3 binds each, far below either engine's limit of binds.
const INSERT_BATCH: usize = 300;
/// Response ids looked up per statement.
const LOOKUP_BATCH: usize = 500;

/// April 2262: later than any answer.
const FAR_FUTURE: DateTime<Utc> = DateTime::from_timestamp_nanos(i64::MAX);

/// `$first, $first+1, …` for `count` binds.
fn marks(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type WeightingRow = (Uuid, DateTime<Utc>, f64, String, String, String, i64, i64, String);

impl Store {
    /// The answers to `questions` (the profile questions margins name) of every complete, unflagged response of a
    /// wave, with its commune's code, grouped by response (ordered by response id; within a response, in no
    /// particular order: ordering by question too made SQLite sort the result in a temporary B-tree).
    pub async fn profile_answers(&self, wave_id: Uuid, questions: &[String]) -> Result<Vec<ProfileAnswer>, StoreError> {
        // With no question, `IN ()` is not SQL: a code no question has stands in.
        let none = [String::new()];
        let questions = if questions.is_empty() { &none[..] } else { questions };
        // Only placeholders are added to the text; every value is bound below.
        let sql = AssertSqlSafe(format!(
            "SELECT r.id, u.code, a.question_code, a.code FROM responses r \
             JOIN admin_units u ON u.id = r.unit_id \
             LEFT JOIN answers a ON a.response_id = r.id AND a.question_code IN ({}) \
             WHERE r.wave_id = $1 AND r.complete = $2 \
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             ORDER BY r.id",
            marks(3, questions.len())
        ));
        on_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(sql).bind(wave_id).bind(true);
            for question in questions {
                q = q.bind(question);
            }
            q.fetch_all(p)
                .await
                .map_err(db("reading the profile answers of a wave"))
        })
    }

    /// Replaces the stored weights of `weighting.wave_id` with `weights` and its summary with `weighting`, in one
    /// transaction: on any failure the previous weights stay as they were.
    pub async fn replace_wave_weights(
        &self,
        weighting: &WaveWeighting,
        weights: &[(Uuid, f64)],
    ) -> Result<(), StoreError> {
        let sources = serde_json::to_string(&weighting.sources)
            .map_err(|e| StoreError::Corrupt(format!("the margins' sources: {e}")))?;
        let provinces = serde_json::to_string(&weighting.provinces)
            .map_err(|e| StoreError::Corrupt(format!("the provinces' weighting: {e}")))?;
        let count = |n: u64| i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("{n} responses")));
        let (respondents, left_out) = (count(weighting.respondents)?, count(weighting.left_out)?);
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to store a wave's weights"))?;
            execute!(
                tx: tx,
                "removing a wave's previous weights",
                "DELETE FROM response_weights WHERE wave_id = $1",
                weighting.wave_id,
            )?;
            execute!(
                tx: tx,
                "removing a wave's previous weighting",
                "DELETE FROM wave_weightings WHERE wave_id = $1",
                weighting.wave_id,
            )?;
            execute!(
                tx: tx,
                "storing a wave's weighting",
                "INSERT INTO wave_weightings (wave_id, computed_at, cap, margins_file, margins_sha256, sources, \
                 respondents, left_out, provinces) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                weighting.wave_id,
                weighting.computed_at,
                weighting.cap,
                &weighting.margins_file,
                &weighting.margins_sha256,
                &sources,
                respondents,
                left_out,
                &provinces,
            )?;
            for batch in weights.chunks(INSERT_BATCH) {
                let rows: Vec<String> = (0..batch.len()).map(|i| format!("({})", marks(3 * i + 1, 3))).collect();
                // Only placeholders are added to the text; every value is bound below.
                let sql = AssertSqlSafe(format!(
                    "INSERT INTO response_weights (response_id, wave_id, weight) VALUES {}",
                    rows.join(", ")
                ));
                let mut q = sqlx::query(sql);
                for (id, weight) in batch {
                    q = q.bind(*id).bind(weighting.wave_id).bind(*weight);
                }
                q.execute(&mut *tx).await.map_err(db("storing response weights"))?;
            }
            tx.commit().await.map_err(db("committing a wave's weights"))?;
            Ok(())
        })
    }

    /// Removes a wave's weights and their summary in one transaction; returns how many weights there were, `None`
    /// when the wave had no weighting.
    pub async fn clear_wave_weights(&self, wave_id: Uuid) -> Result<Option<u64>, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to remove a wave's weights"))?;
            let weights = execute!(
                tx: tx,
                "removing a wave's weights",
                "DELETE FROM response_weights WHERE wave_id = $1",
                wave_id,
            )?;
            let summaries = execute!(
                tx: tx,
                "removing a wave's weighting",
                "DELETE FROM wave_weightings WHERE wave_id = $1",
                wave_id,
            )?;
            tx.commit()
                .await
                .map_err(db("committing the removal of a wave's weights"))?;
            Ok((summaries > 0).then_some(weights))
        })
    }

    /// The summary of a wave's stored weights, if it has some.
    pub async fn wave_weighting(&self, wave_id: Uuid) -> Result<Option<WaveWeighting>, StoreError> {
        let row: Option<WeightingRow> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a wave's weighting",
            "SELECT wave_id, computed_at, cap, margins_file, margins_sha256, sources, respondents, left_out, provinces \
             FROM wave_weightings WHERE wave_id = $1",
            wave_id,
        )?;
        let Some((wave_id, computed_at, cap, margins_file, margins_sha256, sources, respondents, left_out, provinces)) =
            row
        else {
            return Ok(None);
        };
        let sources: Vec<String> = serde_json::from_str(&sources)
            .map_err(|e| StoreError::Corrupt(format!("the margins' sources of a weighting: {e}")))?;
        let provinces: Vec<ProvinceWeights> = serde_json::from_str(&provinces)
            .map_err(|e| StoreError::Corrupt(format!("the provinces of a weighting: {e}")))?;
        Ok(Some(WaveWeighting {
            wave_id,
            computed_at,
            cap,
            margins_file,
            margins_sha256,
            sources,
            respondents: u64::try_from(respondents).unwrap_or_default(),
            left_out: u64::try_from(left_out).unwrap_or_default(),
            provinces,
        }))
    }

    /// The stored weights of some responses of a wave; a response without one (completed after the weights were
    /// computed, or of another wave) is absent from the map.
    pub async fn response_weights(&self, wave_id: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, f64>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for batch in ids.chunks(LOOKUP_BATCH) {
            // Only placeholders are added to the text; every id is bound below.
            let sql = AssertSqlSafe(format!(
                "SELECT response_id, weight FROM response_weights WHERE wave_id = $1 AND response_id IN ({})",
                marks(2, batch.len())
            ));
            let rows: Vec<(Uuid, f64)> = on_pool!(&self.pool, |p| {
                let mut q = sqlx::query_as(sql).bind(wave_id);
                for id in batch {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await.map_err(db("reading response weights"))
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Every response a score of the wave counts — complete, unflagged, with `completed`, completed in
    /// `[from, until)` — with its stored weight, `None` for one that has none; ordered by response id.
    pub async fn scored_response_weights(
        &self,
        wave_id: Uuid,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<(Uuid, Option<f64>)>, StoreError> {
        let (from, until) = completed.unwrap_or((DateTime::UNIX_EPOCH, FAR_FUTURE));
        fetch!(
            &self.pool,
            fetch_all,
            "reading the weights of a wave's responses",
            "SELECT r.id, w.weight FROM responses r LEFT JOIN response_weights w ON w.response_id = r.id \
             WHERE r.wave_id = $1 AND r.complete = $2 AND r.completed_at >= $3 AND r.completed_at < $4 \
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             ORDER BY r.id",
            wave_id,
            true,
            from,
            until,
        )
    }

    /// How many responses the wave's scores count (complete, unflagged) have no stored weight.
    pub async fn unweighted_responses(&self, wave_id: Uuid) -> Result<u64, StoreError> {
        let (count,): (i64,) = fetch!(
            &self.pool,
            fetch_one,
            "counting a wave's unweighted responses",
            "SELECT COUNT(*) FROM responses r WHERE r.wave_id = $1 AND r.complete = $2 \
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM response_weights w WHERE w.response_id = r.id)",
            wave_id,
            true,
        )?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}
