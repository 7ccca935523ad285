//! From long-format answers to [`Scores`]: polars reads the answers, plain Rust checks them, turns them into
//! values and scores each unit, in parallel.
//!
//! 100 million answer rows never sit in memory, as strings or otherwise. The answers are read once, in batches in
//! file order ([`crate::answer_runs`]): Parquet files a few row groups at a time, each read on its own thread
//! (only the five answer columns), anything else (CSV, rows in memory) through polars' streaming engine. Each
//! batch is cut into runs of one response, checked and walked through the skip logic ([`crate::checks`]) and kept
//! as one small code per indicator. Should a response's rows turn out not to be together in the file, the
//! answers are read again in two streaming passes that take any order ([`crate::respondent_values`]); both give
//! the same numbers.
//!
//! The respondents are then sorted by wave, unit and response id, each unit's respondents are one contiguous
//! range, and every unit is scored on its own thread with its own seeded generator ([`crate::bootstrap`]), from
//! its respondents' values in that order, so the numbers depend neither on the order rows arrived in nor on the
//! number of threads.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::mpsc;

use polars::io::parquet::read::FileMetadata;
use polars::prelude::*;
use polars_arrow::datatypes::ArrowSchemaRef;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::aggregate::ScoreError;
use crate::answer_runs::{Chunk, Reader, UnitIndex, has_repeated_ids};
use crate::bootstrap::{Bootstrap, Group, GroupAnswers, group_seed, score_group};
use crate::checks::{Checker, IgnoredKind, IgnoredRows, collect_ignored};
use crate::codebook::{Codebook, Layout};
use crate::input::{ANSWER_COLUMNS, Lineage, Unit};
use crate::respondent_values::{GroupValues, Respondents, checked_values, respondents};
use crate::scores::{RawScore, Scores};
use crate::unit_scores::raw_scores;

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
    score_from(input, None, options)
}

/// [`score`], reading the answers from `parquet` (the file `input.answers` scans) a few row groups at a time on
/// every thread when it is given, rather than through `input.answers`.
pub(crate) fn score_from(
    input: ScoreInput<'_>,
    parquet: Option<&Path>,
    options: &ScoreOptions,
) -> Result<Scores, AnalysisError> {
    score_reading(input, parquet.map(|path| (path, PARQUET_SLICE_ROWS)), options)
}

/// [`score_from`] with the rows per Parquet read task given, so that a test can cut a small file as a large one
/// is cut.
fn score_reading(
    input: ScoreInput<'_>,
    parquet: Option<(&Path, usize)>,
    options: &ScoreOptions,
) -> Result<Scores, AnalysisError> {
    let codebook = input.codebook;
    codebook.validate()?;
    let layout = Layout::new(codebook);
    let checker = Checker::new(codebook)?;
    let units = UnitIndex::new(input.units);
    let reader = Reader::new(&checker, layout.indicators(), &units, input.lineage);

    let chunks = match parquet {
        Some((path, task_rows)) => read_parquet(path, &reader, task_rows)?,
        None => read_frame(&input.answers, &reader)?,
    };
    let chunks = reader.join_edges(chunks);
    if has_repeated_ids(&chunks) {
        drop(chunks);
        return score_scattered(&input, &layout, options);
    }
    let grouped = Grouped::new(chunks, &units, &checker, input.weights.clone())?;
    let raw = score_groups(codebook, &layout, options, &grouped.groups, |g| grouped.group(g))?;
    let mut scores = Scores::from_raw(raw);
    scores.ignored = grouped.ignored;
    Ok(scores)
}

/// Rows per batch of polars' stream: a few tens of megabytes of decoded text each, several of them in flight.
const BATCH_ROWS: usize = 1 << 18;

/// Rows per task reading a Parquet file: a whole row group as ykien writes them (2²⁰ rows, about 100 MB decoded),
/// or several consecutive smaller ones, so no row group is decompressed twice; larger row groups are read in
/// slices of this size.
const PARQUET_SLICE_ROWS: usize = 1 << 20;

