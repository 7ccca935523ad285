//! Case news by email to reporters who left an address (issue 20, Build 4), against a real SMTP server (aiosmtpd)
//! on both databases: the news of each public change arrive as plain text plus HTML in Vietnamese with the tracking
//! link and an unsubscribe link (and `List-Unsubscribe` headers); the unsubscribe page stops them at once; an
//! address that does not parse is refused at intake; with the SMTP server down the news wait in the outbox and go
//! out once it is up, the case unaffected.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use std::time::Duration;

use chrono::Utc;
use common::{TestApp, databases, official};
use smtp::SmtpServer;

const PUBLIC: &str = "https://ykien.example.vn";
const REPORTER: &str = "nguoidan.an@gmail.com";

async fn start(db: common::TestDb, smtp_url: &str) -> TestApp {
    TestApp::start_with_open_wave_and(
        db,
        &[
            ("YKIEN_PUBLIC_URL", PUBLIC),
            ("YKIEN_SMTP_URL", smtp_url),
            ("YKIEN_MAIL_FROM", "Ykien Hưng Yên <ykien@hungyen.gov.vn>"),
        ],
    )
    .await
}

/// Files a case through the API with the reporter's email; its code.
async fn file_with_email(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/cases"))
        .json(&serde_json::json!({
            "commune": "11953", "category": "garbage", "email": email,
            "text": "Rác thải đổ trộm ở đầu ngõ 12 phố Bãi Sậy từ ba hôm nay, bốc mùi."
        }))
        .send()
        .await
        .unwrap()
}

