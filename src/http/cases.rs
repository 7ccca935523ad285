//! Citizens' feedback on the web: the report form `/f/{commune}` (with photos), the public tracking page
//! `/t/{code}` (state, deadline, the official answer; never the reporter's contact), and the reporter's reply,
//! reopening and rating, which need the reporter key the browser got when filing.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use uuid::Uuid;

use super::device::{Device, csrf_ok, csrf_token, device_of, forbidden, reporter_cookie_name, reporter_key};
use super::error::{OnPage, PageError};
use super::pages::{PageQuery, error_page, layout, with_lang};
use super::render::{image_response, redirect, vn_time};
use super::{ApiError, AppState};
use crate::domain::cases::{Case, CaseState};
use crate::domain::{Channel, Lang, Problem};
use crate::services::Error;
use crate::services::cases::{
    CaseView, Intake, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_REPORT_PHOTO_BYTES,
};

/// The largest report body accepted on the form: its photos (20 MB together) and a mebibyte for the rest.
pub const MAX_REPORT_BYTES: usize = MAX_REPORT_PHOTO_BYTES + 1024 * 1024;

/// The tracking pages of cases and the reporter's actions on them.
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/t/{code}", get(show_tracking))
        .route("/t/{code}/files/{id}", get(show_case_file))
        .route("/t/{code}/{action}", post(post_reporter_action))
}

/// The report form, which takes photos.
pub(super) fn upload_routes() -> axum::Router<AppState> {
    axum::Router::new().route("/f/{commune}", axum::routing::get(show_report_form).post(submit_report))
}

/// What the form had, to show it again after a refusal.
#[derive(Default)]
struct Typed {
    category: String,
    text: String,
    lat: String,
    lon: String,
    name: String,
    phone: String,
    email: String,
    /// "Cho phép công khai" and "kèm ảnh" ticked.
    public: bool,
    public_photos: bool,
}

/// `GET /f/{commune}`: the report form.
pub async fn show_report_form(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let browser = Device::of(&state, &headers);
    let device = &browser.token;
    browser.remembered(
        &state,
        report_page(&state, &commune, lang, device, &Typed::default(), &[]).await,
    )
}

