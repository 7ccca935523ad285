//! Feedback cases end to end in real browsers: a citizen on a phone (headless Chromium at 360×640, driven over
//! WebDriver) files a report with a photo after a refused first try; officials in a second, desktop-sized
//! browser take it up, assign it and answer it with an evidence photo from the console; the citizen reloads the
//! tracking page, sees the answer and rates it. Screenshots of the report form, the tracking page before and
//! after, and the console's case page are written to `target/test-output/browser_cases/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test prints a `SKIPPED` line (which CI
//! refuses) and passes. The WebDriver helpers are copied from `browser_survey.rs`.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use browser::*;
use chrono::Utc;
use common::TestApp;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use regex::Regex;
use serde_json::json;
use ykien::services::accounts::{AccountRequest, add_official};

const COMMUNE: &str = "11953";
/// The officials' browser: an office desktop.
/// How long to wait for an element or a page on a slow, shared machine.
const PASSWORD: &str = "một mật khẩu đủ dài 2026";
const PHOTO: &str = "tests/fixtures/photos/photo_gps.jpg";
const TOO_SHORT: &str = "Ổ gà to";
const TOO_SHORT_ERROR: &str = "Xin mô tả rõ hơn (ít nhất 15 ký tự): việc gì, ở đâu, từ khi nào.";
const REPORT: &str = "Đường liên thôn trước nhà văn hoá tổ 5 có ổ gà lớn, xe máy ngã nhiều lần từ tuần trước.";
const WHAT_WAS_DONE: &str =
    "Ngày 20/11 tổ công tác đã vá 2 ổ gà trước nhà văn hoá tổ 5 bằng bê tông nhựa; đã thông xe trở lại.";
const BY_UNIT: &str = "Phòng Kinh tế, Hạ tầng và Đô thị phường Phố Hiến";
const LEGAL_BASIS: &str = "Kế hoạch duy tu đường giao thông năm 2026";
const COMMENT: &str = "Xử lý nhanh, đường đã đi lại bình thường.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_files_a_case_with_a_photo_and_an_official_answers_it_in_chromium() {
    if skip_without_browser() {
        return;
    }
    let started = Instant::now();
    let out = output_dir("browser_cases");
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let driver = ChromeDriver::start().await;
    let (phone_profile, desk_profile) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let phone = driver.chromium(phone_profile.path(), Screen::Phone).await;
    let desk = driver.chromium(desk_profile.path(), Screen::Desktop).await;

    // The walk runs in its own task so that a failed assertion still closes the browsers before the panic goes on.
    let walk = tokio::spawn(walk_the_case(phone.clone(), desk.clone(), app, out.clone())).await;
    let _ = phone.close().await;
    let _ = desk.close().await;
    drop(driver);
    if let Err(e) = walk {
        std::panic::resume_unwind(e.into_panic());
    }

    for (kind, width) in [
        ("report_form", Some(WIDTH)),
        ("tracking_before", Some(WIDTH)),
        ("console_case", None),
        ("tracking_after", Some(WIDTH)),
    ] {
        let path = out.join(format!("{kind}.png"));
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            png.len() > 24 && png.starts_with(&PNG_SIGNATURE),
            "{} is not a PNG",
            path.display()
        );
        if let Some(width) = width {
            let shown = u32::from_be_bytes(png[16..20].try_into().unwrap());
            assert_eq!(shown, width, "{}: a phone-wide screenshot", path.display());
        }
    }
    println!(
        "browser case walked in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
}

/// An official of ward 11953 (Phường Phố Hiến), added the way `ykien accounts add` does.
async fn official(app: &TestApp, username: &str, role: &str, office: Option<&str>) {
    let request = AccountRequest {
        username: username.into(),
        display_name: format!("Cán bộ {username}"),
        password: PASSWORD.into(),
        role: role.into(),
        office: office.map(Into::into),
        unit_codes: vec![COMMUNE.into()],
    };
    add_official(&app.app.store, request, ykien::domain::calendar::vn_day(Utc::now()))
        .await
        .unwrap();
}

