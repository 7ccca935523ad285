//! Scores and charts: the glue between ykien's data (questionnaires, units, stored answers) and the pure
//! `ykien-analysis` crate, for `ykien export answers`, `ykien analyze` and `ykien simulate`.
//!
//! - [`codebook`]: what scoring needs of a questionnaire version (its scored questions and their rules).
//! - [`units_from_files`] / [`units_from_store`]: the communes scores are reported for, with their provinces,
//!   centroids and the lineage that carries legacy communes' answers to their successors.
//! - [`export_answers`]: a wave's complete responses in long format, read from the database a page at a time and
//!   written as CSV (UTF-8 with a byte-order mark, for Excel) or Parquet.
//! - [`analyze`] and [`simulate`]: the CPU-bound runs, on the blocking thread pool.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use ykien_analysis::{
    Accepts, AnalysisError, AnswerParquetWriter, AnswerRow, AskedQuestion, ChartData, ChartOptions, Codebook,
    ComputedWeights, DimensionDef, IgnoredKind, IndicatorDef, Lineage, Margins, Name, QuestionDef, RakeOptions,
    ScoreOptions, SimulateError, SimulateOptions, SubdimensionDef, Unit, ValueRule,
};

use super::units::{Batch, ImportOptions, parse_csv};
use crate::domain::Text;
use crate::domain::questionnaire::{DONT_KNOW, QuestionKind, Questionnaire, REFUSED};
use crate::domain::survey::Wave;
use crate::domain::units::{NewUnit, UnitLevel};
use crate::storage::{Store, StoreError};

/// Responses read from the database per page of an export (about 100 answers each).
const EXPORT_PAGE: i64 = 1_000;

/// Why an export, analysis or simulation failed; one line each, naming the input to fix.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisFailure {
    /// An input file or argument is wrong.
    #[error("{0}")]
    Input(String),
    #[error("no survey wave has code {0}")]
    WaveNotFound(String),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Simulate(#[from] SimulateError),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the background task failed: {0}")]
    Task(String),
}

/// The file formats `ykien export answers` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
    /// An Excel workbook, written in constant memory; a sheet holds 1,048,575 answers, more go on further sheets.
    Xlsx,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            "xlsx" => Ok(Self::Xlsx),
            _ => Err(format!("unknown format {s:?}; use csv, parquet or xlsx")),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Xlsx => "xlsx",
        })
    }
}

fn name(text: &Text) -> Name {
    Name::new(text.vi.clone(), text.en.clone())
}

