//! Scores one (wave, unit) at a time from answers held in memory, for a caller that reads them unit by unit — the
//! server, from its database, so that scoring a province of a million responses holds one commune's answers at a
//! time instead of the whole wave, and a refresh recomputes only the communes with new answers.
//!
//! The arithmetic is the pipeline's: each respondent's rows are checked and walked through the skip logic by
//! [`crate::checks`], the unit is scored with its seeded bootstrap by [`crate::bootstrap`], and
//! [`assemble`] applies the privacy rule, the ranks and the quartile groups over every unit as
//! [`crate::pipeline::score`] does. Given the same respondents in the same order (by response id, as the pipeline
//! sorts them), the same options and the same wave and unit codes, the numbers — intervals included — are the
//! pipeline's to the last bit; `tests/score_snapshots.rs` in the server checks that against `ykien analyze`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::bootstrap::{Bootstrap, Group, GroupStats, Stat, group_seed, score_group};
use crate::checks::{Checker, IgnoredKind, IgnoredRows, RespondentRows, Walk, collect_ignored};
use crate::codebook::{Codebook, Layout};
use crate::pipeline::ScoreOptions;
use crate::respondent_values::NO_CODE_MATCHED;
use crate::scores::{Level, RawScore, Scores, TOTAL_CODE};

/// What scoring one unit needs, built once per codebook and reused for every unit.
pub struct UnitScorer {
    codebook: Codebook,
    layout: Layout,
    checker: Checker,
    /// Question code → its number in the order asked.
    questions: HashMap<String, u16>,
    options: ScoreOptions,
}

/// The answers of one unit's respondents, added one respondent at a time (already checked and walked, so only
/// their values are kept: a few hundred bytes per respondent).
#[derive(Default)]
pub struct UnitAnswers {
    weights: Vec<f64>,
    offsets: Vec<usize>,
    indicators: Vec<u16>,
    values: Vec<f64>,
    /// Ignored rows per (question code, reason).
    ignored: HashMap<(String, IgnoredKind), u64>,
    walk: Walk,
    rows: (Vec<u16>, Vec<u32>, Vec<f64>),
}

/// Every score of one unit in one wave before the privacy rule and the ranks, with the rows its answers had that
/// count for nothing: what a caller keeps per unit and hands to [`assemble`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitScores {
    pub wave: String,
    pub unit_code: String,
    pub province_code: String,
    /// How many respondents were scored.
    pub respondents: usize,
    scores: Vec<RawScore>,
    pub ignored: Vec<IgnoredRows>,
}

impl UnitScorer {
    /// The scorer of a codebook, drawing intervals as `options` says.
    pub fn new(codebook: &Codebook, options: ScoreOptions) -> Result<Self, AnalysisError> {
        codebook.validate()?;
        let questions = codebook
            .asked_questions()
            .iter()
            .enumerate()
            .filter_map(|(i, q)| Some((q.code.clone(), u16::try_from(i).ok()?)))
            .collect();
        Ok(Self {
            codebook: codebook.clone(),
            layout: Layout::new(codebook),
            checker: Checker::new(codebook)?,
            questions,
            options,
        })
    }

