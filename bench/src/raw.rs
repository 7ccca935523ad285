//! The raw limit: the same responses, with the same answer rows, stored without HTTP, JSON or validation —
//! `ykien::app::open_store` and `Store::insert_complete_responses` (the server's own SQL: one INSERT into
//! `responses` and one multi-row upsert into `answers` per response) with many responses per transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ykien::storage::{NewResponse, Store};

use crate::BoxError;
use crate::answers::Generated;
use crate::cpu::{Shares, Snapshot};

pub struct RawSettings {
    pub batch: usize,
    pub writers: usize,
    pub duration: Duration,
}

pub struct RawResult {
    pub responses: u64,
    pub answer_rows: u64,
    pub window: Duration,
    pub writers: usize,
    pub batch: usize,
    /// CPU used during the run (this process is the writer; no server runs).
    pub cpu: Shares,
}

impl RawResult {
    pub fn per_second(&self) -> f64 {
        self.responses as f64 / self.window.as_secs_f64()
    }
}

/// Opens (and migrates) the store at `database_url` as the service does.
pub async fn open(database_url: &str) -> Result<Store, BoxError> {
    crate::server::open_store(&crate::server::config(database_url)?).await
}

/// GSO codes of the communes of province 33 today (the wave covers them all).
pub async fn commune_codes(store: &Store) -> Result<Vec<(String, uuid::Uuid)>, BoxError> {
    let today = ykien::domain::calendar::vn_day(Utc::now());
    let communes = ykien::services::units::children(store, Some("33"), today).await?;
    Ok(communes.into_iter().map(|u| (u.code, u.id)).collect())
}

/// Inserts `responses` (cycled, `commune_of[i]` the commune code of the i-th) for `settings.duration`, each
/// writer committing `settings.batch` responses per transaction, and counts what was committed.
pub async fn run(
    store: &Store,
    wave_code: &str,
    responses: &[Generated],
    commune_of: &[String],
    settings: &RawSettings,
) -> Result<RawResult, BoxError> {
    let wave = store.wave_by_code(wave_code).await?;
    let unit_ids: HashMap<String, uuid::Uuid> = commune_codes(store).await?.into_iter().collect();
    let now = Utc::now();
    let mut rows = Vec::with_capacity(responses.len());
    for (generated, commune) in responses.iter().zip(commune_of) {
        let unit_id = *unit_ids
            .get(commune)
            .ok_or_else(|| format!("commune {commune} is not in the raw database"))?;
        rows.push(NewResponse {
            wave_id: wave.id,
            unit_id,
            channel: "api".to_owned(),
            client_token: None,
            answers: generated.stored.clone(),
            at: now,
        });
    }
    // Whole batches only, so every batch has the same mix of sizes as the API run.
    let usable = rows.len() / settings.batch * settings.batch;
    if usable == 0 {
        return Err(format!(
            "fewer generated responses ({}) than one batch ({})",
            rows.len(),
            settings.batch
        )
        .into());
    }
    rows.truncate(usable);
    let rows = Arc::new(rows);

    // One batch each to warm the connections and the statement caches.
    for chunk in rows.chunks(settings.batch).take(settings.writers.max(1)) {
        store.insert_complete_responses(chunk).await?;
    }

    let start = Instant::now();
    let end = start + settings.duration;
    let before = Snapshot::take(None);
    let mut tasks = Vec::new();
    for writer in 0..settings.writers.max(1) {
        let (store, rows, batch) = (store.clone(), rows.clone(), settings.batch);
        tasks.push(tokio::spawn(async move {
            let chunks: Vec<&[NewResponse]> = rows.chunks(batch).collect();
            let (mut responses, mut answer_rows) = (0u64, 0u64);
            let mut next = writer * 7;
            while Instant::now() < end {
                let chunk = chunks[next % chunks.len()];
                next += 1;
                store.insert_complete_responses(chunk).await?;
                // A batch committed after the end is not counted, as an API response answered after the end.
                if Instant::now() <= end {
                    responses += chunk.len() as u64;
                    answer_rows += chunk.iter().map(|r| r.answers.len() as u64).sum::<u64>();
                }
            }
            Ok::<_, ykien::storage::StoreError>((responses, answer_rows))
        }));
    }
    let mut result = RawResult {
        responses: 0,
        answer_rows: 0,
        window: settings.duration,
        writers: settings.writers.max(1),
        batch: settings.batch,
        cpu: Shares::default(),
    };
    for task in tasks {
        let (responses, answer_rows) = task.await??;
        result.responses += responses;
        result.answer_rows += answer_rows;
    }
    result.cpu = before.shares_until(&Snapshot::take(None));
    Ok(result)
}
