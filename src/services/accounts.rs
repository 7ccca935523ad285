//! Officials: accounts with argon2id passwords, roles with a scope of units, login with throttling and lockout,
//! sessions. Password hashing runs on the blocking pool, never on the async threads.

use std::time::Duration as StdDuration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Error;
use super::units::unit_by_code;
use crate::domain::Text;
use crate::domain::cases::{Action, OFFICE_TYPES};
use crate::domain::units::Unit;
use crate::storage::{AuditEntry, NewOfficial, OfficialRow, Store, StoreError};

/// Failed logins in a row before an account is locked.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: StdDuration = StdDuration::from_secs(15 * 60);
/// How long a session lasts (a working day).
pub const SESSION_HOURS: i64 = 10;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What an official may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    /// The intake desk (bộ phận tiếp nhận): the only role that sees the reporter's contact.
    Intake,
    CommuneOfficer,
    DepartmentOfficer,
    /// Provincial leaders and the Department of Home Affairs: read-only.
    Leader,
}

impl Role {
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::Intake,
        Self::CommuneOfficer,
        Self::DepartmentOfficer,
        Self::Leader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Intake => "intake",
            Self::CommuneOfficer => "commune_officer",
            Self::DepartmentOfficer => "department_officer",
            Self::Leader => "leader",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> Text {
        match self {
            Self::Admin => Text::new("Quản trị", "Administrator"),
            Self::Intake => Text::new("Tiếp nhận", "Intake desk"),
            Self::CommuneOfficer => Text::new("Cán bộ xã", "Commune officer"),
            Self::DepartmentOfficer => Text::new("Cán bộ sở, ngành", "Department officer"),
            Self::Leader => Text::new("Lãnh đạo (chỉ xem)", "Leader (read-only)"),
        }
    }

    /// Whether this role may take `action` on a case within its scope.
    pub fn may(self, action: &Action) -> bool {
        use Action::*;
        match self {
            Self::Admin => true,
            Self::Leader => false,
            Self::Intake => matches!(
                action,
                Accept { .. }
                    | Reject { .. }
                    | Forward { .. }
                    | MarkDuplicate { .. }
                    | Assign { .. }
                    | RequestInfo { .. }
                    | Extend { .. }
                    | Close
            ),
            Self::CommuneOfficer | Self::DepartmentOfficer => matches!(
                action,
                Forward { .. } | Assign { .. } | RequestInfo { .. } | Extend { .. } | Answer(_) | Close
            ),
        }
    }

    /// Whether this role sees who reported a case.
    pub fn sees_reporter(self) -> bool {
        matches!(self, Self::Intake | Self::Admin)
    }
}

/// A signed-in official.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Official {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub office: Option<String>,
    /// Units as named in the account: provinces (covering their communes) or communes.
    pub scope: Vec<Uuid>,
}

impl Official {
    /// Whether a unit is within this official's scope (administrators see everything).
    pub fn covers(&self, unit: &Unit) -> bool {
        self.role == Role::Admin
            || self.scope.contains(&unit.id)
            || unit.parent_id.is_some_and(|p| self.scope.contains(&p))
    }

    /// An entry of the audit log by this official.
    pub fn audit(&self, action: &str, target: &str) -> AuditEntry {
        AuditEntry {
            official_id: Some(self.id),
            action: action.to_owned(),
            target: target.to_owned(),
            before_state: None,
            after_state: None,
            detail: None,
        }
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password with argon2id and a random salt, on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::BadRequest(format!("password hashing stopped: {e}")))?
    .map_err(|e| Error::BadRequest(format!("password hashing failed: {e}")))
}

async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A new account as an administrator describes it.
#[derive(Clone, Debug)]
pub struct AccountRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: String,
    pub office: Option<String>,
    pub unit_codes: Vec<String>,
}

