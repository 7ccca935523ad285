//! The `ykien` binary as an operator meets it: start-up refusals with exit code 2 and one line, imports from
//! files, `migrate`, `demo`, and a clean stop on SIGTERM.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TEST_SECRET;

/// The binary with a clean environment of ours (no YKIEN_* from the caller), run in `dir`.
fn ykien(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = common::ykien_command(env, args);
    cmd.current_dir(dir);
    cmd
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    ykien(dir, env, args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bad_configuration_stops_start_up_with_exit_code_2_and_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("YKIEN_BIND", "localhost:http")], "YKIEN_BIND"),
        (
            &[("YKIEN_DATABASE_URL", "mysql://root@localhost/ykien")],
            "unknown database scheme 'mysql'",
        ),
        (
            &[("YKIEN_DATABASE_URL", "sqlite:///no/such/folder/ykien.db")],
            "/no/such/folder",
        ),
        (&[("YKIEN_SECRET", "123")], "YKIEN_SECRET: too short"),
        (&[("YKIEN_PUBLIC_URL", "ykien dot vn")], "YKIEN_PUBLIC_URL"),
    ];
    for (env, expected) in cases {
        let out = run(dir.path(), env, &["migrate"]);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
        assert!(err.contains(expected), "expected '{expected}' in: {err}");
    }
    // `serve` without a secret says how to make one.
    let out = run(dir.path(), &[("YKIEN_BIND", "127.0.0.1:0")], &["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("YKIEN_SECRET: not set"), "{}", stderr(&out));
}

#[test]
fn a_file_that_is_not_a_database_stops_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.db"),
        b"this is a text file, not a SQLite database, and long enough",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[("YKIEN_DATABASE_URL", "sqlite://broken.db")],
        &["migrate"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the database sqlite://broken.db") && err.contains("not a database"),
        "{err}"
    );
}

