//! `scores`: issue 7's performance figures, each beside a baseline measured in the same run, written to its section
//! of `BENCHMARKS.md`:
//!
//! 1. `ykien analyze` on simulated answers of 1,000,000 responses over all 3,321 communes of
//!    `data/admin-units/vietnam-2025.csv` (`ykien simulate`, Parquet): wall time and peak memory, beside DuckDB
//!    (from PyPI, in a virtual environment this program creates) computing the same point scores from the same
//!    file with `bench/analyze/duckdb_scores.py`; the two `scores.csv` are compared by
//!    `bench/analyze/compare_scores.py`.
//! 2. Chart render times (PNG and SVG, 1000×700) of every dashboard chart on a province of 104 communes, beside
//!    the floor of the PNG path: encoding a blank canvas of the same size with the same encoder.
//! 3. The dashboard's commune page with 100,000 responses stored (SQLite): p50 and p99 over sequential requests
//!    once the scores are computed, beside `/healthz` and the console's inbox in the same run; the first page's
//!    time (it computes the scores) and the server's peak RSS.
//!
//! Build and run from the workspace root:
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
#[allow(dead_code)]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use ykien::domain::calendar::vn_day;
use ykien::services::accounts::{AccountRequest, add_official};
use ykien::services::demo::synthetic_responses;
use ykien_analysis::charts::{self, Format};
use ykien_analysis::report as chart_data;
use ykien_analysis::{Answers, ChartData, Level, ScoreOptions, SimulateOptions, TOTAL_CODE};

