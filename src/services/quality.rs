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
