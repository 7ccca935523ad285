//! Administering accounts (issue 20): an administrator disables and enables accounts (a disabled account's open
//! sessions end at once), sets a new password (the account's sessions end), and anyone sees and ends their own
//! sessions (administrators: anyone's). Every change is audit logged. The same rules serve the console
//! (`/console/users`, `/console/account`) and the command line (`ykien user …`), where the actor is the
//! command line itself (no official in the audit entry).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Error;
use super::accounts::{MIN_PASSWORD_CHARS, Official, Role, hash_password};
use crate::storage::{AuditEntry, OfficialRow, SessionRow, Store};

/// Who makes a change: an administrator in the console, or the command line on the server.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Admin(&'a Official),
    CommandLine,
}

impl Actor<'_> {
    pub(crate) fn audit(&self, action: &str, target: &str) -> Result<AuditEntry, Error> {
        match self {
            Self::Admin(o) if o.role == Role::Admin => Ok(o.audit(action, target)),
            Self::Admin(_) => Err(Error::Forbidden("only administrators change accounts".into())),
            Self::CommandLine => Ok(AuditEntry {
                official_id: None,
                action: action.to_owned(),
                target: target.to_owned(),
                before_state: None,
                after_state: None,
                detail: Some("command line".to_owned()),
            }),
        }
    }
}

async fn account(store: &Store, username: &str) -> Result<OfficialRow, Error> {
    store
        .official_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no account is named {username}")))
}

/// Disables (`true`) or enables an account. Its sessions end at once when disabled. An administrator cannot
/// disable their own account (someone must be left to enable it).
pub async fn set_disabled(store: &Store, by: Actor<'_>, username: &str, disabled: bool) -> Result<(), Error> {
    let row = account(store, username).await?;
    if let Actor::Admin(admin) = by
        && admin.id == row.id
        && disabled
    {
        return Err(Error::BadRequest(
            "an administrator cannot disable their own account".into(),
        ));
    }
    let mut audit = by.audit(
        if disabled {
            "account_disabled"
        } else {
            "account_enabled"
        },
        &row.username,
    )?;
    audit.before_state = Some(if row.disabled { "disabled" } else { "enabled" }.to_owned());
    audit.after_state = Some(if disabled { "disabled" } else { "enabled" }.to_owned());
    Ok(store.set_official_disabled(row.id, disabled, &audit).await?)
}

/// Sets a new password chosen by an administrator (or at the command line); the account's sessions end.
pub async fn reset_password(store: &Store, by: Actor<'_>, username: &str, password: String) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::BadRequest(format!(
            "Mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự / the password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let row = account(store, username).await?;
    let audit = by.audit("password_reset", &row.username)?;
    let hash = hash_password(password).await?;
    Ok(store.set_password_hash(row.id, &hash, &audit).await?)
}

/// Every account (administrators' page and `ykien user list`).
pub async fn accounts(store: &Store) -> Result<Vec<OfficialRow>, Error> {
    Ok(store.officials().await?)
}

/// The live sessions of an account.
pub async fn sessions(store: &Store, official_id: Uuid, now: DateTime<Utc>) -> Result<Vec<SessionRow>, Error> {
    Ok(store.sessions_of(official_id, now).await?)
}

/// Ends one session of `official_id`: one's own, or anyone's for an administrator.
pub async fn end_session(store: &Store, by: &Official, official_id: Uuid, token_hash: &str) -> Result<bool, Error> {
    if by.id != official_id && by.role != Role::Admin {
        return Err(Error::Forbidden(
            "only administrators end other people's sessions".into(),
        ));
    }
    let mut audit = by.audit("session_ended", &official_id.to_string());
    audit.detail = Some(format!("session {}", &token_hash[..token_hash.len().min(12)]));
    Ok(store.end_session(official_id, token_hash, &audit).await?)
}
