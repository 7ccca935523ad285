//! What scoring a wave one commune at a time reads and keeps: each commune's count of complete responses (the
//! basis that says whether it changed) and the last result computed for each commune. The answers themselves are
//! read with [`Store::answers_page`], limited to the commune's units.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, execute, fetch};

/// April 2262: later than any answer.
const FAR_FUTURE: DateTime<Utc> = DateTime::from_timestamp_nanos(i64::MAX);

/// The complete, counted responses of one stored unit in a wave (or in a reporting period of it).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UnitResponses {
    pub unit_id: Uuid,
    /// The unit's code as stored (a legacy commune's code where its answers were given before a reform).
    pub unit_code: String,
    pub responses: i64,
    /// The latest completion among them.
    pub last_completed: Option<DateTime<Utc>>,
}

/// When responses of a unit were last flagged or restored by the quality review (which moves them out of, or back
/// into, the scores).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UnitReviews {
    pub unit_id: Uuid,
    pub last_flagged: Option<DateTime<Utc>>,
    pub last_reviewed: Option<DateTime<Utc>>,
}

/// One commune's last computed scores.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UnitScoreRow {
    pub wave_code: String,
    /// The plan period's code, or `""` for the whole wave.
    pub period: String,
    pub method: String,
    pub unit_code: String,
    pub basis: String,
    pub computed_at: DateTime<Utc>,
    /// The scores as JSON.
    pub scores: String,
}

impl Store {
    /// Per unit with any, the complete responses of a wave that count (flagged ones left out, as
    /// [`Store::answers_page`] leaves them out), completed in `completed` when given.
    pub async fn responses_per_unit(
        &self,
        wave_id: Uuid,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<UnitResponses>, StoreError> {
        let (from, until) = completed.unwrap_or((DateTime::UNIX_EPOCH, FAR_FUTURE));
        fetch!(
            &self.pool,
            fetch_all,
            "counting responses per commune",
            "SELECT r.unit_id, u.code AS unit_code, COUNT(*) AS responses, MAX(r.completed_at) AS last_completed \
             FROM responses r JOIN admin_units u ON u.id = r.unit_id \
             WHERE r.wave_id = $1 AND r.complete = $2 AND r.completed_at >= $3 AND r.completed_at < $4 \
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             GROUP BY r.unit_id, u.code ORDER BY u.code",
            wave_id,
            true,
            from,
            until,
        )
    }

    /// Per unit with any, when the quality review last flagged or restored one of a wave's responses.
    pub async fn reviews_per_unit(&self, wave_id: Uuid) -> Result<Vec<UnitReviews>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading the quality reviews per commune",
            "SELECT unit_id, MAX(flagged_at) AS last_flagged, MAX(reviewed_at) AS last_reviewed \
             FROM response_quality WHERE wave_id = $1 GROUP BY unit_id",
            wave_id,
        )
    }

    /// The last results kept for a wave, period and method, one per commune.
    pub async fn unit_score_snapshots(
        &self,
        wave_code: &str,
        period: &str,
        method: &str,
    ) -> Result<Vec<UnitScoreRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading the communes' last computed scores",
            "SELECT wave_code, period, method, unit_code, basis, computed_at, scores FROM unit_score_snapshots \
             WHERE wave_code = $1 AND period = $2 AND method = $3",
            wave_code,
            period,
            method,
        )
    }

    /// Keeps `row` as its commune's last result, replacing the one before.
    pub async fn save_unit_score_snapshot(&self, row: &UnitScoreRow) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "keeping a commune's computed scores",
            "INSERT INTO unit_score_snapshots (wave_code, period, method, unit_code, basis, computed_at, scores) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (wave_code, period, method, unit_code) DO UPDATE \
             SET basis = $5, computed_at = $6, scores = $7",
            &row.wave_code,
            &row.period,
            &row.method,
            &row.unit_code,
            &row.basis,
            row.computed_at,
            &row.scores,
        )?;
        Ok(())
    }
}
