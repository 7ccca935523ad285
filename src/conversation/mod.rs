//! The channel-neutral survey dialogue: from the stored state, the answers so far and one input, decide what
//! to ask next. Web, Telegram and Zalo all go through here; none of their types appear in this module.
//!
//! A survey is a sequence of *screens*. In chats a screen is one question (shown with buttons); on the web a
//! screen is a page of one sub-dimension, cut where a question depends on an earlier question of the same page,
//! so that skip logic works without JavaScript. The [`SurveyEngine`] is pure: from a survey session's state and
//! answers it returns the new state, the answers to store or remove, and the step to show;
//! `services::survey` (`Surveys::advance`) turns that into the session's next write.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::questionnaire::{Answer, Condition, PROFILE_PAGE, Question, Questionnaire};
use crate::domain::{Lang, Problem, Text};

/// How questions are grouped into screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One question at a time (Telegram, Zalo).
    Chat,
    /// A page of questions at a time (the web form).
    Web,
}

/// What is kept between two inputs of one respondent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyState {
    pub mode: Mode,
    pub screen: usize,
    /// Screens shown before, for "back".
    pub history: Vec<usize>,
    pub lang: Lang,
}

/// Questions shown together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    /// Index into [`Questionnaire::pages`].
    pub page: usize,
    /// Indexes into [`Questionnaire::questions`].
    pub questions: Vec<usize>,
}

/// One input of a respondent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Show where the respondent is (first visit, resume after a pause).
    Show,
    /// Answers to the questions of `screen`, as typed or tapped: (question code, raw value).
    Submit {
        screen: usize,
        answers: Vec<(String, String)>,
    },
    Back,
}

/// A screen to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Ask {
    pub screen: usize,
    pub page: usize,
    /// The questions to ask on it: those eligible given the answers so far.
    pub questions: Vec<usize>,
    /// Raw values to show in the inputs: what was typed (after an error) or what is stored.
    pub values: HashMap<String, String>,
    /// Why answers were refused, per question code.
    pub errors: Vec<(String, Text)>,
    pub progress_percent: u8,
    pub can_go_back: bool,
    /// The input was for another screen (a resubmitted page, an old button): nothing was changed.
    pub stale: bool,
}

/// What to show next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Ask(Ask),
    /// Every eligible question is answered: the response is complete.
    Done,
}

/// The result of one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub state: SurveyState,
    pub step: Step,
    /// Answers to store (new or changed).
    pub upserts: Vec<(String, Answer)>,
    /// Stored answers to remove: questions that are no longer asked after an earlier answer changed.
    pub deletes: Vec<String>,
}

/// The survey dialogue over one questionnaire, in one mode.
#[derive(Clone, Debug)]
pub struct SurveyEngine<'q> {
    q: &'q Questionnaire,
    screens: Vec<Screen>,
}

impl<'q> SurveyEngine<'q> {
    pub fn new(q: &'q Questionnaire, mode: Mode) -> Self {
        Self {
            q,
            screens: screens(q, mode),
        }
    }

    /// The dialogue of a split questionnaire: the profile and the sub-dimensions `modules` only (their
    /// questions asked as usual); the others are never shown, so their answers are missing, as not asked.
    pub fn for_modules(q: &'q Questionnaire, mode: Mode, modules: &[String]) -> Self {
        let mut screens = screens(q, mode);
        screens.retain(|s| {
            let key = &q.pages[s.page].key;
            key == PROFILE_PAGE || modules.contains(key)
        });
        Self { q, screens }
    }

