//! Password reset by a one-time link sent by email (issue 20): an official who forgot their password types their
//! username or email on the sign-in page's "Quên mật khẩu?"; if an enabled account with an email matches, a link
//! valid [`LINK_MINUTES`] minutes and usable once is queued through the outbox (channel `email`). The page answers
//! the same whatever was typed, so it tells nobody which names or addresses exist. An administrator can send the
//! link too (console, `ykien user send-reset-link`).
//!
//! Only the SHA-256 of the link's random token is stored; the email in the outbox carries the link until it is
//! used, when the link is blanked out of it. Following the link sets a new password (the same rules as
//! everywhere), ends every session of the account, and is audit logged.
//!
//! Links are built on `YKIEN_PUBLIC_URL` only, never on the request's `Host` header: a forged `Host` would otherwise
//! send the victim a link to the attacker's server (reset link poisoning).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Error;
use super::account_admin::Actor;
use super::accounts::MIN_PASSWORD_CHARS;
use super::mail::{EMAIL_CHANNEL, MailBody};
use crate::services::{random_hex, sha256_hex};
use crate::storage::{AuditEntry, NewAlert, ResetLinkUse, Store};

/// How long a link works after it was sent.
pub const LINK_MINUTES: i64 = 30;
/// A second link for one account within this time is not sent: a form posted over and over fills no inbox.
const RESEND_AFTER_MINUTES: i64 = 2;
/// The longest username or email looked up (RFC 5321's limit on an address).
const MAX_TYPED_CHARS: usize = 254;

/// Where a link stands, for the page it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Live { username: String },
    Unknown,
    Expired,
    Used,
}

/// The stored form of a link's token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.trim())
}

/// The email of a link.
fn link_email(username: &str, link: &str) -> MailBody {
    MailBody {
        subject: "[ykien] Đặt lại mật khẩu / Password reset".to_owned(),
        text: format!(
            "Có yêu cầu đặt lại mật khẩu cho tài khoản {username} trên ykien.\n\
             Mở liên kết sau trong {LINK_MINUTES} phút để đặt mật khẩu mới (liên kết chỉ dùng được một lần):\n\
             {link}\n\
             Nếu bạn không yêu cầu, xin bỏ qua thư này: mật khẩu hiện tại vẫn giữ nguyên.\n\
             \n\
             Someone asked to reset the password of the account {username} on ykien. Open the link above within \
             {LINK_MINUTES} minutes to set a new password (it works once). If it was not you, ignore this email: \
             your password stays as it is."
        ),
        unsubscribe: None,
    }
}

