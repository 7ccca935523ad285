//! What the Telegram and Zalo tests share: a citizen in a chat (whatever the platform), a walk through the whole
//! survey that presses buttons, types numbers, goes back and pauses, and the officials who answer a case.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::Utc;
use ykien::domain::cases::{Action, AnswerContent, Tier};
use ykien::storage::Store;

use crate::common::official;

/// The last message the bot sent to the citizen.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub text: String,
    /// The payloads of its buttons, in order (without any platform prefix).
    pub payloads: Vec<String>,
}

impl Reply {
    /// The first button whose payload starts with `prefix`.
    pub fn payload(&self, prefix: &str) -> Option<String> {
        self.payloads.iter().find(|p| p.starts_with(prefix)).cloned()
    }
}

/// A citizen talking to the bot on some platform; each action waits for the bot's answer.
#[allow(async_fn_in_trait)]
pub trait ChatCitizen {
    async fn say(&mut self, text: &str) -> Reply;
    async fn press(&mut self, payload: &str) -> Reply;
    /// Sends a voice note of these bytes (the platform serves them from its file store), 7 seconds long.
    async fn voice(&mut self, name: &str, bytes: &[u8]) -> Reply;
    /// Sends a sticker.
    async fn sticker(&mut self) -> Reply;
}

/// The bytes of a (short, silent) Ogg voice note: its first page header is what the service recognises.
pub const VOICE_NOTE: &[u8] =
    b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead";

/// Whether a reply is the menu.
pub fn is_menu(reply: &Reply) -> bool {
    reply.text.contains("Anh/chị muốn làm gì?")
}

/// Finding 1: at the menu a greeting gets the menu, and a complaint typed straight away becomes a report whose
/// category is guessed (with or without diacritics), to confirm, change or discard. Ends at the menu.
pub async fn free_text_becomes_a_report(citizen: &mut impl ChatCitizen, store: &Store, label: &str) {
    for greeting in ["Xin chào", "xin chao"] {
        let menu = citizen.say(greeting).await;
        assert!(
            menu.text.starts_with("Xin chào!") && is_menu(&menu),
            "{label}: {menu:?}"
        );
    }
    let short = citizen.say("alo ai đó").await;
    assert!(is_menu(&short), "{label}: {short:?}");

    // Without diacritics, then discarded with "không".
    let proposed = citizen.say("nha toi o to 5 bi mat nuoc 3 ngay nay roi").await;
    assert!(
        proposed.text.starts_with("Anh/chị muốn gửi phản ánh này?")
            && proposed.text.contains("«nha toi o to 5 bi mat nuoc 3 ngay nay roi»")
            && proposed
                .text
                .contains("Lĩnh vực: Nước sạch sinh hoạt (mất nước, nước bẩn)"),
        "{label}: {proposed:?}"
    );
    let dropped = citizen.say("không").await;
    assert!(
        dropped.text.starts_with("Đã hủy phản ánh.") && is_menu(&dropped),
        "{label}: {dropped:?}"
    );

    // With diacritics: confirmed, its category changed, sent without photos, with a typed address.
    let text = "Nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi";
    let proposed = citizen.say(text).await;
    assert!(
        proposed
            .text
            .contains("Lĩnh vực: Nước sạch sinh hoạt (mất nước, nước bẩn)"),
        "{label}: {proposed:?}"
    );
    let categories = citizen.press("f:cat").await;
    assert!(categories.text.contains("«Khác…»"), "{label}: {categories:?}");
    let photos = citizen.press("k:water_pollution").await;
    assert!(photos.text.contains("Gửi ảnh chụp sự việc"), "{label}: {photos:?}");
    let location = citizen.say("bo qua").await;
    assert!(location.text.starts_with("Sự việc ở đâu?"), "{label}: {location:?}");
    assert!(
        !location.text.contains("Location"),
        "{label}: no English in the prompt: {location:?}"
    );
    let confirm = citizen.say("Tổ 5, đường Nguyễn Văn Linh").await;
    assert!(
        confirm.text.starts_with("✓ Địa chỉ: Tổ 5, đường Nguyễn Văn Linh")
            && confirm.text.contains("Vị trí: Tổ 5, đường Nguyễn Văn Linh")
            && confirm.text.contains("Lĩnh vực: Ô nhiễm sông, kênh, ao hồ, nước thải")
            && confirm.text.contains("Gửi phản ánh này?"),
        "{label}: {confirm:?}"
    );
    let sent = citizen.say("có").await;
    let code = tracking_code(&sent.text).unwrap_or_else(|| panic!("{label}: {sent:?}"));
    let case = store.case_by_code(&code).await.unwrap().unwrap();
    assert_eq!(case.text, text, "{label}");
    assert_eq!(case.category, "water_pollution", "{label}");
    assert_eq!(case.address.as_deref(), Some("Tổ 5, đường Nguyễn Văn Linh"), "{label}");
    assert_eq!((case.lat, case.lon), (None, None), "{label}");
}

