//! Step 1 of the scoring method: one respondent's answer to one indicator becomes a value in [0, 1], 1 being best.
//!
//! The codebook declares a [`ValueRule`] per indicator; the service loads it, calls [`ValueRule::validate`] once at
//! import time, and then maps stored [`Answer`]s through [`ValueRule::value`]. Everything that is not a usable
//! answer ("don't know", "refused", not eligible, free text, a code the rule does not know) is *missing*
//! (`None`) and never 0, because a 0 would count as the worst possible answer and drag the commune down for
//! people who simply did not use the service.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The answer code that means "yes" (có) to a yes/no question.
///
/// Yes/no questions are stored as codes, like every other closed question, following the usual Vietnamese survey
/// coding 1 = có: the codebook, the chat buttons and the exports then agree without a translation table.
pub const YES_CODE: &str = "1";

/// The answer code that means "no" (không) to a yes/no question; see [`YES_CODE`].
pub const NO_CODE: &str = "0";

/// One stored answer of one respondent to one question, as far as scoring cares.
///
/// "Don't know", "refused" and "not eligible" are their own variants rather than magic codes so that no rule can
/// accidentally give them a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// A closed answer: a yes/no code ([`YES_CODE`], [`NO_CODE`]), a Likert point ("1" to "k") or a choice code.
    Code(String),
    /// A numeric answer (trips, days, amounts); Likert points may also arrive this way.
    Number(f64),
    /// The respondent said they do not know (không biết).
    DontKnow,
    /// The respondent declined to answer (từ chối trả lời).
    Refused,
    /// Skip logic kept the question from this respondent, e.g. they never used the service it rates.
    NotEligible,
    /// Free text: read by people, never scored.
    Text(String),
}

/// How the codebook says an indicator's answers turn into values in [0, 1].
///
/// Rules come from an administrator's file, so they can be wrong; [`ValueRule::validate`] says how. A rule that
/// was never validated still never yields a value outside [0, 1]: [`ValueRule::value`] returns `None` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueRule {
    /// A yes/no question answered with [`YES_CODE`] or [`NO_CODE`]; `yes_is_good` is the direction (for "did you
    /// have to pay a bribe?" it is `false`).
    YesNo {
        /// Whether "yes" is the good answer (value 1) rather than the bad one (value 0).
        yes_is_good: bool,
    },
    /// A `points`-point Likert scale answered 1 to `points`; `high_is_good` is the direction.
    Likert {
        /// The number of points on the scale, at least 2.
        points: u8,
        /// Whether the highest point is the best answer (value 1) rather than the worst one (value 0).
        high_is_good: bool,
    },
    /// A numeric answer scored linearly between two bounds and clamped beyond them. `good` may be larger or
    /// smaller than `bad`: trips to the one-stop shop have `good = 1, bad = 5`.
    Number {
        /// The answer worth 1, and anything better than it.
        good: f64,
        /// The answer worth 0, and anything worse than it.
        bad: f64,
    },
    /// A single choice whose codes the codebook values one by one; codes not listed (e.g. "other") are missing.
    Choice {
        /// Each answer code with its value in [0, 1].
        values: Vec<(String, f64)>,
    },
}

