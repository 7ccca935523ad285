//! The `analyze` part of `scores`: `ykien analyze` beside the strong DuckDB reference
//! (`bench/analyze/duckdb_scores.py`) on the same simulated Parquet file, size by size, in the same run: wall time,
//! peak memory, and whether both give the same scores, counts and ignored rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::BoxError;
use crate::common::{DASH, megabytes, thousands, yes_no};
use crate::server::PeakRss;

/// DuckDB's version, pinned so that runs compare.
pub const DUCKDB: &str = "duckdb==2.0.1";

/// A child process run to its end: wall time, peak RSS (kB, sampled every 100 ms), standard output.
pub struct Measured {
    pub seconds: f64,
    pub peak_kb: u64,
    pub stdout: String,
    /// When it stands for several runs ([`median`]): every run's wall time, in the order run.
    pub runs: Vec<f64>,
}

/// The run of median wall time, with every run's time and the highest peak of all: on a shared machine one run
/// can be slowed by 15% by a neighbour, and alternating the two programs gives both the same neighbours.
fn median(mut runs: Vec<Measured>) -> Measured {
    let times: Vec<f64> = runs.iter().map(|m| m.seconds).collect();
    let peak_kb = runs.iter().map(|m| m.peak_kb).max().unwrap_or(0);
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let mut middle = runs.swap_remove(runs.len() / 2);
    middle.peak_kb = peak_kb;
    middle.runs = times;
    middle
}

/// One run's figures on the console, as the bench goes.
fn print_measured(m: &Measured) {
    println!(
        "  {:.1} s, peak {:.0} MB: {}",
        m.seconds,
        megabytes(m.peak_kb),
        m.stdout
    );
}

/// "a, b and c s" for several runs, "" for one.
fn run_times(m: &Measured) -> String {
    match m.runs.len() {
        0 | 1 => String::new(),
        _ => {
            let times: Vec<String> = m.runs.iter().map(|t| format!("{t:.1}")).collect();
            format!(" (median of {} runs: {} s)", m.runs.len(), times.join(", "))
        }
    }
}

pub async fn measure(mut cmd: Command, what: &str) -> Result<Measured, BoxError> {
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
        runs: Vec::new(),
    })
}

pub struct AnalyzeReport {
    pub responses: usize,
    pub answers: String,
    pub simulate_seconds: Option<f64>,
    pub ykien: Measured,
    /// The same without bootstrap intervals: DuckDB's work plus ranks, groups and charts.
    pub points: Measured,
    pub duckdb: Measured,
    pub comparison: String,
    pub identical: bool,
    /// Whether `ignored.csv` of both lists the same rows.
    pub same_ignored: bool,
}

