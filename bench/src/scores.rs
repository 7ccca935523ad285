//! `scores`: issue 7's and issue 17's performance figures, each beside a baseline measured in the same run, written
//! to its section of `BENCHMARKS.md`:
//!
//! 1. `ykien analyze` on simulated answers (100,000 and 1,000,000 responses by default) over all 3,321 communes of
//!    `data/admin-units/vietnam-2025.csv` (`ykien simulate`, Parquet): wall time and peak memory, with and without
//!    bootstrap intervals, beside the strong DuckDB reference (`bench/analyze/duckdb_scores.py`, from PyPI in a
//!    virtual environment this program creates) on the same file; `scores.csv` compared by
//!    `bench/analyze/compare_scores.py`, `ignored.csv` line by line ([`scores_analyze`]).
//! 2. Chart render times (PNG and SVG, 1000×700) of every dashboard chart on a province of 104 communes, beside
//!    the floor of the PNG path: encoding a blank canvas of the same size with the same encoder.
//! 3. The dashboard with 100,000 and 1,000,000 responses stored in Hưng Yên (SQLite): the time the server takes to
//!    compute the scores it starts computing at start-up (until the first commune page answers), its peak RSS, the
//!    commune page's p50/p99 at 20 concurrent leaders and one at a time beside `/healthz` and the console's inbox,
//!    then the server restarted on the same database: the time to its first commune page (served from the scores
//!    kept in the database).
//!
//! Build and run from the workspace root, on a quiet machine:
//!
//! ```sh
//! cargo build --release -p ykien -p ykien-bench && target/release/scores
//! ```

// Shared with the other programs, which use more of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod cpu;
// Shared with the other programs, which use more of it.
mod scores_analyze;
#[allow(dead_code)]
mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use ykien::domain::calendar::vn_day;
use ykien::services::accounts::{AccountRequest, add_official};
use ykien::services::demo::synthetic_responses;
use ykien_analysis::charts::{self, Format};
use ykien_analysis::report as chart_data;
use ykien_analysis::{Answers, ChartData, Level, ScoreOptions, SimulateOptions, TOTAL_CODE};

