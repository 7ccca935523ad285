//! Reliability with real `ykien serve` processes: a service killed with SIGKILL in the middle of a load loses
//! nothing it acknowledged and stores nothing by halves, on both databases; several instances on one PostgreSQL
//! share the outbox without sending a message twice, keep one dialogue whichever instance each update reaches, and
//! refresh the Zalo token once.
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat::{ChatCitizen, walk_survey};
use chrono::Utc;
use common::{Serve, TestDb, as_env, databases, official, open_waves};
use fake_telegram::FakeTelegram;
use fake_zalo::FakeZalo;
use serde_json::{Value, json};
use telegram::TelegramCitizen;
use ykien::domain::cases::{Action, Tier};
use ykien::storage::Store;

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const SECRET: &str = "hook-secret-0123456789";
const API_TOKEN: &str = "api-token-api-token-api-token-0123456789";

/// The settings of a service with the Telegram bot on `fake` and the API token; `token` names the instance at the
/// fake (each instance of one test gets its own, so that the fake can tell who sent what).
fn telegram_settings(fake: &FakeTelegram, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("YKIEN_TELEGRAM_TOKEN", token.to_owned()),
        ("YKIEN_TELEGRAM_WEBHOOK_SECRET", SECRET.to_owned()),
        ("YKIEN_TELEGRAM_API_URL", fake.api_url()),
        ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", "1000".to_owned()),
        ("YKIEN_TELEGRAM_MAX_PER_SECOND", "1000".to_owned()),
        ("YKIEN_API_TOKEN", API_TOKEN.to_owned()),
        ("YKIEN_PUBLIC_URL", "https://ykien.example.vn".to_owned()),
        // Behind a load balancer: each simulated citizen has its own address in X-Forwarded-For.
        ("YKIEN_BEHIND_PROXY", "true".to_owned()),
    ]
}

/// Test-only SQL on the test database (both engines), for what no service function reads: counts, and moving a
/// claim's expiry into the past to stand for the minutes that pass before another instance may take it over.
async fn sql(db: &TestDb, statement: &str, at: Option<chrono::DateTime<Utc>>) -> i64 {
    use sqlx::Connection;
    macro_rules! run {
        ($conn:expr) => {{
            let mut conn = $conn;
            let value = if statement.trim_start().to_ascii_uppercase().starts_with("SELECT") {
                let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(statement.to_owned()));
                if let Some(at) = at {
                    q = q.bind(at);
                }
                q.fetch_one(&mut conn).await.unwrap()
            } else {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()));
                if let Some(at) = at {
                    q = q.bind(at);
                }
                q.execute(&mut conn).await.unwrap().rows_affected() as i64
            };
            conn.close().await.unwrap();
            value
        }};
    }
    if db.url.starts_with("sqlite:") {
        run!(sqlx::SqliteConnection::connect(&db.url).await.unwrap())
    } else {
        run!(sqlx::PgConnection::connect(&db.url).await.unwrap())
    }
}

