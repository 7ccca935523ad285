//! `survey-responses`: complete survey responses posted to ykien's JSON API by a concurrent client on the same
//! machine, on SQLite and on PostgreSQL — responses/s, p50/p99 latency, the server's peak RSS — each printed
//! beside its baseline measured in the same run: the same answer rows inserted directly through sqlx in
//! batched transactions (the raw limit). Writes its section of `BENCHMARKS.md`.
//!
//! Build and run from the workspace root:
//!
//! ```sh
//! cargo build --release -p ykien -p ykien-bench && target/release/survey-responses
//! ```
//!
//! PostgreSQL runs too when `YKIEN_BENCH_POSTGRES_URL` (or `YKIEN_TEST_POSTGRES_URL`) names a server whose
//! user may create databases. `--help` lists the options.

mod answers;
mod common;
mod cpu;
mod load;
mod raw;
mod report;
mod server;
mod soak;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ykien::domain::questionnaire::Questionnaire;

use crate::answers::{Generated, Rng};
use crate::load::{Body, LoadSettings};
use crate::raw::RawSettings;
use crate::report::EngineReport;
use crate::server::{Database, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many distinct responses are generated; clients and the raw writers cycle through them.
const DISTINCT_RESPONSES: usize = 2000;

const USAGE: &str = "\
survey-responses: complete survey responses through ykien's JSON API, against the raw insert limit

usage: target/release/survey-responses [options]

  --clients N        concurrent clients (env YKIEN_BENCH_CLIENTS, default 32)
  --duration S       measured seconds of the API run (env YKIEN_BENCH_DURATION, default 20)
  --warmup S         warm-up seconds before measuring (env YKIEN_BENCH_WARMUP, default 3)
  --raw-duration S   seconds of the raw-limit run (env YKIEN_BENCH_RAW_DURATION, default 10)
  --batch N          responses per transaction in the raw-limit run (default 100)
  --raw-writers N    concurrent writers in the raw-limit run (default: 1 on SQLite, 4 on PostgreSQL)
  --engines LIST     sqlite,postgres (default: sqlite, and postgres when a URL is set)
  --output FILE      the BENCHMARKS.md to refresh (default: the workspace root's)
  --no-write         print only; leave BENCHMARKS.md alone
  --soak S           then, on each engine, S seconds at half the measured rate on a fresh database, minute by
                     minute (errors, latency, the server's resident set); its own section of BENCHMARKS.md

environment:
  YKIEN_BENCH_POSTGRES_URL or YKIEN_TEST_POSTGRES_URL  a PostgreSQL server whose user may create databases
  YKIEN_BIN          the ykien binary (default: beside this one, i.e. target/release/ykien)
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Sqlite,
    Postgres,
}

impl EngineKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }

    /// Writers of the raw-limit run by default: SQLite takes one writer at a time, so more would only queue;
    /// PostgreSQL writes in parallel, and one writer would leave it waiting on round trips.
    pub fn raw_writers(self) -> usize {
        match self {
            Self::Sqlite => 1,
            Self::Postgres => 4,
        }
    }
}

pub struct Args {
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub raw_duration: Duration,
    pub batch: usize,
    /// None: [`EngineKind::raw_writers`].
    pub raw_writers: Option<usize>,
    pub engines: Vec<EngineKind>,
    pub postgres_url: Option<String>,
    pub output: Option<PathBuf>,
    /// Seconds of the soak run after the measured run; none without `--soak`.
    pub soak: Option<Duration>,
    /// The command line as given, for the report.
    pub command: String,
}