async fn report_page(
    state: &AppState,
    commune: &str,
    lang: Lang,
    device: &str,
    typed: &Typed,
    problems: &[Problem],
) -> Response {
    let path = format!("/f/{commune}");
    let unit = match crate::services::units::commune_on(&state.store, commune.trim(), super::today_in_vietnam()).await {
        Ok(u) => u,
        Err(e) => return error_page(lang, &path, e),
    };
    let errors: HashMap<&str, Vec<&str>> = problems.iter().fold(HashMap::new(), |mut m, p| {
        let field = p.field.split('[').next().unwrap_or(&p.field);
        m.entry(field).or_default().push(p.message.get(lang));
        m
    });
    let err = |field: &str| -> Markup {
        html! { @for e in errors.get(field).into_iter().flatten() { p.err { (e) } } }
    };
    let body = html! {
        h1 { (lang.t("Gửi phản ánh, kiến nghị", "Send feedback")) " – " (unit.name) }
        p.muted { (lang.t("Phản ánh được chuyển đến bộ phận có thẩm quyền và trả lời trong thời hạn. Thông tin liên hệ của anh/chị chỉ bộ phận tiếp nhận được xem.",
                          "Your report goes to the competent office and is answered within the deadline. Only the intake desk sees your contact details.")) }
        @if !problems.is_empty() {
            div.summary role="alert" { p.err { (lang.t("Xin xem lại các mục được đánh dấu. Nếu đã chọn ảnh, xin chọn lại.", "Please check the marked fields. If you chose photos, please choose them again.")) } }
        }
        form method="post" action=(path) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf_token(state, device));
            input type="hidden" name="lang" value=(lang.code());
            fieldset.q { legend { (lang.t("Loại phản ánh", "Category")) }
                (err("category"))
                @for c in state.cases.categories() {
                    label.opt { input type="radio" name="category" value=(c.code) checked[typed.category == c.code]; span { (c.name().get(lang)) } }
                }
            }
            fieldset.q { legend { label for="text" { (lang.t("Nội dung: việc gì, ở đâu, từ khi nào", "What, where, since when")) } }
                (err("text"))
                textarea id="text" name="text" rows="6" maxlength=(crate::services::cases::MAX_TEXT_CHARS) required { (typed.text) }
            }
            fieldset.q { legend { label for="photos" { (lang.t("Ảnh (không bắt buộc, tối đa 5 ảnh, mỗi ảnh ≤ 10 MB, cả thảy ≤ 20 MB)", "Photos (optional, up to 5, ≤ 10 MB each, ≤ 20 MB together)")) } }
                (err("photos"))
                input id="photos" type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple;
                p.help { (lang.t("Thông tin vị trí, thiết bị trong ảnh được xoá trước khi lưu.", "Location and device data inside photos are removed before storing.")) }
            }
            fieldset.q { legend { (lang.t("Vị trí (không bắt buộc)", "Location (optional)")) }
                (err("location"))
                label { (lang.t("Vĩ độ", "Latitude")) input type="text" inputmode="decimal" name="lat" value=(typed.lat); }
                label { (lang.t("Kinh độ", "Longitude")) input type="text" inputmode="decimal" name="lon" value=(typed.lon); }
            }
            fieldset.q { legend { (lang.t("Liên hệ (không bắt buộc, chỉ bộ phận tiếp nhận được xem)", "Contact (optional, seen by the intake desk only)")) }
                // The same limits as the service checks, for the API and the chats too.
                (err("name"))
                label { (lang.t("Họ tên", "Name")) input type="text" name="name" maxlength=(MAX_NAME_CHARS) value=(typed.name); }
                (err("phone"))
                label { (lang.t("Số điện thoại", "Phone")) input type="tel" name="phone" maxlength=(MAX_PHONE_CHARS) value=(typed.phone); }
                (err("email"))
                label { "Email" input type="email" name="email" maxlength=(MAX_EMAIL_CHARS) value=(typed.email); }
            }
            fieldset.q { legend { (lang.t("Công khai (không bắt buộc)", "Publication (optional)")) }
                label.opt { input type="checkbox" name="public" value="1" checked[typed.public];
                    span { (lang.t("Cho phép công khai phản ánh này khi đã có trả lời, để người dân khác cùng theo dõi",
                                   "Allow this report to be shown publicly once answered, so that other citizens can follow it")) } }
                label.opt { input type="checkbox" name="public_photos" value="1" checked[typed.public_photos];
                    span { (lang.t("Công khai cả ảnh", "Show the photos too")) } }
                p.help { (lang.t("Không bao giờ công khai tên, số điện thoại, email hay vị trí chính xác của anh/chị; cán bộ có thể lược bớt nội dung trước khi công khai.",
                                 "Your name, phone, email and exact location are never shown; officials may shorten the text before it is shown.")) }
            }
            div.actions { button type="submit" { (lang.t("Gửi phản ánh", "Send")) } }
        }
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        Html(
            layout(
                lang,
                &format!("/f/{commune}"),
                lang.t("Gửi phản ánh", "Send feedback"),
                body,
            )
            .into_string(),
        ),
    )
        .into_response()
}

