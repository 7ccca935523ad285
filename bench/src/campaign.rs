//! `campaign`: issue 18's figure: a campaign to N subscribers (default 100,000) of one commune over Telegram —
//! the time to approve and queue it (one outbox row per recipient), the server's peak resident set while it sends
//! (goal < 100 MB), and its delivery rate measured against the platform limit it is given, in the same run (goal:
//! the limit, not ykien, is the bottleneck: the measured rate is at least 95% of the limit). `ykien serve` runs in
//! release against a fake Bot API inside this program that counts `sendMessage` calls with their instants.
//!
//! Build and run from the workspace root, on a quiet machine:
//!
//! ```sh
//! cargo build --release -p ykien -p ykien-bench && target/release/campaign --write
//! ```
//!
//! At Telegram's 30 messages a second, 100,000 messages take 55 minutes; the rate is measured over `--seconds` of
//! sending (default 120) after 5 s of warm-up, and `--rate` lets the same run measure a higher limit (a local Bot
//! API server allows more), which is where ykien itself would become the bottleneck.

// Shared with the other programs, which use more of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod cpu;
#[allow(dead_code)]
mod server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use serde_json::json;
use ykien::domain::calendar::vn_day;
use ykien::services::accounts::{AccountRequest, add_official, login};
use ykien::services::reach::campaigns::{self, CampaignForm};
use ykien::storage::ChatUserRow;

use crate::common::{machine, megabytes, thousands, write_section, yes_no};
use crate::server::{Database, PeakRss, Server};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const BEGIN: &str = "<!-- campaign:begin -->";
const END: &str = "<!-- campaign:end -->";
const PASSWORD: &str = "benchmark-password-2026";

