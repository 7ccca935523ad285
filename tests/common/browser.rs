//! WebDriver helpers shared by the real-browser tests: chromedriver on a free port, headless Chromium as a
//! phone (360×640 device emulation) or a desktop, waits instead of sleeps, screenshots. Included with
//! `#[path = "common/browser.rs"] mod browser;` by the browser tests only, so other tests do not link it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const WIDTH: u32 = 360;
pub const HEIGHT: u32 = 640;
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const WAIT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(100);
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Whether the browser tests can run here; prints the `SKIPPED` line CI refuses when they cannot.
pub fn skip_without_browser() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return false;
    }
    // Written past the test harness's capture, so the skip shows in every run's output.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED browser test: chromium/chromedriver not installed"
    );
    true
}

/// The two kinds of browser: a citizen's phone and an official's desktop.
#[derive(Clone, Copy)]
pub enum Screen {
    Phone,
    Desktop,
}

/// chromedriver on a free port of 127.0.0.1, killed when dropped.
pub struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when /status says so.
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
                && let Ok(status) = r.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                return driver;
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited at start: {exit}");
            }
            assert!(Instant::now() < deadline, "chromedriver is not ready after 30 s");
            tokio::time::sleep(POLL).await;
        }
    }

    /// A new session of headless Chromium with its own fresh profile in `profile`.
    pub async fn chromium(&self, profile: &Path, screen: Screen) -> Client {
        let (width, height) = match screen {
            Screen::Phone => (WIDTH, HEIGHT),
            Screen::Desktop => DESKTOP,
        };
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        let mut options = json!({ "binary": CHROMIUM, "args": args });
        if let Screen::Phone = screen {
            // Desktop Chromium keeps a window at least 500 px wide whatever --window-size says; the phone's
            // viewport comes from chromedriver's device emulation (a mobile viewport honouring
            // `<meta name=viewport>`).
            let phone = json!({ "width": WIDTH, "height": HEIGHT, "pixelRatio": 1, "mobile": true, "touch": true });
            options["mobileEmulation"] = json!({ "deviceMetrics": phone });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        // chromedriver speaks plain HTTP on 127.0.0.1: no TLS (hence no OpenSSL) is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a test's screenshots go: `target/test-output/{test}/`, emptied first.
pub fn output_dir(test: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_owned();
    let dir = target.join("test-output").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first element matching `css`, waiting for it.
pub async fn find(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} after {WAIT:?}: {e}"))
}

/// The submit button showing `text` (exactly).
pub async fn button(c: &Client, text: &str) -> Element {
    let xpath = format!("//button[normalize-space(.)='{text}']");
    c.wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button “{text}” after {WAIT:?}: {e}"))
}

/// Waits until the document has finished loading.
pub async fn wait_for_loaded(c: &Client) {
    wait_until(c, "return document.readyState === 'complete';", "the page to load").await;
}

/// Marks the current page, so that its replacement can be told apart: right after a click the old page still
/// reads as loaded until the navigation begins, the later the busier the machine.
pub async fn mark_page(c: &Client) {
    c.execute("window.__ykienOldPage = true; return true;", vec![])
        .await
        .unwrap();
}

/// Waits until another page has replaced the one [`mark_page`] marked, and has loaded.
pub async fn wait_for_next_page(c: &Client) {
    wait_until(
        c,
        "return window.__ykienOldPage !== true && document.readyState === 'complete';",
        "the next page",
    )
    .await;
}

/// Clicks `element` (a submit button or a link) and waits until another page has replaced this one and loaded.
pub async fn click_and_wait(c: &Client, element: &Element) {
    mark_page(c).await;
    element.click().await.unwrap();
    wait_for_next_page(c).await;
}

/// Polls `script` until it returns `true`; errors (a page still navigating) count as not yet.
pub async fn wait_until(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Value::Bool(true)) = c.execute(script, vec![]).await {
            return;
        }
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Saves what the browser shows as `NAME.png`.
pub async fn screenshot(c: &Client, out: &Path, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(out.join(format!("{name}.png")), png).unwrap();
}
