//! Survey weights stored per wave (issue 16, `docs/weights.md`): `ykien weights compute --wave`, `clear` and
//! `show`, and the weights the scores use.
//!
//! Computing reads the wave's complete responses (their profile answers and commune) from the database, rakes
//! them per province with `ykien_analysis::compute_weights` — the code behind the file form `weights compute
//! --answers`, so both forms give the same weights for the same answers — and stores every response's weight
//! with the wave's [`WaveWeighting`] in one transaction, replacing the previous ones. Anything wrong (the wave,
//! the margins file, the cap, no responses) stops it before anything is written.
//!
//! A response completed after the weights were computed has no stored weight: the scores count it with
//! [`LATE_RESPONSE_WEIGHT`] and say how many there are ([`ScoringWeights::unweighted`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use ykien_analysis::{AnswerRow, Margins, RakeOptions};

use super::analysis::{AnalysisFailure, units_from_store};
use crate::domain::calendar::vn_day;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::survey::Wave;
use crate::domain::weights::{LATE_RESPONSE_WEIGHT, WaveWeighting};
use crate::storage::{Store, StoreError};

/// A margins file as read: its name (without its folder) and its text.
#[derive(Clone, Debug)]
pub struct MarginsFile {
    pub name: String,
    pub text: String,
}

impl MarginsFile {
    /// Reads a margins file (UTF-8).
    pub fn read(path: &Path) -> Result<Self, AnalysisFailure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AnalysisFailure::Input(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(Self { name, text })
    }

