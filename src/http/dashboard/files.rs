//! The dashboard's files: charts as PNG or SVG and tables as CSV or XLSX, drawn and written on the blocking
//! threads.

use super::*;

/// The size a chart is drawn at: tall enough for one row per commune where it lists them.
fn chart_size(kind: &str, rows: usize) -> (u32, u32) {
    let rows = u32::try_from(rows).unwrap_or(u32::MAX);
    match kind {
        "heatmap" | "ranking" | "kpis" => (1000, 700.max(160_u32.saturating_add(rows.saturating_mul(22)))),
        _ => (1000, 700),
    }
}

/// `GET /console/dashboard/charts/{kind}.{png|svg}?province=…|unit=…`: one chart.
pub(super) async fn show_chart(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Leader(leader): Leader,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let ctx = context(&state, leader, &q).await?;
    let Some((kind, format)) = file.rsplit_once('.').and_then(|(k, ext)| match ext {
        "png" => Some((k, Format::Png)),
        "svg" => Some((k, Format::Svg)),
        _ => None,
    }) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Không có biểu đồ này",
            "Biểu đồ có đuôi .png hoặc .svg.",
        ));
    };
    let kind = kind.to_owned();
    off_the_runtime(move || draw_chart(&ctx, &kind, format, &q)).await
}

/// Draws one chart (or takes it from the snapshot's cache) and answers with it.
fn draw_chart(ctx: &Context, kind: &str, format: Format, q: &DashQuery) -> Result<Response, PageError> {
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
                return Err(not_found());
            }
            let label = ctx.province_label(province);
            let units: Vec<String> = ctx
                .ranked(province, Level::Total, TOTAL_CODE)
                .iter()
                .map(|r| r.unit_code.clone())
                .collect();
            if units.is_empty() {
                return Err(not_found());
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
                return Err(not_found());
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
                None => return Err(not_found()),
            }
        }
        _ => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "Không có biểu đồ này",
                "Biểu đồ tỉnh (heatmap, ranking, map, kpis) cần ?province=mã; biểu đồ xã (profile, radar, trend) cần ?unit=mã.",
            ));
        }
    };
    let bytes = drawn.on_page(LANG, HOME)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
        ],
        bytes.as_ref().clone(),
    )
        .into_response())
}

/// Runs drawing or workbook writing on the blocking threads: a chart or a workbook takes from tens of
/// milliseconds to seconds of CPU, which would stall every other request on an async thread.
async fn off_the_runtime<F>(work: F) -> Result<Response, PageError>
where
    F: FnOnce() -> Result<Response, PageError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(PageError::new(
            LANG,
            HOME,
            Error::Unavailable(format!("drawing failed: {e}")),
        ))
    })
}

/// The score table of the units shown: every level, with names, for CSV and XLSX alike.
pub(super) fn score_table(ctx: &Context, units: &dyn Fn(&ScoreRow) -> bool) -> Table {
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
            "papi_scale",
            "partial",
        ],
    );
    let codebook = &ctx.snapshot.codebook;
    let papi = ykien_analysis::PapiScale::new(codebook);
    let partial = |r: &ScoreRow| {
        ctx.snapshot
            .partial
            .iter()
            .any(|p| p.wave == r.wave && p.unit_code == r.unit_code && p.level == r.level && p.code == r.code)
    };
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
            // PAPI reports a sub-dimension as (1 + 9s)/k so that a dimension's sub-dimensions add up to it.
            papi.of(r).into(),
            partial(r).then_some("1").into(),
        ]);
    }
    t
}

pub(super) fn kpi_rows(ctx: &Context, units: &[String]) -> Table {
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
pub(super) fn shown_units(ctx: &Context, province: Option<&str>) -> Vec<String> {
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

pub(crate) async fn table_response(tables: Vec<Table>, stem: String, xlsx: bool) -> Result<Response, PageError> {
    if xlsx {
        off_the_runtime(move || {
            let bytes = ykien_analysis::workbook(&tables)
                .map_err(|e| PageError::new(LANG, HOME, Error::Unavailable(e.to_string())))?;
            Ok(download(bytes, XLSX, &format!("{stem}.xlsx")))
        })
        .await
    } else {
        let bytes = tables.first().map(Table::to_csv).unwrap_or_default();
        Ok(download(bytes, CSV, &format!("{stem}.csv")))
    }
}

/// `GET /console/dashboard/tables/{scores|kpis}.{csv|xlsx}?province=…|unit=…`.
pub(super) async fn download_table(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Leader(leader): Leader,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let ctx = context(&state, leader, &q).await?;
    let (what, xlsx) = match file.rsplit_once('.') {
        Some((w @ ("scores" | "kpis"), "csv")) => (w, false),
        Some((w @ ("scores" | "kpis"), "xlsx")) => (w, true),
        _ => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "Không có bảng này",
                "Có bảng scores và kpis, dạng .csv hoặc .xlsx.",
            ));
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
    table_response(vec![table], stem, xlsx).await
}
