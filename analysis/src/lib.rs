//! ykien's scoring and charts, following the "Scoring method" of DESIGN.md: from long-format survey answers to
//! per-unit scores with intervals, ranks and quartile groups, and from scores to PNG/SVG charts.
//!
//! The server crate `ykien` hands over answers (a file it exported or rows it read from storage), the codebook it
//! built from the wave's questionnaire, the units table and the lineage; this crate never depends on it nor on
//! `ykien-bots`, and keeps no state, so every number on a dashboard, export or printed report can be recomputed and
//! tested from plain inputs. Scoring and drawing are CPU work: call them off the async threads
//! (`tokio::task::spawn_blocking`).
//!
//! # Public API (what the server and the CLI call)
//!
//! ```text
//! // ykien analyze / the dashboard: answers (rows or a .csv/.parquet path) + codebook + optional weights + lineage
//! score_answers(Answers::Rows(&[AnswerRow]) | Answers::File(&Path),
//!               Option<Weights::Pairs(&[(String, f64)]) | Weights::File(&Path)>,
//!               &Codebook, &[Unit], &Lineage, &ScoreOptions) -> Result<Scores, AnalysisError>
//! write_scores_csv(&Scores, &Path) -> Result<(), AnalysisError>          // DIR/scores.csv, full precision
//! write_ignored_csv(&Scores, &Path) -> Result<(), AnalysisError>         // DIR/ignored.csv
//! UnitScorer::new(&Codebook, ScoreOptions); scorer.add(&mut UnitAnswers, weight, [(question, answer)]) per
//!   respondent in response-id order; scorer.score(wave, unit, province, &UnitAnswers) -> UnitScores (serde);
//!   assemble(&[UnitScores]) -> Scores                                  // the server: one commune at a time
//! Scores { rows: Vec<ScoreRow>, withheld: Vec<WithheldRow>, cut_points: Vec<CutPoints>, ignored: Vec<IgnoredRows> }
//! Codebook { dimensions, subdimensions, indicators, questions /* scored */, asked: Vec<AskedQuestion> /* all, with skip logic */ }
//! eligibility::{Condition, Given, is_eligible}    // the one skip-logic rule, shared with the server's survey engine
//!   ScoreRow { wave, unit_code, province_code, level, code, score, n, ci_low, ci_high, rank, quartile, sufficiency }
//!   Scores::get(wave, unit, level, code), Scores::province_mean(..), Scores::changes(from_wave, to_wave)
//!   Scores::write_csv(impl Write)  // header CSV_HEADER = wave,unit_code,level,code,score,n,ci_low,ci_high,rank,quartile
//! kpis(&[CaseFacts], now) -> Vec<UnitKpi>                                // feedback KPIs per unit
//!
//! // charts: builders from Scores (Vietnamese titles) and renderers to PNG/SVG bytes
//! write_charts(ChartData { scores, codebook, units }, dir, &ChartOptions) -> Result<Vec<PathBuf>, AnalysisError>
//! write_kpi_chart(&[UnitKpi], &[Unit], dir, &ChartOptions) -> Result<Vec<PathBuf>, AnalysisError>
//! report::{profile_chart, radar_chart, heatmap_chart, ranking_chart, map_chart, trend_chart, kpi_chart}
//! charts::{dimension_profile, radar, quartile_heatmap, ranking, score_map, trend, feedback_kpis}
//!     (&Chart, (width, height), Format::Png | Format::Svg) -> Result<Vec<u8>, ChartError>
//!
//! // ykien simulate --units FILE --responses N --seed S [--plant UNIT:DIMENSION:DELTA]… --out FILE
//! SimulateOptions { wave, responses, seed, plants: Vec<Plant /* "11953:d3:-2".parse() */>, dont_know, skipped,
//!                   not_eligible }
//! write_simulated(&Codebook, &[Unit], &SimulateOptions, &Path) -> Result<u64, SimulateError> // .csv or .parquet
//! simulate(&Codebook, &[Unit], &SimulateOptions) -> Result<Vec<AnswerRow>, SimulateError>   // in memory
//!
//! // ykien weights compute --answers FILE --margins FILE --out FILE: raking per wave and province
//! Margins::parse_csv(&str) -> Result<Margins, MarginsError>
//! compute_weights(&[AnswerRow], &[Unit], &Lineage, &Margins, &RakeOptions) -> ComputedWeights
//! rake(cells, populations, &RakeOptions) -> Raked { weights, design_effect, effective_n, .. }
//! ```
//!
//! The method's steps, in order:
//!
//! - [`checks`] and [`eligibility`]: which rows of an answers file count (a known question, an answer it takes,
//!   one answer per question, the skip logic, step 7); the others are counted, never scored.
//! - [`indicator`]: one answer becomes a value in [0, 1] (step 1); [`codebook`] says which question measures which
//!   indicator with which rule, and what a stored answer string is worth.
//! - [`aggregate`]: values become indicator, sub-dimension, dimension (1–10) and total (8–80) scores, and whether
//!   a unit has answers enough to be shown (steps 2–4).
//! - [`pipeline::score`]: the whole run over millions of answers, in bounded memory. The answers ([`input`]: CSV
//!   or Parquet, or rows in memory) are read once, in batches on every thread — a Parquet file a row-group slice
//!   at a time, only its five answer columns; anything else through polars' streaming engine — and each response's
//!   run of rows is checked, walked through the skip logic and kept as one small code per indicator
//!   (`answer_runs`); answers not grouped by response are read in two streaming passes instead
//!   (`respondent_values`), with the same result. The respondents are sorted by wave, unit and id, and each unit
//!   is scored on its own thread with a seeded bootstrap over its respondents ([`bootstrap`](mod@bootstrap)) for
//!   the 95% intervals: four replicates at a time as a small matrix product of counts and rows. [`analyze`] wraps
//!   it for callers.
//! - [`unit_scores`]: the same arithmetic one (wave, unit) at a time from answers in memory ([`UnitScorer`]), and
//!   [`assemble`] for the ranks over all units: how the server scores from its database in bounded memory.
//! - [`quartile`](mod@quartile) and [`scores`]: ranks and PAPI's four groups within each province, with the cut
//!   points to store (step 5), the privacy rule (scores from fewer than 10 respondents are withheld), the CSV
//!   export, and the change between waves through the lineage (step 6).
//! - [`raking`] and [`margins`]: post-stratification weights to population margins (step 8), with their design
//!   effect and effective sample size.
//! - [`kpi`]: the feedback KPIs of each unit (cases, on-time rate, median time to answer, mean rating).
//! - [`charts`]: the dashboard's and reports' charts as PNG or SVG bytes, with an embedded font that has every
//!   Vietnamese letter; [`report`] builds them from [`Scores`] and writes them to files.
//! - [`simulate`](mod@simulate): synthetic answers with planted differences, for tests, the demo and benchmarks.

