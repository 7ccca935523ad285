//! The databases a run uses, preparing them with the `ykien` binary as an administrator would, and the
//! `ykien serve` child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::BoxError;

/// The code of the wave the benchmark posts to.
pub const WAVE: &str = "bench-survey-responses";
/// Secrets of the throw-away service (at least 32 characters each).
pub const SECRET: &str = "ykien-bench-secret-0123456789abcdefghijklmnop";
pub const API_TOKEN: &str = "ykien-bench-api-token-0123456789abcdefghijkl";

/// The bundled Hưng Yên files, in the order `import_bundled_hung_yen` imports them.
const UNIT_FILES: [&str; 3] = [
    "data/admin-units/legacy-2024-hung-yen-thai-binh.csv",
    "data/admin-units/hung-yen-2025.csv",
    "data/admin-units/lineage-2025-hung-yen.csv",
];

/// A throw-away database: a SQLite file in its own temporary folder, or a PostgreSQL database created for
/// this run. Call [`Database::remove`] at the end.
pub struct Database {
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite(PathBuf),
    Postgres { server_url: String, name: String },
}

impl Database {
    pub fn sqlite(label: &str) -> Result<Self, BoxError> {
        let dir = std::env::temp_dir().join(format!("ykien-bench-{label}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self {
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            place: Place::Sqlite(dir),
        })
    }

    pub async fn postgres(server_url: &str) -> Result<Self, BoxError> {
        let name = format!("ykien_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(server_url)
            .await
            .map_err(|e| format!("cannot reach PostgreSQL at {}: {e}", redact(server_url)))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        admin.close().await?;
        Ok(Self {
            url: with_database(server_url, &name),
            place: Place::Postgres {
                server_url: server_url.to_owned(),
                name,
            },
        })
    }

    /// Deletes the SQLite folder or drops the PostgreSQL database; a failure is printed, not fatal.
    pub async fn remove(self) {
        match self.place {
            Place::Sqlite(dir) => {
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("warning: cannot remove {}: {e}", dir.display());
                }
            }
            Place::Postgres { server_url, name } => {
                let dropped = async {
                    let mut admin = PgConnection::connect(&server_url).await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    admin.close().await
                };
                if let Err(e) = dropped.await {
                    eprintln!("warning: cannot drop database {name}: {e}");
                }
            }
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

/// The URL with its password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    match (rest.find('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..])
        }
        _ => url.to_owned(),
    }
}

