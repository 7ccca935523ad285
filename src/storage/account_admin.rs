//! Administering officials' accounts: disabling and enabling, setting a password, listing and ending sessions.
//! Each change writes its audit entry in the same transaction, and disabling or a new password ends the account's
//! sessions at once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::case_changes::insert_audit;
use super::{AuditEntry, BeginWrite, OfficialRow, Store, StoreError, db, execute, fetch, on_pool};

/// An open session of an account, as an administrator or its owner sees it (never the token).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// SHA-256 of the session token: names the session in the revoke form; it signs nobody in.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

type OfficialTuple = (Uuid, String, String, String, String, Option<String>, bool);

impl Store {
    /// Every account, by username.
    pub async fn officials(&self) -> Result<Vec<OfficialRow>, StoreError> {
        let rows: Vec<OfficialTuple> = fetch!(
            &self.pool,
            fetch_all,
            "reading the accounts",
            "SELECT id, username, display_name, password_hash, role, office, disabled FROM officials ORDER BY username",
        )?;
        Ok(rows
            .into_iter()
            .map(
                |(id, username, display_name, password_hash, role, office, disabled)| OfficialRow {
                    id,
                    username,
                    display_name,
                    password_hash,
                    role,
                    office,
                    disabled,
                },
            )
            .collect())
    }

    /// Disables or enables an account; disabling ends its sessions in the same transaction.
    pub async fn set_official_disabled(
        &self,
        official_id: Uuid,
        disabled: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to disable an account"))?;
            let changed = execute!(
                tx: tx,
                "disabling or enabling an account",
                "UPDATE officials SET disabled = $2 WHERE id = $1",
                official_id,
                disabled,
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("the account".to_owned()));
            }
            if disabled {
                execute!(
                    tx: tx,
                    "ending a disabled account's sessions",
                    "DELETE FROM official_sessions WHERE official_id = $1",
                    official_id,
                )?;
            }
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing an account's state"))?;
            Ok(())
        })
    }

    /// Sets an account's password hash and ends its sessions.
    pub async fn set_password_hash(
        &self,
        official_id: Uuid,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to set a password"))?;
            let changed = execute!(
                tx: tx,
                "setting a password",
                "UPDATE officials SET password_hash = $2 WHERE id = $1",
                official_id,
                password_hash,
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("the account".to_owned()));
            }
            execute!(
                tx: tx,
                "ending sessions after a new password",
                "DELETE FROM official_sessions WHERE official_id = $1",
                official_id,
            )?;
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing a new password"))?;
            Ok(())
        })
    }

    /// The live sessions of an account, newest first.
    pub async fn sessions_of(&self, official_id: Uuid, now: DateTime<Utc>) -> Result<Vec<SessionRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading an account's sessions",
            "SELECT token_hash, created_at, expires_at FROM official_sessions WHERE official_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC",
            official_id,
            now,
        )
    }

    /// Ends one session of an account; false when it had no such session.
    pub async fn end_session(
        &self,
        official_id: Uuid,
        token_hash: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to end a session"))?;
            let ended = execute!(
                tx: tx,
                "ending a session",
                "DELETE FROM official_sessions WHERE official_id = $1 AND token_hash = $2",
                official_id,
                token_hash,
            )?;
            if ended > 0 {
                insert_audit!(tx, audit, now);
            }
            tx.commit().await.map_err(db("committing a session's end"))?;
            Ok(ended > 0)
        })
    }
}
