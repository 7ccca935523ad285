//! The questionnaire codebook: dimensions → sub-dimensions → indicators → questions, read from a TOML file
//! (format: `docs/questionnaire.md`), validated once, then used by the survey engine (`conversation`) to ask, check and skip.
//!
//! Answers are parsed here from what a citizen typed or tapped, on any channel, so that a response given over
//! Telegram is stored exactly as the same answers given on the web.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::Deserialize;

use super::{Lang, Text};

mod answers;
mod code_map;
mod raw;

pub use answers::{Answer, AnswerError, AnswerOption};
pub use code_map::{CodeMap, CodeMapChange, Comparable, check_succession};
use raw::*;

/// The answer code for "Không biết" (don't know): offered on every non-profile question, never a value.
pub const DONT_KNOW: &str = "DK";
/// The answer code for "Không trả lời" (refused): offered on every non-profile question, never a value.
pub const REFUSED: &str = "RF";
/// Yes/no questions answer with these codes.
pub const YES: &str = "1";
pub const NO: &str = "0";
/// The default and largest length of a free-text answer, in characters.
pub const MAX_TEXT_LEN: usize = 2000;

// ---- The validated codebook ----------------------------------------------------------------------------

/// A dimension, sub-dimension or indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub code: String,
    /// The dimension of a sub-dimension, the sub-dimension of an indicator.
    pub parent: Option<String>,
    pub name: Text,
}

/// One answer choice as shown to a citizen.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub code: String,
    pub label: Text,
    /// Its score in [0, 1] (1 is best), for scored single-choice questions.
    pub value: Option<f64>,
}

/// What kind of answer a question takes, with what scoring needs.
#[derive(Clone, Debug, PartialEq)]
pub enum QuestionKind {
    /// Answered "1" (Có) or "0" (Không); `yes_is_good` when scored.
    YesNo {
        yes_is_good: Option<bool>,
    },
    Single {
        choices: Vec<Choice>,
    },
    /// Five points, "1"–"5", labelled by a named scale.
    Likert {
        labels: Vec<Text>,
        high_is_good: Option<bool>,
    },
    /// A whole number within `min..=max`; scored linearly from `good` (1) to `bad` (0).
    Number {
        min: i64,
        max: i64,
        good: Option<f64>,
        bad: Option<f64>,
        unit: Option<Text>,
    },
    Text {
        max_len: usize,
    },
}

/// A skip-logic condition on an earlier answer: the one type the survey engine and scoring share, with the one
/// rule of when it holds (`ykien_analysis::eligibility`).
pub use ykien_analysis::eligibility::{Condition, Given};

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub code: String,
    pub indicator: Option<String>,
    /// The page it is shown on: `profile`, or a sub-dimension code.
    pub page: String,
    pub profile: bool,
    pub text: Text,
    pub help: Option<Text>,
    pub kind: QuestionKind,
    /// All must hold for the question to be asked.
    pub when: Vec<Condition>,
}

/// A group of questions shown together on the web (one per sub-dimension, profile first).
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub key: String,
    pub title: Text,
    /// Indexes into [`Questionnaire::questions`], in order.
    pub questions: Vec<usize>,
}

/// The key of the page of respondent-profile questions.
pub const PROFILE_PAGE: &str = "profile";

#[derive(Clone, Debug, PartialEq)]
pub struct Questionnaire {
    pub code: String,
    pub version: i64,
    pub title: Text,
    pub intro: Text,
    /// When a unit gets a dimension score although a sub-dimension has no answers (`docs/questionnaire.md`).
    pub dimension_rule: DimensionRule,
    pub dimensions: Vec<Node>,
    pub subdimensions: Vec<Node>,
    pub indicators: Vec<Node>,
    pub questions: Vec<Question>,
    pub pages: Vec<Page>,
    by_code: HashMap<String, usize>,
}

/// When a unit whose respondents left a sub-dimension unanswered still gets its dimension's score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimensionRule {
    /// From the sub-dimensions that have answers, unflagged: papi-2025's behaviour, kept when a file names no
    /// rule so that the numbers already published for its waves do not change.
    Any,
    /// Only when every sub-dimension of the dimension has answers; otherwise no dimension score and no total.
    All,
    /// When at least this many sub-dimensions have answers; a score made from fewer than all is flagged.
    AtLeast(usize),
}

impl DimensionRule {
    /// The rule as written in a questionnaire file and in `scores.csv`'s `dimension_rule` note.
    pub fn label(self) -> String {
        match self {
            Self::Any => "any".to_owned(),
            Self::All => "all".to_owned(),
            Self::AtLeast(n) => format!("at_least = {n}"),
        }
    }
}

