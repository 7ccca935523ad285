//! The error types of the HTTP layer and their one status mapping: [`ApiError`] renders the JSON error, and
//! [`PageError`] the page, from the same mapping.
//!
//! Every API error leaves as `{ "error": { "code": "...", "message": "...", "message_en": "..." } }`: service
//! errors through [`ApiError`], and errors made by the framework or middleware (a rejected query string, a body
//! over the limit, a timeout, an unknown route) through [`json_error_shape`], which rewrites them on the way out;
//! on the HTML routes, [`page_error_shape`] turns the same into the Vietnamese error page.

use axum::Json;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Lang;
use crate::services::Error;
use crate::storage::StoreError;

/// An API error: a status, a stable machine code, and a message in Vietnamese and English.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
    /// Problems per field (per question of a response), when there are several.
    pub problems: Vec<ProblemBody>,
}

/// One problem of a request, e.g. one question of a response.
#[derive(Debug, Serialize)]
pub struct ProblemBody {
    /// The question code (or `commune`) the problem is about.
    pub field: String,
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: &'a str,
    message: &'a str,
    message_en: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [ProblemBody],
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            message_en: message_en.into(),
            problems: Vec::new(),
        }
    }

    /// Adds the per-field problems of a refused request.
    pub fn with_problems(mut self, problems: Vec<crate::domain::Problem>) -> Self {
        self.problems = problems
            .into_iter()
            .map(|p| ProblemBody {
                field: p.field,
                code: p.code,
                message: p.message.vi,
                message_en: p.message.en,
            })
            .collect();
        self
    }

    pub fn bad_request(message: impl Into<String>, message_en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message, message_en)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorFields {
                code: self.code,
                message: &self.message,
                message_en: &self.message_en,
                problems: &self.problems,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let unprocessable = |code, vi: String, en: String| Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, vi, en);
        match e {
            Error::UnitNotFound(code) => Self::new(
                StatusCode::NOT_FOUND,
                "unit_not_found",
                format!(
                    "Không có đơn vị hành chính nào mang mã {code}. Mã tỉnh gồm 2 chữ số, mã huyện 3 chữ số, mã xã 5 chữ số."
                ),
                format!(
                    "No administrative unit has code {code}. Province codes have 2 digits, districts 3, communes 5."
                ),
            ),
            Error::NotACommune(code) => Self::new(
                StatusCode::NOT_FOUND,
                "not_a_commune",
                format!("Mã {code} không phải là một xã, phường hiện nay."),
                format!("{code} is not a commune or ward that exists today."),
            ),
            Error::NoOpenWave(name) => Self::new(
                StatusCode::NOT_FOUND,
                "no_open_wave",
                format!("Hiện không có đợt khảo sát nào đang mở tại {name}."),
                format!("No survey wave is open in {name} now."),
            ),
            Error::WaveNotFound(code) => Self::new(
                StatusCode::NOT_FOUND,
                "wave_not_found",
                format!("Không có đợt khảo sát mang mã {code}."),
                format!("No survey wave has code {code}."),
            ),
            Error::WaveClosed(code) => Self::new(
                StatusCode::CONFLICT,
                "wave_closed",
                format!("Đợt khảo sát {code} không nhận câu trả lời vào lúc này (chưa mở hoặc đã đóng)."),
                format!("Survey wave {code} does not accept responses now (not yet open, or closed)."),
            ),
            Error::InvalidResponse(problems) => unprocessable(
                "invalid_response",
                format!("Bản trả lời có {} chỗ chưa hợp lệ; xem từng câu hỏi.", problems.len()),
                format!("The response has {} problem(s); see each question.", problems.len()),
            )
            .with_problems(problems),
            Error::InvalidCase(problems) => unprocessable(
                "invalid_case",
                format!("Phản ánh có {} chỗ chưa hợp lệ; xem từng mục.", problems.len()),
                format!("The case has {} problem(s); see each field.", problems.len()),
            )
            .with_problems(problems),
            Error::Invalid(problems) => unprocessable(
                "invalid_input",
                format!("Có {} chỗ chưa hợp lệ; xem từng mục.", problems.len()),
                format!("There are {} problem(s); see each field.", problems.len()),
            )
            .with_problems(problems),
            Error::CaseNotFound(code) => Self::new(
                StatusCode::NOT_FOUND,
                "case_not_found",
                format!("Không có phản ánh nào mang mã {code}. Xin kiểm tra lại mã theo dõi (dạng PA-XXXX-XXXX)."),
                format!("No feedback case has tracking code {code}. Please check the code (like PA-XXXX-XXXX)."),
            ),
            Error::Forbidden(why) => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Tài khoản của anh/chị không có quyền thực hiện việc này.",
                format!("Your account may not do this: {why}."),
            ),
            Error::Stale(code) => Self::new(
                StatusCode::CONFLICT,
                "stale",
                format!("Phản ánh {code} vừa được người khác cập nhật. Xin tải lại trang và thực hiện lại."),
                format!("Case {code} was just changed by someone else. Please reload the page and try again."),
            ),
            Error::InvalidQuestionnaire(errors) => unprocessable(
                "invalid_questionnaire",
                "Bảng hỏi không hợp lệ.".into(),
                errors.to_string(),
            ),
            Error::InvalidWave(problems) => unprocessable(
                "invalid_wave",
                "Không tạo được đợt khảo sát.".into(),
                problems.join("; "),
            ),
            Error::Conflict(message) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "Yêu cầu xung đột với dữ liệu hiện có.",
                message,
            ),
            Error::BadRequest(message) => Self::bad_request(message.clone(), message),
            Error::Busy(message) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Đang tính điểm từ các phiếu trả lời đã lưu. Xin tải lại trang sau ít phút.",
                format!("{message}; reload in a few minutes."),
            ),
            Error::Unavailable(message) => {
                tracing::error!(%message, "a computation failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unavailable",
                    "Chưa tính được số liệu lúc này. Xin thử lại sau ít phút.",
                    "The figures cannot be computed right now. Please try again in a few minutes.",
                )
            }
            Error::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Không tìm thấy dữ liệu được yêu cầu.",
                format!("{what} was not found."),
            ),
            StoreError::Conflict(what) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "Dữ liệu này đã tồn tại.",
                format!("{what} already exists."),
            ),
            other => {
                // The detail goes to the log, not to the client.
                tracing::error!(error = %other, "storage failed while answering a request");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "Hệ thống tạm thời không truy cập được dữ liệu. Vui lòng thử lại sau ít phút.",
                    "The service cannot reach its data right now. Please try again in a few minutes.",
                )
            }
        }
    }
}

