//! The scoring pipeline end to end: exact scores on hand-computed cases, weights, lineage, privacy, rankings,
//! reproducible and well-calibrated bootstrap intervals, and the file readers.

mod common;

use std::io::Write;

use common::*;
use ykien_analysis::{
    AnswerRow, CSV_HEADER, Codebook, Level, Lineage, Quartile, ScoreInput, ScoreOptions, Sufficiency, TOTAL_CODE,
    ValueRule, answers_frame, scan_answers, scan_weights, score, weights_frame,
};

/// d1 has two sub-dimensions exercising every rule; d2–d8 one yes/no indicator each, so a total exists.
fn hand_codebook() -> Codebook {
    let mut c = Codebook::default();
    for d in 1..=8u8 {
        c.dimensions.push(dimension(d));
    }
    c.subdimensions.push(sub("d1.1", "d1"));
    c.subdimensions.push(sub("d1.2", "d1"));
    c.indicators.push(indicator("d1.1.1", "d1.1"));
    c.indicators.push(indicator("d1.1.2", "d1.1"));
    c.indicators.push(indicator("d1.2.1", "d1.2"));
    c.indicators.push(indicator("d1.2.2", "d1.2"));
    c.questions
        .push(question("q1", "d1.1.1", ValueRule::YesNo { yes_is_good: true }));
    c.questions.push(question(
        "q2",
        "d1.1.2",
        ValueRule::Likert {
            points: 5,
            high_is_good: false,
        },
    ));
    c.questions
        .push(question("q3", "d1.2.1", ValueRule::Number { good: 1.0, bad: 5.0 }));
    c.questions
        .push(question("q4a", "d1.2.2", ValueRule::YesNo { yes_is_good: true }));
    c.questions.push(question(
        "q4b",
        "d1.2.2",
        ValueRule::Choice {
            values: vec![("on_time".into(), 1.0), ("late".into(), 0.0)],
        },
    ));
    for d in 2..=8u8 {
        let s = format!("d{d}.1");
        let i = format!("d{d}.1.1");
        c.subdimensions.push(sub(&s, &format!("d{d}")));
        c.indicators.push(indicator(&i, &s));
        c.questions
            .push(question(&format!("y{d}"), &i, ValueRule::YesNo { yes_is_good: true }));
    }
    c
}

/// Twelve respondents of commune 11953 in wave 2025, answers chosen so every score can be computed by hand.
fn hand_answers() -> Vec<AnswerRow> {
    let q1 = ["1", "1", "1", "1", "1", "1", "1", "1", "1", "0", "DK", "RF"];
    let q2 = ["1", "1", "1", "1", "2", "2", "2", "2", "5", "5", "DK", "7"];
    let q3 = ["1", "1", "1", "1", "1", "3", "3", "3", "3", "3", "9", "0"];
    let q4a = ["1", "1", "1", "1", "1", "1", "1", "1", "1", "0", "DK", ""];
    let q4b = [
        "on_time", "on_time", "on_time", "on_time", "on_time", "on_time", "late", "late", "late", "not_due", "late", "",
    ];
    let mut rows = Vec::new();
    for r in 0..12 {
        let id = format!("r{r:02}");
        // An unscored profile question and free text are ignored.
        rows.push(AnswerRow {
            answer: None,
            ..row(&id, "2025", "11953", "improve_first", "")
        });
        let mut push = |q: &str, a: &str| {
            if !a.is_empty() {
                rows.push(row(&id, "2025", "11953", q, a));
            }
        };
        push("p_sex", "female");
        push("q1", q1[r]);
        push("q2", q2[r]);
        push("q3", q3[r]);
        // Respondent 12 was not eligible for q4a/q4b: skip logic left no rows.
        push("q4a", q4a[r]);
        push("q4b", q4b[r]);
        for d in 2..=7 {
            push(&format!("y{d}"), "1");
        }
        push("y8", if r < 6 { "1" } else { "0" });
    }
    rows
}

fn get(scores: &ykien_analysis::Scores, level: Level, code: &str) -> (f64, usize) {
    let row = scores
        .get("2025", "11953", level, code)
        .unwrap_or_else(|| panic!("{level} {code}"));
    (row.score, row.n)
}

