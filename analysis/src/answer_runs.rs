//! The answers pass of [`crate::pipeline`] in one read, for answers grouped by response — as ykien's export,
//! `ykien simulate` and most survey tools write them: all the rows of a response one after the other.
//!
//! Batches of rows arrive in file order and are turned into respondents in parallel, each batch on its own: a run
//! of rows with one response id is one respondent, whose wave and unit are checked, mapped through the lineage to
//! the unit's number, and whose rows are read against their questions (a question's number, a code's index, a
//! number), checked and walked through the skip logic ([`crate::checks`]) at once. Only its values stay: one
//! 16-bit code per indicator (0 for none), an index into that indicator's dictionary of the distinct values met
//! (answers take few: a Likert point, a choice, a whole number between two bounds), about 200 bytes a respondent
//! with the bundled questionnaire, read back exactly.
//!
//! A batch's first and last runs may continue in the batches beside it, so they are kept as rows and joined to
//! their neighbours' in file order before they are walked. Whether the answers really were grouped is known at
//! the end, when every response id has been seen once: if one came back after another response's rows, the
//! caller reads the answers again with the two passes of [`crate::respondent_values`], which take any order.

use std::collections::HashMap;
use std::ops::Range;

use polars::prelude::*;
use polars_arrow::array::{Array, Utf8ViewArray, View};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::AnalysisError;
use crate::bootstrap::respondent_mean;
use crate::checks::{Checker, IgnoredKind, RespondentRows, Walk};
use crate::input::Lineage;
use crate::respondent_values::NO_CODE_MATCHED;

/// A run's answer rows read against their questions, column by column as [`Checker::walk`] takes them: question
/// number, code index, the answer read as a number.
#[derive(Clone, Default)]
struct Rows {
    questions: Vec<u16>,
    codes: Vec<u32>,
    numbers: Vec<f64>,
}

impl Rows {
    fn push(&mut self, question: u16, code: u32, number: f64) {
        self.questions.push(question);
        self.codes.push(code);
        self.numbers.push(number);
    }

    fn clear(&mut self) {
        self.questions.clear();
        self.codes.clear();
        self.numbers.clear();
    }

    fn extend(&mut self, next: Rows) {
        self.questions.extend(next.questions);
        self.codes.extend(next.codes);
        self.numbers.extend(next.numbers);
    }

    fn respondent(&self) -> RespondentRows<'_> {
        RespondentRows {
            questions: &self.questions,
            codes: &self.codes,
            numbers: &self.numbers,
        }
    }
}

/// The units respondents are scored in, numbered in the order of their codes.
pub(crate) struct UnitIndex<'a> {
    number: FxHashMap<&'a str, u32>,
    /// Per number, the unit code and its province.
    pub units: Vec<(&'a str, &'a str)>,
}

impl<'a> UnitIndex<'a> {
    /// The distinct codes of `units` (a code listed twice counts with its last province, as a map keeps it).
    pub fn new(units: &'a [crate::Unit]) -> Self {
        let provinces: HashMap<&str, &str> = units
            .iter()
            .map(|u| (u.code.as_str(), u.province_code.as_str()))
            .collect();
        let mut list: Vec<(&str, &str)> = provinces.into_iter().collect();
        list.sort_unstable();
        let number = list
            .iter()
            .enumerate()
            .map(|(k, (code, _))| (*code, k as u32))
            .collect();
        Self { number, units: list }
    }
}

/// What reading a batch needs, shared by the threads.
pub(crate) struct Reader<'a> {
    checker: &'a Checker,
    /// Question code → number, and per number its code, to guess the next row's question before hashing.
    questions: FxHashMap<&'a str, u16>,
    /// The codes short enough to be inlined in a view, by their view: a missed guess is then looked up without
    /// reading or hashing the text.
    inline_questions: FxHashMap<u128, u16>,
    codes: Vec<Key<'a>>,
    /// Per question number, its answer codes as [`Checker::code_index`] matches them, in its order.
    answer_codes: Vec<AnswerCodes<'a>>,
    indicators: usize,
    units: &'a UnitIndex<'a>,
    lineage: &'a Lineage,
}