/// Creates an account after checking every field; all problems are listed at once.
pub async fn add_official(store: &Store, request: AccountRequest, day: chrono::NaiveDate) -> Result<Uuid, Error> {
    let mut problems = Vec::new();
    let username = request.username.trim().to_lowercase();
    if username.len() < 3
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        problems.push("username: 3 or more of a–z, 0–9, '.', '_', '-'".to_owned());
    }
    if request.display_name.trim().is_empty() {
        problems.push("display name: required".to_owned());
    }
    if request.password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(format!("password: at least {MIN_PASSWORD_CHARS} characters"));
    }
    let role = Role::parse(&request.role);
    if role.is_none() {
        problems.push(format!(
            "role '{}': one of {}",
            request.role,
            Role::ALL.map(Role::as_str).join(", ")
        ));
    }
    if let Some(office) = &request.office
        && !OFFICE_TYPES.contains(&office.as_str())
    {
        problems.push(format!("office '{office}': one of {}", OFFICE_TYPES.join(", ")));
    }
    if role != Some(Role::Admin) && request.unit_codes.is_empty() {
        problems.push("units: name the province or communes this account works on".to_owned());
    }
    let mut unit_ids = Vec::new();
    for code in &request.unit_codes {
        match unit_by_code(store, code.trim(), day).await {
            Ok(u) if u.is_valid_on(day) => unit_ids.push(u.id),
            Ok(_) | Err(Error::UnitNotFound(_)) => problems.push(format!("unit {code}: not a unit of today")),
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        return Err(Error::BadRequest(problems.join("; ")));
    }
    let password_hash = hash_password(request.password).await?;
    let new = NewOfficial {
        username: username.clone(),
        display_name: request.display_name.trim().to_owned(),
        password_hash,
        role: request.role,
        office: request.office,
        unit_ids,
    };
    match store.insert_official(&new).await {
        Err(StoreError::Conflict(_)) => Err(Error::Conflict(format!("username {username} is taken"))),
        other => Ok(other?),
    }
}

/// Why a login was refused; the message never says whether the username exists.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    WrongCredentials,
    Locked { until: DateTime<Utc> },
}

/// A hash to verify against when the username is unknown, so that timing does not tell which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W4Yh3m2TeWJMeHsV7Lh5X5n8nSxHnHmnsq9+cOrbWGI";

/// Checks a username and password; on success opens a session and returns its token (for the cookie).
pub async fn login(
    store: &Store,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<(String, Official), LoginRefused>, Error> {
    let row = store.official_by_username(&username.trim().to_lowercase()).await?;
    let Some(row) = row.filter(|r| !r.disabled) else {
        verify_password(DUMMY_HASH.to_owned(), password.to_owned()).await;
        return Ok(Err(LoginRefused::WrongCredentials));
    };
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Ok(Err(LoginRefused::Locked { until }));
    }
    if !verify_password(row.password_hash.clone(), password.to_owned()).await {
        let lock = (row.failed_logins + 1 >= MAX_FAILED_LOGINS)
            .then(|| now + Duration::from_std(LOCKOUT).unwrap_or(Duration::minutes(15)));
        store.record_login_failure(row.id, lock).await?;
        store
            .audit(&AuditEntry {
                official_id: Some(row.id),
                action: "login_failed".into(),
                target: row.username.clone(),
                before_state: None,
                after_state: lock.map(|_| "locked".to_owned()),
                detail: None,
            })
            .await?;
        return Ok(Err(match lock {
            Some(until) => LoginRefused::Locked { until },
            None => LoginRefused::WrongCredentials,
        }));
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    store
        .open_session(row.id, &sha256_hex(&token), now + Duration::hours(SESSION_HOURS))
        .await?;
    let official = to_official(store, row).await?;
    store.audit(&official.audit("login", &official.username)).await?;
    Ok(Ok((token, official)))
}

async fn to_official(store: &Store, row: OfficialRow) -> Result<Official, Error> {
    let scope = store.official_scope(row.id).await?;
    let role = Role::parse(&row.role)
        .ok_or_else(|| StoreError::Corrupt(format!("account {} has role {}", row.username, row.role)))?;
    Ok(Official {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        role,
        office: row.office,
        scope,
    })
}

/// The official of a live session token, if any.
pub async fn session_official(store: &Store, token: &str, now: DateTime<Utc>) -> Result<Option<Official>, Error> {
    match store.session_official(&sha256_hex(token), now).await? {
        Some(row) if !row.disabled => Ok(Some(to_official(store, row).await?)),
        _ => Ok(None),
    }
}

/// Ends a session.
pub async fn logout(store: &Store, token: &str) -> Result<(), Error> {
    Ok(store.close_session(&sha256_hex(token)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_so_unknown_names_cost_the_same() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"anything", &parsed).is_err());
    }

    #[test]
    fn only_intake_and_admin_see_the_reporter_and_leaders_act_on_nothing() {
        assert!(Role::Intake.sees_reporter() && Role::Admin.sees_reporter());
        assert!(!Role::CommuneOfficer.sees_reporter() && !Role::Leader.sees_reporter());
        assert!(!Role::Leader.may(&Action::Close));
        let answer = Action::Answer(crate::domain::cases::AnswerContent {
            what_was_done: "x".into(),
            by_unit: "y".into(),
            legal_basis: None,
        });
        assert!(Role::CommuneOfficer.may(&answer) && !Role::Intake.may(&answer));
    }
}