/// The codebook of a questionnaire version: its dimensions (numbered by the digits of their codes, `d3` → 3, or
/// by their order), sub-dimensions, indicators and scored questions with their value rules, and every question as
/// it is asked (the answers it takes, its skip logic), so that scoring applies the skip logic and counts what it
/// ignores.
pub fn codebook(questionnaire: &Questionnaire) -> Result<Codebook, AnalysisFailure> {
    let mut dimensions = Vec::new();
    for (i, d) in questionnaire.dimensions.iter().enumerate() {
        let digits: String = d.code.chars().filter(char::is_ascii_digit).collect();
        let number = digits
            .parse::<u8>()
            .ok()
            .unwrap_or(u8::try_from(i + 1).unwrap_or(u8::MAX));
        dimensions.push(DimensionDef {
            number,
            code: d.code.clone(),
            name: name(&d.name),
        });
    }
    let subdimensions = questionnaire
        .subdimensions
        .iter()
        .map(|s| SubdimensionDef {
            code: s.code.clone(),
            dimension: s.parent.clone().unwrap_or_default(),
            name: name(&s.name),
        })
        .collect();
    let indicators = questionnaire
        .indicators
        .iter()
        .map(|s| IndicatorDef {
            code: s.code.clone(),
            subdimension: s.parent.clone().unwrap_or_default(),
            name: name(&s.name),
        })
        .collect();
    let mut questions = Vec::new();
    for q in &questionnaire.questions {
        let Some(indicator) = &q.indicator else { continue };
        let missing = || AnalysisFailure::Input(format!("question {} is scored but has no direction", q.code));
        let rule = match &q.kind {
            QuestionKind::YesNo { yes_is_good } => ValueRule::YesNo {
                yes_is_good: yes_is_good.ok_or_else(missing)?,
            },
            QuestionKind::Likert { labels, high_is_good } => ValueRule::Likert {
                points: u8::try_from(labels.len()).unwrap_or(u8::MAX),
                high_is_good: high_is_good.ok_or_else(missing)?,
            },
            QuestionKind::Number { good, bad, .. } => ValueRule::Number {
                good: good.ok_or_else(missing)?,
                bad: bad.ok_or_else(missing)?,
            },
            QuestionKind::Single { choices } => ValueRule::Choice {
                values: choices
                    .iter()
                    .filter_map(|c| c.value.map(|v| (c.code.clone(), v)))
                    .collect(),
            },
            QuestionKind::Text { .. } => continue,
        };
        questions.push(QuestionDef {
            code: q.code.clone(),
            indicator: indicator.clone(),
            rule,
        });
    }
    let asked = questionnaire
        .questions
        .iter()
        .map(|q| AskedQuestion {
            code: q.code.clone(),
            accepts: match &q.kind {
                QuestionKind::Number { min, max, .. } => Accepts::Number {
                    min: *min as f64,
                    max: *max as f64,
                },
                QuestionKind::Text { .. } => Accepts::Text,
                QuestionKind::YesNo { .. } | QuestionKind::Single { .. } | QuestionKind::Likert { .. } => {
                    Accepts::Codes(
                        q.options()
                            .into_iter()
                            .map(|o| o.code)
                            .filter(|c| c != DONT_KNOW && c != REFUSED)
                            .collect(),
                    )
                }
            },
            dont_know: q.offers_special_codes(),
            when: q.when.clone(),
        })
        .collect();
    let codebook = Codebook {
        dimensions,
        subdimensions,
        indicators,
        questions,
        asked,
    };
    codebook
        .validate()
        .map_err(|e| AnalysisFailure::Input(format!("the questionnaire cannot be scored: {e}")))?;
    Ok(codebook)
}

/// The codebook of a questionnaire file's text; its problems on one line.
pub fn codebook_from_toml(text: &str) -> Result<Codebook, AnalysisFailure> {
    let questionnaire = Questionnaire::parse(text).map_err(|e| {
        AnalysisFailure::Input(format!(
            "{} problem(s) in the questionnaire: {}",
            e.0.len(),
            e.0.join("; ")
        ))
    })?;
    codebook(&questionnaire)
}

/// The units scores are reported for, the lineage, and the provinces' names (for chart titles).
#[derive(Clone, Debug, Default)]
pub struct UnitsTable {
    pub units: Vec<Unit>,
    pub lineage: Lineage,
    pub province_names: BTreeMap<String, String>,
}

/// Reads units from CSV files of the shapes `ykien units import` takes (data/admin-units/README.md): the communes
/// of two-level (2025) or legacy three-level files, each with its province, name and centroid, and the main
/// successor of each legacy commune from lineage files. When a code appears in several unit files, the last
/// file wins: give the units the waves were run on (today's communes; legacy communes' answers reach them through
/// a lineage file).
pub fn units_from_files(paths: &[PathBuf]) -> Result<UnitsTable, AnalysisFailure> {
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let mut province_names = BTreeMap::new();
    let mut links = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| AnalysisFailure::Input(format!("cannot read {file}: {e}")))?;
        match parse_csv(&file, &text, ImportOptions::default()).map_err(|e| AnalysisFailure::Input(e.to_string()))? {
            Batch::Units { units: rows, .. } => {
                let by_code: HashMap<&str, &NewUnit> = rows.iter().map(|u| (u.code.as_str(), u)).collect();
                for u in &rows {
                    match u.level {
                        UnitLevel::Province => {
                            province_names.insert(u.code.clone(), u.name.clone());
                        }
                        UnitLevel::District => {}
                        UnitLevel::Commune => {
                            let mut parent = u.parent_code.as_deref();
                            while let Some(p) = parent.and_then(|c| by_code.get(c))
                                && p.level != UnitLevel::Province
                            {
                                parent = p.parent_code.as_deref();
                            }
                            let Some(province) = parent else {
                                return Err(AnalysisFailure::Input(format!(
                                    "{file}: commune {} has no province",
                                    u.code
                                )));
                            };
                            units.insert(
                                u.code.clone(),
                                Unit {
                                    code: u.code.clone(),
                                    name: u.name.clone(),
                                    province_code: province.to_owned(),
                                    lat: u.lat,
                                    lon: u.lon,
                                },
                            );
                        }
                    }
                }
            }
            Batch::Lineage { links: rows, .. } => {
                links.extend(
                    rows.into_iter()
                        .filter(|l| l.is_default)
                        .map(|l| (l.predecessor_code, l.successor_code)),
                );
            }
        }
    }
    if units.is_empty() {
        return Err(AnalysisFailure::Input(
            "the units files list no commune; give a two-level or legacy units file".to_owned(),
        ));
    }
    Ok(UnitsTable {
        units: units.into_values().collect(),
        lineage: Lineage::new(links)?,
        province_names,
    })
}

