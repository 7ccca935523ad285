//! Questionnaire versions and survey waves: the bundled codebook's coverage, imports that refuse to change a
//! version in use, the admin JSON API, the CLI, and the schema's anonymity.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::process::Command;

use chrono::{Duration, Utc};
use common::{TEST_SECRET, TestDb, databases, error_code};
use ykien::domain::questionnaire::{QuestionKind, Questionnaire};
use ykien::services::Error;
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien::services::survey::import_questionnaire;
use ykien::storage::QuestionnaireImport;

#[test]
fn the_bundled_questionnaire_covers_every_papi_dimension_and_sub_dimension() {
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let dims: Vec<&str> = q.dimensions.iter().map(|d| d.name.vi.as_str()).collect();
    assert_eq!(
        dims,
        [
            "Tham gia của người dân ở cấp cơ sở",
            "Công khai, minh bạch trong việc ra quyết định ở địa phương",
            "Trách nhiệm giải trình với người dân",
            "Kiểm soát tham nhũng trong khu vực công",
            "Thủ tục hành chính công",
            "Cung ứng dịch vụ công",
            "Quản trị môi trường",
            "Quản trị điện tử",
        ]
    );
    assert!(q.subdimensions.len() >= 28, "{}", q.subdimensions.len());
    for sub in &q.subdimensions {
        let n = q
            .indicators
            .iter()
            .filter(|i| i.parent.as_deref() == Some(sub.code.as_str()))
            .count();
        assert!(n >= 3, "{} has {n} indicators", sub.code);
    }
    let kinds: HashSet<&str> = q
        .questions
        .iter()
        .map(|x| match x.kind {
            QuestionKind::YesNo { .. } => "yes_no",
            QuestionKind::Single { .. } => "single",
            QuestionKind::Likert { .. } => "likert",
            QuestionKind::Number { .. } => "number",
            QuestionKind::Text { .. } => "text",
        })
        .collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(
        q.questions.iter().filter(|x| x.profile).count() >= 2,
        "sex and age band at least"
    );
    assert!(q.questions.iter().any(|x| !x.when.is_empty()), "skip logic is used");
}

#[tokio::test]
async fn a_questionnaire_version_used_by_a_wave_can_no_longer_change() {
    for db in databases("a_questionnaire_version_used_by_a_wave_can_no_longer_change").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        let (_, first) = import_questionnaire(&store, BUNDLED_QUESTIONNAIRE).await.unwrap();
        assert!(matches!(first, QuestionnaireImport::Created(_)), "{label}");
        let (_, again) = import_questionnaire(&store, BUNDLED_QUESTIONNAIRE).await.unwrap();
        assert!(matches!(again, QuestionnaireImport::Unchanged(_)), "{label}");
        // Unused: a corrected text may replace it.
        let corrected = BUNDLED_QUESTIONNAIRE.replacen("Anh/chị", "Ông/bà", 1);
        let (_, updated) = import_questionnaire(&store, &corrected).await.unwrap();
        assert!(matches!(updated, QuestionnaireImport::Updated(_)), "{label}");
        let now = Utc::now();
        let request = ykien::services::survey::WaveRequest {
            code: "w1".into(),
            title: "Đợt 1".into(),
            questionnaire: "papi-2025".into(),
            questionnaire_version: Some(1),
            unit_codes: vec!["33".into()],
            opens_at: now,
            closes_at: now + Duration::days(30),
            periods: Vec::new(),
            modules_per_respondent: None,
        };
        ykien::services::survey::create_wave(&store, request).await.unwrap();
        // Used by a wave now: the text of version 1 is fixed.
        let changed = BUNDLED_QUESTIONNAIRE.replacen("Anh/chị", "Bạn", 1);
        match import_questionnaire(&store, &changed).await {
            Err(Error::Conflict(reason)) => assert!(reason.contains("used by wave w1"), "{label}: {reason}"),
            other => panic!("{label}: expected a refusal, got {other:?}"),
        }
        // A broken file is refused with its problems, and nothing changes.
        let broken = BUNDLED_QUESTIONNAIRE.replacen("type = \"likert\"", "type = \"likret\"", 1);
        match import_questionnaire(&store, &broken).await {
            Err(Error::InvalidQuestionnaire(e)) => assert!(e.to_string().contains("type 'likret'"), "{label}: {e}"),
            other => panic!("{label}: expected validation errors, got {other:?}"),
        }
        store.close().await;
    }
}

const TOKEN: &str = "admin-token-admin-token-admin-token-0001";

