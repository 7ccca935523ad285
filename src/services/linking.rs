//! Linking an official's account to a chat: the console shows a one-time code, the official types `/link CODE` to
//! the Telegram bot or the Zalo OA (the chat dialogue in `services::chat::official` takes it), and that chat then
//! gets the official's alerts instead of the citizen dialogue. Codes are 8 digits (easy to type on a phone keypad),
//! live 15 minutes, link once, and are stored only as their keyed hash (HMAC under `YKIEN_SECRET`), so a copy of
//! the database links nothing; one live code per account (a new one retires the previous).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::Error;
use super::accounts::Official;
use super::survey::Surveys;
use crate::storage::{LinkCodeUse, LinkedChatRow, Store};

/// How long a link code can be typed after the console showed it.
pub const LINK_CODE_MINUTES: i64 = 15;
/// Digits in a link code: 10⁸ codes against the few live at once, each for 15 minutes.
const CODE_DIGITS: usize = 8;

/// A link code as the console shows it, and until when it works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// The stored form of a code as typed: its digits only (a space or dash typed in between is ignored), keyed.
pub fn code_hash(surveys: &Surveys, typed: &str) -> String {
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    surveys.keyed_hash("official-link-code", &digits)
}

/// Makes a fresh code for `official` (audit logged); their earlier unused code stops working.
pub async fn new_link_code(
    store: &Store,
    surveys: &Surveys,
    official: &Official,
    now: DateTime<Utc>,
) -> Result<LinkCode, Error> {
    let code: String = {
        let mut rng = rand::rng();
        (0..CODE_DIGITS)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let expires_at = now + Duration::minutes(LINK_CODE_MINUTES);
    store
        .insert_link_code(official.id, &code_hash(surveys, &code), now, expires_at)
        .await?;
    store
        .audit(&official.audit("new_link_code", &official.username))
        .await?;
    Ok(LinkCode { code, expires_at })
}

/// Links the chat `(channel, user_id)` with the code typed, if it is live.
pub async fn link_chat(
    store: &Store,
    surveys: &Surveys,
    typed: &str,
    (channel, user_id): (&str, &str),
    now: DateTime<Utc>,
) -> Result<LinkCodeUse, Error> {
    if !typed.chars().any(|c| c.is_ascii_digit()) {
        return Ok(LinkCodeUse::Unknown);
    }
    Ok(store
        .use_link_code(&code_hash(surveys, typed), channel, user_id, now)
        .await?)
}

/// The chats linked to an official's account.
pub async fn linked_chats(store: &Store, official: &Official) -> Result<Vec<LinkedChatRow>, Error> {
    Ok(store.official_chats(official.id).await?)
}

/// Ends the link of `official`'s chat on `channel`, by `by` (the official, or an administrator); false when there
/// was none.
pub async fn unlink(store: &Store, official_id: uuid::Uuid, channel: &str, by: &Official) -> Result<bool, Error> {
    let mut audit = by.audit("unlink_chat", &format!("{channel} chat"));
    audit.before_state = Some("linked".to_owned());
    audit.after_state = Some("unlinked".to_owned());
    if by.id != official_id {
        audit.detail = Some(format!("account {official_id}"));
    }
    Ok(store.unlink_chat(official_id, channel, &audit).await?)
}
