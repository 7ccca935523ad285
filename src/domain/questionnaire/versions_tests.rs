//! papi-2026, code maps and the dimension rule (issue 23).

use super::*;

const PAPI_2025: &str = include_str!("../../../questionnaires/papi-2025.toml");
const PAPI_2026: &str = include_str!("../../../questionnaires/papi-2026.toml");
const MAP: &str = include_str!("../../../questionnaires/papi-2025-to-papi-2026.toml");
const MINI: &str = include_str!("../../../tests/fixtures/mini-questionnaire.toml");

fn all_codes(q: &Questionnaire) -> Vec<String> {
    q.dimensions
        .iter()
        .chain(&q.subdimensions)
        .chain(&q.indicators)
        .map(|n| n.code.clone())
        .chain(q.questions.iter().map(|x| x.code.clone()))
        .collect()
}

#[test]
fn papi_2026_has_todays_structure_in_both_languages() {
    let q = Questionnaire::parse(PAPI_2026).unwrap();
    assert_eq!((q.code.as_str(), q.version), ("papi-2026", 1));
    assert_eq!(q.dimensions.len(), 8);
    // PAPI since 2018: 8 dimensions, 28 sub-dimensions.
    assert_eq!(q.subdimensions.len(), 28);
    let subs: Vec<&str> = q.subdimensions.iter().map(|s| s.code.as_str()).collect();
    for gone in ["d3.3", "d5.2"] {
        assert!(!subs.contains(&gone), "{gone} is no longer a PAPI sub-dimension");
    }
    for added in ["d3.4", "d8.3"] {
        assert!(subs.contains(&added), "{added} is missing");
    }
    assert_eq!(q.dimension_rule, DimensionRule::All);
    for question in &q.questions {
        assert!(!question.text.vi.trim().is_empty() && !question.text.en.trim().is_empty());
    }
    // Every sub-dimension keeps at least three indicators, as PAPI does.
    for s in &q.subdimensions {
        let n = q
            .indicators
            .iter()
            .filter(|i| i.parent.as_deref() == Some(&s.code))
            .count();
        assert!(n >= 3, "{} has {n} indicators", s.code);
    }
}

#[test]
fn the_code_map_covers_every_code_of_both_versions_once() {
    let old = Questionnaire::parse(PAPI_2025).unwrap();
    let new = Questionnaire::parse(PAPI_2026).unwrap();
    let map = CodeMap::parse(MAP, &old, &new).unwrap();
    let changed_from: Vec<&String> = map.changed.iter().flat_map(|c| &c.from).collect();
    let changed_to: Vec<&String> = map.changed.iter().flat_map(|c| &c.to).collect();
    for code in all_codes(&old) {
        let places = map.same.contains(&code) as usize
            + map.dropped.contains(&code) as usize
            + changed_from.contains(&&code) as usize;
        assert_eq!(places, 1, "{code} of papi-2025");
    }
    for code in all_codes(&new) {
        let places =
            map.same.contains(&code) as usize + map.new.contains(&code) as usize + changed_to.contains(&&code) as usize;
        assert_eq!(places, 1, "{code} of papi-2026");
    }
    // Every question the issue names as badly worded has new codes.
    for code in [
        "d2_1_3", "d6_4_4", "d1_3_2", "d2_3_3", "d6_2_2", "d4_3_3", "d7_1_2", "d4_2_3", "d3_2_3", "d1_2_2", "d4_4_3",
        "d5_4_4", "d8_1_1",
    ] {
        assert!(changed_from.contains(&&code.to_owned()), "{code}");
        assert!(new.question(code).is_none(), "{code} is reused");
    }
    check_succession(&old, &new, Some(&map)).unwrap();
}

#[test]
fn a_map_that_misses_or_misplaces_codes_is_refused_with_each_code_named() {
    let old = Questionnaire::parse(PAPI_2025).unwrap();
    let new = Questionnaire::parse(PAPI_2026).unwrap();
    // d5_2_0 left out of `dropped`.
    let missing = MAP.replacen("\"d5_2_0\", ", "", 1);
    let errors = CodeMap::parse(&missing, &old, &new).unwrap_err().0;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("'d5_2_0'") && e.contains("not in the map")),
        "{errors:?}"
    );
    // A code of both versions listed as new.
    let misplaced = MAP.replacen("new = [\n", "new = [\n  \"d1_1_1\",\n", 1);
    let errors = CodeMap::parse(&misplaced, &old, &new).unwrap_err().0;
    assert!(errors.iter().any(|e| e.contains("'d1_1_1'")), "{errors:?}");
    // The map names other versions.
    let other = MAP.replacen("to = \"papi-2026:1\"", "to = \"papi-2026:2\"", 1);
    assert!(CodeMap::parse(&other, &old, &new).is_err());
}