/// A `ykien` command with only the given `YKIEN_*` settings (none inherited from the caller's environment).
fn ykien_command(bin: &Path, root: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(root);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("YKIEN_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("YKIEN_DATABASE_URL", database_url).env("YKIEN_LOG", "warn");
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<(), BoxError> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// Imports the bundled Hưng Yên units and questionnaire and opens the benchmark's wave over province 33 (from
/// yesterday for 30 days, Vietnam time), all with the `ykien` binary.
pub fn prepare(bin: &Path, root: &Path, database_url: &str) -> Result<(), BoxError> {
    prepare_split(bin, root, database_url, None)
}

/// As [`prepare`]; with `Some(n)` the wave asks each respondent `n` sub-dimensions (a split questionnaire).
pub fn prepare_split(bin: &Path, root: &Path, database_url: &str, modules: Option<u32>) -> Result<(), BoxError> {
    let mut units = ykien_command(bin, root, database_url);
    units.args(["units", "import"]).args(UNIT_FILES);
    run(units, "ykien units import")?;
    let mut questionnaire = ykien_command(bin, root, database_url);
    questionnaire.args(["questionnaire", "import", "questionnaires/papi-2025.toml"]);
    run(questionnaire, "ykien questionnaire import")?;
    let today = ykien::domain::calendar::vn_day(Utc::now());
    let opens = (today - chrono::Duration::days(1)).to_string();
    let closes = (today + chrono::Duration::days(30)).to_string();
    let mut wave = ykien_command(bin, root, database_url);
    wave.args([
        "wave",
        "create",
        "--code",
        WAVE,
        "--title",
        "Benchmark: complete responses",
    ])
    .args([
        "--questionnaire",
        "papi-2025",
        "--units",
        "33",
        "--opens",
        opens.as_str(),
        "--closes",
        closes.as_str(),
    ]);
    if let Some(n) = modules {
        wave.args(["--modules-per-respondent", &n.to_string()]);
    }
    run(wave, "ykien wave create")
}

/// The service's configuration for `database_url` (and the benchmark's secret), as `ykien serve` would read it.
pub fn config(database_url: &str) -> Result<ykien::config::Config, BoxError> {
    let env = std::collections::BTreeMap::from([
        ("YKIEN_DATABASE_URL".to_owned(), database_url.to_owned()),
        ("YKIEN_SECRET".to_owned(), SECRET.to_owned()),
    ]);
    Ok(ykien::config::Config::from_layers(None, &env)?)
}

/// Opens (and migrates) the store of `config` as the service does.
pub async fn open_store(config: &ykien::config::Config) -> Result<ykien::storage::Store, BoxError> {
    ykien::app::open_store(config).await.map_err(|e| {
        format!("{e} (the database was prepared by the ykien binary: build both from the same tree with cargo build --release -p ykien -p ykien-bench)").into()
    })
}

/// `ykien serve` running as a child process.
pub struct Server {
    child: Child,
    pub url: String,
    /// Lines the server wrote to standard error (warnings and errors: it runs with YKIEN_LOG=warn).
    stderr: Arc<Mutex<(usize, Vec<String>)>>,
}

impl Server {
    /// Starts the service on a free port of 127.0.0.1 and waits for its "listening on" line.
    pub fn start(bin: &Path, root: &Path, database_url: &str) -> Result<Self, BoxError> {
        Self::start_with(bin, root, database_url, &[])
    }

    /// [`Server::start`] with more `YKIEN_*` settings (e.g. a chat channel's).
    pub fn start_with(
        bin: &Path,
        root: &Path,
        database_url: &str,
        settings: &[(&str, String)],
    ) -> Result<Self, BoxError> {
        let mut cmd = ykien_command(bin, root, database_url);
        cmd.envs(settings.iter().map(|(k, v)| (*k, v.as_str())));
        cmd.arg("serve")
            .env("YKIEN_BIND", "127.0.0.1:0")
            .env("YKIEN_SECRET", SECRET)
            .env("YKIEN_API_TOKEN", API_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {} serve: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let lines = Arc::new(Mutex::new((0usize, Vec::new())));
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                kept.0 += 1;
                if kept.1.len() < 5 {
                    kept.1.push(line);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = child.try_wait()? {
                        return Err(exited(status, &lines));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Standard output closed without the line: the service is stopping; say why.
                    let status = child.wait()?;
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(exited(status, &lines));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    return Err("ykien serve did not print its address within 60 s".into());
                }
            }
        };
        Ok(Self {
            child,
            url,
            stderr: lines,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many lines the server wrote to standard error, and the first few.
    pub fn stderr_lines(&self) -> (usize, Vec<String>) {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// SIGTERM (the service finishes requests in flight and closes the database), then SIGKILL after 15 s.
    pub fn stop(mut self) -> Result<ExitStatus, BoxError> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                return Ok(self.child.wait()?);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only reached with the child still running when a run fails half-way.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn exited(status: ExitStatus, stderr: &Mutex<(usize, Vec<String>)>) -> BoxError {
    let (_, first) = &*stderr.lock().unwrap_or_else(|e| e.into_inner());
    format!(
        "ykien serve exited ({status}) before listening: {} (is the ykien binary built from the same tree? \
         cargo build --release -p ykien -p ykien-bench)",
        first.join(" / ")
    )
    .into()
}

/// A field of /proc/{pid}/status in kB, e.g. `VmRSS` or `VmHWM` (the peak resident set).
pub fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The highest `VmRSS` of a process, sampled every 100 ms from [`PeakRss::start`] until [`PeakRss::stop`].
pub struct PeakRss {
    stop: Arc<std::sync::atomic::AtomicBool>,
    peak: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub fn start(pid: u32) -> Self {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = {
            let (stop, peak) = (stop.clone(), peak.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kb) = proc_status_kb(pid, "VmRSS") {
                        peak.fetch_max(kb, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        Self { stop, peak, task }
    }

    /// Stops sampling; the highest value seen, in kB.
    pub async fn stop(self) -> Result<u64, BoxError> {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        self.task.await?;
        Ok(self.peak.load(Ordering::Relaxed))
    }
}
