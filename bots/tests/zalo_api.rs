//! The Zalo OA API client (`ykien_bots::zalo_api`) against the fake Zalo in `tests/fakes/zalo.rs`: how each kind of
//! [`Outbound`] is rendered and sent, how each error is classified, token refresh, and image download. Request
//! bodies and Zalo answers come from `tests/fixtures/zalo/` where there is one (sources in the README there).
#![allow(clippy::unwrap_used)]

#[path = "fakes/zalo.rs"]
mod fake_zalo;

use std::time::Duration;

use fake_zalo::FakeZalo;
use serde_json::{Value, json};
use ykien_bots::message::{Button, DeliveryError, InboundKind, Outbound};
use ykien_bots::zalo::{BUTTON_PREFIX, parse_event};
use ykien_bots::zalo_api::{
    BUTTON_TITLE_LIMIT, CHOOSE_BY_NUMBER, DEFAULT_API_URL, DEFAULT_EXPIRES_IN_SECS, DEFAULT_OAUTH_URL, DownloadError,
    MAX_BUTTONS, TEXT_LIMIT, Tokens, ZaloClient, ZaloError, render,
};

const APP_ID: &str = "1163843031413526746";
const APP_SECRET: &str = "test-app-secret-not-real-3f9a";
const ACCESS_TOKEN: &str = "initial-access-token-7c1e";
const REFRESH_TOKEN: &str = "initial-refresh-token-b402";
const USER: &str = "2468458835296197922";
const CS: &str = "/v3.0/oa/message/cs";
const UPLOAD: &str = "/v2.0/oa/upload/image";
const OAUTH: &str = "/v4/oa/access_token";

const SEND_TEXT_REQUEST: &str = include_str!("fixtures/zalo/zalo_send_cs_text.request.json");
const SEND_BUTTONS_REQUEST: &str = include_str!("fixtures/zalo/zalo_send_cs_text_with_buttons.request.json");
const OAUTH_ANSWER: &str = include_str!("fixtures/zalo/oauth_access_token_response.json");
const ERROR_216: &str = include_str!("fixtures/zalo/error_-216_access_token_invalid.json");
const ERROR_230: &str = include_str!("fixtures/zalo/error_-230_not_interacted_7d.json");
const USER_SEND_TEXT: &[u8] = include_bytes!("fixtures/zalo/user_send_text.json");
const USER_SEND_IMAGE: &[u8] = include_bytes!("fixtures/zalo/user_send_image.console_test.json");

/// A 1×1 PNG's first bytes are enough: the fake checks the upload, not the picture.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (FakeZalo, ZaloClient) {
    let fake = FakeZalo::start(ACCESS_TOKEN, REFRESH_TOKEN).await;
    fake.require_app(APP_ID, APP_SECRET);
    let client = ZaloClient::new(APP_ID, APP_SECRET)
        .unwrap()
        .with_api_url(fake.url())
        .with_oauth_url(format!("{}/", fake.url()));
    (fake, client)
}

fn button(label: &str, payload: &str) -> Button {
    Button {
        label: label.to_owned(),
        payload: payload.to_owned(),
    }
}

fn with_buttons(text: &str, buttons: Vec<Button>) -> Outbound {
    Outbound {
        buttons,
        ..Outbound::text(text)
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The JSON's structure: every key path, values left out.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        _ => Value::Null,
    }
}

fn zalo_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The outbox's word for a delivery error.
fn outbox_kind(delivery: &DeliveryError) -> &'static str {
    match delivery {
        DeliveryError::Retry(_) => "retry",
        DeliveryError::Unreachable(_) => "unreachable",
        DeliveryError::Refused(_) => "refused",
    }
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// --- the client itself ------------------------------------------------------------------------------------------

#[test]
fn defaults_point_at_zalo() {
    let client = ZaloClient::new(APP_ID, APP_SECRET).unwrap();
    assert_eq!(client.api_url(), DEFAULT_API_URL);
    assert_eq!(client.oauth_url(), DEFAULT_OAUTH_URL);
    assert_eq!(DEFAULT_API_URL, "https://openapi.zalo.me");
    assert_eq!(DEFAULT_OAUTH_URL, "https://oauth.zaloapp.com");
    assert_eq!(client.app_id(), APP_ID);
}