/// Every problem found in a questionnaire file, one line each, with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct QuestionnaireErrors(pub Vec<String>);

impl fmt::Display for QuestionnaireErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) in the questionnaire:", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

fn is_code(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

impl Questionnaire {
    /// Parses and validates a questionnaire file; every problem is reported, not just the first.
    pub fn parse(text: &str) -> Result<Self, QuestionnaireErrors> {
        let raw: RawQuestionnaire = toml::from_str(text)
            .map_err(|e| QuestionnaireErrors(vec![e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")]))?;
        let mut errors = Vec::new();
        let mut err = |path: String, msg: String| errors.push(format!("{path}: {msg}"));

        if !is_code(&raw.code, &['-']) {
            err("code".into(), format!("'{}' must use a–z, 0–9 and '-'", raw.code));
        }
        if raw.version < 1 {
            err("version".into(), "must be 1 or more".into());
        }
        for (path, t) in [("title", &raw.title), ("intro", &raw.intro)] {
            check_text(&mut err, path.into(), &t.vi, &t.en);
        }
        let dimension_rule = match &raw.dimension_rule {
            None => DimensionRule::Any,
            Some(RawDimensionRule::Word(w)) if w == "all" => DimensionRule::All,
            Some(RawDimensionRule::Word(w)) if w == "any" => DimensionRule::Any,
            Some(RawDimensionRule::AtLeast { at_least }) if *at_least >= 1 => {
                DimensionRule::AtLeast(*at_least as usize)
            }
            Some(RawDimensionRule::AtLeast { at_least }) => {
                err(
                    "dimension_rule".into(),
                    format!("at_least must be 1 or more, not {at_least}"),
                );
                DimensionRule::Any
            }
            Some(RawDimensionRule::Word(w)) => {
                err(
                    "dimension_rule".into(),
                    format!("'{w}' is neither \"all\", \"any\" nor {{ at_least = N }}"),
                );
                DimensionRule::Any
            }
        };

        let mut scales: HashMap<&str, Vec<Text>> = HashMap::new();
        for (name, s) in &raw.scales {
            let path = format!("scales.{name}");
            if s.vi.len() != 5 || s.en.len() != 5 {
                err(
                    path.clone(),
                    format!(
                        "a scale has 5 labels in each language, not {} (vi) and {} (en)",
                        s.vi.len(),
                        s.en.len()
                    ),
                );
            }
            for (i, (vi, en)) in s.vi.iter().zip(&s.en).enumerate() {
                check_text(&mut err, format!("{path}[{i}]"), vi, en);
            }
            scales.insert(
                name,
                s.vi.iter()
                    .zip(&s.en)
                    .map(|(v, e)| Text::new(v.trim(), e.trim()))
                    .collect(),
            );
        }

        let dimensions = nodes(&mut err, "dimensions", &raw.dimensions, None);
        let subdimensions = nodes(
            &mut err,
            "subdimensions",
            &raw.subdimensions,
            Some(("dimension", &dimensions)),
        );
        let indicators = nodes(
            &mut err,
            "indicators",
            &raw.indicators,
            Some(("subdimension", &subdimensions)),
        );
        let indicator_parent: HashMap<&str, &str> = indicators
            .iter()
            .filter_map(|n| Some((n.code.as_str(), n.parent.as_deref()?)))
            .collect();

        let mut questions: Vec<Question> = Vec::new();
        let mut by_code: HashMap<String, usize> = HashMap::new();
        for (i, q) in raw.questions.iter().enumerate() {
            let path = format!("questions[{i}] ({})", q.code);
            if !is_code(&q.code, &['_']) {
                err(path.clone(), format!("code '{}' must use a–z, 0–9 and '_'", q.code));
            }
            if by_code.contains_key(&q.code) {
                err(
                    path.clone(),
                    format!("code '{}' is used by an earlier question", q.code),
                );
            }
            check_text(&mut err, path.clone(), &q.vi, &q.en);
            if let Some(h) = &q.help {
                check_text(&mut err, format!("{path}.help"), &h.vi, &h.en);
            }
            if let Some(ind) = &q.indicator {
                if !indicator_parent.contains_key(ind.as_str()) {
                    err(path.clone(), format!("indicator '{ind}' is not defined"));
                }
                if q.profile {
                    err(
                        path.clone(),
                        "a profile question is not scored: remove its indicator".into(),
                    );
                }
            }
            let scored = q.indicator.is_some();
            let mut unused: Vec<&str> = Vec::new();
            let kind = match q.kind.as_str() {
                "yes_no" => {
                    let yes_is_good = match &q.good {
                        Some(RawGood::Word(w)) if w == "yes" => Some(true),
                        Some(RawGood::Word(w)) if w == "no" => Some(false),
                        Some(_) => {
                            err(
                                path.clone(),
                                "good must be \"yes\" or \"no\" for a yes_no question".into(),
                            );
                            None
                        }
                        None => None,
                    };
                    if scored && yes_is_good.is_none() && q.good.is_none() {
                        err(
                            path.clone(),
                            "a scored yes_no question says which answer is good: good = \"yes\" or \"no\"".into(),
                        );
                    }
                    unused.extend(q.choices.as_ref().map(|_| "choices"));
                    QuestionKind::YesNo { yes_is_good }
                }
                "single" => {
                    let mut choices = Vec::new();
                    let raw_choices = q.choices.as_deref().unwrap_or_default();
                    if raw_choices.len() < 2 {
                        err(path.clone(), "a single-choice question has at least 2 choices".into());
                    }
                    let mut seen = HashSet::new();
                    for (j, c) in raw_choices.iter().enumerate() {
                        let cpath = format!("{path}.choices[{j}]");
                        if !is_code(&c.code, &['_']) || c.code == DONT_KNOW.to_lowercase() {
                            err(cpath.clone(), format!("code '{}' must use a–z, 0–9 and '_'", c.code));
                        }
                        if !seen.insert(c.code.as_str()) {
                            err(cpath.clone(), format!("code '{}' repeats an earlier choice", c.code));
                        }
                        check_text(&mut err, cpath.clone(), &c.vi, &c.en);
                        if let Some(v) = c.value
                            && !(0.0..=1.0).contains(&v)
                        {
                            err(cpath, format!("value {v} is outside 0–1"));
                        }
                        choices.push(Choice {
                            code: c.code.clone(),
                            label: Text::new(c.vi.trim(), c.en.trim()),
                            value: c.value,
                        });
                    }
                    if scored && choices.iter().filter(|c| c.value.is_some()).count() < 2 {
                        err(
                            path.clone(),
                            "a scored single-choice question gives a value to at least 2 choices".into(),
                        );
                    }
                    unused.extend(q.good.as_ref().map(|_| "good"));
                    QuestionKind::Single { choices }
                }
                "likert" => {
                    let labels = match q.scale.as_deref() {
                        Some(name) => scales.get(name).cloned().unwrap_or_else(|| {
                            err(path.clone(), format!("scale '{name}' is not defined under [scales]"));
                            Vec::new()
                        }),
                        None => {
                            err(path.clone(), "a likert question names its scale".into());
                            Vec::new()
                        }
                    };
                    let high_is_good = match q.direction.as_deref() {
                        Some("high_is_good") => Some(true),
                        Some("low_is_good") => Some(false),
                        Some(other) => {
                            err(
                                path.clone(),
                                format!("direction '{other}' is neither high_is_good nor low_is_good"),
                            );
                            None
                        }
                        None => {
                            if scored {
                                err(path.clone(), "a scored likert question has a direction".into());
                            }
                            None
                        }
                    };
                    QuestionKind::Likert { labels, high_is_good }
                }
                "number" => {
                    let (min, max) = (q.min.as_ref().map(RawNum::get), q.max.as_ref().map(RawNum::get));
                    let (min, max) = match (min, max) {
                        (Some(a), Some(b)) if a < b && a.fract() == 0.0 && b.fract() == 0.0 => (a as i64, b as i64),
                        _ => {
                            err(
                                path.clone(),
                                "a number question has whole-number bounds min < max".into(),
                            );
                            (0, 0)
                        }
                    };
                    let good = match &q.good {
                        Some(RawGood::Int(i)) => Some(*i as f64),
                        Some(RawGood::Float(f)) => Some(*f),
                        Some(RawGood::Word(_)) => {
                            err(path.clone(), "good is a number for a number question".into());
                            None
                        }
                        None => None,
                    };
                    let bad = q.bad.as_ref().map(RawNum::get);
                    if scored {
                        match (good, bad) {
                            (Some(g), Some(b)) if g != b && g.is_finite() && b.is_finite() => {}
                            _ => err(
                                path.clone(),
                                "a scored number question has bounds good and bad that differ".into(),
                            ),
                        }
                    }
                    if let Some(u) = &q.unit {
                        check_text(&mut err, format!("{path}.unit"), &u.vi, &u.en);
                    }
                    QuestionKind::Number {
                        min,
                        max,
                        good,
                        bad,
                        unit: q.unit.clone(),
                    }
                }
                "text" => {
                    if scored {
                        err(
                            path.clone(),
                            "a text question is never scored: remove its indicator".into(),
                        );
                    }
                    let max_len = q.max_len.unwrap_or(500);
                    if max_len == 0 || max_len > MAX_TEXT_LEN {
                        err(path.clone(), format!("max_len must be 1–{MAX_TEXT_LEN}"));
                    }
                    QuestionKind::Text { max_len }
                }
                other => {
                    err(
                        path.clone(),
                        format!("type '{other}' is not one of yes_no, single, likert, number, text"),
                    );
                    QuestionKind::Text { max_len: 1 }
                }
            };
            if !matches!(kind, QuestionKind::Likert { .. }) {
                unused.extend(q.scale.as_ref().map(|_| "scale"));
                unused.extend(q.direction.as_ref().map(|_| "direction"));
            }
            if !matches!(kind, QuestionKind::Number { .. }) {
                unused.extend(q.min.as_ref().map(|_| "min"));
                unused.extend(q.max.as_ref().map(|_| "max"));
                unused.extend(q.bad.as_ref().map(|_| "bad"));
                unused.extend(q.unit.as_ref().map(|_| "unit"));
            }
            for key in unused {
                err(path.clone(), format!("'{key}' does not apply to a {} question", q.kind));
            }

            let mut when = Vec::new();
            for (j, c) in q.when.iter().enumerate() {
                let cpath = format!("{path}.when[{j}]");
                let Some(&target) = by_code.get(&c.question) else {
                    err(cpath, format!("'{}' is not an earlier question", c.question));
                    continue;
                };
                let target_kind = &questions[target].kind;
                match (&c.any_of, &c.at_least, &c.at_most) {
                    (Some(codes), None, None) if !codes.is_empty() => {
                        for code in codes {
                            if !valid_codes(target_kind).iter().any(|v| v == code) {
                                err(
                                    cpath.clone(),
                                    format!("'{code}' is not an answer code of {}", c.question),
                                );
                            }
                        }
                        when.push(Condition::AnyOf {
                            question: c.question.clone(),
                            codes: codes.clone(),
                        });
                    }
                    (None, least, most) if least.is_some() || most.is_some() => {
                        if !matches!(target_kind, QuestionKind::Number { .. } | QuestionKind::Likert { .. }) {
                            err(
                                cpath.clone(),
                                format!("at_least/at_most need a number or likert question, not {}", c.question),
                            );
                        }
                        when.push(Condition::Range {
                            question: c.question.clone(),
                            at_least: least.as_ref().map(RawNum::get),
                            at_most: most.as_ref().map(RawNum::get),
                        });
                    }
                    _ => err(
                        cpath,
                        "a condition has either any_of = [codes] or at_least/at_most".into(),
                    ),
                }
            }

            by_code.insert(q.code.clone(), questions.len());
            questions.push(Question {
                code: q.code.clone(),
                indicator: q.indicator.clone(),
                page: String::new(),
                profile: q.profile,
                text: Text::new(q.vi.trim(), q.en.trim()),
                help: q.help.clone(),
                kind,
                when,
            });
        }

        // Profile questions come first; the others are grouped by sub-dimension, in the order asked.
        if let Some(first_other) = questions.iter().position(|q| !q.profile)
            && let Some(late) = questions[first_other..].iter().find(|q| q.profile)
        {
            err(
                format!("questions ({})", late.code),
                "profile questions come before all others".into(),
            );
        }
        for ind in &indicators {
            if !questions
                .iter()
                .any(|q| q.indicator.as_deref() == Some(ind.code.as_str()))
            {
                err(
                    format!("indicators ({})", ind.code),
                    "no question measures this indicator".into(),
                );
            }
        }
        for sub in &subdimensions {
            if !indicators
                .iter()
                .any(|i| i.parent.as_deref() == Some(sub.code.as_str()))
            {
                err(format!("subdimensions ({})", sub.code), "has no indicator".into());
            }
        }
        for dim in &dimensions {
            if !subdimensions
                .iter()
                .any(|s| s.parent.as_deref() == Some(dim.code.as_str()))
            {
                err(format!("dimensions ({})", dim.code), "has no sub-dimension".into());
            }
        }
        assign_pages(&mut questions, &indicator_parent);
        let mut seen_pages: Vec<&str> = Vec::new();
        for q in &questions {
            if seen_pages.last() != Some(&q.page.as_str()) {
                if seen_pages.contains(&q.page.as_str()) {
                    err(
                        format!("questions ({})", q.code),
                        format!("questions of {} are not listed together", q.page),
                    );
                }
                seen_pages.push(&q.page);
            }
        }

        if !errors.is_empty() {
            return Err(QuestionnaireErrors(errors));
        }
        let pages = build_pages(&questions, &subdimensions);
        Ok(Self {
            code: raw.code,
            version: raw.version,
            title: raw.title,
            intro: raw.intro,
            dimension_rule,
            dimensions,
            subdimensions,
            indicators,
            questions,
            pages,
            by_code,
        })
    }

    /// The question with this code.
    pub fn question(&self, code: &str) -> Option<&Question> {
        self.by_code.get(code).map(|&i| &self.questions[i])
    }

    /// The index of the question with this code.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    /// The name of a sub-dimension, or of the profile page.
    fn page_title(subdimensions: &[Node], key: &str) -> Text {
        if key == PROFILE_PAGE {
            return Text::new("Thông tin về anh/chị", "About you");
        }
        subdimensions
            .iter()
            .find(|s| s.code == key)
            .map_or_else(|| Text::new(key, key), |s| s.name.clone())
    }
}

fn check_text(err: &mut impl FnMut(String, String), path: String, vi: &str, en: &str) {
    if vi.trim().is_empty() {
        err(path.clone(), "the Vietnamese text (vi) is missing".into());
    }
    if en.trim().is_empty() {
        err(path, "the English text (en) is missing".into());
    }
}

fn nodes(
    err: &mut impl FnMut(String, String),
    section: &str,
    raw: &[RawNode],
    parents: Option<(&str, &[Node])>,
) -> Vec<Node> {
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, n)| {
            let path = format!("{section}[{i}] ({})", n.code);
            if !is_code(&n.code, &['.']) {
                err(path.clone(), format!("code '{}' must use a–z, 0–9 and '.'", n.code));
            }
            if !seen.insert(n.code.clone()) {
                err(path.clone(), format!("code '{}' is used twice", n.code));
            }
            check_text(err, path.clone(), &n.vi, &n.en);
            match (parents, &n.parent) {
                (None, Some(_)) => err(path.clone(), "a dimension has no parent".into()),
                (Some((key, _)), None) => err(path.clone(), format!("'{key}' is missing")),
                (Some((key, list)), Some(p)) if !list.iter().any(|x| &x.code == p) => {
                    err(path.clone(), format!("{key} '{p}' is not defined"));
                }
                _ => {}
            }
            Node {
                code: n.code.clone(),
                parent: n.parent.clone(),
                name: Text::new(n.vi.trim(), n.en.trim()),
            }
        })
        .collect()
}

/// Profile questions go to the profile page; a scored question to its sub-dimension's page; an unscored one
/// (a screening question, a free text) to the page of the next scored question, or the last page at the end.
fn assign_pages(questions: &mut [Question], indicator_parent: &HashMap<&str, &str>) {
    let mut pending: Vec<usize> = Vec::new();
    let mut last = PROFILE_PAGE.to_owned();
    for i in 0..questions.len() {
        let q = &questions[i];
        let page = if q.profile {
            Some(PROFILE_PAGE.to_owned())
        } else {
            q.indicator
                .as_deref()
                .and_then(|ind| indicator_parent.get(ind))
                .map(|s| (*s).to_owned())
        };
        match page {
            Some(p) => {
                for j in pending.drain(..) {
                    questions[j].page = p.clone();
                }
                questions[i].page = p.clone();
                last = p;
            }
            None => pending.push(i),
        }
    }
    for j in pending {
        questions[j].page = last.clone();
    }
}

fn build_pages(questions: &[Question], subdimensions: &[Node]) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        match pages.last_mut() {
            Some(p) if p.key == q.page => p.questions.push(i),
            _ => pages.push(Page {
                key: q.page.clone(),
                title: Questionnaire::page_title(subdimensions, &q.page),
                questions: vec![i],
            }),
        }
    }
    pages
}

/// The codes a question accepts besides "don't know" and "refused".
fn valid_codes(kind: &QuestionKind) -> Vec<String> {
    match kind {
        QuestionKind::YesNo { .. } => vec![YES.into(), NO.into()],
        QuestionKind::Single { choices } => choices.iter().map(|c| c.code.clone()).collect(),
        QuestionKind::Likert { .. } => (1..=5).map(|v| v.to_string()).collect(),
        QuestionKind::Number { .. } | QuestionKind::Text { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod versions_tests;
