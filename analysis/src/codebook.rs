//! The codebook as scoring sees it: the PAPI tree (dimensions → sub-dimensions → indicators), the questions that
//! measure each indicator with their [`ValueRule`], and the names charts print, in Vietnamese and English.
//!
//! The server builds a [`Codebook`] from the questionnaire version a wave was given with (its own parser,
//! `src/domain/questionnaire.rs`, reads and validates the TOML file; this crate does not parse it a second time).
//! [`Codebook::validate`] then checks what scoring relies on. Stored answers are strings: a choice code, a Likert
//! point, a number, or one of the special codes [`DONT_KNOW`] and [`REFUSED`]; [`Codebook::coded_values`] and
//! [`stored_value`] say what each string is worth, and the polars pipeline uses the very same tables.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::aggregate::DIMENSION_COUNT;
use crate::eligibility::Condition;
use crate::indicator::{Answer, NO_CODE, RuleError, ValueRule, YES_CODE};

/// The stored code of "Không biết" (don't know): never a value.
pub const DONT_KNOW: &str = "DK";

/// The stored code of "Không trả lời" (refused): never a value.
pub const REFUSED: &str = "RF";

/// A name in both languages of the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    /// Vietnamese, shown by default.
    pub vi: String,
    /// English, behind the language switch.
    pub en: String,
}

impl Name {
    /// A name from its Vietnamese and English texts.
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }
}

/// One of the eight PAPI dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionDef {
    /// PAPI's number, 1 to 8; the total needs all eight.
    pub number: u8,
    /// The code scores are reported under, e.g. `d1`.
    pub code: String,
    /// The name charts and tables print.
    pub name: Name,
}

/// A sub-dimension of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubdimensionDef {
    /// E.g. `d1.1`.
    pub code: String,
    /// The [`DimensionDef::code`] it belongs to.
    pub dimension: String,
    /// The name charts and tables print.
    pub name: Name,
}

/// An indicator of a sub-dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorDef {
    /// E.g. `d1.1.1`.
    pub code: String,
    /// The [`SubdimensionDef::code`] it belongs to.
    pub subdimension: String,
    /// The short name tables print.
    pub name: Name,
}

/// A scored question: which indicator it measures and how its answers become values.
///
/// An indicator measured by several questions takes, per respondent, the mean of the values those questions have
/// (`docs/questionnaire.md`, "From answers to scores"). Unscored questions (profile, screening, free text) are
/// simply not listed: their answers are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionDef {
    /// The question code answers are stored under, e.g. `d1_1_1`.
    pub code: String,
    /// The [`IndicatorDef::code`] it measures.
    pub indicator: String,
    /// How its answers become values in [0, 1].
    pub rule: ValueRule,
}

/// The answers a question takes, besides "Không biết" and "Không trả lời".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Accepts {
    /// One of these codes: `"1"`/`"0"` (yes/no), `"1"`–`"5"` (Likert), the choice codes (single choice).
    Codes(Vec<String>),
    /// A number within `min..=max`, written as a decimal number with a dot (`12`, `2.5`).
    Number {
        /// The smallest answer accepted.
        min: f64,
        /// The largest answer accepted.
        max: f64,
    },
    /// Free text: any non-empty text (never scored).
    Text,
}

/// A question as it is asked: every question of the questionnaire, scored or not (profile, screening, free text),
/// with the answers it takes and its skip logic. Scoring reads an answers file against these: an answer to an
/// unknown question, an answer the question does not take, or an answer to a question the respondent was not
/// eligible for is ignored and counted ([`crate::checks`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskedQuestion {
    /// The question's code.
    pub code: String,
    /// What it takes.
    pub accepts: Accepts,
    /// Whether [`DONT_KNOW`] and [`REFUSED`] are offered: every question except the profile questions.
    pub dont_know: bool,
    /// Skip logic: asked only when all hold; each names an earlier question.
    pub when: Vec<Condition>,
}