#[test]
fn exact_scores_on_a_hand_computed_commune() {
    let scores = score_rows(
        &hand_answers(),
        &hand_codebook(),
        &[unit("11953", "33")],
        &ScoreOptions::default(),
    );

    // q1: 9 yes, 1 no; don't know and refused are missing, not 0 → 9/10.
    let (s, n) = get(&scores, Level::Indicator, "d1.1.1");
    assert!(close(s, 0.9) && n == 10, "{s} {n}");
    // q2, reversed Likert: 4 × "1" → 1, 4 × "2" → 0.75, 2 × "5" → 0; DK and the out-of-range 7 missing → 7/10.
    let (s, n) = get(&scores, Level::Indicator, "d1.1.2");
    assert!(close(s, 0.7) && n == 10, "{s} {n}");
    // q3, trips, good 1 bad 5: 5 × 1, 5 × 0.5, 9 clamps to 0, 0 clamps to 1 → 8.5/12.
    let (s, n) = get(&scores, Level::Indicator, "d1.2.1");
    assert!(close(s, 8.5 / 12.0) && n == 12, "{s} {n}");
    // d1.2.2, two questions averaged per respondent: 6 × 1, 3 × 0.5, 1 × 0 ("not_due" has no value),
    // 1 × 0 (q4a don't know, q4b late), respondent 12 skipped → 7.5/11.
    let (s, n) = get(&scores, Level::Indicator, "d1.2.2");
    assert!(close(s, 7.5 / 11.0) && n == 11, "{s} {n}");

    // Respondents 11 and 12 have no value in d1.1.
    let (s, n) = get(&scores, Level::Subdimension, "d1.1");
    assert!(close(s, 0.8) && n == 10, "{s} {n}");
    let sub2 = (8.5 / 12.0 + 7.5 / 11.0) / 2.0;
    let (s, n) = get(&scores, Level::Subdimension, "d1.2");
    assert!(close(s, sub2) && n == 12, "{s} {n}");
    let d1 = 1.0 + 9.0 * (0.8 + sub2) / 2.0;
    let (s, n) = get(&scores, Level::Dimension, "d1");
    assert!(close(s, d1) && n == 12, "{s} {n}");
    let (s, _) = get(&scores, Level::Dimension, "d2");
    assert!(close(s, 10.0), "{s}");
    let (s, _) = get(&scores, Level::Dimension, "d8");
    assert!(close(s, 5.5), "{s}");
    let (s, n) = get(&scores, Level::Total, TOTAL_CODE);
    assert!(close(s, 60.0 + 5.5 + d1) && n == 12, "{s} {n}");

    // Twelve respondents: shown, but "not enough answers", so neither ranked nor grouped.
    let total = scores.get("2025", "11953", Level::Total, TOTAL_CODE).expect("total");
    assert_eq!(total.sufficiency, Sufficiency::NotEnough);
    assert_eq!((total.rank, total.quartile), (None, None));
    let (low, high) = (total.ci_low.expect("interval"), total.ci_high.expect("interval"));
    assert!(
        low <= total.score && total.score <= high,
        "{low} {} {high}",
        total.score
    );
}

#[test]
fn post_stratification_weights_change_the_mean_and_zero_drops_a_respondent() {
    let mut c = Codebook::default();
    c.dimensions.push(dimension(1));
    c.subdimensions.push(sub("d1.1", "d1"));
    c.indicators.push(indicator("d1.1.1", "d1.1"));
    c.questions
        .push(question("q1", "d1.1.1", ValueRule::YesNo { yes_is_good: true }));
    let mut rows = Vec::new();
    let mut weights = Vec::new();
    for r in 0..13 {
        let id = format!("r{r}");
        let (answer, weight) = match r {
            0..10 => ("1", 1.0),
            10 | 11 => ("0", 5.0),
            _ => ("0", 0.0),
        };
        rows.push(row(&id, "2025", "11953", "q1", answer));
        weights.push((id, weight));
    }
    let lineage = Lineage::none();
    let units = [unit("11953", "33")];
    let run = |weights: Option<&[(String, f64)]>| {
        score(
            ScoreInput {
                answers: answers_frame(&rows).expect("frame"),
                weights: weights.map(|w| weights_frame(w).expect("weights")),
                codebook: &c,
                units: &units,
                lineage: &lineage,
            },
            &ScoreOptions::default(),
        )
    };
    let weighted = run(Some(&weights)).expect("scored");
    let row = weighted.get("2025", "11953", Level::Indicator, "d1.1.1").expect("row");
    // 10 × 1 × 1 and 2 × 0 × 5: 10 / 20; the zero-weight respondent neither counts nor weighs.
    assert!(close(row.score, 0.5) && row.n == 12, "{} {}", row.score, row.n);
    let plain = run(None).expect("scored");
    let row = plain.get("2025", "11953", Level::Indicator, "d1.1.1").expect("row");
    assert!(close(row.score, 10.0 / 13.0) && row.n == 13, "{} {}", row.score, row.n);

    // A response without a weight is an error, not weight 1.
    let error = run(Some(&weights[..12])).expect_err("missing weight");
    assert!(error.to_string().contains("r12"), "{error}");
    let mut negative = weights.clone();
    negative[0].1 = -1.0;
    assert!(run(Some(&negative)).is_err());
}

