//! `ykien simulate`, `ykien analyze` and `ykien export answers` as an analyst meets them: the real binary, a clean
//! environment, files in a temporary folder; and the paged answers query behind the export on both engines.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use chrono::Utc;
use ykien::domain::calendar::vn_day;
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien::services::survey::{WaveRequest, create_wave, import_questionnaire};
use ykien::services::units::{commune_on, import_bundled_hung_yen};
use ykien::storage::{NewResponse, Store};

const HUNG_YEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/admin-units/hung-yen-2025.csv");

/// The binary with a clean environment of ours (no YKIEN_* from the caller), run in `dir`.
fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    common::ykien_command(env, args).current_dir(dir).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The first `n` communes of Hưng Yên as a two-level units file.
fn small_units_file(dir: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(HUNG_YEN).unwrap();
    let lines: Vec<&str> = text.lines().take(n + 1).collect();
    let path = dir.join("units.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.display().to_string()
}

#[test]
fn simulate_then_analyze_ranks_the_planted_weak_commune_last_on_its_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let units = small_units_file(dir.path(), 6);
    let answers = dir.path().join("answers.parquet").display().to_string();
    let out = run(
        dir.path(),
        &[],
        &[
            "simulate",
            "--units",
            &units,
            "--responses",
            "300",
            "--seed",
            "7",
            "--plant",
            "11953:d3:-3",
            "--out",
            &answers,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, BUNDLED_QUESTIONNAIRE).unwrap();
    let results = dir.path().join("results");
    let out = run(
        dir.path(),
        &[],
        &[
            "analyze",
            "--answers",
            &answers,
            "--questionnaire",
            questionnaire.to_str().unwrap(),
            "--units",
            &units,
            "--out",
            results.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let text = std::fs::read_to_string(results.join("scores.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header.join(","),
        "wave,unit_code,level,code,score,n,ci_low,ci_high,rank,quartile,papi_scale,partial"
    );
    let mut d3: HashMap<String, (f64, u32)> = HashMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        if &r[0] == "2025" && &r[2] == "dimension" && &r[3] == "d3" {
            d3.insert(r[1].to_owned(), (r[4].parse().unwrap(), r[8].parse().unwrap()));
        }
    }
    assert_eq!(d3.len(), 6, "one d3 score per commune: {d3:?}");
    let (weak_score, weak_rank) = d3["11953"];
    assert_eq!(weak_rank, 6, "the planted commune ranks last: {d3:?}");
    assert!(d3.values().all(|(s, _)| *s >= weak_score), "{d3:?}");
    // The province charts, in both formats.
    for name in [
        "heatmap-2025-33.png",
        "heatmap-2025-33.svg",
        "ranking-2025-33.svg",
        "map-2025-33.png",
    ] {
        assert!(results.join(name).is_file(), "{name} missing");
    }
}

#[test]
fn simulate_writes_csv_by_extension_and_the_same_seed_gives_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let units = small_units_file(dir.path(), 2);
    let mut files = Vec::new();
    for name in ["a.csv", "b.csv"] {
        let path = dir.path().join(name);
        let out = run(
            dir.path(),
            &[],
            &[
                "simulate",
                "--units",
                &units,
                "--responses",
                "20",
                "--seed",
                "3",
                "--out",
                path.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        files.push(std::fs::read_to_string(path).unwrap());
    }
    assert!(files[0].starts_with("response_id,wave,unit_code,question,answer\n"));
    assert_eq!(files[0], files[1]);
}

#[test]
fn bad_input_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let units = small_units_file(dir.path(), 2);
    let db = format!("sqlite://{}", dir.path().join("ykien.db").display());
    let env = [("YKIEN_DATABASE_URL", db.as_str())];
    let out_file = dir.path().join("x.csv").display().to_string();
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, BUNDLED_QUESTIONNAIRE).unwrap();
    let questionnaire = questionnaire.display().to_string();
    let results = dir.path().join("results").display().to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "export", "answers", "--wave", "w", "--format", "xml", "--out", &out_file,
            ],
            2,
            "unknown format \"xml\"",
        ),
        (
            vec!["export", "answers", "--wave", "no-such-wave", "--out", &out_file],
            1,
            "no survey wave has code no-such-wave",
        ),
        (
            vec![
                "simulate",
                "--units",
                &units,
                "--responses",
                "10",
                "--plant",
                "11953:d3",
                "--out",
                &out_file,
            ],
            2,
            "--plant 11953:d3: write UNIT:DIMENSION:DELTA",
        ),
        (
            vec![
                "simulate",
                "--units",
                "missing.csv",
                "--responses",
                "10",
                "--out",
                &out_file,
            ],
            1,
            "cannot read missing.csv",
        ),
        (
            vec![
                "analyze",
                "--answers",
                "missing.parquet",
                "--questionnaire",
                &questionnaire,
                "--units",
                &units,
                "--out",
                &results,
            ],
            1,
            "the answers file missing.parquet does not exist",
        ),
        (
            vec![
                "analyze",
                "--answers",
                "missing.parquet",
                "--questionnaire",
                "missing.toml",
                "--units",
                &units,
                "--out",
                &results,
            ],
            1,
            "cannot read missing.toml",
        ),
    ];
    for (args, code, expected) in cases {
        let out = run(dir.path(), &env, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line expected: {err}");
        assert!(err.contains(expected), "{args:?}: expected '{expected}' in: {err}");
    }
}

