//! `public-pages`: issue 19's figure, written to its section of `BENCHMARKS.md`: the public commune scorecard
//! (`/scores/33/{commune}`, no login, served from the scores' snapshot) under C concurrent clients, p50/p99 and
//! requests per second, beside `/healthz` (a database ping: the floor of any request) measured the same way in the
//! same run, with N responses stored and published (SQLite, `ykien serve` in release).
//!
//! Build and run from the workspace root, on a quiet machine:
//!
//! ```sh
//! cargo build --release -p ykien -p ykien-bench && target/release/public-pages --write
//! ```

// Shared with the other programs, which use more of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod cpu;
#[allow(dead_code)]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use ykien::domain::calendar::vn_day;
use ykien::services::accounts::{AccountRequest, add_official};
use ykien::services::demo::synthetic_responses;
use ykien::storage::{AuditEntry, Publication};

use crate::common::{machine, megabytes, thousands, write_section, yes_no};
use crate::server::{Database, PeakRss, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const BEGIN: &str = "<!-- public-pages:begin -->";
const END: &str = "<!-- public-pages:end -->";
const SEED: u64 = 19;

const USAGE: &str = "\
public-pages: the public commune scorecard under concurrent clients, beside /healthz in the same run

  --responses N   responses stored and published (default 100000)
  --clients C     concurrent clients (default 200)
  --seconds S     measured seconds per target, after 2 s of warm-up (default 10)
  --write         write the section of BENCHMARKS.md
";

struct Args {
    responses: usize,
    clients: usize,
    seconds: u64,
    write: bool,
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let mut args = Args {
        responses: 100_000,
        clients: 200,
        seconds: 10,
        write: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--responses" => args.responses = value("--responses")?.parse()?,
            "--clients" => args.clients = value("--clients")?.parse()?,
            "--seconds" => args.seconds = value("--seconds")?.parse()?,
            "--write" => args.write = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    Ok(Some(args))
}

fn main() -> std::process::ExitCode {
    common::run("public-pages", parse_args, run)
}

/// What C clients got from a set of addresses in the measured window.
struct Load {
    requests: u64,
    errors: u64,
    window: Duration,
    latencies_us: Vec<u64>,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    fn ms(&self, percentile: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((percentile / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        self.latencies_us[rank.clamp(1, self.latencies_us.len()) - 1] as f64 / 1000.0
    }
}

/// `clients` tasks, each requesting the next of `urls` in turn over its keep-alive connection, for 2 s of warm-up
/// and then `seconds` measured.
async fn load(urls: Arc<Vec<String>>, clients: usize, seconds: u64) -> Result<Load, BoxError> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let warmup = Duration::from_secs(2);
    let start = Instant::now();
    let measured_from = start + warmup;
    let end = measured_from + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, urls, errors) = (client.clone(), urls.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut k = i;
            while Instant::now() < end {
                let url = &urls[k % urls.len()];
                k += 1;
                let sent = Instant::now();
                let ok = match client.get(url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let done = Instant::now();
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                } else if sent >= measured_from && done <= end {
                    latencies.push((done - sent).as_micros() as u64);
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await?);
    }
    latencies_us.sort_unstable();
    Ok(Load {
        requests: latencies_us.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        window: Duration::from_secs(seconds),
        latencies_us,
    })
}

async fn run(args: Args) -> Result<(), BoxError> {
    let root = common::workspace_root()?;
    let bin = common::ykien_binary()?;
    let background = common::load_before_run().await;
    let db = Database::sqlite("public-pages")?;
    server::prepare(&bin, &root, &db.url)?;
    let store = server::open_store(&server::config(&db.url)?).await?;
    let wave = store.wave_by_code(server::WAVE).await?;
    let day = vn_day(Utc::now());
    let communes = ykien::services::units::children(&store, Some("33"), day).await?;
    let stored = store.questionnaire(wave.questionnaire_id).await?;
    let questionnaire = ykien::domain::questionnaire::Questionnaire::parse(&stored.source)
        .map_err(|e| format!("the stored questionnaire: {e}"))?;
    println!("storing {} responses…", thousands(args.responses as f64));
    let mut inserted = 0;
    let mut seed = SEED;
    while inserted < args.responses {
        let mut batch = synthetic_responses(&questionnaire, &wave, &communes, seed);
        seed += 1;
        batch.truncate(args.responses - inserted);
        for chunk in batch.chunks(500) {
            store.insert_complete_responses(chunk).await?;
        }
        inserted += batch.len();
    }
    let leader = add_official(
        &store,
        AccountRequest {
            username: "lanhdao.bench".into(),
            display_name: "Lãnh đạo (benchmark)".into(),
            password: "ykien-bench-password-2026".into(),
            role: "leader".into(),
            office: None,
            unit_codes: vec!["33".into()],
        },
        day,
    )
    .await?;
    let publication = Publication {
        province_code: "33".into(),
        wave_code: wave.code.clone(),
        period: None,
        published_by: leader,
        published_at: Utc::now(),
    };
    let audit = AuditEntry {
        official_id: Some(leader),
        action: "publish".into(),
        target: format!("33/{}/toàn đợt", wave.code),
        before_state: None,
        after_state: Some("published".into()),
        detail: Some("benchmark".into()),
    };
    store.publish(&publication, &audit).await?;
    store.close().await;

    let server = Server::start(&bin, &root, &db.url)?;
    let client = reqwest::Client::new();
    let pages: Vec<String> = communes
        .iter()
        .map(|c| format!("{}/scores/33/{}", server.url, c.code))
        .collect();
    println!("waiting for the published scores (computed in the background at start)…");
    let started = Instant::now();
    loop {
        let status = client.get(&pages[0]).send().await?.status();
        if status.is_success() {
            break;
        }
        if status.as_u16() != 503 || started.elapsed() > Duration::from_secs(1800) {
            return Err(format!("the first public page: {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ready_seconds = started.elapsed().as_secs_f64();
    let rss = PeakRss::start(server.pid());
    println!("{} clients on the commune pages…", args.clients);
    let public = load(Arc::new(pages), args.clients, args.seconds).await?;
    println!("{} clients on /healthz…", args.clients);
    let health = load(
        Arc::new(vec![format!("{}/healthz", server.url)]),
        args.clients,
        args.seconds,
    )
    .await?;
    let peak_kb = rss.stop().await?;
    // The whole life of the server, the scoring at start included.
    let lifetime_peak_kb = server::proc_status_kb(server.pid(), "VmHWM").unwrap_or(0);
    server.stop()?;
    db.remove().await;

    let goal = public.ms(99.0) < 20.0;
    let section = format!(
        "{BEGIN}\n## The public commune scorecard (`public-pages`)\n\n- Date: {}\n- Machine: {}; {:.0}% of CPU already busy with other jobs in the 2 s before the run\n- Build: release; commit {}\n- Command: `target/release/public-pages --responses {} --clients {} --seconds {}`\n\n\
         {} responses published over Hưng Yên's {} communes (SQLite); `ykien serve` computed the published scores in \
         the background at start ({ready_seconds:.1} s until the first page answered 200 instead of 503). Then {} \
         concurrent clients, closed loop over keep-alive connections, each asking for the next commune's public page \
         `/scores/33/{{commune}}` (HTML, no login, from the snapshot) for {} s after 2 s of warm-up; then the same \
         clients on `/healthz` (a database ping: the floor of a request through the same middleware) the same way. \
         The load generator runs on the same 2 cores as the server.\n\n\
         | | public commune page | `/healthz` (baseline, same run) | goal | met |\n|---|---:|---:|---|---|\n\
         | requests/s | {} | {} | — | — |\n| p50 | {:.1} ms | {:.1} ms | — | — |\n| p99 | {:.1} ms | {:.1} ms | < 20 ms | {} |\n\
         | errors | {} | {} | 0 | {} |\n| server peak RSS during the load | {:.0} MB | | — | — |\n\
         | server peak RSS since start (VmHWM, the scoring included) | {:.0} MB | | — | — |\n\n\
         A public page is rendered from the in-memory snapshot of the published scores and then kept, rendered, for \
         10 s (`src/http/public/cache.rs`), so a repeated page is answered without the database; `/healthz` asks the \
         database every time. The goal is stated for 1,000,000 stored responses; this run stores {}.\n{END}\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        background.machine,
        common::commit(),
        args.responses,
        args.clients,
        args.seconds,
        thousands(args.responses as f64),
        communes.len(),
        args.clients,
        args.seconds,
        thousands(public.per_second()),
        thousands(health.per_second()),
        public.ms(50.0),
        health.ms(50.0),
        public.ms(99.0),
        health.ms(99.0),
        yes_no(goal),
        public.errors,
        health.errors,
        yes_no(public.errors == 0),
        megabytes(peak_kb),
        megabytes(lifetime_peak_kb),
        thousands(args.responses as f64),
    );
    println!("\n{section}");
    if args.write {
        let path = root.join("BENCHMARKS.md");
        write_section(&path, BEGIN, END, &section, |s| format!("# Benchmarks\n\n{s}"))?;
        println!("written to {}", path.display());
    }
    Ok(())
}
