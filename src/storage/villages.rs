//! The villages and residential groups (thôn, tổ dân phố) of communes, and the village a response comes from
//! (issue 23).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// One village or residential group (thôn, tổ dân phố) of a commune.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct VillageRow {
    pub code: String,
    pub name: String,
}

/// One answer of a complete response of one commune, with the response's village: (response id, village code,
/// question code, stored code).
pub type VillageAnswer = (Uuid, String, String, Option<String>);

impl Store {
    /// Replaces the villages of a commune with `villages` (code, name), in one transaction.
    pub async fn replace_villages(&self, unit_id: Uuid, villages: &[(String, String)]) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting a village import"))?;
            execute!(
                tx: tx,
                "clearing a commune's villages",
                "DELETE FROM villages WHERE unit_id = $1",
                unit_id,
            )?;
            for (code, name) in villages {
                execute!(
                    tx: tx,
                    "village",
                    "INSERT INTO villages (unit_id, code, name) VALUES ($1, $2, $3)",
                    unit_id,
                    code,
                    name,
                )?;
            }
            tx.commit().await.map_err(db("committing a village import"))?;
            Ok(())
        })
    }

    /// Records the village a response in progress comes from: the response of the session of `identity_hash` in
    /// `wave_id`, if it is still open. Returns whether a response was marked.
    pub async fn set_session_village(
        &self,
        identity_hash: &str,
        wave_id: Uuid,
        village: &str,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let changed = execute!(
            writer.pool,
            "recording a response's village",
            "UPDATE responses SET village = $1 WHERE complete = $4 AND id = (SELECT response_id FROM survey_sessions \
             WHERE identity_hash = $2 AND wave_id = $3)",
            village,
            identity_hash,
            wave_id,
            false,
        )?;
        Ok(changed > 0)
    }

    /// Gives stored responses their villages (the demo's synthetic responses).
    pub async fn set_response_villages(&self, villages: &[(Uuid, String)]) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to record villages"))?;
            for (id, village) in villages {
                execute!(
                    tx: tx,
                    "recording a response's village",
                    "UPDATE responses SET village = $1 WHERE id = $2",
                    village,
                    *id,
                )?;
            }
            tx.commit().await.map_err(db("committing villages"))?;
            Ok(())
        })
    }

    /// The answers of the complete responses of one commune in a wave that carry a village (flagged responses left
    /// out, as in every score), optionally only those completed in `[from, until)`.
    pub async fn village_answers(
        &self,
        wave_id: Uuid,
        unit_id: Uuid,
        completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<VillageAnswer>, StoreError> {
        let (from, until) = completed.unwrap_or((DateTime::UNIX_EPOCH, DateTime::from_timestamp_nanos(i64::MAX)));
        fetch!(
            &self.pool,
            fetch_all,
            "reading answers by village",
            "SELECT r.id, r.village, a.question_code, a.code FROM responses r JOIN answers a ON a.response_id = r.id \
             WHERE r.wave_id = $1 AND r.unit_id = $2 AND r.complete = $3 AND r.village IS NOT NULL \
             AND r.completed_at >= $4 AND r.completed_at < $5 \
             AND NOT EXISTS (SELECT 1 FROM response_quality q WHERE q.response_id = r.id AND q.flag IS NOT NULL) \
             ORDER BY r.id, a.question_code",
            wave_id,
            unit_id,
            true,
            from,
            until,
        )
    }

    /// The villages of a commune, by code.
    pub async fn villages(&self, unit_id: Uuid) -> Result<Vec<VillageRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading villages",
            "SELECT code, name FROM villages WHERE unit_id = $1 ORDER BY code",
            unit_id,
        )
    }
}