#[test]
fn answers_of_merged_legacy_communes_count_for_their_successor() {
    let codebook = likert_codebook(1, 1);
    let mut rows = Vec::new();
    let answer_all = |rows: &mut Vec<AnswerRow>, id: &str, wave: &str, unit: &str, point: &str| {
        for d in 1..=8 {
            rows.push(row(id, wave, unit, &format!("q{d}_1_1"), point));
        }
    };
    // 2024: legacy 12001 and 12004 (6 respondents each, all "2") merged into 11995.
    for r in 0..6 {
        answer_all(&mut rows, &format!("a{r}"), "2024", "12001", "2");
        answer_all(&mut rows, &format!("b{r}"), "2024", "12004", "2");
    }
    // 2025: 11995 itself, 10 respondents, all "4".
    for r in 0..10 {
        answer_all(&mut rows, &format!("c{r}"), "2025", "11995", "4");
    }
    let lineage = Lineage::new([("12001", "11995"), ("12004", "11995")])
        .expect("lineage")
        .only_waves(["2024"]);
    let units = [unit("11995", "33")];
    let scores = score(
        ScoreInput {
            answers: answers_frame(&rows).expect("frame"),
            weights: None,
            codebook: &codebook,
            units: &units,
            lineage: &lineage,
        },
        &ScoreOptions::default(),
    )
    .expect("scored");
    let before = scores.get("2024", "11995", Level::Dimension, "d1").expect("2024 row");
    // Neither legacy commune alone has 10 respondents; together they are shown.
    assert_eq!(before.n, 12);
    assert!(close(before.score, 1.0 + 9.0 * 0.25));
    let changes = scores.changes("2024", "2025");
    let d1 = changes
        .iter()
        .find(|c| c.level == Level::Dimension && c.code == "d1")
        .expect("change");
    assert_eq!(d1.unit_code, "11995");
    assert!(close(d1.change, 9.0 * 0.5), "{}", d1.change);
    // Everyone agreed within each wave, so the intervals are points and the change is clear.
    assert!(d1.clear);

    // Without the lineage the legacy units are unknown.
    let error = score(
        ScoreInput {
            answers: answers_frame(&rows).expect("frame"),
            weights: None,
            codebook: &codebook,
            units: &units,
            lineage: &Lineage::none(),
        },
        &ScoreOptions::default(),
    )
    .expect_err("unknown units");
    assert!(error.to_string().contains("12001"), "{error}");
}

/// Respondents of `units` communes answering `subs × per_sub` Likert indicators per dimension: each commune has a
/// level of its own, and commune `weak` answers one to two points lower on dimension `weak_dimension`.
fn simulated(units: usize, respondents: usize, weak: usize, weak_dimension: u8, seed: u64) -> Vec<AnswerRow> {
    let mut rng = Lcg(seed);
    let mut rows = Vec::new();
    for u in 0..units {
        let level = 3.0 + (u as f64 / units as f64);
        for r in 0..respondents {
            let id = format!("u{u}r{r}");
            let unit = format!("{:05}", 11900 + u);
            for d in 1..=8u8 {
                for s in 1..=2 {
                    for i in 1..=2 {
                        let draw = rng.unit();
                        if draw < 0.05 {
                            rows.push(row(&id, "2025", &unit, &format!("q{d}_{s}_{i}"), "DK"));
                            continue;
                        }
                        let mut mean = level;
                        if u == weak && d == weak_dimension {
                            mean -= 1.5;
                        }
                        let point = (mean + (rng.unit() - 0.5) * 3.0).round().clamp(1.0, 5.0);
                        rows.push(row(&id, "2025", &unit, &format!("q{d}_{s}_{i}"), &format!("{point}")));
                    }
                }
            }
        }
    }
    rows
}

