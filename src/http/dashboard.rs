//! The leaders' dashboard `/console/dashboard` (leaders and administrators, read-only): the province overview (heatmap,
//! ranking, map, the weakest sub-dimensions, feedback KPIs), a commune's page (its charts, its weakest
//! sub-dimensions with the open cases about them and what the province's best communes score there), every chart
//! as PNG or SVG, every table as CSV or XLSX, and the plans' six-month and annual reports as printable pages with
//! an XLSX annex.
//!
//! Everything is drawn from a [`Snapshot`]: only published scores (10 respondents or more) exist there, so a
//! commune with fewer can never appear; scores from 10 to 29 respondents carry "chưa đủ câu trả lời".

// The helpers return the page to send as their error: that is their point, and it is built once per request.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use ykien_analysis::charts::{self, Format};
use ykien_analysis::report::{self as charts_of, NOT_ENOUGH_VI};
use ykien_analysis::{ChartData, Level, ScoreRow, Sufficiency, TOTAL_CODE, Table};

use super::AppState;
use super::cases::vn_time;
use super::console::{page, signed_in};
use super::pages::{error_page, message_page};
use crate::domain::Lang;
use crate::domain::cases::CaseState;
use crate::domain::survey::PlanPeriod;
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::scoreboard::{Snapshot, SnapshotKey};
use crate::services::survey::vn_day;
use crate::storage::CaseFilter;

const LANG: Lang = Lang::Vi;
const HOME: &str = "/console/dashboard";
/// The title of the page shown while scores are being computed.
pub const BUSY_TITLE: &str = "Đang tính điểm";
/// How many weak sub-dimensions a page lists.
const WEAKEST: usize = 3;

/// What every dashboard address may carry.
#[derive(Debug, Default, Deserialize)]
pub struct DashQuery {
    wave: Option<String>,
    period: Option<String>,
    province: Option<String>,
    unit: Option<String>,
}

/// Which units an official may see on the dashboard.
struct Visible {
    all: bool,
    codes: BTreeSet<String>,
}

impl Visible {
    /// Whether a commune (or a province, with itself as `province`) may be shown.
    fn sees(&self, unit: &str, province: &str) -> bool {
        self.all || self.codes.contains(unit) || self.codes.contains(province)
    }
}

/// The signed-in leader or administrator, what they may see, and the snapshot the query asks for.
struct Context {
    official: Official,
    visible: Visible,
    snapshot: Arc<Snapshot>,
}

impl Context {
    /// The query string that keeps this wave and period on the next page.
    fn keep(&self) -> String {
        let mut q = format!("wave={}", self.snapshot.wave.code);
        if let Some(p) = self.snapshot.period {
            q.push_str(&format!("&period={p}"));
        }
        q
    }

    fn data(&self) -> ChartData<'_> {
        ChartData {
            scores: &self.snapshot.scores,
            codebook: &self.snapshot.codebook,
            units: &self.snapshot.units.units,
        }
    }

    fn province_label(&self, code: &str) -> String {
        self.snapshot.unit_name(code)
    }

    /// The province of a commune that has scores, or `None`.
    fn province_of(&self, unit: &str) -> Option<String> {
        self.snapshot
            .units
            .units
            .iter()
            .find(|u| u.code == unit)
            .map(|u| u.province_code.clone())
    }

    /// The provinces shown: those with published communes this official may see.
    fn provinces(&self) -> Vec<String> {
        self.snapshot
            .provinces()
            .into_iter()
            .filter(|p| self.visible.all || self.visible.codes.contains(p) || self.rows_in(p).next().is_some())
            .collect()
    }

    /// Published rows of the snapshot's wave in a province that this official may see.
    fn rows_in<'a>(&'a self, province: &'a str) -> impl Iterator<Item = &'a ScoreRow> {
        self.snapshot
            .scores
            .rows
            .iter()
            .filter(move |r| r.wave == self.snapshot.wave.code && r.province_code == province)
            .filter(move |r| self.visible.sees(&r.unit_code, &r.province_code))
    }

    fn ranked(&self, province: &str, level: Level, code: &str) -> Vec<&ScoreRow> {
        self.snapshot
            .ranked(province, level, code)
            .into_iter()
            .filter(|r| self.visible.sees(&r.unit_code, &r.province_code))
            .collect()
    }
}

fn refuse(status: StatusCode, title: &str, text: &str) -> Response {
    message_page(LANG, HOME, status, title, text)
}