/// The communes and wards valid on `day` as stored (`ykien units import`), with their provinces, and the main
/// successor of each legacy commune of those provinces.
pub async fn units_from_store(store: &Store, day: NaiveDate) -> Result<UnitsTable, AnalysisFailure> {
    let provinces = store.units_at_level(UnitLevel::Province, day).await?;
    let communes = store.units_at_level(UnitLevel::Commune, day).await?;
    let province_code: HashMap<uuid::Uuid, &str> = provinces.iter().map(|p| (p.id, p.code.as_str())).collect();
    let units: Vec<Unit> = communes
        .iter()
        .filter_map(|c| {
            let province = c.parent_id.and_then(|id| province_code.get(&id))?;
            Some(Unit {
                code: c.code.clone(),
                name: c.name.clone(),
                province_code: (*province).to_owned(),
                lat: c.lat,
                lon: c.lon,
            })
        })
        .collect();
    if units.is_empty() {
        return Err(AnalysisFailure::Input(format!(
            "the database has no commune valid on {day}; import units first or give --units FILE.csv"
        )));
    }
    let code_of: HashMap<uuid::Uuid, &str> = communes.iter().map(|c| (c.id, c.code.as_str())).collect();
    let mut links = Vec::new();
    for p in &provinces {
        for link in store.predecessors_of_children(p.id).await? {
            if let (true, Some(successor)) = (link.linked.is_default, code_of.get(&link.other_side_of)) {
                links.push((link.linked.unit.code.clone(), (*successor).to_owned()));
            }
        }
    }
    Ok(UnitsTable {
        units,
        lineage: Lineage::new(links)?,
        province_names: provinces.into_iter().map(|p| (p.code, p.name)).collect(),
    })
}

/// Writes the answers of a wave's complete responses to `path` in long format (`response_id, wave, unit_code,
/// question, answer`; the answer is the stored code, empty for free text). Returns the number of rows.
pub async fn export_answers(
    store: &Store,
    wave_code: &str,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, AnalysisFailure> {
    let wave = match store.wave_by_code(wave_code).await {
        Ok(w) => w,
        Err(StoreError::NotFound(_)) => return Err(AnalysisFailure::WaveNotFound(wave_code.to_owned())),
        Err(e) => return Err(e.into()),
    };
    stream_answers(store, &[wave], None, format, path).await
}

/// Writes the answers of the complete responses of `waves` (with `completed`, only those completed in that span)
/// to one file, reading the database a page at a time while a blocking task writes, so that millions of answers
/// are never all in memory. Returns the number of rows.
pub async fn stream_answers(
    store: &Store,
    waves: &[Wave],
    completed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    format: ExportFormat,
    path: &Path,
) -> Result<u64, AnalysisFailure> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<AnswerRow>>(2);
    let out = path.to_owned();
    let writer = tokio::task::spawn_blocking(move || write_answers(format, &out, &mut receiver));
    'waves: for wave in waves {
        let mut after = None;
        loop {
            let (page, next) = store.answers_page(wave.id, completed, after, EXPORT_PAGE).await?;
            let Some(next) = next else { break };
            after = Some(next);
            let rows = page
                .into_iter()
                .map(|(id, unit_code, question, answer)| AnswerRow {
                    response_id: id.to_string(),
                    wave: wave.code.clone(),
                    unit_code,
                    question,
                    answer,
                })
                .collect();
            if sender.send(rows).await.is_err() {
                // The writer stopped: its error is reported below.
                break 'waves;
            }
        }
    }
    drop(sender);
    writer.await.map_err(|e| AnalysisFailure::Task(e.to_string()))?
}