/// Everything scoring needs of one questionnaire version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Codebook {
    /// In PAPI order.
    pub dimensions: Vec<DimensionDef>,
    /// In questionnaire order.
    pub subdimensions: Vec<SubdimensionDef>,
    /// In questionnaire order.
    pub indicators: Vec<IndicatorDef>,
    /// The scored questions.
    pub questions: Vec<QuestionDef>,
    /// Every question in the order asked, with its skip logic. Empty in codebooks built by hand (tests, examples):
    /// then [`Codebook::asked_questions`] takes the scored questions, each always asked.
    #[serde(default)]
    pub asked: Vec<AskedQuestion>,
}

/// What is wrong with a codebook; each message names the code to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodebookError {
    /// Two entries of one list share a code.
    #[error("{list} code {code:?} is used twice")]
    DuplicateCode {
        /// `dimension`, `subdimension`, `indicator` or `question`.
        list: &'static str,
        /// The repeated code.
        code: String,
    },
    /// A dimension number outside PAPI's 1..=8.
    #[error("dimension {code:?} has number {number}, which is not within 1..=8")]
    DimensionNumber {
        /// The dimension's code.
        code: String,
        /// The number given.
        number: u8,
    },
    /// Two dimensions with one number.
    #[error("dimension number {number} is used twice")]
    DuplicateDimensionNumber {
        /// The repeated number.
        number: u8,
    },
    /// An entry names a parent that is not defined.
    #[error("{list} {code:?} belongs to {parent:?}, which is not defined")]
    UnknownParent {
        /// `subdimension`, `indicator` or `question`.
        list: &'static str,
        /// The entry's code.
        code: String,
        /// The parent it names.
        parent: String,
    },
    /// A question's rule cannot be used.
    #[error("question {code:?}: {source}")]
    Rule {
        /// The question's code.
        code: String,
        /// Why the rule is wrong.
        source: RuleError,
    },
    /// A choice code that is also a special code would be scored and missing at once.
    #[error("question {code:?} values the special code {special:?}, which always means a missing answer")]
    SpecialCodeValued {
        /// The question's code.
        code: String,
        /// `DK` or `RF`.
        special: String,
    },
    /// More indicators than the compact per-answer index holds.
    #[error("a codebook may have at most 65,535 indicators, this one has {count}")]
    TooManyIndicators {
        /// The number of indicators.
        count: usize,
    },
    /// A scored question is missing from the questions asked.
    #[error("question {code:?} is scored but not among the questions asked")]
    ScoredNotAsked {
        /// The question's code.
        code: String,
    },
    /// A skip-logic condition names a question that is not asked before.
    #[error("question {code:?} has a condition on {earlier:?}, which is not an earlier question")]
    ConditionNotEarlier {
        /// The question's code.
        code: String,
        /// The question the condition names.
        earlier: String,
    },
}

impl Codebook {
    /// Checks what scoring relies on: unique codes, parents that exist, dimension numbers 1..=8, usable rules.
    ///
    /// A codebook may have fewer than eight dimensions (a short survey); units then get no total score.
    pub fn validate(&self) -> Result<(), CodebookError> {
        let mut numbers = HashSet::new();
        unique("dimension", self.dimensions.iter().map(|d| d.code.as_str()))?;
        for dimension in &self.dimensions {
            if !(1..=DIMENSION_COUNT as u8).contains(&dimension.number) {
                return Err(CodebookError::DimensionNumber {
                    code: dimension.code.clone(),
                    number: dimension.number,
                });
            }
            if !numbers.insert(dimension.number) {
                return Err(CodebookError::DuplicateDimensionNumber {
                    number: dimension.number,
                });
            }
        }
        unique("subdimension", self.subdimensions.iter().map(|s| s.code.as_str()))?;
        let dimensions: HashSet<&str> = self.dimensions.iter().map(|d| d.code.as_str()).collect();
        for sub in &self.subdimensions {
            parent_exists("subdimension", &sub.code, &sub.dimension, &dimensions)?;
        }
        unique("indicator", self.indicators.iter().map(|i| i.code.as_str()))?;
        if self.indicators.len() > usize::from(u16::MAX) {
            return Err(CodebookError::TooManyIndicators {
                count: self.indicators.len(),
            });
        }
        let subdimensions: HashSet<&str> = self.subdimensions.iter().map(|s| s.code.as_str()).collect();
        for indicator in &self.indicators {
            parent_exists("indicator", &indicator.code, &indicator.subdimension, &subdimensions)?;
        }
        unique("question", self.questions.iter().map(|q| q.code.as_str()))?;
        unique("asked question", self.asked.iter().map(|q| q.code.as_str()))?;
        if !self.asked.is_empty() {
            let asked: HashSet<&str> = self.asked.iter().map(|q| q.code.as_str()).collect();
            if let Some(q) = self.questions.iter().find(|q| !asked.contains(q.code.as_str())) {
                return Err(CodebookError::ScoredNotAsked { code: q.code.clone() });
            }
            let mut earlier: HashSet<&str> = HashSet::new();
            for q in &self.asked {
                if let Some(c) = q.when.iter().find(|c| !earlier.contains(c.question())) {
                    return Err(CodebookError::ConditionNotEarlier {
                        code: q.code.clone(),
                        earlier: c.question().to_owned(),
                    });
                }
                earlier.insert(&q.code);
            }
        }
        let indicators: HashSet<&str> = self.indicators.iter().map(|i| i.code.as_str()).collect();
        for question in &self.questions {
            parent_exists("question", &question.code, &question.indicator, &indicators)?;
            question.rule.validate().map_err(|source| CodebookError::Rule {
                code: question.code.clone(),
                source,
            })?;
            if let ValueRule::Choice { values } = &question.rule
                && let Some((special, _)) = values.iter().find(|(c, _)| c == DONT_KNOW || c == REFUSED)
            {
                return Err(CodebookError::SpecialCodeValued {
                    code: question.code.clone(),
                    special: special.clone(),
                });
            }
        }
        Ok(())
    }

