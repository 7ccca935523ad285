//! Telegram: update parsing against the fixtures in `tests/fixtures/telegram/` (sources in `SOURCES.md` there) and
//! bodies written here from the Bot API documentation; the client against the fake Bot API server in
//! `tests/fakes/telegram.rs`. No test measures time: waits are Telegram's `retry_after: 0` or the client's first
//! one-second backoff.
#![allow(clippy::unwrap_used)]

#[path = "fakes/telegram.rs"]
mod fake_telegram;

use std::time::Duration;

use fake_telegram::{BOT_USERNAME, Failure, FakeTelegram};
use serde_json::{Value, json};
use ykien_bots::message::{Button, Channel, DeliveryError, Inbound, InboundKind, Outbound};
use ykien_bots::telegram::{
    ClientConfigError, DeepLinkError, DownloadError, Limits, MAX_TEXT_UTF16, ParseError, TelegramClient, deep_link,
    parse_update,
};

const TEXT_PRIVATE: &[u8] = include_bytes!("fixtures/telegram/message_text_private.json");
const START: &[u8] = include_bytes!("fixtures/telegram/message_start.json");
const START_DEEPLINK: &[u8] = include_bytes!("fixtures/telegram/telegram_start_deeplink.json");
const PHOTO: &[u8] = include_bytes!("fixtures/telegram/message_photo.json");
const LOCATION: &[u8] = include_bytes!("fixtures/telegram/message_location.json");
const CALLBACK: &[u8] = include_bytes!("fixtures/telegram/callback_query.json");
const KICKED: &[u8] = include_bytes!("fixtures/telegram/my_chat_member_kicked.json");
const ERROR_429: &[u8] = include_bytes!("fixtures/telegram/error_429_too_many_requests.json");
const ERROR_403: &[u8] = include_bytes!("fixtures/telegram/error_403_bot_blocked.json");

const UPDATES: [(&str, &[u8]); 7] = [
    ("message_text_private", TEXT_PRIVATE),
    ("message_start", START),
    ("telegram_start_deeplink", START_DEEPLINK),
    ("message_photo", PHOTO),
    ("message_location", LOCATION),
    ("callback_query", CALLBACK),
    ("my_chat_member_kicked", KICKED),
];

const TOKEN: &str = "123456:TEST-token_abc";
const WAIT: Duration = Duration::from_secs(10);

fn inbound(event_id: &str, user_id: &str, at_secs: Option<i64>, kind: InboundKind) -> Inbound {
    Inbound {
        channel: Channel::Telegram,
        event_id: event_id.to_owned(),
        user_id: user_id.to_owned(),
        at_ms: at_secs.map(|s| s * 1000),
        kind,
    }
}

fn parse_json(update: &Value) -> Result<Inbound, ParseError> {
    parse_update(&serde_json::to_vec(update).unwrap())
}

/// A private text message from user 42, as Telegram sends it today.
fn text_update(text: &str) -> Value {
    json!({
        "update_id": 1000,
        "message": {
            "message_id": 7,
            "from": { "id": 42, "is_bot": false, "first_name": "Lan" },
            "chat": { "id": 42, "type": "private", "first_name": "Lan" },
            "date": 1_750_000_000,
            "text": text,
        }
    })
}

fn with_message_field(field: &str, value: Value) -> Value {
    let mut update = text_update("x");
    let message = update["message"].as_object_mut().unwrap();
    message.remove("text");
    message.insert(field.to_owned(), value);
    update
}

fn kind_of(update: &Value) -> InboundKind {
    parse_json(update).unwrap().kind
}

fn unsupported(name: &str) -> InboundKind {
    InboundKind::Unsupported {
        event_name: name.to_owned(),
    }
}

// --- fixtures -----------------------------------------------------------------------------------------------------

#[test]
fn private_text_fixture() {
    assert_eq!(
        parse_update(TEXT_PRIVATE).unwrap(),
        inbound(
            "306197398",
            "408258968",
            Some(1_581_448_857),
            InboundKind::Text("4".to_owned())
        )
    );
}

#[test]
fn plain_start_fixture_is_a_command_without_payload() {
    // The sample has no bot_command entity (Telegram always sends one); a leading /start is still a command.
    assert_eq!(
        parse_update(START).unwrap(),
        inbound(
            "174114370",
            "3527065",
            Some(1_454_119_029),
            InboundKind::Command {
                name: "start".to_owned(),
                payload: None
            }
        )
    );
}

