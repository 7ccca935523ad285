//! Synthetic answers from a codebook, with differences planted on purpose: what `ykien simulate` writes for the
//! tests, the demo and the benchmarks.
//!
//! The model is small and says exactly what a planted difference means. Every unit `u` gets a level `b_u`
//! (uniform in 0.35–0.75) and, per dimension `d`, a small effect `e_ud` (uniform in ±0.08), both from the seed.
//! A respondent of `u` has, per dimension, a propensity `p = b_u + e_ud + δ_ud / 9 + ε` (ε uniform in ±0.15 per
//! respondent and dimension), clamped to [0, 1], where `δ_ud` is the planted delta in dimension points. Each of the
//! respondent's answers to a question of that dimension is drawn so that its value has expectation `p`:
//!
//! | rule | answer |
//! |---|---|
//! | yes/no | the good code with probability `p` |
//! | Likert with `k` points | 1 + Binomial(k − 1, p) points from the bad end |
//! | number | `bad + Binomial(m, p) / m × (good − bad)`, with `m` = \|good − bad\| when that is a whole number from 1 to 20 (whole answers), else 10 |
//! | choice | one of the two listed values around `p`, mixed to have mean `p` (`p` is clamped to the listed values' range) |
//!
//! so a unit's expected dimension score is about `1 + 9 × (b_u + e_ud) + δ_ud`: a plant `11953:d3:-2` lowers
//! commune 11953's expected score on d3 by 2 points on PAPI's 1–10 scale (less where the clamp bites; number
//! answers are then rounded to whole numbers within the question's bounds, as the survey takes them).
//!
//! Every respondent goes through the questionnaire as a citizen would: the profile questions first (each of its
//! codes equally likely), then every question in the order asked, through its skip logic
//! ([`crate::eligibility`], the rule the survey asks by): a question whose conditions do not hold gets no row, and
//! a screening question (unscored) is answered with each of its codes equally likely, so about half of the
//! respondents open a yes/no block. Free-text questions are answered "Không trả lời" (`RF`). Any other question
//! is answered "don't know" or "refused" (half each) with probability [`SimulateOptions::dont_know`]. With the
//! defaults every response is complete, so `POST /api/v1/waves/{wave}/responses` accepts it as it is;
//! [`SimulateOptions::skipped`] (asked questions left unanswered) and [`SimulateOptions::not_eligible`] (answers
//! to questions that were not asked) make the broken files scoring must cope with.
//!
//! Responses are spread evenly over the units in the order given (the first `N mod units` get one more), and every
//! respondent's answers come from a generator seeded by (seed, unit position, respondent number): the same
//! options give the same rows, byte for byte, and a unit's answers do not change when another unit is planted.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codebook::{Accepts, Codebook, DONT_KNOW, REFUSED};
use crate::eligibility::{Condition, Given};
use crate::indicator::{NO_CODE, ValueRule, YES_CODE};
use crate::input::{ANSWER_COLUMNS, AnswerRow, Unit};

/// A difference planted in one unit's answers on one dimension, parsed from `UNIT:DIMENSION:DELTA`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plant {
    /// The unit's code, as in the units table.
    pub unit_code: String,
    /// The dimension: its code (`d3`) or its PAPI number (`3`).
    pub dimension: String,
    /// The shift of the unit's expected dimension score, in points of the 1–10 scale (negative: weaker).
    pub delta: f64,
}

impl FromStr for Plant {
    type Err = SimulateError;

    /// Reads `UNIT:DIMENSION:DELTA`, e.g. `11953:d3:-2` or `11953:3:-2.5`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || SimulateError::BadPlant(text.to_owned());
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let [unit, dimension, delta] = parts.as_slice() else {
            return Err(bad());
        };
        let delta: f64 = delta.parse().map_err(|_| bad())?;
        if unit.is_empty() || dimension.is_empty() || !delta.is_finite() || delta.abs() > 9.0 {
            return Err(bad());
        }
        Ok(Self {
            unit_code: (*unit).to_owned(),
            dimension: (*dimension).to_owned(),
            delta,
        })
    }
}

