//! The simulator behind `ykien simulate` and the entry points behind `ykien analyze`: planted differences are
//! recovered, runs are reproducible, files round-trip, and `scores.csv` and the charts are written.

mod common;

use common::*;
use ykien_analysis::report::{self, ChartData, NOT_ENOUGH_VI};
use ykien_analysis::simulate::expected_levels;
use ykien_analysis::{
    Answers, CSV_HEADER, ChartOptions, Codebook, Level, Lineage, Plant, Quartile, ScoreOptions, Scores,
    SimulateOptions, Unit, ValueRule, score_answers, simulate, write_charts, write_scores_csv, write_simulated,
};

/// Eight dimensions of two sub-dimensions, with every kind of rule, so the simulator's draws are all exercised.
fn mixed_codebook() -> Codebook {
    let mut c = likert_codebook(2, 2);
    for (k, q) in c.questions.iter_mut().enumerate() {
        q.rule = match k % 4 {
            0 => ValueRule::YesNo {
                yes_is_good: k % 8 == 0,
            },
            1 => ValueRule::Likert {
                points: 5,
                high_is_good: k % 3 != 0,
            },
            2 => ValueRule::Number { good: 1.0, bad: 5.0 },
            _ => ValueRule::Choice {
                values: vec![("a".into(), 0.0), ("b".into(), 0.5), ("c".into(), 1.0)],
            },
        };
    }
    c
}

fn communes(count: usize) -> Vec<Unit> {
    (0..count)
        .map(|u| Unit {
            code: format!("{:05}", 11900 + u),
            name: format!("Xã Đồng Tiến {u}"),
            province_code: "33".into(),
            lat: Some(20.5 + u as f64 * 0.01),
            lon: Some(106.0 + (u % 5) as f64 * 0.02),
        })
        .collect()
}

fn run(rows: &[ykien_analysis::AnswerRow], codebook: &Codebook, units: &[Unit], replicates: usize) -> Scores {
    score_answers(
        Answers::Rows(rows),
        None,
        codebook,
        units,
        &Lineage::none(),
        &ScoreOptions {
            replicates,
            ..ScoreOptions::default()
        },
    )
    .expect("scored")
}

#[test]
fn a_commune_planted_weak_on_a_dimension_with_the_simulator_ranks_last_on_it() {
    let codebook = mixed_codebook();
    let units = communes(20);
    // Three different runs, each planting a different commune on a different dimension.
    for (seed, weak, dimension) in [(1u64, 4usize, 3u8), (2, 11, 6), (3, 19, 1)] {
        let code = units[weak].code.clone();
        let options = SimulateOptions {
            responses: 20 * 36,
            seed,
            // Five points: more than the widest gap the model's unit levels and dimension effects can open
            // between two communes (0.4 × 9 + 2 × 0.08 × 9 = 5.04 only at the extremes of both draws).
            plants: vec![format!("{code}:d{dimension}:-5").parse().expect("plant")],
            ..SimulateOptions::default()
        };
        let rows = simulate(&codebook, &units, &options).expect("simulated");
        let scores = run(&rows, &codebook, &units, 100);
        let dim = format!("d{dimension}");
        let row = scores.get("2025", &code, Level::Dimension, &dim).expect("row");
        assert!(row.n >= 30, "n = {}", row.n);
        assert_eq!(row.rank, Some(20), "seed {seed}: score {}", row.score);
        assert_eq!(row.quartile, Some(Quartile::Thap));
        // The score is near what the model expects (1 + 9 × level, less where the clamp at 0 bites).
        let level = expected_levels(&codebook, &units, &options).expect("levels")[weak][usize::from(dimension) - 1];
        let expected = 1.0 + 9.0 * level.clamp(0.0, 1.0);
        assert!((row.score - expected).abs() < 1.2, "{} vs {expected}", row.score);
    }
}