#[test]
fn deep_link_start_fixture_carries_its_payload() {
    assert_eq!(
        parse_update(START_DEEPLINK).unwrap(),
        inbound(
            "174114371",
            "3527065",
            Some(1_454_119_029),
            InboundKind::Command {
                name: "start".to_owned(),
                payload: Some("commune_12345".to_owned())
            }
        )
    );
}

#[test]
fn photo_fixture_gives_the_largest_size_and_the_caption() {
    assert_eq!(
        parse_update(PHOTO).unwrap(),
        inbound(
            "900946525",
            "3527065",
            Some(1_493_843_318),
            InboundKind::Photo {
                urls: vec!["AgADAQADtKcxG4LRUUQSQVUjfJIiiF8G6C8ABA9NJzFdXskaincBAAEC".to_owned()],
                caption: Some("Photo Caption".to_owned()),
            }
        )
    );
}

#[test]
fn location_fixture() {
    assert_eq!(
        parse_update(LOCATION).unwrap(),
        inbound(
            "900946534",
            "3527065",
            Some(1_493_845_244),
            InboundKind::Location {
                lat: -2.890287,
                lon: -79.004333
            }
        )
    );
}

#[test]
fn callback_fixture_is_a_button_with_its_query_id() {
    assert_eq!(
        parse_update(CALLBACK).unwrap(),
        inbound(
            "226394498",
            "259760855",
            None,
            InboundKind::Button {
                payload: "tasks-settings".to_owned(),
                callback_id: Some("1115664380233733737".to_owned()),
                message_id: Some("4071".to_owned()),
            }
        )
    );
}

#[test]
fn kicked_fixture_is_an_unfollow() {
    assert_eq!(
        parse_update(KICKED).unwrap(),
        inbound("0", "0", Some(1_644_677_726), InboundKind::Unfollowed)
    );
}

#[test]
fn error_fixtures_are_not_updates() {
    for body in [ERROR_429, ERROR_403] {
        assert!(matches!(parse_update(body), Err(ParseError::NotAnUpdate(_))));
    }
}

// --- other updates, written from the Bot API documentation --------------------------------------------------------

#[test]
fn commands_lose_slash_and_bot_name() {
    let mut update = text_update("/Start@ykien_bot   commune_1  ");
    update["message"]["entities"] = json!([{ "offset": 0, "length": 16, "type": "bot_command" }]);
    assert_eq!(
        kind_of(&update),
        InboundKind::Command {
            name: "start".to_owned(),
            payload: Some("commune_1".to_owned())
        }
    );

    let mut update = text_update("/help");
    update["message"]["entities"] = json!([{ "offset": 0, "length": 5, "type": "bot_command" }]);
    assert_eq!(
        kind_of(&update),
        InboundKind::Command {
            name: "help".to_owned(),
            payload: None
        }
    );
}

#[test]
fn slash_text_without_command_entity_is_text() {
    // Entities present but none is a command at offset 0: text, as Telegram says.
    let mut update = text_update("/path/to/file is broken");
    update["message"]["entities"] = json!([{ "offset": 17, "length": 6, "type": "bold" }]);
    assert_eq!(
        kind_of(&update),
        InboundKind::Text("/path/to/file is broken".to_owned())
    );
    // No entities: only `/name` followed by a space or the end is a command.
    assert_eq!(
        kind_of(&text_update("/ hello")),
        InboundKind::Text("/ hello".to_owned())
    );
    assert_eq!(kind_of(&text_update("/a-b c")), InboundKind::Text("/a-b c".to_owned()));
    assert_eq!(
        kind_of(&text_update("xin chào")),
        InboundKind::Text("xin chào".to_owned())
    );
}

#[test]
fn command_entity_with_a_hostile_length_does_not_panic() {
    for length in [0_u64, 1, 3, 4, 100, 1 << 40] {
        let mut update = text_update("/bắt đầu");
        update["message"]["entities"] = json!([{ "offset": 0, "length": length, "type": "bot_command" }]);
        let _ = parse_json(&update);
    }
}