/// The machine code and the two messages for an error status made outside the handlers.
fn describe(status: StatusCode) -> (&'static str, &'static str, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "Dữ liệu gửi lên quá lớn.",
            "The request body is larger than this endpoint accepts.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "Yêu cầu xử lý quá lâu và đã bị dừng.",
            "The request took too long and was stopped.",
        ),
        StatusCode::NOT_FOUND => ("not_found", "Không có địa chỉ này.", "No such endpoint."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Phương thức không được hỗ trợ ở địa chỉ này.",
            "This method is not allowed here.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Định dạng dữ liệu không được hỗ trợ.",
            "Unsupported content type.",
        ),
        s if s.is_server_error() => ("internal", "Đã có lỗi trong hệ thống.", "Internal error."),
        _ => ("bad_request", "Yêu cầu không hợp lệ.", "The request is not valid."),
    }
}

/// Rewrites non-JSON error responses under `/api/` into the API's error shape, keeping the framework's
/// explanation (e.g. which query parameter failed) in `message_en`.
pub async fn json_error_shape(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if !is_api
        || !(status.is_client_error() || status.is_server_error())
        || content_type.starts_with(b"application/json")
    {
        return response;
    }
    let (code, message, default_en) = describe(status);
    // The framework explains rejections in plain text (which parameter, why); HTML pages are not kept.
    let detail = if content_type.starts_with(b"text/plain") && !status.is_server_error() {
        let bytes = to_bytes(response.into_body(), 4096).await.unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    } else {
        String::new()
    };
    let message_en = if detail.is_empty() {
        default_en.to_owned()
    } else {
        detail
    };
    let mut rewritten = ApiError::new(status, code, message, message_en).into_response();
    rewritten
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rewritten
}

/// Paths whose pages show personal data (the console: reporters' contacts; a case's tracking page and the
/// feedback form, with what the citizen typed): never kept by a browser's or a proxy's cache.
const NO_STORE_PREFIXES: &[&str] = &["/console", "/t/", "/f/"];

/// Paths answered to machines, whose errors stay as they are (Open311 with its GeoReport errors, webhooks, health,
/// metrics) — the API has its own shape ([`json_error_shape`]).
const MACHINE_PREFIXES: &[&str] = &["/api/", "/open311/", "/webhooks/", "/healthz", "/metrics"];

