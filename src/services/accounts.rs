//! Officials: accounts with argon2id passwords, roles with a scope of units, login with throttling and lockout,
//! sessions. Password hashing runs on the blocking pool, never on the async threads.

use std::time::Duration as StdDuration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Error;
use super::two_factor::CodeCheck;
use super::units::unit_by_code;
use crate::domain::Text;
use crate::domain::cases::{Action, OFFICE_TYPES};
use crate::domain::units::Unit;
use crate::services::{random_hex, sha256_hex};
use crate::storage::{AuditEntry, NewOfficial, OfficialRow, Store, StoreError};

/// Failed sign-ins in a row of one username from one address that are answered at once.
pub const FREE_FAILURES: i64 = 3;
/// The first delay after the free failures; each further failure doubles it, up to [`MAX_DELAY`].
pub const FIRST_DELAY: StdDuration = StdDuration::from_secs(30);
/// The longest delay between two attempts of one username from one address.
pub const MAX_DELAY: StdDuration = StdDuration::from_secs(15 * 60);
/// How long failures are remembered after the last one.
pub const FORGET_FAILURES_AFTER: StdDuration = StdDuration::from_secs(24 * 3600);
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
    /// Provincial leaders and the Department of Home Affairs: read-only, except that they approve a second
    /// extension of a case's deadline.
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
            // Read-only, but for approving a second extension of a deadline (`services::cases::actions`).
            Self::Leader => matches!(action, Extend { .. }),
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

/// Why a login gave no session; neither answer to a wrong password says whether the username exists.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    WrongCredentials,
    /// Too many failures of this username from this address: nothing is checked before `until`.
    Throttled {
        until: DateTime<Utc>,
    },
    /// The password is right and the account has two-factor sign-in on: the session waits for a code
    /// ([`login_with_code`]).
    CodeNeeded {
        official_id: Uuid,
    },
    /// The two-factor code is not this account's now (counted as a failed sign-in).
    WrongCode,
    /// The two-factor code was used already (counted as a failed sign-in).
    ReusedCode,
}

/// A hash to verify against when the username is unknown, so that timing does not tell which names exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W4Yh3m2TeWJMeHsV7Lh5X5n8nSxHnHmnsq9+cOrbWGI";

/// The longest username kept in the throttle table and the audit log: a guess longer than any account's name
/// is cut, so a stranger cannot store megabytes through the login form.
const MAX_USERNAME_CHARS: usize = 64;

/// How long `username` from one address must wait after `failures` failures in a row: nothing for the first
/// [`FREE_FAILURES`], then [`FIRST_DELAY`] doubling with each failure, at most [`MAX_DELAY`].
pub fn delay_after(failures: i64) -> Option<StdDuration> {
    let over = failures.checked_sub(FREE_FAILURES).filter(|o| *o > 0)?;
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(16);
    Some(FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY))
}

/// Checks a username and password sent from `address`; on success opens a session and returns its token (for
/// the cookie).
///
/// Failures are counted per (username as typed, address), for unknown names exactly as for real ones, and slow
/// down that pair only ([`delay_after`]): a stranger guessing from elsewhere never locks the official out, and
/// the answers and their timing are the same for a wrong password and a name that does not exist (both verify a
/// hash; a throttled attempt of either checks nothing).
pub async fn login(
    store: &Store,
    username: &str,
    password: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Result<(String, Official), LoginRefused>, Error> {
    let username: String = username
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_USERNAME_CHARS)
        .collect();
    let throttle = store.login_throttle(&username, address).await?;
    if let Some(until) = throttle.as_ref().and_then(|t| t.blocked_until).filter(|u| *u > now) {
        return Ok(Err(LoginRefused::Throttled { until }));
    }
    let row = store.official_by_username(&username).await?.filter(|r| !r.disabled);
    let hash = row.as_ref().map_or(DUMMY_HASH, |r| r.password_hash.as_str()).to_owned();
    let verified = verify_password(hash, password.to_owned()).await;
    let Some(row) = row.filter(|_| verified) else {
        let failures = throttle.map_or(0, |t| t.failures);
        return Ok(Err(record_failure(
            store,
            (&username, address),
            failures,
            "wrong password",
            now,
        )
        .await?
        .unwrap_or(LoginRefused::WrongCredentials)));
    };
    // With two-factor sign-in on, the failures are forgotten only once the code is right too: otherwise whoever
    // knows the password could guess codes without ever being slowed down.
    if super::two_factor::is_on(store, row.id).await? {
        return Ok(Err(LoginRefused::CodeNeeded { official_id: row.id }));
    }
    Ok(Ok(start_session(store, row, address, now).await?))
}

