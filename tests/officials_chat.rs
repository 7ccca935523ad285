//! Officials on their phones (issue 20), part 1: a chat linked to an official's account with a one-time code from
//! the console, over the real Telegram client against the fake Bot API, on both databases; the bad inputs (a wrong,
//! expired or reused code; official commands from a chat that is not linked); unlinking from the chat and from the
//! console; a linked chat never gets the citizen dialogue.
#![allow(clippy::unwrap_used)]

#[path = "common/chat.rs"]
mod chat;
mod common;
#[path = "../bots/tests/fakes/telegram.rs"]
mod fake_telegram;
#[path = "common/telegram.rs"]
mod telegram;

use chat::{ChatCitizen, is_menu};
use common::{TestApp, databases, hidden_field, official, session};
use fake_telegram::FakeTelegram;
use telegram::TelegramCitizen;

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const SECRET: &str = "hook-secret-0123456789";

async fn start(db: common::TestDb, fake: &FakeTelegram) -> TestApp {
    let api_url = fake.api_url();
    TestApp::start_with_open_wave_and(
        db,
        &[
            ("YKIEN_TELEGRAM_TOKEN", TOKEN),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", SECRET),
            ("YKIEN_TELEGRAM_API_URL", &api_url),
            ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", "1000"),
            ("YKIEN_TELEGRAM_MAX_PER_SECOND", "1000"),
            ("YKIEN_PUBLIC_URL", "https://ykien.example.vn"),
        ],
    )
    .await
}

