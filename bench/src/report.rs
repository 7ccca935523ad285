//! The tables (figure | value | baseline | ratio | goal | met?) and this benchmark's section of BENCHMARKS.md.

use std::path::Path;

use crate::common::{DASH, RUNNING, capitalise, commit, machine, megabytes, thousands, write_section, yes_no};
use crate::cpu::Shares;
use crate::load::LoadResult;
use crate::raw::RawResult;
use crate::{Args, BoxError, EngineKind};

const BEGIN: &str = "<!-- survey-responses: begin (written by target/release/survey-responses) -->";
const END: &str = "<!-- survey-responses: end -->";

/// What one engine measured.
pub struct EngineReport {
    pub kind: EngineKind,
    pub load: LoadResult,
    pub raw: RawResult,
    pub idle_rss_kb: u64,
    pub peak_rss_kb: u64,
    /// Complete responses the server counted after the run (`GET /api/v1/waves/{code}`).
    pub stored: Option<i64>,
    /// Lines the server wrote to standard error (count, first few).
    pub server_stderr: (usize, Vec<String>),
    pub answers_min: usize,
    pub answers_max: usize,
    pub answers_mean: f64,
    pub body_bytes_mean: f64,
}

struct Row {
    figure: &'static str,
    value: String,
    baseline: String,
    ratio: String,
    goal: String,
    met: String,
}

fn rows(r: &EngineReport) -> Vec<Row> {
    let api = r.load.per_second();
    let raw = r.raw.per_second();
    let ratio = api / raw;
    let p99 = r.load.latency_ms(99.0);
    let peak_mb = megabytes(r.peak_rss_kb);
    let (throughput_goal, throughput_met) = match r.kind {
        EngineKind::Sqlite => ("≥ 50% of raw".to_owned(), ratio >= 0.5),
        EngineKind::Postgres => ("≥ 2,000/s".to_owned(), api >= 2000.0),
    };
    let (p99_goal, p99_met) = match r.kind {
        EngineKind::Sqlite => ("< 50 ms".to_owned(), yes_no(p99 < 50.0)),
        EngineKind::Postgres => (DASH.to_owned(), DASH.to_owned()),
    };
    let none = || (DASH.to_owned(), DASH.to_owned(), DASH.to_owned(), DASH.to_owned());
    let latency = |figure: &'static str, ms: f64, goal: String, met: String| Row {
        figure,
        value: format!("{ms:.1} ms"),
        baseline: DASH.to_owned(),
        ratio: DASH.to_owned(),
        goal,
        met,
    };
    let (b, rt, g, m) = none();
    vec![
        Row {
            figure: "responses/s",
            value: thousands(api),
            baseline: format!("{} (raw limit)", thousands(raw)),
            ratio: format!("{:.0}%", ratio * 100.0),
            goal: throughput_goal,
            met: yes_no(throughput_met),
        },
        Row {
            figure: "answer rows/s",
            value: thousands(r.load.answer_rows as f64 / r.load.window.as_secs_f64()),
            baseline: format!(
                "{} (raw limit)",
                thousands(r.raw.answer_rows as f64 / r.raw.window.as_secs_f64())
            ),
            ratio: format!(
                "{:.0}%",
                100.0 * (r.load.answer_rows as f64 / r.load.window.as_secs_f64())
                    / (r.raw.answer_rows as f64 / r.raw.window.as_secs_f64())
            ),
            goal: DASH.to_owned(),
            met: DASH.to_owned(),
        },
        latency("p50 latency", r.load.latency_ms(50.0), DASH.to_owned(), DASH.to_owned()),
        latency("p99 latency", p99, p99_goal, p99_met),
        latency("max latency", r.load.max_ms(), DASH.to_owned(), DASH.to_owned()),
        Row {
            figure: "server peak RSS (VmHWM)",
            value: format!("{peak_mb:.1} MB"),
            baseline: format!("{:.1} MB (idle, after start)", megabytes(r.idle_rss_kb)),
            ratio: format!("{:.1}×", r.peak_rss_kb as f64 / r.idle_rss_kb.max(1) as f64),
            goal: "< 100 MB".to_owned(),
            met: yes_no(r.peak_rss_kb > 0 && peak_mb < 100.0),
        },
        Row {
            figure: "failed requests",
            value: thousands(r.load.errors as f64),
            baseline: b,
            ratio: rt,
            goal: g,
            met: m,
        },
    ]
}