/// Counts one more failed sign-in of `username` from `address` (after `failures` in a row) and audits it; the
/// block it earns, if any.
async fn record_failure(
    store: &Store,
    (username, address): (&str, &str),
    failures: i64,
    why: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoginRefused>, Error> {
    let failures = failures + 1;
    let until = delay_after(failures).map(|d| now + Duration::from_std(d).unwrap_or(Duration::minutes(15)));
    store
        .record_login_failure(username, address, failures, until, now)
        .await?;
    store
        .audit(&AuditEntry {
            official_id: None,
            action: "login_failed".into(),
            target: username.to_owned(),
            before_state: None,
            after_state: until.map(|_| "throttled".to_owned()),
            detail: Some(format!("address {address}, failure {failures}: {why}")),
        })
        .await?;
    Ok(until.map(|until| LoginRefused::Throttled { until }))
}

/// Opens a session for an account that passed every check, forgetting its failures from `address`.
async fn start_session(
    store: &Store,
    row: OfficialRow,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(String, Official), Error> {
    let token = random_hex::<32>();
    store
        .open_session(
            row.id,
            &sha256_hex(&token),
            now + Duration::hours(SESSION_HOURS),
            (&row.username, address),
        )
        .await?;
    let official = to_official(store, row).await?;
    store.audit(&official.audit("login", &official.username)).await?;
    Ok((token, official))
}

/// The second step of a sign-in whose password was right ([`LoginRefused::CodeNeeded`]): checks the TOTP code
/// and opens the session. A wrong or reused code counts toward the same throttle as a wrong password, per
/// (username, address).
pub async fn login_with_code(
    store: &Store,
    key: &crate::config::Secret,
    official_id: Uuid,
    code: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Result<(String, Official), LoginRefused>, Error> {
    let Some(row) = store.official_by_id(official_id).await?.filter(|r| !r.disabled) else {
        return Ok(Err(LoginRefused::WrongCredentials));
    };
    let throttle = store.login_throttle(&row.username, address).await?;
    if let Some(until) = throttle.as_ref().and_then(|t| t.blocked_until).filter(|u| *u > now) {
        return Ok(Err(LoginRefused::Throttled { until }));
    }
    let refused = match super::two_factor::check_code(store, key, official_id, code, now).await? {
        CodeCheck::Accepted => return Ok(Ok(start_session(store, row, address, now).await?)),
        CodeCheck::Wrong => (LoginRefused::WrongCode, "wrong two-factor code"),
        CodeCheck::Reused => (LoginRefused::ReusedCode, "two-factor code used already"),
    };
    let failures = throttle.map_or(0, |t| t.failures);
    Ok(Err(record_failure(
        store,
        (&row.username, address),
        failures,
        refused.1,
        now,
    )
    .await?
    .unwrap_or(refused.0)))
}

/// The sign-ins blocked at `now`: which name, from which address, how many failures, until when.
pub async fn lockouts(store: &Store, now: DateTime<Utc>) -> Result<Vec<crate::storage::LoginThrottleRow>, Error> {
    Ok(store.login_lockouts(now).await?)
}

/// An administrator lets `username` sign in again from `address` (or from everywhere, with `None`) at once.
pub async fn clear_lockout(
    store: &Store,
    admin: &Official,
    username: &str,
    address: Option<&str>,
) -> Result<u64, Error> {
    if admin.role != Role::Admin {
        return Err(Error::Forbidden("only administrators clear sign-in blocks".into()));
    }
    let cleared = store.clear_login_throttle(username, address).await?;
    let mut entry = admin.audit("login_unblocked", username);
    entry.detail = Some(format!("address {}", address.unwrap_or("(all)")));
    store.audit(&entry).await?;
    Ok(cleared)
}

pub(crate) async fn to_official(store: &Store, row: OfficialRow) -> Result<Official, Error> {
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
    fn delays_grow_after_the_free_failures_and_stop_at_fifteen_minutes() {
        let seconds: Vec<Option<u64>> = (1..=10).map(|f| delay_after(f).map(|d| d.as_secs())).collect();
        assert_eq!(
            seconds,
            [
                None,
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(delay_after(i64::MAX).map(|d| d.as_secs()), Some(900));
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
