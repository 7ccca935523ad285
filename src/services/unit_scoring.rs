//! Scores waves one commune at a time from the database (issue 17), for the dashboard and the public pages.
//!
//! A commune's respondents are read a page at a time and kept only as their checked values (a few hundred bytes
//! each), scored with their bootstrap, and the result is kept in `unit_score_snapshots` with its basis: the
//! commune's count of counted responses, its latest completion, its latest quality review and when the wave's
//! weights were computed. With `weighted`, each respondent counts with its stored survey weight
//! (`docs/weights.md`; one completed after the weights counts with [`LATE_RESPONSE_WEIGHT`]).
//! The next computation reuses every commune whose basis is unchanged, so new answers in one commune rescore that
//! commune only, and a restarted server or a second instance does not start over. Memory holds one commune's
//! values and everyone's finished scores, whatever the number of responses; the numbers are those of
//! `ykien analyze` on the exported answers (`ykien_analysis::unit_scores` says why, `tests/score_snapshots.rs`
//! checks it).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use ykien_analysis::{Codebook, ScoreOptions, Scores, UnitAnswers, UnitScorer, UnitScores};

use super::Error;
use super::analysis::UnitsTable;
use crate::domain::survey::Wave;
use crate::domain::weights::LATE_RESPONSE_WEIGHT;
use crate::storage::{ExportedAnswer, Store, UnitScoreRow};

/// Responses read from the database per page (about 100 answers each).
const PAGE: i64 = 1_000;

/// Raised when the arithmetic of a commune's scores changes, so that results kept by an older version are
/// computed again.
const SCORING_REVISION: u32 = 1;

/// What to score: waves (oldest first), optionally only responses completed in a span, under one codebook.
pub(super) struct Scoring<'a> {
    pub store: &'a Store,
    pub waves: &'a [Wave],
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The plan period's code, or `""` (names the kept results).
    pub period: &'a str,
    pub codebook: &'a Codebook,
    pub units: &'a UnitsTable,
    pub options: ScoreOptions,
    /// Whether respondents count with the waves' stored weights (when a wave has none, all weigh 1).
    pub weighted: bool,
}

/// One commune's stored units and what its responses are at this moment.
#[derive(Default)]
struct Commune {
    unit_ids: Vec<Uuid>,
    responses: i64,
    last_completed: Option<DateTime<Utc>>,
    last_review: Option<DateTime<Utc>>,
}

impl Commune {
    /// What the commune's scores depend on besides the method; `weights`: when the wave's weights were computed.
    fn basis(&self, weights: Option<DateTime<Utc>>) -> String {
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_micros().to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{}",
            self.responses,
            time(self.last_completed),
            time(self.last_review),
            time(weights)
        )
    }
}

/// How many communes were scored and how many were reused, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Work {
    pub scored: usize,
    pub reused: usize,
}

