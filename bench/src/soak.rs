//! The soak run of `survey-responses --soak S`: complete responses posted at a fixed rate (half of the maximum
//! the closed-loop run just measured) for S seconds on a fresh database, open loop: requests leave on a clock,
//! whatever the server's answers, so that a server slowing down shows as growing latency instead of a lower rate.
//! Reports each minute's rate, errors, latency and the server's resident set, and writes its own section of
//! BENCHMARKS.md.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::Semaphore;

use crate::common::{DASH, commit, machine, megabytes, thousands, write_section, yes_no};
use crate::load::{Body, Poster, percentile_ms};
use crate::server::proc_status_kb;
use crate::{Args, BoxError, EngineKind};

const BEGIN: &str = "<!-- soak: begin (written by target/release/survey-responses --soak) -->";
const END: &str = "<!-- soak: end -->";

/// Requests allowed in flight at once; a request due while all are taken is counted as an error (the server fell
/// behind by more than this many requests).
const IN_FLIGHT: usize = 512;

/// One minute (or the last, shorter stretch) of the soak.
pub struct Minute {
    pub sent: u64,
    pub errors: u64,
    /// Latencies of the successful requests sent in this minute, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// The server's VmRSS at the minute's end, in kB.
    pub rss_kb: u64,
}

impl Minute {
    fn percentile_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.latencies_us, p)
    }
}

pub struct SoakResult {
    pub kind: EngineKind,
    /// The closed-loop maximum measured just before, responses/s: the baseline of the rate.
    pub max_rate: f64,
    pub duration: Duration,
    pub minutes: Vec<Minute>,
    /// VmRSS right after start, before any request, in kB.
    pub idle_rss_kb: u64,
    pub peak_rss_kb: u64,
    pub created: u64,
    /// Complete responses the server counted afterwards.
    pub stored: Option<i64>,
    pub first_error: Option<String>,
}

impl SoakResult {
    /// The rate offered: half of the maximum.
    fn rate(&self) -> f64 {
        self.max_rate / 2.0
    }

    fn errors(&self) -> u64 {
        self.minutes.iter().map(|m| m.errors).sum()
    }

    fn sent(&self) -> u64 {
        self.minutes.iter().map(|m| m.sent).sum()
    }

    /// The resident set at the end of the first minute (warm: pools, caches and SQLite's page cache filled) and at
    /// the end of the run.
    fn rss_growth(&self) -> Option<(u64, u64, f64)> {
        let first = self.minutes.first()?.rss_kb;
        let last = self.minutes.last()?.rss_kb;
        (first > 0).then(|| (first, last, last as f64 / first as f64 - 1.0))
    }

    /// p50 latency of the last `k` minutes against the `k` after the first, warming minute (`k` is 3 in a run of
    /// seven minutes or more): (k, early, late, late / early).
    fn latency_drift(&self) -> Option<(usize, f64, f64, f64)> {
        let n = self.minutes.len();
        if n < 5 {
            return None;
        }
        let k = 3.min((n - 1) / 2);
        let median = |ms: &[Minute]| {
            let mut all: Vec<u64> = ms.iter().flat_map(|m| m.latencies_us.iter().copied()).collect();
            all.sort_unstable();
            percentile_ms(&all, 50.0)
        };
        let early = median(&self.minutes[1..1 + k]);
        let late = median(&self.minutes[n - k..]);
        Some((k, early, late, late / early))
    }
}

/// Posts `bodies` (cycled) at `rate` per second for `duration`, sampling the server's resident set each minute.
pub async fn run(
    base: &str,
    wave: &str,
    token: &str,
    bodies: Arc<Vec<Body>>,
    rate: f64,
    duration: Duration,
    server_pid: u32,
) -> Result<(Vec<Minute>, u64, Option<String>), BoxError> {
    let poster = Poster::new(base, wave, token, IN_FLIGHT)?;
    let minutes_n = duration.as_secs().div_ceil(60).max(1) as usize;
    let minutes: Arc<Mutex<Vec<Minute>>> = Arc::new(Mutex::new(
        (0..minutes_n)
            .map(|_| Minute {
                sent: 0,
                errors: 0,
                latencies_us: Vec::new(),
                rss_kb: 0,
            })
            .collect(),
    ));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let created = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let end = start + duration;
    let sampler = {
        let minutes = minutes.clone();
        tokio::spawn(async move {
            for m in 0..minutes_n {
                let at = (start + Duration::from_secs(60 * (m as u64 + 1))).min(end);
                tokio::time::sleep_until(at.into()).await;
                let rss = proc_status_kb(server_pid, "VmRSS").unwrap_or(0);
                minutes.lock().unwrap_or_else(|e| e.into_inner())[m].rss_kb = rss;
            }
        })
    };
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0usize;
    loop {
        tick.tick().await;
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let minute = ((sent - start).as_secs() / 60) as usize;
        let note_error = {
            let (minutes, first_error) = (minutes.clone(), first_error.clone());
            move |why: String| {
                minutes.lock().unwrap_or_else(|e| e.into_inner())[minute].errors += 1;
                first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(why);
            }
        };
        minutes.lock().unwrap_or_else(|e| e.into_inner())[minute].sent += 1;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            note_error(format!("{IN_FLIGHT} requests already in flight"));
            continue;
        };
        let body = bodies[next % bodies.len()].json.clone();
        next += 1;
        let (poster, minutes, created) = (poster.clone(), minutes.clone(), created.clone());
        tasks.spawn(async move {
            let outcome = poster.post(body).await;
            let latency = sent.elapsed().as_micros() as u64;
            drop(permit);
            match outcome {
                Ok((StatusCode::CREATED, _)) => {
                    created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    minutes.lock().unwrap_or_else(|e| e.into_inner())[minute]
                        .latencies_us
                        .push(latency);
                }
                Ok((status, text)) => note_error(format!("{status}: {text}")),
                Err(e) => note_error(e.to_string()),
            }
        });
        // Reap finished requests as we go, so that the set stays small over a long run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    sampler.await?;
    let mut minutes = std::mem::take(&mut *minutes.lock().unwrap_or_else(|e| e.into_inner()));
    for m in &mut minutes {
        m.latencies_us.sort_unstable();
    }
    let first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok((minutes, created.load(std::sync::atomic::Ordering::Relaxed), first_error))
}

