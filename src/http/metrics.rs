//! Request counts and latencies in the Prometheus text format (`GET /metrics`), kept by `prometheus-client`.
//!
//! Labelled by the route pattern (`/api/v1/units/{code}`), never the raw path, so a scan of random URLs cannot
//! grow the series without bound.
//!
//! Why `prometheus-client` rather than `metrics` with `metrics-exporter-prometheus`: its registry is a value we
//! own (one per `AppState`, so the servers that tests start side by side in one process do not add up each other's
//! requests, where `metrics` records through a process-wide recorder), it renders the same 0.0.4 text format with
//! the same names and labels as before, and its histograms are fixed buckets: nothing grows between scrapes, whereas
//! the exporter keeps raw samples until rendered and then needs an upkeep task when nobody scrapes.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::AppState;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The labels of every series, in the order they are printed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    method: String,
    route: String,
    status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The counters of one process.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let durations = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let mut registry = Registry::default();
        // The counter's `_total` suffix is added by the encoder.
        registry.register("ykien_http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "ykien_http_request_duration_seconds",
            "Time to answer an HTTP request",
            durations.clone(),
        );
        Self {
            registry,
            requests,
            durations,
        }
    }
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = Labels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(seconds);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            // Writing to a String cannot fail; a label the encoder refuses would be a bug here.
            tracing::error!(error = %e, "could not encode the metrics");
        }
        out
    }
}

/// Middleware that records every request under its route pattern (or `unmatched`).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record("GET", "/healthz", 200, 0.003);
        m.record("GET", "/healthz", 200, 0.2);
        let text = m.render();
        assert!(
            text.contains("ykien_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.25\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
    }

    #[test]
    fn route_labels_are_escaped() {
        let m = Metrics::default();
        m.record("GET", "/a\"b", 404, 0.001);
        let text = m.render();
        assert!(text.contains(r#"route="/a\"b""#), "{text}");
    }
}