/// One action on a case from the console, as its page's form posts it.
async fn act(app: &TestApp, cookie: &str, code: &str, fields: &[(&str, &str)]) {
    let page = app
        .client
        .get(app.url(&format!("/console/cases/{code}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let revision = app.app.store.case_by_code(code).await.unwrap().unwrap().revision;
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", common::hidden_field(&page, "csrf"))
        .text("revision", revision.to_string());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let r = app
        .client
        .post(app.url(&format!("/console/cases/{code}")))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{fields:?}: {}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_reporter_who_left_an_email_gets_the_news_and_can_stop_them() {
    for db in databases("a_reporter_who_left_an_email_gets_the_news_and_can_stop_them").await {
        let label = db.label;
        let mail = SmtpServer::start().await;
        let app = start(db, &mail.url()).await;
        let store = app.app.store.clone();
        official(&store, "tiepnhan", "intake", None, &["11953"]).await;
        official(&store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;

        // An address that does not parse is refused at intake, and nothing is stored.
        let r = file_with_email(&app, "an@@gmail").await;
        assert_eq!(r.status(), 422, "{label}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body.to_string().contains("invalid_email"), "{label}: {body}");
        assert!(
            store
                .list_cases(&ykien::storage::CaseFilter {
                    limit: 5,
                    ..Default::default()
                })
                .await
                .unwrap()
                .is_empty()
        );

        let r = file_with_email(&app, REPORTER).await;
        assert_eq!(r.status(), 201, "{label}");
        let code = r.json::<serde_json::Value>().await.unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let desk = common::session(&app, "tiepnhan").await;
        act(&app, &desk, &code, &[("action", "accept"), ("tier", "normal")]).await;

        let email = mail.wait_for(REPORTER, &code).await;
        assert!(
            email["subject"].as_str().unwrap().contains("đã thụ lý"),
            "{label}: {email}"
        );
        assert_eq!(email["content_type"], "multipart/alternative", "{label}");
        let text = email["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("Phản ánh {code} đã được thụ lý")),
            "{label}: {text}"
        );
        assert!(
            text.contains(&format!("{PUBLIC}/t/{code}")),
            "{label}: the tracking link"
        );
        let unsubscribe = email["headers"]["List-Unsubscribe"].as_str().unwrap().to_owned();
        let link = unsubscribe.trim_matches(|c| c == '<' || c == '>').to_owned();
        assert!(
            link.starts_with(&format!("{PUBLIC}/unsubscribe/")),
            "{label}: {unsubscribe}"
        );
        assert_eq!(
            email["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click",
            "{label}"
        );
        assert!(text.contains(&link), "{label}: the link in the text");
        assert!(
            email["html"].as_str().unwrap().contains(&format!("href=\"{link}\"")),
            "{label}: and in the HTML"
        );

        // The page asks first (a link scanner's GET stops nothing), the button stops the news.
        let path = link.strip_prefix(PUBLIC).unwrap();
        let page = app.get(path).await.text().await.unwrap();
        assert!(page.contains("Huỷ nhận thư về phản ánh này"), "{label}: {page}");
        assert!(
            store
                .case_news_email(store.case_by_code(&code).await.unwrap().unwrap().id)
                .await
                .unwrap()
                .is_some()
        );
        let r = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{label}");
        let page = r.text().await.unwrap();
        assert!(page.contains("Đã huỷ") && page.contains(&code), "{label}: {page}");
        // A link that is not ours, in Vietnamese.
        let r = app
            .get("/unsubscribe/0123456789abcdef0123456789abcdef0123456789abcdef")
            .await;
        assert_eq!(r.status(), 404, "{label}");
        assert!(r.text().await.unwrap().contains("Liên kết không hợp lệ"), "{label}");

        // The answer sends no more email.
        let officer = common::session(&app, "canbo").await;
        act(
            &app,
            &officer,
            &code,
            &[
                ("action", "answer"),
                (
                    "what_was_done",
                    "Tổ vệ sinh môi trường đã thu gom toàn bộ rác ở đầu ngõ 12 và đặt biển cấm đổ rác.",
                ),
                ("by_unit", "UBND phường Phố Hiến"),
            ],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let queued = store.outbox_to("email", REPORTER).await.unwrap();
        assert_eq!(queued.len(), 1, "{label}: only the news before the stop: {queued:?}");
        assert_eq!(mail.messages().len(), 1, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn with_the_smtp_server_down_a_reporters_news_wait_in_the_outbox_and_go_out_once_it_is_up() {
    for db in databases("with_the_smtp_server_down_a_reporters_news_wait_in_the_outbox_and_go_out_once_it_is_up").await
    {
        let label = db.label;
        // Nothing listens on this port yet.
        let port = smtp::free_port();
        let smtp_url = format!("smtp://127.0.0.1:{port}");
        let app = start(db, &smtp_url).await;
        let store = app.app.store.clone();
        official(&store, "tiepnhan", "intake", None, &["11953"]).await;
        let r = file_with_email(&app, REPORTER).await;
        assert_eq!(r.status(), 201, "{label}");
        let code = r.json::<serde_json::Value>().await.unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let desk = common::session(&app, "tiepnhan").await;
        act(&app, &desk, &code, &[("action", "accept"), ("tier", "normal")]).await;

        // The worker tries, fails, and schedules a retry with backoff; the case is accepted all the same.
        let mut failed = None;
        for _ in 0..400 {
            if let Some(m) = store
                .outbox_to("email", REPORTER)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.attempts > 0)
            {
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
        assert!(failed.next_attempt_at > Utc::now(), "{label}: retried later");
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(case.state.as_str(), "accepted", "{label}");

        // The server comes up; at the retry's time the news go out, once.
        let mail = SmtpServer::start_on(port).await;
        let config = app.db.config_with(&[
            ("YKIEN_SMTP_URL", smtp_url.as_str()),
            ("YKIEN_MAIL_FROM", "ykien@hungyen.gov.vn"),
        ]);
        let sender: std::sync::Arc<dyn ykien::services::outbox::Sender> =
            std::sync::Arc::new(ykien::services::mail::MailSender::new(config.mail.as_ref().unwrap()).unwrap());
        let later = failed.next_attempt_at + chrono::Duration::seconds(1);
        ykien::services::outbox::deliver_due(&store, &[sender], later, 100)
            .await
            .unwrap();
        let email = mail.wait_for(REPORTER, &code).await;
        assert!(email["text"].as_str().unwrap().contains("đã được thụ lý"), "{label}");
        let sent = store.outbox_to("email", REPORTER).await.unwrap();
        assert_eq!(sent.len(), 1, "{label}");
        assert!(sent[0].sent_at.is_some(), "{label}: {sent:?}");
        assert_eq!(mail.messages().len(), 1, "{label}");
        app.stop().await;
    }
}
