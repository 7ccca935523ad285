//! The Zalo Official Account of the tests that run the service against `fake_zalo`: its settings, its connection
//! (as `ykien zalo connect` makes it) and a stored token about to expire. Included with
//! `#[path = "common/zalo.rs"] mod zalo;` next to `fake_zalo` and `common`.
#![allow(dead_code, clippy::unwrap_used)]

use ykien::storage::Store;

use crate::common::TestDb;
use crate::fake_zalo::FakeZalo;

pub const APP_ID: &str = "1163843031413526746";
pub const OA_KEY: &str = "test-oa-secret-not-real";

/// The `YKIEN_ZALO_*` settings of an OA whose API and OAuth are `fake`.
pub fn settings(fake: &FakeZalo) -> Vec<(&'static str, String)> {
    vec![
        ("YKIEN_ZALO_APP_ID", APP_ID.to_owned()),
        ("YKIEN_ZALO_APP_SECRET", "app-secret-not-real".to_owned()),
        ("YKIEN_ZALO_OA_SECRET_KEY", OA_KEY.to_owned()),
        ("YKIEN_ZALO_API_URL", fake.url()),
        ("YKIEN_ZALO_OAUTH_URL", fake.url()),
    ]
}

/// Connects the OA of `settings` on `db` with the refresh token the fake started with (`refresh-0`), as
/// `ykien zalo connect` does: one OAuth call.
pub async fn connect(db: &TestDb, settings: &[(&str, &str)], store: &Store) {
    let config = db.config_with(settings);
    let channel = ykien::services::channels::ZaloChannel::new(config.zalo.as_ref().unwrap(), store.clone()).unwrap();
    channel.tokens().connect("refresh-0").await.unwrap();
}

/// Makes the stored access token expire in five minutes, so that the next one to want it refreshes it; returns the
/// access token it had.
pub async fn expire_soon(store: &Store) -> String {
    let tokens = store.channel_tokens("zalo").await.unwrap().unwrap();
    let now = chrono::Utc::now();
    store
        .store_channel_tokens(
            "zalo",
            &tokens.access_token,
            &tokens.refresh_token,
            now + chrono::Duration::minutes(5),
            now,
        )
        .await
        .unwrap();
    tokens.access_token
}
