//! From long-format answers to [`Scores`]: polars reads and joins (lazily, on its streaming engine), plain Rust
//! scores each unit in parallel.
//!
//! Three streaming passes over the answers, so that 100 million answer rows never sit in memory as strings:
//!
//! 1. `group_by(response_id)` gives the respondents (about one per 100 answer rows) with their wave and unit. In
//!    Rust they get the lineage, their weight and their province, and are sorted by wave, unit and id: respondent
//!    `k` is the number `k`, and each unit's respondents are one contiguous range.
//! 2. Each non-empty answer is joined to its question (its number in the order asked), to the question's codes
//!    (the code's index) and to its respondent number, and read as a number: four small integer/float columns.
//!    Those are regrouped per respondent (a counting sort, column by column), and each respondent's rows are
//!    checked and walked through the skip logic in question order ([`crate::checks`]): what counts becomes
//!    (indicator, value) pairs, what does not is counted.
//! 3. The rows of questions the questionnaire does not have are counted per wave and question.
//!
//! Every unit is then scored on its own thread with its own seeded generator ([`crate::bootstrap`]).

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::bootstrap::{Bootstrap, Group, GroupStats, Stat, group_seed, score_group};
use crate::checks::{Checker, IgnoredKind, IgnoredRows, RespondentRows, Walk, collect_ignored};
use crate::codebook::{Codebook, Layout};
use crate::input::{Lineage, Unit};
use crate::scores::{Level, RawScore, Scores, TOTAL_CODE};

/// How intervals are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreOptions {
    /// Bootstrap replicates per unit; 0 draws no interval (the cheapest run, e.g. for a quick look).
    pub replicates: usize,
    /// The interval's coverage, 0.95 by the design.
    pub confidence: f64,
    /// The seed: the same seed and the same answers give the same intervals, on any machine and thread count.
    pub seed: u64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            replicates: 1000,
            confidence: 0.95,
            seed: 20_250_701,
        }
    }
}

/// Everything a scoring run reads.
pub struct ScoreInput<'a> {
    /// Long-format answers ([`crate::scan_answers`], [`crate::answers_frame`]).
    pub answers: LazyFrame,
    /// Optional post-stratification weights per response ([`crate::scan_weights`], [`crate::weights_frame`]).
    pub weights: Option<LazyFrame>,
    /// The codebook of the waves' questionnaire.
    pub codebook: &'a Codebook,
    /// The units scores are reported for, with their provinces. Every unit answers are given for (after the
    /// lineage) must be listed.
    pub units: &'a [Unit],
    /// Which legacy units count for which successors.
    pub lineage: &'a Lineage,
}