use crate::common::{DASH, machine, megabytes, thousands, write_section, yes_no};
use crate::scores_analyze::AnalyzeReport;
use crate::server::{Database, PeakRss, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
scores: ykien analyze against the DuckDB reference on simulated responses, chart render times, and the
dashboard with responses stored (scoring at start-up, pages, restart)

usage: target/release/scores [options]

  --responses LIST            simulated responses for analyze (default 100000,1000000)
  --dashboard-responses LIST  responses stored for the dashboard (default 100000,1000000)
  --requests N                measured requests per page (default 2000: a p99 from 20 slowest, not 2)
  --repeat N                  alternated runs of analyze's point scores and DuckDB, medians kept (default 3)
  --concurrency N             concurrent leaders for the commune page (default 20)
  --parts LIST             analyze,charts,dashboard (default all)
  --workdir DIR            where the answers, results and the DuckDB venv live (default /tmp/ykien-bench-scores)
  --output FILE            the BENCHMARKS.md to refresh (default: the workspace root's)
  --no-write               print only; leave BENCHMARKS.md alone

environment:
  YKIEN_BIN  the ykien binary (default: beside this one, i.e. target/release/ykien)
";

const SEED: u64 = 2026;
const BEGIN: &str = "<!-- scores: begin (written by target/release/scores) -->";
const END: &str = "<!-- scores: end -->";
const LEADER: &str = "lanhdao.bench";
const PASSWORD: &str = "một mật khẩu đủ dài cho benchmark";

struct Args {
    responses: Vec<usize>,
    dashboard_responses: Vec<usize>,
    requests: usize,
    repeat: usize,
    concurrency: usize,
    parts: Vec<String>,
    workdir: PathBuf,
    output: Option<PathBuf>,
    write: bool,
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let mut args = Args {
        responses: vec![100_000, 1_000_000],
        dashboard_responses: vec![100_000, 1_000_000],
        requests: 2000,
        repeat: 3,
        concurrency: 20,
        parts: vec!["analyze".into(), "charts".into(), "dashboard".into()],
        workdir: PathBuf::from("/tmp/ykien-bench-scores"),
        output: None,
        write: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--responses" => args.responses = sizes(&value("--responses")?)?,
            "--dashboard-responses" => args.dashboard_responses = sizes(&value("--dashboard-responses")?)?,
            "--requests" => args.requests = value("--requests")?.parse()?,
            "--repeat" => args.repeat = value("--repeat")?.parse::<usize>()?.max(1),
            "--concurrency" => args.concurrency = value("--concurrency")?.parse::<usize>()?.max(1),
            "--parts" => args.parts = value("--parts")?.split(',').map(str::to_owned).collect(),
            "--workdir" => args.workdir = value("--workdir")?.into(),
            "--output" => args.output = Some(value("--output")?.into()),
            "--no-write" => args.write = false,
            other => return Err(format!("unknown option {other}; see --help").into()),
        }
    }
    Ok(Some(args))
}

/// A comma-separated list of sizes, e.g. `100000,1000000`.
fn sizes(text: &str) -> Result<Vec<usize>, BoxError> {
    Ok(text
        .split(',')
        .map(|n| n.trim().replace('_', "").parse())
        .collect::<Result<_, _>>()?)
}

fn main() -> std::process::ExitCode {
    common::run("scores", parse_args, run)
}

/// One chart kind's median render times (ms) and sizes.
struct ChartTime {
    name: &'static str,
    png_ms: f64,
    svg_ms: f64,
    png_bytes: usize,
    svg_bytes: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type Draw<'a> = Box<dyn Fn(Format) -> Result<Vec<u8>, charts::ChartError> + 'a>;

/// Renders every dashboard chart of Hưng Yên's 104 communes (10,000 simulated responses) `reps` times per format.
fn chart_times(root: &Path, reps: usize) -> Result<(Vec<ChartTime>, f64), BoxError> {
    let questionnaire = std::fs::read_to_string(root.join("questionnaires/papi-2025.toml"))?;
    let codebook = ykien::services::analysis::codebook_from_toml(&questionnaire)?;
    let table = ykien::services::analysis::units_from_files(&[root.join("data/admin-units/hung-yen-2025.csv")])?;
    let options = SimulateOptions {
        responses: 10_000,
        seed: SEED,
        ..SimulateOptions::default()
    };
    let rows = ykien_analysis::simulate(&codebook, &table.units, &options)?;
    let scores = ykien_analysis::score_answers(
        Answers::Rows(&rows),
        None,
        &codebook,
        &table.units,
        &table.lineage,
        &ScoreOptions::default(),
    )?;
    let data = ChartData {
        scores: &scores,
        codebook: &codebook,
        units: &table.units,
    };
    let wave = options.wave.as_str();
    let label = "Tỉnh Hưng Yên";
    let size = (1000, 700);
    let tall = (1000, 160 + 22 * 104);
    let unit = "11953";
    let heatmap = chart_data::heatmap_chart(data, wave, "33", label);
    let ranked = chart_data::ranking_chart(data, wave, "33", label, (Level::Total, TOTAL_CODE), None);
    let map = chart_data::map_chart(data, wave, "33", label);
    let profile = chart_data::profile_chart(data, wave, unit, label).ok_or("no profile for 11953")?;
    let radar = chart_data::radar_chart(data, wave, unit, label).ok_or("no radar for 11953")?;
    let kpis: Vec<ykien_analysis::UnitKpi> = Vec::new();
    let kpi = chart_data::kpi_chart(&kpis, &table.units, "Xử lý phản ánh");
    let draws: Vec<(&'static str, Draw<'_>)> = vec![
        (
            "heatmap (104 communes × 8)",
            Box::new(|f| charts::quartile_heatmap(&heatmap, tall, f)),
        ),
        (
            "ranking (104 communes)",
            Box::new(|f| charts::ranking(&ranked, tall, f)),
        ),
        ("map (104 centroids)", Box::new(|f| charts::score_map(&map, size, f))),
        (
            "profile (8 dimensions)",
            Box::new(|f| charts::dimension_profile(&profile, size, f)),
        ),
        ("radar (8 dimensions)", Box::new(|f| charts::radar(&radar, size, f))),
        (
            "feedback KPIs (empty)",
            Box::new(|f| charts::feedback_kpis(&kpi, size, f)),
        ),
    ];
    let mut out = Vec::new();
    for (name, draw) in &draws {
        let mut times = [Vec::new(), Vec::new()];
        let mut bytes = [0, 0];
        for _ in 0..reps {
            for (i, format) in [Format::Png, Format::Svg].into_iter().enumerate() {
                let started = Instant::now();
                let drawn = draw(format)?;
                times[i].push(started.elapsed().as_secs_f64() * 1e3);
                bytes[i] = drawn.len();
            }
        }
        let [png, svg] = times;
        out.push(ChartTime {
            name,
            png_ms: median(png),
            svg_ms: median(svg),
            png_bytes: bytes[0],
            svg_bytes: bytes[1],
        });
    }
    // The floor of the PNG path: a blank canvas of the same size through the same encoder.
    let blank = vec![255u8; 1000 * 700 * 3];
    let mut floor = Vec::new();
    for _ in 0..reps {
        let started = Instant::now();
        let mut encoded = Vec::new();
        let mut encoder = png::Encoder::new(&mut encoded, 1000, 700);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&blank)?;
        floor.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok((out, median(floor)))
}

struct PageTimes {
    name: String,
    p50_ms: f64,
    p99_ms: f64,
    n: usize,
}

struct Concurrent {
    n_clients: usize,
    times: PageTimes,
}

struct DashboardReport {
    responses: usize,
    answers: i64,
    first_page_seconds: f64,
    concurrent: Concurrent,
    restart_first_page_seconds: f64,
    pages: Vec<PageTimes>,
    baselines: Vec<PageTimes>,
    peak_kb: u64,
    idle_kb: u64,
}

async fn timed_get(client: &reqwest::Client, url: &str, cookie: &str) -> Result<f64, BoxError> {
    let started = Instant::now();
    let r = client.get(url).header("cookie", cookie).send().await?;
    let status = r.status();
    let _ = r.bytes().await?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}").into());
    }
    Ok(started.elapsed().as_secs_f64() * 1e3)
}

