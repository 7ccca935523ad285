//! Administering accounts (issue 20, part 4) over real HTTP on both databases: an administrator disables an account
//! and its open session ends at once, enables it again, sets a new password (sessions end, the new one signs in),
//! and sessions are listed and ended from the console; the same from the command line. Everything is audit logged.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, TestApp, databases, hidden_field, official, post_login, session};

/// A console page as the holder of `cookie` gets it: its status and text.
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

async fn post_form(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    app.client
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_disabled_accounts_open_session_ends_at_once_and_a_new_password_ends_the_others() {
    for db in databases("a_disabled_accounts_open_session_ends_at_once_and_a_new_password_ends_the_others").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let store = &app.app.store;
        official(store, "quantri", "admin", None, &[]).await;
        official(store, "canbo", "commune_officer", Some("commune_economic"), &["11953"]).await;
        let admin = session(&app, "quantri").await;
        let officer = session(&app, "canbo").await;
        assert_eq!(get_page(&app, &officer, "/console").await.0, 200, "{label}");

        // The administrators' page lists the account with its open sessions.
        let (status, page) = get_page(&app, &admin, "/console/users").await;
        assert_eq!(status, 200, "{label}");
        assert!(
            page.contains(r#"id="user-canbo""#) && page.contains("Kết thúc"),
            "{label}"
        );
        let csrf = hidden_field(&page, "csrf");

        // Disabled: the open session ends at once, and signing in is refused.
        let status = post_form(
            &app,
            &admin,
            "/console/users/canbo/disabled",
            &[("csrf", csrf.as_str()), ("disabled", "true")],
        )
        .await;
        assert_eq!(status, 303, "{label}");
        let (status, _) = get_page(&app, &officer, "/console").await;
        assert_eq!(status, 303, "{label}: the disabled account's session is gone");
        assert_eq!(
            post_login(&app, "canbo", PASSWORD).await.status(),
            401,
            "{label}: refused"
        );
        let id = store.official_by_username("canbo").await.unwrap().unwrap().id;
        assert!(
            store.sessions_of(id, chrono::Utc::now()).await.unwrap().is_empty(),
            "{label}"
        );

        // Enabled again, then a new password from the administrator: the old one no longer signs in.
        let status = post_form(
            &app,
            &admin,
            "/console/users/canbo/disabled",
            &[("csrf", csrf.as_str()), ("disabled", "false")],
        )
        .await;
        assert_eq!(status, 303, "{label}");
        let officer = session(&app, "canbo").await;
        let too_short = post_form(
            &app,
            &admin,
            "/console/users/canbo/password",
            &[("csrf", csrf.as_str()), ("password", "ngắn")],
        )
        .await;
        assert_eq!(too_short, 422, "{label}");
        let new_password = "mat-khau-moi-2026";
        let status = post_form(
            &app,
            &admin,
            "/console/users/canbo/password",
            &[("csrf", csrf.as_str()), ("password", new_password)],
        )
        .await;
        assert_eq!(status, 303, "{label}");
        assert_eq!(
            get_page(&app, &officer, "/console").await.0,
            303,
            "{label}: sessions ended"
        );
        assert_eq!(
            post_login(&app, "canbo", PASSWORD).await.status(),
            401,
            "{label}: old password refused"
        );
        assert_eq!(
            post_login(&app, "canbo", new_password).await.status(),
            303,
            "{label}: new password works"
        );

        // One's own sessions on the account page, each with a button that ends it.
        let (status, page) = get_page(&app, &admin, "/console/account").await;
        assert_eq!(status, 200, "{label}");
        let token_hash = hidden_field(&page, "session");
        let admin_id = store.official_by_username("quantri").await.unwrap().unwrap().id;
        let csrf = hidden_field(&page, "csrf");
        let status = post_form(
            &app,
            &admin,
            "/console/sessions/end",
            &[
                ("csrf", csrf.as_str()),
                ("official", admin_id.to_string().as_str()),
                ("session", token_hash.as_str()),
            ],
        )
        .await;
        assert_eq!(status, 303, "{label}");
        assert_eq!(
            get_page(&app, &admin, "/console").await.0,
            303,
            "{label}: that session ended"
        );

        let audit: Vec<String> = store
            .audit_log(100)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        for action in ["account_disabled", "account_enabled", "password_reset", "session_ended"] {
            assert!(audit.iter().any(|a| a == action), "{label}: {action} in {audit:?}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_officer_cannot_reach_the_accounts_page() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let officer = session(&app, "canbo").await;
    let (status, _) = get_page(&app, &officer, "/console/users").await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_disables_enables_and_resets_passwords() {
    let db = common::TestDb::sqlite();
    let app = TestApp::start_with_hung_yen(db).await;
    official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &["11953"],
    )
    .await;
    let officer = session(&app, "canbo").await;
    let env = [
        ("YKIEN_DATABASE_URL", app.db.url.as_str()),
        ("YKIEN_SECRET", common::TEST_SECRET),
    ];
    let out = common::ykien_command(&env, &["user", "disable", "canbo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(get_page(&app, &officer, "/console").await.0, 303, "the session ended");
    let out = common::ykien_command(&env, &["user", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.lines().any(|l| l.starts_with("canbo") && l.contains("disabled")),
        "{listed}"
    );
    let out = common::ykien_command(&env, &["user", "enable", "canbo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut env_pw = env.to_vec();
    env_pw.push(("YKIEN_NEW_PASSWORD", "mat-khau-dong-lenh-2026"));
    let out = common::ykien_command(&env_pw, &["user", "reset-password", "canbo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(post_login(&app, "canbo", "mat-khau-dong-lenh-2026").await.status(), 303);
    let out = common::ykien_command(&env, &["user", "disable", "khongco"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account is named khongco"));
    app.stop().await;
}