/// Scores every unit in every wave of the answers: indicators, sub-dimensions, dimensions and the total, with
/// respondent counts, bootstrap intervals, sufficiency, ranks and quartile groups within provinces.
pub fn score(input: ScoreInput<'_>, options: &ScoreOptions) -> Result<Scores, AnalysisError> {
    let codebook = input.codebook;
    codebook.validate()?;
    let layout = Layout::new(codebook);

    let respondents = respondents(&input)?;
    let (csr, ignored) = checked_values(&input.answers, codebook, &respondents)?;

    let groups = respondents.groups();
    let bootstrap = |wave: &str, unit: &str| Bootstrap {
        replicates: options.replicates,
        confidence: options.confidence,
        seed: group_seed(options.seed, wave, unit),
    };
    let stats: Vec<GroupStats> = groups
        .par_iter()
        .map(|g| {
            let group = Group {
                weights: &respondents.weights[g.start..g.end],
                offsets: &csr.offsets[g.start..=g.end],
                indicators: &csr.indicators,
                values: &csr.values,
            };
            score_group(&layout, group, bootstrap(&g.wave, &g.unit))
        })
        .collect::<Result<_, _>>()?;

    let mut raw = Vec::new();
    for (g, stats) in groups.iter().zip(stats) {
        let mut push = |level: Level, code: &str, stat: &Stat| {
            if let Some(score) = stat.score {
                raw.push(RawScore {
                    wave: g.wave.clone(),
                    unit_code: g.unit.clone(),
                    province_code: g.province.clone(),
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
    }
    let mut scores = Scores::from_raw(raw);
    scores.ignored = ignored;
    Ok(scores)
}

struct Respondent {
    id: String,
    wave: String,
    unit: String,
    province: String,
    weight: f64,
}

struct Respondents {
    list: Vec<Respondent>,
    weights: Vec<f64>,
}

struct GroupRange {
    wave: String,
    unit: String,
    province: String,
    start: usize,
    end: usize,
}

impl Respondents {
    /// Contiguous ranges of one wave and unit.
    fn groups(&self) -> Vec<GroupRange> {
        let mut groups: Vec<GroupRange> = Vec::new();
        for (k, r) in self.list.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if g.wave == r.wave && g.unit == r.unit => g.end = k + 1,
                _ => groups.push(GroupRange {
                    wave: r.wave.clone(),
                    unit: r.unit.clone(),
                    province: r.province.clone(),
                    start: k,
                    end: k + 1,
                }),
            }
        }
        groups
    }
}

/// Pass 1: one row per response, with the lineage, the weight and the province applied, in scoring order.
fn respondents(input: &ScoreInput<'_>) -> Result<Respondents, AnalysisError> {
    let df = input
        .answers
        .clone()
        .select([col("response_id"), col("wave"), col("unit_code")])
        .group_by([col("response_id")])
        .agg([
            col("wave").min().alias("wave"),
            col("wave").max().alias("wave_last"),
            col("unit_code").min().alias("unit_code"),
            col("unit_code").max().alias("unit_last"),
        ])
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();

    let weights = match &input.weights {
        Some(lf) => Some(weights(lf.clone())?),
        None => None,
    };
    let provinces: HashMap<&str, &str> = input
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.province_code.as_str()))
        .collect();

    let ids = df.column("response_id")?.str()?;
    let waves = df.column("wave")?.str()?;
    let waves_last = df.column("wave_last")?.str()?;
    let units = df.column("unit_code")?.str()?;
    let units_last = df.column("unit_last")?.str()?;
    let mut list = Vec::with_capacity(df.height());
    let mut unknown_units: Vec<String> = Vec::new();
    for ((((id, wave), wave_last), unit), unit_last) in ids
        .iter()
        .zip(waves.iter())
        .zip(waves_last.iter())
        .zip(units.iter())
        .zip(units_last.iter())
    {
        let Some(id) = id else {
            return Err(AnalysisError::MissingKey {
                response_id: String::new(),
                column: "response_id",
            });
        };
        let missing = |column| AnalysisError::MissingKey {
            response_id: id.to_owned(),
            column,
        };
        let (wave, wave_last) = (wave.ok_or_else(|| missing("wave"))?, wave_last.unwrap_or_default());
        let (unit, unit_last) = (unit.ok_or_else(|| missing("unit_code"))?, unit_last.unwrap_or_default());
        for (column, first, last) in [("wave", wave, wave_last), ("unit_code", unit, unit_last)] {
            if first != last {
                return Err(AnalysisError::InconsistentResponse {
                    response_id: id.to_owned(),
                    column,
                    first: first.to_owned(),
                    second: last.to_owned(),
                });
            }
        }
        let unit = input.lineage.successor(wave, unit);
        let Some(province) = provinces.get(unit) else {
            if unknown_units.len() < 5 && !unknown_units.iter().any(|u| u == unit) {
                unknown_units.push(unit.to_owned());
            }
            continue;
        };
        let weight = match &weights {
            Some(w) => *w.get(id).ok_or_else(|| AnalysisError::MissingWeight {
                response_id: id.to_owned(),
            })?,
            None => 1.0,
        };
        list.push(Respondent {
            id: id.to_owned(),
            wave: wave.to_owned(),
            unit: unit.to_owned(),
            province: (*province).to_owned(),
            weight,
        });
    }
    if !unknown_units.is_empty() {
        return Err(AnalysisError::UnknownUnits { codes: unknown_units });
    }
    if u32::try_from(list.len()).is_err() {
        return Err(AnalysisError::TooManyResponses { count: list.len() });
    }
    list.sort_unstable_by(|a, b| (&a.wave, &a.unit, &a.id).cmp(&(&b.wave, &b.unit, &b.id)));
    let weights = list.iter().map(|r| r.weight).collect();
    Ok(Respondents { list, weights })
}