    /// Every question in the order asked: [`Codebook::asked`], or, when a codebook built by hand leaves it empty,
    /// the scored questions, each always asked, taking the codes its rule knows (any number for a number rule)
    /// and "Không biết"/"Không trả lời".
    pub fn asked_questions(&self) -> Cow<'_, [AskedQuestion]> {
        if !self.asked.is_empty() {
            return Cow::Borrowed(&self.asked);
        }
        let mut seen = HashSet::new();
        Cow::Owned(
            self.questions
                .iter()
                .filter(|q| seen.insert(q.code.as_str()))
                .map(|q| AskedQuestion {
                    code: q.code.clone(),
                    accepts: match &q.rule {
                        ValueRule::Number { .. } => Accepts::Number {
                            min: f64::NEG_INFINITY,
                            max: f64::INFINITY,
                        },
                        rule => Accepts::Codes(Self::coded_values(rule).into_iter().map(|(code, _)| code).collect()),
                    },
                    dont_know: true,
                    when: Vec::new(),
                })
                .collect(),
        )
    }

    /// The dimension of `code`, if the codebook has it.
    pub fn dimension(&self, code: &str) -> Option<&DimensionDef> {
        self.dimensions.iter().find(|d| d.code == code)
    }

    /// The sub-dimension of `code`, if the codebook has it.
    pub fn subdimension(&self, code: &str) -> Option<&SubdimensionDef> {
        self.subdimensions.iter().find(|s| s.code == code)
    }

    /// The indicator of `code`, if the codebook has it.
    pub fn indicator(&self, code: &str) -> Option<&IndicatorDef> {
        self.indicators.iter().find(|i| i.code == code)
    }

    /// Every stored code a question's rule gives a value, with that value: both yes/no codes, the Likert points
    /// `"1"` to `"k"` as written by the server, the listed choices. Number rules have none (see [`stored_value`]).
    pub fn coded_values(rule: &ValueRule) -> Vec<(String, f64)> {
        let codes: Vec<String> = match rule {
            ValueRule::YesNo { .. } => vec![YES_CODE.to_owned(), NO_CODE.to_owned()],
            ValueRule::Likert { points, .. } => (1..=*points).map(|p| p.to_string()).collect(),
            ValueRule::Choice { values } => values.iter().map(|(code, _)| code.clone()).collect(),
            ValueRule::Number { .. } => Vec::new(),
        };
        codes
            .into_iter()
            .filter(|code| code != DONT_KNOW && code != REFUSED)
            .filter_map(|code| {
                let value = rule.value(&Answer::Code(code.clone()))?;
                Some((code, value))
            })
            .collect()
    }
}

