//! The answers pass of [`crate::pipeline`] for answers in any order: two streaming passes, so that a file whose
//! responses are not together (rows sorted by question, say) is still read in bounded memory. The pipeline uses
//! it only when the one read of [`crate::answer_runs`] finds a response's rows in two places.
//!
//! 1. `group_by(response_id)` gives the respondents (about one per 100 answer rows) with their wave, unit and
//!    number of non-empty answers. In Rust they get the lineage, their weight and their province, and are sorted
//!    by wave, unit and id: respondent `k` is the number `k`, and each unit's respondents are one contiguous range.
//! 2. Each non-empty answer is joined to its question (its number in the order asked; none for a question the
//!    questionnaire lacks, counted per wave and question), to the question's codes (the code's index) and to its
//!    respondent number, and streamed in batches to [`RespondentValues`], which checks and walks each respondent
//!    through the skip logic in question order ([`crate::checks`]) as soon as its rows have all come: what counts
//!    becomes (indicator, value) pairs kept per unit, what does not is counted.
//!
//! Pass 1 counted each respondent's non-empty rows, so a respondent is complete when that many have come; any
//! order is right, only holding more rows meanwhile. Values are kept as an index into a dictionary of the
//! distinct values of the run (answers take few distinct values), 6 bytes per value instead of 16 for
//! (indicator, f64) pairs and the rows behind them, and read back exactly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::AnalysisError;
use crate::checks::{Checker, IgnoredKind, IgnoredRows, RespondentRows, Walk, collect_ignored};
use crate::codebook::Codebook;
use crate::pipeline::{GroupKey, ScoreInput, weights_of};

/// The code index that means "matched no code of the question" (as [`crate::checks`] reads it).
pub(crate) const NO_CODE_MATCHED: u32 = u32::MAX;

/// One answer row of an open respondent: question number, code index, the answer read as a number.
type OpenRow = (u16, u32, f64);

/// The values of every respondent, per unit group, and what was ignored.
pub(crate) struct RespondentValues {
    /// Per respondent (in scoring order), its group.
    group_of: Vec<u32>,
    /// Per respondent, its wave's number (for the ignored counts).
    wave_of: Vec<u32>,
    /// Per respondent, the non-empty rows still to come.
    pending: Vec<u32>,
    /// Rows of respondents whose rows have not all come yet.
    open: HashMap<u32, Vec<OpenRow>>,
    /// Per respondent, where its values start in its group's store, and how many there are.
    starts: Vec<u32>,
    lens: Vec<u16>,
    /// Per group, the values of its respondents in the order they completed.
    indicators: Vec<Vec<u16>>,
    values: Vec<Vec<u32>>,
    /// The distinct values, by bit pattern.
    dictionary: Vec<f64>,
    dictionary_index: HashMap<u64, u32>,
    /// Ignored rows per (wave number, question number, reason).
    pub ignored: HashMap<(u32, usize, IgnoredKind), u64>,
    /// Rows of questions the questionnaire does not have, per (wave number, question code).
    pub unknown: HashMap<(u32, String), u64>,
    walk: Walk,
    rows: (Vec<u16>, Vec<u32>, Vec<f64>),
}

/// One respondent's values, read back.
pub(crate) struct GroupValues {
    pub offsets: Vec<usize>,
    pub indicators: Vec<u16>,
    pub values: Vec<f64>,
}

impl RespondentValues {
    /// Ready for `group_of.len()` respondents, each expecting `expected[k]` non-empty rows.
    pub fn new(group_of: Vec<u32>, wave_of: Vec<u32>, expected: Vec<u32>, groups: usize) -> Self {
        let respondents = group_of.len();
        Self {
            group_of,
            wave_of,
            pending: expected,
            open: HashMap::new(),
            starts: vec![0; respondents],
            lens: vec![0; respondents],
            indicators: vec![Vec::new(); groups],
            values: vec![Vec::new(); groups],
            dictionary: Vec::new(),
            dictionary_index: HashMap::new(),
            ignored: HashMap::new(),
            unknown: HashMap::new(),
            walk: Walk::default(),
            rows: (Vec::new(), Vec::new(), Vec::new()),
        }
    }

    /// Takes one batch of the columns `resp` (u32), `q` (u32, null for an unknown question), `code` (u32),
    /// `answer` (text) and `unknown` (the question code of unknown-question rows).
    pub fn add_batch(&mut self, checker: &Checker, df: &DataFrame) -> Result<(), AnalysisError> {
        let resp = df.column("resp")?.u32()?;
        let q = df.column("q")?.u32()?;
        let code = df.column("code")?.u32()?;
        let answer = df.column("answer")?.str()?;
        let unknown = df.column("unknown")?.str()?;
        for ((((r, q), code), answer), unknown) in resp
            .iter()
            .zip(q.iter())
            .zip(code.iter())
            .zip(answer.iter())
            .zip(unknown.iter())
        {
            let Some(r) = r else { continue };
            let k = r as usize;
            let Some(left) = self.pending.get_mut(k) else {
                return Err(AnalysisError::Internal("a respondent number out of range"));
            };
            if *left == 0 {
                return Err(AnalysisError::Internal(
                    "more rows for a respondent than pass 1 counted",
                ));
            }
            *left -= 1;
            let done = *left == 0;
            match q {
                Some(q) => {
                    let q = u16::try_from(q).map_err(|_| AnalysisError::Internal("question number"))?;
                    let code = code.unwrap_or(NO_CODE_MATCHED);
                    // As `stored_value` reads a number; only an answer that is none of the codes is read as one.
                    let number = match answer {
                        Some(answer) if code == NO_CODE_MATCHED => answer.parse::<f64>().unwrap_or(f64::NAN),
                        _ => f64::NAN,
                    };
                    let row = (q, code, number);
                    if done && !self.open.contains_key(&r) {
                        // The respondent's only row still to come: walked without an open buffer.
                        self.finish(checker, k, &[row]);
                        continue;
                    }
                    self.open.entry(r).or_default().push(row);
                }
                None => {
                    let wave = self.wave_of[k];
                    *self
                        .unknown
                        .entry((wave, unknown.unwrap_or_default().to_owned()))
                        .or_default() += 1;
                }
            }
            if done {
                let rows = self.open.remove(&r).unwrap_or_default();
                self.finish(checker, k, &rows);
            }
        }
        Ok(())
    }

