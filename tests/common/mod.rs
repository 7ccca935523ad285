//! The test harness: isolated databases on both engines, and the real application started on port 0 through
//! the same `app::open_store` + `app::start` path that `ykien serve` uses.
//!
//! SQLite always runs (a temporary file). PostgreSQL runs when `YKIEN_TEST_POSTGRES_URL` names a server whose
//! user may create databases (CI always sets it): each test gets a fresh database, dropped afterwards.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use ykien::app::{self, RunningApp};
use ykien::config::Config;
use ykien::storage::Store;

/// The password of the officials the tests create.
pub const PASSWORD: &str = "một mật khẩu đủ dài 2026";

pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// One isolated database; removed when dropped.
pub struct TestDb {
    pub label: &'static str,
    /// The value for `YKIEN_DATABASE_URL`.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (server URL, database name) of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("ykien-test.db");
        Self {
            label: "SQLite",
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            postgres: None,
        }
    }

    pub async fn postgres(server_url: &str) -> Self {
        let name = format!("ykien_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(server_url)
            .await
            .unwrap_or_else(|e| panic!("YKIEN_TEST_POSTGRES_URL is set but PostgreSQL cannot be reached: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Self {
            label: "PostgreSQL",
            url: with_database(server_url, &name),
            _dir: None,
            postgres: Some((server_url.to_owned(), name)),
        }
    }

    /// A configuration for this database, on a free port, with a test secret.
    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    pub fn config_with(&self, extra: &[(&str, &str)]) -> Config {
        let mut env = BTreeMap::from([
            ("YKIEN_DATABASE_URL".to_owned(), self.url.clone()),
            ("YKIEN_BIND".to_owned(), "127.0.0.1:0".to_owned()),
            ("YKIEN_SECRET".to_owned(), TEST_SECRET.to_owned()),
        ]);
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        Config::from_layers(None, &env).unwrap()
    }

    /// One integer a query answers, read over its own connection (to look at rows as stored).
    pub async fn count(&self, statement: &'static str) -> i64 {
        if self.url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(statement).fetch_one(&mut c).await.unwrap()
        } else {
            let mut c = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(statement).fetch_one(&mut c).await.unwrap()
        }
    }

    /// The migrated store of this database.
    pub async fn store(&self) -> Store {
        app::open_store(&self.config()).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop runs outside any runtime we may block on: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut admin) = PgConnection::connect(&server).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// `postgres://user@host:5432/postgres` with its database replaced by `name` (query string kept).
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Every engine this run can test: SQLite always, PostgreSQL when configured (and a clear line when not).
pub async fn databases(test: &str) -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    match std::env::var("YKIEN_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => dbs.push(TestDb::postgres(url.trim()).await),
        _ => {
            // Written past the test harness's capture, so the skip shows in every run's output.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED PostgreSQL part of {test}: YKIEN_TEST_POSTGRES_URL is not set"
            );
        }
    }
    dbs
}

/// The real service, listening on a free port of 127.0.0.1.
pub struct TestApp {
    pub app: RunningApp,
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
}

impl TestApp {
    pub async fn start(db: TestDb) -> Self {
        Self::start_configured(db, &[]).await
    }

    /// The service with these settings added to the test configuration.
    pub async fn start_configured(db: TestDb, extra: &[(&str, &str)]) -> Self {
        let config = db.config_with(extra);
        let store = app::open_store(&config).await.unwrap();
        let app = app::start(&config, store).await.unwrap();
        let base = app.url();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { app, base, client, db }
    }

    /// The service with Hưng Yên, the bundled questionnaire, a wave open over the province (`w-open`) and one
    /// that has closed (`w-closed`).
    pub async fn start_with_open_wave(db: TestDb) -> Self {
        Self::start_with_open_wave_and(db, &[]).await
    }

    /// [`TestApp::start_with_open_wave`] with these settings added.
    pub async fn start_with_open_wave_and(db: TestDb, extra: &[(&str, &str)]) -> Self {
        let app = Self::start_configured(db, extra).await;
        open_waves(&app.app.store).await;
        app
    }

