//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2/>), so that civic apps and dashboards made for
//! 311 systems can read ykien's public cases and file new ones:
//!
//! - `GET /open311/v2/discovery.{json,xml}`, `GET /open311/v2/services.{json,xml}` (the feedback categories);
//! - `GET /open311/v2/requests.{json,xml}` with the spec's filters (`service_request_id`, `service_code`,
//!   `status`, `start_date`, `end_date`; 90 days and 1,000 requests at most), plus `jurisdiction_id` (a
//!   province's or commune's GSO code); only public cases: answered, and their reporters allowed it;
//! - `GET /open311/v2/requests/{id}.{json,xml}` (`id` is the tracking code);
//! - `POST /open311/v2/requests.{json,xml}` (form-encoded, as the spec says) with an `api_key` that an
//!   administrator gave the client (`ykien open311 add-client NAME`); `jurisdiction_id` is the commune's GSO code
//!   (ykien serves many communes, each its own jurisdiction). The case is filed like `POST /api/v1/cases`, by the
//!   same rules; `media_url` is not fetched (ykien never fetches addresses given by a client), photos go through
//!   `/api/v1/cases`.
//!
//! Errors are the spec's list of `{code, description}` in the format of the route, with the HTTP status as code.
//! A public case shows no name, phone, e-mail or exact position: `address` is the commune, `lat`/`long` are
//! rounded to about a kilometre.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::domain::Channel;
use crate::domain::cases::{Case, CaseState, office_label};
use crate::services::Error;
use crate::services::cases::Intake;
use crate::services::publication::MAX_PUBLIC_CASES;
use crate::storage::{PublicCase, PublicCaseFilter};

/// How far back `GET requests` looks when no dates are given, as the spec's default.
const DEFAULT_DAYS: i64 = 90;

pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/open311/v2/{file}", get(show_list).post(post_request))
        .route("/open311/v2/requests/{file}", get(show_request))
}

/// The two formats of every GeoReport resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// `name.json` or `name.xml` → (name, format).
fn split(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    match ext {
        "json" => Some((name, Format::Json)),
        "xml" => Some((name, Format::Xml)),
        _ => None,
    }
}

/// A GeoReport error before it is written in the route's format.
struct GeoError {
    status: StatusCode,
    description: String,
}

impl GeoError {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    fn render(self, format: Format) -> Response {
        georeport_error(format, self.status, &self.description)
    }
}

/// A GeoReport error list in the route's format.
fn georeport_error(format: Format, status: StatusCode, description: &str) -> Response {
    #[derive(Serialize)]
    struct ErrorRecord<'a> {
        code: u16,
        description: &'a str,
    }
    #[derive(Serialize)]
    struct Errors<'a> {
        error: Vec<ErrorRecord<'a>>,
    }
    let errors = vec![ErrorRecord {
        code: status.as_u16(),
        description,
    }];
    let mut response = render(format, "errors", &Errors { error: errors }, |e| &e.error).into_response();
    *response.status_mut() = status;
    response
}

