//! Public HTML pages: server-rendered, no JavaScript, readable on a small phone; Vietnamese by default with an
//! English switch (`?lang=en`). maud escapes everything interpolated.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{ApiError, AppState, parse_day, today_in_vietnam};
use crate::domain::Lang;
use crate::domain::units::{LinkedUnit, Unit, UnitLevel};
use crate::services::{self, units as unit_service};

/// Query every page accepts.
/// The public pages of units.
pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", axum::routing::get(show_home))
        .route("/units/{code}", axum::routing::get(show_unit))
}

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
header a{color:#fff;display:inline-block;padding:.7rem 0}main{padding:1rem;max-width:60rem;margin:auto}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}\
td.num,th.num{text-align:right}.muted{color:#555;font-size:.9em}nav.crumbs{font-size:.9em;margin-bottom:.5rem}\
@media (max-width:36rem){.wide{display:none}}\
fieldset.q{border:0;border-top:1px solid #ddd;margin:0;padding:.8rem 0}legend{font-weight:600;padding:0;margin-bottom:.4rem}\
label.opt{display:flex;gap:.6rem;align-items:center;min-height:44px;padding:.2rem .5rem;margin:.25rem 0;border:1px solid #ccc;border-radius:8px}\
label.opt input{width:1.3rem;height:1.3rem;flex:none}\
input[type=number],input[type=text],input[type=tel],input[type=email],input[type=password],select,textarea{font:inherit;font-size:1.05rem;padding:.45rem;width:100%;box-sizing:border-box;margin:.2rem 0}\
form label:not(.opt){display:block;margin:.5rem 0}\
.err{color:#a50e0e;font-weight:600}fieldset.q[aria-invalid=true]{border-left:4px solid #a50e0e;padding-left:.6rem}\
.summary{border:2px solid #a50e0e;border-radius:8px;padding:.2rem .8rem;margin:.8rem 0}.summary a{color:#a50e0e}.help{color:#555;font-size:.9em;margin:.2rem 0}.actions{display:flex;flex-direction:row-reverse;justify-content:flex-end;gap:.8rem;margin:1.2rem 0;flex-wrap:wrap}\
button,.button{font-size:1.1rem;min-height:48px;padding:.5rem 1.4rem;border-radius:8px;border:0;background:#a50e0e;color:#fff;text-decoration:none;display:inline-flex;align-items:center}\
button.secondary{background:#eee;color:#1b1b1b}progress{width:100%;height:.8rem}\
.special{margin-top:.4rem;display:flex;flex-wrap:wrap;gap:.4rem}.special label.opt{margin:0;min-height:40px;font-size:.9em}";

/// `path` when it is a path of this site, else `/`: a request for `//evil.example/x` (or `/\\evil.example`,
/// which browsers read the same way) must not become a link to another site on our page.
fn local_path(path: &str) -> &str {
    let local =
        path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.chars().any(char::is_control);
    if local { path } else { "/" }
}

pub(super) fn layout(lang: Lang, path: &str, title: &str, body: Markup) -> Markup {
    let path = local_path(path);
    let (other_label, other_href) = match lang {
        Lang::Vi => ("English", with_lang(path, Lang::En)),
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

/// `path` (which may carry a query) in `lang`.
pub(super) fn with_lang(path: &str, lang: Lang) -> String {
    match lang {
        Lang::Vi => path.to_owned(),
        Lang::En if path.contains('?') => format!("{path}&lang=en"),
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
                        ul { @for p in &provinces { li { a href=(unit_href(p, lang)) { (p.name) } } } }
                    }
                },
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => error_page(lang, "/", e),
    }
}

/// Query of a unit's page.
#[derive(Debug, Default, Deserialize)]
pub struct UnitPageQuery {
    pub lang: Option<String>,
    /// The day whose version of the code to show (codes are reused across reforms), YYYY-MM-DD.
    pub at: Option<String>,
}

/// The address of a unit's page; a unit that has ended is linked at its last day, so that a reused code
/// (11953 was Phường Hiến Nam before 2025, Phường Phố Hiến after) leads to the right one.
fn unit_href(unit: &Unit, lang: Lang) -> String {
    let mut href = format!("/units/{}", unit.code);
    if let Some(last_day) = unit.valid_to {
        href.push_str(&format!("?at={last_day}"));
    }
    with_lang(&href, lang)
}

/// `GET /units/{code}`: a unit and the units under it, with where each came from and what it became.
pub async fn show_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<UnitPageQuery>,
) -> Response {
    let lang = PageQuery { lang: q.lang.clone() }.lang();
    let path = format!("/units/{code}");
    let day = match parse_day(q.at.as_deref()) {
        Ok(day) => day,
        Err(e) => {
            let text = if lang == Lang::Vi { e.message } else { e.message_en };
            let title = lang.t("Ngày không hợp lệ", "Invalid date");
            return message_page(lang, &path, StatusCode::BAD_REQUEST, title, &text);
        }
    };
    // The language switch keeps the day asked for.
    let path = match q.at.as_deref().filter(|_| day != today_in_vietnam()) {
        Some(_) => format!("{path}?at={day}"),
        None => path,
    };
    let (detail, children) = match unit_service::children_with_lineage(&state.store, code.trim(), day).await {
        Ok(found) => found,
        Err(e) => return error_page(lang, &path, e),
    };
    let unit = &detail.unit;
    let names = |links: &[LinkedUnit]| -> Markup {
        html! {
            @for (i, l) in links.iter().enumerate() {
                @if i > 0 { ", " }
                a href=(unit_href(&l.unit, lang)) { (l.unit.name) }
                @if !l.is_default { " " (lang.t("(một phần)", "(part)")) }
            }
        }
    };
    let child_word = match children.first().map(|c| c.unit.level) {
        Some(UnitLevel::District) => lang.t("quận, huyện, thị xã, thành phố", "districts"),
        _ => lang.t("xã, phường, thị trấn, đặc khu", "communes and wards"),
    };
    let has_area = children.iter().any(|c| c.unit.area_km2.is_some());
    let has_predecessors = children.iter().any(|c| !c.predecessors.is_empty());
    let has_successors = children.iter().any(|c| !c.successors.is_empty());
    let body = html! {
        @if let Some(parent) = &detail.parent {
            nav.crumbs { a href=(unit_href(parent, lang)) { (parent.name) } " ›" }
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
            p { (lang.t("Nay thuộc: ", "Now part of: ")) (names(&detail.successors)) }
        }
        // For officials printing the survey poster of a commune that exists today.
        @if unit.level == UnitLevel::Commune && unit.is_valid_on(today_in_vietnam()) {
            p.muted {
                a href=(format!("/s/{}/qr.svg", unit.code)) { (lang.t("Mã QR khảo sát", "Survey QR code")) " (SVG)" }
                " · "
                a href=(format!("/s/{}/qr.png", unit.code)) { (lang.t("Mã QR khảo sát", "Survey QR code")) " (PNG)" }
                @if state.channels.telegram.as_ref().and_then(|t| t.commune_link(&unit.code)).is_some() {
                    " · "
                    a href=(format!("/s/{}/qr.png?via=telegram", unit.code)) { (lang.t("Mã QR mở bot Telegram", "Telegram bot QR code")) " (PNG)" }
                }
            }
        }
        @if !children.is_empty() {
            h2 { (children.len()) " " (child_word) }
            table {
                thead { tr {
                    th { (lang.t("Mã", "Code")) }
                    th { (lang.t("Tên", "Name")) }
                    @if has_area { th.num.wide { (lang.t("Diện tích (km²)", "Area (km²)")) } }
                    @if has_predecessors { th { (lang.t("Hình thành từ", "Formed from")) } }
                    @if has_successors { th { (lang.t("Nay thuộc", "Now part of")) } }
                } }
                tbody {
                    @for child in &children {
                        tr {
                            td { (child.unit.code) }
                            td { a href=(unit_href(&child.unit, lang)) { (child.unit.name) } }
                            @if has_area { td.num.wide { @if let Some(a) = child.unit.area_km2 { (format!("{a:.2}")) } } }
                            @if has_predecessors { td.muted { (names(&child.predecessors)) } }
                            @if has_successors { td.muted { (names(&child.successors)) } }
                        }
                    }
                }
            }
        }
    };
    Html(layout(lang, &path, &unit.name, body).into_string()).into_response()
}

/// Any path without a route: a page in the reader's language (the API's JSON shape is applied under `/api/`).
pub async fn show_not_found(uri: Uri, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    let title = lang.t("Không tìm thấy trang", "Page not found");
    let text = lang.t("Địa chỉ này không có trên ykien.", "There is no such page on ykien.");
    // The language switch leads home: a link built from an unknown path could point anywhere.
    let _ = uri;
    message_page(lang, "/", StatusCode::NOT_FOUND, title, text)
}

pub(super) fn error_page(lang: Lang, path: &str, error: services::Error) -> Response {
    // The same status and messages as the API gives for this error: one mapping, in `http::error`.
    let e = ApiError::from(error);
    let title = match e.status {
        StatusCode::NOT_FOUND => lang.t("Không tìm thấy", "Not found"),
        s if s.is_server_error() => lang.t("Tạm thời gián đoạn", "Temporarily unavailable"),
        _ => lang.t("Không thực hiện được", "Cannot be done"),
    };
    message_page(lang, path, e.status, title, lang.t(&e.message, &e.message_en))
}

/// A page that only says what went wrong, with a way back.
pub(super) fn message_page(lang: Lang, path: &str, status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p { (text) }
        p { a href=(with_lang("/", lang)) { (lang.t("Về trang chủ", "Go to the home page")) } }
    };
    (status, Html(layout(lang, path, title, body).into_string())).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_paths_of_this_site_become_links() {
        for (path, kept) in [
            ("/units/33", "/units/33"),
            ("/s/11953/q?lang=en", "/s/11953/q?lang=en"),
            ("//evil.example/x", "/"),
            ("/\\evil.example/x", "/"),
            ("https://evil.example/", "/"),
            ("/a\u{0}b", "/"),
        ] {
            assert_eq!(super::local_path(path), kept, "{path}");
        }
    }
}