async fn walk_the_case(phone: Client, desk: Client, app: TestApp, out: PathBuf) {
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join(PHOTO);
    assert!(photo.is_file(), "{}", photo.display());
    let photo = photo.to_str().unwrap();

    // (1) The citizen, on a phone: the report form, in Vietnamese, no wider than the screen.
    let c = &phone;
    let form_path = format!("/f/{COMMUNE}");
    c.goto(&app.url(&form_path)).await.unwrap();
    wait_for_loaded(c).await;
    let viewport = c
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    assert_eq!(viewport, json!([WIDTH, HEIGHT]), "the viewport is a 360×640 phone");
    let h1 = find(c, "h1").await.text().await.unwrap();
    assert!(
        h1.contains("Gửi phản ánh, kiến nghị") && h1.contains("Phường Phố Hiến"),
        "h1: {h1}"
    );
    assert_fits(c, "the report form").await;
    screenshot(c, &out, "report_form").await;

    // A first try too short: refused in Vietnamese on the same form, the category and the text kept.
    tap_option(c, "category", "road").await;
    type_into(c, "textarea[name=text]", TOO_SHORT).await;
    click_and_wait(c, &button(c, "Gửi phản ánh").await).await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        form_path,
        "a refused report stays"
    );
    let alert = find(c, "div.summary[role=alert]").await.text().await.unwrap();
    assert!(alert.contains("Xin xem lại"), "alert: {alert}");
    let errors = texts(c, "p.err").await;
    assert!(
        errors.iter().any(|e| e == TOO_SHORT_ERROR),
        "the too-short text is explained: {errors:?}"
    );
    let kept = find(c, "textarea[name=text]").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some(TOO_SHORT), "the typed text is kept");
    assert!(is_checked(c, "category", "road").await, "the category is kept");
    assert_fits(c, "the refused report form").await;

    // The real report: a clear description and the photo, chosen again.
    type_into(c, "textarea[name=text]", REPORT).await;
    find(c, "input[type=file][name=photos]")
        .await
        .send_keys(photo)
        .await
        .unwrap();
    let chosen = c
        .execute(
            "return document.querySelector('input[name=photos]').files.length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, json!(1), "one photo chosen");
    click_and_wait(c, &button(c, "Gửi phản ánh").await).await;
    let tracking = c.current_url().await.unwrap();
    let tracking_path = tracking.path().to_owned();
    let code = tracking_path.strip_prefix("/t/").unwrap_or_default().to_owned();
    assert!(
        Regex::new(r"^PA-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
            .unwrap()
            .is_match(&code),
        "lands on a tracking page: {tracking}"
    );
    assert_eq!(find(c, "h1").await.text().await.unwrap(), code);
    let page = body_text(c).await;
    for shown in ["Đã tiếp nhận", "1 ảnh đính kèm", REPORT] {
        assert!(page.contains(shown), "the tracking page shows “{shown}”:\n{page}");
    }
    assert_fits(c, "the tracking page").await;
    screenshot(c, &out, "tracking_before").await;

    // (2) The officials, in a desktop browser: the intake desk takes the case up and assigns it.
    official(&app, "tiepnhan", "intake", None).await;
    official(&app, "kinhte", "commune_officer", Some("commune_economic")).await;
    let d = &desk;
    log_in(d, &app, "tiepnhan").await;
    open_from_inbox(d, &code).await;
    assert!(body_text(d).await.contains(REPORT), "the intake desk reads the report");
    open_action(d, "Thụ lý").await;
    submit_action(d, "Thụ lý").await;
    assert_state(d, &code, "Đã thụ lý").await;
    let assign = open_action(d, "Giao xử lý").await;
    assign
        .find(Locator::Css("select[name=office]"))
        .await
        .unwrap()
        .select_by_value("commune_economic")
        .await
        .unwrap();
    submit_action(d, "Giao xử lý").await;
    assert_state(d, &code, "Đang xử lý").await;
    click_and_wait(d, &button(d, "Đăng xuất").await).await;
    assert_eq!(d.current_url().await.unwrap().path(), "/console/login");

    // The ward's economic office answers, with what was done and a photo of the result.
    log_in(d, &app, "kinhte").await;
    open_from_inbox(d, &code).await;
    let answer = open_action(d, "Trả lời").await;
    assert!(WHAT_WAS_DONE.chars().count() >= 40);
    type_in(&answer, "textarea[name=what_was_done]", WHAT_WAS_DONE).await;
    type_in(&answer, "input[name=by_unit]", BY_UNIT).await;
    type_in(&answer, "input[name=legal_basis]", LEGAL_BASIS).await;
    answer
        .find(Locator::Css("input[type=file][name=evidence]"))
        .await
        .unwrap()
        .send_keys(photo)
        .await
        .unwrap();
    submit_action(d, "Trả lời").await;
    assert_state(d, &code, "Đã trả lời").await;
    let page = body_text(d).await;
    assert!(
        page.contains(WHAT_WAS_DONE) && page.contains(BY_UNIT),
        "the console shows the answer:\n{page}"
    );
    let files = texts(d, "a[href^='/console/files/']").await;
    assert_eq!(files, ["ảnh 1", "kết quả 2"], "the report's photo and the evidence");
    screenshot(d, &out, "console_case").await;

    // (3) The citizen reloads the tracking page: the answer, its evidence, and the rating form.
    let c = &phone;
    reload(c).await;
    assert_eq!(c.current_url().await.unwrap().path(), tracking_path);
    let page = body_text(c).await;
    for shown in ["Đã trả lời", WHAT_WAS_DONE, BY_UNIT, "Hình ảnh kết quả"] {
        assert!(page.contains(shown), "the tracking page shows “{shown}”:\n{page}");
    }
    let evidence = find(c, &format!("a[href^='{tracking_path}/files/']")).await;
    let href = evidence.attr("href").await.unwrap().unwrap();
    assert_fits(c, "the answered tracking page").await;
    screenshot(c, &out, "tracking_after").await;

    tap_option(c, "score", "5").await;
    type_into(c, "textarea[name=comment]", COMMENT).await;
    click_and_wait(c, &button(c, "Gửi đánh giá").await).await;
    assert_eq!(c.current_url().await.unwrap().path(), tracking_path);
    let page = body_text(c).await;
    assert!(
        page.contains("Đánh giá của người phản ánh: 5/5"),
        "the rating shows:\n{page}"
    );

    // The evidence link opens the photo of the result (public, an image).
    c.goto(&app.url(&href)).await.unwrap();
    wait_for_loaded(c).await;
    let kind = c.execute("return document.contentType;", vec![]).await.unwrap();
    assert_eq!(kind, json!("image/jpeg"), "{href} is the evidence photo");

    // The store agrees.
    let store = &app.app.store;
    let case = store.case_by_code(&code).await.unwrap().unwrap();
    assert_eq!(case.state, ykien::domain::cases::CaseState::Answered);
    assert_eq!(
        store.case_rating(case.id).await.unwrap().map(|r| (r.score, r.comment)),
        Some((5, Some(COMMENT.to_owned())))
    );
    let answers = store.case_answers(case.id).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].what_was_done, WHAT_WAS_DONE);
    let sources: Vec<String> = store
        .case_attachments(case.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.source)
        .collect();
    assert_eq!(sources, ["report", "answer"]);
    app.stop().await;
}