#[test]
fn contact_venue_and_blank_caption() {
    let contact = with_message_field(
        "contact",
        json!({ "phone_number": "+84912345678", "first_name": "Nguyễn", "last_name": "Văn An", "user_id": 42 }),
    );
    assert_eq!(
        kind_of(&contact),
        InboundKind::ContactInfo {
            name: Some("Nguyễn Văn An".to_owned()),
            phone: Some("+84912345678".to_owned()),
            address: None
        }
    );

    let venue = with_message_field(
        "venue",
        json!({ "location": { "latitude": 20.65, "longitude": 106.05 }, "title": "UBND", "address": "Phố Hiến" }),
    );
    let mut venue = venue;
    venue["message"]["location"] = json!({ "latitude": 20.65, "longitude": 106.05 });
    assert_eq!(
        kind_of(&venue),
        InboundKind::Location {
            lat: 20.65,
            lon: 106.05
        }
    );

    let mut photo = with_message_field(
        "photo",
        json!([{ "file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100 },
               { "file_id": "big", "file_unique_id": "b", "width": 800, "height": 800, "file_size": 9000 }]),
    );
    photo["message"]["caption"] = json!("   ");
    assert_eq!(
        kind_of(&photo),
        InboundKind::Photo {
            urls: vec!["big".to_owned()],
            caption: None
        }
    );
}

#[test]
fn unsupported_message_kinds_are_named() {
    let sticker = with_message_field(
        "sticker",
        json!({ "file_id": "st", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
                "is_animated": false, "is_video": false }),
    );
    assert_eq!(kind_of(&sticker), unsupported("sticker"));

    assert!(kind_of(&sticker).is_untaken_message());
    let voice = with_message_field("voice", json!({ "file_id": "v", "file_unique_id": "u", "duration": 3 }));
    // teloxide cannot read a voice message without `mime_type` (optional in the Bot API): read from the JSON.
    let read = |mime_type: Option<&str>| InboundKind::Voice {
        reference: "v".to_owned(),
        mime_type: mime_type.map(str::to_owned),
        duration_secs: Some(3),
        size: None,
    };
    assert_eq!(kind_of(&voice), read(None));
    let mut voice = voice;
    voice["message"]["voice"]["mime_type"] = json!("audio/ogg");
    assert_eq!(kind_of(&voice), read(Some("audio/ogg")));
    let audio = with_message_field(
        "audio",
        json!({ "file_id": "v", "file_unique_id": "u", "duration": 3, "mime_type": "audio/mpeg", "file_size": 9 }),
    );
    assert_eq!(
        kind_of(&audio),
        InboundKind::Voice {
            reference: "v".to_owned(),
            mime_type: Some("audio/mpeg".to_owned()),
            duration_secs: Some(3),
            size: Some(9),
        }
    );
    let mut dice = with_message_field("dice", json!({ "emoji": "🎲", "value": 3 }));
    dice["message"]["dice"]["value"] = json!(4);
    assert_eq!(kind_of(&dice), unsupported("dice"));

    let mut edited = text_update("sửa");
    edited["edited_message"] = edited["message"].take();
    edited.as_object_mut().unwrap().remove("message");
    edited["edited_message"]["edit_date"] = json!(1_750_000_100);
    let parsed = parse_json(&edited).unwrap();
    assert_eq!(parsed.kind, unsupported("edited_message"));
    assert_eq!(parsed.user_id, "42");
    assert_eq!(parsed.at_ms, Some(1_750_000_000_000));

    let mut group = text_update("hello group");
    group["message"]["chat"] = json!({ "id": -100_123, "type": "supergroup", "title": "Xóm" });
    let parsed = parse_json(&group).unwrap();
    assert_eq!(parsed.kind, unsupported("group_message"));
    assert_eq!(parsed.user_id, "42");
}

#[test]
fn my_chat_member_member_is_a_follow() {
    let mut update: Value = serde_json::from_slice(KICKED).unwrap();
    update["my_chat_member"]["old_chat_member"]["status"] = json!("kicked");
    update["my_chat_member"]["old_chat_member"]["until_date"] = json!(0);
    update["my_chat_member"]["new_chat_member"] = json!({
        "user": { "id": 1, "is_bot": true, "first_name": "bot", "username": "unBot" },
        "status": "member"
    });
    assert_eq!(kind_of(&update), InboundKind::Followed);
}

#[test]
fn unknown_update_kinds_are_unsupported_with_their_name() {
    let update = json!({
        "update_id": 5,
        "some_future_update": { "from": { "id": 99, "is_bot": false, "first_name": "A" }, "whatever": [1, 2] }
    });
    assert_eq!(
        parse_json(&update).unwrap(),
        inbound("5", "99", None, unsupported("some_future_update"))
    );

    let poll_answer = json!({
        "update_id": 6,
        "poll_answer": { "poll_id": "p", "user": { "id": 77, "is_bot": false, "first_name": "B" }, "option_ids": [0] }
    });
    assert_eq!(
        parse_json(&poll_answer).unwrap(),
        inbound("6", "77", None, unsupported("poll_answer"))
    );
}

// --- garbage ------------------------------------------------------------------------------------------------------

#[test]
fn non_updates_are_errors() {
    let cases: [(&[u8], &str); 9] = [
        (b"", "NotJson"),
        (b"not json", "NotJson"),
        (b"\xff\xfe{}", "NotJson"),
        (b"[]", "NotAnObject"),
        (b"null", "NotAnObject"),
        (b"42", "NotAnObject"),
        (b"\"update\"", "NotAnObject"),
        (b"{}", "NotAnUpdate"),
        (br#"{"update_id": 1}"#, "NoContent"),
    ];
    for (body, expected) in cases {
        let error = parse_update(body).unwrap_err();
        assert!(
            format!("{error:?}").starts_with(expected),
            "{:?}: {error:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn every_truncation_of_every_fixture_is_an_error() {
    for (name, fixture) in UPDATES {
        let end = fixture.trim_ascii_end().len();
        for len in 0..end {
            assert!(parse_update(&fixture[..len]).is_err(), "{name} cut at {len}");
        }
    }
}

#[test]
fn wrong_types_and_huge_numbers_are_errors() {
    let base = || text_update("x");
    let mut cases = Vec::new();
    for update_id in [
        json!("1000"),
        json!(-1),
        json!(1.5),
        json!(4_294_967_296_u64),
        json!(1e300),
        json!(null),
    ] {
        let mut update = base();
        update["update_id"] = update_id;
        cases.push(update);
    }
    for (pointer, value) in [
        ("/message/chat", json!("private")),
        ("/message/text", json!(5)),
        ("/message/chat/id", json!("42")),
        ("/message/chat/id", json!(1e30)),
        ("/message/date", json!("yesterday")),
        ("/message/date", json!(100_000_000_000_000_i64)),
        ("/message/message_id", json!(u64::MAX)),
        ("/message", json!("hello")),
        ("/message", json!([])),
    ] {
        let mut update = base();
        *update.pointer_mut(pointer).unwrap() = value;
        cases.push(update);
    }
    let mut callback: Value = serde_json::from_slice(CALLBACK).unwrap();
    callback["callback_query"]["id"] = json!(12345);
    cases.push(callback);
    let mut member: Value = serde_json::from_slice(KICKED).unwrap();
    member["my_chat_member"]
        .as_object_mut()
        .unwrap()
        .remove("new_chat_member");
    cases.push(member);
    let mut location: Value = serde_json::from_slice(LOCATION).unwrap();
    location["message"]["location"]["latitude"] = json!(200.0);
    cases.push(location);

    for update in cases {
        assert!(parse_json(&update).is_err(), "{update}");
    }
}

#[test]
fn deep_nesting_and_mutations_never_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse_update(deep.as_bytes()), Err(ParseError::NotJson(_))));
    let deep_update = format!(
        r#"{{"update_id":1,"message":{}{}}}"#,
        "{\"a\":".repeat(120),
        "1".to_owned() + &"}".repeat(120)
    );
    let _ = parse_update(deep_update.as_bytes());

    // Deterministic byte mutations of every fixture: any result but a panic.
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let replacements = b"{}[]\":,0123456789-.eE tfnul\\\x00\xff";
    for (_, fixture) in UPDATES {
        for _ in 0..300 {
            let mut body = fixture.to_vec();
            for _ in 0..(1 + next() % 3) {
                let at = usize::try_from(next()).unwrap() % body.len();
                body[at] = replacements[usize::try_from(next()).unwrap() % replacements.len()];
            }
            let _ = parse_update(&body);
        }
    }
}

// --- the client against the fake ---------------------------------------------------------------------------------

fn fast() -> Limits {
    Limits {
        per_chat_per_second: 1000.0,
        overall_per_second: 1000.0,
    }
}

fn client(fake: &FakeTelegram) -> TelegramClient {
    TelegramClient::new(TOKEN, &fake.api_url(), fast()).unwrap()
}

fn button(label: &str, payload: &str) -> Button {
    Button {
        label: label.to_owned(),
        payload: payload.to_owned(),
    }
}

#[tokio::test]
async fn plain_text_is_sent_without_markup_or_parse_mode() {
    let fake = FakeTelegram::start().await;
    let ids = client(&fake)
        .send("42", &Outbound::text("Xin chào *bạn*"))
        .await
        .unwrap();
    assert_eq!(ids, ["1"]);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "sendmessage");
    assert_eq!(calls[0].1["chat_id"], json!(42));
    assert_eq!(calls[0].1["text"], json!("Xin chào *bạn*"));
    assert!(calls[0].1.get("parse_mode").is_none());
    assert!(calls[0].1.get("reply_markup").is_none());
    assert_eq!(fake.sent_texts(42), ["Xin chào *bạn*"]);
}