#[test]
fn client_debug_hides_the_app_secret() {
    let client = ZaloClient::new(APP_ID, APP_SECRET).unwrap();
    let debug = format!("{client:?}");
    assert!(debug.contains(APP_ID));
    assert!(!debug.contains(APP_SECRET), "{debug}");
}

// --- sending ----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn text_is_sent_as_the_sdk_builds_it_with_the_access_token_header() {
    let (fake, client) = setup().await;
    let sent = client
        .send(ACCESS_TOKEN, USER, &Outbound::text("text_message"))
        .await
        .unwrap();

    let calls = fake.calls_to(CS);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].json, Some(json(SEND_TEXT_REQUEST)));
    assert_eq!(calls[0].access_token.as_deref(), Some(ACCESS_TOKEN));
    assert!(
        calls[0]
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(fake.sent_to(USER), vec![json!({ "text": "text_message" })]);
    assert!(!sent.message_id.is_empty());
    assert_eq!(sent.message_ids, vec![sent.message_id.clone()]);
}

#[tokio::test]
async fn vietnamese_text_arrives_unchanged() {
    let (fake, client) = setup().await;
    let text = "Phản ánh của bạn đã được tiếp nhận.\nMã hồ sơ: HY-2026-0042.\nCảm ơn bạn!";
    client.send(ACCESS_TOKEN, USER, &Outbound::text(text)).await.unwrap();
    assert_eq!(fake.sent_to(USER), vec![json!({ "text": text })]);
}

#[tokio::test]
async fn buttons_become_query_show_buttons_whose_payloads_carry_the_prefix() {
    let (fake, client) = setup().await;
    let msg = with_buttons(
        "Câu 1: Bạn có hài lòng với dịch vụ công tại xã?",
        vec![button("Hài lòng", "q1:yes"), button("Chưa hài lòng", "q1:no")],
    );
    client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();

    let expected = json!({
        "text": "Câu 1: Bạn có hài lòng với dịch vụ công tại xã?",
        "attachment": {
            "type": "template",
            "payload": {
                "buttons": [
                    { "title": "Hài lòng", "type": "oa.query.show", "payload": "#yk:q1:yes" },
                    { "title": "Chưa hài lòng", "type": "oa.query.show", "payload": "#yk:q1:no" },
                ]
            }
        }
    });
    assert_eq!(fake.sent_to(USER), vec![expected]);
}

#[tokio::test]
async fn the_button_request_has_the_structure_of_the_reconstructed_fixture() {
    let (fake, client) = setup().await;
    let msg = with_buttons("Chọn", vec![button("Có", "yes")]);
    client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();
    let sent = fake.calls_to(CS)[0].json.clone().unwrap();
    assert_eq!(shape(&sent), shape(&json(SEND_BUTTONS_REQUEST)));
}