/// The value of one stored answer string under `rule`, exactly as the polars pipeline computes it.
///
/// [`DONT_KNOW`], [`REFUSED`] and anything the rule cannot read are missing (`None`). Number rules read the string
/// as a decimal number (non-finite numbers are missing); other rules look the string up among
/// [`Codebook::coded_values`], so a Likert point must be written as the server writes it (`"4"`, not `"04"`).
pub fn stored_value(rule: &ValueRule, raw: &str) -> Option<f64> {
    if raw == DONT_KNOW || raw == REFUSED {
        return None;
    }
    match rule {
        ValueRule::Number { .. } => raw.parse::<f64>().ok().and_then(|x| rule.value(&Answer::Number(x))),
        _ => Codebook::coded_values(rule)
            .into_iter()
            .find(|(code, _)| code == raw)
            .map(|(_, value)| value),
    }
}

fn unique<'a>(list: &'static str, codes: impl Iterator<Item = &'a str>) -> Result<(), CodebookError> {
    let mut seen = HashSet::new();
    for code in codes {
        if !seen.insert(code) {
            return Err(CodebookError::DuplicateCode {
                list,
                code: code.to_owned(),
            });
        }
    }
    Ok(())
}

fn parent_exists(list: &'static str, code: &str, parent: &str, parents: &HashSet<&str>) -> Result<(), CodebookError> {
    if parents.contains(parent) {
        Ok(())
    } else {
        Err(CodebookError::UnknownParent {
            list,
            code: code.to_owned(),
            parent: parent.to_owned(),
        })
    }
}

/// The codebook's tree as indexes, built once per scoring run: what the per-unit arithmetic walks.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Per indicator, its sub-dimension's index.
    pub indicator_sub: Vec<usize>,
    /// Per sub-dimension, its indicators.
    pub sub_indicators: Vec<Vec<usize>>,
    /// Per sub-dimension, its dimension's index.
    pub sub_dim: Vec<usize>,
    /// Per dimension, its sub-dimensions.
    pub dim_subs: Vec<Vec<usize>>,
    /// Whether the eight dimensions are all there, so that a total exists.
    pub has_total: bool,
}

impl Layout {
    /// Indexes of a validated codebook.
    pub fn new(codebook: &Codebook) -> Self {
        let dim_index: HashMap<&str, usize> = codebook
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.as_str(), i))
            .collect();
        let sub_index: HashMap<&str, usize> = codebook
            .subdimensions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.code.as_str(), i))
            .collect();
        let sub_dim: Vec<usize> = codebook
            .subdimensions
            .iter()
            .map(|s| dim_index.get(s.dimension.as_str()).copied().unwrap_or(0))
            .collect();
        let indicator_sub: Vec<usize> = codebook
            .indicators
            .iter()
            .map(|i| sub_index.get(i.subdimension.as_str()).copied().unwrap_or(0))
            .collect();
        let mut sub_indicators = vec![Vec::new(); codebook.subdimensions.len()];
        for (indicator, &sub) in indicator_sub.iter().enumerate() {
            if let Some(list) = sub_indicators.get_mut(sub) {
                list.push(indicator);
            }
        }
        let mut dim_subs = vec![Vec::new(); codebook.dimensions.len()];
        for (sub, &dim) in sub_dim.iter().enumerate() {
            if let Some(list) = dim_subs.get_mut(dim) {
                list.push(sub);
            }
        }
        Self {
            indicator_sub,
            sub_indicators,
            sub_dim,
            dim_subs,
            has_total: codebook.dimensions.len() == DIMENSION_COUNT,
        }
    }

    pub fn indicators(&self) -> usize {
        self.indicator_sub.len()
    }

    pub fn subdimensions(&self) -> usize {
        self.sub_dim.len()
    }

    pub fn dimensions(&self) -> usize {
        self.dim_subs.len()
    }
}

