//! Feedback cases end to end over HTTP and through the service, on both databases: a citizen files a report
//! with a photo, officials take it through the workflow within their role and scope, the citizen follows it and
//! rates the answer; every kind of bad input is refused without storing anything.
#![allow(clippy::unwrap_used, clippy::regex_creation_in_loops, clippy::type_complexity)]

mod common;

use chrono::Utc;
use common::{TestApp, TestDb, databases, official};
use regex::Regex;
use ykien::domain::cases::{Action, AnswerContent, Tier};
use ykien::services::Error;

const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_gps.jpg");

/// A browser: keeps its cookies (device and reporter key).
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    fn cookie_header(&self) -> String {
        self.cookies.join("; ")
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for set in r.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let r = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let r = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), location, r.text().await.unwrap())
    }

    async fn post_report(
        &mut self,
        commune: &str,
        fields: &[(&str, &str)],
        photos: &[&[u8]],
    ) -> (u16, Option<String>, String) {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (i, p) in photos.iter().enumerate() {
            form = form.part(
                "photos",
                reqwest::multipart::Part::bytes(p.to_vec()).file_name(format!("anh{i}.jpg")),
            );
        }
        let r = self
            .app
            .client
            .post(self.app.url(&format!("/f/{commune}")))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), location, r.text().await.unwrap())
    }
}

async fn revision(app: &TestApp, code: &str) -> i64 {
    app.app.store.case_by_code(code).await.unwrap().unwrap().revision
}

fn csrf(html: &str) -> String {
    Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(html)
        .unwrap()[1]
        .to_owned()
}

