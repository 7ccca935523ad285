//! The JSON API under `/api/v1` and its OpenAPI document.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToResponse, ToSchema};

use super::open311::OpenApiPaths as Open311Paths;
use super::{ApiError, AppState, api_cases, api_surveys, parse_day};
use crate::domain::units::{LinkedUnit, Unit, UnitKind, UnitLevel};
use crate::services::units as unit_service;

/// Query of `GET /api/v1/units`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUnitsRequest {
    /// GSO code of the parent unit; without it, the provinces.
    #[param(pattern = "^[0-9]{2,5}$")]
    pub parent: Option<String>,
    /// The day whose units to use (YYYY-MM-DD); today in Vietnam by default.
    #[param(value_type = Option<NaiveDate>)]
    pub at: Option<String>,
}

/// Query of `GET /api/v1/units/{code}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetUnitRequest {
    /// The day whose units to use (YYYY-MM-DD); today in Vietnam by default.
    #[param(value_type = Option<NaiveDate>)]
    pub at: Option<String>,
}

/// One unit in a list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Unit)]
pub struct UnitResponse {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub level: UnitLevel,
    /// The parent's code; none for a province.
    pub parent: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_km2: Option<f64>,
}

impl UnitResponse {
    fn new(unit: Unit, parent: Option<String>) -> Self {
        Self {
            code: unit.code,
            name: unit.name,
            kind: unit.kind,
            level: unit.level,
            parent,
            valid_from: unit.valid_from,
            valid_to: unit.valid_to,
            lat: unit.lat,
            lon: unit.lon,
            area_km2: unit.area_km2,
        }
    }
}

/// `GET /api/v1/units` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListUnitsResponse {
    pub items: Vec<UnitResponse>,
}

/// A unit on the other side of a lineage link.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LinkedUnit)]
pub struct LinkedUnitResponse {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub level: UnitLevel,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// Whether this link carries the predecessor's main share (its default successor).
    pub is_default: bool,
    pub effective: NaiveDate,
}

impl From<LinkedUnit> for LinkedUnitResponse {
    fn from(l: LinkedUnit) -> Self {
        Self {
            code: l.unit.code,
            name: l.unit.name,
            kind: l.unit.kind,
            level: l.unit.level,
            valid_from: l.unit.valid_from,
            valid_to: l.unit.valid_to,
            is_default: l.is_default,
            effective: l.effective,
        }
    }
}

/// `GET /api/v1/units/{code}` answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UnitDetail)]
pub struct UnitDetailResponse {
    #[serde(flatten)]
    pub unit: UnitResponse,
    pub parent_name: Option<String>,
    pub predecessors: Vec<LinkedUnitResponse>,
    pub successors: Vec<LinkedUnitResponse>,
}

/// A query parameter of the API: absent, or a value. Present but empty (`?at=`) is refused, unlike on the HTML
/// pages, where an empty form field means "not given".
fn given<'a>(name: &str, value: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
    match value.map(str::trim) {
        Some("") => Err(ApiError::bad_request(
            format!("Tham số {name} để trống; hãy bỏ hẳn tham số này hoặc ghi giá trị."),
            format!("{name} is empty; leave the parameter out or give a value."),
        )),
        other => Ok(other),
    }
}

/// `GET /api/v1/units?parent=CODE&at=DAY`: the children of a unit, or the provinces.
#[utoipa::path(get, path = "/api/v1/units", operation_id = "listUnits",
    summary = "The children of a unit (a province's communes), or the provinces without `parent`.",
    params(ListUnitsRequest),
    responses(
        (status = 200, description = "The units, in code order.", body = ListUnitsResponse),
        (status = 400, response = ErrorDoc), (status = 404, response = ErrorDoc),
    ))]
