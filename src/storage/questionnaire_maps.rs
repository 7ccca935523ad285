//! Code maps between questionnaire versions (issue 23): stored as given, checked by the services before they get
//! here.

use chrono::Utc;
use uuid::Uuid;

use super::{Store, StoreError, execute, fetch};

impl Store {
    /// Stores (or replaces) the code map from one questionnaire version to another.
    pub async fn store_code_map(&self, from_id: Uuid, to_id: Uuid, source: &str) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "storing a code map",
            "INSERT INTO questionnaire_maps (from_id, to_id, source, imported_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (from_id, to_id) DO UPDATE SET source = $3, imported_at = $4",
            from_id,
            to_id,
            source,
            Utc::now(),
        )?;
        Ok(())
    }

    /// The text of the code map from one version to another, if one was imported.
    pub async fn code_map(&self, from_id: Uuid, to_id: Uuid) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a code map",
            "SELECT source FROM questionnaire_maps WHERE from_id = $1 AND to_id = $2",
            from_id,
            to_id,
        )?;
        Ok(row.map(|(s,)| s))
    }
}
