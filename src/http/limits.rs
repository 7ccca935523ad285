//! Rate limits on what strangers can repeat cheaply against the service: signing in (password guessing across
//! accounts; each (username, address) pair is also slowed down after 3 failures, `services::accounts`), filing
//! feedback, starting and answering surveys, and the public API's writes. One `governor` keyed limiter per kind of request, with a state per client address (GCRA:
//! the same burst-then-steady-rate behaviour as a token bucket), in this process's memory (each instance counts its
//! own; see docs/operations.md). `tower_governor` was not used: it takes one quota per layer and answers 429 its
//! own way, where ykien keeps its route table, its Vietnamese page or JSON error and `YKIEN_RATE_LIMITS`.
//!
//! Limits are generous on purpose: Vietnamese mobile networks put many phones behind one address (carrier-grade
//! NAT), and a commune office may have one line for a queue of citizens. They stop scripts, not people.
//!
//! The client address is the connection's peer, or — with `YKIEN_BEHIND_PROXY=true` — the last address of
//! `X-Forwarded-For`, the one the proxy itself added.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::Quota;
use governor::clock::{Clock, MonotonicClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

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
    // Codes are also counted per (account, address) by the sign-in throttle; this stops a script spreading its
    // guesses over accounts.
    ("POST", "/console/login/code", per_minute(10, 6)),
    // Each request may send an email: a few a minute per address.
    ("POST", "/console/password/forgot", per_minute(10, 6)),
    ("POST", "/f/{commune}", per_minute(20, 30)),
    ("POST", "/api/v1/cases", per_minute(20, 30)),
    ("POST", "/open311/v2/{file}", per_minute(20, 30)),
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

/// How often addresses whose allowance has refilled are forgotten. Governor keeps one state per address until
/// `retain_recent` drops it, so memory stays bounded by the addresses seen within about a minute plus the longest
/// refill (sign-in: 10 × 10 s), not by every address ever seen.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Governor's keyed limiter (a GCRA state per address; the same burst-then-rate behaviour as a token bucket).
type Keyed<C> = governor::RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiter of one route.
struct RouteLimit<C: Clock> {
    method: &'static str,
    pattern: &'static str,
    limiter: Keyed<C>,
}

/// The limits of every client and route.
pub struct RateLimiter<C: Clock = MonotonicClock> {
    behind_proxy: bool,
    enabled: bool,
    routes: Vec<RouteLimit<C>>,
    clock: C,
    /// When the routes' limiters were last swept of refilled addresses.
    swept: Mutex<C::Instant>,
    /// Turns of the citizens' upload requests ([`super::MAX_CONCURRENT_UPLOADS`] at once).
    uploads_in_flight: tokio::sync::Semaphore,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("behind_proxy", &self.behind_proxy)
            .field("enabled", &self.enabled)
            .field("routes", &self.routes.iter().map(|r| r.pattern).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// `enabled: false` lets every request through (`YKIEN_RATE_LIMITS=false`).
    pub fn new(behind_proxy: bool, enabled: bool) -> Self {
        Self::with_clock(behind_proxy, enabled, LIMITS, MonotonicClock)
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    fn with_clock(behind_proxy: bool, enabled: bool, limits: &[(&'static str, &'static str, Limit)], clock: C) -> Self {
        let routes = limits
            .iter()
            .map(|&(method, pattern, limit)| RouteLimit {
                method,
                pattern,
                limiter: governor::RateLimiter::new(quota(limit), DefaultKeyedStateStore::default(), clock.clone()),
            })
            .collect();
        Self {
            behind_proxy,
            enabled,
            routes,
            swept: Mutex::new(clock.now()),
            clock,
            uploads_in_flight: tokio::sync::Semaphore::new(super::MAX_CONCURRENT_UPLOADS),
        }
    }

    /// The limited route of `method` and `pattern`, if it is one.
    fn route(&self, method: &str, pattern: &str) -> Option<&RouteLimit<C>> {
        self.routes.iter().find(|r| r.method == method && r.pattern == pattern)
    }

    /// Takes one request of `client` on `route`; `Err(wait)` when it must wait that long.
    fn take(&self, client: IpAddr, route: &RouteLimit<C>) -> Result<(), Duration> {
        self.sweep_if_due();
        route
            .limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets, at most once per [`SWEEP_EVERY`], the addresses whose allowance is full again: they hold nothing
    /// a new state would not.
    fn sweep_if_due(&self) {
        let now = self.clock.now();
        {
            let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
            if Duration::from(now.duration_since(*swept)) < SWEEP_EVERY {
                return;
            }
            *swept = now;
        }
        for route in &self.routes {
            route.limiter.retain_recent();
            route.limiter.shrink_to_fit();
        }
    }

    fn client(&self, request: &Request) -> Option<IpAddr> {
        self.client_of(request.headers(), request.extensions())
    }

    /// The client's address: the connection's peer, or behind a proxy the last address of `X-Forwarded-For`.
    fn client_of(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        if self.behind_proxy
            && let Some(ip) = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Some(ip);
        }
        extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
    }
}

/// The client's address as the rate limits see it, for handlers that count per address (sign-in failures,
/// upload budgets); "unknown" when the service runs without connection information (never in `serve`).
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(
            state
                .limits
                .client_of(&parts.headers, &parts.extensions)
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// Governor's quota for `limit`: the burst at once, then one request every `every`.
fn quota(limit: Limit) -> Quota {
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(limit.every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// The middleware: 429 with a page (or the API's JSON error) and `Retry-After` when a client is over its limit.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let found = route
        .as_deref()
        .and_then(|route| state.limits.route(request.method().as_str(), route));
    let (true, Some(found), Some(client)) = (state.limits.enabled, found, state.limits.client(&request)) else {
        return next.run(request).await;
    };
    let pattern = found.pattern;
    match state.limits.take(client, found) {
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

/// The middleware of the citizens' upload routes (`POST /f/{commune}`, `POST /api/v1/cases`): charges the
/// request's declared length (or the route's whole limit when it declares none) to the client's address — and
/// on the form, to its commune — before the body is read; over the budget, 429 with `Retry-After` and the
/// Vietnamese page or the API's JSON error, without reading a byte of it (`services::uploads`).
pub async fn upload_budget(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let is_upload = request.method() == axum::http::Method::POST
        && matches!(route.as_deref(), Some("/f/{commune}" | "/api/v1/cases"));
    if !is_upload {
        return next.run(request).await;
    }
    // One of a few at once; the others wait here, before their bodies are read.
    let Ok(_turn) = state.limits.uploads_in_flight.acquire().await else {
        return next.run(request).await;
    };
    let (true, Some(client)) = (state.limits.enabled, state.limits.client(&request)) else {
        return next.run(request).await;
    };
    // The declared length; a chunked body (no length declared) may be as long as the limit; neither: no body
    // (RFC 9112 section 6.3).
    let headers = request.headers();
    let declared = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => v.to_str().ok().and_then(|v| v.parse::<u64>().ok()),
        None if headers.contains_key(header::TRANSFER_ENCODING) => None,
        None => Some(0),
    }
    .unwrap_or(super::MAX_UPLOAD_BYTES as u64)
    .min(super::MAX_UPLOAD_BYTES as u64);
    let path = request.uri().path().to_owned();
    let commune = path.strip_prefix("/f/").map(str::to_owned);
    let address = client.to_string();
    let sender = crate::services::uploads::Sender::Address(&address);
    match state.cases.uploads().charge(&sender, commune.as_deref(), declared) {
        Ok(()) => next.run(request).await,
        Err(over) => {
            tracing::warn!(%client, route = route.as_deref().unwrap_or_default(), bytes = declared, "upload budget reached");
            let mut response = if commune.is_none() {
                super::ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "upload_budget",
                    over.message_vi(),
                    over.message_en(),
                )
                .into_response()
            } else {
                message_page(
                    Lang::Vi,
                    &path,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Xin chờ một chút",
                    &over.message_vi(),
                )
            };
            if let Ok(v) = HeaderValue::from_str(&over.retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    const TEST_LIMITS: &[(&str, &str, Limit)] = &[("POST", "/x", per_minute(3, 60)), ("POST", "/y", per_minute(3, 60))];

    #[test]
    fn a_burst_passes_then_one_token_per_interval() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(false, true, TEST_LIMITS, clock.clone());
        let (x, y) = (
            limiter.route("POST", "/x").unwrap(),
            limiter.route("POST", "/y").unwrap(),
        );
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.take(ip, x).is_ok());
        }
        let wait = limiter.take(ip, x).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        // Another address and another route have their own buckets.
        assert!(limiter.take("203.0.113.8".parse().unwrap(), x).is_ok());
        assert!(limiter.take(ip, y).is_ok());
        // One second later, one more.
        clock.advance(Duration::from_secs(1));
        assert!(limiter.take(ip, x).is_ok());
        assert!(limiter.take(ip, x).is_err());
    }

    #[test]
    fn addresses_whose_allowance_refilled_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(false, true, TEST_LIMITS, clock.clone());
        let x = limiter.route("POST", "/x").unwrap();
        for i in 0..=255u8 {
            assert!(limiter.take(IpAddr::from([198, 51, 100, i]), x).is_ok());
        }
        assert_eq!(x.limiter.len(), 256);
        // A minute on, every allowance is full again: the next request sweeps them all but its own.
        clock.advance(SWEEP_EVERY);
        assert!(limiter.take("203.0.113.9".parse().unwrap(), x).is_ok());
        assert!(x.limiter.len() <= 1, "{}", x.limiter.len());
    }

    #[test]
    fn the_documented_limits() {
        let limiter = RateLimiter::new(false, true);
        let login = limiter.route("POST", "/console/login").unwrap();
        let ip: IpAddr = "203.0.113.10".parse().unwrap();
        for _ in 0..10 {
            assert!(limiter.take(ip, login).is_ok());
        }
        let wait = limiter.take(ip, login).unwrap_err();
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(limiter.route("GET", "/console/login").is_none());
    }
}