impl Scoring<'_> {
    /// Every commune's scores in every wave, ranked and grouped.
    pub async fn run(&self) -> Result<(Scores, Work), Error> {
        let method = method_digest(self.codebook, &self.options, self.weighted);
        let scorer = Arc::new(UnitScorer::new(self.codebook, self.options).map_err(unavailable)?);
        let provinces: HashMap<&str, &str> = self
            .units
            .units
            .iter()
            .map(|u| (u.code.as_str(), u.province_code.as_str()))
            .collect();
        let mut results = Vec::new();
        let mut work = Work::default();
        let mut unknown = Vec::new();
        for wave in self.waves {
            let communes = self.communes(wave).await?;
            let weights = match self.weighted {
                true => self.store.wave_weighting(wave.id).await?.map(|w| w.computed_at),
                false => None,
            };
            let mut kept: HashMap<String, UnitScoreRow> = self
                .store
                .unit_score_snapshots(&wave.code, self.period, &method)
                .await?
                .into_iter()
                .map(|row| (row.unit_code.clone(), row))
                .collect();
            for (code, commune) in communes {
                let Some(province) = provinces.get(code.as_str()) else {
                    unknown.push(code);
                    continue;
                };
                let basis = commune.basis(weights);
                if let Some(row) = kept.remove(&code).filter(|row| row.basis == basis) {
                    match serde_json::from_str::<UnitScores>(&row.scores) {
                        Ok(scores) => {
                            results.push(scores);
                            work.reused += 1;
                            continue;
                        }
                        // Written by an older version: scored again below.
                        Err(e) => tracing::warn!(error = %e, unit = %code, "kept commune scores do not read"),
                    }
                }
                let scores = self
                    .score_commune(&scorer, wave, &code, province, &commune, weights.is_some())
                    .await?;
                let row = UnitScoreRow {
                    wave_code: wave.code.clone(),
                    period: self.period.to_owned(),
                    method: method.clone(),
                    unit_code: code.clone(),
                    basis,
                    computed_at: Utc::now(),
                    scores: serde_json::to_string(&scores).map_err(|e| Error::Unavailable(e.to_string()))?,
                };
                // Kept for the next refresh; a failed write only costs scoring this commune again.
                if let Err(e) = self.store.save_unit_score_snapshot(&row).await {
                    tracing::warn!(error = %e, unit = %code, "a commune's computed scores could not be kept");
                }
                results.push(scores);
                work.scored += 1;
            }
        }
        if !unknown.is_empty() {
            unknown.truncate(5);
            return Err(Error::Unavailable(format!(
                "the scores cannot be computed: answers were given for communes the units table lacks: {}",
                unknown.join(", ")
            )));
        }
        let scores = tokio::task::spawn_blocking(move || ykien_analysis::assemble(&results))
            .await
            .map_err(|e| Error::Unavailable(format!("ranking stopped: {e}")))?;
        Ok((scores, work))
    }

    /// The wave's stored units gathered under the communes their answers count for (a legacy commune's under its
    /// successor), with their counts, in commune order.
    async fn communes(&self, wave: &Wave) -> Result<BTreeMap<String, Commune>, Error> {
        let reviews: HashMap<Uuid, Option<DateTime<Utc>>> = self
            .store
            .reviews_per_unit(wave.id)
            .await?
            .into_iter()
            .map(|r| (r.unit_id, r.last_flagged.max(r.last_reviewed)))
            .collect();
        let mut communes: BTreeMap<String, Commune> = BTreeMap::new();
        for unit in self.store.responses_per_unit(wave.id, self.span).await? {
            let code = self.units.lineage.successor(&wave.code, &unit.unit_code).to_owned();
            let commune = communes.entry(code).or_default();
            commune.unit_ids.push(unit.unit_id);
            commune.responses += unit.responses;
            commune.last_completed = commune.last_completed.max(unit.last_completed);
            commune.last_review = commune.last_review.max(reviews.get(&unit.unit_id).copied().flatten());
        }
        Ok(communes)
    }

    /// Reads one commune's respondents a page at a time, in response-id order (the pipeline's), and scores them.
    async fn score_commune(
        &self,
        scorer: &Arc<UnitScorer>,
        wave: &Wave,
        code: &str,
        province: &str,
        commune: &Commune,
        weighted: bool,
    ) -> Result<UnitScores, Error> {
        let mut answers = UnitAnswers::default();
        let mut after = None;
        loop {
            let (page, next) = self
                .store
                .unit_answers_page(wave.id, &commune.unit_ids, self.span, after, PAGE)
                .await?;
            let Some(next) = next else { break };
            after = Some(next);
            let weights = match weighted {
                true => {
                    let mut ids: Vec<Uuid> = page.iter().map(|row| row.0).collect();
                    ids.dedup();
                    self.store.response_weights(wave.id, &ids).await?
                }
                false => HashMap::new(),
            };
            let scorer = scorer.clone();
            answers = blocking(move || {
                add_page(&scorer, &mut answers, &page, &weights);
                answers
            })
            .await?;
        }
        let (scorer, wave, code, province) = (scorer.clone(), wave.code.clone(), code.to_owned(), province.to_owned());
        blocking(move || scorer.score(&wave, &code, &province, &answers))
            .await?
            .map_err(unavailable)
    }
}

/// A digest of what a commune's numbers depend on besides its answers: the codebook, the options and the
/// arithmetic; results kept under another digest are never reused.
pub fn method_digest(codebook: &Codebook, options: &ScoreOptions, weighted: bool) -> String {
    let text = format!(
        "{SCORING_REVISION}\n{weighted}\n{}\n{}",
        serde_json::to_string(codebook).unwrap_or_default(),
        serde_json::to_string(options).unwrap_or_default()
    );
    super::sha256_hex(&text)[..32].to_owned()
}

/// Adds a page's respondents (its rows come grouped by response), each with its weight in `weights` (absent:
/// [`LATE_RESPONSE_WEIGHT`], which is also every respondent's weight when unweighted).
fn add_page(scorer: &UnitScorer, answers: &mut UnitAnswers, page: &[ExportedAnswer], weights: &HashMap<Uuid, f64>) {
    for rows in page.chunk_by(|a, b| a.0 == b.0) {
        let weight = weights.get(&rows[0].0).copied().unwrap_or(LATE_RESPONSE_WEIGHT);
        let pairs = rows
            .iter()
            .map(|(_, _, question, code)| (question.as_str(), code.as_deref().unwrap_or_default()));
        scorer.add(answers, weight, pairs);
    }
}

/// CPU work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Unavailable(format!("scoring stopped: {e}")))
}

fn unavailable(e: ykien_analysis::AnalysisError) -> Error {
    Error::Unavailable(format!("the scores cannot be computed: {e}"))
}