#[tokio::test]
async fn the_waves_api_creates_lists_and_refuses_bad_waves() {
    for db in databases("the_waves_api_creates_lists_and_refuses_bad_waves").await {
        let label = db.label;
        let config = db.config_with(&[("YKIEN_API_TOKEN", TOKEN)]);
        let store = ykien::app::open_store(&config).await.unwrap();
        let app = ykien::app::start(&config, store).await.unwrap();
        ykien::services::units::import_bundled_hung_yen(&app.store)
            .await
            .unwrap();
        import_questionnaire(&app.store, BUNDLED_QUESTIONNAIRE).await.unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/waves", app.url());
        let now = Utc::now();
        let body = serde_json::json!({
            "code": "hy-2026-h2", "title": "Khảo sát 6 tháng cuối năm 2026", "questionnaire": "papi-2025",
            "units": ["33"], "opens_at": now - Duration::days(1), "closes_at": now + Duration::days(90)
        });
        assert_eq!(
            client.post(&url).json(&body).send().await.unwrap().status(),
            401,
            "{label}"
        );
        let r = client.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201, "{label}");
        let wave: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (wave["open_now"].as_bool(), wave["units"][0].as_str()),
            (Some(true), Some("33")),
            "{label}"
        );
        // The plans' periods by default: the six-month and the annual report.
        let periods: Vec<&str> = wave["periods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            periods.iter().any(|p| p.starts_with("Báo cáo năm")),
            "{label}: {periods:?}"
        );

        let r = client.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert_eq!(
            (r.status().as_u16(), error_code(&r.json().await.unwrap()).as_str()),
            (409, "conflict"),
            "{label}"
        );

        let bad = serde_json::json!({
            "code": "Đợt 1", "title": " ", "questionnaire": "khong-co", "units": ["99999", "323"],
            "opens_at": now, "closes_at": now - Duration::days(1)
        });
        let r = client.post(&url).bearer_auth(TOKEN).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 422, "{label}");
        let e: serde_json::Value = r.json().await.unwrap();
        let detail = e["error"]["message_en"].as_str().unwrap();
        for needle in [
            "code 'Đợt 1'",
            "title",
            "closes_at",
            "questionnaire 'khong-co'",
            "unit 99999",
            "unit 323",
        ] {
            assert!(detail.contains(needle), "{label}: '{needle}' missing in {detail}");
        }

        let list: serde_json::Value = client
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{label}");
        let one = client
            .get(format!("{url}/hy-2026-h2"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(one.status(), 200, "{label}");
        let missing = client
            .get(format!("{url}/khong-co"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404, "{label}");
        app.shut_down().await.unwrap();
    }
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let app = common::TestApp::start(TestDb::sqlite()).await;
    let (status, body) = app.get_json("/api/v1/waves").await;
    assert_eq!((status, error_code(&body).as_str()), (403, "api_disabled"));
    app.stop().await;
}

#[test]
fn every_api_route_is_in_the_openapi_document() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs")).unwrap();
    let doc = ykien::http::openapi_document();
    let mut seen = 0;
    for chunk in source.split(".route(").skip(1) {
        let Some(rest) = chunk
            .trim_start()
            .strip_prefix('"')
            .filter(|r| r.starts_with("/api/v1/"))
        else {
            continue;
        };
        let (path, handlers) = rest.split_once('"').unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if handlers.contains(&format!("{method}(")) {
                seen += 1;
                assert!(
                    !doc["paths"][path][method].is_null(),
                    "{method} {path} is routed but not in /api/openapi.json"
                );
            }
        }
    }
    assert!(seen >= 6, "only {seen} API routes found in src/http/mod.rs");
}

#[test]
fn the_answers_and_responses_tables_hold_no_identity() {
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap();
    let sql: String = migrations
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    for (table, allowed) in [
        ("answers", vec!["response_id", "question_code", "code", "text"]),
        (
            "responses",
            vec![
                "id",
                "wave_id",
                "unit_id",
                "channel",
                "complete",
                "client_token",
                "started_at",
                "completed_at",
            ],
        ),
        ("respondents", vec!["wave_id", "identity_hash"]),
    ] {
        let start = sql.find(&format!("CREATE TABLE {table} (")).unwrap();
        let body = &sql[start..start + sql[start..].find(");").unwrap()];
        let columns: Vec<&str> = body
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("--")
                    && !l.starts_with("PRIMARY")
                    && !l.starts_with("CONSTRAINT")
                    && !l.starts_with("CHECK")
            })
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(columns, allowed, "{table}: a new column must not identify a person");
    }
}

#[test]
fn cli_imports_a_questionnaire_and_creates_a_wave() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_ykien");
    let run = |args: &[&str]| {
        Command::new(bin)
            .current_dir(dir.path())
            .env("YKIEN_DATABASE_URL", "sqlite://cli.db")
            .env("YKIEN_SECRET", TEST_SECRET)
            .env("YKIEN_LOG", "warn")
            .args(args)
            .output()
            .unwrap()
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let out = run(&["units", "import", &format!("{root}/data/admin-units/hung-yen-2025.csv")]);
    assert!(out.status.success());
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        BUNDLED_QUESTIONNAIRE.replacen("en = \"Participation at local levels\"", "en = \"\"", 1),
    )
    .unwrap();
    let out = run(&["questionnaire", "import", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dimensions[0] (d1): the English text (en) is missing"),
        "{err}"
    );

    let out = run(&[
        "questionnaire",
        "import",
        &format!("{root}/questionnaires/papi-2025.toml"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("8 dimensions"));
    let out = run(&[
        "wave",
        "create",
        "--code",
        "hy-2027",
        "--title",
        "Khảo sát năm 2027",
        "--questionnaire",
        "papi-2025:1",
        "--units",
        "33",
        "--opens",
        "2026-11-01",
        "--closes",
        "2027-10-31",
        "--period",
        "Cả năm:2026-11-01:2027-10-31",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["wave", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("hy-2027") && listed.contains("2026-10-31 17:00:00 UTC"),
        "{listed}"
    );
    let out = run(&[
        "wave",
        "create",
        "--code",
        "x",
        "--title",
        "x",
        "--questionnaire",
        "papi-2025",
        "--units",
        "33",
        "--opens",
        "2026-11-01",
        "--closes",
        "2026-12-01",
        "--period",
        "thiếu-ngày",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME:YYYY-MM-DD:YYYY-MM-DD"));
}
