//! Officials' accounts: argon2id passwords, throttled logins with lockout, sessions, scopes.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, NaiveDate, Utc};
use common::databases;
use ykien::services::Error;
use ykien::services::accounts::{
    AccountRequest, LoginRefused, MAX_FAILED_LOGINS, Role, add_official, login, logout, session_official,
};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn officer(username: &str, password: &str) -> AccountRequest {
    AccountRequest {
        username: username.into(),
        display_name: "Nguyễn Văn An".into(),
        password: password.into(),
        role: "commune_officer".into(),
        office: Some("commune_economic".into()),
        unit_codes: vec!["11953".into()],
    }
}

#[tokio::test]
async fn logins_are_throttled_then_locked_and_sessions_end_at_logout() {
    for db in databases("logins_are_throttled_then_locked_and_sessions_end_at_logout").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "mật-khẩu-rất-dài-2026"), today())
            .await
            .unwrap();
        let now = Utc::now();

        let (token, official) = login(&store, " AN.NV ", "mật-khẩu-rất-dài-2026", now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (official.role, official.display_name.as_str()),
            (Role::CommuneOfficer, "Nguyễn Văn An"),
            "{label}"
        );
        let phuong = ykien::services::units::unit_by_code(&store, "11953", today())
            .await
            .unwrap();
        let other = ykien::services::units::unit_by_code(&store, "11977", today())
            .await
            .unwrap();
        assert!(official.covers(&phuong) && !official.covers(&other), "{label}");
        assert_eq!(
            session_official(&store, &token, now).await.unwrap().unwrap().id,
            official.id,
            "{label}"
        );
        assert!(
            session_official(&store, &token, now + Duration::hours(11))
                .await
                .unwrap()
                .is_none(),
            "{label}: expired"
        );
        logout(&store, &token).await.unwrap();
        assert!(
            session_official(&store, &token, now).await.unwrap().is_none(),
            "{label}: logged out"
        );

        // Unknown names and wrong passwords look the same.
        assert_eq!(
            login(&store, "khong-co", "x", now).await.unwrap().unwrap_err(),
            LoginRefused::WrongCredentials
        );
        for i in 1..MAX_FAILED_LOGINS {
            let r = login(&store, "an.nv", "sai-mat-khau", now).await.unwrap().unwrap_err();
            assert_eq!(r, LoginRefused::WrongCredentials, "{label}: attempt {i}");
        }
        assert!(
            matches!(
                login(&store, "an.nv", "sai-mat-khau", now).await.unwrap(),
                Err(LoginRefused::Locked { .. })
            ),
            "{label}"
        );
        // Locked: even the right password is refused until the lock ends.
        assert!(
            matches!(
                login(&store, "an.nv", "mật-khẩu-rất-dài-2026", now).await.unwrap(),
                Err(LoginRefused::Locked { .. })
            ),
            "{label}"
        );
        let later = now + Duration::minutes(16);
        assert!(
            login(&store, "an.nv", "mật-khẩu-rất-dài-2026", later)
                .await
                .unwrap()
                .is_ok(),
            "{label}"
        );
        let log = store.audit_log(50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "login_failed" && e.after_state.as_deref() == Some("locked")),
            "{label}"
        );
        assert!(log.iter().any(|e| e.action == "login"), "{label}");
        store.close().await;
    }
}

#[tokio::test]
async fn bad_accounts_are_refused_with_every_problem() {
    let db = common::TestDb::sqlite();
    let store = db.store().await;
    ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
    let mut bad = officer("a", "ngắn");
    bad.role = "chu-tich".into();
    bad.office = Some("bo".into());
    bad.unit_codes = vec!["99999".into()];
    let Err(Error::BadRequest(problems)) = add_official(&store, bad, today()).await else {
        panic!("refused")
    };
    for needle in [
        "username",
        "password: at least 12",
        "role 'chu-tich'",
        "office 'bo'",
        "unit 99999",
    ] {
        assert!(problems.contains(needle), "'{needle}' missing in {problems}");
    }
    add_official(&store, officer("binh.tt", "mật-khẩu-rất-dài-2026"), today())
        .await
        .unwrap();
    let again = add_official(&store, officer("binh.tt", "mật-khẩu-rất-dài-2026"), today()).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
}

#[test]
fn cli_adds_a_user_with_the_password_from_stdin_never_from_arguments() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_ykien");
    let root = env!("CARGO_MANIFEST_DIR");
    let base = |cmd: &mut Command| {
        cmd.current_dir(dir.path())
            .env("YKIEN_DATABASE_URL", "sqlite://u.db")
            .env("YKIEN_LOG", "warn")
            .env_remove("YKIEN_NEW_PASSWORD");
    };
    let mut import = Command::new(bin);
    base(&mut import);
    assert!(
        import
            .args(["units", "import", &format!("{root}/data/admin-units/hung-yen-2025.csv")])
            .status()
            .unwrap()
            .success()
    );
    let add = |password: &str, units: &str| {
        let mut cmd = Command::new(bin);
        base(&mut cmd);
        let mut child = cmd
            .args([
                "user",
                "add",
                "--username",
                "tiepnhan.phohien",
                "--name",
                "Trần Thị Bình",
                "--role",
                "intake",
                "--units",
                units,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("ngắn", "11953");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password: at least 12"));
    let out = add("một mật khẩu đủ dài 2026", "11953,11977");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = add("một mật khẩu đủ dài 2026", "11953");
    assert!(String::from_utf8_lossy(&out.stderr).contains("username tiepnhan.phohien is taken"));
}

#[tokio::test]
async fn expired_sessions_are_pruned_and_live_ones_kept() {
    for db in databases("expired_sessions_are_pruned_and_live_ones_kept").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "một mật khẩu đủ dài 2026"), today())
            .await
            .unwrap();
        let now = Utc::now();
        let (old, _) = login(&store, "an.nv", "một mật khẩu đủ dài 2026", now - Duration::days(3))
            .await
            .unwrap()
            .unwrap();
        let (live, _) = login(&store, "an.nv", "một mật khẩu đủ dài 2026", now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.prune_expired_sessions(now).await.unwrap(),
            1,
            "{label}: the old one"
        );
        assert_eq!(store.prune_expired_sessions(now).await.unwrap(), 0, "{label}");
        assert!(
            session_official(&store, &live, now).await.unwrap().is_some(),
            "{label}: still signed in"
        );
        assert!(session_official(&store, &old, now).await.unwrap().is_none(), "{label}");
        store.close().await;
    }
}