/// The respondents of one batch (or of the runs joined across batches), and what their rows had that counts for
/// nothing.
pub(crate) struct Chunk {
    /// Wave codes; respondents and ignored counts name a wave by its index here.
    pub waves: Vec<String>,
    pub segments: Vec<Segment>,
    /// Ignored rows per (wave, question number, reason).
    pub ignored: HashMap<(u16, u16, IgnoredKind), u64>,
    /// Given rows of questions the questionnaire lacks, per (wave, question code).
    pub unknown: HashMap<(u16, String), u64>,
    /// Up to five codes of units the units table does not list (after the lineage).
    pub unknown_units: Vec<String>,
    /// The first response without an id, wave or unit, or with two waves or units.
    pub error: Option<AnalysisError>,
    /// The ids of the responses set aside for one of these reasons or an unknown unit, so that a second run of
    /// one of them is noticed too.
    set_aside: Vec<String>,
    /// The batch's first run, which may continue the previous batch's last.
    head: Option<OpenRun>,
    /// The batch's last run when it is not the first, which the next batch may continue.
    tail: Option<OpenRun>,
}

/// Respondents whose values share dictionaries: a batch's, unless a dictionary filled up (65,535 distinct values
/// of one indicator in one batch) and a new segment began.
pub(crate) struct Segment {
    /// Response ids, one after the other; respondent `k`'s is `ids[id_ends[k - 1]..id_ends[k]]`.
    ids: String,
    id_ends: Vec<usize>,
    /// Per respondent, its wave (in the chunk's list) and its unit's number.
    pub waves: Vec<u16>,
    pub units: Vec<u32>,
    /// Per respondent, one code per indicator: 0 for no value, `c` for `dictionaries[indicator][c - 1]`.
    codes: Vec<u16>,
    dictionaries: Vec<Dictionary>,
}

impl Segment {
    fn new(indicators: usize) -> Self {
        Self {
            ids: String::new(),
            id_ends: Vec::new(),
            waves: Vec::new(),
            units: Vec::new(),
            codes: Vec::new(),
            dictionaries: (0..indicators).map(|_| Dictionary::default()).collect(),
        }
    }

    /// How many respondents it holds.
    pub fn len(&self) -> usize {
        self.id_ends.len()
    }

    /// Respondent `k`'s response id.
    pub fn id(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.id_ends[k - 1] };
        &self.ids[start..self.id_ends[k]]
    }

    /// Calls `add(indicator, value)` once per indicator respondent `k` has a value of, in indicator order: the
    /// mean of its answers to that indicator's questions, as [`crate::bootstrap`] would average them.
    pub fn entries(&self, k: usize, mut add: impl FnMut(usize, f64)) {
        let width = self.dictionaries.len();
        let codes = &self.codes[k * width..(k + 1) * width];
        for (i, (&code, dictionary)) in codes.iter().zip(&self.dictionaries).enumerate() {
            if code > 0 {
                add(i, dictionary.values[usize::from(code) - 1]);
            }
        }
    }
}

/// The distinct values of one indicator in one segment, by bit pattern.
#[derive(Default)]
struct Dictionary {
    values: Vec<f64>,
    /// Filled once there are more values than a linear search is quick over.
    index: HashMap<u64, u16>,
}

/// Up to this many values, a linear search; beyond, the hash map.
const LINEAR: usize = 16;

impl Dictionary {
    /// The code of `value` (≥ 1), added if new; `None` when the dictionary is full.
    fn code(&mut self, value: f64) -> Option<u16> {
        let bits = value.to_bits();
        if self.values.len() <= LINEAR {
            if let Some(k) = self.values.iter().position(|v| v.to_bits() == bits) {
                return Some(k as u16 + 1);
            }
        } else if let Some(&code) = self.index.get(&bits) {
            return Some(code);
        }
        if self.values.len() >= usize::from(u16::MAX) {
            return None;
        }
        self.values.push(value);
        let code = self.values.len() as u16;
        if self.values.len() > LINEAR {
            if self.index.is_empty() {
                self.index = self
                    .values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (v.to_bits(), k as u16 + 1))
                    .collect();
            } else {
                self.index.insert(bits, code);
            }
        }
        Some(code)
    }
}

