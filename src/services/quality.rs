//! Responses no person could have made (`domain::quality`): what administrators see of them and how they restore
//! one they judge genuine. Flagged responses are left out of scores where answers are read for scoring
//! (`Store::answers_page`); restoring one counts it again from the next computation of the scores.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Error;
use super::accounts::{Official, Role};
use crate::storage::{FlaggedCount, FlaggedResponse, Store};

/// What the administrators' page shows: counts per wave and commune, and the newest flagged responses.
pub async fn flagged(store: &Store, limit: i64) -> Result<(Vec<FlaggedCount>, Vec<FlaggedResponse>), Error> {
    Ok((store.flagged_counts().await?, store.flagged_responses(limit).await?))
}

/// An administrator counts a flagged response again; the audit log says who and when.
pub async fn restore(store: &Store, admin: &Official, response_id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    if admin.role != Role::Admin {
        return Err(Error::Forbidden("only administrators restore flagged responses".into()));
    }
    if !store.restore_response(response_id, admin.id, now).await? {
        return Err(Error::Conflict(format!("response {response_id} is not flagged")));
    }
    store
        .audit(&admin.audit("response_restored", &response_id.to_string()))
        .await?;
    Ok(())
}

/// One channel's part of a commune's complete responses of a wave.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelShare {
    /// web, api, telegram or zalo.
    pub channel: String,
    pub responses: i64,
    pub percent: f64,
}

/// The share of each channel (web, api, telegram, zalo) among a commune's complete responses of a wave, the
/// largest first: how strong "one response per person" is there depends on it (docs/security.md).
pub async fn channel_shares(store: &Store, wave_id: Uuid, unit_code: &str) -> Result<Vec<ChannelShare>, Error> {
    let mut rows: Vec<(String, i64)> = store
        .channel_counts(wave_id, unit_code)
        .await?
        .into_iter()
        .map(|c| (c.channel, c.responses))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: i64 = rows.iter().map(|(_, n)| n).sum();
    Ok(rows
        .into_iter()
        .map(|(channel, responses)| ChannelShare {
            channel,
            responses,
            percent: if total > 0 {
                100.0 * responses as f64 / total as f64
            } else {
                0.0
            },
        })
        .collect())
}
