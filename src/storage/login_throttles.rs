//! Failed sign-ins per (username as typed, client address): the service decides the delays, this only keeps count.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, execute, fetch};

/// The failures of one username from one address.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginThrottleRow {
    pub username: String,
    pub address: String,
    pub failures: i64,
    pub blocked_until: Option<DateTime<Utc>>,
    pub last_failure_at: DateTime<Utc>,
}

impl Store {
    /// The failures of `username` from `address`, if any are remembered.
    pub async fn login_throttle(&self, username: &str, address: &str) -> Result<Option<LoginThrottleRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading failed logins",
            "SELECT username, address, failures, blocked_until, last_failure_at FROM login_throttles \
             WHERE username = $1 AND address = $2",
            username,
            address,
        )
    }

    /// Records one more failure of `username` from `address`: `failures` in a row now, blocked until
    /// `blocked_until` when given.
    pub async fn record_login_failure(
        &self,
        username: &str,
        address: &str,
        failures: i64,
        blocked_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "recording a failed login",
            "INSERT INTO login_throttles (username, address, failures, blocked_until, last_failure_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username, address) DO UPDATE \
             SET failures = $3, blocked_until = $4, last_failure_at = $5",
            username,
            address,
            failures,
            blocked_until,
            now,
        )?;
        Ok(())
    }

    /// The (username, address) pairs blocked at `now`, the most failures first (for administrators).
    pub async fn login_lockouts(&self, now: DateTime<Utc>) -> Result<Vec<LoginThrottleRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading blocked sign-ins",
            "SELECT username, address, failures, blocked_until, last_failure_at FROM login_throttles \
             WHERE blocked_until > $1 ORDER BY failures DESC, username, address LIMIT 500",
            now,
        )
    }

    /// Forgets the failures of `username` from `address`, or from every address when `address` is `None`.
    /// Returns how many pairs were cleared.
    pub async fn clear_login_throttle(&self, username: &str, address: Option<&str>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        match address {
            Some(address) => execute!(
                writer.pool,
                "clearing failed logins",
                "DELETE FROM login_throttles WHERE username = $1 AND address = $2",
                username,
                address,
            ),
            None => execute!(
                writer.pool,
                "clearing failed logins",
                "DELETE FROM login_throttles WHERE username = $1",
                username,
            ),
        }
    }

    /// Forgets failures older than `before`. Returns how many pairs were forgotten.
    pub async fn prune_login_throttles(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "pruning old failed logins",
            "DELETE FROM login_throttles WHERE last_failure_at < $1",
            before,
        )
    }
}