#[tokio::test]
async fn a_click_on_a_sent_button_parses_back_as_that_button() {
    let (fake, client) = setup().await;
    let msg = with_buttons("Chọn xã", vec![button("Phường Phố Hiến", "commune:11953")]);
    client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();
    let payload = fake.sent_to(USER)[0]["attachment"]["payload"]["buttons"][0]["payload"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(payload.starts_with(BUTTON_PREFIX));

    // Zalo delivers the click as a user_send_text whose text is the payload.
    let mut event: Value = serde_json::from_slice(USER_SEND_TEXT).unwrap();
    event["message"]["text"] = json!(payload);
    let inbound = parse_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    assert_eq!(
        inbound.kind,
        InboundKind::Button {
            payload: "commune:11953".to_owned(),
            callback_id: None,
            message_id: None,
        }
    );
}

#[tokio::test]
async fn five_buttons_are_still_buttons() {
    let (fake, client) = setup().await;
    let buttons: Vec<Button> = (1..=MAX_BUTTONS)
        .map(|i| button(&format!("Mức {i}"), &format!("q:{i}")))
        .collect();
    client
        .send(ACCESS_TOKEN, USER, &with_buttons("Mức độ hài lòng?", buttons))
        .await
        .unwrap();
    let sent = fake.sent_to(USER);
    assert_eq!(sent[0]["text"], "Mức độ hài lòng?");
    assert_eq!(sent[0]["attachment"]["payload"]["buttons"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn more_than_five_buttons_become_a_numbered_list_in_the_text() {
    let (fake, client) = setup().await;
    let labels = [
        "Đất đai",
        "Môi trường",
        "Giao thông",
        "Y tế",
        "Giáo dục",
        "An ninh",
        "Khác",
    ];
    let buttons = labels
        .iter()
        .enumerate()
        .map(|(i, label)| button(label, &format!("cat:{i}")))
        .collect();
    client
        .send(
            ACCESS_TOKEN,
            USER,
            &with_buttons("Phản ánh của bạn thuộc lĩnh vực nào?", buttons),
        )
        .await
        .unwrap();

    let expected = "Phản ánh của bạn thuộc lĩnh vực nào?\n\n\
                    1. Đất đai\n2. Môi trường\n3. Giao thông\n4. Y tế\n5. Giáo dục\n6. An ninh\n7. Khác\n\
                    Gõ số để chọn.";
    assert_eq!(fake.sent_to(USER), vec![json!({ "text": expected })]);
    assert!(expected.ends_with(CHOOSE_BY_NUMBER));
}

#[tokio::test]
async fn long_button_labels_are_shortened_with_an_ellipsis() {
    let (fake, client) = setup().await;
    let long =
        "Tôi muốn phản ánh về việc cấp giấy chứng nhận quyền sử dụng đất chậm hơn thời hạn quy định rất nhiều lần rồi";
    assert!(long.chars().count() > BUTTON_TITLE_LIMIT);
    let exact = "x".repeat(BUTTON_TITLE_LIMIT);
    client
        .send(
            ACCESS_TOKEN,
            USER,
            &with_buttons("Chọn", vec![button(long, "a"), button(&exact, "b")]),
        )
        .await
        .unwrap();

    let sent = fake.sent_to(USER);
    let buttons = sent[0]["attachment"]["payload"]["buttons"].as_array().unwrap();
    let title = buttons[0]["title"].as_str().unwrap();
    assert!(title.chars().count() <= BUTTON_TITLE_LIMIT, "{title}");
    assert!(title.ends_with('…'));
    assert!(long.starts_with(title.trim_end_matches('…')));
    assert_eq!(
        buttons[1]["title"],
        exact.as_str(),
        "a title at the limit is kept whole"
    );
    assert_eq!(buttons[0]["payload"], "#yk:a", "the payload is never shortened");
}

#[tokio::test]
async fn request_location_and_remove_keyboard_add_nothing() {
    let (fake, client) = setup().await;
    let msg = Outbound {
        request_location: Some("Gửi vị trí".to_owned()),
        remove_keyboard: true,
        ..Outbound::text("Bấm dấu + rồi chọn Vị trí để gửi vị trí của bạn.")
    };
    client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();
    assert_eq!(
        fake.sent_to(USER),
        vec![json!({ "text": "Bấm dấu + rồi chọn Vị trí để gửi vị trí của bạn." })]
    );
}

#[tokio::test]
async fn long_text_is_split_on_lines_with_the_buttons_on_the_last_part() {
    let (fake, client) = setup().await;
    let line = "Nội dung trả lời của cơ quan có thẩm quyền về phản ánh của công dân. ".repeat(10);
    let lines: Vec<String> = (0..8).map(|i| format!("{i}. {}", line.trim_end())).collect();
    let text = lines.join("\n");
    assert!(zalo_len(&text) > 2 * TEXT_LIMIT);
    let msg = with_buttons(&text, vec![button("Hài lòng", "ok"), button("Chưa hài lòng", "ko")]);
    let sent = client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();

    let messages = fake.sent_to(USER);
    assert!(messages.len() >= 3, "{} parts", messages.len());
    assert_eq!(sent.message_ids.len(), messages.len());
    assert_eq!(sent.message_id, *sent.message_ids.last().unwrap());
    for part in texts(&messages) {
        assert!(zalo_len(&part) <= TEXT_LIMIT);
        assert!(!part.starts_with('\n') && !part.ends_with('\n'));
    }
    assert_eq!(texts(&messages).join("\n"), text, "split on line boundaries only");
    let (last, earlier) = messages.split_last().unwrap();
    assert!(earlier.iter().all(|m| m.get("attachment").is_none()));
    assert_eq!(last["attachment"]["payload"]["buttons"].as_array().unwrap().len(), 2);
}

#[test]
fn text_of_exactly_the_limit_is_one_message_and_one_more_is_two() {
    let exact = "a".repeat(TEXT_LIMIT);
    assert_eq!(render(&Outbound::text(exact.clone())), vec![json!({ "text": exact })]);

    let over = format!("{}\n{}", "a".repeat(TEXT_LIMIT - 5), "b".repeat(10));
    assert_eq!(
        texts(&render(&Outbound::text(over))),
        vec!["a".repeat(TEXT_LIMIT - 5), "b".repeat(10)]
    );
}

#[test]
fn a_single_line_longer_than_the_limit_is_cut_between_words() {
    let text = "Phường Phố Hiến tỉnh Hưng Yên ".repeat(200);
    let text = text.trim_end();
    let parts = texts(&render(&Outbound::text(text)));
    assert!(parts.len() >= 3);
    for part in &parts {
        assert!(zalo_len(part) <= TEXT_LIMIT);
        assert!(!part.starts_with(' ') && !part.ends_with(' '));
    }
    assert_eq!(parts.join(" "), text);
}

#[test]
fn a_line_without_spaces_is_cut_at_the_limit_counting_emoji_as_two() {
    let text = "😀".repeat(TEXT_LIMIT); // 2 UTF-16 units each
    let parts = texts(&render(&Outbound::text(text.clone())));
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| zalo_len(p) == TEXT_LIMIT));
    assert_eq!(parts.concat(), text);
}

#[test]
fn a_numbered_list_that_does_not_fit_goes_into_a_message_of_its_own() {
    let text = "x".repeat(TEXT_LIMIT - 10);
    let buttons = (1..=6)
        .map(|i| button(&format!("Lựa chọn {i}"), &i.to_string()))
        .collect();
    let parts = texts(&render(&with_buttons(&text, buttons)));
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], text);
    assert!(parts[1].starts_with("1. Lựa chọn 1\n2. Lựa chọn 2\n"));
    assert!(parts[1].ends_with(CHOOSE_BY_NUMBER));
}