/// Why a [`ValueRule`] cannot be used; each message names what to fix in the codebook.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// A Likert scale needs two ends to tell good from bad.
    #[error("a Likert scale needs at least 2 points, this one has {points}")]
    TooFewPoints {
        /// The number of points the rule declared.
        points: u8,
    },
    /// A bound is NaN or infinite.
    #[error("the good and bad bounds of a number rule must be finite numbers, got good = {good}, bad = {bad}")]
    NonFiniteBound {
        /// The declared good bound.
        good: f64,
        /// The declared bad bound.
        bad: f64,
    },
    /// Equal bounds leave no room to interpolate, so no answer could be scored.
    #[error("the good and bad bounds of a number rule must differ, both are {bound}")]
    EqualBounds {
        /// The value both bounds share.
        bound: f64,
    },
    /// The bounds are so far apart that their distance overflows, which would turn every value into NaN.
    #[error("the good and bad bounds of a number rule are too far apart: good = {good}, bad = {bad}")]
    BoundsTooFarApart {
        /// The declared good bound.
        good: f64,
        /// The declared bad bound.
        bad: f64,
    },
    /// A choice rule without codes would make every answer missing.
    #[error("a choice rule must list at least one answer code")]
    NoChoices,
    /// An empty code cannot be told apart from a missing one in stored answers and exports.
    #[error("a choice rule has an empty answer code")]
    EmptyChoiceCode,
    /// Values outside [0, 1] would break the scale every later step relies on.
    #[error("answer code {code:?} has value {value}, which is not within [0, 1]")]
    ChoiceValueOutOfRange {
        /// The code whose value is wrong.
        code: String,
        /// The value the rule gave it.
        value: f64,
    },
    /// Two values for one code would make the score depend on list order.
    #[error("answer code {code:?} is listed more than once")]
    DuplicateChoiceCode {
        /// The repeated code.
        code: String,
    },
}

impl ValueRule {
    /// Checks the rule once, at codebook import, so that a mistake is reported to the administrator with its reason
    /// instead of silently making answers missing later.
    pub fn validate(&self) -> Result<(), RuleError> {
        match self {
            Self::YesNo { .. } => Ok(()),
            Self::Likert { points, .. } => {
                if *points < 2 {
                    Err(RuleError::TooFewPoints { points: *points })
                } else {
                    Ok(())
                }
            }
            Self::Number { good, bad } => {
                let (good, bad) = (*good, *bad);
                if !good.is_finite() || !bad.is_finite() {
                    Err(RuleError::NonFiniteBound { good, bad })
                } else if good == bad {
                    Err(RuleError::EqualBounds { bound: good })
                } else if !(good - bad).is_finite() {
                    Err(RuleError::BoundsTooFarApart { good, bad })
                } else {
                    Ok(())
                }
            }
            Self::Choice { values } => {
                if values.is_empty() {
                    return Err(RuleError::NoChoices);
                }
                let mut seen = HashSet::with_capacity(values.len());
                for (code, value) in values {
                    if code.is_empty() {
                        return Err(RuleError::EmptyChoiceCode);
                    }
                    if !(0.0..=1.0).contains(value) {
                        return Err(RuleError::ChoiceValueOutOfRange {
                            code: code.clone(),
                            value: *value,
                        });
                    }
                    if !seen.insert(code.as_str()) {
                        return Err(RuleError::DuplicateChoiceCode { code: code.clone() });
                    }
                }
                Ok(())
            }
        }
    }

    /// The value in [0, 1] of one answer, or `None` when the answer is missing or unusable.
    ///
    /// `None` covers "don't know", "refused", not eligible and free text (by design: they are not opinions about
    /// the commune), and answers the rule cannot read: an unknown code, a Likert point outside 1..=k (never
    /// clamped, because a 7 on a 5-point scale is a data error, not a very happy citizen), a non-integer Likert
    /// point, a non-finite number. Yes/no answers are read only as [`YES_CODE`] / [`NO_CODE`]; number rules read
    /// only [`Answer::Number`]; Likert rules read a code such as "4" or an integral number.
    pub fn value(&self, answer: &Answer) -> Option<f64> {
        let value = match (self, answer) {
            (_, Answer::DontKnow | Answer::Refused | Answer::NotEligible | Answer::Text(_)) => None,
            (Self::YesNo { yes_is_good }, Answer::Code(code)) => {
                let yes = match code.as_str() {
                    YES_CODE => true,
                    NO_CODE => false,
                    _ => return None,
                };
                Some(if yes == *yes_is_good { 1.0 } else { 0.0 })
            }
            (Self::YesNo { .. }, Answer::Number(_)) => None,
            (Self::Likert { points, high_is_good }, answer) => {
                likert_point(answer).and_then(|point| likert_value(point, *points, *high_is_good))
            }
            (Self::Number { good, bad }, Answer::Number(x)) => number_value(*x, *good, *bad),
            (Self::Number { .. }, Answer::Code(_)) => None,
            (Self::Choice { values }, Answer::Code(code)) => values
                .iter()
                .find(|(listed, _)| listed == code)
                .map(|(_, value)| *value),
            (Self::Choice { .. }, Answer::Number(_)) => None,
        };
        // The one place that guarantees the [0, 1] contract, even for a rule that skipped validation.
        value.filter(|v| (0.0..=1.0).contains(v))
    }
}

