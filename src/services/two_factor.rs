//! TOTP two-factor sign-in (RFC 6238, the codes of any authenticator app: SHA-1, 6 digits, 30-second steps, one
//! step of clock drift either way), with the `totp-rs` crate. An official turns it on from their account page (a
//! QR code of the `otpauth://` URI and the secret in text, confirmed by a first code) and off with a code; an
//! administrator resets another official's (console or command line). Every change is audit logged.
//!
//! A code is accepted once: the step it belongs to is stored, and a code of that step or an earlier one is refused
//! afterwards, so a code seen over a shoulder or replayed from a log cannot sign in again within its window.
//!
//! The secret is stored encrypted under a key derived from `YKIEN_SECRET` (see [`seal`] and docs/security.md): a
//! copy of the database alone does not give the codes.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::Error;
use super::account_admin::Actor;
use super::accounts::Official;
use crate::config::Secret;
use crate::storage::{Store, StoreError};

/// Seconds per TOTP step (RFC 6238's default, what every authenticator app uses).
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a new secret: 160 bits, the length RFC 4226 recommends for HMAC-SHA-1.
const SECRET_BYTES: usize = 20;
/// The issuer the authenticator app shows beside the account.
const ISSUER: &str = "ykien";

/// What checking a typed code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    /// Not a code of this account now (or not 6 digits).
    Wrong,
    /// A code of this account, already used (or older than the last one used).
    Reused,
}

/// What the set-up page shows: the secret in text (for typing into an app) and the `otpauth://` URI of the QR
/// code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    pub secret_base32: String,
    pub uri: String,
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA-256 under the service secret of `purpose`, the account and `data`: the pseudo-random function the
/// secret's encryption is built on.
fn prf(key: &Secret, purpose: &[u8], official_id: Uuid, data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(purpose);
    mac.update(b"\x00");
    mac.update(official_id.as_bytes());
    mac.update(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encrypts a TOTP secret for storage: a random 16-byte nonce, the secret XORed with
/// HMAC-SHA-256(key, "totp-pad", account, nonce) — a stream cipher whose key stream is never reused, since the
/// nonce is fresh — and an HMAC-SHA-256 tag over the nonce and ciphertext, bound to the account, so that a secret
/// copied to another account's row or altered does not open. `v1.` names the scheme.
pub fn seal(key: &Secret, official_id: Uuid, secret: &[u8]) -> String {
    let nonce: [u8; 16] = rand::random();
    let pad = prf(key, b"totp-pad", official_id, &nonce);
    // Secrets are SECRET_BYTES long, within one block of the key stream.
    debug_assert!(secret.len() <= pad.len());
    let sealed: Vec<u8> = secret.iter().zip(pad.iter()).map(|(s, p)| s ^ p).collect();
    let tag = prf(key, b"totp-tag", official_id, &[&nonce[..], &sealed].concat());
    format!(
        "v1.{}.{}.{}",
        hex::encode(nonce),
        hex::encode(&sealed),
        hex::encode(tag)
    )
}

/// The secret [`seal`] stored, or `Corrupt` when the row was not sealed for this account under this key (e.g.
/// `YKIEN_SECRET` changed: the account's 2FA must then be reset by an administrator).
pub fn open(key: &Secret, official_id: Uuid, stored: &str) -> Result<Vec<u8>, StoreError> {
    let corrupt = || StoreError::Corrupt("a two-factor secret does not open under YKIEN_SECRET".to_owned());
    let mut parts = stored.split('.');
    let (Some("v1"), Some(nonce), Some(sealed), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt());
    };
    let (nonce, sealed, tag) = (
        unhex(nonce).ok_or_else(corrupt)?,
        unhex(sealed).ok_or_else(corrupt)?,
        unhex(tag).ok_or_else(corrupt)?,
    );
    if sealed.len() > 32 {
        return Err(corrupt());
    }
    let expected = prf(key, b"totp-tag", official_id, &[&nonce[..], &sealed].concat());
    if !bool::from(expected.as_slice().ct_eq(&tag)) {
        return Err(corrupt());
    }
    let pad = prf(key, b"totp-pad", official_id, &nonce);
    Ok(sealed.iter().zip(pad.iter()).map(|(s, p)| s ^ p).collect())
}

/// The RFC 6238 generator of a secret, as authenticator apps compute it.
fn totp(secret: &[u8]) -> Result<totp_rs::Totp, Error> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(totp_rs::Secret::from(secret))
        .build()
        .map_err(|e| Error::Store(StoreError::Corrupt(format!("a two-factor secret is unusable: {e}"))))
}

