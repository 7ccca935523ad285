//! The Zalo Official Account end to end: the real service and the real reqwest client of `ykien-bots` talking to a
//! fake Zalo OpenAPI and OAuth server, webhook events signed as Zalo signs them (the real fixture payloads among
//! them), on both databases.
#![allow(clippy::unwrap_used)]

#[path = "common/chat.rs"]
mod chat;
mod common;
#[path = "../bots/tests/fakes/zalo.rs"]
mod fake_zalo;
#[path = "common/zalo.rs"]
mod zalo;

use std::time::Duration;

use chat::{ChatCitizen, Reply, answer_case, tracking_code, walk_survey};
use common::{TestApp, TestDb, as_env, databases};
use fake_zalo::FakeZalo;
use serde_json::{Value, json};
use zalo::{APP_ID, OA_KEY};

const API_TOKEN: &str = "api-token-api-token-api-token-0123456789";
const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_progressive.jpg");
const WAIT: Duration = Duration::from_secs(20);

/// The OA's settings and the API token.
fn settings(fake: &FakeZalo) -> Vec<(&'static str, String)> {
    let mut all = zalo::settings(fake);
    all.push(("YKIEN_API_TOKEN", API_TOKEN.to_owned()));
    all
}

/// The service with the OA connected (as `ykien zalo connect` does) to a fake Zalo.
async fn start(db: TestDb) -> (TestApp, FakeZalo) {
    let fake = FakeZalo::start("access-0", "refresh-0").await;
    let settings = settings(&fake);
    let app = TestApp::start_with_open_wave_and(db, &as_env(&settings)).await;
    zalo::connect(&app.db, &as_env(&settings), &app.app.store).await;
    (app, fake)
}

fn sign(body: &str) -> String {
    ykien_bots::zalo::sign(body.as_bytes(), OA_KEY).unwrap()
}