/// The point a Likert answer names, whether stored as a code ("4") or as an integral number (4.0).
fn likert_point(answer: &Answer) -> Option<u32> {
    match answer {
        Answer::Code(code) => code.parse().ok(),
        Answer::Number(x) if x.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(x) => {
            // Integral and within u32 by the guard, so the conversion is exact.
            let point = *x as u32;
            Some(point)
        }
        _ => None,
    }
}

fn likert_value(point: u32, points: u8, high_is_good: bool) -> Option<f64> {
    let points = u32::from(points);
    if points < 2 || !(1..=points).contains(&point) {
        return None;
    }
    let steps_from_bottom = if high_is_good { point - 1 } else { points - point };
    Some(f64::from(steps_from_bottom) / f64::from(points - 1))
}

fn number_value(x: f64, good: f64, bad: f64) -> Option<f64> {
    if !x.is_finite() || !good.is_finite() || !bad.is_finite() || good == bad {
        return None;
    }
    let value = (x - bad) / (good - bad);
    value.is_finite().then(|| value.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> Answer {
        Answer::Code(c.to_owned())
    }

    const LIKERT5: ValueRule = ValueRule::Likert {
        points: 5,
        high_is_good: true,
    };
    const REVERSED_LIKERT5: ValueRule = ValueRule::Likert {
        points: 5,
        high_is_good: false,
    };

    #[test]
    fn yes_is_one_and_no_is_zero_when_yes_is_good() {
        let rule = ValueRule::YesNo { yes_is_good: true };
        assert_eq!(rule.value(&code(YES_CODE)), Some(1.0));
        assert_eq!(rule.value(&code(NO_CODE)), Some(0.0));
    }

    #[test]
    fn yes_is_zero_and_no_is_one_when_yes_is_bad() {
        let rule = ValueRule::YesNo { yes_is_good: false };
        assert_eq!(rule.value(&code("1")), Some(0.0));
        assert_eq!(rule.value(&code("0")), Some(1.0));
    }

    #[test]
    fn yes_no_reads_only_its_two_codes() {
        let rule = ValueRule::YesNo { yes_is_good: true };
        for other in ["yes", "có", "2", "", " 1"] {
            assert_eq!(rule.value(&code(other)), None, "code {other:?}");
        }
        assert_eq!(rule.value(&Answer::Number(1.0)), None);
    }

    #[test]
    fn likert_five_point_maps_one_to_zero_and_five_to_one() {
        assert_eq!(LIKERT5.value(&code("1")), Some(0.0));
        assert_eq!(LIKERT5.value(&code("2")), Some(0.25));
        assert_eq!(LIKERT5.value(&code("3")), Some(0.5));
        assert_eq!(LIKERT5.value(&code("5")), Some(1.0));
    }

    #[test]
    fn reversed_likert_maps_five_to_zero() {
        assert_eq!(REVERSED_LIKERT5.value(&code("5")), Some(0.0));
        assert_eq!(REVERSED_LIKERT5.value(&code("4")), Some(0.25));
        assert_eq!(REVERSED_LIKERT5.value(&code("1")), Some(1.0));
    }

    #[test]
    fn likert_accepts_integral_numbers_like_codes() {
        assert_eq!(LIKERT5.value(&Answer::Number(4.0)), Some(0.75));
        assert_eq!(LIKERT5.value(&Answer::Number(3.5)), None);
    }

    #[test]
    fn two_point_likert_is_zero_or_one() {
        let rule = ValueRule::Likert {
            points: 2,
            high_is_good: true,
        };
        assert_eq!(rule.value(&code("1")), Some(0.0));
        assert_eq!(rule.value(&code("2")), Some(1.0));
    }

    #[test]
    fn likert_value_out_of_range_is_missing() {
        for answer in [
            code("0"),
            code("6"),
            code("-1"),
            code("x"),
            Answer::Number(6.0),
            Answer::Number(0.0),
            Answer::Number(f64::NAN),
        ] {
            assert_eq!(LIKERT5.value(&answer), None, "{answer:?}");
            assert_eq!(REVERSED_LIKERT5.value(&answer), None, "{answer:?}");
        }
    }

    #[test]
    fn dont_know_and_refused_are_missing_never_zero() {
        let rules = [
            ValueRule::YesNo { yes_is_good: true },
            ValueRule::YesNo { yes_is_good: false },
            LIKERT5,
            REVERSED_LIKERT5,
            ValueRule::Number { good: 1.0, bad: 5.0 },
            ValueRule::Choice {
                values: vec![("1".into(), 0.0), ("2".into(), 1.0)],
            },
        ];
        let missing = [
            Answer::DontKnow,
            Answer::Refused,
            Answer::NotEligible,
            Answer::Text("Cán bộ rất nhiệt tình".into()),
        ];
        for rule in &rules {
            for answer in &missing {
                assert_eq!(rule.value(answer), None, "{rule:?} on {answer:?}");
            }
        }
    }

    #[test]
    fn numbers_are_linear_between_bounds_and_clamped() {
        // Fewer trips is better: good bound below the bad one.
        let trips = ValueRule::Number { good: 1.0, bad: 5.0 };
        assert_eq!(trips.value(&Answer::Number(1.0)), Some(1.0));
        assert_eq!(trips.value(&Answer::Number(2.0)), Some(0.75));
        assert_eq!(trips.value(&Answer::Number(3.0)), Some(0.5));
        assert_eq!(trips.value(&Answer::Number(5.0)), Some(0.0));
        assert_eq!(trips.value(&Answer::Number(12.0)), Some(0.0));
        assert_eq!(trips.value(&Answer::Number(0.0)), Some(1.0));

        // More is better: good bound above the bad one.
        let hours_of_power = ValueRule::Number { good: 24.0, bad: 0.0 };
        assert_eq!(hours_of_power.value(&Answer::Number(0.0)), Some(0.0));
        assert_eq!(hours_of_power.value(&Answer::Number(6.0)), Some(0.25));
        assert_eq!(hours_of_power.value(&Answer::Number(24.0)), Some(1.0));
        assert_eq!(hours_of_power.value(&Answer::Number(30.0)), Some(1.0));
        assert_eq!(hours_of_power.value(&Answer::Number(-3.0)), Some(0.0));
    }

    #[test]
    fn numbers_that_are_not_finite_or_not_numbers_are_missing() {
        let trips = ValueRule::Number { good: 1.0, bad: 5.0 };
        assert_eq!(trips.value(&Answer::Number(f64::NAN)), None);
        assert_eq!(trips.value(&Answer::Number(f64::INFINITY)), None);
        assert_eq!(trips.value(&code("3")), None);
    }

    #[test]
    fn choice_codes_take_their_listed_value_and_unknown_codes_are_missing() {
        let rule = ValueRule::Choice {
            values: vec![("a".into(), 1.0), ("b".into(), 0.4), ("c".into(), 0.0)],
        };
        rule.validate().expect("valid choice rule");
        assert_eq!(rule.value(&code("a")), Some(1.0));
        assert_eq!(rule.value(&code("b")), Some(0.4));
        assert_eq!(rule.value(&code("c")), Some(0.0));
        assert_eq!(rule.value(&code("other")), None);
        assert_eq!(rule.value(&Answer::Number(1.0)), None);
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        let cases = [
            (
                ValueRule::Likert {
                    points: 1,
                    high_is_good: true,
                },
                RuleError::TooFewPoints { points: 1 },
                "at least 2 points",
            ),
            (
                ValueRule::Likert {
                    points: 0,
                    high_is_good: false,
                },
                RuleError::TooFewPoints { points: 0 },
                "at least 2 points",
            ),
            (
                ValueRule::Number { good: 3.0, bad: 3.0 },
                RuleError::EqualBounds { bound: 3.0 },
                "must differ",
            ),
            (
                ValueRule::Number {
                    good: f64::NAN,
                    bad: 3.0,
                },
                RuleError::NonFiniteBound {
                    good: f64::NAN,
                    bad: 3.0,
                },
                "finite",
            ),
            (
                ValueRule::Number {
                    good: f64::MAX,
                    bad: -f64::MAX,
                },
                RuleError::BoundsTooFarApart {
                    good: f64::MAX,
                    bad: -f64::MAX,
                },
                "too far apart",
            ),
            (
                ValueRule::Choice { values: vec![] },
                RuleError::NoChoices,
                "at least one",
            ),
            (
                ValueRule::Choice {
                    values: vec![("1".into(), 1.5)],
                },
                RuleError::ChoiceValueOutOfRange {
                    code: "1".into(),
                    value: 1.5,
                },
                "not within [0, 1]",
            ),
            (
                ValueRule::Choice {
                    values: vec![("1".into(), -0.1)],
                },
                RuleError::ChoiceValueOutOfRange {
                    code: "1".into(),
                    value: -0.1,
                },
                "not within [0, 1]",
            ),
            (
                ValueRule::Choice {
                    values: vec![("1".into(), 1.0), ("2".into(), 0.5), ("1".into(), 0.0)],
                },
                RuleError::DuplicateChoiceCode { code: "1".into() },
                "more than once",
            ),
            (
                ValueRule::Choice {
                    values: vec![(String::new(), 1.0)],
                },
                RuleError::EmptyChoiceCode,
                "empty answer code",
            ),
        ];
        for (rule, expected, phrase) in cases {
            let error = rule.validate().expect_err("rule should be refused");
            // NaN != NaN, so compare the NaN case by its message only.
            if !matches!(expected, RuleError::NonFiniteBound { .. }) {
                assert_eq!(error, expected, "{rule:?}");
            }
            assert!(
                error.to_string().contains(phrase),
                "message {:?} should contain {phrase:?}",
                error.to_string()
            );
        }
    }

    #[test]
    fn valid_rules_pass_validation() {
        for rule in [
            ValueRule::YesNo { yes_is_good: true },
            ValueRule::Likert {
                points: 2,
                high_is_good: true,
            },
            LIKERT5,
            ValueRule::Number { good: 1.0, bad: 5.0 },
            ValueRule::Number { good: 100.0, bad: 0.0 },
            ValueRule::Choice {
                values: vec![("1".into(), 0.0), ("2".into(), 1.0)],
            },
        ] {
            assert_eq!(rule.validate(), Ok(()), "{rule:?}");
        }
    }

    #[test]
    fn unvalidated_broken_rules_yield_nothing_rather_than_out_of_range_values() {
        let one_point = ValueRule::Likert {
            points: 1,
            high_is_good: true,
        };
        assert_eq!(one_point.value(&code("1")), None);
        let flat = ValueRule::Number { good: 2.0, bad: 2.0 };
        assert_eq!(flat.value(&Answer::Number(2.0)), None);
        let too_generous = ValueRule::Choice {
            values: vec![("1".into(), 2.0)],
        };
        assert_eq!(too_generous.value(&code("1")), None);
    }
}
