//! `chat-webhooks`: simulated citizens answering the survey over the Telegram and Zalo webhooks of `ykien serve`
//! (issues 5 and 6, "Performance"), the replies caught by fake platform APIs inside this program — updates/s and
//! p50/p99 from posting an update to its reply reaching the platform, the server's peak RSS and CPU — each beside
//! baselines measured in the same run: the same turns driven in-process through the dialogue
//! (`Chats::take_turn`), without and with the webhook path's event log. Writes its section of `BENCHMARKS.md`.
//!
//! Build and run from the workspace root:
//!
//! ```sh
//! cargo build --release -p ykien -p ykien-bench && target/release/chat-webhooks
//! ```
//!
//! PostgreSQL runs too when `YKIEN_BENCH_POSTGRES_URL` (or `YKIEN_TEST_POSTGRES_URL`) names a server whose
//! user may create databases. `--help` lists the options.

mod chat_citizen;
mod chat_load;
mod chat_platform;
mod chat_report;
mod chat_transport;
mod common;
mod cpu;
// Shared with `survey-responses`, which uses more of it.
#[allow(dead_code)]
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use ykien::services::cases::{CaseRules, Cases};
use ykien::services::chat::Chats;
use ykien::services::event_log::EventLog;
use ykien::services::survey::Surveys;

use crate::chat_load::LoadSettings;
use crate::chat_platform::Platform;
use crate::chat_report::{BaselineReport, ChannelReport, EngineReport};
use crate::chat_transport::{InProcessTransport, Webhook, WebhookTransport};
use crate::server::{Database, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TELEGRAM_TOKEN: &str = "123456789:bench-token-0123456789abcdefghij";
const TELEGRAM_SECRET: &str = "bench-webhook-secret-0123456789";
const ZALO_APP_ID: &str = "1163843031413526746";
const ZALO_APP_SECRET: &str = "bench-app-secret-0123456789";
const ZALO_OA_SECRET_KEY: &str = "bench-oa-secret-key-0123456789";
/// The bot's own throttle, raised so that it is not what is measured.
const UNTHROTTLED: &str = "100000";

const USAGE: &str = "\
chat-webhooks: a survey answered by simulated citizens over ykien's Telegram and Zalo webhooks, against the
dialogue driven in-process

usage: target/release/chat-webhooks [options]

  --citizens N           concurrent citizens (env YKIEN_BENCH_CITIZENS, default 100)
  --duration S           measured seconds of each webhook run (env YKIEN_BENCH_DURATION, default 20)
  --warmup S             warm-up seconds before measuring (env YKIEN_BENCH_WARMUP, default 10)
  --baseline-duration S  seconds of each in-process baseline run (default 20)
  --channels LIST        telegram,zalo (default both)
  --no-baseline          skip the in-process baselines
  --split N              also run Telegram on a split wave: N sub-dimensions per respondent (0: no such run;
                         default 7)
  --engines LIST         sqlite,postgres (default: sqlite, and postgres when a URL is set)
  --output FILE          the BENCHMARKS.md to refresh (default: the workspace root's)
  --no-write             print only; leave BENCHMARKS.md alone

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelKind {
    Telegram,
    Zalo,
}

impl ChannelKind {
    fn label(self) -> &'static str {
        match self {
            Self::Telegram => "Telegram",
            Self::Zalo => "Zalo",
        }
    }

    fn storage_name(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Zalo => "zalo",
        }
    }
}

