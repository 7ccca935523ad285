//! The Telegram bot end to end: the real service with the real teloxide client talking to a fake Bot API server,
//! webhook updates posted as Telegram posts them (the real fixture payloads among them), on both databases.
#![allow(clippy::unwrap_used)]

#[path = "common/chat.rs"]
mod chat;
mod common;
#[path = "../bots/tests/fakes/telegram.rs"]
mod fake_telegram;
#[path = "common/telegram.rs"]
mod telegram;

use std::time::Duration;

use chat::{ChatCitizen, answer_case, tracking_code, walk_survey};
use common::{TestApp, databases};
use fake_telegram::{Failure, FakeTelegram};
use serde_json::{Value, json};
use telegram::TelegramCitizen;

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const SECRET: &str = "hook-secret-0123456789";
const API_TOKEN: &str = "api-token-api-token-api-token-0123456789";
const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_gps.jpg");
const WAIT: Duration = Duration::from_secs(20);

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
            ("YKIEN_API_TOKEN", API_TOKEN),
            ("YKIEN_PUBLIC_URL", "https://ykien.example.vn"),
        ],
    )
    .await
}

async fn post_update(app: &TestApp, secret: Option<&str>, body: impl Into<reqwest::Body>) -> u16 {
    let mut request = app
        .client
        .post(app.url("/webhooks/telegram"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_whole_survey_over_telegram_is_stored_exactly_as_the_same_answers_posted_through_the_web_api() {
    for db in
        databases("a_whole_survey_over_telegram_is_stored_exactly_as_the_same_answers_posted_through_the_web_api").await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_100);

        let menu = lan.start("commune_11953").await;
        assert!(
            menu.text.contains("Xin chào") && menu.text.contains("Phố Hiến"),
            "{label}: {menu:?}"
        );
        let first = lan.press("m:survey").await;
        assert!(first.text.contains("[0%"), "{label}: progress shown: {first:?}");
        // Every button fits Telegram's 64 bytes of callback data.
        assert!(first.payloads.iter().all(|p| p.len() <= 64), "{label}");
        let done = walk_survey(&mut lan, first).await;
        assert!(done.text.contains("ẩn danh"), "{label}: {done:?}");
        // A finished survey is no longer offered.
        assert!(done.payload("m:survey").is_none(), "{label}: {done:?}");
        // Button presses were acknowledged so that the client's spinner stops (in the webhooks' answers, which the
        // test citizen hands to the fake as Telegram would).
        assert!(!fake.calls_of("answercallbackquery").is_empty(), "{label}");

        // One response per Telegram user per wave.
        let again = lan.press("m:survey").await;
        assert!(
            again.text.contains("đã trả lời khảo sát đợt này rồi"),
            "{label}: {again:?}"
        );

        let store = &app.app.store;
        let wave = store.wave_by_code("w-open").await.unwrap();
        let over_telegram = store.complete_responses_by_channel(wave.id, "telegram").await.unwrap();
        assert_eq!(over_telegram.len(), 1, "{label}");
        let stored = store.answers(over_telegram[0]).await.unwrap();
        assert!(stored.len() > 20, "{label}: {stored:?}");

        // The same answers through the responses API are stored identically.
        let answers: serde_json::Map<String, Value> = stored
            .iter()
            .map(|(q, code, text)| (q.clone(), Value::String(code.clone().or(text.clone()).unwrap())))
            .collect();
        let r = app
            .client
            .post(app.url("/api/v1/waves/w-open/responses"))
            .bearer_auth(API_TOKEN)
            .json(&json!({ "commune": "11953", "answers": answers }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{label}");
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(store.answers(id).await.unwrap(), stored, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_survey_left_half_way_before_its_answers_travelled_with_the_session_goes_on_with_them() {
    for db in databases("a_survey_left_half_way_before_its_answers_travelled_with_the_session_goes_on_with_them").await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = app.app.store.clone();
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_700);
        lan.start("commune_11953").await;
        let mut reply = lan.press("m:survey").await;
        for _ in 0..3 {
            let first = reply
                .payloads
                .iter()
                .find(|p| p.starts_with("s:") && *p != "s:back")
                .cloned();
            reply = lan.press(&first.unwrap()).await;
        }
        assert!(
            reply.text.contains("[") && reply.payload("s:3:").is_some(),
            "{label}: {reply:?}"
        );

        // As the version before migration 0007 left a chat: the answers only in the response, the question also in
        // the chat's state.
        execute(&app.db, "UPDATE survey_sessions SET answers = NULL").await;
        let mut person = store
            .chat_user("telegram", &lan.chat.to_string())
            .await
            .unwrap()
            .unwrap();
        person.dialog = person.dialog.replace(
            r#"{"at":"survey"}"#,
            r#"{"at":"survey","screen":3,"question":"p_residence","typed":false}"#,
        );
        assert!(person.dialog.contains("p_residence"), "{label}: {}", person.dialog);
        assert!(store.save_chat_user(&person, false).await.unwrap(), "{label}");

        // The number of a choice still picks it, and a pause resumes where it was, with the answers given before.
        let next = lan.say("1").await;
        assert!(
            next.text.starts_with("✓ ") && next.payload("s:4:").is_some(),
            "{label}: {next:?}"
        );
        lan.press("m:home").await;
        let resumed = lan.press("m:survey").await;
        assert!(
            resumed.text.contains("Tiếp tục phần khảo sát còn dở"),
            "{label}: {resumed:?}"
        );
        let done = walk_survey(&mut lan, resumed).await;
        assert!(done.text.contains("ẩn danh"), "{label}: {done:?}");

        let wave = store.wave_by_code("w-open").await.unwrap();
        let over_telegram = store.complete_responses_by_channel(wave.id, "telegram").await.unwrap();
        assert_eq!(over_telegram.len(), 1, "{label}");
        let stored = store.answers(over_telegram[0]).await.unwrap();
        for (question, code) in [("p_sex", "male"), ("p_age", "18_29"), ("p_education", "none")] {
            assert!(
                stored.contains(&(question.to_owned(), Some(code.to_owned()), None)),
                "{label}: {question} = {code} in {stored:?}"
            );
        }
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");
        app.stop().await;
    }
}

/// Runs one statement on the test database directly, as an older version of the service would have left it.
async fn execute(db: &common::TestDb, statement: &str) {
    use sqlx::Connection;
    let statement = sqlx::AssertSqlSafe(statement.to_owned());
    if db.url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn feedback_with_a_photo_and_a_location_reaches_the_officials_and_their_answer_and_the_rating_come_back_in_the_chat()
 {
    for db in databases("feedback_with_a_photo_and_a_location_reaches_the_officials_and_their_answer_and_the_rating_come_back_in_the_chat").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        fake.add_file("photo-1", PHOTO);
        fake.add_file("not-an-image", b"%PDF-1.4 this is not a photo".to_vec());
        fake.add_file("huge", vec![0xFF; 11 * 1024 * 1024]);
        let app = start(db, &fake).await;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_200);

        lan.start("").await;
        // No commune in the link: asked, by name (without diacritics) or code.
        let ask = lan.press("m:feedback").await;
        assert!(ask.text.contains("xã, phường nào"), "{label}: {ask:?}");
        let wrong = lan.say("Không Có Nơi Này").await;
        assert!(wrong.text.contains("Không tìm thấy xã, phường nào tên «Không Có Nơi Này»"), "{label}: {wrong:?}");
        let categories = lan.say("pho hien").await;
        let category = categories.payload("k:road").unwrap_or_else(|| panic!("{label}: {categories:?}"));
        let text_prompt = lan.press(&category).await;
        assert!(text_prompt.text.contains("mô tả"), "{label}: {text_prompt:?}");

        // Too short: refused in Vietnamese, nothing lost, asked again.
        let short = lan.say("Ổ gà").await;
        assert!(short.text.contains("Nội dung mới có 4 ký tự"), "{label}: {short:?}");
        let text = "Đường Nguyễn Văn Linh trước số 45 có ổ gà lớn, xe máy ngã hai lần trong tuần này.";
        let photos = lan.say(text).await;
        assert!(photos.text.contains("Gửi ảnh"), "{label}: {photos:?}");

        let bad = lan.photo("not-an-image").await;
        assert!(bad.text.starts_with("⚠️"), "{label}: {bad:?}");
        let too_large = lan.photo("huge").await;
        assert!(too_large.text.contains("Ảnh quá lớn"), "{label}: {too_large:?}");
        let one = lan.photo("photo-1").await;
        assert!(one.text.contains("Đã nhận 1 ảnh"), "{label}: {one:?}");
        let where_ = lan.press("f:next").await;
        assert!(where_.text.contains("vị trí"), "{label}: {where_:?}");
        let location_request = fake.calls_of("sendmessage").last().unwrap().clone();
        assert_eq!(
            location_request["reply_markup"]["keyboard"][0][0]["request_location"], true,
            "{label}: a location-request button: {location_request}"
        );
        let confirm = lan.location(20.6465, 106.0511).await;
        assert!(confirm.text.contains("20.64650, 106.05110") && confirm.text.contains("Ảnh: 1"), "{label}: {confirm:?}");
        // "Cho phép công khai" is off until chosen, and can be taken back.
        assert!(confirm.text.contains("Công khai: không"), "{label}: {confirm:?}");
        let public = lan.press("f:public").await;
        assert!(public.text.contains("Công khai: có, khi đã được trả lời"), "{label}: {public:?}");
        assert!(public.payload("f:public").is_some(), "{label}: the choice can be taken back");
        let sent = lan.press("f:send").await;
        assert!(sent.text.contains("Mã theo dõi"), "{label}: {sent:?}");
        let code = tracking_code(&sent.text).unwrap_or_else(|| panic!("{label}: {sent:?}"));
        assert!(sent.text.contains(&format!("https://ykien.example.vn/t/{code}")), "{label}");

        let store = &app.app.store;
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(case.channel, ykien::domain::Channel::Telegram, "{label}");
        assert_eq!(case.reporter_chat.as_deref(), Some("500200"), "{label}");
        assert_eq!(case.text, text, "{label}");
        assert_eq!((case.lat, case.lon), (Some(20.6465), Some(106.0511)), "{label}");
        assert_eq!(store.case_attachments(case.id).await.unwrap().len(), 1, "{label}");
        assert!(case.publicity.consent && !case.publicity.photos, "{label}: public, without its photos");

        // The officials answer; the answer reaches the chat with rating buttons; the citizen rates it.
        let before = fake.sent_texts(500_200).len();
        answer_case(store, &code, "Ngày 25/11 tổ công tác đã vá ổ gà trước số 45 Nguyễn Văn Linh bằng bê tông nhựa.").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        let answered = loop {
            let texts = fake.sent_texts(500_200);
            if let Some(t) = texts[before..].iter().find(|t| t.contains("đã có trả lời")) {
                break t.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "{label}: no answer in the chat: {texts:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(answered.contains("đã vá ổ gà") && answered.contains("Luật Tiếp công dân"), "{label}: {answered}");
        let with_buttons = fake
            .calls_of("sendmessage")
            .into_iter()
            .find(|p| p["text"].as_str() == Some(answered.as_str()))
            .unwrap();
        assert!(with_buttons["reply_markup"].to_string().contains(&format!("r:{code}:5")), "{label}");
        let thanks = lan.press(&format!("r:{code}:4")).await;
        assert!(thanks.text.contains("đánh giá 4/5"), "{label}: {thanks:?}");
        assert_eq!(store.case_rating(case.id).await.unwrap().map(|r| r.score), Some(4), "{label}");

        // "My reports" lists it.
        let mine = lan.press("m:follow").await;
        assert!(mine.text.contains(&code), "{label}: {mine:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_webhook_refuses_a_wrong_secret_and_garbage_ignores_repeats_and_keeps_unhandled_updates() {
    for db in
        databases("the_webhook_refuses_a_wrong_secret_and_garbage_ignores_repeats_and_keeps_unhandled_updates").await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let start_update = include_str!("../bots/tests/fixtures/telegram/message_start.json");

        assert_eq!(post_update(&app, None, start_update).await, 401, "{label}: no secret");
        assert_eq!(
            post_update(&app, Some("wrong-secret-0123456789"), start_update).await,
            401,
            "{label}"
        );
        for garbage in [
            "",
            "{",
            "[]",
            "null",
            "{\"update_id\": \"x\"}",
            "\u{0}\u{1}",
            "{\"update_id\": 1}",
        ] {
            assert_eq!(
                post_update(&app, Some(SECRET), garbage).await,
                400,
                "{label}: {garbage:?}"
            );
        }
        let deep = "{".repeat(10_000);
        assert_eq!(
            post_update(&app, Some(SECRET), deep).await,
            400,
            "{label}: deeply nested"
        );
        assert!(
            fake.calls_of("sendmessage").is_empty(),
            "{label}: nothing answered garbage"
        );

        // The real fixtures: each is answered once, even when Telegram delivers it twice.
        assert_eq!(post_update(&app, Some(SECRET), start_update).await, 200, "{label}");
        assert_eq!(
            post_update(&app, Some(SECRET), start_update).await,
            200,
            "{label}: repeated"
        );
        fake.wait_for("sendmessage", 1, WAIT).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            fake.sent_texts(3_527_065).len(),
            1,
            "{label}: one reply for one update_id"
        );

        for fixture in [
            include_str!("../bots/tests/fixtures/telegram/message_text_private.json"),
            include_str!("../bots/tests/fixtures/telegram/message_location.json"),
            include_str!("../bots/tests/fixtures/telegram/message_photo.json"),
            include_str!("../bots/tests/fixtures/telegram/callback_query.json"),
            include_str!("../bots/tests/fixtures/telegram/telegram_start_deeplink.json"),
            include_str!("../bots/tests/fixtures/telegram/my_chat_member_kicked.json"),
        ] {
            assert_eq!(
                post_update(&app, Some(SECRET), fixture).await,
                200,
                "{label}: {fixture}"
            );
        }
        // An update kind the bot does not handle: 200, kept raw for inspection.
        let sticker = json!({ "update_id": 9001, "edited_message": { "message_id": 1, "date": 1, "chat": { "id": 5, "type": "private" }, "text": "sửa" } });
        assert_eq!(
            post_update(&app, Some(SECRET), sticker.to_string()).await,
            200,
            "{label}"
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let kept = app
                .app
                .store
                .chat_events_of_kind("telegram", "unsupported")
                .await
                .unwrap();
            if kept
                .iter()
                .any(|(id, raw)| id == "9001" && raw.as_deref().is_some_and(|r| r.contains("sửa")))
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{label}: {kept:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_blocked_citizen_is_marked_unreachable_and_gets_the_news_when_they_write_again() {
    for db in databases("a_blocked_citizen_is_marked_unreachable_and_gets_the_news_when_they_write_again").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = &app.app.store;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_300);
        lan.start("commune_11953").await;
        lan.press("m:feedback").await;
        lan.press("k:street_light").await;
        lan.say("Đèn đường ngõ 7 phố Bãi Sậy hỏng đã ba hôm, tối đi lại rất nguy hiểm.")
            .await;
        lan.press("f:next").await;
        let sent = lan.press("f:noloc").await;
        assert!(sent.text.contains("Gửi phản ánh này?"), "{label}: {sent:?}");
        let sent = lan.press("f:send").await;
        let code = tracking_code(&sent.text).unwrap_or_else(|| panic!("{label}: {sent:?}"));

        // The citizen blocks the bot: the answer cannot be delivered (403), they are marked unreachable.
        fake.block_chat(500_300);
        answer_case(
            store,
            &code,
            "Đã thay bóng đèn đường ngõ 7 phố Bãi Sậy ngày 26/11, đèn sáng bình thường.",
        )
        .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let person = store.chat_user("telegram", "500300").await.unwrap().unwrap();
            if !person.reachable {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{label}: never marked unreachable"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        let pending = store.case_outbox(case.id).await.unwrap();
        assert!(pending.iter().any(|m| !m.sent), "{label}: the news waits: {pending:?}");

        // They unblock and write again: the waiting news go out.
        fake.unblock_chat(500_300);
        lan.say("xin chào").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if fake.sent_texts(500_300).iter().any(|t| t.contains("đã có trả lời")) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{label}: the answer never arrived"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_reply_still_arrives() {
    for db in databases("a_429_is_waited_out_and_the_reply_still_arrives").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        fake.fail_next("sendmessage", Failure::TooManyRequests { retry_after_secs: 1 });
        let started = std::time::Instant::now();
        let start_update = include_str!("../bots/tests/fixtures/telegram/telegram_start_deeplink.json");
        assert_eq!(post_update(&app, Some(SECRET), start_update).await, 200, "{label}");
        let calls = fake.wait_for("sendmessage", 2, WAIT).await;
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{label}: retry_after was respected"
        );
        assert_eq!(calls.len(), 2, "{label}: refused once, then sent");
        assert_eq!(calls[0], calls[1], "{label}: the same message again");
        // The fixture's link names commune 12345, which does not exist: the citizen is told and asked.
        assert!(
            calls[1]["text"].as_str().unwrap().contains("không còn hoặc không có"),
            "{label}: {calls:?}"
        );
        // /stop: the goodbye, then nothing more.
        let mut nic = TelegramCitizen::new(&[&app.base], SECRET, &fake, 3_527_065);
        let bye = nic.say("/stop").await;
        assert!(bye.text.contains("Đã dừng"), "{label}: {bye:?}");
        let person = app.app.store.chat_user("telegram", "3527065").await.unwrap().unwrap();
        assert!(person.opted_out, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_update_recorded_but_never_handled_is_taken_up_by_the_background_work() {
    for db in databases("an_update_recorded_but_never_handled_is_taken_up_by_the_background_work").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        // As if the instance that answered 200 for it died before handling it: recorded, claim run out.
        let raw = include_str!("../bots/tests/fixtures/telegram/message_start.json");
        let now = chrono::Utc::now();
        let recorded = app
            .app
            .store
            .record_chat_events(&[ykien::storage::NewChatEvent {
                channel: "telegram".to_owned(),
                event_id: "174114370".to_owned(),
                kind: "command",
                user_id: Some("3527065".to_owned()),
                raw: raw.to_owned(),
                received_at: now,
                claimed_until: now - chrono::Duration::seconds(1),
            }])
            .await
            .unwrap()
            == [true];
        assert!(recorded, "{label}");
        let sent = fake.wait_for("sendmessage", 1, WAIT).await;
        assert!(
            sent[0]["text"].as_str().unwrap().contains("Xin chào"),
            "{label}: {sent:?}"
        );
        // Handled once: Telegram's own retry of it now changes nothing.
        assert_eq!(post_update(&app, Some(SECRET), raw).await, 200, "{label}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(fake.sent_texts(3_527_065).len(), 1, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_pressed_button_is_acknowledged_in_the_webhooks_own_answer() {
    for db in databases("a_pressed_button_is_acknowledged_in_the_webhooks_own_answer").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let post = async |update: serde_json::Value| {
            let response = app
                .client
                .post(app.url("/webhooks/telegram"))
                .header("content-type", "application/json")
                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                .body(update.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{label}");
            response.json::<serde_json::Value>().await.unwrap()
        };
        let chat = json!({ "id": 502_000, "type": "private", "first_name": "Lan" });
        let from = json!({ "id": 502_000, "is_bot": false, "first_name": "Lan" });
        let start = json!({ "update_id": 502_001, "message": { "message_id": 1, "date": 1_764_000_000, "chat": chat,
            "from": from, "text": "/start commune_11953", "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }] } });
        // A message needs no acknowledgement: the plain answer.
        assert_eq!(post(start).await, json!({ "ok": true }), "{label}");
        fake.wait_for("sendmessage", 1, WAIT).await;
        let press = json!({ "update_id": 502_002, "callback_query": { "id": "cb-502", "from": from, "chat_instance": "1",
            "data": "m:survey", "message": { "message_id": 1, "date": 1_764_000_000, "chat": chat, "text": "…" } } });
        assert_eq!(
            post(press.clone()).await,
            json!({ "method": "answerCallbackQuery", "callback_query_id": "cb-502" }),
            "{label}"
        );
        fake.wait_for("sendmessage", 2, WAIT).await;
        // The service did not call answerCallbackQuery itself: the answer above is Telegram's to carry out.
        assert!(fake.calls_of("answercallbackquery").is_empty(), "{label}");
        // Telegram's retry of the same update (its 200 was lost) is acknowledged again, and not handled twice.
        assert_eq!(
            post(press).await,
            json!({ "method": "answerCallbackQuery", "callback_query_id": "cb-502" }),
            "{label}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(fake.sent_texts(502_000).len(), 2, "{label}");
        app.stop().await;
    }
}

/// The text of the one QR code in a PNG.
fn decode_qr(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * info.line_size + x]);
    img.detect_grids()[0].decode().unwrap().1
}

#[tokio::test]
async fn a_communes_poster_qr_code_opens_the_bot_on_that_commune() {
    let fake = FakeTelegram::start().await;
    let app = start(common::TestDb::sqlite(), &fake).await;
    fake.wait_for("getme", 1, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let page = loop {
        let page = app.get("/units/11953").await.text().await.unwrap();
        if page.contains("qr.png?via=telegram") {
            break page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Telegram poster link: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(page.contains("Mã QR mở bot Telegram"));
    let png = app.get("/s/11953/qr.png?via=telegram").await.bytes().await.unwrap();
    assert_eq!(decode_qr(&png), "https://t.me/ykien_test_bot?start=commune_11953");
    // The same link opens the bot on the commune.
    let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_500);
    let menu = lan.start("commune_11953").await;
    assert!(menu.text.contains("Phường Phố Hiến"), "{menu:?}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_the_bot_is_off() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let update = include_str!("../bots/tests/fixtures/telegram/message_start.json");
    assert_eq!(post_update(&app, Some(SECRET), update).await, 404);
    assert_eq!(app.get("/s/11953/qr.png?via=telegram").await.status(), 404);
    assert!(
        !app.get("/units/11953")
            .await
            .text()
            .await
            .unwrap()
            .contains("via=telegram")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_complaint_typed_at_the_menu_becomes_a_report_and_the_location_step_cannot_trap_over_telegram() {
    for db in
        databases("a_complaint_typed_at_the_menu_becomes_a_report_and_the_location_step_cannot_trap_over_telegram")
            .await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_800);
        lan.start("commune_11953").await;
        chat::free_text_becomes_a_report(&mut lan, &app.app.store, label).await;

        // A photo sent first starts a report too, and is kept while the category is chosen.
        fake.add_file("photo-first", PHOTO);
        let categories = lan.photo("photo-first").await;
        assert!(
            categories.text.starts_with("✓ Đã nhận 1 ảnh.")
                && categories.text.contains("Phản ánh của anh/chị về việc gì?"),
            "{label}: {categories:?}"
        );
        let cancelled = lan.say("hủy").await;
        assert!(cancelled.text.starts_with("Đã hủy phản ánh."), "{label}: {cancelled:?}");

        chat::the_location_step_cannot_trap(&mut lan, label).await;
        // The location step's choices are real buttons of its keyboard, under the location button.
        let asks: Vec<Value> = fake
            .calls_of("sendmessage")
            .into_iter()
            .filter(|c| c["text"].as_str().is_some_and(|t| t.starts_with("Sự việc ở đâu?")))
            .collect();
        assert_eq!(
            asks.last().unwrap()["reply_markup"]["keyboard"],
            json!([
                [{ "text": "📍 Gửi vị trí", "request_location": true }],
                [{ "text": "Bỏ qua vị trí" }],
                [{ "text": "✖ Hủy" }],
            ]),
            "{label}"
        );
        // Every message that followed a location request removed its keyboard.
        let calls = fake.calls_of("sendmessage");
        for (i, call) in calls.iter().enumerate() {
            if call["reply_markup"].get("keyboard").is_some() {
                let next = &calls[i + 1];
                assert_eq!(
                    next["reply_markup"],
                    json!({ "remove_keyboard": true }),
                    "{label}: {next}"
                );
            }
        }
        // Pressed buttons are taken off their message.
        assert!(!fake.calls_of("editmessagereplymarkup").is_empty(), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_voice_note_over_telegram_reaches_the_console_and_my_reports_show_it_with_its_answer() {
    for db in databases("a_voice_note_over_telegram_reaches_the_console_and_my_reports_show_it_with_its_answer").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = &app.app.store;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 500_900);
        lan.start("commune_11953").await;
        let code = chat::a_voice_note_becomes_a_report(&mut lan, store, label).await;
        // Downloaded through getFile like a photo.
        assert!(
            fake.calls_of("getfile").iter().any(|c| c["file_id"] == "voice-1"),
            "{label}"
        );

        // The intake desk plays it in the console.
        common::official(store, "tiepnhan.voice", "intake", None, &["11953"]).await;
        let cookie = common::session(&app, "tiepnhan.voice").await;
        let page = app
            .client
            .get(app.url(&format!("/console/cases/{code}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        let file = store.case_attachments(case.id).await.unwrap()[0].id;
        assert!(
            page.contains(&format!(
                r#"<audio controls preload="none" src="/console/files/{file}">"#
            )),
            "{label}: {page}"
        );
        let audio = app
            .client
            .get(app.url(&format!("/console/files/{file}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(audio.headers()["content-type"], "audio/ogg", "{label}");
        assert!(
            audio.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("media-src 'self'"),
            "{label}"
        );
        assert_eq!(audio.bytes().await.unwrap(), chat::VOICE_NOTE, "{label}");

        chat::my_reports_show_what_they_are(&mut lan, store, &code, label).await;
        // Six categories, "Khác…" and "Hủy": no longer 23 long buttons.
        let categories = lan.press("m:feedback").await;
        assert_eq!(categories.payloads.len(), 8, "{label}: {categories:?}");
        assert_eq!(categories.payloads[6..], ["f:more", "f:cancel"], "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn after_stop_over_telegram_nothing_changes_until_start_and_an_answered_question_is_not_asked_again() {
    for db in
        databases("after_stop_over_telegram_nothing_changes_until_start_and_an_answered_question_is_not_asked_again")
            .await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let app = start(db, &fake).await;
        let store = &app.app.store;
        let mut lan = TelegramCitizen::new(&[&app.base], SECRET, &fake, 501_000);
        lan.start("commune_11953").await;
        chat::stop_holds_until_start(&mut lan, store, "telegram", "501000", label).await;

        chat::an_answered_question_is_not_asked_again(&mut lan, label).await;
        // Pause: confirmed.
        let paused = lan.press("s:pause").await;
        assert!(
            paused.text.starts_with("⏸ Đã tạm dừng khảo sát.") && chat::is_menu(&paused),
            "{label}: {paused:?}"
        );
        // The menu says how far the survey is.
        let menu = fake.calls_of("sendmessage").pop().unwrap();
        let survey_button = menu["reply_markup"]["inline_keyboard"][0][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let percent = survey_button
            .strip_prefix("📋 Tiếp tục khảo sát (")
            .and_then(|rest| rest.strip_suffix("%)"));
        assert!(
            percent.is_some_and(|p| p.parse::<u8>().is_ok()),
            "{label}: {survey_button}"
        );
        chat::a_commune_change_mid_survey_asks_first(&mut lan, label).await;
        // A poster of another commune asks too.
        let poster = lan.start("commune_11953").await;
        assert!(
            poster
                .text
                .starts_with("Anh/chị đang trả lời dở khảo sát của Phường Sơn Nam. Đổi sang Phường Phố Hiến?"),
            "{label}: {poster:?}"
        );
        let edits = fake.calls_of("editmessagereplymarkup");
        assert!(
            edits
                .iter()
                .all(|e| e["chat_id"] == json!(501_000) && e.get("reply_markup").is_none()),
            "{label}: {edits:?}"
        );
        app.stop().await;
    }
}
