//! The officials' side of making results public: a leader or administrator publishes or withdraws a wave's
//! numbers for a province from the dashboard, and an official clears the text of a case its reporter let be public.
//! Both are audit logged by the service.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::AppState;
use super::error::{OnPage, PageError};
use super::render::{redirect, vn_time};
use super::session::{Leader, SignedIn};
use crate::domain::Lang;
use crate::domain::cases::Case;
use crate::domain::survey::PlanPeriod;
use crate::domain::units::UnitLevel;
use crate::services::Error;
use crate::services::accounts::Role;
use crate::services::publication::Published;
use crate::services::{posters, units};

const LANG: Lang = Lang::Vi;

pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/console/dashboard/publications", post(post_publication))
        .route("/console/cases/{code}/public", post(post_public_text))
        .route("/console/posters/{file}", axum::routing::get(show_posters))
}

/// The dashboard's publish form.
#[derive(Debug, Deserialize)]
struct PublicationForm {
    csrf: String,
    province: String,
    wave: String,
    /// A report period, or `all` for the whole wave.
    period: String,
    /// `publish` or `withdraw`.
    action: String,
}

fn period_of(text: &str) -> Result<Option<PlanPeriod>, PageError> {
    match text.trim() {
        "" | "all" => Ok(None),
        p => p.parse().map(Some).map_err(|e: String| {
            PageError::message(
                LANG,
                "/console/dashboard",
                StatusCode::BAD_REQUEST,
                "Kỳ báo cáo không hợp lệ",
                &e,
            )
        }),
    }
}

/// `POST /console/dashboard/publications`: publish or withdraw, then back to the dashboard.
async fn post_publication(
    State(state): State<AppState>,
    Leader(leader): Leader,
    Form(form): Form<PublicationForm>,
) -> Result<Response, PageError> {
    leader.check_csrf(&state, Some(&form.csrf))?;
    let period = period_of(&form.period)?;
    let home = "/console/dashboard";
    let now = Utc::now();
    match form.action.as_str() {
        "publish" => state
            .publications
            .publish(&leader.official, &form.province, &form.wave, period, now)
            .await
            .map(drop)
            .on_page(LANG, home)?,
        "withdraw" => state
            .publications
            .withdraw(&leader.official, &form.province, &form.wave, period, now)
            .await
            .on_page(LANG, home)?,
        other => {
            return Err(PageError::message(
                LANG,
                home,
                StatusCode::BAD_REQUEST,
                "Thao tác không hợp lệ",
                &format!("Không có thao tác «{other}»."),
            ));
        }
    }
    Ok(redirect(&format!(
        "{home}?wave={}#cong-bo-{}",
        form.wave.trim(),
        form.province.trim()
    )))
}

/// The dashboard's panel of a province: what is public now, and the form to publish the shown wave.
pub(super) fn province_panel(
    csrf: &str,
    province: &str,
    wave: &str,
    periods: &[(String, String)],
    published: &[Published],
) -> Markup {
    html! {
        section id=(format!("cong-bo-{province}")) {
            h3 { "Công bố cho người dân" }
            @if published.is_empty() {
                p { "Chưa công bố kết quả nào của tỉnh này: trang công khai chưa có gì." }
            } @else {
                table {
                    thead { tr { th { "Đợt" } th { "Kỳ" } th { "Công bố lúc" } th {} } }
                    tbody { @for p in published {
                        @let period = p.publication.period.map_or_else(|| "all".to_owned(), |x| x.to_string());
                        tr {
                            td { (p.wave.code) }
                            td { (p.publication.period.map_or_else(|| "Toàn bộ đợt".to_owned(), |x| x.to_string())) }
                            td { (vn_time(p.publication.published_at)) }
                            td {
                                a href=(format!("/scores/{province}?wave={}&period={period}", p.wave.code)) { "Xem trang công khai" } " "
                                form.inline method="post" action="/console/dashboard/publications" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="province" value=(province);
                                    input type="hidden" name="wave" value=(p.wave.code);
                                    input type="hidden" name="period" value=(period);
                                    input type="hidden" name="action" value="withdraw";
                                    button.secondary type="submit" { "Thu hồi" }
                                }
                            }
                        }
                    } }
                }
            }
            p { a href=(format!("/console/posters/{province}.pdf")) { "Áp phích của các xã, phường (PDF, mỗi xã một trang A4)" } }
            form method="post" action="/console/dashboard/publications" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="province" value=(province);
                input type="hidden" name="wave" value=(wave);
                input type="hidden" name="action" value="publish";
                label { "Công bố đợt " strong { (wave) } ", kỳ "
                    select name="period" {
                        option value="all" { "Toàn bộ đợt khảo sát" }
                        @for (value, label) in periods { option value=(value) { (label) } }
                    }
                }
                p.help { "Sau khi công bố, điểm của các xã, phường từ 10 người trả lời trở lên, cách trả lời phản ánh và dữ liệu mở hiện trên trang công khai, không cần đăng nhập. Việc công bố và thu hồi được ghi nhật ký." }
                button type="submit" { "Công bố" }
            }
        }
    }
}