/// Finding 2: the location step cannot trap: its choices are buttons (and their labels typed work), the words for
/// skip, back and cancel work with or without diacritics, and nothing typed is lost. Starts and ends at the menu.
pub async fn the_location_step_cannot_trap(citizen: &mut impl ChatCitizen, label: &str) -> Reply {
    citizen.press("m:feedback").await;
    let text_prompt = citizen.press("k:street_light").await;
    assert!(
        text_prompt.text.contains("Xin mô tả sự việc"),
        "{label}: {text_prompt:?}"
    );
    citizen
        .say("Đèn đường ngõ 7 phố Bãi Sậy hỏng đã ba hôm, tối đi lại rất nguy hiểm.")
        .await;
    let location = citizen.press("f:next").await;
    assert!(location.text.starts_with("Sự việc ở đâu?"), "{label}: {location:?}");
    // The label of the skip button, typed (as Telegram's keyboard button sends it).
    let confirm = citizen.say("Bỏ qua vị trí").await;
    assert!(confirm.text.contains("Vị trí: không có"), "{label}: {confirm:?}");
    let back = citizen.say("quay lai").await;
    assert!(back.text.starts_with("Sự việc ở đâu?"), "{label}: {back:?}");
    let skipped = citizen.say("bỏ qua").await;
    assert!(skipped.text.contains("Gửi phản ánh này?"), "{label}: {skipped:?}");
    let back = citizen.say("quay lại").await;
    assert!(back.text.starts_with("Sự việc ở đâu?"), "{label}: {back:?}");
    let cancelled = citizen.say("huy").await;
    assert!(
        cancelled.text.starts_with("Đã hủy phản ánh.") && is_menu(&cancelled),
        "{label}: {cancelled:?}"
    );
    cancelled
}