    pub fn questionnaire(&self) -> &'q Questionnaire {
        self.q
    }

    /// The first question of `screen` (in chats, its only one), asked or not: what a chat's answer button or
    /// typed reply for that screen answers.
    pub fn first_question(&self, screen: usize) -> Option<&'q Question> {
        let i = *self.screens.get(screen)?.questions.first()?;
        self.q.questions.get(i)
    }

    /// The state of a respondent who has not answered anything yet.
    pub fn start(&self, mode: Mode, lang: Lang) -> SurveyState {
        let screen = self.next_screen_from(0, &HashMap::new()).unwrap_or(0);
        SurveyState {
            mode,
            screen,
            history: Vec::new(),
            lang,
        }
    }

    fn eligible_on(&self, screen: usize, answers: &HashMap<String, Answer>) -> Vec<usize> {
        self.screens.get(screen).map_or_else(Vec::new, |s| {
            s.questions
                .iter()
                .copied()
                .filter(|&i| self.q.questions[i].is_eligible(answers))
                .collect()
        })
    }

    /// The first screen at or after `from` with a question to ask.
    fn next_screen_from(&self, from: usize, answers: &HashMap<String, Answer>) -> Option<usize> {
        (from..self.screens.len()).find(|&s| !self.eligible_on(s, answers).is_empty())
    }

    fn ask(
        &self,
        state: &SurveyState,
        answers: &HashMap<String, Answer>,
        errors: Vec<(String, Text)>,
        typed: Option<&[(String, String)]>,
        stale: bool,
    ) -> Step {
        let screen = state.screen.min(self.screens.len().saturating_sub(1));
        let questions = self.eligible_on(screen, answers);
        let mut values: HashMap<String, String> = questions
            .iter()
            .filter_map(|&i| {
                let code = &self.q.questions[i].code;
                answers.get(code).map(|a| (code.clone(), a.as_input()))
            })
            .collect();
        if let Some(typed) = typed {
            values.extend(typed.iter().cloned());
        }
        let progress_percent = ((screen * 100) / self.screens.len().max(1)).min(100) as u8;
        Step::Ask(Ask {
            screen,
            page: self.screens.get(screen).map_or(0, |s| s.page),
            questions,
            values,
            errors,
            progress_percent,
            can_go_back: !state.history.is_empty(),
            stale,
        })
    }

    /// Decides the next step from the state, the stored answers and one input.
    pub fn handle(&self, mut state: SurveyState, stored: &HashMap<String, Answer>, input: Input) -> Outcome {
        // Answers to questions that other answers now skip are kept (a changed mind may change back) but never
        // count: not for eligibility, not for display.
        let (effective, _) = self.split_effective(stored);
        let answers = &effective;
        let unchanged = |state: SurveyState, step| Outcome {
            state,
            step,
            upserts: Vec::new(),
            deletes: Vec::new(),
        };
        match input {
            Input::Show => {
                let step = self.ask(&state, answers, Vec::new(), None, false);
                unchanged(state, step)
            }
            Input::Back => {
                if let Some(previous) = state.history.pop() {
                    state.screen = previous;
                }
                let step = self.ask(&state, answers, Vec::new(), None, false);
                unchanged(state, step)
            }
            Input::Submit {
                screen,
                answers: submitted,
            } => {
                if screen != state.screen {
                    let step = self.ask(&state, answers, Vec::new(), None, true);
                    return unchanged(state, step);
                }
                let given: HashMap<&str, &str> = submitted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let mut errors = Vec::new();
                let mut upserts = Vec::new();
                for i in self.eligible_on(screen, answers) {
                    let question = &self.q.questions[i];
                    match question.parse_answer(given.get(question.code.as_str()).copied().unwrap_or_default()) {
                        Ok(a) => upserts.push((question.code.clone(), a)),
                        Err(e) => errors.push((question.code.clone(), e.0)),
                    }
                }
                if !errors.is_empty() {
                    let step = self.ask(&state, answers, errors, Some(&submitted), false);
                    return unchanged(state, step);
                }
                let mut merged = stored.clone();
                merged.extend(upserts.iter().cloned());
                let (merged_effective, no_longer_asked) = self.split_effective(&merged);
                match self.next_screen_from(screen + 1, &merged_effective) {
                    Some(next) => {
                        state.history.push(screen);
                        state.screen = next;
                        let step = self.ask(&state, &merged_effective, Vec::new(), None, false);
                        Outcome {
                            state,
                            step,
                            upserts,
                            deletes: Vec::new(),
                        }
                    }
                    None => Outcome {
                        state,
                        step: Step::Done,
                        upserts,
                        deletes: no_longer_asked,
                    },
                }
            }
        }
    }

    /// Splits answers into those that count and those of questions the other answers now skip (after "back"
    /// and a changed answer), walking the questions in order.
    fn split_effective(&self, answers: &HashMap<String, Answer>) -> (HashMap<String, Answer>, Vec<String>) {
        let mut kept: HashMap<String, Answer> = HashMap::new();
        let mut dropped = Vec::new();
        for q in &self.q.questions {
            if let Some(a) = answers.get(&q.code) {
                if q.is_eligible(&kept) {
                    kept.insert(q.code.clone(), a.clone());
                } else {
                    dropped.push(q.code.clone());
                }
            }
        }
        (kept, dropped)
    }

    /// See [`validate_complete`].
    pub fn validate_complete(&self, raw: &BTreeMap<String, String>) -> Result<Vec<(String, Answer)>, Vec<Problem>> {
        validate_complete(self.q, raw)
    }
}

