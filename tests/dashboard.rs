//! The leaders' dashboard over HTTP on both engines: who may see it, that its numbers are the scores of what was
//! stored, that units under 10 respondents never appear (pages, charts, CSV, XLSX) and those under 30 are marked,
//! that charts are real PNG/SVG with Vietnamese labels, that reports cover their period only, and that open cases
//! are listed under the commune's weakest sub-dimensions.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use common::TestApp;
use ykien::domain::calendar::vn_day;
use ykien::domain::questionnaire::Questionnaire;
use ykien::services::cases::Intake;
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, synthetic_responses};
use ykien::services::units::commune_on;
use ykien::storage::NewResponse;
use ykien_analysis::{AnswerRow, Answers, Level, ScoreOptions};

/// Published with enough answers; published but marked; hidden.
const ENOUGH: &str = "11953";
const FEW: &str = "11977";
const HIDDEN: &str = "11980";

/// In the six-month report of 2026 (1 November 2025 – 31 May 2026).
fn march() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 3, 0, 0).unwrap()
}
/// In the annual report of 2026 only.
fn august() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 10, 3, 0, 0).unwrap()
}

struct Setup {
    app: TestApp,
    /// What was stored, in the analysis crate's long format.
    rows: Vec<AnswerRow>,
    names: HashMap<String, String>,
}

/// A wave of the bundled questionnaire over Hưng Yên with synthetic answers: 40 respondents in ENOUGH (half in
/// March, half in August), 15 in FEW, 6 in HIDDEN; and two leaders.
async fn setup(db: common::TestDb) -> Setup {
    let app = TestApp::start_with_hung_yen(db).await;
    let store = &app.app.store;
    let wave = common::wave_2026(store).await;
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let day = vn_day(Utc::now());
    let mut names = HashMap::new();
    let mut all: Vec<NewResponse> = Vec::new();
    for (i, (code, n)) in [(ENOUGH, 40), (FEW, 15), (HIDDEN, 6)].into_iter().enumerate() {
        let unit = commune_on(store, code, day).await.unwrap();
        names.insert(code.to_owned(), unit.name.clone());
        let mut responses = synthetic_responses(&q, &wave, std::slice::from_ref(&unit), 7 + i as u64);
        responses.truncate(n);
        for (j, r) in responses.iter_mut().enumerate() {
            r.at = if j % 2 == 0 { march() } else { august() };
        }
        all.extend(responses);
    }
    store.insert_complete_responses(&all).await.unwrap();
    let units_by_id: HashMap<uuid::Uuid, String> = {
        let mut m = HashMap::new();
        for code in [ENOUGH, FEW, HIDDEN] {
            m.insert(commune_on(store, code, day).await.unwrap().id, code.to_owned());
        }
        m
    };
    let mut rows = Vec::new();
    for (i, r) in all.iter().enumerate() {
        for (question, code, _text) in &r.answers {
            rows.push(AnswerRow {
                response_id: format!("r{i}"),
                wave: "w-2026".into(),
                unit_code: units_by_id[&r.unit_id].clone(),
                question: question.clone(),
                answer: code.clone(),
            });
        }
    }
    common::official(store, "lanhdao", "leader", None, &["33"]).await;
    common::official(store, "lanhdao.xa", "leader", None, &[FEW]).await;
    common::official(store, "canbo", "commune_officer", Some("commune_economic"), &[ENOUGH]).await;
    Setup { app, rows, names }
}