    /// Checks and walks respondent `k`'s rows, storing its values.
    fn finish(&mut self, checker: &Checker, k: usize, rows: &[OpenRow]) {
        let (questions, codes, numbers) = &mut self.rows;
        questions.clear();
        codes.clear();
        numbers.clear();
        for &(q, code, number) in rows {
            questions.push(q);
            codes.push(code);
            numbers.push(number);
        }
        let group = self.group_of[k] as usize;
        let wave = self.wave_of[k];
        let start = self.indicators[group].len();
        let (ignored, indicators, values) = (&mut self.ignored, &mut self.indicators[group], &mut self.values[group]);
        let (dictionary, dictionary_index) = (&mut self.dictionary, &mut self.dictionary_index);
        checker.walk(
            RespondentRows {
                questions,
                codes,
                numbers,
            },
            &mut self.walk,
            |q, kind, n| *ignored.entry((wave, q, kind)).or_default() += n,
            |indicator, value| {
                let index = *dictionary_index.entry(value.to_bits()).or_insert_with(|| {
                    dictionary.push(value);
                    (dictionary.len() - 1) as u32
                });
                indicators.push(indicator);
                values.push(index);
            },
        );
        // A group holds a few hundred respondents of at most 65,535 values each; u32 offsets are ample.
        self.starts[k] = start as u32;
        self.lens[k] = (self.indicators[group].len() - start) as u16;
    }

    /// Fails if a respondent's rows did not all come (a bug: pass 1 and pass 2 disagree).
    pub fn check_complete(&self) -> Result<(), AnalysisError> {
        if !self.open.is_empty() || self.pending.iter().any(|&left| left > 0) {
            return Err(AnalysisError::Internal("some answer rows of a respondent never came"));
        }
        Ok(())
    }

    /// The values of respondents `start..end` (one group), in that order, as [`crate::bootstrap::Group`] reads
    /// them.
    pub fn group(&self, start: usize, end: usize) -> GroupValues {
        let mut out = GroupValues {
            offsets: Vec::with_capacity(end - start + 1),
            indicators: Vec::new(),
            values: Vec::new(),
        };
        out.offsets.push(0);
        for k in start..end {
            let group = self.group_of[k] as usize;
            let from = self.starts[k] as usize;
            let to = from + usize::from(self.lens[k]);
            out.indicators
                .extend_from_slice(self.indicators[group].get(from..to).unwrap_or_default());
            out.values.extend(
                self.values[group]
                    .get(from..to)
                    .unwrap_or_default()
                    .iter()
                    .map(|&i| self.dictionary[i as usize]),
            );
            out.offsets.push(out.indicators.len());
        }
        out
    }
}

/// The respondents in scoring order (by wave, unit and response id): respondent `k` is the number `k`, and each
/// unit's respondents are one contiguous range.
pub(crate) struct Respondents {
    /// Response ids, in scoring order.
    pub ids: Vec<String>,
    pub weights: Vec<f64>,
    pub groups: Groups,
}

/// The (wave, unit) groups and, per respondent, its group and the non-empty answer rows it has.
pub(crate) struct Groups {
    /// Wave codes, in order.
    waves: Vec<String>,
    pub list: Vec<GroupKey>,
    /// Per group, its wave's index in `waves`.
    wave_of: Vec<u32>,
    group_of: Vec<u32>,
    expected: Vec<u32>,
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
pub(crate) fn respondents(input: &ScoreInput<'_>) -> Result<Respondents, AnalysisError> {
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
        Some(lf) => Some(weights_of(lf.clone())?),
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
        wave_of: Vec::new(),
        group_of: Vec::with_capacity(list.len()),
        expected: Vec::with_capacity(list.len()),
    };
    let mut ids = Vec::with_capacity(list.len());
    let mut weights = Vec::with_capacity(list.len());
    for (k, r) in list.into_iter().enumerate() {
        if groups.waves.last() != Some(&r.wave) {
            groups.waves.push(r.wave.clone());
        }
        let wave = groups.waves.len() - 1;
        match groups.list.last_mut() {
            Some(g) if g.wave == r.wave && g.unit == r.unit => g.end = k + 1,
            _ => {
                groups.list.push(GroupKey {
                    wave: r.wave,
                    unit: r.unit,
                    province: r.province,
                    start: k,
                    end: k + 1,
                });
                groups.wave_of.push(wave as u32);
            }
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

/// Pass 2: every non-empty answer row joined to its question (its number; none for a question the questionnaire
/// lacks), the question's codes (the code's index) and its respondent's number, read as a number, and streamed
/// in batches into [`RespondentValues`], which walks each respondent once its rows have all come.
pub(crate) fn checked_values(
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
    let wave_of = groups.group_of.iter().map(|&g| groups.wave_of[g as usize]).collect();
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
            col("answer"),
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