async fn context(state: &AppState, headers: &HeaderMap, q: &DashQuery) -> Result<Context, Response> {
    let (official, _) = signed_in(state, headers).await?;
    if !matches!(official.role, Role::Leader | Role::Admin) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Không có quyền xem",
            "Bảng điểm dành cho lãnh đạo và quản trị viên. Xin dùng hộp thư phản ánh.",
        ));
    }
    let mut codes = BTreeSet::new();
    for id in &official.scope {
        match state.store.unit(*id).await {
            Ok(u) => {
                codes.insert(u.code);
            }
            Err(e) => return Err(error_page(LANG, HOME, e.into())),
        }
    }
    let visible = Visible {
        all: official.role == Role::Admin,
        codes,
    };
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match p.parse::<PlanPeriod>() {
            Ok(p) => Some(p),
            Err(e) => return Err(refuse(StatusCode::BAD_REQUEST, "Kỳ báo cáo không hợp lệ", &e)),
        },
    };
    let wave = match q.wave.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => w.to_owned(),
        None => match state.scoreboard.default_wave().await {
            Ok(Some(w)) => w.code,
            Ok(None) => {
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    "Chưa có đợt khảo sát",
                    "Chưa có đợt khảo sát nào nên chưa có điểm để xem.",
                ));
            }
            Err(e) => return Err(error_page(LANG, HOME, e)),
        },
    };
    let snapshot = state
        .scoreboard
        .snapshot(&SnapshotKey { wave, period })
        .await
        .map_err(|e| match e {
            Error::Busy(_) => refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                BUSY_TITLE,
                "Hệ thống đang tính điểm từ các phiếu trả lời đã lưu; việc này mất vài phút với các đợt lớn. \
                 Xin tải lại trang sau ít phút.",
            ),
            e => error_page(LANG, HOME, e),
        })?;
    Ok(Context {
        official,
        visible,
        snapshot,
    })
}

/// A number the Vietnamese way: a decimal comma.
fn num(v: f64, digits: usize) -> String {
    format!("{v:.digits$}").replace('.', ",")
}

fn score_text(r: &ScoreRow) -> String {
    num(r.score, 2)
}

fn interval_text(r: &ScoreRow) -> String {
    match (r.ci_low, r.ci_high) {
        (Some(l), Some(h)) => format!("{} – {}", num(l, 2), num(h, 2)),
        _ => String::new(),
    }
}

