//! Officials on their phones (issue 20), part 2 and 3: alerts to linked Telegram chats and by email through the
//! outbox, against the fake Bot API and a real SMTP server (aiosmtpd), on both databases. A case filed through the
//! API alerts the intake desk in Telegram and by email; it is assigned and the officer is alerted; the alert ticker's
//! clock is moved through the working-time calendar: due soon, overdue (the officer, and the leader once), the
//! morning digest. With the SMTP server down, the email waits in the outbox with backoff and goes out once it is up;
//! the case is unaffected.
#![allow(clippy::unwrap_used)]

#[path = "common/chat.rs"]
mod chat;
mod common;
#[path = "../bots/tests/fakes/telegram.rs"]
mod fake_telegram;
#[path = "common/smtp.rs"]
mod smtp;
#[path = "common/telegram.rs"]
mod telegram;

use std::time::Duration;

use chat::ChatCitizen;
use chrono::{DateTime, Utc};
use common::{TestApp, databases, official};
use fake_telegram::FakeTelegram;
use smtp::SmtpServer;
use telegram::TelegramCitizen;
use ykien::domain::alerts::AlertSettings;
use ykien::domain::calendar::{WorkCalendar, from_vietnam, vn_day};
use ykien::domain::cases::{Action, Tier};
use ykien::services::accounts::Official;

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const SECRET: &str = "hook-secret-0123456789";
const PUBLIC: &str = "https://ykien.example.vn";
const INTAKE_CHAT: i64 = 710_001;
const OFFICER_CHAT: i64 = 710_002;
const LEADER_CHAT: i64 = 710_003;

async fn start(db: common::TestDb, fake: &FakeTelegram, smtp_url: &str) -> TestApp {
    let api_url = fake.api_url();
    TestApp::start_with_open_wave_and(
        db,
        &[
            ("YKIEN_TELEGRAM_TOKEN", TOKEN),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", SECRET),
            ("YKIEN_TELEGRAM_API_URL", &api_url),
            ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", "1000"),
            ("YKIEN_TELEGRAM_MAX_PER_SECOND", "1000"),
            ("YKIEN_PUBLIC_URL", PUBLIC),
            ("YKIEN_SMTP_URL", smtp_url),
            ("YKIEN_MAIL_FROM", "Ykien Hưng Yên <ykien@hungyen.gov.vn>"),
        ],
    )
    .await
}

/// Links `chat` to `official` the way an official does: a code from the service the console uses, `/link CODE`.
async fn link(app: &TestApp, fake: &FakeTelegram, official: &Official, chat: i64) {
    let store = &app.app.store;
    let surveys = ykien::services::survey::Surveys::new(store.clone(), ykien::config::Secret::new(common::TEST_SECRET));
    let code = ykien::services::linking::new_link_code(store, &surveys, official, Utc::now())
        .await
        .unwrap();
    let mut phone = TelegramCitizen::new(&[&app.base], SECRET, fake, chat);
    let linked = phone.say(&format!("/link {}", code.code)).await;
    assert!(linked.text.contains("Đã liên kết"), "{linked:?}");
}