pub struct Args {
    pub citizens: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub baseline_duration: Duration,
    channels: Vec<ChannelKind>,
    baseline: bool,
    /// Sub-dimensions per respondent of the extra split-wave run, if any.
    pub split: Option<u32>,
    engines: Vec<EngineKind>,
    postgres_url: Option<String>,
    output: Option<PathBuf>,
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
    let mut citizens = env_number("YKIEN_BENCH_CITIZENS", 100)?;
    let mut duration = env_number("YKIEN_BENCH_DURATION", 20)?;
    let mut warmup = env_number("YKIEN_BENCH_WARMUP", 10)?;
    let mut baseline_duration = 20;
    let mut channels = vec![ChannelKind::Telegram, ChannelKind::Zalo];
    let mut baseline = true;
    let mut split = Some(7);
    let mut engines = None;
    let mut output = Some(common::workspace_root()?.join("BENCHMARKS.md"));
    let given: Vec<String> = std::env::args().skip(1).collect();
    let mut it = given.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        let number =
            |v: &str| -> Result<u64, BoxError> { Ok(v.parse().map_err(|_| format!("{flag} {v}: not a number"))?) };
        match flag.as_str() {
            "--citizens" => citizens = number(value()?)?,
            "--duration" => duration = number(value()?)?,
            "--warmup" => warmup = number(value()?)?,
            "--baseline-duration" => baseline_duration = number(value()?)?,
            "--channels" => {
                channels = Vec::new();
                for name in value()?.split(',') {
                    channels.push(match name.trim() {
                        "telegram" => ChannelKind::Telegram,
                        "zalo" => ChannelKind::Zalo,
                        other => return Err(format!("--channels: unknown channel {other}; use telegram,zalo").into()),
                    });
                }
            }
            "--no-baseline" => baseline = false,
            "--split" => split = Some(number(value()?)? as u32).filter(|&n| n > 0),
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
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}").into()),
        }
    }
    if citizens == 0 || duration == 0 || baseline_duration == 0 {
        return Err("--citizens, --duration and --baseline-duration must be at least 1".into());
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
    let mut command = String::from("target/release/chat-webhooks");
    for arg in &given {
        command.push(' ');
        command.push_str(arg);
    }
    if let Some(url) = &postgres_url {
        command = format!("YKIEN_BENCH_POSTGRES_URL={} {command}", server::redact(url));
    }
    Ok(Some(Args {
        citizens: citizens as usize,
        warmup: Duration::from_secs(warmup),
        duration: Duration::from_secs(duration),
        baseline_duration: Duration::from_secs(baseline_duration),
        channels,
        baseline,
        split,
        engines,
        postgres_url,
        output,
        command,
    }))
}

/// A fresh database prepared with the `ykien` binary (its wave split into `modules` sub-dimensions per respondent
/// when given); returns it with the codes of province 33's communes.
async fn fresh_database(
    kind: EngineKind,
    args: &Args,
    (bin, root): (&Path, &Path),
    label: &str,
    modules: Option<u32>,
    databases: &mut Vec<Database>,
) -> Result<(String, Vec<String>), BoxError> {
    let db = match kind {
        EngineKind::Sqlite => Database::sqlite(label)?,
        EngineKind::Postgres => Database::postgres(args.postgres_url.as_deref().ok_or("no PostgreSQL URL")?).await?,
    };
    let url = db.url.clone();
    databases.push(db);
    server::prepare_split(bin, root, &url, modules)?;
    let store = server::open_store(&server::config(&url)?).await?;
    let today = ykien::domain::calendar::vn_day(Utc::now());
    let communes: Vec<String> = ykien::services::units::children(&store, Some("33"), today)
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    store.close().await;
    if communes.is_empty() {
        return Err("province 33 has no communes in the prepared database".into());
    }
    Ok((url, communes))
}

/// Complete responses of `channel` in the benchmark's wave.
async fn stored_surveys(database_url: &str, channel: &str) -> Result<usize, BoxError> {
    let store = server::open_store(&server::config(database_url)?).await?;
    let wave = store.wave_by_code(server::WAVE).await?;
    let count = store.complete_responses_by_channel(wave.id, channel).await?.len();
    store.close().await;
    Ok(count)
}

fn channel_settings(channel: ChannelKind, platform_url: &str) -> Vec<(&'static str, String)> {
    match channel {
        ChannelKind::Telegram => vec![
            ("YKIEN_TELEGRAM_TOKEN", TELEGRAM_TOKEN.to_owned()),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET.to_owned()),
            ("YKIEN_TELEGRAM_API_URL", platform_url.to_owned()),
            ("YKIEN_TELEGRAM_MAX_PER_SECOND", UNTHROTTLED.to_owned()),
            ("YKIEN_TELEGRAM_PER_CHAT_PER_SECOND", UNTHROTTLED.to_owned()),
        ],
        ChannelKind::Zalo => vec![
            ("YKIEN_ZALO_APP_ID", ZALO_APP_ID.to_owned()),
            ("YKIEN_ZALO_APP_SECRET", ZALO_APP_SECRET.to_owned()),
            ("YKIEN_ZALO_OA_SECRET_KEY", ZALO_OA_SECRET_KEY.to_owned()),
            ("YKIEN_ZALO_API_URL", platform_url.to_owned()),
            ("YKIEN_ZALO_OAUTH_URL", platform_url.to_owned()),
        ],
    }
}