fn weights(lf: LazyFrame) -> Result<HashMap<String, f64>, AnalysisError> {
    let df = lf
        .select([
            col("response_id").cast(DataType::String),
            col("weight").cast(DataType::Float64),
        ])
        .collect()?;
    let ids = df.column("response_id")?.str()?;
    let values = df.column("weight")?.f64()?;
    let mut out = HashMap::with_capacity(df.height());
    for (id, weight) in ids.iter().zip(values.iter()) {
        let id = id.unwrap_or_default();
        let weight = weight.unwrap_or(f64::NAN);
        if !weight.is_finite() || weight < 0.0 {
            return Err(AnalysisError::BadWeight {
                response_id: id.to_owned(),
                weight,
            });
        }
        if out
            .insert(id.to_owned(), weight)
            .is_some_and(|earlier| earlier != weight)
        {
            return Err(AnalysisError::DuplicateWeight {
                response_id: id.to_owned(),
            });
        }
    }
    Ok(out)
}

/// Pass 2: every non-empty answer row read against its question ([`crate::checks`]): the (indicator, value) pairs
/// of the answers that count, regrouped per respondent, and the rows ignored, counted.
fn checked_values(
    answers: &LazyFrame,
    codebook: &Codebook,
    respondents: &Respondents,
) -> Result<(Csr, Vec<IgnoredRows>), AnalysisError> {
    let checker = Checker::new(codebook)?;
    let ids: Vec<&str> = respondents.list.iter().map(|r| r.id.as_str()).collect();
    let numbers: Vec<u32> = (0..ids.len() as u32).collect();
    let respondent_numbers = DataFrame::new(
        ids.len(),
        vec![
            Column::new("response_id".into(), ids),
            Column::new("resp".into(), numbers),
        ],
    )?;
    let questions = checker.questions_frame()?;
    // An empty answer is no answer (ykien's export leaves free text empty): nothing to check or count.
    let given = col("answer").is_not_null().and(col("answer").neq(lit("")));

    let df = answers
        .clone()
        .select([col("response_id"), col("question"), col("answer")])
        .filter(given.clone())
        .join(
            questions.clone().lazy(),
            [col("question")],
            [col("question")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            checker.codes_frame()?.lazy(),
            [col("question"), col("answer")],
            [col("question"), col("answer")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            respondent_numbers.lazy(),
            [col("response_id")],
            [col("response_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("resp"),
            col("q"),
            col("code").fill_null(lit(NO_CODE_MATCHED)),
            col("answer").cast(DataType::Float64).alias("number"),
        ])
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();

    let unknown = answers
        .clone()
        .select([col("wave"), col("question"), col("answer")])
        .filter(given)
        .join(
            questions.lazy(),
            [col("question")],
            [col("question")],
            JoinArgs::new(JoinType::Left),
        )
        .filter(col("q").is_null())
        .group_by([col("wave"), col("question")])
        .agg([len().alias("rows")])
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();

    let rows = RowsByRespondent::build(df, respondents.list.len())?;
    let mut wave_ids: Vec<u32> = Vec::with_capacity(respondents.list.len());
    let mut waves: Vec<&str> = Vec::new();
    for r in &respondents.list {
        if waves.last() != Some(&r.wave.as_str()) {
            waves.push(&r.wave);
        }
        wave_ids.push((waves.len() - 1) as u32);
    }
    let mut counts: HashMap<(u32, usize, IgnoredKind), u64> = HashMap::new();
    let mut offsets = Vec::with_capacity(respondents.list.len() + 1);
    offsets.push(0usize);
    let (mut indicators, mut values) = (Vec::new(), Vec::new());
    let mut walk = Walk::default();
    for (k, &wave) in wave_ids.iter().enumerate() {
        let range = rows.offsets[k]..rows.offsets[k + 1];
        checker.walk(
            RespondentRows {
                questions: &rows.questions[range.clone()],
                codes: &rows.codes[range.clone()],
                numbers: &rows.numbers[range],
            },
            &mut walk,
            |q, kind, n| *counts.entry((wave, q, kind)).or_default() += n,
            |indicator, value| {
                indicators.push(indicator);
                values.push(value);
            },
        );
        offsets.push(indicators.len());
    }

    let mut ignored: HashMap<(String, String, IgnoredKind), u64> = HashMap::new();
    for ((wave, q, kind), n) in counts {
        let wave = waves.get(wave as usize).copied().unwrap_or_default();
        *ignored
            .entry((wave.to_owned(), checker.code(q).to_owned(), kind))
            .or_default() += n;
    }
    let unknown_waves = unknown.column("wave")?.str()?;
    let unknown_questions = unknown.column("question")?.str()?;
    let unknown_rows = unknown.column("rows")?.cast(&DataType::UInt64)?;
    let unknown_rows = unknown_rows.u64()?;
    for ((wave, question), n) in unknown_waves
        .iter()
        .zip(unknown_questions.iter())
        .zip(unknown_rows.iter())
    {
        *ignored
            .entry((
                wave.unwrap_or_default().to_owned(),
                question.unwrap_or_default().to_owned(),
                IgnoredKind::UnknownQuestion,
            ))
            .or_default() += n.unwrap_or_default();
    }
    Ok((
        Csr {
            offsets,
            indicators,
            values,
        },
        collect_ignored(ignored),
    ))
}

/// The code index that means "matched no code of the question".
const NO_CODE_MATCHED: u32 = u32::MAX;

/// Checked rows regrouped per respondent: respondent `k`'s rows are `offsets[k]..offsets[k + 1]`.
struct RowsByRespondent {
    offsets: Vec<usize>,
    questions: Vec<u16>,
    codes: Vec<u32>,
    numbers: Vec<f64>,
}

impl RowsByRespondent {
    /// A counting sort of the columns `resp`, `q`, `code`, `number` by respondent, keeping each respondent's rows
    /// in the file's order, dropping each column as soon as it is placed.
    fn build(df: DataFrame, respondents: usize) -> Result<Self, AnalysisError> {
        let mut columns = df.into_columns();
        let number_column = columns.pop();
        let code_column = columns.pop();
        let q_column = columns.pop();
        let resp_column = columns.pop();
        let (Some(resp_column), Some(q_column), Some(code_column), Some(number_column)) =
            (resp_column, q_column, code_column, number_column)
        else {
            return Err(AnalysisError::Internal("the answer pass lost a column"));
        };
        let resp = resp_column.u32()?;
        let mut offsets = vec![0usize; respondents + 1];
        for r in resp.into_no_null_iter() {
            if let Some(slot) = offsets.get_mut(r as usize + 1) {
                *slot += 1;
            }
        }
        for k in 0..respondents {
            offsets[k + 1] += offsets[k];
        }
        let total = offsets[respondents];

        let mut cursor = offsets.clone();
        let mut questions = vec![0u16; total];
        for (r, q) in resp.into_no_null_iter().zip(q_column.u32()?.iter()) {
            let slot = &mut cursor[r as usize];
            questions[*slot] =
                u16::try_from(q.unwrap_or_default()).map_err(|_| AnalysisError::Internal("question number"))?;
            *slot += 1;
        }
        drop(q_column);
        cursor.copy_from_slice(&offsets);
        let mut codes = vec![NO_CODE_MATCHED; total];
        for (r, code) in resp.into_no_null_iter().zip(code_column.u32()?.iter()) {
            let slot = &mut cursor[r as usize];
            codes[*slot] = code.unwrap_or(NO_CODE_MATCHED);
            *slot += 1;
        }
        drop(code_column);
        cursor.copy_from_slice(&offsets);
        let mut numbers = vec![f64::NAN; total];
        for (r, x) in resp.into_no_null_iter().zip(number_column.f64()?.iter()) {
            let slot = &mut cursor[r as usize];
            numbers[*slot] = x.unwrap_or(f64::NAN);
            *slot += 1;
        }
        Ok(Self {
            offsets,
            questions,
            codes,
            numbers,
        })
    }
}

/// Answer values regrouped per respondent: respondent `k`'s entries are `offsets[k]..offsets[k + 1]`.
struct Csr {
    offsets: Vec<usize>,
    indicators: Vec<u16>,
    values: Vec<f64>,
}