/// On the HTML routes: every error the framework or a middleware makes (a form it cannot read, a multipart body
/// with a broken boundary or a duplicate field, a body over the limit, a timeout) becomes the Vietnamese error
/// page instead of a line of English text; and pages with personal data get `Cache-Control: no-store`.
pub async fn page_error_shape(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let lang = if request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "lang=en"))
    {
        Lang::En
    } else {
        Lang::Vi
    };
    let mut response = next.run(request).await;
    if MACHINE_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return response;
    }
    let status = response.status();
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_page {
        let (title, text) = page_text(status);
        response = super::pages::message_page(lang, &path, status, lang.t(title.0, title.1), lang.t(text.0, text.1));
    }
    if NO_STORE_PREFIXES.iter().any(|p| path.starts_with(p)) && !response.headers().contains_key(header::CACHE_CONTROL)
    {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The title and the text of the error page for a status made outside the handlers, in Vietnamese and English.
fn page_text(status: StatusCode) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            ("Dữ liệu gửi lên quá lớn", "Too much data"),
            (
                "Nội dung hoặc ảnh gửi lên lớn hơn mức trang này nhận. Xin bấm “Quay lại”, bớt ảnh hoặc chọn ảnh nhỏ hơn rồi gửi lại.",
                "What was sent is larger than this page accepts. Please go back, remove a photo or pick smaller ones, and send again.",
            ),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ("Quá thời gian chờ", "Took too long"),
            (
                "Yêu cầu xử lý quá lâu và đã bị dừng. Xin thử lại sau ít phút.",
                "The request took too long and was stopped. Please try again in a few minutes.",
            ),
        ),
        StatusCode::NOT_FOUND => (
            ("Không tìm thấy trang", "Page not found"),
            ("Địa chỉ này không có trên ykien.", "There is no such page on ykien."),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ("Không thực hiện được", "Cannot be done"),
            (
                "Địa chỉ này không nhận thao tác vừa gửi. Xin mở lại trang từ đường dẫn hoặc mã QR.",
                "This address does not take that request. Please open the page again from its link or QR code.",
            ),
        ),
        s if s.is_server_error() => (
            ("Tạm thời gián đoạn", "Temporarily unavailable"),
            (
                "Hệ thống đang gặp sự cố. Xin thử lại sau ít phút.",
                "The service has a problem right now. Please try again in a few minutes.",
            ),
        ),
        _ => (
            ("Biểu mẫu không đọc được", "The form cannot be read"),
            (
                "Nội dung gửi lên không đúng dạng (có thể trình duyệt hoặc mạng đã ngắt giữa chừng). Xin bấm “Quay lại” và gửi lại.",
                "What was sent is not in the expected form (the browser or the network may have cut it short). Please go back and send it again.",
            ),
        ),
    }
}

/// Why a page could not be shown, as the page that says so: in the page's language, with the status the API
/// would give for the same error. Page handlers return `Result<Response, PageError>` and use `?` on services
/// through [`OnPage::on_page`]; extractors reject with it. Boxed: a response is large, an error path is rare.
pub struct PageError(Box<Response>);

impl PageError {
    /// The page for a service error.
    pub fn new(lang: Lang, path: &str, error: impl Into<Error>) -> Self {
        Self::from(super::pages::error_page(lang, path, error.into()))
    }

    /// A page with its own title and text.
    pub fn message(lang: Lang, path: &str, status: StatusCode, title: &str, text: &str) -> Self {
        Self::from(super::pages::message_page(lang, path, status, title, text))
    }

    /// The 404 page of a console thing that does not exist (`title`: "there is no such …").
    pub fn no_such(lang: Lang, path: &str, title: &str) -> Self {
        Self::message(lang, path, StatusCode::NOT_FOUND, title, "Đường dẫn không đúng.")
    }

    /// The id in a console path, or [`PageError::no_such`] when it is not one.
    pub fn path_id(id: &str, lang: Lang, path: &str, title: &str) -> Result<uuid::Uuid, Self> {
        id.parse().map_err(|_| Self::no_such(lang, path, title))
    }
}

impl From<Response> for PageError {
    fn from(response: Response) -> Self {
        Self(Box::new(response))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Turns a service result into a page result: `state.cases.view(code).await.on_page(lang, &path)?`.
pub trait OnPage<T> {
    fn on_page(self, lang: Lang, path: &str) -> Result<T, PageError>;
}

impl<T, E: Into<Error>> OnPage<T> for Result<T, E> {
    fn on_page(self, lang: Lang, path: &str) -> Result<T, PageError> {
        self.map_err(|e| PageError::new(lang, path, e))
    }
}