/// Finding 3: a voice note outside a report starts one, is kept with it and reaches the case; a sticker in the
/// middle of a report gets a short answer and the step's choices stay. Returns the case's tracking code.
pub async fn a_voice_note_becomes_a_report(citizen: &mut impl ChatCitizen, store: &Store, label: &str) -> String {
    let categories = citizen.voice("voice-1", VOICE_NOTE).await;
    assert!(
        categories.text.starts_with("✓ Đã nhận tin nhắn thoại")
            && categories.text.contains("Phản ánh của anh/chị về việc gì?"),
        "{label}: {categories:?}"
    );
    let sticker = citizen.sticker().await;
    assert_eq!(
        sticker.text,
        "Xin lỗi, tôi chưa nhận được loại tin nhắn này (nhãn dán, video, tệp…). Tôi nhận tin nhắn chữ, ảnh, tin nhắn \
         thoại và vị trí.",
        "{label}"
    );
    // The category list is still the one a typed number picks: 3 is clean water (no case yet: the file's order).
    let photos = citizen.say("3").await;
    assert!(photos.text.contains("Gửi ảnh chụp sự việc"), "{label}: {photos:?}");
    let not_audio = citizen.voice("voice-pdf", b"%PDF-1.4 not a voice note").await;
    assert!(
        not_audio
            .text
            .starts_with("⚠️ Tệp này không phải tin nhắn thoại mà hệ thống đọc được."),
        "{label}: {not_audio:?}"
    );
    citizen.press("f:next").await;
    let confirm = citizen.press("f:noloc").await;
    assert!(
        confirm.text.contains("Tin nhắn thoại: 1") && confirm.text.contains("Lĩnh vực: Nước sạch sinh hoạt"),
        "{label}: {confirm:?}"
    );
    let sent = citizen.press("f:send").await;
    let code = tracking_code(&sent.text).unwrap_or_else(|| panic!("{label}: {sent:?}"));
    let case = store.case_by_code(&code).await.unwrap().unwrap();
    let files = store.case_attachments(case.id).await.unwrap();
    assert_eq!(files.len(), 1, "{label}: {files:?}");
    assert_eq!(files[0].content_type, "audio/ogg", "{label}");
    assert_eq!(
        store.attachment(files[0].id).await.unwrap().bytes,
        VOICE_NOTE,
        "{label}"
    );
    code
}

/// Finding 6: after /stop anything written gets one reply saying how to turn messages back on, and nothing else
/// changes; /start turns them back on.
pub async fn stop_holds_until_start(
    citizen: &mut impl ChatCitizen,
    store: &Store,
    channel: &str,
    user: &str,
    label: &str,
) {
    let bye = citizen.say("/stop").await;
    assert!(bye.text.starts_with("Đã dừng."), "{label}: {bye:?}");
    let before = store.chat_user(channel, user).await.unwrap().unwrap();
    assert!(before.opted_out, "{label}");
    for reply in [
        citizen.say("Xin chào").await,
        citizen.press("m:survey").await,
        citizen.say("Nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi").await,
    ] {
        assert_eq!(
            reply.text, "Anh/chị đã dừng nhận tin từ kênh này. Gõ /start để bật lại.",
            "{label}"
        );
        assert!(reply.payloads.is_empty(), "{label}");
    }
    let after = store.chat_user(channel, user).await.unwrap().unwrap();
    assert_eq!(after, before, "{label}: nothing changed");
    let menu = citizen.say("/start").await;
    assert!(is_menu(&menu), "{label}: {menu:?}");
    assert!(
        !store.chat_user(channel, user).await.unwrap().unwrap().opted_out,
        "{label}"
    );
}

/// Finding 7: "my reports" shows each report's category, the first line of its text, its state and deadline, and
/// the answer once there is one; the category step shows the most used categories and "Khác…".
pub async fn my_reports_show_what_they_are(citizen: &mut impl ChatCitizen, store: &Store, code: &str, label: &str) {
    let mine = citizen.press("m:follow").await;
    assert!(
        mine.text
            .contains(&format!("• {code} · Nước sạch sinh hoạt (mất nước, nước bẩn)"))
            && mine
                .text
                .contains("«Phản ánh bằng tin nhắn thoại (xin nghe bản ghi âm kèm theo).»")
            && mine.text.contains("Trạng thái: Đã tiếp nhận")
            && mine.text.contains(" · hạn "),
        "{label}: {mine:?}"
    );
    answer_case(
        store,
        code,
        "Ngày 26/11 công ty cấp nước đã sửa đường ống tổ 5, nước đã có lại bình thường.",
    )
    .await;
    let mine = citizen.press("m:follow").await;
    assert!(
        mine.text
            .contains("Trả lời (UBND phường Phố Hiến): Ngày 26/11 công ty cấp nước đã sửa đường ống tổ 5"),
        "{label}: {mine:?}"
    );
    citizen.press("m:home").await;
    let categories = citizen.press("m:feedback").await;
    // Clean water has a case now: it comes first, before the file's first category (roads).
    let first = match categories.payloads.first() {
        Some(payload) => payload == "k:clean_water",
        // More choices than Zalo's five buttons: a numbered list.
        None => categories.text.contains("\n1. Nước sạch sinh hoạt"),
    };
    assert!(first && categories.text.contains("«Khác…»"), "{label}: {categories:?}");
    let more = citizen.press("f:more").await;
    assert!(more.text.starts_with("Các lĩnh vực khác"), "{label}: {more:?}");
    citizen.press("f:cancel").await;
}

