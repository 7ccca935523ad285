//! Survey weights stored per wave (issue 16): `ykien weights compute --wave W --margins FILE.csv` rakes a wave's
//! stored responses and keeps the weights with their summary; `weights show` prints it, `weights clear` removes
//! it; recomputing replaces it atomically; bad input stores nothing. On SQLite and PostgreSQL.
//!
//! The stored weights are checked two ways that do not go through the stored form: against the file form
//! (`export answers`, then `weights compute --answers … --out …`), and against the margins themselves — the
//! weighted shares of every cell, computed here from the simulated profiles.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Output;

use chrono::Utc;
use common::{TestDb, databases};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use ykien::domain::calendar::vn_day;
use ykien::domain::survey::Wave;
use ykien::services::analysis::{codebook_from_toml, units_from_files};
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien::services::survey::{WaveRequest, create_wave, import_questionnaire};
use ykien::services::units::{commune_on, import_bundled_hung_yen, unit_by_code};
use ykien::services::weights::{MarginsFile, compute_for_wave, scoring_weights};
use ykien::storage::{NewResponse, Store, StoredAnswer};
use ykien_analysis::{SimulateOptions, simulate};

const HUNG_YEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/admin-units/hung-yen-2025.csv");
const LINEAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/admin-units/lineage-2025-hung-yen.csv"
);
const WAVE: &str = "w-weights";

const SEXES: [(&str, f64); 2] = [("male", 48.0), ("female", 52.0)];
const AGES: [(&str, f64); 5] = [
    ("18_29", 22.0),
    ("30_39", 21.0),
    ("40_49", 20.0),
    ("50_59", 19.0),
    ("60_plus", 18.0),
];
const EDUCATION: [(&str, f64); 6] = [
    ("none", 6.0),
    ("primary", 20.0),
    ("lower_secondary", 32.0),
    ("upper_secondary", 24.0),
    ("vocational", 9.0),
    ("university", 9.0),
];

/// Margins made up for the tests (not census figures): sex × age, and education, for province 33; `scale`
/// changes the women's share, so that two files give different weights.
fn margins_text(women: f64) -> String {
    let mut text = String::from("# Made-up figures for a test, not a census table\n# second comment line\n");
    text.push_str("province,margin,cell,population\n");
    for (sex, share) in SEXES {
        let share = if sex == "female" { women } else { share };
        for (age, age_share) in AGES {
            text.push_str(&format!("33,p_sex*p_age,{sex}*{age},{}\n", share * age_share));
        }
    }
    for (code, share) in EDUCATION {
        text.push_str(&format!("33,p_education,{code},{share}\n"));
    }
    text
}

