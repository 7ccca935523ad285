//! Issue 18 end to end, on both databases: news subscriptions in the chats, Zalo's reply window and proactive quota
//! (against the fake Zalo, which answers the quota API), campaigns drafted, approved and sent once per recipient
//! at the platforms' limits with their delivery reports, every kind of bad input, the PAPI quiz on the web with a
//! draw anyone can recompute, and Zalo events ykien does not act on.
#![allow(clippy::unwrap_used)]

#[path = "common/chat.rs"]
mod chat;
mod common;
#[path = "../bots/tests/fakes/telegram.rs"]
mod fake_telegram;
#[path = "../bots/tests/fakes/zalo.rs"]
mod fake_zalo;
#[path = "common/telegram.rs"]
mod telegram;
#[path = "common/zalo.rs"]
mod zalo;

use std::time::{Duration, Instant};

use chat::ChatCitizen;
use chrono::Utc;
use common::{TestApp, TestDb, as_env, databases, official};
use fake_telegram::FakeTelegram;
use fake_zalo::FakeZalo;
use serde_json::{Value, json};
use telegram::TelegramCitizen;
use ykien::domain::Lang;
use ykien::services::Error;
use ykien::services::reach::campaigns::{self, CampaignForm};
use ykien::services::reach::quiz;
use ykien::services::reach::zalo_rules::{self, ZaloKind};
use ykien::storage::{ChatUserRow, Store};

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const SECRET: &str = "hook-secret-0123456789";
const WAIT: Duration = Duration::from_secs(60);
const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_progressive.jpg");

fn settings(telegram: &FakeTelegram, zalo: &FakeZalo, telegram_rate: &str) -> Vec<(&'static str, String)> {
    let mut all = zalo::settings(zalo);
    all.extend([
        ("YKIEN_TELEGRAM_TOKEN", TOKEN.to_owned()),
        ("YKIEN_TELEGRAM_WEBHOOK_SECRET", SECRET.to_owned()),
        ("YKIEN_TELEGRAM_API_URL", telegram.api_url()),
        ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", "1000".to_owned()),
        ("YKIEN_TELEGRAM_MAX_PER_SECOND", telegram_rate.to_owned()),
        ("YKIEN_PUBLIC_URL", "https://ykien.example.vn".to_owned()),
    ]);
    all
}

/// The service with Hưng Yên, both chats on fakes, and the Zalo OA connected.
async fn start(db: TestDb, telegram_rate: &str) -> (TestApp, FakeTelegram, FakeZalo) {
    let tg = FakeTelegram::start().await;
    let zl = FakeZalo::start("access-0", "refresh-0").await;
    let settings = settings(&tg, &zl, telegram_rate);
    let app = TestApp::start_with_open_wave_and(db, &as_env(&settings)).await;
    zalo::connect(&app.db, &as_env(&settings), &app.app.store).await;
    (app, tg, zl)
}

async fn wait_until(label: &str, what: &str, done: impl AsyncFnMut() -> bool) {
    wait_for(WAIT, label, what, done).await;
}