impl fmt::Display for Plant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.unit_code, self.dimension, self.delta)
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateOptions {
    /// The wave code written on every row.
    pub wave: String,
    /// Responses in all, spread evenly over the units.
    pub responses: usize,
    /// The seed of every random draw.
    pub seed: u64,
    /// Planted differences.
    pub plants: Vec<Plant>,
    /// The share of questions answered "don't know" or "refused", 0–1 (never on profile questions, which do not
    /// offer them).
    pub dont_know: f64,
    /// The share of asked questions left without an answer (no row), 0–1. Such a response is incomplete: keep 0
    /// for files the API must accept as they are.
    pub skipped: f64,
    /// The share of questions the skip logic did not ask that get an answer anyway, 0–1: what a broken
    /// data-entry system writes, to test that scoring ignores them. 0 for real-looking answers.
    #[serde(default)]
    pub not_eligible: f64,
    /// A split questionnaire: each respondent is asked the scored questions of only this many sub-dimensions,
    /// drawn for them (unscored questions of everyone); `None` asks everything.
    #[serde(default)]
    pub modules_per_respondent: Option<usize>,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        Self {
            wave: "2025".to_owned(),
            responses: 1000,
            seed: 1,
            plants: Vec::new(),
            dont_know: 0.05,
            skipped: 0.0,
            not_eligible: 0.0,
            modules_per_respondent: None,
        }
    }
}

/// Why answers could not be simulated or written.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// A `--plant` argument is not `UNIT:DIMENSION:DELTA` with a delta between −9 and 9.
    #[error("{0:?} is not UNIT:DIMENSION:DELTA (e.g. 11953:d3:-2, the delta in points of the 1–10 scale)")]
    BadPlant(String),
    /// A plant names a unit the units table does not have.
    #[error("the plant names unit {0:?}, which is not among the simulated units")]
    UnknownUnit(String),
    /// A plant names a dimension the codebook does not have.
    #[error("the plant names dimension {0:?}, which the codebook does not have (give its code, e.g. d3, or number)")]
    UnknownDimension(String),
    /// No units to simulate, a share outside 0–1, or an invalid codebook.
    #[error("cannot simulate: {0}")]
    Invalid(String),
    /// Writing the rows failed.
    #[error("cannot write the simulated answers to {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What failed.
        source: io::Error,
    },
    /// Writing Parquet failed.
    #[error("cannot write the simulated answers as Parquet: {0}")]
    Parquet(#[from] PolarsError),
}

/// One simulated answer row, borrowed from the generator (see [`simulate_each`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedAnswer<'a> {
    /// The response id, unique over the run.
    pub response_id: &'a str,
    /// The wave.
    pub wave: &'a str,
    /// The unit's code.
    pub unit_code: &'a str,
    /// The question's code.
    pub question: &'a str,
    /// The stored answer.
    pub answer: &'a str,
}

