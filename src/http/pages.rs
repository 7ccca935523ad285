//! Public HTML pages: server-rendered, no JavaScript, readable on a small phone; Vietnamese by default with an
//! English switch (`?lang=en`). maud escapes everything interpolated.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{AppState, today_in_vietnam};
use crate::domain::units::{LinkedUnit, Unit, UnitLevel};
use crate::services::{self, units as unit_service};

/// The language of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// Picks the text of this language.
    fn t<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Vi => vi,
            Self::En => en,
        }
    }
}

/// Query every page accepts.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub lang: Option<String>,
}

impl PageQuery {
    fn lang(&self) -> Lang {
        if self.lang.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;margin:0;color:#1b1b1b;line-height:1.45}\
header{background:#a50e0e;color:#fff;padding:.6rem 1rem;display:flex;justify-content:space-between;align-items:center;gap:1rem}\
header a{color:#fff}main{padding:1rem;max-width:60rem;margin:auto}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}\
td.num,th.num{text-align:right}.muted{color:#555;font-size:.9em}nav.crumbs{font-size:.9em;margin-bottom:.5rem}\
@media (max-width:36rem){.wide{display:none}}";

fn layout(lang: Lang, path: &str, title: &str, body: Markup) -> Markup {
    let (other_label, other_href) = match lang {
        Lang::Vi => ("English", format!("{path}?lang=en")),
        Lang::En => ("Tiếng Việt", path.to_owned()),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ykien" }
                style { (STYLE) }
            }
            body {
                header {
                    a href=(with_lang("/", lang)) { strong { "ykien" } " · " (lang.t("Ý kiến người dân", "Citizens' voice")) }
                    a href=(other_href) hreflang=(match lang { Lang::Vi => "en", Lang::En => "vi" }) { (other_label) }
                }
                main { (body) }
            }
        }
    }
}

fn with_lang(path: &str, lang: Lang) -> String {
    match lang {
        Lang::Vi => path.to_owned(),
        Lang::En => format!("{path}?lang=en"),
    }
}

fn kind_label(unit: &Unit, lang: Lang) -> String {
    match lang {
        Lang::Vi => unit.kind.label_vi(),
        Lang::En => unit.kind.label_en().to_owned(),
    }
}

/// `GET /`: the provinces and cities of today, each linking to its communes.
pub async fn show_home(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    match unit_service::children(&state.store, None, today_in_vietnam()).await {
        Ok(provinces) => Html(
            layout(
                lang,
                "/",
                lang.t("Đơn vị hành chính", "Administrative units"),
                html! {
                    h1 { (lang.t("Tỉnh, thành phố", "Provinces and cities")) }
                    p.muted { (lang.t(
                        "ykien lắng nghe ý kiến người dân đến từng xã, phường: khảo sát theo chỉ số PAPI, phản ánh, kiến nghị và cách chính quyền trả lời.",
                        "ykien hears citizens commune by commune: PAPI-style surveys, feedback and how the authorities answer it.")) }
                    @if provinces.is_empty() {
                        p { (lang.t("Chưa có đơn vị hành chính nào. Quản trị viên nhập bằng lệnh: ykien units import TỆP.csv",
                                   "No administrative units yet. An administrator imports them with: ykien units import FILE.csv")) }
                    } @else {
                        ul { @for p in &provinces { li { a href=(with_lang(&format!("/units/{}", p.code), lang)) { (p.name) } } } }
                    }
                },
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => error_page(lang, "/", e),
    }
}

/// `GET /units/{code}`: a unit and the units under it, with where each came from.
pub async fn show_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = q.lang();
    let path = format!("/units/{code}");
    let (detail, children) =
        match unit_service::children_with_origins(&state.store, code.trim(), today_in_vietnam())
            .await
        {
            Ok(found) => found,
            Err(e) => return error_page(lang, &path, e),
        };
    let unit = &detail.unit;
    let names = |links: &[LinkedUnit]| -> Markup {
        html! {
            @for (i, l) in links.iter().enumerate() {
                @if i > 0 { ", " }
                a href=(with_lang(&format!("/units/{}", l.unit.code), lang)) { (l.unit.name) }
                @if !l.is_default { sup { " " (lang.t("(một phần)", "(part)")) } }
            }
        }
    };
    let child_word = match children.first().map(|(c, _)| c.level) {
        Some(UnitLevel::District) => lang.t("quận, huyện, thị xã, thành phố", "districts"),
        _ => lang.t("xã, phường, đặc khu", "communes and wards"),
    };
    let has_area = children.iter().any(|(c, _)| c.area_km2.is_some());
    let has_origins = children.iter().any(|(_, from)| !from.is_empty());
    let body = html! {
        @if let Some(parent) = &detail.parent {
            nav.crumbs { a href=(with_lang(&format!("/units/{}", parent.code), lang)) { (parent.name) } " ›" }
        }
        h1 { (unit.name) }
        p.muted {
            (kind_label(unit, lang)) " · " (lang.t("mã", "code")) " " (unit.code)
            @if let Some(from) = unit.valid_from { " · " (lang.t("từ ngày", "since")) " " (from.format("%d/%m/%Y")) }
            @if let Some(to) = unit.valid_to { " · " (lang.t("đến hết ngày", "until")) " " (to.format("%d/%m/%Y")) }
            @if let Some(area) = unit.area_km2 { " · " (format!("{area:.2}")) " km²" }
        }
        @if !detail.predecessors.is_empty() {
            p { (lang.t("Hình thành từ: ", "Formed from: ")) (names(&detail.predecessors)) }
        }
        @if !detail.successors.is_empty() {
            p { (lang.t("Đã sáp nhập vào: ", "Became part of: ")) (names(&detail.successors)) }
        }
        @if !children.is_empty() {
            h2 { (children.len()) " " (child_word) }
            table {
                thead { tr {
                    th { (lang.t("Mã", "Code")) }
                    th { (lang.t("Tên", "Name")) }
                    @if has_area { th.num.wide { (lang.t("Diện tích (km²)", "Area (km²)")) } }
                    @if has_origins { th { (lang.t("Hình thành từ", "Formed from")) } }
                } }
                tbody {
                    @for (child, from) in &children {
                        tr {
                            td { (child.code) }
                            td { a href=(with_lang(&format!("/units/{}", child.code), lang)) { (child.name) } }
                            @if has_area { td.num.wide { @if let Some(a) = child.area_km2 { (format!("{a:.2}")) } } }
                            @if has_origins { td.muted { (names(from)) } }
                        }
                    }
                }
            }
        }
    };
    Html(layout(lang, &path, &unit.name, body).into_string()).into_response()
}

/// Any path without a route: a page in the reader's language, or the API's JSON error under `/api/`.
pub async fn show_not_found(uri: Uri, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    let body = html! {
        h1 { (lang.t("Không tìm thấy trang", "Page not found")) }
        p { (lang.t("Địa chỉ này không có trên ykien.", "There is no such page on ykien.")) " "
            a href=(with_lang("/", lang)) { (lang.t("Về trang chủ", "Go to the home page")) } }
    };
    (
        StatusCode::NOT_FOUND,
        Html(
            layout(
                lang,
                uri.path(),
                lang.t("Không tìm thấy", "Not found"),
                body,
            )
            .into_string(),
        ),
    )
        .into_response()
}

fn error_page(lang: Lang, path: &str, error: services::Error) -> Response {
    let (status, title, text) = match &error {
        services::Error::UnitNotFound(code) => (
            StatusCode::NOT_FOUND,
            lang.t("Không tìm thấy đơn vị", "Unit not found").to_owned(),
            match lang {
                Lang::Vi => format!(
                    "Không có đơn vị hành chính nào mang mã {code}. Mã tỉnh gồm 2 chữ số, mã huyện 3 chữ số, mã xã 5 chữ số."
                ),
                Lang::En => format!(
                    "No administrative unit has code {code}. Province codes have 2 digits, districts 3, communes 5."
                ),
            },
        ),
        _ => {
            tracing::error!(%error, "a page could not be built");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.t("Tạm thời gián đoạn", "Temporarily unavailable").to_owned(),
                lang.t("Hệ thống tạm thời không truy cập được dữ liệu. Vui lòng thử lại sau ít phút.",
                       "The service cannot reach its data right now. Please try again in a few minutes.").to_owned(),
            )
        }
    };
    let body = html! { h1 { (title) } p { (text) } p { a href=(with_lang("/", lang)) { (lang.t("Về trang chủ", "Go to the home page")) } } };
    (status, Html(layout(lang, path, &title, body).into_string())).into_response()
}