/// A run of rows of one response, owned: a batch's first or last, kept until its neighbours are known.
struct OpenRun {
    id: Option<String>,
    wave: Option<String>,
    unit: Option<String>,
    /// The first disagreement met: (column, one value, another).
    conflict: Option<(&'static str, String, String)>,
    rows: Rows,
    /// One question code per given row of a question the questionnaire lacks.
    unknown: Vec<String>,
}

/// A run of rows being read, borrowing the batch's strings.
#[derive(Default)]
struct Run<'s> {
    id: Option<&'s str>,
    wave: Option<&'s str>,
    unit: Option<&'s str>,
    conflict: Option<(&'static str, &'s str, &'s str)>,
    rows: Rows,
    unknown: Vec<&'s str>,
    /// The rows `wave` and `unit` were read from, which later rows are compared with.
    wave_row: Option<usize>,
    unit_row: Option<usize>,
}

/// The two columns a response must agree on.
#[derive(Clone, Copy)]
enum Agreed {
    Wave,
    Unit,
}

impl<'s> Run<'s> {
    fn start(&mut self, id: Option<&'s str>) {
        self.id = id;
        self.wave = None;
        self.unit = None;
        self.wave_row = None;
        self.unit_row = None;
        self.conflict = None;
        self.rows.clear();
        self.unknown.clear();
    }

    /// The wave and unit of the run's rows `rows`, once the run's end is known.
    fn agree(&mut self, waves: &Text<'s>, units: &Text<'s>, rows: Range<usize>) {
        if let (Some(wave), Some(unit)) = (waves.uniform(rows.clone()), units.uniform(rows.clone())) {
            // The common case, checked without reading the rows one by one: one value in every row.
            (self.wave, self.wave_row) = (Some(wave), Some(rows.start));
            (self.unit, self.unit_row) = (Some(unit), Some(rows.start));
            return;
        }
        // Row by row, both columns, so that the first disagreement in file order is the one named.
        for row in rows {
            self.see_row(waves, Agreed::Wave, row);
            self.see_row(units, Agreed::Unit, row);
        }
    }

    /// Row `row`'s wave or unit: the first one given is the response's; another one is a conflict (nulls are
    /// skipped, as the two passes' minimum and maximum skip them).
    fn see_row(&mut self, text: &Text<'s>, column: Agreed, row: usize) {
        if !text.valid(row) {
            return;
        }
        let (slot, first, name) = match column {
            Agreed::Wave => (&mut self.wave, &mut self.wave_row, "wave"),
            Agreed::Unit => (&mut self.unit, &mut self.unit_row, "unit_code"),
        };
        match *first {
            None => {
                *first = Some(row);
                *slot = Some(text.str(row));
            }
            Some(earlier) => {
                if self.conflict.is_none() && !text.same(earlier, row) {
                    self.conflict = Some((name, text.str(earlier), text.str(row)));
                }
            }
        }
    }

    fn to_open(&self) -> OpenRun {
        OpenRun {
            id: self.id.map(str::to_owned),
            wave: self.wave.map(str::to_owned),
            unit: self.unit.map(str::to_owned),
            conflict: self.conflict.map(|(c, a, b)| (c, a.to_owned(), b.to_owned())),
            rows: self.rows.clone(),
            unknown: self.unknown.iter().map(|q| (*q).to_owned()).collect(),
        }
    }
}

impl OpenRun {
    /// This run followed by `next`, the same response's rows from the next batch.
    fn extend(mut self, next: OpenRun) -> OpenRun {
        for (column, slot, value) in [
            ("wave", &mut self.wave, next.wave),
            ("unit_code", &mut self.unit, next.unit),
        ] {
            match (slot.as_ref(), value) {
                (_, None) => {}
                (None, Some(v)) => *slot = Some(v),
                (Some(first), Some(v)) => {
                    if *first != v && self.conflict.is_none() {
                        self.conflict = Some((column, first.clone(), v));
                    }
                }
            }
        }
        if self.conflict.is_none() {
            self.conflict = next.conflict;
        }
        self.rows.extend(next.rows);
        self.unknown.extend(next.unknown);
        self
    }
}

/// A finished run as [`Chunk::finish`] reads it, from either kind of run.
struct RunView<'v> {
    id: Option<&'v str>,
    wave: Option<&'v str>,
    unit: Option<&'v str>,
    conflict: Option<(&'static str, &'v str, &'v str)>,
    rows: &'v Rows,
    unknown: &'v [&'v str],
}