/// The answers of a Parquet file, in tasks of about `task_rows` rows ([`PARQUET_SLICE_ROWS`]) on every thread, in
/// file order.
fn read_parquet(path: &Path, reader: &Reader<'_>, task_rows: usize) -> Result<Vec<Chunk>, AnalysisError> {
    let context = |source: PolarsError| AnalysisError::Read {
        path: path.display().to_string(),
        source,
    };
    let open = || {
        std::fs::File::open(path).map_err(|e| AnalysisError::Read {
            path: path.display().to_string(),
            source: e.into(),
        })
    };
    let file = ParquetFile::open(open()?).map_err(context)?;
    let columns: Vec<String> = ANSWER_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    if let Some(missing) = ANSWER_COLUMNS.iter().find(|c| file.schema.get(c).is_none()) {
        return Err(context(polars_err!(ColumnNotFound: "{missing}")));
    }
    file.tasks(task_rows)
        .par_iter()
        .map(|task| {
            // Each task is given the metadata of its own row groups only: polars' reader, given the whole file
            // and a slice, visits every row group before the slice, opening their column chunks (with files of
            // many small row groups, as DuckDB and pyarrow write them, that made a read several times slower).
            let mut parquet = ParquetReader::new(open()?)
                .with_columns(Some(columns.clone()))
                .with_slice(task.slice)
                // One task per thread already: polars' own threads would only compete with these.
                .read_parallel(ParallelStrategy::None);
            parquet.set_metadata(file.metadata_of(task));
            let df = parquet.finish().map_err(context)?;
            reader.batch(&df)
        })
        .collect()
}

/// A Parquet file's metadata, split into read tasks.
struct ParquetFile {
    metadata: Arc<FileMetadata>,
    schema: ArrowSchemaRef,
    /// The metadata without its row groups, which each task fills with its own.
    template: FileMetadata,
}

/// Consecutive row groups read by one task, whole or (one large row group) a slice of it.
#[derive(Debug, PartialEq)]
struct ReadTask {
    row_groups: std::ops::Range<usize>,
    slice: Option<(usize, usize)>,
}

impl ParquetFile {
    fn open(file: std::fs::File) -> PolarsResult<Self> {
        let mut reader = ParquetReader::new(file);
        let metadata = reader.get_metadata()?.clone();
        let schema = reader.schema()?;
        let mut template = (*metadata).clone();
        template.row_groups.clear();
        Ok(Self {
            metadata,
            schema,
            template,
        })
    }

    fn tasks(&self, most: usize) -> Vec<ReadTask> {
        let rows: Vec<usize> = self.metadata.row_groups.iter().map(|g| g.num_rows()).collect();
        read_tasks(&rows, most)
    }

    /// The file's metadata as if it held only the task's row groups.
    fn metadata_of(&self, task: &ReadTask) -> Arc<FileMetadata> {
        let mut part = self.template.clone();
        part.row_groups = self.metadata.row_groups[task.row_groups.clone()].to_vec();
        part.num_rows = part.row_groups.iter().map(|g| g.num_rows()).sum();
        part.max_row_group_height = part.row_groups.iter().map(|g| g.num_rows()).max().unwrap_or(0);
        Arc::new(part)
    }
}

/// The read tasks of row groups of `rows` rows each, in file order: consecutive row groups together up to `most`
/// rows a task, and a row group larger than that alone, in slices of `most` rows.
fn read_tasks(rows: &[usize], most: usize) -> Vec<ReadTask> {
    let most = most.max(1);
    let mut tasks = Vec::new();
    let whole = |row_groups| ReadTask {
        row_groups,
        slice: None,
    };
    let (mut start, mut taken) = (0, 0);
    for (k, &n) in rows.iter().enumerate() {
        if n > most {
            if start < k {
                tasks.push(whole(start..k));
            }
            let mut offset = 0;
            while offset < n {
                let len = most.min(n - offset);
                tasks.push(ReadTask {
                    row_groups: k..k + 1,
                    slice: Some((offset, len)),
                });
                offset += len;
            }
            (start, taken) = (k + 1, 0);
            continue;
        }
        if taken + n > most && start < k {
            tasks.push(whole(start..k));
            (start, taken) = (k, 0);
        }
        taken += n;
    }
    if start < rows.len() {
        tasks.push(whole(start..rows.len()));
    }
    tasks
}

