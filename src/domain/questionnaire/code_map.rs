//! Code maps between questionnaire versions (`docs/questionnaire.md`, "Code maps"), and the rule that a new version
//! never reuses a code of the one before it with another type or meaning.
//!
//! A code map says, for every code (dimension, sub-dimension, indicator, question) of two versions, whether it is
//! the same in both, dropped, new, or changed (old codes replaced by new ones). It is what lets a leader compare a
//! wave with one on another version: only what both measure is compared ([`CodeMap::comparable`]).

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::{Question, QuestionKind, Questionnaire, QuestionnaireErrors};

/// Old codes replaced by new ones because the construct is measured differently now.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeMapChange {
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// Why: shown in the documentation and next to a comparison.
    pub why: String,
}

/// A questionnaire version by `(code, version)`, as a code map names it (`papi-2025:1`).
pub type VersionRef = (String, i64);

/// A validated code map from one questionnaire version to another.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeMap {
    /// `(code, version)` of the older questionnaire.
    pub from: VersionRef,
    /// `(code, version)` of the newer questionnaire.
    pub to: VersionRef,
    pub same: Vec<String>,
    pub dropped: Vec<String>,
    pub new: Vec<String>,
    pub changed: Vec<CodeMapChange>,
}

/// What two versions both measure: the questions and indicators a cross-version comparison keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparable {
    pub questions: HashSet<String>,
    pub indicators: HashSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodeMap {
    from: String,
    to: String,
    #[serde(default)]
    same: Vec<String>,
    #[serde(default)]
    dropped: Vec<String>,
    #[serde(default)]
    new: Vec<String>,
    #[serde(default)]
    changed: Vec<RawChange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChange {
    from: Vec<String>,
    to: Vec<String>,
    why: String,
}

/// `papi-2025:1` → (`papi-2025`, 1).
fn version_ref(s: &str) -> Option<VersionRef> {
    let (code, version) = s.split_once(':')?;
    Some((code.to_owned(), version.parse().ok()?))
}

/// Every code of a version with what it is: its kind, its parent and its answers. Two versions may share a code
/// only when this is equal.
fn signatures(q: &Questionnaire) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for d in &q.dimensions {
        out.insert(d.code.clone(), ("dimension".to_owned(), d.name.vi.clone()));
    }
    for (list, kind) in [(&q.subdimensions, "sub-dimension"), (&q.indicators, "indicator")] {
        for n in list {
            let parent = n.parent.clone().unwrap_or_default();
            out.insert(n.code.clone(), (format!("{kind} of {parent}"), n.name.vi.clone()));
        }
    }
    for question in &q.questions {
        out.insert(
            question.code.clone(),
            (question_signature(question), question.text.vi.clone()),
        );
    }
    out
}

