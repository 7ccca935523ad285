//! What each row of an answers file is worth before it is scored (`docs/questionnaire.md`, "Answers files"):
//! every row is read against its question, repeated rows are found, and the questionnaire's skip logic
//! ([`crate::eligibility`]) is applied per respondent. Rows that cannot count are left out of every score and
//! counted per wave, question and [`IgnoredKind`], for `DIR/ignored.csv` and the summary line of `ykien analyze`.
//!
//! Answers files come from ykien's own export, but also from paper entry, KoboToolbox or ODK exports and older
//! systems, so nothing is assumed. Each non-empty row is counted under the first of these that applies:
//!
//! 1. `unknown_question`: the questionnaire has no question with that code;
//! 2. `unknown_code`, `unreadable_number`, `out_of_range`: the answer is not one the question takes;
//! 3. `duplicate`: the response has another row for that question with the same answer (one of them counts);
//!    `conflicting`: its rows for that question disagree (none counts);
//! 4. `not_eligible`: the skip logic did not ask the respondent this question, given the answers that count.
//!
//! Polars does the row-wise work (joins to the question and code tables, reading numbers) on its streaming
//! engine; the per-respondent walk in question order is plain Rust over compact columns.

use std::collections::HashMap;
use std::fmt;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;
use crate::codebook::{Accepts, Codebook, DONT_KNOW, REFUSED, stored_value};
use crate::eligibility::{Condition, Given};
use crate::indicator::{Answer, ValueRule};

/// Why a row of an answers file was left out of the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredKind {
    /// The questionnaire has no question with this code.
    UnknownQuestion,
    /// A code the question does not have (or "DK"/"RF" on a profile question, which does not offer them).
    UnknownCode,
    /// A number question's answer is not a number.
    UnreadableNumber,
    /// A number outside the question's `min`–`max`.
    OutOfRange,
    /// The same answer again for the same response and question: one row counts, the others are these.
    Duplicate,
    /// Different answers for the same response and question: none counts.
    Conflicting,
    /// The skip logic did not ask this respondent this question.
    NotEligible,
}

impl IgnoredKind {
    /// Every kind, in the order rows are checked.
    pub const ALL: [Self; 7] = [
        Self::UnknownQuestion,
        Self::UnknownCode,
        Self::UnreadableNumber,
        Self::OutOfRange,
        Self::Duplicate,
        Self::Conflicting,
        Self::NotEligible,
    ];

    /// The name written in `ignored.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownQuestion => "unknown_question",
            Self::UnknownCode => "unknown_code",
            Self::UnreadableNumber => "unreadable_number",
            Self::OutOfRange => "out_of_range",
            Self::Duplicate => "duplicate",
            Self::Conflicting => "conflicting",
            Self::NotEligible => "not_eligible",
        }
    }

    /// What it means, in Vietnamese, for people reading a report.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::UnknownQuestion => "mã câu hỏi không có trong bảng hỏi",
            Self::UnknownCode => "mã trả lời không có trong câu hỏi",
            Self::UnreadableNumber => "không đọc được số",
            Self::OutOfRange => "số nằm ngoài khoảng cho phép",
            Self::Duplicate => "dòng lặp lại",
            Self::Conflicting => "các câu trả lời mâu thuẫn nhau",
            Self::NotEligible => "câu hỏi không áp dụng theo điều kiện hỏi",
        }
    }
}

impl fmt::Display for IgnoredKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many rows of one wave and question were ignored for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredRows {
    /// The wave.
    pub wave: String,
    /// The question code as written in the file.
    pub question: String,
    /// Why.
    pub kind: IgnoredKind,
    /// How many rows.
    pub rows: u64,
}

/// The header of `ignored.csv`.
pub const IGNORED_CSV_HEADER: &str = "wave,question,kind,rows";

/// One row's answer, read against its question.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// The index of a code in the question's code list (special codes last).
    Code(u32),
    Number(f64),
    Text,
}

