//! The questionnaire file as written (TOML, `docs/questionnaire.md`), before validation.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuestionnaire {
    pub(super) code: String,
    pub(super) version: i64,
    pub(super) title: Text,
    pub(super) intro: Text,
    pub(super) dimension_rule: Option<RawDimensionRule>,
    #[serde(default)]
    pub(super) scales: BTreeMap<String, RawScale>,
    #[serde(default)]
    pub(super) dimensions: Vec<RawNode>,
    #[serde(default)]
    pub(super) subdimensions: Vec<RawNode>,
    #[serde(default)]
    pub(super) indicators: Vec<RawNode>,
    #[serde(default)]
    pub(super) questions: Vec<RawQuestion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScale {
    pub(super) vi: Vec<String>,
    pub(super) en: Vec<String>,
}

/// A dimension, sub-dimension or indicator: a code, its parent's code (none for dimensions), a name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNode {
    pub(super) code: String,
    #[serde(alias = "dimension", alias = "subdimension")]
    pub(super) parent: Option<String>,
    pub(super) vi: String,
    pub(super) en: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawGood {
    Word(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawNum {
    Int(i64),
    Float(f64),
}

impl RawNum {
    pub(super) fn get(&self) -> f64 {
        match self {
            Self::Int(i) => *i as f64,
            Self::Float(f) => *f,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuestion {
    pub(super) code: String,
    pub(super) indicator: Option<String>,
    #[serde(default)]
    pub(super) profile: bool,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) vi: String,
    pub(super) en: String,
    pub(super) help: Option<Text>,
    pub(super) good: Option<RawGood>,
    pub(super) bad: Option<RawNum>,
    pub(super) choices: Option<Vec<RawChoice>>,
    pub(super) scale: Option<String>,
    pub(super) direction: Option<String>,
    pub(super) min: Option<RawNum>,
    pub(super) max: Option<RawNum>,
    pub(super) unit: Option<Text>,
    pub(super) max_len: Option<usize>,
    #[serde(default)]
    pub(super) when: Vec<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChoice {
    pub(super) code: String,
    pub(super) vi: String,
    pub(super) en: String,
    pub(super) value: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) question: String,
    pub(super) any_of: Option<Vec<String>>,
    pub(super) at_least: Option<RawNum>,
    pub(super) at_most: Option<RawNum>,
}

/// `dimension_rule = "all"` (or `"any"`), or `dimension_rule = { at_least = N }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDimensionRule {
    Word(String),
    AtLeast { at_least: i64 },
}
