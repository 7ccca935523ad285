//! The administrators' page of flagged survey responses (`/console/responses/flagged`): how many per wave and
//! commune, the newest with how they were made, and a button that counts one again.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::html;
use uuid::Uuid;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::{redirect, vn_time};
use super::session::Admin;
use super::session::CsrfForm;
use crate::domain::Lang;
use crate::domain::quality::{MIN_SECONDS_PER_SCREEN, flag_label, screens_per_minute};
use crate::services::quality;

const LANG: Lang = Lang::Vi;
const PATH: &str = "/console/responses/flagged";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/responses/flagged", get(show_flagged))
        .route("/console/responses/{id}/restore", post(post_restore))
}

/// `GET /console/responses/flagged` (administrators).
pub async fn show_flagged(State(state): State<AppState>, Admin(session): Admin) -> Result<Response, PageError> {
    let (counts, responses) = quality::flagged(&state.store, 200).await.on_page(LANG, PATH)?;
    let csrf = session.csrf(&state);
    let body = html! {
        h1 { "Phiếu khảo sát bị đánh dấu" }
        p.muted { "Phiếu được trả lời nhanh hơn " (MIN_SECONDS_PER_SCREEN) " giây mỗi màn hình — điều không người nào làm được — bị đánh dấu và không được tính vào điểm cho đến khi quản trị viên xem lại và khôi phục." }
        h2 { "Theo xã, phường" }
        @if counts.is_empty() { p { "Không có phiếu nào bị đánh dấu." } }
        @else {
            table {
                thead { tr { th { "Đợt" } th { "Xã, phường" } th.num { "Bị đánh dấu" } th.num { "Tổng số phiếu ghi nhận" } } }
                tbody { @for c in &counts { tr {
                    td { (c.wave_code) } td { (c.unit_name) " (" (c.unit_code) ")" } td.num { (c.flagged) } td.num { (c.complete) }
                } } }
            }
        }
        @if !responses.is_empty() {
            h2 { "Phiếu mới nhất bị đánh dấu" }
            table {
                thead { tr { th { "Lúc" } th { "Đợt" } th { "Xã, phường" } th { "Kênh" } th.num { "Màn hình" } th.num { "Giây" } th.num { "Màn hình/phút" } th { "Lý do" } th { "" } } }
                tbody { @for r in &responses { tr {
                    td { (r.flagged_at.map(vn_time).unwrap_or_default()) } td { (r.wave_code) } td { (r.unit_name) }
                    td { (r.channel) } td.num { (r.screens) } td.num { (r.seconds) }
                    td.num { (format!("{:.1}", screens_per_minute(r.screens, r.seconds)).replace('.', ",")) }
                    td { (flag_label(&r.flag)) }
                    td { form method="post" action=(format!("/console/responses/{}/restore", r.response_id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Khôi phục" }
                    } }
                } } }
            }
        }
    };
    Ok(Html(page("Phiếu bị đánh dấu", Some((&session.official, &csrf)), body).into_string()).into_response())
}

/// `POST /console/responses/{id}/restore` (administrators): the response counts again.
pub async fn post_restore(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Admin(session): Admin,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&state, Some(&form.csrf))?;
    quality::restore(&state.store, &session.official, id, Utc::now())
        .await
        .on_page(LANG, PATH)?;
    Ok(redirect(PATH))
}
