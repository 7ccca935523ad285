//! The dashboard's scores survive a restart: what one server computed is kept in the database, the next server
//! (or a second instance) serves it at its first request instead of recomputing inside it, and refreshes it in
//! the background once responses were added; scored commune by commune, they equal `ykien analyze` on the exported
//! answers, and new responses in one commune rescore that commune only. Both engines.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use ykien::config::Secret;
use ykien::domain::calendar::{WorkCalendar, vn_day};
use ykien::domain::questionnaire::Questionnaire;
use ykien::services::analysis::{ExportFormat, codebook, stream_answers, units_from_store};
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, synthetic_responses};
use ykien::services::scoreboard::{Scoreboard, SnapshotKey};
use ykien::services::survey::Surveys;
use ykien::services::unit_scoring::method_digest;
use ykien::services::units::{children, commune_on};
use ykien::services::versions::analysis_rule;
use ykien::storage::Store;
use ykien_analysis::{Level, ScoreOptions, TOTAL_CODE};

const COMMUNE: &str = "11953";

/// The total's respondent count of COMMUNE in the leader's scores table, if it is listed.
async fn total_n(app: &TestApp, cookie: &str) -> Option<usize> {
    let response = app
        .client
        .get(app.url("/console/dashboard/tables/scores.csv?province=33"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    if response.status() != 200 {
        return None;
    }
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&body[3..]);
    reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[1] == COMMUNE && &r[3] == "total")
        .map(|r| r[7].parse().unwrap())
}

async fn store_responses(app: &TestApp, n: usize, seed: u64) {
    let store = &app.app.store;
    let wave = store.wave_by_code("w-2026").await.unwrap();
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let unit = commune_on(store, COMMUNE, vn_day(Utc::now())).await.unwrap();
    let mut responses = synthetic_responses(&q, &wave, std::slice::from_ref(&unit), seed);
    responses.truncate(n);
    for r in &mut responses {
        r.at = Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap();
    }
    assert_eq!(responses.len(), n);
    store.insert_complete_responses(&responses).await.unwrap();
}

#[tokio::test]
async fn a_restarted_server_serves_the_kept_scores_at_once_then_refreshes_them() {
    for db in common::databases("score_snapshots").await {
        let label = db.label;
        let first = TestApp::start_with_hung_yen(db).await;
        common::wave_2026(&first.app.store).await;
        common::official(&first.app.store, "lanhdao", "leader", None, &["33"]).await;
        store_responses(&first, 40, 11).await;
        let leader = common::session(&first, "lanhdao").await;
        // The first request computes the scores (or says they are on their way): wait for them.
        let mut n = None;
        for _ in 0..600 {
            n = total_n(&first, &leader).await;
            if n.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(n, Some(40), "{label}");
        let kept = first.app.store.score_snapshot("w-2026", "").await.unwrap();
        let kept = kept.unwrap_or_else(|| panic!("{label}: the computed scores are kept in the database"));
        assert_eq!(kept.responses, 40, "{label}");
        assert!(kept.scores.contains(COMMUNE), "{label}");

        // Twenty more responses arrive while the server is down.
        store_responses(&first, 20, 12).await;
        let TestApp { app, db, .. } = first;
        app.shut_down().await.unwrap();

        let second = TestApp::start(db).await;
        let leader = common::session(&second, "lanhdao").await;
        // The kept scores, at the first request: computing inside it would have counted 60.
        assert_eq!(
            total_n(&second, &leader).await,
            Some(40),
            "{label}: the kept scores first"
        );
        // Then the background refresh notices the new responses and scores them.
        let mut n = None;
        for _ in 0..600 {
            n = total_n(&second, &leader).await;
            if n == Some(60) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(n, Some(60), "{label}: refreshed in the background");
        let kept = second.app.store.score_snapshot("w-2026", "").await.unwrap().unwrap();
        assert_eq!(kept.responses, 60, "{label}: the refreshed scores are kept too");
        second.stop().await;
    }
}

/// Stores `n` responses to `commune`, completed on 10 March 2026.
async fn store_in(app: &TestApp, commune: &str, n: usize, seed: u64) {
    let store = &app.app.store;
    let wave = store.wave_by_code("w-2026").await.unwrap();
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let unit = commune_on(store, commune, vn_day(Utc::now())).await.unwrap();
    let mut responses = synthetic_responses(&q, &wave, std::slice::from_ref(&unit), seed);
    responses.truncate(n);
    for r in &mut responses {
        r.at = Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap();
    }
    store.insert_complete_responses(&responses).await.unwrap();
}

/// When each commune's kept scores were computed.
async fn kept_times(store: &Store, method: &str) -> BTreeMap<String, DateTime<Utc>> {
    store
        .unit_score_snapshots("w-2026", "", method)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.unit_code, row.computed_at))
        .collect()
}

