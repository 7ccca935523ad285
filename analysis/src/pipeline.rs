//! From long-format answers to [`Scores`]: polars reads and joins (lazily, on its streaming engine), plain Rust
//! scores each unit in parallel.
//!
//! Two passes over the answers, both streaming so that 100 million answer rows never sit in memory as strings:
//!
//! 1. `group_by(response_id)` gives the respondents (about one per 100 answer rows) with their wave and unit. In
//!    Rust they get the lineage, their weight and their province, and are sorted by wave, unit and id: respondent
//!    `k` is the number `k`, and each unit's respondents are one contiguous range.
//! 2. Each answer is joined to its question (indicator number and rule) and to the valued codes, becomes a value in
//!    [0, 1] or is dropped as missing, and is joined to its respondent number: three small integer/float columns.
//!
//! Those columns are regrouped per respondent (a counting sort, column by column so the peak stays near twice the
//! three columns), and every unit is scored on its own thread with its own seeded generator
//! ([`crate::bootstrap`]).

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::bootstrap::{Bootstrap, Group, GroupStats, Stat, group_seed, score_group};
use crate::codebook::{Codebook, Layout};
use crate::indicator::ValueRule;
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
    let entries = answer_values(&input.answers, codebook, &respondents)?;
    let csr = Csr::build(entries, respondents.list.len())?;

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
    Ok(Scores::from_raw(raw))
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

/// Pass 2: (respondent number, indicator number, value) of every answer that has a value.
fn answer_values(
    answers: &LazyFrame,
    codebook: &Codebook,
    respondents: &Respondents,
) -> Result<DataFrame, AnalysisError> {
    let indicator_index: HashMap<&str, u32> = codebook
        .indicators
        .iter()
        .enumerate()
        .map(|(i, ind)| (ind.code.as_str(), i as u32))
        .collect();

    // One row per scored question.
    let mut q_code = Vec::new();
    let mut q_ind = Vec::new();
    let mut q_number = Vec::new();
    let mut q_good = Vec::new();
    let mut q_bad = Vec::new();
    // One row per valued code of a question.
    let mut c_question = Vec::new();
    let mut c_answer = Vec::new();
    let mut c_value = Vec::new();
    for question in &codebook.questions {
        let Some(&ind) = indicator_index.get(question.indicator.as_str()) else {
            continue;
        };
        let (number, good, bad) = match question.rule {
            ValueRule::Number { good, bad } => (true, good, bad),
            _ => (false, 1.0, 0.0),
        };
        q_code.push(question.code.as_str());
        q_ind.push(ind);
        q_number.push(number);
        q_good.push(good);
        q_bad.push(bad);
        for (code, value) in Codebook::coded_values(&question.rule) {
            c_question.push(question.code.as_str());
            c_answer.push(code);
            c_value.push(value);
        }
    }
    let questions = DataFrame::new(
        q_code.len(),
        vec![
            Column::new("question".into(), q_code),
            Column::new("ind".into(), q_ind),
            Column::new("is_number".into(), q_number),
            Column::new("good".into(), q_good),
            Column::new("bad".into(), q_bad),
        ],
    )?;
    let codes = DataFrame::new(
        c_question.len(),
        vec![
            Column::new("question".into(), c_question),
            Column::new("answer".into(), c_answer),
            Column::new("code_value".into(), c_value),
        ],
    )?;
    let ids: Vec<&str> = respondents.list.iter().map(|r| r.id.as_str()).collect();
    let numbers: Vec<u32> = (0..ids.len() as u32).collect();
    let respondent_numbers = DataFrame::new(
        ids.len(),
        vec![
            Column::new("response_id".into(), ids),
            Column::new("resp".into(), numbers),
        ],
    )?;

    let x = col("answer").cast(DataType::Float64);
    let scaled = (x.clone() - col("bad")) / (col("good") - col("bad"));
    let number_value = when(x.is_finite())
        .then(
            when(scaled.clone().lt(lit(0.0)))
                .then(lit(0.0))
                .when(scaled.clone().gt(lit(1.0)))
                .then(lit(1.0))
                .otherwise(scaled),
        )
        .otherwise(lit(NULL).cast(DataType::Float64));
    let value = when(col("is_number"))
        .then(number_value)
        .otherwise(col("code_value"))
        .alias("value");

    let df = answers
        .clone()
        .select([col("response_id"), col("question"), col("answer")])
        .join(
            questions.lazy(),
            [col("question")],
            [col("question")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            codes.lazy(),
            [col("question"), col("answer")],
            [col("question"), col("answer")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(value)
        .filter(col("value").is_not_null())
        .join(
            respondent_numbers.lazy(),
            [col("response_id")],
            [col("response_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("resp"), col("ind"), col("value")])
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();
    Ok(df)
}

/// Answer values regrouped per respondent: respondent `k`'s entries are `offsets[k]..offsets[k + 1]`.
struct Csr {
    offsets: Vec<usize>,
    indicators: Vec<u16>,
    values: Vec<f64>,
}

impl Csr {
    /// A counting sort of the three columns by respondent, dropping each column as soon as it is placed.
    fn build(df: DataFrame, respondents: usize) -> Result<Self, AnalysisError> {
        let mut columns = df.into_columns();
        let value_column = columns.pop();
        let ind_column = columns.pop();
        let resp_column = columns.pop();
        let (Some(resp_column), Some(ind_column), Some(value_column)) = (resp_column, ind_column, value_column) else {
            return Err(AnalysisError::Internal("the answer pass lost a column"));
        };
        let resp = resp_column.u32()?;

        let mut offsets = vec![0usize; respondents + 1];
        for chunk in resp.downcast_iter() {
            for &r in chunk.values().iter() {
                if let Some(slot) = offsets.get_mut(r as usize + 1) {
                    *slot += 1;
                }
            }
        }
        for k in 0..respondents {
            offsets[k + 1] += offsets[k];
        }
        let total = offsets[respondents];

        let mut cursor = offsets.clone();
        let mut indicators = vec![0u16; total];
        {
            let ind = ind_column.u32()?;
            let targets = resp.downcast_iter().flat_map(|c| c.values().iter().copied());
            let sources = ind.downcast_iter().flat_map(|c| c.values().iter().copied());
            for (r, i) in targets.zip(sources) {
                let slot = &mut cursor[r as usize];
                indicators[*slot] = u16::try_from(i).map_err(|_| AnalysisError::Internal("indicator number"))?;
                *slot += 1;
            }
        }
        drop(ind_column);

        cursor.copy_from_slice(&offsets);
        let mut values = vec![0.0f64; total];
        {
            let value = value_column.f64()?;
            let targets = resp.downcast_iter().flat_map(|c| c.values().iter().copied());
            let sources = value.downcast_iter().flat_map(|c| c.values().iter().copied());
            for (r, v) in targets.zip(sources) {
                let slot = &mut cursor[r as usize];
                values[*slot] = v;
                *slot += 1;
            }
        }
        Ok(Self {
            offsets,
            indicators,
            values,
        })
    }
}
