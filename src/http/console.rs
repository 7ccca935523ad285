//! The officials' console `/console`: login, the inbox of cases within one's scope with filters, a case page
//! with its timeline and the actions the role may take, attachments, and the audit log (administrators). Who may
//! see which case is decided by the cases service; the session and its CSRF token are `http::session`'s. Every
//! case form carries the case's revision, so a form built on an older version is refused instead of applied.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::error::{OnPage, PageError};
use super::pages::layout;
use super::render::{image_response, redirect, vn_time};
use super::session::{Admin, SignedIn};
use crate::domain::cases::{Action, AnswerContent, CaseState, OFFICE_TYPES, REJECTION_REASONS, Tier, office_label};
use crate::domain::documents::PDF_MIME;
use crate::domain::{Channel, Lang};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::cases::{CaseView, InboxFilter, Reporter};

const LANG: Lang = Lang::Vi;

/// The console's routes; the case page takes uploads (evidence photos), so it comes separately.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(show_inbox))
        .route("/console/files/{id}", get(show_file))
        .route("/console/audit", get(show_audit))
}

/// The case page and its actions, which carry evidence photos.
pub(super) fn upload_routes() -> Router<AppState> {
    Router::new().route("/console/cases/{code}", get(show_case).post(post_case_action))
}

/// A console page; with a signed-in official (and their session's CSRF token, for the logout form), the
/// navigation bar.
pub(super) fn page(title: &str, official: Option<(&Official, &str)>, body: Markup) -> Markup {
    layout(
        LANG,
        "/console",
        title,
        html! {
            @if let Some((o, csrf)) = official {
                nav.crumbs {
                    a href="/console" { "Hộp thư phản ánh" } " · "
                    @if crate::services::cases::may_record(o) { a href="/console/intake" { "Tiếp nhận" } " · " }
                    a href="/console/campaigns" { "Đợt gửi tin" } " · "
                    a href="/console/quizzes" { "Cuộc thi" } " · "
                    @if matches!(o.role, Role::Admin | Role::Leader) { a href="/console/dashboard" { "Bảng điểm" } " · " }
                    @if o.role == Role::Admin { a href="/console/audit" { "Nhật ký" } " · " a href="/console/users" { "Tài khoản" } " · " a href="/console/lockouts" { "Đăng nhập bị chặn" } " · " a href="/console/responses/flagged" { "Phiếu bị đánh dấu" } " · " }
                    a href="/console/account" { (o.display_name) } " (" (o.role.label().vi) ") "
                    form method="post" action="/console/logout" style="display:inline" {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Đăng xuất" }
                    }
                }
            }
            (body)
        },
    )
}

/// Inbox filters.
#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    state: Option<String>,
    category: Option<String>,
    overdue: Option<String>,
    unit: Option<String>,
}

/// `GET /console`: the inbox.
pub async fn show_inbox(
    State(state): State<AppState>,
    session: SignedIn,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let filter = InboxFilter {
        state: q.state.as_deref().and_then(CaseState::parse),
        category: q.category.clone(),
        overdue: q.overdue.as_deref() == Some("1"),
        unit: q.unit.clone(),
    };
    let cases = state
        .cases
        .inbox(&session.official, &filter, now)
        .await
        .on_page(LANG, "/console")?;
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
                @let due = c.due_now();
                @let overdue = c.is_overdue(now);
                tr {
                    td { a href=(format!("/console/cases/{}", c.code)) { (c.code) } }
                    td { (state.cases.category(&c.category).map(|x| x.vi.clone()).unwrap_or_else(|| c.category.clone())) }
                    td { (c.state.label().vi) }
                    td.wide { (vn_time(c.received_at)) }
                    td { @if let Some(d) = due { @if overdue { strong.err { (vn_time(d)) " – quá hạn" } } @else { (vn_time(d)) } }
                         @if c.escalated_at.is_some() { br; span.err { "đã báo lãnh đạo" } } }
                }
            } }
        }
    };
    Ok(Html(
        page(
            "Hộp thư phản ánh",
            Some((&session.official, &session.csrf(&state))),
            body,
        )
        .into_string(),
    )
    .into_response())
}

/// The case page's choices: `?mau=ID` fills the answer form with that answer template.
#[derive(Debug, Default, Deserialize)]
pub struct CaseQuery {
    mau: Option<Uuid>,
}

/// What the case page suggests: cases that may be the same problem, and the answer templates of its category.
struct Suggestions {
    duplicates: Vec<crate::services::cases::DuplicateSuggestion>,
    templates: Vec<crate::services::cases::FilledTemplate>,
    chosen: Option<Uuid>,
}

/// `GET /console/cases/{code}`.
pub async fn show_case(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<CaseQuery>,
    session: SignedIn,
) -> Result<Response, PageError> {
    let path = format!("/console/cases/{code}");
    let view = state
        .cases
        .visible(&session.official, &code)
        .await
        .on_page(LANG, &path)?;
    let suggestions = Suggestions {
        duplicates: state
            .cases
            .duplicate_suggestions(&view, Utc::now())
            .await
            .on_page(LANG, &path)?,
        templates: state.cases.templates_for(&view).await.on_page(LANG, &path)?,
        chosen: q.mau,
    };
    let body = case_page(&state, &session, &view, &suggestions);
    Ok(
        Html(page(&view.case.code, Some((&session.official, &session.csrf(&state))), body).into_string())
            .into_response(),
    )
}

