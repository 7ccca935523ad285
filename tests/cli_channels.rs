//! The channel commands of the binary against fake platforms: `ykien telegram set-webhook` registers the webhook
//! with its secret, `ykien zalo connect` stores the OA's tokens without printing them; both refuse to run when the
//! channel is not configured.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../bots/tests/fakes/telegram.rs"]
mod fake_telegram;
#[path = "../bots/tests/fakes/zalo.rs"]
mod fake_zalo;

use std::process::Output;

/// Runs the binary off the async threads (the fakes answer on them), with only the given YKIEN_* settings.
async fn ykien(env: Vec<(&'static str, String)>, args: &'static [&'static str]) -> Output {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::ykien_command(&env, args).output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn telegram_set_webhook_registers_the_public_address_with_the_secret() {
    let fake = fake_telegram::FakeTelegram::start().await;
    let db = common::TestDb::sqlite();
    let env = vec![
        ("YKIEN_DATABASE_URL", db.url.clone()),
        (
            "YKIEN_TELEGRAM_TOKEN",
            "123456789:AAE-test-token-of-the-right-shape".to_owned(),
        ),
        ("YKIEN_TELEGRAM_WEBHOOK_SECRET", "hook-secret-0123456789".to_owned()),
        ("YKIEN_TELEGRAM_API_URL", fake.api_url()),
    ];
    let out = ykien(env.clone(), &["telegram", "set-webhook"]).await;
    assert_eq!(out.status.code(), Some(2), "no public address: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("YKIEN_PUBLIC_URL"));

    let mut with_url = env.clone();
    with_url.push(("YKIEN_PUBLIC_URL", "https://ykien.hungyen.gov.vn".to_owned()));
    let out = ykien(with_url, &["telegram", "set-webhook"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = fake.calls_of("setwebhook");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["url"], "https://ykien.hungyen.gov.vn/webhooks/telegram");
    assert_eq!(calls[0]["secret_token"], "hook-secret-0123456789");
    let said = text(&out.stdout);
    assert!(
        said.contains("https://t.me/ykien_test_bot?start=commune_11953"),
        "{said}"
    );
    assert!(!said.contains("AAE-test-token"), "the token is never printed");

    let out = ykien(
        vec![("YKIEN_DATABASE_URL", db.url.clone())],
        &["telegram", "set-webhook"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("YKIEN_TELEGRAM_TOKEN"));
}

#[tokio::test]
async fn zalo_connect_stores_the_tokens_without_printing_them() {
    let fake = fake_zalo::FakeZalo::start("access-0", "refresh-0").await;
    let db = common::TestDb::sqlite();
    let env = vec![
        ("YKIEN_DATABASE_URL", db.url.clone()),
        ("YKIEN_ZALO_APP_ID", "1163843031413526746".to_owned()),
        ("YKIEN_ZALO_APP_SECRET", "app-secret-not-real".to_owned()),
        ("YKIEN_ZALO_OA_SECRET_KEY", "oa-key-not-real".to_owned()),
        ("YKIEN_ZALO_API_URL", fake.url()),
        ("YKIEN_ZALO_OAUTH_URL", fake.url()),
    ];
    let mut wrong = env.clone();
    wrong.push(("YKIEN_ZALO_REFRESH_TOKEN", "not-the-refresh-token".to_owned()));
    let out = ykien(wrong, &["zalo", "connect"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("reconnect"), "{}", text(&out.stderr));

    let mut right = env.clone();
    right.push(("YKIEN_ZALO_REFRESH_TOKEN", "refresh-0".to_owned()));
    let out = ykien(right, &["zalo", "connect"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (said, logged) = (text(&out.stdout), text(&out.stderr));
    assert!(said.contains("the Zalo OA is connected"), "{said}");
    let access = fake.current_access_token().unwrap();
    let refresh = fake.current_refresh_token();
    for secret in [access.as_str(), refresh.as_str(), "refresh-0", "app-secret-not-real"] {
        assert!(
            !said.contains(secret) && !logged.contains(secret),
            "{secret} was printed"
        );
    }
    let store = db.store().await;
    let stored = store.channel_tokens("zalo").await.unwrap().unwrap();
    assert_eq!((stored.access_token, stored.refresh_token), (access, refresh));
    store.close().await;

    let out = ykien(
        vec![
            ("YKIEN_DATABASE_URL", db.url.clone()),
            ("YKIEN_ZALO_REFRESH_TOKEN", "x".to_owned()),
        ],
        &["zalo", "connect"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("YKIEN_ZALO_APP_ID"));
}
