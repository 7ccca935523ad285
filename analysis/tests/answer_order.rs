//! The same answers give the same scores however they are laid out: grouped by response (read once, in batches
//! on every thread), in any other order (read in two passes), from rows in memory or from a Parquet file whose
//! row groups cut responses in two — point scores, counts, intervals and ignored rows alike, with skip logic,
//! bad rows and weights.

mod common;

use common::*;
use ykien_analysis::{
    AnswerRow, Answers, Codebook, DimensionDef, IndicatorDef, Lineage, Name, QuestionDef, ScoreOptions, Scores,
    SubdimensionDef, Unit, ValueRule, Weights, score_answers,
};

fn options(replicates: usize) -> ScoreOptions {
    ScoreOptions {
        replicates,
        ..ScoreOptions::default()
    }
}

/// `per_unit` respondents in each of `units` communes answering [`skip_codebook`]'s questions at random, with
/// every kind of row that counts for nothing mixed in: answers the skip logic did not ask for, unknown codes and
/// questions, unreadable and out-of-range numbers, repeated and conflicting rows, empty answers.
fn messy_answers(units: &[Unit], per_unit: usize, seed: u64) -> Vec<AnswerRow> {
    let mut rng = Lcg(seed);
    let mut rows = Vec::new();
    for unit in units {
        for r in 0..per_unit {
            let id = format!("{}-{r:04}", unit.code);
            let mut push = |q: &str, a: &str| rows.push(row(&id, "2025", &unit.code, q, a));
            push("p_sex", ["male", "female", "DK"][rng.below(3) as usize]);
            push("s0", ["1", "1", "1", "0", "DK"][rng.below(5) as usize]);
            push("q_a", ["1", "1", "0", "DK", "RF"][rng.below(5) as usize]);
            push("q_b", ["1", "2", "3", "4", "5", "5", "9"][rng.below(7) as usize]);
            let c = rng.below(14);
            push(
                "q_c",
                &match c {
                    11 => "abc".to_owned(),
                    12 => "500".to_owned(),
                    13 => "DK".to_owned(),
                    _ => format!("{}", c as f64 * 0.75),
                },
            );
            let d = ["1", "0"][rng.below(2) as usize];
            push("q_d", d);
            match rng.below(10) {
                0 => push("q_d", d),
                1 => push("q_d", if d == "1" { "0" } else { "1" }),
                2 => push("zz_unknown", "1"),
                3 => push("note", ""),
                _ => {}
            }
            push("note", "một ý kiến");
        }
    }
    rows
}

fn units(n: usize) -> Vec<Unit> {
    (0..n)
        .map(|u| unit(&format!("{:05}", 11900 + u), if u % 2 == 0 { "33" } else { "31" }))
        .collect()
}

fn from_rows(
    rows: &[AnswerRow],
    weights: Option<&[(String, f64)]>,
    codebook: &Codebook,
    units: &[Unit],
    replicates: usize,
) -> Scores {
    score_answers(
        Answers::Rows(rows),
        weights.map(Weights::Pairs),
        codebook,
        units,
        &Lineage::none(),
        &options(replicates),
    )
    .expect("scored")
}

#[test]
fn answers_in_any_order_give_the_same_scores_as_answers_grouped_by_response() {
    let codebook = skip_codebook();
    let units = units(6);
    let grouped = messy_answers(&units, 45, 3);
    let mut rng = Lcg(11);
    let mut ids: Vec<String> = grouped.iter().map(|r| r.response_id.clone()).collect();
    ids.dedup();
    let weights: Vec<(String, f64)> = ids
        .iter()
        .map(|id| (id.clone(), 0.5 + f64::from(rng.below(100)) / 40.0))
        .collect();
    let expected = from_rows(&grouped, Some(&weights), &codebook, &units, 200);
    assert!(expected.rows.iter().any(|r| r.ci_low.is_some()));
    assert!(!expected.ignored.is_empty());

    // By question, then response: every response's rows are in several places (read in two passes).
    let mut by_question = grouped.clone();
    by_question.sort_by(|a, b| (&a.question, &a.response_id).cmp(&(&b.question, &b.response_id)));
    assert_eq!(
        from_rows(&by_question, Some(&weights), &codebook, &units, 200),
        expected
    );

    // Responses together but in another order, each one's rows reversed.
    let mut shuffled: Vec<Vec<AnswerRow>> = Vec::new();
    for r in &grouped {
        match shuffled.last_mut() {
            Some(last) if last[0].response_id == r.response_id => last.push(r.clone()),
            _ => shuffled.push(vec![r.clone()]),
        }
    }
    let mut interleaved = Vec::new();
    for k in (0..shuffled.len()).map(|k| (k * 7919) % shuffled.len()) {
        interleaved.extend(shuffled[k].iter().rev().cloned());
    }
    assert_eq!(interleaved.len(), grouped.len());
    assert_eq!(
        from_rows(&interleaved, Some(&weights), &codebook, &units, 200),
        expected
    );

    // A weight left out is still an error on either path.
    let missing = &weights[1..];
    for rows in [&grouped, &by_question] {
        let error = score_answers(
            Answers::Rows(rows),
            Some(Weights::Pairs(missing)),
            &codebook,
            &units,
            &Lineage::none(),
            &options(0),
        )
        .expect_err("missing weight");
        assert!(error.to_string().contains(&weights[0].0), "{error}");
    }
}

