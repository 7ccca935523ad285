//! The HTTP face of ykien: public pages, the JSON API under `/api/v1`, health and metrics.
//!
//! Handlers coordinate: they parse the request, call a service, and render its answer. The middleware stack
//! (outermost first): request id, tracing span, metrics, the API's JSON error shape, timeout, body limit.

mod account;
mod api;
mod api_cases;
mod api_surveys;
mod campaigns;
mod cases;
mod console;
mod dashboard;
mod device;
mod error;
mod intake_desk;
mod limits;
mod metrics;
mod open311;
mod pages;
mod password_reset;
mod public;
mod publish;
mod qr;
mod quality;
mod quiz_rounds;
mod reach_pages;
mod render;
mod serve;
mod session;
mod signin;
mod survey;
mod two_factor;
mod unsubscribe;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::openapi as openapi_document;
pub use error::ApiError;
pub use metrics::Metrics;

use crate::config::Config;
use crate::services::cases::Cases;
use crate::services::channels::ChatChannels;
use crate::services::publication::Publications;
use crate::services::scoreboard::Scoreboard;
use crate::services::survey::Surveys;
use crate::storage::Store;
pub use limits::RateLimiter;
pub use serve::serve;

/// The largest request body accepted, until an endpoint that takes uploads sets its own.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The largest body of the upload routes (the feedback form, a report from an app, an official's answer with
/// evidence): a report's photos (20 MB together) and a mebibyte for the rest, plus a third for the API's base64.
pub const MAX_UPLOAD_BYTES: usize = cases::MAX_REPORT_BYTES * 4 / 3;
/// Citizens' upload requests served at once (the feedback form, reports from apps); more wait their turn, before
/// their bodies are read. A report from an app holds its body and its parsed base64 (about 85 MB at the most) and
/// decodes one photo at a time: one at a time keeps a flood of the largest reports under 200 MB of memory
/// (`tests/uploads.rs` measures it; two at a time peaked at 270 MB). A report takes about a second in a release
/// build; behind a proxy that buffers request bodies (docs/operations.md), a slow phone does not hold the turn.
pub const MAX_CONCURRENT_UPLOADS: usize = 1;
/// How long a request may take before it is answered 408 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub surveys: Arc<Surveys>,
    pub cases: Arc<Cases>,
    /// The chat channels (Telegram, Zalo), each present when configured.
    pub channels: Arc<ChatChannels>,
    /// Wakes the outbox worker when a change queued a notification.
    pub outbox: Arc<tokio::sync::Notify>,
    /// Scores and KPIs for the leaders' dashboard and reports, kept in memory.
    pub scoreboard: Arc<Scoreboard>,
    /// What is made public: published scores, public cases, Open311 client keys.
    pub publications: Arc<Publications>,
    /// Rate limits of the public forms and the login, per client address.
    pub limits: Arc<RateLimiter>,
}