    /// Adds one respondent with its weight and its (question code, stored answer) rows, in any order. An empty
    /// answer is no answer; a question the codebook lacks, an answer its question does not take, a second answer
    /// and an answer the skip logic did not ask for are counted in [`UnitScores::ignored`], never scored.
    pub fn add<'a>(&self, unit: &mut UnitAnswers, weight: f64, answers: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let UnitAnswers {
            weights,
            offsets,
            indicators,
            values,
            ignored,
            walk,
            rows: (questions, codes, numbers),
        } = unit;
        questions.clear();
        codes.clear();
        numbers.clear();
        for (question, answer) in answers {
            if answer.is_empty() {
                continue;
            }
            let Some(&q) = self.questions.get(question) else {
                *ignored
                    .entry((question.to_owned(), IgnoredKind::UnknownQuestion))
                    .or_default() += 1;
                continue;
            };
            questions.push(q);
            codes.push(
                self.checker
                    .code_index(usize::from(q), answer)
                    .unwrap_or(NO_CODE_MATCHED),
            );
            // As the pipeline casts the answer column: a number where the text is one, else none.
            numbers.push(answer.parse::<f64>().unwrap_or(f64::NAN));
        }
        if offsets.is_empty() {
            offsets.push(0);
        }
        let checker = &self.checker;
        checker.walk(
            RespondentRows {
                questions,
                codes,
                numbers,
            },
            walk,
            |q, kind, n| *ignored.entry((checker.code(q).to_owned(), kind)).or_default() += n,
            |indicator, value| {
                indicators.push(indicator);
                values.push(value);
            },
        );
        offsets.push(indicators.len());
        weights.push(weight);
    }

    /// Scores the unit: every level with its respondent counts and, unless the options say 0 replicates, its
    /// bootstrap interval, seeded from the options' seed, the wave and the unit as the pipeline seeds it.
    pub fn score(
        &self,
        wave: &str,
        unit_code: &str,
        province_code: &str,
        answers: &UnitAnswers,
    ) -> Result<UnitScores, AnalysisError> {
        let offsets = if answers.offsets.is_empty() {
            &[0][..]
        } else {
            &answers.offsets[..]
        };
        let group = Group {
            weights: &answers.weights,
            offsets,
            indicators: &answers.indicators,
            values: &answers.values,
        };
        let bootstrap = Bootstrap {
            replicates: self.options.replicates,
            confidence: self.options.confidence,
            seed: group_seed(self.options.seed, wave, unit_code),
        };
        let stats = score_group(&self.layout, &group, bootstrap)?;
        let ignored = answers
            .ignored
            .iter()
            .map(|((question, kind), &n)| ((wave.to_owned(), question.clone(), *kind), n))
            .collect();
        Ok(UnitScores {
            wave: wave.to_owned(),
            unit_code: unit_code.to_owned(),
            province_code: province_code.to_owned(),
            respondents: answers.weights.len(),
            scores: raw_scores(&self.codebook, wave, unit_code, province_code, &stats),
            ignored: collect_ignored(ignored),
        })
    }
}

impl UnitAnswers {
    /// The respondents added so far.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

/// One unit's scores in the published order (total, dimensions, sub-dimensions, indicators, each in codebook
/// order), levels without a value left out.
pub(crate) fn raw_scores(
    codebook: &Codebook,
    wave: &str,
    unit_code: &str,
    province_code: &str,
    stats: &GroupStats,
) -> Vec<RawScore> {
    let mut raw = Vec::new();
    let mut push = |level: Level, code: &str, stat: &Stat| {
        if let Some(score) = stat.score {
            raw.push(RawScore {
                wave: wave.to_owned(),
                unit_code: unit_code.to_owned(),
                province_code: province_code.to_owned(),
                level,
                code: code.to_owned(),
                score,
                n: stat.n,
                ci: stat.ci,
            });
        }
    };
    push(Level::Total, TOTAL_CODE, &stats.total);
    for (d, stat) in codebook.dimensions.iter().zip(&stats.dimensions) {
        push(Level::Dimension, &d.code, stat);
    }
    for (s, stat) in codebook.subdimensions.iter().zip(&stats.subdimensions) {
        push(Level::Subdimension, &s.code, stat);
    }
    for (i, stat) in codebook.indicators.iter().zip(&stats.indicators) {
        push(Level::Indicator, &i.code, stat);
    }
    raw
}

/// The scores of every unit together: the privacy rule, ranks and quartile groups within each province, cut
/// points, and the ignored rows summed — what [`crate::pipeline::score`] gives for the same answers.
pub fn assemble<'a>(units: impl IntoIterator<Item = &'a UnitScores>) -> Scores {
    let mut units: Vec<&UnitScores> = units.into_iter().collect();
    // The pipeline's order: by wave code, then unit code.
    units.sort_by(|a, b| (&a.wave, &a.unit_code).cmp(&(&b.wave, &b.unit_code)));
    let mut ignored: HashMap<(String, String, IgnoredKind), u64> = HashMap::new();
    let mut raw = Vec::new();
    for u in units {
        raw.extend(u.scores.iter().cloned());
        for i in &u.ignored {
            *ignored.entry((i.wave.clone(), i.question.clone(), i.kind)).or_default() += i.rows;
        }
    }
    let mut scores = Scores::from_raw(raw);
    scores.ignored = collect_ignored(ignored);
    scores
}