#[test]
fn a_parquet_file_whose_row_groups_cut_responses_gives_the_scores_of_the_rows() {
    use polars::prelude::*;

    let codebook = skip_codebook();
    let units = units(4);
    let rows = messy_answers(&units, 30, 5);
    let expected = from_rows(&rows, None, &codebook, &units, 100);
    let dir = tempfile::tempdir().expect("temp dir");
    for group in [3, 37, 100_000] {
        let path = dir.path().join(format!("answers-{group}.parquet"));
        let mut df = ykien_analysis::answers_frame(&rows)
            .expect("frame")
            .collect()
            .expect("collect");
        let file = std::fs::File::create(&path).expect("file");
        ParquetWriter::new(file)
            .with_row_group_size(Some(group))
            .finish(&mut df)
            .expect("parquet");
        let scores = score_answers(
            Answers::File(&path),
            None,
            &codebook,
            &units,
            &Lineage::none(),
            &options(100),
        )
        .expect("scored from Parquet");
        assert_eq!(scores, expected, "row groups of {group}");
    }
}

/// A response whose rows name two units or two waves is refused, grouped by response (where the rows' keys are
/// compared a response at a time, all at once when they agree) or not (two passes), naming the same values.
#[test]
fn a_response_with_two_units_or_two_waves_is_refused_alike_grouped_or_not() {
    let codebook = skip_codebook();
    let units = units(3);
    let base = messy_answers(&units, 20, 7);
    let id = base[45].response_id.clone();
    let first = base.iter().position(|r| r.response_id == id).expect("the response");
    let refused = |rows: &[AnswerRow]| {
        score_answers(
            Answers::Rows(rows),
            None,
            &codebook,
            &units,
            &Lineage::none(),
            &options(0),
        )
        .expect_err("two keys in one response")
        .to_string()
    };
    let other_unit = units[2].code.clone();
    let mut two_units = base.clone();
    two_units[first + 2].unit_code = other_unit.clone();
    let mut two_waves = base.clone();
    two_waves[first + 3].wave = "2026".to_owned();
    // Both: the unit's disagreement comes first in the file, so it is the one named.
    let mut both = two_units.clone();
    both[first + 3].wave = "2026".to_owned();
    // (rows, column named, its two values, whether the two passes name the same)
    for (rows, column, values, two_passes) in [
        (
            &two_units,
            "unit_code",
            (units[0].code.as_str(), other_unit.as_str()),
            true,
        ),
        (&two_waves, "wave", ("2025", "2026"), true),
        (&both, "unit_code", (units[0].code.as_str(), other_unit.as_str()), false),
    ] {
        let (a, b) = if values.0 <= values.1 {
            values
        } else {
            (values.1, values.0)
        };
        let expected = format!("response {id:?} has answers with {column} {a:?} and {b:?}");
        assert_eq!(refused(rows), expected);
        if two_passes {
            let mut by_question = rows.clone();
            by_question.sort_by(|x, y| (&x.question, &x.response_id).cmp(&(&y.question, &y.response_id)));
            assert_eq!(refused(&by_question), expected);
        }
    }
}

/// One dimension with one number indicator, good at 0 and bad at 100,000.
fn number_codebook() -> Codebook {
    let mut c = Codebook::default();
    c.dimensions.push(DimensionDef {
        number: 1,
        code: "d1".into(),
        name: Name::new("Tham gia", "Participation"),
    });
    c.subdimensions.push(SubdimensionDef {
        code: "d1.1".into(),
        dimension: "d1".into(),
        name: Name::new("x", "x"),
    });
    for (i, rule) in [
        ValueRule::Number {
            good: 0.0,
            bad: 100_000.0,
        },
        ValueRule::YesNo { yes_is_good: true },
    ]
    .into_iter()
    .enumerate()
    {
        c.indicators.push(IndicatorDef {
            code: format!("d1.1.{}", i + 1),
            subdimension: "d1.1".into(),
            name: Name::new("x", "x"),
        });
        c.questions.push(QuestionDef {
            code: format!("q{}", i + 1),
            indicator: format!("d1.1.{}", i + 1),
            rule,
        });
    }
    c
}

#[test]
fn more_distinct_values_than_a_dictionary_holds_are_kept_exactly() {
    // 70,000 respondents, each with a value of its own on q1: more than the 65,535 codes of one dictionary.
    let codebook = number_codebook();
    let units = units(7);
    let mut rows = Vec::new();
    for k in 0..70_000u32 {
        let id = format!("r{k:05}");
        let unit = &units[(k / 10_000) as usize].code;
        rows.push(row(&id, "2025", unit, "q1", &k.to_string()));
        rows.push(row(&id, "2025", unit, "q2", if k % 3 == 0 { "0" } else { "1" }));
    }
    let grouped = from_rows(&rows, None, &codebook, &units, 0);
    // Unit u holds the respondents u × 10,000 … u × 10,000 + 9,999: its mean value is exact.
    for (u, unit) in units.iter().enumerate() {
        let mean_k = u as f64 * 10_000.0 + 4_999.5;
        let expected = (100_000.0 - mean_k) / 100_000.0;
        let got = grouped
            .get("2025", &unit.code, ykien_analysis::Level::Indicator, "d1.1.1")
            .expect("score");
        assert!((got.score - expected).abs() < 1e-12, "{} vs {expected}", got.score);
        assert_eq!(got.n, 10_000);
    }
}