fn env_number(name: &str, default: u64) -> Result<u64, BoxError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().parse().map_err(|_| format!("{name}={v}: not a number"))?),
        _ => Ok(default),
    }
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let postgres_url = ["YKIEN_BENCH_POSTGRES_URL", "YKIEN_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .map(|v| v.trim().to_owned());
    let mut clients = env_number("YKIEN_BENCH_CLIENTS", 32)?;
    let mut duration = env_number("YKIEN_BENCH_DURATION", 20)?;
    let mut warmup = env_number("YKIEN_BENCH_WARMUP", 3)?;
    let mut raw_duration = env_number("YKIEN_BENCH_RAW_DURATION", 10)?;
    let mut batch = 100;
    let mut soak = None;
    let mut raw_writers = None;
    let mut engines = None;
    let mut output = Some(common::workspace_root()?.join("BENCHMARKS.md"));
    let given: Vec<String> = std::env::args().skip(1).collect();
    let mut it = given.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        let number =
            |v: &str| -> Result<u64, BoxError> { Ok(v.parse().map_err(|_| format!("{flag} {v}: not a number"))?) };
        match flag.as_str() {
            "--clients" => clients = number(value()?)?,
            "--duration" => duration = number(value()?)?,
            "--warmup" => warmup = number(value()?)?,
            "--raw-duration" => raw_duration = number(value()?)?,
            "--batch" => batch = number(value()?)? as usize,
            "--raw-writers" => raw_writers = Some(number(value()?)? as usize),
            "--engines" => {
                let mut list = Vec::new();
                for name in value()?.split(',') {
                    list.push(match name.trim() {
                        "sqlite" => EngineKind::Sqlite,
                        "postgres" | "postgresql" => EngineKind::Postgres,
                        other => return Err(format!("--engines: unknown engine {other}; use sqlite,postgres").into()),
                    });
                }
                engines = Some(list);
            }
            "--output" => output = Some(PathBuf::from(value()?)),
            "--no-write" => output = None,
            "--soak" => soak = Some(Duration::from_secs(number(value()?)?)),
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}").into()),
        }
    }
    if clients == 0 || duration == 0 || batch == 0 || raw_writers == Some(0) || raw_duration == 0 {
        return Err("--clients, --duration, --raw-duration, --batch and --raw-writers must be at least 1".into());
    }
    if soak == Some(Duration::ZERO) {
        return Err("--soak must be at least 1 second".into());
    }
    let engines = engines.unwrap_or_else(|| {
        let mut all = vec![EngineKind::Sqlite];
        if postgres_url.is_some() {
            all.push(EngineKind::Postgres);
        }
        all
    });
    if engines.contains(&EngineKind::Postgres) && postgres_url.is_none() {
        return Err(
            "PostgreSQL asked for, but neither YKIEN_BENCH_POSTGRES_URL nor YKIEN_TEST_POSTGRES_URL is set".into(),
        );
    }
    let mut command = String::from("target/release/survey-responses");
    for arg in &given {
        command.push(' ');
        command.push_str(arg);
    }
    if let Some(url) = &postgres_url {
        command = format!("YKIEN_BENCH_POSTGRES_URL={} {command}", server::redact(url));
    }
    Ok(Some(Args {
        clients: clients as usize,
        warmup: Duration::from_secs(warmup),
        duration: Duration::from_secs(duration),
        raw_duration: Duration::from_secs(raw_duration),
        batch,
        raw_writers,
        engines,
        postgres_url,
        output,
        soak,
        command,
    }))
}

/// The generated responses, the commune each is posted for, and their request bodies.
struct Workload {
    responses: Vec<Generated>,
    communes: Vec<String>,
    bodies: Arc<Vec<Body>>,
}

fn workload(q: &Questionnaire, commune_codes: &[String]) -> Result<Workload, BoxError> {
    let responses = answers::generate_many(q, DISTINCT_RESPONSES, 2025)?;
    let mut rng = Rng::new(33);
    let communes: Vec<String> = (0..responses.len())
        .map(|_| commune_codes[rng.below(commune_codes.len())].clone())
        .collect();
    let mut bodies = Vec::with_capacity(responses.len());
    for (r, commune) in responses.iter().zip(&communes) {
        let json = serde_json::json!({ "commune": commune, "answers": r.raw });
        bodies.push(Body {
            json: serde_json::to_string(&json)?,
            answers: r.stored.len(),
        });
    }
    Ok(Workload {
        responses,
        communes,
        bodies: Arc::new(bodies),
    })
}

async fn new_database(kind: EngineKind, args: &Args, label: &str) -> Result<Database, BoxError> {
    match kind {
        EngineKind::Sqlite => Database::sqlite(label),
        EngineKind::Postgres => Database::postgres(args.postgres_url.as_deref().ok_or("no PostgreSQL URL")?).await,
    }
}

