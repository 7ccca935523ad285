//! Scoring unit by unit ([`ykien_analysis::UnitScorer`], what the server does from its database) gives the
//! pipeline's numbers to the last bit — intervals, ranks, cut points, withheld units and ignored rows included —
//! when each unit's respondents are handed over in response-id order with the same weights.

mod common;

use std::collections::BTreeMap;

use common::*;
use ykien_analysis::{
    AnswerRow, Answers, Lineage, ScoreOptions, SimulateOptions, UnitAnswers, UnitScorer, UnitScores, Weights, assemble,
    score_answers, simulate,
};

#[test]
fn unit_by_unit_scores_equal_the_pipelines_to_the_last_bit() {
    let codebook = likert_codebook(2, 2);
    let units: Vec<_> = (0..6)
        .map(|u| unit(&format!("{:05}", 11950 + u), if u < 4 { "33" } else { "34" }))
        .collect();
    let mut rows = simulate(
        &codebook,
        &units,
        &SimulateOptions {
            responses: 6 * 40 + 7,
            seed: 11,
            ..SimulateOptions::default()
        },
    )
    .expect("simulated");
    // Rows that count for nothing, each kind once: a question the codebook lacks, a code its question lacks, a
    // second (agreeing) answer, and an empty answer (no answer at all).
    let first = rows[0].clone();
    let extra = |question: &str, answer: &str| AnswerRow {
        question: question.into(),
        answer: Some(answer.into()),
        ..first.clone()
    };
    rows.push(extra("zz_unknown", "1"));
    rows.push(extra(&first.question, "not-a-code"));
    rows.push(first.clone());
    rows.push(extra("zz_empty", ""));

    // Uneven weights, so the weighted arithmetic is compared too.
    let mut ids: Vec<String> = rows.iter().map(|r| r.response_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let weights: Vec<(String, f64)> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| (id.clone(), 0.5 + (k % 7) as f64 * 0.25))
        .collect();
    let options = ScoreOptions {
        replicates: 200,
        ..ScoreOptions::default()
    };
    let expected = score_answers(
        Answers::Rows(&rows),
        Some(Weights::Pairs(&weights)),
        &codebook,
        &units,
        &Lineage::none(),
        &options,
    )
    .expect("pipeline");

    // The server's way: per (wave, unit), respondents in response-id order, each with its rows.
    let scorer = UnitScorer::new(&codebook, options).expect("scorer");
    let weight_of: BTreeMap<&str, f64> = weights.iter().map(|(id, w)| (id.as_str(), *w)).collect();
    let mut by_unit: BTreeMap<(String, String), BTreeMap<String, Vec<&AnswerRow>>> = BTreeMap::new();
    for r in &rows {
        by_unit
            .entry((r.wave.clone(), r.unit_code.clone()))
            .or_default()
            .entry(r.response_id.clone())
            .or_default()
            .push(r);
    }
    let province = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .expect("unit")
            .province_code
            .clone()
    };
    let mut scored: Vec<UnitScores> = Vec::new();
    // Handed over in reverse: assemble puts them in order.
    for ((wave, unit_code), respondents) in by_unit.iter().rev() {
        let mut answers = UnitAnswers::default();
        for (id, rows) in respondents {
            let pairs = rows
                .iter()
                .map(|r| (r.question.as_str(), r.answer.as_deref().unwrap_or_default()));
            scorer.add(&mut answers, weight_of[id.as_str()], pairs);
        }
        assert_eq!(answers.len(), respondents.len());
        scored.push(
            scorer
                .score(wave, unit_code, &province(unit_code), &answers)
                .expect("unit"),
        );
    }
    let got = assemble(&scored);
    assert_eq!(got.rows, expected.rows);
    assert_eq!(got.withheld, expected.withheld);
    assert_eq!(got.cut_points, expected.cut_points);
    assert_eq!(got.ignored, expected.ignored);
    assert!(
        got.ignored.iter().any(|i| i.question == "zz_unknown"),
        "{:?}",
        got.ignored
    );
    assert!(got.rows.iter().any(|r| r.ci_low.is_some()), "intervals were drawn");

    // A unit's scores survive being kept as JSON (the server keeps them in its database).
    let json = serde_json::to_string(&scored[0]).expect("json");
    assert_eq!(serde_json::from_str::<UnitScores>(&json).expect("read back"), scored[0]);
}
