//! The table (one column per channel and per baseline) and this benchmark's section of BENCHMARKS.md.

use std::path::Path;

use crate::chat_load::{LoadResult, percentile_ms};
use crate::common::{DASH, RUNNING, capitalise, commit, machine, megabytes, thousands, write_section, yes_no};
use crate::cpu::Shares;
use crate::{Args, BoxError, EngineKind};

const BEGIN: &str = "<!-- chat-webhooks: begin (written by target/release/chat-webhooks) -->";
const END: &str = "<!-- chat-webhooks: end -->";

/// The goals of issue 15 at 20 citizens (issues 5 and 6 asked for 1,000/s on both engines): updates/s through the
/// webhook on each engine, its share of the in-process dialogue in the same run, and the p99 latency.
fn goal_per_second(kind: EngineKind) -> f64 {
    match kind {
        EngineKind::Sqlite => 1500.0,
        EngineKind::Postgres => 1200.0,
    }
}
const GOAL_SHARE: f64 = 0.70;
const GOAL_P99_MS: f64 = 25.0;

/// One channel's webhook run.
pub struct ChannelReport {
    /// "Telegram" or "Zalo", and whether the wave was split.
    pub name: String,
    pub load: LoadResult,
    pub idle_rss_kb: u64,
    pub peak_rss_kb: u64,
    /// Complete responses of this channel in the database after the run.
    pub stored_surveys: Option<usize>,
    /// Lines `ykien serve` wrote to standard error (count, first few).
    pub server_stderr: (usize, Vec<String>),
    /// Messages the fake platform received, answerCallbackQuery calls, messages nobody waited for.
    pub platform_messages: u64,
    pub callback_answers: u64,
    pub unexpected: u64,
}

/// One in-process baseline run.
pub struct BaselineReport {
    pub event_log: bool,
    pub load: LoadResult,
}

pub struct EngineReport {
    pub kind: EngineKind,
    pub channels: Vec<ChannelReport>,
    pub baselines: Vec<BaselineReport>,
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        DASH.to_owned()
    } else {
        format!("{value:.1} ms")
    }
}

fn baseline_label(b: &BaselineReport) -> &'static str {
    if b.event_log {
        "baseline + event log"
    } else {
        "baseline: dialogue in-process"
    }
}

