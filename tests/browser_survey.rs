//! The web survey end to end in a real browser: headless Chromium at a phone's 360×640 viewport, driven over
//! WebDriver (chromedriver) against the real service. A citizen answers every screen by tapping labels and
//! typing, meets a refused screen, goes back, closes the tab and resumes, and ends on the thank-you page.
//! Screenshots of each kind of page are written to `target/test-output/browser_survey/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test prints a `SKIPPED` line (which CI
//! refuses) and passes.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use browser::*;
use common::TestApp;
use fantoccini::{Client, Locator};
use serde_json::json;

const COMMUNE: &str = "11953";
/// How long to wait for an element or a page on a slow, shared machine.
const NOT_ANSWERED: &str = "Anh/chị chưa trả lời câu hỏi này.";
const TEXT_ANSWER: &str = "Sửa đường liên thôn, lắp đèn đường";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_answers_the_whole_survey_in_chromium_at_360_px() {
    if skip_without_browser() {
        return;
    }
    let started = Instant::now();
    let out = output_dir("browser_survey");
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.chromium(profile.path(), Screen::Phone).await;

    // The walk runs in its own task so that a failed assertion still closes the browser before the panic goes on.
    let walk = tokio::spawn(walk_the_survey(browser.clone(), app, out.clone())).await;
    let _ = browser.close().await;
    drop(driver);
    if let Err(e) = walk {
        std::panic::resume_unwind(e.into_panic());
    }

    for kind in ["landing", "question", "error", "thanks"] {
        let path = out.join(format!("{kind}.png"));
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            png.len() > 24 && png.starts_with(&PNG_SIGNATURE),
            "{} is not a PNG",
            path.display()
        );
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert_eq!(width, WIDTH, "{}: a phone-wide screenshot", path.display());
    }
    println!(
        "browser survey walked in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
}

/// What the browser shows of one question.
#[derive(Debug)]
struct Question {
    code: String,
    /// (value, label) of each `a_` radio.
    options: Vec<(String, String)>,
    /// (min, max) of a number box.
    number: Option<(i64, i64)>,
    text: bool,
}

/// What the citizen gave on a screen, to check after going back: `a_CODE` → value.
type Given = BTreeMap<String, String>;

