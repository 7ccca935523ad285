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
                .zalo_message_answered(
                    user,
                    &format!("old-{user}"),
                    Utc::now() - chrono::Duration::days(3),
                    0,
                    chrono::Utc::now(),
                )
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
            async || tg.count_of("sendMessage") >= 10_000 && zl.sent().len() >= 20,
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
            .zalo_message_answered("u1", "msg-1", now - chrono::Duration::hours(47), 0, chrono::Utc::now())
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
            .zalo_message_answered("u2", "msg-2", now - chrono::Duration::hours(49), 0, chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            matches!(
                zalo_rules::decide(&store, &channel, "u2", 1, now).await.unwrap(),
                ZaloKind::Wait { .. }
            ),
            "{label}"
        );
        store
            .zalo_message_answered("u2", "msg-3", now, 0, chrono::Utc::now())
            .await
            .unwrap();
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

/// A Zalo user's message and the bot's answer to it (the text of the next message Zalo was asked to send them).
async fn zalo_turn(app: &TestApp, zl: &FakeZalo, user: &str, text: &str) -> String {
    let before = zl.sent_to(user).len();
    let msg_id = format!("{user}-{before}-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(zalo_says(app, user, &msg_id, text).await, 200);
    wait_until("zalo", "the Zalo user got no answer", async || {
        zl.sent_to(user).len() > before
    })
    .await;
    zl.sent_to(user).last().unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// SHA-256 as lower-case hex, computed here rather than by ykien: what anyone checking the draw does.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The quiz round made on the console form by `cookie`'s official: its id (from the redirect), or the page refused.
async fn post_round(app: &TestApp, cookie: &str, fields: &[(&str, &str)]) -> Result<uuid::Uuid, (u16, String)> {
    let form = app
        .client
        .get(app.url("/console/quizzes"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut body = vec![("csrf".to_owned(), common::hidden_field(&form, "csrf"))];
    body.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let r = app
        .client
        .post(app.url("/console/quizzes"))
        .header("cookie", cookie)
        .form(&body)
        .send()
        .await
        .unwrap();
    match r.status().as_u16() {
        303 => Ok(r.headers()["location"]
            .to_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()),
        status => Err((status, r.text().await.unwrap())),
    }
}

fn vn_minutes_from_now(minutes: i64) -> String {
    campaigns::vn_time(Utc::now() + chrono::Duration::minutes(minutes)).replace(' ', "T")
}

#[tokio::test]
async fn a_console_round_is_answered_in_telegram_zalo_and_on_the_web_once_per_person_and_its_draw_recomputed_independently()
 {
    for db in databases(
        "a_console_round_is_answered_in_telegram_zalo_and_on_the_web_once_per_person_and_its_draw_recomputed_independently",
    )
    .await
    {
        let label = db.label;
        let (app, tg, zl) = start(db, "1000").await;
        let store = app.app.store.clone();
        official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
        official(&store, "lanhdao", "leader", None, &["33"]).await;
        let officer = common::session(&app, "canbo").await;
        let leader = common::session(&app, "lanhdao").await;
        // The officer makes a round of three questions for Phố Hiến, with its announcing campaign.
        let bank = quiz::bundled_bank();
        let questions: Vec<&quiz::Question> = bank.iter().take(3).collect();
        assert_eq!(
            questions[1].choices,
            ["6", "8", "10", "12"],
            "{label}: the test types a choice that is a number"
        );
        let (opens, closes) = (vn_minutes_from_now(-2), vn_minutes_from_now(30));
        let mut fields = vec![
            ("title", "Tìm hiểu PAPI tháng 12"),
            ("communes", "11953"),
            ("opens_vn", opens.as_str()),
            ("closes_vn", closes.as_str()),
            ("winners", "1"),
            ("announce", "1"),
        ];
        fields.extend(questions.iter().map(|q| ("question_ids", q.id.as_str())));
        let round = post_round(&app, &officer, &fields).await.unwrap();
        let stored = store.quiz_round(round).await.unwrap().unwrap();
        assert_eq!(stored.communes, "11953", "{label}");
        let announcing = store.campaign(stored.campaign_id.unwrap()).await.unwrap().unwrap();
        assert_eq!(
            (announcing.state.as_str(), announcing.link.clone()),
            ("draft", Some(format!("https://ykien.example.vn/quiz/{round}"))),
            "{label}: announced by a draft campaign with the round's link"
        );
        assert_eq!(store.campaign_communes(announcing.id).await.unwrap(), ["11953"], "{label}");
        let console = app
            .client
            .get(app.url(&format!("/console/quizzes/{round}")))
            .header("cookie", &leader)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(console.contains(&stored.seed_hash), "{label}: the seed's hash is shown from the start");

        // Telegram: An presses through, types a wrong thing, then answers by a choice's text and by its letter.
        let mut an = TelegramCitizen::new(&[&app.base], SECRET, &tg, 7101);
        let menu = an.start("commune_11953").await;
        let start_quiz = menu.payload("z:").expect("the menu offers the open round");
        let first = an.press(&start_quiz).await;
        assert!(first.text.contains(&questions[0].text), "{label}: {first:?}");
        let answer = first.payload("za:").unwrap();
        assert!(answer.ends_with(":0:1"), "{label}: {answer}");
        let second = an.press(&answer).await;
        assert!(
            second.text.contains("✅ Đúng")
                && second.text.contains(&questions[0].explanation)
                && second.text.contains(&questions[0].source)
                && second.text.contains(&questions[1].text),
            "{label}: the explanation and its source at once, then the next question: {second:?}"
        );
        let refused = an.say("có lẽ vậy").await;
        assert!(
            refused.text.contains("«có lẽ vậy» không phải là một lựa chọn của câu này")
                && refused.text.contains(&questions[1].text)
                && refused.payload("za:").is_some_and(|p| p.contains(":1:")),
            "{label}: a clear Vietnamese reply and the question asked again: {refused:?}"
        );
        let third = an.say("8").await;
        assert!(third.text.contains("✅ Đúng") && third.text.contains(&questions[2].text), "{label}: {third:?}");
        let done = an.say("b").await;
        assert!(
            done.text.contains("✅ Đúng") && done.text.contains("Hoàn thành") && done.text.contains("3/3"),
            "{label}: {done:?}"
        );
        assert!(done.payload("z:").is_none(), "{label}: a finished round is no longer offered");
        for again in [an.press(&start_quiz).await, an.say("dự thi").await] {
            assert!(
                again.text.contains("Anh/chị đã tham gia cuộc thi «Tìm hiểu PAPI tháng 12» rồi"),
                "{label}: one entry per person: {again:?}"
            );
        }

        // Zalo: the menu is full, so it says what to type; Dũng types everything, without diacritics too.
        let menu = zalo_turn(&app, &zl, "9101", "/start commune_11953").await;
        assert!(menu.contains("gõ «dự thi»"), "{label}: {menu}");
        let q1 = zalo_turn(&app, &zl, "9101", "du thi").await;
        assert!(q1.contains(&questions[0].text), "{label}: {q1}");
        let q2 = zalo_turn(&app, &zl, "9101", "nang luc canh tranh cua doanh nghiep cap tinh").await;
        assert!(
            q2.contains("❌ Chưa đúng. Đáp án đúng: A.") && q2.contains(&questions[0].explanation),
            "{label}: {q2}"
        );
        let q3 = zalo_turn(&app, &zl, "9101", "2").await;
        assert!(q3.contains("✅ Đúng") && q3.contains(&questions[2].text), "{label}: {q3}");
        let end = zalo_turn(&app, &zl, "9101", "tu 1 den 10").await;
        assert!(end.contains("Hoàn thành") && end.contains("2/3"), "{label}: {end}");
        let again = zalo_turn(&app, &zl, "9101", "dự thi").await;
        assert!(again.contains("đã tham gia"), "{label}: {again}");

        // The web: a phone answers everything right.
        let phone = reqwest::Client::new();
        let first = phone
            .get(app.url(&format!("/quiz/{round}?commune=11953")))
            .send()
            .await
            .unwrap();
        let cookie = first.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut csrf = common::hidden_field(&first.text().await.unwrap(), "csrf");
        for (i, q) in questions.iter().enumerate() {
            let page = phone
                .post(app.url(&format!("/quiz/{round}")))
                .header("cookie", &cookie)
                .form(&[
                    ("csrf", csrf.clone()),
                    ("commune", "11953".into()),
                    ("index", i.to_string()),
                    ("choice", q.correct.to_string()),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if i < 2 {
                csrf = common::hidden_field(&page, "csrf");
            } else {
                assert!(page.contains("Hoàn thành"), "{label}");
            }
        }

        // Results by commune count the chats' entries with the web's: (3 + 2 + 3) / 3.
        let entries = store.quiz_entries(round).await.unwrap();
        let mut channels: Vec<&str> = entries.iter().map(|e| e.channel.as_str()).collect();
        channels.sort_unstable();
        assert_eq!(channels, ["telegram", "web", "zalo"], "{label}");
        let results = app.get(&format!("/quiz/{round}/results")).await.text().await.unwrap();
        assert!(results.contains("Phường Phố Hiến") && results.contains("2.67"), "{label}");

        // The leader closes it from the console; the seed is out, and the draw is recomputed here by hand.
        let closed = app
            .client
            .post(app.url(&format!("/console/quizzes/{round}/close")))
            .header("cookie", &leader)
            .form(&[("csrf", common::hidden_field(&console, "csrf"))])
            .send()
            .await
            .unwrap();
        assert_eq!(closed.status(), 303, "{label}");
        let results = app.get(&format!("/quiz/{round}/results")).await.text().await.unwrap();
        let seed = results.split("seed = <code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
        assert_eq!(sha256_hex(&seed), stored.seed_hash, "{label}");
        let csv = app.get(&format!("/quiz/{round}/entries.csv")).await.text().await.unwrap();
        assert!(!csv.contains("7101") && !csv.contains("9101"), "{label}: no identity in the export");
        let rows: Vec<(String, i64)> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_owned(), f[f.len() - 2].parse().unwrap())
            })
            .collect();
        let best = rows.iter().map(|r| r.1).max().unwrap();
        let mut candidates: Vec<(String, &str)> = rows
            .iter()
            .filter(|r| r.1 == best)
            .map(|r| (sha256_hex(&format!("{seed}:{}", r.0)), r.0.as_str()))
            .collect();
        candidates.sort();
        assert_eq!(candidates.len(), 2, "{label}: Telegram's and the web's entries share the best score");
        let winner = candidates[0].1;
        assert!(results.contains(winner), "{label}: the published winner is the recomputed one");
        let drawn = app
            .client
            .post(app.url(&format!("/console/quizzes/{round}/draw")))
            .header("cookie", &leader)
            .form(&[("csrf", common::hidden_field(&console, "csrf"))])
            .send()
            .await
            .unwrap();
        assert_eq!(drawn.status(), 303, "{label}");
        let log = store.audit_log(20).await.unwrap();
        for action in ["quiz.create", "quiz.close", "quiz.draw"] {
            assert!(log.iter().any(|a| a.action == action), "{label}: {action} is audit logged");
        }
        assert!(
            log.iter()
                .any(|a| a.action == "quiz.draw" && a.detail.as_deref().is_some_and(|d| d.contains(winner))),
            "{label}"
        );
        // A closed round in the chat: not open now, said in Vietnamese.
        let late = an.press(&start_quiz).await;
        assert!(late.text.contains("đã tham gia"), "{label}: their entry still stands: {late:?}");
        let mut chi = TelegramCitizen::new(&[&app.base], SECRET, &tg, 7102);
        chi.start("commune_11953").await;
        let late = chi.press(&start_quiz).await;
        assert!(late.text.contains("không mở vào lúc này"), "{label}: {late:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_round_not_yet_open_or_for_another_commune_and_a_bad_round_form_are_refused_in_vietnamese() {
    for db in
        databases("a_round_not_yet_open_or_for_another_commune_and_a_bad_round_form_are_refused_in_vietnamese").await
    {
        let label = db.label;
        let (app, tg, _zl) = start(db, "1000").await;
        let store = app.app.store.clone();
        official(&store, "canbo", "commune_officer", Some("commune_office"), &["11953"]).await;
        let officer = common::session(&app, "canbo").await;
        let ids: Vec<String> = quiz::bundled_bank().iter().take(2).map(|q| q.id.clone()).collect();
        // Everything wrong at once: each problem said, what was typed kept, nothing stored.
        let (opens, closes) = (vn_minutes_from_now(60), vn_minutes_from_now(30));
        let Err((status, page)) = post_round(
            &app,
            &officer,
            &[
                ("title", "Vòng thi thử nghiệm"),
                ("communes", "11953, 11977"),
                ("opens_vn", opens.as_str()),
                ("closes_vn", closes.as_str()),
                ("winners", "0"),
                ("announce", "1"),
            ],
        )
        .await
        else {
            panic!("{label}: the round should be refused");
        };
        assert_eq!(status, 422, "{label}");
        for said in [
            "Vòng thi cần ít nhất một câu hỏi",
            "nằm ngoài phạm vi tài khoản",
            "Thời điểm đóng phải sau thời điểm mở",
            "Số người thắng phải là một số từ 1 đến 100",
            "Vòng thi thử nghiệm",
        ] {
            assert!(page.contains(said), "{label}: {said}");
        }
        assert!(store.quiz_rounds().await.unwrap().is_empty(), "{label}");
        assert!(
            store.campaigns(10).await.unwrap().is_empty(),
            "{label}: nor its announcement"
        );
        // A round that opens tomorrow, and one for another commune: the chat says so.
        let now = Utc::now();
        let tomorrow = quiz::create_round(
            &store,
            "Vòng thi ngày mai",
            &ids,
            now + chrono::Duration::days(1),
            now + chrono::Duration::days(2),
            1,
            now,
        )
        .await
        .unwrap();
        let mut elsewhere = quiz::new_round(
            "Vòng thi của xã khác",
            &ids,
            now,
            now + chrono::Duration::days(1),
            1,
            now,
        );
        elsewhere.communes = "11977".into();
        store.insert_quiz_round(&elsewhere).await.unwrap();
        let mut an = TelegramCitizen::new(&[&app.base], SECRET, &tg, 7201);
        let menu = an.start("commune_11953").await;
        assert!(menu.payload("z:").is_none(), "{label}: neither is offered: {menu:?}");
        let not_yet = an.press(&format!("z:{}", tomorrow.simple())).await;
        assert!(
            not_yet
                .text
                .contains("Cuộc thi «Vòng thi ngày mai» không mở vào lúc này"),
            "{label}: {not_yet:?}"
        );
        let not_here = an.press(&format!("z:{}", elsewhere.id.simple())).await;
        assert!(
            not_here.text.contains("không dành cho xã, phường của anh/chị"),
            "{label}: {not_here:?}"
        );
        let none = an.say("dự thi").await;
        assert!(
            none.text.contains("Hiện không có cuộc thi nào đang mở"),
            "{label}: {none:?}"
        );
        assert!(store.quiz_entries(tomorrow).await.unwrap().is_empty(), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_report_periods_end_prepares_one_draft_per_commune_once_linking_to_the_scorecard_once_published() {
    for db in
        databases("a_report_periods_end_prepares_one_draft_per_commune_once_linking_to_the_scorecard_once_published")
            .await
    {
        use chrono::TimeZone;
        use ykien::domain::survey::PlanPeriod;
        let label = db.label;
        let app = TestApp::start_configured(db, &[("YKIEN_PUBLIC_URL", "https://ykien.example.vn")]).await;
        let store = app.app.store.clone();
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        // w-2026 (1 Nov 2025 – 31 Oct 2026) answered in March: 40 people in Phố Hiến, 15 in 11977, 6 in 11980 (too
        // few to be shown anywhere, so no draft either).
        let wave = common::wave_2026(&store).await;
        let q =
            ykien::domain::questionnaire::Questionnaire::parse(ykien::services::demo::BUNDLED_QUESTIONNAIRE).unwrap();
        let day = ykien::domain::calendar::vn_day(Utc::now());
        let mut responses = Vec::new();
        for (i, (code, n)) in [("11953", 40), ("11977", 15), ("11980", 6)].into_iter().enumerate() {
            let unit = ykien::services::units::commune_on(&store, code, day).await.unwrap();
            let mut some =
                ykien::services::demo::synthetic_responses(&q, &wave, std::slice::from_ref(&unit), 21 + i as u64);
            some.truncate(n);
            for (j, r) in some.iter_mut().enumerate() {
                r.at = Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap() + chrono::Duration::hours(j as i64);
            }
            responses.extend(some);
        }
        store.insert_complete_responses(&responses).await.unwrap();
        let ticker = app.app.you_said.clone();
        // Before the six-month period ends (31 May, Vietnam time) nothing is prepared.
        let before_end = Utc.with_ymd_and_hms(2026, 5, 31, 12, 0, 0).unwrap();
        assert_eq!(ticker.tick_at(before_end).await.unwrap(), 0, "{label}");
        // The morning after, two ticks at once (as two instances would), then another: one draft per commune.
        let after_end = Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap();
        let (a, b) = tokio::join!(ticker.tick_at(after_end), ticker.tick_at(after_end));
        assert_eq!(a.unwrap() + b.unwrap(), 2, "{label}");
        assert_eq!(ticker.tick_at(after_end).await.unwrap(), 0, "{label}: once");
        let drafts = store.campaigns(100).await.unwrap();
        let mut origins: Vec<&str> = drafts.iter().map(|c| c.origin.as_str()).collect();
        origins.sort_unstable();
        assert_eq!(
            origins,
            [
                "you_said_we_did:w-2026:2026-6t:11953",
                "you_said_we_did:w-2026:2026-6t:11977"
            ],
            "{label}"
        );
        let phohien = drafts.iter().find(|c| c.origin.ends_with("11953")).unwrap();
        assert_eq!(phohien.state, "draft", "{label}: awaiting a leader's approval");
        assert!(
            phohien.text_vi.contains("tổng điểm") && phohien.text_vi.contains("/80"),
            "{label}"
        );
        assert_eq!(
            phohien.link.as_deref(),
            Some("https://ykien.example.vn/s/11953"),
            "{label}: not published: the survey page"
        );
        assert_eq!(store.campaign_communes(phohien.id).await.unwrap(), ["11953"], "{label}");
        // The annual period, published before it ends: its drafts link to the public scorecard.
        let leader = official(&store, "lanhdao", "leader", None, &["33"]).await;
        let annual = PlanPeriod {
            year: 2026,
            six_month: false,
        };
        store
            .publish(
                &ykien::storage::Publication {
                    province_code: "33".into(),
                    wave_code: wave.code.clone(),
                    period: Some(annual),
                    published_by: leader.id,
                    published_at: Utc::now(),
                },
                &leader.audit("publication.publish", "33"),
            )
            .await
            .unwrap();
        let year_end = Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap();
        assert_eq!(ticker.tick_at(year_end).await.unwrap(), 2, "{label}");
        assert_eq!(ticker.tick_at(year_end).await.unwrap(), 0, "{label}");
        let yearly = store.campaigns(100).await.unwrap();
        let phohien = yearly
            .iter()
            .find(|c| c.origin == "you_said_we_did:w-2026:2026:11953")
            .unwrap();
        assert_eq!(
            phohien.link.as_deref(),
            Some("https://ykien.example.vn/scores/33/11953?wave=w-2026&period=2026"),
            "{label}"
        );
        assert_eq!(yearly.len(), 4, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_demos_quiz_round_is_offered_and_answered_in_the_chats() {
    for db in databases("the_demos_quiz_round_is_offered_and_answered_in_the_chats").await {
        let label = db.label;
        let (app, tg, _zl) = start(db, "1000").await;
        let store = app.app.store.clone();
        // The demo's accounts, as `ykien demo` makes them, then its reach data.
        let today = ykien::domain::calendar::vn_day(Utc::now());
        for (username, role, office, unit) in ykien::services::demo::DEMO_ACCOUNTS {
            ykien::services::accounts::add_official(
                &store,
                ykien::services::accounts::AccountRequest {
                    username: username.into(),
                    display_name: username.into(),
                    password: ykien::services::demo::DEMO_PASSWORD.into(),
                    role: role.into(),
                    office: office.map(Into::into),
                    unit_codes: [unit].into_iter().filter(|u| !u.is_empty()).map(Into::into).collect(),
                },
                today,
            )
            .await
            .unwrap();
        }
        ykien::services::reach::demo::prepare(&store, Utc::now()).await.unwrap();
        let round = store.quiz_rounds().await.unwrap().remove(0);
        assert_eq!(round.title, ykien::services::reach::demo::DEMO_ROUND, "{label}");
        let announcing = store.campaigns(10).await.unwrap();
        assert!(
            announcing
                .iter()
                .any(|c| c.state == "draft" && c.link.as_deref().is_some_and(|l| l.ends_with(&round.id.to_string()))),
            "{label}: its announcement waits for approval"
        );
        let mut an = TelegramCitizen::new(&[&app.base], SECRET, &tg, 7301);
        let menu = an.start("commune_11953").await;
        let first = an.press(&menu.payload("z:").expect("the demo round is offered")).await;
        assert!(
            first.text.contains(ykien::services::reach::demo::DEMO_ROUND),
            "{label}: {first:?}"
        );
        let next = an.say("a").await;
        assert!(
            next.text.contains("Nguồn:") && next.text.contains("câu 2/8"),
            "{label}: {next:?}"
        );
        app.stop().await;
    }
}
