//! The JSON API of surveys: waves (for administrators) and complete responses (for data-entry apps). Both need
//! the bearer token `YKIEN_API_TOKEN` until accounts and roles exist.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use super::api::ErrorDoc;
use super::{ApiError, AppState};
use crate::domain::survey::{ReportingPeriod, Wave};
use crate::services::survey::{WaveRequest, create_wave as create_wave_service, wave_by_code};

/// Checks `Authorization: Bearer <YKIEN_API_TOKEN>`.
/// A trusted API client: its bearer token is checked before anything of the request's body is read, so a
/// stranger gets 401 whatever they send.
pub struct ApiClient;

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        require_token(state, &parts.headers).map(|()| Self)
    }
}

fn require_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.api_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "api_disabled",
            "API này chưa được bật: quản trị viên cần đặt YKIEN_API_TOKEN.",
            "This API is disabled: an administrator must set YKIEN_API_TOKEN.",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if bool::from(token.trim().as_bytes().ct_eq(expected.expose().as_bytes())) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Thiếu hoặc sai mã truy cập (Authorization: Bearer …).",
            "Missing or wrong access token (Authorization: Bearer …).",
        )),
    }
}

/// Body of `POST /api/v1/waves/{wave}/responses`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PostResponse)]
pub struct PostResponseRequest {
    /// GSO code of the commune the respondent lives in.
    #[schema(pattern = "^[0-9]{5}$")]
    pub commune: String,
    /// A random key chosen by the client: the same key again returns the first response instead of a second.
    #[schema(min_length = 1, max_length = 128)]
    pub client_token: Option<String>,
    /// Answers by question code: choice codes as strings, numbers as numbers or strings, "DK" and "RF".
    #[schema(value_type = BTreeMap<String, AnswerValue>)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// One answer as the API takes it: a code or text, or a number.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used: the handler reads answers as JSON values.
pub enum AnswerValue {
    Text(String),
    Number(f64),
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PostResponseResult)]
pub struct PostResponseResponse {
    pub id: Uuid,
    /// False when the client token had already stored this response.
    pub created: bool,
}

/// `POST /api/v1/waves/{wave}/responses`: a complete response at once.
#[utoipa::path(post, path = "/api/v1/waves/{code}/responses", operation_id = "postResponse",
    summary = "Stores one complete response (every eligible question answered). The same client_token again returns the first response (200) instead of storing a second.",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Wave code.")),
    request_body = PostResponseRequest,
    responses(
        (status = 201, description = "Stored.", body = PostResponseResponse),
        (status = 200, description = "Already stored with this client_token.", body = PostResponseResponse),
        (status = 400, response = ErrorDoc), (status = 401, response = ErrorDoc), (status = 403, response = ErrorDoc),
        (status = 404, response = ErrorDoc), (status = 413, response = ErrorDoc), (status = 415, response = ErrorDoc),
        (status = 409, description = "The wave is not open.", body = ErrorDoc),
        (status = 422, description = "Every problem, per question (field), in Vietnamese and English.", body = ErrorDoc),
    ))]
pub async fn post_response(
    State(state): State<AppState>,
    Path(wave): Path<String>,
    _client: ApiClient,
    Json(body): Json<PostResponseRequest>,
) -> Result<(StatusCode, Json<PostResponseResponse>), ApiError> {
    if let Some(token) = &body.client_token
        && (token.is_empty() || token.len() > 128)
    {
        return Err(ApiError::bad_request(
            "client_token phải dài từ 1 đến 128 ký tự.",
            "client_token must be 1 to 128 characters long.",
        ));
    }
    let answers: BTreeMap<String, String> = body
        .answers
        .into_iter()
        .map(|(code, value)| {
            let raw = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                // Anything else cannot be an answer; an empty string makes the engine say so for this question.
                _ => String::new(),
            };
            (code, raw)
        })
        .collect();
    let (id, created) = state
        .surveys
        .submit_complete(
            &wave,
            body.commune.trim(),
            body.client_token.as_deref(),
            &answers,
            Utc::now(),
        )
        .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PostResponseResponse { id, created })))
}

/// Body of `POST /api/v1/waves`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateWave)]
pub struct CreateWaveRequest {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    pub code: String,
    #[schema(min_length = 1)]
    pub title: String,
    pub questionnaire: String,
    pub questionnaire_version: Option<i64>,
    /// Provinces or communes (GSO codes); a province covers its communes.
    #[schema(min_items = 1, inline, value_type = Vec<UnitCode>)]
    pub units: Vec<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Reporting periods; the plans' six-month and annual periods when absent.
    #[serde(default)]
    pub periods: Vec<PeriodBody>,
    /// A split questionnaire: the sub-dimensions each respondent is asked besides the profile, drawn per
    /// respondent; every question to everyone when absent.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub modules_per_respondent: Option<u16>,
}

