//! From long-format answers to [`Scores`]: polars reads and joins (lazily, on its streaming engine), plain Rust
//! scores each unit in parallel.
//!
//! Two streaming passes over the answers, so that 100 million answer rows never sit in memory, as strings or
//! otherwise:
//!
//! 1. `group_by(response_id)` gives the respondents (about one per 100 answer rows) with their wave, unit and
//!    number of non-empty answers. In Rust they get the lineage, their weight and their province, and are sorted
//!    by wave, unit and id: respondent `k` is the number `k`, and each unit's respondents are one contiguous range.
//! 2. Each non-empty answer is joined to its question (its number in the order asked; none for a question the
//!    questionnaire lacks, counted per wave and question), to the question's codes (the code's index) and to its
//!    respondent number, and read as a number: small integer/float columns, streamed in batches to
//!    [`crate::respondent_values`], which checks and walks each respondent through the skip logic in question
//!    order ([`crate::checks`]) as soon as its rows have all come: what counts becomes (indicator, value) pairs
//!    kept per unit in 6 bytes each, what does not is counted.
//!
//! Every unit is then scored on its own thread with its own seeded generator ([`crate::bootstrap`]), from its
//! respondents' values read back in respondent order, so the numbers do not depend on the order rows arrived in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::bootstrap::{Bootstrap, Group, GroupStats, Stat, group_seed, score_group};
use crate::checks::{Checker, IgnoredKind, IgnoredRows, collect_ignored};
use crate::codebook::{Codebook, Layout};
use crate::input::{Lineage, Unit};
use crate::respondent_values::{NO_CODE_MATCHED, RespondentValues};
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
    let (values, ignored) = checked_values(&input.answers, codebook, respondents.ids, &respondents.groups)?;
    let groups = &respondents.groups;

    let bootstrap = |wave: &str, unit: &str| Bootstrap {
        replicates: options.replicates,
        confidence: options.confidence,
        seed: group_seed(options.seed, wave, unit),
    };
    let stats: Vec<GroupStats> = groups
        .list
        .par_iter()
        .map(|g| {
            let own = values.group(g.start, g.end);
            let group = Group {
                weights: &respondents.weights[g.start..g.end],
                offsets: &own.offsets,
                indicators: &own.indicators,
                values: &own.values,
            };
            score_group(&layout, group, bootstrap(&groups.waves[g.wave], &g.unit))
        })
        .collect::<Result<_, _>>()?;
    drop(values);

    let mut raw = Vec::new();
    for (g, stats) in groups.list.iter().zip(stats) {
        let wave = &groups.waves[g.wave];
        let mut push = |level: Level, code: &str, stat: &Stat| {
            if let Some(score) = stat.score {
                raw.push(RawScore {
                    wave: wave.clone(),
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

/// The respondents in scoring order (by wave, unit and response id): respondent `k` is the number `k`, and each
/// unit's respondents are one contiguous range.
struct Respondents {
    /// Response ids, in scoring order.
    ids: Vec<String>,
    weights: Vec<f64>,
    groups: Groups,
}

/// The (wave, unit) groups and, per respondent, its group and the non-empty answer rows it has.
struct Groups {
    /// Wave codes, in order; a group names its wave by its index here.
    waves: Vec<String>,
    list: Vec<GroupRange>,
    group_of: Vec<u32>,
    expected: Vec<u32>,
}

struct GroupRange {
    wave: usize,
    unit: String,
    province: String,
    start: usize,
    end: usize,
}

struct Respondent {
    id: String,
    wave: String,
    unit: String,
    province: String,
    weight: f64,
    rows: u32,
}

/// Pass 1: one row per response, with the lineage, the weight and the province applied, in scoring order, and
/// the number of its non-empty answer rows (pass 2 knows from it when a respondent's rows have all come).
fn respondents(input: &ScoreInput<'_>) -> Result<Respondents, AnalysisError> {
    let df = input
        .answers
        .clone()
        .select([
            col("response_id"),
            col("wave"),
            col("unit_code"),
            given().alias("given"),
        ])
        .group_by([col("response_id")])
        .agg([
            col("wave").min().alias("wave"),
            col("wave").max().alias("wave_last"),
            col("unit_code").min().alias("unit_code"),
            col("unit_code").max().alias("unit_last"),
            col("given").sum().cast(DataType::UInt32).alias("rows"),
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
    let rows = df.column("rows")?.u32()?;
    let mut list = Vec::with_capacity(df.height());
    let mut unknown_units: Vec<String> = Vec::new();
    for (((((id, wave), wave_last), unit), unit_last), rows) in ids
        .iter()
        .zip(waves.iter())
        .zip(waves_last.iter())
        .zip(units.iter())
        .zip(units_last.iter())
        .zip(rows.iter())
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
            rows: rows.unwrap_or_default(),
        });
    }
    drop(df);
    if !unknown_units.is_empty() {
        return Err(AnalysisError::UnknownUnits { codes: unknown_units });
    }
    if u32::try_from(list.len()).is_err() {
        return Err(AnalysisError::TooManyResponses { count: list.len() });
    }
    list.sort_unstable_by(|a, b| (&a.wave, &a.unit, &a.id).cmp(&(&b.wave, &b.unit, &b.id)));

    let mut groups = Groups {
        waves: Vec::new(),
        list: Vec::new(),
        group_of: Vec::with_capacity(list.len()),
        expected: Vec::with_capacity(list.len()),
    };
    let mut ids = Vec::with_capacity(list.len());
    let mut weights = Vec::with_capacity(list.len());
    for (k, r) in list.into_iter().enumerate() {
        if groups.waves.last() != Some(&r.wave) {
            groups.waves.push(r.wave);
        }
        let wave = groups.waves.len() - 1;
        match groups.list.last_mut() {
            Some(g) if g.wave == wave && g.unit == r.unit => g.end = k + 1,
            _ => groups.list.push(GroupRange {
                wave,
                unit: r.unit,
                province: r.province,
                start: k,
                end: k + 1,
            }),
        }
        groups.group_of.push((groups.list.len() - 1) as u32);
        groups.expected.push(r.rows);
        ids.push(r.id);
        weights.push(r.weight);
    }
    Ok(Respondents { ids, weights, groups })
}

/// Whether an answer row gives an answer: an empty answer is no answer (ykien's export leaves free text empty),
/// nothing to check or count.
fn given() -> Expr {
    col("answer").is_not_null().and(col("answer").neq(lit("")))
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

/// Pass 2: every non-empty answer row joined to its question (its number; none for a question the questionnaire
/// lacks), the question's codes (the code's index) and its respondent's number, read as a number, and streamed
/// in batches into [`RespondentValues`], which walks each respondent once its rows have all come.
fn checked_values(
    answers: &LazyFrame,
    codebook: &Codebook,
    ids: Vec<String>,
    groups: &Groups,
) -> Result<(RespondentValues, Vec<IgnoredRows>), AnalysisError> {
    let checker = Arc::new(Checker::new(codebook)?);
    let respondents = ids.len();
    let numbers: Vec<u32> = (0..respondents as u32).collect();
    let respondent_numbers = DataFrame::new(
        respondents,
        vec![
            Column::new("response_id".into(), ids),
            Column::new("resp".into(), numbers),
        ],
    )?;
    let wave_of = groups
        .group_of
        .iter()
        .map(|&g| groups.list[g as usize].wave as u32)
        .collect();
    let state = Arc::new(Mutex::new(RespondentValues::new(
        groups.group_of.clone(),
        wave_of,
        groups.expected.clone(),
        groups.list.len(),
    )));
    // The first error of the callback, which polars would otherwise turn into its own.
    let failure: Arc<Mutex<Option<AnalysisError>>> = Arc::new(Mutex::new(None));

    let sink = {
        let (state, checker, failure) = (state.clone(), checker.clone(), failure.clone());
        PlanCallback::new(move |df: DataFrame| {
            let mut state = state
                .lock()
                .map_err(|_| polars_err!(ComputeError: "a scoring thread panicked"))?;
            if let Err(e) = state.add_batch(&checker, &df) {
                if let Ok(mut slot) = failure.lock() {
                    slot.get_or_insert(e);
                }
                return Ok(true);
            }
            Ok(false)
        })
    };
    answers
        .clone()
        .select([col("response_id"), col("question"), col("answer")])
        .filter(given())
        .join(
            checker.questions_frame()?.lazy(),
            [col("question")],
            [col("question")],
            JoinArgs::new(JoinType::Left),
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
            when(col("q").is_null())
                .then(col("question"))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("unknown"),
        ])
        .sink_batches(sink, false, None)?
        .collect_with_engine(Engine::Streaming)?;
    if let Some(e) = failure.lock().ok().and_then(|mut slot| slot.take()) {
        return Err(e);
    }
    let values = Arc::try_unwrap(state)
        .map_err(|_| AnalysisError::Internal("the answer pass kept its state"))?
        .into_inner()
        .map_err(|_| AnalysisError::Internal("a scoring thread panicked"))?;
    values.check_complete()?;

    let mut ignored: HashMap<(String, String, IgnoredKind), u64> = HashMap::new();
    for (&(wave, q, kind), &n) in &values.ignored {
        let wave = groups.waves.get(wave as usize).cloned().unwrap_or_default();
        *ignored.entry((wave, checker.code(q).to_owned(), kind)).or_default() += n;
    }
    for ((wave, question), &n) in &values.unknown {
        let wave = groups.waves.get(*wave as usize).cloned().unwrap_or_default();
        *ignored
            .entry((wave, question.clone(), IgnoredKind::UnknownQuestion))
            .or_default() += n;
    }
    Ok((values, collect_ignored(ignored)))
}
