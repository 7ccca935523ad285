//! Complete, valid responses to the bundled questionnaire with some variety: the walk of `complete_answers()` in
//! the web survey tests, but with random choices, some "don't know" and "refused", free texts, and a share of
//! respondents who answer "yes" to screening questions (which opens the follow-up questions: a bigger response).
//! Every generated response is checked by the survey engine, as the server will check it.

use std::collections::{BTreeMap, HashMap};

use ykien::conversation::{Mode, SurveyEngine};
use ykien::domain::questionnaire::{DONT_KNOW, NO, QuestionKind, Questionnaire, REFUSED, YES};
use ykien::storage::StoredAnswer;

use crate::BoxError;

/// The questionnaire shipped with ykien, as the server imports it.
pub const BUNDLED_QUESTIONNAIRE: &str = include_str!("../../questionnaires/papi-2025.toml");

const TEXTS: [&str; 6] = [
    "Sửa đường liên thôn và lắp thêm đèn đường.",
    "Công khai rõ hơn các khoản thu chi của xã.",
    "Cán bộ một cửa cần hướng dẫn tận tình hơn.",
    "Thu gom rác thường xuyên hơn, nhất là sau phiên chợ.",
    "Nạo vét kênh mương trước mùa mưa.",
    "Đèn đường",
];

/// A small deterministic generator (SplitMix64): the same seed gives the same responses on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

fn yes_no(yes: bool) -> String {
    if yes { YES } else { NO }.to_owned()
}

/// One generated response: the raw answers the API takes and the rows the server will store for them.
pub struct Generated {
    /// Answers by question code, as a data-entry app sends them (numbers as JSON numbers).
    pub raw: serde_json::Map<String, serde_json::Value>,
    /// (question code, code, text): exactly what `submit_complete` stores for this response.
    pub stored: Vec<StoredAnswer>,
}

/// A complete response; `screening_yes` is the probability of "1" on each screening question.
pub fn generate(q: &Questionnaire, rng: &mut Rng, screening_yes: f64) -> Result<Generated, BoxError> {
    let mut given = HashMap::new();
    let mut raw = BTreeMap::new();
    let mut json = serde_json::Map::new();
    for question in &q.questions {
        if !question.is_eligible(&given) {
            continue;
        }
        let special = question.offers_special_codes();
        let screening = matches!(question.kind, QuestionKind::YesNo { yes_is_good: None });
        let value: String = if special && !screening && rng.chance(0.03) {
            DONT_KNOW.to_owned()
        } else if special && !screening && rng.chance(0.01) {
            REFUSED.to_owned()
        } else {
            match &question.kind {
                QuestionKind::YesNo { yes_is_good: None } => yes_no(rng.chance(screening_yes)),
                QuestionKind::YesNo { .. } => yes_no(rng.chance(0.5)),
                QuestionKind::Single { choices } => choices[rng.below(choices.len())].code.clone(),
                QuestionKind::Likert { .. } => (1 + rng.below(5)).to_string(),
                QuestionKind::Number { min, max, .. } => {
                    let span = (*max - *min).clamp(0, 60) as usize;
                    (*min + rng.below(span + 1) as i64).to_string()
                }
                QuestionKind::Text { .. } => {
                    if special && rng.chance(0.4) {
                        REFUSED.to_owned()
                    } else {
                        TEXTS[rng.below(TEXTS.len())].to_owned()
                    }
                }
            }
        };
        let answer = question
            .parse_answer(&value)
            .map_err(|e| format!("generated answer {value:?} to {} is invalid: {}", question.code, e.0.en))?;
        given.insert(question.code.clone(), answer);
        let json_value = match (&question.kind, value.parse::<i64>()) {
            (QuestionKind::Number { .. }, Ok(n)) => serde_json::Value::from(n),
            _ => serde_json::Value::String(value.clone()),
        };
        json.insert(question.code.clone(), json_value);
        raw.insert(question.code.clone(), value);
    }
    let stored = SurveyEngine::new(q, Mode::Web)
        .validate_complete(&raw)
        .map_err(|problems| format!("the engine refuses a generated response: {problems:?}"))?
        .into_iter()
        .map(|(code, a)| {
            let (c, t) = a.to_stored();
            (code, c, t)
        })
        .collect();
    Ok(Generated { raw: json, stored })
}

/// `n` responses: a quarter answer "no" to every screening question (the smallest responses), a quarter "yes"
/// to every one (the biggest), the rest "yes" half of the time.
pub fn generate_many(q: &Questionnaire, n: usize, seed: u64) -> Result<Vec<Generated>, BoxError> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let screening_yes = match i % 4 {
                0 => 0.0,
                1 => 1.0,
                _ => 0.5,
            };
            generate(q, &mut rng, screening_yes)
        })
        .collect()
}
