//! The closed loop: N citizens at once, each sending its next update as soon as the reply to the previous one
//! arrived, through a [`Transport`] (the webhooks of a running `ykien serve`, or the dialogue in-process), for a
//! warm-up and then a measured window; the server's resident set is sampled meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::BoxError;
use crate::chat_citizen::{Action, Next, Purpose, Reply, Rng, decide};
use crate::cpu::{Shares, Snapshot};
use crate::server::PeakRss;

/// How long a citizen waits for a reply before giving up on its chat.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

/// One update's outcome.
pub struct Turn {
    pub reply: Reply,
    /// How long the webhook took to answer its 200, when there was a webhook.
    pub ack: Option<Duration>,
}

/// What carries a citizen's update to the dialogue and brings the reply back.
pub trait Transport: Send + Sync + 'static {
    /// `user` is the chat id (Telegram) or user id (Zalo); `sent` is when the update left.
    fn turn(&self, user: &str, action: &Action, sent: Instant) -> impl Future<Output = Result<Turn, String>> + Send;
}

pub struct LoadSettings {
    pub citizens: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// The communes' codes; each citizen's chat starts with one of them.
    pub communes: Arc<Vec<String>>,
    /// The first chat id; every new citizen takes the next.
    pub first_user: u64,
    pub seed: u64,
}

#[derive(Default)]
pub struct LoadResult {
    /// Updates whose reply arrived inside the measured window (sent inside it too).
    pub updates: u64,
    /// Of those, the answers to survey questions (the rest: `/start` and "answer the survey" in the menu).
    pub answers: u64,
    /// Surveys completed inside the window.
    pub surveys: u64,
    /// Surveys completed in the whole run (warm-up included): what the database should hold.
    pub surveys_total: u64,
    /// Over the surveys completed in the whole run, from `/start` to the thanks: the citizen's updates and the
    /// bot's messages.
    pub survey_updates: u64,
    pub survey_messages: u64,
    pub window: Duration,
    /// From sending the update to the reply reaching the platform, µs, sorted.
    pub latencies_us: Vec<u64>,
    /// The webhook's 200, µs, sorted (empty in-process).
    pub acks_us: Vec<u64>,
    /// Updates that failed (non-200, no reply in time, a reply the walk did not expect), warm-up included.
    pub errors: u64,
    pub first_error: Option<String>,
    /// The highest VmRSS of the server seen while sampling every 100 ms, kB (0 in-process).
    pub sampled_rss_kb: u64,
    pub cpu: Shares,
}

/// Nearest-rank percentile of sorted µs values, in ms.
pub fn percentile_ms(sorted_us: &[u64], percentile: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((percentile / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.updates as f64 / self.window.as_secs_f64()
    }

    pub fn latency_ms(&self, percentile: f64) -> f64 {
        percentile_ms(&self.latencies_us, percentile)
    }

    /// The citizen's updates and the bot's messages per completed survey (means).
    pub fn per_survey(&self) -> Option<(f64, f64)> {
        (self.surveys_total > 0).then(|| {
            let n = self.surveys_total as f64;
            (self.survey_updates as f64 / n, self.survey_messages as f64 / n)
        })
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us.last().map_or(f64::NAN, |&us| us as f64 / 1000.0)
    }
}

#[derive(Default)]
struct Tally {
    updates: u64,
    answers: u64,
    surveys: u64,
    surveys_total: u64,
    survey_updates: u64,
    survey_messages: u64,
    latencies_us: Vec<u64>,
    acks_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, why: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why);
        }
    }
}

/// Runs `settings.citizens` closed-loop citizens over `transport`; `server_pid` is sampled (RSS, CPU) when given.
pub async fn run<T: Transport>(
    transport: Arc<T>,
    settings: &LoadSettings,
    server_pid: Option<u32>,
) -> Result<LoadResult, BoxError> {
    let sampler = server_pid.map(PeakRss::start);

    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let end = measure_from + settings.duration;
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = Snapshot::take(server_pid);
        tokio::time::sleep_until(end.into()).await;
        before.shares_until(&Snapshot::take(server_pid))
    });
    let next_user = Arc::new(AtomicU64::new(settings.first_user));
    let mut tasks = Vec::with_capacity(settings.citizens);
    for task in 0..settings.citizens {
        let (transport, next_user, communes) = (transport.clone(), next_user.clone(), settings.communes.clone());
        let mut rng = Rng::new(settings.seed.wrapping_mul(1_000_003).wrapping_add(task as u64));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            'citizens: while Instant::now() < end {
                let user = next_user.fetch_add(1, Ordering::Relaxed).to_string();
                let commune = communes[rng.below(communes.len())].clone();
                let mut next = Next::Act(Action::Start(commune), Purpose::Start);
                // This citizen's updates and the bot's messages so far.
                let (mut sent_updates, mut received) = (0, 0);
                loop {
                    let (action, purpose) = match next {
                        Next::Act(action, purpose) => (action, purpose),
                        Next::Finished => {
                            tally.surveys_total += 1;
                            tally.survey_updates += sent_updates;
                            tally.survey_messages += received;
                            if Instant::now() <= end && Instant::now() >= measure_from {
                                tally.surveys += 1;
                            }
                            continue 'citizens;
                        }
                        Next::Lost(why) => {
                            tally.error(format!("chat {user}: {why}"));
                            continue 'citizens;
                        }
                    };
                    if Instant::now() >= end {
                        break 'citizens;
                    }
                    let sent = Instant::now();
                    let turn = match transport.turn(&user, &action, sent).await {
                        Ok(turn) => turn,
                        Err(why) => {
                            tally.error(format!("chat {user}, {action:?}: {why}"));
                            continue 'citizens;
                        }
                    };
                    sent_updates += 1;
                    received += turn.reply.messages as u64;
                    let done = turn.reply.at;
                    if sent >= measure_from && done <= end {
                        tally.updates += 1;
                        if purpose == Purpose::Answer {
                            tally.answers += 1;
                        }
                        tally
                            .latencies_us
                            .push(done.saturating_duration_since(sent).as_micros() as u64);
                        if let Some(ack) = turn.ack {
                            tally.acks_us.push(ack.as_micros() as u64);
                        }
                    }
                    next = decide(&turn.reply, &mut rng);
                }
            }
            tally
        }));
    }

    let mut result = LoadResult {
        window: settings.duration,
        ..LoadResult::default()
    };
    for task in tasks {
        let tally = task.await?;
        result.updates += tally.updates;
        result.answers += tally.answers;
        result.surveys += tally.surveys;
        result.surveys_total += tally.surveys_total;
        result.survey_updates += tally.survey_updates;
        result.survey_messages += tally.survey_messages;
        result.latencies_us.extend(tally.latencies_us);
        result.acks_us.extend(tally.acks_us);
        result.errors += tally.errors;
        if result.first_error.is_none() {
            result.first_error = tally.first_error;
        }
    }
    if let Some(sampler) = sampler {
        result.sampled_rss_kb = sampler.stop().await?;
    }
    result.cpu = cpu.await?;
    result.latencies_us.sort_unstable();
    result.acks_us.sort_unstable();
    Ok(result)
}
