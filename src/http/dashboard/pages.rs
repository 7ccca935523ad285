//! The dashboard's pages: the province overview, a commune's page, and the plans' printable reports.

use super::files::{kpi_rows, score_table, shown_units, table_response};
use super::*;

/// `GET /console/dashboard`: the overview of each province the official may see.
pub(super) async fn show_overview(
    State(state): State<AppState>,
    Leader(leader): Leader,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let csrf = leader.csrf(&state);
    let ctx = context(&state, leader, &q).await?;
    let waves = state.scoreboard.waves().await.on_page(LANG, HOME)?;
    let provinces = ctx.provinces();
    let keep = ctx.keep();
    let periods: Vec<(String, String)> = periods_of(&ctx.snapshot)
        .into_iter()
        .map(|p| (p.to_string(), period_label(Some(p))))
        .collect();
    let mut published = Vec::new();
    for province in &provinces {
        published.push(state.publications.of_province(province).await.on_page(LANG, HOME)?);
    }
    let body = html! {
        h1 { "Bảng điểm PAPI cấp xã" }
        (choose_form(&ctx, &waves, HOME))
        (freshness(&ctx))
        @if provinces.is_empty() {
            p { "Chưa có xã, phường nào đủ 10 người trả lời trong đợt và kỳ này, nên chưa có điểm để công bố." }
        }
        @for (province, published) in provinces.iter().zip(&published) {
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
                (crate::http::publish::province_panel(&csrf, province, &ctx.snapshot.wave.code, &periods, published))
            }
        }
    };
    Ok(Html(page("Bảng điểm", Some((&ctx.official, &ctx.csrf)), body).into_string()).into_response())
}