/// `POST /f/{commune}`: stores the report, gives the browser the reporter key, and goes to the tracking page.
pub async fn submit_report(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut photos: Vec<Vec<u8>> = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "photos" {
                    match field.bytes().await {
                        Ok(b) if !b.is_empty() => photos.push(Vec::from(b)),
                        Ok(_) => {}
                        Err(e) => return unreadable(&commune, &e),
                    }
                } else {
                    match field.text().await {
                        Ok(text) => {
                            fields.insert(name, text);
                        }
                        Err(e) => return unreadable(&commune, &e),
                    }
                }
            }
            Ok(None) => break,
            Err(e) => return unreadable(&commune, &e),
        }
    }
    let lang = Lang::from_code(fields.get("lang").map(String::as_str));
    let path = format!("/f/{commune}");
    let Some(device) =
        device_of(&state, &headers).filter(|d| csrf_ok(&state, d, fields.get("csrf").map(String::as_str)))
    else {
        return forbidden(lang, &path);
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let typed = Typed {
        category: get("category"),
        text: get("text"),
        lat: get("lat"),
        lon: get("lon"),
        name: get("name"),
        phone: get("phone"),
        email: get("email"),
        public: fields.contains_key("public"),
        public_photos: fields.contains_key("public_photos"),
    };
    let number = |s: &str| s.trim().replace(',', ".").parse::<f64>().ok();
    let (lat, lon) = (number(&typed.lat), number(&typed.lon));
    let mut problems = Vec::new();
    if (!typed.lat.trim().is_empty() && lat.is_none()) || (!typed.lon.trim().is_empty() && lon.is_none()) {
        problems.push(Problem::new(
            "location",
            "invalid_location",
            crate::domain::Text::new(
                "Vĩ độ, kinh độ phải là số, ví dụ 20.6634.",
                "Latitude and longitude are numbers, e.g. 20.6634.",
            ),
        ));
    }
    let intake = Intake {
        commune: commune.clone(),
        category: typed.category.clone(),
        text: typed.text.clone(),
        lat,
        lon,
        name: Some(typed.name.clone()),
        phone: Some(typed.phone.clone()),
        email: Some(typed.email.clone()),
        photos,
        channel: Channel::Web,
        reporter_chat: None,
        public: typed.public,
        public_photos: typed.public_photos,
        address: None,
        voice_notes: Vec::new(),
    };
    if !problems.is_empty() {
        return report_page(&state, &commune, lang, &device, &typed, &problems).await;
    }
    match state.cases.submit(intake, Utc::now()).await {
        Ok(done) => {
            let mut r = redirect(&with_lang(&format!("/t/{}", done.code), lang));
            let cookie = format!(
                "{}={}; Path=/t/{}; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
                reporter_cookie_name(&done.code),
                done.reporter_key,
                done.code,
                state.secure_cookie()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(SET_COOKIE, v);
            }
            r
        }
        Err(Error::InvalidCase(problems)) => report_page(&state, &commune, lang, &device, &typed, &problems).await,
        Err(e) => error_page(lang, &path, e),
    }
}

/// The page for a form that could not be read to its end: too large, or broken on the way (a cut connection, a
/// broken boundary).
fn unreadable(commune: &str, error: &axum::extract::multipart::MultipartError) -> Response {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(commune, Lang::Vi);
    }
    super::pages::message_page(
        Lang::Vi,
        &format!("/f/{commune}"),
        StatusCode::BAD_REQUEST,
        "Biểu mẫu không đọc được",
        "Nội dung gửi lên không trọn vẹn (có thể mạng đã ngắt giữa chừng). Xin bấm “Quay lại” và gửi lại.",
    )
}

fn too_large(commune: &str, lang: Lang) -> Response {
    super::pages::message_page(
        lang,
        &format!("/f/{commune}"),
        StatusCode::PAYLOAD_TOO_LARGE,
        lang.t("Tệp quá lớn", "Upload too large"),
        lang.t(
            "Tổng dung lượng ảnh quá lớn (tối đa 5 ảnh, mỗi ảnh 10 MB, cả thảy 20 MB). Xin quay lại và chọn ảnh nhỏ hơn.",
            "The photos are too large in total (up to 5, 10 MB each, 20 MB together). Please go back and choose smaller ones.",
        ),
    )
}

/// `GET /t/{code}`: the public tracking page.
pub async fn show_tracking(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let path = format!("/t/{code}");
    let view = state.cases.view(&code).await.on_page(lang, &path)?;
    let case = &view.case;
    let browser = Device::of(&state, &headers);
    let device = &browser.token;
    let is_reporter = match reporter_key(&headers, &case.code) {
        Some(key) => state.cases.is_reporter(case, &key).await.unwrap_or(false),
        None => false,
    };
    let markup = tracking_page(&state, &view, lang, is_reporter, device);
    Ok(browser.remembered(
        &state,
        Html(layout(lang, &path, &case.code, markup).into_string()).into_response(),
    ))
}

