//! The small holes of the abuse probe (issue 22, docs/security.md), each closed and pinned here: deadlines that
//! could be extended without end, unchecked contact fields, links built from the request path, abandoned survey
//! sessions kept for ever, control and bidi characters in citizen text, framework errors in English on pages,
//! body limits, caching of pages with personal data, `/metrics` open to anyone, idle connections never closed.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{TestApp, databases, official};
use ykien::domain::cases::{Action, Tier};
use ykien::services::Error;
use ykien::services::cases::{CaseRules, Cases, Intake};

fn cases_of(app: &TestApp) -> Cases {
    Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    )
}

fn intake(text: &str) -> Intake {
    Intake {
        commune: "11953".into(),
        category: "road".into(),
        text: text.into(),
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    }
}

fn problem_codes(e: &Error) -> Vec<&'static str> {
    match e {
        Error::InvalidCase(problems) => problems.iter().map(|p| p.code).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deadline_is_extended_once_by_an_officer_again_only_by_a_leader_and_never_past_the_cap() {
    for db in databases("a_deadline_is_extended_once_by_an_officer_again_only_by_a_leader_and_never_past_the_cap").await
    {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let store = &app.app.store;
        let officer = official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let leader = official(store, "lanhdao", "leader", None, &["33"]).await;
        let desk = official(store, "tiepnhan", "intake", None, &["11953"]).await;
        let cases = cases_of(&app);
        let now = Utc::now();
        let code = cases
            .submit(intake("Ổ gà lớn trước cổng chợ Phố Hiến, xe máy ngã nhiều lần."), now)
            .await
            .unwrap()
            .code;
        let rev = |code: String| async move { store.case_by_code(&code).await.unwrap().unwrap().revision };
        cases
            .act(
                &desk,
                &code,
                rev(code.clone()).await,
                Action::Accept { tier: Tier::Normal },
                vec![],
                now,
            )
            .await
            .unwrap();
        let extend = |days: u32, reason: &str| Action::Extend {
            days,
            reason: reason.into(),
        };
        // "x" is no reason.
        let e = cases
            .act(&officer, &code, rev(code.clone()).await, extend(30, "x"), vec![], now)
            .await
            .unwrap_err();
        assert_eq!(problem_codes(&e), ["invalid"], "{label}");
        cases
            .act(
                &officer,
                &code,
                rev(code.clone()).await,
                extend(20, "Chờ đơn vị thi công khảo sát hiện trường."),
                vec![],
                now,
            )
            .await
            .unwrap();
        // A second extension: not the officer's decision.
        let e = cases
            .act(
                &officer,
                &code,
                rev(code.clone()).await,
                extend(5, "Chờ kinh phí sửa chữa được duyệt."),
                vec![],
                now,
            )
            .await
            .unwrap_err();
        assert_eq!(problem_codes(&e), ["second_extension_needs_leader"], "{label}");
        // The leader approves it, within the cap of 30 working days in all; past it, nobody may.
        let e = cases
            .act(
                &leader,
                &code,
                rev(code.clone()).await,
                extend(11, "Chờ kinh phí sửa chữa được duyệt."),
                vec![],
                now,
            )
            .await
            .unwrap_err();
        assert_eq!(problem_codes(&e), ["extension_cap"], "{label}");
        cases
            .act(
                &leader,
                &code,
                rev(code.clone()).await,
                extend(10, "Chờ kinh phí sửa chữa được duyệt."),
                vec![],
                now,
            )
            .await
            .unwrap();
        let case = store.case_by_code(&code).await.unwrap().unwrap();
        let events = store.case_events(case.id).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "extend").count(), 2, "{label}");
        // A leader still acts on nothing else.
        let e = cases
            .act(&leader, &code, rev(code.clone()).await, Action::Close, vec![], now)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{label}: {e:?}");
        app.stop().await;
    }
}