/// Calls `each` for every simulated answer row, in order (unit, respondent, question), without holding them: the
/// way to write 100 million rows. Returns the number of rows.
pub fn simulate_each<E>(
    codebook: &Codebook,
    units: &[Unit],
    options: &SimulateOptions,
    mut each: impl FnMut(SimulatedAnswer<'_>) -> Result<(), E>,
) -> Result<Result<u64, E>, SimulateError> {
    let plan = Plan::new(codebook, units, options)?;
    let mut rows = 0u64;
    let mut response_id = String::new();
    // Per question, the respondent's drawn answer and whether it was given (asked, answered).
    let mut answers: Vec<String> = vec![String::new(); plan.questions.len()];
    let mut given: Vec<bool> = vec![false; plan.questions.len()];
    for (u, unit) in units.iter().enumerate() {
        let count = options.responses / units.len() + usize::from(u < options.responses % units.len());
        for r in 0..count {
            response_id.clear();
            use fmt::Write as _;
            let _ = write!(response_id, "sim-{}-{}-{r}", options.wave, unit.code);
            let mut rng = SplitMix(mix(mix(options.seed, u as u64), r as u64));
            let propensities: Vec<f64> = plan
                .unit_levels(u)
                .iter()
                .map(|level| (level + (rng.unit() - 0.5) * 0.3).clamp(0.0, 1.0))
                .collect();
            // The respondent's modules, from a stream of their own so that the answers' draws stay as they are.
            let drawn = options.modules_per_respondent.map(|k| {
                let mut order: Vec<usize> = (0..plan.modules).collect();
                let mut modules_rng = SplitMix(mix(mix(mix(options.seed, u as u64), r as u64), 0x5EED));
                for j in 0..k {
                    let pick =
                        j + ((modules_rng.unit() * (plan.modules - j) as f64) as usize).min(plan.modules - j - 1);
                    order.swap(j, pick);
                }
                let mut drawn = vec![false; plan.modules];
                for &m in &order[..k] {
                    drawn[m] = true;
                }
                drawn
            });
            for (i, q) in plan.questions.iter().enumerate() {
                // Every draw always happens, so one question's outcome never shifts another's.
                let (skip_draw, dk_draw, extra_draw) = (rng.unit(), rng.unit(), rng.unit());
                let mut answer = std::mem::take(&mut answers[i]);
                match &q.scored {
                    Some((dimension, rule)) => {
                        draw_answer(&mut rng, rule, propensities[*dimension], &mut answer);
                    }
                    None => draw_unscored(&mut rng, &q.accepts, &mut answer),
                }
                if let Accepts::Number { min, max } = q.accepts
                    && min.is_finite()
                    && max.is_finite()
                {
                    // A questionnaire's number questions take whole numbers within their bounds, as the survey does.
                    if let Ok(x) = answer.parse::<f64>() {
                        answer = x.round().clamp(min, max).to_string();
                    }
                }
                let eligible = q.when.iter().all(|(earlier, condition)| {
                    condition.holds(
                        given[*earlier]
                            .then(|| given_of(&plan.questions[*earlier].accepts, &answers[*earlier]))
                            .flatten(),
                    )
                });
                given[i] = false;
                let asked = match (&drawn, q.module) {
                    (Some(drawn), Some(m)) => drawn[m],
                    _ => true,
                };
                let emit = if !asked {
                    // Not drawn for this respondent: never asked, so no answer at all.
                    false
                } else if !eligible {
                    // Off by default: a broken data-entry system's answer to a question nobody asked.
                    extra_draw < options.not_eligible
                } else if skip_draw < options.skipped {
                    false
                } else {
                    if q.dont_know && dk_draw < options.dont_know {
                        answer.clear();
                        answer.push_str(if dk_draw < options.dont_know / 2.0 {
                            DONT_KNOW
                        } else {
                            REFUSED
                        });
                    }
                    given[i] = true;
                    true
                };
                answers[i] = answer;
                if !emit {
                    continue;
                }
                if let Err(e) = each(SimulatedAnswer {
                    response_id: &response_id,
                    wave: &options.wave,
                    unit_code: &unit.code,
                    question: &q.code,
                    answer: &answers[i],
                }) {
                    return Ok(Err(e));
                }
                rows += 1;
            }
        }
    }
    Ok(Ok(rows))
}

/// What a given answer says to a skip-logic condition (nothing for "don't know", "refused" and free text).
fn given_of<'a>(accepts: &Accepts, answer: &'a str) -> Option<Given<'a>> {
    if answer == DONT_KNOW || answer == REFUSED {
        return None;
    }
    match accepts {
        Accepts::Codes(_) => Some(Given::Code(answer)),
        Accepts::Number { .. } => answer.parse::<f64>().ok().map(Given::Number),
        Accepts::Text => None,
    }
}

/// An answer to a question that is not scored: a profile or screening question (one of its codes, uniformly), a
/// number within its bounds, or free text ("Không trả lời": simulated respondents write none).
fn draw_unscored(rng: &mut SplitMix, accepts: &Accepts, buffer: &mut String) {
    buffer.clear();
    match accepts {
        Accepts::Codes(codes) => {
            let k = ((rng.unit() * codes.len() as f64) as usize).min(codes.len().saturating_sub(1));
            buffer.push_str(codes.get(k).map_or(DONT_KNOW, String::as_str));
        }
        Accepts::Number { min, max } => {
            let (low, high) = if min.is_finite() && max.is_finite() {
                (*min, *max)
            } else {
                (0.0, 10.0)
            };
            let x = (low + rng.unit() * (high - low + 1.0)).floor().min(high);
            use fmt::Write as _;
            let _ = write!(buffer, "{x}");
        }
        Accepts::Text => buffer.push_str(REFUSED),
    }
}

