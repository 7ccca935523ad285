//! The reporters' news by email, seen from their side: the unsubscribe link (`/unsubscribe/{token}`) that stops a
//! case's news at once. The news themselves are queued with each change (`actions`).

use chrono::{DateTime, Utc};

use super::Cases;
use crate::services::Error;

/// A case's news by email as an unsubscribe link finds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsLink {
    pub code: String,
    /// Whether they were stopped (before, or by this request).
    pub stopped: bool,
}

/// Whether `token` has the shape of an unsubscribe token (48 lower-case hex digits); others are not looked up.
fn well_formed(token: &str) -> bool {
    token.len() == 48 && token.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

impl Cases {
    /// The case of an unsubscribe link; `None` for a link that is not one of ours.
    pub async fn news_link(&self, token: &str) -> Result<Option<NewsLink>, Error> {
        if !well_formed(token) {
            return Ok(None);
        }
        Ok(self.store.case_of_news_token(token).await?.map(|row| NewsLink {
            code: row.code,
            stopped: row.news_stopped_at.is_some(),
        }))
    }

    /// Stops the news of an unsubscribe link's case, and drops those queued and not sent yet; `None` for a link
    /// that is not one of ours. Stopping twice is no error.
    pub async fn stop_news(&self, token: &str, now: DateTime<Utc>) -> Result<Option<NewsLink>, Error> {
        if !well_formed(token) {
            return Ok(None);
        }
        let Some(row) = self.store.case_of_news_token(token).await? else {
            return Ok(None);
        };
        if row.news_stopped_at.is_none() {
            self.store
                .stop_case_news(row.case_id, row.email.as_deref().unwrap_or_default(), now)
                .await?;
            tracing::info!(code = %row.code, "a reporter stopped a case's news by email");
        }
        Ok(Some(NewsLink {
            code: row.code,
            stopped: true,
        }))
    }
}