impl Token {
    fn same(self, other: Self) -> bool {
        match (self, other) {
            (Self::Code(a), Self::Code(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::Text, Self::Text) => true,
            _ => false,
        }
    }
}

/// A question as the check reads it.
struct CheckedQuestion {
    code: String,
    accepts: Accepts,
    /// The codes a row is matched against: the question's own, then "DK" and "RF".
    codes: Vec<String>,
    /// `codes[special_from..]` are "DK" and "RF".
    special_from: usize,
    dont_know: bool,
    /// Each condition with the index of the question it names and, per code index of that question, whether an
    /// answer with that code makes it hold (read once here rather than comparing code strings per respondent).
    when: Vec<(usize, Condition, Vec<bool>)>,
    /// The indicator it measures and its rule, for scored questions.
    scored: Option<(u16, ValueRule)>,
    /// Per code, its value under the rule.
    code_values: Vec<Option<f64>>,
}

/// The questions of a codebook, ready to check rows and walk respondents.
pub(crate) struct Checker {
    questions: Vec<CheckedQuestion>,
}

/// A code index that matched nothing.
const NO_CODE: u32 = u32::MAX;

impl Checker {
    /// The checker of a validated codebook.
    pub fn new(codebook: &Codebook) -> Result<Self, AnalysisError> {
        let asked = codebook.asked_questions();
        if u16::try_from(asked.len()).is_err() {
            return Err(AnalysisError::Internal("more than 65,535 questions"));
        }
        let index: HashMap<&str, usize> = asked.iter().enumerate().map(|(i, q)| (q.code.as_str(), i)).collect();
        let indicator_index: HashMap<&str, u16> = codebook
            .indicators
            .iter()
            .enumerate()
            .filter_map(|(i, ind)| Some((ind.code.as_str(), u16::try_from(i).ok()?)))
            .collect();
        let mut questions = Vec::with_capacity(asked.len());
        for q in asked.iter() {
            let mut codes = match &q.accepts {
                Accepts::Codes(codes) => codes.clone(),
                Accepts::Number { .. } | Accepts::Text => Vec::new(),
            };
            let special_from = codes.len();
            codes.push(DONT_KNOW.to_owned());
            codes.push(REFUSED.to_owned());
            let scored = codebook
                .questions
                .iter()
                .find(|s| s.code == q.code)
                .and_then(|s| Some((*indicator_index.get(s.indicator.as_str())?, s.rule.clone())));
            let code_values = codes
                .iter()
                .enumerate()
                .map(|(i, code)| match &scored {
                    Some((_, rule)) if i < special_from => stored_value(rule, code),
                    _ => None,
                })
                .collect();
            let mut when = Vec::with_capacity(q.when.len());
            for c in &q.when {
                let Some(&earlier) = index.get(c.question()) else {
                    return Err(AnalysisError::Internal("a condition names an unknown question"));
                };
                when.push((earlier, c.clone(), Vec::new()));
            }
            questions.push(CheckedQuestion {
                code: q.code.clone(),
                accepts: q.accepts.clone(),
                codes,
                special_from,
                dont_know: q.dont_know,
                when,
                scored,
                code_values,
            });
        }
        for q in 0..questions.len() {
            for k in 0..questions[q].when.len() {
                let (earlier, condition, _) = &questions[q].when[k];
                let earlier = &questions[*earlier];
                let by_code = (0..earlier.codes.len())
                    .map(|i| i < earlier.special_from && condition.holds(Some(Given::Code(&earlier.codes[i]))))
                    .collect();
                questions[q].when[k].2 = by_code;
            }
        }
        Ok(Self { questions })
    }

    /// `question` (code) → `q` (its index).
    pub fn questions_frame(&self) -> Result<DataFrame, AnalysisError> {
        let codes: Vec<&str> = self.questions.iter().map(|q| q.code.as_str()).collect();
        let numbers: Vec<u32> = (0..codes.len() as u32).collect();
        Ok(DataFrame::new(
            codes.len(),
            vec![Column::new("question".into(), codes), Column::new("q".into(), numbers)],
        )?)
    }

    /// (`question`, `answer`) → `code` (its index in the question's code list).
    pub fn codes_frame(&self) -> Result<DataFrame, AnalysisError> {
        let (mut question, mut answer, mut code) = (Vec::new(), Vec::new(), Vec::new());
        for q in &self.questions {
            for (i, c) in q.codes.iter().enumerate() {
                question.push(q.code.as_str());
                answer.push(c.as_str());
                code.push(i as u32);
            }
        }
        Ok(DataFrame::new(
            question.len(),
            vec![
                Column::new("question".into(), question),
                Column::new("answer".into(), answer),
                Column::new("code".into(), code),
            ],
        )?)
    }

    /// The index of `answer` in question number `q`'s code list (what the pipeline's join with
    /// [`Checker::codes_frame`] finds), if it is one of them.
    pub fn code_index(&self, q: usize, answer: &str) -> Option<u32> {
        let question = self.questions.get(q)?;
        question.codes.iter().position(|c| c == answer).map(|i| i as u32)
    }

    /// Question number `q`'s code list, as [`Checker::code_index`] searches it.
    pub fn codes(&self, q: usize) -> &[String] {
        self.questions.get(q).map_or(&[], |q| q.codes.as_slice())
    }

    /// The code of question number `q`.
    pub fn code(&self, q: usize) -> &str {
        self.questions.get(q).map_or("", |q| q.code.as_str())
    }

    /// How many questions there are (numbered from 0 in the order asked).
    pub fn question_count(&self) -> usize {
        self.questions.len()
    }

    /// Reads one row: its answer as a token, or why it cannot count.
    fn read(&self, q: usize, code: u32, number: f64) -> Result<Token, IgnoredKind> {
        let Some(question) = self.questions.get(q) else {
            return Err(IgnoredKind::UnknownQuestion);
        };
        if code != NO_CODE {
            if (code as usize) >= question.special_from && !question.dont_know {
                return Err(IgnoredKind::UnknownCode);
            }
            return Ok(Token::Code(code));
        }
        match question.accepts {
            Accepts::Codes(_) => Err(IgnoredKind::UnknownCode),
            Accepts::Number { min, max } => {
                if !number.is_finite() {
                    Err(IgnoredKind::UnreadableNumber)
                } else if number < min || number > max {
                    Err(IgnoredKind::OutOfRange)
                } else {
                    Ok(Token::Number(number))
                }
            }
            Accepts::Text => Ok(Token::Text),
        }
    }