const HEADER: [&str; 6] = ["figure", "value", "baseline (same run)", "ratio", "goal", "met?"];

fn cells(row: &Row) -> [String; 6] {
    [
        row.figure.to_owned(),
        row.value.clone(),
        row.baseline.clone(),
        row.ratio.clone(),
        row.goal.clone(),
        row.met.replace("**", ""),
    ]
}

fn notes(r: &EngineReport) -> Vec<String> {
    let mut out = vec![
        format!(
            "{} responses measured in {} s ({} created in all, warm-up included); the server counts {} stored.",
            thousands(r.load.responses as f64),
            r.load.window.as_secs(),
            thousands(r.load.created_total as f64),
            r.stored
                .map_or_else(|| "an unknown number".to_owned(), |n| thousands(n as f64))
        ),
        format!(
            "Raw limit: {} responses committed in {} s by {} writer(s), {} per transaction. Highest VmRSS sampled \
             every 100 ms during the API run: {:.1} MB.",
            thousands(r.raw.responses as f64),
            r.raw.window.as_secs(),
            r.raw.writers,
            r.raw.batch,
            megabytes(r.load.sampled_rss_kb)
        ),
    ];
    let (api, raw) = (&r.load.cpu, &r.raw.cpu);
    let postgres = |shares: &Shares| match r.kind {
        EngineKind::Postgres => (format!(", postgres processes {:.0}%", shares.postgres), shares.postgres),
        EngineKind::Sqlite => (String::new(), 0.0),
    };
    let ((api_pg, api_pg_share), (raw_pg, raw_pg_share)) = (postgres(api), postgres(raw));
    out.push(format!(
        "CPU in % of one core (the machine has {} cores): API run — server {:.0}%{}, client {:.0}%{}, other jobs \
         {:.0}% (whole machine {:.0}%); raw run — writer {:.0}%{}, other jobs {:.0}% (whole machine {:.0}%).",
        api.cores,
        api.server,
        match r.kind {
            EngineKind::Sqlite => " (SQLite runs inside it)",
            EngineKind::Postgres => "",
        },
        api.client,
        api_pg,
        (api.machine - api.server - api.client - api_pg_share).max(0.0),
        api.machine,
        raw.client,
        raw_pg,
        (raw.machine - raw.client - raw_pg_share).max(0.0),
        raw.machine
    ));
    if let Some(e) = &r.load.first_error {
        out.push(format!("First failed request: {}", one_line(e, 300)));
    }
    if r.server_stderr.0 > 0 {
        out.push(format!(
            "The server wrote {} line(s) to standard error; first: {}",
            r.server_stderr.0,
            one_line(&r.server_stderr.1.join(" / "), 300)
        ));
    }
    out
}

/// Removes terminal colour codes (`ESC [ … m`), as the server's log lines carry them.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = strip_ansi(text).split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// The table of one engine, aligned for a terminal.
pub fn terminal_table(r: &EngineReport) -> String {
    let mut lines: Vec<[String; 6]> = vec![HEADER.map(str::to_owned)];
    lines.extend(rows(r).iter().map(cells));
    let mut widths = [0usize; 6];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("\n{} — {}\n", r.kind.label(), workload_line(r));
    for line in &lines {
        let padded: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(padded.join(" | ").trim_end());
        out.push('\n');
    }
    for note in notes(r) {
        out.push_str(&format!("  {note}\n"));
    }
    out
}

fn workload_line(r: &EngineReport) -> String {
    format!(
        "{:.0} answers per response on average ({}–{}), {:.1} kB of JSON",
        r.answers_mean,
        r.answers_min,
        r.answers_max,
        r.body_bytes_mean / 1000.0
    )
}

fn markdown_table(r: &EngineReport) -> String {
    let mut out = format!("| {} |\n|---|---:|---:|---:|---|---|\n", HEADER.join(" | "));
    for row in rows(r) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.figure, row.value, row.baseline, row.ratio, row.goal, row.met
        ));
    }
    out
}