/// Waits for the chat's messages containing `needle`, and returns how many there are (at least one).
async fn wait_for_text(fake: &FakeTelegram, chat: i64, needle: &str) -> Vec<String> {
    for _ in 0..400 {
        let found: Vec<String> = fake
            .sent_texts(chat)
            .into_iter()
            .filter(|t| t.contains(needle))
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no message with «{needle}» to chat {chat}: {:?}", fake.sent_texts(chat));
}

/// Waits until the outbox has sent everything queued for the chat, then counts its messages containing `needle`.
async fn count_after_delivery(app: &TestApp, fake: &FakeTelegram, chat: i64, needle: &str) -> usize {
    for _ in 0..400 {
        let queued = app.app.store.outbox_to("telegram", &chat.to_string()).await.unwrap();
        if queued.iter().all(|m| m.sent_at.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake.sent_texts(chat).iter().filter(|t| t.contains(needle)).count()
}

fn cases_service(app: &TestApp) -> ykien::services::cases::Cases {
    ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(WorkCalendar::default_vietnam()),
    )
}

/// 07:35 in Vietnam on the first working day after `after`.
fn next_working_morning(after: DateTime<Utc>) -> DateTime<Utc> {
    let calendar = WorkCalendar::default_vietnam();
    let mut day = vn_day(after).succ_opt().unwrap();
    while !calendar.is_working_day(day) {
        day = day.succ_opt().unwrap();
    }
    from_vietnam(day.and_hms_opt(7, 35, 0).unwrap())
}

#[tokio::test]
async fn a_case_alerts_its_officials_in_telegram_and_by_email_as_it_moves_through_its_deadlines() {
    for db in databases("a_case_alerts_its_officials_in_telegram_and_by_email_as_it_moves_through_its_deadlines").await
    {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        let mail = SmtpServer::start().await;
        let app = start(db, &fake, &mail.url()).await;
        let store = &app.app.store;
        let intake = official(store, "tiepnhan", "intake", None, &["11953"]).await;
        let officer = official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let leader = official(store, "lanhdao", "leader", None, &["33"]).await;
        // An officer of another office is not alerted about this case.
        let other = official(store, "congan", "commune_officer", Some("commune_police"), &["11953"]).await;
        for (o, chat) in [
            (&intake, INTAKE_CHAT),
            (&officer, OFFICER_CHAT),
            (&leader, LEADER_CHAT),
            (&other, 710_004),
        ] {
            link(&app, &fake, o, chat).await;
        }
        let email_too = AlertSettings {
            email: Some("tiepnhan@phohien.hungyen.gov.vn".into()),
            by_email: true,
            ..AlertSettings::default()
        };
        ykien::services::alerts::save_settings(store, intake.id, &email_too, Utc::now())
            .await
            .unwrap();
        let alerts = app.app.alerts.clone();
        // A tick before the case: the ticker reads the timelines from here on.
        alerts.tick_at(Utc::now()).await.unwrap();

        // A case filed through the API: the intake desk is alerted in Telegram and by email.
        let r = app
            .client
            .post(app.url("/api/v1/cases"))
            .json(&serde_json::json!({
                "commune": "11953", "category": "garbage",
                "text": "Bãi rác tự phát cạnh trường tiểu học Hiến Nam, bốc mùi cả tuần nay."
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{label}");
        let code = r.json::<serde_json::Value>().await.unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        alerts.tick_at(Utc::now()).await.unwrap();
        let new_case = wait_for_text(&fake, INTAKE_CHAT, "Phản ánh mới").await;
        let text = &new_case[0];
        for part in [
            code.as_str(),
            "Lĩnh vực: Rác thải không được thu gom",
            "Đơn vị: Phường Phố Hiến",
            "Hạn thụ lý:",
            &format!("{PUBLIC}/console/cases/{code}"),
        ] {
            assert!(text.contains(part), "{label}: «{part}» in {text}");
        }
        let email = mail.wait_for("tiepnhan@phohien.hungyen.gov.vn", &code).await;
        assert!(
            email["subject"].as_str().unwrap().contains("Phản ánh mới"),
            "{label}: {email}"
        );
        assert_eq!(email["content_type"], "multipart/alternative", "{label}");
        assert!(
            email["text"]
                .as_str()
                .unwrap()
                .contains("Lĩnh vực: Rác thải không được thu gom"),
            "{label}"
        );
        assert!(
            email["html"]
                .as_str()
                .unwrap()
                .contains(&format!(r#"<a href="{PUBLIC}/console/cases/{code}">"#)),
            "{label}: {email}"
        );
        assert!(
            email["headers"]["From"]
                .as_str()
                .unwrap()
                .contains("ykien@hungyen.gov.vn"),
            "{label}"
        );
        // The officer is not told of a case not assigned to them yet.
        assert!(
            fake.sent_texts(OFFICER_CHAT).iter().all(|t| !t.contains(&code)),
            "{label}"
        );

        // Accepted and assigned: the officer of its office is alerted, the other office is not.
        let cases = cases_service(&app);
        let revision = || async { store.case_by_code(&code).await.unwrap().unwrap().revision };
        let accept = Action::Accept { tier: Tier::Normal };
        cases
            .act(&intake, &code, revision().await, accept, vec![], Utc::now())
            .await
            .unwrap();
        let assign = Action::Assign {
            office: "commune_economic".into(),
        };
        cases
            .act(&intake, &code, revision().await, assign, vec![], Utc::now())
            .await
            .unwrap();
        alerts.tick_at(Utc::now()).await.unwrap();
        wait_for_text(&fake, OFFICER_CHAT, "được giao").await;

        // The ticker's clock moves: two hours before the answer's deadline, then past it.
        let due = store.case_by_code(&code).await.unwrap().unwrap().answer_due_at.unwrap();
        alerts.tick_at(due - chrono::Duration::hours(2)).await.unwrap();
        wait_for_text(&fake, OFFICER_CHAT, "sắp đến hạn").await;
        alerts.tick_at(due + chrono::Duration::minutes(30)).await.unwrap();
        wait_for_text(&fake, OFFICER_CHAT, "Phản ánh quá hạn").await;
        wait_for_text(&fake, LEADER_CHAT, "Phản ánh quá hạn").await;
        // Later ticks tell nobody again.
        alerts.tick_at(due + chrono::Duration::hours(3)).await.unwrap();
        assert_eq!(
            count_after_delivery(&app, &fake, LEADER_CHAT, "Phản ánh quá hạn").await,
            1,
            "{label}"
        );
        assert_eq!(
            count_after_delivery(&app, &fake, OFFICER_CHAT, "Phản ánh quá hạn").await,
            1,
            "{label}"
        );
        assert!(
            fake.sent_texts(710_004).iter().all(|t| !t.contains(&code)),
            "{label}: other office"
        );

        // The next working morning at 07:35: the officer's digest lists it as overdue.
        let morning = next_working_morning(due);
        alerts.tick_at(morning).await.unwrap();
        // The service's own ticker runs on the wall clock and may send today's digest meanwhile (when the suite runs
        // on a Vietnamese morning): the morning's digest is told by its date.
        let heading = format!("Bản tin sáng {}", vn_day(morning).format("%d/%m/%Y"));
        let digest = wait_for_text(&fake, OFFICER_CHAT, &heading).await;
        assert!(
            digest[0].contains(&code) && digest[0].contains("quá hạn"),
            "{label}: {digest:?}"
        );
        alerts.tick_at(morning + chrono::Duration::minutes(30)).await.unwrap();
        assert_eq!(
            count_after_delivery(&app, &fake, OFFICER_CHAT, &heading).await,
            1,
            "{label}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn with_the_smtp_server_down_an_email_waits_in_the_outbox_and_goes_out_once_it_is_up() {
    for db in databases("with_the_smtp_server_down_an_email_waits_in_the_outbox_and_goes_out_once_it_is_up").await {
        let label = db.label;
        let fake = FakeTelegram::start().await;
        // Nothing listens on this port yet.
        let port = smtp::free_port();
        let smtp_url = format!("smtp://127.0.0.1:{port}");
        let app = start(db, &fake, &smtp_url).await;
        let store = &app.app.store;
        let intake = official(store, "tiepnhan", "intake", None, &["11953"]).await;
        let settings = AlertSettings {
            email: Some("tiepnhan@phohien.hungyen.gov.vn".into()),
            by_email: true,
            by_chat: false,
            ..AlertSettings::default()
        };
        ykien::services::alerts::save_settings(store, intake.id, &settings, Utc::now())
            .await
            .unwrap();
        let alerts = app.app.alerts.clone();
        alerts.tick_at(Utc::now()).await.unwrap();
        let r = app
            .client
            .post(app.url("/api/v1/cases"))
            .json(&serde_json::json!({
                "commune": "11953", "category": "garbage",
                "text": "Rác thải đổ trộm ở đầu ngõ 12 phố Bãi Sậy từ ba hôm nay."
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{label}: the case is filed although mail is down");
        let code = r.json::<serde_json::Value>().await.unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        // (The background ticker may have queued it first: the dedupe key makes it one message either way.)
        alerts.tick_at(Utc::now()).await.unwrap();
        // The worker tries, fails, and schedules a retry.
        let to = "tiepnhan@phohien.hungyen.gov.vn";
        let mut failed = None;
        for _ in 0..400 {
            let queued = store.outbox_to("email", to).await.unwrap();
            if let Some(m) = queued.into_iter().find(|m| m.attempts > 0) {
                failed = Some(m);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let failed = failed.unwrap_or_else(|| panic!("{label}: the email was never tried"));
        assert!(failed.sent_at.is_none(), "{label}");
        assert!(
            failed.last_error.as_deref().unwrap_or_default().contains("SMTP"),
            "{label}: {failed:?}"
        );
        assert!(
            failed.next_attempt_at > Utc::now(),
            "{label}: retried later, with backoff"
        );
        // The case is untouched by the failure.
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(case.state.as_str(), "received", "{label}");

        // The server comes up; at the retry's time the email goes out, once.
        let mail = SmtpServer::start_on(port).await;
        let config = app.db.config_with(&[
            ("YKIEN_SMTP_URL", smtp_url.as_str()),
            ("YKIEN_MAIL_FROM", "ykien@hungyen.gov.vn"),
        ]);
        let sender: std::sync::Arc<dyn ykien::services::outbox::Sender> =
            std::sync::Arc::new(ykien::services::mail::MailSender::new(config.mail.as_ref().unwrap()).unwrap());
        let later = failed.next_attempt_at + chrono::Duration::seconds(1);
        ykien::services::outbox::deliver_due(store, &[sender], later, 100)
            .await
            .unwrap();
        let email = mail.wait_for(to, &code).await;
        assert!(email["text"].as_str().unwrap().contains(&code), "{label}");
        let sent = store.outbox_to("email", to).await.unwrap();
        assert_eq!(sent.len(), 1, "{label}");
        assert!(sent[0].sent_at.is_some(), "{label}: {sent:?}");
        assert_eq!(mail.messages().len(), 1, "{label}");
        app.stop().await;
    }
}