pub mod aggregate;
pub mod analyze;
pub(crate) mod answer_runs;
pub mod bootstrap;
pub mod charts;
pub mod checks;
pub mod codebook;
pub mod dimension_rule;
pub mod eligibility;
pub mod export;
pub mod indicator;
pub mod input;
pub mod kpi;
pub mod margins;
pub mod pipeline;
pub mod quartile;
pub mod raking;
pub mod report;
pub(crate) mod respondent_values;
pub mod score_index;
pub mod scores;
pub mod simulate;
pub mod table;
pub mod unit_scores;

pub use aggregate::{
    DIMENSION_COUNT, DIMENSION_MAX, DIMENSION_MIN, MIN_RESPONDENTS_ENOUGH, MIN_RESPONDENTS_SHOWN, ScoreError,
    Sufficiency, TOTAL_MAX, TOTAL_MIN, WeightedMean, dimension_score, subdimension_score, sufficiency, total_score,
    weighted_mean,
};
pub use analyze::{Answers, Weights, score_answers, write_ignored_csv, write_scores_csv};
pub use checks::{IGNORED_CSV_HEADER, IgnoredKind, IgnoredRows};
pub use codebook::{
    Accepts, AskedQuestion, Codebook, CodebookError, DONT_KNOW, DimensionDef, IndicatorDef, Name, QuestionDef, REFUSED,
    SubdimensionDef, stored_value,
};
pub use dimension_rule::{
    DimensionRule, PAPI_CSV_HEADER, PapiScale, PartialScore, apply_dimension_rule, papi_scale,
    write_scores_csv_with_papi,
};
pub use eligibility::{Condition, Given};
pub use export::AnswerParquetWriter;
pub use indicator::{Answer, NO_CODE, RuleError, ValueRule, YES_CODE};
pub use input::{
    ANSWER_COLUMNS, AnswerRow, Lineage, Unit, WEIGHT_COLUMNS, answers_frame, read_rows_of, scan_answers, scan_weights,
    weights_frame,
};
pub use kpi::{CaseFacts, CaseStatus, UnitKpi, kpis};
pub use margins::{ComputedWeights, Margin, Margins, MarginsError, ProvinceWeights, compute_weights};
pub use pipeline::{ScoreInput, ScoreOptions, score};
pub use quartile::{Quartile, cut_points, quartile};
pub use raking::{RakeOptions, Raked, kish, rake};
pub use report::{ChartData, ChartOptions, write_charts, write_kpi_chart};
pub use score_index::WaveScores;
pub use scores::{CSV_HEADER, Change, CutPoints, Level, ScoreRow, Scores, TOTAL_CODE, WithheldRow};
pub use simulate::{Plant, SimulateError, SimulateOptions, simulate, write_simulated, write_simulated_csv};
pub use table::{AnswerXlsxWriter, Cell, Table, XlsxWriteError, workbook};
pub use unit_scores::{UnitAnswers, UnitScorer, UnitScores, assemble};

