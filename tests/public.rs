//! Public accountability on both engines: nothing is public before a leader publishes; after, the province and
//! commune scorecards, responsiveness and open data show the stored answers' scores with the privacy rules (under
//! 10 respondents absent everywhere, 10–29 without score or rank); publishing is limited to leaders of the
//! province and audit logged; withdrawing removes everything again. Public cases show only what their reporters
//! allowed, contacts masked, through the pages, the open data and Open311 GeoReport v2 (JSON and XML, its filters
//! and errors, filing with a client key).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use common::TestApp;
use regex::Regex;
use serde_json::Value;
use ykien::domain::calendar::vn_day;
use ykien::domain::questionnaire::Questionnaire;
use ykien::services::cases::Intake;
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, synthetic_responses};
use ykien::services::units::commune_on;
use ykien::storage::NewResponse;
use ykien_analysis::{AnswerRow, Answers, Level, ScoreOptions, Scores};

/// Published with enough answers; published but marked; hidden.
const ENOUGH: &str = "11953";
const FEW: &str = "11977";
const HIDDEN: &str = "11980";
const WAVE: &str = "w-2026";
const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_gps.jpg");

struct Setup {
    app: TestApp,
    names: HashMap<String, String>,
    /// The stored answers scored directly by the analysis crate.
    expected: Scores,
}