fn quartile_text(r: &ScoreRow) -> String {
    match (r.quartile, r.sufficiency) {
        (Some(q), _) => q.label_vi().to_owned(),
        (None, Sufficiency::NotEnough) => NOT_ENOUGH_VI.to_owned(),
        _ => String::new(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{}%", num(v * 100.0, 0)))
        .unwrap_or_else(|| "–".to_owned())
}

fn period_label(p: Option<PlanPeriod>) -> String {
    match p.and_then(PlanPeriod::period) {
        Some(r) => format!(
            "{} (dữ liệu {} – {})",
            r.name,
            r.starts_on.format("%d/%m/%Y"),
            r.ends_on.format("%d/%m/%Y")
        ),
        None => "Toàn bộ đợt khảo sát".to_owned(),
    }
}

/// The reports a wave's days fall in, newest first.
fn periods_of(snapshot: &Snapshot) -> Vec<PlanPeriod> {
    let from = vn_day(snapshot.wave.opens_at);
    let to = vn_day(snapshot.wave.closes_at.min(chrono::Utc::now()));
    let mut periods = BTreeSet::new();
    let mut day = from;
    while day <= to.max(from) {
        periods.extend(PlanPeriod::containing(day));
        match day.checked_add_days(chrono::Days::new(30)) {
            Some(next) => day = next,
            None => break,
        }
    }
    periods.extend(PlanPeriod::containing(to.max(from)));
    periods.into_iter().rev().collect()
}

fn chart_img(ctx: &Context, kind: &str, target: (&str, &str), alt: &str) -> Markup {
    let src = format!(
        "/console/dashboard/charts/{kind}.svg?{}&{}={}",
        ctx.keep(),
        target.0,
        target.1
    );
    let png = format!(
        "/console/dashboard/charts/{kind}.png?{}&{}={}",
        ctx.keep(),
        target.0,
        target.1
    );
    html! {
        figure.chart {
            img src=(src) alt=(alt) loading="lazy" style="width:100%;height:auto";
            figcaption.muted { (alt) " · tải về: " a href=(png) download { "PNG" } " · " a href=(src) download { "SVG" } }
        }
    }
}

fn choose_form(ctx: &Context, waves: &[crate::domain::survey::Wave], action: &str) -> Markup {
    html! {
        form.noprint method="get" action=(action) {
            label { "Đợt khảo sát "
                select name="wave" { @for w in waves { option value=(w.code) selected[w.code == ctx.snapshot.wave.code] { (w.title) " (" (w.code) ")" } } } }
            label { "Kỳ báo cáo "
                select name="period" {
                    option value="" { "Toàn bộ đợt khảo sát" }
                    @for p in periods_of(&ctx.snapshot) {
                        option value=(p.to_string()) selected[ctx.snapshot.period == Some(p)] { (period_label(Some(p))) }
                    }
                } }
            button.secondary type="submit" { "Xem" }
        }
    }
}

fn freshness(ctx: &Context) -> Markup {
    html! {
        p.muted {
            (period_label(ctx.snapshot.period)) ". Số liệu tính lúc " (vn_time(ctx.snapshot.computed_at))
            ". Điểm lĩnh vực trên thang 1–10, điểm tổng 8–80, nội dung thành phần 0–1; khoảng tin cậy 95%. "
            "Xã, phường dưới 10 người trả lời không được công bố; dưới 30 người được ghi “" (NOT_ENOUGH_VI) "” và không xếp hạng."
        }
    }
}

/// The weakest sub-dimensions of a province: the lowest means of its published communes.
fn weakest_in_province(ctx: &Context, province: &str) -> Vec<(String, f64)> {
    let mut means: Vec<(String, f64)> = ctx
        .snapshot
        .codebook
        .subdimensions
        .iter()
        .filter_map(|s| {
            ctx.snapshot
                .scores
                .province_mean(&ctx.snapshot.wave.code, province, Level::Subdimension, &s.code)
                .map(|m| (s.code.clone(), m))
        })
        .collect();
    means.sort_by(|a, b| a.1.total_cmp(&b.1));
    means.truncate(WEAKEST + 2);
    means
}

/// The province's weakest sub-dimensions as a table.
fn weakest_table(ctx: &Context, province: &str) -> Markup {
    html! {
        table {
            thead { tr { th { "Nội dung" } th.num { "Trung bình các xã (0–1)" } } }
            tbody { @for (code, mean) in weakest_in_province(ctx, province) {
                tr { td { (code) " · " (subdimension_name(ctx, &code)) } td.num { (num(mean, 2)) } }
            } }
        }
    }
}

fn subdimension_name(ctx: &Context, code: &str) -> String {
    ctx.snapshot
        .codebook
        .subdimension(code)
        .map_or_else(|| code.to_owned(), |s| s.name.vi.clone())
}

/// `GET /console/dashboard`: the overview of each province the official may see.
pub async fn show_overview(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<DashQuery>) -> Response {
    let ctx = match context(&state, &headers, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let waves = match state.scoreboard.waves().await {
        Ok(w) => w,
        Err(e) => return error_page(LANG, HOME, e),
    };
    let provinces = ctx.provinces();
    let keep = ctx.keep();
    let body = html! {
        h1 { "Bảng điểm PAPI cấp xã" }
        (choose_form(&ctx, &waves, HOME))
        (freshness(&ctx))
        @if provinces.is_empty() {
            p { "Chưa có xã, phường nào đủ 10 người trả lời trong đợt và kỳ này, nên chưa có điểm để công bố." }
        }
        @for province in &provinces {
            @let label = ctx.province_label(province);
            @let ranked = ctx.ranked(province, Level::Total, TOTAL_CODE);
            section {
                h2 { (label) }
                p {
                    "Tải về: "
                    a href=(format!("/console/dashboard/tables/scores.csv?{keep}&province={province}")) { "Bảng điểm (CSV)" } " · "
                    a href=(format!("/console/dashboard/tables/scores.xlsx?{keep}&province={province}")) { "Bảng điểm (XLSX)" } " · "
                    a href=(format!("/console/dashboard/tables/kpis.csv?{keep}&province={province}")) { "Xử lý phản ánh (CSV)" } " · "
                    a href=(format!("/console/dashboard/tables/kpis.xlsx?{keep}&province={province}")) { "Xử lý phản ánh (XLSX)" }
                }
                p {
                    "Báo cáo: "
                    @for (i, p) in periods_of(&ctx.snapshot).into_iter().enumerate() {
                        @if i > 0 { " · " }
                        a href=(format!("/console/dashboard/reports/{p}/{province}?wave={}", ctx.snapshot.wave.code)) { (period_label(Some(p))) }
                    }
                }
                (chart_img(&ctx, "heatmap", ("province", province), &format!("Nhóm điểm theo lĩnh vực, các xã, phường của {label}")))
                h3 { "Xếp hạng theo điểm tổng" }
                (ranking_table(&ctx, &ranked))
                (chart_img(&ctx, "ranking", ("province", province), &format!("Điểm tổng và khoảng tin cậy, {label}")))
                (chart_img(&ctx, "map", ("province", province), &format!("Điểm tổng theo vị trí xã, phường, {label}")))
                h3 { "Nội dung thành phần yếu nhất của tỉnh" }
                (weakest_table(&ctx, province))
                h3 { "Xử lý phản ánh, kiến nghị" }
                (kpi_table(&ctx, &ranked.iter().map(|r| r.unit_code.clone()).collect::<Vec<_>>()))
                (chart_img(&ctx, "kpis", ("province", province), &format!("Xử lý phản ánh, kiến nghị, {label}")))
            }
        }
    };
    Html(page("Bảng điểm", Some(&ctx.official), body).into_string()).into_response()
}

fn ranking_table(ctx: &Context, ranked: &[&ScoreRow]) -> Markup {
    let keep = ctx.keep();
    html! {
        table {
            thead { tr { th.num { "Hạng" } th { "Xã, phường" } th.num { "Điểm tổng" } th.num.wide { "Khoảng tin cậy 95%" } th.num { "Số người" } th { "Nhóm" } } }
            tbody { @for r in ranked {
                tr {
                    td.num { (r.rank.map(|x| x.to_string()).unwrap_or_default()) }
                    td { a href=(format!("/console/dashboard/units/{}?{keep}", r.unit_code)) { (ctx.snapshot.unit_name(&r.unit_code)) } }
                    td.num { (score_text(r)) }
                    td.num.wide { (interval_text(r)) }
                    td.num { (r.n) }
                    td { (quartile_text(r)) }
                }
            } }
        }
    }
}

fn kpi_table(ctx: &Context, units: &[String]) -> Markup {
    html! {
        table {
            thead { tr { th { "Xã, phường" } th.num { "Phản ánh" } th.num { "Đúng hạn" } th.num.wide { "Trung vị thời gian trả lời (giờ)" } th.num { "Hài lòng (1–5)" } } }
            tbody { @for code in units {
                @if let Some(k) = ctx.snapshot.kpi(code) {
                    tr {
                        td { (ctx.snapshot.unit_name(code)) }
                        td.num { (k.cases) }
                        td.num { (percent(k.on_time_rate)) }
                        td.num.wide { (k.median_hours_to_answer.map(|h| num(h, 1)).unwrap_or_else(|| "–".to_owned())) }
                        td.num { (k.mean_rating.map(|m| format!("{} ({} lượt)", num(m, 1), k.ratings)).unwrap_or_else(|| "–".to_owned())) }
                    }
                }
            } }
        }
    }
}

/// The commune's published scores on every dimension, its three weakest sub-dimensions, and the open cases
/// about those.
pub async fn show_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<DashQuery>,
) -> Response {
    let ctx = match context(&state, &headers, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(province) = ctx.province_of(&code).filter(|p| ctx.visible.sees(&code, p)) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "Không có xã, phường này",
            "Không có xã, phường nào mang mã này trong phạm vi anh/chị được xem.",
        );
    };
    let name = ctx.snapshot.unit_name(&code);
    let total = ctx.snapshot.score(&code, Level::Total, TOTAL_CODE);
    let province_label = ctx.province_label(&province);
    let wave = ctx.snapshot.wave.code.clone();
    // The open cases of this commune, for the weakest sub-dimensions.
    let open_cases = match crate::services::units::unit_by_code(&state.store, &code, super::today_in_vietnam()).await {
        Ok(unit) => state
            .store
            .list_cases(&CaseFilter {
                unit_ids: Some(vec![unit.id]),
                states: [CaseState::Received, CaseState::Accepted, CaseState::Assigned]
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect(),
                category: None,
                overdue_at: None,
                limit: 500,
            })
            .await
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mut weakest: Vec<&ScoreRow> = ctx
        .snapshot
        .scores
        .rows
        .iter()
        .filter(|r| r.wave == wave && r.unit_code == code && r.level == Level::Subdimension)
        .collect();
    weakest.sort_by(|a, b| a.score.total_cmp(&b.score));
    weakest.truncate(WEAKEST);
    let changes = ctx.snapshot.changes();
    let body = html! {
        nav.crumbs { a href=(format!("{HOME}?{}", ctx.keep())) { "Bảng điểm" } " › " (province_label) }
        h1 { (name) }
        (freshness(&ctx))
        @match total {
            None => p.err { "Chưa đủ 10 người trả lời trong đợt và kỳ này nên điểm của " (name) " chưa được công bố." },
            Some(t) => {
                p {
                    "Điểm tổng " strong { (score_text(t)) } " / 80 (khoảng tin cậy " (interval_text(t)) "), "
                    (t.n) " người trả lời"
                    @if let Some(rank) = t.rank { ", hạng " (rank) " trong " (province_label) }
                    @if !quartile_text(t).is_empty() { ", nhóm " strong { (quartile_text(t)) } }
                    "."
                }
                p {
                    a href=(format!("/console/dashboard/reports/{}/{code}?wave={wave}", ctx.snapshot.period.or_else(|| periods_of(&ctx.snapshot).into_iter().next()).map(|p| p.to_string()).unwrap_or_default())) { "Báo cáo in được" }
                    " · " a href=(format!("/console/dashboard/tables/scores.xlsx?{}&unit={code}", ctx.keep())) { "Bảng điểm (XLSX)" }
                    " · " a href=(format!("/console/dashboard/tables/scores.csv?{}&unit={code}", ctx.keep())) { "Bảng điểm (CSV)" }
                }
                (chart_img(&ctx, "profile", ("unit", &code), &format!("{name}: điểm tám lĩnh vực so với trung bình {province_label}")))
                (dimension_table(&ctx, &code, &province, &changes))
                (chart_img(&ctx, "radar", ("unit", &code), &format!("{name}: biểu đồ mạng nhện tám lĩnh vực")))
                @if ctx.snapshot.waves.len() > 1 {
                    (chart_img(&ctx, "trend", ("unit", &code), &format!("{name}: diễn biến qua các đợt")))
                }
                h2 { "Ba nội dung thành phần yếu nhất" }
                @for w in &weakest {
                    @let best = ctx.ranked(&province, Level::Subdimension, &w.code);
                    section {
                        h3 { (w.code) " · " (subdimension_name(&ctx, &w.code)) ": " (score_text(w)) " / 1" }
                        p.muted {
                            "Các xã, phường tốt nhất của tỉnh ở nội dung này: "
                            @for (i, b) in best.iter().filter(|b| b.sufficiency == Sufficiency::Enough).take(3).enumerate() {
                                @if i > 0 { ", " }
                                (ctx.snapshot.unit_name(&b.unit_code)) " " (score_text(b))
                            }
                        }
                        @let cases: Vec<_> = open_cases.iter().filter(|c| c.subdimension == w.code).collect();
                        @if cases.is_empty() {
                            p.muted { "Không có phản ánh đang mở về nội dung này." }
                        } @else {
                            ul { @for c in cases {
                                li { a href=(format!("/console/cases/{}", c.code)) { (c.code) } " · "
                                    (state.cases.category(&c.category).map(|x| x.vi.clone()).unwrap_or_else(|| c.category.clone()))
                                    " · tiếp nhận " (vn_time(c.received_at)) }
                            } }
                        }
                    }
                }
            }
        }
        h2 { "Xử lý phản ánh, kiến nghị" }
        @match ctx.snapshot.kpi(&code) {
            None => p.muted { "Không có phản ánh nào trong kỳ này." },
            Some(_) => (kpi_table(&ctx, std::slice::from_ref(&code))),
        }
    };
    Html(page(&name, Some(&ctx.official), body).into_string()).into_response()
}

fn dimension_table(ctx: &Context, unit: &str, province: &str, changes: &[ykien_analysis::Change]) -> Markup {
    let wave = &ctx.snapshot.wave.code;
    html! {
        table {
            thead { tr { th { "Lĩnh vực" } th.num { "Điểm" } th.num.wide { "Khoảng tin cậy 95%" } th.num { "Trung bình tỉnh" } th.num { "Tốt nhất tỉnh" } th.num { "Thay đổi" } th { "Nhóm" } } }
            tbody { @for d in &ctx.snapshot.codebook.dimensions {
                @let row = ctx.snapshot.score(unit, Level::Dimension, &d.code);
                @let best = ctx.ranked(province, Level::Dimension, &d.code).into_iter().find(|r| r.sufficiency == Sufficiency::Enough);
                @let change = changes.iter().find(|c| c.unit_code == unit && c.level == Level::Dimension && c.code == d.code);
                tr {
                    td { (d.number) ". " (d.name.vi) }
                    td.num { (row.map(score_text).unwrap_or_else(|| "–".to_owned())) }
                    td.num.wide { (row.map(interval_text).unwrap_or_default()) }
                    td.num { (ctx.snapshot.scores.province_mean(wave, province, Level::Dimension, &d.code).map(|m| num(m, 2)).unwrap_or_else(|| "–".to_owned())) }
                    td.num { (best.map(|b| format!("{} ({})", num(b.score, 2), ctx.snapshot.unit_name(&b.unit_code))).unwrap_or_else(|| "–".to_owned())) }
                    td.num { (change.map(|c| format!("{}{}{}", if c.change >= 0.0 { "+" } else { "" }, num(c.change, 2), if c.clear { " (rõ rệt)" } else { "" })).unwrap_or_else(|| "–".to_owned())) }
                    td { (row.map(quartile_text).unwrap_or_default()) }
                }
            } }
        }
    }
}

/// The size a chart is drawn at: tall enough for one row per commune where it lists them.
fn chart_size(kind: &str, rows: usize) -> (u32, u32) {
    let rows = u32::try_from(rows).unwrap_or(u32::MAX);
    match kind {
        "heatmap" | "ranking" | "kpis" => (1000, 700.max(160_u32.saturating_add(rows.saturating_mul(22)))),
        _ => (1000, 700),
    }
}

/// `GET /console/dashboard/charts/{kind}.{png|svg}?province=…|unit=…`: one chart.
pub async fn show_chart(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    Query(q): Query<DashQuery>,
) -> Response {
    let ctx = match context(&state, &headers, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((kind, format)) = file.rsplit_once('.').and_then(|(k, ext)| match ext {
        "png" => Some((k, Format::Png)),
        "svg" => Some((k, Format::Svg)),
        _ => None,
    }) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "Không có biểu đồ này",
            "Biểu đồ có đuôi .png hoặc .svg.",
        );
    };
    let data = ctx.data();
    let wave = ctx.snapshot.wave.code.clone();
    let not_found = || {
        refuse(
            StatusCode::NOT_FOUND,
            "Không có biểu đồ này",
            "Không có số liệu công bố cho biểu đồ này.",
        )
    };
    let drawn = match (kind, q.province.as_deref(), q.unit.as_deref()) {
        ("heatmap" | "ranking" | "map" | "kpis", Some(province), _) => {
            if !ctx.visible.sees(province, province) {
                return not_found();
            }
            let label = ctx.province_label(province);
            let units: Vec<String> = ctx
                .ranked(province, Level::Total, TOTAL_CODE)
                .iter()
                .map(|r| r.unit_code.clone())
                .collect();
            if units.is_empty() {
                return not_found();
            }
            let size = chart_size(kind, units.len());
            let name = format!("{kind}-{province}");
            match kind {
                "heatmap" => ctx.snapshot.chart(&name, format, || {
                    charts::quartile_heatmap(&charts_of::heatmap_chart(data, &wave, province, &label), size, format)
                }),
                "ranking" => ctx.snapshot.chart(&name, format, || {
                    let chart =
                        charts_of::ranking_chart(data, &wave, province, &label, (Level::Total, TOTAL_CODE), None);
                    charts::ranking(&chart, size, format)
                }),
                "map" => ctx.snapshot.chart(&name, format, || {
                    charts::score_map(&charts_of::map_chart(data, &wave, province, &label), size, format)
                }),
                _ => ctx.snapshot.chart(&name, format, || {
                    let kpis: Vec<_> = ctx
                        .snapshot
                        .kpis
                        .iter()
                        .filter(|k| units.contains(&k.unit_code))
                        .cloned()
                        .collect();
                    let chart = charts_of::kpi_chart(
                        &kpis,
                        &ctx.snapshot.units.units,
                        &format!("Xử lý phản ánh, kiến nghị, {label}"),
                    );
                    charts::feedback_kpis(&chart, size, format)
                }),
            }
        }
        ("profile" | "radar" | "trend", _, Some(unit)) => {
            let Some(province) = ctx.province_of(unit).filter(|p| ctx.visible.sees(unit, p)) else {
                return not_found();
            };
            let label = ctx.province_label(&province);
            let size = chart_size(kind, 0);
            let name = format!("{kind}-{unit}");
            let drawn = match kind {
                "profile" => charts_of::profile_chart(data, &wave, unit, &label).map(|c| {
                    ctx.snapshot
                        .chart(&name, format, || charts::dimension_profile(&c, size, format))
                }),
                "radar" => charts_of::radar_chart(data, &wave, unit, &label)
                    .map(|c| ctx.snapshot.chart(&name, format, || charts::radar(&c, size, format))),
                _ => charts_of::trend_chart(data, unit)
                    .map(|c| ctx.snapshot.chart(&name, format, || charts::trend(&c, size, format))),
            };
            match drawn {
                Some(d) => d,
                None => return not_found(),
            }
        }
        _ => {
            return refuse(
                StatusCode::NOT_FOUND,
                "Không có biểu đồ này",
                "Biểu đồ tỉnh (heatmap, ranking, map, kpis) cần ?province=mã; biểu đồ xã (profile, radar, trend) cần ?unit=mã.",
            );
        }
    };
    match drawn {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
                (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
            ],
            bytes.as_ref().clone(),
        )
            .into_response(),
        Err(e) => error_page(LANG, HOME, e),
    }
}