#[tokio::test]
async fn a_photo_is_uploaded_then_sent_as_media_before_the_text() {
    let (fake, client) = setup().await;
    let msg = Outbound {
        photo: Some(PNG.to_vec()),
        ..with_buttons("Điểm của xã bạn", vec![button("Xem thêm", "more")])
    };
    let sent = client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();

    let paths: Vec<String> = fake.calls().iter().map(|c| c.path.clone()).collect();
    assert_eq!(paths, vec![UPLOAD, CS, CS]);
    let upload = &fake.calls_to(UPLOAD)[0];
    assert_eq!(upload.access_token.as_deref(), Some(ACCESS_TOKEN));
    let file = upload.file.clone().unwrap();
    assert_eq!(file.field, "file");
    assert_eq!(file.size, PNG.len());
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert!(file.file_name.unwrap().ends_with(".png"));

    let messages = fake.sent_to(USER);
    assert_eq!(messages.len(), 2);
    let attachment_id = messages[0]["attachment"]["payload"]["elements"][0]["attachment_id"]
        .as_str()
        .unwrap();
    assert_eq!(
        messages[0],
        json!({
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{ "media_type": "image", "attachment_id": attachment_id }]
                }
            }
        })
    );
    assert_eq!(messages[1]["text"], "Điểm của xã bạn");
    assert_eq!(sent.message_ids.len(), 2);
    assert_eq!(sent.message_id, sent.message_ids[1]);
}

#[tokio::test]
async fn a_jpeg_is_uploaded_as_a_jpeg_and_a_photo_alone_is_one_message() {
    let (fake, client) = setup().await;
    let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9".to_vec();
    let msg = Outbound {
        photo: Some(jpeg),
        ..Outbound::default()
    };
    client.send(ACCESS_TOKEN, USER, &msg).await.unwrap();
    assert_eq!(
        fake.calls_to(UPLOAD)[0].file.clone().unwrap().content_type.as_deref(),
        Some("image/jpeg")
    );
    let messages = fake.sent_to(USER);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["attachment"]["payload"]["template_type"], "media");
}