#[test]
fn a_plant_changes_only_its_commune_and_dimension_and_runs_are_reproducible() {
    let codebook = mixed_codebook();
    let units = communes(3);
    let plain = SimulateOptions {
        responses: 90,
        seed: 7,
        skipped: 0.10,
        ..SimulateOptions::default()
    };
    let planted = SimulateOptions {
        plants: vec![Plant {
            unit_code: units[1].code.clone(),
            dimension: "2".into(),
            delta: -3.0,
        }],
        ..plain.clone()
    };
    let a = simulate(&codebook, &units, &plain).expect("simulated");
    assert_eq!(a, simulate(&codebook, &units, &plain).expect("again"));
    let b = simulate(&codebook, &units, &planted).expect("simulated");
    assert_eq!(a.len(), b.len());
    let mut changed = 0;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.response_id, &x.question), (&y.response_id, &y.question));
        if x.answer != y.answer {
            changed += 1;
            assert_eq!(x.unit_code, units[1].code);
            assert!(x.question.starts_with("q2_"), "{}", x.question);
        }
    }
    assert!(changed > 20, "{changed}");
    // 30 responses per commune, about 10% skipped (asked, left unanswered) and 5% "don't know" or "refused".
    let responses: std::collections::BTreeSet<&str> = a.iter().map(|r| r.response_id.as_str()).collect();
    assert_eq!(responses.len(), 90);
    let per_response = a.len() as f64 / 90.0;
    assert!((28.0..=30.5).contains(&per_response), "{per_response}");
    let missing = a
        .iter()
        .filter(|r| matches!(r.answer.as_deref(), Some("DK" | "RF")))
        .count() as f64
        / a.len() as f64;
    assert!((0.02..0.09).contains(&missing), "{missing}");
    assert_ne!(
        a,
        simulate(&codebook, &units, &SimulateOptions { seed: 8, ..plain }).expect("other seed")
    );

    let error = simulate(
        &codebook,
        &units,
        &SimulateOptions {
            plants: vec!["99999:d1:-1".parse().expect("syntax")],
            ..SimulateOptions::default()
        },
    )
    .expect_err("unknown unit");
    assert!(error.to_string().contains("99999"), "{error}");
    let error = simulate(
        &codebook,
        &units,
        &SimulateOptions {
            plants: vec![format!("{}:d9:-1", units[0].code).parse().expect("syntax")],
            ..SimulateOptions::default()
        },
    )
    .expect_err("unknown dimension");
    assert!(error.to_string().contains("d9"), "{error}");
}

#[test]
fn simulated_csv_and_parquet_files_score_like_the_rows_and_scores_csv_is_written() {
    let codebook = mixed_codebook();
    let units = communes(4);
    let options = SimulateOptions {
        responses: 4 * 32,
        seed: 5,
        ..SimulateOptions::default()
    };
    let rows = simulate(&codebook, &units, &options).expect("simulated");
    let expected = run(&rows, &codebook, &units, 50);
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["answers.csv", "answers.parquet"] {
        let path = dir.path().join(name);
        let written = write_simulated(&codebook, &units, &options, &path).expect("written");
        assert_eq!(written, rows.len() as u64);
        let from_file = score_answers(
            Answers::File(&path),
            None,
            &codebook,
            &units,
            &Lineage::none(),
            &ScoreOptions {
                replicates: 50,
                ..ScoreOptions::default()
            },
        )
        .expect("scored from the file");
        assert_eq!(from_file, expected, "{name}");
    }

    let csv_path = dir.path().join("scores.csv");
    write_scores_csv(&expected, &csv_path).expect("scores.csv");
    let csv = std::fs::read_to_string(&csv_path).expect("read");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    // 4 communes × (1 total + 8 dimensions + 16 sub-dimensions + 32 indicators), each with at least 10 answers.
    assert_eq!(lines.clone().count(), 4 * 57);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 10, "{line}");
        assert!(
            ["total", "dimension", "subdimension", "indicator"].contains(&cells[2]),
            "{line}"
        );
        let score: f64 = cells[4].parse().expect("score");
        let (low, high): (f64, f64) = (cells[6].parse().expect("low"), cells[7].parse().expect("high"));
        assert!(low <= score + 1e-4 && score <= high + 1e-4, "{line}");
        if cells[5].parse::<usize>().expect("n") >= 30 {
            assert!(!cells[8].is_empty() && !cells[9].is_empty(), "{line}");
        }
    }
}

