//! Rate limits on what strangers can repeat cheaply against the service: signing in (password guessing across
//! accounts; each account also locks after 5 failures), filing feedback, starting and answering surveys, and the
//! public API's writes. A token bucket per client address and kind of request, in this process's memory (each
//! instance counts its own; see docs/operations.md).
//!
//! Limits are generous on purpose: Vietnamese mobile networks put many phones behind one address (carrier-grade
//! NAT), and a commune office may have one line for a queue of citizens. They stop scripts, not people.
//!
//! The client address is the connection's peer, or — with `YKIEN_BEHIND_PROXY=true` — the last address of
//! `X-Forwarded-For`, the one the proxy itself added.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::pages::message_page;
use crate::domain::Lang;

/// One kind of limited request: a burst, then one more every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub every: Duration,
}

/// Which requests are limited, by method and route pattern, and how.
const LIMITS: &[(&str, &str, Limit)] = &[
    ("POST", "/console/login", per_minute(10, 6)),
    ("POST", "/f/{commune}", per_minute(20, 30)),
    ("POST", "/api/v1/cases", per_minute(20, 30)),
    ("POST", "/s/{commune}/start", per_minute(60, 120)),
    ("POST", "/s/{commune}/q", per_minute(300, 600)),
    ("POST", "/t/{code}/{action}", per_minute(30, 60)),
];

/// `burst` requests at once, then `per_minute` a minute.
const fn per_minute(burst: u32, per_minute: u64) -> Limit {
    Limit {
        burst,
        every: Duration::from_millis(60_000 / per_minute),
    }
}

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every client and kind.
#[derive(Debug)]
pub struct RateLimiter {
    behind_proxy: bool,
    enabled: bool,
    buckets: Mutex<HashMap<(IpAddr, &'static str), Bucket>>,
}

impl RateLimiter {
    /// `enabled: false` lets every request through (`YKIEN_RATE_LIMITS=false`).
    pub fn new(behind_proxy: bool, enabled: bool) -> Self {
        Self {
            behind_proxy,
            enabled,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` on `route`; `Err(wait)` when there is none.
    fn take(&self, client: IpAddr, route: &'static str, limit: Limit, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Drop the buckets that have refilled: they hold nothing a new bucket would not.
            buckets.retain(|(_, route), b| {
                let limit = LIMITS.iter().find(|(_, p, _)| p == route).map_or(limit, |x| x.2);
                refilled(b, limit, now) < f64::from(limit.burst)
            });
        }
        let bucket = buckets.entry((client, route)).or_insert(Bucket {
            tokens: f64::from(limit.burst),
            at: now,
        });
        bucket.tokens = refilled(bucket, limit, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(limit.every.mul_f64(1.0 - bucket.tokens))
        }
    }

    fn client(&self, request: &Request) -> Option<IpAddr> {
        if self.behind_proxy
            && let Some(ip) = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Some(ip);
        }
        request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
    }
}

fn refilled(bucket: &Bucket, limit: Limit, now: Instant) -> f64 {
    let gained = now.saturating_duration_since(bucket.at).as_secs_f64() / limit.every.as_secs_f64();
    (bucket.tokens + gained).min(f64::from(limit.burst))
}

/// The middleware: 429 with a page (or the API's JSON error) and `Retry-After` when a client is over its limit.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let found = route.as_deref().and_then(|route| {
        LIMITS
            .iter()
            .find(|(m, p, _)| request.method().as_str() == *m && *p == route)
    });
    let (true, Some((_, pattern, limit)), Some(client)) = (state.limits.enabled, found, state.limits.client(&request))
    else {
        return next.run(request).await;
    };
    match state.limits.take(client, pattern, *limit, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs().max(1);
            tracing::warn!(%client, route = pattern, "rate limit reached");
            let minutes = seconds.div_ceil(60);
            let text = format!(
                "Có quá nhiều yêu cầu từ địa chỉ mạng của anh/chị trong thời gian ngắn. Xin thử lại sau {} {}. \
                 Những gì anh/chị đã nhập vẫn còn trên trang trước: bấm “Quay lại” của trình duyệt.",
                if seconds < 60 { seconds } else { minutes },
                if seconds < 60 { "giây" } else { "phút" }
            );
            let mut response = if pattern.starts_with("/api/") {
                super::ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    text,
                    format!("Too many requests from your address; try again in {seconds} s."),
                )
                .into_response()
            } else {
                message_page(
                    Lang::Vi,
                    pattern,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Xin chờ một chút",
                    &text,
                )
            };
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_one_token_per_interval() {
        let limiter = RateLimiter::new(false, true);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let limit = per_minute(3, 60);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(ip, "/x", limit, t0).is_ok());
        }
        let wait = limiter.take(ip, "/x", limit, t0).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        // Another address and another route have their own buckets.
        assert!(limiter.take("203.0.113.8".parse().unwrap(), "/x", limit, t0).is_ok());
        assert!(limiter.take(ip, "/y", limit, t0).is_ok());
        // One second later, one more.
        let t1 = t0 + Duration::from_secs(1);
        assert!(limiter.take(ip, "/x", limit, t1).is_ok());
        assert!(limiter.take(ip, "/x", limit, t1).is_err());
    }
}