/// A wave over Hưng Yên with 40 respondents in ENOUGH, 15 in FEW, 6 in HIDDEN; a leader of the province, a
/// leader of one commune and a commune officer.
async fn setup(db: common::TestDb) -> Setup {
    let app = TestApp::start_with_hung_yen(db).await;
    let store = &app.app.store;
    let wave = common::wave_2026(store).await;
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let day = vn_day(Utc::now());
    let mut names = HashMap::new();
    let mut all: Vec<NewResponse> = Vec::new();
    let mut rows = Vec::new();
    for (i, (code, n)) in [(ENOUGH, 40), (FEW, 15), (HIDDEN, 6)].into_iter().enumerate() {
        let unit = commune_on(store, code, day).await.unwrap();
        names.insert(code.to_owned(), unit.name.clone());
        let mut responses = synthetic_responses(&q, &wave, std::slice::from_ref(&unit), 11 + i as u64);
        responses.truncate(n);
        for (j, r) in responses.iter_mut().enumerate() {
            r.at = Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap() + chrono::Duration::hours(j as i64);
            for (question, answer, _) in &r.answers {
                rows.push(AnswerRow {
                    response_id: format!("{code}-{j}"),
                    wave: WAVE.into(),
                    unit_code: code.into(),
                    question: question.clone(),
                    answer: answer.clone(),
                });
            }
        }
        all.extend(responses);
    }
    store.insert_complete_responses(&all).await.unwrap();
    let units = ykien::services::analysis::units_from_store(store, day).await.unwrap();
    let codebook = ykien::services::analysis::codebook(&q).unwrap();
    let expected = tokio::task::spawn_blocking(move || {
        ykien_analysis::score_answers(
            Answers::Rows(&rows),
            None,
            &codebook,
            &units.units,
            &units.lineage,
            &ScoreOptions::default(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    common::official(store, "lanhdao", "leader", None, &["33"]).await;
    common::official(store, "lanhdao.xa", "leader", None, &[FEW]).await;
    common::official(store, "canbo", "commune_officer", Some("commune_economic"), &[ENOUGH]).await;
    Setup { app, names, expected }
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_as(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A public page once its scores are computed (they are computed in the background, never in the request). Waits up
/// to a deadline rather than a number of tries: a debug build on a busy 2-core machine takes minutes for the demo.
async fn get_ready(app: &TestApp, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    while std::time::Instant::now() < deadline {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        if status != 503 {
            let headers = r.headers().clone();
            return (status, r.text().await.unwrap(), headers);
        }
        assert!(
            r.headers().contains_key("retry-after"),
            "a busy page says when to come back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} stayed busy");
}

fn csrf_of(page: &str) -> String {
    Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(page)
        .unwrap()[1]
        .to_owned()
}

/// Posts the dashboard's publication form as `cookie`; the status.
async fn publication(app: &TestApp, cookie: &str, csrf: &str, province: &str, period: &str, action: &str) -> u16 {
    app.client
        .post(app.url("/console/dashboard/publications"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf),
            ("province", province),
            ("wave", WAVE),
            ("period", period),
            ("action", action),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The number the pages print: two decimals with a comma.
fn vn(v: f64) -> String {
    format!("{v:.2}").replace('.', ",")
}

#[tokio::test]
async fn scorecards_are_public_only_once_published_and_keep_the_privacy_rules() {
    for db in common::databases("public_scorecards").await {
        let label = db.label;
        let Setup { app, names, expected } = setup(db).await;
        let total = |unit: &str| expected.get(WAVE, unit, Level::Total, "total").unwrap().clone();

        // Nothing is public before a publication.
        for path in [
            "/scores/33".to_owned(),
            format!("/scores/33/{ENOUGH}"),
            "/scores/33/data/scores.csv".to_owned(),
        ] {
            let (status, page) = get(&app, &path).await;
            assert_eq!(status, 404, "{label}: {path}");
            assert!(page.contains("Chưa có kết quả được công bố"), "{label}: {page}");
        }
        let (_, page) = get(&app, "/scores").await;
        assert!(page.contains("Chưa có tỉnh, thành phố nào công bố"), "{label}");

        // Only a leader or administrator of the province may publish, with the form's token.
        let leader = common::session(&app, "lanhdao").await;
        let (status, dashboard) = get_as(&app, &leader, &format!("/console/dashboard?wave={WAVE}")).await;
        assert_eq!(status, 200, "{label}: {dashboard}");
        assert!(dashboard.contains("Công bố cho người dân"), "{label}");
        let csrf = csrf_of(&dashboard);
        assert_eq!(
            publication(&app, &leader, "0000", "33", "all", "publish").await,
            403,
            "{label}: no token"
        );
        let commune_leader = common::session(&app, "lanhdao.xa").await;
        let (_, their_dashboard) = get_as(&app, &commune_leader, &format!("/console/dashboard?wave={WAVE}")).await;
        let their_csrf = csrf_of(&their_dashboard);
        assert_eq!(
            publication(&app, &commune_leader, &their_csrf, "33", "all", "publish").await,
            403,
            "{label}: a commune's leader cannot publish the province"
        );
        let officer = common::session(&app, "canbo").await;
        assert_eq!(
            publication(&app, &officer, &csrf, "33", "all", "publish").await,
            403,
            "{label}: an officer cannot"
        );
        assert_eq!(
            publication(&app, &leader, &csrf, "33", "2019", "publish").await,
            400,
            "{label}: a period outside the wave"
        );
        assert_eq!(
            publication(&app, &leader, &csrf, "33", "all", "publish").await,
            303,
            "{label}"
        );
        let audit = app.app.store.audit_log(20).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "publish" && a.target == format!("33/{WAVE}/toàn đợt")),
            "{label}: {audit:?}"
        );

        // The province page: ranked communes with their stored scores, the marked one without, never the hidden.
        let (status, page, headers) = get_ready(&app, "/scores/33").await;
        assert_eq!(status, 200, "{label}: {page}");
        assert!(
            page.contains(&names[ENOUGH]) && page.contains(&vn(total(ENOUGH).score)),
            "{label}"
        );
        assert!(
            page.contains(&names[FEW]) && page.contains("Chưa đủ câu trả lời"),
            "{label}"
        );
        assert!(
            !page.contains(&vn(total(FEW).score)),
            "{label}: no score under 30 respondents"
        );
        assert!(
            !page.contains(&names[HIDDEN]) && !page.contains(HIDDEN),
            "{label}: the hidden commune"
        );
        assert!(!page.contains("<script"), "{label}: no JavaScript");
        // Cacheable, with a validator that answers 304.
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(
            headers["cache-control"].to_str().unwrap().starts_with("public"),
            "{label}"
        );
        let again = app
            .client
            .get(app.url("/scores/33"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{label}");

        // The commune's card: total and the eight dimensions as stored; the English switch.
        let (status, card, _) = get_ready(&app, &format!("/scores/33/{ENOUGH}")).await;
        assert_eq!(status, 200, "{label}: {card}");
        assert!(card.contains(&vn(total(ENOUGH).score)), "{label}");
        for d in 1..=8 {
            let row = expected.get(WAVE, ENOUGH, Level::Dimension, &format!("d{d}")).unwrap();
            assert!(card.contains(&vn(row.score)), "{label}: d{d} {}", row.score);
        }
        assert!(card.contains("40 người trả lời"), "{label}");
        let (_, english, _) = get_ready(&app, &format!("/scores/33/{ENOUGH}?lang=en")).await;
        assert!(
            english.contains("The eight dimensions") && english.contains("respondents"),
            "{label}"
        );
        let (status, few) = get(&app, &format!("/scores/33/{FEW}")).await;
        assert_eq!(status, 200, "{label}");
        assert!(
            few.contains("Chưa đủ câu trả lời") && !few.contains(&vn(total(FEW).score)),
            "{label}"
        );
        for absent in [HIDDEN, "01001", "99999"] {
            let (status, _) = get(&app, &format!("/scores/33/{absent}")).await;
            assert_eq!(status, 404, "{label}: {absent}");
        }
        let (status, _) = get(&app, "/scores/33?period=2026-13t").await;
        assert_eq!(status, 400, "{label}: a malformed period");
        let (status, _) = get(&app, "/scores/99").await;
        assert_eq!(status, 404, "{label}: an unknown province");

        // Open data: full precision, a BOM, the same privacy rules, the licence in JSON.
        let r = app
            .client
            .get(app.url("/scores/33/data/scores.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{label}");
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.bytes().await.unwrap();
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "{label}");
        let mut reader = csv::Reader::from_reader(&csv[3..]);
        let header = reader.headers().unwrap().clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(records.iter().all(|r| &r[col("unit_code")] != HIDDEN), "{label}");
        let enough_total = records
            .iter()
            .find(|r| &r[col("unit_code")] == ENOUGH && &r[col("level")] == "total")
            .unwrap();
        assert_eq!(
            enough_total[col("score")].parse::<f64>().unwrap(),
            total(ENOUGH).score,
            "{label}: every digit"
        );
        let few_total = records
            .iter()
            .find(|r| &r[col("unit_code")] == FEW && &r[col("level")] == "total")
            .unwrap();
        assert_eq!((&few_total[col("score")], &few_total[col("rank")]), ("", ""), "{label}");
        assert_eq!(&few_total[col("enough_answers")], "false", "{label}");
        let json: Value = app
            .client
            .get(app.url("/scores/33/data/scores.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(json["licence"].as_str().unwrap().contains("CC BY 4.0"), "{label}");
        assert_eq!(json["wave"], WAVE);
        assert!(
            json["records"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["unit_code"] != HIDDEN),
            "{label}"
        );
        let (status, _) = get(&app, "/scores/33/data/secrets.csv").await;
        assert_eq!(status, 404, "{label}");

        // Withdrawn: gone again.
        assert_eq!(
            publication(&app, &leader, &csrf, "33", "all", "withdraw").await,
            303,
            "{label}"
        );
        let (status, _) = get(&app, &format!("/scores/33/{ENOUGH}")).await;
        assert_eq!(status, 404, "{label}: withdrawn");
        assert_eq!(
            publication(&app, &leader, &csrf, "33", "all", "withdraw").await,
            400,
            "{label}: nothing left to withdraw"
        );
        app.stop().await;
    }
}

fn cases_of(app: &TestApp) -> ykien::services::cases::Cases {
    ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    )
}

/// An administrator accepts, assigns and answers a case, as in the console.
async fn answer(app: &TestApp, admin: &ykien::services::accounts::Official, code: &str) {
    use ykien::domain::cases::{Action, AnswerContent, Tier};
    let cases = cases_of(app);
    let steps = [
        Action::Accept { tier: Tier::Normal },
        Action::Assign {
            office: "commune_economic".into(),
        },
        Action::Answer(AnswerContent {
            what_was_done: "Đã thu gom toàn bộ rác và bố trí lịch thu gom hằng ngày.".into(),
            by_unit: "UBND phường Phố Hiến".into(),
            legal_basis: None,
        }),
    ];
    for action in steps {
        let revision = app.app.store.case_by_code(code).await.unwrap().unwrap().revision;
        cases
            .act(admin, code, revision, action, vec![], Utc::now())
            .await
            .unwrap();
    }
}

/// Files a case the way the service does; its tracking code.
async fn file_case(app: &TestApp, text: &str, public: bool, public_photos: bool) -> String {
    let cases = cases_of(app);
    let intake = Intake {
        commune: ENOUGH.into(),
        category: "garbage".into(),
        text: text.into(),
        lat: Some(20.656_789),
        lon: Some(106.054_321),
        name: Some("Nguyễn Văn An".into()),
        phone: Some("0912 345 678".into()),
        email: Some("an@example.vn".into()),
        photos: vec![PHOTO.to_vec()],
        channel: ykien::domain::Channel::Web,
        public,
        public_photos,
        ..Default::default()
    };
    cases.submit(intake, Utc::now()).await.unwrap().code
}

#[tokio::test]
async fn public_cases_show_only_what_reporters_allowed_through_pages_and_open311() {
    for db in common::databases("public_cases").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let store = app.app.store.clone();
        let shown = file_case(
            &app,
            "Rác tồn đọng ở đầu ngõ 3, gọi tôi 0912 345 678 hoặc an@example.vn.",
            true,
            true,
        )
        .await;
        let unanswered = file_case(
            &app,
            "Đèn đường ngõ 5 hỏng đã một tuần, tối rất nguy hiểm.",
            true,
            false,
        )
        .await;
        let private = file_case(
            &app,
            "Cống thoát nước tắc gây ngập khi mưa, xin xử lý sớm.",
            false,
            false,
        )
        .await;
        let admin = common::official(&store, "quantri.thu", "admin", None, &[]).await;
        for code in [&shown, &private] {
            answer(&app, &admin, code).await;
        }

        // Open311: the one public case, with masked contacts, rounded position, its photo, and nothing else.
        let (status, list) = app.get_json("/open311/v2/requests.json?jurisdiction_id=33").await;
        assert_eq!(status, 200, "{label}: {list}");
        let requests = list.as_array().unwrap();
        assert_eq!(requests.len(), 1, "{label}: {list}");
        let r = &requests[0];
        assert_eq!(r["service_request_id"], shown.as_str());
        assert_eq!(
            (r["status"].as_str(), r["service_code"].as_str()),
            (Some("closed"), Some("garbage"))
        );
        let description = r["description"].as_str().unwrap();
        assert!(
            description.contains("[đã ẩn]") && !description.contains("0912") && !description.contains("an@"),
            "{label}: {description}"
        );
        assert_eq!(
            (r["lat"].as_f64(), r["long"].as_f64()),
            (Some(20.66), Some(106.05)),
            "{label}"
        );
        assert!(r["status_notes"].as_str().unwrap().contains("Đã thu gom"), "{label}");
        let body = list.to_string();
        for secret in ["Nguyễn Văn An", "an@example.vn", "0912 345 678", "20.656789"] {
            assert!(!body.contains(secret), "{label}: {secret} leaked");
        }
        let photo = r["media_url"].as_str().unwrap().to_owned();
        let photo_path = &photo[photo.find("/public/photos/").unwrap()..];
        let got = app.get(photo_path).await;
        assert_eq!(got.status(), 200, "{label}");
        assert_eq!(got.headers()["content-type"], "image/jpeg");
        let private_case = store.case_by_code(&private).await.unwrap().unwrap();
        let private_photo = store.case_attachments(private_case.id).await.unwrap()[0].id;
        assert_eq!(
            app.get(&format!("/public/photos/{private_photo}")).await.status(),
            404,
            "{label}"
        );

        // One request, JSON and XML; the others are not found, in GeoReport's error format.
        let (status, one) = app.get_json(&format!("/open311/v2/requests/{shown}.json")).await;
        assert_eq!(
            (status, one[0]["service_request_id"].as_str()),
            (200, Some(shown.as_str())),
            "{label}"
        );
        for code in [&private, &unanswered] {
            let (status, error) = app.get_json(&format!("/open311/v2/requests/{code}.json")).await;
            assert_eq!(
                (status, error[0]["code"].as_u64()),
                (404, Some(404)),
                "{label}: {error}"
            );
        }
        let xml = app.get(&format!("/open311/v2/requests/{shown}.xml")).await;
        assert_eq!(xml.headers()["content-type"], "text/xml; charset=utf-8");
        let xml = xml.text().await.unwrap();
        assert!(
            xml.starts_with("<?xml")
                && xml.contains("<service_requests><request>")
                && xml.contains(&format!("<service_request_id>{shown}</service_request_id>")),
            "{label}: {xml}"
        );
        let missing = app.get(&format!("/open311/v2/requests/{private}.xml")).await;
        assert_eq!(missing.status(), 404);
        assert!(
            missing
                .text()
                .await
                .unwrap()
                .contains("<errors><error><code>404</code>"),
            "{label}"
        );

        // Services and filters; malformed filters are 400.
        let (status, services) = app.get_json("/open311/v2/services.json").await;
        assert_eq!(status, 200);
        assert!(
            services
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["service_code"] == "garbage" && s["type"] == "realtime")
        );
        let (_, none) = app.get_json("/open311/v2/requests.json?status=open").await;
        assert_eq!(none.as_array().unwrap().len(), 0, "{label}: public cases are answered");
        let (_, other) = app.get_json("/open311/v2/requests.json?service_code=road").await;
        assert_eq!(other.as_array().unwrap().len(), 0, "{label}");
        let (_, by_code) = app
            .get_json(&format!(
                "/open311/v2/requests.json?service_request_id={shown},{private}"
            ))
            .await;
        assert_eq!(by_code.as_array().unwrap().len(), 1, "{label}");
        for bad in [
            "start_date=yesterday",
            "status=lost",
            "service_code=nope",
            "start_date=2026-12-02T00:00:00Z&end_date=2026-12-01T00:00:00Z",
        ] {
            let (status, error) = app.get_json(&format!("/open311/v2/requests.json?{bad}")).await;
            assert_eq!(
                (status, error[0]["code"].as_u64()),
                (400, Some(400)),
                "{label}: {bad} {error}"
            );
        }
        let (status, _) = app.get_json("/open311/v2/requests.json?jurisdiction_id=99999").await;
        assert_eq!(status, 404, "{label}");

        // An official clears the text: the redaction is what is shown, and it is audit logged.
        let intake = common::official(&store, "tiepnhan.xa", "intake", None, &[ENOUGH]).await;
        let cookie = common::session(&app, "tiepnhan.xa").await;
        let (_, case_page) = get_as(&app, &cookie, &format!("/console/cases/{shown}")).await;
        assert!(case_page.contains("Người phản ánh cho phép công khai"), "{label}");
        let posted = app
            .client
            .post(app.url(&format!("/console/cases/{shown}/public")))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf_of(&case_page).as_str()),
                ("text", "Rác tồn đọng ở đầu ngõ."),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 303, "{label}");
        let (_, one) = app.get_json(&format!("/open311/v2/requests/{shown}.json")).await;
        assert_eq!(one[0]["description"], "Rác tồn đọng ở đầu ngõ.", "{label}");
        let audit = store.audit_log(20).await.unwrap();
        assert!(
            audit.iter().any(|a| a.action == "redact_public_text"
                && a.target == shown
                && a.official.as_deref() == Some(intake.username.as_str())),
            "{label}"
        );

        // Filing through Open311 needs a client's key; the case is filed by the same rules.
        let post = |form: Vec<(&'static str, String)>| {
            let request = app.client.post(app.url("/open311/v2/requests.json")).form(&form);
            async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let filing = |key: &str| {
            vec![
                ("api_key", key.to_owned()),
                ("jurisdiction_id", ENOUGH.to_owned()),
                ("service_code", "road".to_owned()),
                (
                    "description",
                    "Ổ gà lớn trên đường Nguyễn Văn Linh, xe máy dễ ngã.".to_owned(),
                ),
                ("address_string", "Đầu ngõ 12 Nguyễn Văn Linh".to_owned()),
                ("lat", "20.66".to_owned()),
                ("long", "106.05".to_owned()),
            ]
        };
        let (status, error) = post(filing("not-a-key")).await;
        assert_eq!((status, error[0]["code"].as_u64()), (403, Some(403)), "{label}");
        let key = ykien::services::publication::add_client(&store, "ứng dụng thử", Utc::now())
            .await
            .unwrap();
        let (status, created) = post(filing(&key)).await;
        assert_eq!(status, 201, "{label}: {created}");
        let code = created[0]["service_request_id"].as_str().unwrap();
        let filed = store.case_by_code(code).await.unwrap().unwrap();
        assert_eq!(
            (filed.category.as_str(), filed.channel.as_str()),
            ("road", "api"),
            "{label}"
        );
        assert_eq!(filed.address.as_deref(), Some("Đầu ngõ 12 Nguyễn Văn Linh"), "{label}");
        assert!(
            !filed.publicity.consent,
            "{label}: not public unless the reporter chose it"
        );
        let mut short = filing(&key);
        short[3].1 = "ổ gà".into();
        short.remove(4);
        let (status, error) = post(short).await;
        assert_eq!(status, 400, "{label}");
        assert!(
            error[0]["description"].as_str().unwrap().starts_with("text:"),
            "{label}: {error}"
        );
        let mut nowhere = filing(&key);
        nowhere.remove(1);
        let (status, _) = post(nowhere).await;
        assert_eq!(status, 400, "{label}: no jurisdiction");
        ykien::services::publication::revoke_client(&store, "ứng dụng thử", Utc::now())
            .await
            .unwrap();
        let (status, _) = post(filing(&key)).await;
        assert_eq!(status, 403, "{label}: a revoked key");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_web_form_keeps_the_reporters_choice_to_publish() {
    for db in common::databases("public_form").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let form_page = app.get(&format!("/f/{ENOUGH}")).await;
        let cookie = form_page.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = form_page.text().await.unwrap();
        assert!(page.contains("Cho phép công khai phản ánh này"), "{label}");
        let send = |public: bool, text: &'static str| {
            let mut form = reqwest::multipart::Form::new()
                .text("csrf", csrf_of(&page))
                .text("category", "garbage")
                .text("text", text);
            if public {
                form = form.text("public", "1").text("public_photos", "1");
            }
            app.client
                .post(app.url(&format!("/f/{ENOUGH}")))
                .header("cookie", cookie.clone())
                .multipart(form)
                .send()
        };
        let r = send(true, "Rác tồn đọng ở đầu ngõ 3 đã một tuần không ai thu gom.")
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        let code = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/t/")
            .to_owned();
        let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
        assert!(case.publicity.consent && case.publicity.photos, "{label}");
        // A refused form keeps the choice ticked.
        let r = send(true, "ngắn").await.unwrap();
        assert_eq!(r.status(), 422, "{label}");
        let again = r.text().await.unwrap();
        assert!(again.contains(r#"name="public" value="1" checked"#), "{label}: {again}");
        let r = send(false, "Cống thoát nước tắc gây ngập khi mưa, xin xử lý sớm.")
            .await
            .unwrap();
        let code = r.headers()["location"]
            .to_str()
            .unwrap()
            .trim_start_matches("/t/")
            .to_owned();
        let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
        assert!(
            !case.publicity.consent && !case.publicity.photos,
            "{label}: off by default"
        );
        app.stop().await;
    }
}