#[tokio::test]
async fn a_report_goes_from_the_citizen_through_the_officials_and_back() {
    for db in databases("a_report_goes_from_the_citizen_through_the_officials_and_back").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let mut citizen = Browser {
            app: &app,
            cookies: Vec::new(),
        };
        let (status, form) = citizen.get("/f/11953").await;
        assert_eq!(status, 200, "{label}");
        assert!(
            form.contains("Gửi phản ánh, kiến nghị") && form.contains("Phường Phố Hiến"),
            "{label}"
        );
        let token = csrf(&form);
        let text = "Đường liên thôn trước nhà văn hoá tổ 5 có ổ gà lớn, xe máy ngã nhiều lần từ tuần trước.";
        let (status, location, _) = citizen
            .post_report(
                "11953",
                &[
                    ("csrf", &token),
                    ("category", "road"),
                    ("text", text),
                    ("phone", "0912 345 678"),
                    ("name", "Lê Thị Hoa"),
                ],
                &[PHOTO],
            )
            .await;
        assert_eq!(status, 303, "{label}");
        let tracking = location.unwrap();
        let code = tracking.trim_start_matches("/t/").to_owned();
        assert!(
            Regex::new(r"^PA-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
                .unwrap()
                .is_match(&code),
            "{code}"
        );

        let (status, page) = citizen.get(&tracking).await;
        assert_eq!(status, 200, "{label}");
        assert!(
            page.contains("Đã tiếp nhận") && page.contains(text) && page.contains("1 ảnh đính kèm"),
            "{label}"
        );
        assert!(
            !page.contains("0912") && !page.contains("Lê Thị Hoa"),
            "{label}: the public page never shows the reporter"
        );

        // The stored photo lost its GPS position.
        let case = app.app.store.case_by_code(&code).await.unwrap().unwrap();
        let files = app.app.store.case_attachments(case.id).await.unwrap();
        let ykien::storage::Attachment {
            content_type, bytes, ..
        } = app.app.store.attachment(files[0].id).await.unwrap();
        assert_eq!(content_type, "image/jpeg", "{label}");
        assert!(
            bytes.len() < PHOTO.len() && !bytes.windows(6).any(|w| w == b"Exif\0\0"),
            "{label}"
        );

        // Officials: intake of the ward accepts and assigns; an officer of another ward cannot act; the ward's
        // officer answers (a vague answer is refused), the citizen rates.
        let intake = official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
        let officer = official(
            &app.app.store,
            "kinhte",
            "commune_officer",
            Some("commune_economic"),
            &["11953"],
        )
        .await;
        let stranger = official(
            &app.app.store,
            "xakhac",
            "commune_officer",
            Some("commune_economic"),
            &["11977"],
        )
        .await;
        let leader = official(&app.app.store, "lanhdao", "leader", None, &["33"]).await;
        let cases = ykien::services::cases::Cases::new(
            app.app.store.clone(),
            ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
            ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
        );
        let now = Utc::now();
        let r = cases
            .act(&stranger, &code, 0, Action::Accept { tier: Tier::Normal }, vec![], now)
            .await;
        assert!(
            matches!(r, Err(Error::Forbidden(_))),
            "{label}: outside the stranger's scope: {r:?}"
        );
        let r = cases
            .act(&leader, &code, 0, Action::Accept { tier: Tier::Normal }, vec![], now)
            .await;
        assert!(
            matches!(r, Err(Error::Forbidden(_))),
            "{label}: leaders only read: {r:?}"
        );
        let r = cases.act(&intake, &code, 0, Action::Close, vec![], now).await;
        assert!(
            matches!(r, Err(Error::Conflict(_))),
            "{label}: cannot close a case never answered: {r:?}"
        );
        let at = |minutes: i64| now + chrono::Duration::minutes(minutes);
        cases
            .act(&intake, &code, 0, Action::Accept { tier: Tier::Urgent }, vec![], at(1))
            .await
            .unwrap();
        // A form built on the old version is refused, not applied twice.
        let r = cases
            .act(
                &intake,
                &code,
                0,
                Action::Assign {
                    office: "commune_economic".into(),
                },
                vec![],
                now,
            )
            .await;
        assert!(matches!(r, Err(Error::Stale(_))), "{label}: {r:?}");
        let v = revision(&app, &code).await;
        cases
            .act(
                &intake,
                &code,
                v,
                Action::Assign {
                    office: "commune_economic".into(),
                },
                vec![],
                at(2),
            )
            .await
            .unwrap();
        let accepted = app.app.store.case_by_code(&code).await.unwrap().unwrap();
        assert!(
            accepted.answer_due_at.unwrap() > now,
            "{label}: an urgent deadline in working time"
        );
        let v = revision(&app, &code).await;
        let vague = Action::Answer(AnswerContent {
            what_was_done: "Đã tiếp thu.".into(),
            by_unit: "UBND".into(),
            legal_basis: None,
        });
        assert!(
            matches!(
                cases.act(&officer, &code, v, vague, vec![], now).await,
                Err(Error::InvalidCase(_))
            ),
            "{label}"
        );
        let answer = Action::Answer(AnswerContent {
            what_was_done: "Ngày 20/11 tổ công tác đã vá 2 ổ gà trước nhà văn hoá tổ 5 bằng bê tông nhựa; đã thông xe."
                .into(),
            by_unit: "Phòng Kinh tế, Hạ tầng và Đô thị phường Phố Hiến".into(),
            legal_basis: Some("Kế hoạch duy tu đường giao thông năm 2026".into()),
        });
        cases
            .act(&officer, &code, v, answer, vec![PHOTO.to_vec()], at(3))
            .await
            .unwrap();

        let (_, page) = citizen.get(&tracking).await;
        assert!(
            page.contains("Đã trả lời") && page.contains("đã vá 2 ổ gà") && page.contains("Phòng Kinh tế"),
            "{label}"
        );
        assert!(
            page.contains("Gửi đánh giá"),
            "{label}: the reporter is offered the rating"
        );
        let evidence = Regex::new(r#"href="(/t/[^"]+/files/[^"]+)""#)
            .unwrap()
            .captures(&page)
            .unwrap()[1]
            .to_owned();
        let anyone = app.client.get(app.url(&evidence)).send().await.unwrap();
        assert_eq!(anyone.status(), 200, "{label}: evidence of the answer is public");
        assert_eq!(anyone.headers()["x-content-type-options"], "nosniff");

        let (status, _, _) = citizen
            .post_form(
                &format!("{tracking}/rate"),
                &[("csrf", &token), ("score", "4"), ("comment", "Xử lý nhanh")],
            )
            .await;
        assert_eq!(status, 303, "{label}");
        assert_eq!(
            app.app
                .store
                .case_rating(case.id)
                .await
                .unwrap()
                .map(|r| (r.score, r.comment)),
            Some((4, Some("Xử lý nhanh".into()))),
            "{label}"
        );
        // Someone without the reporter key cannot rate.
        let mut other = Browser {
            app: &app,
            cookies: Vec::new(),
        };
        let (_, page) = other.get(&tracking).await;
        assert!(!page.contains("Gửi đánh giá"), "{label}");
        // With a valid form token of its own device, but without the reporter key.
        let (_, own_form) = other.get("/f/11953").await;
        let (status, _, _) = other
            .post_form(
                &format!("{tracking}/rate"),
                &[("csrf", &csrf(&own_form)), ("score", "1")],
            )
            .await;
        assert_eq!(status, 403, "{label}");

        let v = revision(&app, &code).await;
        cases
            .act(&intake, &code, v, Action::Close, vec![], at(60))
            .await
            .unwrap();
        let timeline: Vec<String> = app
            .app
            .store
            .case_events(case.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(timeline, ["submit", "accept", "assign", "answer", "close"], "{label}");
        // A web report's news are read on its tracking page: nothing is queued to send (issue 15).
        let outbox = app.app.store.case_outbox(case.id).await.unwrap();
        assert!(
            outbox.is_empty(),
            "{label}: nothing to send for a web report: {outbox:?}"
        );
        let audit = app.app.store.audit_log(100).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|a| a.action == "case.answer" && a.official.as_deref() == Some("kinhte")),
            "{label}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_reports_are_refused_in_vietnamese_keep_what_was_typed_and_store_nothing() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let mut citizen = Browser {
        app: &app,
        cookies: Vec::new(),
    };
    let (_, form) = citizen.get("/f/11953").await;
    let token = csrf(&form);
    let long = "x".repeat(5001);
    let typed = "Cống thoát nước bị tắc gây ngập ở ngõ 12.";
    let not_image = b"<html><script>alert(1)</script></html>".to_vec();
    let big = {
        let mut v = PHOTO.to_vec();
        v.resize(11 * 1024 * 1024, 0);
        v
    };
    let cases: Vec<(Vec<(&str, &str)>, Vec<&[u8]>, &str)> = vec![
        (
            vec![("csrf", &token), ("category", "road"), ("text", "ngắn")],
            vec![],
            "ít nhất 15 ký tự",
        ),
        (
            vec![("csrf", &token), ("category", "road"), ("text", &long)],
            vec![],
            "tối đa 5000 ký tự",
        ),
        (
            vec![("csrf", &token), ("category", "khong_co"), ("text", typed)],
            vec![],
            "Xin chọn loại phản ánh",
        ),
        (
            vec![("csrf", &token), ("category", "road"), ("text", typed)],
            vec![&not_image],
            "không phải ảnh JPEG, PNG hoặc WebP",
        ),
        (
            vec![("csrf", &token), ("category", "road"), ("text", typed)],
            vec![&big],
            "tối đa 10 MB",
        ),
        (
            vec![
                ("csrf", &token),
                ("category", "road"),
                ("text", typed),
                ("phone", "abc"),
            ],
            vec![],
            "Số điện thoại không hợp lệ",
        ),
        (
            vec![("csrf", &token), ("category", "road"), ("text", typed), ("lat", "bắc")],
            vec![],
            "Vĩ độ, kinh độ phải là số",
        ),
    ];
    for (fields, photos, expected) in cases {
        let (status, _, html) = citizen.post_report("11953", &fields, &photos).await;
        assert_eq!(status, 422, "{expected}");
        assert!(html.contains(expected), "'{expected}' missing");
        let text = fields.iter().find(|(k, _)| *k == "text").unwrap().1;
        if text.len() < 100 {
            assert!(html.contains(text), "what was typed is kept: {text}");
        }
    }
    let (status, _, html) = citizen
        .post_report("99999", &[("csrf", &token), ("category", "road"), ("text", typed)], &[])
        .await;
    assert_eq!(status, 404);
    assert!(html.contains("99999"));
    let (status, _, _) = citizen
        .post_report("11953", &[("csrf", "0000"), ("category", "road"), ("text", typed)], &[])
        .await;
    assert_eq!(status, 403, "a forged form");
    // Nothing was stored.
    let all = app
        .app
        .store
        .list_cases(&ykien::storage::CaseFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.is_empty(), "{} cases stored", all.len());
    let (status, page) = citizen.get("/t/PA-2222-2222").await;
    assert_eq!(status, 404);
    assert!(page.contains("Không có phản ánh nào mang mã PA-2222-2222"));
    app.stop().await;
}

#[tokio::test]
async fn the_cases_api_files_a_report_with_a_base64_photo_and_shows_it_without_the_reporter() {
    use base64::Engine as _;
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let photo = base64::engine::general_purpose::STANDARD.encode(PHOTO);
    let body = serde_json::json!({
        "commune": "11953", "category": "garbage", "text": "Bãi rác tự phát cạnh trường tiểu học, bốc mùi.",
        "phone": "0912345678", "photos": [photo]
    });
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    let code = created["code"].as_str().unwrap();
    assert_eq!(created["reporter_key"].as_str().unwrap().len(), 64);
    let (status, case) = app.get_json(&format!("/api/v1/cases/{code}")).await;
    assert_eq!(
        (status, case["state"].as_str(), case["commune"].as_str()),
        (200, Some("received"), Some("11953"))
    );
    assert!(!case.to_string().contains("0912345678"), "never the reporter's contact");

    let bad = serde_json::json!({ "commune": "99999", "category": "khong_co", "text": "ngắn", "photos": ["%%%"] });
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["problems"][0]["code"], "invalid_base64");
    let bad = serde_json::json!({ "commune": "99999", "category": "khong_co", "text": "ngắn" });
    let e: serde_json::Value = app
        .client
        .post(app.url("/api/v1/cases"))
        .json(&bad)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields: Vec<&str> = e["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["text", "category", "commune"]);
    let (status, _) = app.get_json("/api/v1/cases/PA-2345-6789").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn overdue_cases_are_escalated_once_with_an_internal_timeline_entry() {
    for db in databases("overdue_cases_are_escalated_once_with_an_internal_timeline_entry").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let cases = ykien::services::cases::Cases::new(
            app.app.store.clone(),
            ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
            ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
        );
        let now = Utc::now();
        let intake = |text: &str| ykien::services::cases::Intake {
            commune: "11953".into(),
            category: "road".into(),
            text: text.into(),
            channel: ykien::domain::Channel::Web,
            ..Default::default()
        };
        // Received ten days ago and never accepted: 8 working hours have long passed.
        let late = cases
            .submit(
                intake("Ổ gà trước cổng trường tiểu học đã lâu."),
                now - chrono::Duration::days(10),
            )
            .await
            .unwrap();
        // Received just now: not overdue.
        let fresh = cases
            .submit(intake("Cây đổ chắn ngang đường sau cơn bão."), now)
            .await
            .unwrap();
        assert_eq!(cases.escalate_overdue(now).await.unwrap(), 1, "{label}");
        assert_eq!(cases.escalate_overdue(now).await.unwrap(), 0, "{label}: only once");
        let late_case = app.app.store.case_by_code(&late.code).await.unwrap().unwrap();
        assert!(late_case.escalated_at.is_some(), "{label}");
        let events = app.app.store.case_events(late_case.id).await.unwrap();
        let escalation = events.iter().find(|e| e.action == "escalate").unwrap();
        assert!(
            !escalation.public && escalation.note.as_deref().unwrap().contains("Quá hạn thụ lý"),
            "{label}"
        );
        let fresh_case = app.app.store.case_by_code(&fresh.code).await.unwrap().unwrap();
        assert!(fresh_case.escalated_at.is_none(), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_reporter_of_a_duplicate_is_sent_to_the_original() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let desk = official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
    let cases = ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(ykien::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let report = |text: &str| ykien::services::cases::Intake {
        commune: "11953".into(),
        category: "street_light".into(),
        text: text.into(),
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    };
    let now = Utc::now();
    let original = cases
        .submit(report("Đèn đường ngõ 15 phố Bạch Đằng không sáng."), now)
        .await
        .unwrap()
        .code;
    let copy = cases
        .submit(report("Ngõ 15 Bạch Đằng tối om vì đèn hỏng."), now)
        .await
        .unwrap()
        .code;
    let same = cases
        .act(
            &desk,
            &copy,
            0,
            Action::MarkDuplicate { original: copy.clone() },
            vec![],
            now,
        )
        .await;
    assert!(
        matches!(same, Err(Error::InvalidCase(_))),
        "a case is not its own duplicate: {same:?}"
    );
    cases
        .act(
            &desk,
            &copy,
            0,
            Action::MarkDuplicate {
                original: original.clone(),
            },
            vec![],
            now,
        )
        .await
        .unwrap();
    let (status, page) = app
        .get(&format!("/t/{copy}"))
        .await
        .text()
        .await
        .map(|t| (200, t))
        .unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Trùng với phản ánh khác"), "{page}");
    assert!(
        page.contains(&format!(r#"<a href="/t/{original}">{original}</a>"#)),
        "a link to the original"
    );
    app.stop().await;
}

#[tokio::test]
async fn behind_https_every_cookie_of_the_report_flow_is_secure_and_over_plain_http_none_is() {
    for https in [true, false] {
        let db = TestDb::sqlite();
        let public = if https {
            "https://ykien.example.vn"
        } else {
            "http://127.0.0.1:8080"
        };
        let app = TestApp::start_configured(db, &[("YKIEN_PUBLIC_URL", public)]).await;
        ykien::services::units::import_bundled_hung_yen(&app.app.store)
            .await
            .unwrap();
        let form = app.get("/f/11953").await;
        let device = form.headers()["set-cookie"].to_str().unwrap().to_owned();
        let mut citizen = Browser {
            app: &app,
            cookies: vec![device.split(';').next().unwrap().to_owned()],
        };
        let token = csrf(&form.text().await.unwrap());
        let text = "Đèn đường ngõ 7 hỏng đã ba hôm rồi, tối không ai dám đi qua.";
        let r = app
            .client
            .post(app.url("/f/11953"))
            .header("cookie", citizen.cookie_header())
            .multipart(
                reqwest::multipart::Form::new()
                    .text("csrf", token)
                    .text("category", "street_light")
                    .text("text", text),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let reporter = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        citizen.keep(&r);
        for cookie in [&device, &reporter] {
            assert_eq!(cookie.contains("; Secure"), https, "{public}: {cookie}");
            assert!(cookie.contains("HttpOnly"), "{cookie}");
        }
        app.stop().await;
    }
}