/// Buffers reused from respondent to respondent.
struct Scratch {
    walk: Walk,
    sums: Vec<f64>,
    counts: Vec<u32>,
    touched: Vec<u16>,
}

impl Scratch {
    fn new(indicators: usize) -> Self {
        Self {
            walk: Walk::default(),
            sums: vec![0.0; indicators],
            counts: vec![0; indicators],
            touched: Vec::new(),
        }
    }
}

impl<'a> Reader<'a> {
    pub fn new(checker: &'a Checker, indicators: usize, units: &'a UnitIndex<'a>, lineage: &'a Lineage) -> Self {
        let names: Vec<&str> = (0..checker.question_count()).map(|q| checker.code(q)).collect();
        let questions = names.iter().enumerate().map(|(q, code)| (*code, q as u16)).collect();
        let codes: Vec<Key<'_>> = names.iter().map(|code| Key::of(code)).collect();
        let inline_questions = codes
            .iter()
            .enumerate()
            .filter_map(|(q, key)| match key {
                Key::Inline(view) => Some((*view, q as u16)),
                Key::Long(_) => None,
            })
            .collect();
        let answer_codes = (0..checker.question_count())
            .map(|q| AnswerCodes::new(checker.codes(q)))
            .collect();
        Self {
            checker,
            questions,
            inline_questions,
            codes,
            answer_codes,
            indicators,
            units,
            lineage,
        }
    }

    /// Reads one batch with the columns `response_id`, `wave`, `unit_code`, `question` and `answer` (text), in
    /// file order.
    pub fn batch(&self, df: &DataFrame) -> Result<Chunk, AnalysisError> {
        let text = |name: &str| -> Result<Column, AnalysisError> { Ok(df.column(name)?.cast(&DataType::String)?) };
        let (ids, waves, units, questions, answers) = (
            text("response_id")?,
            text("wave")?,
            text("unit_code")?,
            text("question")?,
            text("answer")?,
        );
        let (ids, waves, units, questions, answers) = (
            ids.str()?.rechunk(),
            waves.str()?.rechunk(),
            units.str()?.rechunk(),
            questions.str()?.rechunk(),
            answers.str()?.rechunk(),
        );
        let mut chunk = Chunk::new(self.indicators);
        if df.height() == 0 {
            return Ok(chunk);
        }
        let (ids, waves, units, questions, answers) = (
            Text::new(ids.downcast_as_array()),
            Text::new(waves.downcast_as_array()),
            Text::new(units.downcast_as_array()),
            Text::new(questions.downcast_as_array()),
            Text::new(answers.downcast_as_array()),
        );
        let mut scratch = Scratch::new(self.indicators);
        let mut run = Run::default();
        let mut runs = 0usize;
        // The row the current run began at, whose id the next rows are compared with.
        let mut run_row = 0usize;
        // The number of the previous row's question, and per question number the question that followed it last
        // (at first the next one; the last entry: the one a batch begins with). Rows follow the questionnaire
        // with the questions not asked left out, so the guess is usually right and the hash map is not needed.
        let count = self.codes.len();
        let mut previous = count;
        let mut follows: Vec<usize> = (1..=count).chain([0]).collect();
        for row in 0..df.height() {
            if runs == 0 || !ids.same(row, run_row) {
                if runs > 0 {
                    run.agree(&waves, &units, run_row..row);
                }
                match runs {
                    0 => {}
                    1 => chunk.head = Some(run.to_open()),
                    _ => chunk.finish(self, &view(&run), &mut scratch),
                }
                run.start(ids.get(row));
                run_row = row;
                runs += 1;
            }
            let Some(answer) = answers.view(row).filter(|v| v.length > 0) else {
                continue;
            };
            // A missing question reads as "", as it did as text.
            let question = questions.view(row).unwrap_or_default();
            let guess = follows[previous];
            let q = match self.codes.get(guess) {
                Some(code) if code.matches(question, || questions.str(row)) => guess,
                _ => {
                    let name = questions.get(row).unwrap_or_default();
                    let found = if question.length <= View::MAX_INLINE_SIZE {
                        self.inline_questions.get(&question.as_u128())
                    } else {
                        self.questions.get(name)
                    };
                    match found {
                        Some(&q) => {
                            follows[previous] = usize::from(q);
                            usize::from(q)
                        }
                        None => {
                            run.unknown.push(name);
                            continue;
                        }
                    }
                }
            };
            previous = q;
            let code = self
                .answer_codes
                .get(q)
                .and_then(|codes| codes.index(answer, || answers.str(row)))
                .unwrap_or(NO_CODE_MATCHED);
            // As `stored_value` reads a number; only an answer that is none of the codes is read as one.
            let number = if code == NO_CODE_MATCHED {
                answers.str(row).parse::<f64>().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            };
            run.rows.push(q as u16, code, number);
        }
        run.agree(&waves, &units, run_row..df.height());
        match runs {
            0 => {}
            1 => chunk.head = Some(run.to_open()),
            _ => chunk.tail = Some(run.to_open()),
        }
        Ok(chunk)
    }