/// A wave over Hưng Yên with `responses` complete responses of `per_response` answers each (one a free text).
async fn wave_with_responses(store: &Store, responses: usize, per_response: usize) -> usize {
    import_bundled_hung_yen(store).await.unwrap();
    import_questionnaire(store, BUNDLED_QUESTIONNAIRE).await.unwrap();
    let now = Utc::now();
    let wave = create_wave(
        store,
        WaveRequest {
            code: "w-export".into(),
            title: "Đợt xuất dữ liệu".into(),
            questionnaire: "papi-2025".into(),
            questionnaire_version: None,
            unit_codes: vec!["33".into()],
            opens_at: now - chrono::Duration::days(1),
            closes_at: now + chrono::Duration::days(30),
            periods: Vec::new(),
            modules_per_respondent: None,
        },
    )
    .await
    .unwrap();
    let day = vn_day(now);
    let communes = [
        commune_on(store, "11953", day).await.unwrap(),
        commune_on(store, "11977", day).await.unwrap(),
    ];
    let all: Vec<NewResponse> = (0..responses)
        .map(|i| NewResponse {
            wave_id: wave.id,
            unit_id: communes[i % 2].id,
            channel: "web".into(),
            client_token: None,
            answers: (0..per_response)
                .map(|q| {
                    if q == 0 {
                        (format!("q{q:02}"), None, Some("Ý kiến, có dấu phẩy".to_owned()))
                    } else {
                        (format!("q{q:02}"), Some(((i + q) % 5 + 1).to_string()), None)
                    }
                })
                .collect(),
            at: now,
        })
        .collect();
    for chunk in all.chunks(200) {
        store.insert_complete_responses(chunk).await.unwrap();
    }
    responses * per_response
}

#[tokio::test]
async fn export_answers_streams_every_stored_answer_as_csv_with_a_bom_and_as_parquet() {
    for db in common::databases("export_answers_streams_every_stored_answer").await {
        let store = db.store().await;
        // More rows than one page of the export (10,000), so that paging is exercised.
        let stored = wave_with_responses(&store, 1_050, 10).await;
        store.close().await;

        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("answers.csv");
        let env = [("YKIEN_DATABASE_URL", db.url.as_str())];
        let out = run(
            dir.path(),
            &env,
            &[
                "export",
                "answers",
                "--wave",
                "w-export",
                "--format",
                "csv",
                "--out",
                csv_path.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}: {}", db.label, stderr(&out));
        let bytes = std::fs::read(&csv_path).unwrap();
        assert!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            "{}: a UTF-8 byte-order mark",
            db.label
        );
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(
            text.starts_with("response_id,wave,unit_code,question,answer\n"),
            "{}",
            db.label
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), stored, "{}: one row per stored answer", db.label);
        let mut keys: Vec<(String, String)> = rows.iter().map(|r| (r[0].to_owned(), r[3].to_owned())).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), stored, "{}: no answer twice", db.label);
        assert!(rows.iter().all(|r| &r[1] == "w-export"), "{}", db.label);
        assert!(
            rows.iter().all(|r| &r[2] == "11953" || &r[2] == "11977"),
            "{}",
            db.label
        );
        // Free text is never exported; coded answers are.
        assert!(
            rows.iter().filter(|r| &r[3] == "q00").all(|r| r[4].is_empty()),
            "{}",
            db.label
        );
        assert!(
            rows.iter().filter(|r| &r[3] == "q01").all(|r| !r[4].is_empty()),
            "{}",
            db.label
        );

        let parquet_path = dir.path().join("answers.parquet");
        let out = run(
            dir.path(),
            &env,
            &[
                "export",
                "answers",
                "--wave",
                "w-export",
                "--format",
                "parquet",
                "--out",
                parquet_path.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}: {}", db.label, stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{stored} answers")));
        let bytes = std::fs::read(&parquet_path).unwrap();
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"), "{}", db.label);

        let xlsx_path = dir.path().join("answers.xlsx");
        let out = run(
            dir.path(),
            &env,
            &[
                "export",
                "answers",
                "--wave",
                "w-export",
                "--format",
                "xlsx",
                "--out",
                xlsx_path.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}: {}", db.label, stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{stored} answers")));
        let sheets = common::xlsx_sheets(&std::fs::read(&xlsx_path).unwrap());
        assert_eq!(sheets.len(), 1, "{}", db.label);
        let xml = &sheets[0].1;
        assert!(
            xml.contains(">response_id<") && xml.contains(">w-export<"),
            "{}",
            db.label
        );
        // One row per answer and the header.
        assert_eq!(xml.matches("<row ").count(), stored + 1, "{}", db.label);
    }
}

