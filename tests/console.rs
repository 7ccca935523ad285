//! The officials' console over HTTP: login, and the authorization matrix — every console route × every role ×
//! a case of one's own unit and of another unit. A test fails when a console route is added without a row here.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{PASSWORD, TestApp};
use regex::Regex;
use ykien::services::accounts::{AccountRequest, add_official};
use ykien::services::cases::Intake;

const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_gps.jpg");

async fn account(app: &TestApp, username: &str, role: &str, units: &[&str]) {
    let request = AccountRequest {
        username: username.into(),
        display_name: username.into(),
        password: PASSWORD.into(),
        role: role.into(),
        office: (role.ends_with("officer")).then(|| "commune_economic".into()),
        unit_codes: units.iter().map(|u| u.to_string()).collect(),
    };
    add_official(&app.app.store, request, ykien::domain::calendar::vn_day(Utc::now()))
        .await
        .unwrap();
}

async fn file_case(app: &TestApp, commune: &str) -> (String, String) {
    let cases = ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let intake = Intake {
        commune: commune.into(),
        category: "garbage".into(),
        text: "Rác tồn đọng ở đầu ngõ 3 đã một tuần không ai thu gom.".into(),
        photos: vec![PHOTO.to_vec()],
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    };
    let code = cases.submit(intake, Utc::now()).await.unwrap().code;
    let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
    let file = app.app.store.case_attachments(case.id).await.unwrap()[0].id.to_string();
    (code, file)
}

