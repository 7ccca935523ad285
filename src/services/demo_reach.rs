//! The demo's officials on their phones (issue 20): Phố Hiến's officer has a linked Telegram chat (a made-up chat
//! id: with no bot configured its alerts wait in the outbox, as they would for a bot that is down) and alert
//! settings with quiet hours, so that `/console/account` shows both; the intake desk has none, to link their own.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::Error;
use crate::domain::alerts::{AlertKind, AlertSettings};
use crate::storage::Store;

/// The demo officer whose account is linked.
pub const DEMO_LINKED_OFFICIAL: &str = "canbo.phohien";
/// The made-up Telegram chat it is linked to.
const DEMO_CHAT: &str = "100000001";

/// Links the demo officer's chat and stores their alert settings, once.
pub async fn prepare(store: &Store, now: DateTime<Utc>) -> Result<(), Error> {
    let Some(officer) = store.official_by_username(DEMO_LINKED_OFFICIAL).await? else {
        return Ok(());
    };
    if !store.official_chats(officer.id).await?.is_empty() {
        return Ok(());
    }
    // A code as the console makes it, typed at once (its hash is not keyed: it is never typed by anyone).
    let hash = format!("demo-link-{}", officer.id);
    store
        .insert_link_code(officer.id, &hash, now, now + Duration::minutes(15))
        .await?;
    store.use_link_code(&hash, "telegram", DEMO_CHAT, now).await?;
    let settings = AlertSettings {
        email: Some("canbo.phohien@example.invalid".to_owned()),
        by_chat: true,
        by_email: false,
        off: vec![AlertKind::NewCase],
        due_within_hours: 8,
        quiet: NaiveTime::from_hms_opt(21, 0, 0).zip(NaiveTime::from_hms_opt(6, 30, 0)),
    };
    super::alerts::save_settings(store, officer.id, &settings, now).await
}