#[test]
fn charts_drawn_from_scores_name_communes_in_vietnamese_and_never_show_hidden_ones() {
    let codebook = mixed_codebook();
    let mut units = communes(6);
    units[0].name = "Phường Phố Hiến".into();
    units[1].name = "Xã Tân Hưng".into();
    units[5].name = "Xã Đoàn Đào".into();
    // Commune 5 gets 8 respondents (hidden), commune 4 gets 15 (shown, not enough), the others 40.
    let mut rows = Vec::new();
    for (u, count) in [40, 40, 40, 40, 15, 8].iter().enumerate() {
        let options = SimulateOptions {
            responses: *count,
            seed: 10 + u as u64,
            ..SimulateOptions::default()
        };
        rows.extend(simulate(&codebook, &units[u..=u], &options).expect("simulated"));
    }
    let scores = run(&rows, &codebook, &units, 100);
    assert!(scores.rows.iter().all(|r| r.unit_code != units[5].code));
    let data = ChartData {
        scores: &scores,
        codebook: &codebook,
        units: &units,
    };

    let heatmap = report::heatmap_chart(data, "2025", "33", "tỉnh Hưng Yên");
    assert_eq!(heatmap.rows.len(), 5);
    assert!(heatmap.rows.iter().all(|r| !r.label.contains("Đoàn Đào")));
    let unranked = heatmap
        .rows
        .iter()
        .find(|r| r.label.starts_with("Xã Đồng Tiến 4"))
        .expect("the commune with 15 respondents");
    assert!(
        unranked.label.contains(&NOT_ENOUGH_VI.to_lowercase()),
        "{}",
        unranked.label
    );
    assert!(unranked.cells.iter().all(|c| c.quartile.is_none() && c.score.is_some()));
    let ranking = report::ranking_chart(
        data,
        "2025",
        "33",
        "tỉnh Hưng Yên",
        (Level::Dimension, "d1"),
        Some("11900"),
    );
    assert_eq!(ranking.rows.len(), 5);
    assert_eq!(ranking.rows.iter().filter(|r| r.highlight).count(), 1);
    assert!(report::profile_chart(data, "2025", &units[5].code, "tỉnh Hưng Yên").is_none());
    let profile = report::profile_chart(data, "2025", "11900", "tỉnh Hưng Yên").expect("profile");
    assert_eq!(profile.bars.len(), 8);
    assert!(
        profile
            .bars
            .iter()
            .all(|b| b.score.is_some() && b.province_mean.is_some() && b.ci.is_some())
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let chart_options = ChartOptions {
        size: (900, 650),
        per_unit: true,
        province_names: [("33".to_owned(), "tỉnh Hưng Yên".to_owned())].into(),
        ..ChartOptions::default()
    };
    let files = write_charts(data, dir.path(), &chart_options).expect("charts");
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    for expected in [
        "heatmap-2025-33.png",
        "heatmap-2025-33.svg",
        "ranking-2025-33.svg",
        "map-2025-33.png",
        "profile-2025-11900.svg",
        "radar-2025-11901.png",
        "trend-11902.svg",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not in {names:?}");
    }
    assert!(names.iter().all(|n| !n.contains(&units[5].code)), "{names:?}");
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        if path.extension().is_some_and(|e| e == "png") {
            let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("PNG");
            assert_eq!((reader.info().width, reader.info().height), (900, 650), "{path:?}");
        } else {
            let svg = String::from_utf8(bytes).expect("UTF-8");
            assert!(
                svg.contains("width=\"900\"") && svg.contains("height=\"650\""),
                "{path:?}"
            );
            assert!(!svg.contains("Đoàn Đào"), "{path:?}");
        }
    }
    let heatmap_svg = std::fs::read_to_string(dir.path().join("heatmap-2025-33.svg")).expect("read");
    for word in ["Phường", "Phố", "Hiến", "Tân", "Hưng", "Trung", "thấp", "Hưng", "Yên"] {
        assert!(heatmap_svg.contains(word), "heatmap lacks {word}");
    }
    let profile_svg = std::fs::read_to_string(dir.path().join("profile-2025-11900.svg")).expect("read");
    for word in ["tám", "lĩnh", "vực", "Khoảng", "tin", "cậy"] {
        assert!(profile_svg.contains(word), "profile lacks {word}");
    }
}

#[test]
fn the_feedback_kpi_chart_is_drawn_from_the_kpis() {
    use chrono::{Duration, TimeZone, Utc};
    use ykien_analysis::{CaseFacts, CaseStatus, kpis, write_kpi_chart};

    let t0 = Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0).single().expect("time");
    let case = |unit: &str, status, due: i64, answered: Option<i64>, rating| CaseFacts {
        unit_code: unit.into(),
        received_at: t0,
        due_at: Some(t0 + Duration::hours(due)),
        answered_at: answered.map(|h| t0 + Duration::hours(h)),
        status,
        rating,
    };
    let cases = [
        case("11900", CaseStatus::Closed, 48, Some(24), Some(5)),
        case("11900", CaseStatus::Closed, 48, Some(72), Some(3)),
        case("11900", CaseStatus::Open, 24, None, None),
        case("11901", CaseStatus::Closed, 48, Some(12), Some(4)),
    ];
    let kpis = kpis(&cases, t0 + Duration::hours(100));
    let units = communes(2);
    let chart = report::kpi_chart(&kpis, &units, "Xử lý phản ánh, kiến nghị");
    assert_eq!(chart.rows.len(), 2);
    assert_eq!(chart.rows[0].label, "Xã Đồng Tiến 0");
    // 1 closed on time / (2 closed + 1 open overdue); median of 24 h and 72 h; mean of 5 and 3.
    assert_eq!(chart.rows[0].on_time_rate, Some(1.0 / 3.0));
    assert_eq!(chart.rows[0].median_hours, Some(48.0));
    assert_eq!(chart.rows[0].mean_rating, Some(4.0));
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_kpi_chart(&kpis, &units, dir.path(), &ChartOptions::default()).expect("written");
    assert_eq!(files.len(), 2);
    let svg = std::fs::read_to_string(dir.path().join("feedback-kpis.svg")).expect("svg");
    for word in ["Xử", "phản", "ánh", "đúng", "hạn", "33%", "Đồng", "Tiến", "hài", "lòng"] {
        assert!(svg.contains(word), "the KPI chart lacks {word}");
    }
}
