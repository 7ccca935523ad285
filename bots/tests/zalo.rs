//! Zalo OA webhooks: signatures and event parsing, against the fixtures in `tests/fixtures/zalo/` (sources in the
//! README there) and a few bodies written here from the documented fields.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use ykien_bots::message::{Channel, Inbound, InboundKind};
use ykien_bots::zalo::{
    BUTTON_PREFIX, ParseError, SignatureError, button_payload, parse_event, sign, verify_signature,
};

const FOLLOW: &[u8] = include_bytes!("fixtures/zalo/follow.json");
const UNFOLLOW: &[u8] = include_bytes!("fixtures/zalo/zalo_unfollow.json");
const USER_SEND_TEXT: &[u8] = include_bytes!("fixtures/zalo/user_send_text.json");
const QUERY_BUTTON_TEXT: &[u8] = include_bytes!("fixtures/zalo/zalo_user_send_text_from_query_button.json");
const USER_SEND_IMAGE: &[u8] = include_bytes!("fixtures/zalo/user_send_image.console_test.json");
const OA_SEND_TEXT: &[u8] = include_bytes!("fixtures/zalo/oa_send_text.console_test.json");
const USER_SUBMIT_INFO: &[u8] = include_bytes!("fixtures/zalo/user_submit_info.json");
const SIGNATURE_VECTOR: &str = include_str!("fixtures/zalo/zalo_signature_vector.json");

/// The worked example: (raw body, header value, OA secret key).
fn vector() -> (Vec<u8>, String, String) {
    let vector: Value = serde_json::from_str(SIGNATURE_VECTOR).unwrap();
    let body = vector["raw_body"].as_str().unwrap().as_bytes().to_vec();
    let header = vector["expected_header"]["X-ZEvent-Signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = vector["oa_secret_key"].as_str().unwrap().to_owned();
    (body, header, secret)
}

/// Signs the way Zalo documents it, independently of the code under test.
fn zalo_mac(app_id: &str, body: &[u8], timestamp: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app_id);
    hasher.update(body);
    hasher.update(timestamp);
    hasher.update(secret);
    format!("mac={}", hex::encode(hasher.finalize()))
}

fn with_text(fixture: &[u8], text: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(fixture).unwrap();
    event["message"]["text"] = json!(text);
    serde_json::to_vec(&event).unwrap()
}

fn parse_json(event: &Value) -> Result<Inbound, ParseError> {
    parse_event(&serde_json::to_vec(event).unwrap())
}

// --- signatures -------------------------------------------------------------------------------------------------

#[test]
fn signature_vector_from_the_fixture_verifies() {
    let (body, header, secret) = vector();
    assert_eq!(verify_signature(&body, Some(&header), &secret), Ok(()));
}

