//! Open data: the published scores, the responsiveness and the public cases of a province as CSV (UTF-8 with a BOM,
//! so that spreadsheet programs read the Vietnamese right) and JSON (with the licence, the method and what was
//! published). Numbers carry full precision (the shortest text that reads back to the same f64); a score from 10
//! to 29 respondents is given without value, interval, rank or group, as on the pages.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use ykien_analysis::{Level, Sufficiency};

use super::super::AppState;
use super::super::error::{OnPage, PageError};
use super::{PublicQuery, Shown, cacheable, shown};
use crate::services::publication::MAX_PUBLIC_CASES;
use crate::storage::PublicCaseFilter;

/// The licence of ykien's open data, named in every JSON file and on the pages.
pub const LICENCE: &str = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)";
/// Where the method is written, named in every JSON file.
const METHOD: &str = "docs/questionnaire.md and docs/public.md of ykien: PAPI-style scores 0–1 (indicators, \
     sub-dimensions), 1–10 (dimensions), 8–80 (total) with 95% bootstrap intervals; units under 10 respondents are \
     absent, 10–29 carry no score.";

/// One published score.
#[derive(Serialize)]
struct ScoreRecord {
    wave: String,
    period: String,
    province_code: String,
    unit_code: String,
    unit_name: String,
    level: &'static str,
    code: String,
    score: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    respondents: usize,
    rank: Option<usize>,
    group: Option<&'static str>,
    enough_answers: bool,
}

/// One commune's responsiveness, overall (`category` empty) or for one category.
#[derive(Serialize)]
struct ResponsivenessRecord {
    wave: String,
    period: String,
    unit_code: String,
    unit_name: String,
    category: String,
    received: usize,
    answered: usize,
    answered_on_time: usize,
    open_overdue: usize,
    on_time_rate: Option<f64>,
    median_working_hours: Option<f64>,
    reopened: usize,
    mean_rating: Option<f64>,
    ratings: usize,
}

/// One public case: never a name, a phone, an e-mail or an exact position.
#[derive(Serialize)]
struct CaseRecord {
    code: String,
    unit_code: String,
    unit_name: String,
    category: String,
    state: &'static str,
    received_at: String,
    answered_at: Option<String>,
    text: String,
    answer: Option<String>,
    answered_by: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    photos: String,
}

/// The JSON document around the records.
#[derive(Serialize)]
struct Document<'a, T> {
    licence: &'static str,
    method: &'static str,
    source: String,
    province_code: &'a str,
    province_name: &'a str,
    wave: &'a str,
    wave_title: &'a str,
    period: String,
    published_at: String,
    computed_at: String,
    records: Vec<T>,
}

/// `GET /scores/{province}/data/{file}`: `scores`, `responsiveness` or `cases`, as `.csv` or `.json`.
pub(super) async fn download(
    State(state): State<AppState>,
    Path((province, file)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let path = format!("/scores/{province}/data/{file}");
    let lang = q.lang();
    let Some((name, format)) = file
        .rsplit_once('.')
        .filter(|(n, f)| ["scores", "responsiveness", "cases"].contains(n) && ["csv", "json"].contains(f))
    else {
        return Err(PageError::message(
            lang,
            &path,
            StatusCode::NOT_FOUND,
            lang.t("Không có tệp này", "No such file"),
            lang.t(
                "Các tệp dữ liệu mở: scores, responsiveness, cases, dạng .csv hoặc .json.",
                "The open data files: scores, responsiveness, cases, as .csv or .json.",
            ),
        ));
    };
    let shown = shown(&state, &province, &q, &path).await?;
    let period = shown
        .published
        .publication
        .period
        .map_or_else(|| "all".to_owned(), |p| p.to_string());
    let body = match name {
        "scores" => encode(&shown, format, scores(&shown, &period)),
        "responsiveness" => encode(&shown, format, responsiveness(&shown, &period)),
        _ => encode(&shown, format, cases(&state, &shown).await.on_page(lang, &path)?),
    }
    .map_err(|e| {
        PageError::new(
            lang,
            &path,
            crate::services::Error::Unavailable(format!("the open data cannot be written: {e}")),
        )
    })?;
    let content_type = if format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    let mut response = cacheable(&headers, content_type, body);
    let download = format!(
        "attachment; filename=\"ykien-{}-{}-{period}-{name}.{format}\"",
        shown.province.code, shown.published.wave.code
    );
    if let Ok(v) = HeaderValue::from_str(&download) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response.into_response())
}