/// Signs `username` in on the console's login page; lands on the inbox.
async fn log_in(c: &Client, app: &TestApp, username: &str) {
    c.goto(&app.url("/console/login")).await.unwrap();
    wait_for_loaded(c).await;
    type_into(c, "input[name=username]", username).await;
    type_into(c, "input[name=password]", PASSWORD).await;
    click_and_wait(c, &button(c, "Đăng nhập").await).await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/console",
        "{username} is signed in"
    );
    assert_eq!(find(c, "h1").await.text().await.unwrap(), "Hộp thư phản ánh");
}

/// Opens the case from the inbox by its code link.
async fn open_from_inbox(c: &Client, code: &str) {
    let link = c
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::LinkText(code))
        .await
        .unwrap_or_else(|e| panic!("no link {code} in the inbox after {WAIT:?}: {e}"));
    click_and_wait(c, &link).await;
    assert_eq!(c.current_url().await.unwrap().path(), format!("/console/cases/{code}"));
    assert_eq!(find(c, "h1").await.text().await.unwrap(), code);
}

/// Opens the action whose summary is `title` on a console case page; returns its `<details>`.
async fn open_action(c: &Client, title: &str) -> Element {
    let xpath = format!("//details[summary[normalize-space(.)='{title}']]");
    let details = c
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no action “{title}” after {WAIT:?}: {e}"));
    details
        .find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let open = details.attr("open").await.unwrap();
    assert!(open.is_some(), "“{title}” opens");
    details
}