async fn get(app: &TestApp, cookie: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The number the pages print: two decimals with a comma.
fn vn(v: f64) -> String {
    format!("{v:.2}").replace('.', ",")
}

#[tokio::test]
async fn the_dashboard_shows_the_stored_answers_scores_and_never_a_hidden_commune() {
    for db in common::databases("dashboard_scores").await {
        let label = db.label;
        let Setup { app, rows, names } = setup(db).await;
        let leader = common::session(&app, "lanhdao").await;

        // The same answers scored directly by the analysis crate.
        let store = &app.app.store;
        let units = ykien::services::analysis::units_from_store(store, vn_day(Utc::now()))
            .await
            .unwrap();
        let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
        let codebook = ykien::services::analysis::codebook(&q).unwrap();
        // polars blocks on its own threads: off the test's single-threaded runtime, as the service does.
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
        let total = |unit: &str| expected.get("w-2026", unit, Level::Total, "total").map(|r| r.score);
        assert!(total(ENOUGH).is_some() && total(FEW).is_some(), "{label}");
        assert!(total(HIDDEN).is_none(), "{label}: 6 respondents are withheld");

        let (status, _, body) = get(&app, Some(&leader), "/console/dashboard").await;
        let page = text(&body);
        assert_eq!(status, 200, "{label}: {page}");
        assert!(
            page.contains(&names[ENOUGH]) && page.contains(&vn(total(ENOUGH).unwrap())),
            "{label}"
        );
        assert!(
            page.contains(&names[FEW]) && page.contains("Chưa đủ câu trả lời"),
            "{label}"
        );
        assert!(
            !page.contains(&names[HIDDEN]) && !page.contains(HIDDEN),
            "{label}: the hidden commune"
        );

        // Downloads hold the same numbers and never the hidden commune.
        let (status, ct, csv) = get(&app, Some(&leader), "/console/dashboard/tables/scores.csv?province=33").await;
        assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"), "{label}");
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "{label}: a byte-order mark for Excel");
        let mut reader = csv::Reader::from_reader(&csv[3..]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!records.is_empty());
        for r in &records {
            assert_ne!(&r[1], HIDDEN, "{label}");
            let level = match &r[3] {
                "total" => Level::Total,
                "dimension" => Level::Dimension,
                "subdimension" => Level::Subdimension,
                _ => Level::Indicator,
            };
            let want = expected.get("w-2026", &r[1], level, &r[4]).unwrap();
            let got: f64 = r[6].parse().unwrap();
            assert!((got - want.score).abs() < 1e-9, "{label}: {} {} {}", &r[1], &r[4], got);
            assert_eq!(r[7].parse::<usize>().unwrap(), want.n, "{label}");
        }
        assert!(
            records.iter().any(|r| &r[1] == FEW && &r[12] == "Chưa đủ câu trả lời"),
            "{label}"
        );
        let (status, ct, xlsx) = get(&app, Some(&leader), "/console/dashboard/tables/scores.xlsx").await;
        assert_eq!(status, 200, "{label}");
        assert!(ct.contains("spreadsheetml"), "{label}: {ct}");
        let sheets = common::xlsx_sheets(&xlsx);
        assert!(
            sheets[0].1.contains(&names[ENOUGH]) && !sheets[0].1.contains(&names[HIDDEN]),
            "{label}"
        );

        // Charts: real files of the declared size, labels in Vietnamese; none for the hidden commune.
        let (status, ct, svg) = get(
            &app,
            Some(&leader),
            &format!("/console/dashboard/charts/profile.svg?unit={ENOUGH}"),
        )
        .await;
        assert_eq!((status, ct.as_str()), (200, "image/svg+xml"), "{label}");
        let svg = text(&svg);
        assert!(
            svg.contains("width=\"1000\"") && svg.contains("height=\"700\""),
            "{label}"
        );
        assert!(
            svg.contains("Trung bình") && svg.contains("Khoảng tin cậy 95%"),
            "{label}"
        );
        let (status, ct, png) = get(&app, Some(&leader), "/console/dashboard/charts/heatmap.png?province=33").await;
        assert_eq!((status, ct.as_str()), (200, "image/png"), "{label}");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{label}");
        assert_eq!(
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            1000,
            "{label}: width in IHDR"
        );
        let (status, _, svg) = get(&app, Some(&leader), "/console/dashboard/charts/heatmap.svg?province=33").await;
        assert_eq!(status, 200);
        assert!(
            !text(&svg).contains(&names[HIDDEN]),
            "{label}: the heatmap never lists the hidden commune"
        );
        for path in [
            format!("/console/dashboard/charts/profile.svg?unit={HIDDEN}"),
            format!("/console/dashboard/charts/radar.png?unit={HIDDEN}"),
            "/console/dashboard/charts/pie.svg?province=33".to_owned(),
            "/console/dashboard/charts/profile.gif?unit=11953".to_owned(),
        ] {
            assert_eq!(get(&app, Some(&leader), &path).await.0, 404, "{label}: {path}");
        }

        // The commune pages.
        let (status, _, body) = get(&app, Some(&leader), &format!("/console/dashboard/units/{ENOUGH}")).await;
        let page = text(&body);
        assert_eq!(status, 200, "{label}");
        assert!(
            page.contains("Ba nội dung thành phần yếu nhất") && page.contains("Trung bình tỉnh"),
            "{label}"
        );
        // The share of each channel among its responses (issue 22).
        assert!(
            page.contains("Kênh trả lời (cả đợt): Web ") && page.contains(" · Telegram "),
            "{label}: {page}"
        );
        let (status, _, body) = get(&app, Some(&leader), &format!("/console/dashboard/units/{HIDDEN}")).await;
        let page = text(&body);
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("Chưa đủ 10 người trả lời"), "{label}");
        assert!(!page.contains("Điểm tổng "), "{label}: no score for the hidden commune");
        app.stop().await;
    }
}