/// The secret in base32 (RFC 4648, no padding), as apps take it typed or in the URI.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret).to_base32()
}

/// The secret of a base32 text as an app would read it (spaces and case ignored): for the tests and the demo,
/// which type codes as an app computes them.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    totp_rs::Secret::try_from_base32(&text)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

/// The step whose code `typed` is, at `now` (one step of drift either way), if it is one: spaces typed in
/// between the digits are ignored.
pub fn code_step(secret: &[u8], typed: &str, now: DateTime<Utc>) -> Result<Option<i64>, Error> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let time = u64::try_from(now.timestamp()).unwrap_or(0);
    Ok(totp(secret)?
        .check(&digits, time)
        .and_then(|step| i64::try_from(step).ok()))
}

/// The code of a secret at `now` (the demo and the tests type it as an app would).
pub fn current_code(secret: &[u8], now: DateTime<Utc>) -> Result<String, Error> {
    let time = u64::try_from(now.timestamp()).unwrap_or(0);
    Ok(totp(secret)?.generate(time).to_string())
}

/// The `otpauth://` URI of an account's secret (Key Uri Format, as Google Authenticator documents it); usernames
/// are of a–z, 0–9, '.', '_', '-', so nothing needs escaping.
pub fn otpauth_uri(username: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{username}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

/// Whether an account's TOTP is on (confirmed).
pub async fn is_on(store: &Store, official_id: Uuid) -> Result<bool, Error> {
    Ok(store.totp(official_id).await?.is_some_and(|t| t.confirmed_at.is_some()))
}

/// The accounts whose TOTP is on.
pub async fn accounts_on(store: &Store) -> Result<Vec<Uuid>, Error> {
    Ok(store.totp_accounts().await?)
}

/// The set-up of `official`'s TOTP: a new secret the first time (kept until confirmed, so that reloading the page
/// shows the same QR code); `None` when it is on already.
pub async fn setup(
    store: &Store,
    key: &Secret,
    official: &Official,
    now: DateTime<Utc>,
) -> Result<Option<Setup>, Error> {
    let secret = match store.totp(official.id).await? {
        Some(row) if row.confirmed_at.is_some() => return Ok(None),
        Some(row) => open(key, official.id, &row.secret)?,
        None => {
            let secret: [u8; SECRET_BYTES] = rand::random();
            if !store
                .start_totp(official.id, &seal(key, official.id, &secret), now)
                .await?
            {
                // Confirmed meanwhile, in another tab.
                return Ok(None);
            }
            secret.to_vec()
        }
    };
    Ok(Some(Setup {
        secret_base32: base32(&secret),
        uri: otpauth_uri(&official.username, &secret),
    }))
}

/// Turns `official`'s TOTP on with a first code of the secret being set up.
pub async fn confirm(
    store: &Store,
    key: &Secret,
    official: &Official,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, Error> {
    let Some(row) = store.totp(official.id).await?.filter(|r| r.confirmed_at.is_none()) else {
        return Ok(CodeCheck::Wrong);
    };
    let secret = open(key, official.id, &row.secret)?;
    let Some(step) = code_step(&secret, typed, now)? else {
        return Ok(CodeCheck::Wrong);
    };
    let mut audit = official.audit("two_factor_on", &official.username);
    audit.after_state = Some("on".to_owned());
    Ok(if store.confirm_totp(official.id, step, &audit, now).await? {
        CodeCheck::Accepted
    } else {
        CodeCheck::Wrong
    })
}

/// Checks a code of `official_id`'s confirmed TOTP and, when right, uses it up.
pub async fn check_code(
    store: &Store,
    key: &Secret,
    official_id: Uuid,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, Error> {
    let Some(row) = store.totp(official_id).await?.filter(|r| r.confirmed_at.is_some()) else {
        return Ok(CodeCheck::Wrong);
    };
    let secret = open(key, official_id, &row.secret)?;
    let Some(step) = code_step(&secret, typed, now)? else {
        return Ok(CodeCheck::Wrong);
    };
    Ok(if store.accept_totp_step(official_id, step).await? {
        CodeCheck::Accepted
    } else {
        CodeCheck::Reused
    })
}

/// Turns `official`'s own TOTP off, with a current code.
pub async fn turn_off(
    store: &Store,
    key: &Secret,
    official: &Official,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, Error> {
    let check = check_code(store, key, official.id, typed, now).await?;
    if check == CodeCheck::Accepted {
        let mut audit = official.audit("two_factor_off", &official.username);
        audit.before_state = Some("on".to_owned());
        audit.after_state = Some("off".to_owned());
        store.delete_totp(official.id, &audit).await?;
    }
    Ok(check)
}

/// An administrator (or the command line) resets another official's TOTP: it is off, and the official sets it up
/// again (with `YKIEN_REQUIRE_2FA`, an administrator must at their next sign-in). False when it was not set.
pub async fn reset(store: &Store, by: Actor<'_>, username: &str) -> Result<bool, Error> {
    let row = store
        .official_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no account is named {username}")))?;
    let mut audit = by.audit("two_factor_reset", &row.username)?;
    audit.after_state = Some("off".to_owned());
    Ok(store.delete_totp(row.id, &audit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new("a-test-secret-of-at-least-thirty-two-characters")
    }

    #[test]
    fn a_sealed_secret_opens_for_its_account_only_and_not_after_a_change() {
        let id = Uuid::new_v4();
        let secret = [7u8; SECRET_BYTES];
        let stored = seal(&key(), id, &secret);
        assert!(!stored.contains(&hex::encode(secret)));
        assert_eq!(open(&key(), id, &stored).unwrap(), secret);
        assert!(open(&key(), Uuid::new_v4(), &stored).is_err(), "another account");
        assert!(open(&Secret::new("another-secret-of-at-least-thirty-two-chars"), id, &stored).is_err());
        let mut altered = stored.clone();
        altered.replace_range(20..21, if &stored[20..21] == "0" { "1" } else { "0" });
        assert!(open(&key(), id, &altered).is_err(), "altered");
        assert_ne!(seal(&key(), id, &secret), stored, "a fresh nonce each time");
    }

    #[test]
    fn codes_follow_rfc_6238_and_allow_one_step_of_drift() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 (8 digits) at 59 s; its
        // last six digits are the 6-digit code.
        let secret = b"12345678901234567890";
        let at = DateTime::from_timestamp(59, 0).unwrap();
        assert_eq!(current_code(secret, at).unwrap(), "287082");
        assert_eq!(code_step(secret, "287 082", at).unwrap(), Some(1));
        let next_step = DateTime::from_timestamp(89, 0).unwrap();
        assert_eq!(
            code_step(secret, "287082", next_step).unwrap(),
            Some(1),
            "one step late"
        );
        let later = DateTime::from_timestamp(200, 0).unwrap();
        assert_eq!(code_step(secret, "287082", later).unwrap(), None, "too late");
        assert_eq!(code_step(secret, "28708", at).unwrap(), None);
        assert_eq!(code_step(secret, "abcdef", at).unwrap(), None);
    }

    #[test]
    fn the_uri_names_the_issuer_the_account_and_the_secret() {
        let uri = otpauth_uri("quantri", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/ykien:quantri?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ykien&algorithm=SHA1&digits=6&period=30"
        );
    }
}