    /// The value of a kept answer, for scored questions.
    fn value(&self, q: usize, token: Token) -> Option<(u16, f64)> {
        let question = self.questions.get(q)?;
        let (indicator, rule) = question.scored.as_ref()?;
        let value = match token {
            Token::Code(i) => *question.code_values.get(i as usize)?,
            Token::Number(x) => rule.value(&Answer::Number(x)),
            Token::Text => None,
        }?;
        Some((*indicator, value))
    }
}

/// One respondent's rows, in the file's order: question number, code index ([`u32::MAX`] when none matched) and
/// the answer read as a number (NaN when it is none).
pub(crate) struct RespondentRows<'a> {
    pub questions: &'a [u16],
    pub codes: &'a [u32],
    pub numbers: &'a [f64],
}

/// Reusable buffers of [`Checker::walk`].
#[derive(Default)]
pub(crate) struct Walk {
    order: Vec<usize>,
    kept: Vec<Option<Token>>,
    touched: Vec<usize>,
}

impl Checker {
    /// Checks one respondent's rows: counts every ignored row with `ignore(question number, kind, rows)` and
    /// passes `(indicator, value)` of every answer that counts and has a value to `value`.
    pub fn walk(
        &self,
        rows: RespondentRows<'_>,
        buffers: &mut Walk,
        mut ignore: impl FnMut(usize, IgnoredKind, u64),
        mut value: impl FnMut(u16, f64),
    ) {
        let Walk { order, kept, touched } = buffers;
        if kept.len() != self.questions.len() {
            kept.clear();
            kept.resize(self.questions.len(), None);
        }
        // Rows in question order, as files usually list them, are read in place; others through a sorted order.
        let n = rows.questions.len();
        let in_order = rows.questions.is_sorted();
        if !in_order {
            order.clear();
            order.extend(0..n);
            order.sort_by_key(|&k| rows.questions[k]);
        }
        let at = |i: usize| if in_order { i } else { order[i] };

        // Steps 2 and 3: read each row; one answer per question, or none when they disagree.
        let mut start = 0;
        while start < n {
            let q = usize::from(rows.questions[at(start)]);
            let mut end = start;
            let mut first: Option<Token> = None;
            let mut valid = 0u64;
            let mut disagree = false;
            while end < n && usize::from(rows.questions[at(end)]) == q {
                let k = at(end);
                match self.read(q, rows.codes[k], rows.numbers[k]) {
                    Ok(token) => {
                        valid += 1;
                        match first {
                            None => first = Some(token),
                            Some(earlier) => disagree |= !earlier.same(token),
                        }
                    }
                    Err(kind) => ignore(q, kind, 1),
                }
                end += 1;
            }
            if let Some(token) = first {
                if disagree {
                    ignore(q, IgnoredKind::Conflicting, valid);
                } else {
                    if valid > 1 {
                        ignore(q, IgnoredKind::Duplicate, valid - 1);
                    }
                    if let Some(slot) = kept.get_mut(q) {
                        *slot = Some(token);
                        touched.push(q);
                    }
                }
            }
            start = end;
        }

        // Step 4: skip logic, in question order (`touched` is: the rows were read by question number); an answer
        // not asked is forgotten before later questions look.
        debug_assert!(touched.is_sorted());
        for &q in touched.iter() {
            let Some(token) = kept[q] else { continue };
            let eligible = self.questions[q]
                .when
                .iter()
                .all(|(earlier, condition, by_code)| match kept[*earlier] {
                    // As `condition.holds(self.given(..))`: a code outside the list, DK and RF give no answer.
                    Some(Token::Code(i)) => by_code.get(i as usize).copied().unwrap_or(false),
                    Some(Token::Number(x)) => condition.holds(Some(Given::Number(x))),
                    Some(Token::Text) | None => false,
                });
            if eligible {
                if let Some((indicator, v)) = self.value(q, token) {
                    value(indicator, v);
                }
            } else {
                ignore(q, IgnoredKind::NotEligible, 1);
                kept[q] = None;
            }
        }
        for q in touched.drain(..) {
            kept[q] = None;
        }
    }
}

/// Sorted, summed ignored counts.
pub(crate) fn collect_ignored(counts: HashMap<(String, String, IgnoredKind), u64>) -> Vec<IgnoredRows> {
    let mut rows: Vec<IgnoredRows> = counts
        .into_iter()
        .filter(|(_, rows)| *rows > 0)
        .map(|((wave, question, kind), rows)| IgnoredRows {
            wave,
            question,
            kind,
            rows,
        })
        .collect();
    rows.sort_by(|a, b| (&a.wave, &a.question, a.kind).cmp(&(&b.wave, &b.question, b.kind)));
    rows
}