/// The account page of a signed-in official, and its CSRF token.
async fn account_page(app: &TestApp, cookie: &str) -> (String, String) {
    let r = app
        .client
        .get(app.url("/console/account"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let csrf = hidden_field(&page, "csrf");
    (page, csrf)
}

/// Asks the console for a link code and reads it off the page.
async fn new_code(app: &TestApp, cookie: &str) -> String {
    let (_, csrf) = account_page(app, cookie).await;
    let r = app
        .client
        .post(app.url("/console/account/link-code"))
        .header("cookie", cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let at = page.find(r#"id="link-code">"#).expect("the code is shown") + r#"id="link-code">"#.len();
    let code: String = page[at..].chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 8, "{page}");
    code
}

#[tokio::test]
async fn an_official_links_a_telegram_chat_with_a_one_time_code_and_unlinks_it() {
    for db in databases("an_official_links_a_telegram_chat_with_a_one_time_code_and_unlinks_it").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = &app.app.store;
        let intake = official(store, "tiepnhan", "intake", None, &["11953"]).await;
        let cookie = session(&app, "tiepnhan").await;
        let code = new_code(&app, &cookie).await;

        let mut phone = TelegramCitizen::new(&[&app.base], SECRET, &fake, 700_001);
        // A wrong code.
        let wrong = phone.say("/link 00000000").await;
        assert!(wrong.text.contains("Mã liên kết không đúng"), "{label}: {wrong:?}");
        assert!(
            store.linked_official("telegram", "700001").await.unwrap().is_none(),
            "{label}"
        );
        // The code from the console, typed with a space as people do.
        let spaced = format!("/link {} {}", &code[..4], &code[4..]);
        let linked = phone.say(&spaced).await;
        assert!(
            linked
                .text
                .contains("Đã liên kết chat này với tài khoản cán bộ Cán bộ tiepnhan"),
            "{label}: {linked:?}"
        );
        let row = store.linked_official("telegram", "700001").await.unwrap().unwrap();
        assert_eq!(row.official_id, intake.id, "{label}");
        // A linked chat does not get the citizen dialogue: a greeting or /start gets the official's help.
        for text in ["xin chào", "/start"] {
            let help = phone.say(text).await;
            assert!(!is_menu(&help), "{label}: {text}: {help:?}");
            assert!(
                help.text.contains("đã liên kết với tài khoản cán bộ"),
                "{label}: {help:?}"
            );
        }
        // The code is used: another chat typing it is refused.
        let mut other = TelegramCitizen::new(&[&app.base], SECRET, &fake, 700_002);
        let reused = other.say(&format!("/link {code}")).await;
        assert!(
            reused.text.contains("Mã liên kết này đã được dùng"),
            "{label}: {reused:?}"
        );
        assert!(
            store.linked_official("telegram", "700002").await.unwrap().is_none(),
            "{label}"
        );
        // A chat that is not linked asking for an official action.
        let refused = other.say("/unlink").await;
        assert!(
            refused.text.contains("Chat này chưa liên kết với tài khoản cán bộ nào"),
            "{label}: {refused:?}"
        );
        // The console lists the chat; /unlink in the chat ends the link; /start is the citizen's menu again.
        let (page, _) = account_page(&app, &cookie).await;
        assert!(page.contains("Telegram") && page.contains("Huỷ liên kết"), "{label}");
        let unlinked = phone.say("/unlink").await;
        assert!(unlinked.text.contains("Đã huỷ liên kết"), "{label}: {unlinked:?}");
        assert!(
            store.linked_official("telegram", "700001").await.unwrap().is_none(),
            "{label}"
        );
        let menu = phone.say("/start").await;
        assert!(is_menu(&menu), "{label}: {menu:?}");

        // Linked again with a fresh code, then unlinked from the console.
        let code = new_code(&app, &cookie).await;
        phone.say(&format!("/link {code}")).await;
        assert!(
            store.linked_official("telegram", "700001").await.unwrap().is_some(),
            "{label}"
        );
        let (_, csrf) = account_page(&app, &cookie).await;
        let r = app
            .client
            .post(app.url("/console/account/unlink"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("channel", "telegram")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        assert!(
            store.linked_official("telegram", "700001").await.unwrap().is_none(),
            "{label}"
        );

        let audit: Vec<String> = store
            .audit_log(50)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        for action in ["new_link_code", "link_chat", "unlink_chat"] {
            assert!(audit.iter().any(|a| a == action), "{label}: {action} in {audit:?}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_expired_link_code_is_refused() {
    for db in databases("an_expired_link_code_is_refused").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = &app.app.store;
        let intake = official(store, "tiepnhan", "intake", None, &["11953"]).await;
        // A code made 16 minutes ago (codes live 15), through the same service the console uses.
        let surveys =
            ykien::services::survey::Surveys::new(store.clone(), ykien::config::Secret::new(common::TEST_SECRET));
        let made = chrono::Utc::now() - chrono::Duration::minutes(16);
        let code = ykien::services::linking::new_link_code(store, &surveys, &intake, made)
            .await
            .unwrap();
        let mut phone = TelegramCitizen::new(&[&app.base], SECRET, &fake, 700_003);
        let expired = phone.say(&format!("/link {}", code.code)).await;
        assert!(
            expired.text.contains("Mã liên kết này đã hết hạn"),
            "{label}: {expired:?}"
        );
        assert!(
            store.linked_official("telegram", "700003").await.unwrap().is_none(),
            "{label}"
        );
        // Without a code, the chat is told how.
        let how = phone.say("/link").await;
        assert!(how.text.contains("/link kèm mã liên kết 8 chữ số"), "{label}: {how:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn alert_settings_that_do_not_read_are_refused_with_what_was_typed() {
    let db = common::TestDb::sqlite();
    let fake = FakeTelegram::start().await;
    let app = start(db, &fake).await;
    official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let cookie = session(&app, "canbo").await;
    let (_, csrf) = account_page(&app, &cookie).await;
    let post = |form: Vec<(&'static str, String)>| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let r = app
                .client
                .post(app.url("/console/account/alerts"))
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // An email address that does not parse: refused, what was typed shown back, nothing stored.
    let (status, page) = post(vec![
        ("csrf", csrf.clone()),
        ("by_email", "1".into()),
        ("email", "canbo@@phohien".into()),
        ("due_within_hours", "4".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("không phải là địa chỉ thư điện tử hợp lệ"), "{page}");
    assert!(page.contains(r#"value="canbo@@phohien""#), "{page}");
    let id = app.app.store.official_by_username("canbo").await.unwrap().unwrap().id;
    assert!(app.app.store.alert_settings(id).await.unwrap().is_none());
    // Quiet hours that are not times.
    let (status, page) = post(vec![
        ("csrf", csrf.clone()),
        ("due_within_hours", "4".into()),
        ("quiet_from", "22h".into()),
        ("quiet_to", "06:30".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("Giờ yên lặng cần cả giờ bắt đầu và giờ kết thúc"),
        "{page}"
    );
    // Good settings are stored.
    let (status, page) = post(vec![
        ("csrf", csrf.clone()),
        ("by_chat", "1".into()),
        ("by_email", "1".into()),
        ("email", "canbo@phohien.hungyen.gov.vn".into()),
        ("kind", "assigned".into()),
        ("kind", "overdue".into()),
        ("due_within_hours", "6".into()),
        ("quiet_from", "21:00".into()),
        ("quiet_to", "06:30".into()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    let stored = app.app.store.alert_settings(id).await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("canbo@phohien.hungyen.gov.vn"));
    assert!(stored.assigned && stored.overdue && !stored.new_case && !stored.digest);
    assert_eq!(
        (stored.due_within_hours, stored.quiet_from.as_deref()),
        (6, Some("21:00"))
    );
    app.stop().await;
}
