//! Skip logic (`docs/questionnaire.md`, "Skip logic"): whether a question is asked of a respondent, given the
//! answers that respondent gave before it.
//!
//! This is the one implementation of the rule. The survey engine of the server (web pages, Telegram, Zalo and the
//! JSON API, `src/conversation/`) asks by it, and scoring ([`crate::checks`]) counts by it: an answer to a question
//! that was not eligible is missing, never scored. It lives in this crate because the server depends on it while
//! this crate may not depend on the server.
//!
//! A question is eligible when **all** its conditions hold. A condition looks at one earlier question's answer as
//! the respondent's other answers left it: a question that was skipped (itself not eligible), not answered, or
//! answered "Không biết" (`DK`) or "Không trả lời" (`RF`) gives no answer, and a condition on no answer does not
//! hold. Callers walk the questions in the order asked and forget an answer as soon as its question turns out not
//! to be eligible, so that a chain (a condition on a question that was itself skipped) ends where it should.

use serde::{Deserialize, Serialize};

/// One skip-logic condition on an earlier question's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// The earlier answer is one of these codes (`"1"`/`"0"` of a yes/no question, choice codes, Likert points).
    AnyOf {
        /// The earlier question's code.
        question: String,
        /// The codes that open the question.
        codes: Vec<String>,
    },
    /// The earlier answer, a number or a Likert point, lies within these bounds (inclusive; a missing bound is
    /// open).
    Range {
        /// The earlier question's code.
        question: String,
        /// The smallest value that opens the question.
        at_least: Option<f64>,
        /// The largest value that opens the question.
        at_most: Option<f64>,
    },
}

/// An earlier answer as a condition sees it: a code, or a number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Given<'a> {
    /// A choice code, a yes/no code or a Likert point, as stored (`"1"`, `"self"`, `"4"`).
    Code(&'a str),
    /// The answer to a number question.
    Number(f64),
}

impl Condition {
    /// The earlier question the condition looks at.
    pub fn question(&self) -> &str {
        match self {
            Self::AnyOf { question, .. } | Self::Range { question, .. } => question,
        }
    }

    /// Whether the condition holds for that question's answer; `None` (skipped, not answered, `DK`, `RF`) never
    /// holds.
    pub fn holds(&self, earlier: Option<Given<'_>>) -> bool {
        let Some(earlier) = earlier else { return false };
        match self {
            Self::AnyOf { codes, .. } => match earlier {
                Given::Code(code) => codes.iter().any(|c| c == code),
                Given::Number(_) => false,
            },
            Self::Range { at_least, at_most, .. } => {
                let value = match earlier {
                    Given::Number(x) => x,
                    // A Likert point is its number; any other code ("DK", a choice) is not in a range.
                    Given::Code(code) => match code.parse::<f64>() {
                        Ok(x) => x,
                        Err(_) => return false,
                    },
                };
                value.is_finite() && at_least.is_none_or(|l| value >= l) && at_most.is_none_or(|m| value <= m)
            }
        }
    }
}

/// Whether a question with conditions `when` is asked, `earlier` giving each earlier question's answer as the
/// walk so far left it (see the module's text).
pub fn is_eligible<'a>(when: &[Condition], mut earlier: impl FnMut(&str) -> Option<Given<'a>>) -> bool {
    when.iter().all(|c| c.holds(earlier(c.question())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_of(question: &str, codes: &[&str]) -> Condition {
        Condition::AnyOf {
            question: question.into(),
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn any_of_holds_for_a_listed_code_only() {
        let c = any_of("d5_2_0", &["1"]);
        assert!(c.holds(Some(Given::Code("1"))));
        assert!(!c.holds(Some(Given::Code("0"))));
        assert!(!c.holds(Some(Given::Number(1.0))));
    }

    #[test]
    fn no_answer_dont_know_and_refused_never_open_a_question() {
        let c = any_of("a", &["1"]);
        assert!(!c.holds(None));
        let range = Condition::Range {
            question: "b".into(),
            at_least: None,
            at_most: None,
        };
        assert!(!range.holds(None));
        assert!(!range.holds(Some(Given::Code("DK"))));
        assert!(!range.holds(Some(Given::Code("RF"))));
    }

    #[test]
    fn ranges_are_inclusive_and_read_likert_points_as_numbers() {
        let c = Condition::Range {
            question: "d7_1_3".into(),
            at_least: Some(3.0),
            at_most: Some(4.0),
        };
        assert!(!c.holds(Some(Given::Code("2"))));
        assert!(c.holds(Some(Given::Code("3"))));
        assert!(c.holds(Some(Given::Number(4.0))));
        assert!(!c.holds(Some(Given::Number(4.5))));
        assert!(!c.holds(Some(Given::Number(f64::NAN))));
    }

    #[test]
    fn all_conditions_must_hold() {
        let when = [
            any_of("a", &["1"]),
            Condition::Range {
                question: "b".into(),
                at_least: Some(2.0),
                at_most: None,
            },
        ];
        let answers = |a: &'static str, b: Option<f64>| {
            move |q: &str| match q {
                "a" => Some(Given::Code(a)),
                _ => b.map(Given::Number),
            }
        };
        assert!(is_eligible(&when, answers("1", Some(2.0))));
        assert!(!is_eligible(&when, answers("1", Some(1.0))));
        assert!(!is_eligible(&when, answers("0", Some(5.0))));
        assert!(!is_eligible(&when, answers("1", None)));
        assert!(is_eligible(&[], |_| None));
    }
}