/// One channel: a fresh database, `ykien serve` with the channel pointed at the fake platform, the closed loop.
/// `split`: the wave's sub-dimensions per respondent, for a split-questionnaire run.
#[allow(clippy::too_many_arguments)]
async fn bench_channel(
    kind: EngineKind,
    channel: ChannelKind,
    split: Option<u32>,
    args: &Args,
    bin: &Path,
    root: &Path,
    platform: &Arc<Platform>,
    first_user: u64,
    databases: &mut Vec<Database>,
) -> Result<ChannelReport, BoxError> {
    let name = match split {
        Some(n) => format!("{}, split wave ({n} sub-dimensions each)", channel.label()),
        None => channel.label().to_owned(),
    };
    println!(
        "== {} / {name}: preparing a fresh database with {} …",
        kind.label(),
        bin.display()
    );
    let label = if split.is_some() {
        "split"
    } else {
        channel.storage_name()
    };
    let (url, communes) = fresh_database(kind, args, (bin, root), label, split, databases).await?;
    if channel == ChannelKind::Zalo {
        // What `ykien zalo connect` would store: tokens valid for a day, so no refresh happens during the run.
        let store = server::open_store(&server::config(&url)?).await?;
        let now = Utc::now();
        store
            .store_channel_tokens(
                "zalo",
                "bench-access-token",
                "bench-refresh-token",
                now + chrono::Duration::hours(25),
                now,
            )
            .await?;
        store.close().await;
    }
    let server = Server::start_with(bin, root, &url, &channel_settings(channel, &platform.url))?;
    let pid = server.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kb = server::proc_status_kb(pid, "VmRSS").unwrap_or(0);
    println!(
        "   ykien serve (pid {pid}) at {}; {} citizens, {} s warm-up, {} s measured …",
        server.url,
        args.citizens,
        args.warmup.as_secs(),
        args.duration.as_secs()
    );
    let webhook = match channel {
        ChannelKind::Telegram => Webhook::Telegram {
            secret: TELEGRAM_SECRET.to_owned(),
        },
        ChannelKind::Zalo => Webhook::Zalo {
            app_id: ZALO_APP_ID.to_owned(),
            oa_secret_key: ZALO_OA_SECRET_KEY.to_owned(),
        },
    };
    let transport = Arc::new(WebhookTransport::new(
        webhook,
        &server.url,
        platform.clone(),
        args.citizens,
    )?);
    let counters = platform.counters();
    let before = [
        counters.messages.load(Ordering::Relaxed),
        counters.callback_answers.load(Ordering::Relaxed),
        counters.unexpected.load(Ordering::Relaxed),
    ];
    let settings = LoadSettings {
        citizens: args.citizens,
        warmup: args.warmup,
        duration: args.duration,
        communes: Arc::new(communes),
        first_user,
        seed: 2025,
    };
    let load = chat_load::run(transport, &settings, Some(pid)).await?;
    // Replies still on their way when the window closed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak_rss_kb = server::proc_status_kb(pid, "VmHWM").unwrap_or(0);
    let server_stderr = server.stderr_lines();
    let status = server.stop()?;
    if !status.success() {
        eprintln!("warning: ykien serve exited with {status}");
    }
    if load.updates == 0 {
        return Err(format!(
            "{name}: no update was answered; first error: {}",
            load.first_error.as_deref().unwrap_or("none")
        )
        .into());
    }
    let stored = match stored_surveys(&url, channel.storage_name()).await {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("warning: cannot count the stored responses: {e}");
            None
        }
    };
    Ok(ChannelReport {
        name,
        load,
        idle_rss_kb,
        peak_rss_kb,
        stored_surveys: stored,
        server_stderr,
        platform_messages: counters.messages.load(Ordering::Relaxed) - before[0],
        callback_answers: counters.callback_answers.load(Ordering::Relaxed) - before[1],
        unexpected: counters.unexpected.load(Ordering::Relaxed) - before[2],
    })
}