#[test]
fn a_version_reusing_a_code_with_another_type_or_meaning_is_refused_without_a_map() {
    let v1 = Questionnaire::parse(MINI).unwrap();
    // d6_1_2 becomes a Likert question: another type under the same code, refused even with a map.
    let retyped = MINI.replacen("version = 1", "version = 2", 1).replacen(
        "code = \"d6_1_2\"\nindicator = \"d6.1.2\"\ntype = \"yes_no\"\ngood = \"yes\"",
        "code = \"d6_1_2\"\nindicator = \"d6.1.2\"\ntype = \"likert\"\nscale = \"satisfaction\"\ndirection = \"high_is_good\"",
        1,
    );
    let v2 = Questionnaire::parse(&retyped).unwrap();
    let errors = check_succession(&v1, &v2, None).unwrap_err().0;
    assert!(
        errors.iter().any(|e| e.starts_with("'d6_1_2' was yes_no")),
        "{errors:?}"
    );
    // Reworded with another meaning, same type: refused without a map ...
    let reworded = MINI.replacen("version = 1", "version = 2", 1).replacen(
        "Anh/chị có thẻ bảo hiểm y tế không?",
        "Gia đình anh/chị có ai được khám miễn phí không?",
        1,
    );
    let v2 = Questionnaire::parse(&reworded).unwrap();
    let errors = check_succession(&v1, &v2, None).unwrap_err().0;
    assert!(
        errors.iter().any(|e| e.contains("'d6_1_2' is worded differently")),
        "{errors:?}"
    );
    // ... accepted with a map that says the meaning is the same.
    let codes: Vec<String> = all_codes(&v1).into_iter().map(|c| format!("\"{c}\"")).collect();
    let map = format!("from = \"mini:1\"\nto = \"mini:2\"\nsame = [{}]\n", codes.join(", "));
    let map = CodeMap::parse(&map, &v1, &v2).unwrap();
    check_succession(&v1, &v2, Some(&map)).unwrap();
    // The same text again is no problem at all.
    check_succession(&v1, &Questionnaire::parse(MINI).unwrap(), None).unwrap();
}

#[test]
fn only_what_both_versions_measure_is_comparable() {
    let old = Questionnaire::parse(PAPI_2025).unwrap();
    let new = Questionnaire::parse(PAPI_2026).unwrap();
    let map = CodeMap::parse(MAP, &old, &new).unwrap();
    let c = map.comparable(&old, &new);
    // Kept: unchanged items, with their screening questions.
    for kept in ["d1.1.1", "d5.4.1", "d8.2.1"] {
        assert!(c.indicators.contains(kept), "{kept}");
    }
    assert!(c.questions.contains("d5_4_0"));
    // Left out: dropped (construction permits), new (access to justice, e-responsiveness, the plans' items),
    // and indicators whose questions changed.
    for left in [
        "d5.2.1", "d3.3.1", "d3.4.1", "d8.3.1", "d4.1.4", "d2.1.3", "d1.3.2", "d8.1.1", "d5.4.4",
    ] {
        assert!(!c.indicators.contains(left), "{left}");
    }
    assert!(!c.questions.contains("d5_2_1") && !c.questions.contains("d8_3_1"));
}

#[test]
fn the_dimension_rule_is_read_and_checked() {
    let with = |rule: &str| MINI.replacen("version = 1", &format!("version = 1\ndimension_rule = {rule}"), 1);
    assert_eq!(Questionnaire::parse(MINI).unwrap().dimension_rule, DimensionRule::Any);
    assert_eq!(
        Questionnaire::parse(&with("\"all\"")).unwrap().dimension_rule,
        DimensionRule::All
    );
    assert_eq!(
        Questionnaire::parse(&with("{ at_least = 2 }")).unwrap().dimension_rule,
        DimensionRule::AtLeast(2)
    );
    let errors = Questionnaire::parse(&with("\"most\"")).unwrap_err().0;
    assert!(
        errors.iter().any(|e| e.starts_with("dimension_rule: 'most'")),
        "{errors:?}"
    );
    let errors = Questionnaire::parse(&with("{ at_least = 0 }")).unwrap_err().0;
    assert!(
        errors.iter().any(|e| e.contains("at_least must be 1 or more")),
        "{errors:?}"
    );
}