fn run(dir: &Path, db: &TestDb, args: &[&str]) -> Output {
    common::ykien_command(&[("YKIEN_DATABASE_URL", db.url.as_str())], args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Hưng Yên, the bundled questionnaire, the wave [`WAVE`] and `responses` simulated responses stored in it (seed
/// `seed`), spread over four communes; one in ten of the first commune's is given in legacy commune 11956, which
/// the lineage carries to 11953. Returns the wave and each stored response's profile answers.
async fn seeded_wave(store: &Store, responses: usize, seed: u64) -> (Wave, BTreeMap<Uuid, HashMap<String, String>>) {
    import_bundled_hung_yen(store).await.unwrap();
    import_questionnaire(store, BUNDLED_QUESTIONNAIRE).await.unwrap();
    let now = Utc::now();
    let request = |code: &str| WaveRequest {
        code: code.into(),
        title: "Đợt có trọng số".into(),
        questionnaire: "papi-2025".into(),
        questionnaire_version: None,
        unit_codes: vec!["33".into()],
        opens_at: now - chrono::Duration::days(1),
        closes_at: now + chrono::Duration::days(30),
        periods: Vec::new(),
        modules_per_respondent: None,
    };
    let wave = create_wave(store, request(WAVE)).await.unwrap();
    create_wave(store, request("w-empty")).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let units_path = dir.path().join("units.csv");
    let text = std::fs::read_to_string(HUNG_YEN).unwrap();
    std::fs::write(&units_path, text.lines().take(5).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let units = units_from_files(&[units_path]).unwrap().units;
    let codebook = codebook_from_toml(BUNDLED_QUESTIONNAIRE).unwrap();
    let options = SimulateOptions {
        wave: WAVE.into(),
        responses,
        seed,
        ..SimulateOptions::default()
    };
    let rows = simulate(&codebook, &units, &options).unwrap();
    // Simulated response id → (commune, answers as stored).
    let mut simulated: BTreeMap<String, (String, Vec<StoredAnswer>)> = BTreeMap::new();
    for r in rows {
        let entry = simulated
            .entry(r.response_id.clone())
            .or_insert_with(|| (r.unit_code.clone(), Vec::new()));
        entry.1.push((r.question, r.answer, None));
    }
    let day = vn_day(now);
    let legacy = unit_by_code(store, "11956", chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        .await
        .unwrap();
    let mut new = Vec::new();
    let mut in_11953 = 0;
    for (unit_code, answers) in simulated.values() {
        in_11953 += usize::from(unit_code == "11953");
        let unit = if unit_code == "11953" && in_11953 % 10 == 1 {
            legacy.clone()
        } else {
            commune_on(store, unit_code, day).await.unwrap()
        };
        new.push(NewResponse {
            wave_id: wave.id,
            unit_id: unit.id,
            channel: "web".into(),
            client_token: None,
            answers: answers.clone(),
            at: now,
        });
    }
    let stored = store.insert_complete_responses(&new).await.unwrap();
    let profiles = stored
        .into_iter()
        .zip(new)
        .map(|((id, _), r)| {
            let profile = r
                .answers
                .into_iter()
                .filter(|(q, _, _)| q.starts_with("p_"))
                .filter_map(|(q, code, _)| code.map(|c| (q, c)))
                .collect();
            (id, profile)
        })
        .collect();
    (wave, profiles)
}

/// The largest gap, over both margins, between a cell's weighted share (among the respondents with a known cell
/// in that margin) and its population share among the cells that have respondents: raking's own criterion, worked
/// out here from the profiles and the figures above.
fn largest_share_gap(profiles: &BTreeMap<Uuid, HashMap<String, String>>, weights: &HashMap<Uuid, f64>) -> f64 {
    // Per margin, its cells: the (question, code) pairs a respondent must have, and the population.
    type Cell<'a> = (Vec<(&'a str, &'a str)>, f64);
    let mut margins: Vec<Vec<Cell>> = vec![Vec::new(), Vec::new()];
    for (sex, share) in SEXES {
        for (age, age_share) in AGES {
            margins[0].push((vec![("p_sex", sex), ("p_age", age)], share * age_share));
        }
    }
    for (code, share) in EDUCATION {
        margins[1].push((vec![("p_education", code)], share));
    }
    let mut gap: f64 = 0.0;
    for cells in &margins {
        let mut weight_of = vec![0.0; cells.len()];
        for (id, profile) in profiles {
            let cell = cells.iter().position(|(codes, _)| {
                codes
                    .iter()
                    .all(|(q, c)| profile.get(*q).map(String::as_str) == Some(*c))
            });
            if let Some(c) = cell {
                weight_of[c] += weights[id];
            }
        }
        let known: f64 = weight_of.iter().sum();
        let present: f64 = cells
            .iter()
            .zip(&weight_of)
            .filter(|(_, w)| **w > 0.0)
            .map(|((_, p), _)| p)
            .sum();
        for ((_, population), w) in cells.iter().zip(&weight_of) {
            if *w > 0.0 {
                gap = gap.max((w / known - population / present).abs());
            }
        }
    }
    gap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_weights_equal_the_file_forms_meet_the_margins_and_are_shown() {
    for db in databases("stored_weights_equal_the_file_forms_meet_the_margins_and_are_shown").await {
        let label = db.label;
        let store = db.store().await;
        let (wave, profiles) = seeded_wave(&store, 160, 11).await;
        let dir = tempfile::tempdir().unwrap();
        let margins = dir.path().join("margins-test.csv");
        std::fs::write(&margins, margins_text(52.0)).unwrap();

        let out = run(
            dir.path(),
            &db,
            &[
                "weights",
                "compute",
                "--wave",
                WAVE,
                "--margins",
                margins.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let said = stdout(&out);
        assert!(
            said.contains("weights of wave w-weights stored for 160 responses"),
            "{label}: {said}"
        );
        assert!(
            said.contains("wave w-weights, province 33: 160 respondents ("),
            "{label}: {said}"
        );
        assert!(said.contains("margins met in"), "{label}: {said}");

        // The file form on the same answers, exported: the same weight for every response.
        let answers = dir.path().join("answers.csv");
        let out = run(
            dir.path(),
            &db,
            &["export", "answers", "--wave", WAVE, "--out", answers.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let exported = std::fs::read_to_string(&answers).unwrap();
        assert!(
            exported.contains(",11956,"),
            "{label}: some responses come from a legacy commune"
        );
        let file_weights = dir.path().join("weights.csv");
        let out = run(
            dir.path(),
            &db,
            &[
                "weights",
                "compute",
                "--answers",
                answers.to_str().unwrap(),
                "--margins",
                margins.to_str().unwrap(),
                "--units",
                HUNG_YEN,
                "--units",
                LINEAGE,
                "--out",
                file_weights.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let from_file: HashMap<Uuid, f64> = std::fs::read_to_string(&file_weights)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let (id, w) = l.split_once(',').unwrap();
                (Uuid::parse_str(id).unwrap(), w.parse().unwrap())
            })
            .collect();
        let ids: Vec<Uuid> = profiles.keys().copied().collect();
        let stored = store.response_weights(wave.id, &ids).await.unwrap();
        assert_eq!(stored.len(), 160, "{label}");
        assert_eq!(from_file.len(), 160, "{label}");
        for (id, w) in &stored {
            assert!(
                (w - from_file[id]).abs() < 1e-12,
                "{label}: {id}: stored {w}, file {}",
                from_file[id]
            );
        }
        assert!((stored.values().sum::<f64>() - 160.0).abs() < 1e-9, "{label}: mean 1");
        assert!(
            stored.values().any(|w| (w - 1.0).abs() > 0.05),
            "{label}: the weights do something"
        );
        // Raking met the margins: every cell's weighted share is its population share, to raking's tolerance.
        let gap = largest_share_gap(&profiles, &stored);
        assert!(gap <= 1.000_001e-6, "{label}: a cell is {gap} from its share");

        // The summary, as stored and as shown.
        let w = store.wave_weighting(wave.id).await.unwrap().expect("a weighting");
        let text = std::fs::read(&margins).unwrap();
        assert_eq!(w.margins_sha256, hex::encode(Sha256::digest(&text)), "{label}");
        assert_eq!(w.margins_file, "margins-test.csv", "{label}");
        assert_eq!(
            w.sources,
            ["Made-up figures for a test, not a census table", "second comment line"],
            "{label}"
        );
        assert_eq!((w.cap, w.respondents, w.left_out), (5.0, 160, 0), "{label}");
        assert_eq!(w.provinces.len(), 1, "{label}");
        let p = &w.provinces[0];
        assert_eq!(
            (p.province_code.as_str(), p.respondents, p.trimmed),
            ("33", 160, 0),
            "{label}"
        );
        assert!(p.converged && p.has_margins, "{label}: {p:?}");
        // Simulated sex is male, female or other: "other" has no census cell, and those respondents are kept.
        let other = profiles
            .values()
            .filter(|p| p.get("p_sex").map(String::as_str) == Some("other"))
            .count();
        assert!(other > 0 && p.incomplete_profiles >= other, "{label}: {p:?}");
        let (deff, effective) = ykien_analysis::kish(&stored.values().copied().collect::<Vec<_>>());
        assert!(
            (p.design_effect - deff).abs() < 1e-9 && (p.effective_n - effective).abs() < 1e-6,
            "{label}"
        );
        assert!((w.design_effect() - deff).abs() < 1e-9, "{label}");

        let out = run(dir.path(), &db, &["weights", "show", "--wave", WAVE]);
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let said = stdout(&out);
        for expected in [
            format!("from margins-test.csv (SHA-256 {})", w.margins_sha256),
            "cap 5 × the mean weight".to_owned(),
            "source: Made-up figures for a test, not a census table".to_owned(),
            "source: second comment line".to_owned(),
            format!(
                "wave w-weights, province 33: 160 respondents ({} with an incomplete profile",
                p.incomplete_profiles
            ),
            format!("design effect {deff:.2}, effective sample size {effective:.0}"),
            "every complete response has its weight".to_owned(),
        ] {
            assert!(said.contains(&expected), "{label}: '{expected}' not in: {said}");
        }

        // A response completed after the weights were computed has none: it counts with weight 1, and says so.
        let day = vn_day(Utc::now());
        let late = store
            .insert_complete_responses(&[NewResponse {
                wave_id: wave.id,
                unit_id: commune_on(&store, "11977", day).await.unwrap().id,
                channel: "web".into(),
                client_token: None,
                answers: vec![
                    ("p_sex".into(), Some("male".into()), None),
                    ("p_age".into(), Some("18_29".into()), None),
                ],
                at: Utc::now(),
            }])
            .await
            .unwrap()[0]
            .0;
        assert_eq!(store.unweighted_responses(wave.id).await.unwrap(), 1, "{label}");
        assert!(
            store.response_weights(wave.id, &[late]).await.unwrap().is_empty(),
            "{label}"
        );
        let scoring = scoring_weights(&store, std::slice::from_ref(&wave), None)
            .await
            .unwrap()
            .expect("the wave is weighted");
        assert_eq!(scoring.pairs.len(), 161, "{label}");
        assert_eq!(scoring.unweighted[WAVE], 1, "{label}");
        assert_eq!(scoring.weightings[WAVE], w, "{label}");
        let pairs: HashMap<&str, f64> = scoring.pairs.iter().map(|(id, w)| (id.as_str(), *w)).collect();
        assert_eq!(pairs[late.to_string().as_str()], 1.0, "{label}");
        for (id, w) in &stored {
            assert_eq!(pairs[id.to_string().as_str()], *w, "{label}");
        }
        let out = run(dir.path(), &db, &["weights", "show", "--wave", WAVE]);
        assert!(
            stdout(&out).contains("1 complete responses have no stored weight and count with weight 1"),
            "{label}: {}",
            stdout(&out)
        );
        store.close().await;
    }
}

/// The weights and summary as stored now, to compare before and after.
async fn snapshot(
    store: &Store,
    wave: &Wave,
) -> (Vec<(Uuid, Option<f64>)>, Option<ykien::domain::weights::WaveWeighting>) {
    (
        store.scored_response_weights(wave.id, None).await.unwrap(),
        store.wave_weighting(wave.id).await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recomputing_replaces_bad_input_changes_nothing_and_clear_removes() {
    for db in databases("recomputing_replaces_bad_input_changes_nothing_and_clear_removes").await {
        let label = db.label;
        let store = db.store().await;
        let (wave, _) = seeded_wave(&store, 60, 5).await;
        // A response no person could have made (58 screens in 10 seconds) is left out, as it is of the scores.
        let now = Utc::now();
        let unit = commune_on(&store, "11977", vn_day(now)).await.unwrap().id;
        let flagged = store
            .insert_complete_responses(&[NewResponse {
                wave_id: wave.id,
                unit_id: unit,
                channel: "web".into(),
                client_token: None,
                answers: vec![("p_sex".into(), Some("female".into()), None)],
                at: now,
            }])
            .await
            .unwrap()[0]
            .0;
        store
            .record_response_quality(&[(flagged, unit, wave.id, "web".into(), 58, 10)], now)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let first = MarginsFile {
            name: "first.csv".into(),
            text: margins_text(52.0),
        };
        let before = compute_for_wave(&store, WAVE, &first, 5.0).await.unwrap();
        assert_eq!(before.respondents, 60, "{label}: the flagged response is not weighted");
        let (weights_before, _) = snapshot(&store, &wave).await;
        assert_eq!(weights_before.len(), 60, "{label}");
        assert!(weights_before.iter().all(|(_, w)| w.is_some()), "{label}");
        assert!(
            store.response_weights(wave.id, &[flagged]).await.unwrap().is_empty(),
            "{label}"
        );
        assert_eq!(store.unweighted_responses(wave.id).await.unwrap(), 0, "{label}");

        // Recomputed with other figures and another cap: every weight and the summary replaced, nothing added.
        let margins = dir.path().join("second.csv");
        std::fs::write(&margins, margins_text(70.0)).unwrap();
        let out = run(
            dir.path(),
            &db,
            &[
                "weights",
                "compute",
                "--wave",
                WAVE,
                "--margins",
                margins.to_str().unwrap(),
                "--cap",
                "3",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let (weights_after, summary) = snapshot(&store, &wave).await;
        let summary = summary.expect("a weighting");
        assert_ne!(weights_after, weights_before, "{label}");
        assert_eq!(weights_after.len(), 60, "{label}");
        assert_eq!(
            (summary.cap, summary.margins_file.as_str()),
            (3.0, "second.csv"),
            "{label}"
        );
        assert_ne!(summary.margins_sha256, before.margins_sha256, "{label}");
        assert_eq!(db.count("SELECT COUNT(*) FROM response_weights").await, 60, "{label}");
        assert_eq!(db.count("SELECT COUNT(*) FROM wave_weightings").await, 1, "{label}");
        let kept = (weights_after, Some(summary));

        // Bad input: one clear line, and the weights stored before stay as they were.
        let bad = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let header = "province,margin,cell,population\n";
        let unparsable = bad("unparsable.csv", &format!("{header}33,p_sex*p_age,male,3\n"));
        let unknown_code = bad("unknown-code.csv", &format!("{header}33,p_sex,males,3\n"));
        let other_province = bad("other-province.csv", &format!("{header}01,p_sex,male,3\n"));
        let good = margins.display().to_string();
        for (args, code, expected) in [
            (
                vec!["--wave", "w-nope", "--margins", &good],
                1,
                "no survey wave has code w-nope",
            ),
            (
                vec!["--wave", WAVE, "--margins", &unparsable],
                1,
                "unparsable.csv: margins line 2: cell \"male\" gives 1 codes",
            ),
            (
                vec!["--wave", WAVE, "--margins", &unknown_code],
                1,
                "unknown-code.csv: province 33, margin p_sex, cell males: p_sex has no answer \"males\"",
            ),
            (
                vec!["--wave", WAVE, "--margins", &other_province],
                1,
                "other-province.csv: no margins for province 33, where the responses of wave w-weights are",
            ),
            (
                vec!["--wave", "w-empty", "--margins", &good],
                1,
                "wave w-empty has no complete response to weight",
            ),
            (
                vec!["--wave", WAVE, "--margins", &good, "--cap", "1"],
                2,
                "--cap 1: give a number above 1",
            ),
            (
                vec!["--wave", WAVE, "--margins", &good, "--cap=0.5"],
                2,
                "--cap 0.5: give a number above 1",
            ),
            (
                vec!["--wave", WAVE, "--margins", "missing.csv"],
                1,
                "cannot read missing.csv",
            ),
        ] {
            let mut all = vec!["weights", "compute"];
            all.extend(args.iter().copied());
            let out = run(dir.path(), &db, &all);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(code), "{label}: {args:?}: {err}");
            assert_eq!(
                err.trim().lines().count(),
                1,
                "{label}: {args:?}: one line expected: {err}"
            );
            assert!(err.contains(expected), "{label}: {args:?}: '{expected}' not in: {err}");
            assert_eq!(
                snapshot(&store, &wave).await,
                kept,
                "{label}: {args:?} changed the stored weights"
            );
        }
        assert_eq!(
            db.count("SELECT COUNT(*) FROM wave_weightings").await,
            1,
            "{label}: w-empty has none"
        );
        // The stored form and the file form do not mix.
        let out = run(
            dir.path(),
            &db,
            &[
                "weights",
                "compute",
                "--wave",
                WAVE,
                "--margins",
                &good,
                "--out",
                "w.csv",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{label}: {}", stderr(&out));
        assert!(stderr(&out).contains("--out"), "{label}: {}", stderr(&out));

        // A write that fails half-way (its last batch names a response that does not exist) leaves the previous
        // weights and summary exactly as they were: one transaction.
        let mut weights: Vec<(Uuid, f64)> = kept.0.iter().map(|(id, w)| (*id, w.unwrap() * 2.0)).collect();
        weights.extend((0..400).map(|_| (Uuid::new_v4(), 1.0)));
        let mut broken = kept.1.clone().unwrap();
        broken.cap = 9.0;
        assert!(store.replace_wave_weights(&broken, &weights).await.is_err(), "{label}");
        assert_eq!(
            snapshot(&store, &wave).await,
            kept,
            "{label}: a failed write changed the stored weights"
        );

        // Clear: the wave is unweighted again, and scores say so by getting no weights at all.
        let out = run(dir.path(), &db, &["weights", "clear", "--wave", WAVE]);
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("weights of wave w-weights removed (60 responses)"),
            "{label}: {}",
            stdout(&out)
        );
        assert_eq!(db.count("SELECT COUNT(*) FROM response_weights").await, 0, "{label}");
        assert_eq!(db.count("SELECT COUNT(*) FROM wave_weightings").await, 0, "{label}");
        assert!(
            scoring_weights(&store, std::slice::from_ref(&wave), None)
                .await
                .unwrap()
                .is_none(),
            "{label}"
        );
        let out = run(dir.path(), &db, &["weights", "show", "--wave", WAVE]);
        assert!(
            stdout(&out).contains("wave w-weights has no stored weights"),
            "{label}: {}",
            stdout(&out)
        );
        let out = run(dir.path(), &db, &["weights", "clear", "--wave", WAVE]);
        assert!(
            stdout(&out).contains("wave w-weights had no stored weights"),
            "{label}: {}",
            stdout(&out)
        );
        let out = run(dir.path(), &db, &["weights", "clear", "--wave", "w-nope"]);
        assert_eq!(out.status.code(), Some(1), "{label}");
        assert!(
            stderr(&out).contains("no survey wave has code w-nope"),
            "{label}: {}",
            stderr(&out)
        );
        store.close().await;
    }
}

/// The dashboard scores a wave with its stored weights — exactly as `ykien analyze` does on the exported answers
/// with the same weights — and shows the unweighted scores beside them, with the design effect and the effective
/// number of respondents, on the commune page and in the method section.
#[tokio::test]
async fn the_dashboard_scores_with_the_stored_weights_and_shows_the_unweighted_beside_them() {
    use std::sync::Arc;
    use ykien::services::analysis::{ExportFormat, codebook, stream_answers, units_from_store};
    use ykien::services::scoreboard::{Scoreboard, SnapshotKey};
    use ykien_analysis::{Answers, ScoreOptions, Scores, Weights, apply_dimension_rule, score_answers};

    for db in databases("weights_on_the_dashboard").await {
        let label = db.label;
        let app = common::TestApp::start(db).await;
        let store = app.app.store.clone();
        let (wave, _) = seeded_wave(&store, 160, 41).await;
        let margins = MarginsFile {
            name: "margins.csv".into(),
            text: margins_text(60.0),
        };
        let weighting = compute_for_wave(&store, WAVE, &margins, 5.0).await.unwrap();

        let surveys = Arc::new(ykien::services::survey::Surveys::new(
            store.clone(),
            ykien::config::Secret::new(common::TEST_SECRET),
        ));
        let board = Arc::new(Scoreboard::new(
            store.clone(),
            surveys.clone(),
            ykien::domain::calendar::WorkCalendar::default_vietnam(),
            std::time::Duration::from_secs(300),
        ));
        let key = SnapshotKey {
            wave: WAVE.into(),
            period: None,
        };
        let snapshot = board.snapshot(&key).await.unwrap();
        let shown = snapshot
            .weighting
            .as_ref()
            .unwrap_or_else(|| panic!("{label}: weighted"));
        // The summary as stored (its time to the microsecond PostgreSQL keeps, its per-province figures read back
        // from JSON to about the last bit).
        let stored = &shown.summary;
        assert_eq!(
            (
                stored.computed_at.timestamp_micros(),
                &stored.margins_sha256,
                stored.respondents
            ),
            (
                weighting.computed_at.timestamp_micros(),
                &weighting.margins_sha256,
                weighting.respondents
            ),
            "{label}"
        );
        assert!(
            (stored.design_effect() - weighting.design_effect()).abs() < 1e-12,
            "{label}"
        );
        assert_eq!(shown.late, 0, "{label}");

        // The other way: the answers exported, scored by the pipeline with the stored weights, and without.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.parquet");
        stream_answers(&store, std::slice::from_ref(&wave), None, ExportFormat::Parquet, &file)
            .await
            .unwrap();
        let pairs = scoring_weights(&store, std::slice::from_ref(&wave), None)
            .await
            .unwrap()
            .unwrap()
            .pairs;
        let questionnaire = surveys.questionnaire(wave.questionnaire_id).await.unwrap();
        let codebook = codebook(&questionnaire).unwrap();
        let units = units_from_store(&store, vn_day(Utc::now())).await.unwrap();
        let rule = ykien::services::versions::analysis_rule(questionnaire.dimension_rule);
        let pipeline = move |weighted: bool, replicates: usize| -> Scores {
            let options = ScoreOptions {
                replicates,
                ..ScoreOptions::default()
            };
            let weights = weighted.then_some(Weights::Pairs(&pairs));
            let mut scores = score_answers(
                Answers::File(&file),
                weights,
                &codebook,
                &units.units,
                &units.lineage,
                &options,
            )
            .unwrap();
            apply_dimension_rule(&mut scores, &codebook, rule);
            scores
        };
        let (weighted, unweighted) = tokio::task::spawn_blocking(move || (pipeline(true, 1000), pipeline(false, 0)))
            .await
            .unwrap();
        assert_eq!(
            snapshot.scores.rows, weighted.rows,
            "{label}: weighted scores, intervals and ranks"
        );
        assert_eq!(shown.unweighted.rows, unweighted.rows, "{label}: the unweighted points");
        let total = |s: &Scores| {
            s.rows
                .iter()
                .find(|r| r.unit_code == "11953" && r.code == "total")
                .map(|r| r.score)
                .unwrap()
        };
        assert_ne!(
            total(&weighted),
            total(&unweighted),
            "{label}: the weights change the score"
        );

        // The commune page says so, with both numbers and what the weights cost.
        common::official(&store, "lanhdao", "leader", None, &["33"]).await;
        let leader = common::session(&app, "lanhdao").await;
        let page = app
            .client
            .get(app.url(&format!("/console/dashboard/units/11953?wave={WAVE}")))
            .header("cookie", &leader)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{label}");
        let html = page.text().await.unwrap();
        for needle in [
            "Chưa gia quyền",
            "Điểm đã gia quyền",
            "hệ số ảnh hưởng thiết kế (deff)",
            "margins.csv",
            "Made-up figures for a test, not a census table",
        ] {
            assert!(html.contains(needle), "{label}: «{needle}» on the commune page");
        }
        app.stop().await;
    }
}
