//! Pass 2 of [`crate::pipeline`]: the answer rows, as polars streams them in batches, become each respondent's
//! (indicator, value) pairs — checked and walked through the skip logic ([`crate::checks`]) as soon as the
//! respondent's last row has arrived — stored compactly per unit, so that the answers never sit in memory whole.
//!
//! Pass 1 counted each respondent's non-empty rows, so a respondent is complete when that many have come; a file
//! written response by response (ykien's export, `ykien simulate`, most survey tools) keeps only a few respondents
//! open at a time, and any other order is still right, only holding more rows meanwhile. Values are kept as an
//! index into a dictionary of the distinct values of the run (answers take few distinct values: a Likert point, a
//! choice, a whole number between two bounds), 6 bytes per value instead of 16 for (indicator, f64) pairs and the
//! rows behind them, and read back exactly.

use std::collections::HashMap;

use polars::prelude::*;

use crate::AnalysisError;
use crate::checks::{Checker, IgnoredKind, RespondentRows, Walk};

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
    /// `number` (f64) and `unknown` (the question code of unknown-question rows).
    pub fn add_batch(&mut self, checker: &Checker, df: &DataFrame) -> Result<(), AnalysisError> {
        let resp = df.column("resp")?.u32()?;
        let q = df.column("q")?.u32()?;
        let code = df.column("code")?.u32()?;
        let number = df.column("number")?.f64()?;
        let unknown = df.column("unknown")?.str()?;
        for ((((r, q), code), number), unknown) in resp
            .iter()
            .zip(q.iter())
            .zip(code.iter())
            .zip(number.iter())
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
                    let row = (q, code.unwrap_or(NO_CODE_MATCHED), number.unwrap_or(f64::NAN));
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
