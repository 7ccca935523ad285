//! Questionnaire versions side by side (issue 23): importing a version with the code map from an earlier one,
//! refusing a version that reuses a code with another meaning, and comparing a wave with the previous wave when
//! the two were asked on different questionnaires — on what both measure only.

use std::collections::HashSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use ykien_analysis::Codebook;

use super::Error;
use super::analysis::codebook;
use super::survey::Surveys;
use crate::domain::questionnaire::{
    CodeMap, Comparable, DimensionRule, Questionnaire, QuestionnaireErrors, check_succession,
};
use crate::domain::survey::Wave;
use crate::storage::{QuestionnaireImport, Store, StoreError};

/// Parses a questionnaire version and stores it, with the code map from an earlier version when one is given.
///
/// Refused, with every problem listed, when the version reuses a code of the version before it (the highest
/// lower version of the same questionnaire, or the map's `from`) with another type or parent, or — without a map
/// — with another wording; and when the map does not cover every code of both versions.
pub async fn import_questionnaire(
    store: &Store,
    text: &str,
    map: Option<&str>,
) -> Result<(Questionnaire, QuestionnaireImport), Error> {
    let q = Questionnaire::parse(text).map_err(Error::InvalidQuestionnaire)?;
    let mut problems: Vec<String> = Vec::new();
    let mut checked_against: Option<(String, i64)> = None;
    let mut map_from_id = None;
    if let Some(map_text) = map {
        let ((from_code, from_version), to) = CodeMap::versions(map_text).map_err(Error::InvalidQuestionnaire)?;
        if to != (q.code.clone(), q.version) {
            problems.push(format!(
                "code map: it maps to {}:{}, but the file is {}:{}",
                to.0, to.1, q.code, q.version
            ));
        }
        match store.questionnaire_by_code(&from_code, Some(from_version)).await {
            Ok(stored) => {
                let from = parse_stored(&stored.source, &stored.code, stored.version)?;
                match CodeMap::parse(map_text, &from, &q) {
                    Ok(parsed) => {
                        if let Err(e) = check_succession(&from, &q, Some(&parsed)) {
                            problems.extend(e.0);
                        }
                    }
                    Err(e) => problems.extend(e.0),
                }
                checked_against = Some((from_code, from_version));
                map_from_id = Some(stored.id);
            }
            Err(StoreError::NotFound(_)) => problems.push(format!(
                "code map: {from_code} version {from_version} is not imported; import it first"
            )),
            Err(e) => return Err(e.into()),
        }
    }
    // The version before this one of the same questionnaire, unless the map already compared it.
    for version in (1..q.version).rev() {
        match store.questionnaire_by_code(&q.code, Some(version)).await {
            Ok(stored) => {
                if checked_against.as_ref() != Some(&(stored.code.clone(), stored.version)) {
                    let previous = parse_stored(&stored.source, &stored.code, stored.version)?;
                    if let Err(e) = check_succession(&previous, &q, None) {
                        problems.extend(e.0);
                    }
                }
                break;
            }
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidQuestionnaire(QuestionnaireErrors(problems)));
    }
    let checksum = hex::encode(Sha256::digest(text.as_bytes()));
    let outcome = match store.import_questionnaire(&q.code, q.version, text, &checksum).await {
        Ok(outcome) => outcome,
        Err(StoreError::Rejected { reason, .. }) => return Err(Error::Conflict(reason)),
        Err(e) => return Err(e.into()),
    };
    if let (Some(map_text), Some(from_id)) = (map, map_from_id) {
        let to_id = match outcome {
            QuestionnaireImport::Created(id)
            | QuestionnaireImport::Unchanged(id)
            | QuestionnaireImport::Updated(id) => id,
        };
        store.store_code_map(from_id, to_id, map_text).await?;
    }
    Ok((q, outcome))
}

/// The questionnaire's dimension rule in the analysis crate's terms.
pub fn analysis_rule(rule: DimensionRule) -> ykien_analysis::DimensionRule {
    match rule {
        DimensionRule::Any => ykien_analysis::DimensionRule::Any,
        DimensionRule::All => ykien_analysis::DimensionRule::All,
        DimensionRule::AtLeast(n) => ykien_analysis::DimensionRule::AtLeast(n),
    }
}