/// The redaction form.
#[derive(Debug, Deserialize)]
struct PublicTextForm {
    csrf: String,
    text: String,
}

/// `POST /console/cases/{code}/public`: sets the text shown publicly (blank: back to the text as written).
async fn post_public_text(
    State(state): State<AppState>,
    Path(code): Path<String>,
    session: SignedIn,
    Form(form): Form<PublicTextForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    let path = format!("/console/cases/{code}");
    let view = state
        .cases
        .visible(&session.official, &code)
        .await
        .on_page(LANG, &path)?;
    state
        .publications
        .redact(&session.official, &view.case, Some(&form.text), Utc::now())
        .await
        .on_page(LANG, &path)?;
    Ok(redirect(&format!("/console/cases/{}#cong-khai", view.case.code)))
}

/// The console case page's panel for a case its reporter let be public.
pub(super) fn case_panel(csrf: &str, case: &Case) -> Markup {
    html! {
        @if case.publicity.consent {
            section id="cong-khai" {
                h2 { "Công khai" }
                p.muted {
                    "Người phản ánh cho phép công khai phản ánh này khi đã được trả lời"
                    (if case.publicity.photos { ", kèm ảnh" } else { ", không kèm ảnh" })
                    ". Trang công khai không bao giờ hiện tên, số điện thoại, email hay vị trí chính xác; số điện thoại, số định danh và email trong nội dung được tự động ẩn. "
                    @if case.is_public() { strong { "Đang hiện công khai." } } @else { "Sẽ hiện khi có trả lời chính thức." }
                }
                p { "Nội dung sẽ hiện: " em { (case.public_text()) } }
                form method="post" action=(format!("/console/cases/{}/public", case.code)) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Sửa nội dung công khai (để trống: dùng nguyên văn, đã ẩn thông tin liên hệ) "
                        textarea name="text" rows="4" maxlength="5000" { (case.publicity.cleared_text.clone().unwrap_or_default()) } }
                    button.secondary type="submit" { "Lưu nội dung công khai" }
                }
            }
        }
    }
}

/// `GET /console/posters/{code}.pdf` (a commune, or every commune of a province, a page each) and
/// `/console/posters/{commune}.svg`: the notice-board posters of units within the official's scope.
async fn show_posters(
    State(state): State<AppState>,
    Path(file): Path<String>,
    session: SignedIn,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let path = format!("/console/posters/{file}");
    let not_found = || {
        PageError::message(
            LANG,
            &path,
            StatusCode::NOT_FOUND,
            "Không có áp phích này",
            "Áp phích có dạng MÃ.pdf (một xã, phường hoặc cả tỉnh) hoặc MÃ.svg (một xã, phường).",
        )
    };
    let Some((code, format)) = file.rsplit_once('.').filter(|(_, f)| ["pdf", "svg"].contains(f)) else {
        return Err(not_found());
    };
    let today = super::today_in_vietnam();
    let unit = units::unit_by_code(&state.store, code, today)
        .await
        .on_page(LANG, &path)?;
    let official = &session.official;
    let (province, only) = match unit.level {
        UnitLevel::Province if format == "pdf" => {
            if official.role != Role::Admin && !official.scope.contains(&unit.id) {
                return Err(PageError::new(
                    LANG,
                    &path,
                    Error::Forbidden(format!("{} is outside your units", unit.code)),
                ));
            }
            (unit.code.clone(), None)
        }
        UnitLevel::Commune => {
            if !official.covers(&unit) {
                return Err(PageError::new(
                    LANG,
                    &path,
                    Error::Forbidden(format!("{} is outside your units", unit.code)),
                ));
            }
            let parent = unit.parent_id.ok_or_else(not_found)?;
            (
                state.store.unit(parent).await.on_page(LANG, &path)?.code,
                Some(unit.code.clone()),
            )
        }
        _ => return Err(not_found()),
    };
    let base = super::qr::public_base(&state, &headers);
    let telegram = state.channels.telegram.clone();
    let link = move |commune: &str| telegram.as_ref().and_then(|t| t.commune_link(commune));
    let made = posters::of_province(
        &state.publications,
        &state.store,
        &province,
        only.as_deref(),
        &base,
        &link,
        state.config.zalo.as_ref().and_then(|z| z.oa_link.as_deref()),
    )
    .await
    .on_page(LANG, &path)?;
    let (content_type, bytes) = if format == "svg" {
        let poster = made.first().ok_or_else(not_found)?;
        ("image/svg+xml", posters::svg(poster).on_page(LANG, &path)?.into_bytes())
    } else {
        // Laying out a province's hundred pages is CPU work: off the async threads.
        let pdf = tokio::task::spawn_blocking(move || posters::pdf(&made))
            .await
            .map_err(|e| PageError::new(LANG, &path, Error::Unavailable(format!("the posters stopped: {e}"))))?
            .on_page(LANG, &path)?;
        ("application/pdf", pdf)
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"ap-phich-{code}.{format}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