async fn page_times(
    client: &reqwest::Client,
    name: &str,
    urls: &[String],
    cookie: &str,
    n: usize,
) -> Result<PageTimes, BoxError> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        times.push(timed_get(client, &urls[i % urls.len()], cookie).await?);
    }
    times.sort_by(f64::total_cmp);
    Ok(PageTimes {
        name: name.to_owned(),
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        n,
    })
}

/// The same page asked by `clients` leaders at once, each sending its next request when the previous answered.
async fn concurrent_times(
    client: &reqwest::Client,
    urls: &[String],
    cookie: &str,
    clients: usize,
    n: usize,
) -> Result<Concurrent, BoxError> {
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let (client, urls, cookie) = (client.clone(), urls.to_vec(), cookie.to_owned());
        let each = n.div_ceil(clients);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(each);
            for i in 0..each {
                times.push(timed_get(&client, &urls[(c * each + i) % urls.len()], &cookie).await?);
            }
            Ok::<_, BoxError>(times)
        }));
    }
    let mut times = Vec::with_capacity(n);
    for t in tasks {
        times.extend(t.await??);
    }
    times.sort_by(f64::total_cmp);
    Ok(Concurrent {
        n_clients: clients,
        times: PageTimes {
            name: "commune page".into(),
            p50_ms: percentile(&times, 0.5),
            p99_ms: percentile(&times, 0.99),
            n: times.len(),
        },
    })
}

/// Signs the benchmark's leader in; returns the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str) -> Result<String, BoxError> {
    // The login form first: its cookie and CSRF token (a login without them is refused).
    let form = client.get(format!("{base}/console/login")).send().await?;
    let login_cookie = form
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("the login page set no cookie")?
        .to_owned();
    let page = form.text().await?;
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the login page has no CSRF token")?
        .to_owned();
    let login = client
        .post(format!("{base}/console/login"))
        .header("cookie", login_cookie)
        .form(&[("csrf", csrf.as_str()), ("username", LEADER), ("password", PASSWORD)])
        .send()
        .await?;
    Ok(login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("the leader could not sign in")?
        .to_owned())
}

