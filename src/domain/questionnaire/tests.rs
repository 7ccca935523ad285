use super::*;

const MINI: &str = include_str!("../../../tests/fixtures/mini-questionnaire.toml");

#[test]
fn a_small_questionnaire_parses_into_pages_with_skip_logic() {
    let q = Questionnaire::parse(MINI).unwrap();
    assert_eq!(
        q.pages.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        ["profile", "d5.2", "d6.1"]
    );
    assert_eq!(q.question("improve").unwrap().page, "d6.1");
    assert_eq!(q.pages[1].title.vi, "Giấy phép xây dựng");
    // The screening question joins the page of the questions it opens.
    assert_eq!(q.question("d5_2_0").unwrap().page, "d5.2");
    let trips = q.question("d5_2_1").unwrap();
    let mut answers = HashMap::new();
    assert!(!trips.is_eligible(&answers));
    answers.insert("d5_2_0".to_owned(), Answer::Code(NO.into()));
    assert!(!trips.is_eligible(&answers));
    answers.insert("d5_2_0".to_owned(), Answer::Code(YES.into()));
    assert!(trips.is_eligible(&answers));
    let rating = q.question("d5_2_2").unwrap();
    answers.insert("d5_2_1".to_owned(), Answer::Number(12));
    assert!(!rating.is_eligible(&answers));
    answers.insert("d5_2_1".to_owned(), Answer::DontKnow);
    assert!(!rating.is_eligible(&answers));
    answers.insert("d5_2_1".to_owned(), Answer::Number(2));
    assert!(rating.is_eligible(&answers));
}

#[test]
fn answers_are_parsed_and_refused_in_vietnamese() {
    let q = Questionnaire::parse(MINI).unwrap();
    let trips = q.question("d5_2_1").unwrap();
    assert_eq!(trips.parse_answer(" 3 "), Ok(Answer::Number(3)));
    assert_eq!(trips.parse_answer("dk"), Ok(Answer::DontKnow));
    assert!(
        trips
            .parse_answer("31")
            .unwrap_err()
            .0
            .vi
            .contains("nằm ngoài khoảng cho phép, từ 1 đến 30")
    );
    assert!(trips.parse_answer("ba").unwrap_err().0.vi.contains("số nguyên"));
    let rating = q.question("d5_2_2").unwrap();
    assert_eq!(rating.parse_answer("5"), Ok(Answer::Code("5".into())));
    assert!(rating.parse_answer("6").is_err());
    assert!(rating.parse_answer("").unwrap_err().0.vi.contains("chưa trả lời"));
    // Profile questions offer no "don't know".
    let sex = q.question("sex").unwrap();
    assert!(sex.parse_answer("DK").is_err());
    assert_eq!(sex.options().len(), 2);
    assert_eq!(rating.options().len(), 7);
    assert_eq!(trips.answer_from_stored(Some("4"), None), Some(Answer::Number(4)));
    assert_eq!(Answer::Number(4).to_stored(), (Some("4".into()), None));
}

#[test]
fn every_problem_is_reported_with_its_place_in_the_file() {
    let broken = MINI
        .replace("code = \"d5_2_2\"", "code = \"d5_2_1\"")
        .replace(
            "subdimension = \"d5.2\"\nvi = \"Hài lòng\"",
            "subdimension = \"d5.9\"\nvi = \"Hài lòng\"",
        )
        .replace("en = \"How many trips did you make?\"", "en = \"\"")
        .replace("good = 1\nbad = 5", "good = 1\nbad = 1")
        .replace("question = \"d5_2_0\"", "question = \"d9_9_9\"");
    let errors = Questionnaire::parse(&broken).unwrap_err().0;
    let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
    assert!(
        has("indicators[1] (d5.2.2): subdimension 'd5.9' is not defined"),
        "{errors:#?}"
    );
    assert!(
        has("questions[2] (d5_2_1): the English text (en) is missing"),
        "{errors:#?}"
    );
    assert!(
        has("questions[2] (d5_2_1): a scored number question has bounds good and bad that differ"),
        "{errors:#?}"
    );
    assert!(
        has("questions[2] (d5_2_1).when[0]: 'd9_9_9' is not an earlier question"),
        "{errors:#?}"
    );
    assert!(
        has("questions[3] (d5_2_1): code 'd5_2_1' is used by an earlier question"),
        "{errors:#?}"
    );
}

#[test]
fn unknown_keys_and_missing_scales_are_refused() {
    let e = Questionnaire::parse(&MINI.replace("direction = \"high_is_good\"", "directoin = \"high_is_good\""))
        .unwrap_err();
    assert!(e.0[0].contains("directoin"), "{e}");
    let e = Questionnaire::parse(&MINI.replace("scale = \"satisfaction\"", "scale = \"agreement\"")).unwrap_err();
    assert!(
        e.0.iter().any(|m| m.contains("scale 'agreement' is not defined")),
        "{e}"
    );
}