#[tokio::test]
async fn buttons_become_an_inline_keyboard() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    let short = Outbound {
        text: "Bạn hài lòng không?".to_owned(),
        buttons: vec![
            button("Có", "q1:yes"),
            button("Không", "q1:no"),
            button("Không rõ", "q1:dk"),
        ],
        ..Outbound::default()
    };
    client.send("42", &short).await.unwrap();
    let long = Outbound {
        text: "Chọn lĩnh vực".to_owned(),
        buttons: vec![button("Đường sá, cầu cống", "cat:roads"), button("Có", "cat:yes")],
        ..Outbound::default()
    };
    client.send("42", &long).await.unwrap();

    let calls = fake.calls_of("sendMessage");
    assert_eq!(
        calls[0]["reply_markup"],
        json!({ "inline_keyboard": [
            [{ "text": "Có", "callback_data": "q1:yes" }, { "text": "Không", "callback_data": "q1:no" }],
            [{ "text": "Không rõ", "callback_data": "q1:dk" }],
        ]})
    );
    assert_eq!(
        calls[1]["reply_markup"],
        json!({ "inline_keyboard": [
            [{ "text": "Đường sá, cầu cống", "callback_data": "cat:roads" }],
            [{ "text": "Có", "callback_data": "cat:yes" }],
        ]})
    );
}