/// Answers the whole survey from its first question (`reply`), always the first option, the smallest number and a
/// short text; on the way it types the number of a choice once, goes back once, and pauses and resumes once.
/// Returns the last reply (the thanks).
pub async fn walk_survey(citizen: &mut impl ChatCitizen, mut reply: Reply) -> Reply {
    let number = regex::Regex::new(r"(?:Gõ một số từ|Type a number from) (-?\d+)").unwrap();
    let mut went_back = false;
    let mut paused = false;
    let mut too_long_tried = false;
    for step in 0..300 {
        if reply.text.contains("hoàn thành khảo sát") {
            assert!(too_long_tried, "the walk met no text question");
            return reply;
        }
        assert!(
            reply.text.contains('%'),
            "step {step}: not a survey question: {reply:?}"
        );
        if step == 4 && !went_back {
            went_back = true;
            let previous = match reply.payload("s:back") {
                Some(back) => citizen.press(&back).await,
                // More choices than the platform's buttons: a numbered list, "← Câu trước" among them.
                None => {
                    let line = reply
                        .text
                        .lines()
                        .find(|l| l.contains("Câu trước"))
                        .unwrap_or_else(|| panic!("no way back: {reply:?}"));
                    citizen.say(line.split('.').next().unwrap().trim()).await
                }
            };
            assert!(previous.text.contains('%'), "{previous:?}");
            reply = previous;
            continue;
        }
        if step == 7 && !paused {
            paused = true;
            let menu = citizen.press("m:home").await;
            assert!(menu.payload("m:survey").is_some(), "{menu:?}");
            reply = citizen.press("m:survey").await;
            assert!(
                reply.text.contains("Tiếp tục phần khảo sát còn dở"),
                "resumed where it was left: {reply:?}"
            );
            continue;
        }
        reply = if let Some(min) = number.captures(&reply.text) {
            // With its unit, as people type it: the number is read from it.
            citizen.say(&format!("{} lần", &min[1])).await
        } else if reply.text.contains("Gõ câu trả lời") {
            if !too_long_tried {
                // Longer than the question takes: refused, shown back whole, the question still asked.
                too_long_tried = true;
                let long = format!("{}Hết", "Đường ngập. ".repeat(51));
                let refused = citizen.say(&long).await;
                assert!(
                    refused.text.starts_with("⚠️ Câu trả lời dài 615 ký tự") && refused.text.ends_with(&long),
                    "step {step}: {refused:?}"
                );
            }
            citizen.say("Đèn đường").await
        } else if step == 2 || reply.text.contains("Gõ số để chọn") {
            // The number of the first choice, as typed by someone who does not press buttons.
            citizen.say("1").await
        } else {
            let first = reply
                .payloads
                .iter()
                .find(|p| p.starts_with("s:") && *p != "s:back")
                .cloned()
                .unwrap_or_else(|| panic!("step {step}: no answer button: {reply:?}"));
            citizen.press(&first).await
        };
    }
    panic!("the survey did not end in 300 steps");
}

/// The tracking code in a bot's message ("Mã theo dõi: PA-XXXX-XXXX").
pub fn tracking_code(text: &str) -> Option<String> {
    let code = regex::Regex::new(r"PA-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}").unwrap();
    code.find(text).map(|m| m.as_str().to_owned())
}

