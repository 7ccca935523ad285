//! Officials' accounts end to end in Chromium (issue 20): an administrator disables an account and its open
//! session in another browser ends at once; the official, enabled again, asks "Quên mật khẩu?", follows the link
//! the real SMTP server (aiosmtpd) received and sets a new password; then turns two-factor sign-in on from the
//! account page, and signs in with a code after a wrong one is refused. Screenshots of the set-up page and the
//! refused code go to `target/test-output/browser_accounts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (without them the test prints a `SKIPPED` line, which CI
//! refuses) and aiosmtpd. SQLite only: the storage under it is tested on both engines in `accounts_security.rs`.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/smtp.rs"]
mod smtp;

use browser::*;
use chrono::{Duration, Utc};
use common::{PASSWORD, TestApp, official};
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use smtp::SmtpServer;
use ykien::domain::alerts::AlertSettings;
use ykien::services::two_factor;

const EMAIL: &str = "canbo@phohien.hungyen.gov.vn";
const NEW_PASSWORD: &str = "mật khẩu mới từ thư 2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_is_disabled_resets_the_password_by_email_and_signs_in_with_a_code_in_chromium() {
    if skip_without_browser() {
        return;
    }
    let out = output_dir("browser_accounts");
    let mail = SmtpServer::start().await;
    // The link in the email must reach this server: its public address is the port it listens on.
    let port = smtp::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let app = TestApp::start_configured(
        common::TestDb::sqlite(),
        &[
            ("YKIEN_BIND", bind.as_str()),
            ("YKIEN_PUBLIC_URL", public.as_str()),
            ("YKIEN_SMTP_URL", &mail.url()),
            ("YKIEN_MAIL_FROM", "ykien@hungyen.gov.vn"),
        ],
    )
    .await;
    ykien::services::units::import_bundled_hung_yen(&app.app.store)
        .await
        .unwrap();
    official(&app.app.store, "quantri", "admin", None, &[]).await;
    let canbo = official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let settings = AlertSettings {
        email: Some(EMAIL.into()),
        ..AlertSettings::default()
    };
    ykien::services::alerts::save_settings(&app.app.store, canbo.id, &settings, Utc::now())
        .await
        .unwrap();

    let driver = ChromeDriver::start().await;
    let (admin_profile, officer_profile) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let admin = driver.chromium(admin_profile.path(), Screen::Desktop).await;
    let officer = driver.chromium(officer_profile.path(), Screen::Desktop).await;
    // The walk runs in its own task so that a failed assertion still closes the browsers before the panic goes on.
    let walk = tokio::spawn(walk(admin.clone(), officer.clone(), app, mail, out.clone())).await;
    let _ = admin.close().await;
    let _ = officer.close().await;
    drop(driver);
    if let Err(e) = walk {
        std::panic::resume_unwind(e.into_panic());
    }
    for name in ["two_factor_setup", "wrong_code"] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(&PNG_SIGNATURE), "{name}.png");
    }
}

