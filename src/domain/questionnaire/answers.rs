//! Answers: what a citizen typed or tapped, parsed and checked against a question, on any channel.

use super::*;

/// One validated answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A choice code: "1"/"0" for yes/no, "1"–"5" for Likert, a choice's code.
    Code(String),
    Number(i64),
    Text(String),
    DontKnow,
    Refused,
}

impl Answer {
    /// The stored form: (code, text). Numbers and codes in `code`, free text in `text`.
    pub fn to_stored(&self) -> (Option<String>, Option<String>) {
        match self {
            Self::Code(c) => (Some(c.clone()), None),
            Self::Number(n) => (Some(n.to_string()), None),
            Self::Text(t) => (None, Some(t.clone())),
            Self::DontKnow => (Some(DONT_KNOW.into()), None),
            Self::Refused => (Some(REFUSED.into()), None),
        }
    }

    /// The stored row of this answer to question `code`: (question code, code, text).
    pub fn into_row(self, question: String) -> (String, Option<String>, Option<String>) {
        let (code, text) = self.to_stored();
        (question, code, text)
    }

    /// What this answer says to a skip-logic condition on its question: nothing for "don't know", "refused" and
    /// free text.
    pub fn given(&self) -> Option<Given<'_>> {
        match self {
            Self::Code(c) => Some(Given::Code(c)),
            Self::Number(n) => Some(Given::Number(*n as f64)),
            Self::Text(_) | Self::DontKnow | Self::Refused => None,
        }
    }

    /// The raw form a channel would send for this answer (a button's code, a typed number, a text).
    pub fn as_input(&self) -> String {
        match self.to_stored() {
            (Some(c), _) => c,
            (None, Some(t)) => t,
            (None, None) => String::new(),
        }
    }
}

/// Why an answer was not accepted, in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerError(pub Text);

/// One answer option as a channel shows it: a button, a radio input, a numbered line.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerOption {
    pub code: String,
    pub label: Text,
}

impl Question {
    /// Whether "don't know" and "refused" are offered.
    pub fn offers_special_codes(&self) -> bool {
        !self.profile
    }

    /// The options to tap, in order, with "Không biết" and "Không trả lời" last; empty for number and text.
    pub fn options(&self) -> Vec<AnswerOption> {
        let mut out: Vec<AnswerOption> = match &self.kind {
            QuestionKind::YesNo { .. } => {
                vec![
                    AnswerOption {
                        code: YES.into(),
                        label: Text::new("Có", "Yes"),
                    },
                    AnswerOption {
                        code: NO.into(),
                        label: Text::new("Không", "No"),
                    },
                ]
            }
            QuestionKind::Single { choices } => choices
                .iter()
                .map(|c| AnswerOption {
                    code: c.code.clone(),
                    label: c.label.clone(),
                })
                .collect(),
            QuestionKind::Likert { labels, .. } => labels
                .iter()
                .enumerate()
                .map(|(i, l)| AnswerOption {
                    code: (i + 1).to_string(),
                    label: Text::new(format!("{} – {}", i + 1, l.vi), format!("{} – {}", i + 1, l.en)),
                })
                .collect(),
            QuestionKind::Number { .. } | QuestionKind::Text { .. } => Vec::new(),
        };
        if self.offers_special_codes() {
            out.push(AnswerOption {
                code: DONT_KNOW.into(),
                label: Text::new("Không biết", "Don't know"),
            });
            out.push(AnswerOption {
                code: REFUSED.into(),
                label: Text::new("Không trả lời", "Prefer not to answer"),
            });
        }
        out
    }

    /// Parses what a citizen tapped or typed into an answer, or says in both languages what is wrong.
    pub fn parse_answer(&self, raw: &str) -> Result<Answer, AnswerError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(AnswerError(Text::new(
                "Anh/chị chưa trả lời câu hỏi này.",
                "This question has no answer yet.",
            )));
        }
        if self.offers_special_codes() {
            if raw.eq_ignore_ascii_case(DONT_KNOW) {
                return Ok(Answer::DontKnow);
            }
            if raw.eq_ignore_ascii_case(REFUSED) {
                return Ok(Answer::Refused);
            }
        }
        match &self.kind {
            QuestionKind::Number { min, max, .. } => {
                let n: i64 = raw.replace(['.', ' '], "").parse().map_err(|_| {
                    AnswerError(Text::new(
                        format!("Xin nhập một số nguyên từ {min} đến {max}."),
                        format!("Please enter a whole number from {min} to {max}."),
                    ))
                })?;
                if n < *min || n > *max {
                    return Err(AnswerError(Text::new(
                        format!("Số {n} nằm ngoài khoảng cho phép, từ {min} đến {max}."),
                        format!("{n} is outside the allowed range, {min} to {max}."),
                    )));
                }
                Ok(Answer::Number(n))
            }
            QuestionKind::Text { max_len } => {
                // Stored as every citizen text is: without control or bidi characters, in NFC.
                let cleaned = crate::domain::text::clean(raw);
                let n = cleaned.chars().count();
                if n > *max_len {
                    return Err(AnswerError(Text::new(
                        format!("Câu trả lời dài {n} ký tự; tối đa {max_len} ký tự."),
                        format!("The answer has {n} characters; at most {max_len}."),
                    )));
                }
                Ok(Answer::Text(cleaned))
            }
            _ => {
                if valid_codes(&self.kind).iter().any(|c| c == raw) {
                    Ok(Answer::Code(raw.to_owned()))
                } else {
                    Err(AnswerError(Text::new(
                        "Lựa chọn này không có trong câu hỏi. Xin chọn một trong các phương án.",
                        "That is not one of this question's choices. Please pick one of them.",
                    )))
                }
            }
        }
    }

    /// Reads a stored answer back; `None` if it no longer fits the question (the codebook is fixed per wave).
    pub fn answer_from_stored(&self, code: Option<&str>, text: Option<&str>) -> Option<Answer> {
        match (code, text) {
            (_, Some(t)) => matches!(self.kind, QuestionKind::Text { .. }).then(|| Answer::Text(t.to_owned())),
            (Some(c), None) => self.parse_answer(c).ok(),
            (None, None) => None,
        }
    }

    /// Whether this question is asked, given the answers so far (those of questions that were themselves asked):
    /// the rule scoring applies too (`ykien_analysis::eligibility`). A condition on an unanswered, "don't know"
    /// or "refused" earlier question does not hold.
    pub fn is_eligible(&self, answers: &HashMap<String, Answer>) -> bool {
        ykien_analysis::eligibility::is_eligible(&self.when, |code| answers.get(code).and_then(Answer::given))
    }

    /// The question text with its unit, for chats that show one question at a time.
    pub fn prompt(&self, lang: Lang) -> String {
        match &self.kind {
            QuestionKind::Number { unit: Some(u), .. } => {
                format!("{} ({})", self.text.get(lang), u.get(lang))
            }
            _ => self.text.get(lang).to_owned(),
        }
    }
}
