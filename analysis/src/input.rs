//! What scoring reads: long-format answers, optional post-stratification weights, the units table and the unit
//! lineage, from files (lazily, for millions of rows) or from rows the server already holds.
//!
//! Answers: one row per (response, question), columns `response_id`, `wave`, `unit_code`, `question`, `answer`,
//! all strings (extra columns are ignored). `answer` is a choice code, a Likert point, a number, `DK` or `RF`; a
//! null or empty answer is missing. CSV files are UTF-8 with a header row (a byte-order mark is allowed) and are
//! read with every column as text, so unit codes keep their leading zeros (`00070`); Parquet columns are cast to
//! text. A response's wave and unit are those of its rows, which must agree.
//!
//! Weights: one row per response, columns `response_id`, `weight` (a finite number ≥ 0; 0 drops the respondent).
//! When weights are given, every response must have one: a response left out is an error, not weight 1, because
//! it means the weights were computed for another extract.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// The columns of long-format answers, in order.
pub const ANSWER_COLUMNS: [&str; 5] = ["response_id", "wave", "unit_code", "question", "answer"];

/// The columns of a weights table, in order.
pub const WEIGHT_COLUMNS: [&str; 2] = ["response_id", "weight"];

/// One answer row, for callers that hold answers in memory (the server reading its database, tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRow {
    /// The response it belongs to (one per person per wave).
    pub response_id: String,
    /// The wave's code.
    pub wave: String,
    /// The unit the response was given for, as it was coded at the time (a legacy code is mapped by the lineage).
    pub unit_code: String,
    /// The question's code.
    pub question: String,
    /// The stored answer; `None` for free text or nothing.
    pub answer: Option<String>,
}

/// A lazy scan of long-format answers from a `.csv` or `.parquet` file (by extension; anything else is read as
/// CSV), with exactly the five [`ANSWER_COLUMNS`] as text.
pub fn scan_answers(path: &Path) -> Result<LazyFrame, AnalysisError> {
    Ok(scan(path)?.select(ANSWER_COLUMNS.map(|c| col(c).cast(DataType::String))))
}

/// A lazy scan of post-stratification weights (`response_id`, `weight`) from a `.csv` or `.parquet` file.
pub fn scan_weights(path: &Path) -> Result<LazyFrame, AnalysisError> {
    Ok(scan(path)?.select([
        col("response_id").cast(DataType::String),
        col("weight").cast(DataType::Float64).alias("weight"),
    ]))
}

fn scan(path: &Path) -> Result<LazyFrame, AnalysisError> {
    let context = |source: PolarsError| AnalysisError::Read {
        path: path.display().to_string(),
        source,
    };
    let pl_path = PlRefPath::try_from_path(path).map_err(context)?;
    if is_parquet(path) {
        LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(context)
    } else {
        LazyCsvReader::new(pl_path)
            .with_has_header(true)
            // Every column as text: codes keep their leading zeros, and numbers are read by the codebook's rules.
            .with_infer_schema_length(Some(0))
            .finish()
            .map_err(context)
    }
}

/// Whether a file is read as Parquet: by its extension, `.parquet`.
pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The rows of a `.csv` or `.parquet` answers file that answer one of `questions` (e.g. the profile questions
/// weights are computed from), read in memory.
pub fn read_rows_of(path: &Path, questions: &[String]) -> Result<Vec<AnswerRow>, AnalysisError> {
    let wanted = DataFrame::new(
        questions.len(),
        vec![Column::new("question".into(), questions.to_vec())],
    )?;
    let df = scan_answers(path)?
        .join(
            wanted.lazy(),
            [col("question")],
            [col("question")],
            JoinArgs::new(JoinType::Inner),
        )
        .select(ANSWER_COLUMNS.map(col))
        .collect()?;
    let column = |name: &str| -> Result<Vec<Option<String>>, AnalysisError> {
        Ok(df.column(name)?.str()?.iter().map(|v| v.map(str::to_owned)).collect())
    };
    let (ids, waves, units, question, answers) = (
        column("response_id")?,
        column("wave")?,
        column("unit_code")?,
        column("question")?,
        column("answer")?,
    );
    Ok(ids
        .into_iter()
        .zip(waves)
        .zip(units)
        .zip(question)
        .zip(answers)
        .map(|((((id, wave), unit), question), answer)| AnswerRow {
            response_id: id.unwrap_or_default(),
            wave: wave.unwrap_or_default(),
            unit_code: unit.unwrap_or_default(),
            question: question.unwrap_or_default(),
            answer,
        })
        .collect())
}

/// Long-format answers from rows in memory, as a lazy frame like [`scan_answers`] gives.
pub fn answers_frame(rows: &[AnswerRow]) -> Result<LazyFrame, AnalysisError> {
    Ok(answers_dataframe(rows)?.lazy())
}

/// Rows as a data frame with the [`ANSWER_COLUMNS`].
pub(crate) fn answers_dataframe(rows: &[AnswerRow]) -> Result<DataFrame, AnalysisError> {
    let column = |name: &str, f: &dyn Fn(&AnswerRow) -> Option<&str>| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<&str>>>())
    };
    Ok(DataFrame::new(
        rows.len(),
        vec![
            column("response_id", &|r| Some(r.response_id.as_str())),
            column("wave", &|r| Some(r.wave.as_str())),
            column("unit_code", &|r| Some(r.unit_code.as_str())),
            column("question", &|r| Some(r.question.as_str())),
            column("answer", &|r| r.answer.as_deref()),
        ],
    )?)
}