async fn walk(admin: Client, officer: Client, app: TestApp, mail: SmtpServer, out: std::path::PathBuf) {
    // Disabled by an administrator: the official's open session ends at once.
    log_in(&officer, &app, "canbo", PASSWORD).await;
    log_in(&admin, &app, "quantri", PASSWORD).await;
    admin.goto(&app.url("/console/users")).await.unwrap();
    wait_for_loaded(&admin).await;
    click_and_wait(&admin, &row_button(&admin, "canbo", "Khoá tài khoản").await).await;
    assert!(
        find(&admin, "#user-canbo")
            .await
            .text()
            .await
            .unwrap()
            .contains("Đã khoá")
    );
    officer.goto(&app.url("/console")).await.unwrap();
    wait_for_loaded(&officer).await;
    assert_eq!(
        officer.current_url().await.unwrap().path(),
        "/console/login",
        "the session ended"
    );
    click_and_wait(&admin, &row_button(&admin, "canbo", "Mở khoá").await).await;

    // "Quên mật khẩu?": the link comes by email, sets a new password once.
    click_and_wait(&officer, &link(&officer, "Quên mật khẩu?").await).await;
    type_into(&officer, "input[name=who]", "canbo").await;
    click_and_wait(&officer, &button(&officer, "Gửi liên kết").await).await;
    assert!(
        body_text(&officer)
            .await
            .contains("liên kết đặt lại mật khẩu đã được gửi")
    );
    let message = mail.wait_for(EMAIL, "Đặt lại mật khẩu").await;
    let text = message["text"].as_str().unwrap();
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{}/console/password/reset/", app.base)))
        .unwrap_or_else(|| panic!("no link to this server in {text}"))
        .to_owned();
    officer.goto(&url).await.unwrap();
    wait_for_loaded(&officer).await;
    type_into(&officer, "input[name=password]", NEW_PASSWORD).await;
    type_into(&officer, "input[name=repeated]", NEW_PASSWORD).await;
    click_and_wait(&officer, &button(&officer, "Đặt mật khẩu").await).await;
    assert!(body_text(&officer).await.contains("Đã đặt mật khẩu mới"));
    officer.goto(&url).await.unwrap();
    wait_for_loaded(&officer).await;
    assert!(
        body_text(&officer).await.contains("đã được dùng"),
        "the link works once"
    );
    log_in(&officer, &app, "canbo", NEW_PASSWORD).await;

    // Two-factor sign-in: on with a first code, then asked after the password; a wrong code is refused.
    officer.goto(&app.url("/console/account/2fa")).await.unwrap();
    wait_for_loaded(&officer).await;
    let secret = find(&officer, "#totp-secret").await.text().await.unwrap();
    let qr = find(&officer, "img[alt^='Mã QR']").await;
    assert!(
        qr.attr("src")
            .await
            .unwrap()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    screenshot(&officer, &out, "two_factor_setup").await;
    type_into(&officer, "input[name=code]", &code_at(&secret, 0)).await;
    click_and_wait(&officer, &button(&officer, "Bật xác thực hai bước").await).await;
    assert!(body_text(&officer).await.contains("Đã bật xác thực hai bước"));
    click_and_wait(&officer, &button(&officer, "Đăng xuất").await).await;

    officer.goto(&app.url("/console/login")).await.unwrap();
    wait_for_loaded(&officer).await;
    type_into(&officer, "input[name=username]", "canbo").await;
    type_into(&officer, "input[name=password]", NEW_PASSWORD).await;
    click_and_wait(&officer, &button(&officer, "Đăng nhập").await).await;
    assert_eq!(officer.current_url().await.unwrap().path(), "/console/login/code");
    let next = code_at(&secret, 30);
    let wrong = format!("{:06}", (next.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    type_into(&officer, "input[name=code]", &wrong).await;
    click_and_wait(&officer, &button(&officer, "Xác nhận").await).await;
    assert!(
        find(&officer, "p.err")
            .await
            .text()
            .await
            .unwrap()
            .contains("Mã không đúng")
    );
    screenshot(&officer, &out, "wrong_code").await;
    type_into(&officer, "input[name=code]", &next).await;
    click_and_wait(&officer, &button(&officer, "Xác nhận").await).await;
    assert_eq!(officer.current_url().await.unwrap().path(), "/console");
    assert_eq!(find(&officer, "h1").await.text().await.unwrap(), "Hộp thư phản ánh");
    app.stop().await;
}

/// The code an authenticator app shows for `secret` (base32) at `seconds` from now.
fn code_at(secret: &str, seconds: i64) -> String {
    let bytes = two_factor::from_base32(secret).unwrap();
    two_factor::current_code(&bytes, Utc::now() + Duration::seconds(seconds)).unwrap()
}

/// Signs `username` in on the console's login page; lands on the inbox.
async fn log_in(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.goto(&app.url("/console/login")).await.unwrap();
    wait_for_loaded(c).await;
    type_into(c, "input[name=username]", username).await;
    type_into(c, "input[name=password]", password).await;
    click_and_wait(c, &button(c, "Đăng nhập").await).await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/console",
        "{username} is signed in"
    );
}

/// The button showing `text` in the row of `username` on the accounts page.
async fn row_button(c: &Client, username: &str, text: &str) -> Element {
    let xpath = format!("//tr[@id='user-{username}']//button[normalize-space(.)='{text}']");
    c.wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button “{text}” for {username}: {e}"))
}

/// The link showing `text` (exactly).
async fn link(c: &Client, text: &str) -> Element {
    let xpath = format!("//a[normalize-space(.)='{text}']");
    c.wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no link “{text}”: {e}"))
}

async fn body_text(c: &Client) -> String {
    find(c, "body").await.text().await.unwrap()
}

async fn type_into(c: &Client, css: &str, value: &str) {
    let input = find(c, css).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
    assert_eq!(
        input.prop("value").await.unwrap().as_deref(),
        Some(value),
        "typed into {css}"
    );
}