#[test]
fn the_vector_signs_the_console_test_fixture_without_its_trailing_newline() {
    let (body, header, secret) = vector();
    assert_eq!(OA_SEND_TEXT.strip_suffix(b"\n"), Some(body.as_slice()));
    assert_eq!(
        verify_signature(OA_SEND_TEXT, Some(&header), &secret),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signature_fails_when_one_body_byte_changes() {
    let (body, header, secret) = vector();
    let at = body.windows(7).position(|w| w == b"testing").unwrap();
    let mut tampered = body.clone();
    tampered[at] = b'T';
    assert!(
        serde_json::from_slice::<Value>(&tampered).is_ok(),
        "the tampered body must still be readable JSON"
    );
    assert_eq!(
        verify_signature(&tampered, Some(&header), &secret),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signature_fails_when_one_mac_digit_changes() {
    let (body, header, secret) = vector();
    let last = header.chars().last().unwrap();
    let flipped = format!("{}{}", &header[..header.len() - 1], if last == '0' { '1' } else { '0' });
    assert_eq!(
        verify_signature(&body, Some(&flipped), &secret),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signature_fails_with_another_secret_key() {
    let (body, header, _) = vector();
    assert_eq!(
        verify_signature(&body, Some(&header), "another-secret"),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_body_signed_with_the_documented_formula_verifies() {
    let header = zalo_mac("36084652489903967", FOLLOW, "154397978274", "k");
    assert_eq!(verify_signature(FOLLOW, Some(&header), "k"), Ok(()));
}

#[test]
fn app_id_and_timestamp_are_part_of_what_is_signed() {
    let (body, _, secret) = vector();
    let body_and_key_only = zalo_mac("", &body, "", &secret);
    assert_eq!(
        verify_signature(&body, Some(&body_and_key_only), &secret),
        Err(SignatureError::Mismatch)
    );
    let swapped = zalo_mac("1609984527180", &body, "1163843031413526746", &secret);
    assert_eq!(
        verify_signature(&body, Some(&swapped), &secret),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signature_hex_may_be_upper_case_and_padded() {
    let (body, header, secret) = vector();
    let upper = format!(" mac={} ", header["mac=".len()..].to_uppercase());
    assert_eq!(verify_signature(&body, Some(&upper), &secret), Ok(()));
}

#[test]
fn missing_signature_header_is_refused() {
    let (body, _, secret) = vector();
    assert_eq!(
        verify_signature(&body, None, &secret),
        Err(SignatureError::MissingHeader)
    );
}

#[test]
fn malformed_signature_headers_are_refused() {
    let (body, header, secret) = vector();
    let hex = &header["mac=".len()..];
    for bad in [
        String::new(),
        hex.to_owned(),
        format!("sha256={hex}"),
        format!("MAC={hex}"),
        format!("mac={}", &hex[..62]),
        format!("mac={hex}00"),
        format!("mac={}zz", &hex[..62]),
        "mac=".to_owned(),
    ] {
        assert_eq!(
            verify_signature(&body, Some(&bad), &secret),
            Err(SignatureError::MalformedHeader),
            "header {bad:?}"
        );
    }
}

#[test]
fn an_empty_secret_key_refuses_every_signature() {
    let header = zalo_mac("36084652489903967", FOLLOW, "154397978274", "");
    assert_eq!(
        verify_signature(FOLLOW, Some(&header), ""),
        Err(SignatureError::NoSecretKey)
    );
}

#[test]
fn bodies_without_the_signed_fields_are_refused() {
    let header = zalo_mac("", b"", "", "k");
    assert_eq!(
        verify_signature(b"{\"app_id\":", Some(&header), "k"),
        Err(SignatureError::BodyNotJson)
    );
    assert_eq!(
        verify_signature(br#"{"timestamp":"1"}"#, Some(&header), "k"),
        Err(SignatureError::MissingBodyField("app_id"))
    );
    assert_eq!(
        verify_signature(br#"{"app_id":"1"}"#, Some(&header), "k"),
        Err(SignatureError::MissingBodyField("timestamp"))
    );
    assert_eq!(
        verify_signature(br#"{"app_id":{"x":1},"timestamp":"1"}"#, Some(&header), "k"),
        Err(SignatureError::MissingBodyField("app_id"))
    );
    assert_eq!(
        verify_signature(b"[]", Some(&header), "k"),
        Err(SignatureError::MissingBodyField("app_id"))
    );
}

#[test]
fn sign_reproduces_the_vector() {
    let (body, header, secret) = vector();
    assert_eq!(sign(&body, &secret), Ok(header));
}

#[test]
fn sign_matches_the_documented_formula_and_verifies() {
    let expected = zalo_mac("36084652489903967", FOLLOW, "154397978274", "k");
    let signed = sign(FOLLOW, "k").unwrap();
    assert_eq!(signed, expected);
    assert_eq!(verify_signature(FOLLOW, Some(&signed), "k"), Ok(()));
    assert_eq!(
        verify_signature(FOLLOW, Some(&signed), "other"),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn signatures_round_trip_for_every_fixture() {
    for body in [
        FOLLOW,
        UNFOLLOW,
        USER_SEND_TEXT,
        QUERY_BUTTON_TEXT,
        USER_SEND_IMAGE,
        OA_SEND_TEXT,
        USER_SUBMIT_INFO,
    ] {
        let signed = sign(body, "a-secret").unwrap();
        assert!(signed.starts_with("mac="));
        assert_eq!(signed.len(), "mac=".len() + 64);
        assert!(
            signed["mac=".len()..]
                .chars()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        );
        assert_eq!(verify_signature(body, Some(&signed), "a-secret"), Ok(()));
    }
}

#[test]
fn sign_refuses_what_verify_refuses() {
    assert_eq!(sign(FOLLOW, ""), Err(SignatureError::NoSecretKey));
    assert_eq!(sign(b"{\"app_id\":", "k"), Err(SignatureError::BodyNotJson));
    assert_eq!(
        sign(br#"{"timestamp":"1"}"#, "k"),
        Err(SignatureError::MissingBodyField("app_id"))
    );
    assert_eq!(
        sign(br#"{"app_id":"1"}"#, "k"),
        Err(SignatureError::MissingBodyField("timestamp"))
    );
}

// --- events -----------------------------------------------------------------------------------------------------

#[test]
fn follow_event_becomes_followed_with_follower_id() {
    assert_eq!(
        parse_event(FOLLOW).unwrap(),
        Inbound {
            channel: Channel::Zalo,
            event_id: "follow:24684588352919792:154397978274".to_owned(),
            user_id: "24684588352919792".to_owned(),
            at_ms: Some(154_397_978_274),
            kind: InboundKind::Followed,
        }
    );
}

#[test]
fn unfollow_event_becomes_unfollowed_with_follower_id() {
    let inbound = parse_event(UNFOLLOW).unwrap();
    assert_eq!(inbound.kind, InboundKind::Unfollowed);
    assert_eq!(inbound.user_id, "24684588352919792");
    assert!(!inbound.kind.feeds_dialogue());
}

#[test]
fn events_without_msg_id_get_an_event_id_that_is_stable_across_retries_and_differs_between_events() {
    assert_eq!(
        parse_event(FOLLOW).unwrap().event_id,
        parse_event(FOLLOW).unwrap().event_id
    );
    assert_ne!(
        parse_event(FOLLOW).unwrap().event_id,
        parse_event(UNFOLLOW).unwrap().event_id
    );
    let mut later: Value = serde_json::from_slice(FOLLOW).unwrap();
    later["timestamp"] = json!("154397978275");
    assert_ne!(
        parse_json(&later).unwrap().event_id,
        parse_event(FOLLOW).unwrap().event_id
    );
}

#[test]
fn text_event_carries_sender_text_and_msg_id() {
    assert_eq!(
        parse_event(USER_SEND_TEXT).unwrap(),
        Inbound {
            channel: Channel::Zalo,
            event_id: "96d3cdf3af150460909".to_owned(),
            user_id: "246845883529197922".to_owned(),
            at_ms: Some(154_390_853_474),
            kind: InboundKind::Text("message".to_owned()),
        }
    );
}

#[test]
fn button_click_arrives_as_text_and_becomes_button() {
    let body = with_text(QUERY_BUTTON_TEXT, &button_payload("survey_q1_yes"));
    let inbound = parse_event(&body).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Button {
            payload: "survey_q1_yes".to_owned(),
            callback_id: None,
            message_id: None,
        }
    );
    assert_eq!(inbound.user_id, "246845883529197922");
    assert!(inbound.kind.feeds_dialogue());
}

#[test]
fn button_payload_adds_the_prefix_exactly_once() {
    assert_eq!(BUTTON_PREFIX, "#yk:");
    assert_eq!(button_payload("q1:yes"), "#yk:q1:yes");
    let inbound = parse_event(&with_text(USER_SEND_TEXT, &button_payload("#yk:x"))).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Button {
            payload: "#yk:x".to_owned(),
            callback_id: None,
            message_id: None,
        }
    );
}

#[test]
fn a_query_button_payload_without_our_prefix_stays_text() {
    let inbound = parse_event(QUERY_BUTTON_TEXT).unwrap();
    assert_eq!(inbound.kind, InboundKind::Text("#survey_q1_yes".to_owned()));
}

#[test]
fn typed_text_that_only_contains_the_prefix_later_is_text() {
    let inbound = parse_event(&with_text(USER_SEND_TEXT, "tôi gõ #yk:abc")).unwrap();
    assert_eq!(inbound.kind, InboundKind::Text("tôi gõ #yk:abc".to_owned()));
}

#[test]
fn image_event_carries_photo_url() {
    assert_eq!(
        parse_event(USER_SEND_IMAGE).unwrap(),
        Inbound {
            channel: Channel::Zalo,
            event_id: "This is message id".to_owned(),
            user_id: "4339761418830368433".to_owned(),
            at_ms: Some(1_609_984_527_174),
            kind: InboundKind::Photo {
                urls: vec!["url_to_thumbnail".to_owned()],
                caption: Some("This is testing message".to_owned()),
            },
        }
    );
}

#[test]
fn image_without_text_has_no_caption() {
    let inbound = parse_event(&with_text(USER_SEND_IMAGE, "  ")).unwrap();
    assert!(
        matches!(inbound.kind, InboundKind::Photo { caption: None, .. }),
        "{:?}",
        inbound.kind
    );
}

#[test]
fn image_event_without_any_url_is_an_error() {
    let mut event: Value = serde_json::from_slice(USER_SEND_IMAGE).unwrap();
    event["message"]["attachments"] = json!([{ "type": "image", "payload": { "thumbnail": "t" } }]);
    assert!(matches!(
        parse_json(&event),
        Err(ParseError::Missing("message.attachments[].payload.url"))
    ));
    event["message"]["attachments"] = json!([]);
    assert!(matches!(parse_json(&event), Err(ParseError::Missing(_))));
}

fn location_event(latitude: Value, longitude: Value) -> Value {
    json!({
        "app_id": "1163843031413526746",
        "user_id_by_app": "2372735685249892743",
        "event_name": "user_send_location",
        "timestamp": "1609984527175",
        "sender": { "id": "4339761418830368433" },
        "recipient": { "id": "2197174064623873199" },
        "message": {
            "msg_id": "b8de7d84fa1b3043690c",
            "text": "",
            "attachments": [{ "type": "location", "payload": { "coordinates": {
                "latitude": latitude, "longitude": longitude } } }]
        }
    })
}

#[test]
fn location_coordinates_may_be_strings_or_numbers() {
    let from_strings = parse_json(&location_event(json!("10.7923119"), json!("106.7820651"))).unwrap();
    assert_eq!(
        from_strings.kind,
        InboundKind::Location {
            lat: 10.792_311_9,
            lon: 106.782_065_1
        }
    );
    assert_eq!(from_strings.user_id, "4339761418830368433");
    assert_eq!(from_strings.event_id, "b8de7d84fa1b3043690c");
    let from_numbers = parse_json(&location_event(json!(21.0285), json!(105.8542))).unwrap();
    assert_eq!(
        from_numbers.kind,
        InboundKind::Location {
            lat: 21.0285,
            lon: 105.8542
        }
    );
}

#[test]
fn impossible_coordinates_are_errors() {
    for (lat, lon) in [
        (json!("91"), json!("0")),
        (json!("0"), json!(-180.5)),
        (json!("NaN"), json!("0")),
        (json!("inf"), json!("0")),
        (json!("ten"), json!("0")),
        (json!(true), json!("0")),
    ] {
        let result = parse_json(&location_event(lat.clone(), lon.clone()));
        assert!(
            matches!(result, Err(ParseError::Invalid { .. } | ParseError::WrongType { .. })),
            "{lat} {lon}: {result:?}"
        );
    }
}

#[test]
fn submitted_info_becomes_contact_info_with_the_full_address_on_one_line() {
    let inbound = parse_event(USER_SUBMIT_INFO).unwrap();
    assert_eq!(inbound.user_id, "246845883529697922");
    assert_eq!(
        inbound.kind,
        InboundKind::ContactInfo {
            name: Some("Name Example".to_owned()),
            phone: Some("84912345678".to_owned()),
            address: Some("Đường số 13, KCX Tân Thuận Đông, Phường Tân Thuận, Thành phố Hồ Chí Minh".to_owned()),
        }
    );
}

#[test]
fn submitted_info_in_the_older_format_joins_address_ward_district_city_and_drops_blanks() {
    let mut event: Value = serde_json::from_slice(USER_SUBMIT_INFO).unwrap();
    event["info"] = json!({ "name": " ", "phone": "84912345678", "address": "12 Lê Lợi", "ward": "",
                            "district": "Quận 1", "city": "TP HCM" });
    assert_eq!(
        parse_json(&event).unwrap().kind,
        InboundKind::ContactInfo {
            name: None,
            phone: Some("84912345678".to_owned()),
            address: Some("12 Lê Lợi, Quận 1, TP HCM".to_owned()),
        }
    );
}

fn receipt_event(event_name: &str, message: Value) -> Value {
    json!({
        "app_id": "360846524940903967",
        "user_id_by_app": "552177279717587730",
        "event_name": event_name,
        "timestamp": "1609984527180",
        "sender": { "id": "246845883529197922" },
        "recipient": { "id": "388613280878808645" },
        "message": message
    })
}

#[test]
fn seen_receipt_lists_every_msg_id_and_never_feeds_dialogue() {
    let inbound = parse_json(&receipt_event("user_seen_message", json!({ "msg_ids": ["a1", "b2"] }))).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Receipt {
            message_ids: vec!["a1".to_owned(), "b2".to_owned()],
            seen: true
        }
    );
    assert!(!inbound.kind.feeds_dialogue());
}

#[test]
fn received_receipt_names_our_message_but_its_event_id_is_its_own() {
    let inbound = parse_json(&receipt_event("user_received_message", json!({ "msg_id": "a1" }))).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Receipt {
            message_ids: vec!["a1".to_owned()],
            seen: false
        }
    );
    assert_ne!(inbound.event_id, "a1", "the echo of message a1 already uses that id");
    assert_eq!(
        inbound.event_id,
        "user_received_message:246845883529197922:1609984527180"
    );
}

#[test]
fn a_receipt_without_ids_is_an_error() {
    let result = parse_json(&receipt_event("user_seen_message", json!({ "msg_ids": [] })));
    assert!(
        matches!(result, Err(ParseError::Missing("message.msg_ids"))),
        "{result:?}"
    );
    let result = parse_json(&receipt_event("user_seen_message", json!({ "msg_ids": [7] })));
    assert!(
        matches!(
            result,
            Err(ParseError::WrongType {
                field: "message.msg_ids[]",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn oa_echo_is_never_a_user_message() {
    let inbound = parse_event(OA_SEND_TEXT).unwrap();
    assert_eq!(inbound.kind, InboundKind::Echo);
    assert!(!inbound.kind.feeds_dialogue());
    assert_eq!(
        inbound.user_id, "4339761418830368433",
        "the user is the recipient, not the OA that sent it"
    );
}

#[test]
fn every_oa_send_event_is_an_echo_even_if_it_looks_like_a_button_click() {
    for name in ["oa_send_image", "oa_send_list", "oa_send_text"] {
        let mut event: Value = serde_json::from_slice(OA_SEND_TEXT).unwrap();
        event["event_name"] = json!(name);
        event["message"]["text"] = json!(button_payload("q1"));
        assert_eq!(parse_json(&event).unwrap().kind, InboundKind::Echo, "{name}");
    }
}

#[test]
fn unknown_events_are_unsupported_not_errors() {
    let mut event: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    event["event_name"] = json!("user_send_sticker");
    event["message"] = json!({ "msg_id": "s1", "attachments": [{ "type": "sticker", "payload": { "id": "x" } }] });
    let inbound = parse_json(&event).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Unsupported {
            event_name: "user_send_sticker".to_owned()
        }
    );
    assert_eq!(inbound.user_id, "246845883529197922");
    assert_eq!(inbound.event_id, "s1");
    assert!(!inbound.kind.feeds_dialogue());
    assert!(inbound.kind.is_untaken_message());
}

#[test]
fn a_voice_message_is_read_from_its_attachment() {
    let mut event: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    event["event_name"] = json!("user_send_audio");
    event["message"] = json!({ "msg_id": "a1", "attachments": [{ "type": "audio", "payload": { "url": "https://zalo.example/voice.aac" } }] });
    let inbound = parse_json(&event).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Voice {
            reference: "https://zalo.example/voice.aac".to_owned(),
            mime_type: None,
            duration_secs: None,
            size: None,
        }
    );
    assert_eq!(inbound.event_id, "a1");
    event["message"] = json!({ "msg_id": "a2", "attachments": [{ "type": "audio", "payload": {} }] });
    assert!(parse_json(&event).is_err());
}

#[test]
fn timestamp_may_be_a_number_or_absent() {
    let mut event: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    event["timestamp"] = json!(1_609_984_527_174_i64);
    assert_eq!(parse_json(&event).unwrap().at_ms, Some(1_609_984_527_174));
    event.as_object_mut().unwrap().remove("timestamp");
    assert_eq!(parse_json(&event).unwrap().at_ms, None);
}

#[test]
fn channel_names_are_stable() {
    assert_eq!(Channel::Zalo.as_str(), "zalo");
    assert_eq!(Channel::Telegram.as_str(), "telegram");
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    let not_json: [&[u8]; 6] = [
        b"",
        b"   ",
        &USER_SEND_TEXT[..USER_SEND_TEXT.len() / 2],
        b"{\"event_name\":\"follow\",}",
        b"\xff\xfe{}",
        b"{\"event_name\":\"user_send_text\",\"message\":{\"text\":\"\xc3\x28\"}}",
    ];
    for body in not_json {
        let result = parse_event(body);
        assert!(
            matches!(result, Err(ParseError::NotJson(_))),
            "{:?}: {result:?}",
            String::from_utf8_lossy(body)
        );
    }

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse_event(deep.as_bytes()), Err(ParseError::NotJson(_))));
    let deep_in_object = format!(
        "{{\"event_name\":\"x\",\"a\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(
        parse_event(deep_in_object.as_bytes()),
        Err(ParseError::NotJson(_))
    ));

    for body in [
        &b"[]"[..],
        b"null",
        b"42",
        b"\"follow\"",
        b"[{\"event_name\":\"follow\"}]",
    ] {
        assert!(
            matches!(parse_event(body), Err(ParseError::NotAnObject)),
            "{}",
            String::from_utf8_lossy(body)
        );
    }

    let text: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut event = text.clone();
        f(&mut event);
        parse_json(&event)
    };
    let cases: Vec<(&str, Result<Inbound, ParseError>)> = vec![
        (
            "missing event_name",
            edit(&|e| drop(e.as_object_mut().unwrap().remove("event_name"))),
        ),
        ("empty event_name", edit(&|e| e["event_name"] = json!(""))),
        ("event_name a number", edit(&|e| e["event_name"] = json!(7))),
        (
            "missing sender",
            edit(&|e| drop(e.as_object_mut().unwrap().remove("sender"))),
        ),
        ("sender a string", edit(&|e| e["sender"] = json!("246845883529197922"))),
        (
            "sender.id a number",
            edit(&|e| e["sender"]["id"] = json!(246_845_883_529_197_922_u64)),
        ),
        ("sender.id empty", edit(&|e| e["sender"]["id"] = json!(""))),
        ("message an array", edit(&|e| e["message"] = json!(["message"]))),
        (
            "missing message",
            edit(&|e| drop(e.as_object_mut().unwrap().remove("message"))),
        ),
        ("message.text a number", edit(&|e| e["message"]["text"] = json!(5))),
        (
            "message.text missing",
            edit(&|e| drop(e["message"].as_object_mut().unwrap().remove("text"))),
        ),
        ("msg_id a number", edit(&|e| e["message"]["msg_id"] = json!(5))),
        ("timestamp a bool", edit(&|e| e["timestamp"] = json!(true))),
        ("timestamp not digits", edit(&|e| e["timestamp"] = json!("12a"))),
        ("timestamp a fraction", edit(&|e| e["timestamp"] = json!(1.5))),
        (
            "attachments an object",
            edit(&|e| {
                e["event_name"] = json!("user_send_image");
                e["message"]["attachments"] = json!({ "payload": { "url": "u" } });
            }),
        ),
        (
            "follower missing on follow",
            edit(&|e| e["event_name"] = json!("follow")),
        ),
        (
            "recipient missing on echo",
            edit(&|e| {
                e["event_name"] = json!("oa_send_text");
                drop(e.as_object_mut().unwrap().remove("recipient"));
            }),
        ),
        (
            "info missing on submit_info",
            edit(&|e| e["event_name"] = json!("user_submit_info")),
        ),
        (
            "info.phone an object",
            edit(&|e| {
                e["event_name"] = json!("user_submit_info");
                e["info"] = json!({ "phone": { "n": 1 } });
            }),
        ),
    ];
    for (what, result) in cases {
        assert!(
            matches!(
                result,
                Err(ParseError::Missing(_) | ParseError::WrongType { .. } | ParseError::Invalid { .. })
            ),
            "{what}: {result:?}"
        );
    }
}

#[test]
fn parse_errors_name_the_field_and_never_echo_the_body() {
    let mut event: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    event["sender"]["id"] = json!(12345);
    let message = parse_json(&event).unwrap_err().to_string();
    assert!(message.contains("sender.id"), "{message}");
    assert!(!message.contains("12345"), "{message}");
}

#[test]
fn an_event_naming_no_user_is_unsupported_with_no_user() {
    // `add_user_to_tag` as the OA sends it: the OA and the tag, no sender nor follower.
    let event = json!({
        "app_id": "360846524940903967",
        "oa_id": "579745863508352884",
        "event_name": "add_user_to_tag",
        "timestamp": "1733490000000",
        "tag": { "id": "7", "name": "Phường Phố Hiến" },
        "user_id_by_app": "552177279717587730"
    });
    let inbound = parse_json(&event).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Unsupported {
            event_name: "add_user_to_tag".to_owned()
        }
    );
    assert_eq!(inbound.user_id, "");
    assert_eq!(inbound.event_id, "add_user_to_tag::1733490000000");
}
