//! What everyone may see without a login, "để Nhân dân biết, giám sát": each province's published commune
//! scorecards (`/scores/{province}`, `/scores/{province}/{commune}`), how each commune answers feedback, the
//! answered cases whose reporters allowed it, and the same numbers as open data (CSV with a BOM, JSON).
//!
//! Only a publication makes anything appear (a leader's deliberate act, `services::publication`); the privacy rules
//! of the scores hold everywhere: under 10 respondents a unit is absent (the snapshot holds no row for it), from 10
//! to 29 it shows "Chưa đủ câu trả lời" without score or rank. Pages are served from the scores' snapshot and never
//! compute in the request: while a snapshot is being made the page says so (503 with `Retry-After`). Answers carry
//! an `ETag` and a short public cache lifetime. Vietnamese first with an English switch, no JavaScript.

mod cache;
mod data;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use ykien_analysis::{Level, ScoreRow, Sufficiency};

use super::AppState;
use super::error::{OnPage, PageError};
use crate::domain::Lang;
use crate::domain::survey::PlanPeriod;
use crate::domain::units::Unit;
use crate::services::publication::Published;
use crate::services::scoreboard::Snapshot;

/// How long browsers and proxies may keep a public answer without asking again.
const MAX_AGE_SECONDS: u32 = 60;

/// The public routes, their answers kept a few seconds by `cache`.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/scores", get(pages::show_provinces))
        .route("/scores/{province}", get(pages::show_province))
        .route("/scores/{province}/{commune}", get(pages::show_commune))
        .route("/scores/{province}/data/{file}", get(data::download))
        .route("/public/photos/{id}", get(show_public_photo))
        .layer(axum::middleware::from_fn_with_state(
            cache::PublicPages::new(state.publications.clone()),
            cache::serve,
        ))
}

/// What every public address may carry.
#[derive(Debug, Default, Deserialize)]
pub struct PublicQuery {
    pub lang: Option<String>,
    /// A wave's code; the newest published when absent.
    pub wave: Option<String>,
    /// A report period (`2026-6t`, `2026`) or `all` for the whole wave; the newest published when absent.
    pub period: Option<String>,
}

impl PublicQuery {
    fn lang(&self) -> Lang {
        Lang::from_code(self.lang.as_deref())
    }

    /// The period asked for: `None` when not asked, `Some(None)` for the whole wave.
    fn period(&self) -> Result<Option<Option<PlanPeriod>>, String> {
        match self.period.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some("all") => Ok(Some(None)),
            Some(p) => p.parse::<PlanPeriod>().map(|p| Some(Some(p))),
        }
    }
}

/// A published wave's period of one province, with its scores.
struct Shown {
    lang: Lang,
    province: Unit,
    published: Published,
    /// Every publication of the province, newest first, to choose from.
    all: Vec<Published>,
    snapshot: Arc<Snapshot>,
}

impl Shown {
    /// The query that keeps this publication and language on the next address.
    fn keep(&self) -> String {
        let period = self
            .published
            .publication
            .period
            .map_or_else(|| "all".to_owned(), |p| p.to_string());
        let mut q = format!("wave={}&period={period}", self.published.wave.code);
        if self.lang == Lang::En {
            q.push_str("&lang=en");
        }
        q
    }

    /// The snapshot's published row of a unit on one level and code.
    fn score(&self, unit: &str, level: Level, code: &str) -> Option<&ScoreRow> {
        self.snapshot.score(unit, level, code)
    }

    /// The communes of the province with a published total, best first; those under 30 respondents last, by name.
    fn ranked(&self) -> Vec<&ScoreRow> {
        let mut rows = self
            .snapshot
            .ranked(&self.province.code, Level::Total, ykien_analysis::TOTAL_CODE);
        rows.sort_by_key(|r| r.sufficiency != Sufficiency::Enough);
        rows
    }
}

/// The publication asked for (or the newest) of `province` with its scores, or the page that says why not.
async fn shown(state: &AppState, province: &str, q: &PublicQuery, path: &str) -> Result<Shown, PageError> {
    let lang = q.lang();
    let period = q.period().map_err(|e| {
        PageError::message(
            lang,
            path,
            StatusCode::BAD_REQUEST,
            lang.t("Kỳ báo cáo không hợp lệ", "Invalid report period"),
            &e,
        )
    })?;
    let province = crate::services::units::unit_by_code(&state.store, province, super::today_in_vietnam())
        .await
        .on_page(lang, path)?;
    let all = state
        .publications
        .of_province(&province.code)
        .await
        .on_page(lang, path)?;
    let published = all
        .iter()
        .find(|p| {
            q.wave.as_deref().is_none_or(|w| p.wave.code == w)
                && period.is_none_or(|period| p.publication.period == period)
        })
        .cloned()
        .ok_or_else(|| {
            PageError::message(
                lang,
                path,
                StatusCode::NOT_FOUND,
                lang.t("Chưa có kết quả được công bố", "No published results"),
                lang.t(
                    "Tỉnh, thành phố này chưa công bố kết quả khảo sát của đợt và kỳ này.",
                    "This province has not published the results of this wave and period.",
                ),
            )
        })?;
    let Some(snapshot) = state.publications.scores(&published).await.on_page(lang, path)? else {
        let mut busy = PageError::message(
            lang,
            path,
            StatusCode::SERVICE_UNAVAILABLE,
            lang.t("Đang cập nhật số liệu", "Updating the figures"),
            lang.t(
                "Số liệu đang được tính lại từ các phiếu trả lời. Xin quay lại sau ít phút.",
                "The figures are being computed from the responses. Please come back in a few minutes.",
            ),
        )
        .into_response();
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return Err(PageError::from(busy));
    };
    Ok(Shown {
        lang,
        province,
        published,
        all,
        snapshot,
    })
}

/// An answer everyone may cache briefly, with an `ETag` of its bytes; 304 when the client holds the same.
fn cacheable(request: &HeaderMap, content_type: &'static str, body: Vec<u8>) -> Response {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    let cache = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if etag_matches(request, &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// Whether the client's `If-None-Match` names `etag` (or any).
fn etag_matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().as_bytes() == etag || t.trim() == "*"))
}

/// `GET /public/photos/{id}`: a photo of a public case whose reporter allowed its photos to be shown.
async fn show_public_photo(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let not_found = || {
        PageError::message(
            Lang::Vi,
            "/scores",
            StatusCode::NOT_FOUND,
            "Không có ảnh này",
            "Ảnh này không có hoặc không được công khai.",
        )
        .into_response()
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found();
    };
    match state.publications.public_photo(id).await {
        Ok(Some(photo)) => {
            let mut response = cacheable(&headers, "application/octet-stream", photo.bytes);
            if let Ok(v) = HeaderValue::from_str(&photo.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            response
        }
        Ok(None) => not_found(),
        Err(e) => PageError::new(Lang::Vi, "/scores", e).into_response(),
    }
}

/// A number the Vietnamese way (decimal comma) or the English way, for people; files carry full precision.
fn num(lang: Lang, v: f64, digits: usize) -> String {
    let text = format!("{v:.digits$}");
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}