#[tokio::test]
async fn an_upload_failure_sends_nothing() {
    let (fake, client) = setup().await;
    fake.fail_next_upload(-32);
    let msg = Outbound {
        photo: Some(PNG.to_vec()),
        ..Outbound::text("Biểu đồ")
    };
    let error = client.send(ACCESS_TOKEN, USER, &msg).await.unwrap_err();
    assert_eq!(error, ZaloError::RateLimited { code: -32 });
    assert!(fake.sent_to(USER).is_empty());
    assert!(fake.calls_to(CS).is_empty());
}

#[tokio::test]
async fn an_image_over_zalos_limit_is_refused_by_zalo() {
    let (fake, client) = setup().await;
    let mut big = PNG.to_vec();
    big.resize(fake_zalo::IMAGE_LIMIT + 1, 0);
    let error = client
        .send(
            ACCESS_TOKEN,
            USER,
            &Outbound {
                photo: Some(big),
                ..Outbound::text("x")
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ZaloError::Api { code: -210, .. }), "{error:?}");
    assert_eq!(
        fake.calls_to(UPLOAD)[0].file.clone().unwrap().size,
        fake_zalo::IMAGE_LIMIT + 1
    );
    assert!(fake.sent_to(USER).is_empty());
    assert!(matches!(error.delivery(), DeliveryError::Refused(_)));
}

// --- errors -----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_zalo_error_code_is_classified_for_the_outbox() {
    let (fake, client) = setup().await;
    let cases = [
        (-216, ZaloError::TokenInvalid { code: -216 }, "retry"),
        (-220, ZaloError::TokenInvalid { code: -220 }, "retry"),
        (-124, ZaloError::TokenInvalid { code: -124 }, "retry"),
        (-230, ZaloError::UserUnreachable { code: -230 }, "unreachable"),
        (-232, ZaloError::UserUnreachable { code: -232 }, "unreachable"),
        (-227, ZaloError::UserUnreachable { code: -227 }, "unreachable"),
        (-213, ZaloError::UserUnreachable { code: -213 }, "unreachable"),
        (-32, ZaloError::RateLimited { code: -32 }, "retry"),
    ];
    for (code, expected, delivery) in cases {
        fake.fail_next_send(code);
        let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
        assert_eq!(error, expected, "code {code}");
        assert_eq!(outbox_kind(&error.delivery()), delivery, "code {code}");
    }
    assert!(fake.sent_to(USER).is_empty());

    fake.fail_next_send(-201);
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert_eq!(
        error,
        ZaloError::Api {
            code: -201,
            message: "Parameter is invalid!".to_owned()
        }
    );
    assert!(matches!(error.delivery(), DeliveryError::Refused(_)));
}

#[tokio::test]
async fn the_fixture_error_bodies_are_classified() {
    let (fake, client) = setup().await;
    fake.answer_next_send(json(ERROR_216));
    fake.answer_next_send(json(ERROR_230));
    let first = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    let second = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert_eq!(first, ZaloError::TokenInvalid { code: -216 });
    assert_eq!(second, ZaloError::UserUnreachable { code: -230 });
}

#[tokio::test]
async fn an_unknown_or_replaced_access_token_is_token_invalid() {
    let (fake, client) = setup().await;
    let error = client
        .send("not-the-token", USER, &Outbound::text("x"))
        .await
        .unwrap_err();
    assert_eq!(error, ZaloError::TokenInvalid { code: -216 });

    fake.expire_access_token();
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert_eq!(error, ZaloError::TokenInvalid { code: -220 });
    assert!(fake.sent_to(USER).is_empty());
}

#[tokio::test]
async fn an_unreachable_user_gets_nothing_until_reachable_again() {
    let (fake, client) = setup().await;
    fake.make_unreachable(USER, -230);
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert_eq!(error, ZaloError::UserUnreachable { code: -230 });
    assert!(matches!(error.delivery(), DeliveryError::Unreachable(_)));

    fake.make_reachable(USER);
    client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap();
    assert!(fake.wait_for_sends(1, WAIT).await);
    assert_eq!(fake.sent_to(USER), vec![json!({ "text": "x" })]);
}