/// The score table of the units shown: every level, with names, for CSV and XLSX alike.
fn score_table(ctx: &Context, units: &dyn Fn(&ScoreRow) -> bool) -> Table {
    let mut t = Table::new(
        "Điểm",
        &[
            "wave",
            "unit_code",
            "unit_name",
            "level",
            "code",
            "name",
            "score",
            "n",
            "ci_low",
            "ci_high",
            "rank",
            "quartile",
            "note",
        ],
    );
    let codebook = &ctx.snapshot.codebook;
    for r in ctx
        .snapshot
        .scores
        .rows
        .iter()
        .filter(|r| r.wave == ctx.snapshot.wave.code)
    {
        if !ctx.visible.sees(&r.unit_code, &r.province_code) || !units(r) {
            continue;
        }
        let name = match r.level {
            Level::Total => "Điểm tổng".to_owned(),
            Level::Dimension => codebook
                .dimension(&r.code)
                .map(|d| d.name.vi.clone())
                .unwrap_or_default(),
            Level::Subdimension => codebook
                .subdimension(&r.code)
                .map(|d| d.name.vi.clone())
                .unwrap_or_default(),
            Level::Indicator => codebook
                .indicator(&r.code)
                .map(|d| d.name.vi.clone())
                .unwrap_or_default(),
        };
        t.push(vec![
            r.wave.as_str().into(),
            r.unit_code.as_str().into(),
            ctx.snapshot.unit_name(&r.unit_code).into(),
            r.level.as_str().into(),
            r.code.as_str().into(),
            name.into(),
            r.score.into(),
            r.n.into(),
            r.ci_low.into(),
            r.ci_high.into(),
            r.rank.into(),
            r.quartile.map(|q| q.label_vi()).into(),
            (r.sufficiency == Sufficiency::NotEnough)
                .then_some(NOT_ENOUGH_VI)
                .into(),
        ]);
    }
    t
}