/// Asks for `url` until it answers 200 (503 while the scores are being computed); returns the seconds it took.
async fn first_page(client: &reqwest::Client, url: &str, cookie: &str) -> Result<f64, BoxError> {
    let started = Instant::now();
    loop {
        let r = client.get(url).header("cookie", cookie).send().await?;
        let status = r.status();
        let _ = r.bytes().await?;
        if status.is_success() {
            return Ok(started.elapsed().as_secs_f64());
        }
        if status.as_u16() != 503 || started.elapsed() > Duration::from_secs(3600) {
            return Err(format!("the first commune page: {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn dashboard(args: &Args, responses: usize, root: &Path, bin: &Path) -> Result<DashboardReport, BoxError> {
    let db = Database::sqlite(&format!("scores-dashboard-{responses}"))?;
    server::prepare(bin, root, &db.url)?;
    let store = server::open_store(&server::config(&db.url)?).await?;
    let wave = store.wave_by_code(server::WAVE).await?;
    let day = vn_day(Utc::now());
    let communes = ykien::services::units::children(&store, Some("33"), day).await?;
    let stored = store.questionnaire(wave.questionnaire_id).await?;
    let questionnaire = ykien::domain::questionnaire::Questionnaire::parse(&stored.source)
        .map_err(|e| format!("the stored questionnaire: {e}"))?;
    println!("dashboard: storing {} responses…", thousands(responses as f64));
    let mut inserted = 0;
    let mut seed = SEED;
    while inserted < responses {
        let mut batch = synthetic_responses(&questionnaire, &wave, &communes, seed);
        seed += 1;
        batch.truncate(responses - inserted);
        let now = Utc::now();
        for r in &mut batch {
            r.at = now;
        }
        for chunk in batch.chunks(500) {
            store.insert_complete_responses(chunk).await?;
        }
        inserted += batch.len();
    }
    add_official(
        &store,
        AccountRequest {
            username: LEADER.into(),
            display_name: "Lãnh đạo (benchmark)".into(),
            password: PASSWORD.into(),
            role: "leader".into(),
            office: None,
            unit_codes: vec!["33".into()],
        },
        day,
    )
    .await?;
    let answers = count_answers(&store).await?;
    store.close().await;

    let server = Server::start(bin, root, &db.url)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kb = server::proc_status_kb(server.pid(), "VmRSS").unwrap_or(0);
    let rss = PeakRss::start(server.pid());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = sign_in(&client, &server.url).await?;
    let commune_urls: Vec<String> = communes
        .iter()
        .map(|c| format!("{}/console/dashboard/units/{}", server.url, c.code))
        .collect();
    println!("dashboard: first commune page (waits for the scores)…");
    let first_page_seconds = first_page(&client, &commune_urls[0], &cookie).await?;
    // Warm-up: one pass over the communes.
    for url in &commune_urls {
        timed_get(&client, url, &cookie).await?;
    }
    let n = args.requests;
    let pages = vec![
        page_times(
            &client,
            "commune page `/console/dashboard/units/{code}`",
            &commune_urls,
            &cookie,
            n,
        )
        .await?,
        page_times(
            &client,
            "province overview `/console/dashboard`",
            &[format!("{}/console/dashboard", server.url)],
            &cookie,
            n / 4,
        )
        .await?,
    ];
    let baselines = vec![
        page_times(
            &client,
            "`/healthz` (server floor)",
            &[format!("{}/healthz", server.url)],
            &cookie,
            n,
        )
        .await?,
        page_times(
            &client,
            "console inbox `/console` (a signed-in page reading cases)",
            &[format!("{}/console", server.url)],
            &cookie,
            n,
        )
        .await?,
    ];
    println!("dashboard: {} concurrent leaders…", args.concurrency);
    let concurrent = concurrent_times(&client, &commune_urls, &cookie, args.concurrency, n).await?;
    let peak_kb = rss.stop().await?;
    server.stop()?;

    println!("dashboard: restart, first commune page…");
    let server = Server::start(bin, root, &db.url)?;
    let rss = PeakRss::start(server.pid());
    let cookie = sign_in(&client, &server.url).await?;
    let url = format!("{}/console/dashboard/units/{}", server.url, communes[0].code);
    let restart_first_page_seconds = first_page(&client, &url, &cookie).await?;
    // Let the background refresh (if any) run its course before reading the peak.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak_kb = peak_kb.max(rss.stop().await?);
    server.stop()?;
    db.remove().await;
    Ok(DashboardReport {
        responses,
        answers,
        first_page_seconds,
        concurrent,
        restart_first_page_seconds,
        pages,
        baselines,
        peak_kb,
        idle_kb,
    })
}

async fn count_answers(store: &ykien::storage::Store) -> Result<i64, BoxError> {
    let wave = store.wave_by_code(server::WAVE).await?;
    let mut total = 0i64;
    let mut after = None;
    loop {
        let (page, next) = store.answers_page(wave.id, None, after, 1_000).await?;
        let Some(next) = next else { break };
        after = Some(next);
        total += page.len() as i64;
    }
    Ok(total)
}

async fn run(args: Args) -> Result<(), BoxError> {
    let root = common::workspace_root()?;
    let bin = common::ykien_binary()?;
    let background = common::load_before_run().await;
    let has = |p: &str| args.parts.iter().any(|x| x == p);
    let mut analyzed = Vec::new();
    if has("analyze") {
        for &n in &args.responses {
            analyzed.push(scores_analyze::analyze(n, SEED, args.repeat, &args.workdir, &root, &bin).await?);
        }
    }
    let charts = if has("charts") {
        println!("charts: rendering…");
        let root = root.clone();
        Some(tokio::task::spawn_blocking(move || chart_times(&root, 9)).await??)
    } else {
        None
    };
    let mut dash = Vec::new();
    if has("dashboard") {
        for &n in &args.dashboard_responses {
            dash.push(dashboard(&args, n, &root, &bin).await?);
        }
    }

    let section = markdown(&analyzed, charts.as_ref(), &dash, background.machine);
    println!("\n{section}");
    if args.write {
        let path = args.output.clone().unwrap_or_else(|| root.join("BENCHMARKS.md"));
        write_section(&path, BEGIN, END, &section, |s| format!("# Benchmarks\n\n{s}"))?;
        println!("written to {}", path.display());
    }
    Ok(())
}

fn markdown(
    analyzed: &[AnalyzeReport],
    charts: Option<&(Vec<ChartTime>, f64)>,
    dash: &[DashboardReport],
    busy: f64,
) -> String {
    let mut s = format!(
        "{BEGIN}\n## Scores, charts and the dashboard (`scores`)\n\n- Date: {}\n- Machine: {}; {busy:.0}% of CPU already busy with other jobs in the 2 s before the run\n- Build: release; commit {}\n- Command: `target/release/scores{}`\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        common::commit(),
        std::env::args().skip(1).map(|a| format!(" {a}")).collect::<String>(),
    );
    for a in analyzed {
        s.push_str(&scores_analyze::markdown(a, SEED));
    }
    if let Some((times, floor)) = charts {
        s.push_str(&format!(
            "\n### Chart render times\n\nMedian of 9 renders each, in this process, of the dashboard's charts of Hưng Yên (104 communes, 10,000 \
             simulated responses), 1000×700 (heatmap and ranking: 1000×{} so every commune has a row). Baseline: encoding \
             a blank 1000×700 canvas with the same PNG encoder, {floor:.1} ms — the floor of any PNG chart.\n\n\
             | chart | PNG | SVG | PNG size | SVG size |\n|---|---:|---:|---:|---:|\n",
            160 + 22 * 104
        ));
        for t in times {
            s.push_str(&format!(
                "| {} | {:.1} ms | {:.1} ms | {} kB | {} kB |\n",
                t.name,
                t.png_ms,
                t.svg_ms,
                t.png_bytes / 1000,
                t.svg_bytes / 1000
            ));
        }
    }
    for d in dash {
        s.push_str(&format!(
            "\n### The dashboard with {} responses stored (SQLite)\n\n{} responses ({} answers) over Hưng Yên's 104 communes, `ykien serve` \
             (child process), signed in as a province leader. The server starts computing the newest wave's scores at start-up \
             (one commune at a time, its answers read from the database a page at a time, each commune's result and the \
             whole scoring kept in memory and in the database); the first commune page waits \
             for them. Then the commune page with {} concurrent leaders (closed loop), and one client at a time beside the \
             floors. Then the server is stopped and started again on the same database: its first commune page is served from the \
             scores kept in the database. Charts are separate requests (images) and are not in these times.\n\n\
             | figure | value | goal | met? |\n|---|---:|---|---|\n\
             | scores computed at start-up (until the first commune page) | {:.1} s | {DASH} | {DASH} |\n\
             | server peak RSS (VmRSS every 100 ms, both runs) | {:.0} MB (idle after start: {:.0} MB) | < 150 MB | {} |\n\
             | first commune page after a restart | {:.2} s | < 1 s | {} |\n",
            thousands(d.responses as f64),
            thousands(d.responses as f64),
            thousands(d.answers as f64),
            d.concurrent.n_clients,
            d.first_page_seconds,
            megabytes(d.peak_kb),
            megabytes(d.idle_kb),
            yes_no(megabytes(d.peak_kb) < 150.0),
            d.restart_first_page_seconds,
            yes_no(d.restart_first_page_seconds < 1.0),
        ));
        s.push_str(&format!(
            "| commune page, {} concurrent leaders: p50 / p99 | {:.1} ms / {:.1} ms ({} requests) | p99 < 50 ms | {} |\n",
            d.concurrent.n_clients,
            d.concurrent.times.p50_ms,
            d.concurrent.times.p99_ms,
            d.concurrent.times.n,
            yes_no(d.concurrent.times.p99_ms < 50.0),
        ));
        for p in &d.pages {
            s.push_str(&format!(
                "| {}, one at a time: p50 / p99 | {:.1} ms / {:.1} ms ({} requests) | {DASH} | {DASH} |\n",
                p.name, p.p50_ms, p.p99_ms, p.n
            ));
        }
        for p in &d.baselines {
            s.push_str(&format!(
                "| baseline: {}: p50 / p99 | {:.1} ms / {:.1} ms ({} requests) | {DASH} | {DASH} |\n",
                p.name, p.p50_ms, p.p99_ms, p.n
            ));
        }
    }
    s.push_str(END);
    s.push('\n');
    s
}
