//! Officials' accounts, the security side (issue 20), over real HTTP on both databases, with a real SMTP server
//! (aiosmtpd): a reset link by email sets a new password once and ends the sessions, and a wrong, expired or
//! reused link is refused with a Vietnamese page; the "forgot" form answers the same whatever was typed; TOTP
//! two-factor sign-in asks for a code after the password, refuses a wrong or reused code and counts it toward the
//! sign-in throttle, which an administrator clears from the accounts page; an administrator resets another's 2FA;
//! `YKIEN_REQUIRE_2FA` sends an administrator without it to the set-up page first.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/smtp.rs"]
mod smtp;

use chrono::{Duration, Utc};
use common::{PASSWORD, TestApp, databases, hidden_field, login_form, official, post_login, session};
use smtp::SmtpServer;
use ykien::domain::alerts::AlertSettings;
use ykien::services::account_admin::Actor;
use ykien::services::{password_reset, two_factor};

const PUBLIC: &str = "https://ykien.example.vn";
const EMAIL: &str = "canbo@phohien.hungyen.gov.vn";

async fn start(db: common::TestDb, smtp_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("YKIEN_PUBLIC_URL", PUBLIC),
        ("YKIEN_SMTP_URL", smtp_url),
        ("YKIEN_MAIL_FROM", "Ykien Hưng Yên <ykien@hungyen.gov.vn>"),
    ];
    settings.extend_from_slice(extra);
    let app = TestApp::start_configured(db, &settings).await;
    ykien::services::units::import_bundled_hung_yen(&app.app.store)
        .await
        .unwrap();
    app
}