pub async fn list_units(
    State(state): State<AppState>,
    Query(q): Query<ListUnitsRequest>,
) -> Result<Json<ListUnitsResponse>, ApiError> {
    let day = parse_day(given("at", q.at.as_deref())?)?;
    let parent = given("parent", q.parent.as_deref())?;
    if let Some(code) = parent
        && !((2..=5).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::bad_request(
            format!("Tham số parent = '{code}' không phải là mã đơn vị hành chính (2 đến 5 chữ số)."),
            format!("parent = '{code}' is not an administrative unit code (2 to 5 digits)."),
        ));
    }
    let units = unit_service::children(&state.store, parent, day).await?;
    let items = units
        .into_iter()
        .map(|u| UnitResponse::new(u, parent.map(str::to_owned)))
        .collect();
    Ok(Json(ListUnitsResponse { items }))
}

/// `GET /api/v1/units/{code}?at=DAY`: one unit with its parent and lineage.
#[utoipa::path(get, path = "/api/v1/units/{code}", operation_id = "getUnit",
    summary = "One unit, with its parent and its lineage across reforms.",
    params(("code" = String, Path, description = "GSO code."), GetUnitRequest),
    responses(
        (status = 200, description = "The unit valid on the day (or the latest unit of that code).", body = UnitDetailResponse),
        (status = 400, response = ErrorDoc), (status = 404, response = ErrorDoc),
    ))]
pub async fn get_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<GetUnitRequest>,
) -> Result<Json<UnitDetailResponse>, ApiError> {
    let day = parse_day(given("at", q.at.as_deref())?)?;
    let detail = unit_service::unit_detail(&state.store, code.trim(), day).await?;
    let (parent, parent_name) = match detail.parent {
        Some(p) => (Some(p.code), Some(p.name)),
        None => (None, None),
    };
    Ok(Json(UnitDetailResponse {
        unit: UnitResponse::new(detail.unit, parent),
        parent_name,
        predecessors: detail.predecessors.into_iter().map(Into::into).collect(),
        successors: detail.successors.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/openapi.json`: the API's OpenAPI 3.1 document.
pub async fn show_openapi() -> Json<Value> {
    Json(openapi())
}

/// The shape of every API error, as `http::error::ApiError` writes it; here for the document only.
#[derive(ToSchema, ToResponse)]
#[schema(as = Error)]
#[response(description = "An error.")]
#[allow(dead_code)] // Only its schema is used: the errors are written by `ApiError`.
pub struct ErrorDoc {
    pub error: ErrorDetailDoc,
}

/// What went wrong, in Vietnamese and English.
#[derive(ToSchema)]
#[schema(as = ErrorDetail)]
#[allow(dead_code)]
pub struct ErrorDetailDoc {
    pub code: String,
    pub message: String,
    pub message_en: String,
    /// Every problem of a refused request, per field (422).
    #[schema(nullable = false)]
    pub problems: Option<Vec<ProblemDoc>>,
}

/// One problem of a refused request.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub struct ProblemDoc {
    pub field: String,
    pub code: String,
    pub message: String,
    pub message_en: String,
}

/// A photo in a JSON body: the file's bytes in base64.
#[derive(ToSchema)]
#[schema(content_encoding = "base64")]
#[allow(dead_code)] // Only its schema is used.
pub struct Base64Photo(String);

/// The bearer token of the waves and responses API.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("YKIEN_API_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the request and answer
/// types they use; `tests/api_units.rs` checks the answers against it and `tests/waves.rs` that every `/api/v1`
/// route is in it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ykien API",
        description = "Administrative units, surveys, feedback and scores of ykien. Errors always have the shape { error: { code, message, message_en } }."
    ),
    paths(
        list_units,
        get_unit,
        api_cases::post_case,
        api_cases::get_case,
        api_surveys::list_waves,
        api_surveys::create_wave,
        api_surveys::get_wave,
        api_surveys::post_response,
    ),
    components(schemas(ErrorDoc), responses(ErrorDoc)),
    modifiers(&BearerToken, &Open311Paths)
)]
struct ApiDoc;

/// The OpenAPI document as JSON.
pub fn openapi() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}