/// One engine: the API run on one fresh database, then the raw limit on another.
async fn bench_engine(
    kind: EngineKind,
    args: &Args,
    bin: &Path,
    root: &Path,
    q: &Questionnaire,
    databases: &mut Vec<Database>,
) -> Result<EngineReport, BoxError> {
    let label = kind.label();
    println!("== {label}: preparing a fresh database with {} …", bin.display());
    let (server, work, idle_rss_kb) = start_fresh(kind, args, bin, root, q, databases, "api").await?;
    let pid = server.pid();
    println!(
        "   ykien serve (pid {pid}) at {}; {} clients, {} s warm-up, {} s measured …",
        server.url,
        args.clients,
        args.warmup.as_secs(),
        args.duration.as_secs()
    );
    let settings = LoadSettings {
        clients: args.clients,
        warmup: args.warmup,
        duration: args.duration,
    };
    let load = load::run(
        &server.url,
        server::WAVE,
        server::API_TOKEN,
        work.bodies.clone(),
        &settings,
        pid,
    )
    .await?;
    let (peak_rss_kb, stored, stderr) = stop_measured(server).await?;
    if load.responses == 0 {
        return Err(format!(
            "{label}: no response was created; first error: {}",
            load.first_error.as_deref().unwrap_or("none")
        )
        .into());
    }

    let writers = args.raw_writers.unwrap_or(kind.raw_writers());
    println!(
        "   raw limit: insert_complete_responses, {} per transaction, {writers} writer(s), {} s …",
        args.batch,
        args.raw_duration.as_secs()
    );
    let raw_db = new_database(kind, args, "raw").await?;
    let raw_url = raw_db.url.clone();
    databases.push(raw_db);
    server::prepare(bin, root, &raw_url)?;
    let store = raw::open(&raw_url).await?;
    let raw_settings = RawSettings {
        batch: args.batch,
        writers,
        duration: args.raw_duration,
    };
    let raw = raw::run(&store, server::WAVE, &work.responses, &work.communes, &raw_settings).await?;
    store.close().await;

    let sizes: Vec<usize> = work.bodies.iter().map(|b| b.answers).collect();
    let bytes: usize = work.bodies.iter().map(|b| b.json.len()).sum();
    Ok(EngineReport {
        kind,
        load,
        raw,
        idle_rss_kb,
        peak_rss_kb,
        stored,
        server_stderr: stderr,
        answers_min: sizes.iter().copied().min().unwrap_or(0),
        answers_max: sizes.iter().copied().max().unwrap_or(0),
        answers_mean: sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        body_bytes_mean: bytes as f64 / work.bodies.len().max(1) as f64,
    })
}

/// The soak: a fresh database and server, half of `max_rate` responses/s for the `--soak` seconds.
async fn soak_engine(
    kind: EngineKind,
    args: &Args,
    bin: &Path,
    root: &Path,
    q: &Questionnaire,
    databases: &mut Vec<Database>,
    max_rate: f64,
) -> Result<soak::SoakResult, BoxError> {
    let duration = args.soak.ok_or("the soak runs only with --soak")?;
    let (server, work, idle_rss_kb) = start_fresh(kind, args, bin, root, q, databases, "soak").await?;
    let rate = max_rate / 2.0;
    println!(
        "== {} soak: {rate:.0} responses/s (half of {max_rate:.0}) for {} s against {} …",
        kind.label(),
        duration.as_secs(),
        server.url
    );
    let (minutes, created, first_error) = soak::run(
        &server.url,
        server::WAVE,
        server::API_TOKEN,
        work.bodies.clone(),
        rate,
        duration,
        server.pid(),
    )
    .await?;
    let (peak_rss_kb, stored, _) = stop_measured(server).await?;
    Ok(soak::SoakResult {
        kind,
        max_rate,
        duration,
        minutes,
        idle_rss_kb,
        peak_rss_kb,
        created,
        stored,
        first_error,
    })
}