#[test]
fn a_commune_planted_weak_on_one_dimension_ranks_last_on_it() {
    let codebook = likert_codebook(2, 2);
    let units: Vec<_> = (0..20).map(|u| unit(&format!("{:05}", 11900 + u), "33")).collect();
    let weak = 17;
    let rows = simulated(20, 30, weak, 3, 11);
    let options = ScoreOptions {
        replicates: 200,
        ..ScoreOptions::default()
    };
    let scores = score_rows(&rows, &codebook, &units, &options);
    let weak_code = format!("{:05}", 11900 + weak);
    let d3 = scores.get("2025", &weak_code, Level::Dimension, "d3").expect("row");
    assert_eq!(d3.n, 30);
    assert_eq!(d3.rank, Some(20), "score {}", d3.score);
    assert_eq!(d3.quartile, Some(Quartile::Thap));
    // Its other dimensions are those of a commune near the top.
    let d4 = scores.get("2025", &weak_code, Level::Dimension, "d4").expect("row");
    assert!(d4.rank.is_some_and(|r| r <= 8), "{:?}", d4.rank);
    // Cut points are stored per wave, province, level and code.
    let cuts = scores
        .cut_points
        .iter()
        .find(|c| c.level == Level::Dimension && c.code == "d3")
        .expect("cut points");
    assert_eq!(
        (cuts.wave.as_str(), cuts.province_code.as_str(), cuts.units),
        ("2025", "33", 20)
    );
    assert!(cuts.cuts[0] <= cuts.cuts[1] && cuts.cuts[1] <= cuts.cuts[2]);
    assert!(d3.score < cuts.cuts[0]);
}

#[test]
fn the_same_seed_gives_the_same_intervals_whatever_the_threads() {
    let codebook = likert_codebook(2, 2);
    let units: Vec<_> = (0..6).map(|u| unit(&format!("{:05}", 11900 + u), "33")).collect();
    let rows = simulated(6, 35, 0, 1, 5);
    let options = ScoreOptions {
        replicates: 300,
        ..ScoreOptions::default()
    };
    let first = score_rows(&rows, &codebook, &units, &options);
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| score_rows(&rows, &codebook, &units, &options));
    assert_eq!(first, one_thread);
    let mut reversed = rows.clone();
    reversed.reverse();
    assert_eq!(first, score_rows(&reversed, &codebook, &units, &options));
    let other_seed = score_rows(&rows, &codebook, &units, &ScoreOptions { seed: 99, ..options });
    assert_ne!(first, other_seed);
    assert!(first.rows.iter().all(|r| r.ci_low.is_some() && r.ci_high.is_some()));
}

#[test]
fn intervals_cover_the_true_dimension_score_about_95_percent_of_the_time() {
    // One dimension of two yes/no indicators with true shares 0.7 and 0.4 and 20% "don't know": the true
    // dimension score is 1 + 9 × (0.7 + 0.4) / 2 = 5.95.
    let mut c = Codebook::default();
    c.dimensions.push(dimension(1));
    c.subdimensions.push(sub("d1.1", "d1"));
    for (i, q) in [("d1.1.1", "q1"), ("d1.1.2", "q2")] {
        c.indicators.push(indicator(i, "d1.1"));
        c.questions.push(question(q, i, ValueRule::YesNo { yes_is_good: true }));
    }
    let truth = 1.0 + 9.0 * (0.7 + 0.4) / 2.0;
    let units = [unit("11953", "33")];
    let options = ScoreOptions {
        replicates: 400,
        ..ScoreOptions::default()
    };
    let mut rng = Lcg(2025);
    let simulations = 200;
    let mut covered = 0;
    for _ in 0..simulations {
        let mut rows = Vec::new();
        for r in 0..40 {
            let id = format!("r{r}");
            for (q, p) in [("q1", 0.7), ("q2", 0.4)] {
                let answer = if rng.unit() < 0.2 {
                    "DK"
                } else if rng.unit() < p {
                    "1"
                } else {
                    "0"
                };
                rows.push(row(&id, "2025", "11953", q, answer));
            }
        }
        let scores = score_rows(&rows, &c, &units, &options);
        let d1 = scores.get("2025", "11953", Level::Dimension, "d1").expect("row");
        let (low, high) = (d1.ci_low.expect("low"), d1.ci_high.expect("high"));
        if low <= truth && truth <= high {
            covered += 1;
        }
    }
    let coverage = f64::from(covered) / f64::from(simulations);
    // Percentile intervals run slightly narrow at n = 40; 200 runs have a standard error of 1.5 points.
    assert!((0.89..=0.99).contains(&coverage), "coverage {coverage}");
}

