//! The officials' console `/console`: login, the inbox of cases within one's scope with filters, a case page
//! with its timeline and the actions the role may take, attachments, and the audit log (administrators).
//!
//! Sessions: a random token in the `yk_session` cookie (HttpOnly, SameSite=Strict, Secure behind HTTPS), stored
//! only as its SHA-256. Every form carries a CSRF token derived from the session; every case form carries the
//! case's revision, so a form built on an older version is refused instead of applied.

// The helpers return the page to send as their error: that is their point, and it is built once per request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::AppState;
use super::cases::{image_response, vn_time};
use super::pages::{error_page, layout, message_page};
use super::survey::redirect;
use crate::domain::Lang;
use crate::domain::cases::{Action, AnswerContent, CaseState, OFFICE_TYPES, REJECTION_REASONS, Tier, office_label};
use crate::services::Error;
use crate::services::accounts::{self, LoginRefused, Official, Role};
use crate::storage::{CaseFilter, CaseRow};

const SESSION_COOKIE: &str = "yk_session";
const LANG: Lang = Lang::Vi;

fn session_token(headers: &HeaderMap) -> Option<String> {
    super::token_cookie(headers, SESSION_COOKIE)
}

fn console_csrf(state: &AppState, token: &str) -> String {
    state.surveys.keyed_hash("console-csrf", token)[..32].to_owned()
}

/// The signed-in official and their session token, or the login page.
pub(super) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<(Official, String), Response> {
    let Some(token) = session_token(headers) else {
        return Err(redirect("/console/login"));
    };
    match accounts::session_official(&state.store, &token, Utc::now()).await {
        Ok(Some(o)) => Ok((o, token)),
        Ok(None) => Err(redirect("/console/login")),
        Err(e) => Err(error_page(LANG, "/console", e)),
    }
}

/// The signed-in official and their session token as an extractor, checked before the request's body is read:
/// a stranger is sent to the login page whatever they post.
pub(super) struct SignedIn(Official, String);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        signed_in(state, &parts.headers).await.map(|(o, t)| Self(o, t))
    }
}

fn check_csrf(state: &AppState, token: &str, given: Option<&str>) -> Result<(), Response> {
    if given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(console_csrf(state, token).as_bytes()))) {
        Ok(())
    } else {
        Err(message_page(
            LANG,
            "/console",
            StatusCode::FORBIDDEN,
            "Phiên làm việc không hợp lệ",
            "Biểu mẫu đã hết hạn. Xin tải lại trang và thực hiện lại.",
        ))
    }
}

pub(super) fn page(title: &str, official: Option<&Official>, body: Markup) -> Markup {
    layout(
        LANG,
        "/console",
        title,
        html! {
            @if let Some(o) = official {
                nav.crumbs {
                    a href="/console" { "Hộp thư phản ánh" } " · "
                    @if matches!(o.role, Role::Admin | Role::Leader) { a href="/console/dashboard" { "Bảng điểm" } " · " }
                    @if o.role == Role::Admin { a href="/console/audit" { "Nhật ký" } " · " }
                    (o.display_name) " (" (o.role.label().vi) ") "
                    form method="post" action="/console/logout" style="display:inline" {
                        button.secondary type="submit" { "Đăng xuất" }
                    }
                }
            }
            (body)
        },
    )
}

/// `GET /console/login`.
pub async fn show_login() -> Response {
    Html(login_page(None).into_string()).into_response()
}

