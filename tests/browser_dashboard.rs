//! The leaders' dashboard in a real browser (headless Chromium at office-desktop size, over WebDriver), on the demo
//! data: the province leader signs in on the console, follows "Bảng điểm", sees the ranking and every chart
//! actually drawn (images decoded by the browser at their declared size), opens a commune and its printable
//! report. Screenshots go to `target/test-output/browser_dashboard/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test prints a `SKIPPED` line (which CI
//! refuses) and passes.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::PathBuf;

use browser::*;
use common::TestApp;
use fantoccini::{Client, Locator};
use ykien::services::demo::{self, DEMO_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_reads_the_dashboard_and_a_communes_report_in_chromium() {
    if skip_without_browser() {
        return;
    }
    let out = output_dir("browser_dashboard");
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    demo::prepare(&app.app.store).await.unwrap();
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let desk = driver.chromium(profile.path(), Screen::Desktop).await;
    // The walk runs in its own task so that a failed assertion still closes the browser before the panic goes on.
    let walk = tokio::spawn(walk(desk.clone(), app, out.clone())).await;
    let _ = desk.close().await;
    drop(driver);
    if let Err(e) = walk {
        std::panic::resume_unwind(e.into_panic());
    }
    for name in ["overview", "commune", "report"] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(&PNG_SIGNATURE), "{name}.png");
    }
}

/// Every `img` of the page, scrolled into view so that lazy images load, has been decoded: (src, natural width).
async fn images(c: &Client) -> Vec<(String, i64)> {
    wait_until(
        c,
        "for (const i of document.images) { i.loading = 'eager'; }
         return Array.from(document.images).every(i => i.complete);",
        "every chart to load",
    )
    .await;
    let found = c
        .execute(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);",
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_i64().unwrap()))
        .collect()
}

/// A first look may find the scores still being computed: the page says so, and the leader reloads it.
async fn until_computed(c: &Client) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while find(c, "h1").await.text().await.unwrap() == "Đang tính điểm" {
        assert!(std::time::Instant::now() < deadline, "the scores were never computed");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        c.refresh().await.unwrap();
        wait_for_loaded(c).await;
    }
}

async fn walk(c: Client, app: TestApp, out: PathBuf) {
    c.goto(&app.url("/console/login")).await.unwrap();
    wait_for_loaded(&c).await;
    find(&c, "input[name=username]")
        .await
        .send_keys("lanhdao.hungyen")
        .await
        .unwrap();
    find(&c, "input[name=password]")
        .await
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    click_and_wait(&c, &button(&c, "Đăng nhập").await).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/console");

    // From the console's menu to the dashboard: the session cookie reaches it.
    click_and_wait(&c, &c.find(Locator::LinkText("Bảng điểm")).await.unwrap()).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/console/dashboard");
    until_computed(&c).await;
    assert_eq!(find(&c, "h1").await.text().await.unwrap(), "Bảng điểm PAPI cấp xã");
    let shown = images(&c).await;
    assert!(shown.len() >= 4, "heatmap, ranking, map and feedback charts: {shown:?}");
    for (src, width) in &shown {
        assert_eq!(*width, 1000, "{src} drawn at its declared width");
    }
    screenshot(&c, &out, "overview").await;

    // The best-ranked commune's page: its name, its charts, its weakest sub-dimensions.
    let first = c.find(Locator::Css("table tbody tr td a")).await.unwrap();
    let name = first.text().await.unwrap();
    click_and_wait(&c, &first).await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/console/dashboard/units/")
    );
    assert_eq!(find(&c, "h1").await.text().await.unwrap(), name);
    let body = find(&c, "main").await.text().await.unwrap();
    assert!(body.contains("Ba nội dung thành phần yếu nhất"), "{body}");
    let shown = images(&c).await;
    assert!(
        shown.iter().any(|(src, w)| src.contains("profile.svg") && *w == 1000),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|(src, w)| src.contains("radar.svg") && *w == 1000),
        "{shown:?}"
    );
    screenshot(&c, &out, "commune").await;

    // Its printable report.
    click_and_wait(&c, &c.find(Locator::LinkText("Báo cáo in được")).await.unwrap()).await;
    until_computed(&c).await;
    let title = find(&c, "h1").await.text().await.unwrap();
    assert!(title.starts_with("Báo cáo") && title.ends_with(&name), "{title}");
    let body = find(&c, "main").await.text().await.unwrap();
    assert!(
        body.contains("Phương pháp") && body.contains("Khoảng tin cậy"),
        "{body}"
    );
    screenshot(&c, &out, "report").await;
    app.stop().await;
}