fn encode<T: Serialize>(shown: &Shown, format: &str, records: Vec<T>) -> Result<Vec<u8>, String> {
    if format == "csv" {
        let mut out = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            for r in &records {
                w.serialize(r).map_err(|e| e.to_string())?;
            }
            w.flush().map_err(|e| e.to_string())?;
        }
        return Ok(out);
    }
    let p = &shown.published;
    let document = Document {
        licence: LICENCE,
        method: METHOD,
        source: format!("ykien, {} ({})", shown.province.name, shown.province.code),
        province_code: &shown.province.code,
        province_name: &shown.province.name,
        wave: &p.wave.code,
        wave_title: &p.wave.title,
        period: p.publication.period.map_or_else(|| "all".to_owned(), |x| x.to_string()),
        published_at: p.publication.published_at.to_rfc3339(),
        computed_at: shown.snapshot.computed_at.to_rfc3339(),
        records,
    };
    serde_json::to_vec_pretty(&document).map_err(|e| e.to_string())
}

fn scores(shown: &Shown, period: &str) -> Vec<ScoreRecord> {
    shown
        .snapshot
        .scores
        .rows
        .iter()
        .filter(|r| r.wave == shown.published.wave.code && r.province_code == shown.province.code)
        .map(|r| {
            let enough = r.sufficiency == Sufficiency::Enough;
            ScoreRecord {
                wave: r.wave.clone(),
                period: period.to_owned(),
                province_code: r.province_code.clone(),
                unit_code: r.unit_code.clone(),
                unit_name: shown.snapshot.unit_name(&r.unit_code),
                level: level_name(r.level),
                code: r.code.clone(),
                score: enough.then_some(r.score),
                ci_low: r.ci_low.filter(|_| enough),
                ci_high: r.ci_high.filter(|_| enough),
                respondents: r.n,
                rank: r.rank.filter(|_| enough),
                group: r.quartile.filter(|_| enough).map(|q| q.label_en()),
                enough_answers: enough,
            }
        })
        .collect()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Total => "total",
        Level::Dimension => "dimension",
        Level::Subdimension => "subdimension",
        Level::Indicator => "indicator",
    }
}

fn responsiveness(shown: &Shown, period: &str) -> Vec<ResponsivenessRecord> {
    let communes: std::collections::BTreeSet<&str> = shown
        .snapshot
        .units
        .units
        .iter()
        .filter(|u| u.province_code == shown.province.code)
        .map(|u| u.code.as_str())
        .collect();
    shown
        .snapshot
        .responsiveness
        .iter()
        .filter(|r| communes.contains(r.unit_code.as_str()))
        .map(|r| ResponsivenessRecord {
            wave: shown.published.wave.code.clone(),
            period: period.to_owned(),
            unit_code: r.unit_code.clone(),
            unit_name: shown.snapshot.unit_name(&r.unit_code),
            category: r.category.clone().unwrap_or_default(),
            received: r.received,
            answered: r.answered,
            answered_on_time: r.answered_on_time,
            open_overdue: r.open_overdue,
            on_time_rate: r.on_time_rate,
            median_working_hours: r.median_working_hours,
            reopened: r.reopened,
            mean_rating: r.mean_rating,
            ratings: r.ratings,
        })
        .collect()
}

async fn cases(state: &AppState, shown: &Shown) -> Result<Vec<CaseRecord>, crate::services::Error> {
    let communes = crate::services::units::children(
        &state.store,
        Some(&shown.province.code),
        super::super::today_in_vietnam(),
    )
    .await?;
    let span = shown.published.publication.period.and_then(|p| p.instants());
    let cases = state
        .publications
        .cases(&PublicCaseFilter {
            unit_ids: Some(communes.iter().map(|u| u.id).collect()),
            from: span.map(|s| s.0),
            until: span.map(|s| s.1),
            limit: MAX_PUBLIC_CASES,
            ..PublicCaseFilter::default()
        })
        .await?;
    Ok(cases
        .into_iter()
        .map(|c| {
            let position = c.case.public_position();
            CaseRecord {
                text: c.case.public_text(),
                code: c.case.code.clone(),
                unit_code: c.unit_code,
                unit_name: c.unit_name,
                category: c.case.category.clone(),
                state: c.case.state.as_str(),
                received_at: c.case.received_at.to_rfc3339(),
                answered_at: c.case.answered_at.map(|t| t.to_rfc3339()),
                answer: c.answer.as_ref().map(|a| a.0.clone()),
                answered_by: c.answer.map(|a| a.1),
                lat: position.map(|p| p.0),
                lon: position.map(|p| p.1),
                photos: c
                    .photos
                    .iter()
                    .map(|id| format!("/public/photos/{id}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        })
        .collect())
}
