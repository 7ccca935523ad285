//! Security properties over the whole router:
//!
//! - the authorization matrix is complete: every route of `src/http/mod.rs` has a row saying who may use it, and
//!   a stranger (no session, no token, no signature) gets what the row says — a route added without a row fails
//!   here, as does an officials' route that answers a stranger;
//! - the leaders' pages refuse other roles;
//! - every answer carries the security headers (no script, no framing, no sniffing, no referrer);
//! - what a citizen typed is shown as text, never as markup;
//! - the answers and responses tables hold no identity.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use regex::Regex;
use ykien::services::cases::Intake;

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Anyone: a stranger is not refused for who they are (never 401/403, never the login page, never 5xx).
    Public,
    /// Anyone, with the CSRF token of the form they were shown (tied to their device cookie): a bare post is 403.
    Form,
    /// Officials signed in: a stranger is sent to the login page.
    Console,
    /// Leaders and administrators signed in: a stranger to the login page, other officials 403.
    Leaders,
    /// Administrators signed in: a stranger to the login page, leaders and other officials 403.
    Admins,
    /// Trusted API clients with the bearer token: a stranger gets 401.
    ApiToken,
    /// Only with the reporter's key (a cookie set when filing) or for officials: a stranger gets 403.
    Reporter,
    /// A chat platform's signed webhook: 404 while the channel is off (as in this test), 401 unsigned when on.
    Webhook,
    /// Client applications with a key an administrator gave them (Open311): a stranger gets 403.
    ApiKey,
}