async fn wait_for(wait: Duration, label: &str, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + wait;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{label}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Zalo user's text message, signed as Zalo signs it.
async fn zalo_says(app: &TestApp, user: &str, msg_id: &str, text: &str) -> u16 {
    let event = json!({
        "app_id": zalo::APP_ID,
        "event_name": "user_send_text",
        "timestamp": "1764000000123",
        "sender": { "id": user },
        "recipient": { "id": "388613280878808645" },
        "message": { "text": text, "msg_id": msg_id },
    });
    post_zalo(app, &event).await
}

async fn post_zalo(app: &TestApp, event: &Value) -> u16 {
    let body = event.to_string();
    app.client
        .post(app.url("/webhooks/zalo"))
        .header("content-type", "application/json")
        .header(
            "X-ZEvent-Signature",
            ykien_bots::zalo::sign(body.as_bytes(), zalo::OA_KEY).unwrap(),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn form(communes: &[&str], text: &str) -> CampaignForm {
    CampaignForm {
        title: "Lịch tiếp công dân tháng 12".into(),
        text_vi: text.into(),
        text_en: String::new(),
        link: "https://ykien.example.vn/news/11953".into(),
        image: None,
        communes: communes.iter().map(|c| c.to_string()).collect(),
        channels: vec!["telegram".into(), "zalo".into()],
        scheduled_vn: campaigns::vn_time(Utc::now() + chrono::Duration::minutes(5)).replace(' ', "T"),
    }
}

/// A subscriber of 11953 stored as the chat would store them.
fn subscriber(channel: &str, user_id: &str) -> ChatUserRow {
    ChatUserRow {
        channel: channel.into(),
        user_id: user_id.into(),
        lang: "vi".into(),
        commune_code: Some("11953".into()),
        dialog: String::new(),
        revision: 0,
        reachable: true,
        opted_out: false,
        last_interaction_at: Some(Utc::now()),
        created_at: Utc::now(),
    }
}

/// Test-only SQL on the test database (both engines): what no service function does, here moving a campaign's
/// schedule to now (a real one is refused in the past, and the tests do not wait for the minutes ahead).
async fn sql(db: &TestDb, statement: &str, at: chrono::DateTime<Utc>) -> u64 {
    use sqlx::Connection;
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                .bind(at)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected();
            conn.close().await.unwrap();
            done
        }};
    }
    if db.url.starts_with("sqlite:") {
        run!(sqlx::SqliteConnection::connect(&db.url).await.unwrap())
    } else {
        run!(sqlx::PgConnection::connect(&db.url).await.unwrap())
    }
}

/// Approves a campaign and makes it due now (its schedule was five minutes ahead, as a real one would be).
async fn approve_now(
    db: &TestDb,
    store: &Store,
    leader: &ykien::services::accounts::Official,
    id: uuid::Uuid,
) -> usize {
    let queued = campaigns::approve(store, leader, id, Utc::now()).await.unwrap();
    sql(db, "UPDATE campaigns SET scheduled_at = $1", Utc::now()).await;
    store.reschedule_campaign_messages(id, Utc::now()).await.unwrap();
    queued
}

