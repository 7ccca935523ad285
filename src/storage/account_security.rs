//! Officials' accounts, the security side: one-time password reset links (their email queued in the same
//! transaction) and TOTP secrets with the step of the last code accepted. The service decides; this only keeps.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::case_changes::insert_audit;
use super::{AuditEntry, BeginWrite, NewAlert, Store, StoreError, db, execute, fetch, on_pool};

/// What following a reset link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetLinkUse {
    /// The password of this account is set; its sessions ended.
    PasswordSet { username: String },
    /// No link has this token.
    Unknown,
    /// The link ran out before it was followed.
    Expired,
    /// The link was used already.
    Used,
}

/// A reset link as stored (for the page that follows it).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ResetLinkRow {
    pub official_id: Uuid,
    pub username: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub disabled: bool,
}

/// An official's TOTP as stored: the secret as encrypted, whether a first code confirmed it, the last step used.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TotpRow {
    pub secret: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub last_step: Option<i64>,
}

/// A reset link as read to be followed: official, username, expiry, when used, the email's key, account disabled.
type FollowedLink = (Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>, String, bool);

impl Store {
    /// The enabled accounts that a reset link can be sent for from what was typed (a username or an email
    /// address, already trimmed and lower-cased): with their username and the email of their alert settings.
    pub async fn reset_recipients(&self, typed: &str) -> Result<Vec<(Uuid, String, String)>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "finding the account of a reset request",
            "SELECT o.id, o.username, s.email FROM officials o JOIN official_alert_settings s ON s.official_id = o.id \
             WHERE o.disabled = $2 AND s.email IS NOT NULL AND s.email <> '' \
             AND (o.username = $1 OR LOWER(s.email) = $1) ORDER BY o.username LIMIT 5",
            typed,
            false,
        )
    }

    /// The email address of an account's alert settings, if it has one.
    pub async fn official_email(&self, official_id: Uuid) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading an account's email",
            "SELECT email FROM official_alert_settings WHERE official_id = $1",
            official_id,
        )?;
        Ok(row.and_then(|(e,)| e).filter(|e| !e.trim().is_empty()))
    }

    /// When the newest reset link of an account was made, if any.
    pub async fn last_reset_link_at(&self, official_id: Uuid) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(DateTime<Utc>,)> = fetch!(
            &self.pool,
            fetch_optional,
            "reading an account's last reset link",
            "SELECT created_at FROM password_reset_links WHERE official_id = $1 ORDER BY created_at DESC LIMIT 1",
            official_id,
        )?;
        Ok(row.map(|(at,)| at))
    }

    /// Stores a fresh reset link (its token's hash) and queues its email, with the audit entry, in one transaction;
    /// the account's earlier unused links expire now, so only the newest email opens the account.
    pub async fn insert_reset_link(
        &self,
        (official_id, token_hash): (Uuid, &str),
        expires_at: DateTime<Utc>,
        email: &NewAlert,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to make a reset link"))?;
            execute!(
                tx: tx,
                "retiring an account's earlier reset links",
                "UPDATE password_reset_links SET expires_at = $2 WHERE official_id = $1 AND used_at IS NULL \
                 AND expires_at > $2",
                official_id,
                now,
            )?;
            execute!(
                tx: tx,
                "a reset link",
                "INSERT INTO password_reset_links (token_hash, official_id, created_at, expires_at, email_key) \
                 VALUES ($1, $2, $3, $4, $5)",
                token_hash,
                official_id,
                now,
                expires_at,
                &email.dedupe_key,
            )?;
            execute!(
                tx: tx,
                "queueing a reset link's email",
                "INSERT INTO outbox (id, dedupe_key, channel, recipient, case_id, body, attempts, next_attempt_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                super::outbox::outbox_id(),
                &email.dedupe_key,
                &email.channel,
                &email.recipient,
                email.case_id,
                &email.body,
                0_i64,
                email.send_at,
                now,
            )?;
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing a reset link"))?;
            Ok(())
        })
    }

    /// The reset link of this token hash, with its account.
    pub async fn reset_link(&self, token_hash: &str) -> Result<Option<ResetLinkRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading a reset link",
            "SELECT l.official_id, o.username, l.expires_at, l.used_at, o.disabled FROM password_reset_links l \
             JOIN officials o ON o.id = l.official_id WHERE l.token_hash = $1",
            token_hash,
        )
    }

    /// Follows a reset link in one transaction: marks it used (only while unused and live), sets the account's
    /// password hash, ends every session of the account, blanks the link out of its email's outbox row
    /// (`spent_body`) and writes the audit entry (`audit`, whose target is filled with the username).
    pub async fn use_reset_link(
        &self,
        token_hash: &str,
        password_hash: &str,
        spent_body: &str,
        mut audit: AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<ResetLinkUse, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to follow a reset link"))?;
            let row: Option<FollowedLink> = sqlx::query_as(
                "SELECT l.official_id, o.username, l.expires_at, l.used_at, l.email_key, o.disabled \
                 FROM password_reset_links l JOIN officials o ON o.id = l.official_id WHERE l.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("reading a reset link"))?;
            let (official_id, username, email_key) = match row {
                None => return Ok(ResetLinkUse::Unknown),
                Some((_, _, _, Some(_), _, _)) => return Ok(ResetLinkUse::Used),
                // A disabled account's link opens nothing: it is as good as expired.
                Some((_, _, expires_at, None, _, disabled)) if expires_at <= now || disabled => {
                    return Ok(ResetLinkUse::Expired);
                }
                Some((official_id, username, _, None, email_key, _)) => (official_id, username, email_key),
            };
            // Marked used only while still unused: of two tabs posting one link at once, one sets the password.
            let taken = execute!(
                tx: tx,
                "marking a reset link used",
                "UPDATE password_reset_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
                token_hash,
                now,
            )?;
            if taken == 0 {
                return Ok(ResetLinkUse::Used);
            }
            execute!(
                tx: tx,
                "setting a password from a reset link",
                "UPDATE officials SET password_hash = $2 WHERE id = $1",
                official_id,
                password_hash,
            )?;
            execute!(
                tx: tx,
                "ending sessions after a password reset",
                "DELETE FROM official_sessions WHERE official_id = $1",
                official_id,
            )?;
            execute!(
                tx: tx,
                "blanking a used reset link's email",
                "UPDATE outbox SET body = $2 WHERE dedupe_key = $1",
                &email_key,
                spent_body,
            )?;
            audit.official_id = Some(official_id);
            audit.target = username.clone();
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing a password reset"))?;
            Ok(ResetLinkUse::PasswordSet { username })
        })
    }

    /// An account's TOTP, set up or confirmed, if any.
    pub async fn totp(&self, official_id: Uuid) -> Result<Option<TotpRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading an account's two-factor secret",
            "SELECT secret, confirmed_at, last_step FROM official_totp WHERE official_id = $1",
            official_id,
        )
    }

    /// Stores a new, unconfirmed TOTP secret for an account; an account whose TOTP is confirmed keeps it (false).
    pub async fn start_totp(&self, official_id: Uuid, secret: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let stored = execute!(
            writer.pool,
            "storing a two-factor secret",
            "INSERT INTO official_totp (official_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (official_id) DO UPDATE SET secret = $2, created_at = $3, confirmed_at = NULL, \
             last_step = NULL WHERE official_totp.confirmed_at IS NULL",
            official_id,
            secret,
            now,
        )?;
        Ok(stored == 1)
    }

    /// Turns an account's TOTP on after its first code (of `step`), with the audit entry; false when there was
    /// no secret being set up.
    pub async fn confirm_totp(
        &self,
        official_id: Uuid,
        step: i64,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to turn two-factor sign-in on"))?;
            let confirmed = execute!(
                tx: tx,
                "turning two-factor sign-in on",
                "UPDATE official_totp SET confirmed_at = $2, last_step = $3 WHERE official_id = $1 \
                 AND confirmed_at IS NULL",
                official_id,
                now,
                step,
            )?;
            if confirmed == 1 {
                insert_audit!(tx, audit, now);
            }
            tx.commit().await.map_err(db("committing two-factor sign-in"))?;
            Ok(confirmed == 1)
        })
    }

    /// Records that a code of `step` was accepted, only if no code of this step or a later one was: false means
    /// the code was used already (or the account has no confirmed TOTP).
    pub async fn accept_totp_step(&self, official_id: Uuid, step: i64) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let accepted = execute!(
            writer.pool,
            "recording a two-factor code",
            "UPDATE official_totp SET last_step = $2 WHERE official_id = $1 AND confirmed_at IS NOT NULL \
             AND (last_step IS NULL OR last_step < $2)",
            official_id,
            step,
        )?;
        Ok(accepted == 1)
    }

    /// Removes an account's TOTP (turned off, or reset by an administrator), with the audit entry; false when it
    /// had none.
    pub async fn delete_totp(&self, official_id: Uuid, audit: &AuditEntry) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to turn two-factor sign-in off"))?;
            let deleted = execute!(
                tx: tx,
                "turning two-factor sign-in off",
                "DELETE FROM official_totp WHERE official_id = $1",
                official_id,
            )?;
            if deleted == 1 {
                insert_audit!(tx, audit, now);
            }
            tx.commit().await.map_err(db("committing two-factor sign-in off"))?;
            Ok(deleted == 1)
        })
    }

    /// The accounts whose TOTP is on (for the administrators' page).
    pub async fn totp_accounts(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(Uuid,)> = fetch!(
            &self.pool,
            fetch_all,
            "reading who has two-factor sign-in",
            "SELECT official_id FROM official_totp WHERE confirmed_at IS NOT NULL",
        )?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