/// One size: simulates (or reuses) the answers, runs `ykien analyze` with and without intervals and the DuckDB
/// reference, and compares their outputs.
pub async fn analyze(
    responses: usize,
    seed: u64,
    repeat: usize,
    dir: &Path,
    root: &Path,
    bin: &Path,
) -> Result<AnalyzeReport, BoxError> {
    std::fs::create_dir_all(dir)?;
    let units = root.join("data/admin-units/vietnam-2025.csv");
    let questionnaire = root.join("questionnaires/papi-2025.toml");
    let answers = dir.join(format!("answers-{responses}-{seed}.parquet"));
    let simulate_seconds = if answers.is_file() {
        println!("analyze: reusing {}", answers.display());
        None
    } else {
        println!("analyze: simulating {} responses…", thousands(responses as f64));
        let mut cmd = Command::new(bin);
        cmd.arg("simulate")
            .arg("--units")
            .arg(&units)
            .args(["--responses", &responses.to_string(), "--seed", &seed.to_string()])
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
    let out = dir.join(format!("ykien-{responses}"));
    println!("analyze {responses}: ykien analyze (1000 bootstrap replicates)…");
    let ykien = measure(run_analyze(1000, out.clone()), "ykien analyze").await?;
    print_measured(&ykien);
    let python = duckdb_python(dir).await?;
    let duck_csv = dir.join(format!("duckdb-scores-{responses}.csv"));
    let duck_ignored = dir.join(format!("duckdb-ignored-{responses}.csv"));
    let duckdb_command = || {
        let mut cmd = Command::new(&python);
        cmd.arg(root.join("bench/analyze/duckdb_scores.py"))
            .arg("--answers")
            .arg(&answers)
            .arg("--questionnaire")
            .arg(&questionnaire)
            .arg("--out")
            .arg(&duck_csv)
            .arg("--ignored-out")
            .arg(&duck_ignored);
        cmd
    };
    let points_out = dir.join(format!("ykien-points-{responses}"));
    let (mut points_runs, mut duckdb_runs) = (Vec::new(), Vec::new());
    for run in 1..=repeat {
        println!("analyze {responses}, run {run} of {repeat}: ykien analyze --replicates 0 (point scores, as DuckDB)…");
        let points = measure(run_analyze(0, points_out.clone()), "ykien analyze --replicates 0").await?;
        print_measured(&points);
        points_runs.push(points);
        println!("analyze {responses}, run {run} of {repeat}: DuckDB…");
        let duckdb = measure(duckdb_command(), "duckdb_scores.py").await?;
        print_measured(&duckdb);
        duckdb_runs.push(duckdb);
    }
    let (points, duckdb) = (median(points_runs), median(duckdb_runs));

    let compared = Command::new(&python)
        .arg(root.join("bench/analyze/compare_scores.py"))
        .arg(out.join("scores.csv"))
        .arg(&duck_csv)
        .output()?;
    let comparison = String::from_utf8_lossy(&compared.stdout).trim().to_owned();
    println!("analyze {responses}: comparison: {comparison}");
    let same_ignored = csv_lines(&out.join("ignored.csv"))? == csv_lines(&duck_ignored)?;
    Ok(AnalyzeReport {
        responses,
        answers: format!(
            "{} responses over 3,321 communes, {:.0} MB of Parquet",
            thousands(responses as f64),
            size as f64 / 1e6
        ),
        simulate_seconds,
        ykien,
        points,
        duckdb,
        identical: compared.status.success(),
        comparison,
        same_ignored,
    })
}

/// The data lines of a CSV file, sorted (the header and the order of rows aside).
fn csv_lines(path: &Path) -> Result<Vec<String>, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines: Vec<String> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    lines.sort();
    Ok(lines)
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

/// The section's part for one size.
pub fn markdown(a: &AnalyzeReport, seed: u64) -> String {
    let gb = |m: &Measured| megabytes(m.peak_kb) < 1000.0;
    let point_ratio = a.points.seconds / a.duckdb.seconds;
    let interval_ratio = a.ykien.seconds / a.points.seconds;
    let rows = [
        (
            "`ykien analyze --replicates 0` (point scores): wall time".to_owned(),
            format!("{:.1} s{}", a.points.seconds, run_times(&a.points)),
            format!("{:.1} s{}", a.duckdb.seconds, run_times(&a.duckdb)),
            format!("{point_ratio:.2}×"),
            "≤ DuckDB",
            yes_no(point_ratio <= 1.0),
        ),
        (
            "`ykien analyze --replicates 0`: peak memory".to_owned(),
            format!("{:.0} MB", megabytes(a.points.peak_kb)),
            format!("{:.0} MB", megabytes(a.duckdb.peak_kb)),
            format!("{:.2}×", a.points.peak_kb as f64 / a.duckdb.peak_kb.max(1) as f64),
            "< 1 GB",
            yes_no(gb(&a.points)),
        ),
        (
            "`ykien analyze` (1,000 replicates): wall time".to_owned(),
            format!("{:.1} s", a.ykien.seconds),
            format!("{:.1} s", a.duckdb.seconds),
            format!(
                "{:.2}× DuckDB, {interval_ratio:.2}× point scores",
                a.ykien.seconds / a.duckdb.seconds
            ),
            "≤ 3× point scores",
            yes_no(interval_ratio <= 3.0),
        ),
        (
            "`ykien analyze` (1,000 replicates): peak memory".to_owned(),
            format!("{:.0} MB", megabytes(a.ykien.peak_kb)),
            format!("{:.0} MB", megabytes(a.duckdb.peak_kb)),
            format!("{:.2}×", a.ykien.peak_kb as f64 / a.duckdb.peak_kb.max(1) as f64),
            "< 1 GB",
            yes_no(gb(&a.ykien)),
        ),
    ];
    let mut s = format!(
        "\n### `ykien analyze` beside DuckDB: {}\n\nInput: {} (`ykien simulate --units data/admin-units/vietnam-2025.csv --responses {} --seed {seed}`{}). \
         Both read the same file and the same questionnaire. The reference (`bench/analyze/duckdb_scores.py`, {DUCKDB}, all cores) \
         does every check of an answers file and the skip logic in SQL (the row checks once per distinct question and answer, then one \
         aggregate per response that keeps each question's distinct answers as bits, the skip logic and values per respondent, one \
         pass per unit) and writes the point scores, counts and ignored rows; `ykien analyze` also ranks and groups the communes \
         within each province and draws the province charts, and \
         with 1,000 replicates the 95% bootstrap intervals. The point scores and DuckDB run one after the other, alternately, \
         as many times as `--repeat` says, and each keeps its median run. Peak memory is the highest VmRSS of each process (of all its runs), \
         sampled every 100 ms.\n\n\
         | figure | ykien | DuckDB (same run) | ratio | goal | met? |\n|---|---:|---:|---:|---|---|\n",
        thousands(a.responses as f64),
        a.answers,
        a.responses,
        a.simulate_seconds
            .map(|t| format!(", simulated in {t:.0} s"))
            .unwrap_or_default(),
    );
    for (name, ours, theirs, ratio, goal, met) in rows {
        s.push_str(&format!("| {name} | {ours} | {theirs} | {ratio} | {goal} | {met} |\n"));
    }
    s.push_str(&format!(
        "| same scores and counts as DuckDB (1e-9) | {} | {DASH} | {DASH} | identical | {} |\n\
         | same ignored rows as DuckDB | {} | {DASH} | {DASH} | identical | {} |\n\n\
         - ykien analyze: {}\n- ykien analyze --replicates 0: {}\n- DuckDB: {}\n- Comparison (`bench/analyze/compare_scores.py`): {}\n",
        if a.identical { "identical" } else { "different" },
        yes_no(a.identical),
        if a.same_ignored { "identical" } else { "different" },
        yes_no(a.same_ignored),
        a.ykien.stdout,
        a.points.stdout,
        a.duckdb.stdout,
        a.comparison.replace('\n', "; "),
    ));
    s
}