/// Submits the open action `title` and waits for the case page again.
async fn submit_action(c: &Client, title: &str) {
    let xpath = format!("//details[summary[normalize-space(.)='{title}']]//button[normalize-space(.)='{title}']");
    let submit = c.find(Locator::XPath(&xpath)).await.unwrap();
    click_and_wait(c, &submit).await;
    let path = c.current_url().await.unwrap().path().to_owned();
    assert!(path.starts_with("/console/cases/"), "after “{title}”: {path}");
    assert_eq!(
        find(c, "h1").await.text().await.unwrap(),
        path.trim_start_matches("/console/cases/"),
        "after “{title}”:\n{}",
        body_text(c).await
    );
}

/// The console case page says the case is in `label`.
async fn assert_state(c: &Client, code: &str, label: &str) {
    let shown = find(c, "h1 + p strong").await.text().await.unwrap();
    assert_eq!(shown, label, "{code}");
}

/// The texts of every element matching `css`.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut all = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        all.push(e.text().await.unwrap());
    }
    all
}

async fn body_text(c: &Client) -> String {
    find(c, "body").await.text().await.unwrap()
}

/// Reloads the page, as the citizen's pull-to-refresh does, and waits for it.
async fn reload(c: &Client) {
    mark_page(c).await;
    c.refresh().await.unwrap();
    wait_for_next_page(c).await;
}

/// Taps the label of the radio `name` = `value`.
async fn tap_option(c: &Client, name: &str, value: &str) {
    find(c, &format!("label.opt:has(> input[name='{name}'][value='{value}'])"))
        .await
        .click()
        .await
        .unwrap();
    assert!(is_checked(c, name, value).await, "tapping {name}={value} checks it");
}

async fn is_checked(c: &Client, name: &str, value: &str) -> bool {
    let script = "const [name, value] = arguments;
        return Array.from(document.getElementsByName(name)).some(f => f.checked && f.value === value);";
    c.execute(script, vec![json!(name), json!(value)]).await.unwrap() == json!(true)
}

/// Clears a box or text area and types `value` into it, like a thumb on a keyboard.
async fn type_into(c: &Client, css: &str, value: &str) {
    let input = find(c, css).await;
    fill(&input, css, value).await;
}

/// Like `type_into`, within one form.
async fn type_in(within: &Element, css: &str, value: &str) {
    let input = within.find(Locator::Css(css)).await.unwrap();
    fill(&input, css, value).await;
}

async fn fill(input: &Element, css: &str, value: &str) {
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
    let typed = input.prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some(value), "typed into {css}");
}

/// Nothing on the page is wider than the phone: no sideways scrolling.
async fn assert_fits(c: &Client, what: &str) {
    let width = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(
        width <= i64::from(WIDTH),
        "{what} is {width} px wide on a {WIDTH} px screen"
    );
}
