//! The intake desk in the console (issue 20, Build 3): `/console/intake` records a case received by hotline, in
//! person, by letter or by email — when it was received (the deadline counts from then), the citizen's contact,
//! the scanned papers (PDF or photos) — and `/console/cases/{code}/receipt` prints its receipt ("Phiếu tiếp nhận
//! phản ánh, kiến nghị") with the tracking code, the dates, the deadline and how to follow the case (link and QR
//! code). A refused form comes back with what was typed and every problem in Vietnamese (the files must be chosen
//! again: browsers never refill a file input).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDateTime, Utc};
use maud::{Markup, html};

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::{redirect, vn_time};
use super::session::SignedIn;
use crate::domain::calendar::{from_vietnam, to_vietnam, vn_day};
use crate::domain::{Channel, Lang, Problem};
use crate::services::Error;
use crate::services::cases::{
    DeskIntake, Intake, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_TEXT_CHARS, Reporter, may_record,
};

const LANG: Lang = Lang::Vi;
const PATH: &str = "/console/intake";
/// How a `datetime-local` input sends a time (Vietnam time, as the desk's clock shows it).
const LOCAL_TIME: &str = "%Y-%m-%dT%H:%M";

/// The desk's form (it takes scanned papers, so it is an upload route) and the receipt.
pub(super) fn upload_routes() -> Router<AppState> {
    Router::new().route("/console/intake", get(show_intake_form).post(post_intake))
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/console/cases/{code}/receipt", get(show_receipt))
}

/// What the form had, to show it again after a refusal.
#[derive(Default)]
struct Typed {
    channel: String,
    received_at: String,
    commune: String,
    category: String,
    text: String,
    address: String,
    name: String,
    phone: String,
    email: String,
}

fn refuse_other_roles(session: &SignedIn) -> Result<(), PageError> {
    if may_record(&session.official) {
        Ok(())
    } else {
        Err(PageError::new(
            LANG,
            PATH,
            Error::Forbidden("only the intake desk records cases".into()),
        ))
    }
}

/// `GET /console/intake`: the form, with the time received set to now.
pub async fn show_intake_form(State(state): State<AppState>, session: SignedIn) -> Result<Response, PageError> {
    refuse_other_roles(&session)?;
    let typed = Typed {
        received_at: to_vietnam(Utc::now()).format(LOCAL_TIME).to_string(),
        channel: Channel::Hotline.as_str().to_owned(),
        ..Typed::default()
    };
    intake_page(&state, &session, &typed, &[]).await
}

