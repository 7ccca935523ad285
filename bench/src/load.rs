//! The concurrent client: C tasks, each posting complete responses one after the other over its own keep-alive
//! connection, for a warm-up and then a measured window; the server's resident set is sampled meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::BoxError;
use crate::cpu::{Shares, Snapshot};
use crate::server::PeakRss;

/// One request body, serialised before the run, with the number of answers it holds.
pub struct Body {
    pub json: String,
    pub answers: usize,
}

pub struct LoadSettings {
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct LoadResult {
    /// Responses created (201) that completed inside the measured window.
    pub responses: u64,
    /// Their answers.
    pub answer_rows: u64,
    pub window: Duration,
    /// Latencies of the requests counted in `responses`, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Requests that did not answer 201 (warm-up included).
    pub errors: u64,
    pub first_error: Option<String>,
    /// 201 answers over the whole run (warm-up included): what the server should have stored.
    pub created_total: u64,
    /// The highest VmRSS seen while sampling every 100 ms, in kB.
    pub sampled_rss_kb: u64,
    /// CPU used during the measured window.
    pub cpu: Shares,
}

/// The nearest-rank `percentile` of sorted latencies in microseconds, in milliseconds; NaN when there are none.
pub fn percentile_ms(sorted_us: &[u64], percentile: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((percentile / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.responses as f64 / self.window.as_secs_f64()
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn latency_ms(&self, percentile: f64) -> f64 {
        percentile_ms(&self.latencies_us, percentile)
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us.last().map_or(f64::NAN, |&us| us as f64 / 1000.0)
    }
}

/// Posts complete responses to one wave's `POST /api/v1/waves/{wave}/responses` with the API token, over a pool of
/// keep-alive connections: the request of both the closed-loop run and the soak.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
    url: Arc<String>,
    auth: Arc<String>,
}

impl Poster {
    /// A poster keeping up to `connections` idle connections to `base`.
    pub fn new(base: &str, wave: &str, token: &str, connections: usize) -> Result<Self, BoxError> {
        Ok(Self {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .tcp_nodelay(true)
                .timeout(Duration::from_secs(60))
                .build()?,
            url: Arc::new(format!("{base}/api/v1/waves/{wave}/responses")),
            auth: Arc::new(format!("Bearer {token}")),
        })
    }

    /// Posts one JSON body and reads the whole answer: its status and text.
    pub async fn post(&self, json: String) -> Result<(StatusCode, String), reqwest::Error> {
        let r = self
            .client
            .post(self.url.as_str())
            .header(AUTHORIZATION, self.auth.as_str())
            .header(CONTENT_TYPE, "application/json")
            .body(json)
            .send()
            .await?;
        let status = r.status();
        Ok((status, r.text().await?))
    }
}

#[derive(Default)]
struct ClientTally {
    responses: u64,
    answer_rows: u64,
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    created_total: u64,
}

/// Posts `bodies` (cycled) to `{base}/api/v1/waves/{wave}/responses` from `clients` tasks.
pub async fn run(
    base: &str,
    wave: &str,
    token: &str,
    bodies: Arc<Vec<Body>>,
    settings: &LoadSettings,
    server_pid: u32,
) -> Result<LoadResult, BoxError> {
    let poster = Poster::new(base, wave, token, settings.clients)?;

    let sampler = PeakRss::start(server_pid);

    let start = Instant::now();
    let measure_from = start + settings.warmup;
    let end = measure_from + settings.duration;
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = Snapshot::take(Some(server_pid));
        tokio::time::sleep_until(end.into()).await;
        before.shares_until(&Snapshot::take(Some(server_pid)))
    });
    let mut tasks = Vec::with_capacity(settings.clients);
    for task in 0..settings.clients {
        let (poster, bodies) = (poster.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = ClientTally::default();
            // Each task walks the bodies from its own place, so concurrent requests differ.
            let mut next = task * 7919;
            while Instant::now() < end {
                let body = &bodies[next % bodies.len()];
                next += 1;
                let sent = Instant::now();
                let outcome = poster.post(body.json.clone()).await;
                let done = Instant::now();
                match outcome {
                    Ok((status, _)) if status == StatusCode::CREATED => {
                        tally.created_total += 1;
                        if sent >= measure_from && done <= end {
                            tally.responses += 1;
                            tally.answer_rows += body.answers as u64;
                            tally.latencies_us.push((done - sent).as_micros() as u64);
                        }
                    }
                    Ok((status, text)) => {
                        tally.errors += 1;
                        if tally.first_error.is_none() {
                            tally.first_error = Some(format!("{status}: {text}"));
                        }
                    }
                    Err(e) => {
                        tally.errors += 1;
                        if tally.first_error.is_none() {
                            tally.first_error = Some(e.to_string());
                        }
                    }
                }
            }
            tally
        }));
    }

    let mut result = LoadResult {
        responses: 0,
        answer_rows: 0,
        window: settings.duration,
        latencies_us: Vec::new(),
        errors: 0,
        first_error: None,
        created_total: 0,
        sampled_rss_kb: 0,
        cpu: Shares::default(),
    };
    for task in tasks {
        let tally = task.await?;
        result.responses += tally.responses;
        result.answer_rows += tally.answer_rows;
        result.latencies_us.extend(tally.latencies_us);
        result.errors += tally.errors;
        result.created_total += tally.created_total;
        if result.first_error.is_none() {
            result.first_error = tally.first_error;
        }
    }
    result.sampled_rss_kb = sampler.stop().await?;
    result.cpu = cpu.await?;
    result.latencies_us.sort_unstable();
    Ok(result)
}