/// How one message to the reporter went out, or why it waits (Zalo's reply window and quota, issue 18).
fn delivery_label(lang: Lang, sent_as: Option<&str>, error: Option<&str>) -> String {
    let waiting = crate::services::outbox::WAITING_PREFIX;
    match (sent_as, error) {
        (Some("reply"), _) => lang
            .t(
                "Đã gửi (tin phản hồi Zalo, miễn phí trong 48 giờ)",
                "Sent (Zalo reply, free within 48 hours)",
            )
            .to_owned(),
        (Some("proactive"), _) => lang
            .t(
                "Đã gửi (tin chủ động Zalo, tính vào hạn mức tháng)",
                "Sent (Zalo proactive message, on the monthly quota)",
            )
            .to_owned(),
        (Some("direct"), _) => lang.t("Đã gửi", "Sent").to_owned(),
        (Some("opted_out" | "unsubscribed"), _) => lang
            .t(
                "Không gửi: người dân đã dừng nhận tin",
                "Not sent: the citizen stopped messages",
            )
            .to_owned(),
        (_, Some(e)) if e.starts_with(waiting) => {
            format!("{}{}", lang.t("Đang chờ: ", "Waiting: "), e.trim_start_matches(waiting))
        }
        (_, Some(_)) => lang
            .t(
                "Đang chờ gửi lại (lần trước không thành công)",
                "Waiting to be sent again (the last try failed)",
            )
            .to_owned(),
        _ => lang.t("Đang chờ gửi", "Queued").to_owned(),
    }
}

fn tracking_page(state: &AppState, view: &CaseView, lang: Lang, is_reporter: bool, device: &str) -> Markup {
    let case = &view.case;
    let case_state = case.state;
    let waiting = view.waiting_messages;
    let chat = case.channel.label();
    let action = format!("/t/{}", case.code);
    html! {
        p.muted { (lang.t("Mã theo dõi", "Tracking code")) }
        h1 { (case.code) }
        p { strong { (case_state.label().get(lang)) } " · " (view.category_name(lang)) " · " (view.unit.name) }
        p.muted { (lang.t("Gửi lúc ", "Sent at ")) (vn_time(case.received_at))
            @if let Some(due) = case.due_now() { " · " (lang.t("hạn xử lý ", "due ")) (vn_time(due)) } }
        p { (case.text) }
        @if let Some(original) = &view.original {
            p.summary { (lang.t("Phản ánh này trùng với một phản ánh đang được xử lý. Xin theo dõi phản ánh gốc: ",
                                "This report duplicates one being handled. Please follow the original: "))
                a href=(with_lang(&format!("/t/{original}"), lang)) { (original) } }
        }
        @if view.report_photos().next().is_some() {
            p.muted { (view.report_photos().count()) " " (lang.t("ảnh đính kèm", "photos attached")) }
        }
        @for a in &view.answers {
            section.answer {
                h2 { (lang.t("Trả lời của cơ quan xử lý", "The authorities' answer")) }
                p { (a.what_was_done) }
                p.muted { (lang.t("Đơn vị xử lý: ", "Handled by: ")) (a.by_unit) " · " (vn_time(a.at)) }
                @if let Some(basis) = &a.legal_basis { p.muted { (lang.t("Căn cứ: ", "Legal basis: ")) (basis) } }
            }
        }
        @let evidence: Vec<_> = view.evidence().collect();
        @if !evidence.is_empty() {
            p { (lang.t("Hình ảnh kết quả: ", "Evidence: "))
                @for (i, f) in evidence.iter().enumerate() { a href=(format!("{action}/files/{}", f.id)) { (lang.t("ảnh ", "photo ")) (i + 1) } " " } }
        }
        @if waiting > 0 {
            p.summary { (lang.t(&format!("{waiting} tin báo về phản ánh này đang chờ gửi đến {chat} của người phản ánh: \
                                          {chat} chỉ cho gửi khi người dân vừa nhắn cho kênh. Hãy nhắn một tin bất kỳ \
                                          cho kênh để nhận."),
                                &format!("{waiting} update(s) on this report wait to be sent to the reporter's {chat}: \
                                          {chat} only lets us write after the citizen wrote. Send the channel any \
                                          message to get them."))) }
        }
        @if !view.deliveries.is_empty() {
            h2 { (lang.t("Tin nhắn gửi người phản ánh", "Messages to the reporter")) }
            ol { @for (sent_as, error) in &view.deliveries { li { (delivery_label(lang, sent_as.as_deref(), error.as_deref())) } } }
        }
        h2 { (lang.t("Diễn biến", "Timeline")) }
        ul { @for e in view.public_timeline() {
            li { (vn_time(e.at)) " – " (e.to_state.label().get(lang))
                 @if let Some(note) = &e.note { ": " (note) } }
        } }
        @if let Some(rating) = &view.rating {
            p { (lang.t("Đánh giá của người phản ánh: ", "The reporter's rating: ")) (rating.score) "/5"
                @if let Some(c) = &rating.comment { " – “" (c) "”" } }
        }
        @if is_reporter {
            @if case_state == CaseState::WaitingForCitizen {
                form method="post" action=(format!("{action}/reply")) {
                    input type="hidden" name="csrf" value=(csrf_token(state, device));
                    input type="hidden" name="revision" value=(case.revision);
                    label for="reply" { (lang.t("Bổ sung thông tin", "Add information")) }
                    textarea id="reply" name="text" rows="3" maxlength="2000" required {}
                    div.actions { button type="submit" { (lang.t("Gửi bổ sung", "Send")) } }
                }
            }
            @if matches!(case_state, CaseState::Answered | CaseState::Closed) && view.rating.is_none() {
                form method="post" action=(format!("{action}/rate")) {
                    input type="hidden" name="csrf" value=(csrf_token(state, device));
                    fieldset.q { legend { (lang.t("Anh/chị hài lòng với câu trả lời ở mức nào?", "How satisfied are you with the answer?")) }
                        @for s in 1..=5 { label.opt { input type="radio" name="score" value=(s) required; span { (s) " ★" } } }
                        label for="comment" { (lang.t("Góp ý (không bắt buộc)", "Comment (optional)")) }
                        textarea id="comment" name="comment" rows="2" maxlength="1000" {}
                    }
                    div.actions { button type="submit" { (lang.t("Gửi đánh giá", "Rate")) } }
                }
            }
            @if matches!(case_state, CaseState::Answered | CaseState::Closed) {
                form method="post" action=(format!("{action}/reopen")) {
                    input type="hidden" name="csrf" value=(csrf_token(state, device));
                    label for="reopen" { (lang.t("Vấn đề chưa được giải quyết? Nêu lý do để mở lại:", "Not solved? Say why to reopen it:")) }
                    textarea id="reopen" name="reason" rows="2" maxlength="1000" required {}
                    div.actions { button.secondary type="submit" { (lang.t("Mở lại phản ánh", "Reopen")) } }
                }
            }
        }
    }
}

