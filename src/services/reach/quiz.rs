//! PAPI quizzes ("cuộc thi tìm hiểu"): a question bank in TOML (`data/quiz/papi-quiz.toml`, each question with
//! its source), rounds open between two times, one entry per person per round (the person is only a keyed hash,
//! as survey respondents are), the explanation after each answer, results by commune, and a draw anyone can
//! recompute:
//!
//! 1. When the round is created, a random seed is drawn and `SHA-256(seed)` is published on the round's page.
//! 2. When it closes, the seed is published. Anyone checks that its SHA-256 is the published hash.
//! 3. The candidates are the finished entries with the best score. For each, `SHA-256(seed + ":" + entry_id)`
//!    (lower-case hex); the `winners` candidates with the smallest such hashes win. The export lists every
//!    finished entry's id and score (no identity), which is all the recomputation needs.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{Problem, Text};
use crate::services::Error;
use crate::services::{random_hex, sha256_hex};
use crate::storage::{QuizEntryRow, QuizRoundRow, Store};

/// The bundled bank.
pub const BUNDLED_BANK: &str = include_str!("../../../data/quiz/papi-quiz.toml");

/// One question of the bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    /// `papi`, `law` or `feedback`.
    pub topic: String,
    pub dimension: Option<u8>,
    pub text: String,
    pub text_en: Option<String>,
    pub choices: Vec<String>,
    /// 1-based.
    pub correct: usize,
    pub explanation: String,
    pub source: String,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    question: Vec<toml::Spanned<RawQuestion>>,
}

