//! The intake desk and what the console suggests (issue 20, Builds 3 and 5), over HTTP on both databases: a case
//! received by hotline is recorded with its time received, contact and scanned papers (PDF and photo) and gets a
//! printable receipt; each kind of bad input is refused in Vietnamese with what was typed kept and nothing stored;
//! duplicates are suggested (near, or with similar text) and linked in one click, never to another commune's case
//! or to the case itself; answer templates are imported (unknown placeholders refused by name) and fill the
//! answer form.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{TestApp, databases, official};
use ykien::domain::calendar::{Limit, WorkCalendar, from_vietnam, to_vietnam};
use ykien::services::cases::Intake;

const PHOTO: &[u8] = include_bytes!("fixtures/photos/photo_gps.jpg");
const LOCAL_TIME: &str = "%Y-%m-%dT%H:%M";

/// One bad input of the desk's form: what it is, the fields, the files, and the message expected.
type BadInput<'a> = (&'a str, Vec<(&'static str, String)>, Vec<(&'a str, Vec<u8>)>, &'a str);

/// A one-page PDF, as a scanner makes one.
fn scanned_letter() -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, b"BT ET".to_vec()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The desk's form as a browser posts it: its CSRF token, `fields`, and `files`.
async fn post_desk(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    files: &[(&str, Vec<u8>)],
) -> reqwest::Response {
    let (status, form) = get(app, cookie, "/console/intake").await;
    assert_eq!(status, 200, "{form}");
    let mut multipart = reqwest::multipart::Form::new().text("csrf", common::hidden_field(&form, "csrf"));
    for (k, v) in fields {
        multipart = multipart.text(k.to_string(), v.to_string());
    }
    for (name, bytes) in files {
        multipart = multipart.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    app.client
        .post(app.url("/console/intake"))
        .header("cookie", cookie)
        .multipart(multipart)
        .send()
        .await
        .unwrap()
}

/// The fields of a good hotline case received at `at`.
fn hotline_fields(at: &str) -> Vec<(&'static str, String)> {
    vec![
        ("channel", "hotline".into()),
        ("received_at", at.into()),
        ("commune", "11953".into()),
        ("category", "street_light".into()),
        (
            "text",
            "Cả dãy đèn đường trước số nhà 45 đường Nguyễn Văn Linh không sáng từ ba hôm nay.".into(),
        ),
        ("address", "Số 45 đường Nguyễn Văn Linh".into()),
        ("name", "Trần Thị Mai".into()),
        ("phone", "0912 345 678".into()),
        ("email", "mai.tran@gmail.com".into()),
    ]
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn case_count(app: &TestApp) -> usize {
    app.app
        .store
        .list_cases(&ykien::storage::CaseFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

/// Posts one action on a case the way its page's form does (CSRF token, revision).
async fn act(app: &TestApp, cookie: &str, code: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let (_, page) = get(app, cookie, &format!("/console/cases/{code}")).await;
    let revision = app.app.store.case_by_code(code).await.unwrap().unwrap().revision;
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", common::hidden_field(&page, "csrf"))
        .text("revision", revision.to_string());
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let r = app
        .client
        .post(app.url(&format!("/console/cases/{code}")))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn cases_service(app: &TestApp) -> ykien::services::cases::Cases {
    ykien::services::cases::Cases::new(
        app.app.store.clone(),
        ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES).unwrap(),
        ykien::services::cases::CaseRules::defaults(WorkCalendar::default_vietnam()),
    )
}

async fn file(app: &TestApp, commune: &str, text: &str, location: Option<(f64, f64)>, at: DateTime<Utc>) -> String {
    let intake = Intake {
        commune: commune.into(),
        category: "street_light".into(),
        text: text.into(),
        lat: location.map(|l| l.0),
        lon: location.map(|l| l.1),
        channel: ykien::domain::Channel::Web,
        ..Default::default()
    };
    cases_service(app).submit(intake, at).await.unwrap().code
}

#[tokio::test]
async fn a_hotline_case_is_recorded_with_its_time_received_and_papers_and_gets_a_receipt() {
    for db in databases("a_hotline_case_is_recorded_with_its_time_received_and_papers_and_gets_a_receipt").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave_and(db, &[("YKIEN_PUBLIC_URL", "https://ykien.example.vn")]).await;
        let store = app.app.store.clone();
        let desk = official(&store, "tiepnhan", "intake", None, &["11953"]).await;
        let cookie = common::session(&app, "tiepnhan").await;
        // The form offers the desk's channels and its commune by name.
        let (_, form) = get(&app, &cookie, "/console/intake").await;
        for part in [
            "Đường dây nóng",
            "Trực tiếp tại bộ phận tiếp nhận",
            "Thư, đơn gửi qua bưu điện",
            "Phường Phố Hiến",
        ] {
            assert!(form.contains(part), "{label}: «{part}»");
        }
        // Received by phone two hours ago, typed in now.
        let received = to_vietnam(Utc::now() - Duration::hours(2))
            .format(LOCAL_TIME)
            .to_string();
        let fields = hotline_fields(&received);
        let r = post_desk(
            &app,
            &cookie,
            &as_refs(&fields),
            &[("thu.pdf", scanned_letter()), ("anh.jpg", PHOTO.to_vec())],
        )
        .await;
        assert_eq!(r.status(), 303, "{label}: {}", r.text().await.unwrap());
        let receipt_path = r.headers()["location"].to_str().unwrap().to_owned();
        let code = receipt_path
            .strip_prefix("/console/cases/")
            .and_then(|p| p.strip_suffix("/receipt"))
            .unwrap()
            .to_owned();

        let case = store.case_by_code(&code).await.unwrap().unwrap();
        assert_eq!(case.channel, ykien::domain::Channel::Hotline, "{label}");
        let received_at = from_vietnam(chrono::NaiveDateTime::parse_from_str(&received, LOCAL_TIME).unwrap());
        assert_eq!(
            case.received_at, received_at,
            "{label}: the time received, not the time typed in"
        );
        let due = WorkCalendar::default_vietnam().deadline(received_at, Limit::WorkingHours(8), &[], 0);
        assert_eq!(
            case.accept_due_at, due,
            "{label}: the deadline counts from the time received"
        );
        let files = store.case_attachments(case.id).await.unwrap();
        let types: Vec<&str> = files.iter().map(|f| f.content_type.as_str()).collect();
        assert!(
            types.contains(&"application/pdf") && types.contains(&"image/jpeg"),
            "{label}: {types:?}"
        );
        let reporter = store.case_reporter(case.id).await.unwrap();
        assert_eq!(reporter.email.as_deref(), Some("mai.tran@gmail.com"), "{label}");
        // The citizen who left an email is sent the case's code and tracking link (no SMTP here: it waits queued).
        let queued = store.outbox_to("email", "mai.tran@gmail.com").await.unwrap();
        assert_eq!(queued.len(), 1, "{label}");
        assert_eq!(queued[0].dedupe_key, format!("{code}:intake:email"), "{label}");
        let timeline = store.case_events(case.id).await.unwrap();
        assert_eq!(timeline[0].action, "intake", "{label}");
        assert_eq!(timeline[0].official.as_deref(), Some("Cán bộ tiepnhan"), "{label}");
        assert!(
            store
                .audit_log(50)
                .await
                .unwrap()
                .iter()
                .any(|a| a.action == "case.intake" && a.target == code),
            "{label}: audit logged"
        );

        // The receipt: code, contact, channel, times, deadline, how to follow (link and QR code).
        let (status, receipt) = get(&app, &cookie, &receipt_path).await;
        assert_eq!(status, 200, "{label}");
        for part in [
            "PHIẾU TIẾP NHẬN PHẢN ÁNH, KIẾN NGHỊ",
            code.as_str(),
            "Trần Thị Mai",
            "Đường dây nóng",
            &to_vietnam(received_at).format("%H:%M %d/%m/%Y").to_string(),
            &to_vietnam(due).format("%H:%M %d/%m/%Y").to_string(),
            "3 ngày làm việc",
            &format!("https://ykien.example.vn/t/{code}"),
            "data:image/svg+xml;base64,",
            "Cán bộ tiepnhan",
        ] {
            assert!(receipt.contains(part), "{label}: «{part}» in the receipt");
        }
        // The PDF is served as a download, never inline.
        let pdf = files.iter().find(|f| f.content_type == "application/pdf").unwrap();
        let r = app
            .client
            .get(app.url(&format!("/console/files/{}", pdf.id)))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/pdf", "{label}");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment"),
            "{label}"
        );
        // An officer sees the receipt without the reporter's contact.
        official(&store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let officer = common::session(&app, "canbo").await;
        let (status, theirs) = get(&app, &officer, &receipt_path).await;
        assert_eq!(status, 200, "{label}");
        assert!(!theirs.contains("Trần Thị Mai") && !theirs.contains("0912"), "{label}");
        // …and may not record cases.
        assert_eq!(get(&app, &officer, "/console/intake").await.0, 403, "{label}");
        drop(desk);
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_desk_input_is_refused_in_vietnamese_keeps_what_was_typed_and_stores_nothing() {
    for db in databases("bad_desk_input_is_refused_in_vietnamese_keeps_what_was_typed_and_stores_nothing").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        official(&app.app.store, "tiepnhan", "intake", None, &["11953"]).await;
        let cookie = common::session(&app, "tiepnhan").await;
        let now = Utc::now();
        let fmt = |t: DateTime<Utc>| to_vietnam(t).format(LOCAL_TIME).to_string();
        let good = hotline_fields(&fmt(now - Duration::hours(1)));
        let with = |field: &str, value: &str| -> Vec<(&'static str, String)> {
            good.iter()
                .map(|(k, v)| (*k, if *k == field { value.to_owned() } else { v.clone() }))
                .collect()
        };
        let cases: Vec<BadInput> = vec![
            (
                "a time received in the future",
                with("received_at", &fmt(now + Duration::hours(3))),
                vec![],
                "Thời điểm tiếp nhận không thể ở tương lai.",
            ),
            (
                "a time received long ago",
                with("received_at", &fmt(now - Duration::days(45))),
                vec![],
                "không được trước hôm nay quá 30 ngày",
            ),
            (
                "no time received",
                with("received_at", "hôm qua"),
                vec![],
                "Nhập thời điểm tiếp nhận",
            ),
            (
                "an email that does not parse",
                with("email", "mai.tran@@gmail"),
                vec![],
                "Địa chỉ email không hợp lệ",
            ),
            (
                "a phone number that is not one",
                with("phone", "gọi tôi"),
                vec![],
                "Số điện thoại không hợp lệ",
            ),
            (
                "a channel that is not the desk's",
                with("channel", "web"),
                vec![],
                "Chọn kênh tiếp nhận",
            ),
            (
                "a file that says PDF but is not one",
                good.clone(),
                vec![("thu.pdf", b"%PDF-1.7\n<script>alert(1)</script>".to_vec())],
                "không đọc được như một tài liệu PDF",
            ),
            (
                "a file that is neither PDF nor photo",
                good.clone(),
                vec![("thu.exe", b"MZ\x90\x00 not a photo".to_vec())],
                "Ảnh 1",
            ),
            (
                "a commune outside the desk's scope",
                with("commune", "12004"),
                vec![],
                "ngoài phạm vi",
            ),
        ];
        for (what, fields, files, message) in cases {
            let r = post_desk(&app, &cookie, &as_refs(&fields), &files).await;
            assert_eq!(r.status(), 422, "{label}: {what}");
            let page = r.text().await.unwrap();
            assert!(page.contains(message), "{label}: {what}: «{message}» in {page}");
            // What was typed is kept.
            assert!(
                page.contains("Cả dãy đèn đường trước số nhà 45"),
                "{label}: {what}: the text is kept"
            );
            assert!(page.contains("Trần Thị Mai"), "{label}: {what}: the name is kept");
            assert_eq!(case_count(&app).await, 0, "{label}: {what}: nothing stored");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn duplicates_are_suggested_and_linked_in_one_click_but_never_across_communes_or_to_itself() {
    for db in databases("duplicates_are_suggested_and_linked_in_one_click_but_never_across_communes_or_to_itself").await
    {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        official(&app.app.store, "tiepnhan", "intake", None, &["33"]).await;
        let cookie = common::session(&app, "tiepnhan").await;
        let now = Utc::now();
        let here = (20.6464, 106.0511);
        let original = file(
            &app,
            "11953",
            "Đèn đường ở tổ 5 phố Bãi Sậy hỏng đã hai tuần, buổi tối rất tối.",
            Some(here),
            now - Duration::days(2),
        )
        .await;
        // 111 m away, other words: suggested for nearness.
        let near = file(
            &app,
            "11953",
            "Cột điện chiếu sáng gần nhà văn hoá không lên đèn mấy hôm nay.",
            Some((20.6474, 106.0511)),
            now - Duration::days(1),
        )
        .await;
        // No location, the same problem in other words and without diacritics: suggested for its text.
        let similar = file(
            &app,
            "11953",
            "Den duong o to 5 pho Bai Say hong da hai tuan, toi rat toi.",
            None,
            now - Duration::hours(5),
        )
        .await;
        // Neither near nor alike.
        let other = file(
            &app,
            "11953",
            "Bóng đèn sân chơi khu tập thể cũ chập chờn, lúc sáng lúc tắt.",
            Some((20.66, 106.06)),
            now - Duration::hours(4),
        )
        .await;
        // The same words in another commune: never suggested.
        let foreign = file(
            &app,
            "12004",
            "Đèn đường ở tổ 5 phố Bãi Sậy hỏng đã hai tuần, buổi tối rất tối.",
            Some(here),
            now - Duration::hours(3),
        )
        .await;
        let new = file(
            &app,
            "11953",
            "Đèn đường tổ 5 phố Bãi Sậy vẫn hỏng, buổi tối rất tối, đề nghị sửa.",
            Some((20.6465, 106.0512)),
            now,
        )
        .await;

        let (status, page) = get(&app, &cookie, &format!("/console/cases/{new}")).await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("Có thể trùng với"), "{label}");
        for code in [&original, &near, &similar] {
            assert!(
                page.contains(&format!("Đánh dấu trùng với {code}")),
                "{label}: {code} is suggested"
            );
        }
        for code in [&other, &foreign] {
            assert!(!page.contains(code.as_str()), "{label}: {code} is not suggested");
        }
        assert!(
            page.contains("cách ") && page.contains("nội dung giống"),
            "{label}: why each is suggested"
        );

        // Another commune's case, or the case itself, cannot be the original.
        let (status, page) = act(
            &app,
            &cookie,
            &new,
            &[("action", "mark_duplicate"), ("original", &foreign)],
        )
        .await;
        assert_eq!(status, 422, "{label}");
        assert!(page.contains("thuộc xã, phường khác"), "{label}: {page}");
        let (status, page) = act(&app, &cookie, &new, &[("action", "mark_duplicate"), ("original", &new)]).await;
        assert_eq!(status, 422, "{label}");
        assert!(page.contains("phải là một phản ánh khác"), "{label}: {page}");
        let case = app.app.store.case_by_code(&new).await.unwrap().unwrap();
        assert_eq!(case.state.as_str(), "received", "{label}: nothing changed");

        // The one-click form links it.
        let (status, _) = act(
            &app,
            &cookie,
            &new,
            &[("action", "mark_duplicate"), ("original", &original)],
        )
        .await;
        assert_eq!(status, 303, "{label}");
        let case = app.app.store.case_by_code(&new).await.unwrap().unwrap();
        assert_eq!(case.state.as_str(), "duplicate", "{label}");
        let original_id = app.app.store.case_by_code(&original).await.unwrap().unwrap().id;
        assert_eq!(case.duplicate_of, Some(original_id), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn answer_templates_are_imported_checked_and_fill_the_answer_form() {
    for db in databases("answer_templates_are_imported_checked_and_fill_the_answer_form").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let store = app.app.store.clone();
        let admin = official(&store, "quantri", "admin", None, &[]).await;
        official(&store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let cases = cases_service(&app);
        let bad = "[[templates]]\ncategory = \"street_light\"\ntitle = \"Đã sửa\"\n\
                   body = \"Phản ánh {ma_ho_so} tại {xa_phuong}, cán bộ {ten_can_bo} đã sửa.\"\nlegal_basis = \"NĐ 79/2009/NĐ-CP\"\n";
        let refused = cases.import_templates(bad, Some(&admin), Utc::now()).await.unwrap_err();
        assert!(refused.to_string().contains("{ten_can_bo}"), "{label}: {refused}");
        assert!(
            store.answer_templates(None).await.unwrap().is_empty(),
            "{label}: nothing stored"
        );
        let imported = cases
            .import_templates(
                ykien::domain::cases::templates::BUNDLED_TEMPLATES,
                Some(&admin),
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(imported.len() >= 3, "{label}");
        assert!(
            store
                .audit_log(20)
                .await
                .unwrap()
                .iter()
                .any(|a| a.action == "templates.import"),
            "{label}: audit logged"
        );

        let code = file(
            &app,
            "11953",
            "Đèn đường ở tổ 5 phố Bãi Sậy hỏng đã hai tuần, buổi tối rất tối.",
            None,
            Utc::now(),
        )
        .await;
        let admin_cookie = common::session(&app, "quantri").await;
        assert_eq!(
            act(&app, &admin_cookie, &code, &[("action", "accept"), ("tier", "normal")])
                .await
                .0,
            303,
            "{label}"
        );
        let cookie = common::session(&app, "canbo").await;
        let (_, page) = get(&app, &cookie, &format!("/console/cases/{code}")).await;
        assert!(page.contains("Mẫu trả lời của loại này"), "{label}");
        let template = store.answer_templates(Some("street_light")).await.unwrap().remove(0);
        assert!(page.contains(&format!("?mau={}", template.id)), "{label}");
        let (_, filled) = get(&app, &cookie, &format!("/console/cases/{code}?mau={}", template.id)).await;
        assert!(
            filled.contains(&format!("Tiếp nhận phản ánh {code} ngày")),
            "{label}: {{ma_ho_so}} filled"
        );
        assert!(filled.contains("Phường Phố Hiến"), "{label}: {{xa_phuong}} filled");
        assert!(
            filled.contains("Nghị định số 79/2009/NĐ-CP"),
            "{label}: the legal basis"
        );
        assert!(!filled.contains("{ma_ho_so}"), "{label}");
        app.stop().await;
    }
}