async fn intake_page(
    state: &AppState,
    session: &SignedIn,
    typed: &Typed,
    problems: &[Problem],
) -> Result<Response, PageError> {
    let communes = state
        .cases
        .desk_communes(&session.official, vn_day(Utc::now()))
        .await
        .on_page(LANG, PATH)?;
    let errors: HashMap<&str, Vec<&str>> = problems.iter().fold(HashMap::new(), |mut m, p| {
        let field = p.field.split('[').next().unwrap_or(&p.field);
        m.entry(field).or_default().push(p.message.vi.as_str());
        m
    });
    let err = |fields: &[&str]| -> Markup {
        html! { @for f in fields { @for e in errors.get(f).into_iter().flatten() { p.err { (e) } } } }
    };
    let body = html! {
        h1 { "Tiếp nhận phản ánh, kiến nghị" }
        p.muted { "Ghi nhận phản ánh nhận qua đường dây nóng, trực tiếp, thư hoặc thư điện tử. Thời hạn tính từ thời điểm tiếp nhận; sau khi lưu, in phiếu tiếp nhận giao cho người dân." }
        @if !problems.is_empty() {
            div.summary role="alert" { p.err { "Chưa lưu được: xin xem lại các mục được đánh dấu. Nếu đã chọn tệp, xin chọn lại." } }
        }
        form method="post" action=(PATH) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(session.csrf(state));
            fieldset.q { legend { "Kênh và thời điểm tiếp nhận" }
                (err(&["channel"]))
                label { "Kênh " select name="channel" {
                    @for c in Channel::DESK { option value=(c.as_str()) selected[typed.channel == c.as_str()] { (c.label()) } } } }
                (err(&["received_at"]))
                label { "Thời điểm tiếp nhận (giờ Việt Nam) "
                    input type="datetime-local" name="received_at" value=(typed.received_at) required; }
            }
            fieldset.q { legend { "Phản ánh" }
                (err(&["commune"]))
                @if communes.is_empty() {
                    label { "Mã xã/phường " input type="text" name="commune" size="8" value=(typed.commune) required; }
                } @else {
                    label { "Xã/phường " select name="commune" {
                        @for u in &communes { option value=(u.code) selected[typed.commune == u.code] { (u.name) } } } }
                }
                (err(&["category"]))
                label { "Loại " select name="category" {
                    option value="" { "— chọn —" }
                    @for c in state.cases.categories() { option value=(c.code) selected[typed.category == c.code] { (c.vi) } } } }
                (err(&["text"]))
                label { "Nội dung (việc gì, ở đâu, từ khi nào) "
                    textarea name="text" rows="6" maxlength=(MAX_TEXT_CHARS) required { (typed.text) } }
                (err(&["address", "location"]))
                label { "Địa điểm (không bắt buộc) " input type="text" name="address" value=(typed.address); }
            }
            fieldset.q { legend { "Người phản ánh (không bắt buộc)" }
                (err(&["name"]))
                label { "Họ tên " input type="text" name="name" maxlength=(MAX_NAME_CHARS) value=(typed.name); }
                (err(&["phone"]))
                label { "Số điện thoại " input type="tel" name="phone" maxlength=(MAX_PHONE_CHARS) value=(typed.phone); }
                (err(&["email"]))
                label { "Thư điện tử (nhận tin về phản ánh) " input type="email" name="email" maxlength=(MAX_EMAIL_CHARS) value=(typed.email); }
            }
            fieldset.q { legend { "Tài liệu scan (không bắt buộc)" }
                (err(&["files", "photos"]))
                input type="file" name="files" accept="application/pdf,image/jpeg,image/png,image/webp" multiple;
                p.help { "Tệp PDF (tối đa 3 tệp, mỗi tệp ≤ 10 MB) hoặc ảnh (tối đa 5 ảnh); cả thảy ≤ 20 MB." }
            }
            div.actions { button type="submit" { "Lưu và in phiếu tiếp nhận" } }
        }
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Html(
            page(
                "Tiếp nhận phản ánh",
                Some((&session.official, &session.csrf(state))),
                body,
            )
            .into_string(),
        ),
    )
        .into_response())
}

/// `POST /console/intake`: records the case and goes to its receipt, or shows the form again with its problems.
pub async fn post_intake(
    State(state): State<AppState>,
    session: SignedIn,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut files = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "files" {
            if let Ok(bytes) = field.bytes().await
                && !bytes.is_empty()
            {
                files.push(Vec::from(bytes));
            }
        } else if let Ok(text) = field.text().await {
            fields.insert(name, text);
        }
    }
    session.check_csrf(&state, fields.get("csrf").map(String::as_str))?;
    refuse_other_roles(&session)?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let typed = Typed {
        channel: get("channel"),
        received_at: get("received_at"),
        commune: get("commune"),
        category: get("category"),
        text: get("text"),
        address: get("address"),
        name: get("name"),
        phone: get("phone"),
        email: get("email"),
    };
    let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let desk = DeskIntake {
        intake: Intake {
            commune: typed.commune.clone(),
            category: typed.category.clone(),
            text: typed.text.clone(),
            address: optional(&typed.address),
            name: optional(&typed.name),
            phone: optional(&typed.phone),
            email: optional(&typed.email),
            // An unknown name is refused by the service as "pick a channel" (Web is not a desk channel).
            channel: Channel::parse(typed.channel.trim()).unwrap_or(Channel::Web),
            ..Intake::default()
        },
        received_at: NaiveDateTime::parse_from_str(typed.received_at.trim(), LOCAL_TIME)
            .ok()
            .map(from_vietnam),
        files,
    };
    match state.cases.record_at_desk(&session.official, desk, Utc::now()).await {
        Ok(done) => Ok(redirect(&format!("/console/cases/{}/receipt", done.code))),
        Err(Error::InvalidCase(problems)) => intake_page(&state, &session, &typed, &problems).await,
        Err(e) => Err(PageError::new(LANG, PATH, e)),
    }
}