#[derive(Deserialize)]
struct RawQuestion {
    id: Option<String>,
    topic: Option<String>,
    dimension: Option<i64>,
    text: Option<String>,
    text_en: Option<String>,
    choices: Option<Vec<String>>,
    correct: Option<i64>,
    explanation: Option<String>,
    source: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads a question bank; every problem is reported with its place (question number, id, line).
pub fn load_bank(text: &str) -> Result<Vec<Question>, Error> {
    let file: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        Error::Invalid(vec![Problem::new(
            format!("dòng {line}"),
            "syntax",
            Text::new(
                format!("Tệp câu hỏi không đúng cú pháp TOML ở dòng {line}: {}", e.message()),
                format!("The question file is not valid TOML at line {line}: {}", e.message()),
            ),
        )])
    })?;
    let mut problems = Vec::new();
    let mut questions = Vec::new();
    let mut ids = HashSet::new();
    for (i, spanned) in file.question.iter().enumerate() {
        let line = line_of(text, spanned.span().start);
        let q = spanned.get_ref();
        let place = format!(
            "câu {} ({}, dòng {line})",
            i + 1,
            q.id.as_deref().unwrap_or("không có id")
        );
        let mut problem = |code: &'static str, vi: String, en: String| {
            problems.push(Problem::new(place.clone(), code, Text::new(vi, en)));
        };
        let missing = |field: &str| (format!("thiếu «{field}»"), format!("«{field}» is missing"));
        let mut need = |field: &'static str, value: &Option<String>| {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                let (vi, en) = missing(field);
                problem("missing", vi, en);
            }
        };
        need("id", &q.id);
        need("text", &q.text);
        need("explanation", &q.explanation);
        need("source", &q.source);
        let topic = q.topic.clone().unwrap_or_default();
        let mut problem = |code: &'static str, vi: String, en: String| {
            problems.push(Problem::new(place.clone(), code, Text::new(vi, en)));
        };
        if !matches!(topic.as_str(), "papi" | "law" | "feedback") {
            problem(
                "topic",
                format!("«topic» phải là papi, law hoặc feedback (đang là «{topic}»)"),
                format!("«topic» must be papi, law or feedback (it is «{topic}»)"),
            );
        }
        let choices = q.choices.clone().unwrap_or_default();
        if !(2..=5).contains(&choices.len()) {
            problem(
                "choices",
                format!("cần từ 2 đến 5 lựa chọn (đang có {})", choices.len()),
                format!("needs 2 to 5 choices (it has {})", choices.len()),
            );
        }
        let correct = match q.correct {
            None => {
                problem(
                    "no_correct_answer",
                    "thiếu đáp án đúng («correct»)".into(),
                    "the correct answer («correct») is missing".into(),
                );
                0
            }
            Some(n) if n < 1 || n as usize > choices.len() => {
                problem(
                    "correct_out_of_range",
                    format!("«correct» = {n} không phải là một lựa chọn (1–{})", choices.len()),
                    format!("«correct» = {n} is not one of the choices (1–{})", choices.len()),
                );
                0
            }
            Some(n) => n as usize,
        };
        let dimension = match q.dimension {
            None => None,
            Some(d @ 1..=8) => Some(d as u8),
            Some(d) => {
                problem(
                    "dimension",
                    format!("«dimension» = {d} không phải chỉ số PAPI 1–8"),
                    format!("«dimension» = {d} is not a PAPI dimension 1–8"),
                );
                None
            }
        };
        if let Some(id) = &q.id
            && !ids.insert(id.clone())
        {
            problem(
                "duplicate_id",
                format!("id «{id}» đã dùng cho một câu trước"),
                format!("id «{id}» is used by an earlier question"),
            );
        }
        questions.push(Question {
            id: q.id.clone().unwrap_or_default(),
            topic,
            dimension,
            text: q.text.clone().unwrap_or_default(),
            text_en: q.text_en.clone().filter(|t| !t.trim().is_empty()),
            choices,
            correct,
            explanation: q.explanation.clone().unwrap_or_default(),
            source: q.source.clone().unwrap_or_default(),
        });
    }
    if questions.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            "tệp",
            "empty",
            Text::new(
                "Tệp không có câu hỏi nào ([[question]]).",
                "The file has no questions ([[question]]).",
            ),
        ));
    }
    if problems.is_empty() {
        Ok(questions)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// The bundled bank, parsed (it is checked by a test, so this never fails in a build that passed its tests).
pub fn bundled_bank() -> Vec<Question> {
    load_bank(BUNDLED_BANK).unwrap_or_default()
}

/// The problems of a round's questions (ids of the bundled bank) and times.
pub fn round_problems(question_ids: &[String], opens_at: DateTime<Utc>, closes_at: DateTime<Utc>) -> Vec<Problem> {
    let bank = bundled_bank();
    let mut problems = Vec::new();
    for id in question_ids {
        if !bank.iter().any(|q| &q.id == id) {
            problems.push(Problem::new(
                "question_ids",
                "unknown",
                Text::new(format!("Không có câu hỏi «{id}»."), format!("No question «{id}».")),
            ));
        }
    }
    if question_ids.is_empty() {
        problems.push(Problem::new(
            "question_ids",
            "empty",
            Text::new(
                "Vòng thi cần ít nhất một câu hỏi.",
                "A round needs at least one question.",
            ),
        ));
    }
    if closes_at <= opens_at {
        problems.push(Problem::new(
            "closes_at",
            "before_opening",
            Text::new(
                "Thời điểm đóng phải sau thời điểm mở.",
                "The round must close after it opens.",
            ),
        ));
    }
    problems
}

/// A round to store, with a fresh random seed committed by its hash.
pub fn new_round(
    title: &str,
    question_ids: &[String],
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    winners: i64,
    now: DateTime<Utc>,
) -> QuizRoundRow {
    let seed = random_hex::<32>();
    QuizRoundRow {
        id: Uuid::new_v4(),
        title: title.to_owned(),
        question_ids: question_ids.join(","),
        opens_at,
        closes_at,
        seed_hash: sha256_hex(&seed),
        seed,
        winners: winners.max(1),
        created_at: now,
        communes: String::new(),
        created_by: None,
        campaign_id: None,
    }
}

/// Creates a round of these questions (ids of the bundled bank) for every commune, with its committed seed (the
/// demo's and the tests'; the console's go through [`super::rounds::create`]).
pub async fn create_round(
    store: &Store,
    title: &str,
    question_ids: &[String],
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    winners: i64,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let problems = round_problems(question_ids, opens_at, closes_at);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let round = new_round(title, question_ids, opens_at, closes_at, winners, now);
    store.insert_quiz_round(&round).await?;
    Ok(round.id)
}

/// The communes a round is for; empty: every commune.
pub fn round_communes(round: &QuizRoundRow) -> Vec<&str> {
    round.communes.split(',').filter(|c| !c.is_empty()).collect()
}

/// Whether people of `commune` take part in a round.
pub fn in_scope(round: &QuizRoundRow, commune: &str) -> bool {
    let communes = round_communes(round);
    communes.is_empty() || communes.contains(&commune)
}

/// The round open now for people of `commune` (the newest, if several are).
pub async fn open_round_for(store: &Store, commune: &str, now: DateTime<Utc>) -> Result<Option<QuizRoundRow>, Error> {
    Ok(store
        .open_quiz_rounds(now)
        .await?
        .into_iter()
        .find(|r| in_scope(r, commune)))
}

/// The keyed hash a person takes part under: the same hash of the same kind of identity on every surface (a chat
/// user id, a web device token), so that one person has one entry per round.
pub fn identity_hash(surveys: &crate::services::survey::Surveys, channel: &str, id: &str) -> String {
    surveys.keyed_hash("quiz", &format!("{channel}:{id}"))
}

/// A round's questions, in order.
pub fn round_questions(round: &QuizRoundRow) -> Vec<Question> {
    let bank = bundled_bank();
    round
        .question_ids
        .split(',')
        .filter_map(|id| bank.iter().find(|q| q.id == id).cloned())
        .collect()
}

/// Where a person stands in a round after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuizStep {
    /// The next question to ask (0-based), with the verdict on the answer just given, if any.
    Ask { index: usize, last: Option<Verdict> },
    /// All answered: their score out of how many, with the verdict on the last answer.
    Done {
        score: i64,
        of: usize,
        last: Option<Verdict>,
    },
    /// They already finished this round (a second entry is refused).
    AlreadyEntered { score: i64, of: usize },
    /// The round is not open now.
    Closed,
    /// The round is not for this commune.
    NotHere,
}

