//! The engine on a small questionnaire: screens, skip logic, back, resume, validation, completion.

use super::*;
use crate::domain::questionnaire::{DONT_KNOW, NO, YES};

const MINI: &str = include_str!("../../tests/fixtures/mini-questionnaire.toml");

fn q() -> Questionnaire {
    Questionnaire::parse(MINI).unwrap()
}

fn codes(e: &SurveyEngine<'_>, ask: &Ask) -> Vec<String> {
    ask.questions
        .iter()
        .map(|&i| e.questionnaire().questions[i].code.clone())
        .collect()
}

fn submit(screen: usize, pairs: &[(&str, &str)]) -> Input {
    Input::Submit {
        screen,
        answers: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// Plays an input and applies its changes to `answers`, as the service does.
fn play(
    e: &SurveyEngine<'_>,
    state: SurveyState,
    answers: &mut HashMap<String, Answer>,
    input: Input,
) -> (SurveyState, Step) {
    let out = e.handle(state, answers, input);
    for (k, v) in out.upserts {
        answers.insert(k, v);
    }
    for k in out.deletes {
        answers.remove(&k);
    }
    (out.state, out.step)
}

fn asked(step: &Step) -> &Ask {
    match step {
        Step::Ask(a) => a,
        Step::Done => panic!("expected a question, got the end"),
    }
}

#[test]
fn web_screens_split_a_page_where_a_question_depends_on_the_same_page() {
    let q = q();
    let web: Vec<Vec<&str>> = screens(&q, Mode::Web)
        .iter()
        .map(|s| s.questions.iter().map(|&i| q.questions[i].code.as_str()).collect())
        .collect();
    assert_eq!(
        web,
        [
            vec!["sex"],
            vec!["d5_2_0"],
            vec!["d5_2_1"],
            vec!["d5_2_2"],
            vec!["d6_1_2", "d6_1_0"],
            vec!["d6_1_1", "improve"]
        ]
    );
    assert_eq!(screens(&q, Mode::Chat).len(), q.questions.len());
}

#[test]
fn chat_survey_skips_what_does_not_apply_and_ends() {
    let q = q();
    let e = SurveyEngine::new(&q, Mode::Chat);
    let mut answers = HashMap::new();
    let s = e.start(Mode::Chat, Lang::Vi);
    let (s, step) = play(&e, s, &mut answers, Input::Show);
    assert_eq!(codes(&e, asked(&step)), ["sex"]);
    let (s, step) = play(&e, s, &mut answers, submit(0, &[("sex", "f")]));
    assert_eq!(codes(&e, asked(&step)), ["d5_2_0"]);
    // No construction permit: the two permit questions are skipped.
    let (s, step) = play(&e, s, &mut answers, submit(1, &[("d5_2_0", NO)]));
    assert_eq!(codes(&e, asked(&step)), ["d6_1_2"]);
    let (s, step) = play(&e, s, &mut answers, submit(4, &[("d6_1_2", YES)]));
    let (s, step) = play(&e, s, &mut answers, submit(asked(&step).screen, &[("d6_1_0", NO)]));
    assert_eq!(codes(&e, asked(&step)), ["improve"]);
    assert!(asked(&step).progress_percent > 50);
    let (_, step) = play(
        &e,
        s,
        &mut answers,
        submit(asked(&step).screen, &[("improve", "Sửa đường liên thôn")]),
    );
    assert_eq!(step, Step::Done);
    assert_eq!(answers.len(), 5);
    assert!(!answers.contains_key("d5_2_1") && !answers.contains_key("d6_1_1"));
}

#[test]
fn a_refused_answer_keeps_what_was_typed_and_says_why_in_vietnamese() {
    let q = q();
    let e = SurveyEngine::new(&q, Mode::Web);
    let mut answers = HashMap::new();
    let mut s = e.start(Mode::Web, Lang::Vi);
    for (screen, pairs) in [(0, vec![("sex", "m")]), (1, vec![("d5_2_0", YES)])] {
        s = play(&e, s, &mut answers, submit(screen, &pairs)).0;
    }
    let out = e.handle(s.clone(), &answers, submit(2, &[("d5_2_1", "ba mươi")]));
    let ask = asked(&out.step).clone();
    assert_eq!(out.state, s, "nothing moves on an error");
    assert!(out.upserts.is_empty());
    assert_eq!(ask.values.get("d5_2_1").map(String::as_str), Some("ba mươi"));
    assert_eq!(ask.errors.len(), 1);
    assert!(ask.errors[0].1.vi.contains("số nguyên từ 1 đến 30"), "{:?}", ask.errors);
    // An empty page is refused too.
    let out = e.handle(s, &answers, submit(2, &[]));
    assert!(asked(&out.step).errors[0].1.vi.contains("chưa trả lời"));
}

#[test]
fn back_then_a_changed_answer_removes_answers_that_no_longer_apply() {
    let q = q();
    let e = SurveyEngine::new(&q, Mode::Web);
    let mut answers = HashMap::new();
    let mut s = e.start(Mode::Web, Lang::Vi);
    let steps: [(usize, Vec<(&str, &str)>); 4] = [
        (0, vec![("sex", "m")]),
        (1, vec![("d5_2_0", YES)]),
        (2, vec![("d5_2_1", "2")]),
        (3, vec![("d5_2_2", "4")]),
    ];
    for (screen, pairs) in steps {
        s = play(&e, s, &mut answers, submit(screen, &pairs)).0;
    }
    assert_eq!(s.screen, 4);
    // Back three times to the screening question; stored answers are shown again.
    let (s2, step) = play(&e, s.clone(), &mut answers, Input::Back);
    assert_eq!(asked(&step).values.get("d5_2_2").map(String::as_str), Some("4"));
    let (s2, _) = play(&e, s2, &mut answers, Input::Back);
    let (s2, step) = play(&e, s2, &mut answers, Input::Back);
    assert_eq!((s2.screen, asked(&step).can_go_back), (1, true));
    // Now "no": the permit answers must not survive to the end.
    let (s2, step) = play(&e, s2, &mut answers, submit(1, &[("d5_2_0", NO)]));
    assert_eq!(asked(&step).screen, 4);
    let (s2, step) = play(&e, s2, &mut answers, submit(4, &[("d6_1_2", YES), ("d6_1_0", YES)]));
    assert_eq!(codes(&e, asked(&step)), ["d6_1_1", "improve"]);
    let (_, step) = play(
        &e,
        s2,
        &mut answers,
        submit(5, &[("d6_1_1", "good"), ("improve", DONT_KNOW)]),
    );
    assert_eq!(step, Step::Done);
    assert!(
        !answers.contains_key("d5_2_1") && !answers.contains_key("d5_2_2"),
        "{answers:?}"
    );
    assert_eq!(answers.get("improve"), Some(&Answer::DontKnow));
}

#[test]
fn a_resubmitted_screen_changes_nothing() {
    let q = q();
    let e = SurveyEngine::new(&q, Mode::Web);
    let mut answers = HashMap::new();
    let s = e.start(Mode::Web, Lang::Vi);
    let (s, _) = play(&e, s, &mut answers, submit(0, &[("sex", "m")]));
    let out = e.handle(s.clone(), &answers, submit(0, &[("sex", "f")]));
    assert!(asked(&out.step).stale);
    assert!(out.upserts.is_empty());
    assert_eq!(out.state, s);
    // Resuming later shows the same place.
    let again = e.handle(s.clone(), &answers, Input::Show);
    assert_eq!(asked(&again.step).screen, s.screen);
}

#[test]
fn a_complete_response_lists_every_problem() {
    let q = q();
    let e = SurveyEngine::new(&q, Mode::Web);
    let raw: BTreeMap<String, String> = [
        ("sex", "x"),    // not a choice
        ("d5_2_0", NO),  // so d5_2_1 must not be answered
        ("d5_2_1", "3"), // not eligible
        ("d6_1_0", YES), // d6_1_1 becomes required but is missing; d6_1_2 missing
        ("improve", "Đèn đường"),
        ("d9_9", "1"), // unknown
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let problems = e.validate_complete(&raw).unwrap_err();
    let mut got: Vec<(&str, &str)> = problems.iter().map(|p| (p.field.as_str(), p.code)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("d5_2_1", "not_eligible"),
            ("d6_1_1", "missing_answer"),
            ("d6_1_2", "missing_answer"),
            ("d9_9", "unknown_question"),
            ("sex", "invalid_answer"),
        ]
    );
    let good: BTreeMap<String, String> = [
        ("sex", "f"),
        ("d5_2_0", NO),
        ("d6_1_2", YES),
        ("d6_1_0", NO),
        ("improve", "RF"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(e.validate_complete(&good).unwrap().len(), 5);
}

#[test]
fn a_split_questionnaire_asks_the_profile_and_the_drawn_sub_dimensions_only() {
    let q = q();
    let e = SurveyEngine::for_modules(&q, Mode::Chat, &["d6.1".to_owned()]);
    let mut answers = HashMap::new();
    let s = e.start(Mode::Chat, Lang::Vi);
    let (s, step) = play(&e, s, &mut answers, Input::Show);
    assert_eq!(codes(&e, asked(&step)), ["sex"]);
    let (s, step) = play(&e, s, &mut answers, submit(0, &[("sex", "f")]));
    // The permit sub-dimension (d5.2) was not drawn: straight to d6.1.
    assert_eq!(codes(&e, asked(&step)), ["d6_1_2"]);
    assert!(asked(&step).progress_percent > 0);
    let (s, step) = play(&e, s, &mut answers, submit(asked(&step).screen, &[("d6_1_2", YES)]));
    let (s, step) = play(&e, s, &mut answers, submit(asked(&step).screen, &[("d6_1_0", NO)]));
    let (_, step) = play(
        &e,
        s,
        &mut answers,
        submit(asked(&step).screen, &[("improve", "Sửa đường liên thôn")]),
    );
    assert_eq!(step, Step::Done);
    assert!(answers.keys().all(|k| !k.starts_with("d5_2")), "{answers:?}");
    assert_eq!(answers.len(), 4);
}

#[test]
fn each_respondent_gets_a_stable_draw_of_the_waves_number_of_sub_dimensions() {
    let q = q();
    let wave = crate::domain::survey::Wave {
        id: uuid::Uuid::from_u128(7),
        code: "w".into(),
        title: "w".into(),
        questionnaire_id: uuid::Uuid::from_u128(1),
        opens_at: chrono::Utc::now(),
        closes_at: chrono::Utc::now(),
        modules_per_respondent: Some(1),
    };
    let all: Vec<String> = q.subdimensions.iter().map(|s| s.code.clone()).collect();
    let mut seen = HashMap::new();
    for person in 0..200 {
        let hash = format!("{person:064x}");
        let drawn = wave.modules_for(&q, &hash).unwrap();
        assert_eq!(drawn.len(), 1);
        assert!(all.contains(&drawn[0]));
        assert_eq!(
            wave.modules_for(&q, &hash).unwrap(),
            drawn,
            "the same person, the same draw"
        );
        *seen.entry(drawn[0].clone()).or_insert(0) += 1;
    }
    // Every sub-dimension is drawn for someone, none for (nearly) everyone.
    assert_eq!(seen.len(), all.len(), "{seen:?}");
    assert!(seen.values().all(|&n| n > 200 / all.len() / 2), "{seen:?}");
    let whole = crate::domain::survey::Wave {
        modules_per_respondent: None,
        ..wave
    };
    assert_eq!(whole.modules_for(&q, "x"), None);
}