    /// Joins the chunks' first and last runs in file order and reads them into one more chunk, returned last.
    pub fn join_edges(&self, mut chunks: Vec<Chunk>) -> Vec<Chunk> {
        let mut edges = Chunk::new(self.indicators);
        let mut scratch = Scratch::new(self.indicators);
        let mut carry: Option<OpenRun> = None;
        let mut finish = |run: OpenRun, edges: &mut Chunk| {
            let unknown: Vec<&str> = run.unknown.iter().map(String::as_str).collect();
            let view = RunView {
                id: run.id.as_deref(),
                wave: run.wave.as_deref(),
                unit: run.unit.as_deref(),
                conflict: run.conflict.as_ref().map(|(c, a, b)| (*c, a.as_str(), b.as_str())),
                rows: &run.rows,
                unknown: &unknown,
            };
            edges.finish(self, &view, &mut scratch);
        };
        for chunk in &mut chunks {
            if let Some(head) = chunk.head.take() {
                carry = match carry.take() {
                    Some(open) if open.id == head.id => Some(open.extend(head)),
                    Some(open) => {
                        finish(open, &mut edges);
                        Some(head)
                    }
                    None => Some(head),
                };
            }
            if let Some(tail) = chunk.tail.take() {
                if let Some(open) = carry.take() {
                    finish(open, &mut edges);
                }
                carry = Some(tail);
            }
        }
        if let Some(open) = carry.take() {
            finish(open, &mut edges);
        }
        chunks.push(edges);
        chunks
    }
}

fn view<'v>(run: &'v Run<'_>) -> RunView<'v> {
    RunView {
        id: run.id,
        wave: run.wave,
        unit: run.unit,
        conflict: run.conflict,
        rows: &run.rows,
        unknown: &run.unknown,
    }
}

impl Chunk {
    fn new(indicators: usize) -> Self {
        Self {
            waves: Vec::new(),
            segments: vec![Segment::new(indicators)],
            ignored: HashMap::new(),
            unknown: HashMap::new(),
            unknown_units: Vec::new(),
            error: None,
            set_aside: Vec::new(),
            head: None,
            tail: None,
        }
    }