/// The rows: figure, one cell per channel, one per baseline, goal, met.
fn rows(r: &EngineReport) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["figure".to_owned()];
    header.extend(r.channels.iter().map(|c| format!("{} webhook", c.name)));
    header.extend(r.baselines.iter().map(|b| baseline_label(b).to_owned()));
    header.extend(["goal".to_owned(), "met?".to_owned()]);
    let plain = r.baselines.iter().find(|b| !b.event_log).map(|b| b.load.per_second());
    let met = |check: &dyn Fn(&ChannelReport) -> bool| -> String {
        r.channels
            .iter()
            .map(|c| format!("{}: {}", c.name, yes_no(check(c))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    let mut row = |figure: &str,
                   channel: &dyn Fn(&ChannelReport) -> String,
                   baseline: &dyn Fn(&BaselineReport) -> String,
                   goal: &str,
                   met: String| {
        let mut cells = vec![figure.to_owned()];
        cells.extend(r.channels.iter().map(channel));
        cells.extend(r.baselines.iter().map(baseline));
        cells.extend([goal.to_owned(), met]);
        out.push(cells);
    };
    let none = |_: &BaselineReport| DASH.to_owned();
    let goal = goal_per_second(r.kind);
    row(
        "updates/s",
        &|c| thousands(c.load.per_second()),
        &|b| thousands(b.load.per_second()),
        &format!("≥ {}/s", thousands(goal)),
        met(&|c| c.load.per_second() >= goal),
    );
    row(
        "… of them survey answers/s",
        &|c| thousands(c.load.answers as f64 / c.load.window.as_secs_f64()),
        &|b| thousands(b.load.answers as f64 / b.load.window.as_secs_f64()),
        DASH,
        DASH.to_owned(),
    );
    row(
        "share of the in-process baseline",
        &|c| plain.map_or(DASH.to_owned(), |p| format!("{:.0}%", 100.0 * c.load.per_second() / p)),
        &|b| plain.map_or(DASH.to_owned(), |p| format!("{:.0}%", 100.0 * b.load.per_second() / p)),
        &format!("≥ {:.0}%", 100.0 * GOAL_SHARE),
        match plain {
            Some(p) => met(&|c| c.load.per_second() >= GOAL_SHARE * p),
            None => DASH.to_owned(),
        },
    );
    row(
        "p50 update → reply",
        &|c| ms(c.load.latency_ms(50.0)),
        &|b| ms(b.load.latency_ms(50.0)),
        DASH,
        DASH.to_owned(),
    );
    row(
        "p99 update → reply",
        &|c| ms(c.load.latency_ms(99.0)),
        &|b| ms(b.load.latency_ms(99.0)),
        "< 25 ms",
        met(&|c| c.load.latency_ms(99.0) < GOAL_P99_MS),
    );
    row(
        "max update → reply",
        &|c| ms(c.load.max_ms()),
        &|b| ms(b.load.max_ms()),
        DASH,
        DASH.to_owned(),
    );
    row(
        "webhook 200: p50 / p99",
        &|c| {
            format!(
                "{} / {}",
                ms(percentile_ms(&c.load.acks_us, 50.0)),
                ms(percentile_ms(&c.load.acks_us, 99.0))
            )
        },
        &none,
        DASH,
        DASH.to_owned(),
    );
    row(
        "surveys completed in the window",
        &|c| thousands(c.load.surveys as f64),
        &|b| thousands(b.load.surveys as f64),
        DASH,
        DASH.to_owned(),
    );
    let per_survey = |l: &LoadResult| {
        l.per_survey().map_or(DASH.to_owned(), |(updates, messages)| {
            format!("{updates:.1} / {messages:.1}")
        })
    };
    row(
        "per completed survey: citizen's updates / bot's messages",
        &|c| per_survey(&c.load),
        &|b| per_survey(&b.load),
        DASH,
        DASH.to_owned(),
    );
    row(
        "server peak RSS (VmHWM; idle after start)",
        &|c| {
            format!(
                "{:.1} MB ({:.1} MB)",
                megabytes(c.peak_rss_kb),
                megabytes(c.idle_rss_kb)
            )
        },
        &none,
        "< 100 MB",
        met(&|c| c.peak_rss_kb > 0 && megabytes(c.peak_rss_kb) < 100.0),
    );
    let postgres = |cpu: &Shares| match r.kind {
        EngineKind::Postgres => format!(" / {:.0}", cpu.postgres),
        EngineKind::Sqlite => String::new(),
    };
    let cpu_figure = match r.kind {
        EngineKind::Postgres => "CPU, % of one core: server / bench / postgres / machine",
        EngineKind::Sqlite => "CPU, % of one core: server / bench / machine",
    };
    row(
        cpu_figure,
        &|c| {
            format!(
                "{:.0} / {:.0}{} / {:.0}",
                c.load.cpu.server,
                c.load.cpu.client,
                postgres(&c.load.cpu),
                c.load.cpu.machine
            )
        },
        &|b| {
            format!(
                "— / {:.0}{} / {:.0}",
                b.load.cpu.client,
                postgres(&b.load.cpu),
                b.load.cpu.machine
            )
        },
        DASH,
        DASH.to_owned(),
    );
    row(
        "failed updates",
        &|c| thousands(c.load.errors as f64),
        &|b| thousands(b.load.errors as f64),
        DASH,
        DASH.to_owned(),
    );
    (header, out)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
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
    let clean = strip_ansi(text).replace(['\n', '|', '`'], " ");
    if clean.chars().count() > max {
        format!("{}…", clean.chars().take(max).collect::<String>())
    } else {
        clean
    }
}

fn notes(r: &EngineReport) -> Vec<String> {
    let mut notes = Vec::new();
    for c in &r.channels {
        let l = &c.load;
        let mut note = format!(
            "{}: {} updates measured in {} s ({} survey answers; the rest are `/start` and the menu's \"answer the \
             survey\"); {} surveys completed in the whole run, {} stored as complete responses of this channel \
             afterwards. The fake platform received {} messages{}; {} nobody waited for.",
            c.name,
            thousands(l.updates as f64),
            l.window.as_secs(),
            thousands(l.answers as f64),
            thousands(l.surveys_total as f64),
            c.stored_surveys.map_or("?".to_owned(), |n| thousands(n as f64)),
            thousands(c.platform_messages as f64),
            if c.callback_answers > 0 {
                format!(
                    " and {} answerCallbackQuery calls",
                    thousands(c.callback_answers as f64)
                )
            } else {
                String::new()
            },
            thousands(c.unexpected as f64),
        );
        if let Some(e) = &l.first_error {
            note.push_str(&format!(" First failure: {}.", one_line(e, 200)));
        }
        let (count, first) = &c.server_stderr;
        if *count > 0 {
            note.push_str(&format!(
                " `ykien serve` wrote {count} line(s) to standard error (YKIEN_LOG=warn), first: {}.",
                one_line(first.first().map_or("", String::as_str), 200)
            ));
        }
        notes.push(note);
    }
    for b in &r.baselines {
        let l = &b.load;
        let mut note = format!(
            "{}: {} updates in {} s, {} surveys completed in the whole run.",
            capitalise(baseline_label(b)),
            thousands(l.updates as f64),
            l.window.as_secs(),
            thousands(l.surveys_total as f64)
        );
        if let Some(e) = &l.first_error {
            note.push_str(&format!(" First failure: {}.", one_line(e, 200)));
        }
        notes.push(note);
    }
    notes
}

pub fn terminal_table(r: &EngineReport) -> String {
    let (header, rows) = rows(r);
    let columns = header.len() - 1;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(strip_ansi(cell).replace("**", "").chars().count());
        }
    }
    let mut out = format!("\n{}\n", r.kind.label());
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .take(columns)
            .enumerate()
            .map(|(i, c)| {
                let c = c.replace("**", "");
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    out.push_str(&line(&header));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push_str(&format!(
            "  {}\n",
            row.last().map_or("", String::as_str).replace("**", "")
        ));
    }
    for note in notes(r) {
        out.push_str(&format!("- {note}\n"));
    }
    out
}

fn markdown_table(r: &EngineReport) -> String {
    let (header, rows) = rows(r);
    let mut out = format!("| {} |\n|", header.join(" | "));
    for i in 0..header.len() {
        out.push_str(if i == 0 || i + 2 >= header.len() {
            "---|"
        } else {
            "---:|"
        });
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

fn section(args: &Args, reports: &[EngineReport], background: &Shares) -> String {
    let profile = if cfg!(debug_assertions) {
        "debug (figures not representative)"
    } else {
        "release"
    };
    let mut out = format!("{BEGIN}\n## A survey answered over Telegram and Zalo webhooks (`chat-webhooks`)\n\n");
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
        "Workload (issues 5 and 6, \"Performance\"): {} simulated citizens at once, each in a closed loop — it posts \
         its next update as soon as the bot's reply to the previous one reached the fake platform. A citizen sends \
         `/start commune_<code>` (one of Hưng Yên's 104 communes at random), presses \"answer the survey\" in the \
         menu, then answers every question of `questionnaires/papi-2025.toml` the way the bot asks it: a random \
         answer button (on Zalo, where a question has more than five buttons, the number of a random answer typed), \
         the smallest number where a number is asked, a short text where a text is asked; after the thanks the next \
         citizen (a new chat id) starts. Telegram updates are posted to `POST /webhooks/telegram` with the secret \
         token (button presses as `callback_query`, which the service acknowledges with `answerCallbackQuery` in the \
         webhook's 200, counted here as Telegram would carry it out); Zalo events \
         are signed `user_send_text` events to `POST /webhooks/zalo` (button presses as `#yk:` + payload). \
         `ykien serve` is a child process (`YKIEN_LOG=warn`) on a fresh database per channel, prepared with the \
         `ykien` binary (units, questionnaire, a wave open over the province; for Zalo, tokens valid a day stored \
         first); its Telegram limits are raised to 100,000 messages/s overall and per chat so that the bot's own \
         throttle (1/s per chat and 30/s overall, Telegram's rules) is not what is measured. The fake Bot API and \
         Zalo OpenAPI run inside this program and hand each reply straight to the waiting citizen (nothing \
         recorded). Latency is from sending the update to the reply's arrival at the fake platform; \"webhook 200\" \
         is the webhook's own answer. {} s warm-up, then {} s measured.{}\n\n",
        args.citizens,
        args.warmup.as_secs(),
        args.duration.as_secs(),
        args.split.map_or(String::new(), |n| format!(
            " The \"split wave\" column is Telegram again on a wave created with `--modules-per-respondent {n}` \
             (issue 21's split questionnaire: the profile questions and {n} of the questionnaire's sub-dimensions, \
             drawn per respondent); \"per completed survey\" counts, over the surveys completed in the whole run, \
             everything from `/start` to the thanks."
        ))
    ));
    out.push_str(&format!(
        "Baselines, measured in the same run right after the webhook runs, each on another fresh database prepared \
         the same way: the same citizens ({} at once, the same walk, as Telegram events) driven in this process \
         through the dialogue itself, `ykien::services::chat::Chats::take_turn` built as `src/app.rs` builds it — no \
         HTTP, no platform client, no event log (\"dialogue in-process\"); and the same plus the two writes the \
         webhook path adds around it, through the same `EventLog` as the webhook path: the event recorded with the raw \
         update before (grouped with the others that come meanwhile) and marked handled after, not waited for \
         (\"+ event log\"). {} s each, no warm-up beyond the first turns. The bench \
         column of CPU is this process: in the baselines it is the dialogue and the database.\n\n",
        args.citizens,
        args.baseline_duration.as_secs()
    ));
    for r in reports {
        out.push_str(&format!("### {}\n\n", r.kind.label()));
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
        "Run it with `cargo build --release -p ykien -p ykien-bench && target/release/chat-webhooks` from the \
         workspace root (`--help` lists the options: citizens, durations, channels, engines, `--no-write`). The \
         machine is shared and noisy and the client takes CPU from the server on the same two cores: compare each \
         figure with its baselines from the same run rather than across runs.\n",
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
         cargo build --release -p ykien -p ykien-bench && target/release/chat-webhooks\n```\n"
    )
}

/// Replaces this benchmark's section of `path` (between its markers), or adds it, or creates the file.
pub fn write_markdown(path: &Path, args: &Args, reports: &[EngineReport], background: &Shares) -> Result<(), BoxError> {
    let section = section(args, reports, background);
    write_section(path, BEGIN, END, &section, new_file)
}
