//! What both benchmark programs do the same way: their entry point and exit codes, the machine's load before a
//! run, numbers, the machine and commit a run was measured on, and the rewriting of one program's own section of
//! BENCHMARKS.md between its markers.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::BoxError;

/// Runs a benchmark program: parses its arguments (`Ok(None)`: help was printed), runs `body` on a multi-threaded
/// runtime, and reports a failure as one line prefixed by `name`: exit code 2 for bad arguments or no runtime, 1 for
/// a failed run.
pub fn run<A, F>(name: &str, parse: fn() -> Result<Option<A>, BoxError>, body: impl FnOnce(A) -> F) -> ExitCode
where
    F: Future<Output = Result<(), BoxError>>,
{
    let args = match parse() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(body(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How busy the machine already is with other jobs, over the 2 s before a run; printed, and kept for the report.
pub async fn load_before_run() -> crate::cpu::Shares {
    let before = crate::cpu::Snapshot::take(None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let background = before.shares_until(&crate::cpu::Snapshot::take(None));
    println!(
        "machine busy before the run: {:.0}% of {}% (other jobs)",
        background.machine,
        background.cores * 100
    );
    background
}

/// The heading every program's section is inserted before when it has no section yet.
pub const RUNNING: &str = "## Running the benchmarks";

pub const DASH: &str = "—";

/// 12345.6 → "12,346".
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn megabytes(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

pub fn yes_no(met: bool) -> String {
    if met { "yes" } else { "**no**" }.to_owned()
}

pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown kernel".to_owned());
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines().find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
    });
    let memory = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    let mut text = format!("nproc {cpus}");
    if let Some(m) = model {
        text.push_str(&format!(" ({m})"));
    }
    if let Some(kb) = memory {
        text.push_str(&format!(", {:.1} GiB RAM", kb as f64 / 1024.0 / 1024.0));
    }
    text.push_str(&format!(", Linux {kernel}"));
    text
}

pub fn commit() -> String {
    match command_output("git", &["rev-parse", "--short", "HEAD"]) {
        Some(hash) => {
            let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash} with uncommitted changes")
            } else {
                hash
            }
        }
        None => "unknown".to_owned(),
    }
}

/// Replaces the section between `begin` and `end` of `path` with `section` (which carries both markers), or
/// inserts it before [`RUNNING`], or appends it; creates the file as `new_file(section)` when it does not exist.
pub fn write_section(
    path: &Path,
    begin: &str,
    end: &str,
    section: &str,
    new_file: impl FnOnce(&str) -> String,
) -> Result<(), BoxError> {
    let text = match std::fs::read_to_string(path) {
        Ok(old) => match (old.find(begin), old.find(end)) {
            (Some(b), Some(e)) if b < e => {
                let mut e = e + end.len();
                if old[e..].starts_with('\n') {
                    e += 1;
                }
                format!("{}{section}{}", &old[..b], &old[e..])
            }
            _ => match old.find(RUNNING) {
                Some(at) => format!("{}{section}\n{}", &old[..at], &old[at..]),
                None => format!("{}\n\n{section}", old.trim_end()),
            },
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_file(section),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
    };
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// The workspace root (the bundled data files, BENCHMARKS.md): the parent of this crate's folder.
pub fn workspace_root() -> Result<PathBuf, BoxError> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the bench crate has no parent folder")?
        .to_path_buf())
}

/// The `ykien` binary: `YKIEN_BIN`, or the one beside this program (`target/release/ykien`).
pub fn ykien_binary() -> Result<PathBuf, BoxError> {
    if let Ok(bin) = std::env::var("YKIEN_BIN")
        && !bin.trim().is_empty()
    {
        return Ok(PathBuf::from(bin.trim()));
    }
    let beside = std::env::current_exe()?.with_file_name("ykien");
    if beside.is_file() {
        return Ok(beside);
    }
    Err(format!(
        "no ykien binary at {}: run cargo build --release -p ykien -p ykien-bench first, or set YKIEN_BIN",
        beside.display()
    )
    .into())
}