#[tokio::test]
async fn only_leaders_and_administrators_in_their_scope_see_the_dashboard() {
    let Setup { app, names, .. } = setup(common::TestDb::sqlite()).await;
    // Not signed in: to the login page.
    for path in [
        "/console/dashboard",
        "/console/dashboard/tables/scores.csv",
        "/console/dashboard/charts/heatmap.svg?province=33",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/console/login");
    }
    let officer = common::session(&app, "canbo").await;
    let (status, _, body) = get(&app, Some(&officer), "/console/dashboard").await;
    assert_eq!(status, 403);
    assert!(text(&body).contains("Bảng điểm dành cho lãnh đạo"));
    // A leader of one commune sees that commune only.
    let local = common::session(&app, "lanhdao.xa").await;
    let (status, _, body) = get(&app, Some(&local), "/console/dashboard").await;
    assert_eq!(status, 200);
    let page = text(&body);
    assert!(page.contains(&names[FEW]) && !page.contains(&names[ENOUGH]));
    assert_eq!(
        get(&app, Some(&local), &format!("/console/dashboard/units/{ENOUGH}"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&app, Some(&local), "/console/dashboard/charts/heatmap.svg?province=33")
            .await
            .0,
        404
    );
    let (_, _, csv) = get(&app, Some(&local), "/console/dashboard/tables/scores.csv").await;
    let csv = text(&csv);
    assert!(csv.contains(FEW) && !csv.contains(ENOUGH));
    // Bad choices get a clear page, in Vietnamese.
    let leader = common::session(&app, "lanhdao").await;
    let (status, _, body) = get(&app, Some(&leader), "/console/dashboard?period=2026-13").await;
    assert_eq!(status, 400);
    assert!(text(&body).contains("kỳ báo cáo &quot;2026-13&quot; không hợp lệ"));
    let (status, _, body) = get(&app, Some(&leader), "/console/dashboard?wave=khong-co").await;
    assert_eq!(status, 404);
    assert!(text(&body).contains("khong-co"));
    assert_eq!(
        get(&app, Some(&leader), "/console/dashboard/tables/scores.pdf").await.0,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn reports_cover_only_their_period_and_come_with_an_xlsx_annex() {
    let Setup { app, names, .. } = setup(common::TestDb::sqlite()).await;
    let leader = common::session(&app, "lanhdao").await;
    // "Điểm tổng 41,20 / 80 (…), 40 người trả lời, hạng …"
    let respondents = |page: &str| -> usize {
        let from = page.find("Điểm tổng ").unwrap_or_else(|| panic!("{page}"));
        let at = from + page[from..].find(" người trả lời").unwrap();
        page[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // The commune page counts everyone; the six-month report only March; the annual report both.
    let (_, _, all) = get(&app, Some(&leader), &format!("/console/dashboard/units/{ENOUGH}")).await;
    assert_eq!(respondents(&text(&all)), 40);
    let (status, _, six) = get(
        &app,
        Some(&leader),
        &format!("/console/dashboard/reports/2026-6t/{ENOUGH}"),
    )
    .await;
    let six = text(&six);
    assert_eq!(status, 200, "{six}");
    assert!(six.contains("Báo cáo 6 tháng năm 2026") && six.contains("01/11/2025 – 31/05/2026"));
    // 20 respondents: published, marked.
    assert!(six.contains("Chưa đủ câu trả lời"));
    let (_, _, unit_six) = get(
        &app,
        Some(&leader),
        &format!("/console/dashboard/units/{ENOUGH}?period=2026-6t"),
    )
    .await;
    assert_eq!(respondents(&text(&unit_six)), 20);
    let (_, _, unit_year) = get(
        &app,
        Some(&leader),
        &format!("/console/dashboard/units/{ENOUGH}?period=2026"),
    )
    .await;
    assert_eq!(respondents(&text(&unit_year)), 40);
    // The province report ranks communes and lists the hidden one nowhere.
    let (status, _, province) = get(&app, Some(&leader), "/console/dashboard/reports/2026/33").await;
    let province = text(&province);
    assert_eq!(status, 200);
    assert!(province.contains("Báo cáo năm 2026") && province.contains(&names[ENOUGH]));
    assert!(!province.contains(&names[HIDDEN]));
    // The method says the scores are unweighted and how many answer rows were left out (responses given through
    // ykien follow the skip logic, so none).
    assert!(province.contains("Không gia quyền"), "{province}");
    assert!(
        province.contains("không tính điểm (0 dòng trong lần tính này)"),
        "{province}"
    );
    // The annex: scores, feedback and method sheets.
    let (status, ct, xlsx) = get(&app, Some(&leader), "/console/dashboard/reports/2026/33.xlsx").await;
    assert_eq!(status, 200);
    assert!(ct.contains("spreadsheetml"));
    let sheets = common::xlsx_sheets(&xlsx);
    assert_eq!(sheets.len(), 3);
    assert!(sheets[0].1.contains(&names[ENOUGH]) && !sheets[0].1.contains(&names[HIDDEN]));
    assert!(sheets[2].1.contains("Khoảng tin cậy") && sheets[2].1.contains("Không gia quyền"));
    // A period outside the plans is refused in Vietnamese.
    let (status, _, body) = get(
        &app,
        Some(&leader),
        &format!("/console/dashboard/reports/nam-2026/{ENOUGH}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text(&body).contains("ví dụ 2026-6t"));
    app.stop().await;
}

#[tokio::test]
async fn open_cases_appear_under_the_weakest_subdimensions_they_are_about() {
    let Setup { app, .. } = setup(common::TestDb::sqlite()).await;
    let store = &app.app.store;
    let categories = ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap();
    let cases = ykien::services::cases::Cases::new(
        store.clone(),
        categories.clone(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    // One open case per category, each about its sub-dimension.
    let mut filed = Vec::new();
    for c in &categories {
        let intake = Intake {
            commune: ENOUGH.into(),
            category: c.code.clone(),
            text: format!("Phản ánh thử về {}: cần xử lý sớm.", c.vi),
            channel: ykien::domain::Channel::Web,
            ..Default::default()
        };
        filed.push((
            cases.submit(intake, Utc::now()).await.unwrap().code,
            c.subdimension.clone(),
        ));
    }
    let leader = common::session(&app, "lanhdao").await;
    // The three weakest sub-dimensions, from the commune's score table.
    let (_, _, csv) = get(
        &app,
        Some(&leader),
        &format!("/console/dashboard/tables/scores.csv?unit={ENOUGH}"),
    )
    .await;
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let mut subs: Vec<(String, f64)> = reader
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[3] == "subdimension")
        .map(|r| (r[4].to_owned(), r[6].parse().unwrap()))
        .collect();
    subs.sort_by(|a, b| a.1.total_cmp(&b.1));
    let weakest: Vec<&str> = subs.iter().take(3).map(|s| s.0.as_str()).collect();
    assert_eq!(weakest.len(), 3);
    let (_, _, body) = get(&app, Some(&leader), &format!("/console/dashboard/units/{ENOUGH}")).await;
    let page = text(&body);
    for (code, sub) in &filed {
        assert_eq!(
            page.contains(code.as_str()),
            weakest.contains(&sub.as_str()),
            "case {code} about {sub}; weakest {weakest:?}"
        );
    }
    // The KPIs count them.
    assert!(page.contains("Xử lý phản ánh, kiến nghị"));
    app.stop().await;
}
