//! `ykien analyze` held to a second implementation of the method: `tests/reference/papi_scores.py`, plain Python
//! written from the text of `docs/questionnaire.md` alone. On simulated answers to the bundled questionnaire with
//! ineligible answers and every kind of bad row mixed in, every published score agrees to 1e-9, every respondent
//! count and every count of `ignored.csv` exactly.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use ykien::services::analysis::{codebook_from_toml, units_from_files};
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien_analysis::{AnswerRow, SimulateOptions, simulate};

const HUNG_YEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/admin-units/hung-yen-2025.csv");
const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/papi_scores.py");

fn run(dir: &Path, args: &[&str]) -> Output {
    common::ykien_command(&[], args).current_dir(dir).output().unwrap()
}

/// `ykien analyze` of the (answers, questionnaire, units) files with `replicates` bootstrap replicates into `out`.
fn analyze(dir: &Path, [answers, questionnaire, units]: [&Path; 3], replicates: u32, out: &Path) -> Output {
    let replicates = replicates.to_string();
    run(
        dir,
        &[
            "analyze",
            "--answers",
            answers.to_str().unwrap(),
            "--questionnaire",
            questionnaire.to_str().unwrap(),
            "--units",
            units.to_str().unwrap(),
            "--replicates",
            &replicates,
            "--out",
            out.to_str().unwrap(),
        ],
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The first `n` communes of Hưng Yên as a two-level units file.
fn units_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let text = std::fs::read_to_string(HUNG_YEN).unwrap();
    let lines: Vec<&str> = text.lines().take(n + 1).collect();
    let path = dir.join("units.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn write_answers(path: &Path, rows: &[AnswerRow]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(ykien_analysis::ANSWER_COLUMNS).unwrap();
    for r in rows {
        w.write_record([
            r.response_id.as_str(),
            r.wave.as_str(),
            r.unit_code.as_str(),
            r.question.as_str(),
            r.answer.as_deref().unwrap_or(""),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// (wave, unit, level, code) → (score, n) from a CSV with those columns first.
fn scores_of(path: &Path) -> BTreeMap<(String, String, String, String), (f64, u64)> {
    let mut out = BTreeMap::new();
    for record in csv::Reader::from_path(path).unwrap().records() {
        let r = record.unwrap();
        let key = (r[0].to_owned(), r[1].to_owned(), r[2].to_owned(), r[3].to_owned());
        out.insert(key, (r[4].parse().unwrap(), r[5].parse().unwrap()));
    }
    out
}

fn lines_of(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Bad rows of every kind, spread over the simulated responses (chosen by position, so the test is fixed).
fn add_bad_rows(rows: &mut Vec<AnswerRow>) {
    let ids: Vec<(String, String)> = {
        let mut seen = Vec::new();
        for r in rows.iter() {
            if seen.last().map(|(id, _): &(String, String)| id) != Some(&r.response_id) {
                seen.push((r.response_id.clone(), r.unit_code.clone()));
            }
        }
        seen
    };
    let mut extra = Vec::new();
    let bad = |id: &(String, String), question: &str, answer: &str| AnswerRow {
        response_id: id.0.clone(),
        wave: "2025".into(),
        unit_code: id.1.clone(),
        question: question.into(),
        answer: Some(answer.into()),
    };
    for (k, id) in ids.iter().enumerate() {
        match k % 9 {
            0 => extra.push(bad(id, "d9_9_9", "1")),
            1 => extra.push(bad(id, "d4_1_3", "2")),
            2 => extra.push(bad(id, "d5_4_2", "mười")),
            3 => extra.push(bad(id, "d5_4_2", "4800")),
            4 => extra.push(bad(id, "p_sex", "DK")),
            5 => extra.push(bad(id, "d4_1_1", "04")),
            _ => {}
        }
    }
    // Repeats: the same answer again (duplicate) and a different one (conflicting), for every seventh response.
    let mut repeats = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        if r.question == "d4_1_1" && k % 7 == 0 {
            repeats.push(r.clone());
        }
        if r.question == "d1_1_1" && k % 5 == 0 {
            let mut other = r.clone();
            other.answer = Some(if r.answer.as_deref() == Some("1") { "0" } else { "1" }.into());
            repeats.push(other);
        }
    }
    rows.extend(extra);
    rows.extend(repeats);
}

/// (wave, unit, level, code) → (papi_scale, partial) as written, from a CSV with those two columns by name.
fn papi_columns_of(path: &Path) -> BTreeMap<(String, String, String, String), (String, String)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (papi, partial) = (at("papi_scale"), at("partial"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                (r[0].to_owned(), r[1].to_owned(), r[2].to_owned(), r[3].to_owned()),
                (r[papi].to_owned(), r[partial].to_owned()),
            )
        })
        .collect()
}

#[test]
fn analyze_equals_an_independent_implementation_of_the_method_with_ineligible_and_bad_rows() {
    agrees_with_the_reference(BUNDLED_QUESTIONNAIRE, None);
}

/// A split questionnaire (issue 21): each respondent answered 7 of the 28 sub-dimensions; what was not asked is
/// missing, and both implementations score it alike.
#[test]
fn analyze_equals_the_reference_on_a_split_questionnaire() {
    agrees_with_the_reference(BUNDLED_QUESTIONNAIRE, Some(7));
}

/// papi-2026: today's structure, `dimension_rule = "all"`, PAPI's scale for sub-dimensions (issue 23).
#[test]
fn analyze_equals_the_reference_on_papi_2026_with_its_dimension_rule() {
    agrees_with_the_reference(ykien::services::demo::PAPI_2026, None);
}

/// Simulates answers (of `modules` sub-dimensions per respondent when split), scores them with `ykien analyze`
/// and with the reference, and holds every published number of one to the other.
fn agrees_with_the_reference(questionnaire_text: &str, modules: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let units = units_file(dir.path(), 8);
    let codebook = codebook_from_toml(questionnaire_text).unwrap();
    let table = units_from_files(std::slice::from_ref(&units)).unwrap();
    let options = SimulateOptions {
        wave: "2025".into(),
        // A split questionnaire needs as many more respondents as it asks fewer sub-dimensions (4 × here).
        responses: 8 * if modules.is_some() { 180 } else { 45 },
        seed: 16,
        dont_know: 0.06,
        skipped: 0.04,
        not_eligible: 0.3,
        modules_per_respondent: modules,
        ..SimulateOptions::default()
    };
    let mut rows = simulate(&codebook, &table.units, &options).unwrap();
    add_bad_rows(&mut rows);
    let answers = dir.path().join("answers.csv");
    write_answers(&answers, &rows);
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, questionnaire_text).unwrap();

    let results = dir.path().join("results");
    let out = analyze(dir.path(), [&answers, &questionnaire, &units], 0, &results);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("answer rows ignored, never scored"),
        "{}",
        text(&out)
    );

    let reference = dir.path().join("reference");
    let out = std::process::Command::new("python3")
        .args([
            REFERENCE,
            questionnaire.to_str().unwrap(),
            answers.to_str().unwrap(),
            reference.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs the reference implementation");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let ours = scores_of(&results.join("scores.csv"));
    let theirs = scores_of(&reference.join("reference_scores.csv"));
    assert!(ours.len() > 8 * 100, "scores of every commune: {}", ours.len());
    let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).take(5).collect();
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).take(5).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "published by analyze only: {only_ours:?}; by the reference only: {only_theirs:?}"
    );
    let mut worst = (0.0f64, None);
    for (key, (score, n)) in &ours {
        let (reference_score, reference_n) = theirs[key];
        assert_eq!(*n, reference_n, "respondents of {key:?}");
        let difference = (score - reference_score).abs();
        if difference > worst.0 {
            worst = (difference, Some(key.clone()));
        }
    }
    assert!(worst.0 <= 1e-9, "largest difference {worst:?}");
    // Sub-dimensions on PAPI's scale, and the dimension rule's marks, alike.
    let ours = papi_columns_of(&results.join("scores.csv"));
    let theirs = papi_columns_of(&reference.join("reference_scores.csv"));
    let mut on_papi_scale = 0;
    for (key, (papi, partial)) in &ours {
        let (reference_papi, reference_partial) = &theirs[key];
        assert_eq!(partial, reference_partial, "partial of {key:?}");
        assert_eq!(papi.is_empty(), reference_papi.is_empty(), "papi_scale of {key:?}");
        if !papi.is_empty() {
            let (a, b): (f64, f64) = (papi.parse().unwrap(), reference_papi.parse().unwrap());
            assert!((a - b).abs() <= 1e-9, "papi_scale of {key:?}: {a} vs {b}");
            on_papi_scale += 1;
        }
    }
    assert!(
        on_papi_scale > 8 * 20,
        "sub-dimensions on PAPI's scale: {on_papi_scale}"
    );

    // The file had rows of every kind, and both implementations count them alike.
    let ignored = lines_of(&results.join("ignored.csv"));
    assert_eq!(ignored, lines_of(&reference.join("reference_ignored.csv")));
    for kind in [
        "unknown_question",
        "unknown_code",
        "unreadable_number",
        "out_of_range",
        "duplicate",
        "conflicting",
        "not_eligible",
    ] {
        assert!(
            ignored.iter().any(|l| l.contains(&format!(",{kind},"))),
            "no {kind}: {ignored:?}"
        );
    }
}

/// The 95% intervals of scores from a split questionnaire widen as the method says: a sub-dimension asked of N of
/// K sub-dimensions per respondent has about N/K of the respondents, so its interval is about √(K/N) as wide (2×
/// for 7 of 28), on the same communes and the same number of respondents.
#[test]
fn a_split_questionnaires_intervals_widen_as_the_share_of_respondents_asked() {
    let dir = tempfile::tempdir().unwrap();
    let units = units_file(dir.path(), 6);
    let codebook = codebook_from_toml(BUNDLED_QUESTIONNAIRE).unwrap();
    let table = units_from_files(std::slice::from_ref(&units)).unwrap();
    let questionnaire = dir.path().join("papi.toml");
    std::fs::write(&questionnaire, BUNDLED_QUESTIONNAIRE).unwrap();
    let mut widths = Vec::new();
    for modules in [None, Some(7)] {
        let options = SimulateOptions {
            responses: 6 * 240,
            seed: 21,
            modules_per_respondent: modules,
            ..SimulateOptions::default()
        };
        let rows = simulate(&codebook, &table.units, &options).unwrap();
        let name = if modules.is_some() { "split" } else { "whole" };
        let answers = dir.path().join(format!("{name}.csv"));
        write_answers(&answers, &rows);
        let results = dir.path().join(name);
        let out = analyze(dir.path(), [&answers, &questionnaire, &units], 200, &results);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        // (unit, sub-dimension) → interval width.
        let mut reader = csv::Reader::from_path(results.join("scores.csv")).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (level, low, high) = (at("level"), at("ci_low"), at("ci_high"));
        let width: BTreeMap<(String, String), f64> = reader
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[level] == "subdimension" && !r[low].is_empty())
            .map(|r| {
                let w = r[high].parse::<f64>().unwrap() - r[low].parse::<f64>().unwrap();
                ((r[1].to_owned(), r[3].to_owned()), w)
            })
            .collect();
        widths.push(width);
    }
    let (whole, split) = (&widths[0], &widths[1]);
    let both: Vec<_> = whole.keys().filter(|k| split.contains_key(*k)).collect();
    assert!(
        both.len() > 6 * 15,
        "sub-dimensions with an interval in both: {}",
        both.len()
    );
    let mean = |w: &BTreeMap<(String, String), f64>| both.iter().map(|k| w[*k]).sum::<f64>() / both.len() as f64;
    let ratio = mean(split) / mean(whole);
    assert!(
        (1.6..=2.5).contains(&ratio),
        "split / whole interval width: {ratio:.3} (√4 = 2 expected)"
    );
}