/// The in-process baseline on a fresh database: `Chats::take_turn` as `src/app.rs` builds it.
async fn bench_baseline(
    kind: EngineKind,
    event_log: bool,
    args: &Args,
    bin: &Path,
    root: &Path,
    first_user: u64,
    databases: &mut Vec<Database>,
) -> Result<BaselineReport, BoxError> {
    println!(
        "== {} / baseline{}: the dialogue in-process, {} citizens, {} s …",
        kind.label(),
        if event_log { " + event log" } else { "" },
        args.citizens,
        args.baseline_duration.as_secs()
    );
    let label = if event_log { "baseline-log" } else { "baseline" };
    let (url, communes) = fresh_database(kind, args, (bin, root), label, None, databases).await?;
    let config = server::config(&url)?;
    let store = server::open_store(&config).await?;
    let categories = ykien::domain::cases::parse_categories(ykien::domain::cases::BUNDLED_CATEGORIES)
        .map_err(|e| format!("the bundled categories: {e}"))?;
    let surveys = Arc::new(Surveys::new(store.clone(), config.require_secret()?.clone()));
    let cases = Arc::new(Cases::new(store.clone(), categories, CaseRules::from_config(&config)));
    let chats = Chats::new(store.clone(), surveys, cases, None);
    let transport = Arc::new(InProcessTransport {
        chats,
        event_log: event_log.then(|| EventLog::start(store.clone())),
        next_event: AtomicU64::new(1),
    });
    let settings = LoadSettings {
        citizens: args.citizens,
        // From the first turn: a baseline of 20 s covers whole surveys (start, menu, every question, completion).
        warmup: Duration::ZERO,
        duration: args.baseline_duration,
        communes: Arc::new(communes),
        first_user,
        seed: 2025,
    };
    let load = chat_load::run(transport, &settings, None).await?;
    store.close().await;
    if load.updates == 0 {
        return Err(format!(
            "baseline: no update was answered; first error: {}",
            load.first_error.as_deref().unwrap_or("none")
        )
        .into());
    }
    Ok(BaselineReport { event_log, load })
}

async fn bench_engine(
    kind: EngineKind,
    args: &Args,
    bin: &Path,
    root: &Path,
    platform: &Arc<Platform>,
    databases: &mut Vec<Database>,
) -> Result<EngineReport, BoxError> {
    let mut channels = Vec::new();
    // Chat ids of each run in their own range (Telegram's are 64-bit; Zalo's are strings of digits).
    let mut first_user = 500_000_000;
    let mut runs: Vec<(ChannelKind, Option<u32>)> = args.channels.iter().map(|&c| (c, None)).collect();
    if let Some(n) = args.split {
        runs.push((ChannelKind::Telegram, Some(n)));
    }
    for (channel, split) in runs {
        channels.push(bench_channel(kind, channel, split, args, bin, root, platform, first_user, databases).await?);
        first_user += 100_000_000;
    }
    let mut baselines = Vec::new();
    if args.baseline {
        for event_log in [false, true] {
            baselines.push(bench_baseline(kind, event_log, args, bin, root, first_user, databases).await?);
            first_user += 100_000_000;
        }
    }
    Ok(EngineReport {
        kind,
        channels,
        baselines,
    })
}

async fn main_async(args: Args) -> Result<(), BoxError> {
    let bin = common::ykien_binary()?;
    let root = common::workspace_root()?;
    let background = common::load_before_run().await;
    let platform = Arc::new(Platform::start().await?);
    let mut reports = Vec::new();
    let mut databases = Vec::new();
    let mut failure = None;
    for &kind in &args.engines {
        match bench_engine(kind, &args, &bin, &root, &platform, &mut databases).await {
            Ok(r) => {
                println!("{}", chat_report::terminal_table(&r));
                reports.push(r);
            }
            Err(e) => {
                failure = Some(format!("{}: {e}", kind.label()));
                break;
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
        chat_report::write_markdown(path, &args, &reports, &background)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    common::run("chat-webhooks", parse_args, main_async)
}
