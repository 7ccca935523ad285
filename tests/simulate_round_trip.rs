//! Simulated answers look like real ones: every simulated response goes through the skip logic and includes the
//! profile questions, so `POST /api/v1/waves/{wave}/responses` accepts each one as it is, and the wave's export
//! gives back exactly the simulated rows. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{TestApp, databases};
use ykien::services::analysis::{ExportFormat, codebook_from_toml, export_answers, units_from_files};
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien_analysis::{SimulateOptions, simulate};

const HUNG_YEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/admin-units/hung-yen-2025.csv");
const TOKEN: &str = "round-trip-token-0123456789abcdefghij";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_responses_are_accepted_by_the_api_as_they_are_and_export_identically() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(HUNG_YEN).unwrap();
    let units_path = dir.path().join("units.csv");
    std::fs::write(&units_path, text.lines().take(5).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let units = units_from_files(&[units_path]).unwrap().units;
    let codebook = codebook_from_toml(BUNDLED_QUESTIONNAIRE).unwrap();
    let options = SimulateOptions {
        wave: "w-open".into(),
        responses: 24,
        seed: 3,
        ..SimulateOptions::default()
    };
    let rows = simulate(&codebook, &units, &options).unwrap();
    // response id → (commune, answers by question), in the order simulated.
    let mut responses: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    for r in &rows {
        let entry = responses
            .entry(r.response_id.clone())
            .or_insert_with(|| (r.unit_code.clone(), BTreeMap::new()));
        entry.1.insert(r.question.clone(), r.answer.clone().unwrap());
    }
    assert_eq!(responses.len(), 24);
    assert!(
        responses
            .values()
            .all(|(_, a)| a.contains_key("p_sex") && a.contains_key("p_age")),
        "every simulated respondent answers the profile questions"
    );

    for db in databases("simulated_responses_are_accepted_by_the_api_as_they_are_and_export_identically").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave_and(db, &[("YKIEN_API_TOKEN", TOKEN)]).await;
        let url = app.url("/api/v1/waves/w-open/responses");
        let mut simulated_id = BTreeMap::new();
        for (id, (commune, answers)) in &responses {
            let body = serde_json::json!({ "commune": commune, "client_token": id, "answers": answers });
            let r = app
                .client
                .post(&url)
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let reply: serde_json::Value = r.json().await.unwrap();
            assert_eq!(status, 201, "{label}: {id} refused: {reply}");
            simulated_id.insert(reply["id"].as_str().unwrap().to_owned(), id.clone());
        }

        let export = dir.path().join(format!("export-{label}.csv"));
        export_answers(&app.app.store, "w-open", ExportFormat::Csv, &export)
            .await
            .unwrap();
        let mut exported = BTreeSet::new();
        let mut reader = csv::Reader::from_path(&export).unwrap();
        for record in reader.records() {
            let r = record.unwrap();
            let id = simulated_id
                .get(&r[0])
                .unwrap_or_else(|| panic!("{label}: exported a response never posted: {:?}", &r[0]));
            exported.insert((
                id.clone(),
                r[1].to_owned(),
                r[2].to_owned(),
                r[3].to_owned(),
                r[4].to_owned(),
            ));
        }
        let simulated: BTreeSet<_> = rows
            .iter()
            .map(|r| {
                (
                    r.response_id.clone(),
                    r.wave.clone(),
                    r.unit_code.clone(),
                    r.question.clone(),
                    r.answer.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(exported.len(), rows.len(), "{label}: one row per simulated answer");
        assert_eq!(exported, simulated, "{label}");
        app.stop().await;
    }
}