#[tokio::test]
async fn a_failure_in_a_later_part_reports_the_error_after_the_earlier_parts_went() {
    let (fake, client) = setup().await;
    let text = format!("{}\n{}", "a".repeat(TEXT_LIMIT), "b".repeat(10));
    fake.answer_next_send(json!({ "error": 0, "message": "Success", "data": { "message_id": "first" } }));
    fake.fail_next_send(-32);
    // The scripted success stands in for the first part; the second part fails.
    let error = client
        .send(ACCESS_TOKEN, USER, &Outbound::text(text))
        .await
        .unwrap_err();
    assert_eq!(error, ZaloError::RateLimited { code: -32 });
    assert_eq!(fake.calls_to(CS).len(), 2);
}

#[tokio::test]
async fn http_and_network_failures_are_classified() {
    let (fake, _) = setup().await;
    let wrong_path = ZaloClient::new(APP_ID, APP_SECRET)
        .unwrap()
        .with_api_url(format!("{}/nothing-here", fake.url()));
    let error = wrong_path
        .send(ACCESS_TOKEN, USER, &Outbound::text("x"))
        .await
        .unwrap_err();
    assert_eq!(error, ZaloError::Http { status: 404 });
    assert!(matches!(error.delivery(), DeliveryError::Refused(_)));

    // A port that was just free: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = ZaloClient::new(APP_ID, APP_SECRET)
        .unwrap()
        .with_api_url(format!("http://{closed}"));
    let error = unreachable
        .send(ACCESS_TOKEN, USER, &Outbound::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, ZaloError::Network(_)), "{error:?}");
    assert!(matches!(error.delivery(), DeliveryError::Retry(_)));

    for (status, retry) in [
        (500, true),
        (502, true),
        (503, true),
        (429, true),
        (408, true),
        (400, false),
        (403, false),
    ] {
        let delivery = ZaloError::Http { status }.delivery();
        assert_eq!(matches!(delivery, DeliveryError::Retry(_)), retry, "HTTP {status}");
    }
    assert!(matches!(
        ZaloError::BadResponse("x".to_owned()).delivery(),
        DeliveryError::Retry(_)
    ));
}

#[tokio::test]
async fn an_empty_message_is_still_sent_and_zalo_refuses_it() {
    let (fake, client) = setup().await;
    assert_eq!(render(&Outbound::default()), vec![json!({ "text": "" })]);
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::default()).await.unwrap_err();
    assert!(matches!(error, ZaloError::Api { code: -201, .. }), "{error:?}");
    assert_eq!(outbox_kind(&error.delivery()), "refused");
    assert!(fake.sent_to(USER).is_empty());
}

#[tokio::test]
async fn a_success_without_a_message_id_is_a_bad_response() {
    let (fake, client) = setup().await;
    fake.answer_next_send(json!({ "error": 0, "message": "Success", "data": {} }));
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, ZaloError::BadResponse(_)), "{error:?}");
}

// --- tokens -----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_sends_the_documented_form_and_secret_key_header() {
    let (fake, client) = setup().await;
    client.refresh(REFRESH_TOKEN).await.unwrap();

    let calls = fake.calls_to(OAUTH);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.secret_key.as_deref(), Some(APP_SECRET));
    assert_eq!(call.access_token, None);
    assert!(
        call.content_type
            .as_deref()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let form = call.form.clone().unwrap();
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        fields,
        vec![
            ("app_id", APP_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", REFRESH_TOKEN)
        ]
    );
}