#[tokio::test]
async fn the_server_scores_commune_by_commune_as_ykien_analyze_does_and_rescores_only_what_changed() {
    for db in common::databases("score_snapshots_by_commune").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let store = &app.app.store;
        let wave = common::wave_2026(store).await;
        let communes = children(store, Some("33"), vn_day(Utc::now())).await.unwrap();
        let codes: Vec<String> = communes.iter().take(3).map(|c| c.code.clone()).collect();
        // Enough for scores, enough for a count only (10–29), and too few to be shown.
        for (code, n, seed) in [(&codes[0], 34, 21), (&codes[1], 15, 22), (&codes[2], 6, 23)] {
            store_in(&app, code, n, seed).await;
        }
        let surveys = Arc::new(Surveys::new(store.clone(), Secret::new(common::TEST_SECRET)));
        let board = Arc::new(Scoreboard::new(
            store.clone(),
            surveys,
            WorkCalendar::default_vietnam(),
            Duration::ZERO,
        ));
        let key = SnapshotKey {
            wave: "w-2026".into(),
            period: None,
        };
        let snapshot = board.snapshot(&key).await.unwrap();

        // `ykien analyze` on the same answers exported: the pipeline, the other way of scoring.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.parquet");
        stream_answers(store, std::slice::from_ref(&wave), None, ExportFormat::Parquet, &file)
            .await
            .unwrap();
        let questionnaire = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
        let codebook = codebook(&questionnaire).unwrap();
        let units = units_from_store(store, vn_day(Utc::now())).await.unwrap();
        let mut expected = {
            let (file, codebook, units) = (file.clone(), codebook.clone(), units.clone());
            tokio::task::spawn_blocking(move || {
                ykien_analysis::score_answers(
                    ykien_analysis::Answers::File(&file),
                    None,
                    &codebook,
                    &units.units,
                    &units.lineage,
                    &ScoreOptions::default(),
                )
            })
            .await
            .unwrap()
            .unwrap()
        };
        ykien_analysis::apply_dimension_rule(&mut expected, &codebook, analysis_rule(questionnaire.dimension_rule));
        assert!(!expected.rows.is_empty(), "{label}");
        assert_eq!(snapshot.scores.rows, expected.rows, "{label}: scores, intervals, ranks");
        assert_eq!(snapshot.scores.withheld, expected.withheld, "{label}");
        assert_eq!(snapshot.scores.cut_points, expected.cut_points, "{label}");
        assert_eq!(snapshot.scores.ignored, expected.ignored, "{label}");

        // Each commune's result is kept; new responses in one commune rescore that commune only.
        let method = method_digest(&codebook, &ScoreOptions::default(), true);
        let before = kept_times(store, &method).await;
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            codes.iter().collect::<Vec<_>>(),
            "{label}"
        );
        store_in(&app, &codes[1], 5, 24).await;
        let mut refreshed = None;
        for _ in 0..600 {
            let s = board.snapshot(&key).await.unwrap();
            let n = s.scores.get("w-2026", &codes[1], Level::Total, TOTAL_CODE).map(|r| r.n);
            if n == Some(20) {
                refreshed = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let refreshed = refreshed.unwrap_or_else(|| panic!("{label}: the new responses were never scored"));
        let after = kept_times(store, &method).await;
        assert!(
            after[&codes[1]] > before[&codes[1]],
            "{label}: the changed commune was scored again"
        );
        assert_eq!(
            after[&codes[0]], before[&codes[0]],
            "{label}: an unchanged commune was not"
        );
        assert_eq!(
            after[&codes[2]], before[&codes[2]],
            "{label}: an unchanged commune was not"
        );
        // The reused commune's numbers are the same as before.
        let total = |s: &ykien::services::scoreboard::Snapshot| {
            s.scores.get("w-2026", &codes[0], Level::Total, TOTAL_CODE).cloned()
        };
        let (was, now) = (total(&snapshot).unwrap(), total(&refreshed).unwrap());
        assert_eq!(
            (was.score, was.n, was.ci_low, was.ci_high),
            (now.score, now.n, now.ci_low, now.ci_high),
            "{label}"
        );
        app.stop().await;
    }
}