#[tokio::test]
async fn answers_page_walks_a_wave_in_order_without_gaps_or_repeats() {
    for db in common::databases("answers_page_walks_a_wave_in_order").await {
        let store = db.store().await;
        let stored = wave_with_responses(&store, 7, 3).await;
        let wave = store.wave_by_code("w-export").await.unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let (page, next) = store.answers_page(wave.id, None, after, 2).await.unwrap();
            // Two responses of three answers each per page, until the end.
            assert!(page.len() <= 6, "{}", db.label);
            let Some(next) = next else { break };
            assert!(!page.is_empty(), "{}", db.label);
            after = Some(next);
            pages += 1;
            seen.extend(page.into_iter().map(|(id, _, q, _)| (id, q)));
        }
        assert_eq!(pages, 4, "{}: 7 responses, 2 a page", db.label);
        assert_eq!(seen.len(), stored, "{}", db.label);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, seen, "{}: in (response, question) order, each once", db.label);
        store.close().await;
    }
}

#[test]
fn analyze_counts_every_kind_of_bad_row_of_an_outside_file_in_ignored_csv() {
    let dir = tempfile::tempdir().unwrap();
    let units = small_units_file(dir.path(), 2);
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, BUNDLED_QUESTIONNAIRE).unwrap();
    // As a KoboToolbox export might come: twelve respondents of 11953 answering d1.1.1 and the d1.4 block, then
    // rows no scoring may count.
    let mut csv = String::from("response_id,wave,unit_code,question,answer\n");
    for r in 1..=12 {
        csv.push_str(&format!("k{r},2025,11953,d1_1_1,{}\n", r % 2));
        csv.push_str(&format!("k{r},2025,11953,d1_4_0,1\nk{r},2025,11953,d1_4_1,1\n"));
    }
    csv.push_str(
        "k1,2025,11953,d9_9_9,1\n\
         k1,2025,11953,d4_1_3,2\n\
         k2,2025,11953,p_sex,DK\n\
         k2,2025,11953,d4_1_1,04\n\
         k3,2025,11953,d5_4_2,mười\n\
         k4,2025,11953,d5_4_2,4800\n\
         k5,2025,11953,d1_1_1,1\n\
         k6,2025,11953,d1_1_1,1\n\
         k7,2025,11953,d1_3_1,1\n\
         k8,2025,11953,d1_3_1,0\n\
         k9,2025,11953,d1_4_0,0\n\
         k10,2025,11953,note_free,\n",
    );
    let answers = dir.path().join("kobo.csv");
    std::fs::write(&answers, csv).unwrap();
    let results = dir.path().join("results");
    let out = run(
        dir.path(),
        &[],
        &[
            "analyze",
            "--answers",
            answers.to_str().unwrap(),
            "--questionnaire",
            questionnaire.to_str().unwrap(),
            "--units",
            &units,
            "--replicates",
            "0",
            "--out",
            results.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // k5 repeats its answer 1 (duplicate); k6 answered 0 and now 1 (conflicting, both rows); k7 and k8 answer
    // d1_3_1 without d1_2_3 saying they took part (not eligible); k9 answers d1_4_0 twice, 1 and 0 (conflicting),
    // which also closes d1_4_1 for k9 (not eligible). The empty answer is no answer.
    let expected = "wave,question,kind,rows\n\
                    2025,d1_1_1,duplicate,1\n\
                    2025,d1_1_1,conflicting,2\n\
                    2025,d1_3_1,not_eligible,2\n\
                    2025,d1_4_0,conflicting,2\n\
                    2025,d1_4_1,not_eligible,1\n\
                    2025,d4_1_1,unknown_code,1\n\
                    2025,d4_1_3,unknown_code,1\n\
                    2025,d5_4_2,unreadable_number,1\n\
                    2025,d5_4_2,out_of_range,1\n\
                    2025,d9_9_9,unknown_question,1\n\
                    2025,p_sex,unknown_code,1\n";
    assert_eq!(std::fs::read_to_string(results.join("ignored.csv")).unwrap(), expected);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("14 answer rows ignored, never scored (unknown_question 1, unknown_code 3, unreadable_number 1, out_of_range 1, duplicate 1, conflicting 4, not_eligible 3)"),
        "{said}"
    );
    // What counts is scored: d1.1.1 from k1–k12 less k6 (conflicting): six 1s of eleven.
    let scores = std::fs::read_to_string(results.join("scores.csv")).unwrap();
    let d111 = scores
        .lines()
        .find(|l| l.starts_with("2025,11953,indicator,d1.1.1,"))
        .unwrap_or_else(|| panic!("{scores}"));
    let fields: Vec<&str> = d111.split(',').collect();
    assert_eq!(fields[5], "11", "{d111}");
    assert!((fields[4].parse::<f64>().unwrap() - 6.0 / 11.0).abs() < 1e-12, "{d111}");
}