    /// The service with today's Hưng Yên, the legacy units and their lineage imported.
    pub async fn start_with_hung_yen(db: TestDb) -> Self {
        let app = Self::start(db).await;
        ykien::services::units::import_bundled_hung_yen(&app.app.store)
            .await
            .unwrap();
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub async fn stop(self) {
        self.app.shut_down().await.unwrap();
    }
}

/// Hưng Yên, the bundled questionnaire, a wave open over the province (`w-open`) and one that has closed
/// (`w-closed`), stored in `store`.
pub async fn open_waves(store: &Store) {
    use ykien::services::survey::{WaveRequest, create_wave, import_questionnaire};
    ykien::services::units::import_bundled_hung_yen(store).await.unwrap();
    import_questionnaire(store, ykien::services::demo::BUNDLED_QUESTIONNAIRE)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let days = chrono::Duration::days;
    for (code, opens, closes) in [
        ("w-open", now - days(1), now + days(30)),
        ("w-closed", now - days(60), now - days(30)),
    ] {
        let request = WaveRequest {
            code: code.into(),
            title: format!("Đợt {code}"),
            questionnaire: "papi-2025".into(),
            questionnaire_version: None,
            unit_codes: vec!["33".into()],
            opens_at: opens,
            closes_at: closes,
            periods: Vec::new(),
            modules_per_respondent: None,
        };
        create_wave(store, request).await.unwrap();
    }
}

/// A `ykien serve` child process on a free port of 127.0.0.1, with its logs (warnings and up) kept in a file.
pub struct Serve {
    child: std::process::Child,
    pub base: String,
    log: PathBuf,
}

impl Serve {
    /// Starts `ykien serve` on `db` with the test secret and `env`, and waits for its "listening on" line.
    pub fn start(db: &TestDb, env: &[(&str, &str)], log: PathBuf) -> Self {
        use std::io::BufRead;
        let mut all = vec![
            ("YKIEN_DATABASE_URL", db.url.as_str()),
            ("YKIEN_BIND", "127.0.0.1:0"),
            ("YKIEN_SECRET", TEST_SECRET),
        ];
        all.extend_from_slice(env);
        let mut child = ykien_command(&all, &["serve"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let base = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!(
                "ykien serve did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Self { child, base, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process dies at once, with no chance to finish anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the graceful exit; whether it exited with success.
    pub fn terminate(&mut self) -> bool {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap().success()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Settings held as owned values, borrowed as the `(name, value)` pairs the harness takes.
pub fn as_env<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Asserts the API's error shape and returns its code.
pub fn error_code(body: &serde_json::Value) -> String {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message in {body}"
    );
    assert!(
        error["message_en"].as_str().is_some_and(|m| !m.is_empty()),
        "no message_en in {body}"
    );
    error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned()
}

/// An official of the bundled Hưng Yên, logged in.
pub async fn official(
    store: &Store,
    username: &str,
    role: &str,
    office: Option<&str>,
    units: &[&str],
) -> ykien::services::accounts::Official {
    let password = PASSWORD;
    let request = ykien::services::accounts::AccountRequest {
        username: username.into(),
        display_name: format!("Cán bộ {username}"),
        password: password.into(),
        role: role.into(),
        office: office.map(Into::into),
        unit_codes: units.iter().map(|u| u.to_string()).collect(),
    };
    let today = ykien::domain::calendar::vn_day(chrono::Utc::now());
    ykien::services::accounts::add_official(store, request, today)
        .await
        .unwrap();
    ykien::services::accounts::login(store, username, password, "127.0.0.1", chrono::Utc::now())
        .await
        .unwrap()
        .unwrap()
        .1
}

/// The worksheets of an XLSX file as (part name, XML text), in sheet order: enough to check which values a
/// download holds (strings are written inline or in the shared strings part, which is appended to each).
#[allow(dead_code)]
pub fn xlsx_sheets(bytes: &[u8]) -> Vec<(String, String)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX file is a zip archive");
    let mut read = |name: &str| -> Option<String> {
        let mut text = String::new();
        archive.by_name(name).ok()?.read_to_string(&mut text).ok()?;
        Some(text)
    };
    let shared = read("xl/sharedStrings.xml").unwrap_or_default();
    (1..)
        .map_while(|i| {
            let name = format!("xl/worksheets/sheet{i}.xml");
            read(&name).map(|xml| (name, format!("{xml}{shared}")))
        })
        .collect()
}

/// The login form as a browser gets it: its `yk_login` cookie (`name=value`) and the form's CSRF token.
#[allow(dead_code)]
pub async fn login_form(app: &TestApp) -> (String, String) {
    let r = app.get("/console/login").await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("yk_login="), "{cookie}");
    let page = r.text().await.unwrap();
    (cookie, hidden_field(&page, "csrf"))
}

/// The value of the first hidden field `name` of a page.
#[allow(dead_code)]
pub fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {page}"))
        + marker.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// A sign-in attempt on the console's form, with its cookie and CSRF token, as a browser sends it.
#[allow(dead_code)]
pub async fn post_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    let (cookie, csrf) = login_form(app).await;
    app.client
        .post(app.url("/console/login"))
        .header("cookie", cookie)
        .form(&[("csrf", csrf.as_str()), ("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Signs an official in on the console's form; the session cookie (`name=value`) to send with later requests.
#[allow(dead_code)]
pub async fn session(app: &TestApp, username: &str) -> String {
    let r = post_login(app, username, PASSWORD).await;
    assert_eq!(r.status(), 303, "{username} logs in");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

/// The `ykien` binary with `args` and a clean environment of ours: no `YKIEN_*` from the caller, warnings-only logs,
/// then `env`.
#[allow(dead_code)]
pub fn ykien_command(env: &[(&str, &str)], args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ykien"));
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("YKIEN_")) {
        cmd.env_remove(k);
    }
    cmd.env("YKIEN_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The bundled questionnaire and the wave `w-2026` of it over Hưng Yên, 1 November 2025 to 31 October 2026: the
/// year of the plans' 2026 reports.
#[allow(dead_code)]
pub async fn wave_2026(store: &Store) -> ykien::domain::survey::Wave {
    use chrono::TimeZone;
    ykien::services::survey::import_questionnaire(store, ykien::services::demo::BUNDLED_QUESTIONNAIRE)
        .await
        .unwrap();
    ykien::services::survey::create_wave(
        store,
        ykien::services::survey::WaveRequest {
            code: "w-2026".into(),
            title: "Khảo sát PAPI cấp xã 2026".into(),
            questionnaire: "papi-2025".into(),
            questionnaire_version: None,
            unit_codes: vec!["33".into()],
            opens_at: chrono::Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap(),
            closes_at: chrono::Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap(),
            periods: Vec::new(),
            modules_per_respondent: None,
        },
    )
    .await
    .unwrap()
}