/// Whether an answer was right, with the explanation and the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub right: bool,
    pub correct: usize,
    pub explanation: String,
    pub source: String,
}

/// Takes a step in a round for one person (`identity_hash` from the surveys' keyed hash): starts their entry,
/// records an answer to question `index` (ignored unless it is the one expected, so a repeated press counts once).
pub async fn step(
    store: &Store,
    round: &QuizRoundRow,
    identity_hash: &str,
    channel: &str,
    commune: &str,
    answer: Option<(usize, usize)>,
    now: DateTime<Utc>,
) -> Result<QuizStep, Error> {
    let questions = round_questions(round);
    let entry = store.quiz_entry(round.id, identity_hash).await?;
    if let Some(e) = &entry
        && e.finished_at.is_some()
    {
        return Ok(QuizStep::AlreadyEntered {
            score: e.score,
            of: questions.len(),
        });
    }
    if now < round.opens_at || now >= round.closes_at {
        return Ok(QuizStep::Closed);
    }
    if entry.is_none() && !in_scope(round, commune) {
        return Ok(QuizStep::NotHere);
    }
    let entry = match entry {
        Some(e) => e,
        None => {
            store
                .start_quiz_entry(round.id, identity_hash, channel, commune, now)
                .await?;
            store
                .quiz_entry(round.id, identity_hash)
                .await?
                .ok_or_else(|| Error::Conflict("the quiz entry vanished".into()))?
        }
    };
    let given: Vec<usize> = entry.answers.split(',').filter_map(|a| a.parse().ok()).collect();
    let mut last = None;
    let mut score = entry.score;
    let mut answered = given.len();
    if let Some((index, choice)) = answer
        && index == given.len()
        && let Some(q) = questions.get(index)
        && (1..=q.choices.len()).contains(&choice)
    {
        let right = choice == q.correct;
        let mut next = given.clone();
        next.push(choice);
        let answers = next.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",");
        let new_score = entry.score + i64::from(right);
        let finished = (next.len() >= questions.len()).then_some(now);
        if store
            .record_quiz_answer(round.id, identity_hash, &entry.answers, &answers, new_score, finished)
            .await?
        {
            score = new_score;
            answered = next.len();
            last = Some(Verdict {
                right,
                correct: q.correct,
                explanation: q.explanation.clone(),
                source: q.source.clone(),
            });
        }
    }
    if answered >= questions.len() {
        Ok(QuizStep::Done {
            score,
            of: questions.len(),
            last,
        })
    } else {
        Ok(QuizStep::Ask { index: answered, last })
    }
}

/// A commune's results in a round: (commune code, finished entries, mean score).
pub fn results_by_commune(entries: &[QuizEntryRow]) -> Vec<(String, usize, f64)> {
    let mut by: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    for e in entries {
        let slot = by.entry(&e.commune_code).or_default();
        slot.0 += 1;
        slot.1 += e.score;
    }
    by.into_iter()
        .map(|(c, (n, sum))| (c.to_owned(), n, sum as f64 / n as f64))
        .collect()
}