async fn walk_the_survey(c: Client, app: TestApp, out: PathBuf) {
    let landing_path = format!("/s/{COMMUNE}");
    let screen_path = format!("/s/{COMMUNE}/q");

    // The landing page at a phone's width, in Vietnamese, with nothing wider than the screen.
    c.goto(&app.url(&landing_path)).await.unwrap();
    wait_for_loaded(&c).await;
    let viewport = c
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await
        .unwrap();
    assert_eq!(viewport, json!([WIDTH, HEIGHT]), "the viewport is a 360×640 phone");
    let title = c.title().await.unwrap();
    assert!(title.starts_with("Khảo sát – Phường Phố Hiến"), "title: {title}");
    let h1 = find(&c, "h1").await.text().await.unwrap();
    assert!(h1.contains("Khảo sát ý kiến người dân"), "h1: {h1}");
    let lang = find(&c, "html").await.attr("lang").await.unwrap();
    assert_eq!(lang.as_deref(), Some("vi"));
    assert_fits(&c, "the landing page").await;
    screenshot(&c, &out, "landing").await;
    click_and_wait(&c, &button(&c, "Bắt đầu").await).await;

    let mut given: BTreeMap<String, Given> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut yes_answers = 0;
    let (mut refused, mut went_back, mut resumed) = (false, false, false);
    let mut widest: Vec<String> = Vec::new();
    for step in 0.. {
        assert!(step < 300, "the survey never ends");
        let path = c.current_url().await.unwrap().path().to_owned();
        if path.ends_with("/thanks") {
            break;
        }
        assert_eq!(path, screen_path, "step {step}");
        let screen = screen_of(&c).await;
        let width = scroll_width(&c).await;
        if width > i64::from(WIDTH) {
            widest.push(format!("screen {screen}: {width} px"));
        }
        if step == 0 {
            screenshot(&c, &out, "question").await;
        }

        // Once: back to the previous screen, whose answers are still checked, then on again from there.
        if !went_back && order.len() >= 2 {
            went_back = true;
            let previous = order.last().unwrap().clone();
            click_and_wait(&c, &button(&c, "Quay lại").await).await;
            assert_eq!(screen_of(&c).await, previous, "back shows the previous screen");
            let earlier = &given[&previous];
            assert!(!earlier.is_empty());
            for (name, value) in earlier {
                assert!(
                    is_given(&c, name, value).await,
                    "after going back, {name}={value} is still given"
                );
            }
            continue;
        }

        // Once: the tab is closed; the landing page offers to continue, and the survey resumes on this screen.
        if went_back && !resumed && order.len() >= 6 {
            resumed = true;
            c.goto(&app.url("/")).await.unwrap();
            wait_for_loaded(&c).await;
            assert_eq!(c.current_url().await.unwrap().path(), "/");
            c.goto(&app.url(&landing_path)).await.unwrap();
            wait_for_loaded(&c).await;
            click_and_wait(&c, &button(&c, "Tiếp tục khảo sát").await).await;
            assert_eq!(c.current_url().await.unwrap().path(), screen_path);
            assert_eq!(screen_of(&c).await, screen, "the survey resumes where it was");
        }

        let questions = questions_of(&c).await;
        assert!(!questions.is_empty(), "screen {screen} asks nothing");
        seen.extend(questions.iter().map(|q| q.code.clone()));

        // Once: a screen with a number box and other questions, sent with only the number typed: refused in
        // Vietnamese on the same page, the typed number kept, nothing else moves.
        if !refused
            && questions.len() > 1
            && let Some(typed) = questions.iter().find(|q| q.number.is_some())
        {
            refused = true;
            let value = number_for(typed).to_string();
            type_into(&c, &format!("input[name='a_{}']", typed.code), &value).await;
            click_and_wait(&c, &button(&c, "Tiếp tục").await).await;
            assert_eq!(c.current_url().await.unwrap().path(), screen_path);
            assert_eq!(screen_of(&c).await, screen, "a refused screen stays");
            let alert = find(&c, "div.summary[role=alert]").await.text().await.unwrap();
            assert!(alert.contains("Xin xem lại"), "alert: {alert}");
            // The summary links every refused question, so a phone user can jump to it.
            let links = c.find_all(Locator::Css("div.summary a")).await.unwrap();
            assert_eq!(links.len(), questions.len() - 1, "one link per unanswered question");
            for q in &questions {
                let error = c.find_all(Locator::Css(&format!("#q-{} p.err", q.code))).await.unwrap();
                if q.code == typed.code {
                    assert!(error.is_empty(), "{} was answered", q.code);
                } else {
                    assert_eq!(error.len(), 1, "{} is marked", q.code);
                    assert_eq!(error[0].text().await.unwrap(), NOT_ANSWERED);
                }
            }
            let kept = find(&c, &format!("input[name='a_{}']", typed.code))
                .await
                .prop("value")
                .await
                .unwrap();
            assert_eq!(kept.as_deref(), Some(value.as_str()), "the typed number is kept");
            assert_fits(&c, "a refused screen").await;
            screenshot(&c, &out, "error").await;
        }

        // Every question answered as a careful citizen would: "Có" where asked (to walk into the skip logic),
        // the first choice elsewhere, a number within bounds, a short text.
        let mut answers = Given::new();
        for q in &questions {
            let name = format!("a_{}", q.code);
            if q.number.is_some() {
                let value = number_for(q).to_string();
                type_into(&c, &format!("input[name='{name}']"), &value).await;
                answers.insert(name, value);
            } else if q.text {
                type_into(&c, &format!("textarea[name='{name}']"), TEXT_ANSWER).await;
                answers.insert(name, TEXT_ANSWER.to_owned());
            } else {
                let (value, label) = q
                    .options
                    .iter()
                    .find(|(v, _)| v == "1")
                    .or(q.options.first())
                    .unwrap_or_else(|| panic!("{} has no choice", q.code))
                    .clone();
                if label == "Có" {
                    yes_answers += 1;
                }
                find(&c, &format!("label.opt:has(> input[name='{name}'][value='{value}'])"))
                    .await
                    .click()
                    .await
                    .unwrap();
                assert!(is_given(&c, &name, &value).await, "tapping “{label}” checks it");
                answers.insert(name, value);
            }
        }
        given.insert(screen.clone(), answers);
        order.push(screen);
        click_and_wait(&c, &button(&c, "Tiếp tục").await).await;
        let status_path = c.current_url().await.unwrap().path().to_owned();
        if status_path == screen_path {
            assert!(
                c.find_all(Locator::Css("p.err")).await.unwrap().is_empty(),
                "an answered screen is accepted"
            );
        }
    }

    assert!(refused, "no screen had a number box beside other questions");
    assert!(went_back && resumed);
    assert!(order.len() > 10, "only {} screens", order.len());
    assert!(yes_answers > 5, "only {yes_answers} “Có”");
    for follow_up in ["d1_4_1", "d5_4_1", "d5_4_2"] {
        assert!(seen.contains(follow_up), "“Có” opened {follow_up}");
    }
    assert!(widest.is_empty(), "screens wider than the phone: {widest:?}");

    let h1 = find(&c, "h1").await.text().await.unwrap();
    assert_eq!(h1, "Xin cảm ơn!");
    assert_fits(&c, "the thank-you page").await;
    screenshot(&c, &out, "thanks").await;

    let wave = app.app.store.wave_by_code("w-open").await.unwrap();
    assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (1, 0));
    app.stop().await;
}