fn minute_table(r: &SoakResult) -> String {
    let mut t = String::from(
        "| minute | requests/s | errors | p50 latency | p99 latency | max latency | server VmRSS |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (i, m) in r.minutes.iter().enumerate() {
        let seconds = (r.duration.as_secs_f64() - 60.0 * i as f64).clamp(1.0, 60.0);
        t.push_str(&format!(
            "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MB |\n",
            i + 1,
            thousands(m.sent as f64 / seconds),
            m.errors,
            m.percentile_ms(50.0),
            m.percentile_ms(99.0),
            m.percentile_ms(100.0),
            megabytes(m.rss_kb),
        ));
    }
    t
}

fn summary_table(r: &SoakResult) -> String {
    let mut t =
        String::from("| figure | value | baseline (same run) | ratio | goal | met? |\n|---|---:|---:|---:|---|---|\n");
    let duration = r.duration.as_secs_f64();
    let achieved = r.sent() as f64 / duration;
    t.push_str(&format!(
        "| rate offered | {}/s | {}/s (closed-loop maximum) | {:.0}% | {}/s (half) | {} |\n",
        thousands(achieved),
        thousands(r.max_rate),
        100.0 * achieved / r.max_rate,
        thousands(r.rate()),
        yes_no(achieved >= 0.98 * r.rate())
    ));
    t.push_str(&format!(
        "| failed requests | {} of {} | {DASH} | {DASH} | 0 | {} |\n",
        r.errors(),
        thousands(r.sent() as f64),
        yes_no(r.errors() == 0)
    ));
    if let Some((first, last, growth)) = r.rss_growth() {
        t.push_str(&format!(
            "| server VmRSS at the end | {:.1} MB | {:.1} MB (end of minute 1) | {:+.1}% | growth < 10% | {} |\n",
            megabytes(last),
            megabytes(first),
            100.0 * growth,
            yes_no(growth < 0.10)
        ));
    }
    t.push_str(&format!(
        "| server peak RSS (VmHWM) | {:.1} MB | {:.1} MB (idle, after start) | {:.1}× | {DASH} | {DASH} |\n",
        megabytes(r.peak_rss_kb),
        megabytes(r.idle_rss_kb),
        r.peak_rss_kb as f64 / r.idle_rss_kb.max(1) as f64
    ));
    if let Some((k, early, late, ratio)) = r.latency_drift() {
        t.push_str(&format!(
            "| p50 latency, last {k} minutes | {late:.1} ms | {early:.1} ms (minutes 2–{}) | {ratio:.2}× | stable (≤ 1.25×) | {} |\n",
            k + 1,
            yes_no(ratio <= 1.25)
        ));
    }
    t.push_str(&format!(
        "| responses stored | {} | {} (answered 201) | {DASH} | all | {} |\n",
        r.stored.map_or(DASH.to_owned(), |n| thousands(n as f64)),
        thousands(r.created as f64),
        yes_no(r.stored == Some(r.created as i64))
    ));
    t
}

/// Prints one engine's soak.
pub fn print(r: &SoakResult) {
    println!("{} soak:\n{}\n{}", r.kind.label(), summary_table(r), minute_table(r));
    if let Some(e) = &r.first_error {
        println!("first error: {e}");
    }
}

/// Replaces the soak section of `path`.
pub fn write_markdown(path: &Path, args: &Args, results: &[SoakResult]) -> Result<(), BoxError> {
    let mut section = format!(
        "{BEGIN}\n## Soak: survey responses at half the maximum rate (`survey-responses --soak`)\n\n\
         - Date: {}\n- Machine: {}\n- Build: release; commit {}\n- Command: `{}`\n\n\
         Workload: the survey-responses bodies above, posted open loop (each request leaves on a clock, whatever the \
         answers, up to {IN_FLIGHT} in flight) to a fresh database and a fresh `ykien serve`, at half of the \
         responses/s the closed-loop run measured on the same engine a moment before. The server's VmRSS is read from \
         `/proc` at the end of each minute; latency is from sending to reading the whole answer.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine(),
        commit(),
        args.command,
    );
    for r in results {
        section.push_str(&format!(
            "\n### {}\n\n{}\nEach minute:\n\n{}",
            r.kind.label(),
            summary_table(r),
            minute_table(r)
        ));
        if let Some(e) = &r.first_error {
            section.push_str(&format!("\nFirst error: `{e}`\n"));
        }
    }
    section.push_str(END);
    section.push('\n');
    write_section(path, BEGIN, END, &section, |s| format!("# Benchmarks\n\n{s}"))
}