/// Simulated answers as rows in memory (for tests and small demos; use [`write_simulated`] at scale).
pub fn simulate(
    codebook: &Codebook,
    units: &[Unit],
    options: &SimulateOptions,
) -> Result<Vec<AnswerRow>, SimulateError> {
    let mut rows = Vec::new();
    let done = simulate_each(codebook, units, options, |a| {
        rows.push(AnswerRow {
            response_id: a.response_id.to_owned(),
            wave: a.wave.to_owned(),
            unit_code: a.unit_code.to_owned(),
            question: a.question.to_owned(),
            answer: Some(a.answer.to_owned()),
        });
        Ok::<(), std::convert::Infallible>(())
    })?;
    match done {
        Ok(_) => Ok(rows),
        Err(never) => match never {},
    }
}

/// Writes simulated answers as CSV (UTF-8, header [`ANSWER_COLUMNS`], no byte-order mark) to `out`; returns the
/// number of rows.
pub fn write_simulated_csv<W: Write>(
    codebook: &Codebook,
    units: &[Unit],
    options: &SimulateOptions,
    out: W,
) -> Result<u64, SimulateError> {
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let io_error = |source| SimulateError::Write {
        path: "the output".to_owned(),
        source,
    };
    writeln!(out, "{}", ANSWER_COLUMNS.join(",")).map_err(io_error)?;
    let rows = simulate_each(codebook, units, options, |a| {
        // Codes never hold commas or quotes (the codebook and unit codes are identifiers), so no quoting.
        writeln!(
            out,
            "{},{},{},{},{}",
            a.response_id, a.wave, a.unit_code, a.question, a.answer
        )
    })?
    .map_err(io_error)?;
    out.flush().map_err(io_error)?;
    Ok(rows)
}

/// Writes simulated answers to `path`: Parquet when it ends in `.parquet` (written in batches of a million rows,
/// so memory stays flat), CSV otherwise. Returns the number of rows.
pub fn write_simulated(
    codebook: &Codebook,
    units: &[Unit],
    options: &SimulateOptions,
    path: &Path,
) -> Result<u64, SimulateError> {
    let context = |source| SimulateError::Write {
        path: path.display().to_string(),
        source,
    };
    let file = File::create(path).map_err(context)?;
    let is_parquet = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if !is_parquet {
        return write_simulated_csv(codebook, units, options, file).map_err(|e| match e {
            SimulateError::Write { source, .. } => context(source),
            other => other,
        });
    }
    let schema = Schema::from_iter(ANSWER_COLUMNS.map(|c| Field::new(c.into(), DataType::String)));
    let mut writer = ParquetWriter::new(file).batched(&schema)?;
    const BATCH: usize = 1 << 20;
    let mut batch: [Vec<String>; 5] = Default::default();
    let flush = |batch: &mut [Vec<String>; 5], writer: &mut polars::io::parquet::write::BatchedWriter<File>| {
        let height = batch[0].len();
        let columns = ANSWER_COLUMNS
            .iter()
            .zip(batch.iter_mut())
            .map(|(name, values)| Column::new((*name).into(), std::mem::take(values)))
            .collect();
        writer.write_batch(&DataFrame::new(height, columns)?)
    };
    let rows = simulate_each(codebook, units, options, |a| {
        for (column, value) in batch
            .iter_mut()
            .zip([a.response_id, a.wave, a.unit_code, a.question, a.answer])
        {
            column.push(value.to_owned());
        }
        if batch[0].len() >= BATCH {
            flush(&mut batch, &mut writer)?;
        }
        Ok::<(), PolarsError>(())
    })??;
    if !batch[0].is_empty() {
        flush(&mut batch, &mut writer)?;
    }
    writer.finish()?;
    Ok(rows)
}

/// The expected propensity of a unit on each dimension, before the respondent's own draw.
pub fn expected_levels(
    codebook: &Codebook,
    units: &[Unit],
    options: &SimulateOptions,
) -> Result<Vec<Vec<f64>>, SimulateError> {
    let plan = Plan::new(codebook, units, options)?;
    Ok((0..units.len()).map(|u| plan.unit_levels(u).to_vec()).collect())
}

