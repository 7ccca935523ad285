//! Officials' accounts: argon2id passwords, sign-ins throttled per (username, address), sessions, scopes.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, NaiveDate, Utc};
use common::databases;
use ykien::services::Error;
use ykien::services::accounts::{
    AccountRequest, FREE_FAILURES, LoginRefused, Role, add_official, clear_lockout, lockouts, login, logout,
    session_official,
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

const OFFICE: &str = "198.51.100.7";
const STRANGER: &str = "203.0.113.66";

#[tokio::test]
async fn logins_open_sessions_that_end_at_logout() {
    for db in databases("logins_open_sessions_that_end_at_logout").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "mật-khẩu-rất-dài-2026"), today())
            .await
            .unwrap();
        let now = Utc::now();

        let (token, official) = login(&store, " AN.NV ", "mật-khẩu-rất-dài-2026", OFFICE, now)
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
        assert!(
            store.audit_log(50).await.unwrap().iter().any(|e| e.action == "login"),
            "{label}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn wrong_passwords_slow_down_one_address_only_and_never_lock_the_official_out() {
    for db in databases("wrong_passwords_slow_down_one_address_only_and_never_lock_the_official_out").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "mật-khẩu-rất-dài-2026"), today())
            .await
            .unwrap();
        let now = Utc::now();
        // A stranger guesses from one address: the free failures, then growing delays.
        for i in 1..=FREE_FAILURES {
            let r = login(&store, "an.nv", "sai-mat-khau", STRANGER, now).await.unwrap();
            assert_eq!(r.unwrap_err(), LoginRefused::WrongCredentials, "{label}: attempt {i}");
        }
        let Err(LoginRefused::Throttled { until: first }) =
            login(&store, "an.nv", "sai-mat-khau", STRANGER, now).await.unwrap()
        else {
            panic!("{label}: throttled after {FREE_FAILURES} failures")
        };
        assert_eq!(first - now, Duration::seconds(30), "{label}");
        // While blocked, even the right password from that address is not checked.
        assert!(
            matches!(
                login(&store, "an.nv", "mật-khẩu-rất-dài-2026", STRANGER, now)
                    .await
                    .unwrap(),
                Err(LoginRefused::Throttled { .. })
            ),
            "{label}"
        );
        // The next failure after the block waits twice as long.
        let Err(LoginRefused::Throttled { until: second }) =
            login(&store, "an.nv", "sai-mat-khau", STRANGER, first).await.unwrap()
        else {
            panic!("{label}: throttled again")
        };
        assert_eq!(second - first, Duration::seconds(60), "{label}");
        // Meanwhile the official signs in from the commune office at once.
        assert!(
            login(&store, "an.nv", "mật-khẩu-rất-dài-2026", OFFICE, now)
                .await
                .unwrap()
                .is_ok(),
            "{label}: the official is not locked out"
        );
        let log = store.audit_log(50).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "login_failed" && e.after_state.as_deref() == Some("throttled")),
            "{label}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn unknown_names_get_the_same_answers_as_wrong_passwords() {
    for db in databases("unknown_names_get_the_same_answers_as_wrong_passwords").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "mật-khẩu-rất-dài-2026"), today())
            .await
            .unwrap();
        let now = Utc::now();
        let answers = |name: &'static str| {
            let store = store.clone();
            async move {
                let mut seen = Vec::new();
                for _ in 0..6 {
                    seen.push(
                        match login(&store, name, "sai-mat-khau", STRANGER, now).await.unwrap() {
                            Err(LoginRefused::WrongCredentials) => "wrong".to_owned(),
                            Err(LoginRefused::Throttled { until }) => {
                                format!("throttled {}", (until - now).num_seconds())
                            }
                            Err(other) => format!("{other:?}"),
                            Ok(_) => "signed in".to_owned(),
                        },
                    );
                }
                seen
            }
        };
        let real = answers("an.nv").await;
        let unknown = answers("khong-co-ai").await;
        assert_eq!(real, unknown, "{label}");
        assert_eq!(real[..4], ["wrong", "wrong", "wrong", "throttled 30"], "{label}");
        store.close().await;
    }
}

#[tokio::test]
async fn an_administrator_sees_and_clears_blocked_sign_ins() {
    for db in databases("an_administrator_sees_and_clears_blocked_sign_ins").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        add_official(&store, officer("an.nv", "mật-khẩu-rất-dài-2026"), today())
            .await
            .unwrap();
        let mut admin = officer("quantri", "mật-khẩu-rất-dài-2026");
        admin.role = "admin".into();
        admin.office = None;
        add_official(&store, admin, today()).await.unwrap();
        let now = Utc::now();
        for _ in 0..=FREE_FAILURES {
            login(&store, "an.nv", "sai", STRANGER, now).await.unwrap().unwrap_err();
        }
        let (_, admin) = login(&store, "quantri", "mật-khẩu-rất-dài-2026", OFFICE, now)
            .await
            .unwrap()
            .unwrap();
        let (_, an) = login(&store, "an.nv", "mật-khẩu-rất-dài-2026", OFFICE, now)
            .await
            .unwrap()
            .unwrap();
        let blocked = lockouts(&store, now).await.unwrap();
        assert_eq!(blocked.len(), 1, "{label}: {blocked:?}");
        assert_eq!(
            (
                blocked[0].username.as_str(),
                blocked[0].address.as_str(),
                blocked[0].failures
            ),
            ("an.nv", STRANGER, FREE_FAILURES + 1),
            "{label}"
        );
        assert!(
            matches!(
                clear_lockout(&store, &an, "an.nv", None).await,
                Err(Error::Forbidden(_))
            ),
            "{label}: only administrators"
        );
        assert_eq!(
            clear_lockout(&store, &admin, "an.nv", Some(STRANGER)).await.unwrap(),
            1,
            "{label}"
        );
        assert!(lockouts(&store, now).await.unwrap().is_empty(), "{label}");
        assert!(
            login(&store, "an.nv", "mật-khẩu-rất-dài-2026", STRANGER, now)
                .await
                .unwrap()
                .is_ok(),
            "{label}: cleared"
        );
        assert!(
            store
                .audit_log(50)
                .await
                .unwrap()
                .iter()
                .any(|e| e.action == "login_unblocked" && e.official.as_deref() == Some("quantri")),
            "{label}"
        );
        // Failures a day old are forgotten by the background pruning.
        login(&store, "an.nv", "sai", STRANGER, now - Duration::days(2))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            store.prune_login_throttles(now - Duration::days(1)).await.unwrap(),
            1,
            "{label}"
        );
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
        let (old, _) = login(
            &store,
            "an.nv",
            "một mật khẩu đủ dài 2026",
            OFFICE,
            now - Duration::days(3),
        )
        .await
        .unwrap()
        .unwrap();
        let (live, _) = login(&store, "an.nv", "một mật khẩu đủ dài 2026", OFFICE, now)
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
