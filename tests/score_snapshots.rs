//! The dashboard's scores survive a restart: what one server computed is kept in the database, the next server
//! (or a second instance) serves it at its first request instead of recomputing inside it, and refreshes it in
//! the background once responses were added. Both engines.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::TestApp;
use ykien::domain::calendar::vn_day;
use ykien::domain::questionnaire::Questionnaire;
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, synthetic_responses};
use ykien::services::units::commune_on;

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