/// A form post with the CSRF token of the account's own pages (the inbox's logout form), when it has one.
async fn post_with_csrf(app: &TestApp, cookie: &Option<String>, path: &str, fields: &[(&str, &str)]) -> u16 {
    let (_, inbox) = get(app, cookie, "/console").await;
    let csrf = if inbox.contains(r#"name="csrf""#) {
        common::hidden_field(&inbox, "csrf")
    } else {
        String::new()
    };
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let mut req = app.client.post(app.url(path)).form(&form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap().status().as_u16()
}

/// A signed-in browser session of one account (or none).
async fn session(app: &TestApp, username: Option<&str>) -> Option<String> {
    Some(common::session(app, username?).await)
}

async fn get(app: &TestApp, cookie: &Option<String>, path: &str) -> (u16, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts "accept" on a case the way the case page's form does (its CSRF token and revision), or with a guessed
/// form when the page could not be seen.
async fn accept(app: &TestApp, cookie: &Option<String>, code: &str, page: &str) -> u16 {
    let token = Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(page)
        .map(|c| c[1].to_owned());
    let form = reqwest::multipart::Form::new()
        .text("csrf", token.unwrap_or_else(|| "0".repeat(32)))
        .text("revision", "0")
        .text("action", "accept")
        .text("tier", "normal");
    let mut req = app
        .client
        .post(app.url(&format!("/console/cases/{code}")))
        .multipart(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_console_route_answers_each_role_as_the_matrix_says() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    account(&app, "quantri", "admin", &[]).await;
    account(&app, "tiepnhan", "intake", &["11953"]).await;
    account(&app, "canbo", "commune_officer", &["11953"]).await;
    account(&app, "canbo.so", "department_officer", &["11953"]).await;
    account(&app, "lanhdao", "leader", &["33"]).await;

    // Expected status per route for: anonymous, admin, intake, commune officer, department officer, leader.
    // 303 = sent to the login page.
    // The dashboard's pages: no wave exists here, so those allowed in get 404 ("no survey wave yet") and the
    // others 403; tests/dashboard.rs and tests/security.rs check them with data.
    let matrix: [(&str, [u16; 6]); 19] = [
        ("GET /console", [303, 200, 200, 200, 200, 200]),
        ("GET /console/cases/{own}", [303, 200, 200, 200, 200, 200]),
        ("GET /console/cases/{foreign}", [303, 200, 403, 403, 403, 200]),
        ("GET /console/files/{own}", [303, 200, 200, 200, 200, 200]),
        ("GET /console/files/{foreign}", [303, 200, 403, 403, 403, 200]),
        ("GET /console/audit", [303, 200, 403, 403, 403, 403]),
        ("GET /console/lockouts", [303, 200, 403, 403, 403, 403]),
        ("POST /console/lockouts/clear", [303, 303, 403, 403, 403, 403]),
        ("GET /console/responses/flagged", [303, 200, 403, 403, 403, 403]),
        // No such flagged response: the administrator is told so (409); the others are refused first.
        ("POST /console/responses/{own}/restore", [303, 409, 403, 403, 403, 403]),
        ("POST /console/cases/{own} accept", [303, 303, 303, 403, 403, 403]),
        // Issue 20: the intake desk records cases; the receipt is shown to whoever may see the case.
        ("GET /console/intake", [303, 200, 200, 403, 403, 403]),
        ("GET /console/cases/{own}/receipt", [303, 200, 200, 200, 200, 200]),
        ("GET /console/cases/{foreign}/receipt", [303, 200, 403, 403, 403, 200]),
        ("GET /console/dashboard", [303, 404, 403, 403, 403, 404]),
        ("GET /console/dashboard/units/{own}", [303, 404, 403, 403, 403, 404]),
        ("GET /console/dashboard/charts/{file}", [303, 404, 403, 403, 403, 404]),
        ("GET /console/dashboard/tables/{file}", [303, 404, 403, 403, 403, 404]),
        (
            "GET /console/dashboard/reports/{period}/{unit}",
            [303, 404, 403, 403, 403, 404],
        ),
    ];
    let users = [
        None,
        Some("quantri"),
        Some("tiepnhan"),
        Some("canbo"),
        Some("canbo.so"),
        Some("lanhdao"),
    ];
    for (i, user) in users.iter().enumerate() {
        // Fresh cases for each account, so that an accepted case does not change the next row.
        let (own, own_file) = file_case(&app, "11953").await;
        let (foreign, foreign_file) = file_case(&app, "11977").await;
        let cookie = session(&app, *user).await;
        for (route, expected) in &matrix {
            let status = match *route {
                "GET /console" => get(&app, &cookie, "/console").await.0,
                "GET /console/cases/{own}" => get(&app, &cookie, &format!("/console/cases/{own}")).await.0,
                "GET /console/cases/{foreign}" => get(&app, &cookie, &format!("/console/cases/{foreign}")).await.0,
                "GET /console/files/{own}" => get(&app, &cookie, &format!("/console/files/{own_file}")).await.0,
                "GET /console/files/{foreign}" => get(&app, &cookie, &format!("/console/files/{foreign_file}")).await.0,
                "GET /console/audit" => get(&app, &cookie, "/console/audit").await.0,
                "GET /console/intake" => get(&app, &cookie, "/console/intake").await.0,
                "GET /console/cases/{own}/receipt" => {
                    get(&app, &cookie, &format!("/console/cases/{own}/receipt")).await.0
                }
                "GET /console/cases/{foreign}/receipt" => {
                    get(&app, &cookie, &format!("/console/cases/{foreign}/receipt")).await.0
                }
                "GET /console/lockouts" => get(&app, &cookie, "/console/lockouts").await.0,
                "POST /console/lockouts/clear" => {
                    post_with_csrf(
                        &app,
                        &cookie,
                        "/console/lockouts/clear",
                        &[("username", "ai-do"), ("address", "")],
                    )
                    .await
                }
                "GET /console/responses/flagged" => get(&app, &cookie, "/console/responses/flagged").await.0,
                "POST /console/responses/{own}/restore" => {
                    let path = format!("/console/responses/{}/restore", uuid::Uuid::new_v4());
                    post_with_csrf(&app, &cookie, &path, &[]).await
                }
                "GET /console/dashboard" => get(&app, &cookie, "/console/dashboard").await.0,
                "GET /console/dashboard/units/{own}" => get(&app, &cookie, "/console/dashboard/units/11953").await.0,
                "GET /console/dashboard/charts/{file}" => {
                    get(&app, &cookie, "/console/dashboard/charts/heatmap.svg?province=33")
                        .await
                        .0
                }
                "GET /console/dashboard/tables/{file}" => {
                    get(&app, &cookie, "/console/dashboard/tables/scores.csv").await.0
                }
                "GET /console/dashboard/reports/{period}/{unit}" => {
                    get(&app, &cookie, "/console/dashboard/reports/2026/33").await.0
                }
                "POST /console/cases/{own} accept" => {
                    let (_, page) = get(&app, &cookie, &format!("/console/cases/{own}")).await;
                    accept(&app, &cookie, &own, &page).await
                }
                other => panic!("no check for {other}"),
            };
            assert_eq!(status, expected[i], "{route} as {user:?}");
        }
    }

    // Every console route in the router is in the matrix.
    let source = ["mod.rs", "console.rs", "signin.rs", "quality.rs", "intake_desk.rs"]
        .map(|f| std::fs::read_to_string(format!("{}/src/http/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap())
        .concat();
    let checked: Vec<&str> = matrix.iter().map(|(r, _)| *r).collect();
    for chunk in source.split(".route(").skip(1) {
        let Some(rest) = chunk
            .trim_start()
            .strip_prefix('"')
            .filter(|r| r.starts_with("/console"))
        else {
            continue;
        };
        let (path, _) = rest.split_once('"').unwrap();
        if matches!(path, "/console/login" | "/console/logout") {
            continue; // open to everyone by design (tests/security.rs checks the login's and logout's CSRF)
        }
        let generic = path.replace("{code}", "{own}").replace("{id}", "{own}");
        assert!(
            checked.iter().any(|r| r.contains(&generic)),
            "{path} is routed but not in the authorization matrix"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn intake_sees_the_reporter_officers_see_a_pseudonym_and_stale_forms_are_refused() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    account(&app, "tiepnhan", "intake", &["11953"]).await;
    account(&app, "canbo", "commune_officer", &["11953"]).await;
    let cases = ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let intake = Intake {
        commune: "11953".into(),
        category: "road".into(),
        text: "Ổ gà lớn trên đường Nguyễn Văn Linh đoạn trước chợ.".into(),
        name: Some("Phạm Văn Cường".into()),
        phone: Some("0987654321".into()),
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    };
    let code = cases.submit(intake, Utc::now()).await.unwrap().code;
    let desk = session(&app, Some("tiepnhan")).await;
    let officer = session(&app, Some("canbo")).await;
    let (_, page) = get(&app, &desk, &format!("/console/cases/{code}")).await;
    assert!(page.contains("Phạm Văn Cường") && page.contains("0987654321"));
    let (_, seen_by_officer) = get(&app, &officer, &format!("/console/cases/{code}")).await;
    assert!(!seen_by_officer.contains("Phạm Văn Cường") && !seen_by_officer.contains("0987654321"));
    assert!(seen_by_officer.contains("Người phản ánh "), "a pseudonym instead");

    // Two tabs opened on the same version: the first accept wins, the second is told to reload.
    assert_eq!(accept(&app, &desk, &code, &page).await, 303);
    assert_eq!(accept(&app, &desk, &code, &page).await, 409);
    // A wrong password is refused on the login page, in Vietnamese.
    let r = common::post_login(&app, "canbo", "sai").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("Sai tên đăng nhập hoặc mật khẩu."));
    app.stop().await;
}