/// Post-stratification weights from pairs in memory, as a lazy frame like [`scan_weights`] gives.
pub fn weights_frame(weights: &[(String, f64)]) -> Result<LazyFrame, AnalysisError> {
    let ids: Vec<&str> = weights.iter().map(|(id, _)| id.as_str()).collect();
    let values: Vec<f64> = weights.iter().map(|(_, w)| *w).collect();
    let df = DataFrame::new(
        weights.len(),
        vec![
            Column::new("response_id".into(), ids),
            Column::new("weight".into(), values),
        ],
    )?;
    Ok(df.lazy())
}

/// A unit scores are reported for: today's communes (or whatever level the waves were run at).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// The GSO code at its official width, e.g. `11953`.
    pub code: String,
    /// The name charts print, e.g. `Phường Phố Hiến`.
    pub name: String,
    /// The province ranks and quartiles are computed within.
    pub province_code: String,
    /// Centroid latitude, for the map.
    pub lat: Option<f64>,
    /// Centroid longitude, for the map.
    pub lon: Option<f64>,
}

/// Which legacy unit's answers count for which successor, so a time series survives a reform.
///
/// One step only: `legacy → successor` is applied once and never chained, because codes are reused across
/// reforms (11953 was Phường Hiến Nam until 30 June 2025 and is Phường Phố Hiến since), so a chain could walk
/// from a legacy unit into an unrelated one. A legacy unit split between successors is given once, with its main
/// successor (`is_default` in the lineage files). By default the lineage applies to every wave; when a legacy code
/// is reused by a different current unit, restrict it with [`Lineage::only_waves`] to the waves run before the
/// reform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lineage {
    successors: HashMap<String, String>,
    waves: Option<HashSet<String>>,
}

impl Lineage {
    /// No lineage: every answer counts for the unit it was given for.
    pub fn none() -> Self {
        Self::default()
    }

    /// A lineage from `(legacy_code, successor_code)` pairs; a legacy code given two different successors is an
    /// error (pick the main one), the same pair twice is not.
    pub fn new<I, A, B>(pairs: I) -> Result<Self, AnalysisError>
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        let mut successors: HashMap<String, String> = HashMap::new();
        for (legacy, successor) in pairs {
            let (legacy, successor) = (legacy.into(), successor.into());
            if let Some(earlier) = successors.get(&legacy)
                && *earlier != successor
            {
                return Err(AnalysisError::AmbiguousLineage {
                    legacy,
                    first: earlier.clone(),
                    second: successor,
                });
            }
            successors.insert(legacy, successor);
        }
        Ok(Self {
            successors,
            waves: None,
        })
    }

    /// Applies the lineage only to answers of these waves (those run before the reform).
    pub fn only_waves<I, S>(mut self, waves: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.waves = Some(waves.into_iter().map(Into::into).collect());
        self
    }

    /// The unit an answer given in `wave` for `unit_code` counts for.
    pub fn successor<'a>(&'a self, wave: &str, unit_code: &'a str) -> &'a str {
        if self.waves.as_ref().is_some_and(|waves| !waves.contains(wave)) {
            return unit_code;
        }
        self.successors.get(unit_code).map_or(unit_code, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineage_maps_one_step_and_only_in_its_waves() {
        let lineage = Lineage::new([("11950", "11983"), ("11983", "12000"), ("11953", "11953")]).expect("valid");
        assert_eq!(lineage.successor("2024", "11950"), "11983");
        // One step: 11950 → 11983 does not continue to 12000.
        assert_eq!(lineage.successor("2024", "11983"), "12000");
        assert_eq!(lineage.successor("2024", "11977"), "11977");
        let scoped = lineage.only_waves(["2024"]);
        assert_eq!(scoped.successor("2025", "11983"), "11983");
        assert_eq!(scoped.successor("2024", "11950"), "11983");
    }

    #[test]
    fn a_legacy_unit_with_two_successors_is_refused() {
        let error = Lineage::new([("12004", "11995"), ("12004", "12001")]).expect_err("ambiguous");
        assert!(error.to_string().contains("12004"), "{error}");
        assert!(Lineage::new([("1", "2"), ("1", "2")]).is_ok());
    }
}