/// A document in the route's format: JSON is the list itself, XML wraps it in `root`.
fn render<T: Serialize, L: Serialize>(format: Format, root: &str, wrapped: &T, list: impl Fn(&T) -> &L) -> Response {
    let (content_type, body) = match format {
        Format::Json => (
            "application/json",
            serde_json::to_string(list(wrapped)).map_err(|e| e.to_string()),
        ),
        Format::Xml => (
            "text/xml; charset=utf-8",
            quick_xml::se::to_string_with_root(root, wrapped)
                .map(|x| format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{x}"))
                .map_err(|e| e.to_string()),
        ),
    };
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an Open311 document could not be written");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A service error as a GeoReport error.
fn service_error(e: Error) -> GeoError {
    match e {
        Error::InvalidCase(problems) => {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {} / {}", p.field, p.message.vi, p.message.en))
                .collect();
            GeoError::new(StatusCode::BAD_REQUEST, text.join("; "))
        }
        Error::UnitNotFound(c) | Error::NotACommune(c) => GeoError::new(
            StatusCode::BAD_REQUEST,
            format!("jurisdiction_id {c}: không có xã, phường nào mang mã này / no commune or ward has this code"),
        ),
        other => {
            tracing::error!(error = %other, "an Open311 request failed");
            GeoError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// A w3 date-time in Vietnam's offset (+07:00), as GeoReport's examples give local time.
fn in_vietnam(t: DateTime<Utc>) -> String {
    FixedOffset::east_opt(7 * 3600).map_or_else(|| t.to_rfc3339(), |o| t.with_timezone(&o).to_rfc3339())
}

/// A feedback category as a GeoReport service.
#[derive(Serialize)]
struct ServiceRecord {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: String,
}

#[derive(Serialize)]
struct Services {
    service: Vec<ServiceRecord>,
}

/// A public case as a GeoReport service request.
#[derive(Serialize)]
struct RequestRecord {
    service_request_id: String,
    status: &'static str,
    status_notes: Option<String>,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: Option<String>,
    expected_datetime: Option<String>,
    address: String,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
}

#[derive(Serialize)]
struct Requests {
    request: Vec<RequestRecord>,
}

/// Query of `GET requests`.
#[derive(Debug, Default, Deserialize)]
struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
    jurisdiction_id: Option<String>,
}

/// `GET /open311/v2/{discovery,services,requests}.{json,xml}`.
async fn show_list(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<RequestsQuery>,
) -> Response {
    let Some((name, format)) = split(&file) else {
        return georeport_error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "no such resource; use .json or .xml",
        );
    };
    match name {
        "services" => services(&state, format),
        "discovery" => discovery(&state, format),
        "requests" => match list_requests(&state, &q).await {
            Ok(request) => render(format, "service_requests", &Requests { request }, |r| &r.request),
            Err(e) => e.render(format),
        },
        _ => georeport_error(format, StatusCode::NOT_FOUND, "no such resource"),
    }
}

fn services(state: &AppState, format: Format) -> Response {
    let service = state
        .cases
        .categories()
        .iter()
        .map(|c| ServiceRecord {
            service_code: c.code.clone(),
            service_name: c.vi.clone(),
            description: c.en.clone(),
            metadata: false,
            kind: "realtime",
            keywords: c.subdimension.clone(),
            group: office_label(&c.office).vi,
        })
        .collect();
    render(format, "services", &Services { service }, |s| &s.service)
}

fn discovery(state: &AppState, format: Format) -> Response {
    #[derive(Serialize)]
    struct Endpoint {
        specification: &'static str,
        url: String,
        changeset: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        formats: Formats,
    }
    #[derive(Serialize)]
    struct Formats {
        format: Vec<&'static str>,
    }
    #[derive(Serialize)]
    struct Endpoints {
        endpoint: Vec<Endpoint>,
    }
    #[derive(Serialize)]
    struct Discovery {
        changeset: &'static str,
        contact: String,
        key_service: String,
        endpoints: Endpoints,
    }
    let base = state.config.public_url.clone().unwrap_or_default();
    let doc = Discovery {
        changeset: "2026-12-06T00:00:00Z",
        contact: "Quản trị viên ykien của tỉnh, thành phố / the province's ykien administrator".to_owned(),
        key_service: "Khoá API do quản trị viên cấp: ykien open311 add-client TÊN / keys are given by an administrator"
            .to_owned(),
        endpoints: Endpoints {
            endpoint: vec![Endpoint {
                specification: "http://wiki.open311.org/GeoReport_v2",
                url: format!("{base}/open311/v2"),
                changeset: "2026-12-06T00:00:00Z",
                kind: "production",
                formats: Formats {
                    format: vec!["application/json", "text/xml"],
                },
            }],
        },
    };
    match format {
        Format::Json => axum::Json(doc).into_response(),
        Format::Xml => render(format, "discovery", &doc, |d| d),
    }
}

async fn list_requests(state: &AppState, q: &RequestsQuery) -> Result<Vec<RequestRecord>, GeoError> {
    let bad = |text: String| GeoError::new(StatusCode::BAD_REQUEST, text);
    let list = |v: &Option<String>| -> Vec<String> {
        v.as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let date = |name: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>, GeoError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .map(|d| Some(d.with_timezone(&Utc)))
                .map_err(|_| {
                    bad(format!(
                        "{name} '{s}' is not a w3 date-time such as 2026-12-01T00:00:00+07:00"
                    ))
                }),
        }
    };
    let mut filter = PublicCaseFilter {
        codes: list(&q.service_request_id),
        limit: MAX_PUBLIC_CASES,
        ..PublicCaseFilter::default()
    };
    // The spec: with service_request_id the other filters are ignored.
    if filter.codes.is_empty() {
        filter.categories = list(&q.service_code);
        if let Some(unknown) = filter.categories.iter().find(|c| state.cases.category(c).is_none()) {
            return Err(bad(format!(
                "service_code '{unknown}' is not a service of this endpoint"
            )));
        }
        let statuses = list(&q.status);
        if let Some(other) = statuses.iter().find(|s| !["open", "closed"].contains(&s.as_str())) {
            return Err(bad(format!("status '{other}' is neither open nor closed")));
        }
        let (from, until) = (date("start_date", &q.start_date)?, date("end_date", &q.end_date)?);
        if let (Some(f), Some(u)) = (from, until)
            && f > u
        {
            return Err(bad("start_date is after end_date".to_owned()));
        }
        filter.until = until;
        filter.from = from.or_else(|| Some(until.unwrap_or_else(Utc::now) - chrono::Duration::days(DEFAULT_DAYS)));
        // Public cases are answered: in GeoReport terms, closed. Asking only for open ones finds none.
        if !statuses.is_empty() && !statuses.iter().any(|s| s == "closed") {
            return Ok(Vec::new());
        }
    }
    if let Some(code) = q.jurisdiction_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        let today = super::today_in_vietnam();
        let unit = crate::services::units::unit_by_code(&state.store, code, today)
            .await
            .map_err(|_| GeoError::new(StatusCode::NOT_FOUND, format!("jurisdiction_id {code} is not known")))?;
        let units = match unit.level {
            crate::domain::units::UnitLevel::Commune => vec![unit.id],
            _ => crate::services::units::children(&state.store, Some(code), today)
                .await
                .map_err(service_error)?
                .into_iter()
                .map(|u| u.id)
                .collect(),
        };
        filter.unit_ids = Some(units);
    }
    let cases = state.publications.cases(&filter).await.map_err(service_error)?;
    Ok(cases.into_iter().map(|c| record(state, c)).collect())
}

/// `GET /open311/v2/requests/{id}.{json,xml}`.
async fn show_request(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((id, format)) = split(&file) else {
        return georeport_error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "no such resource; use .json or .xml",
        );
    };
    let Some(code) = crate::domain::cases::normalize_tracking_code(id) else {
        return georeport_error(
            format,
            StatusCode::NOT_FOUND,
            &format!("no public service request {id}"),
        );
    };
    let filter = PublicCaseFilter {
        codes: vec![code],
        limit: 1,
        ..PublicCaseFilter::default()
    };
    match state.publications.cases(&filter).await {
        Ok(cases) if !cases.is_empty() => {
            let request = cases.into_iter().map(|c| record(&state, c)).collect();
            render(format, "service_requests", &Requests { request }, |r| &r.request)
        }
        Ok(_) => georeport_error(
            format,
            StatusCode::NOT_FOUND,
            &format!("no public service request {id}"),
        ),
        Err(e) => service_error(e).render(format),
    }
}