/// The draw (module documentation): the winning entry ids, best first.
pub fn draw(seed: &str, entries: &[(Uuid, i64)], winners: usize) -> Vec<Uuid> {
    let Some(best) = entries.iter().map(|(_, s)| *s).max() else {
        return Vec::new();
    };
    let mut candidates: Vec<(String, Uuid)> = entries
        .iter()
        .filter(|(_, s)| *s == best)
        .map(|(id, _)| (sha256_hex(&format!("{seed}:{id}")), *id))
        .collect();
    candidates.sort();
    candidates.into_iter().take(winners).map(|(_, id)| id).collect()
}

/// The round's seed, once it has closed (before, only its hash is public).
pub fn revealed_seed(round: &QuizRoundRow, now: DateTime<Utc>) -> Option<&str> {
    (now >= round.closes_at).then_some(round.seed.as_str())
}

/// The entries without identity, as CSV (UTF-8 with BOM): entry id, channel, commune, answers, score, finished.
pub fn entries_csv(entries: &[QuizEntryRow]) -> String {
    let mut out = String::from("\u{feff}entry_id,channel,commune_code,answers,score,finished_at\r\n");
    for e in entries {
        out.push_str(&format!(
            "{},{},{},\"{}\",{},{}\r\n",
            e.entry_id,
            e.channel,
            e.commune_code,
            e.answers,
            e.score,
            e.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_bank_has_at_least_30_sourced_questions_on_every_topic() {
        let bank = load_bank(BUNDLED_BANK).unwrap();
        assert!(bank.len() >= 30, "{}", bank.len());
        for topic in ["papi", "law", "feedback"] {
            assert!(bank.iter().any(|q| q.topic == topic), "{topic}");
        }
        for d in 1..=8 {
            assert!(bank.iter().any(|q| q.dimension == Some(d)), "dimension {d}");
        }
        assert!(bank.iter().all(|q| !q.source.is_empty() && q.correct >= 1));
    }

    #[test]
    fn a_question_without_a_correct_answer_is_reported_with_its_place_and_so_is_every_other_problem() {
        let text = "[[question]]\nid = \"a\"\ntopic = \"papi\"\ntext = \"Câu một?\"\nchoices = [\"x\", \"y\"]\n\
                    explanation = \"vì\"\nsource = \"papi.org.vn\"\n\n[[question]]\nid = \"b\"\ntopic = \"law\"\n\
                    text = \"Câu hai?\"\nchoices = [\"x\"]\ncorrect = 3\nexplanation = \"vì\"\n";
        let Err(Error::Invalid(problems)) = load_bank(text) else {
            panic!("the file should be refused");
        };
        let said: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message.vi))
            .collect();
        assert!(
            said.iter()
                .any(|p| p.contains("câu 1 (a, dòng 1)") && p.contains("thiếu đáp án đúng")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|p| p.contains("câu 2 (b, dòng 9)") && p.contains("thiếu «source»")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|p| p.contains("câu 2") && p.contains("cần từ 2 đến 5 lựa chọn")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|p| p.contains("câu 2") && p.contains("«correct» = 3")),
            "{said:?}"
        );
    }

    #[test]
    fn the_draw_is_recomputed_from_the_seed_and_the_entries_alone() {
        let ids: Vec<Uuid> = (1..=5_u128).map(Uuid::from_u128).collect();
        let entries: Vec<(Uuid, i64)> = ids
            .iter()
            .map(|id| (*id, if id.as_u128() == 5 { 2 } else { 3 }))
            .collect();
        let winners = draw("hạt giống", &entries, 2);
        assert_eq!(winners.len(), 2);
        assert!(!winners.contains(&ids[4]), "a lower score never wins");
        assert_eq!(winners, draw("hạt giống", &entries, 2));
        // By hand, as docs/reach.md tells anyone to do it.
        let mut by_hand: Vec<(String, Uuid)> = ids[..4]
            .iter()
            .map(|id| (sha256_hex(&format!("hạt giống:{id}")), *id))
            .collect();
        by_hand.sort();
        assert_eq!(winners, vec![by_hand[0].1, by_hand[1].1]);
    }
}
