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
}

/// Answers the whole survey from its first question (`reply`), always the first option, the smallest number and a
/// short text; on the way it types the number of a choice once, goes back once, and pauses and resumes once.
/// Returns the last reply (the thanks).
pub async fn walk_survey(citizen: &mut impl ChatCitizen, mut reply: Reply) -> Reply {
    let number = regex::Regex::new(r"(?:Gõ một số từ|Type a number from) (-?\d+)").unwrap();
    let mut went_back = false;
    let mut paused = false;
    for step in 0..300 {
        if reply.text.contains("hoàn thành khảo sát") {
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
            citizen.say(&min[1]).await
        } else if reply.text.contains("Gõ câu trả lời") {
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