fn kpi_rows(ctx: &Context, units: &[String]) -> Table {
    let mut t = Table::new(
        "Phản ánh",
        &[
            "unit_code",
            "unit_name",
            "cases",
            "closed",
            "closed_on_time",
            "open_overdue",
            "on_time_rate",
            "median_hours_to_answer",
            "mean_rating",
            "ratings",
        ],
    );
    for code in units {
        if let Some(k) = ctx.snapshot.kpi(code) {
            t.push(vec![
                code.as_str().into(),
                ctx.snapshot.unit_name(code).into(),
                k.cases.into(),
                k.closed.into(),
                k.closed_on_time.into(),
                k.open_overdue.into(),
                k.on_time_rate.into(),
                k.median_hours_to_answer.into(),
                k.mean_rating.into(),
                k.ratings.into(),
            ]);
        }
    }
    t
}

/// The communes with published scores this official may see, in a province or all.
fn shown_units(ctx: &Context, province: Option<&str>) -> Vec<String> {
    ctx.provinces()
        .iter()
        .filter(|p| province.is_none_or(|x| x == p.as_str()))
        .flat_map(|p| {
            ctx.ranked(p, Level::Total, TOTAL_CODE)
                .into_iter()
                .map(|r| r.unit_code.clone())
        })
        .collect()
}