    /// Checks one response's keys, walks its rows and keeps its values.
    fn finish(&mut self, reader: &Reader<'_>, run: &RunView<'_>, scratch: &mut Scratch) {
        let Some(id) = run.id else {
            self.error.get_or_insert(AnalysisError::MissingKey {
                response_id: String::new(),
                column: "response_id",
            });
            return;
        };
        let (Some(wave), Some(unit)) = (run.wave, run.unit) else {
            self.set_aside.push(id.to_owned());
            self.error.get_or_insert(AnalysisError::MissingKey {
                response_id: id.to_owned(),
                column: if run.wave.is_none() { "wave" } else { "unit_code" },
            });
            return;
        };
        if let Some((column, a, b)) = run.conflict {
            // Named in the order the two passes name them: the smaller value first.
            let (first, second) = if a <= b { (a, b) } else { (b, a) };
            self.set_aside.push(id.to_owned());
            self.error.get_or_insert(AnalysisError::InconsistentResponse {
                response_id: id.to_owned(),
                column,
                first: first.to_owned(),
                second: second.to_owned(),
            });
            return;
        }
        let successor = reader.lineage.successor(wave, unit);
        let Some(&unit_number) = reader.units.number.get(successor) else {
            self.set_aside.push(id.to_owned());
            if self.unknown_units.len() < 5 && !self.unknown_units.iter().any(|u| u == successor) {
                self.unknown_units.push(successor.to_owned());
            }
            return;
        };
        let wave_number = match self.waves.iter().position(|w| w == wave) {
            Some(k) => k as u16,
            None => {
                self.waves.push(wave.to_owned());
                (self.waves.len() - 1) as u16
            }
        };
        for question in run.unknown {
            *self.unknown.entry((wave_number, (*question).to_owned())).or_default() += 1;
        }

        let Scratch {
            walk,
            sums,
            counts,
            touched,
        } = scratch;
        let ignored = &mut self.ignored;
        reader.checker.walk(
            run.rows.respondent(),
            walk,
            |q, kind, n| *ignored.entry((wave_number, q as u16, kind)).or_default() += n,
            |indicator, value| {
                let i = usize::from(indicator);
                if let (Some(sum), Some(count)) = (sums.get_mut(i), counts.get_mut(i)) {
                    if *count == 0 {
                        touched.push(indicator);
                    }
                    *sum += value;
                    *count += 1;
                }
            },
        );

        let width = reader.indicators;
        let mut segment = self.segments.len() - 1;
        let mut start = self.segments[segment].codes.len();
        self.segments[segment].codes.resize(start + width, 0);
        let mut k = 0;
        while k < touched.len() {
            let i = usize::from(touched[k]);
            let value = respondent_mean(sums[i], counts[i]);
            let current = &mut self.segments[segment];
            match current.dictionaries[i].code(value) {
                Some(code) => {
                    current.codes[start + i] = code;
                    k += 1;
                }
                None => {
                    // A dictionary is full: this respondent starts a segment of its own dictionaries.
                    current.codes.truncate(start);
                    self.segments.push(Segment::new(width));
                    segment += 1;
                    start = 0;
                    self.segments[segment].codes.resize(width, 0);
                    k = 0;
                }
            }
        }
        for &i in touched.iter() {
            sums[usize::from(i)] = 0.0;
            counts[usize::from(i)] = 0;
        }
        touched.clear();
        let current = &mut self.segments[segment];
        current.ids.push_str(id);
        current.id_ends.push(current.ids.len());
        current.waves.push(wave_number);
        current.units.push(unit_number);
    }
}

/// Whether a response id occurs in two runs: the answers were not grouped by response after all.
pub(crate) fn has_repeated_ids(chunks: &[Chunk]) -> bool {
    let total = chunks.iter().flat_map(|c| &c.segments).map(Segment::len).sum();
    let mut seen: FxHashSet<&str> = FxHashSet::with_capacity_and_hasher(total, Default::default());
    let kept = chunks
        .iter()
        .flat_map(|c| &c.segments)
        .flat_map(|s| (0..s.len()).map(move |k| s.id(k)));
    let set_aside = chunks.iter().flat_map(|c| &c.set_aside).map(String::as_str);
    !kept.chain(set_aside).all(|id| seen.insert(id))
}

/// A text column of a batch, one chunk, read through its views: a string of at most 12 bytes is inlined in its
/// 16-byte view (zero-padded, which polars' arrays guarantee), so two of them are equal exactly when their views
/// are; a longer one is equal to another with the same view (the same bytes of the same buffer). Comparing views
/// instead of calling `memcmp` on every row's id, wave, unit, question and answer made this pass several times
/// faster.
struct Text<'s> {
    array: &'s Utf8ViewArray,
    views: &'s [View],
    /// Whether any row is null: without, the validity of a row is never looked up.
    nulls: bool,
}