fn write_answers(
    format: ExportFormat,
    path: &Path,
    pages: &mut tokio::sync::mpsc::Receiver<Vec<AnswerRow>>,
) -> Result<u64, AnalysisFailure> {
    let write_err = |source| AnalysisFailure::Write {
        path: path.display().to_string(),
        source,
    };
    match format {
        ExportFormat::Parquet => {
            let mut writer = AnswerParquetWriter::create(path)?;
            while let Some(rows) = pages.blocking_recv() {
                writer.write(&rows)?;
            }
            Ok(writer.finish()?)
        }
        ExportFormat::Xlsx => {
            let xlsx_err = |e: ykien_analysis::XlsxWriteError| AnalysisFailure::Write {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            };
            let mut writer = ykien_analysis::AnswerXlsxWriter::create(path).map_err(xlsx_err)?;
            while let Some(rows) = pages.blocking_recv() {
                writer.write(&rows).map_err(xlsx_err)?;
            }
            writer.finish().map_err(xlsx_err)
        }
        ExportFormat::Csv => {
            let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(write_err)?);
            // The byte-order mark tells Excel the file is UTF-8, so Vietnamese shows correctly.
            file.write_all("\u{feff}".as_bytes()).map_err(write_err)?;
            let mut csv = csv::Writer::from_writer(file);
            let csv_err = |e: csv::Error| AnalysisFailure::Write {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            };
            csv.write_record(ykien_analysis::ANSWER_COLUMNS).map_err(csv_err)?;
            let mut rows_written = 0u64;
            while let Some(rows) = pages.blocking_recv() {
                for r in &rows {
                    csv.write_record([
                        r.response_id.as_str(),
                        r.wave.as_str(),
                        r.unit_code.as_str(),
                        r.question.as_str(),
                        r.answer.as_deref().unwrap_or(""),
                    ])
                    .map_err(csv_err)?;
                }
                rows_written += rows.len() as u64;
            }
            csv.flush().map_err(write_err)?;
            Ok(rows_written)
        }
    }
}

/// What `ykien analyze` scores and where it writes.
#[derive(Debug)]
pub struct AnalyzeRequest {
    /// Long-format answers, `.csv` or `.parquet`.
    pub answers: PathBuf,
    /// Optional `response_id, weight` file.
    pub weights: Option<PathBuf>,
    pub codebook: Codebook,
    /// The questionnaire's `dimension_rule` (issue 23).
    pub dimension_rule: ykien_analysis::DimensionRule,
    pub units: UnitsTable,
    /// The folder for `scores.csv` and the charts (created if missing).
    pub out: PathBuf,
    /// Bootstrap replicates, confidence and seed.
    pub options: ScoreOptions,
}

/// What an analysis wrote.
#[derive(Debug)]
pub struct AnalyzeReport {
    /// Score rows in `scores.csv`.
    pub rows: usize,
    /// Scores withheld (fewer than 10 respondents).
    pub withheld: usize,
    /// Answer rows left out of the scores, per reason (`DIR/ignored.csv` has them per wave and question).
    pub ignored: Vec<(IgnoredKind, u64)>,
    pub charts: Vec<PathBuf>,
}

/// Scores the answers and writes `scores.csv`, `ignored.csv` and the province charts (heatmap, ranking, map) into the folder,
/// on the blocking thread pool.
pub async fn analyze(request: AnalyzeRequest) -> Result<AnalyzeReport, AnalysisFailure> {
    tokio::task::spawn_blocking(move || analyze_blocking(&request))
        .await
        .map_err(|e| AnalysisFailure::Task(e.to_string()))?
}

