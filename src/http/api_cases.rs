//! The JSON API of feedback cases for citizens' apps: file a report (photos as base64) and follow it. The same
//! rules as the web form; the answer never includes the reporter's contact.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::domain::{Channel, Problem, Text};
use crate::services::Error;
use crate::services::cases::Intake;

/// Body of `POST /api/v1/cases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewCase)]
pub struct NewCaseRequest {
    /// GSO code of the commune or ward.
    #[schema(pattern = "^[0-9]{5}$")]
    pub commune: String,
    /// A feedback category's code.
    #[schema(pattern = "^[a-z_]{2,40}$")]
    pub category: String,
    #[schema(min_length = 15, max_length = 5000)]
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The reporter's name (the form's limit: 100 characters).
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// 9–11 digits, with spaces, `+`, `-`, `.` or parentheses (at most 20 characters).
    #[schema(max_length = 20)]
    pub phone: Option<String>,
    /// `local@domain.tld` (at most 254 characters).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// JPEG, PNG or WebP images, base64-encoded; at most 5, 10 MB each and 20 MB together.
    #[serde(default)]
    #[schema(max_items = 5, inline, value_type = Vec<super::api::Base64Photo>)]
    pub photos: Vec<String>,
    /// "Cho phép công khai": the reporter lets the case be shown publicly once answered (never their name,
    /// contact or exact position). Off by default.
    #[serde(default)]
    pub public: bool,
    /// The photos may be shown publicly too (only with `public`).
    #[serde(default)]
    pub public_photos: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = NewCaseResult)]
pub struct NewCaseResponse {
    pub code: String,
    /// Keep it: it lets the reporter reply, reopen and rate. It is not stored in clear.
    pub reporter_key: String,
    pub tracking_url: String,
}

/// `POST /api/v1/cases`.
#[utoipa::path(post, path = "/api/v1/cases", operation_id = "postCase",
    summary = "Files a citizen's feedback report (phản ánh, kiến nghị). Photos are base64 JPEG, PNG or WebP (at most 5, 10 MB each); their metadata is stripped.",
    request_body = NewCaseRequest,
    responses(
        (status = 201, description = "Filed.", body = NewCaseResponse),
        (status = 400, response = super::api::ErrorDoc), (status = 413, response = super::api::ErrorDoc),
        (status = 415, response = super::api::ErrorDoc), (status = 429, response = super::api::ErrorDoc),
        (status = 422, description = "Every problem, per field.", body = super::api::ErrorDoc),
    ))]
pub async fn post_case(
    State(state): State<AppState>,
    Json(mut body): Json<NewCaseRequest>,
) -> Result<(StatusCode, Json<NewCaseResponse>), ApiError> {
    let mut photos = Vec::new();
    let mut problems = Vec::new();
    // Each base64 text is dropped as soon as it is decoded: a report's photos are held once, not twice.
    for (i, p) in std::mem::take(&mut body.photos).into_iter().enumerate() {
        match base64::engine::general_purpose::STANDARD.decode(p.trim()) {
            Ok(bytes) => photos.push(bytes),
            Err(_) => problems.push(Problem::new(
                format!("photos[{i}]"),
                "invalid_base64",
                Text::new(
                    format!("Ảnh {}: không phải dữ liệu base64.", i + 1),
                    format!("Photo {}: not base64.", i + 1),
                ),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidCase(problems).into());
    }
    // The address paid for the body already (`limits::upload_budget`); the commune pays for the photos.
    let photo_bytes: usize = photos.iter().map(Vec::len).sum();
    if photo_bytes > 0
        && let Err(over) = state
            .cases
            .uploads()
            .charge_commune(body.commune.trim(), photo_bytes as u64)
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "upload_budget",
            over.message_vi(),
            over.message_en(),
        ));
    }
    let intake = Intake {
        commune: body.commune,
        category: body.category,
        text: body.text,
        lat: body.lat,
        lon: body.lon,
        name: body.name,
        phone: body.phone,
        email: body.email,
        photos,
        channel: Channel::Api,
        reporter_chat: None,
        public: body.public,
        public_photos: body.public_photos,
        address: None,
        voice_notes: Vec::new(),
    };
    let done = state.cases.submit(intake, Utc::now()).await?;
    let base = state.config.public_url.clone().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(NewCaseResponse {
            tracking_url: format!("{base}/t/{}", done.code),
            code: done.code,
            reporter_key: done.reporter_key,
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseEventResponse {
    pub at: DateTime<Utc>,
    pub state: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseAnswerResponse {
    pub what_was_done: String,
    pub by_unit: String,
    pub legal_basis: Option<String>,
    pub at: DateTime<Utc>,
}

/// The public view of a case.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Case)]
pub struct CaseResponse {
    pub code: String,
    pub state: String,
    pub state_label: String,
    pub category: String,
    pub commune: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub answers: Vec<CaseAnswerResponse>,
    pub timeline: Vec<CaseEventResponse>,
}

/// `GET /api/v1/cases/{code}`.
#[utoipa::path(get, path = "/api/v1/cases/{code}", operation_id = "getCase",
    summary = "The public view of a case: state, deadline, answers, public timeline. Never the reporter's contact.",
    params(("code" = String, Path, description = "Tracking code, PA-XXXX-XXXX.")),
    responses((status = 200, description = "The case.", body = CaseResponse), (status = 404, response = super::api::ErrorDoc)))]
pub async fn get_case(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<CaseResponse>, ApiError> {
    let view = state.cases.view(&code).await?;
    let case = &view.case;
    Ok(Json(CaseResponse {
        due_at: case.due_now(),
        state_label: case.state.label().vi,
        state: case.state.as_str().to_owned(),
        code: case.code.clone(),
        category: case.category.clone(),
        commune: view.unit.code.clone(),
        received_at: case.received_at,
        answers: view
            .answers
            .iter()
            .map(|a| CaseAnswerResponse {
                what_was_done: a.what_was_done.clone(),
                by_unit: a.by_unit.clone(),
                legal_basis: a.legal_basis.clone(),
                at: a.at,
            })
            .collect(),
        timeline: view
            .public_timeline()
            .map(|e| CaseEventResponse {
                at: e.at,
                state: e.to_state.as_str().to_owned(),
                note: e.note.clone(),
            })
            .collect(),
    }))
}