impl<'s> Text<'s> {
    fn new(array: &'s Utf8ViewArray) -> Self {
        Self {
            array,
            views: array.views().as_slice(),
            nulls: array.null_count() > 0,
        }
    }

    #[inline]
    fn valid(&self, row: usize) -> bool {
        !self.nulls || self.array.is_valid(row)
    }

    /// The row's text; "" for a null.
    fn str(&self, row: usize) -> &'s str {
        if self.valid(row) { self.array.value(row) } else { "" }
    }

    fn get(&self, row: usize) -> Option<&'s str> {
        self.valid(row).then(|| self.array.value(row))
    }

    /// The row's view, `None` for a null.
    #[inline]
    fn view(&self, row: usize) -> Option<View> {
        self.valid(row).then(|| self.views[row])
    }

    /// Whether two rows hold the same text, or are both null.
    #[inline]
    fn same(&self, a: usize, b: usize) -> bool {
        if self.valid(a) != self.valid(b) {
            return false;
        }
        let (x, y) = (self.views[a], self.views[b]);
        !self.valid(a) || x.as_u128() == y.as_u128() || self.same_bytes(x, y, a, b)
    }

    /// Whether two valid rows with different views hold the same text: only a long text can (another copy of
    /// the same bytes).
    fn same_bytes(&self, x: View, y: View, a: usize, b: usize) -> bool {
        x.length > View::MAX_INLINE_SIZE
            && x.length == y.length
            && x.prefix == y.prefix
            && self.array.value(a) == self.array.value(b)
    }

    /// The text every row of `rows` holds when they all hold the same one by their views and none is null (as a
    /// dictionary-encoded column's rows do); `None` otherwise, or for no rows.
    fn uniform(&self, rows: Range<usize>) -> Option<&'s str> {
        let views = self.views.get(rows.clone())?;
        let first = views.first()?.as_u128();
        (!self.nulls && views.iter().all(|v| v.as_u128() == first)).then(|| self.array.value(rows.start))
    }
}

/// One question's answer codes, searched by a row's view: most answers are a short code, inlined in the view, and
/// are found by comparing 16-byte numbers laid out one after the other.
struct AnswerCodes<'a> {
    /// Per code in the question's order, its inline view; `u128::MAX` for a long code, which no inline view equals
    /// (its length field would be `u32::MAX`).
    inline: Vec<u128>,
    /// The long codes with their positions.
    long: Vec<(u32, &'a str)>,
}

impl<'a> AnswerCodes<'a> {
    fn new(codes: &'a [String]) -> Self {
        let mut inline = Vec::with_capacity(codes.len());
        let mut long = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            match Key::of(code) {
                Key::Inline(view) => inline.push(view),
                Key::Long(text) => {
                    inline.push(u128::MAX);
                    long.push((i as u32, text));
                }
            }
        }
        Self { inline, long }
    }

    /// The position of the first code equal to the row's answer (its text read only for a long one).
    #[inline]
    fn index<'s>(&self, view: View, text: impl FnOnce() -> &'s str) -> Option<u32> {
        if view.length <= View::MAX_INLINE_SIZE {
            let key = view.as_u128();
            self.inline.iter().position(|&k| k == key).map(|i| i as u32)
        } else if self.long.is_empty() {
            None
        } else {
            let text = text();
            self.long.iter().find(|(_, code)| *code == text).map(|&(i, _)| i)
        }
    }
}

/// A code compared with rows' views: inlined when it is short enough, else as text.
enum Key<'a> {
    Inline(u128),
    Long(&'a str),
}

impl<'a> Key<'a> {
    fn of(code: &'a str) -> Self {
        if code.len() <= View::MAX_INLINE_SIZE as usize {
            Key::Inline(View::new_inline(code.as_bytes()).as_u128())
        } else {
            Key::Long(code)
        }
    }

    /// Whether a row with this view (and this text, read only when needed) holds the code.
    fn matches<'s>(&self, view: View, text: impl FnOnce() -> &'s str) -> bool {
        match self {
            Key::Inline(key) => view.as_u128() == *key,
            Key::Long(code) => view.length as usize == code.len() && text() == *code,
        }
    }
}