async fn post_event(app: &TestApp, signature: Option<&str>, body: &str) -> u16 {
    let mut request = app
        .client
        .post(app.url("/webhooks/zalo"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-ZEvent-Signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn post_signed(app: &TestApp, event: &Value) -> u16 {
    let body = event.to_string();
    post_event(app, Some(&sign(&body)), &body).await
}

/// A Zalo user who follows the OA.
struct ZaloCitizen<'a> {
    app: &'a TestApp,
    fake: &'a FakeZalo,
    id: String,
    next: u64,
}

impl<'a> ZaloCitizen<'a> {
    fn new(app: &'a TestApp, fake: &'a FakeZalo, id: &str) -> Self {
        Self {
            app,
            fake,
            id: id.to_owned(),
            next: 0,
        }
    }

    fn event(&mut self, name: &str, message: Value) -> Value {
        self.next += 1;
        json!({
            "app_id": APP_ID,
            "user_id_by_app": "552177279717587730",
            "event_name": name,
            "timestamp": format!("{}", 1_764_000_000_000_u64 + self.next),
            "sender": { "id": self.id },
            "recipient": { "id": "388613280878808645" },
            "message": message,
        })
    }

    fn text_event(&mut self, text: &str) -> Value {
        let msg_id = format!("{}-{}", self.id, self.next + 1);
        self.event("user_send_text", json!({ "text": text, "msg_id": msg_id }))
    }

    /// Posts a signed event and waits for the next message to this user.
    async fn send(&mut self, event: Value) -> Reply {
        let before = self.fake.sent_to(&self.id).len();
        assert_eq!(post_signed(self.app, &event).await, 200);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sent = self.fake.sent_to(&self.id);
            if sent.len() > before {
                return reply_of(sent.last().unwrap());
            }
            assert!(tokio::time::Instant::now() < deadline, "no reply to {}", self.id);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn follow(&mut self) -> Reply {
        self.next += 1;
        let event = json!({
            "oa_id": "388613280879808645",
            "follower": { "id": self.id },
            "user_id_by_app": "552172779717587730",
            "event_name": "follow",
            "source": "oa_profile",
            "app_id": APP_ID,
            "timestamp": format!("{}", 1_764_000_000_000_u64 + self.next),
        });
        self.send(event).await
    }

    async fn photo(&mut self, url: &str) -> Reply {
        let msg_id = format!("{}-{}", self.id, self.next + 1);
        let event = self.event(
            "user_send_image",
            json!({ "msg_id": msg_id, "attachments": [{ "type": "image", "payload": { "url": url, "thumbnail": url } }] }),
        );
        self.send(event).await
    }

    async fn location(&mut self, lat: &str, lon: &str) -> Reply {
        let msg_id = format!("{}-{}", self.id, self.next + 1);
        let event = self.event(
            "user_send_location",
            json!({ "msg_id": msg_id, "attachments": [{ "type": "location", "payload": { "coordinates": { "latitude": lat, "longitude": lon } } }] }),
        );
        self.send(event).await
    }
}

/// A sent Zalo `message` as the citizen sees it: the text and the payloads of its `oa.query.show` buttons.
fn reply_of(message: &Value) -> Reply {
    let payloads = message["attachment"]["payload"]["buttons"]
        .as_array()
        .map(|buttons| {
            buttons
                .iter()
                .map(|b| {
                    let payload = b["payload"].as_str().unwrap();
                    payload
                        .strip_prefix(ykien_bots::zalo::BUTTON_PREFIX)
                        .unwrap()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    Reply {
        text: message["text"].as_str().unwrap_or_default().to_owned(),
        payloads,
    }
}

impl ChatCitizen for ZaloCitizen<'_> {
    async fn say(&mut self, text: &str) -> Reply {
        let event = self.text_event(text);
        self.send(event).await
    }

    /// Zalo delivers a button press as the text of its payload.
    async fn press(&mut self, payload: &str) -> Reply {
        let event = self.text_event(&ykien_bots::zalo::button_payload(payload));
        self.send(event).await
    }

    /// A voice message: `user_send_audio` with the URL of the recording, as for images.
    async fn voice(&mut self, name: &str, bytes: &[u8]) -> Reply {
        self.fake.add_image(name, bytes.to_vec());
        let url = self.fake.image_url(name);
        let msg_id = format!("{}-{}", self.id, self.next + 1);
        let event = self.event(
            "user_send_audio",
            json!({ "msg_id": msg_id, "attachments": [{ "type": "audio", "payload": { "url": url } }] }),
        );
        self.send(event).await
    }

    async fn sticker(&mut self) -> Reply {
        let msg_id = format!("{}-{}", self.id, self.next + 1);
        let event = self.event(
            "user_send_sticker",
            json!({ "msg_id": msg_id, "attachments": [{ "type": "sticker", "payload": { "id": "s1" } }] }),
        );
        self.send(event).await
    }
}

async fn wait_until(label: &str, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{label}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_whole_survey_and_a_feedback_case_over_zalo_are_stored_as_over_the_web_and_answered_in_zalo() {
    for db in
        databases("a_whole_survey_and_a_feedback_case_over_zalo_are_stored_as_over_the_web_and_answered_in_zalo").await
    {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = app.app.store.clone();
        let mut hoa = ZaloCitizen::new(&app, &fake, "8391938512340203");

        let menu = hoa.follow().await;
        assert!(
            menu.text.contains("Xin chào") && menu.payloads.len() <= 5,
            "{label}: {menu:?}"
        );
        // No poster named the commune: asked.
        let ask = hoa.press("m:survey").await;
        assert!(ask.text.contains("xã, phường nào"), "{label}: {ask:?}");
        let first = hoa.say("11953").await;
        let done = walk_survey(&mut hoa, first).await;
        assert!(done.text.contains("ẩn danh"), "{label}: {done:?}");

        let wave = store.wave_by_code("w-open").await.unwrap();
        let over_zalo = store.complete_responses_by_channel(wave.id, "zalo").await.unwrap();
        assert_eq!(over_zalo.len(), 1, "{label}");
        let stored = store.answers(over_zalo[0]).await.unwrap();
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
        assert_eq!(
            store.answers(id).await.unwrap(),
            stored,
            "{label}: stored exactly as through the API"
        );

        // Feedback: more than five categories come as a numbered list, answered by typing the number.
        let categories = hoa.press("m:feedback").await;
        assert!(
            categories.payloads.is_empty()
                && categories.text.contains("Gõ số để chọn")
                && categories.text.contains("1. "),
            "{label}: {categories:?}"
        );
        let text_prompt = hoa.say("1").await;
        assert!(text_prompt.text.contains("mô tả"), "{label}: {text_prompt:?}");
        let text = "Đường Nguyễn Văn Linh trước số 45 có ổ gà lớn, xe máy ngã hai lần trong tuần này.";
        hoa.say(text).await;
        fake.add_image("o-ga.jpg", PHOTO.to_vec());
        let one = hoa.photo(&fake.image_url("o-ga.jpg")).await;
        assert!(one.text.contains("Đã nhận 1 ảnh"), "{label}: {one:?}");
        let missing = hoa.photo(&fake.image_url("khong-co.jpg")).await;
        assert!(missing.text.contains("Không tải được ảnh này"), "{label}: {missing:?}");
        let where_ = hoa.press("f:next").await;
        assert!(
            where_
                .text
                .contains("Gửi vị trí bằng chức năng chia sẻ vị trí của Zalo"),
            "{label}: Zalo has no location button, the text says how: {where_:?}"
        );
        let confirm = hoa.location("20.6465", "106.0511").await;
        assert!(confirm.text.contains("20.64650, 106.05110"), "{label}: {confirm:?}");
        let contact = json!({
            "sender": { "id": hoa.id }, "recipient": { "id": "388613280879880645" },
            "event_name": "user_submit_info", "app_id": APP_ID, "timestamp": "1764000000999",
            "info": { "name": "Trần Thị Hoa", "phone": "84912345678", "full_address": { "user_city": "Hưng Yên" } }
        });
        let with_contact = hoa.send(contact).await;
        assert!(
            with_contact.text.contains("Đã ghi nhận thông tin liên lạc"),
            "{label}: {with_contact:?}"
        );
        let sent = hoa.press("f:send").await;
        let code = tracking_code(&sent.text).unwrap_or_else(|| panic!("{label}: {sent:?}"));
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(
            (case.channel.as_str(), case.reporter_chat.as_deref()),
            ("zalo", Some("8391938512340203")),
            "{label}"
        );
        assert_eq!((case.category.as_str(), case.text.as_str()), ("road", text), "{label}");
        assert_eq!(store.case_attachments(case.id).await.unwrap().len(), 1, "{label}");
        let reporter = store.case_reporter(case.id).await.unwrap();
        assert_eq!(reporter.phone.as_deref(), Some("84912345678"), "{label}");

        // The answer reaches Zalo with five rating buttons; the rating is stored.
        answer_case(
            &store,
            &code,
            "Ngày 25/11 tổ công tác đã vá ổ gà trước số 45 Nguyễn Văn Linh bằng bê tông nhựa.",
        )
        .await;
        wait_until(label, "the answer never reached Zalo", async || {
            fake.sent_to(&hoa.id)
                .iter()
                .any(|m| m["text"].as_str().unwrap_or_default().contains("đã có trả lời"))
        })
        .await;
        let answered = fake
            .sent_to(&hoa.id)
            .into_iter()
            .find(|m| m["text"].as_str().unwrap_or_default().contains("đã có trả lời"))
            .unwrap();
        let rating = reply_of(&answered);
        assert_eq!(rating.payloads.len(), 5, "{label}: {rating:?}");
        // Every news of the case is out before the citizen's next turn, so that its answer is the next message.
        wait_until(label, "news of the case still waiting", async || {
            store.case_outbox(case.id).await.unwrap().iter().all(|m| m.sent)
        })
        .await;
        let thanks = hoa.press(&format!("r:{code}:5")).await;
        assert!(thanks.text.contains("đánh giá 5/5"), "{label}: {thanks:?}");
        assert_eq!(
            store.case_rating(case.id).await.unwrap().map(|r| r.score),
            Some(5),
            "{label}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn news_for_a_citizen_zalo_will_not_take_wait_on_the_tracking_page_and_go_when_they_write_again() {
    for db in
        databases("news_for_a_citizen_zalo_will_not_take_wait_on_the_tracking_page_and_go_when_they_write_again").await
    {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = app.app.store.clone();
        let mut hoa = ZaloCitizen::new(&app, &fake, "5550001112223334");
        hoa.say("/start commune_11953").await;
        hoa.press("m:feedback").await;
        hoa.say("2").await;
        hoa.say("Đèn đường ngõ 7 phố Bãi Sậy hỏng đã ba hôm, tối đi lại rất nguy hiểm.")
            .await;
        hoa.press("f:next").await;
        let sent = hoa.press("f:noloc").await;
        assert!(sent.text.contains("Gửi phản ánh này?"), "{label}: {sent:?}");
        let code = tracking_code(&hoa.press("f:send").await.text).unwrap();

        // Seven days later Zalo refuses to deliver (-230): the news waits and the tracking page says so.
        fake.make_unreachable(&hoa.id, -230);
        answer_case(
            &store,
            &code,
            "Đã thay bóng đèn đường ngõ 7 phố Bãi Sậy ngày 26/11, đèn sáng bình thường.",
        )
        .await;
        wait_until(label, "never marked unreachable", async || {
            !store.chat_user("zalo", &hoa.id).await.unwrap().unwrap().reachable
        })
        .await;
        let page = app.get(&format!("/t/{code}")).await.text().await.unwrap();
        assert!(
            page.contains("đang chờ gửi đến Zalo"),
            "{label}: the tracking page shows what waits"
        );

        // The citizen writes again: the waiting news go out at once.
        fake.make_reachable(&hoa.id);
        hoa.say("Cho tôi hỏi phản ánh của tôi").await;
        wait_until(label, "the answer never went out", async || {
            fake.sent_to(&hoa.id)
                .iter()
                .any(|m| m["text"].as_str().unwrap_or_default().contains("đã có trả lời"))
        })
        .await;
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        wait_until(label, "not marked sent", async || {
            store.case_outbox(case.id).await.unwrap().iter().all(|m| m.sent)
        })
        .await;
        let page = app.get(&format!("/t/{code}")).await.text().await.unwrap();
        assert!(!page.contains("đang chờ gửi"), "{label}");

        // Three days of silence later (past Zalo's 48-hour reply window), with the month's proactive quota spent, the
        // case is closed: the news is not even offered to Zalo, it waits with the reason, and goes as a reply
        // quoting the citizen's next message.
        let now = chrono::Utc::now();
        store
            .zalo_message_answered(
                &hoa.id,
                "an-old-message",
                now - chrono::Duration::days(3),
                0,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let (month, _) = ykien::services::reach::zalo_rules::vn_month(now);
        fake.set_quota(0, 1000);
        store.store_zalo_quota(&month, 0, 1000, now).await.unwrap();
        let sends_before = fake.sent_to(&hoa.id).len();
        let attempts_before = fake.calls_to("/v3.0/oa/message/cs").len();
        let intake =
            ykien::services::accounts::login(&store, "tiepnhan", common::PASSWORD, "127.0.0.1", chrono::Utc::now())
                .await
                .unwrap()
                .unwrap()
                .1;
        let cases = ykien::services::cases::Cases::new(
            store.clone(),
            ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
            ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
        );
        let revision = store.case_by_code(&code).await.unwrap().unwrap().revision;
        cases
            .act(
                &intake,
                &code,
                revision,
                ykien::domain::cases::Action::Close,
                vec![],
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        wait_until(label, "the closing news never waited", async || {
            store
                .case_outbox(case.id)
                .await
                .unwrap()
                .iter()
                .any(|m| m.last_error.as_deref().is_some_and(|e| e.starts_with("waiting: ")))
        })
        .await;
        assert_eq!(
            fake.calls_to("/v3.0/oa/message/cs").len(),
            attempts_before,
            "{label}: Zalo was not asked"
        );
        let page = app.get(&format!("/t/{code}")).await.text().await.unwrap();
        assert!(page.contains("Đang chờ: quá 48 giờ"), "{label}: the reason is shown");
        assert!(
            page.contains("tin phản hồi Zalo"),
            "{label}: how the earlier news went is shown"
        );
        let event = hoa.text_event("Cảm ơn");
        let quoted = event["message"]["msg_id"].as_str().unwrap().to_owned();
        assert_eq!(post_signed(&app, &event).await, 200);
        wait_until(label, "the closing news never went out", async || {
            fake.sent_to(&hoa.id)[sends_before..]
                .iter()
                .any(|m| m["text"].as_str().unwrap_or_default().contains("đã được đóng"))
        })
        .await;
        let closing = fake
            .sent_quoting()
            .into_iter()
            .zip(fake.sent())
            .filter(|((to, _), (_, m))| {
                to == &hoa.id && m["text"].as_str().unwrap_or_default().contains("đã được đóng")
            })
            .map(|((_, quote), _)| quote)
            .next_back()
            .unwrap();
        assert_eq!(
            closing.as_deref(),
            Some(quoted.as_str()),
            "{label}: sent as a reply to the new message"
        );
        assert_eq!(
            fake.quota_remain(),
            0,
            "{label}: no proactive message went past the quota"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn two_concurrent_refreshes_make_one_oauth_call_and_a_refused_token_is_refreshed_once() {
    for db in databases("two_concurrent_refreshes_make_one_oauth_call_and_a_refused_token_is_refreshed_once").await {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = app.app.store.clone();
        assert_eq!(fake.oauth_calls(), 1, "{label}: the connect");
        // The stored token is about to expire: two instances (two channels on one database) want it at once.
        let now = chrono::Utc::now();
        zalo::expire_soon(&store).await;
        fake.set_oauth_delay(Duration::from_millis(300));
        let settings = settings(&fake);
        let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = app.db.config_with(&extra);
        let one = ykien::services::channels::ZaloChannel::new(config.zalo.as_ref().unwrap(), store.clone()).unwrap();
        let two = ykien::services::channels::ZaloChannel::new(config.zalo.as_ref().unwrap(), store.clone()).unwrap();
        let (a, b) = tokio::join!(one.tokens().access_token(), two.tokens().access_token());
        assert_eq!(fake.oauth_calls(), 2, "{label}: one refresh for both");
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a, b, "{label}");
        assert_eq!(Some(a.clone()), fake.current_access_token(), "{label}");
        let stored = store.channel_tokens("zalo").await.unwrap().unwrap();
        assert_eq!(
            stored.refresh_token,
            fake.current_refresh_token(),
            "{label}: the new refresh token is kept"
        );
        assert!(stored.expires_at > now + chrono::Duration::hours(24), "{label}");
        fake.set_oauth_delay(Duration::ZERO);

        // Zalo refuses the token (-216): refreshed once, and the reply still arrives.
        fake.expire_access_token();
        let mut hoa = ZaloCitizen::new(&app, &fake, "7770001112223334");
        let menu = hoa.say("xin chào").await;
        assert!(menu.payloads.iter().any(|p| p == "m:survey"), "{label}: {menu:?}");
        assert_eq!(fake.oauth_calls(), 3, "{label}");
        assert!(
            !format!("{stored:?}").contains(&stored.access_token),
            "{label}: tokens never in Debug output"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_webhook_refuses_bad_signatures_and_garbage_ignores_repeats_receipts_and_echoes() {
    for db in databases("the_webhook_refuses_bad_signatures_and_garbage_ignores_repeats_receipts_and_echoes").await {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = app.app.store.clone();

        // The signature vector: computed by the documented formula, accepted.
        let vector: Value =
            serde_json::from_str(include_str!("../bots/tests/fixtures/zalo/zalo_signature_vector.json")).unwrap();
        let raw = vector["raw_body"].as_str().unwrap();
        let header = vector["expected_header"]["X-ZEvent-Signature"].as_str().unwrap();
        assert_eq!(
            post_event(&app, Some(header), raw).await,
            200,
            "{label}: the echo of the OA's own message"
        );

        let text = include_str!("../bots/tests/fixtures/zalo/user_send_text.json");
        assert_eq!(post_event(&app, None, text).await, 401, "{label}: no signature");
        assert_eq!(post_event(&app, Some("mac=00"), text).await, 401, "{label}: malformed");
        let other_key = ykien_bots::zalo::sign(text.as_bytes(), "another-key").unwrap();
        assert_eq!(
            post_event(&app, Some(&other_key), text).await,
            401,
            "{label}: another key"
        );
        let tampered = text.replace("\"message\"", "\"messagf\"");
        assert_eq!(
            post_event(&app, Some(&sign(text)), &tampered).await,
            401,
            "{label}: a changed body"
        );
        for garbage in ["", "{", "[]", "\u{0}"] {
            assert_eq!(
                post_event(&app, Some("mac="), garbage).await,
                401,
                "{label}: {garbage:?}"
            );
        }
        // Signed but not an event: 400.
        for body in [
            json!({ "app_id": APP_ID, "timestamp": "1" }),
            json!({ "app_id": APP_ID, "timestamp": "1", "event_name": "user_send_text", "sender": { "id": 5 } }),
            json!({ "app_id": APP_ID, "timestamp": "x", "event_name": "user_send_location", "sender": { "id": "5" }, "message": { "attachments": [] } }),
        ] {
            assert_eq!(post_signed(&app, &body).await, 400, "{label}: {body}");
        }
        assert!(
            fake.sent().is_empty(),
            "{label}: nothing answered what was refused or the echo"
        );

        // A real event delivered twice is answered once.
        assert_eq!(post_event(&app, Some(&sign(text)), text).await, 200, "{label}");
        assert_eq!(
            post_event(&app, Some(&sign(text)), text).await,
            200,
            "{label}: repeated msg_id"
        );
        assert!(fake.wait_for_sends(1, WAIT).await, "{label}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            fake.sent_to("246845883529197922").len(),
            1,
            "{label}: one reply for one msg_id"
        );

        // Receipts are recorded, not answered, and do not count as the citizen's interaction.
        let person = store.chat_user("zalo", "246845883529197922").await.unwrap().unwrap();
        let receipt = json!({
            "app_id": APP_ID, "event_name": "user_seen_message", "timestamp": "1764000009999",
            "sender": { "id": "246845883529197922" }, "recipient": { "id": "388613280878808645" },
            "message": { "msg_ids": ["m1", "m2"] }
        });
        assert_eq!(post_signed(&app, &receipt).await, 200, "{label}");
        wait_until(label, "the receipt was not recorded", async || {
            !store.chat_events_of_kind("zalo", "receipt").await.unwrap().is_empty()
        })
        .await;
        let after = store.chat_user("zalo", "246845883529197922").await.unwrap().unwrap();
        assert_eq!(
            after.last_interaction_at, person.last_interaction_at,
            "{label}: a receipt is not an interaction"
        );
        assert_eq!(fake.sent_to("246845883529197922").len(), 1, "{label}");
        // A sticker: kept raw for inspection, and the citizen is told what the bot takes.
        let sticker = json!({
            "app_id": APP_ID, "event_name": "user_send_sticker", "timestamp": "1764000009998",
            "sender": { "id": "246845883529197922" }, "recipient": { "id": "388613280878808645" },
            "message": { "msg_id": "sticker-1", "attachments": [{ "type": "sticker", "payload": { "id": "s1" } }] }
        });
        assert_eq!(post_signed(&app, &sticker).await, 200, "{label}");
        wait_until(label, "the sticker was not kept", async || {
            store
                .chat_events_of_kind("zalo", "unsupported")
                .await
                .unwrap()
                .iter()
                .any(|(id, raw)| id == "sticker-1" && raw.as_deref().is_some_and(|r| r.contains("user_send_sticker")))
        })
        .await;
        wait_until(label, "the sticker was not answered", async || {
            fake.sent_to("246845883529197922").len() == 2
        })
        .await;
        let answer = reply_of(fake.sent_to("246845883529197922").last().unwrap());
        assert!(
            answer.text.starts_with("Xin lỗi, tôi chưa nhận được loại tin nhắn này"),
            "{label}: {answer:?}"
        );

        // The unfollow fixture: the follower is marked unreachable.
        let follow = include_str!("../bots/tests/fixtures/zalo/follow.json");
        let unfollow = include_str!("../bots/tests/fixtures/zalo/zalo_unfollow.json");
        assert_eq!(post_event(&app, Some(&sign(follow)), follow).await, 200, "{label}");
        wait_until(label, "no greeting", async || {
            !fake.sent_to("24684588352919792").is_empty()
        })
        .await;
        assert_eq!(post_event(&app, Some(&sign(unfollow)), unfollow).await, 200, "{label}");
        wait_until(label, "not marked unreachable", async || {
            !store
                .chat_user("zalo", "24684588352919792")
                .await
                .unwrap()
                .unwrap()
                .reachable
        })
        .await;
        app.stop().await;
    }
}

/// A follower of the OA who said they live in Phường Phố Hiến; at the menu.
async fn follower_in_pho_hien<'a>(app: &'a TestApp, fake: &'a FakeZalo, id: &str) -> ZaloCitizen<'a> {
    let mut citizen = ZaloCitizen::new(app, fake, id);
    citizen.follow().await;
    citizen.press("m:commune").await;
    let menu = citizen.say("11953").await;
    assert!(menu.text.contains("Phố Hiến") && chat::is_menu(&menu), "{menu:?}");
    citizen
}

#[tokio::test]
async fn a_complaint_typed_at_the_menu_becomes_a_report_and_the_location_step_cannot_trap_over_zalo() {
    for db in
        databases("a_complaint_typed_at_the_menu_becomes_a_report_and_the_location_step_cannot_trap_over_zalo").await
    {
        let label = db.label;
        let (app, fake) = start(db).await;
        let mut hoa = follower_in_pho_hien(&app, &fake, "8391938512340301").await;
        chat::free_text_becomes_a_report(&mut hoa, &app.app.store, label).await;
        chat::the_location_step_cannot_trap(&mut hoa, label).await;
        // Zalo has no location button: the step says where Zalo's is, and its choices are real buttons.
        let ask = fake
            .sent_to("8391938512340301")
            .into_iter()
            .rfind(|m| m["text"].as_str().is_some_and(|t| t.starts_with("Sự việc ở đâu?")))
            .unwrap();
        let ask = reply_of(&ask);
        assert!(
            ask.text.contains("Gửi vị trí bằng chức năng chia sẻ vị trí của Zalo"),
            "{label}: {ask:?}"
        );
        assert_eq!(ask.payloads, ["f:noloc", "f:cancel"], "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_voice_note_over_zalo_reaches_the_case_and_my_reports_show_it_with_its_answer() {
    for db in databases("a_voice_note_over_zalo_reaches_the_case_and_my_reports_show_it_with_its_answer").await {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = &app.app.store;
        let mut hoa = follower_in_pho_hien(&app, &fake, "8391938512340302").await;
        let code = chat::a_voice_note_becomes_a_report(&mut hoa, store, label).await;
        chat::my_reports_show_what_they_are(&mut hoa, store, &code, label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn after_stop_over_zalo_nothing_changes_until_start_and_an_answered_question_is_not_asked_again() {
    for db in
        databases("after_stop_over_zalo_nothing_changes_until_start_and_an_answered_question_is_not_asked_again").await
    {
        let label = db.label;
        let (app, fake) = start(db).await;
        let store = &app.app.store;
        let mut hoa = follower_in_pho_hien(&app, &fake, "8391938512340303").await;
        chat::stop_holds_until_start(&mut hoa, store, "zalo", "8391938512340303", label).await;

        // Zalo's buttons stay on old messages: a press on an answered question's is said so, not asked again.
        chat::an_answered_question_is_not_asked_again(&mut hoa, label).await;
        chat::a_commune_change_mid_survey_asks_first(&mut hoa, label).await;
        app.stop().await;
    }
}