/// The answers of any lazy frame, through polars' streaming engine in file order, read a few batches at a time
/// on every thread.
fn read_frame(answers: &LazyFrame, reader: &Reader<'_>) -> Result<Vec<Chunk>, AnalysisError> {
    enum Message {
        Batch(DataFrame),
        Done(PolarsResult<()>),
    }
    let at_once = rayon::current_num_threads().max(1) * 2;
    let (sender, receiver) = mpsc::sync_channel::<Message>(at_once);
    let plan = answers.clone().select(ANSWER_COLUMNS.map(col));
    let sink = {
        let sender = sender.clone();
        // A closed channel (the reading side failed) stops the scan.
        PlanCallback::new(move |df: DataFrame| Ok(sender.send(Message::Batch(df)).is_err()))
    };
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let scanned = plan
                .sink_batches(sink, true, NonZeroUsize::new(BATCH_ROWS))
                .and_then(|lf| lf.collect_with_engine(Engine::Streaming))
                .map(|_| ());
            let _ = sender.send(Message::Done(scanned));
        });
        let mut chunks = Vec::new();
        let mut pending = Vec::with_capacity(at_once);
        let read = |pending: &mut Vec<DataFrame>, chunks: &mut Vec<Chunk>| -> Result<(), AnalysisError> {
            let read: Vec<Chunk> = pending
                .par_iter()
                .map(|df| reader.batch(df))
                .collect::<Result<_, _>>()?;
            chunks.extend(read);
            pending.clear();
            Ok(())
        };
        for message in receiver.iter() {
            match message {
                Message::Batch(df) => {
                    pending.push(df);
                    if pending.len() == at_once {
                        read(&mut pending, &mut chunks)?;
                    }
                }
                Message::Done(scanned) => {
                    scanned?;
                    read(&mut pending, &mut chunks)?;
                    return Ok(chunks);
                }
            }
        }
        Err(AnalysisError::Internal("the answer scan stopped without a word"))
    })
}

/// The respondents of grouped answers in scoring order, with their units and weights, and the ignored rows.
struct Grouped {
    chunks: Vec<Chunk>,
    /// Per respondent in scoring order: (chunk, segment, index in the segment).
    order: Vec<(u32, u32, u32)>,
    weights: Vec<f64>,
    groups: Vec<GroupKey>,
    ignored: Vec<IgnoredRows>,
}

impl Grouped {
    fn new(
        mut chunks: Vec<Chunk>,
        units: &UnitIndex<'_>,
        checker: &Checker,
        weights: Option<LazyFrame>,
    ) -> Result<Self, AnalysisError> {
        if let Some(error) = chunks.iter_mut().find_map(|c| c.error.take()) {
            return Err(error);
        }
        let mut unknown_units: Vec<String> = Vec::new();
        for code in chunks.iter().flat_map(|c| &c.unknown_units) {
            if unknown_units.len() < 5 && !unknown_units.contains(code) {
                unknown_units.push(code.clone());
            }
        }
        if !unknown_units.is_empty() {
            return Err(AnalysisError::UnknownUnits { codes: unknown_units });
        }

        // Waves by code; each chunk's wave numbers mapped to their rank.
        let mut waves: Vec<&str> = chunks.iter().flat_map(|c| c.waves.iter().map(String::as_str)).collect();
        waves.sort_unstable();
        waves.dedup();
        let ranks: Vec<Vec<u32>> = chunks
            .iter()
            .map(|c| {
                c.waves
                    .iter()
                    .map(|w| waves.binary_search(&w.as_str()).unwrap_or_default() as u32)
                    .collect()
            })
            .collect();
        let mut order: Vec<(u32, u32, u32, u32, u32)> = Vec::new();
        for (c, chunk) in chunks.iter().enumerate() {
            for (s, segment) in chunk.segments.iter().enumerate() {
                for k in 0..segment.len() {
                    let wave = ranks[c][usize::from(segment.waves[k])];
                    order.push((wave, segment.units[k], c as u32, s as u32, k as u32));
                }
            }
        }
        if u32::try_from(order.len()).is_err() {
            return Err(AnalysisError::TooManyResponses { count: order.len() });
        }
        let id = |&(_, _, c, s, k): &(u32, u32, u32, u32, u32)| chunks[c as usize].segments[s as usize].id(k as usize);
        order.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| id(a).cmp(id(b))));

        let weights = match weights {
            None => vec![1.0; order.len()],
            Some(lf) => {
                let given = weights_of(lf)?;
                order
                    .iter()
                    .map(|r| {
                        given.get(id(r)).copied().ok_or_else(|| AnalysisError::MissingWeight {
                            response_id: id(r).to_owned(),
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mut groups: Vec<GroupKey> = Vec::new();
        let mut last = None;
        for (k, r) in order.iter().enumerate() {
            if last == Some((r.0, r.1)) {
                if let Some(g) = groups.last_mut() {
                    g.end = k + 1;
                }
                continue;
            }
            last = Some((r.0, r.1));
            let (unit, province) = units.units[r.1 as usize];
            groups.push(GroupKey {
                wave: waves[r.0 as usize].to_owned(),
                unit: unit.to_owned(),
                province: province.to_owned(),
                start: k,
                end: k + 1,
            });
        }

        let mut ignored: HashMap<(String, String, IgnoredKind), u64> = HashMap::new();
        for chunk in &chunks {
            for (&(wave, q, kind), &n) in &chunk.ignored {
                let wave = chunk.waves[usize::from(wave)].clone();
                *ignored
                    .entry((wave, checker.code(usize::from(q)).to_owned(), kind))
                    .or_default() += n;
            }
            for ((wave, question), &n) in &chunk.unknown {
                let wave = chunk.waves[usize::from(*wave)].clone();
                *ignored
                    .entry((wave, question.clone(), IgnoredKind::UnknownQuestion))
                    .or_default() += n;
            }
        }
        let order = order.into_iter().map(|(_, _, c, s, k)| (c, s, k)).collect();
        Ok(Self {
            chunks,
            order,
            weights,
            groups,
            ignored: collect_ignored(ignored),
        })
    }

    /// Group `g`'s respondents, read in place from their segments.
    fn group(&self, g: usize) -> SegmentGroup<'_> {
        let GroupKey { start, end, .. } = self.groups[g];
        SegmentGroup {
            chunks: &self.chunks,
            order: &self.order[start..end],
            weights: &self.weights[start..end],
        }
    }
}

/// One group of [`Grouped`]: its respondents' values are read where the answers' pass left them, nothing copied.
struct SegmentGroup<'g> {
    chunks: &'g [Chunk],
    order: &'g [(u32, u32, u32)],
    weights: &'g [f64],
}

impl GroupAnswers for SegmentGroup<'_> {
    fn weights(&self) -> &[f64] {
        self.weights
    }

    fn entries(&self, r: usize, add: impl FnMut(usize, f64)) {
        let (c, s, k) = self.order[r];
        self.chunks[c as usize].segments[s as usize].entries(k as usize, add);
    }
}

/// One group of the two passes' values, copied out of their per-group lists.
struct ScatteredGroup<'w> {
    weights: &'w [f64],
    values: GroupValues,
}

