//! Ballot-stuffing (issue 22): device tokens only the service issues, complete responses per address limited per
//! wave and commune, and responses no person could have made flagged, left out of scores, shown to
//! administrators and restorable — on both databases.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/survey.rs"]
mod survey;

use common::{TestApp, databases, official};
use survey::{Device, answer_page, csrf};

/// A script that takes one device through the whole web survey of 11953 as fast as it can; the last page.
async fn scripted_response(app: &TestApp) -> survey::Page {
    let mut phone = Device::new(app);
    let landing = phone.get("/s/11953").await;
    let started = phone
        .post(
            "/s/11953/start",
            &[("csrf".into(), csrf(&landing.html)), ("lang".into(), "vi".into())],
        )
        .await;
    if started.status != 303 {
        return started;
    }
    let mut page = phone.get("/s/11953/q").await;
    for _ in 0..200 {
        let next = phone.post("/s/11953/q", &answer_page(&page.html)).await;
        assert_eq!(next.status, 303, "{}", next.html);
        if next.location.as_deref() == Some("/s/11953/thanks") {
            return next;
        }
        page = phone.get("/s/11953/q").await;
    }
    panic!("the survey never ends")
}

#[tokio::test]
async fn a_device_token_the_client_made_up_is_not_a_device() {
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    let chosen = "ab".repeat(32);
    let r = app
        .client
        .get(app.url("/s/11953"))
        .header("cookie", format!("yk_device={chosen}"))
        .send()
        .await
        .unwrap();
    let issued = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        issued.starts_with("yk_device=") && !issued.contains(&chosen),
        "{issued}"
    );
    // The token the service issued is kept: no new cookie.
    let token = issued.split(';').next().unwrap().to_owned();
    let again = app
        .client
        .get(app.url("/s/11953"))
        .header("cookie", &token)
        .send()
        .await
        .unwrap();
    assert!(again.headers().get("set-cookie").is_none());
    app.stop().await;
}

#[tokio::test]
async fn a_scripted_response_is_flagged_left_out_of_scores_shown_to_administrators_and_restorable() {
    for db in
        databases("a_scripted_response_is_flagged_left_out_of_scores_shown_to_administrators_and_restorable").await
    {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let store = &app.app.store;
        official(store, "quantri", "admin", None, &[]).await;
        let done = scripted_response(&app).await;
        assert_eq!(done.location.as_deref(), Some("/s/11953/thanks"), "{label}");
        let wave = store.wave_by_code("w-open").await.unwrap();
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}: stored");
        // Left out of what scores are computed from.
        let (answers, _) = store.answers_page(wave.id, None, None, 100).await.unwrap();
        assert!(
            answers.is_empty(),
            "{label}: {} answers of a flagged response",
            answers.len()
        );
        // Shown to administrators, with the count per commune.
        let flagged = store.flagged_responses(10).await.unwrap();
        assert_eq!(flagged.len(), 1, "{label}");
        assert_eq!(
            (
                flagged[0].flag.as_str(),
                flagged[0].channel.as_str(),
                flagged[0].unit_code.as_str()
            ),
            ("too_fast", "web", "11953"),
            "{label}"
        );
        assert!(flagged[0].screens > 10, "{label}: {} screens", flagged[0].screens);
        let admin = common::session(&app, "quantri").await;
        let page = app
            .client
            .get(app.url("/console/responses/flagged"))
            .header("cookie", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Phường Phố Hiến") && page.contains("Trả lời quá nhanh"),
            "{label}"
        );
        // Restored: counted again.
        let restored = app
            .client
            .post(app.url(&format!("/console/responses/{}/restore", flagged[0].response_id)))
            .header("cookie", &admin)
            .form(&[("csrf", common::hidden_field(&page, "csrf").as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(restored.status(), 303, "{label}");
        let (answers, _) = store.answers_page(wave.id, None, None, 100).await.unwrap();
        assert!(!answers.is_empty(), "{label}: restored");
        assert!(store.flagged_counts().await.unwrap().is_empty(), "{label}");
        assert!(
            store
                .audit_log(20)
                .await
                .unwrap()
                .iter()
                .any(|e| e.action == "response_restored"),
            "{label}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_address_gives_a_limited_number_of_complete_responses_per_wave_and_commune() {
    for db in databases("an_address_gives_a_limited_number_of_complete_responses_per_wave_and_commune").await {
        let label = db.label;
        let app = TestApp::start_configured(db, &[("YKIEN_RESPONSES_PER_ADDRESS", "2")]).await;
        common::open_waves(&app.app.store).await;
        for i in 0..2 {
            let done = scripted_response(&app).await;
            assert_eq!(
                done.location.as_deref(),
                Some("/s/11953/thanks"),
                "{label}: response {i}"
            );
        }
        // A third fresh device from the same address cannot begin.
        let refused = scripted_response(&app).await;
        assert_eq!(refused.status, 429, "{label}");
        assert!(refused.html.contains("Đã đủ số phiếu từ địa chỉ mạng này"), "{label}");
        let wave = app.app.store.wave_by_code("w-open").await.unwrap();
        assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (2, 0), "{label}");
        app.stop().await;
    }
}
