//! Skip logic and bad rows in scoring, on hand-computed cases: every eligibility rule (a condition on a skipped,
//! "don't know", "refused" or unanswered question, a range on a Likert point, a chain of conditions) and every kind
//! of ignored row, with the expected scores and counts worked out by hand.

mod common;

use common::*;
use ykien_analysis::{AnswerRow, IgnoredKind, Level, ScoreOptions, Scores};

/// Eight respondents, each answering what the comments say, repeated `copies` times under new ids.
fn skip_answers(copies: usize) -> Vec<AnswerRow> {
    let people: [&[(&str, &str)]; 8] = [
        // r1: every block open. a = 1, b = 1, c = (2 − 10)/(0 − 10) = 0.8, d = 1.
        &[
            ("s0", "1"),
            ("q_a", "1"),
            ("q_b", "5"),
            ("q_c", "2"),
            ("q_d", "1"),
            ("p_sex", "male"),
        ],
        // r2: s0 = 0, so q_a is not asked; q_b's condition is on the skipped q_a, q_c's on the skipped q_b. d = 0.
        &[("s0", "0"), ("q_a", "1"), ("q_b", "4"), ("q_c", "0"), ("q_d", "0")],
        // r3: s0 "don't know": q_a not asked. d = 1.
        &[
            ("s0", "DK"),
            ("q_a", "0"),
            ("q_d", "1"),
            ("note", "Đường làng nhiều ổ gà"),
        ],
        // r4: q_a refused: q_b not asked. d refused: nothing counts.
        &[("s0", "1"), ("q_a", "RF"), ("q_b", "5"), ("q_d", "RF")],
        // r5: q_a = 0 (a = 0) closes q_b. d = 1.
        &[("s0", "1"), ("q_a", "0"), ("q_b", "3"), ("q_d", "1")],
        // r6: s0 never answered: q_a not asked. d = 0.
        &[("q_a", "1"), ("q_d", "0")],
        // r7: q_b = 3 is below 4: q_c not asked. a = 1, b = 0.5, d = 1.
        &[("s0", "1"), ("q_a", "1"), ("q_b", "3"), ("q_c", "5"), ("q_d", "1")],
        // r8: q_b "don't know": the range does not hold. a = 1, d = 1.
        &[("s0", "1"), ("q_a", "1"), ("q_b", "DK"), ("q_c", "1"), ("q_d", "1")],
    ];
    let mut rows = Vec::new();
    for copy in 0..copies {
        for (p, answers) in people.iter().enumerate() {
            for (q, a) in *answers {
                rows.push(row(&format!("r{copy}-{p}"), "2025", "11953", q, a));
            }
        }
    }
    rows
}

fn options() -> ScoreOptions {
    ScoreOptions {
        replicates: 0,
        ..ScoreOptions::default()
    }
}

fn score_and_n(scores: &Scores, level: Level, code: &str) -> (f64, usize) {
    let r = scores
        .get("2025", "11953", level, code)
        .unwrap_or_else(|| panic!("{code} missing: {:?}", scores.withheld));
    (r.score, r.n)
}

fn ignored(scores: &Scores, question: &str, kind: IgnoredKind) -> u64 {
    scores
        .ignored
        .iter()
        .filter(|r| r.question == question && r.kind == kind)
        .map(|r| r.rows)
        .sum()
}

#[test]
fn answers_to_questions_the_skip_logic_did_not_ask_are_missing_and_counted() {
    let units = [unit("11953", "33")];
    // Ten copies, so that every score has at least 10 respondents and is published.
    let scores = score_rows(&skip_answers(10), &skip_codebook(), &units, &options());

    let i1 = score_and_n(&scores, Level::Indicator, "d1.1.1");
    assert!(close(i1.0, 0.75) && i1.1 == 40, "{i1:?}");
    let i2 = score_and_n(&scores, Level::Indicator, "d1.1.2");
    assert!(close(i2.0, 0.75) && i2.1 == 20, "{i2:?}");
    let i3 = score_and_n(&scores, Level::Indicator, "d1.1.3");
    assert!(close(i3.0, 0.8) && i3.1 == 10, "{i3:?}");
    let i4 = score_and_n(&scores, Level::Indicator, "d1.1.4");
    assert!(close(i4.0, 5.0 / 7.0) && i4.1 == 70, "{i4:?}");
    let sub = (0.75 + 0.75 + 0.8 + 5.0 / 7.0) / 4.0;
    let d1 = score_and_n(&scores, Level::Dimension, "d1");
    assert!(close(d1.0, 1.0 + 9.0 * sub), "{d1:?}");
    // r4 has no value at all.
    assert_eq!(d1.1, 70);

    // q_a: r2, r3, r6; q_b: r2 (chain), r4 (refused), r5; q_c: r2 (chain of three), r7 (range), r8 (don't know).
    for q in ["q_a", "q_b", "q_c"] {
        assert_eq!(
            ignored(&scores, q, IgnoredKind::NotEligible),
            30,
            "{q}: {:?}",
            scores.ignored
        );
    }
    assert_eq!(scores.ignored_rows(), 90, "{:?}", scores.ignored);
}