/// What the outbox keeps of a link's email once the link is used.
fn spent_email() -> String {
    let body = MailBody {
        subject: "[ykien] Đặt lại mật khẩu / Password reset".to_owned(),
        text: "Liên kết đặt lại mật khẩu trong thư này đã được dùng. / This password reset link was used.".to_owned(),
        unsubscribe: None,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// Makes a link for an account and queues its email, in one transaction with `audit`.
async fn send_link(
    store: &Store,
    public_url: &str,
    (official_id, username, email): (Uuid, &str, &str),
    audit: &AuditEntry,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let token = random_hex::<32>();
    let hash = token_hash(&token);
    let link = format!("{}/console/password/reset/{token}", public_url.trim_end_matches('/'));
    let body = serde_json::to_string(&link_email(username, &link))
        .map_err(|e| Error::BadRequest(format!("the email cannot be written: {e}")))?;
    let email = NewAlert {
        dedupe_key: format!("password-reset:{}", &hash[..32]),
        channel: EMAIL_CHANNEL.to_owned(),
        recipient: email.to_owned(),
        case_id: None,
        body,
        send_at: now,
    };
    let expires_at = now + Duration::minutes(LINK_MINUTES);
    store
        .insert_reset_link((official_id, &hash), expires_at, &email, audit, now)
        .await?;
    Ok(())
}

/// The "forgot password" form: sends a link to each enabled account whose username or email is `typed` and
/// that has an email, unless one was sent in the last minutes. Answers nothing about what matched.
pub async fn request_link(
    store: &Store,
    public_url: &str,
    typed: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let typed: String = typed.trim().to_lowercase().chars().take(MAX_TYPED_CHARS).collect();
    if typed.is_empty() {
        return Ok(());
    }
    for (official_id, username, email) in store.reset_recipients(&typed).await? {
        let recent = store
            .last_reset_link_at(official_id)
            .await?
            .is_some_and(|at| at > now - Duration::minutes(RESEND_AFTER_MINUTES));
        if recent {
            continue;
        }
        let audit = AuditEntry {
            official_id: Some(official_id),
            action: "password_reset_link".to_owned(),
            target: username.clone(),
            before_state: None,
            after_state: None,
            detail: Some(format!("asked on the sign-in page from address {address}")),
        };
        send_link(store, public_url, (official_id, &username, &email), &audit, now).await?;
    }
    Ok(())
}

/// An administrator (or the command line) sends an account its reset link; returns the address it goes to.
pub async fn send_link_for(
    store: &Store,
    by: Actor<'_>,
    public_url: &str,
    username: &str,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let row = store
        .official_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| Error::BadRequest(format!("no account is named {username}")))?;
    if row.disabled {
        return Err(Error::BadRequest(format!(
            "Tài khoản {} đang bị khoá; xin mở khoá trước khi gửi liên kết / the account is disabled",
            row.username
        )));
    }
    let email = store.official_email(row.id).await?.ok_or_else(|| {
        Error::BadRequest(format!(
            "Tài khoản {} chưa có địa chỉ thư điện tử (trang «Tài khoản của tôi» → Cảnh báo) / the account has no email",
            row.username
        ))
    })?;
    let mut audit = by.audit("password_reset_link", &row.username)?;
    audit.detail = Some(format!("sent to {email}"));
    send_link(store, public_url, (row.id, &row.username, &email), &audit, now).await?;
    Ok(email)
}

/// Where the link of `token` stands at `now`.
pub async fn link_state(store: &Store, token: &str, now: DateTime<Utc>) -> Result<LinkState, Error> {
    Ok(match store.reset_link(&token_hash(token)).await? {
        None => LinkState::Unknown,
        Some(l) if l.used_at.is_some() => LinkState::Used,
        Some(l) if l.expires_at <= now || l.disabled => LinkState::Expired,
        Some(l) => LinkState::Live { username: l.username },
    })
}

/// Checks a new password typed twice: the problem, in Vietnamese, if any.
pub fn password_problem(password: &str, repeated: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("Mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự."))
    } else if password != repeated {
        Some("Hai lần nhập mật khẩu không giống nhau.".to_owned())
    } else {
        None
    }
}

/// Follows the link of `token`: sets the new password (already checked by [`password_problem`]) and ends every
/// session of the account. A link that is unknown, expired or used sets nothing.
pub async fn set_password(
    store: &Store,
    token: &str,
    password: String,
    address: &str,
    now: DateTime<Utc>,
) -> Result<ResetLinkUse, Error> {
    // Checked before the costly hash; checked again, atomically, when stored.
    match link_state(store, token, now).await? {
        LinkState::Live { .. } => {}
        LinkState::Unknown => return Ok(ResetLinkUse::Unknown),
        LinkState::Expired => return Ok(ResetLinkUse::Expired),
        LinkState::Used => return Ok(ResetLinkUse::Used),
    }
    let hash = super::accounts::hash_password(password).await?;
    let audit = AuditEntry {
        official_id: None,
        action: "password_reset_by_link".to_owned(),
        target: String::new(),
        before_state: None,
        after_state: None,
        detail: Some(format!("address {address}; every session ended")),
    };
    Ok(store
        .use_reset_link(&token_hash(token), &hash, &spent_email(), audit, now)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_is_long_enough_and_typed_the_same_twice() {
        assert!(password_problem("ngắn", "ngắn").unwrap().contains("12 ký tự"));
        assert!(
            password_problem("mật-khẩu-mới-2026", "mật-khẩu-mới-2027")
                .unwrap()
                .contains("không giống")
        );
        assert_eq!(password_problem("mật-khẩu-mới-2026", "mật-khẩu-mới-2026"), None);
    }

    #[test]
    fn the_email_carries_the_link_in_both_languages() {
        let body = link_email("canbo", "https://ykien.example.vn/console/password/reset/abc");
        assert!(
            body.text
                .contains("https://ykien.example.vn/console/password/reset/abc")
        );
        assert!(body.text.contains("30 phút") && body.text.contains("30 minutes"));
    }
}