struct SimQuestion {
    code: String,
    accepts: Accepts,
    dont_know: bool,
    /// Each condition with the index of the question it names.
    when: Vec<(usize, Condition)>,
    /// The dimension (index) and rule of a scored question.
    scored: Option<(usize, ValueRule)>,
    /// The sub-dimension (index) of a scored question: its module in a split questionnaire.
    module: Option<usize>,
}

/// Everything drawn once per run: the questions in order with their dimension, and each unit's levels.
struct Plan {
    questions: Vec<SimQuestion>,
    /// How many sub-dimensions the codebook has: the modules of a split questionnaire.
    modules: usize,
    /// Per unit, per dimension: `b_u + e_ud + δ_ud / 9`.
    levels: Vec<Vec<f64>>,
}

impl Plan {
    fn new(codebook: &Codebook, units: &[Unit], options: &SimulateOptions) -> Result<Self, SimulateError> {
        codebook.validate().map_err(|e| SimulateError::Invalid(e.to_string()))?;
        if units.is_empty() {
            return Err(SimulateError::Invalid("no units were given".to_owned()));
        }
        for (name, share) in [
            ("dont_know", options.dont_know),
            ("skipped", options.skipped),
            ("not_eligible", options.not_eligible),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(SimulateError::Invalid(format!(
                    "{name} must be between 0 and 1, not {share}"
                )));
            }
        }
        let dimension_of_sub = |sub: &str| {
            codebook
                .subdimensions
                .iter()
                .find(|s| s.code == sub)
                .and_then(|s| codebook.dimensions.iter().position(|d| d.code == s.dimension))
        };
        let asked = codebook.asked_questions();
        let index: std::collections::HashMap<&str, usize> =
            asked.iter().enumerate().map(|(i, q)| (q.code.as_str(), i)).collect();
        let mut questions = Vec::new();
        for q in asked.iter() {
            // A scored question's indicator gives both its dimension (its answers' level) and its sub-dimension
            // (its module in a split questionnaire).
            let indicator = codebook
                .questions
                .iter()
                .find(|s| s.code == q.code)
                .and_then(|s| Some((s, codebook.indicator(&s.indicator)?)));
            let scored = indicator.and_then(|(s, i)| Some((dimension_of_sub(&i.subdimension)?, s.rule.clone())));
            let module =
                indicator.and_then(|(_, i)| codebook.subdimensions.iter().position(|d| d.code == i.subdimension));
            let when = q
                .when
                .iter()
                .filter_map(|c| Some((*index.get(c.question())?, c.clone())))
                .collect();
            questions.push(SimQuestion {
                code: q.code.clone(),
                accepts: q.accepts.clone(),
                dont_know: q.dont_know,
                when,
                scored,
                module,
            });
        }
        let dimensions = codebook.dimensions.len();
        let mut levels: Vec<Vec<f64>> = (0..units.len())
            .map(|u| {
                let mut rng = SplitMix(mix(mix(options.seed, u64::MAX), u as u64));
                let base = 0.35 + 0.4 * rng.unit();
                (0..dimensions).map(|_| base + (rng.unit() - 0.5) * 0.16).collect()
            })
            .collect();
        for plant in &options.plants {
            let u = units
                .iter()
                .position(|unit| unit.code == plant.unit_code)
                .ok_or_else(|| SimulateError::UnknownUnit(plant.unit_code.clone()))?;
            let d = codebook
                .dimensions
                .iter()
                .position(|d| d.code == plant.dimension || plant.dimension.parse::<u8>().is_ok_and(|n| n == d.number))
                .ok_or_else(|| SimulateError::UnknownDimension(plant.dimension.clone()))?;
            levels[u][d] += plant.delta / 9.0;
        }
        if let Some(k) = options.modules_per_respondent
            && !(1..=codebook.subdimensions.len()).contains(&k)
        {
            return Err(SimulateError::Invalid(format!(
                "modules_per_respondent must be between 1 and the codebook's {} sub-dimensions, not {k}",
                codebook.subdimensions.len()
            )));
        }
        Ok(Self {
            questions,
            modules: codebook.subdimensions.len(),
            levels,
        })
    }

    fn unit_levels(&self, unit: usize) -> &[f64] {
        &self.levels[unit]
    }
}