#[test]
fn every_kind_of_bad_row_is_ignored_and_counted_under_its_question() {
    let units = [unit("11953", "33")];
    let mut rows = skip_answers(10);
    let clean = score_rows(&rows, &skip_codebook(), &units, &options());
    let r = |id: &str, q: &str, a: &str| row(id, "2025", "11953", q, a);
    rows.extend([
        r("r0-0", "q_zz", "1"),    // unknown question
        r("r0-1", "d9_9_9", "DK"), // unknown question
        r("r0-0", "q_d", "yes"),   // unknown code (q_d also answered 1: that answer still counts)
        r("r0-0", "p_sex", "DK"),  // a profile question offers no "don't know"
        r("r0-0", "q_c", "mười"),  // unreadable number
        r("r0-1", "q_c", "150"),   // outside 0–100
        r("r1-0", "q_d", "1"),     // the same answer again: duplicate
        r("r1-0", "q_d", "1"),     // and again
        r("r1-2", "q_d", "0"),     // r1-2 answered q_d = 1 before: both rows conflict
        r("r2-0", "q_c", "2.0"),   // r2-0 answered q_c = 2: the same number, a duplicate
    ]);
    let scores = score_rows(&rows, &skip_codebook(), &units, &options());
    assert_eq!(ignored(&scores, "q_zz", IgnoredKind::UnknownQuestion), 1);
    assert_eq!(ignored(&scores, "d9_9_9", IgnoredKind::UnknownQuestion), 1);
    assert_eq!(ignored(&scores, "q_d", IgnoredKind::UnknownCode), 1);
    assert_eq!(ignored(&scores, "p_sex", IgnoredKind::UnknownCode), 1);
    assert_eq!(ignored(&scores, "q_c", IgnoredKind::UnreadableNumber), 1);
    assert_eq!(ignored(&scores, "q_c", IgnoredKind::OutOfRange), 1);
    assert_eq!(ignored(&scores, "q_d", IgnoredKind::Duplicate), 2);
    assert_eq!(ignored(&scores, "q_c", IgnoredKind::Duplicate), 1);
    assert_eq!(ignored(&scores, "q_d", IgnoredKind::Conflicting), 2);
    assert_eq!(scores.ignored_rows(), 90 + 11, "{:?}", scores.ignored);

    // Only the conflicting answer changed a score: r1-2 (d = 1) lost its q_d, so i4 is 49/69 instead of 50/70.
    let i4 = score_and_n(&scores, Level::Indicator, "d1.1.4");
    assert!(close(i4.0, 49.0 / 69.0) && i4.1 == 69, "{i4:?}");
    for code in ["d1.1.1", "d1.1.2", "d1.1.3"] {
        assert_eq!(
            score_and_n(&scores, Level::Indicator, code),
            score_and_n(&clean, Level::Indicator, code),
            "{code}"
        );
    }
}

#[test]
fn a_codebook_without_skip_logic_scores_its_scored_questions_and_counts_the_rest_as_unknown() {
    let mut c = skip_codebook();
    c.asked.clear();
    let units = [unit("11953", "33")];
    let scores = score_rows(&skip_answers(10), &c, &units, &options());
    // Every answer to a scored question counts: q_a has r1, r2, r3, r5, r6, r7, r8 (r4 refused).
    let i1 = score_and_n(&scores, Level::Indicator, "d1.1.1");
    assert!(close(i1.0, 5.0 / 7.0) && i1.1 == 70, "{i1:?}");
    assert_eq!(ignored(&scores, "s0", IgnoredKind::UnknownQuestion), 70);
    assert_eq!(scores.ignored_by_kind().len(), 1, "{:?}", scores.ignored);
}