/// `GET /console/cases/{code}/receipt`: the receipt to print and hand to the citizen (any official who may see
/// the case; the contact only for those who may see it).
pub async fn show_receipt(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: axum::http::HeaderMap,
    session: SignedIn,
) -> Result<Response, PageError> {
    let path = format!("/console/cases/{code}/receipt");
    let view = state
        .cases
        .visible(&session.official, &code)
        .await
        .on_page(LANG, &path)?;
    let case = &view.case;
    let recorded = view.timeline.first();
    // The configured public address, else the one this page was asked for (as the posters' QR codes do).
    let base = super::qr::public_base(&state, &headers);
    let tracking = format!("{}/t/{}", base.trim_end_matches('/'), case.code);
    let qr = super::qr::data_uri_svg(&tracking);
    let answer_within = match state.cases.rules().limit_of(case.tier) {
        crate::domain::calendar::Limit::WorkingHours(h) => format!("{h} giờ làm việc"),
        crate::domain::calendar::Limit::WorkingDays(d) => format!("{d} ngày làm việc"),
    };
    let files = view.report_photos().count();
    let body = html! {
        div.receipt {
            p style="text-align:center" { strong { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" } br; "Độc lập – Tự do – Hạnh phúc" }
            p style="text-align:center" { (view.unit.name) }
            h1 style="text-align:center" { "PHIẾU TIẾP NHẬN PHẢN ÁNH, KIẾN NGHỊ" }
            table {
                tbody {
                    tr { th { "Mã phản ánh" } td { strong style="font-size:1.4em" { (case.code) } } }
                    @if let Some(Reporter::Contact(r)) = &view.reporter {
                        tr { th { "Người phản ánh" } td { (r.name.clone().unwrap_or_else(|| "(không nêu tên)".into()))
                            @if let Some(p) = &r.phone { " · " (p) } @if let Some(e) = &r.email { " · " (e) } } }
                    }
                    tr { th { "Kênh tiếp nhận" } td { (case.channel.label()) } }
                    tr { th { "Thời điểm tiếp nhận" } td { (vn_time(case.received_at)) } }
                    @if let Some(e) = recorded.filter(|e| e.action == "intake") {
                        tr { th { "Cán bộ tiếp nhận" } td { (e.official.clone().unwrap_or_default())
                            @if let Some(n) = &e.note { span.muted { " (" (n) ")" } } } }
                    }
                    tr { th { "Loại phản ánh" } td { (view.category_name(LANG)) } }
                    tr { th { "Nội dung" } td { (case.text) } }
                    @if let Some(a) = &case.address { tr { th { "Địa điểm" } td { (a) } } }
                    @if files > 0 { tr { th { "Tài liệu kèm theo" } td { (files) " tệp" } } }
                    tr { th { "Hạn thụ lý" } td { (vn_time(case.accept_due_at)) } }
                    tr { th { "Hạn trả lời" } td { "trong " (answer_within) " kể từ khi thụ lý (không tính ngày nghỉ, ngày lễ)" } }
                }
            }
            h2 { "Theo dõi phản ánh" }
            p { "Tra cứu tình trạng và câu trả lời bằng mã " strong { (case.code) } " tại: " br; a href=(tracking) { (tracking) } }
            @if let Some(src) = qr { img src=(src) alt=(format!("Mã QR mở trang theo dõi {}", case.code)) width="180" height="180"; }
            p.muted { "Hoặc nhắn mã phản ánh cho kênh Zalo, Telegram của xã, phường. Người dân có để lại thư điện tử sẽ nhận tin qua thư điện tử khi phản ánh được thụ lý, trả lời." }
            p.muted { "In lúc " (vn_time(Utc::now())) }
        }
        p { a href=(format!("/console/cases/{}", case.code)) { "Mở phản ánh" } " · " a href=(PATH) { "Tiếp nhận phản ánh khác" } }
    };
    Ok(Html(
        page(
            &format!("Phiếu tiếp nhận {}", case.code),
            Some((&session.official, &session.csrf(&state))),
            body,
        )
        .into_string(),
    )
    .into_response())
}