/// Every route: (method, path as written in the router, a concrete path, who may use it).
const MATRIX: &[(&str, &str, &str, Access)] = &[
    ("GET", "/", "/", Access::Public),
    ("GET", "/units/{code}", "/units/33", Access::Public),
    ("GET", "/s/{commune}", "/s/11953", Access::Public),
    ("POST", "/s/{commune}/start", "/s/11953/start", Access::Form),
    ("GET", "/s/{commune}/q", "/s/11953/q", Access::Public),
    ("POST", "/s/{commune}/q", "/s/11953/q", Access::Form),
    ("GET", "/s/{commune}/thanks", "/s/11953/thanks", Access::Public),
    ("GET", "/s/{commune}/qr.svg", "/s/11953/qr.svg", Access::Public),
    ("GET", "/s/{commune}/qr.png", "/s/11953/qr.png", Access::Public),
    ("GET", "/healthz", "/healthz", Access::Public),
    ("GET", "/metrics", "/metrics", Access::Public),
    ("GET", "/api/openapi.json", "/api/openapi.json", Access::Public),
    ("GET", "/api/v1/units", "/api/v1/units", Access::Public),
    ("GET", "/api/v1/units/{code}", "/api/v1/units/33", Access::Public),
    ("GET", "/api/v1/waves", "/api/v1/waves", Access::ApiToken),
    ("POST", "/api/v1/waves", "/api/v1/waves", Access::ApiToken),
    ("GET", "/api/v1/waves/{code}", "/api/v1/waves/w-open", Access::ApiToken),
    (
        "POST",
        "/api/v1/waves/{code}/responses",
        "/api/v1/waves/w-open/responses",
        Access::ApiToken,
    ),
    ("GET", "/api/v1/cases/{code}", "/api/v1/cases/{case}", Access::Public),
    ("GET", "/t/{code}", "/t/{case}", Access::Public),
    (
        "GET",
        "/t/{code}/files/{id}",
        "/t/{case}/files/{file}",
        Access::Reporter,
    ),
    ("POST", "/t/{code}/{action}", "/t/{case}/reopen", Access::Reporter),
    ("GET", "/console", "/console", Access::Console),
    ("GET", "/console/login", "/console/login", Access::Public),
    ("POST", "/console/login", "/console/login", Access::Public),
    ("POST", "/console/logout", "/console/logout", Access::Console),
    ("GET", "/console/files/{id}", "/console/files/{file}", Access::Console),
    ("GET", "/console/audit", "/console/audit", Access::Console),
    ("GET", "/console/lockouts", "/console/lockouts", Access::Console),
    (
        "GET",
        "/console/responses/flagged",
        "/console/responses/flagged",
        Access::Console,
    ),
    (
        "POST",
        "/console/responses/{id}/restore",
        "/console/responses/00000000-0000-4000-8000-000000000000/restore",
        Access::Console,
    ),
    (
        "POST",
        "/console/lockouts/clear",
        "/console/lockouts/clear",
        Access::Console,
    ),
    ("GET", "/console/dashboard", "/console/dashboard", Access::Leaders),
    (
        "GET",
        "/console/dashboard/units/{code}",
        "/console/dashboard/units/11953",
        Access::Leaders,
    ),
    (
        "GET",
        "/console/dashboard/charts/{file}",
        "/console/dashboard/charts/heatmap.svg?province=33",
        Access::Leaders,
    ),
    (
        "GET",
        "/console/dashboard/tables/{file}",
        "/console/dashboard/tables/scores.csv",
        Access::Leaders,
    ),
    (
        "GET",
        "/console/dashboard/reports/{period}/{unit}",
        "/console/dashboard/reports/2026/33",
        Access::Leaders,
    ),
    ("POST", "/webhooks/telegram", "/webhooks/telegram", Access::Webhook),
    ("POST", "/webhooks/zalo", "/webhooks/zalo", Access::Webhook),
    ("GET", "/f/{commune}", "/f/11953", Access::Public),
    ("POST", "/f/{commune}", "/f/11953", Access::Public),
    ("POST", "/api/v1/cases", "/api/v1/cases", Access::Public),
    ("GET", "/console/cases/{code}", "/console/cases/{case}", Access::Console),
    (
        "POST",
        "/console/cases/{code}",
        "/console/cases/{case}",
        Access::Console,
    ),
    (
        "POST",
        "/console/cases/{code}/public",
        "/console/cases/{case}/public",
        Access::Console,
    ),
    (
        "POST",
        "/console/dashboard/publications",
        "/console/dashboard/publications",
        Access::Leaders,
    ),
    (
        "GET",
        "/console/posters/{file}",
        "/console/posters/11953.pdf",
        Access::Console,
    ),
    ("GET", "/scores", "/scores", Access::Public),
    ("GET", "/scores/{province}", "/scores/33", Access::Public),
    (
        "GET",
        "/scores/{province}/{commune}",
        "/scores/33/11953",
        Access::Public,
    ),
    (
        "GET",
        "/scores/{province}/data/{file}",
        "/scores/33/data/scores.csv",
        Access::Public,
    ),
    ("GET", "/public/photos/{id}", "/public/photos/{file}", Access::Public),
    ("GET", "/open311/v2/{file}", "/open311/v2/services.json", Access::Public),
    (
        "POST",
        "/open311/v2/{file}",
        "/open311/v2/requests.json",
        Access::ApiKey,
    ),
    (
        "GET",
        "/open311/v2/requests/{file}",
        "/open311/v2/requests/{case}.json",
        Access::Public,
    ),
    // Issue 18: the commune news and the PAPI quiz are public; campaigns are the officials'.
    ("GET", "/news/{commune}", "/news/11953", Access::Public),
    (
        "GET",
        "/news/{commune}/atom.xml",
        "/news/11953/atom.xml",
        Access::Public,
    ),
    ("GET", "/quiz/{round}", "/quiz/no-such-round", Access::Public),
    // Its form carries a CSRF token, checked once the form is read: a bare post is refused as unreadable (422).
    ("POST", "/quiz/{round}", "/quiz/no-such-round", Access::Public),
    (
        "GET",
        "/quiz/{round}/results",
        "/quiz/no-such-round/results",
        Access::Public,
    ),
    (
        "GET",
        "/quiz/{round}/entries.csv",
        "/quiz/no-such-round/entries.csv",
        Access::Public,
    ),
    (
        "GET",
        "/console/campaigns/{id}",
        "/console/campaigns/00000000-0000-7000-8000-000000000000",
        Access::Console,
    ),
    (
        "GET",
        "/console/campaigns/{id}/image",
        "/console/campaigns/00000000-0000-7000-8000-000000000000/image",
        Access::Console,
    ),
    (
        "GET",
        "/console/campaigns/{id}/report/{file}",
        "/console/campaigns/00000000-0000-7000-8000-000000000000/report/report.csv",
        Access::Console,
    ),
    (
        "POST",
        "/console/campaigns/{id}/{action}",
        "/console/campaigns/00000000-0000-7000-8000-000000000000/approve",
        Access::Console,
    ),
    // Issue 18: quiz rounds from the console.
    ("GET", "/console/quizzes", "/console/quizzes", Access::Console),
    ("POST", "/console/quizzes", "/console/quizzes", Access::Console),
    (
        "GET",
        "/console/quizzes/{id}",
        "/console/quizzes/00000000-0000-7000-8000-000000000000",
        Access::Console,
    ),
    (
        "POST",
        "/console/quizzes/{id}/{action}",
        "/console/quizzes/00000000-0000-7000-8000-000000000000/close",
        Access::Console,
    ),
    // Issue 20: one's own account, and administering the others' (administrators only).
    (
        "POST",
        "/console/account/alerts",
        "/console/account/alerts",
        Access::Console,
    ),
    (
        "POST",
        "/console/account/link-code",
        "/console/account/link-code",
        Access::Console,
    ),
    (
        "POST",
        "/console/account/unlink",
        "/console/account/unlink",
        Access::Console,
    ),
    (
        "POST",
        "/console/sessions/end",
        "/console/sessions/end",
        Access::Console,
    ),
    (
        "POST",
        "/console/users/{username}/disabled",
        "/console/users/canbo.phohien/disabled",
        Access::Admins,
    ),
    (
        "POST",
        "/console/users/{username}/password",
        "/console/users/canbo.phohien/password",
        Access::Admins,
    ),
    // Issue 20, accounts: reset links by email, two-factor sign-in.
    (
        "GET",
        "/console/password/forgot",
        "/console/password/forgot",
        Access::Public,
    ),
    (
        "POST",
        "/console/password/forgot",
        "/console/password/forgot",
        Access::Form,
    ),
    (
        "GET",
        "/console/password/reset/{token}",
        "/console/password/reset/0123456789abcdef",
        Access::Public,
    ),
    // The link's token is the credential: an unknown one sets nothing (404 page).
    (
        "POST",
        "/console/password/reset/{token}",
        "/console/password/reset/0123456789abcdef",
        Access::Public,
    ),
    // Only after a right password (the `yk_2fa` cookie): a stranger is sent to the login page.
    ("GET", "/console/login/code", "/console/login/code", Access::Console),
    ("POST", "/console/login/code", "/console/login/code", Access::Console),
    ("GET", "/console/account/2fa", "/console/account/2fa", Access::Console),
    (
        "POST",
        "/console/account/2fa/confirm",
        "/console/account/2fa/confirm",
        Access::Console,
    ),
    (
        "POST",
        "/console/account/2fa/off",
        "/console/account/2fa/off",
        Access::Console,
    ),
    (
        "POST",
        "/console/users/{username}/reset-link",
        "/console/users/canbo.phohien/reset-link",
        Access::Admins,
    ),
    (
        "POST",
        "/console/users/{username}/2fa/reset",
        "/console/users/canbo.phohien/2fa/reset",
        Access::Admins,
    ),
    // Issue 20, the case side: the intake desk (its own role is checked by tests/intake_desk.rs), the receipt, and
    // the reporters' unsubscribe link (the token is the only credential).
    ("GET", "/console/intake", "/console/intake", Access::Console),
    ("POST", "/console/intake", "/console/intake", Access::Console),
    (
        "GET",
        "/console/cases/{code}/receipt",
        "/console/cases/{case}/receipt",
        Access::Console,
    ),
    (
        "GET",
        "/unsubscribe/{token}",
        "/unsubscribe/0123456789abcdef0123456789abcdef0123456789abcdef",
        Access::Public,
    ),
    (
        "POST",
        "/unsubscribe/{token}",
        "/unsubscribe/0123456789abcdef0123456789abcdef0123456789abcdef",
        Access::Public,
    ),
];