use crate::common::{DASH, machine, megabytes, thousands, write_section, yes_no};
use crate::server::{Database, PeakRss, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
scores: ykien analyze against DuckDB on 1,000,000 simulated responses, chart render times, and the dashboard's
commune page with 100,000 responses stored

usage: target/release/scores [options]

  --responses N            simulated responses for analyze (default 1000000)
  --dashboard-responses N  responses stored for the dashboard (default 100000)
  --requests N             measured requests per page (default 200)
  --parts LIST             analyze,charts,dashboard (default all)
  --workdir DIR            where the answers, results and the DuckDB venv live (default /tmp/ykien-bench-scores)
  --output FILE            the BENCHMARKS.md to refresh (default: the workspace root's)
  --no-write               print only; leave BENCHMARKS.md alone

environment:
  YKIEN_BIN  the ykien binary (default: beside this one, i.e. target/release/ykien)
";

/// DuckDB's version, pinned so that runs compare.
const DUCKDB: &str = "duckdb==2.0.1";
const SEED: u64 = 2026;
const BEGIN: &str = "<!-- scores: begin (written by target/release/scores) -->";
const END: &str = "<!-- scores: end -->";
const LEADER: &str = "lanhdao.bench";
const PASSWORD: &str = "một mật khẩu đủ dài cho benchmark";

struct Args {
    responses: usize,
    dashboard_responses: usize,
    requests: usize,
    parts: Vec<String>,
    workdir: PathBuf,
    output: Option<PathBuf>,
    write: bool,
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let mut args = Args {
        responses: 1_000_000,
        dashboard_responses: 100_000,
        requests: 200,
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
            "--responses" => args.responses = value("--responses")?.parse()?,
            "--dashboard-responses" => args.dashboard_responses = value("--dashboard-responses")?.parse()?,
            "--requests" => args.requests = value("--requests")?.parse()?,
            "--parts" => args.parts = value("--parts")?.split(',').map(str::to_owned).collect(),
            "--workdir" => args.workdir = value("--workdir")?.into(),
            "--output" => args.output = Some(value("--output")?.into()),
            "--no-write" => args.write = false,
            other => return Err(format!("unknown option {other}; see --help").into()),
        }
    }
    Ok(Some(args))
}

fn main() -> std::process::ExitCode {
    common::run("scores", parse_args, run)
}

/// A child process run to its end: wall time, peak RSS (kB, sampled every 100 ms), standard output.
struct Measured {
    seconds: f64,
    peak_kb: u64,
    stdout: String,
}

async fn measure(mut cmd: Command, what: &str) -> Result<Measured, BoxError> {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let rss = PeakRss::start(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    let seconds = started.elapsed().as_secs_f64();
    let peak_kb = rss.stop().await?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(Measured {
        seconds,
        peak_kb,
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    })
}

struct AnalyzeReport {
    answers: String,
    simulate_seconds: Option<f64>,
    ykien: Measured,
    /// The same without bootstrap intervals: the same work as DuckDB plus ranks, groups and charts.
    points: Measured,
    duckdb: Measured,
    comparison: String,
    identical: bool,
}

async fn analyze(args: &Args, root: &Path, bin: &Path) -> Result<AnalyzeReport, BoxError> {
    let dir = &args.workdir;
    std::fs::create_dir_all(dir)?;
    let units = root.join("data/admin-units/vietnam-2025.csv");
    let questionnaire = root.join("questionnaires/papi-2025.toml");
    let answers = dir.join(format!("answers-{}-{SEED}.parquet", args.responses));
    let simulate_seconds = if answers.is_file() {
        println!("analyze: reusing {}", answers.display());
        None
    } else {
        println!("analyze: simulating {} responses…", thousands(args.responses as f64));
        let mut cmd = Command::new(bin);
        cmd.arg("simulate")
            .arg("--units")
            .arg(&units)
            .args(["--responses", &args.responses.to_string(), "--seed", &SEED.to_string()])
            .arg("--out")
            .arg(&answers);
        Some(measure(cmd, "ykien simulate").await?.seconds)
    };
    let size = std::fs::metadata(&answers)?.len();

    let run_analyze = |replicates: usize, out: PathBuf| {
        let mut cmd = Command::new(bin);
        cmd.arg("analyze")
            .arg("--answers")
            .arg(&answers)
            .arg("--questionnaire")
            .arg(&questionnaire)
            .arg("--units")
            .arg(&units)
            .args(["--replicates", &replicates.to_string()])
            .arg("--out")
            .arg(&out)
            .env("YKIEN_LOG", "warn");
        let _ = std::fs::remove_dir_all(&out);
        cmd
    };
    let out = dir.join("ykien");
    println!("analyze: ykien analyze (1000 bootstrap replicates)…");
    let ykien = measure(run_analyze(1000, out.clone()), "ykien analyze").await?;
    println!(
        "  {:.1} s, peak {:.0} MB: {}",
        ykien.seconds,
        megabytes(ykien.peak_kb),
        ykien.stdout
    );
    println!("analyze: ykien analyze --replicates 0 (point scores, as DuckDB)…");
    let points = measure(run_analyze(0, dir.join("ykien-points")), "ykien analyze --replicates 0").await?;
    println!(
        "  {:.1} s, peak {:.0} MB: {}",
        points.seconds,
        megabytes(points.peak_kb),
        points.stdout
    );

    let python = duckdb_python(dir).await?;
    let duck_csv = dir.join("duckdb-scores.csv");
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("bench/analyze/duckdb_scores.py"))
        .arg("--answers")
        .arg(&answers)
        .arg("--questionnaire")
        .arg(&questionnaire)
        .arg("--out")
        .arg(&duck_csv);
    println!("analyze: DuckDB…");
    let duckdb = measure(cmd, "duckdb_scores.py").await?;
    println!(
        "  {:.1} s, peak {:.0} MB: {}",
        duckdb.seconds,
        megabytes(duckdb.peak_kb),
        duckdb.stdout
    );

    let compared = Command::new(&python)
        .arg(root.join("bench/analyze/compare_scores.py"))
        .arg(out.join("scores.csv"))
        .arg(&duck_csv)
        .output()?;
    let comparison = String::from_utf8_lossy(&compared.stdout).trim().to_owned();
    println!("analyze: comparison: {comparison}");
    Ok(AnalyzeReport {
        answers: format!(
            "{} responses over 3,321 communes, {:.0} MB of Parquet",
            thousands(args.responses as f64),
            size as f64 / 1e6
        ),
        simulate_seconds,
        ykien,
        points,
        duckdb,
        identical: compared.status.success(),
        comparison,
    })
}

/// The Python of a virtual environment with DuckDB, created on first use.
async fn duckdb_python(dir: &Path) -> Result<PathBuf, BoxError> {
    let venv = dir.join("duckdb-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import duckdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        println!("analyze: installing {DUCKDB} from PyPI into {}…", venv.display());
        let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status()?;
        if !status.success() {
            return Err("python3 -m venv failed (Debian: apt-get install python3-venv)".into());
        }
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", DUCKDB])
            .status()?;
        if !status.success() {
            return Err(format!("pip install {DUCKDB} failed").into());
        }
    }
    Ok(python)
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

struct DashboardReport {
    responses: usize,
    answers: i64,
    first_page_seconds: f64,
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

async fn dashboard(args: &Args, root: &Path, bin: &Path) -> Result<DashboardReport, BoxError> {
    let db = Database::sqlite("scores-dashboard")?;
    server::prepare(bin, root, &db.url)?;
    let store = server::open_store(&server::config(&db.url)?).await?;
    let wave = store.wave_by_code(server::WAVE).await?;
    let day = vn_day(Utc::now());
    let communes = ykien::services::units::children(&store, Some("33"), day).await?;
    let stored = store.questionnaire(wave.questionnaire_id).await?;
    let questionnaire = ykien::domain::questionnaire::Questionnaire::parse(&stored.source)
        .map_err(|e| format!("the stored questionnaire: {e}"))?;
    println!(
        "dashboard: storing {} responses…",
        thousands(args.dashboard_responses as f64)
    );
    let mut inserted = 0;
    let mut seed = SEED;
    while inserted < args.dashboard_responses {
        let mut batch = synthetic_responses(&questionnaire, &wave, &communes, seed);
        seed += 1;
        batch.truncate(args.dashboard_responses - inserted);
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
    // The login form first: its cookie and CSRF token (a login without them is refused).
    let form = client.get(format!("{}/console/login", server.url)).send().await?;
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
        .post(format!("{}/console/login", server.url))
        .header("cookie", login_cookie)
        .form(&[("csrf", csrf.as_str()), ("username", LEADER), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("the leader could not sign in")?
        .to_owned();
    let commune_urls: Vec<String> = communes
        .iter()
        .map(|c| format!("{}/console/dashboard/units/{}", server.url, c.code))
        .collect();
    println!("dashboard: first commune page (waits for the scores)…");
    let started = Instant::now();
    loop {
        // 503 while the scores are being computed: the page asks to be reloaded.
        let r = client.get(&commune_urls[0]).header("cookie", &cookie).send().await?;
        let status = r.status();
        let _ = r.bytes().await?;
        if status.is_success() {
            break;
        }
        if status.as_u16() != 503 || started.elapsed() > Duration::from_secs(1800) {
            return Err(format!("the first commune page: {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let first_page_seconds = started.elapsed().as_secs_f64();
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
    let peak_kb = rss.stop().await?;
    server.stop()?;
    db.remove().await;
    Ok(DashboardReport {
        responses: args.dashboard_responses,
        answers,
        first_page_seconds,
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
    let analyzed = if has("analyze") {
        Some(analyze(&args, &root, &bin).await?)
    } else {
        None
    };
    let charts = if has("charts") {
        println!("charts: rendering…");
        let root = root.clone();
        Some(tokio::task::spawn_blocking(move || chart_times(&root, 9)).await??)
    } else {
        None
    };
    let dash = if has("dashboard") {
        Some(dashboard(&args, &root, &bin).await?)
    } else {
        None
    };

    let section = markdown(
        &args,
        analyzed.as_ref(),
        charts.as_ref(),
        dash.as_ref(),
        background.machine,
    );
    println!("\n{section}");
    if args.write {
        let path = args.output.clone().unwrap_or_else(|| root.join("BENCHMARKS.md"));
        write_section(&path, BEGIN, END, &section, |s| format!("# Benchmarks\n\n{s}"))?;
        println!("written to {}", path.display());
    }
    Ok(())
}

fn markdown(
    args: &Args,
    analyzed: Option<&AnalyzeReport>,
    charts: Option<&(Vec<ChartTime>, f64)>,
    dash: Option<&DashboardReport>,
    busy: f64,
) -> String {
    let mut s = format!(
        "{BEGIN}\n## Scores, charts and the dashboard (`scores`)\n\n- Date: {}\n- Machine: {}; {busy:.0}% of CPU already busy with other jobs in the 2 s before the run\n- Build: release; commit {}\n- Command: `target/release/scores{}`\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        common::commit(),
        if args.parts.len() < 3 {
            format!(" --parts {}", args.parts.join(","))
        } else {
            String::new()
        },
    );
    if let Some(a) = analyzed {
        let row = |name: &str, m: &Measured, goal: bool| {
            let time = m.seconds / a.duckdb.seconds;
            let mem = m.peak_kb as f64 / a.duckdb.peak_kb.max(1) as f64;
            format!(
                "| {name}: wall time | {:.1} s | {:.1} s | {time:.2}× | {} | {} |\n| {name}: peak memory | {:.0} MB | {:.0} MB | {mem:.2}× | {} | {} |\n",
                m.seconds,
                a.duckdb.seconds,
                if goal { "no slower than DuckDB" } else { DASH },
                if goal { yes_no(time <= 1.0) } else { DASH.to_owned() },
                megabytes(m.peak_kb),
                megabytes(a.duckdb.peak_kb),
                if goal { "< 2,500 MB" } else { DASH },
                if goal {
                    yes_no(megabytes(m.peak_kb) < 2500.0)
                } else {
                    DASH.to_owned()
                },
            )
        };
        s.push_str(&format!(
            "\n### `ykien analyze` beside DuckDB\n\nInput: {} (`ykien simulate --units data/admin-units/vietnam-2025.csv --seed {SEED}`{}). \
             All three read the same file and the same questionnaire. DuckDB computes the point scores and counts \
             (`bench/analyze/duckdb_scores.py`, {DUCKDB}, all cores); `ykien analyze` also draws the 95% bootstrap \
             intervals (1000 seeded replicates per commune), ranks and quartile groups within each province, and the \
             province charts; `--replicates 0` skips the intervals, which is the closest to DuckDB's work. Peak memory \
             is the highest VmRSS of each process, sampled every 100 ms.\n\n\
             | figure | ykien | DuckDB (same run) | ratio | goal | met? |\n|---|---:|---:|---:|---|---|\n{}{}\
             | same scores and counts as DuckDB | {} | — | — | identical | {} |\n\n\
             - ykien analyze: {}\n- ykien analyze --replicates 0: {}\n- DuckDB: {}\n- Comparison of ykien's scores.csv (with intervals) and DuckDB's (`bench/analyze/compare_scores.py`): {}\n",
            a.answers,
            a.simulate_seconds.map(|t| format!(", simulated in {t:.0} s")).unwrap_or_default(),
            row("`ykien analyze`", &a.ykien, true),
            row("`ykien analyze --replicates 0`", &a.points, false),
            if a.identical { "identical" } else { "different" },
            yes_no(a.identical),
            a.ykien.stdout,
            a.points.stdout,
            a.duckdb.stdout,
            a.comparison.replace('\n', "; "),
        ));
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
    if let Some(d) = dash {
        s.push_str(&format!(
            "\n### The dashboard with {} responses stored (SQLite)\n\n{} responses ({} answers) over Hưng Yên's 104 communes, `ykien serve` \
             (child process) and one client sending requests one at a time, signed in as a province leader. The server \
             computes the scores when it starts (answers streamed to Parquet, then scored by polars) and the first \
             page waits for them; later pages are drawn from the kept scores. Charts are separate requests (images) and are not in these times.\n\n\
             | page | p50 | p99 | requests | goal | met? |\n|---|---:|---:|---:|---|---|\n",
            thousands(d.responses as f64),
            thousands(d.responses as f64),
            thousands(d.answers as f64),
        ));
        for (i, p) in d.pages.iter().enumerate() {
            let (goal, met) = if i == 0 {
                ("p50 < 100 ms", yes_no(p.p50_ms < 100.0))
            } else {
                (DASH, DASH.to_owned())
            };
            s.push_str(&format!(
                "| {} | {:.1} ms | {:.1} ms | {} | {goal} | {met} |\n",
                p.name, p.p50_ms, p.p99_ms, p.n
            ));
        }
        for p in &d.baselines {
            s.push_str(&format!(
                "| baseline: {} | {:.1} ms | {:.1} ms | {} | {DASH} | {DASH} |\n",
                p.name, p.p50_ms, p.p99_ms, p.n
            ));
        }
        s.push_str(&format!(
            "\n- First commune page after the server started (it waits for the scores the server begins computing at start-up, {} responses): {:.1} s.\n- Server peak RSS (VmRSS sampled every 100 ms): {:.0} MB; idle after start: {:.0} MB.\n",
            thousands(d.responses as f64),
            d.first_page_seconds,
            megabytes(d.peak_kb),
            megabytes(d.idle_kb)
        ));
    }
    s.push_str(END);
    s.push('\n');
    s
}