#[tokio::test]
async fn location_request_is_a_one_time_reply_keyboard() {
    let fake = FakeTelegram::start().await;
    let message = Outbound {
        text: "Bạn ở đâu?".to_owned(),
        request_location: Some("📍 Gửi vị trí".to_owned()),
        ..Outbound::default()
    };
    client(&fake).send("42", &message).await.unwrap();
    let markup = &fake.calls_of("sendmessage")[0]["reply_markup"];
    assert_eq!(
        markup["keyboard"],
        json!([[{ "text": "📍 Gửi vị trí", "request_location": true }]])
    );
    assert_eq!(markup["one_time_keyboard"], json!(true));
    assert_eq!(markup["resize_keyboard"], json!(true));
}

#[tokio::test]
async fn location_request_with_buttons_puts_them_on_the_same_reply_keyboard() {
    let fake = FakeTelegram::start().await;
    let message = Outbound {
        text: "Bạn ở đâu?".to_owned(),
        buttons: vec![button("Bỏ qua vị trí", "skip"), button("✖ Hủy", "cancel")],
        request_location: Some("Gửi vị trí".to_owned()),
        ..Outbound::default()
    };
    client(&fake).send("42", &message).await.unwrap();
    assert_eq!(fake.sent_texts(42), ["Bạn ở đâu?"]);
    assert_eq!(
        fake.calls_of("sendmessage")[0]["reply_markup"]["keyboard"],
        json!([
            [{ "text": "Gửi vị trí", "request_location": true }],
            [{ "text": "Bỏ qua vị trí" }],
            [{ "text": "✖ Hủy" }],
        ])
    );
}

#[tokio::test]
async fn removing_a_reply_keyboard_and_showing_buttons_takes_two_messages() {
    let fake = FakeTelegram::start().await;
    let message = Outbound {
        text: "Xin kiểm tra lại:\nNội dung: …\n\nGửi phản ánh này?".to_owned(),
        buttons: vec![button("Gửi", "send")],
        remove_keyboard: true,
        ..Outbound::default()
    };
    client(&fake).send("42", &message).await.unwrap();
    assert_eq!(
        fake.sent_texts(42),
        ["Xin kiểm tra lại:\nNội dung: …", "Gửi phản ánh này?"]
    );
    let calls = fake.calls_of("sendmessage");
    assert_eq!(calls[0]["reply_markup"], json!({ "remove_keyboard": true }));
    assert!(calls[1]["reply_markup"].get("inline_keyboard").is_some());
}

#[tokio::test]
async fn remove_keyboard() {
    let fake = FakeTelegram::start().await;
    let message = Outbound {
        text: "Cảm ơn".to_owned(),
        remove_keyboard: true,
        ..Outbound::default()
    };
    client(&fake).send("42", &message).await.unwrap();
    assert_eq!(
        fake.calls_of("sendmessage")[0]["reply_markup"],
        json!({ "remove_keyboard": true })
    );
}