fn question_signature(q: &Question) -> String {
    let kind = match &q.kind {
        QuestionKind::YesNo { yes_is_good } => format!("yes_no (good: {yes_is_good:?})"),
        QuestionKind::Single { choices } => format!(
            "single [{}]",
            choices
                .iter()
                .map(|c| match c.value {
                    Some(v) => format!("{} = {v}", c.code),
                    None => c.code.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        QuestionKind::Likert { high_is_good, .. } => format!("likert (high is good: {high_is_good:?})"),
        QuestionKind::Number {
            min, max, good, bad, ..
        } => {
            format!("number {min}–{max} (good {good:?}, bad {bad:?})")
        }
        QuestionKind::Text { .. } => "text".to_owned(),
    };
    match (&q.indicator, q.profile) {
        (_, true) => format!("profile {kind}"),
        (Some(i), _) => format!("{kind} measuring {i}"),
        (None, _) => format!("unscored {kind}"),
    }
}

impl CodeMap {
    /// The two versions a code map names, `from` then `to`, read before the versions themselves are loaded.
    pub fn versions(text: &str) -> Result<(VersionRef, VersionRef), QuestionnaireErrors> {
        let raw: RawCodeMap = toml::from_str(text).map_err(|e| {
            QuestionnaireErrors(vec![format!(
                "code map: {}",
                e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
            )])
        })?;
        match (version_ref(&raw.from), version_ref(&raw.to)) {
            (Some(from), Some(to)) => Ok((from, to)),
            _ => Err(QuestionnaireErrors(vec![format!(
                "code map: from and to name versions as CODE:VERSION, not '{}' and '{}'",
                raw.from, raw.to
            )])),
        }
    }

    /// Parses a code map and checks it against the two versions it names: it covers every code of both, each
    /// once, and a code in `same` has the same type and parent in both. Every problem is listed.
    pub fn parse(text: &str, from: &Questionnaire, to: &Questionnaire) -> Result<Self, QuestionnaireErrors> {
        let raw: RawCodeMap = toml::from_str(text).map_err(|e| {
            QuestionnaireErrors(vec![format!(
                "code map: {}",
                e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
            )])
        })?;
        let mut errors = Vec::new();
        let expect = |name: &str, value: &str, q: &Questionnaire, errors: &mut Vec<String>| match version_ref(value) {
            Some((code, version)) if code == q.code && version == q.version => {}
            _ => errors.push(format!(
                "code map.{name}: '{value}' should be '{}:{}'",
                q.code, q.version
            )),
        };
        expect("from", &raw.from, from, &mut errors);
        expect("to", &raw.to, to, &mut errors);

        let old = signatures(from);
        let new = signatures(to);
        // Where the map places each code of each side.
        let mut old_places: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut new_places: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for c in &raw.same {
            old_places.entry(c).or_default().push("same");
            new_places.entry(c).or_default().push("same");
        }
        for c in &raw.dropped {
            old_places.entry(c).or_default().push("dropped");
        }
        for c in &raw.new {
            new_places.entry(c).or_default().push("new");
        }
        for (i, ch) in raw.changed.iter().enumerate() {
            if ch.from.is_empty() || ch.to.is_empty() || ch.why.trim().is_empty() {
                errors.push(format!(
                    "code map.changed[{i}]: names old codes (from), new codes (to) and why"
                ));
            }
            for c in &ch.from {
                old_places.entry(c).or_default().push("changed.from");
            }
            for c in &ch.to {
                new_places.entry(c).or_default().push("changed.to");
            }
        }
        for (side, sigs, places, q) in [("from", &old, &old_places, from), ("to", &new, &new_places, to)] {
            for code in sigs.keys() {
                match places.get(code.as_str()).map(Vec::len).unwrap_or(0) {
                    0 => errors.push(format!(
                        "code map: '{code}' of {} version {} is not in the map",
                        q.code, q.version
                    )),
                    1 => {}
                    _ => errors.push(format!(
                        "code map: '{code}' is placed more than once ({})",
                        places[code.as_str()].join(", ")
                    )),
                }
            }
            for (code, where_) in places {
                if !sigs.contains_key(*code) {
                    errors.push(format!(
                        "code map ({side} side, {}): '{code}' is not a code of {} version {}",
                        where_.join(", "),
                        q.code,
                        q.version
                    ));
                }
            }
        }
        for code in old.keys().filter(|c| new.contains_key(*c)) {
            if !raw.same.iter().any(|s| s == code) {
                errors.push(format!(
                    "code map: '{code}' is in both versions, so it is the same item and belongs in `same`; \
                     a changed item takes a new code"
                ));
            }
        }
        for code in &raw.same {
            if let (Some(a), Some(b)) = (old.get(code), new.get(code))
                && a.0 != b.0
            {
                errors.push(format!(
                    "code map: '{code}' is in `same` but was {} and is now {}; give the new item a new code",
                    a.0, b.0
                ));
            }
        }
        if !errors.is_empty() {
            return Err(QuestionnaireErrors(errors));
        }
        Ok(Self {
            from: (from.code.clone(), from.version),
            to: (to.code.clone(), to.version),
            same: raw.same,
            dropped: raw.dropped,
            new: raw.new,
            changed: raw
                .changed
                .into_iter()
                .map(|c| CodeMapChange {
                    from: c.from,
                    to: c.to,
                    why: c.why.trim().to_owned(),
                })
                .collect(),
        })
    }

    /// What `from` and `to` (the versions this map was checked against) both measure: the questions in `same`
    /// whose skip logic looks only at kept questions, and the indicators in `same` all of whose questions, in both
    /// versions, are kept. Scoring both waves on just these gives comparable numbers at every level.
    pub fn comparable(&self, from: &Questionnaire, to: &Questionnaire) -> Comparable {
        let same: HashSet<&str> = self.same.iter().map(String::as_str).collect();
        // A question is kept when, in each version, it is `same` and its conditions look only at kept questions.
        let kept_in = |version: &Questionnaire| {
            let mut kept: HashSet<String> = HashSet::new();
            for q in &version.questions {
                if same.contains(q.code.as_str()) && q.when.iter().all(|c| kept.contains(c.question())) {
                    kept.insert(q.code.clone());
                }
            }
            kept
        };
        let in_from = kept_in(from);
        let questions: HashSet<String> = kept_in(to).into_iter().filter(|c| in_from.contains(c)).collect();
        let indicators = to
            .indicators
            .iter()
            .filter(|i| same.contains(i.code.as_str()))
            .filter(|i| {
                [from, to].iter().all(|version| {
                    let mut measuring = version
                        .questions
                        .iter()
                        .filter(|q| q.indicator.as_deref() == Some(i.code.as_str()))
                        .peekable();
                    measuring.peek().is_some() && measuring.all(|q| questions.contains(&q.code))
                })
            })
            .map(|i| i.code.clone())
            .collect();
        Comparable { questions, indicators }
    }
}

/// Refuses `new` when it reuses a code of `old` with another type or meaning. A code both versions have must
/// keep its kind, parent and answers; without a code map it must also keep its wording (a map listing it in
/// `same` says a rewording kept the meaning).
pub fn check_succession(
    old: &Questionnaire,
    new: &Questionnaire,
    map: Option<&CodeMap>,
) -> Result<(), QuestionnaireErrors> {
    let old_sigs = signatures(old);
    let mut errors = Vec::new();
    for (code, (kind, text)) in signatures(new) {
        let Some((old_kind, old_text)) = old_sigs.get(&code) else {
            continue;
        };
        if *old_kind != kind {
            errors.push(format!(
                "'{code}' was {old_kind} in {} version {} and is {kind} here: a code keeps its meaning, give the \
                 new item a new code",
                old.code, old.version
            ));
        } else if *old_text != text && map.is_none() {
            errors.push(format!(
                "'{code}' is worded differently from {} version {}: give it a new code, or import a code map \
                 (--map) that lists it in `same` if the meaning did not change",
                old.code, old.version
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(QuestionnaireErrors(errors))
    }
}
