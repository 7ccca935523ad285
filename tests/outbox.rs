//! The outbox on both databases: each case change queues one message (dedupe key), delivery is at least once and
//! never twice when two workers race, failures are retried with backoff, unknown channels wait.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use common::databases;
use ykien::domain::cases::{Action, Tier};
use ykien::services::accounts::{AccountRequest, add_official, login};
use ykien::services::outbox::{SendError, SendFuture, Sender, SentAs, deliver_due};

/// A fake channel that records what it was asked to send and fails the first `fail` times.
struct Recording {
    channel: &'static str,
    sent: Mutex<Vec<String>>,
    fail: Mutex<u32>,
}

impl Sender for Recording {
    fn channel(&self) -> &str {
        self.channel
    }

    fn send<'a>(&'a self, _recipient: &'a str, _body: &'a str, dedupe_key: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut fail = self.fail.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(SendError::Retry("HTTP 502".into()));
            }
            self.sent.lock().unwrap().push(dedupe_key.to_owned());
            Ok(SentAs::Direct)
        })
    }
}

#[tokio::test]
async fn notifications_are_delivered_once_retried_after_failures_and_kept_for_missing_channels() {
    for db in databases("notifications_are_delivered_once_retried_after_failures_and_kept_for_missing_channels").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        let day = ykien::domain::calendar::vn_day(Utc::now());
        let request = AccountRequest {
            username: "tiepnhan".into(),
            display_name: "Tiếp nhận".into(),
            password: "một mật khẩu đủ dài 2026".into(),
            role: "intake".into(),
            office: None,
            unit_codes: vec!["11953".into()],
        };
        add_official(&store, request, day).await.unwrap();
        let (_, intake) = login(&store, "tiepnhan", "một mật khẩu đủ dài 2026", "127.0.0.1", Utc::now())
            .await
            .unwrap()
            .unwrap();
        let cases = ykien::services::cases::Cases::new(
            store.clone(),
            ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
            ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
        );
        let now = Utc::now();
        let mut codes = Vec::new();
        for (channel, chat, text) in [
            ("telegram", "100200300", "Đèn đường ngõ 7 hỏng đã ba hôm rồi."),
            ("zalo", "8391938512340203", "Cống thoát nước ngõ 9 tắc gây ngập."),
        ] {
            let intake_form = ykien::services::cases::Intake {
                commune: "11953".into(),
                category: "street_light".into(),
                text: text.into(),
                channel: ykien::domain::Channel::parse(channel).unwrap(),
                reporter_chat: Some(chat.into()),
                ..Default::default()
            };
            let code = cases.submit(intake_form, now).await.unwrap().code;
            cases
                .act(&intake, &code, 0, Action::Accept { tier: Tier::Normal }, vec![], now)
                .await
                .unwrap();
            codes.push(code);
        }

        let telegram = Arc::new(Recording {
            channel: "telegram",
            sent: Mutex::new(Vec::new()),
            fail: Mutex::new(1),
        });
        let senders: Vec<Arc<dyn Sender>> = vec![telegram.clone()];
        // Two workers at once: the first attempt fails for telegram, zalo has no sender yet.
        let (a, b) = tokio::join!(
            deliver_due(&store, &senders, now, 10),
            deliver_due(&store, &senders, now, 10)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 0, "{label}");
        assert!(telegram.sent.lock().unwrap().is_empty(), "{label}");
        // Not retried before its backoff…
        assert_eq!(
            deliver_due(&store, &senders, now + Duration::seconds(30), 10)
                .await
                .unwrap(),
            0,
            "{label}"
        );
        // …then delivered once, even with two workers racing.
        let later = now + Duration::minutes(2);
        let (a, b) = tokio::join!(
            deliver_due(&store, &senders, later, 10),
            deliver_due(&store, &senders, later, 10)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 1, "{label}");
        assert_eq!(
            telegram.sent.lock().unwrap().clone(),
            [format!("{}:accept:0", codes[0])],
            "{label}"
        );
        assert_eq!(
            deliver_due(&store, &senders, later + Duration::hours(1), 10)
                .await
                .unwrap(),
            0,
            "{label}"
        );
        let first = store.case_by_code(&codes[0]).await.unwrap().unwrap();
        assert!(
            store.case_outbox(first.id).await.unwrap()[0].sent,
            "{label}: marked sent"
        );
        // The zalo message waits for its channel.
        let second = store.case_by_code(&codes[1]).await.unwrap().unwrap();
        assert!(!store.case_outbox(second.id).await.unwrap()[0].sent, "{label}");

        // A claim that ran out (its instance stalled) and was taken over is no longer its first holder's: it can
        // neither renew the claim before sending nor mark the message, and the new holder's outcome stands.
        let (first_claim, second_claim) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let t = later + Duration::hours(7);
        let taken = store
            .claim_outbox(t, Duration::seconds(60), 10, first_claim)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1, "{label}: the waiting zalo message is due again");
        assert!(
            store
                .claim_outbox(t + Duration::seconds(30), Duration::seconds(60), 10, second_claim)
                .await
                .unwrap()
                .is_empty(),
            "{label}: a live claim is passed over"
        );
        let again = store
            .claim_outbox(t + Duration::seconds(61), Duration::seconds(60), 10, second_claim)
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "{label}: an expired claim is taken over");
        let id = taken[0].id;
        assert!(
            !store
                .renew_outbox_claim(id, first_claim, t + Duration::seconds(120))
                .await
                .unwrap(),
            "{label}"
        );
        assert!(
            !store
                .outbox_sent(id, first_claim, t + Duration::seconds(62), "direct")
                .await
                .unwrap(),
            "{label}"
        );
        store
            .outbox_failed(id, first_claim, "late", t + Duration::hours(1))
            .await
            .unwrap();
        assert!(
            store
                .renew_outbox_claim(id, second_claim, t + Duration::seconds(122))
                .await
                .unwrap(),
            "{label}"
        );
        assert!(
            store
                .outbox_sent(id, second_claim, t + Duration::seconds(63), "direct")
                .await
                .unwrap(),
            "{label}"
        );
        assert!(
            store.case_outbox(second.id).await.unwrap()[0].sent,
            "{label}: sent by the second holder"
        );
        store.close().await;
    }
}