/// Why a scoring run failed; each message says which input to fix.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The codebook is inconsistent.
    #[error("the codebook cannot be used: {0}")]
    Codebook(#[from] CodebookError),
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What polars said.
        source: polars::error::PolarsError,
    },
    /// The data could not be processed, e.g. a column is missing or has the wrong type.
    #[error("cannot process the answers: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// A value or weight was refused by the scoring arithmetic.
    #[error("cannot score: {0}")]
    Score(#[from] ScoreError),
    /// An answer row lacks its response id, wave or unit.
    #[error("response {response_id:?} has an answer without {column}")]
    MissingKey {
        /// The response (empty when the id itself is missing).
        response_id: String,
        /// The missing column.
        column: &'static str,
    },
    /// The rows of one response disagree on its wave or unit.
    #[error("response {response_id:?} has answers with {column} {first:?} and {second:?}")]
    InconsistentResponse {
        /// The response.
        response_id: String,
        /// `wave` or `unit_code`.
        column: &'static str,
        /// One value.
        first: String,
        /// Another value.
        second: String,
    },
    /// Answers were given for units the units table (after the lineage) does not list.
    #[error("answers were given for units that are not in the units table (or its lineage): {}", codes.join(", "))]
    UnknownUnits {
        /// Up to five of them.
        codes: Vec<String>,
    },
    /// A legacy unit was given two successors.
    #[error("legacy unit {legacy:?} is given two successors, {first:?} and {second:?}: keep its main one")]
    AmbiguousLineage {
        /// The legacy code.
        legacy: String,
        /// One successor.
        first: String,
        /// Another successor.
        second: String,
    },
    /// Weights were given, but not for this response.
    #[error("response {response_id:?} has no weight (the weights were made for another extract?)")]
    MissingWeight {
        /// The response.
        response_id: String,
    },
    /// A weight is negative, not a number, or missing.
    #[error("response {response_id:?} has weight {weight}, which is not a finite number ≥ 0")]
    BadWeight {
        /// The response.
        response_id: String,
        /// The weight.
        weight: f64,
    },
    /// A response is given two different weights.
    #[error("response {response_id:?} is given two different weights")]
    DuplicateWeight {
        /// The response.
        response_id: String,
    },
    /// More responses than respondent numbers (2³²) in one run.
    #[error("{count} responses are more than one run can score; score fewer waves at once")]
    TooManyResponses {
        /// The number of responses.
        count: usize,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw {name}: {source}")]
    Chart {
        /// The chart's file name.
        name: String,
        /// Why.
        source: charts::ChartError,
    },
    /// A bug in this crate.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
