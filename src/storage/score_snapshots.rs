//! The last scores computed per (wave, reporting period), kept so that a restart or a second instance serves them
//! at once; the service decides when they are stale, this only keeps the latest one of each key.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, execute, fetch};

/// One persisted snapshot.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ScoreSnapshotRow {
    pub wave_code: String,
    /// The plan period's code, or `""` for the whole wave.
    pub period: String,
    pub computed_at: DateTime<Utc>,
    /// Complete responses of the waves scored.
    pub responses: i64,
    /// The scores as JSON.
    pub scores: String,
}

impl Store {
    /// The last snapshot of (`wave_code`, `period`), if one was kept.
    pub async fn score_snapshot(&self, wave_code: &str, period: &str) -> Result<Option<ScoreSnapshotRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading the last computed scores",
            "SELECT wave_code, period, computed_at, responses, scores FROM score_snapshots \
             WHERE wave_code = $1 AND period = $2",
            wave_code,
            period,
        )
    }

    /// Keeps `row` as the last snapshot of its (wave, period), replacing the one before.
    pub async fn save_score_snapshot(&self, row: &ScoreSnapshotRow) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "keeping the computed scores",
            "INSERT INTO score_snapshots (wave_code, period, computed_at, responses, scores) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wave_code, period) DO UPDATE \
             SET computed_at = $3, responses = $4, scores = $5",
            &row.wave_code,
            &row.period,
            row.computed_at,
            row.responses,
            &row.scores,
        )?;
        Ok(())
    }
}