impl GroupAnswers for ScatteredGroup<'_> {
    fn weights(&self) -> &[f64] {
        self.weights
    }

    fn entries(&self, r: usize, add: impl FnMut(usize, f64)) {
        let group = Group {
            weights: self.weights,
            offsets: &self.values.offsets,
            indicators: &self.values.indicators,
            values: &self.values.values,
        };
        group.entries(r, add);
    }
}

/// One (wave, unit) group: its respondents are `start..end` in scoring order.
pub(crate) struct GroupKey {
    pub wave: String,
    pub unit: String,
    pub province: String,
    pub start: usize,
    pub end: usize,
}

/// Answers whose responses are not together in the file: the two passes of [`crate::respondent_values`].
fn score_scattered(input: &ScoreInput<'_>, layout: &Layout, options: &ScoreOptions) -> Result<Scores, AnalysisError> {
    let Respondents { ids, weights, groups } = respondents(input)?;
    let (values, ignored) = checked_values(&input.answers, input.codebook, ids, &groups)?;
    let raw = score_groups(input.codebook, layout, options, &groups.list, |g| {
        let GroupKey { start, end, .. } = groups.list[g];
        ScatteredGroup {
            weights: &weights[start..end],
            values: values.group(start, end),
        }
    })?;
    let mut scores = Scores::from_raw(raw);
    scores.ignored = ignored;
    Ok(scores)
}

/// Scores every group on the threads, each from its weights and values, with its own seeded generator, and makes
/// its score rows there too (four strings a row: a serial loop over them took a tenth of a second on a million
/// responses).
fn score_groups<A: GroupAnswers>(
    codebook: &Codebook,
    layout: &Layout,
    options: &ScoreOptions,
    groups: &[GroupKey],
    answers_of: impl Fn(usize) -> A + Sync,
) -> Result<Vec<RawScore>, AnalysisError> {
    let per_group: Vec<Vec<RawScore>> = groups
        .par_iter()
        .enumerate()
        .map(|(g, key)| {
            let bootstrap = Bootstrap {
                replicates: options.replicates,
                confidence: options.confidence,
                seed: group_seed(options.seed, &key.wave, &key.unit),
            };
            let stats = score_group(layout, &answers_of(g), bootstrap)?;
            Ok::<_, ScoreError>(raw_scores(codebook, &key.wave, &key.unit, &key.province, &stats))
        })
        .collect::<Result<_, _>>()?;
    let mut raw = Vec::with_capacity(per_group.iter().map(Vec::len).sum());
    for rows in per_group {
        raw.extend(rows);
    }
    Ok(raw)
}