const USAGE: &str = "\
campaign: a campaign to N subscribers: time to queue, server RSS, delivery rate against the platform limit

  --subscribers N   Telegram subscribers of commune 11953 (default 100000)
  --rate R          the Telegram limit given to ykien, messages a second (default 30, Telegram's)
  --seconds S       measured seconds of sending, after 5 s of warm-up (default 120)
  --write           write the section of BENCHMARKS.md
";

struct Args {
    subscribers: usize,
    rate: u32,
    seconds: u64,
    write: bool,
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let mut args = Args {
        subscribers: 100_000,
        rate: 30,
        seconds: 120,
        write: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--subscribers" => args.subscribers = value("--subscribers")?.parse()?,
            "--rate" => args.rate = value("--rate")?.parse()?,
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
    common::run("campaign", parse_args, run)
}

/// The instants `sendMessage` arrived at the fake Bot API.
type Arrivals = Arc<Mutex<Vec<Instant>>>;

async fn bot_api(State(arrivals): State<Arrivals>, Path((_bot, method)): Path<(String, String)>) -> impl IntoResponse {
    let method = method.to_lowercase();
    if method == "sendmessage" {
        arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Instant::now());
    }
    let result = match method.as_str() {
        "getme" => json!({ "id": 1, "is_bot": true, "first_name": "ykien", "username": "ykien_bench_bot" }),
        _ => json!({ "message_id": 1, "date": 0, "chat": { "id": 1, "type": "private" } }),
    };
    axum::Json(json!({ "ok": true, "result": result }))
}

async fn run(args: Args) -> Result<(), BoxError> {
    let bin = common::ykien_binary()?;
    let root = common::workspace_root()?;
    let db = Database::sqlite("campaign")?;
    server::prepare(&bin, &root, &db.url)?;
    let config = server::config(&db.url)?;
    let store = server::open_store(&config).await?;
    let now = Utc::now();
    for (username, role, unit) in [("canbo", "commune_officer", "11953"), ("lanhdao", "leader", "33")] {
        add_official(
            &store,
            AccountRequest {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role: role.into(),
                office: (role == "commune_officer").then(|| "commune_office".into()),
                unit_codes: vec![unit.into()],
            },
            vn_day(now),
        )
        .await?;
    }
    println!("storing {} subscribers…", thousands(args.subscribers as f64));
    for i in 0..args.subscribers {
        let row = ChatUserRow {
            channel: "telegram".into(),
            user_id: (1_000_000 + i).to_string(),
            lang: "vi".into(),
            commune_code: Some("11953".into()),
            dialog: String::new(),
            revision: 0,
            reachable: true,
            opted_out: false,
            last_interaction_at: Some(now),
            created_at: now,
        };
        store.save_chat_user(&row, true).await?;
    }
    let officer = login(&store, "canbo", PASSWORD, "127.0.0.1", now)
        .await?
        .map_err(|_| "the officer cannot sign in")?
        .1;
    let leader = login(&store, "lanhdao", PASSWORD, "127.0.0.1", now)
        .await?
        .map_err(|_| "the leader cannot sign in")?
        .1;
    let form = CampaignForm {
        title: "Benchmark".into(),
        text_vi: "Mời bà con tham gia khảo sát PAPI của phường.".into(),
        communes: vec!["11953".into()],
        channels: vec!["telegram".into()],
        scheduled_vn: campaigns::vn_time(now + chrono::Duration::hours(1)).replace(' ', "T"),
        ..CampaignForm::default()
    };
    let id = campaigns::draft(&store, &officer, &form, now).await?;

    // The fake Bot API, then the service pointed at it.
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route("/{bot}/{method}", post(bot_api).get(bot_api))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let settings = [
        (
            "YKIEN_TELEGRAM_TOKEN",
            "123456789:AAE-bench-token-of-the-right-shape".to_owned(),
        ),
        ("YKIEN_TELEGRAM_WEBHOOK_SECRET", "bench-secret-0123456789".to_owned()),
        ("YKIEN_TELEGRAM_API_URL", api_url),
        ("YKIEN_TELEGRAM_MAX_PER_SECOND", args.rate.to_string()),
    ];
    let server = Server::start_with(&bin, &root, &db.url, &settings)?;
    let rss = PeakRss::start(server.pid());

    let queued_at = Instant::now();
    let queued = campaigns::approve(&store, &leader, id, Utc::now()).await?;
    let enqueue = queued_at.elapsed();
    store.reschedule_campaign_messages(id, Utc::now()).await?;
    println!(
        "queued {} messages in {:.2} s",
        thousands(queued as f64),
        enqueue.as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs(5)).await;
    let start_count = arrivals.lock().map(|a| a.len()).unwrap_or(0);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let sent = arrivals.lock().map(|a| a.len()).unwrap_or(0) - start_count;
    let measured = started.elapsed().as_secs_f64();
    let peak_kb = rss.stop().await?;
    server.stop()?;
    db.remove().await;

    let rate = sent as f64 / measured;
    let ratio = rate / f64::from(args.rate);
    let section = format!(
        "{BEGIN}\n## Campaign to {} subscribers (issue 18)\n\n\
         Measured on {} with `target/release/campaign{}`: SQLite, `ykien serve` in release, a fake Bot API in the \
         same program.\n\n\
         | figure | value | goal | met |\n|---|---|---|---|\n\
         | time to approve and queue (one outbox row per recipient) | {:.2} s | | |\n\
         | server peak RSS while sending | {:.0} MB | < 100 MB | {} |\n\
         | delivery rate over {} s | {:.1} msg/s | the limit, {} msg/s | {} ({:.0}% of the limit) |\n{END}\n",
        thousands(args.subscribers as f64),
        machine(),
        if args.rate == 30 {
            String::new()
        } else {
            format!(" --rate {}", args.rate)
        },
        enqueue.as_secs_f64(),
        megabytes(peak_kb),
        yes_no(megabytes(peak_kb) < 100.0),
        args.seconds,
        rate,
        args.rate,
        yes_no(ratio >= 0.95),
        ratio * 100.0,
    );
    print!("{section}");
    if args.write {
        let path = root.join("BENCHMARKS.md");
        write_section(&path, BEGIN, END, &section, |s| format!("# Benchmarks\n\n{s}"))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