/// A GSO code of a province or a commune.
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]{2,5}$")]
#[allow(dead_code)] // Only its schema is used.
pub struct UnitCode(String);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Period)]
pub struct PeriodBody {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Wave)]
pub struct WaveResponse {
    pub code: String,
    pub title: String,
    pub questionnaire: String,
    pub questionnaire_version: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub open_now: bool,
    pub units: Vec<String>,
    pub periods: Vec<PeriodBody>,
    pub complete_responses: i64,
    pub responses_in_progress: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListWavesResponse {
    pub items: Vec<WaveResponse>,
}

async fn wave_response(state: &AppState, wave: Wave) -> Result<WaveResponse, ApiError> {
    let store = &state.store;
    let questionnaire = store.questionnaire(wave.questionnaire_id).await?;
    let units = store.wave_unit_codes(wave.id).await?;
    let periods = store.wave_periods(wave.id).await?;
    let (complete, in_progress) = store.count_responses(wave.id).await?;
    Ok(WaveResponse {
        open_now: wave.is_open_at(Utc::now()),
        code: wave.code,
        title: wave.title,
        questionnaire: questionnaire.code,
        questionnaire_version: questionnaire.version,
        opens_at: wave.opens_at,
        closes_at: wave.closes_at,
        units,
        periods: periods
            .into_iter()
            .map(|p| PeriodBody {
                name: p.name,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
            })
            .collect(),
        complete_responses: complete,
        responses_in_progress: in_progress,
    })
}

/// `POST /api/v1/waves`.
#[utoipa::path(post, path = "/api/v1/waves", operation_id = "createWave",
    summary = "Opens a survey wave: a questionnaire version over provinces or communes for a time window.",
    security(("bearer" = [])),
    request_body = CreateWaveRequest,
    responses(
        (status = 201, description = "The wave.", body = WaveResponse),
        (status = 400, response = ErrorDoc), (status = 401, response = ErrorDoc), (status = 403, response = ErrorDoc),
        (status = 409, response = ErrorDoc), (status = 413, response = ErrorDoc), (status = 415, response = ErrorDoc),
        (status = 422, response = ErrorDoc),
    ))]
pub async fn create_wave(
    State(state): State<AppState>,
    _client: ApiClient,
    Json(body): Json<CreateWaveRequest>,
) -> Result<(StatusCode, Json<WaveResponse>), ApiError> {
    let request = WaveRequest {
        code: body.code,
        title: body.title,
        questionnaire: body.questionnaire,
        questionnaire_version: body.questionnaire_version,
        unit_codes: body.units,
        opens_at: body.opens_at,
        closes_at: body.closes_at,
        periods: body
            .periods
            .into_iter()
            .map(|p| ReportingPeriod {
                name: p.name,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
            })
            .collect(),
        modules_per_respondent: body.modules_per_respondent,
    };
    let wave = create_wave_service(&state.store, request).await?;
    Ok((StatusCode::CREATED, Json(wave_response(&state, wave).await?)))
}

/// `GET /api/v1/waves`.
#[utoipa::path(get, path = "/api/v1/waves", operation_id = "listWaves",
    summary = "Every survey wave, newest first, with its units, periods and response counts.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The waves.", body = ListWavesResponse),
        (status = 401, response = ErrorDoc), (status = 403, response = ErrorDoc),
    ))]
pub async fn list_waves(
    State(state): State<AppState>,
    _client: ApiClient,
) -> Result<Json<ListWavesResponse>, ApiError> {
    let mut items = Vec::new();
    for wave in state.store.waves().await? {
        items.push(wave_response(&state, wave).await?);
    }
    Ok(Json(ListWavesResponse { items }))
}

/// `GET /api/v1/waves/{code}`.
#[utoipa::path(get, path = "/api/v1/waves/{code}", operation_id = "getWave",
    summary = "One survey wave.",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Wave code.")),
    responses(
        (status = 200, description = "The wave.", body = WaveResponse),
        (status = 401, response = ErrorDoc), (status = 403, response = ErrorDoc), (status = 404, response = ErrorDoc),
    ))]
pub async fn get_wave(
    State(state): State<AppState>,
    Path(code): Path<String>,
    _client: ApiClient,
) -> Result<Json<WaveResponse>, ApiError> {
    let wave = wave_by_code(&state.store, &code).await?;
    Ok(Json(wave_response(&state, wave).await?))
}