fn download(bytes: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV: &str = "text/csv; charset=utf-8";

fn table_response(tables: &[Table], stem: &str, xlsx: bool) -> Response {
    if xlsx {
        match ykien_analysis::workbook(tables) {
            Ok(bytes) => download(bytes, XLSX, &format!("{stem}.xlsx")),
            Err(e) => error_page(LANG, HOME, Error::Unavailable(e.to_string())),
        }
    } else {
        let bytes = tables.first().map(Table::to_csv).unwrap_or_default();
        download(bytes, CSV, &format!("{stem}.csv"))
    }
}

/// `GET /console/dashboard/tables/{scores|kpis}.{csv|xlsx}?province=…|unit=…`.
pub async fn download_table(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    Query(q): Query<DashQuery>,
) -> Response {
    let ctx = match context(&state, &headers, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (what, xlsx) = match file.rsplit_once('.') {
        Some((w @ ("scores" | "kpis"), "csv")) => (w, false),
        Some((w @ ("scores" | "kpis"), "xlsx")) => (w, true),
        _ => {
            return refuse(
                StatusCode::NOT_FOUND,
                "Không có bảng này",
                "Có bảng scores và kpis, dạng .csv hoặc .xlsx.",
            );
        }
    };
    let mut units = shown_units(&ctx, q.province.as_deref());
    if let Some(unit) = q.unit.as_deref() {
        units.retain(|u| u == unit);
    }
    let stem = format!(
        "{what}-{}{}{}",
        ctx.snapshot.wave.code,
        ctx.snapshot.period.map(|p| format!("-{p}")).unwrap_or_default(),
        q.unit
            .as_deref()
            .or(q.province.as_deref())
            .map(|u| format!("-{u}"))
            .unwrap_or_default()
    );
    let table = if what == "scores" {
        score_table(&ctx, &|r| units.contains(&r.unit_code))
    } else {
        kpi_rows(&ctx, &units)
    };
    table_response(&[table], &stem, xlsx)
}

/// `GET /console/dashboard/reports/{period}/{unit}` (printable) and `…/{unit}.xlsx` (its annex): the plans' report of a
/// province or a commune.
pub async fn show_report(
    State(state): State<AppState>,
    Path((period, unit)): Path<(String, String)>,
    headers: HeaderMap,
    Query(mut q): Query<DashQuery>,
) -> Response {
    q.period = Some(period);
    let ctx = match context(&state, &headers, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (unit, xlsx) = match unit.strip_suffix(".xlsx") {
        Some(u) => (u.to_owned(), true),
        None => (unit, false),
    };
    let is_province = ctx.snapshot.units.province_names.contains_key(&unit);
    let province = if is_province {
        Some(unit.clone())
    } else {
        ctx.province_of(&unit)
    };
    let Some(province) = province.filter(|p| ctx.visible.sees(&unit, p)) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "Không có đơn vị này",
            "Không có tỉnh hay xã, phường nào mang mã này trong phạm vi anh/chị được xem.",
        );
    };
    let communes: Vec<String> = if is_province {
        shown_units(&ctx, Some(&province))
    } else {
        vec![unit.clone()]
    };
    let name = ctx.snapshot.unit_name(&unit);
    let Some(period) = ctx.snapshot.period else {
        return refuse(StatusCode::BAD_REQUEST, "Thiếu kỳ báo cáo", "Xin chọn kỳ báo cáo.");
    };
    let title = format!(
        "{} – {name}",
        period.period().map(|p| p.name).unwrap_or_else(|| period.to_string())
    );
    if xlsx {
        let mut method = Table::new("Phương pháp", &["Mục", "Nội dung"]);
        for (k, v) in method_notes(&ctx) {
            method.push(vec![k.into(), v.into()]);
        }
        let tables = [
            score_table(&ctx, &|r| communes.contains(&r.unit_code)),
            kpi_rows(&ctx, &communes),
            method,
        ];
        return table_response(&tables, &format!("bao-cao-{period}-{unit}"), true);
    }
    let data_keep = ctx.keep();
    let body = html! {
        style { "@media print{.noprint,header,nav.crumbs{display:none}main{max-width:none}figure{break-inside:avoid}}" }
        nav.crumbs.noprint { a href=(format!("{HOME}?{data_keep}")) { "Bảng điểm" } " · "
            a href=(format!("/console/dashboard/reports/{period}/{unit}.xlsx?wave={}", ctx.snapshot.wave.code)) { "Phụ lục (XLSX)" } }
        h1 { (title) }
        p { "Đợt khảo sát: " (ctx.snapshot.wave.title) " (" (ctx.snapshot.wave.code) ")." }
        (freshness(&ctx))
        @if communes.is_empty() || (!is_province && ctx.snapshot.score(&unit, Level::Total, TOTAL_CODE).is_none()) {
            p.err { "Trong kỳ này chưa đủ 10 người trả lời nên chưa có điểm để công bố." }
        } @else if is_province {
            h2 { "Xếp hạng các xã, phường theo điểm tổng" }
            (ranking_table(&ctx, &ctx.ranked(&province, Level::Total, TOTAL_CODE)))
            (chart_img(&ctx, "heatmap", ("province", &province), &format!("Nhóm điểm theo lĩnh vực, {name}")))
            (chart_img(&ctx, "map", ("province", &province), &format!("Điểm tổng theo vị trí xã, phường, {name}")))
            h2 { "Nội dung thành phần yếu nhất" }
            (weakest_table(&ctx, &province))
        } @else {
            @let changes = ctx.snapshot.changes();
            h2 { "Điểm tám lĩnh vực" }
            (dimension_table(&ctx, &unit, &province, &changes))
            (chart_img(&ctx, "profile", ("unit", &unit), &format!("{name}: điểm tám lĩnh vực so với trung bình tỉnh")))
            (chart_img(&ctx, "radar", ("unit", &unit), &format!("{name}: biểu đồ mạng nhện tám lĩnh vực")))
        }
        h2 { "Xử lý phản ánh, kiến nghị" }
        (kpi_table(&ctx, &communes))
        h2 { "Phương pháp" }
        dl { @for (k, v) in method_notes(&ctx) { dt { (k) } dd { (v) } } }
    };
    Html(page(&title, Some(&ctx.official), body).into_string()).into_response()
}

fn method_notes(ctx: &Context) -> Vec<(&'static str, String)> {
    vec![
        ("Kỳ", period_label(ctx.snapshot.period)),
        (
            "Đợt khảo sát",
            format!("{} ({})", ctx.snapshot.wave.title, ctx.snapshot.wave.code),
        ),
        ("Tính lúc", vn_time(ctx.snapshot.computed_at)),
        (
            "Thang điểm",
            "Mỗi câu trả lời được quy về 0–1 (1 là tốt); nội dung thành phần là trung bình 0–1; lĩnh vực 1–10; \
             điểm tổng là tổng tám lĩnh vực, 8–80."
                .to_owned(),
        ),
        (
            "Khoảng tin cậy",
            "Khoảng tin cậy 95% ước lượng bằng bootstrap trên người trả lời (có gieo số ngẫu nhiên, tính lại cho \
             cùng kết quả)."
                .to_owned(),
        ),
        (
            "Công bố",
            format!(
                "Xã, phường dưới 10 người trả lời không được công bố; dưới 30 người ghi “{NOT_ENOUGH_VI}” và không \
                 xếp hạng, không xếp nhóm."
            ),
        ),
        (
            "Phản ánh, kiến nghị",
            "Tỷ lệ đúng hạn = số đã trả lời đúng hạn / (số đã trả lời + số đang mở quá hạn); thời gian trả lời là \
             trung vị, tính theo giờ đồng hồ."
                .to_owned(),
        ),
    ]
}