async fn get_page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_page(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The reset links received so far for `to`, oldest first is not promised: waits until there are `n`.
async fn reset_links(mail: &SmtpServer, to: &str, n: usize) -> Vec<String> {
    for _ in 0..400 {
        let links: Vec<String> = mail
            .messages()
            .into_iter()
            .filter(|m| m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == to))
            .filter_map(|m| {
                let text = m["text"].as_str()?.to_owned();
                let at = text.find("/console/password/reset/")?;
                Some(text[at..].split_whitespace().next()?.to_owned())
            })
            .collect();
        if links.len() >= n {
            return links;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} reset links to {to}: {:?}", mail.messages());
}

#[tokio::test]
async fn a_reset_link_by_email_sets_a_new_password_once_and_ends_the_sessions() {
    for db in databases("a_reset_link_by_email_sets_a_new_password_once_and_ends_the_sessions").await {
        let label = db.label;
        let mail = SmtpServer::start().await;
        let app = start(db, &mail.url(), &[]).await;
        let store = &app.app.store;
        official(store, "quantri", "admin", None, &[]).await;
        let canbo = official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let settings = AlertSettings {
            email: Some(EMAIL.into()),
            ..AlertSettings::default()
        };
        ykien::services::alerts::save_settings(store, canbo.id, &settings, Utc::now())
            .await
            .unwrap();
        let officer = session(&app, "canbo").await;

        // The login page offers it; the form answers the same for a name, an address, and nobody.
        let (cookie, csrf) = login_form(&app).await;
        let (_, page) = get_page(&app, &cookie, "/console/login").await;
        assert!(page.contains(r#"href="/console/password/forgot""#), "{label}");
        let mut answers = Vec::new();
        for who in ["canbo", "khong-co-ai", "ai@khong.vn"] {
            let (status, page) = post_page(
                &app,
                &cookie,
                "/console/password/forgot",
                &[("csrf", csrf.as_str()), ("who", who)],
            )
            .await;
            assert_eq!(status, 200, "{label}: {who}");
            assert!(page.contains("liên kết đặt lại mật khẩu đã được gửi"), "{label}");
            answers.push(page);
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{label}: one answer for all");
        // Without the form's token: refused, nothing sent.
        let (status, _) = post_page(&app, &cookie, "/console/password/forgot", &[("who", "canbo")]).await;
        assert_eq!(status, 403, "{label}");
        let link = reset_links(&mail, EMAIL, 1).await.remove(0);
        assert_eq!(mail.messages().len(), 1, "{label}: one email, for the one account");
        // Asked again at once (by its email this time): no second email within the minutes after the first.
        post_page(
            &app,
            &cookie,
            "/console/password/forgot",
            &[("csrf", csrf.as_str()), ("who", " CANBO@phohien.hungyen.gov.vn ")],
        )
        .await;

        // The link's page: refused new passwords keep the link usable.
        let (status, page) = get_page(&app, &cookie, &link).await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("canbo") && page.contains("Đặt mật khẩu mới"), "{label}");
        let form_csrf = hidden_field(&page, "csrf");
        let new_password = "mật-khẩu-mới-qua-thư-2026";
        for (password, repeated, why) in [
            ("ngắn", "ngắn", "ít nhất 12 ký tự"),
            (new_password, "mật-khẩu-khác-hẳn-2026", "không giống nhau"),
        ] {
            let (status, page) = post_page(
                &app,
                &cookie,
                &link,
                &[
                    ("csrf", form_csrf.as_str()),
                    ("password", password),
                    ("repeated", repeated),
                ],
            )
            .await;
            assert_eq!(status, 422, "{label}");
            assert!(page.contains(why), "{label}: {why}");
        }
        assert_eq!(
            get_page(&app, &officer, "/console").await.0,
            200,
            "{label}: nothing changed yet"
        );

        // A new password: every session of the account ends, the old password no longer works.
        let (status, page) = post_page(
            &app,
            &cookie,
            &link,
            &[
                ("csrf", form_csrf.as_str()),
                ("password", new_password),
                ("repeated", new_password),
            ],
        )
        .await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("Đã đặt mật khẩu mới"), "{label}");
        assert_eq!(
            get_page(&app, &officer, "/console").await.0,
            303,
            "{label}: session ended"
        );
        assert_eq!(post_login(&app, "canbo", PASSWORD).await.status(), 401, "{label}");
        assert_eq!(post_login(&app, "canbo", new_password).await.status(), 303, "{label}");

        // Used once: a second use is refused, in Vietnamese, and sets nothing.
        let (status, page) = post_page(
            &app,
            &cookie,
            &link,
            &[
                ("csrf", form_csrf.as_str()),
                ("password", "lại-một-mật-khẩu-2026"),
                ("repeated", "lại-một-mật-khẩu-2026"),
            ],
        )
        .await;
        assert_eq!(status, 410, "{label}");
        assert!(page.contains("đã được dùng"), "{label}");
        assert_eq!(post_login(&app, "canbo", new_password).await.status(), 303, "{label}");
        // A link made up or cut short.
        let (status, page) = get_page(&app, &cookie, "/console/password/reset/0123456789abcdef").await;
        assert_eq!(status, 404, "{label}");
        assert!(page.contains("Liên kết không đúng"), "{label}");

        // An administrator sends one from the accounts page; one made 31 minutes ago has expired.
        let admin = session(&app, "quantri").await;
        let (_, page) = get_page(&app, &admin, "/console/users").await;
        let admin_csrf = hidden_field(&page, "csrf");
        let r = app
            .client
            .post(app.url("/console/users/canbo/reset-link"))
            .header("cookie", &admin)
            .form(&[("csrf", admin_csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        let links = reset_links(&mail, EMAIL, 2).await;
        let by_admin = links.iter().find(|l| **l != link).unwrap().clone();
        assert_eq!(get_page(&app, &cookie, &by_admin).await.0, 200, "{label}");
        password_reset::send_link_for(
            store,
            Actor::CommandLine,
            PUBLIC,
            "canbo",
            Utc::now() - Duration::minutes(31),
        )
        .await
        .unwrap();
        let links = reset_links(&mail, EMAIL, 3).await;
        let old = links.iter().find(|l| **l != link && **l != by_admin).unwrap().clone();
        let (status, page) = get_page(&app, &cookie, &old).await;
        assert_eq!(status, 410, "{label}");
        assert!(page.contains("hết hạn"), "{label}");
        // The newer link retired the administrator's.
        let (status, page) = get_page(&app, &cookie, &by_admin).await;
        assert_eq!(status, 410, "{label}");
        assert!(page.contains("hết hạn"), "{label}");

        // Everything is in the audit log.
        let actions: Vec<String> = store
            .audit_log(200)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        for action in ["password_reset_link", "password_reset_by_link"] {
            assert!(actions.iter().any(|a| a == action), "{label}: {action} in {actions:?}");
        }
        app.stop().await;
    }
}

/// Signs in with the password on the console's form: the cookies to send to the code page (the login cookie and
/// `yk_2fa`), after checking that no session was opened.
async fn password_step(app: &TestApp, username: &str, password: &str) -> String {
    let (login_cookie, csrf) = login_form(app).await;
    let r = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", &login_cookie)
        .form(&[("csrf", csrf.as_str()), ("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/login/code");
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(!set.iter().any(|c| c.starts_with("yk_session=")), "{set:?}");
    let pending = set.iter().find(|c| c.starts_with("yk_2fa=")).unwrap();
    assert!(
        pending.contains("HttpOnly") && pending.contains("SameSite=Strict"),
        "{pending}"
    );
    format!("{login_cookie}; {}", pending.split(';').next().unwrap())
}

/// Posts a code on the code page with the cookies of [`password_step`]: status, page, and the session cookie if
/// one was set.
async fn code_step(app: &TestApp, cookies: &str, code: &str) -> (u16, String, Option<String>) {
    let (_, page) = get_page(app, cookies, "/console/login/code").await;
    let csrf = hidden_field(&page, "csrf");
    let r = app
        .client
        .post(app.url("/console/login/code"))
        .header("cookie", cookies)
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("yk_session="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    (status, r.text().await.unwrap(), session)
}

/// The code an authenticator app shows `secret` (base32) at `seconds` from now.
fn code_at(secret: &str, seconds: i64) -> String {
    let bytes = two_factor::from_base32(secret).unwrap();
    two_factor::current_code(&bytes, Utc::now() + Duration::seconds(seconds)).unwrap()
}

/// A 6-digit code that is not `code`.
fn not(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 500_000) % 1_000_000)
}

/// The text of the element with this id.
fn text_of(page: &str, id: &str) -> String {
    let at = page
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    page[at..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test]
async fn two_factor_sign_in_refuses_wrong_and_reused_codes_and_counts_them_toward_the_throttle() {
    for db in databases("two_factor_sign_in_refuses_wrong_and_reused_codes_and_counts_them_toward_the_throttle").await {
        let label = db.label;
        let mail = SmtpServer::start().await;
        let app = start(db, &mail.url(), &[]).await;
        let store = &app.app.store;
        official(store, "quantri", "admin", None, &[]).await;
        official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let officer = session(&app, "canbo").await;

        // Set up from one's account page: a QR code and the secret in text; a wrong first code turns nothing on.
        let (status, page) = get_page(&app, &officer, "/console/account/2fa").await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("data:image/png;base64,"), "{label}: the QR code");
        let secret = text_of(&page, "totp-secret");
        let (_, again) = get_page(&app, &officer, "/console/account/2fa").await;
        assert_eq!(
            text_of(&again, "totp-secret"),
            secret,
            "{label}: a reload shows the same secret"
        );
        let csrf = hidden_field(&page, "csrf");
        let (status, page) = post_page(
            &app,
            &officer,
            "/console/account/2fa/confirm",
            &[("csrf", csrf.as_str()), ("code", &not(&code_at(&secret, 0)))],
        )
        .await;
        assert_eq!(status, 422, "{label}");
        assert!(page.contains("Mã không đúng"), "{label}");
        assert_eq!(
            post_login(&app, "canbo", PASSWORD).await.headers()["location"],
            "/console",
            "{label}: still off"
        );
        let (status, page) = post_page(
            &app,
            &officer,
            "/console/account/2fa/confirm",
            &[("csrf", csrf.as_str()), ("code", &code_at(&secret, 0))],
        )
        .await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("Đã bật xác thực hai bước"), "{label}");
        assert!(
            get_page(&app, &officer, "/console/account")
                .await
                .1
                .contains("Đang bật"),
            "{label}"
        );

        // The password alone opens no session; the next step's code does (an app a little ahead).
        let cookies = password_step(&app, "canbo", PASSWORD).await;
        let next = code_at(&secret, 30);
        let (status, _, signed_in) = code_step(&app, &cookies, &next).await;
        assert_eq!(status, 303, "{label}");
        let signed_in = signed_in.unwrap();
        assert_eq!(get_page(&app, &signed_in, "/console").await.0, 200, "{label}");

        // The same code again, and a wrong one: refused, in Vietnamese, each counted as a failed sign-in.
        let cookies = password_step(&app, "canbo", PASSWORD).await;
        let (status, page, opened) = code_step(&app, &cookies, &next).await;
        assert_eq!((status, opened), (401, None), "{label}");
        assert!(page.contains("Mã này đã được dùng"), "{label}");
        let (status, page, opened) = code_step(&app, &cookies, &not(&next)).await;
        assert_eq!((status, opened), (401, None), "{label}");
        assert!(page.contains("Mã không đúng"), "{label}");
        let counted = store.login_throttle("canbo", "127.0.0.1").await.unwrap().unwrap();
        assert_eq!(counted.failures, 2, "{label}");
        // Without the password step, the code page sends back to the login page.
        let (login_cookie, _) = login_form(&app).await;
        let r = app
            .client
            .get(app.url("/console/login/code"))
            .header("cookie", &login_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/console/login", "{label}");

        // Two more wrong codes: blocked from this address, even with the right code.
        code_step(&app, &cookies, &not(&next)).await;
        let (status, page, _) = code_step(&app, &cookies, &not(&next)).await;
        assert_eq!(status, 429, "{label}");
        assert!(page.contains("xin thử lại sau"), "{label}");

        // The administrator sees the block on the accounts page and clears it there.
        let admin = session(&app, "quantri").await;
        let (_, page) = get_page(&app, &admin, "/console/users").await;
        assert!(
            page.contains("Đăng nhập bị chặn") && page.contains("127.0.0.1"),
            "{label}"
        );
        assert!(page.contains("Đang bật"), "{label}: canbo's 2FA is shown");
        let admin_csrf = hidden_field(&page, "csrf");
        let r = app
            .client
            .post(app.url("/console/lockouts/clear"))
            .header("cookie", &admin)
            .form(&[
                ("csrf", admin_csrf.as_str()),
                ("username", "canbo"),
                ("address", "127.0.0.1"),
                ("back", "/console/users"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/console/users", "{label}");
        assert!(
            store.login_throttle("canbo", "127.0.0.1").await.unwrap().is_none(),
            "{label}"
        );

        // Turning it off needs a right, unused code.
        let (_, page) = get_page(&app, &signed_in, "/console/account/2fa").await;
        let csrf = hidden_field(&page, "csrf");
        let (status, page) = post_page(
            &app,
            &signed_in,
            "/console/account/2fa/off",
            &[("csrf", csrf.as_str()), ("code", &next)],
        )
        .await;
        assert_eq!(status, 422, "{label}");
        assert!(page.contains("đã được dùng"), "{label}");

        // The administrator resets it (a lost phone): the password alone signs in again.
        let r = app
            .client
            .post(app.url("/console/users/canbo/2fa/reset"))
            .header("cookie", &admin)
            .form(&[("csrf", admin_csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        assert_eq!(
            post_login(&app, "canbo", PASSWORD).await.headers()["location"],
            "/console",
            "{label}"
        );
        let actions: Vec<String> = store
            .audit_log(200)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        for action in ["two_factor_on", "two_factor_reset", "login_failed", "login_unblocked"] {
            assert!(actions.iter().any(|a| a == action), "{label}: {action} in {actions:?}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn with_2fa_required_an_administrator_without_it_sets_it_up_before_anything_else() {
    for db in databases("with_2fa_required_an_administrator_without_it_sets_it_up_before_anything_else").await {
        let label = db.label;
        let mail = SmtpServer::start().await;
        let app = start(db, &mail.url(), &[("YKIEN_REQUIRE_2FA", "true")]).await;
        let store = &app.app.store;
        official(store, "quantri", "admin", None, &[]).await;
        official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let admin = session(&app, "quantri").await;
        for path in ["/console", "/console/users", "/console/account"] {
            let r = app
                .client
                .get(app.url(path))
                .header("cookie", &admin)
                .send()
                .await
                .unwrap();
            assert_eq!(
                (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
                (303, "/console/account/2fa"),
                "{label}: {path}"
            );
        }
        // Other roles are not asked.
        let officer = session(&app, "canbo").await;
        assert_eq!(get_page(&app, &officer, "/console").await.0, 200, "{label}");

        let (status, page) = get_page(&app, &admin, "/console/account/2fa").await;
        assert_eq!(status, 200, "{label}");
        assert!(page.contains("bắt buộc"), "{label}");
        let secret = text_of(&page, "totp-secret");
        let csrf = hidden_field(&page, "csrf");
        let (status, _) = post_page(
            &app,
            &admin,
            "/console/account/2fa/confirm",
            &[("csrf", csrf.as_str()), ("code", &code_at(&secret, 0))],
        )
        .await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(
            get_page(&app, &admin, "/console/users").await.0,
            200,
            "{label}: now everything opens"
        );
        // Required: it cannot be turned off.
        let (status, _) = post_page(
            &app,
            &admin,
            "/console/account/2fa/off",
            &[("csrf", csrf.as_str()), ("code", &code_at(&secret, 30))],
        )
        .await;
        assert_eq!(status, 403, "{label}");
        assert!(
            two_factor::is_on(store, store.official_by_username("quantri").await.unwrap().unwrap().id)
                .await
                .unwrap()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_command_line_sends_a_reset_link_and_resets_two_factor_sign_in() {
    let mail = SmtpServer::start().await;
    let app = start(common::TestDb::sqlite(), &mail.url(), &[]).await;
    let store = &app.app.store;
    official(store, "quantri", "admin", None, &[]).await;
    let canbo = official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
    let settings = AlertSettings {
        email: Some(EMAIL.into()),
        ..AlertSettings::default()
    };
    ykien::services::alerts::save_settings(store, canbo.id, &settings, Utc::now())
        .await
        .unwrap();
    let smtp_url = mail.url();
    let env = [
        ("YKIEN_DATABASE_URL", app.db.url.as_str()),
        ("YKIEN_SECRET", common::TEST_SECRET),
        ("YKIEN_SMTP_URL", smtp_url.as_str()),
        ("YKIEN_MAIL_FROM", "ykien@hungyen.gov.vn"),
        ("YKIEN_PUBLIC_URL", PUBLIC),
    ];
    // Queued by the command, sent by the running service's outbox.
    let out = common::ykien_command(&env, &["user", "send-reset-link", "canbo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(EMAIL));
    let link = reset_links(&mail, EMAIL, 1).await.remove(0);
    assert_eq!(get_page(&app, "", &link).await.0, 200);
    // An account without an email, and a server without a public address: refused, with why.
    let out = common::ykien_command(&env, &["user", "send-reset-link", "quantri"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chưa có địa chỉ thư điện tử"));
    let out = common::ykien_command(&env[..4], &["user", "send-reset-link", "canbo"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YKIEN_PUBLIC_URL"));

    // Two-factor sign-in on, then reset from the command line (a lost phone).
    let key = ykien::config::Secret::new(common::TEST_SECRET);
    let setup = two_factor::setup(store, &key, &canbo, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let code = code_at(&setup.secret_base32, 0);
    let check = two_factor::confirm(store, &key, &canbo, &code, Utc::now())
        .await
        .unwrap();
    assert_eq!(check, two_factor::CodeCheck::Accepted);
    assert!(two_factor::is_on(store, canbo.id).await.unwrap());
    let out = common::ykien_command(&env, &["user", "reset-2fa", "canbo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is off"));
    assert!(!two_factor::is_on(store, canbo.id).await.unwrap());
    app.stop().await;
}