impl AppState {
    /// `"; Secure"` when the public address is HTTPS, so that browsers send our cookies over HTTPS only; nothing
    /// for a plain-HTTP development address, where a Secure cookie would never come back.
    pub fn secure_cookie(&self) -> &'static str {
        if self
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
        {
            "; Secure"
        } else {
            ""
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The content security policy of every answer: ykien's pages use no script at all; the console plays citizens'
/// voice notes from its own files (`media-src 'self'`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The whole application as one router, with its middleware.
pub fn router(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
    });
    // Each area lists its own routes; uploads (reports and answers with photos) have their own, larger body limit
    // (also for axum's extractors), everything else the small one.
    let small_bodies = Router::new()
        .merge(pages::routes())
        .merge(public::routes(&state))
        .merge(publish::routes())
        .merge(open311::routes())
        .merge(survey::routes())
        .merge(qr::routes())
        .merge(cases::routes())
        .merge(api_routes())
        .merge(console::routes())
        .merge(intake_desk::routes())
        .merge(unsubscribe::routes())
        .merge(account::routes())
        .merge(users::routes())
        .merge(campaigns::routes())
        .merge(reach_pages::routes())
        .merge(quiz_rounds::routes())
        .merge(signin::routes())
        .merge(two_factor::routes())
        .merge(password_reset::routes())
        .merge(quality::routes())
        .merge(dashboard::routes())
        .merge(webhooks::routes())
        .route("/healthz", get(check_health))
        .route("/metrics", get(show_metrics))
        .fallback(pages::show_not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    let uploads = Router::new()
        .merge(cases::upload_routes())
        .route("/api/v1/cases", post(api_cases::post_case))
        .merge(console::upload_routes())
        .merge(intake_desk::upload_routes())
        .merge(campaigns::upload_routes())
        // Base64 photos in JSON take a third more room than the files.
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BYTES))
        // Charged before the body is read; a flood waits for a turn instead of filling memory side by side.
        .layer(middleware::from_fn_with_state(state.clone(), limits::upload_budget));
    small_bodies
        .merge(uploads)
        // Each `layer` wraps all before it, so the last one is the outermost.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(middleware::from_fn(error::json_error_shape))
        .layer(middleware::from_fn(error::page_error_shape))
        // Every answer, pages and files alike: no scripts, no framing, no sniffing, no referrer (tracking codes
        // are in addresses). Pages carry their style inline and load images from here only.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The JSON API under `/api/v1` and its OpenAPI document (filing a case, which takes photos, is an upload route).
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(api::show_openapi))
        .route("/api/v1/units", get(api::list_units))
        .route("/api/v1/units/{code}", get(api::get_unit))
        .route(
            "/api/v1/waves",
            get(api_surveys::list_waves).post(api_surveys::create_wave),
        )
        .route("/api/v1/waves/{code}", get(api_surveys::get_wave))
        .route("/api/v1/waves/{code}/responses", post(api_surveys::post_response))
        .route("/api/v1/cases/{code}", get(api_cases::get_case))
}

/// `GET /healthz`: 200 when the database answers within two seconds, 503 otherwise.
async fn check_health(State(state): State<AppState>) -> Response {
    let answered = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    match answered {
        Ok(Ok(())) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unavailable" })),
            )
                .into_response()
        }
        Err(_) => {
            tracing::warn!("health check: the database took more than 2 s");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database too slow" })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics` on the public listener: Prometheus text for a scraper with `YKIEN_METRICS_TOKEN` as its bearer
/// token; 404 when metrics are served on their own address (`YKIEN_METRICS_BIND`) or no token is set, so the
/// public never reads login failures or case-action volumes.
async fn show_metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = match (&state.config.metrics_bind, &state.config.metrics_token) {
        (None, Some(token)) => token,
        _ => {
            return pages::message_page(
                crate::domain::Lang::Vi,
                "/metrics",
                StatusCode::NOT_FOUND,
                "Không tìm thấy trang",
                "Địa chỉ này không có trên ykien.",
            );
        }
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        given.as_bytes(),
        token.expose().as_bytes(),
    )) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the bearer token YKIEN_METRICS_TOKEN\n",
        )
            .into_response();
    }
    render_metrics(&state)
}

fn render_metrics(state: &AppState) -> Response {
    let mut response = ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], state.metrics.render()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The router of the metrics listener (`YKIEN_METRICS_BIND`): `GET /metrics` and nothing else, no token (the
/// address itself is what is kept private).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { render_metrics(&state) }),
        )
        .with_state(state)
}

/// The value of cookie `name` when it is a 64-hex-digit token (every ykien cookie is one), else nothing.
fn token_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit())).then(|| v.to_owned())
        })
}

/// Today in Vietnam: the day whose units are shown by default.
pub fn today_in_vietnam() -> NaiveDate {
    crate::domain::calendar::vn_day(chrono::Utc::now())
}

/// Parses the optional `at=YYYY-MM-DD` parameter; today in Vietnam when absent.
fn parse_day(at: Option<&str>) -> Result<NaiveDate, ApiError> {
    match at.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today_in_vietnam()),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request(
                format!("Tham số at = '{s}' không phải là ngày; hãy viết theo dạng NNNN-TT-NN, ví dụ 2025-07-01."),
                format!("at = '{s}' is not a date; use YYYY-MM-DD, e.g. 2025-07-01."),
            )
        }),
    }
}