/// The `yk_device` cookie and the CSRF token of a fresh survey landing page, then the survey started.
async fn start_survey(app: &TestApp) -> String {
    let landing = app.get("/s/11953").await;
    let cookie = landing.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = common::hidden_field(&landing.text().await.unwrap(), "csrf");
    let started = app
        .client
        .post(app.url("/s/11953/start"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("lang", "vi")])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let first = app
        .client
        .get(app.url("/s/11953/q"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    cookie
}

#[tokio::test]
async fn abandoned_survey_sessions_are_deleted_after_thirty_days_with_their_unfinished_response() {
    for db in databases("abandoned_survey_sessions_are_deleted_after_thirty_days_with_their_unfinished_response").await
    {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let store = &app.app.store;
        start_survey(&app).await;
        let wave = store.wave_by_code("w-open").await.unwrap();
        assert_eq!(
            store.count_responses(wave.id).await.unwrap(),
            (0, 1),
            "{label}: one unfinished"
        );
        let now = Utc::now();
        // Touched today: kept by a run that prunes what is older than 30 days.
        assert_eq!(
            store
                .prune_abandoned_sessions(now - chrono::Duration::days(30))
                .await
                .unwrap(),
            0,
            "{label}"
        );
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (0, 1), "{label}");
        // Seen from 31 days on, it is abandoned: the session and the unfinished response go.
        let later = now + chrono::Duration::days(31);
        assert_eq!(
            store
                .prune_abandoned_sessions(later - chrono::Duration::days(30))
                .await
                .unwrap(),
            1,
            "{label}"
        );
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (0, 0), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn contact_fields_are_checked_for_length_and_form_on_the_api_and_the_form() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let text = "Đèn đường hỏng ở ngõ 5 phố Hiến đã hai tuần.";
    let post = |name: String, email: String| {
        let body = serde_json::json!({
            "commune": "11953", "category": "road", "text": text, "name": name, "email": email,
        });
        app.client.post(app.url("/api/v1/cases")).json(&body).send()
    };
    // The probe's 5,000,000-character name and 1,000,000-character email.
    let r = post("A".repeat(5_000_000), format!("{}@x.vn", "a".repeat(1_000_000)))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    let codes: Vec<&str> = body["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["name_too_long", "email_too_long"], "{body}");
    // Markup stored as an email.
    let r = post("Nguyễn Văn An".into(), "<script>@x".into()).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["problems"][0]["code"], "invalid_email", "{body}");
    let r = post("<b>An</b>".into(), "an@gmail.com".into()).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["problems"][0]["code"], "invalid_name", "{body}");
    // The form shows the same limits and keeps what was typed, in Vietnamese.
    let form_page = app.get("/f/11953").await;
    let device = form_page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = form_page.text().await.unwrap();
    assert!(
        html.contains(r#"name="name" maxlength="100""#),
        "the form's limit is the API's"
    );
    assert!(html.contains(r#"name="email" maxlength="254""#));
    let csrf = common::hidden_field(&html, "csrf");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("category", "road")
        .text("text", text)
        .text("name", "B".repeat(101))
        .text("email", "<script>@x");
    let r = app
        .client
        .post(app.url("/f/11953"))
        .header("cookie", device)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Họ tên dài 101 ký tự; tối đa 100 ký tự."), "{page}");
    assert!(page.contains("Địa chỉ email không hợp lệ"), "{page}");
    assert!(page.contains("&lt;script&gt;@x"), "what was typed is kept, escaped");
    app.stop().await;
}

#[tokio::test]
async fn nul_and_bidi_characters_are_removed_and_citizen_text_is_stored_composed() {
    for db in databases("nul_and_bidi_characters_are_removed_and_citizen_text_is_stored_composed").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let cases = cases_of(&app);
        let mut report = intake("Rác\u{0} đổ trộm ở bãi đất trống cạnh chợ \u{202E}gpj.exe\u{202C} đã một tuần.");
        report.name = Some("Nguye\u{0302}\u{0303}n Va\u{0306}n An\u{0}".into());
        let code = cases.submit(report, Utc::now()).await.unwrap().code;
        let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(
            case.text, "Rác đổ trộm ở bãi đất trống cạnh chợ gpj.exe đã một tuần.",
            "{label}"
        );
        let reporter = app.app.store.case_reporter(case.id).await.unwrap();
        assert_eq!(reporter.name.as_deref(), Some("Nguyễn Văn An"), "{label}: NFC");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_path_starting_with_two_slashes_never_becomes_a_link_to_another_site() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    for path in ["//evil.example/x", "/\\evil.example/x"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let page = r.text().await.unwrap();
        assert!(!page.contains("evil.example"), "{path}: {page}");
    }
    app.stop().await;
}

#[tokio::test]
async fn framework_errors_on_pages_are_the_vietnamese_error_page() {
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    let landing = app.get("/s/11953").await;
    let cookie = landing.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "a multipart body with a broken boundary",
            app.client
                .post(app.url("/f/11953"))
                .header("cookie", &cookie)
                .header("content-type", "multipart/form-data; boundary=XYZ")
                .body("--ABC\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--ABC--\r\n"),
            400,
            "Biểu mẫu không đọc được",
        ),
        (
            "a duplicate field",
            app.client
                .post(app.url("/console/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=a&username=b&password=c"),
            422,
            "Biểu mẫu không đọc được",
        ),
        (
            "a body over the limit",
            app.client
                .post(app.url("/s/11953/q"))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![b'a'; 2 * 1024 * 1024]),
            413,
            "Dữ liệu gửi lên quá lớn",
        ),
    ];
    for (what, request, status, title) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        assert!(
            r.headers()["content-type"].to_str().unwrap().starts_with("text/html"),
            "{what}"
        );
        let page = r.text().await.unwrap();
        assert!(
            page.contains(title) && page.contains(r#"<html lang="vi">"#),
            "{what}: {page}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn body_limits_are_the_documented_ones() {
    let app = TestApp::start_with_open_wave_and(
        common::TestDb::sqlite(),
        &[("YKIEN_API_TOKEN", "hardening-api-token-0123456789abcdefghij")],
    )
    .await;
    // 1 MiB everywhere but the uploads (README, "HTTP").
    let r = app
        .client
        .post(app.url("/api/v1/waves/w-open/responses"))
        .bearer_auth("hardening-api-token-0123456789abcdefghij")
        .header("content-type", "application/json")
        .body(vec![b' '; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // A report from an app: its photos (20 MB together) in base64, and a mebibyte for the rest.
    let limit = ykien::http::MAX_UPLOAD_BYTES;
    assert_eq!(limit, (20 * 1024 * 1024 + 1024 * 1024) * 4 / 3);
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .header("content-type", "application/json")
        .body(vec![b' '; limit + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(common::error_code(&body), "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn pages_with_personal_data_are_never_cached() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
    let mut report = intake("Ổ gà lớn trước cổng chợ Phố Hiến, xe máy ngã nhiều lần.");
    report.name = Some("Phạm Văn Cường".into());
    report.phone = Some("0987654321".into());
    let code = cases_of(&app).submit(report, Utc::now()).await.unwrap().code;
    let desk = common::session(&app, "tiepnhan").await;
    for path in [
        format!("/console/cases/{code}"),
        "/console".into(),
        format!("/t/{code}"),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .header("cookie", &desk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    // Public pages without personal data may be cached.
    assert!(app.get("/units/33").await.headers().get("cache-control").is_none());
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_a_token_or_their_own_address() {
    let token = "metrics-token-0123456789abcdefghijklmnop";
    // Neither: no metrics on the public listener.
    let app = TestApp::start(common::TestDb::sqlite()).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    assert!(app.app.metrics_addr.is_none());
    app.stop().await;
    // A token: asked for.
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_METRICS_TOKEN", token)]).await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("wrong-token-0123456789abcdefghijklmnopq")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("http_requests"));
    app.stop().await;
    // Their own address: nothing on the public one, everything there.
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_METRICS_BIND", "127.0.0.1:0")]).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let private = app.app.metrics_addr.unwrap();
    let r = app
        .client
        .get(format!("http://{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(format!("http://{private}/")).send().await.unwrap();
    assert_eq!(r.status(), 404, "only metrics there");
    app.stop().await;
}

/// Reads from `stream` until the server closes it; `true` when it did (within a minute: a bound for a hung test,
/// not a measurement).
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(60), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_HEADER_TIMEOUT_SECONDS", "1")]).await;
    // A connection that never sends anything.
    let mut silent = tokio::net::TcpStream::connect(app.app.addr).await.unwrap();
    assert!(closed_by_server(&mut silent).await, "a silent connection is closed");
    // A slow-loris: headers a byte at a time, never finished.
    let mut slow = tokio::net::TcpStream::connect(app.app.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let trickle = async {
        for _ in 0..200 {
            if slow.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        false
    };
    assert!(trickle.await, "a slow-loris connection is closed while it trickles");
    // A kept-alive connection: served, then closed once idle.
    let mut idle = tokio::net::TcpStream::connect(app.app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut idle).await,
        "an idle kept-alive connection is closed"
    );
    // Ordinary requests still pass.
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}
