//! The leaders' dashboard `/console/dashboard` (leaders and administrators, read-only): the province overview (heatmap,
//! ranking, map, the weakest sub-dimensions, feedback KPIs), a commune's page (its charts, its weakest
//! sub-dimensions with the open cases about them and what the province's best communes score there), every chart
//! as PNG or SVG, every table as CSV or XLSX, and the plans' six-month and annual reports as printable pages with
//! an XLSX annex.
//!
//! Everything is drawn from a [`Snapshot`]: only published scores (10 respondents or more) exist there, so a
//! commune with fewer can never appear; scores from 10 to 29 respondents carry "chưa đủ câu trả lời".

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use ykien_analysis::charts::{self, Format};
use ykien_analysis::report::{self as charts_of, NOT_ENOUGH_VI};
use ykien_analysis::{ChartData, Level, ScoreRow, Sufficiency, TOTAL_CODE, Table};

mod files;
pub(super) use files::table_response;
mod pages;
mod papi;

use axum::Router;
use axum::routing::get;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::vn_time;
use super::session::{Leader, SignedIn};
use crate::domain::Lang;
use crate::domain::calendar::vn_day;
use crate::domain::survey::PlanPeriod;
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::scoreboard::{Snapshot, SnapshotKey};

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
    /// The session's CSRF token, for the logout form of every page.
    csrf: String,
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

fn refuse(status: StatusCode, title: &str, text: &str) -> PageError {
    PageError::message(LANG, HOME, status, title, text)
}

/// What every dashboard page needs: the leader, the units they may see, the snapshot of the wave and period asked
/// for (or the "being computed" page while it is made).
async fn context(state: &AppState, session: SignedIn, q: &DashQuery) -> Result<Context, PageError> {
    let csrf = session.csrf(state);
    let official = session.official;
    let mut codes = BTreeSet::new();
    for id in &official.scope {
        codes.insert(state.store.unit(*id).await.on_page(LANG, HOME)?.code);
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
        None => match state.scoreboard.default_wave().await.on_page(LANG, HOME)? {
            Some(w) => w.code,
            None => {
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    "Chưa có đợt khảo sát",
                    "Chưa có đợt khảo sát nào nên chưa có điểm để xem.",
                ));
            }
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
            e => PageError::new(LANG, HOME, e),
        })?;
    Ok(Context {
        official,
        csrf,
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
    PlanPeriod::spanning(from, to).into_iter().rev().collect()
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
        @if let Some(w) = &ctx.snapshot.weighting {
            p.weighting { (weighting_sentence(w)) }
        }
    }
}

/// What the survey weights do to the shown scores and what they cost in precision, in one sentence (pages and the
/// reports' method section).
fn weighting_sentence(w: &crate::services::scoreboard::Weighting) -> String {
    let s = &w.summary;
    let mut text = format!(
        "Điểm đã gia quyền: mỗi người trả lời được tính theo trọng số hiệu chỉnh cơ cấu người trả lời về cơ cấu \
         dân số (phương pháp raking theo tệp {file}, tính lúc {at}; trọng số không quá {cap} lần trọng số trung \
         bình). Gia quyền làm giảm độ chính xác: hệ số ảnh hưởng thiết kế (deff) {deff}, tương đương {n_eff} người \
         trả lời không gia quyền trên {n} người. Điểm chưa gia quyền ghi bên cạnh để so sánh.",
        file = s.margins_file,
        at = vn_time(s.computed_at),
        cap = num(s.cap, 1),
        deff = num(s.design_effect(), 2),
        n_eff = num(s.effective_n(), 0),
        n = s.respondents,
    );
    if !s.sources.is_empty() {
        text.push_str(&format!(" Nguồn số liệu dân số: {}.", s.sources.join("; ")));
    }
    if w.late > 0 {
        text.push_str(&format!(
            " {} phiếu trả lời sau khi tính trọng số được tính với trọng số 1; nên tính lại trọng số \
             (ykien weights compute).",
            w.late
        ));
    }
    if !s.converged() {
        text.push_str(" Trọng số chưa khớp hết cơ cấu dân số ở một số tỉnh (xem docs/weights.md).");
    }
    text
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
                .province_mean(province, Level::Subdimension, &s.code)
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

/// The dashboard's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/dashboard", get(pages::show_overview))
        .route("/console/dashboard/units/{code}", get(pages::show_unit))
        .route("/console/dashboard/charts/{file}", get(files::show_chart))
        .route("/console/dashboard/tables/{file}", get(files::download_table))
        .route("/console/dashboard/reports/{period}/{unit}", get(pages::show_report))
}
