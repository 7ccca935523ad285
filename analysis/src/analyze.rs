//! The entry points the server and the `ykien analyze` command call: answers from rows or a file in, [`Scores`]
//! out, and `scores.csv` written.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use crate::AnalysisError;
use crate::codebook::Codebook;
use crate::input::{AnswerRow, Lineage, Unit, answers_frame, is_parquet, scan_answers, scan_weights, weights_frame};
use crate::pipeline::{ScoreInput, ScoreOptions, score_from};
use crate::scores::Scores;

/// Where the long-format answers come from.
#[derive(Debug, Clone, Copy)]
pub enum Answers<'a> {
    /// Rows the caller holds (the server reading its database, tests).
    Rows(&'a [AnswerRow]),
    /// A `.csv` or `.parquet` file with the columns [`crate::ANSWER_COLUMNS`], read lazily and streamed.
    File(&'a Path),
}

/// Where the optional post-stratification weights come from.
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// `(response_id, weight)` pairs.
    Pairs(&'a [(String, f64)]),
    /// A `.csv` or `.parquet` file with the columns [`crate::WEIGHT_COLUMNS`].
    File(&'a Path),
}

/// Scores every unit in every wave of `answers`: the one call behind `ykien analyze` and the dashboard.
///
/// `units` lists the units reported on with their provinces (every unit answered for, after the `lineage`, must be
/// in it); `weights` are optional (weight 1 each without them). The result's rows carry the columns of
/// `scores.csv`; see [`Scores`].
pub fn score_answers(
    answers: Answers<'_>,
    weights: Option<Weights<'_>>,
    codebook: &Codebook,
    units: &[Unit],
    lineage: &Lineage,
    options: &ScoreOptions,
) -> Result<Scores, AnalysisError> {
    // A Parquet file is read a few row groups at a time on every thread; anything else through polars' scan.
    let (parquet, answers) = match answers {
        Answers::Rows(rows) => (None, answers_frame(rows)?),
        Answers::File(path) => (is_parquet(path).then_some(path), scan_answers(path)?),
    };
    let weights = match weights {
        None => None,
        Some(Weights::Pairs(pairs)) => Some(weights_frame(pairs)?),
        Some(Weights::File(path)) => Some(scan_weights(path)?),
    };
    score_from(
        ScoreInput {
            answers,
            weights,
            codebook,
            units,
            lineage,
        },
        parquet,
        options,
    )
}

/// Writes `scores.csv` ([`Scores::write_csv`]: header [`crate::CSV_HEADER`], withheld scores left out) to `path`.
pub fn write_scores_csv(scores: &Scores, path: &Path) -> Result<(), AnalysisError> {
    let context = |source: io::Error| AnalysisError::Write {
        path: path.display().to_string(),
        source,
    };
    let file = File::create(path).map_err(context)?;
    scores.write_csv(BufWriter::new(file)).map_err(context)
}

/// Writes `ignored.csv` ([`Scores::write_ignored_csv`]: the answer rows left out of the scores, per wave,
/// question and reason) to `path`.
pub fn write_ignored_csv(scores: &Scores, path: &Path) -> Result<(), AnalysisError> {
    let context = |source: io::Error| AnalysisError::Write {
        path: path.display().to_string(),
        source,
    };
    let file = File::create(path).map_err(context)?;
    scores.write_ignored_csv(BufWriter::new(file)).map_err(context)
}