#[tokio::test]
async fn long_text_is_split_on_lines_with_buttons_on_the_last_part() {
    let fake = FakeTelegram::start().await;
    let line = "Phường Phố Hiến trả lời phản ánh của công dân trong hạn. ".repeat(3);
    let text = vec![line.trim_end(); 120].join("\n");
    assert!(text.chars().count() > 2 * MAX_TEXT_UTF16);
    let message = Outbound {
        text: text.clone(),
        buttons: vec![button("OK", "ok")],
        ..Outbound::default()
    };
    let ids = client(&fake).send("42", &message).await.unwrap();
    assert!(ids.len() >= 3);
    assert_eq!(ids, (1..=ids.len()).map(|i| i.to_string()).collect::<Vec<_>>());

    let parts = fake.sent_texts(42);
    assert_eq!(parts.len(), ids.len());
    assert_eq!(parts.join("\n"), text);
    for part in &parts {
        assert!(part.encode_utf16().count() <= MAX_TEXT_UTF16);
        assert!(!part.starts_with('\n') && !part.ends_with('\n'));
    }
    let calls = fake.calls_of("sendmessage");
    assert!(calls[..calls.len() - 1].iter().all(|c| c.get("reply_markup").is_none()));
    assert!(calls.last().unwrap()["reply_markup"].get("inline_keyboard").is_some());
}

#[tokio::test]
async fn photo_goes_first_then_the_text() {
    let fake = FakeTelegram::start().await;
    let png = b"\x89PNG\r\n\x1a\n-not-really-a-png".to_vec();
    let message = Outbound {
        text: "Biểu đồ điểm PAPI".to_owned(),
        buttons: vec![button("Tiếp", "next")],
        photo: Some(png.clone()),
        ..Outbound::default()
    };
    let ids = client(&fake).send("42", &message).await.unwrap();
    assert_eq!(ids, ["1", "2"]);
    let calls = fake.calls();
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["sendphoto", "sendmessage"]);
    assert_eq!(calls[0].1["chat_id"], json!(42));
    assert_eq!(
        calls[0].1["photo"],
        json!({ "file_name": "image.png", "bytes": png.len() })
    );
    assert!(calls[0].1.get("reply_markup").is_none());
    assert!(calls[1].1["reply_markup"].get("inline_keyboard").is_some());
}

#[tokio::test]
async fn photo_alone_carries_the_keyboard() {
    let fake = FakeTelegram::start().await;
    let message = Outbound {
        buttons: vec![button("Tiếp", "next")],
        photo: Some(vec![0xff, 0xd8, 0xff, 0xe0]),
        ..Outbound::default()
    };
    client(&fake).send("42", &message).await.unwrap();
    let photos = fake.calls_of("sendphoto");
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["photo"]["file_name"], json!("image.jpg"));
    assert!(photos[0]["reply_markup"].get("inline_keyboard").is_some());
    assert!(fake.calls_of("sendmessage").is_empty());
}

#[tokio::test]
async fn too_many_requests_is_waited_out_and_retried() {
    let fake = FakeTelegram::start().await;
    fake.fail_next("sendMessage", Failure::TooManyRequests { retry_after_secs: 0 });
    let ids = client(&fake).send("42", &Outbound::text("lần hai")).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(fake.calls_of("sendmessage").len(), 2);
}

#[tokio::test]
async fn too_many_requests_gives_up_after_three_tries_or_a_long_wait() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    for _ in 0..3 {
        fake.fail_next("sendMessage", Failure::TooManyRequests { retry_after_secs: 0 });
    }
    let error = client.send("42", &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)), "{error:?}");
    assert_eq!(fake.calls_of("sendmessage").len(), 3);

    fake.clear_calls();
    fake.fail_next("sendMessage", Failure::TooManyRequests { retry_after_secs: 120 });
    let error = client.send("42", &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)), "{error:?}");
    assert_eq!(fake.calls_of("sendmessage").len(), 1);
}

#[tokio::test]
async fn blocked_user_is_unreachable_without_retry() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    fake.fail_next("sendMessage", Failure::Blocked);
    let error = client.send("42", &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Unreachable(_)), "{error:?}");
    assert_eq!(fake.calls_of("sendmessage").len(), 1);

    fake.block_chat(43);
    let error = client.send("43", &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Unreachable(_)), "{error:?}");
    assert_eq!(fake.sent_texts(43).len(), 1);
    // Other chats still get their messages.
    client.send("44", &Outbound::text("y")).await.unwrap();
}