/// Draws an answer whose value has expectation `p` under `rule`; returns the stored string (in `buffer` or static).
fn draw_answer<'a>(rng: &mut SplitMix, rule: &ValueRule, p: f64, buffer: &'a mut String) -> &'a str {
    use fmt::Write as _;
    buffer.clear();
    match rule {
        ValueRule::YesNo { yes_is_good } => {
            let good = rng.unit() < p;
            buffer.push_str(if good == *yes_is_good { YES_CODE } else { NO_CODE });
        }
        ValueRule::Likert { points, high_is_good } => {
            let steps = u32::from(points.saturating_sub(1));
            let good_steps = binomial(rng, steps, p);
            let point = if *high_is_good {
                1 + good_steps
            } else {
                u32::from(*points) - good_steps
            };
            let _ = write!(buffer, "{point}");
        }
        ValueRule::Number { good, bad } => {
            let span = (good - bad).abs();
            let steps = if span.fract() == 0.0 && (1.0..=20.0).contains(&span) {
                span as u32
            } else {
                10
            };
            let t = f64::from(binomial(rng, steps, p)) / f64::from(steps);
            let x = bad + t * (good - bad);
            let x = (x * 1e6).round() / 1e6;
            let _ = write!(buffer, "{x}");
        }
        ValueRule::Choice { values } => {
            let mut sorted: Vec<&(String, f64)> = values.iter().filter(|(_, v)| v.is_finite()).collect();
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
            let code = match sorted.as_slice() {
                [] => DONT_KNOW,
                [only] => only.0.as_str(),
                _ => {
                    let p = p.clamp(sorted[0].1, sorted[sorted.len() - 1].1);
                    let k = sorted.windows(2).position(|w| p <= w[1].1).unwrap_or(sorted.len() - 2);
                    let (low, high) = (sorted[k], sorted[k + 1]);
                    let up = if high.1 > low.1 {
                        (p - low.1) / (high.1 - low.1)
                    } else {
                        0.5
                    };
                    if rng.unit() < up {
                        high.0.as_str()
                    } else {
                        low.0.as_str()
                    }
                }
            };
            buffer.push_str(code);
        }
    }
    buffer.as_str()
}

fn binomial(rng: &mut SplitMix, trials: u32, p: f64) -> u32 {
    (0..trials).map(|_| u32::from(rng.unit() < p)).sum()
}

/// SplitMix64's finaliser: a well-mixed seed from two numbers.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast, and good enough for survey noise.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codebook::stored_value;

    #[test]
    fn plants_parse_from_unit_dimension_delta() {
        let plant: Plant = "11953:d3:-2.5".parse().expect("valid");
        assert_eq!(
            plant,
            Plant {
                unit_code: "11953".into(),
                dimension: "d3".into(),
                delta: -2.5
            }
        );
        assert_eq!(plant.to_string(), "11953:d3:-2.5");
        for bad in [
            "11953:d3",
            "11953:d3:x",
            ":d3:1",
            "11953:d3:12",
            "a:b:c:d",
            "11953:d3:NaN",
        ] {
            assert!(bad.parse::<Plant>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_rule_draws_answers_whose_mean_value_is_the_propensity() {
        let rules = [
            ValueRule::YesNo { yes_is_good: false },
            ValueRule::Likert {
                points: 5,
                high_is_good: false,
            },
            ValueRule::Likert {
                points: 7,
                high_is_good: true,
            },
            ValueRule::Number { good: 1.0, bad: 5.0 },
            ValueRule::Number { good: 0.0, bad: 2.5 },
            ValueRule::Choice {
                values: vec![("a".into(), 0.0), ("b".into(), 0.6), ("c".into(), 1.0)],
            },
        ];
        let mut rng = SplitMix(7);
        let mut buffer = String::new();
        for rule in &rules {
            for p in [0.1, 0.5, 0.8] {
                let draws = 20_000;
                let mut sum = 0.0;
                for _ in 0..draws {
                    let raw = draw_answer(&mut rng, rule, p, &mut buffer);
                    sum +=
                        stored_value(rule, raw).unwrap_or_else(|| panic!("{rule:?} drew {raw:?}, which has no value"));
                }
                // The standard error of a mean of values in [0, 1] over 20,000 draws is at most 0.0036.
                let mean = sum / f64::from(draws);
                assert!((mean - p).abs() < 0.02, "{rule:?} at {p}: {mean}");
            }
        }
    }
}
