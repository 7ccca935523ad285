//! The JSON API under `/api/v1` and its OpenAPI document.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, AppState, parse_day};
use crate::domain::units::{LinkedUnit, Unit, UnitKind, UnitLevel};
use crate::services::units as unit_service;

/// Query of `GET /api/v1/units`.
#[derive(Debug, Deserialize)]
pub struct ListUnitsRequest {
    /// The parent's code; without it, the provinces.
    pub parent: Option<String>,
    /// The day whose units to list (YYYY-MM-DD); today in Vietnam by default.
    pub at: Option<String>,
}

/// Query of `GET /api/v1/units/{code}`.
#[derive(Debug, Deserialize)]
pub struct GetUnitRequest {
    pub at: Option<String>,
}

/// One unit in a list.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct ListUnitsResponse {
    pub items: Vec<UnitResponse>,
}

/// A unit on the other side of a lineage link.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
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

/// The OpenAPI document, written beside the handlers it describes; `tests/api_units.rs` checks the answers
/// against it.
pub fn openapi() -> Value {
    let error = json!({ "$ref": "#/components/responses/Error" });
    let at = json!({
        "name": "at", "in": "query", "required": false,
        "description": "The day whose units to use (YYYY-MM-DD); today in Vietnam by default.",
        "schema": { "type": "string", "format": "date" }
    });
    let date_or_null = json!({ "type": ["string", "null"], "format": "date" });
    let number_or_null = json!({ "type": ["number", "null"] });
    let kind = json!({ "type": "string", "enum": ["tỉnh", "thành phố", "huyện", "quận", "thị xã", "xã", "phường", "thị trấn", "đặc khu"] });
    let level = json!({ "type": "string", "enum": ["province", "district", "commune"] });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ykien API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Administrative units, surveys, feedback and scores of ykien. Errors always have the shape { error: { code, message, message_en } }."
        },
        "paths": {
            "/api/v1/units": { "get": {
                "operationId": "listUnits",
                "summary": "The children of a unit (a province's communes), or the provinces without `parent`.",
                "parameters": [
                    { "name": "parent", "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[0-9]{2,5}$" },
                      "description": "GSO code of the parent unit." },
                    at
                ],
                "responses": {
                    "200": { "description": "The units, in code order.", "content": { "application/json": { "schema": {
                        "type": "object", "required": ["items"],
                        "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Unit" } } }
                    } } } },
                    "400": error, "404": error
                }
            } },
            "/api/v1/units/{code}": { "get": {
                "operationId": "getUnit",
                "summary": "One unit, with its parent and its lineage across reforms.",
                "parameters": [
                    { "name": "code", "in": "path", "required": true, "schema": { "type": "string" }, "description": "GSO code." },
                    at
                ],
                "responses": {
                    "200": { "description": "The unit valid on the day (or the latest unit of that code).",
                             "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UnitDetail" } } } },
                    "400": error, "404": error
                }
            } },
            "/api/v1/cases": { "post": {
                "operationId": "postCase",
                "summary": "Files a citizen's feedback report (phản ánh, kiến nghị). Photos are base64 JPEG, PNG or WebP (at most 5, 10 MB each); their metadata is stripped.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewCase" } } } },
                "responses": {
                    "201": { "description": "Filed.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewCaseResult" } } } },
                    "400": error, "413": error, "415": error, "429": error,
                    "422": { "description": "Every problem, per field.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/api/v1/cases/{code}": { "get": {
                "operationId": "getCase",
                "summary": "The public view of a case: state, deadline, answers, public timeline. Never the reporter's contact.",
                "parameters": [{ "name": "code", "in": "path", "required": true, "schema": { "type": "string" }, "description": "Tracking code, PA-XXXX-XXXX." }],
                "responses": {
                    "200": { "description": "The case.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Case" } } } },
                    "404": error
                }
            } },
            "/api/v1/waves": {
                "get": {
                    "operationId": "listWaves",
                    "summary": "Every survey wave, newest first, with its units, periods and response counts.",
                    "security": [{ "bearer": [] }],
                    "responses": {
                        "200": { "description": "The waves.", "content": { "application/json": { "schema": {
                            "type": "object", "required": ["items"],
                            "properties": { "items": { "type": "array", "items": { "$ref": "#/components/schemas/Wave" } } }
                        } } } },
                        "401": error, "403": error
                    }
                },
                "post": {
                    "operationId": "createWave",
                    "summary": "Opens a survey wave: a questionnaire version over provinces or communes for a time window.",
                    "security": [{ "bearer": [] }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CreateWave" } } } },
                    "responses": {
                        "201": { "description": "The wave.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Wave" } } } },
                        "400": error, "401": error, "403": error, "409": error, "413": error, "415": error, "422": error
                    }
                }
            },
            "/api/v1/waves/{code}": { "get": {
                "operationId": "getWave",
                "summary": "One survey wave.",
                "security": [{ "bearer": [] }],
                "parameters": [{ "name": "code", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": {
                    "200": { "description": "The wave.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Wave" } } } },
                    "401": error, "403": error, "404": error
                }
            } },
            "/api/v1/waves/{code}/responses": { "post": {
                "operationId": "postResponse",
                "summary": "Stores one complete response (every eligible question answered). The same client_token again returns the first response (200) instead of storing a second.",
                "security": [{ "bearer": [] }],
                "parameters": [{ "name": "code", "in": "path", "required": true, "schema": { "type": "string" }, "description": "Wave code." }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PostResponse" } } } },
                "responses": {
                    "201": { "description": "Stored.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PostResponseResult" } } } },
                    "200": { "description": "Already stored with this client_token.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PostResponseResult" } } } },
                    "400": error, "401": error, "403": error, "404": error, "413": error, "415": error,
                    "409": { "description": "The wave is not open.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "422": { "description": "Every problem, per question (field), in Vietnamese and English.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "YKIEN_API_TOKEN" } },
            "schemas": {
                "Unit": {
                    "type": "object",
                    "required": ["code", "name", "kind", "level", "parent", "valid_from", "valid_to", "lat", "lon", "area_km2"],
                    "properties": {
                        "code": { "type": "string" }, "name": { "type": "string" }, "kind": kind, "level": level,
                        "parent": { "type": ["string", "null"] },
                        "valid_from": date_or_null, "valid_to": date_or_null,
                        "lat": number_or_null, "lon": number_or_null, "area_km2": number_or_null
                    }
                },
                "LinkedUnit": {
                    "type": "object",
                    "required": ["code", "name", "kind", "level", "valid_from", "valid_to", "is_default", "effective"],
                    "properties": {
                        "code": { "type": "string" }, "name": { "type": "string" }, "kind": kind, "level": level,
                        "valid_from": date_or_null, "valid_to": date_or_null,
                        "is_default": { "type": "boolean" }, "effective": { "type": "string", "format": "date" }
                    }
                },
                "UnitDetail": {
                    "allOf": [
                        { "$ref": "#/components/schemas/Unit" },
                        { "type": "object", "required": ["parent_name", "predecessors", "successors"], "properties": {
                            "parent_name": { "type": ["string", "null"] },
                            "predecessors": { "type": "array", "items": { "$ref": "#/components/schemas/LinkedUnit" } },
                            "successors": { "type": "array", "items": { "$ref": "#/components/schemas/LinkedUnit" } }
                        } }
                    ]
                },
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message", "message_en"], "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" }, "message_en": { "type": "string" },
                        "problems": { "type": "array", "items": { "type": "object", "required": ["field", "code", "message", "message_en"], "properties": {
                            "field": { "type": "string" }, "code": { "type": "string" },
                            "message": { "type": "string" }, "message_en": { "type": "string" }
                        } } }
                    } } }
                },
                "NewCase": {
                    "type": "object", "additionalProperties": false, "required": ["commune", "category", "text"],
                    "properties": {
                        "commune": { "type": "string", "pattern": "^[0-9]{5}$", "description": "GSO code of the commune or ward." },
                        "category": { "type": "string", "pattern": "^[a-z_]{2,40}$", "description": "A feedback category's code." },
                        "text": { "type": "string", "minLength": 15, "maxLength": 5000 },
                        "lat": { "type": ["number", "null"] }, "lon": { "type": ["number", "null"] },
                        "name": { "type": ["string", "null"] }, "phone": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] },
                        "photos": { "type": "array", "maxItems": 5, "items": { "type": "string", "contentEncoding": "base64" } }
                    }
                },
                "NewCaseResult": {
                    "type": "object", "required": ["code", "reporter_key", "tracking_url"],
                    "properties": { "code": { "type": "string" }, "reporter_key": { "type": "string" }, "tracking_url": { "type": "string" } }
                },
                "Case": {
                    "type": "object",
                    "required": ["code", "state", "state_label", "category", "commune", "received_at", "due_at", "answers", "timeline"],
                    "properties": {
                        "code": { "type": "string" }, "state": { "type": "string" }, "state_label": { "type": "string" },
                        "category": { "type": "string" }, "commune": { "type": "string" },
                        "received_at": { "type": "string", "format": "date-time" }, "due_at": { "type": ["string", "null"], "format": "date-time" },
                        "answers": { "type": "array", "items": { "type": "object", "required": ["what_was_done", "by_unit", "legal_basis", "at"], "properties": {
                            "what_was_done": { "type": "string" }, "by_unit": { "type": "string" }, "legal_basis": { "type": ["string", "null"] },
                            "at": { "type": "string", "format": "date-time" } } } },
                        "timeline": { "type": "array", "items": { "type": "object", "required": ["at", "state", "note"], "properties": {
                            "at": { "type": "string", "format": "date-time" }, "state": { "type": "string" }, "note": { "type": ["string", "null"] } } } }
                    }
                },
                "Period": {
                    "type": "object", "required": ["name", "starts_on", "ends_on"],
                    "properties": { "name": { "type": "string" }, "starts_on": { "type": "string", "format": "date" }, "ends_on": { "type": "string", "format": "date" } }
                },
                "Wave": {
                    "type": "object",
                    "required": ["code", "title", "questionnaire", "questionnaire_version", "opens_at", "closes_at", "open_now", "units", "periods", "complete_responses", "responses_in_progress"],
                    "properties": {
                        "code": { "type": "string" }, "title": { "type": "string" },
                        "questionnaire": { "type": "string" }, "questionnaire_version": { "type": "integer" },
                        "opens_at": { "type": "string", "format": "date-time" }, "closes_at": { "type": "string", "format": "date-time" },
                        "open_now": { "type": "boolean" },
                        "units": { "type": "array", "items": { "type": "string" } },
                        "periods": { "type": "array", "items": { "$ref": "#/components/schemas/Period" } },
                        "complete_responses": { "type": "integer" }, "responses_in_progress": { "type": "integer" }
                    }
                },
                "CreateWave": {
                    "type": "object", "additionalProperties": false,
                    "required": ["code", "title", "questionnaire", "units", "opens_at", "closes_at"],
                    "properties": {
                        "code": { "type": "string", "pattern": "^[a-z0-9-]{1,64}$" }, "title": { "type": "string", "minLength": 1 },
                        "questionnaire": { "type": "string" }, "questionnaire_version": { "type": ["integer", "null"] },
                        "units": { "type": "array", "items": { "type": "string", "pattern": "^[0-9]{2,5}$" }, "minItems": 1 },
                        "opens_at": { "type": "string", "format": "date-time" }, "closes_at": { "type": "string", "format": "date-time" },
                        "periods": { "type": "array", "items": { "$ref": "#/components/schemas/Period" } }
                    }
                },
                "PostResponse": {
                    "type": "object", "additionalProperties": false, "required": ["commune", "answers"],
                    "properties": {
                        "commune": { "type": "string", "pattern": "^[0-9]{5}$", "description": "GSO code of the commune or ward." },
                        "client_token": { "type": ["string", "null"], "minLength": 1, "maxLength": 128 },
                        "answers": { "type": "object", "description": "Answers by question code: choice codes, numbers, texts, DK (don't know) or RF (refused).",
                                     "additionalProperties": { "type": ["string", "number"] } }
                    }
                },
                "PostResponseResult": {
                    "type": "object", "required": ["id", "created"],
                    "properties": { "id": { "type": "string", "format": "uuid" }, "created": { "type": "boolean" } }
                }
            },
            "responses": {
                "Error": { "description": "An error.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        }
    })
}
