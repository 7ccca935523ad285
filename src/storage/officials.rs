//! Officials' accounts, their scopes, login sessions and the audit log.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditEntry, BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// An official's account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficialRow {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub office: Option<String>,
    pub disabled: bool,
}

/// A new account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOfficial {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub office: Option<String>,
    pub unit_ids: Vec<Uuid>,
}

/// One audit log entry as stored, with the official's name.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub official: Option<String>,
    pub action: String,
    pub target: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub detail: Option<String>,
}

type OfficialTuple = (Uuid, String, String, String, String, Option<String>, bool);

fn official_from((id, username, display_name, password_hash, role, office, disabled): OfficialTuple) -> OfficialRow {
    OfficialRow {
        id,
        username,
        display_name,
        password_hash,
        role,
        office,
        disabled,
    }
}

impl Store {
    /// Creates an account with its scope; a username already taken is a `Conflict`.
    pub async fn insert_official(&self, o: &NewOfficial) -> Result<Uuid, StoreError> {
        let writer = self.writer().await;
        let id = Uuid::new_v4();
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to create an account"))?;
            execute!(
                tx: tx,
                "an account with this username",
                "INSERT INTO officials (id, username, display_name, password_hash, role, office, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                id,
                &o.username,
                &o.display_name,
                &o.password_hash,
                &o.role,
                &o.office,
                false,
                now,
            )?;
            for unit in &o.unit_ids {
                execute!(
                    tx: tx,
                    "adding a unit to an account's scope",
                    "INSERT INTO official_scopes (official_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    id,
                    unit,
                )?;
            }
            tx.commit().await.map_err(db("committing a new account"))?;
            Ok::<(), StoreError>(())
        })?;
        Ok(id)
    }

    pub async fn official_by_username(&self, username: &str) -> Result<Option<OfficialRow>, StoreError> {
        let row: Option<OfficialTuple> = fetch!(
            &self.pool,
            fetch_optional,
            "reading an account",
            "SELECT id, username, display_name, password_hash, role, office, disabled \
             FROM officials WHERE username = $1",
            username,
        )?;
        Ok(row.map(official_from))
    }

    pub async fn official_by_id(&self, id: Uuid) -> Result<Option<OfficialRow>, StoreError> {
        let row: Option<OfficialTuple> = fetch!(
            &self.pool,
            fetch_optional,
            "reading an account",
            "SELECT id, username, display_name, password_hash, role, office, disabled FROM officials WHERE id = $1",
            id,
        )?;
        Ok(row.map(official_from))
    }

    /// The units an account may act on (as named: provinces or communes).
    pub async fn official_scope(&self, official_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(Uuid,)> = fetch!(
            &self.pool,
            fetch_all,
            "reading an account's scope",
            "SELECT unit_id FROM official_scopes WHERE official_id = $1",
            official_id,
        )?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// Opens a session after a successful login and forgets the failures of `username` from `address`.
    pub async fn open_session(
        &self,
        official_id: Uuid,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        (username, address): (&str, &str),
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting a login"))?;
            execute!(
                tx: tx,
                "forgetting failed logins",
                "DELETE FROM login_throttles WHERE username = $1 AND address = $2",
                username,
                address,
            )?;
            execute!(
                tx: tx,
                "opening a session",
                "INSERT INTO official_sessions (token_hash, official_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                token_hash,
                official_id,
                now,
                expires_at,
            )?;
            tx.commit().await.map_err(db("committing a login"))?;
            Ok(())
        })
    }

    /// The account of a live session.
    pub async fn session_official(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OfficialRow>, StoreError> {
        let row: Option<OfficialTuple> = fetch!(
            &self.pool,
            fetch_optional,
            "reading a session",
            "SELECT o.id, o.username, o.display_name, o.password_hash, o.role, o.office, o.disabled \
             FROM official_sessions s JOIN officials o ON o.id = s.official_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            token_hash,
            now,
        )?;
        Ok(row.map(official_from))
    }

    /// Deletes the sessions that expired before `now`; they no longer sign anyone in. Returns how many.
    pub async fn prune_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let writer = self.writer().await;
        Ok(execute!(
            writer.pool,
            "pruning expired sessions",
            "DELETE FROM official_sessions WHERE expires_at < $1",
            now,
        )?)
    }

    pub async fn close_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "closing a session",
            "DELETE FROM official_sessions WHERE token_hash = $1",
            token_hash,
        )?;
        Ok(())
    }

    /// Writes one audit entry on its own (actions on cases write theirs with the change).
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let writer = self.writer().await;
        execute!(
            writer.pool,
            "writing the audit log",
            "INSERT INTO audit_log (id, at, official_id, action, target, before_state, after_state, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            Uuid::new_v4(),
            Utc::now(),
            entry.official_id,
            &entry.action,
            &entry.target,
            &entry.before_state,
            &entry.after_state,
            &entry.detail,
        )?;
        Ok(())
    }

    /// The newest audit entries.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading the audit log",
            "SELECT a.at, o.username AS official, a.action, a.target, a.before_state, a.after_state, a.detail \
             FROM audit_log a LEFT JOIN officials o ON o.id = a.official_id ORDER BY a.at DESC, a.id LIMIT $1",
            limit,
        )
    }
}