pub(crate) fn weights_of(lf: LazyFrame) -> Result<HashMap<String, f64>, AnalysisError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_tasks_take_every_row_once_in_order_and_cut_only_large_row_groups() {
        let plan = |rows: &[usize], most| {
            read_tasks(rows, most)
                .into_iter()
                .map(|t| (t.row_groups, t.slice))
                .collect::<Vec<_>>()
        };
        assert_eq!(plan(&[], 4), vec![]);
        // Small row groups go together up to the limit; one that would pass it starts the next task.
        assert_eq!(plan(&[2, 2, 1, 3], 4), vec![(0..2, None), (2..4, None)]);
        // A large one is read alone, a slice at a time, between the tasks of its neighbours.
        assert_eq!(
            plan(&[1, 9, 2], 4),
            vec![
                (0..1, None),
                (1..2, Some((0, 4))),
                (1..2, Some((4, 4))),
                (1..2, Some((8, 1))),
                (2..3, None)
            ]
        );
        // Every row exactly once, in order, and no task above the limit, for many shapes.
        for most in 1..7 {
            let rows = [3, 0, 5, 1, 1, 8, 2, 6, 0];
            let mut next = (0, 0); // (row group, row within it)
            for task in read_tasks(&rows, most) {
                let (from, len) = task.slice.unwrap_or((0, rows[task.row_groups.clone()].iter().sum()));
                assert!(len <= most, "{task:?} with {most}");
                if task.slice.is_some() {
                    assert_eq!(task.row_groups.len(), 1);
                    assert_eq!(next, (task.row_groups.start, from), "{task:?}");
                    next = if from + len == rows[task.row_groups.start] {
                        (task.row_groups.start + 1, 0)
                    } else {
                        (task.row_groups.start, from + len)
                    };
                } else {
                    assert_eq!(next, (task.row_groups.start, 0), "{task:?}");
                    next = (task.row_groups.end, 0);
                }
            }
            assert_eq!(next, (rows.len(), 0), "all rows read with {most}");
        }
    }

    /// A file cut into tasks of a few rows (in the middle of responses, within and across row groups, a large row
    /// group in slices) gives the scores of the same rows read as one task.
    #[test]
    fn answers_read_in_small_tasks_score_as_answers_read_at_once() {
        use crate::simulate::{SimulateOptions, simulate};

        let codebook = crate::codebook::eight_dimensions_of_yes_no();
        let units: Vec<Unit> = (0..6)
            .map(|u| Unit {
                code: format!("{:05}", 11900 + u),
                name: format!("Xã {u}"),
                province_code: if u % 2 == 0 { "33" } else { "31" }.to_owned(),
                lat: None,
                lon: None,
            })
            .collect();
        let simulated = SimulateOptions {
            responses: 300,
            seed: 11,
            ..SimulateOptions::default()
        };
        let rows = simulate(&codebook, &units, &simulated).expect("simulated");
        let dir = tempfile::tempdir().expect("temp dir");
        let options = ScoreOptions {
            replicates: 50,
            ..ScoreOptions::default()
        };
        let lineage = Lineage::none();
        let score = |path: &Path, task_rows| {
            let input = ScoreInput {
                answers: crate::input::scan_answers(path).expect("scan"),
                weights: None,
                codebook: &codebook,
                units: &units,
                lineage: &lineage,
            };
            score_reading(input, Some((path, task_rows)), &options).expect("scored")
        };
        for row_group in [rows.len(), 97] {
            let path = dir.path().join(format!("answers-{row_group}.parquet"));
            let mut df = crate::input::answers_frame(&rows)
                .expect("frame")
                .collect()
                .expect("collect");
            let file = std::fs::File::create(&path).expect("file");
            ParquetWriter::new(file)
                .with_row_group_size(Some(row_group))
                .finish(&mut df)
                .expect("parquet");
            let whole = score(&path, rows.len());
            assert!(!whole.rows.is_empty());
            for task_rows in [7, 100, 250] {
                assert_eq!(
                    score(&path, task_rows),
                    whole,
                    "row groups of {row_group}, tasks of {task_rows}"
                );
            }
        }
    }
}