/// For tests: eight dimensions of one sub-dimension and two indicators each, each indicator one yes/no question
/// (`q{d}_{i}`, yes is good).
#[cfg(test)]
pub(crate) fn eight_dimensions_of_yes_no() -> Codebook {
    use crate::indicator::ValueRule;
    let mut codebook = Codebook::default();
    for d in 1..=8u8 {
        codebook.dimensions.push(DimensionDef {
            number: d,
            code: format!("d{d}"),
            name: Name::new("x", "x"),
        });
        codebook.subdimensions.push(SubdimensionDef {
            code: format!("d{d}.1"),
            dimension: format!("d{d}"),
            name: Name::new("x", "x"),
        });
        for i in 1..=2 {
            codebook.indicators.push(IndicatorDef {
                code: format!("d{d}.1.{i}"),
                subdimension: format!("d{d}.1"),
                name: Name::new("x", "x"),
            });
            codebook.questions.push(QuestionDef {
                code: format!("q{d}_{i}"),
                indicator: format!("d{d}.1.{i}"),
                rule: ValueRule::YesNo { yes_is_good: true },
            });
        }
    }
    codebook
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Codebook {
        Codebook {
            dimensions: vec![DimensionDef {
                number: 5,
                code: "d5".into(),
                name: Name::new("Thủ tục hành chính công", "Public administrative procedures"),
            }],
            subdimensions: vec![SubdimensionDef {
                code: "d5.2".into(),
                dimension: "d5".into(),
                name: Name::new("Giấy phép xây dựng", "Construction permits"),
            }],
            indicators: vec![IndicatorDef {
                code: "d5.2.1".into(),
                subdimension: "d5.2".into(),
                name: Name::new("Số lần đi lại", "Trips"),
            }],
            questions: vec![QuestionDef {
                code: "d5_2_1".into(),
                indicator: "d5.2.1".into(),
                rule: ValueRule::Number { good: 1.0, bad: 5.0 },
            }],
            asked: Vec::new(),
        }
    }

    #[test]
    fn a_consistent_codebook_validates() {
        assert_eq!(small().validate(), Ok(()));
    }

    #[test]
    fn broken_codebooks_are_refused_with_the_code_to_fix() {
        let mut c = small();
        c.questions[0].indicator = "d5.2.9".into();
        assert!(matches!(
            c.validate(),
            Err(CodebookError::UnknownParent { list: "question", .. })
        ));

        let mut c = small();
        c.dimensions[0].number = 9;
        assert!(matches!(
            c.validate(),
            Err(CodebookError::DimensionNumber { number: 9, .. })
        ));

        let mut c = small();
        c.questions.push(c.questions[0].clone());
        assert!(matches!(
            c.validate(),
            Err(CodebookError::DuplicateCode { list: "question", .. })
        ));

        let mut c = small();
        c.questions[0].rule = ValueRule::Number { good: 2.0, bad: 2.0 };
        assert!(c.validate().expect_err("equal bounds").to_string().contains("d5_2_1"));

        let mut c = small();
        c.questions[0].rule = ValueRule::Choice {
            values: vec![("DK".into(), 0.0), ("1".into(), 1.0)],
        };
        assert!(matches!(c.validate(), Err(CodebookError::SpecialCodeValued { .. })));
    }

    #[test]
    fn stored_strings_are_read_like_the_server_writes_them() {
        let yes_bad = ValueRule::YesNo { yes_is_good: false };
        assert_eq!(stored_value(&yes_bad, "1"), Some(0.0));
        assert_eq!(stored_value(&yes_bad, "0"), Some(1.0));
        assert_eq!(stored_value(&yes_bad, "DK"), None);
        let reversed = ValueRule::Likert {
            points: 5,
            high_is_good: false,
        };
        assert_eq!(stored_value(&reversed, "2"), Some(0.75));
        assert_eq!(stored_value(&reversed, "02"), None);
        assert_eq!(stored_value(&reversed, "RF"), None);
        let trips = ValueRule::Number { good: 1.0, bad: 5.0 };
        assert_eq!(stored_value(&trips, "2"), Some(0.75));
        assert_eq!(stored_value(&trips, "40"), Some(0.0));
        assert_eq!(stored_value(&trips, "DK"), None);
        assert_eq!(stored_value(&trips, "inf"), None);
        let choice = ValueRule::Choice {
            values: vec![("on_time".into(), 1.0), ("late".into(), 0.0)],
        };
        assert_eq!(stored_value(&choice, "late"), Some(0.0));
        assert_eq!(stored_value(&choice, "not_due"), None);
    }
}