    /// Its comment lines, `#` and spaces removed, empty ones left out: where its figures come from.
    pub fn sources(&self) -> Vec<String> {
        self.text
            .trim_start_matches('\u{feff}')
            .lines()
            .filter_map(|l| l.trim().strip_prefix('#'))
            .map(|l| l.trim_start_matches('#').trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// The wave of `code`, or [`AnalysisFailure::WaveNotFound`].
async fn wave(store: &Store, code: &str) -> Result<Wave, AnalysisFailure> {
    match store.wave_by_code(code).await {
        Ok(w) => Ok(w),
        Err(StoreError::NotFound(_)) => Err(AnalysisFailure::WaveNotFound(code.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Every margin names profile questions of the wave's questionnaire, and every cell answer codes they have: a
/// misspelt code would otherwise leave every respondent outside the margin, and the weights silently at 1.
fn check_margins(margins: &Margins, questionnaire: &Questionnaire) -> Result<(), String> {
    for (province, list) in &margins.provinces {
        for margin in list {
            for (i, code) in margin.questions.iter().enumerate() {
                let question = questionnaire.question(code).filter(|q| q.profile).ok_or_else(|| {
                    format!(
                        "province {province}, margin {}: the wave's questionnaire has no profile question {code}",
                        margin.name
                    )
                })?;
                let codes: Vec<String> = question.options().into_iter().map(|o| o.code).collect();
                if codes.is_empty() {
                    return Err(format!(
                        "province {province}, margin {}: {code} has no answer codes to make cells of",
                        margin.name
                    ));
                }
                if let Some((cell, _)) = margin.cells.iter().find(|(cell, _)| !codes.contains(&cell[i])) {
                    return Err(format!(
                        "province {province}, margin {}, cell {}: {code} has no answer {:?} (it has {})",
                        margin.name,
                        cell.join("*"),
                        cell[i],
                        codes.join(", ")
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Rakes the complete responses of the wave `wave_code`, per province, to `margins` with weights at most `cap` ×
/// the mean, and stores them with their summary, replacing the wave's previous weights in one transaction.
/// Nothing is written when anything is wrong.
pub async fn compute_for_wave(
    store: &Store,
    wave_code: &str,
    margins_file: &MarginsFile,
    cap: f64,
) -> Result<WaveWeighting, AnalysisFailure> {
    if !(cap.is_finite() && cap > 1.0) {
        return Err(AnalysisFailure::Input(format!(
            "--cap {cap}: give a number above 1 (e.g. 5)"
        )));
    }
    let margins = Margins::parse_csv(&margins_file.text)
        .map_err(|e| AnalysisFailure::Input(format!("{}: {e}", margins_file.name)))?;
    let wave = wave(store, wave_code).await?;
    let stored = store.questionnaire(wave.questionnaire_id).await?;
    let questionnaire = Questionnaire::parse(&stored.source).map_err(|e| {
        AnalysisFailure::Store(StoreError::Corrupt(format!(
            "stored questionnaire {} v{}: {e}",
            stored.code, stored.version
        )))
    })?;
    check_margins(&margins, &questionnaire)
        .map_err(|e| AnalysisFailure::Input(format!("{}: {e}", margins_file.name)))?;
    let questions = margins.questions();
    let answers = store.profile_answers(wave.id, &questions).await?;
    if answers.is_empty() {
        return Err(AnalysisFailure::Input(format!(
            "wave {wave_code} has no complete response to weight"
        )));
    }
    let units = units_from_store(store, vn_day(Utc::now())).await?;
    let rows: Vec<AnswerRow> = answers
        .into_iter()
        .map(|(id, unit_code, question, answer)| AnswerRow {
            response_id: id.to_string(),
            wave: wave.code.clone(),
            unit_code,
            question: question.unwrap_or_default(),
            answer,
        })
        .collect();
    let mut ids: Vec<&str> = rows.iter().map(|r| r.response_id.as_str()).collect();
    ids.dedup();
    let read = ids.len();
    let options = RakeOptions {
        cap,
        ..RakeOptions::default()
    };
    let computed = tokio::task::spawn_blocking(move || {
        ykien_analysis::compute_weights(&rows, &units.units, &units.lineage, &margins, &options)
    })
    .await
    .map_err(|e| AnalysisFailure::Task(e.to_string()))?;
    if !computed.provinces.iter().any(|(_, p)| p.has_margins) {
        let provinces: Vec<&str> = computed
            .provinces
            .iter()
            .map(|(_, p)| p.province_code.as_str())
            .collect();
        return Err(AnalysisFailure::Input(if provinces.is_empty() {
            format!("no response of wave {wave_code} is in a commune valid today (import the units and their lineage)")
        } else {
            format!(
                "{}: no margins for province {}, where the responses of wave {wave_code} are",
                margins_file.name,
                provinces.join(", ")
            )
        }));
    }
    let weights: Vec<(Uuid, f64)> = computed
        .weights
        .iter()
        .map(|(id, w)| {
            Uuid::parse_str(id)
                .map(|id| (id, *w))
                .map_err(|e| AnalysisFailure::Task(format!("response id {id}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let weighting = WaveWeighting {
        wave_id: wave.id,
        computed_at: Utc::now(),
        cap,
        margins_file: margins_file.name.clone(),
        margins_sha256: super::sha256_hex(&margins_file.text),
        sources: margins_file.sources(),
        respondents: weights.len() as u64,
        left_out: read.saturating_sub(weights.len()) as u64,
        provinces: computed.provinces.into_iter().map(|(_, p)| p).collect(),
    };
    store.replace_wave_weights(&weighting, &weights).await?;
    Ok(weighting)
}

/// Removes the stored weights of the wave `wave_code`; how many there were, `None` when it had none.
pub async fn clear(store: &Store, wave_code: &str) -> Result<Option<u64>, AnalysisFailure> {
    let wave = wave(store, wave_code).await?;
    Ok(store.clear_wave_weights(wave.id).await?)
}

/// A wave's stored weighting and how many of the responses its scores count have no stored weight (all of them
/// when it has no weighting).
#[derive(Clone, Debug)]
pub struct WeightingStatus {
    pub wave: Wave,
    pub weighting: Option<WaveWeighting>,
    pub unweighted: u64,
}

/// The weighting of the wave `wave_code`, for `ykien weights show`.
pub async fn status(store: &Store, wave_code: &str) -> Result<WeightingStatus, AnalysisFailure> {
    let wave = wave(store, wave_code).await?;
    let weighting = store.wave_weighting(wave.id).await?;
    let unweighted = store.unweighted_responses(wave.id).await?;
    Ok(WeightingStatus {
        wave,
        weighting,
        unweighted,
    })
}

/// The weights to score some waves with.
#[derive(Clone, Debug, Default)]
pub struct ScoringWeights {
    /// `(response id, weight)` of every response the scores count, for `ykien_analysis::Weights::Pairs`: the
    /// stored weight, or [`LATE_RESPONSE_WEIGHT`] for a response that has none.
    pub pairs: Vec<(String, f64)>,
    /// The weighting of each weighted wave, by wave code; the other waves' responses all weigh 1.
    pub weightings: BTreeMap<String, WaveWeighting>,
    /// Per weighted wave, the responses counted with [`LATE_RESPONSE_WEIGHT`] because they have no stored weight.
    pub unweighted: BTreeMap<String, u64>,
}

/// The weights of every response the scores of `waves` count (with `completed`, those completed in that span),
/// or `None` when no wave has stored weights (then score without weights). Read it after the answers are read:
/// a response completed in between is then in these pairs and not in the answers, which scoring allows (the
/// other way round it refuses).
pub async fn scoring_weights(
    store: &Store,
    waves: &[Wave],
    completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Option<ScoringWeights>, StoreError> {
    let mut out = ScoringWeights::default();
    let mut weighted_waves: HashMap<Uuid, WaveWeighting> = HashMap::new();
    for wave in waves {
        if let Some(w) = store.wave_weighting(wave.id).await? {
            weighted_waves.insert(wave.id, w);
        }
    }
    if weighted_waves.is_empty() {
        return Ok(None);
    }
    for wave in waves {
        let weighted = weighted_waves.remove(&wave.id);
        let rows = store.scored_response_weights(wave.id, completed).await?;
        let mut unweighted = 0;
        out.pairs.extend(rows.into_iter().map(|(id, weight)| {
            if weight.is_none() {
                unweighted += 1;
            }
            (id.to_string(), weight.unwrap_or(LATE_RESPONSE_WEIGHT))
        }));
        if let Some(w) = weighted {
            out.unweighted.insert(wave.code.clone(), unweighted);
            out.weightings.insert(wave.code.clone(), w);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_are_the_comment_lines() {
        let file = MarginsFile {
            name: "m.csv".into(),
            text: "\u{feff}# Nguồn: Tổng cục Thống kê, 2019\n#\n## bảng 2\nprovince,margin,cell,population\n".into(),
        };
        assert_eq!(file.sources(), ["Nguồn: Tổng cục Thống kê, 2019", "bảng 2"]);
    }

    #[test]
    fn margins_must_name_profile_questions_and_their_codes() {
        let questionnaire = Questionnaire::parse(crate::services::demo::BUNDLED_QUESTIONNAIRE).expect("bundled");
        let check = |text: &str| check_margins(&Margins::parse_csv(text).expect("parses"), &questionnaire);
        let header = "province,margin,cell,population\n";
        assert_eq!(
            check(&format!("{header}33,p_sex*p_age,male*18_29,3\n33,p_education,none,2\n")),
            Ok(())
        );
        let e = check(&format!("{header}33,p_sexx,male,3\n")).expect_err("unknown question");
        assert!(e.contains("no profile question p_sexx"), "{e}");
        let e = check(&format!("{header}33,d1_1_1,1,3\n")).expect_err("not a profile question");
        assert!(e.contains("no profile question d1_1_1"), "{e}");
        let e = check(&format!("{header}33,p_sex*p_age,male*18_30,3\n")).expect_err("unknown code");
        assert!(e.contains("cell male*18_30: p_age has no answer \"18_30\""), "{e}");
    }
}