fn analyze_blocking(request: &AnalyzeRequest) -> Result<AnalyzeReport, AnalysisFailure> {
    for (what, path) in [
        ("answers", Some(&request.answers)),
        ("weights", request.weights.as_ref()),
    ] {
        if let Some(path) = path
            && !path.is_file()
        {
            return Err(AnalysisFailure::Input(format!(
                "the {what} file {} does not exist",
                path.display()
            )));
        }
    }
    let mut scores = ykien_analysis::score_answers(
        ykien_analysis::Answers::File(&request.answers),
        request.weights.as_deref().map(ykien_analysis::Weights::File),
        &request.codebook,
        &request.units.units,
        &request.units.lineage,
        &request.options,
    )?;
    std::fs::create_dir_all(&request.out).map_err(|source| AnalysisFailure::Write {
        path: request.out.display().to_string(),
        source,
    })?;
    let partial = ykien_analysis::apply_dimension_rule(&mut scores, &request.codebook, request.dimension_rule);
    let scores = &scores;
    let write_tables = || -> Result<(), AnalysisFailure> {
        let path = request.out.join("scores.csv");
        let written = std::fs::File::create(&path).and_then(|file| {
            ykien_analysis::write_scores_csv_with_papi(
                scores,
                &request.codebook,
                &partial,
                std::io::BufWriter::new(file),
            )
        });
        written.map_err(|source| AnalysisFailure::Write {
            path: path.display().to_string(),
            source,
        })?;
        ykien_analysis::write_ignored_csv(scores, &request.out.join("ignored.csv"))?;
        Ok(())
    };
    let options = ChartOptions {
        province_names: request.units.province_names.clone(),
        ..ChartOptions::default()
    };
    let draw_charts = || {
        ykien_analysis::write_charts(
            ChartData {
                scores,
                codebook: &request.codebook,
                units: &request.units.units,
            },
            &request.out,
            &options,
        )
    };
    // The tables are written on a thread of their own while the charts are drawn (on every core, a province at a
    // time): one does not wait for the other.
    let (tables, charts) = std::thread::scope(|scope| {
        let tables = scope.spawn(write_tables);
        let charts = draw_charts();
        (tables.join(), charts)
    });
    tables.map_err(|_| AnalysisFailure::Task("writing the score tables panicked".into()))??;
    let charts = charts?;
    Ok(AnalyzeReport {
        rows: scores.rows.len(),
        withheld: scores.withheld.len(),
        ignored: scores.ignored_by_kind(),
        charts,
    })
}

/// Writes synthetic answers (`.parquet` or CSV by the file's extension) on the blocking thread pool; returns the
/// number of rows.
pub async fn simulate(
    codebook: Codebook,
    units: Vec<Unit>,
    options: SimulateOptions,
    out: PathBuf,
) -> Result<u64, AnalysisFailure> {
    tokio::task::spawn_blocking(move || ykien_analysis::write_simulated(&codebook, &units, &options, &out))
        .await
        .map_err(|e| AnalysisFailure::Task(e.to_string()))?
        .map_err(Into::into)
}

/// Rakes the respondents of an answers file to the margins of a margins file (`docs/weights.md`) and writes
/// `response_id,weight` to `out`, on the blocking thread pool.
pub async fn compute_weights(
    answers: &Path,
    margins: &Path,
    units: UnitsTable,
    options: RakeOptions,
    out: &Path,
) -> Result<ComputedWeights, AnalysisFailure> {
    let (answers, margins, out) = (answers.to_owned(), margins.to_owned(), out.to_owned());
    tokio::task::spawn_blocking(move || {
        let text = std::fs::read_to_string(&margins)
            .map_err(|e| AnalysisFailure::Input(format!("cannot read {}: {e}", margins.display())))?;
        let margins =
            Margins::parse_csv(&text).map_err(|e| AnalysisFailure::Input(format!("{}: {e}", margins.display())))?;
        if !answers.is_file() {
            return Err(AnalysisFailure::Input(format!(
                "the answers file {} does not exist",
                answers.display()
            )));
        }
        let questions = margins.questions();
        let rows = ykien_analysis::read_rows_of(&answers, &questions)?;
        let computed = ykien_analysis::compute_weights(&rows, &units.units, &units.lineage, &margins, &options);
        let write_err = |source| AnalysisFailure::Write {
            path: out.display().to_string(),
            source,
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(&out).map_err(write_err)?);
        writeln!(file, "{}", ykien_analysis::WEIGHT_COLUMNS.join(",")).map_err(write_err)?;
        for (id, weight) in &computed.weights {
            // Full precision: the file is read back by `ykien analyze --weights`.
            writeln!(file, "{id},{weight}").map_err(write_err)?;
        }
        file.flush().map_err(write_err)?;
        Ok(computed)
    })
    .await
    .map_err(|e| AnalysisFailure::Task(e.to_string()))?
}