#[test]
fn units_with_fewer_than_ten_respondents_never_appear_in_the_export() {
    let codebook = likert_codebook(1, 1);
    let mut rows = Vec::new();
    for (unit_code, respondents) in [("11953", 9), ("11977", 10), ("11980", 31)] {
        for r in 0..respondents {
            for d in 1..=8 {
                rows.push(row(
                    &format!("{unit_code}-{r}"),
                    "2025",
                    unit_code,
                    &format!("q{d}_1_1"),
                    "4",
                ));
            }
        }
    }
    let units = [unit("11953", "33"), unit("11977", "33"), unit("11980", "33")];
    let scores = score_rows(&rows, &codebook, &units, &ScoreOptions::default());
    assert!(scores.rows.iter().all(|r| r.unit_code != "11953"));
    assert!(scores.withheld.iter().any(|w| w.unit_code == "11953" && w.n == 9));
    let mut csv = Vec::new();
    scores.write_csv(&mut csv).expect("csv");
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(csv.starts_with(&format!("{CSV_HEADER}\n")));
    assert!(!csv.contains("11953"), "{csv}");
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    // 11977 shown unranked, 11980 ranked: 1 total + 8 dimensions + 8 sub-dimensions + 8 indicators each.
    assert_eq!(lines.len(), 2 * 25);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2025,11977,total,total,62,10,62,62,,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2025,11980,dimension,d1,7.75,31,7.75,7.75,1,Cao")),
        "{csv}"
    );
}

#[test]
fn csv_and_parquet_files_give_the_same_scores_as_rows_in_memory() {
    use polars::prelude::*;

    let rows = hand_answers();
    let codebook = hand_codebook();
    let units = [unit("11953", "33")];
    let expected = score_rows(&rows, &codebook, &units, &ScoreOptions::default());

    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("answers.csv");
    let mut file = std::fs::File::create(&csv_path).expect("file");
    // A byte-order mark, as spreadsheet programs write, and an extra column.
    file.write_all(b"\xEF\xBB\xBFresponse_id,wave,unit_code,question,answer,note\n")
        .expect("write");
    for r in &rows {
        writeln!(
            file,
            "{},{},{},{},{},x",
            r.response_id,
            r.wave,
            r.unit_code,
            r.question,
            r.answer.as_deref().unwrap_or("")
        )
        .expect("write");
    }
    drop(file);
    let lineage = Lineage::none();
    let from_csv = score(
        ScoreInput {
            answers: scan_answers(&csv_path).expect("scan"),
            weights: None,
            codebook: &codebook,
            units: &units,
            lineage: &lineage,
        },
        &ScoreOptions::default(),
    )
    .expect("scored from CSV");
    assert_eq!(from_csv, expected);

    let parquet_path = dir.path().join("answers.parquet");
    let mut df = answers_frame(&rows).expect("frame").collect().expect("collect");
    let file = std::fs::File::create(&parquet_path).expect("file");
    ParquetWriter::new(file).finish(&mut df).expect("parquet");
    let weights_path = dir.path().join("weights.csv");
    let mut ids: Vec<&str> = rows.iter().map(|r| r.response_id.as_str()).collect();
    ids.dedup();
    std::fs::write(
        &weights_path,
        format!(
            "response_id,weight\n{}",
            ids.iter().map(|id| format!("{id},1\n")).collect::<String>()
        ),
    )
    .expect("weights");
    let from_parquet = score(
        ScoreInput {
            answers: scan_answers(&parquet_path).expect("scan"),
            weights: Some(scan_weights(&weights_path).expect("scan weights")),
            codebook: &codebook,
            units: &units,
            lineage: &lineage,
        },
        &ScoreOptions::default(),
    )
    .expect("scored from Parquet");
    assert_eq!(from_parquet, expected);
}