/// The sources of the HTTP layer: each area declares its own routes.
fn http_sources() -> String {
    fn read(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                read(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = String::new();
    read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http"),
        &mut out,
    );
    out
}

/// The (method, path) pairs the router declares, read from its source.
fn declared_routes() -> BTreeSet<(String, String)> {
    let source = http_sources();
    let methods = Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap();
    let path = Regex::new(r#"^\s*"([^"]+)""#).unwrap();
    let mut routes = BTreeSet::new();
    // Router routes only: `.route("/path", …)`, not another type's `route` method.
    for (at, _) in source
        .match_indices(".route(")
        .filter(|(at, _)| source[at + ".route(".len()..].trim_start().starts_with('"'))
    {
        // The call's arguments, up to its closing parenthesis.
        let rest = &source[at + ".route(".len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .unwrap();
        let args = &rest[..end];
        let p = path.captures(args).unwrap()[1].to_owned();
        for m in methods.captures_iter(args) {
            routes.insert((m[1].to_uppercase(), p.clone()));
        }
    }
    routes
}

#[test]
fn every_route_of_the_router_has_a_row_in_the_authorization_matrix() {
    let declared = declared_routes();
    assert!(declared.len() > 30, "the parser found the routes: {declared:?}");
    let listed: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&listed).collect();
    assert!(missing.is_empty(), "routes without a row in MATRIX: {missing:?}");
    let stale: Vec<_> = listed.difference(&declared).collect();
    assert!(
        stale.is_empty(),
        "rows of MATRIX for routes that no longer exist: {stale:?}"
    );
}

async fn file_case(app: &TestApp, text: &str) -> String {
    file_case_with_photo(app, text, include_bytes!("fixtures/photos/photo_gps.jpg").to_vec()).await
}

async fn file_case_with_photo(app: &TestApp, text: &str, photo: Vec<u8>) -> String {
    let cases = ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let intake = Intake {
        commune: "11953".into(),
        category: "garbage".into(),
        text: text.into(),
        photos: vec![photo],
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    };
    cases.submit(intake, chrono::Utc::now()).await.unwrap().code
}

#[tokio::test]
async fn a_photo_carrying_markup_is_stored_without_it_and_served_only_as_an_image() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    common::official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
    // A real JPEG with a comment segment (FF FE) holding a page: a polyglot that a browser sniffing content could
    // render as HTML.
    let markup = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let jpeg = include_bytes!("fixtures/photos/photo_gps.jpg");
    let mut polyglot = jpeg[..2].to_vec();
    polyglot.extend_from_slice(&[0xFF, 0xFE]);
    polyglot.extend_from_slice(&((markup.len() + 2) as u16).to_be_bytes());
    polyglot.extend_from_slice(markup);
    polyglot.extend_from_slice(&jpeg[2..]);
    let code = file_case_with_photo(&app, "Rác đổ trộm ở bãi đất trống cạnh chợ đã một tuần.", polyglot).await;
    let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
    let files = app.app.store.case_attachments(case.id).await.unwrap();
    let ykien::storage::Attachment {
        content_type,
        bytes: stored,
        ..
    } = app.app.store.attachment(files[0].id).await.unwrap();
    assert_eq!(content_type, "image/jpeg");
    assert!(stored.starts_with(&[0xFF, 0xD8]), "still a JPEG");
    assert!(
        !stored.windows(7).any(|w| w == b"<script"),
        "the comment segment was removed"
    );
    let intake = common::session(&app, "tiepnhan").await;
    let r = app
        .client
        .get(app.url(&format!("/console/files/{}", files[0].id)))
        .header("cookie", intake)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let body = r.bytes().await.unwrap();
    assert!(!body.windows(7).any(|w| w == b"<script"));
    app.stop().await;
}

#[tokio::test]
async fn strangers_and_other_roles_get_what_the_matrix_says() {
    let app = TestApp::start_with_open_wave_and(
        common::TestDb::sqlite(),
        &[("YKIEN_API_TOKEN", "security-api-token-0123456789abcdefghijklmn")],
    )
    .await;
    let store = &app.app.store;
    common::official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
    common::official(store, "lanhdao", "leader", None, &["33"]).await;
    let case = file_case(&app, "Rác tồn đọng ở đầu ngõ 3 đã một tuần không ai thu gom.").await;
    let case_id = store.case_by_code(&case).await.unwrap().unwrap().id;
    let file = store.case_attachments(case_id).await.unwrap()[0].id.to_string();
    let officer = common::session(&app, "canbo").await;
    let leader = common::session(&app, "lanhdao").await;

    for (method, route, concrete, access) in MATRIX {
        let path = concrete.replace("{case}", &case).replace("{file}", &file);
        let send = |cookie: Option<&str>| {
            let mut req = match *method {
                "GET" => app.client.get(app.url(&path)),
                _ => app
                    .client
                    .post(app.url(&path))
                    .header("content-type", "application/x-www-form-urlencoded"),
            };
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            req.send()
        };
        let r = send(None).await.unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let what = format!("{method} {route} as a stranger: {status} {location}");
        match access {
            Access::Public => {
                assert!(![401, 403].contains(&status) && status < 500, "{what}");
                assert_ne!(location, "/console/login", "{what}");
            }
            Access::Console | Access::Leaders | Access::Admins => {
                assert_eq!((status, location.as_str()), (303, "/console/login"), "{what}");
            }
            Access::ApiToken => assert_eq!(status, 401, "{what}"),
            Access::Form => assert_eq!(status, 403, "{what}"),
            Access::Reporter | Access::ApiKey => assert_eq!(status, 403, "{what}"),
            Access::Webhook => assert_eq!(status, 404, "{what}"),
        }
        if *access == Access::Admins {
            for (who, cookie) in [("a commune officer", &officer), ("a leader", &leader)] {
                let status = send(Some(cookie)).await.unwrap().status().as_u16();
                assert_eq!(status, 403, "{method} {route} as {who}");
            }
        }
        if *access == Access::Leaders {
            let by_officer = send(Some(&officer)).await.unwrap().status().as_u16();
            assert_eq!(by_officer, 403, "{method} {route} as a commune officer");
            let by_leader = send(Some(&leader)).await.unwrap().status().as_u16();
            assert!(
                ![401, 403].contains(&by_leader) && by_leader < 500,
                "{method} {route} as a leader: {by_leader}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    for path in [
        "/",
        "/s/11953",
        "/f/11953",
        "/console/login",
        "/api/v1/units",
        "/no-such-page",
        "/s/11953/qr.svg",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("script-src"), "{path}: no script is ever allowed");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn markup_typed_by_a_citizen_is_shown_as_text() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    common::official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
    let typed = "<script>alert('x')</script><img src=x onerror=alert(1)> Đèn đường hỏng ở ngõ 5 đã hai tuần.";
    let case = file_case(&app, typed).await;
    let intake = common::session(&app, "tiepnhan").await;
    for (path, cookie) in [
        (format!("/t/{case}"), None),
        (format!("/console/cases/{case}"), Some(intake)),
    ] {
        let mut req = app.client.get(app.url(&path));
        if let Some(c) = &cookie {
            req = req.header("cookie", c);
        }
        let page = req.send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Đèn đường hỏng ở ngõ 5"), "{path} shows the text");
        assert!(page.contains("&lt;script&gt;alert("), "{path} escapes it");
        assert!(
            !page.contains("<script") && !page.contains("<img src=x"),
            "{path} never renders it"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_answers_and_responses_tables_hold_no_identity() {
    for db in common::databases("answers_hold_no_identity").await {
        let store = db.store().await;
        let url = db.url.clone();
        store.close().await;
        let columns = |table: &str| -> String {
            if url.starts_with("sqlite") {
                format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name")
            } else {
                format!(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}' \
                     ORDER BY column_name"
                )
            }
        };
        let read = |sql: String| {
            let url = url.clone();
            async move {
                use sqlx::Connection;
                if url.starts_with("sqlite") {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                    rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
                } else {
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                    rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
                }
            }
        };
        // Exactly these columns: a new one (a device id, a chat id, an address) must be argued for here first.
        assert_eq!(
            read(columns("answers")).await,
            ["code", "question_code", "response_id", "text"],
            "{}",
            db.label
        );
        assert_eq!(
            read(columns("responses")).await,
            [
                "channel",
                "client_token",
                "complete",
                "completed_at",
                "id",
                // Issue 21: the sub-dimensions a split wave asked (drawn, not chosen by the person).
                "modules",
                "started_at",
                "unit_id",
                // Issue 23: the village from the link or poster, shared by everyone of that village.
                "village",
                "wave_id"
            ],
            "{}",
            db.label
        );
    }
}

/// A sign-in attempt of `username` with a wrong password.
async fn wrong_login(app: &TestApp, username: &str) -> reqwest::Response {
    common::post_login(app, username, "sai mật khẩu").await
}

#[tokio::test]
async fn repeated_logins_and_reports_from_one_address_are_slowed_with_a_vietnamese_page() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    // Ten attempts pass (and fail on the password); the eleventh is refused before the password is checked.
    for i in 0..10 {
        let r = wrong_login(&app, &format!("doan{i}")).await;
        assert_ne!(r.status(), 429, "attempt {i}");
    }
    let r = wrong_login(&app, "doan").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Xin chờ một chút") && page.contains("Xin thử lại sau"),
        "{page}"
    );
    // Reading pages is never limited.
    assert_eq!(app.get("/console/login").await.status(), 200);

    // The feedback form: twenty reports at once, then 429; the API has its own bucket and says it in JSON.
    for i in 0..20 {
        let r = app.client.post(app.url("/f/11953")).send().await.unwrap();
        assert_ne!(r.status(), 429, "report {i}");
    }
    assert_eq!(app.client.post(app.url("/f/11953")).send().await.unwrap().status(), 429);
    for _ in 0..20 {
        app.client.post(app.url("/api/v1/cases")).send().await.unwrap();
    }
    let r = app.client.post(app.url("/api/v1/cases")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(common::error_code(&body), "rate_limited");
    app.stop().await;
}

#[tokio::test]
async fn with_rate_limits_off_a_proxy_that_limits_on_its_own_gets_every_request_through() {
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_RATE_LIMITS", "false")]).await;
    // Thirty names from one address (each name's own throttle starts after 3 failures).
    for i in 0..30 {
        assert_ne!(
            wrong_login(&app, &format!("doan{i}")).await.status(),
            429,
            "attempt {i}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_login_without_the_forms_cookie_and_token_is_refused_and_opens_no_session() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    common::official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let (cookie, csrf) = common::login_form(&app).await;
    let attempt = |cookie: Option<String>, csrf: Option<String>| {
        let mut form = vec![
            ("username", "canbo".to_owned()),
            ("password", common::PASSWORD.to_owned()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let mut req = app.client.post(app.url("/console/login")).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    // A page elsewhere posting the right password: no cookie (SameSite=Strict), no token.
    for (what, cookie, csrf) in [
        ("no cookie, no token", None, None),
        ("no cookie, a token", None, Some(csrf.clone())),
        ("the cookie, no token", Some(cookie.clone()), None),
        ("the cookie, a wrong token", Some(cookie.clone()), Some("0".repeat(32))),
    ] {
        let r = attempt(cookie, csrf).await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
        let sets_session = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("yk_session="));
        assert!(!sets_session, "{what}: no session");
        let page = r.text().await.unwrap();
        assert!(page.contains("Biểu mẫu đăng nhập đã hết hạn"), "{what}: {page}");
        assert!(page.contains(r#"value="canbo""#), "{what}: the name typed is kept");
    }
    let r = attempt(Some(cookie), Some(csrf)).await.unwrap();
    assert_eq!(r.status(), 303, "the form as shown signs in");
    app.stop().await;
}

#[tokio::test]
async fn logout_needs_the_sessions_csrf_token() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    common::official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let session = common::session(&app, "canbo").await;
    let inbox = || app.client.get(app.url("/console")).header("cookie", &session).send();
    let logout = |csrf: &str| {
        app.client
            .post(app.url("/console/logout"))
            .header("cookie", &session)
            .form(&[("csrf", csrf)])
            .send()
    };
    assert_eq!(logout("").await.unwrap().status(), 403, "no token");
    assert_eq!(logout(&"0".repeat(32)).await.unwrap().status(), 403, "a wrong token");
    let page = inbox().await.unwrap();
    assert_eq!(page.status(), 200, "still signed in");
    let csrf = common::hidden_field(&page.text().await.unwrap(), "csrf");
    let r = logout(&csrf).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, "/console/login")
    );
    assert_eq!(
        inbox().await.unwrap().headers()["location"],
        "/console/login",
        "signed out"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stranger_guessing_from_one_address_does_not_lock_the_official_out_and_an_administrator_clears_it() {
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_BEHIND_PROXY", "true")]).await;
    ykien::services::units::import_bundled_hung_yen(&app.app.store)
        .await
        .unwrap();
    common::official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    common::official(&app.app.store, "quantri", "admin", None, &[]).await;
    let browser = &app;
    let from = |address: &'static str, password: &'static str| async move {
        let (cookie, csrf) = common::login_form(browser).await;
        browser
            .client
            .post(browser.url("/console/login"))
            .header("cookie", cookie)
            .header("x-forwarded-for", address)
            .form(&[("csrf", csrf.as_str()), ("username", "canbo"), ("password", password)])
            .send()
            .await
            .unwrap()
    };
    for i in 0..3 {
        assert_eq!(from("203.0.113.66", "sai").await.status(), 401, "failure {i}");
    }
    let r = from("203.0.113.66", "sai").await;
    assert_eq!(r.status(), 429);
    let page = r.text().await.unwrap();
    assert!(page.contains("Đăng nhập sai nhiều lần từ địa chỉ mạng này"), "{page}");
    // The same name from that address is blocked, even with the right password; from the office it is not.
    assert_eq!(from("203.0.113.66", common::PASSWORD).await.status(), 429);
    assert_eq!(from("198.51.100.7", common::PASSWORD).await.status(), 303);

    let admin = common::session(&app, "quantri").await;
    let lockouts = app
        .client
        .get(app.url("/console/lockouts"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(lockouts.status(), 200);
    let page = lockouts.text().await.unwrap();
    assert!(page.contains("203.0.113.66") && page.contains("canbo"), "{page}");
    let csrf = common::hidden_field(&page, "csrf");
    let cleared = app
        .client
        .post(app.url("/console/lockouts/clear"))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "canbo"),
            ("address", "203.0.113.66"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 303);
    assert_eq!(from("203.0.113.66", common::PASSWORD).await.status(), 303, "cleared");
    app.stop().await;
}