fn record(state: &AppState, c: PublicCase) -> RequestRecord {
    let base = state.config.public_url.clone().unwrap_or_default();
    let category = state.cases.category(&c.case.category);
    let position = c.case.public_position();
    let (answer, by) = c.answer.clone().unzip();
    RequestRecord {
        service_request_id: c.case.code.clone(),
        status: status(&c.case),
        status_notes: answer,
        service_name: category.map_or_else(|| c.case.category.clone(), |cat| cat.vi.clone()),
        service_code: c.case.category.clone(),
        description: c.case.public_text(),
        agency_responsible: by.or_else(|| Some(office_label(&c.case.office).vi)),
        service_notice: None,
        requested_datetime: in_vietnam(c.case.received_at),
        updated_datetime: c.case.closed_at.or(c.case.answered_at).map(in_vietnam),
        expected_datetime: c.case.deadline().map(in_vietnam),
        address: c.unit_name.clone(),
        address_id: Some(c.unit_code.clone()),
        zipcode: None,
        lat: position.map(|p| p.0),
        long: position.map(|p| p.1),
        media_url: c.photos.first().map(|id| format!("{base}/public/photos/{id}")),
    }
}

fn status(case: &Case) -> &'static str {
    if case.state.is_open() || case.state == CaseState::WaitingForCitizen {
        "open"
    } else {
        "closed"
    }
}