#[tokio::test]
async fn refresh_returns_the_new_pair_and_the_old_tokens_stop_working() {
    let (fake, client) = setup().await;
    let tokens = client.refresh(REFRESH_TOKEN).await.unwrap();
    assert_eq!(tokens.expires_in_secs, 90_000, "parsed from the string \"90000\"");
    assert_ne!(tokens.access_token, ACCESS_TOKEN);
    assert_ne!(tokens.refresh_token, REFRESH_TOKEN);
    assert_eq!(
        fake.current_access_token().as_deref(),
        Some(tokens.access_token.as_str())
    );
    assert_eq!(fake.current_refresh_token(), tokens.refresh_token);

    // The client kept nothing: the old access token is what it is given, and Zalo refuses it now.
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert_eq!(error, ZaloError::TokenInvalid { code: -216 });
    client
        .send(&tokens.access_token, USER, &Outbound::text("x"))
        .await
        .unwrap();

    // The refresh token was single-use.
    let error = client.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(matches!(error, ZaloError::RefreshTokenInvalid { .. }), "{error:?}");
    assert!(matches!(error.delivery(), DeliveryError::Retry(_)));
    let next = client.refresh(&tokens.refresh_token).await.unwrap();
    assert_ne!(next.refresh_token, tokens.refresh_token);
    assert_eq!(fake.oauth_calls(), 3);
}

#[tokio::test]
async fn two_refreshes_racing_with_one_token_get_one_pair() {
    let (fake, client) = setup().await;
    fake.set_oauth_delay(Duration::from_millis(200));
    let (first, second) = tokio::join!(client.refresh(REFRESH_TOKEN), client.refresh(REFRESH_TOKEN));
    let results = [first, second];
    let won: Vec<&Tokens> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(ZaloError::RefreshTokenInvalid { .. })))
    );
    assert_eq!(fake.oauth_calls(), 2);
    assert_eq!(fake.current_refresh_token(), won[0].refresh_token);
}

#[tokio::test]
async fn the_documented_oauth_answer_parses_and_a_numeric_expires_in_too() {
    let (fake, client) = setup().await;
    fake.fail_next_oauth(json(OAUTH_ANSWER));
    let tokens = client.refresh(REFRESH_TOKEN).await.unwrap();
    assert_eq!(
        tokens,
        Tokens {
            access_token: "RfBh5NdqsWzhcX8bDDe_1A463Z34Fhy1GVi63AoTU1InwujqF".to_owned(),
            refresh_token: "L2Y2BO9Prn_I1SkM08T4J99bZQYVbOBPfTVeRgrLdPK4ZqGX9G".to_owned(),
            expires_in_secs: 90_000,
        }
    );

    fake.fail_next_oauth(json!({ "access_token": "a", "refresh_token": "r", "expires_in": 3600 }));
    assert_eq!(client.refresh(REFRESH_TOKEN).await.unwrap().expires_in_secs, 3600);

    // The new pair is kept even when the lifetime is unreadable: the old refresh token is spent.
    fake.fail_next_oauth(json!({ "access_token": "a", "refresh_token": "r" }));
    assert_eq!(
        client.refresh(REFRESH_TOKEN).await.unwrap().expires_in_secs,
        DEFAULT_EXPIRES_IN_SECS
    );

    fake.fail_next_oauth(json!({ "access_token": "a", "expires_in": "90000" }));
    let error = client.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(matches!(error, ZaloError::BadResponse(_)), "{error:?}");
}

#[tokio::test]
async fn oauth_errors_tell_a_refused_refresh_token_from_other_problems() {
    let (fake, client) = setup().await;

    // No numeric code, only texts: still a refused refresh token.
    fake.fail_next_oauth(json!({ "error_name": "Invalid refresh token", "error_description": "expired" }));
    let error = client.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(
        matches!(error, ZaloError::RefreshTokenInvalid { code: None, .. }),
        "{error:?}"
    );

    let wrong_secret = ZaloClient::new(APP_ID, "another-secret")
        .unwrap()
        .with_oauth_url(fake.url());
    let error = wrong_secret.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(matches!(error, ZaloError::Api { .. }), "{error:?}");
    assert!(matches!(error.delivery(), DeliveryError::Refused(_)));
    assert_eq!(
        fake.current_refresh_token(),
        REFRESH_TOKEN,
        "a refused call spends nothing"
    );

    fake.fail_next_oauth(json!({}));
    let error = client.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(matches!(error, ZaloError::BadResponse(_)), "{error:?}");
}