#[test]
fn weights_compute_rakes_simulated_respondents_and_analyze_scores_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let units = small_units_file(dir.path(), 3);
    let answers = dir.path().join("answers.csv").display().to_string();
    let out = run(
        dir.path(),
        &[],
        &[
            "simulate",
            "--units",
            &units,
            "--responses",
            "150",
            "--seed",
            "4",
            "--out",
            &answers,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Made-up margins for the test (not census figures): women two thirds of the population.
    let mut margins = String::from("# test figures\nprovince,margin,cell,population\n");
    for (sex, share) in [("male", 1.0), ("female", 2.0)] {
        for age in ["18_29", "30_39", "40_49", "50_59", "60_plus"] {
            margins.push_str(&format!("33,p_sex*p_age,{sex}*{age},{share}\n"));
        }
    }
    let margins_path = dir.path().join("margins.csv");
    std::fs::write(&margins_path, margins).unwrap();
    let weights = dir.path().join("weights.csv");
    let out = run(
        dir.path(),
        &[],
        &[
            "weights",
            "compute",
            "--answers",
            &answers,
            "--margins",
            margins_path.to_str().unwrap(),
            "--units",
            &units,
            "--out",
            weights.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    // Simulated sex is male, female or other with equal chances: "other" has no census cell, and is kept.
    assert!(said.contains("150 weights written"), "{said}");
    assert!(said.contains("wave 2025, province 33: 150 respondents ("), "{said}");
    assert!(
        said.contains("with an incomplete profile, kept), margins met in"),
        "{said}"
    );
    assert!(said.contains("design effect"), "{said}");
    let text = std::fs::read_to_string(&weights).unwrap();
    let rows: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (id, w) = l.split_once(',').unwrap();
            (id.to_owned(), w.parse().unwrap())
        })
        .collect();
    assert_eq!(text.lines().next(), Some("response_id,weight"));
    assert_eq!(rows.len(), 150);
    assert!((rows.iter().map(|r| r.1).sum::<f64>() - 150.0).abs() < 1e-9);

    let results = dir.path().join("results");
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, BUNDLED_QUESTIONNAIRE).unwrap();
    let out = run(
        dir.path(),
        &[],
        &[
            "analyze",
            "--answers",
            &answers,
            "--questionnaire",
            questionnaire.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
            "--units",
            &units,
            "--replicates",
            "0",
            "--out",
            results.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(results.join("scores.csv").is_file());

    // A margins file that is not one: one line naming the line to fix.
    std::fs::write(
        &margins_path,
        "province,margin,cell,population\n33,p_sex*p_age,male,3\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[],
        &[
            "weights",
            "compute",
            "--answers",
            &answers,
            "--margins",
            margins_path.to_str().unwrap(),
            "--units",
            &units,
            "--out",
            weights.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("margins line 2: cell \"male\" gives 1 codes"), "{err}");
}