#[tokio::test]
async fn a_campaign_reaches_each_subscriber_once_as_each_platform_allows_and_reports_every_outcome() {
    for db in
        databases("a_campaign_reaches_each_subscriber_once_as_each_platform_allows_and_reports_every_outcome").await
    {
        let label = db.label;
        let (app, tg, zl) = start(db, "1000").await;
        let store = app.app.store.clone();
        let base = app.base.clone();
        // Telegram: An subscribes by starting the bot; Bình stops everything; Chi stops news only.
        let mut an = TelegramCitizen::new(&[&base], SECRET, &tg, 7001);
        an.start("commune_11953").await;
        let mut binh = TelegramCitizen::new(&[&base], SECRET, &tg, 7002);
        binh.start("commune_11953").await;
        let stopped = binh.say("STOP").await;
        assert!(
            stopped.text.contains("/start"),
            "{label}: says how to come back: {stopped:?}"
        );
        let mut chi = TelegramCitizen::new(&[&base], SECRET, &tg, 7003);
        let menu = chi.start("commune_11953").await;
        assert!(
            menu.payload("m:newsoff").is_some(),
            "{label}: the menu offers to stop news: {menu:?}"
        );
        let off = chi.press("m:newsoff").await;
        assert!(
            off.text.contains("Đã dừng nhận tin") && off.text.contains("nhận tin"),
            "{label}: {off:?}"
        );
        assert!(off.payload("m:newson").is_some(), "{label}: and to take them again");
        // Zalo: Dũng wrote a minute ago (a reply quoting his message); Giang and Hà wrote three days ago, and the
        // month's quota has one message left: one of them gets it, the other waits.
        for (user, msg) in [("9001", "m-9001"), ("9002", "m-9002"), ("9003", "m-9003")] {
            assert_eq!(zalo_says(&app, user, msg, "/start commune_11953").await, 200);
        }
        wait_until(label, "the Zalo users never got their menus", async || {
            zl.sent().len() >= 3
        })
        .await;
        for user in ["9002", "9003"] {
            store
                .open_zalo_window(user, &format!("old-{user}"), Utc::now() - chrono::Duration::days(3))
                .await
                .unwrap();
        }
        zl.set_quota(1, 1000);

        let officer = official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
        let leader = official(&store, "lanhdao", "leader", None, &["33"]).await;
        let id = campaigns::draft(
            &store,
            &officer,
            &form(&["11953"], "Xã tổ chức tiếp công dân sáng thứ Năm."),
            Utc::now(),
        )
        .await
        .unwrap();
        let campaign = store.campaign(id).await.unwrap().unwrap();
        let audience = campaigns::audience(&store, &campaign).await.unwrap();
        let counts = campaigns::counts(&audience);
        let telegram = counts.iter().find(|c| c.0 == "telegram").unwrap();
        assert_eq!((telegram.1, telegram.2, telegram.3), (1, 1, 1), "{label}: {counts:?}");
        assert_eq!(counts.iter().find(|c| c.0 == "zalo").unwrap().1, 3, "{label}");
        let before_tg = tg.calls_of("sendMessage").len();
        let before_zl = zl.sent().len();
        assert_eq!(approve_now(&app.db, &store, &leader, id).await, 4, "{label}");
        // Approving twice queues nothing more.
        assert!(
            campaigns::approve(&store, &leader, id, Utc::now()).await.is_err(),
            "{label}"
        );
        wait_until(label, "the campaign never finished", async || {
            let lines = campaigns::report(&store, id).await.unwrap();
            let done: i64 = lines
                .iter()
                .map(|l| l.sent_direct + l.sent_reply + l.sent_proactive + l.waiting)
                .sum();
            let waiting: i64 = lines.iter().map(|l| l.waiting).sum();
            // The one that waits was tried: it carries its reason.
            let reasoned = lines.iter().any(|l| !l.reasons.is_empty());
            done == 4 && waiting == 1 && reasoned && zl.sent().len() >= before_zl + 2
        })
        .await;
        let to_telegram: Vec<Value> = tg.calls_of("sendMessage")[before_tg..].to_vec();
        assert_eq!(to_telegram.len(), 1, "{label}: only An: {to_telegram:?}");
        assert_eq!(
            to_telegram[0]["chat_id"].to_string().trim_matches('"'),
            "7001",
            "{label}"
        );
        assert!(
            to_telegram[0]["text"].as_str().unwrap().contains("tiếp công dân"),
            "{label}"
        );
        let zalo_sends: Vec<(String, Option<String>)> = zl.sent_quoting()[before_zl..].to_vec();
        assert!(
            zalo_sends.contains(&("9001".to_owned(), Some("m-9001".to_owned()))),
            "{label}: Dũng's is a reply quoting his message: {zalo_sends:?}"
        );
        assert_eq!(
            zalo_sends.iter().filter(|(u, q)| u != "9001" && q.is_none()).count(),
            1,
            "{label}: one proactive message, the quota's last: {zalo_sends:?}"
        );
        assert_eq!(zl.quota_remain(), 0, "{label}");
        let lines = campaigns::report(&store, id).await.unwrap();
        let tg_line = lines.iter().find(|l| l.channel == "telegram").unwrap();
        assert_eq!(
            (tg_line.targeted, tg_line.sent_direct, tg_line.opted_out),
            (3, 1, 2),
            "{label}"
        );
        let zl_line = lines.iter().find(|l| l.channel == "zalo").unwrap();
        assert_eq!(
            (zl_line.sent_reply, zl_line.sent_proactive, zl_line.waiting),
            (1, 1, 1),
            "{label}: {zl_line:?}"
        );
        assert!(
            zl_line.reasons.iter().any(|(r, _)| r.contains("hạn mức tin chủ động")),
            "{label}: {zl_line:?}"
        );

        // The console shows it, and the report downloads as CSV (with a BOM) and XLSX.
        let cookie = common::session(&app, "lanhdao").await;
        let page = app
            .client
            .get(app.url(&format!("/console/campaigns/{id}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Báo cáo gửi tin") && page.contains("Phường Phố Hiến"),
            "{label}"
        );
        let csv = app
            .client
            .get(app.url(&format!("/console/campaigns/{id}/report/report.csv")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(csv.starts_with("\u{feff}".as_bytes()), "{label}");
        let csv = String::from_utf8(csv.to_vec()).unwrap();
        assert!(
            csv.contains("11953") && csv.contains("Phường Phố Hiến"),
            "{label}: {csv}"
        );
        let xlsx = app
            .client
            .get(app.url(&format!("/console/campaigns/{id}/report/report.xlsx")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let sheets = common::xlsx_sheets(&xlsx);
        assert!(sheets[0].1.contains("Phường Phố Hiến"), "{label}");
        // The commune's news page and its Atom feed carry it.
        let news = app.get("/news/11953").await.text().await.unwrap();
        assert!(news.contains("Xã tổ chức tiếp công dân"), "{label}");
        let feed = app.get("/news/11953/atom.xml").await;
        assert!(
            feed.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/atom+xml")
        );
        let feed = feed.text().await.unwrap();
        assert!(
            feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">") && feed.contains(&id.to_string()),
            "{label}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn ten_thousand_subscribers_are_sent_within_the_telegram_rate_and_never_past_the_zalo_quota() {
    for db in
        databases("ten_thousand_subscribers_are_sent_within_the_telegram_rate_and_never_past_the_zalo_quota").await
    {
        let label = db.label;
        // The rate is configurable: 500 a second keeps the test short; the limit is what is checked.
        const RATE: usize = 500;
        let (app, tg, zl) = start(db, &RATE.to_string()).await;
        let store = app.app.store.clone();
        for i in 0..10_000 {
            store
                .save_chat_user(&subscriber("telegram", &(100_000 + i).to_string()), true)
                .await
                .unwrap();
        }
        for i in 0..50 {
            let mut row = subscriber("zalo", &format!("z{i}"));
            row.last_interaction_at = Some(Utc::now() - chrono::Duration::days(5));
            store.save_chat_user(&row, true).await.unwrap();
        }
        zl.set_quota(20, 1000);
        let officer = official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
        let leader = official(&store, "lanhdao", "leader", None, &["33"]).await;
        let id = campaigns::draft(
            &store,
            &officer,
            &form(&["11953"], "Mời bà con tham gia khảo sát PAPI."),
            Utc::now(),
        )
        .await
        .unwrap();
        let started = Instant::now();
        assert_eq!(approve_now(&app.db, &store, &leader, id).await, 10_050, "{label}");
        // 10,000 messages at 500 a second on a busy test machine: minutes, not seconds.
        wait_for(
            Duration::from_secs(900),
            label,
            "the campaign never finished",
            async || tg.calls_of("sendMessage").len() >= 10_000 && zl.sent().len() >= 20,
        )
        .await;
        tracing::info!(elapsed = ?started.elapsed(), "10,000 sent");
        let times = tg.call_times("sendMessage");
        assert_eq!(times.len(), 10_000, "{label}: once each");
        // From the fake's own clock: no 5-second window holds more than the limit allows (a burst of one second's
        // worth, then the rate).
        let window = Duration::from_secs(5);
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] > window {
                start += 1;
            }
            assert!(
                end - start < RATE * 6,
                "{label}: {} messages within 5 s",
                end - start + 1
            );
        }
        let lines = campaigns::report(&store, id).await.unwrap();
        let zalo = lines.iter().find(|l| l.channel == "zalo").unwrap();
        assert_eq!((zalo.sent_proactive, zalo.waiting), (20, 30), "{label}: {zalo:?}");
        assert_eq!(zl.quota_remain(), 0, "{label}");
        let distinct: std::collections::HashSet<String> = tg
            .calls_of("sendMessage")
            .iter()
            .map(|c| c["chat_id"].to_string())
            .collect();
        assert_eq!(distinct.len(), 10_000, "{label}: every subscriber once");
        app.stop().await;
    }
}

#[tokio::test]
async fn zalo_replies_quote_the_citizens_message_eight_times_in_48_hours_then_count_against_the_quota_then_wait() {
    for db in databases(
        "zalo_replies_quote_the_citizens_message_eight_times_in_48_hours_then_count_against_the_quota_then_wait",
    )
    .await
    {
        let label = db.label;
        let (app, _tg, zl) = start(db, "1000").await;
        let store = app.app.store.clone();
        let settings = zalo::settings(&zl);
        let config = app.db.config_with(&as_env(&settings));
        let channel =
            ykien::services::channels::ZaloChannel::new(config.zalo.as_ref().unwrap(), store.clone()).unwrap();
        let now = Utc::now();
        store
            .open_zalo_window("u1", "msg-1", now - chrono::Duration::hours(47))
            .await
            .unwrap();
        for i in 0..8 {
            let kind = zalo_rules::decide(&store, &channel, "u1", 1, now).await.unwrap();
            assert_eq!(kind, ZaloKind::Reply("msg-1".into()), "{label}: reply {}", i + 1);
        }
        zl.set_quota(2, 1000);
        assert_eq!(
            zalo_rules::decide(&store, &channel, "u1", 1, now).await.unwrap(),
            ZaloKind::Proactive,
            "{label}: the 9th"
        );
        assert_eq!(
            zalo_rules::decide(&store, &channel, "u1", 1, now).await.unwrap(),
            ZaloKind::Proactive,
            "{label}"
        );
        let ZaloKind::Wait { reason, until } = zalo_rules::decide(&store, &channel, "u1", 1, now).await.unwrap() else {
            panic!("{label}: past the quota it waits");
        };
        assert!(
            reason.contains("8/8 tin phản hồi") && reason.contains("hạn mức"),
            "{label}: {reason}"
        );
        assert_eq!(until, zalo_rules::vn_month(now).1, "{label}: until the next month");
        // After 48 hours the window is closed even with replies left; a new message opens a new one.
        store
            .open_zalo_window("u2", "msg-2", now - chrono::Duration::hours(49))
            .await
            .unwrap();
        assert!(
            matches!(
                zalo_rules::decide(&store, &channel, "u2", 1, now).await.unwrap(),
                ZaloKind::Wait { .. }
            ),
            "{label}"
        );
        store.open_zalo_window("u2", "msg-3", now).await.unwrap();
        assert_eq!(
            zalo_rules::decide(&store, &channel, "u2", 1, now).await.unwrap(),
            ZaloKind::Reply("msg-3".into()),
            "{label}"
        );
        // The quota was read from Zalo's quota API.
        assert!(!zl.calls_to("/v2.0/oa/quota/message").is_empty(), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_zalo_event_ykien_does_not_act_on_is_answered_200_and_kept_raw() {
    for db in databases("a_zalo_event_ykien_does_not_act_on_is_answered_200_and_kept_raw").await {
        let label = db.label;
        let (app, _tg, _zl) = start(db, "1000").await;
        let event = json!({
            "app_id": zalo::APP_ID,
            "oa_id": "579745863508352884",
            "event_name": "add_user_to_tag",
            "timestamp": "1733490000000",
            "tag": { "id": "7", "name": "Phường Phố Hiến" },
            "user_id_by_app": "552177279717587730",
        });
        assert_eq!(post_zalo(&app, &event).await, 200, "{label}");
        let store = app.app.store.clone();
        wait_until(label, "not kept", async || {
            store
                .chat_events_of_kind("zalo", "unsupported")
                .await
                .unwrap()
                .iter()
                .any(|(_, raw)| raw.as_deref().is_some_and(|r| r.contains("add_user_to_tag")))
        })
        .await;
        app.stop().await;
    }
}

/// The store with Hưng Yên, an officer of 11953 and a leader of the province.
async fn officials(
    db: &TestDb,
) -> (
    Store,
    ykien::services::accounts::Official,
    ykien::services::accounts::Official,
) {
    let store = db.store().await;
    ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
    let officer = official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
    let leader = official(&store, "lanhdao", "leader", None, &["33"]).await;
    (store, officer, leader)
}

/// Drafts `form` as the officer and returns the problems' Vietnamese messages; nothing may have been stored.
async fn refused(db: &TestDb, change: impl Fn(&mut CampaignForm)) -> Vec<String> {
    let (store, officer, _) = officials(db).await;
    let mut f = form(&["11953"], "Thông báo lịch tiếp công dân.");
    change(&mut f);
    let Err(Error::Invalid(problems)) = campaigns::draft(&store, &officer, &f, Utc::now()).await else {
        panic!("{}: the campaign should be refused", db.label);
    };
    assert!(
        store.campaigns(10).await.unwrap().is_empty(),
        "{}: nothing stored",
        db.label
    );
    problems.into_iter().map(|p| p.message.vi).collect()
}

#[tokio::test]
async fn an_empty_campaign_text_is_refused() {
    for db in databases("an_empty_campaign_text_is_refused").await {
        let said = refused(&db, |f| f.text_vi = "   ".into()).await;
        assert!(
            said.iter().any(|m| m.contains("Nội dung tin nhắn đang trống")),
            "{said:?}"
        );
    }
}

#[tokio::test]
async fn a_campaign_text_longer_than_zalo_takes_is_refused_with_the_limit_named() {
    for db in databases("a_campaign_text_longer_than_zalo_takes_is_refused_with_the_limit_named").await {
        let said = refused(&db, |f| f.text_vi = "Ý kiến ".repeat(300)).await;
        assert!(
            said.iter().any(|m| m.contains("Zalo nhận tối đa 2000 ký tự")),
            "{said:?}"
        );
    }
}

#[tokio::test]
async fn a_campaign_text_longer_than_telegram_takes_is_refused_with_the_limit_named() {
    for db in databases("a_campaign_text_longer_than_telegram_takes_is_refused_with_the_limit_named").await {
        let said = refused(&db, |f| {
            f.text_vi = "🙂".repeat(2100);
            f.channels = vec!["telegram".into()];
        })
        .await;
        assert!(said.iter().any(|m| m.contains("Telegram nhận tối đa 4096")), "{said:?}");
    }
}

#[tokio::test]
async fn an_image_that_is_not_an_image_is_refused() {
    for db in databases("an_image_that_is_not_an_image_is_refused").await {
        let said = refused(&db, |f| f.image = Some(b"%PDF-1.7 not a picture".to_vec())).await;
        assert!(said.iter().any(|m| m.starts_with("Ảnh không dùng được")), "{said:?}");
    }
}

#[tokio::test]
async fn a_schedule_in_the_past_is_refused() {
    for db in databases("a_schedule_in_the_past_is_refused").await {
        let said = refused(&db, |f| f.scheduled_vn = "2024-01-01T08:00".into()).await;
        assert!(said.iter().any(|m| m.contains("đã qua")), "{said:?}");
    }
}

#[tokio::test]
async fn communes_outside_the_authors_scope_are_refused() {
    for db in databases("communes_outside_the_authors_scope_are_refused").await {
        let said = refused(&db, |f| f.communes = vec!["11953".into(), "11977".into()]).await;
        assert!(said.iter().any(|m| m.contains("nằm ngoài phạm vi")), "{said:?}");
    }
}

#[tokio::test]
async fn approving_ones_own_campaign_is_refused_and_queues_nothing() {
    for db in databases("approving_ones_own_campaign_is_refused_and_queues_nothing").await {
        let label = db.label;
        let (store, officer, leader) = officials(&db).await;
        store.save_chat_user(&subscriber("telegram", "42"), true).await.unwrap();
        let id = campaigns::draft(&store, &leader, &form(&["11953"], "Tin của lãnh đạo."), Utc::now())
            .await
            .unwrap();
        assert!(
            matches!(
                campaigns::approve(&store, &leader, id, Utc::now()).await,
                Err(Error::Forbidden(_))
            ),
            "{label}: not one's own"
        );
        assert!(
            matches!(
                campaigns::approve(&store, &officer, id, Utc::now()).await,
                Err(Error::Forbidden(_))
            ),
            "{label}: not an officer"
        );
        assert!(
            campaigns::report(&store, id).await.unwrap().is_empty(),
            "{label}: nothing queued"
        );
        // A good image is kept (re-encoded) and the draft stored.
        let mut with_image = form(&["11953"], "Ảnh buổi tiếp công dân.");
        with_image.image = Some(PHOTO.to_vec());
        let id = campaigns::draft(&store, &officer, &with_image, Utc::now())
            .await
            .unwrap();
        assert!(store.campaign_image(id).await.unwrap().is_some(), "{label}");
    }
}

#[tokio::test]
async fn the_console_form_keeps_what_was_typed_and_says_what_is_wrong_in_vietnamese() {
    for db in databases("the_console_form_keeps_what_was_typed_and_says_what_is_wrong_in_vietnamese").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        official(
            &app.app.store,
            "canbo",
            "commune_officer",
            Some("commune_office"),
            &["11953"],
        )
        .await;
        let cookie = common::session(&app, "canbo").await;
        let page = app
            .client
            .get(app.url("/console/campaigns"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = common::hidden_field(&page, "csrf");
        let typed = "Thông báo: xã tổ chức lấy ý kiến về quy hoạch sử dụng đất.";
        let body = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("title", "Lấy ý kiến quy hoạch")
            .text("text_vi", typed)
            .text("communes", "11953")
            .text("channels", "zalo")
            .text("scheduled_vn", "2020-05-01T08:00");
        let r = app
            .client
            .post(app.url("/console/campaigns"))
            .header("cookie", &cookie)
            .multipart(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{label}");
        let page = r.text().await.unwrap();
        assert!(page.contains(typed), "{label}: kept");
        assert!(page.contains("đã qua"), "{label}: said");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_quiz_round_takes_one_entry_per_person_explains_each_answer_and_draws_winners_anyone_can_recompute() {
    for db in
        databases("a_quiz_round_takes_one_entry_per_person_explains_each_answer_and_draws_winners_anyone_can_recompute")
            .await
    {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let store = app.app.store.clone();
        let bank = quiz::bundled_bank();
        let ids: Vec<String> = bank.iter().take(3).map(|q| q.id.clone()).collect();
        let now = Utc::now();
        let closes = now + chrono::Duration::seconds(4);
        let round = quiz::create_round(
            &store,
            "Tìm hiểu PAPI tháng 12",
            &ids,
            now - chrono::Duration::minutes(1),
            closes,
            1,
            now,
        )
        .await
        .unwrap();
        let page = app.get(&format!("/quiz/{round}")).await.text().await.unwrap();
        let seed_hash = store.quiz_round(round).await.unwrap().unwrap().seed_hash;
        assert!(
            page.contains(&seed_hash),
            "{label}: the seed's hash is public from the opening"
        );
        // Two phones; the first answers everything right, the second the first question wrong.
        for (phone, wrong_first) in [(0, false), (1, true)] {
            let client = reqwest::Client::new();
            let first = client
                .get(app.url(&format!("/quiz/{round}?commune=11953")))
                .send()
                .await
                .unwrap();
            // The phone's device cookie, as a browser keeps it.
            let cookie = first.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            let first = first.text().await.unwrap();
            let mut csrf = common::hidden_field(&first, "csrf");
            for (i, q) in bank.iter().take(3).enumerate() {
                let choice = if wrong_first && i == 0 {
                    q.correct % q.choices.len() + 1
                } else {
                    q.correct
                };
                let answer = client
                    .post(app.url(&format!("/quiz/{round}")))
                    .header("cookie", &cookie)
                    .form(&[
                        ("csrf", csrf.clone()),
                        ("commune", "11953".into()),
                        ("index", i.to_string()),
                        ("choice", choice.to_string()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(
                    answer.contains(&q.explanation),
                    "{label}: phone {phone}: the explanation follows the answer"
                );
                if wrong_first && i == 0 {
                    assert!(answer.contains("Chưa đúng"), "{label}");
                }
                if i < 2 {
                    csrf = common::hidden_field(&answer, "csrf");
                } else {
                    assert!(answer.contains("Hoàn thành"), "{label}");
                }
            }
            // A second entry from the same phone is refused, in Vietnamese.
            let again = client
                .get(app.url(&format!("/quiz/{round}?commune=11953")))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(again.contains("Anh/chị đã tham gia vòng thi này rồi"), "{label}");
        }
        let entries = store.quiz_entries(round).await.unwrap();
        assert_eq!(entries.len(), 2, "{label}");
        let results = app.get(&format!("/quiz/{round}/results")).await.text().await.unwrap();
        assert!(
            results.contains("Phường Phố Hiến") && results.contains("2.50"),
            "{label}: mean score by commune"
        );
        // After the close the seed is public, and the draw is recomputed from it and the export alone.
        tokio::time::sleep((closes - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
        let results = app.get(&format!("/quiz/{round}/results")).await.text().await.unwrap();
        let seed = results
            .split("seed = <code>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let hash: String = {
            use sha2::Digest;
            sha2::Sha256::digest(seed.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_eq!(hash, seed_hash, "{label}: the seed matches its published hash");
        let csv = app
            .get(&format!("/quiz/{round}/entries.csv"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("web:"), "{label}: no identity in the export");
        let scored: Vec<(uuid::Uuid, i64)> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[f.len() - 2].parse().unwrap())
            })
            .collect();
        let winner = quiz::draw(&seed, &scored, 1);
        assert!(
            results.contains(&winner[0].to_string()),
            "{label}: the published winner is the recomputed one"
        );
        let best = entries.iter().find(|e| e.score == 3).unwrap();
        assert_eq!(winner[0], best.entry_id, "{label}: the best score wins");
        app.stop().await;
    }
}

#[test]
fn a_recipients_message_is_in_their_language_with_the_link_on_its_own_line() {
    let text = campaigns::message_text("Xin chào", Some("Hello"), Some("https://x.vn/a"), Lang::En);
    assert_eq!(text, "Hello\n\nhttps://x.vn/a");
    assert_eq!(campaigns::message_text("Xin chào", None, None, Lang::En), "Xin chào");
}

#[tokio::test]
async fn a_campaign_killed_mid_send_reaches_everyone_exactly_once_but_the_message_in_flight() {
    for db in databases("a_campaign_killed_mid_send_reaches_everyone_exactly_once_but_the_message_in_flight").await {
        let label = db.label;
        let tg = FakeTelegram::start().await;
        // Slow enough that the kill lands mid-campaign.
        tg.set_delay(Duration::from_millis(20));
        let settings = vec![
            ("YKIEN_TELEGRAM_TOKEN", TOKEN.to_owned()),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", SECRET.to_owned()),
            ("YKIEN_TELEGRAM_API_URL", tg.api_url()),
            ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", "1000".to_owned()),
            ("YKIEN_TELEGRAM_MAX_PER_SECOND", "100".to_owned()),
        ];
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        const PEOPLE: usize = 400;
        for i in 0..PEOPLE {
            store
                .save_chat_user(&subscriber("telegram", &(500_000 + i).to_string()), true)
                .await
                .unwrap();
        }
        let officer = official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
        let leader = official(&store, "lanhdao", "leader", None, &["33"]).await;
        let id = campaigns::draft(
            &store,
            &officer,
            &form(&["11953"], "Mời bà con dự họp dân."),
            Utc::now(),
        )
        .await
        .unwrap();
        let logs = tempfile::tempdir().unwrap();
        let first = common::Serve::start(&db, &as_env(&settings), logs.path().join("first.log"));
        assert_eq!(approve_now(&db, &store, &leader, id).await, PEOPLE, "{label}");
        wait_until(label, "the campaign never started", async || {
            tg.calls_of("sendMessage").len() >= 50
        })
        .await;
        first.kill();
        let at_kill = tg.calls_of("sendMessage").len();
        assert!(at_kill < PEOPLE, "{label}: killed mid-campaign ({at_kill} sent)");
        // The dead instance's claims run out after a minute; stand for that wait by moving them into the past.
        sql(
            &db,
            "UPDATE outbox SET locked_until = $1 WHERE sent_at IS NULL AND locked_until IS NOT NULL",
            Utc::now() - chrono::Duration::minutes(10),
        )
        .await;
        let _second = common::Serve::start(&db, &as_env(&settings), logs.path().join("second.log"));
        wait_until(label, "the campaign never finished after the restart", async || {
            let lines = campaigns::report(&store, id).await.unwrap();
            lines.iter().map(|l| l.sent_direct).sum::<i64>() == PEOPLE as i64
        })
        .await;
        let mut received: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for call in tg.calls_of("sendMessage") {
            *received
                .entry(call["chat_id"].to_string().trim_matches('"').to_owned())
                .or_default() += 1;
        }
        assert_eq!(received.len(), PEOPLE, "{label}: everyone got it");
        let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.len() <= 1,
            "{label}: only the message in flight may go twice: {twice:?}"
        );
        assert!(received.values().all(|n| *n <= 2), "{label}");
    }
}