fn ranking_table(ctx: &Context, ranked: &[&ScoreRow]) -> Markup {
    let keep = ctx.keep();
    let weighted = ctx.snapshot.weighting.is_some();
    html! {
        table {
            thead { tr {
                th.num { "Hạng" } th { "Xã, phường" } th.num { "Điểm tổng" } th.num.wide { "Khoảng tin cậy 95%" }
                @if weighted { th.num { "Chưa gia quyền" } }
                th.num { "Số người" } th { "Nhóm" }
            } }
            tbody { @for r in ranked {
                tr {
                    td.num { (r.rank.map(|x| x.to_string()).unwrap_or_default()) }
                    td { a href=(format!("/console/dashboard/units/{}?{keep}", r.unit_code)) { (ctx.snapshot.unit_name(&r.unit_code)) } }
                    td.num { (score_text(r)) }
                    td.num.wide { (interval_text(r)) }
                    @if weighted {
                        td.num { (ctx.snapshot.unweighted(&r.unit_code, Level::Total, TOTAL_CODE).map(|u| num(u.score, 2)).unwrap_or_else(|| "–".to_owned())) }
                    }
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
pub(super) async fn show_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Leader(leader): Leader,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let ctx = context(&state, leader, &q).await?;
    let Some(province) = ctx.province_of(&code).filter(|p| ctx.visible.sees(&code, p)) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Không có xã, phường này",
            "Không có xã, phường nào mang mã này trong phạm vi anh/chị được xem.",
        ));
    };
    let name = ctx.snapshot.unit_name(&code);
    let total = ctx.snapshot.score(&code, Level::Total, TOTAL_CODE);
    let province_label = ctx.province_label(&province);
    let wave = ctx.snapshot.wave.code.clone();
    let commune = crate::services::units::unit_by_code(&state.store, &code, crate::http::today_in_vietnam())
        .await
        .ok();
    // The open cases of this commune, for the weakest sub-dimensions.
    let open_cases = match &commune {
        Some(unit) => state.cases.open_in(unit).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut weakest: Vec<&ScoreRow> = ctx
        .snapshot
        .scores
        .unit_rows(&code)
        .filter(|r| r.level == Level::Subdimension)
        .collect();
    weakest.sort_by(|a, b| a.score.total_cmp(&b.score));
    weakest.truncate(WEAKEST);
    let village_section = match &commune {
        Some(unit) => super::papi::village_section(&state, &ctx, unit).await,
        None => html! {},
    };
    let channels = state
        .scoreboard
        .channel_shares(&ctx.snapshot, &code)
        .await
        .unwrap_or_default();
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
                    " · " a href=(format!("/console/posters/{code}.pdf")) { "Áp phích (PDF)" }
                    " · " a href=(format!("/console/posters/{code}.svg")) { "Áp phích (SVG)" }
                }
                (chart_img(&ctx, "profile", ("unit", &code), &format!("{name}: điểm tám lĩnh vực so với trung bình {province_label}")))
                (dimension_table(&ctx, &code, &province))
                (super::papi::comparison_note(&ctx))
                (super::papi::subdimension_table(&ctx, &code))
                (village_section)
                @if !channels.is_empty() {
                    p.muted { "Kênh trả lời (cả đợt): "
                        @for (i, share) in channels.iter().enumerate() {
                            @if i > 0 { " · " }
                            (channel_label(&share.channel)) " " (num(share.percent, 0)) "% (" (share.responses) ")"
                        }
                        ". Mỗi tài khoản Zalo, Telegram chỉ trả lời một lần; trên web, mỗi trình duyệt một lần và tối đa "
                        (state.config.responses_per_address) " phiếu mỗi địa chỉ mạng."
                    }
                }
                (chart_img(&ctx, "radar", ("unit", &code), &format!("{name}: biểu đồ mạng nhện tám lĩnh vực")))
                @if ctx.snapshot.waves.len() > 1 {
                    (chart_img(&ctx, "trend", ("unit", &code), &format!("{name}: diễn biến qua các đợt")))
                }
                h2 { "Ba nội dung thành phần yếu nhất" }
                @for w in &weakest {
                    @let best = ctx.ranked(&province, Level::Subdimension, &w.code);
                    section {
                        h3 { (w.code) " · " (subdimension_name(&ctx, &w.code)) ": " (score_text(w)) " / 1" }
                        // On a split wave each sub-dimension has its own respondents: fewer than the commune's.
                        p.muted { (w.n) " người trả lời nội dung này." }
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
    Ok(Html(page(&name, Some((&ctx.official, &ctx.csrf)), body).into_string()).into_response())
}

fn dimension_table(ctx: &Context, unit: &str, province: &str) -> Markup {
    let weighted = ctx.snapshot.weighting.is_some();
    html! {
        table {
            thead { tr {
                th { "Lĩnh vực" } th.num { "Điểm" } th.num.wide { "Khoảng tin cậy 95%" }
                @if weighted { th.num { "Chưa gia quyền" } }
                th.num { "Trung bình tỉnh" } th.num { "Tốt nhất tỉnh" } th.num { "Thay đổi" } th { "Nhóm" }
            } }
            tbody { @for d in &ctx.snapshot.codebook.dimensions {
                @let row = ctx.snapshot.score(unit, Level::Dimension, &d.code);
                @let best = ctx.ranked(province, Level::Dimension, &d.code).into_iter().find(|r| r.sufficiency == Sufficiency::Enough);
                @let change = ctx.snapshot.changes_of(unit).iter().find(|c| c.level == Level::Dimension && c.code == d.code);
                tr {
                    td { (d.number) ". " (d.name.vi) }
                    td.num { (row.map(score_text).unwrap_or_else(|| "–".to_owned())) }
                    td.num.wide { (row.map(interval_text).unwrap_or_default()) }
                    @if weighted {
                        td.num { (ctx.snapshot.unweighted(unit, Level::Dimension, &d.code).map(|r| num(r.score, 2)).unwrap_or_else(|| "–".to_owned())) }
                    }
                    td.num { (ctx.snapshot.scores.province_mean(province, Level::Dimension, &d.code).map(|m| num(m, 2)).unwrap_or_else(|| "–".to_owned())) }
                    td.num { (best.map(|b| format!("{} ({})", num(b.score, 2), ctx.snapshot.unit_name(&b.unit_code))).unwrap_or_else(|| "–".to_owned())) }
                    td.num { (change.map(|c| format!("{}{}{}", if c.change >= 0.0 { "+" } else { "" }, num(c.change, 2), if c.clear { " (rõ rệt)" } else { "" })).unwrap_or_else(|| "–".to_owned())) }
                    td { (row.map(quartile_text).unwrap_or_default()) }
                }
            } }
        }
    }
}

/// `GET /console/dashboard/reports/{period}/{unit}` (printable) and `…/{unit}.xlsx` (its annex): the plans' report of a
/// province or a commune.
pub(super) async fn show_report(
    State(state): State<AppState>,
    Path((period, unit)): Path<(String, String)>,
    Leader(leader): Leader,
    Query(mut q): Query<DashQuery>,
) -> Result<Response, PageError> {
    q.period = Some(period);
    let ctx = context(&state, leader, &q).await?;
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
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Không có đơn vị này",
            "Không có tỉnh hay xã, phường nào mang mã này trong phạm vi anh/chị được xem.",
        ));
    };
    let communes: Vec<String> = if is_province {
        shown_units(&ctx, Some(&province))
    } else {
        vec![unit.clone()]
    };
    let name = ctx.snapshot.unit_name(&unit);
    let Some(period) = ctx.snapshot.period else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Thiếu kỳ báo cáo",
            "Xin chọn kỳ báo cáo.",
        ));
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
        let tables = vec![
            score_table(&ctx, &|r| communes.contains(&r.unit_code)),
            kpi_rows(&ctx, &communes),
            method,
        ];
        return table_response(tables, format!("bao-cao-{period}-{unit}"), true).await;
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
            h2 { "Điểm tám lĩnh vực" }
            (dimension_table(&ctx, &unit, &province))
            (chart_img(&ctx, "profile", ("unit", &unit), &format!("{name}: điểm tám lĩnh vực so với trung bình tỉnh")))
            (chart_img(&ctx, "radar", ("unit", &unit), &format!("{name}: biểu đồ mạng nhện tám lĩnh vực")))
        }
        h2 { "Xử lý phản ánh, kiến nghị" }
        (kpi_table(&ctx, &communes))
        h2 { "Phương pháp" }
        dl { @for (k, v) in method_notes(&ctx) { dt { (k) } dd { (v) } } }
    };
    Ok(Html(page(&title, Some((&ctx.official, &ctx.csrf)), body).into_string()).into_response())
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
            "Trọng số",
            match &ctx.snapshot.weighting {
                Some(w) => weighting_sentence(w),
                None => {
                    "Không gia quyền: mỗi người trả lời được tính như nhau, chưa hiệu chỉnh theo cơ cấu giới tính, \
                         độ tuổi, học vấn của dân số (unweighted)."
                        .to_owned()
                }
            },
        ),
        (
            "Câu trả lời được tính",
            format!(
                "Áp dụng đúng điều kiện hỏi của bảng hỏi: câu trả lời cho câu hỏi mà người trả lời không thuộc diện \
                 được hỏi, mã trả lời không hợp lệ hoặc trùng lặp, mâu thuẫn đều bị loại, không tính điểm ({} dòng \
                 trong lần tính này).",
                ctx.snapshot.scores.ignored_rows()
            ),
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

/// A response channel's name on the dashboard.
fn channel_label(channel: &str) -> &str {
    match channel {
        "web" => "Web",
        "api" => "Nhập liệu (API)",
        "telegram" => "Telegram",
        "zalo" => "Zalo",
        other => other,
    }
}