fn case_page(state: &AppState, session: &SignedIn, view: &CaseView, suggestions: &Suggestions) -> Markup {
    let (case, official) = (&view.case, &session.official);
    let case_state = case.state;
    let csrf = session.csrf(state);
    let action_url = format!("/console/cases/{}", case.code);
    // Every action form is multipart, because the answer carries photos and one handler reads them all.
    let form = |name: &'static str, title: &str, fields: Markup| -> Markup {
        html! {
            // The answer's form opens by itself when a template filled it.
            details.action open[name == "answer" && suggestions.chosen.is_some()] { summary { (title) }
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
    html! {
        h1 { (case.code) }
        p { strong { (case_state.label().vi) } " · " (view.category_name(LANG))
            " · " (view.unit.name) " · " (case.tier.label().vi) }
        p.muted { "Tiếp nhận " (vn_time(case.received_at))
            @if let Some(d) = case.due_now() { " · hạn " (vn_time(d)) @if case.is_overdue(Utc::now()) { strong.err { " – quá hạn" } } } }
        p { (case.text) }
        @if case.address.is_some() || case.lat.is_some() {
            p.muted { "Địa điểm: " @if let Some(address) = &case.address { (address) " " }
                @if let (Some(lat), Some(lon)) = (case.lat, case.lon) { "(" (format!("{lat:.5}, {lon:.5}")) ")" } }
        }
        p.muted { "Người phản ánh: "
            @match &view.reporter {
                Some(Reporter::Contact(reporter)) => {
                    (reporter.name.clone().unwrap_or_else(|| "(không nêu tên)".into()))
                    @if let Some(p) = &reporter.phone { " · " (p) }
                    @if let Some(e) = &reporter.email { " · " (e) }
                }
                Some(Reporter::Pseudonym(pseudonym)) => (pseudonym),
                None => {}
            }
        }
        @if view.files.iter().any(|f| !f.content_type.starts_with("audio/")) {
            p { "Tệp đính kèm: " @for (i, f) in view.files.iter().enumerate().filter(|(_, f)| !f.content_type.starts_with("audio/")) {
                a href=(format!("/console/files/{}", f.id)) {
                    (if f.source == "answer" { "kết quả " } else if f.content_type == PDF_MIME { "tài liệu PDF " } else { "ảnh " }) (i + 1) } " " } }
        }
        @if !case.channel.is_chat() && !matches!(case.channel, Channel::Web | Channel::Api) {
            p.muted { "Tiếp nhận qua: " (case.channel.label()) " · " a href=(format!("/console/cases/{}/receipt", case.code)) { "In phiếu tiếp nhận" } }
        }
        @if !view.files.is_empty() {
            // Voice notes play in the page (no script: the browser's own controls), with a link to download them.
            @for (i, f) in view.files.iter().filter(|f| f.content_type.starts_with("audio/")).enumerate() {
                p.voice { "Tin nhắn thoại " (i + 1) ": "
                    audio controls preload="none" src=(format!("/console/files/{}", f.id)) {}
                    " " a href=(format!("/console/files/{}", f.id)) download { "tải về" } }
            }
        }
        @for a in &view.answers {
            section { h2 { "Trả lời" } p { (a.what_was_done) } p.muted { (a.by_unit) " · " (vn_time(a.at))
                @if let Some(b) = &a.legal_basis { " · căn cứ: " (b) } } }
        }
        (super::publish::case_panel(&csrf, case))
        @if !suggestions.duplicates.is_empty() {
            section { h2 { "Có thể trùng với" }
                p.muted { "Phản ánh cùng xã, phường và cùng loại, đang xử lý hoặc trong " (crate::services::cases::RECENT_DAYS) " ngày qua, ở gần hoặc có nội dung giống." }
                ul { @for d in &suggestions.duplicates {
                    li { a href=(format!("/console/cases/{}", d.case.code)) { (d.case.code) } " · " (d.case.state.label().vi)
                        " · " (vn_time(d.case.received_at)) " · " strong { (d.likeness.describe()) } br;
                        span.muted { (d.case.text.chars().take(160).collect::<String>()) }
                        @if allowed(&Action::MarkDuplicate { original: String::new() }) {
                            form method="post" action=(action_url) enctype="multipart/form-data" style="display:inline" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="revision" value=(case.revision);
                                input type="hidden" name="action" value="mark_duplicate";
                                input type="hidden" name="original" value=(d.case.code);
                                " " button.secondary type="submit" { "Đánh dấu trùng với " (d.case.code) }
                            }
                        }
                    }
                } }
            }
        }
        h2 { "Thao tác" }
        @if allowed(&Action::Accept { tier: Tier::Normal }) {
            (form("accept", "Thụ lý", html! {
                label { "Mức độ " select name="tier" {
                    @for t in [Tier::Urgent, Tier::Normal, Tier::Complex] { option value=(t.as_str()) selected[t == case.tier] { (t.label().vi) } } } }
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
            @let chosen = suggestions.chosen.and_then(|id| suggestions.templates.iter().find(|t| t.id == id));
            @if !suggestions.templates.is_empty() {
                p id="mau" { "Mẫu trả lời của loại này: " @for t in &suggestions.templates {
                    a href=(format!("/console/cases/{}?mau={}#tra-loi", case.code, t.id)) { (t.title) } " " } }
            }
            @if let Some(t) = chosen {
                p.muted id="tra-loi" { "Đã điền mẫu «" (t.title) "»: xin sửa cho đúng việc đã làm trước khi gửi." }
            }
            (form("answer", "Trả lời", html! {
                label { "Việc đã làm (làm gì, ở đâu, khi nào, kết quả) " textarea name="what_was_done" rows="4" required {
                    @if let Some(t) = chosen { (t.what_was_done) } } }
                label { "Đơn vị xử lý " input type="text" name="by_unit" required; }
                label { "Căn cứ pháp lý (không bắt buộc) " input type="text" name="legal_basis" value=(chosen.map(|t| t.legal_basis.as_str()).unwrap_or_default()); }
                label { "Ảnh kết quả (không bắt buộc) " input type="file" name="evidence" accept="image/jpeg,image/png,image/webp" multiple; }
            }))
        }
        @if allowed(&Action::Close) { (form("close", "Đóng phản ánh", html! {})) }
        h2 { "Diễn biến" }
        ul { @for e in &view.timeline {
            li { (vn_time(e.at)) " – " (Action::label(&e.action).vi) " → " (e.to_state.label().vi)
                @if let Some(o) = &e.official { " (" (o) ")" }
                @if let Some(n) = &e.note { ": " (n) }
                @if !e.public { span.muted { " [nội bộ]" } } }
        } }
    }
}

/// `POST /console/cases/{code}`: one action, from a form (multipart when it carries evidence photos).
pub async fn post_case_action(
    State(state): State<AppState>,
    Path(code): Path<String>,
    session: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut evidence = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "evidence" {
            if let Ok(bytes) = field.bytes().await
                && !bytes.is_empty()
            {
                evidence.push(Vec::from(bytes));
            }
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    session.check_csrf(&state, fields.get("csrf").map(String::as_str))?;
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
            return Err(PageError::message(
                LANG,
                &path,
                StatusCode::BAD_REQUEST,
                "Thao tác không hợp lệ",
                &format!("Không có thao tác «{other}»."),
            ));
        }
    };
    let revision: i64 = get("revision").parse().unwrap_or(-1);
    match state
        .cases
        .act(&session.official, &code, revision, action, evidence, Utc::now())
        .await
    {
        Ok(()) => {
            // The change queued news for the reporter: send it now rather than at the worker's next tick.
            state.outbox.notify_one();
            Ok(redirect(&path))
        }
        Err(Error::InvalidCase(problems)) => {
            let text = problems
                .iter()
                .map(|p| p.message.vi.clone())
                .collect::<Vec<_>>()
                .join(" ");
            Err(PageError::message(
                LANG,
                &path,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Chưa thực hiện được",
                &text,
            ))
        }
        Err(e) => Err(PageError::new(LANG, &path, e)),
    }
}

/// `GET /console/files/{id}`: an attachment of a case within the official's scope.
pub async fn show_file(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    SignedIn { official, .. }: SignedIn,
) -> Result<Response, PageError> {
    let (content_type, bytes) = state
        .cases
        .file_for_official(&official, id)
        .await
        .on_page(LANG, "/console")?;
    if content_type == PDF_MIME {
        // Downloaded, never shown in the browser's own viewer (a PDF may carry script).
        return Ok((
            [
                (axum::http::header::CONTENT_TYPE, PDF_MIME.to_owned()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.pdf\""),
                ),
                (axum::http::header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            ],
            bytes,
        )
            .into_response());
    }
    Ok(image_response(content_type, bytes))
}

/// `GET /console/audit`: the newest entries of the audit log (administrators).
pub async fn show_audit(State(state): State<AppState>, Admin(session): Admin) -> Result<Response, PageError> {
    let entries = state.store.audit_log(500).await.on_page(LANG, "/console/audit")?;
    let body = html! {
        h1 { "Nhật ký thao tác" }
        table { thead { tr { th { "Lúc" } th { "Ai" } th { "Việc" } th { "Đối tượng" } th { "Trước → sau" } } }
            tbody { @for e in &entries { tr {
                td { (vn_time(e.at)) } td { (e.official.clone().unwrap_or_default()) } td { (e.action) } td { (e.target) }
                td { (e.before_state.clone().unwrap_or_default()) " → " (e.after_state.clone().unwrap_or_default()) } } } } }
    };
    Ok(Html(page("Nhật ký", Some((&session.official, &session.csrf(&state))), body).into_string()).into_response())
}