/// What the reporter posts on the tracking page.
async fn reporter_post(
    state: &AppState,
    code: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(Case, Lang), PageError> {
    let lang = Lang::from_code(form.get("lang").map(String::as_str));
    let path = format!("/t/{code}");
    let case = state.cases.find(code).await.on_page(lang, &path)?;
    let device_ok = device_of(state, headers).is_some_and(|d| csrf_ok(state, &d, form.get("csrf").map(String::as_str)));
    let key_ok = match reporter_key(headers, &case.code) {
        Some(key) => state.cases.is_reporter(&case, &key).await.unwrap_or(false),
        None => false,
    };
    if !(device_ok && key_ok) {
        return Err(forbidden(lang, &path).into());
    }
    Ok((case, lang))
}

/// `POST /t/{code}/reply`, `/rate`, `/reopen`: the reporter's own actions.
pub async fn post_reporter_action(
    State(state): State<AppState>,
    Path((code, what)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (case, lang) = reporter_post(&state, &code, &headers, &form).await?;
    let path = format!("/t/{}", case.code);
    let now = Utc::now();
    let text = form.get("text").or(form.get("reason")).cloned().unwrap_or_default();
    let done = match what.as_str() {
        "reply" => state.cases.citizen_reply(case, text, now).await,
        "reopen" => state.cases.citizen_reopen(case, text, now).await,
        "rate" => {
            let score = form.get("score").and_then(|s| s.parse().ok()).unwrap_or(0);
            state.cases.rate(&case, score, form.get("comment").cloned(), now).await
        }
        _ => Err(Error::CaseNotFound(code.clone())),
    };
    done.on_page(lang, &path)?;
    Ok(redirect(&with_lang(&path, lang)))
}

/// `GET /t/{code}/files/{id}`: evidence attached to an answer (public); the report's own photos only to its
/// reporter. Always served as the stored image type, never sniffed into anything else.
pub async fn show_case_file(
    State(state): State<AppState>,
    Path((code, id)): Path<(String, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = reporter_key(&headers, &code);
    let (content_type, bytes) = state.cases.file_for_citizen(&code, id, key.as_deref()).await?;
    Ok(image_response(content_type, bytes))
}