/// The form of `POST requests`, field names as the spec gives them.
#[derive(Debug, Default, Deserialize)]
struct NewRequestForm {
    api_key: Option<String>,
    jurisdiction_id: Option<String>,
    service_code: Option<String>,
    lat: Option<String>,
    long: Option<String>,
    address_string: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    description: Option<String>,
    media_url: Option<String>,
}

#[derive(Serialize)]
struct CreatedRecord {
    service_request_id: String,
    service_notice: String,
    account_id: Option<String>,
}

#[derive(Serialize)]
struct Created {
    request: Vec<CreatedRecord>,
}

/// `POST /open311/v2/requests.{json,xml}`.
async fn post_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    form: Result<Form<NewRequestForm>, FormRejection>,
) -> Response {
    let format = match split(&file) {
        Some(("requests", format)) => format,
        Some((_, format)) => return georeport_error(format, StatusCode::NOT_FOUND, "only requests can be posted"),
        None => {
            return georeport_error(
                Format::Json,
                StatusCode::NOT_FOUND,
                "no such resource; use .json or .xml",
            );
        }
    };
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => {
            return georeport_error(
                format,
                StatusCode::BAD_REQUEST,
                &format!("the body must be application/x-www-form-urlencoded: {}", e.body_text()),
            );
        }
    };
    let key = form.api_key.as_deref().unwrap_or_default();
    match state.publications.client(key).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return georeport_error(
                format,
                StatusCode::FORBIDDEN,
                "api_key thiếu hoặc không hợp lệ / missing or invalid api_key",
            );
        }
        Err(e) => return service_error(e).render(format),
    }
    let number = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<f64>)
    };
    let (lat, lon) = match (number(&form.lat), number(&form.long)) {
        (Some(Ok(a)), Some(Ok(b))) => (Some(a), Some(b)),
        (None, None) => (None, None),
        _ => {
            return georeport_error(
                format,
                StatusCode::BAD_REQUEST,
                "lat and long must both be decimal degrees",
            );
        }
    };
    let Some(commune) = form.jurisdiction_id.clone().filter(|j| !j.trim().is_empty()) else {
        return georeport_error(
            format,
            StatusCode::BAD_REQUEST,
            "jurisdiction_id (mã xã, phường / the commune's GSO code) is required",
        );
    };
    let name = [form.first_name.as_deref(), form.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let intake = Intake {
        commune,
        category: form.service_code.clone().unwrap_or_default(),
        text: form.description.clone().unwrap_or_default(),
        // The reporter's address stays with the case, never in its public text.
        address: form.address_string.clone().filter(|a| !a.trim().is_empty()),
        lat,
        lon,
        name: Some(name).filter(|n| !n.is_empty()),
        phone: form.phone.clone(),
        email: form.email.clone(),
        channel: Channel::Api,
        ..Intake::default()
    };
    match state.cases.submit(intake, Utc::now()).await {
        Ok(submitted) => {
            let base = state.config.public_url.clone().unwrap_or_default();
            let mut notice = format!(
                "Đã nhận. Theo dõi tại / Received. Follow it at {base}/t/{}",
                submitted.code
            );
            if form.media_url.as_deref().is_some_and(|m| !m.trim().is_empty()) {
                notice.push_str(
                    " (media_url không được tải về / media_url was not fetched; send photos through /api/v1/cases)",
                );
            }
            let created = Created {
                request: vec![CreatedRecord {
                    service_request_id: submitted.code,
                    service_notice: notice,
                    account_id: None,
                }],
            };
            let mut response = render(format, "service_requests", &created, |c| &c.request);
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(e) => service_error(e).render(format),
    }
}

/// The Open311 routes in the OpenAPI document. Written with utoipa's builders rather than `#[utoipa::path]`:
/// one handler serves each resource in two formats (`.json`, `.xml`), which the attribute cannot express.
pub(super) struct OpenApiPaths;

impl utoipa::Modify for OpenApiPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
        use utoipa::openapi::{Required, ResponseBuilder};
        let query = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .build()
        };
        let operations = [
            (
                HttpMethod::Get,
                "discovery",
                "The endpoint's discovery document.",
                vec![],
            ),
            (
                HttpMethod::Get,
                "services",
                "The feedback categories as GeoReport services.",
                vec![],
            ),
            (
                HttpMethod::Get,
                "requests",
                "Public cases (answered, their reporters allowed it) as GeoReport service requests.",
                vec![
                    query(
                        "service_request_id",
                        "Tracking codes, comma-separated; the other filters are then ignored.",
                    ),
                    query("service_code", "Category codes, comma-separated."),
                    query("status", "open, closed (comma-separated)."),
                    query("start_date", "w3 date-time; 90 days back by default."),
                    query("end_date", "w3 date-time."),
                    query("jurisdiction_id", "A province's or commune's GSO code."),
                ],
            ),
            (
                HttpMethod::Post,
                "requests",
                "Files a case (form-encoded: api_key, jurisdiction_id = the commune's GSO code, service_code, description, lat, long, address_string, first_name, last_name, phone, email).",
                vec![],
            ),
        ];
        for (method, name, summary, parameters) in operations {
            for format in ["json", "xml"] {
                let operation = OperationBuilder::new()
                    .tag("Open311 GeoReport v2")
                    .summary(Some(summary))
                    .parameters(Some(parameters.clone()))
                    .response(
                        "200",
                        ResponseBuilder::new().description("The GeoReport document.").build(),
                    )
                    .response(
                        "400",
                        ResponseBuilder::new()
                            .description("GeoReport errors: a malformed filter or an invalid case.")
                            .build(),
                    )
                    .response(
                        "403",
                        ResponseBuilder::new()
                            .description("GeoReport errors: missing, wrong or revoked api_key.")
                            .build(),
                    )
                    .response(
                        "404",
                        ResponseBuilder::new()
                            .description("GeoReport errors: no such resource.")
                            .build(),
                    )
                    .build();
                openapi.paths.add_path_operation(
                    format!("/open311/v2/{name}.{format}"),
                    vec![method.clone()],
                    operation,
                );
            }
        }
        let one = OperationBuilder::new()
            .tag("Open311 GeoReport v2")
            .summary(Some("One public case by its tracking code."))
            .response(
                "200",
                ResponseBuilder::new().description("The GeoReport document.").build(),
            )
            .response(
                "404",
                ResponseBuilder::new()
                    .description("GeoReport errors: no such public case.")
                    .build(),
            )
            .build();
        for format in ["json", "xml"] {
            openapi.paths.add_path_operation(
                format!("/open311/v2/requests/{{service_request_id}}.{format}"),
                vec![HttpMethod::Get],
                one.clone(),
            );
        }
    }
}