fn section(args: &Args, reports: &[EngineReport], background: &Shares) -> String {
    let profile = if cfg!(debug_assertions) {
        "debug (figures not representative)"
    } else {
        "release"
    };
    let mut out = format!("{BEGIN}\n## Complete survey responses through the JSON API (`survey-responses`)\n\n");
    out.push_str(&format!(
        "- Date: {} UTC\n- Machine: {}; {:.0}% of {}% CPU already busy with other jobs in the 2 s before the run\n\
         - Build: {profile} (`ykien serve` and this client); commit {}\n- Command: `{}`\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        machine(),
        background.machine,
        background.cores * 100,
        commit(),
        args.command
    ));
    out.push_str(&format!(
        "Workload: {} concurrent clients in one process on the same machine as the server, each posting complete \
         responses (every eligible question of `questionnaires/papi-2025.toml` answered, checked by the conversation \
         engine before the run; a quarter answer \"no\" to every screening question, a quarter \"yes\", the rest half \
         and half; some \"don't know\" and \"refused\"; communes drawn from the 104 of Hưng Yên; no client token) to \
         `POST /api/v1/waves/{{wave}}/responses` of `ykien serve` (child process, `YKIEN_LOG=warn`), one request at a \
         time each over a keep-alive connection; {} s warm-up, then {} s measured. Latency is from sending the request \
         to reading the whole answer. Peak RSS is the server's `VmHWM` from `/proc/{{pid}}/status` after the run.\n\n",
        args.clients,
        args.warmup.as_secs(),
        args.duration.as_secs()
    ));
    out.push_str(&format!(
        "Baseline (the raw limit), measured in the same run right after the API run: the same responses, with the \
         same answer rows, inserted into a second fresh database prepared the same way, through the server's own SQL \
         without HTTP, JSON or validation — `ykien::app::open_store` then `Store::insert_complete_responses` (one \
         `INSERT INTO responses` and one multi-row upsert into `answers` per response) with {} responses per \
         transaction, for {} s, by {}.\n\n",
        args.batch,
        args.raw_duration.as_secs(),
        match args.raw_writers {
            Some(n) => format!("{n} concurrent writer(s)"),
            None => format!(
                "{} writer on SQLite (it takes one writer at a time) and {} concurrent writers on PostgreSQL",
                EngineKind::Sqlite.raw_writers(),
                EngineKind::Postgres.raw_writers()
            ),
        }
    ));
    for r in reports {
        out.push_str(&format!("### {}\n\n", r.kind.label()));
        out.push_str(&format!("{}.\n\n", capitalise(&workload_line(r))));
        out.push_str(&markdown_table(r));
        out.push('\n');
        for note in notes(r) {
            out.push_str(&format!("- {note}\n"));
        }
        out.push('\n');
    }
    if !reports.iter().any(|r| r.kind == EngineKind::Postgres) {
        out.push_str(
            "PostgreSQL was not measured in this run: set `YKIEN_BENCH_POSTGRES_URL` (or `YKIEN_TEST_POSTGRES_URL`) \
             to a server whose user may create databases.\n\n",
        );
    }
    out.push_str(
        "The machine is shared and noisy: other sessions' builds and tests run at the same time (see the CPU notes), \
         and the client takes CPU from the server on the same cores. Compare each figure with its baseline from the \
         same run rather than across runs; runs a few minutes apart have differed by up to a third.\n",
    );
    out.push_str(END);
    out.push('\n');
    out
}

fn new_file(section: &str) -> String {
    format!(
        "# Benchmarks\n\nMeasured by the programs in [`bench/`](bench/). Each figure is printed beside a baseline \
         measured in the same run; tests never assert on time. Each program rewrites only its own section, between \
         its markers.\n\n{section}\n{RUNNING}\n\nFrom the workspace root, with a release build:\n\n```sh\n\
         cargo build --release -p ykien -p ykien-bench && target/release/survey-responses\n```\n\n\
         Add PostgreSQL with `YKIEN_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres` (its user must be \
         able to create databases; each run creates and drops its own). `target/release/survey-responses --help` lists \
         the options (clients, durations, batch size, `--no-write`).\n"
    )
}

/// Replaces this benchmark's section of `path` (between its markers), or adds it, or creates the file.
pub fn write_markdown(path: &Path, args: &Args, reports: &[EngineReport], background: &Shares) -> Result<(), BoxError> {
    let section = section(args, reports, background);
    write_section(path, BEGIN, END, &section, new_file)
}