/// A number within the box's bounds: a small one, as a citizen would type.
fn number_for(q: &Question) -> i64 {
    let (min, max) = q.number.unwrap();
    2.clamp(min, max)
}

async fn screen_of(c: &Client) -> String {
    find(c, "input[name=screen]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap()
}

/// Clears a number box or text area and types `value` into it, like a thumb on a keyboard.
async fn type_into(c: &Client, css: &str, value: &str) {
    let input = find(c, css).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
    let typed = input.prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some(value), "typed into {css}");
}

/// Whether `name` shows `value`: a checked radio, or a box holding it.
async fn is_given(c: &Client, name: &str, value: &str) -> bool {
    let script = "const [name, value] = arguments;
        const fields = Array.from(document.getElementsByName(name));
        return fields.some(f => f.type === 'radio' ? (f.checked && f.value === value) : f.value === value);";
    c.execute(script, vec![json!(name), json!(value)]).await.unwrap() == json!(true)
}

/// The visible questions of the current screen, read from the page.
async fn questions_of(c: &Client) -> Vec<Question> {
    let script = "return Array.from(document.querySelectorAll('fieldset.q'))
        .filter(f => f.offsetParent !== null)
        .map(f => {
            const number = f.querySelector('input[type=number]');
            return {
                code: f.id.replace(/^q-/, ''),
                options: Array.from(f.querySelectorAll('input[type=radio][name^=\"a_\"]'))
                    .map(r => [r.value, r.closest('label').textContent.trim()]),
                number: number ? [Number(number.min), Number(number.max)] : null,
                text: f.querySelector('textarea') !== null,
            };
        });";
    let found = c.execute(script, vec![]).await.unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|q| Question {
            code: q["code"].as_str().unwrap().to_owned(),
            options: q["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| (o[0].as_str().unwrap().to_owned(), o[1].as_str().unwrap().to_owned()))
                .collect(),
            number: q["number"]
                .as_array()
                .map(|b| (b[0].as_i64().unwrap(), b[1].as_i64().unwrap())),
            text: q["text"].as_bool().unwrap(),
        })
        .collect()
}

async fn scroll_width(c: &Client) -> i64 {
    c.execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap()
}

/// Nothing on the page is wider than the phone: no sideways scrolling.
async fn assert_fits(c: &Client, what: &str) {
    let width = scroll_width(c).await;
    assert!(
        width <= i64::from(WIDTH),
        "{what} is {width} px wide on a {WIDTH} px screen"
    );
}