#[test]
fn a_config_file_is_read_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ykien.toml"),
        "database_url = \"sqlite://from-file.db\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &[], &["--config", "ykien.toml", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("from-file.db").exists());
    let out = run(
        dir.path(),
        &[("YKIEN_DATABASE_URL", "sqlite://from-env.db")],
        &["--config", "ykien.toml", "migrate"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("from-env.db").exists());

    std::fs::write(dir.path().join("typo.toml"), "databse_url = \"sqlite://x.db\"\n").unwrap();
    let out = run(dir.path(), &[], &["--config", "typo.toml", "migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("databse_url"), "{}", stderr(&out));
}

#[test]
fn units_import_reports_file_line_and_reason_and_imports_nothing_from_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/admin-units");
    let env = [("YKIEN_DATABASE_URL", "sqlite://units.db")];
    let legacy = data.join("legacy-2024-hung-yen-thai-binh.csv");
    let out = run(dir.path(), &env, &["units", "import", legacy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("401 units (legacy three-level shape): 401 new"),
        "{}",
        stdout(&out)
    );
    // Again: nothing new.
    let out = run(dir.path(), &env, &["units", "import", legacy.to_str().unwrap()]);
    assert!(stdout(&out).contains("0 new, 401 already present"), "{}", stdout(&out));

    // The lineage before today's units: every successor is unknown, so nothing of it is kept.
    let lineage = data.join("lineage-2025-hung-yen.csv");
    let out = run(dir.path(), &env, &["units", "import", lineage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("lineage-2025-hung-yen.csv:2: the successor 11983 is not a known unit on 2025-07-01"),
        "{err}"
    );
    assert!(err.contains("nothing from this file was imported"), "{err}");

    // A duplicated row.
    std::fs::write(
        dir.path().join("dup.csv"),
        "province_code,province_name,commune_code,commune_name,commune_type\n\
         33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường\n33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường\n",
    )
    .unwrap();
    let out = run(dir.path(), &env, &["units", "import", "dup.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("dup.csv:3: commune 11953 repeats line 2"),
        "{}",
        stderr(&out)
    );

    let two_level = data.join("hung-yen-2025.csv");
    let out = run(
        dir.path(),
        &env,
        &[
            "units",
            "import",
            two_level.to_str().unwrap(),
            lineage.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("384 lineage links"), "{}", stdout(&out));

    let out = run(dir.path(), &env, &["units", "import", "missing.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read missing.csv"), "{}", stderr(&out));
}

/// Reads the child's stdout until a line containing `needle`, within 60 s. The reader stops soon after, closing
/// the pipe while the service may still print: the service must carry on regardless.
fn wait_for_line(child: &mut Child, needle: &str) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                return line;
            }
        }
    }
    let _ = child.kill();
    panic!("'{needle}' not printed within 60 s; got:\n{seen}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn demo_serves_hung_yen_with_its_lineage_and_keeps_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("demo.log")).unwrap();
    let mut child = ykien(
        dir.path(),
        &[("YKIEN_BIND", "127.0.0.1:0"), ("YKIEN_LOG", "info")],
        &["demo"],
    )
    .stdout(Stdio::piped())
    .stderr(log)
    .spawn()
    .unwrap();
    let line = wait_for_line(&mut child, "/api/v1/units?parent=33");
    let url = line.split_whitespace().last().unwrap().to_owned();
    let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 104);
    let base = url.split("/api/").next().unwrap();
    let page = reqwest::get(format!("{base}/units/34?at=2025-01-01"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>Tỉnh Thái Bình</h1>"), "{page}");
    let status = terminate(&mut child);
    let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap_or_default();
    assert!(status.success(), "{status:?}\n{log}");

    let secret = std::fs::read_to_string(dir.path().join("ykien-demo.secret")).unwrap();
    assert!(secret.len() >= 32);
    assert!(dir.path().join("ykien-demo.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("ykien-demo.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the secret must be readable by its owner only");
    }
    // A second run reuses the database and the secret.
    let mut child = ykien(dir.path(), &[("YKIEN_BIND", "127.0.0.1:0")], &["demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_line(&mut child, "/api/v1/units?parent=33");
    assert!(terminate(&mut child).success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ykien-demo.secret")).unwrap(),
        secret
    );
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ykien(
        dir.path(),
        &[("YKIEN_BIND", "127.0.0.1:0"), ("YKIEN_SECRET", TEST_SECRET)],
        &["serve"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let line = wait_for_line(&mut child, "listening on");
    let base = line.split_whitespace().last().unwrap().to_owned();
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "nothing listens after the stop"
    );
}

#[tokio::test]
async fn secrets_never_reach_the_logs_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        ("YKIEN_SECRET", "secret-of-the-service-7f3a9c1e5b2d4f6a8c0e"),
        ("YKIEN_API_TOKEN", "api-token-of-the-scripts-4b8d2f6a0c1e3g5i"),
        ("YKIEN_TELEGRAM_TOKEN", "987654321:AAbotTokenThatMustNeverBeLogged_0123"),
        (
            "YKIEN_TELEGRAM_WEBHOOK_SECRET",
            "webhook-secret-never-logged-0123456789",
        ),
        ("YKIEN_ZALO_APP_ID", "1163843031413526746"),
        ("YKIEN_ZALO_APP_SECRET", "zalo-app-secret-never-logged-012345"),
        ("YKIEN_ZALO_OA_SECRET_KEY", "zalo-oa-key-never-logged-0123456789"),
    ];
    let mut env: Vec<(&str, &str)> = secrets.to_vec();
    env.extend([
        ("YKIEN_BIND", "127.0.0.1:0"),
        ("YKIEN_LOG", "trace"),
        ("YKIEN_LOG_FORMAT", "json"),
        // Nothing listens there: the bot's calls fail, and their errors are logged.
        ("YKIEN_TELEGRAM_API_URL", "http://127.0.0.1:9"),
        ("YKIEN_ZALO_API_URL", "http://127.0.0.1:9"),
        ("YKIEN_ZALO_OAUTH_URL", "http://127.0.0.1:9"),
    ]);
    let db = common::TestDb::sqlite();
    let mut serve = common::Serve::start(&db, &env, dir.path().join("serve.log"));
    let base = serve.base.clone();
    let client = reqwest::Client::new();
    let password = "mật-khẩu-đoán-thử-không-được-ghi-log";
    // A sign-in attempt, webhooks with the right and a wrong secret, the API with its token and a wrong one.
    client
        .post(format!("{base}/console/login"))
        .form(&[("username", "ai-do"), ("password", password)])
        .send()
        .await
        .unwrap();
    for secret in [secrets[3].1, "wrong-secret-0123456789"] {
        client
            .post(format!("{base}/webhooks/telegram"))
            .header("x-telegram-bot-api-secret-token", secret)
            .header("content-type", "application/json")
            .body(r#"{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": "/start"}}"#)
            .send()
            .await
            .unwrap();
    }
    for token in [secrets[1].1, "wrong-token"] {
        client
            .get(format!("{base}/api/v1/waves"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }
    // Give the bot's failing calls time to be logged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(serve.terminate());
    let logged = serve.logs();
    assert!(
        logged.lines().count() > 10,
        "the service logged at trace level:\n{logged}"
    );
    for (name, value) in secrets.iter().filter(|(n, _)| *n != "YKIEN_ZALO_APP_ID") {
        assert!(!logged.contains(value), "{name} is in the logs");
    }
    // The bot token's secret half alone, as it would appear in a Bot API address.
    assert!(
        !logged.contains("AAbotTokenThatMustNeverBeLogged"),
        "the bot token is in the logs"
    );
    assert!(!logged.contains(password), "a typed password is in the logs");
}