#[tokio::test]
async fn errors_map_to_delivery_errors() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    for (failure, expected) in [
        (Failure::UserDeactivated, "Unreachable"),
        (Failure::CantInitiateConversation, "Unreachable"),
        (Failure::ChatNotFound, "Unreachable"),
        (Failure::Unauthorized, "Refused"),
        (Failure::NotJson, "Retry"),
    ] {
        fake.fail_next("sendMessage", failure.clone());
        let error = client.send("42", &Outbound::text("x")).await.unwrap_err();
        assert!(format!("{error:?}").starts_with(expected), "{failure:?}: {error:?}");
        assert!(!error.to_string().contains("TEST-token"), "{error}");
    }
    assert_eq!(fake.calls_of("sendmessage").len(), 5);
}

#[tokio::test]
async fn network_errors_are_retry_and_never_show_the_token() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = TelegramClient::new(TOKEN, &format!("http://127.0.0.1:{port}"), fast()).unwrap();
    let error = client.send("42", &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)), "{error:?}");
    assert!(!error.to_string().contains("TEST-token"), "{error}");
    assert!(!format!("{client:?}").contains("TEST-token"));
}

#[tokio::test]
async fn bad_messages_are_refused_without_a_request() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    let cases = [
        ("abc", Outbound::text("x")),
        ("42", Outbound::text("  \n ")),
        (
            "42",
            Outbound {
                text: "x".to_owned(),
                buttons: vec![button("Dài", &"p".repeat(65))],
                ..Outbound::default()
            },
        ),
        (
            "42",
            Outbound {
                text: "x".to_owned(),
                buttons: vec![button(" ", "p")],
                ..Outbound::default()
            },
        ),
    ];
    let blank_location = Outbound {
        text: "x".to_owned(),
        request_location: Some(String::new()),
        ..Outbound::default()
    };
    for (chat, message) in cases.into_iter().chain([("42", blank_location)]) {
        let error = client.send(chat, &message).await.unwrap_err();
        assert!(matches!(error, DeliveryError::Refused(_)), "{message:?}: {error:?}");
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn answer_callback_sends_the_query_id_and_text() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    client
        .answer_callback("1115664380233733737", Some("Đã ghi nhận"))
        .await
        .unwrap();
    client.answer_callback("2", None).await.unwrap();
    let calls = fake.calls_of("answerCallbackQuery");
    assert_eq!(calls[0]["callback_query_id"], json!("1115664380233733737"));
    assert_eq!(calls[0]["text"], json!("Đã ghi nhận"));
    assert_eq!(calls[1]["callback_query_id"], json!("2"));
    assert!(calls[1].get("text").is_none());
}

#[tokio::test]
async fn download_within_the_limit() {
    let fake = FakeTelegram::start().await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    fake.add_file("AgADphoto", bytes.clone());
    let downloaded = client(&fake).download("AgADphoto", 100_000).await.unwrap();
    assert_eq!(downloaded, bytes);
    assert_eq!(fake.calls_of("getfile")[0]["file_id"], json!("AgADphoto"));
    assert_eq!(fake.calls_of("file"), [json!({ "file_path": "photos/AgADphoto.jpg" })]);
}

#[tokio::test]
async fn download_over_the_limit_is_refused_before_downloading() {
    let fake = FakeTelegram::start().await;
    fake.add_file("big", vec![7u8; 1001]);
    let error = client(&fake).download("big", 1000).await.unwrap_err();
    assert_eq!(error, DownloadError::TooLarge { max_bytes: 1000 });
    assert_eq!(fake.calls_of("getfile").len(), 1);
    assert!(fake.calls_of("file").is_empty());
}

#[tokio::test]
async fn download_of_an_unknown_file_fails() {
    let fake = FakeTelegram::start().await;
    let error = client(&fake).download("nope", 1000).await.unwrap_err();
    assert!(
        matches!(error, DownloadError::Failed(DeliveryError::Refused(_))),
        "{error:?}"
    );
    assert!(fake.calls_of("file").is_empty());
}

#[tokio::test]
async fn get_me_retries_after_a_failure() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    fake.fail_next("getMe", Failure::NotJson);
    assert_eq!(client.get_me_with_retries(3).await.unwrap(), BOT_USERNAME);
    assert_eq!(fake.calls_of("getme").len(), 2);

    // A 429 is waited out inside one attempt.
    fake.clear_calls();
    fake.fail_next("getMe", Failure::TooManyRequests { retry_after_secs: 0 });
    assert_eq!(client.get_me_with_retries(1).await.unwrap(), BOT_USERNAME);
    assert_eq!(fake.calls_of("getme").len(), 2);
}