#[test]
fn a_response_split_across_two_units_is_refused() {
    let codebook = likert_codebook(1, 1);
    let rows = vec![
        row("r1", "2025", "11953", "q1_1_1", "4"),
        row("r1", "2025", "11977", "q2_1_1", "4"),
    ];
    let lineage = Lineage::none();
    let units = [unit("11953", "33"), unit("11977", "33")];
    let error = score(
        ScoreInput {
            answers: answers_frame(&rows).expect("frame"),
            weights: None,
            codebook: &codebook,
            units: &units,
            lineage: &lineage,
        },
        &ScoreOptions::default(),
    )
    .expect_err("inconsistent");
    assert!(error.to_string().contains("r1"), "{error}");
}

#[test]
fn the_pipeline_reads_answers_like_the_reference_function() {
    // Every rule on awkward strings: polars' reading must agree with `stored_value`.
    let rules = [
        ValueRule::YesNo { yes_is_good: false },
        ValueRule::Likert {
            points: 7,
            high_is_good: true,
        },
        ValueRule::Number { good: 10.0, bad: 120.0 },
        ValueRule::Choice {
            values: vec![("a".into(), 0.3), ("b".into(), 0.9)],
        },
    ];
    let raws = [
        "0", "1", "2", "7", "8", "07", "4.0", "DK", "RF", "a", "b", "c", "10", "65", "500", "-3", "1e2", "NaN", "inf",
        " 5",
    ];
    for (k, rule) in rules.iter().enumerate() {
        let mut c = Codebook::default();
        c.dimensions.push(dimension(1));
        c.subdimensions.push(sub("d1.1", "d1"));
        c.indicators.push(indicator("d1.1.1", "d1.1"));
        c.questions.push(question("q", "d1.1.1", rule.clone()));
        for raw in raws {
            let rows: Vec<AnswerRow> = (0..10).map(|r| row(&format!("r{r}"), "w", "u", "q", raw)).collect();
            let scores = score_rows(
                &rows,
                &c,
                &[unit("u", "p")],
                &ScoreOptions {
                    replicates: 0,
                    ..ScoreOptions::default()
                },
            );
            let got = scores.get("w", "u", Level::Indicator, "d1.1.1").map(|r| r.score);
            let expected = ykien_analysis::stored_value(rule, raw);
            assert_eq!(got, expected, "rule {k} on {raw:?}");
        }
    }
}

#[test]
fn scores_csv_carries_every_score_at_full_precision() {
    let codebook = likert_codebook(1, 1);
    let mut rows = Vec::new();
    // Thirteen respondents: means like 41/52 that no short decimal writes exactly.
    for r in 0..13 {
        for d in 1..=8 {
            let point = ["1", "2", "3", "4", "5"][(r * d) % 5];
            rows.push(row(&format!("r{r}"), "2025", "11953", &format!("q{d}_1_1"), point));
        }
    }
    let scores = score_rows(&rows, &codebook, &[unit("11953", "33")], &ScoreOptions::default());
    let mut csv = Vec::new();
    scores.write_csv(&mut csv).expect("csv");
    let text = String::from_utf8(csv).expect("utf-8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut read = 0;
    for (record, row) in reader.records().zip(&scores.rows) {
        let record = record.expect("record");
        // Read back, every number is the very f64 that was computed, bit for bit.
        assert_eq!(
            record[4].parse::<f64>().expect("score").to_bits(),
            row.score.to_bits(),
            "{record:?}"
        );
        let ci = row.ci_low.zip(row.ci_high).expect("interval");
        assert_eq!(record[6].parse::<f64>().expect("low").to_bits(), ci.0.to_bits());
        assert_eq!(record[7].parse::<f64>().expect("high").to_bits(), ci.1.to_bits());
        read += 1;
    }
    assert_eq!(read, scores.rows.len());
    assert!(
        text.lines().any(|l| l.split(',').nth(4).is_some_and(|s| s.len() > 8)),
        "{text}"
    );
}