/// The officials of ward 11953 accept, assign and answer a case, as in the console.
pub async fn answer_case(store: &Store, code: &str, what_was_done: &str) {
    let cases = ykien::services::cases::Cases::new(
        store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let intake = official(store, "tiepnhan", "intake", None, &["11953"]).await;
    let revision = || async { store.case_by_code(code).await.unwrap().unwrap().revision };
    let case = store.case_by_code(code).await.unwrap().unwrap();
    let now = Utc::now();
    cases
        .act(
            &intake,
            code,
            revision().await,
            Action::Accept { tier: Tier::Normal },
            vec![],
            now,
        )
        .await
        .unwrap();
    let office = ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES)
        .unwrap()
        .into_iter()
        .find(|k| k.code == case.category)
        .unwrap()
        .office
        .clone();
    let officer = official(store, "canbo", "commune_officer", Some(&office), &["11953"]).await;
    cases
        .act(
            &intake,
            code,
            revision().await,
            Action::Assign { office: office.clone() },
            vec![],
            now,
        )
        .await
        .unwrap();
    let answer = Action::Answer(AnswerContent {
        what_was_done: what_was_done.into(),
        by_unit: "UBND phường Phố Hiến".into(),
        legal_basis: Some("Luật Tiếp công dân 2013".into()),
    });
    cases
        .act(&officer, code, revision().await, answer, vec![], now)
        .await
        .unwrap();
}

/// Finding 5: half-way through the survey of Phố Hiến, another commune typed is asked about first; keeping the
/// commune changes nothing, changing it is done once confirmed.
pub async fn a_commune_change_mid_survey_asks_first(citizen: &mut impl ChatCitizen, label: &str) {
    let ask = citizen.press("m:commune").await;
    assert!(ask.text.contains("xã, phường nào"), "{label}: {ask:?}");
    let confirm = citizen.say("11983").await;
    assert!(
        confirm
            .text
            .starts_with("Anh/chị đang trả lời dở khảo sát của Phường Phố Hiến. Đổi sang Phường Sơn Nam?"),
        "{label}: {confirm:?}"
    );
    assert_eq!(confirm.payloads, ["cs:11983", "m:home"], "{label}");
    let kept = citizen.press("m:home").await;
    assert!(
        kept.text.contains("Xã, phường của anh/chị: Phường Phố Hiến."),
        "{label}: {kept:?}"
    );
    citizen.press("m:commune").await;
    citizen.say("11983").await;
    let changed = citizen.press("cs:11983").await;
    assert!(
        changed.text.contains("Xã, phường của anh/chị: Phường Sơn Nam."),
        "{label}: {changed:?}"
    );
}

/// Findings 4 and 5: the survey starts with its introduction; an answered question's old button is said so, not
/// asked again, and the question being asked stays. Leaves the survey at its second question.
pub async fn an_answered_question_is_not_asked_again(citizen: &mut impl ChatCitizen, label: &str) {
    let first = citizen.press("m:survey").await;
    // The introduction comes first: time needed, anonymity, what "Không biết" is for.
    assert!(
        first.text.starts_with("Khảo sát này tìm hiểu")
            && first.text.contains("Trả lời mất khoảng 10 phút")
            && first.text.contains("“Không biết”"),
        "{label}: {first:?}"
    );
    let answer = first
        .payloads
        .iter()
        .find(|p| p.starts_with("s:") && !["s:back", "s:pause"].contains(&p.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("{label}: {first:?}"));
    let second = citizen.press(&answer).await;
    assert!(second.text.starts_with("✓ "), "{label}: {second:?}");
    let stale = citizen.press(&answer).await;
    assert_eq!(
        stale.text, "Câu này đã trả lời. Xin trả lời câu hỏi ở tin nhắn mới nhất.",
        "{label}"
    );
    // The question being asked is still the one a typed number answers.
    let third = citizen.say("1").await;
    assert!(third.text.starts_with("✓ "), "{label}: {third:?}");
}