#[tokio::test]
async fn get_me_stops_on_a_wrong_token_or_after_its_attempts() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    fake.fail_next("getMe", Failure::Unauthorized);
    let error = client.get_me_with_retries(5).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Refused(_)), "{error:?}");
    assert_eq!(fake.calls_of("getme").len(), 1);

    fake.clear_calls();
    fake.fail_next("getMe", Failure::NotJson);
    let error = client.get_me_with_retries(1).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)), "{error:?}");
    assert_eq!(fake.calls_of("getme").len(), 1);
}

#[tokio::test]
async fn set_webhook_sends_url_secret_and_allowed_updates() {
    let fake = FakeTelegram::start().await;
    let client = client(&fake);
    client
        .set_webhook("https://ykien.example.vn/telegram/webhook", "s3cret_TOKEN-1")
        .await
        .unwrap();
    let calls = fake.wait_for("setWebhook", 1, WAIT).await;
    assert_eq!(calls[0]["url"], json!("https://ykien.example.vn/telegram/webhook"));
    assert_eq!(calls[0]["secret_token"], json!("s3cret_TOKEN-1"));
    assert_eq!(
        calls[0]["allowed_updates"],
        json!(["message", "callback_query", "my_chat_member"])
    );

    for (url, secret) in [
        ("not a url", "ok"),
        ("https://x.vn/h", "has space"),
        ("https://x.vn/h", ""),
    ] {
        let error = client.set_webhook(url, secret).await.unwrap_err();
        assert!(matches!(error, DeliveryError::Refused(_)), "{url} {secret}: {error:?}");
    }
    assert_eq!(fake.calls_of("setwebhook").len(), 1);
}

#[tokio::test]
async fn sends_wait_their_turn_but_all_arrive() {
    // Default limits: a burst of 3 to one chat, then one a second; only the count is checked, never the time.
    let fake = FakeTelegram::start().await;
    let client = std::sync::Arc::new(TelegramClient::new(TOKEN, &fake.api_url(), Limits::default()).unwrap());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let client = std::sync::Arc::clone(&client);
        tasks.push(tokio::spawn(async move {
            client.send("42", &Outbound::text(format!("tin {i}"))).await
        }));
    }
    let sent = fake.wait_for("sendmessage", 4, WAIT).await;
    assert_eq!(sent.len(), 4);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

#[test]
fn client_settings_are_checked() {
    let fast = fast();
    assert_eq!(
        TelegramClient::new("", "https://api.telegram.org", fast).unwrap_err(),
        ClientConfigError::BadToken
    );
    assert_eq!(
        TelegramClient::new("1:a b", "https://api.telegram.org", fast).unwrap_err(),
        ClientConfigError::BadToken
    );
    for url in [
        "not a url",
        "ftp://api.telegram.org",
        "mailto:bot@example.com",
        "api.telegram.org",
    ] {
        assert_eq!(
            TelegramClient::new(TOKEN, url, fast).unwrap_err(),
            ClientConfigError::BadApiUrl,
            "{url}"
        );
    }
    assert!(TelegramClient::new(TOKEN, "https://api.telegram.org", Limits::default()).is_ok());
}

// --- deep links ---------------------------------------------------------------------------------------------------

#[test]
fn deep_links() {
    assert_eq!(
        deep_link("ykien_bot", "commune_12345").unwrap(),
        "https://t.me/ykien_bot?start=commune_12345"
    );
    assert_eq!(
        deep_link("@ykien_bot", "a-b_C9").unwrap(),
        "https://t.me/ykien_bot?start=a-b_C9"
    );
    assert!(deep_link("ykien_bot", &"x".repeat(64)).is_ok());
    for payload in ["", "has space", "xã", "a/b", "a?b=c", &"x".repeat(65)] {
        assert_eq!(
            deep_link("ykien_bot", payload),
            Err(DeepLinkError::BadPayload),
            "{payload}"
        );
    }
    for bot in ["", "bot", "ykien bot", "ykien-bot", &"b".repeat(33)] {
        assert_eq!(deep_link(bot, "p"), Err(DeepLinkError::BadUsername), "{bot}");
    }
}

#[test]
fn a_deep_link_payload_comes_back_as_the_start_payload() {
    let link = deep_link("ykien_bot", "commune_00070").unwrap();
    let payload = link.split_once("?start=").unwrap().1;
    let mut update = text_update(&format!("/start {payload}"));
    update["message"]["entities"] = json!([{ "offset": 0, "length": 6, "type": "bot_command" }]);
    assert_eq!(
        kind_of(&update),
        InboundKind::Command {
            name: "start".to_owned(),
            payload: Some("commune_00070".to_owned())
        }
    );
}