fn parse_stored(source: &str, code: &str, version: i64) -> Result<Questionnaire, Error> {
    Questionnaire::parse(source).map_err(|e| {
        Error::Store(StoreError::Corrupt(format!(
            "stored questionnaire {code} v{version}: {e}"
        )))
    })
}

/// A comparison of a wave with the previous wave asked on another questionnaire version.
#[derive(Clone, Debug)]
pub struct CrossVersionPlan {
    /// The previous wave (on `from`).
    pub previous: Wave,
    /// `code:version` of the previous wave's questionnaire.
    pub from: String,
    /// The codebook both waves are scored with: the newer version's, kept to what both measure.
    pub codebook: Codebook,
    /// Indicators compared, and indicators of the newer version left out (new or measured differently).
    pub compared: usize,
    pub left_out: Vec<String>,
    /// Sub-dimensions of the newer version with nothing left to compare.
    pub subdimensions_left_out: Vec<String>,
}

/// When the wave opened just before `wave` was asked on another questionnaire version and a code map from that
/// version to `wave`'s was imported, the plan to compare them on what both measure.
pub async fn cross_version_plan(
    store: &Store,
    surveys: &Arc<Surveys>,
    wave: &Wave,
    questionnaire: &Questionnaire,
) -> Result<Option<CrossVersionPlan>, Error> {
    let previous = store
        .waves()
        .await?
        .into_iter()
        .filter(|w| w.id != wave.id && w.opens_at < wave.opens_at)
        .max_by_key(|w| (w.opens_at, w.code.clone()));
    let Some(previous) = previous else {
        return Ok(None);
    };
    if previous.questionnaire_id == wave.questionnaire_id {
        return Ok(None);
    }
    let Some(map_text) = store.code_map(previous.questionnaire_id, wave.questionnaire_id).await? else {
        return Ok(None);
    };
    let from = surveys.questionnaire(previous.questionnaire_id).await?;
    let map = CodeMap::parse(&map_text, &from, questionnaire).map_err(|e| {
        Error::Store(StoreError::Corrupt(format!(
            "stored code map to {}: {e}",
            questionnaire.code
        )))
    })?;
    let comparable = map.comparable(&from, questionnaire);
    let full = codebook(questionnaire).map_err(|e| Error::Unavailable(e.to_string()))?;
    let kept = restrict(&full, &comparable);
    let left_out = full
        .indicators
        .iter()
        .filter(|i| !comparable.indicators.contains(&i.code))
        .map(|i| i.code.clone())
        .collect();
    let subdimensions_left_out = full
        .subdimensions
        .iter()
        .filter(|s| kept.subdimension(&s.code).is_none())
        .map(|s| s.code.clone())
        .collect();
    Ok(Some(CrossVersionPlan {
        previous,
        from: format!("{}:{}", from.code, from.version),
        compared: kept.indicators.len(),
        codebook: kept,
        left_out,
        subdimensions_left_out,
    }))
}

/// `full` kept to the comparable questions and indicators, and the sub-dimensions and dimensions left with any.
pub fn restrict(full: &Codebook, comparable: &Comparable) -> Codebook {
    let indicators: Vec<_> = full
        .indicators
        .iter()
        .filter(|i| comparable.indicators.contains(&i.code))
        .cloned()
        .collect();
    let subs: HashSet<&str> = indicators.iter().map(|i| i.subdimension.as_str()).collect();
    let subdimensions: Vec<_> = full
        .subdimensions
        .iter()
        .filter(|s| subs.contains(s.code.as_str()))
        .cloned()
        .collect();
    let dims: HashSet<&str> = subdimensions.iter().map(|s| s.dimension.as_str()).collect();
    let dimensions = full
        .dimensions
        .iter()
        .filter(|d| dims.contains(d.code.as_str()))
        .cloned()
        .collect();
    let kept_indicators: HashSet<&str> = indicators.iter().map(|i| i.code.as_str()).collect();
    let questions = full
        .questions
        .iter()
        .filter(|q| kept_indicators.contains(q.indicator.as_str()) && comparable.questions.contains(&q.code))
        .cloned()
        .collect();
    let asked = full
        .asked
        .iter()
        .filter(|q| comparable.questions.contains(&q.code))
        .cloned()
        .collect();
    Codebook {
        dimensions,
        subdimensions,
        indicators,
        questions,
        asked,
    }
}