/// `n` feedback cases from Telegram chats `first_chat`, `first_chat + 1` …, each accepted by an official: one
/// message per case waits in the outbox. Returns each chat with its message's text.
async fn queue_news(store: &Store, n: i64, first_chat: i64) -> BTreeMap<String, String> {
    let cases = ykien::services::cases::Cases::new(
        store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let intake = official(store, &format!("tiepnhan{first_chat}"), "intake", None, &["11953"]).await;
    let mut news = BTreeMap::new();
    for i in 0..n {
        let chat = (first_chat + i).to_string();
        let intake_form = ykien::services::cases::Intake {
            commune: "11953".into(),
            category: "street_light".into(),
            text: format!("Đèn đường số {i} ở ngõ 7 hỏng đã ba hôm rồi."),
            channel: ykien::domain::Channel::Telegram,
            reporter_chat: Some(chat.clone()),
            ..Default::default()
        };
        let code = cases.submit(intake_form, Utc::now()).await.unwrap().code;
        cases
            .act(
                &intake,
                &code,
                0,
                Action::Accept { tier: Tier::Normal },
                vec![],
                Utc::now(),
            )
            .await
            .unwrap();
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        let queued = store.case_outbox(case.id).await.unwrap();
        assert_eq!(queued.len(), 1, "one message for the acceptance");
        let body: Value = serde_json::from_str(&queued[0].body).unwrap();
        news.insert(chat, body["text"].as_str().unwrap().to_owned());
    }
    news
}

/// How many times each chat of `news` got its message at the fake (checking that nothing else went to those chats).
fn deliveries(fake: &FakeTelegram, news: &BTreeMap<String, String>) -> HashMap<String, usize> {
    let mut count = HashMap::new();
    for params in fake.calls_of("sendmessage") {
        let chat = params["chat_id"].to_string().trim_matches('"').to_owned();
        if let Some(text) = news.get(&chat) {
            assert_eq!(
                params["text"].as_str(),
                Some(text.as_str()),
                "only the case's news go to chat {chat}"
            );
            *count.entry(chat).or_insert(0) += 1;
        }
    }
    count
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A complete response as the API takes it, with the number of answers it holds.
fn response_bodies(
    store_wave: &ykien::domain::survey::Wave,
    communes: &[ykien::domain::units::Unit],
) -> Vec<(Value, usize)> {
    let q = ykien::domain::questionnaire::Questionnaire::parse(ykien::services::demo::BUNDLED_QUESTIONNAIRE).unwrap();
    let code_of: HashMap<_, _> = communes.iter().map(|u| (u.id, u.code.clone())).collect();
    ykien::services::demo::synthetic_responses(&q, store_wave, communes, 7)
        .into_iter()
        .map(|r| {
            let answers: serde_json::Map<String, Value> = r
                .answers
                .iter()
                .map(|(question, code, text)| (question.clone(), Value::String(code.clone().or(text.clone()).unwrap())))
                .collect();
            let n = answers.len();
            (json!({ "commune": code_of[&r.unit_id], "answers": answers }), n)
        })
        .collect()
}

/// What the load got a success answer for.
#[derive(Default)]
struct Acknowledged {
    /// Response id → the number of answers sent.
    responses: Vec<(uuid::Uuid, usize)>,
    /// Tracking codes of cases created through the API.
    cases: Vec<String>,
    /// Telegram chats whose /start update was answered 200.
    chats: Vec<i64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_service_killed_mid_load_loses_nothing_it_acknowledged_and_delivers_the_queued_news_after_restart() {
    for db in
        databases("a_service_killed_mid_load_loses_nothing_it_acknowledged_and_delivers_the_queued_news_after_restart")
            .await
    {
        let label = db.label;
        let logs = tempfile::tempdir().unwrap();
        let store = db.store().await;
        open_waves(&store).await;
        let wave = store.wave_by_code("w-open").await.unwrap();
        let today = ykien::domain::calendar::vn_day(Utc::now());
        let communes = ykien::services::units::children(&store, Some("33"), today)
            .await
            .unwrap();
        let bodies = Arc::new(response_bodies(&wave, &communes[..3]));
        // News already queued when the service starts, and a platform slow enough that the kill finds some
        // sent, one in flight and the rest waiting.
        let news = queue_news(&store, 30, 7_100_000).await;
        let fake = FakeTelegram::start().await;
        fake.set_delay(Duration::from_millis(150));
        let settings = telegram_settings(&fake, TOKEN);
        let first = Serve::start(&db, &as_env(&settings), logs.path().join("first.log"));

        // The load: survey responses and cases through the API, /start updates through the webhook.
        let acked = Arc::new(Mutex::new(Acknowledged::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut load = tokio::task::JoinSet::new();
        for worker in 0..6_usize {
            let (acked, stop, client, bodies, base) = (
                acked.clone(),
                stop.clone(),
                client.clone(),
                bodies.clone(),
                first.base.clone(),
            );
            load.spawn(async move {
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    i += 6;
                    let forwarded = format!("10.{}.{}.{}", worker, i / 250 % 250, i % 250);
                    let sent = match worker {
                        0..3 => {
                            let (body, n) = &bodies[i % bodies.len()];
                            client
                                .post(format!("{base}/api/v1/waves/w-open/responses"))
                                .bearer_auth(API_TOKEN)
                                .json(body)
                                .send()
                                .await
                                .map(|r| (r, Some(*n)))
                        }
                        3..5 => client
                            .post(format!("{base}/api/v1/cases"))
                            .header("x-forwarded-for", &forwarded)
                            .json(&json!({
                                "commune": "11953",
                                "category": "street_light",
                                "text": format!("Đèn đường cột số {i} ngõ 12 không sáng từ tuần trước."),
                            }))
                            .send()
                            .await
                            .map(|r| (r, None)),
                        _ => {
                            let chat = 8_000_000 + i as i64;
                            let update = json!({
                                "update_id": chat,
                                "message": {
                                    "message_id": 1, "date": 1_764_000_000, "text": "/start commune_11953",
                                    "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }],
                                    "chat": { "id": chat, "type": "private", "first_name": "Lan" },
                                    "from": { "id": chat, "is_bot": false, "first_name": "Lan", "language_code": "vi" },
                                },
                            });
                            let r = client
                                .post(format!("{base}/webhooks/telegram"))
                                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                                .json(&update)
                                .send()
                                .await;
                            if let Ok(r) = &r
                                && r.status() == 200
                            {
                                acked.lock().unwrap().chats.push(chat);
                            }
                            continue;
                        }
                    };
                    // Only a whole success answer counts as acknowledged; a cut connection does not.
                    let Ok((r, answers)) = sent else { continue };
                    let status = r.status().as_u16();
                    let Ok(body) = r.json::<Value>().await else { continue };
                    match (status, answers) {
                        (201, Some(n)) => acked
                            .lock()
                            .unwrap()
                            .responses
                            .push((body["id"].as_str().unwrap().parse().unwrap(), n)),
                        (201, None) => acked
                            .lock()
                            .unwrap()
                            .cases
                            .push(body["code"].as_str().unwrap().to_owned()),
                        (status, _) => panic!("{label}: the service answered {status} under load: {body}"),
                    }
                }
            });
        }
        // Kill it once every kind of request has been acknowledged a few times and news are on their way.
        wait_until("some of everything acknowledged", Duration::from_secs(60), async || {
            let a = acked.lock().unwrap();
            a.responses.len() >= 20
                && a.cases.len() >= 10
                && a.chats.len() >= 10
                && fake.calls_of("sendmessage").len() >= 5
        })
        .await;
        first.kill();
        stop.store(true, Ordering::Relaxed);
        while let Some(worker) = load.join_next().await {
            worker.unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        let news_before = deliveries(&fake, &news).values().sum::<usize>();
        assert!(
            news_before < news.len(),
            "{label}: some news were still queued at the kill"
        );

        // What the dead instance had claimed stays claimed until its claims run out (2 minutes for chat events,
        // 1 for messages); stand for that wait by moving the claims into the past.
        let past = Utc::now() - chrono::Duration::minutes(10);
        sql(
            &db,
            "UPDATE chat_events SET claimed_until = $1 WHERE handled_at IS NULL",
            Some(past),
        )
        .await;
        sql(
            &db,
            "UPDATE outbox SET locked_until = $1 WHERE sent_at IS NULL AND locked_until IS NOT NULL",
            Some(past),
        )
        .await;
        let mut second = Serve::start(&db, &as_env(&settings), logs.path().join("second.log"));

        // Every acknowledged response is stored whole: the same number of answers as were sent.
        for (id, n) in &acked.responses {
            assert_eq!(store.answers(*id).await.unwrap().len(), *n, "{label}: response {id}");
        }
        // Nothing stored by halves: no response without its answers, no case without its creation event.
        assert_eq!(
            sql(&db, "SELECT COUNT(*) FROM responses r WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE a.response_id = r.id)", None).await,
            0,
            "{label}: responses without answers"
        );
        assert_eq!(
            sql(
                &db,
                "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id)",
                None
            )
            .await,
            0,
            "{label}: cases without their first event"
        );
        for code in &acked.cases {
            assert!(
                store.case_by_code(code).await.unwrap().is_some(),
                "{label}: case {code}"
            );
        }
        // Every acknowledged update is recorded, and handled after the restart if it was not before: each chat
        // gets its menu.
        let recorded: BTreeSet<String> = store
            .chat_events_of_kind("telegram", "command")
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for chat in &acked.chats {
            assert!(recorded.contains(&chat.to_string()), "{label}: update {chat} recorded");
        }
        wait_until(
            "every acknowledged update handled",
            Duration::from_secs(60),
            async || sql(&db, "SELECT COUNT(*) FROM chat_events WHERE handled_at IS NULL", None).await == 0,
        )
        .await;
        for chat in &acked.chats {
            let texts = fake.sent_texts(chat);
            assert!(
                texts.iter().any(|t| t.contains("Xin chào")),
                "{label}: chat {chat} got its menu: {texts:?}"
            );
        }
        // Every queued message goes out after the restart. The platforms take no idempotency key, so the one
        // message in flight at the kill (sent, not yet marked) may arrive twice; no other.
        wait_until("every queued message sent", Duration::from_secs(60), async || {
            sql(
                &db,
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND channel = 'telegram'",
                None,
            )
            .await
                == 0
        })
        .await;
        let delivered = deliveries(&fake, &news);
        assert_eq!(delivered.len(), news.len(), "{label}: every chat got its news");
        let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.len() <= 1 && twice.iter().all(|(_, n)| **n == 2),
            "{label}: sent more than once: {twice:?}"
        );
        assert!(second.terminate(), "{label}: the second instance stops cleanly");
        store.close().await;
    }
}

/// The PostgreSQL server of this run, or a SKIPPED line.
fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("YKIEN_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: YKIEN_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_one_postgresql_share_the_outbox_keep_one_dialogue_and_refresh_the_zalo_token_once() {
    let test = "three_instances_on_one_postgresql_share_the_outbox_keep_one_dialogue_and_refresh_the_zalo_token_once";
    let Some(server) = postgres_url(test) else { return };
    let db = TestDb::postgres(&server).await;
    let logs = tempfile::tempdir().unwrap();
    let store = db.store().await;
    open_waves(&store).await;
    let fake = FakeTelegram::start().await;
    let fake_zalo = FakeZalo::start("access-0", "refresh-0").await;
    let zalo_settings = zalo::settings(&fake_zalo);
    // The OA connected (as `ykien zalo connect` does), with a token that expires within the hour: every
    // instance's background work wants to refresh it as soon as it starts.
    zalo::connect(&db, &as_env(&zalo_settings), &store).await;
    let old_token = zalo::expire_soon(&store).await;
    assert_eq!(fake_zalo.oauth_calls(), 1, "the connect");
    fake_zalo.set_oauth_delay(Duration::from_secs(1));

    let instances: Vec<Serve> = (0..3)
        .map(|i| {
            let mut settings = telegram_settings(&fake, &format!("123456789:AAE-instance-{i}-of-the-right-shape"));
            settings.extend(zalo_settings.iter().cloned());
            Serve::start(&db, &as_env(&settings), logs.path().join(format!("instance-{i}.log")))
        })
        .collect();
    let bases: Vec<&str> = instances.iter().map(|s| s.base.as_str()).collect();

    // One refresh for the three, and all of them go on with its tokens.
    wait_until("the token refreshed", Duration::from_secs(30), async || {
        store.channel_tokens("zalo").await.unwrap().unwrap().access_token != old_token
    })
    .await;
    // Every instance's background work has run again meanwhile (every 5 s).
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(fake_zalo.oauth_calls(), 2, "one refresh by one instance");
    let stored = store.channel_tokens("zalo").await.unwrap().unwrap();
    assert_eq!(Some(stored.access_token.clone()), fake_zalo.current_access_token());
    assert_eq!(stored.refresh_token, fake_zalo.current_refresh_token());

    // One citizen's consecutive updates land on the three instances in turn: the dialogue goes on as with one.
    let mut lan = TelegramCitizen::new(&bases, SECRET, &fake, 500_900);
    let menu = lan.start("commune_11953").await;
    assert!(menu.text.contains("Phố Hiến"), "{menu:?}");
    let first = lan.press("m:survey").await;
    assert!(first.text.contains("[0%"), "{first:?}");
    let done = walk_survey(&mut lan, first).await;
    assert!(done.text.contains("ẩn danh"), "{done:?}");
    let again = lan.press("m:survey").await;
    assert!(again.text.contains("đã trả lời khảo sát đợt này rồi"), "{again:?}");
    let wave = store.wave_by_code("w-open").await.unwrap();
    let responses = store.complete_responses_by_channel(wave.id, "telegram").await.unwrap();
    assert_eq!(responses.len(), 1, "one response, stored once");
    assert!(store.answers(responses[0]).await.unwrap().len() > 20);

    // Sixty messages queued at once, on a slow platform: the three instances share them, none is sent twice.
    fake.set_delay(Duration::from_millis(100));
    let news = queue_news(&store, 60, 7_200_000).await;
    wait_until("every message sent", Duration::from_secs(90), async || {
        sql(&db, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL", None).await == 0
    })
    .await;
    let delivered = deliveries(&fake, &news);
    assert_eq!(delivered.len(), news.len(), "every chat got its news");
    assert!(delivered.values().all(|n| *n == 1), "sent twice: {delivered:?}");
    let senders: BTreeSet<String> = fake
        .calls_with_token()
        .into_iter()
        .filter(|(_, method, params)| {
            method == "sendmessage" && news.contains_key(params["chat_id"].to_string().trim_matches('"'))
        })
        .map(|(token, _, _)| token)
        .collect();
    assert!(senders.len() >= 2, "the work was shared: only {senders:?} sent");
    for mut instance in instances {
        let logs = instance.logs();
        assert!(!logs.contains("ERROR"), "{logs}");
        assert!(instance.terminate());
    }
    store.close().await;
}