// --- secrets ----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn no_token_or_secret_appears_in_errors_or_tokens() {
    let (fake, client) = setup().await;
    let mut shown = Vec::new();

    fake.answer_next_send(json!({ "error": -201, "message": format!("access_token {ACCESS_TOKEN} is invalid!") }));
    let error = client.send(ACCESS_TOKEN, USER, &Outbound::text("x")).await.unwrap_err();
    assert!(matches!(error, ZaloError::Api { code: -201, .. }));
    shown.push(format!("{error} {error:?} {:?}", error.delivery()));

    fake.fail_next_oauth(json!({
        "error": -14014,
        "error_name": "Invalid refresh token",
        "error_reason": format!("refresh_token {REFRESH_TOKEN} was used; secret {APP_SECRET}"),
    }));
    let error = client.refresh(REFRESH_TOKEN).await.unwrap_err();
    assert!(matches!(
        error,
        ZaloError::RefreshTokenInvalid { code: Some(-14014), .. }
    ));
    shown.push(format!("{error} {error:?} {:?}", error.delivery()));

    let error = client.refresh("some-unknown-refresh-token").await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    let error = client
        .send("stale-access-token", USER, &Outbound::text("x"))
        .await
        .unwrap_err();
    shown.push(format!("{error} {error:?}"));

    let tokens = client.refresh(REFRESH_TOKEN).await.unwrap();
    shown.push(format!("{tokens:?} {client:?}"));

    let everything = shown.join("\n");
    for secret in [
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        APP_SECRET,
        "some-unknown-refresh-token",
        "stale-access-token",
        tokens.access_token.as_str(),
        tokens.refresh_token.as_str(),
    ] {
        assert!(!everything.contains(secret), "{secret} shown in:\n{everything}");
    }
    assert!(everything.contains("[redacted]"));
}

// --- downloads --------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_image_from_a_user_send_image_event_downloads() {
    let (fake, client) = setup().await;
    let photo: Vec<u8> = (0..=255).cycle().take(50_000).collect();
    fake.add_image("anh-1.jpg", photo.clone());

    let mut event: Value = serde_json::from_slice(USER_SEND_IMAGE).unwrap();
    event["message"]["attachments"][0]["payload"]["url"] = json!(fake.image_url("anh-1.jpg"));
    let inbound = parse_event(&serde_json::to_vec(&event).unwrap()).unwrap();
    let InboundKind::Photo { urls, .. } = inbound.kind else {
        panic!("not a photo: {inbound:?}");
    };
    let bytes = client.download(&urls[0], 10 * 1024 * 1024).await.unwrap();
    assert_eq!(bytes, photo);
    let get = fake.calls_to("/img/anh-1.jpg");
    assert_eq!(get.len(), 1);
    assert_eq!(get[0].access_token, None, "no token goes to the CDN");
}

#[tokio::test]
async fn an_image_over_the_limit_is_refused_by_its_length() {
    let (fake, client) = setup().await;
    fake.add_image("big.jpg", vec![7; 5000]);
    assert_eq!(
        client.download(&fake.image_url("big.jpg"), 4999).await,
        Err(DownloadError::TooLarge)
    );
    assert_eq!(
        client.download(&fake.image_url("big.jpg"), 5000).await.unwrap().len(),
        5000
    );
}

#[tokio::test]
async fn an_image_without_a_length_is_refused_once_it_exceeds_the_limit() {
    let (fake, client) = setup().await;
    fake.add_image_without_length("stream.png", vec![9; 100_000]);
    assert_eq!(
        client.download(&fake.image_url("stream.png"), 65_536).await,
        Err(DownloadError::TooLarge)
    );
    assert_eq!(
        client.download(&fake.image_url("stream.png"), 100_000).await.unwrap(),
        vec![9; 100_000]
    );
}

#[tokio::test]
async fn missing_images_and_odd_urls_fail() {
    let (fake, client) = setup().await;
    assert_eq!(
        client.download(&fake.image_url("none.jpg"), 1000).await,
        Err(DownloadError::Failed("HTTP 404".to_owned()))
    );
    for url in ["url_to_thumbnail", "file:///etc/passwd", "ftp://example.com/a.jpg"] {
        assert!(
            matches!(client.download(url, 1000).await, Err(DownloadError::Failed(_))),
            "{url}"
        );
    }
}