/// A fresh database prepared by `ykien`, `ykien serve` on it, the workload drawn for its communes, and the server's
/// resident set once settled (the baseline of the memory figures).
async fn start_fresh(
    kind: EngineKind,
    args: &Args,
    bin: &Path,
    root: &Path,
    q: &Questionnaire,
    databases: &mut Vec<Database>,
    name: &str,
) -> Result<(Server, Workload, u64), BoxError> {
    let db = new_database(kind, args, name).await?;
    let url = db.url.clone();
    databases.push(db);
    server::prepare(bin, root, &url)?;
    // Only the ykien binary touches this database: the communes come from the service's own API.
    let server = Server::start(bin, root, &url)?;
    let codes = commune_codes(&server.url).await?;
    if codes.len() != 104 {
        eprintln!("warning: province 33 has {} communes today, not 104", codes.len());
    }
    let work = workload(q, &codes)?;
    // Let it settle, then take the idle resident set as the baseline of the memory figure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kb = server::proc_status_kb(server.pid(), "VmRSS").unwrap_or(0);
    Ok((server, work, idle_rss_kb))
}

/// After a run: the server's peak resident set (kB), the complete responses it counts and what it wrote to standard
/// error; then stops it.
async fn stop_measured(server: Server) -> Result<(u64, Option<i64>, (usize, Vec<String>)), BoxError> {
    let peak_rss_kb = server::proc_status_kb(server.pid(), "VmHWM").unwrap_or(0);
    let stored = stored_responses(&server.url).await;
    let stderr = server.stderr_lines();
    let status = server.stop()?;
    if !status.success() {
        eprintln!("warning: ykien serve exited with {status}");
    }
    Ok((peak_rss_kb, stored, stderr))
}

/// The GSO codes of province 33's communes today, from `GET /api/v1/units?parent=33`.
async fn commune_codes(base: &str) -> Result<Vec<String>, BoxError> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/units?parent=33"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let codes: Vec<String> = body
        .get("items")
        .and_then(|items| items.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|u| u.get("code")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if codes.is_empty() {
        return Err(format!("{base}/api/v1/units?parent=33 lists no commune").into());
    }
    Ok(codes)
}

/// The wave's complete responses as the server counts them (`GET /api/v1/waves/{code}`), if it answers.
async fn stored_responses(base: &str) -> Option<i64> {
    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1/waves/{}", server::WAVE))
        .bearer_auth(server::API_TOKEN)
        .send()
        .await
        .ok()?;
    let body: serde_json::Value = response.json().await.ok()?;
    body.get("complete_responses")?.as_i64()
}

async fn main_async(args: Args) -> Result<(), BoxError> {
    let bin = common::ykien_binary()?;
    let root = common::workspace_root()?;
    let q = Questionnaire::parse(answers::BUNDLED_QUESTIONNAIRE)
        .map_err(|e| format!("the bundled questionnaire does not parse: {}", e.0.join("; ")))?;
    let background = common::load_before_run().await;
    let mut reports = Vec::new();
    let mut databases = Vec::new();
    let mut soaks = Vec::new();
    let mut failure = None;
    for &kind in &args.engines {
        match bench_engine(kind, &args, &bin, &root, &q, &mut databases).await {
            Ok(r) => {
                println!("{}", report::terminal_table(&r));
                reports.push(r);
            }
            Err(e) => {
                failure = Some(format!("{}: {e}", kind.label()));
                break;
            }
        }
        if args.soak.is_some()
            && let Some(r) = reports.last()
        {
            match soak_engine(kind, &args, &bin, &root, &q, &mut databases, r.load.per_second()).await {
                Ok(s) => {
                    soak::print(&s);
                    soaks.push(s);
                }
                Err(e) => {
                    failure = Some(format!("{} soak: {e}", kind.label()));
                    break;
                }
            }
        }
    }
    for db in databases {
        db.remove().await;
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    if let Some(path) = &args.output {
        report::write_markdown(path, &args, &reports, &background)?;
        if !soaks.is_empty() {
            soak::write_markdown(path, &args, &soaks)?;
        }
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    common::run("survey-responses", parse_args, main_async)
}