fn login_page(error: Option<&str>) -> Markup {
    page(
        "Đăng nhập",
        None,
        html! {
            h1 { "Đăng nhập dành cho cán bộ" }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form method="post" action="/console/login" {
                label { "Tên đăng nhập" input type="text" name="username" autocomplete="username" required; }
                label { "Mật khẩu" input type="password" name="password" autocomplete="current-password" required; }
                div.actions { button type="submit" { "Đăng nhập" } }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /console/login`.
pub async fn post_login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    match accounts::login(&state.store, &form.username, &form.password, Utc::now()).await {
        Ok(Ok((token, _))) => {
            let secure = state.secure_cookie();
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/console; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
                accounts::SESSION_HOURS * 3600
            );
            let mut r = redirect("/console");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            r
        }
        Ok(Err(LoginRefused::WrongCredentials)) => (
            StatusCode::UNAUTHORIZED,
            Html(login_page(Some("Sai tên đăng nhập hoặc mật khẩu.")).into_string()),
        )
            .into_response(),
        Ok(Err(LoginRefused::Locked { until })) => (
            StatusCode::TOO_MANY_REQUESTS,
            Html(
                login_page(Some(&format!(
                    "Tài khoản tạm khoá do đăng nhập sai nhiều lần; thử lại sau {}.",
                    vn_time(until)
                )))
                .into_string(),
            ),
        )
            .into_response(),
        Err(e) => error_page(LANG, "/console/login", e),
    }
}

/// `POST /console/logout`.
pub async fn post_logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        let _ = accounts::logout(&state.store, &token).await;
    }
    let mut r = redirect("/console/login");
    r.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("yk_session=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    r
}

/// Inbox filters.
#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    state: Option<String>,
    category: Option<String>,
    overdue: Option<String>,
    unit: Option<String>,
}

/// The unit ids an official's lists are limited to: their scope, with the communes of a province.
async fn scope_units(state: &AppState, official: &Official) -> Result<Option<Vec<Uuid>>, Error> {
    if official.role == Role::Admin {
        return Ok(None);
    }
    let mut ids = official.scope.clone();
    for unit in &official.scope {
        ids.extend(state.store.children(*unit).await?.into_iter().map(|u| u.id));
    }
    Ok(Some(ids))
}

/// `GET /console`: the inbox.
pub async fn show_inbox(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<InboxQuery>) -> Response {
    let (official, _) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = Utc::now();
    let mut unit_ids = match scope_units(&state, &official).await {
        Ok(u) => u,
        Err(e) => return error_page(LANG, "/console", e),
    };
    if let Some(code) = q.unit.as_deref().filter(|c| !c.is_empty()) {
        match crate::services::units::unit_by_code(&state.store, code, super::today_in_vietnam()).await {
            Ok(u) if official.covers(&u) => unit_ids = Some(vec![u.id]),
            Ok(_) => return error_page(LANG, "/console", Error::Forbidden(format!("unit {code}"))),
            Err(e) => return error_page(LANG, "/console", e),
        }
    }
    let filter = CaseFilter {
        unit_ids,
        states: q
            .state
            .clone()
            .filter(|s| CaseState::parse(s).is_some())
            .into_iter()
            .collect(),
        category: q.category.clone().filter(|c| !c.is_empty()),
        overdue_at: q.overdue.as_deref().filter(|o| *o == "1").map(|_| now),
        limit: 200,
    };
    let cases = match state.store.list_cases(&filter).await {
        Ok(c) => c,
        Err(e) => return error_page(LANG, "/console", e.into()),
    };
    let body = html! {
        h1 { "Hộp thư phản ánh" }
        form method="get" action="/console" {
            label { "Trạng thái "
                select name="state" { option value="" { "Tất cả" }
                    @for s in CaseState::ALL { option value=(s.as_str()) selected[q.state.as_deref() == Some(s.as_str())] { (s.label().vi) } } } }
            " "
            label { "Loại "
                select name="category" { option value="" { "Tất cả" }
                    @for c in state.cases.categories() { option value=(c.code) selected[q.category.as_deref() == Some(c.code.as_str())] { (c.vi) } } } }
            " "
            label { "Mã xã/phường " input type="text" name="unit" size="6" value=(q.unit.clone().unwrap_or_default()); }
            " "
            label { input type="checkbox" name="overdue" value="1" checked[q.overdue.as_deref() == Some("1")]; " Quá hạn" }
            " " button.secondary type="submit" { "Lọc" }
        }
        p.muted { (cases.len()) " phản ánh" }
        table {
            thead { tr { th { "Mã" } th { "Loại" } th { "Trạng thái" } th.wide { "Tiếp nhận" } th { "Hạn" } } }
            tbody { @for c in &cases {
                @let due = due_of(c);
                @let overdue = due.is_some_and(|d| d < now);
                tr {
                    td { a href=(format!("/console/cases/{}", c.code)) { (c.code) } }
                    td { (state.cases.category(&c.category).map(|x| x.vi.clone()).unwrap_or_else(|| c.category.clone())) }
                    td { (CaseState::parse(&c.state).map(|s| s.label().vi).unwrap_or_else(|| c.state.clone())) }
                    td.wide { (vn_time(c.received_at)) }
                    td { @if let Some(d) = due { @if overdue { strong.err { (vn_time(d)) " – quá hạn" } } @else { (vn_time(d)) } }
                         @if c.escalated_at.is_some() { br; span.err { "đã báo lãnh đạo" } } }
                }
            } }
        }
    };
    Html(page("Hộp thư phản ánh", Some(&official), body).into_string()).into_response()
}

/// The deadline that runs now: acceptance while received, the answer while accepted or assigned.
fn due_of(c: &CaseRow) -> Option<chrono::DateTime<Utc>> {
    match CaseState::parse(&c.state) {
        Some(CaseState::Received) => Some(c.accept_due_at),
        Some(CaseState::Accepted | CaseState::Assigned) => c.answer_due_at,
        _ => None,
    }
}

/// A case the official may see, or the page saying why not.
async fn visible_case(state: &AppState, official: &Official, code: &str) -> Result<CaseRow, Response> {
    let path = format!("/console/cases/{code}");
    let case = state.cases.find(code).await.map_err(|e| error_page(LANG, &path, e))?;
    let unit = state
        .cases
        .unit_of(&case)
        .await
        .map_err(|e| error_page(LANG, &path, e))?;
    if !official.covers(&unit) {
        return Err(error_page(
            LANG,
            &path,
            Error::Forbidden(format!("{code} is outside your units")),
        ));
    }
    Ok(case)
}

/// `GET /console/cases/{code}`.
pub async fn show_case(State(state): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let (official, token) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let case = match visible_case(&state, &official, &code).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match case_page(&state, &official, &token, &case).await {
        Ok(body) => Html(page(&case.code, Some(&official), body).into_string()).into_response(),
        Err(e) => error_page(LANG, &format!("/console/cases/{code}"), e),
    }
}

async fn case_page(state: &AppState, official: &Official, token: &str, case: &CaseRow) -> Result<Markup, Error> {
    let store = &state.store;
    let unit = state.cases.unit_of(case).await?;
    let events = store.case_events(case.id).await?;
    let answers = store.case_answers(case.id).await?;
    let files = store.case_attachments(case.id).await?;
    let reporter = store.case_reporter(case.id).await?;
    let case_state = CaseState::parse(&case.state).unwrap_or(CaseState::Received);
    let csrf = console_csrf(state, token);
    let action_url = format!("/console/cases/{}", case.code);
    // Every action form is multipart, because the answer carries photos and one handler reads them all.
    let form = |name: &'static str, title: &str, fields: Markup| -> Markup {
        html! {
            details.action { summary { (title) }
                form method="post" action=(action_url) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="revision" value=(case.revision);
                    input type="hidden" name="action" value=(name);
                    (fields)
                    div.actions { button type="submit" { (title) } }
                }
            }
        }
    };
    let allowed = |a: &Action| official.role.may(a) && a.allowed_in().contains(&case_state);
    let sample_answer = Action::Answer(AnswerContent {
        what_was_done: String::new(),
        by_unit: String::new(),
        legal_basis: None,
    });
    Ok(html! {
        h1 { (case.code) }
        p { strong { (case_state.label().vi) } " · " (state.cases.category(&case.category).map(|c| c.vi.clone()).unwrap_or_default())
            " · " (unit.name) " · " (Tier::parse(&case.tier).map(|t| t.label().vi).unwrap_or_default()) }
        p.muted { "Tiếp nhận " (vn_time(case.received_at))
            @if let Some(d) = due_of(case) { " · hạn " (vn_time(d)) @if d < Utc::now() { strong.err { " – quá hạn" } } } }
        p { (case.text) }
        p.muted { "Người phản ánh: "
            @if official.role.sees_reporter() {
                (reporter.name.clone().unwrap_or_else(|| "(không nêu tên)".into()))
                @if let Some(p) = &reporter.phone { " · " (p) }
                @if let Some(e) = &reporter.email { " · " (e) }
            } @else { (reporter.pseudonym) }
        }
        @if !files.is_empty() {
            p { "Tệp đính kèm: " @for (i, f) in files.iter().enumerate() {
                a href=(format!("/console/files/{}", f.id)) { (if f.source == "answer" { "kết quả " } else { "ảnh " }) (i + 1) } " " } }
        }
        @for a in &answers {
            section { h2 { "Trả lời" } p { (a.what_was_done) } p.muted { (a.by_unit) " · " (vn_time(a.at))
                @if let Some(b) = &a.legal_basis { " · căn cứ: " (b) } } }
        }
        h2 { "Thao tác" }
        @if allowed(&Action::Accept { tier: Tier::Normal }) {
            (form("accept", "Thụ lý", html! {
                label { "Mức độ " select name="tier" {
                    @for t in [Tier::Urgent, Tier::Normal, Tier::Complex] { option value=(t.as_str()) selected[t.as_str() == case.tier] { (t.label().vi) } } } }
            }))
        }
        @if allowed(&Action::Reject { reason: String::new(), redirect_to: String::new() }) {
            (form("reject", "Không thụ lý", html! {
                label { "Lý do " select name="reason" { @for (code, vi, _) in REJECTION_REASONS { option value=(code) { (vi) } } } }
                label { "Hướng dẫn người dân gửi đến (cơ quan, kênh) " input type="text" name="redirect_to" required; }
            }))
        }
        @if allowed(&Action::Assign { office: String::new() }) {
            (form("assign", "Giao xử lý", html! {
                label { "Bộ phận " select name="office" { @for o in OFFICE_TYPES { option value=(o) selected[o == case.office] { (office_label(o).vi) } } } }
            }))
        }
        @if allowed(&Action::Forward { to_unit: String::new(), note: String::new() }) {
            (form("forward", "Chuyển đơn vị có thẩm quyền", html! {
                label { "Mã xã/phường nhận " input type="text" name="to_unit" required; }
                label { "Lý do " input type="text" name="note" required; }
            }))
        }
        @if allowed(&Action::MarkDuplicate { original: String::new() }) {
            (form("mark_duplicate", "Đánh dấu trùng", html! { label { "Mã phản ánh gốc " input type="text" name="original" required; } }))
        }
        @if allowed(&Action::RequestInfo { question: String::new() }) {
            (form("request_info", "Đề nghị người dân bổ sung", html! { label { "Nội dung cần bổ sung " textarea name="question" required {} } }))
        }
        @if allowed(&Action::Extend { days: 1, reason: String::new() }) {
            (form("extend", "Gia hạn", html! {
                label { "Số ngày làm việc " input type="number" name="days" min="1" max="30" value="2" required; }
                label { "Lý do " input type="text" name="reason" required; }
            }))
        }
        @if allowed(&sample_answer) {
            (form("answer", "Trả lời", html! {
                label { "Việc đã làm (làm gì, ở đâu, khi nào, kết quả) " textarea name="what_was_done" rows="4" required {} }
                label { "Đơn vị xử lý " input type="text" name="by_unit" required; }
                label { "Căn cứ pháp lý (không bắt buộc) " input type="text" name="legal_basis"; }
                label { "Ảnh kết quả (không bắt buộc) " input type="file" name="evidence" accept="image/jpeg,image/png,image/webp" multiple; }
            }))
        }
        @if allowed(&Action::Close) { (form("close", "Đóng phản ánh", html! {})) }
        h2 { "Diễn biến" }
        ul { @for e in &events {
            li { (vn_time(e.at)) " – " (Action::label(&e.action).vi) " → " (CaseState::parse(&e.to_state).map(|s| s.label().vi).unwrap_or_default())
                @if let Some(o) = &e.official { " (" (o) ")" }
                @if let Some(n) = &e.note { ": " (n) }
                @if !e.public { span.muted { " [nội bộ]" } } }
        } }
    })
}

/// `POST /console/cases/{code}`: one action, from a form (multipart when it carries evidence photos).
pub async fn post_case_action(
    State(state): State<AppState>,
    Path(code): Path<String>,
    SignedIn(official, token): SignedIn,
    mut multipart: Multipart,
) -> Response {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut evidence = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "evidence" {
            if let Ok(bytes) = field.bytes().await
                && !bytes.is_empty()
            {
                evidence.push(bytes.to_vec());
            }
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    if let Err(r) = check_csrf(&state, &token, fields.get("csrf").map(String::as_str)) {
        return r;
    }
    let path = format!("/console/cases/{code}");
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let action = match get("action").as_str() {
        "accept" => Action::Accept {
            tier: Tier::parse(&get("tier")).unwrap_or(Tier::Normal),
        },
        "reject" => Action::Reject {
            reason: get("reason"),
            redirect_to: get("redirect_to"),
        },
        "assign" => Action::Assign { office: get("office") },
        "forward" => Action::Forward {
            to_unit: get("to_unit"),
            note: get("note"),
        },
        "mark_duplicate" => Action::MarkDuplicate {
            original: get("original"),
        },
        "request_info" => Action::RequestInfo {
            question: get("question"),
        },
        "extend" => Action::Extend {
            days: get("days").parse().unwrap_or(0),
            reason: get("reason"),
        },
        "answer" => Action::Answer(AnswerContent {
            what_was_done: get("what_was_done"),
            by_unit: get("by_unit"),
            legal_basis: Some(get("legal_basis")),
        }),
        "close" => Action::Close,
        other => {
            return message_page(
                LANG,
                &path,
                StatusCode::BAD_REQUEST,
                "Thao tác không hợp lệ",
                &format!("Không có thao tác «{other}»."),
            );
        }
    };
    let revision: i64 = get("revision").parse().unwrap_or(-1);
    match state
        .cases
        .act(&official, &code, revision, action, evidence, Utc::now())
        .await
    {
        Ok(()) => {
            // The change queued news for the reporter: send it now rather than at the worker's next tick.
            state.outbox.notify_one();
            redirect(&path)
        }
        Err(Error::InvalidCase(problems)) => {
            let text = problems
                .iter()
                .map(|p| p.message.vi.clone())
                .collect::<Vec<_>>()
                .join(" ");
            message_page(
                LANG,
                &path,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Chưa thực hiện được",
                &text,
            )
        }
        Err(e) => error_page(LANG, &path, e),
    }
}

/// `GET /console/files/{id}`: an attachment of a case within the official's scope.
pub async fn show_file(State(state): State<AppState>, Path(id): Path<Uuid>, headers: HeaderMap) -> Response {
    let (official, _) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (case_id, content_type, bytes) = match state.store.attachment(id).await {
        Ok(x) => x,
        Err(e) => return error_page(LANG, "/console", e.into()),
    };
    let visible = match state.store.case_by_id(case_id).await {
        Ok(Some(case)) => state
            .cases
            .unit_of(&case)
            .await
            .is_ok_and(|unit| official.covers(&unit)),
        _ => false,
    };
    if !visible {
        return error_page(
            LANG,
            "/console",
            Error::Forbidden("this file belongs to a case outside your units".into()),
        );
    }
    image_response(content_type, bytes)
}

/// `GET /console/audit`: the newest entries of the audit log (administrators).
pub async fn show_audit(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (official, _) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if official.role != Role::Admin {
        return error_page(
            LANG,
            "/console/audit",
            Error::Forbidden("the audit log is for administrators".into()),
        );
    }
    let entries = match state.store.audit_log(500).await {
        Ok(e) => e,
        Err(e) => return error_page(LANG, "/console/audit", e.into()),
    };
    let body = html! {
        h1 { "Nhật ký thao tác" }
        table { thead { tr { th { "Lúc" } th { "Ai" } th { "Việc" } th { "Đối tượng" } th { "Trước → sau" } } }
            tbody { @for e in &entries { tr {
                td { (vn_time(e.at)) } td { (e.official.clone().unwrap_or_default()) } td { (e.action) } td { (e.target) }
                td { (e.before_state.clone().unwrap_or_default()) " → " (e.after_state.clone().unwrap_or_default()) } } } } }
    };
    Html(page("Nhật ký", Some(&official), body).into_string()).into_response()
}