/// Checks a complete response given at once (the JSON API): every eligible question answered and valid, no
/// answer to an unknown or skipped question. Every problem is listed. Needs no screens, so the API's hot path
/// does not build them.
pub fn validate_complete(
    q: &Questionnaire,
    raw: &BTreeMap<String, String>,
) -> Result<Vec<(String, Answer)>, Vec<Problem>> {
    let mut problems = Vec::new();
    for code in raw.keys() {
        if q.question(code).is_none() {
            problems.push(Problem {
                field: code.clone(),
                code: "unknown_question",
                message: Text::new(
                    format!("Bảng hỏi không có câu hỏi mã {code}."),
                    format!("The questionnaire has no question {code}."),
                ),
            });
        }
    }
    let mut parsed: HashMap<String, Answer> = HashMap::new();
    let mut ordered = Vec::new();
    for q in &q.questions {
        let given = raw.get(&q.code);
        match (q.is_eligible(&parsed), given) {
            (true, Some(value)) => match q.parse_answer(value) {
                Ok(a) => {
                    parsed.insert(q.code.clone(), a.clone());
                    ordered.push((q.code.clone(), a));
                }
                Err(e) => problems.push(Problem {
                    field: q.code.clone(),
                    code: "invalid_answer",
                    message: e.0,
                }),
            },
            (true, None) => problems.push(Problem {
                field: q.code.clone(),
                code: "missing_answer",
                message: Text::new(
                    "Câu hỏi này chưa được trả lời (có thể chọn DK – Không biết, hoặc RF – Không trả lời).",
                    "This question has no answer (DK – don't know – and RF – refused – are accepted).",
                ),
            }),
            (false, Some(_)) => problems.push(Problem {
                field: q.code.clone(),
                code: "not_eligible",
                message: Text::new(
                    "Câu hỏi này không áp dụng theo các câu trả lời trước đó, nên không được trả lời.",
                    "The earlier answers skip this question, so it must not be answered.",
                ),
            }),
            (false, None) => {}
        }
    }
    if problems.is_empty() {
        Ok(ordered)
    } else {
        Err(problems)
    }
}

/// Cuts the questionnaire into screens for `mode`.
pub fn screens(q: &Questionnaire, mode: Mode) -> Vec<Screen> {
    let mut out: Vec<Screen> = Vec::new();
    for (page_index, page) in q.pages.iter().enumerate() {
        let mut current: Vec<usize> = Vec::new();
        let mut codes: HashSet<&str> = HashSet::new();
        for &i in &page.questions {
            let question = &q.questions[i];
            let depends_on_current = question.when.iter().any(|c| match c {
                Condition::AnyOf { question, .. } | Condition::Range { question, .. } => {
                    codes.contains(question.as_str())
                }
            });
            if !current.is_empty() && (mode == Mode::Chat || depends_on_current) {
                out.push(Screen {
                    page: page_index,
                    questions: std::mem::take(&mut current),
                });
                codes.clear();
            }
            current.push(i);
            codes.insert(question.code.as_str());
        }
        if !current.is_empty() {
            out.push(Screen {
                page: page_index,
                questions: current,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
