//! From [`Scores`] to the charts of the dashboard and of `ykien analyze --out DIR`: each builder picks the rows a
//! chart needs and words its title and labels in Vietnamese; [`write_charts`] renders a run's charts to files.
//!
//! Only published rows are drawn, so a score from fewer than 10 respondents can never reach a chart; a score from
//! 10 to 29 respondents is drawn with "(chưa đủ câu trả lời)" beside its name and without a quartile colour.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::AnalysisError;
use crate::aggregate::{DIMENSION_MAX, DIMENSION_MIN, Sufficiency, TOTAL_MAX, TOTAL_MIN};
use crate::charts::{
    ChartError, DimensionBar, Format, HeatmapCell, HeatmapChart, HeatmapRow, KpiChart, KpiRow, MapChart, MapPoint,
    ProfileChart, RadarChart, RadarSeries, RankingChart, RankingRow, TrendChart, TrendPoint, TrendSeries,
    dimension_profile, feedback_kpis, quartile_heatmap, radar, ranking, score_map, trend,
};
use crate::codebook::Codebook;
use crate::input::Unit;
use crate::kpi::UnitKpi;
use crate::quartile::Quartile;
use crate::scores::{Level, ScoreRow, Scores, TOTAL_CODE};

/// Said of a score from 10 to 29 respondents.
pub const NOT_ENOUGH_VI: &str = "Chưa đủ câu trả lời";

/// The short Vietnamese names of PAPI's eight dimensions, for axes and column headers.
pub const DIMENSION_SHORT_VI: [&str; 8] = [
    "Tham gia",
    "Công khai, minh bạch",
    "Trách nhiệm giải trình",
    "Kiểm soát tham nhũng",
    "Thủ tục hành chính",
    "Dịch vụ công",
    "Quản trị môi trường",
    "Quản trị điện tử",
];

/// What the chart builders read: one run's scores and the tables that name things.
#[derive(Debug, Clone, Copy)]
pub struct ChartData<'a> {
    /// The scores.
    pub scores: &'a Scores,
    /// The codebook they were scored with (dimension names).
    pub codebook: &'a Codebook,
    /// The units (names, provinces, centroids).
    pub units: &'a [Unit],
}

impl<'a> ChartData<'a> {
    fn unit_name(&self, code: &str) -> String {
        self.units
            .iter()
            .find(|u| u.code == code)
            .map_or_else(|| code.to_owned(), |u| u.name.clone())
    }

    fn short_dimension(&self, index: usize) -> String {
        let d = &self.codebook.dimensions[index];
        usize::from(d.number)
            .checked_sub(1)
            .and_then(|i| DIMENSION_SHORT_VI.get(i))
            .map_or_else(|| d.name.vi.clone(), |s| (*s).to_owned())
    }

    fn name_of(&self, level: Level, code: &str) -> String {
        let name = match level {
            Level::Total => Some("Điểm tổng".to_owned()),
            Level::Dimension => self.codebook.dimension(code).map(|d| d.name.vi.clone()),
            Level::Subdimension => self.codebook.subdimension(code).map(|s| s.name.vi.clone()),
            Level::Indicator => self.codebook.indicator(code).map(|i| i.name.vi.clone()),
        };
        name.unwrap_or_else(|| code.to_owned())
    }

    fn rows_of(
        &self,
        wave: &'a str,
        province: &'a str,
        level: Level,
        code: &'a str,
    ) -> impl Iterator<Item = &'a ScoreRow> {
        self.scores
            .rows
            .iter()
            .filter(move |r| r.wave == wave && r.province_code == province && r.level == level && r.code == code)
    }
}

fn label_with_sufficiency(label: String, row: &ScoreRow) -> String {
    if row.sufficiency == Sufficiency::NotEnough {
        format!("{label} ({})", NOT_ENOUGH_VI.to_lowercase())
    } else {
        label
    }
}

fn interval(row: &ScoreRow) -> Option<(f64, f64)> {
    row.ci_low.zip(row.ci_high)
}

fn group_labels() -> [String; 4] {
    Quartile::ALL.map(|q| q.label_vi().to_owned())
}

fn scale_of(level: Level) -> (f64, f64, &'static str) {
    match level {
        Level::Total => (TOTAL_MIN, TOTAL_MAX, "8–80"),
        Level::Dimension => (DIMENSION_MIN, DIMENSION_MAX, "1–10"),
        Level::Subdimension | Level::Indicator => (0.0, 1.0, "0–1"),
    }
}

/// A commune's eight dimensions beside its province's mean, with interval whiskers; `None` when it has no
/// published score in `wave`.
pub fn profile_chart(data: ChartData<'_>, wave: &str, unit_code: &str, province_label: &str) -> Option<ProfileChart> {
    let name = data.unit_name(unit_code);
    let mut any = false;
    let bars: Vec<DimensionBar> = data
        .codebook
        .dimensions
        .iter()
        .map(|d| {
            let row = data.scores.get(wave, unit_code, Level::Dimension, &d.code);
            any |= row.is_some();
            let province_mean = row.and_then(|r| {
                data.scores
                    .province_mean(wave, &r.province_code, Level::Dimension, &d.code)
            });
            let label = format!("{}. {}", d.number, d.name.vi);
            DimensionBar {
                label: row.map_or_else(|| label.clone(), |r| label_with_sufficiency(label.clone(), r)),
                score: row.map(|r| r.score),
                ci: row.and_then(interval),
                province_mean,
                note: row.is_none().then(|| NOT_ENOUGH_VI.to_owned()),
            }
        })
        .collect();
    any.then(|| ProfileChart {
        title: format!("{name}: điểm tám lĩnh vực, đợt {wave}"),
        unit_label: name,
        province_label: format!("Trung bình {province_label}"),
        interval_label: "Khoảng tin cậy 95%".to_owned(),
        bars,
        range: (DIMENSION_MIN, DIMENSION_MAX),
        decimal_comma: true,
    })
}

/// A commune's eight dimensions as a radar, beside its province's mean; `None` without published scores.
pub fn radar_chart(data: ChartData<'_>, wave: &str, unit_code: &str, province_label: &str) -> Option<RadarChart> {
    let name = data.unit_name(unit_code);
    let dims = &data.codebook.dimensions;
    let rows: Vec<Option<&ScoreRow>> = dims
        .iter()
        .map(|d| data.scores.get(wave, unit_code, Level::Dimension, &d.code))
        .collect();
    let province = rows.iter().flatten().next()?.province_code.clone();
    Some(RadarChart {
        title: format!("{name} so với trung bình {province_label}, đợt {wave}"),
        axes: (0..dims.len()).map(|i| data.short_dimension(i)).collect(),
        series: vec![
            RadarSeries {
                label: name,
                values: rows.iter().map(|r| r.map(|r| r.score)).collect(),
            },
            RadarSeries {
                label: format!("Trung bình {province_label}"),
                values: dims
                    .iter()
                    .map(|d| data.scores.province_mean(wave, &province, Level::Dimension, &d.code))
                    .collect(),
            },
        ],
        range: (DIMENSION_MIN, DIMENSION_MAX),
        decimal_comma: true,
    })
}

/// A province's communes (best total first) × dimensions, coloured by quartile group.
pub fn heatmap_chart(data: ChartData<'_>, wave: &str, province_code: &str, province_label: &str) -> HeatmapChart {
    let rows: Vec<&ScoreRow> = data.scores.rows.iter().collect();
    heatmap_of(data, Province::all(data, wave, province_code, &rows), province_label)
}

/// The rows of one wave and province, and the unit names, as a chart of it reads them: [`write_charts`] picks
/// each province's rows and indexes the names once, where a lone chart scans the run's rows and the units list
/// (a national run's charts compared every one of 450,000 rows and 10,000 units' codes per province and chart).
#[derive(Clone, Copy)]
struct Province<'a, 'p> {
    data: ChartData<'a>,
    wave: &'p str,
    code: &'p str,
    /// Rows to pick from, in the run's order: all of them, or those of this wave and province.
    rows: &'p [&'a ScoreRow],
    /// Unit code → name, the first unit listed with the code; `None` reads the units list.
    names: Option<&'p HashMap<&'a str, &'a str>>,
}

impl<'a, 'p> Province<'a, 'p> {
    fn all(data: ChartData<'a>, wave: &'p str, code: &'p str, rows: &'p [&'a ScoreRow]) -> Self {
        Self {
            data,
            wave,
            code,
            rows,
            names: None,
        }
    }

    fn rows(self, level: Level, code: &'p str) -> impl Iterator<Item = &'a ScoreRow> + 'p {
        let (wave, province) = (self.wave, self.code);
        self.rows
            .iter()
            .copied()
            .filter(move |r| r.wave == wave && r.province_code == province && r.level == level && r.code == code)
    }

    fn unit_name(&self, code: &str) -> String {
        match self.names {
            Some(names) => names.get(code).map_or_else(|| code.to_owned(), |n| (*n).to_owned()),
            None => self.data.unit_name(code),
        }
    }
}

fn heatmap_of(data: ChartData<'_>, province: Province<'_, '_>, province_label: &str) -> HeatmapChart {
    let (wave, province_code) = (province.wave, province.code);
    let mut totals: Vec<&ScoreRow> = province.rows(Level::Total, TOTAL_CODE).collect();
    totals.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.unit_code.cmp(&b.unit_code)));
    // The province's dimension scores in one pass: looking each cell up among all the run's rows would read them
    // all once per commune and dimension (minutes for a national run).
    let dimension_rows: HashMap<(&str, &str), &ScoreRow> = province
        .rows
        .iter()
        .copied()
        .filter(|r| r.wave == wave && r.province_code == province_code && r.level == Level::Dimension)
        .map(|r| ((r.unit_code.as_str(), r.code.as_str()), r))
        .collect();
    let rows = totals
        .iter()
        .map(|total| HeatmapRow {
            label: label_with_sufficiency(province.unit_name(&total.unit_code), total),
            cells: data
                .codebook
                .dimensions
                .iter()
                .map(|d| {
                    let row = dimension_rows
                        .get(&(total.unit_code.as_str(), d.code.as_str()))
                        .copied();
                    HeatmapCell {
                        score: row.map(|r| r.score),
                        quartile: row.and_then(|r| r.quartile),
                    }
                })
                .collect(),
        })
        .collect();
    HeatmapChart {
        title: format!("Nhóm điểm các xã, phường của {province_label} theo lĩnh vực, đợt {wave}"),
        columns: (0..data.codebook.dimensions.len())
            .map(|i| data.short_dimension(i))
            .collect(),
        rows,
        group_labels: group_labels(),
        missing_label: NOT_ENOUGH_VI.to_owned(),
        decimal_comma: true,
    }
}

/// A province's communes ranked on one score, each with its interval; `highlight` marks the page's commune.
pub fn ranking_chart(
    data: ChartData<'_>,
    wave: &str,
    province_code: &str,
    province_label: &str,
    (level, code): (Level, &str),
    highlight: Option<&str>,
) -> RankingChart {
    let rows: Vec<&ScoreRow> = data.scores.rows.iter().collect();
    ranking_of(
        data,
        Province::all(data, wave, province_code, &rows),
        province_label,
        (level, code),
        highlight,
    )
}

fn ranking_of(
    data: ChartData<'_>,
    province: Province<'_, '_>,
    province_label: &str,
    (level, code): (Level, &str),
    highlight: Option<&str>,
) -> RankingChart {
    let wave = province.wave;
    let name = data.name_of(level, code);
    let (low, high, scale) = scale_of(level);
    RankingChart {
        title: format!("Xếp hạng các xã, phường của {province_label}: {name}, đợt {wave}"),
        axis_label: format!("{name} ({scale})"),
        group_labels: group_labels(),
        rows: province
            .rows(level, code)
            .map(|r| RankingRow {
                label: label_with_sufficiency(province.unit_name(&r.unit_code), r),
                score: r.score,
                ci: interval(r),
                quartile: r.quartile,
                highlight: highlight == Some(r.unit_code.as_str()),
            })
            .collect(),
        range: Some((low, high)).filter(|_| level != Level::Total),
        decimal_comma: true,
    }
}

/// A province's communes at their centroids, coloured by their total score (communes without a centroid are left
/// out; those without a published total are hollow).
pub fn map_chart(data: ChartData<'_>, wave: &str, province_code: &str, province_label: &str) -> MapChart {
    let rows: Vec<&ScoreRow> = data.scores.rows.iter().collect();
    map_of(data, Province::all(data, wave, province_code, &rows), province_label)
}

fn map_of(data: ChartData<'_>, province: Province<'_, '_>, province_label: &str) -> MapChart {
    let (wave, province_code) = (province.wave, province.code);
    let totals: HashMap<&str, f64> = province
        .rows(Level::Total, TOTAL_CODE)
        .map(|r| (r.unit_code.as_str(), r.score))
        .collect();
    let mut scores: Vec<f64> = totals.values().copied().collect();
    scores.sort_by(f64::total_cmp);
    let range = match (scores.first(), scores.last()) {
        (Some(&low), Some(&high)) if high > low => (low, high),
        (Some(&v), _) => (v - 1.0, v + 1.0),
        _ => (TOTAL_MIN, TOTAL_MAX),
    };
    let best = totals
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(code, _)| (*code).to_owned());
    let worst = totals
        .iter()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(code, _)| (*code).to_owned());
    MapChart {
        title: format!("Điểm tổng các xã, phường của {province_label} theo vị trí, đợt {wave}"),
        scale_label: "Điểm tổng (8–80)".to_owned(),
        range,
        points: data
            .units
            .iter()
            .filter(|u| u.province_code == province_code)
            .filter_map(|u| {
                let (lat, lon) = u.lat.zip(u.lon)?;
                let named = best.as_deref() == Some(u.code.as_str()) || worst.as_deref() == Some(u.code.as_str());
                Some(MapPoint {
                    label: named.then(|| u.name.clone()),
                    lat,
                    lon,
                    score: totals.get(u.code.as_str()).copied(),
                })
            })
            .collect(),
        decimal_comma: true,
    }
}

/// A commune's eight dimensions across every wave it has published scores in (waves in code order).
pub fn trend_chart(data: ChartData<'_>, unit_code: &str) -> Option<TrendChart> {
    let waves: BTreeSet<&str> = data
        .scores
        .rows
        .iter()
        .filter(|r| r.unit_code == unit_code && r.level == Level::Dimension)
        .map(|r| r.wave.as_str())
        .collect();
    if waves.is_empty() {
        return None;
    }
    let name = data.unit_name(unit_code);
    Some(TrendChart {
        title: format!("{name}: điểm các lĩnh vực qua các đợt khảo sát"),
        waves: waves.iter().map(|w| format!("Đợt {w}")).collect(),
        series: data
            .codebook
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| TrendSeries {
                label: format!("{}. {}", d.number, data.short_dimension(i)),
                points: waves
                    .iter()
                    .map(|w| {
                        data.scores
                            .get(w, unit_code, Level::Dimension, &d.code)
                            .map(|r| TrendPoint {
                                score: r.score,
                                ci: interval(r),
                            })
                    })
                    .collect(),
            })
            .collect(),
        axis_label: "Điểm (1–10)".to_owned(),
        range: (DIMENSION_MIN, DIMENSION_MAX),
        decimal_comma: true,
    })
}

/// The feedback KPIs of the given units, in the order of `kpis`.
pub fn kpi_chart(kpis: &[UnitKpi], units: &[Unit], title: &str) -> KpiChart {
    let names: HashMap<&str, &str> = units.iter().map(|u| (u.code.as_str(), u.name.as_str())).collect();
    KpiChart {
        title: title.to_owned(),
        rate_label: "Tỷ lệ giải quyết đúng hạn".to_owned(),
        cases_word: "phản ánh".to_owned(),
        hours_word: "giờ (trung vị)".to_owned(),
        rating_word: "điểm hài lòng".to_owned(),
        rows: kpis
            .iter()
            .map(|k| KpiRow {
                label: names
                    .get(k.unit_code.as_str())
                    .map_or_else(|| k.unit_code.clone(), |n| (*n).to_owned()),
                cases: k.cases,
                on_time_rate: k.on_time_rate,
                median_hours: k.median_hours_to_answer,
                mean_rating: k.mean_rating,
            })
            .collect(),
        decimal_comma: true,
    }
}

/// Which charts [`write_charts`] renders.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// The file formats, each chart once per format.
    pub formats: Vec<Format>,
    /// The size of every chart in pixels.
    pub size: (u32, u32),
    /// Province names by code (e.g. "tỉnh Hưng Yên"); a province without one is called "tỉnh {code}".
    pub province_names: BTreeMap<String, String>,
    /// Also draw each commune's profile, radar and trend (three charts per commune and format: many files for a
    /// whole country).
    pub per_unit: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            formats: vec![Format::Png, Format::Svg],
            size: (1000, 700),
            province_names: BTreeMap::new(),
            per_unit: false,
        }
    }
}

/// Renders the charts of `data` into `dir` and returns the files written:
/// per wave and province `heatmap-{wave}-{province}`, `ranking-{wave}-{province}` (total) and, when its communes
/// have centroids, `map-{wave}-{province}`; with [`ChartOptions::per_unit`], per wave and commune
/// `profile-{wave}-{unit}` and `radar-{wave}-{unit}`, and per commune `trend-{unit}`. The extension is the format's.
pub fn write_charts(data: ChartData<'_>, dir: &Path, options: &ChartOptions) -> Result<Vec<PathBuf>, AnalysisError> {
    std::fs::create_dir_all(dir).map_err(|source| AnalysisError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let emit = |written: &mut Vec<PathBuf>, stem: String, draw: &dyn Fn(Format) -> Result<Vec<u8>, ChartError>| {
        for &format in &options.formats {
            let name = format!("{stem}.{}", if format == Format::Png { "png" } else { "svg" });
            let bytes = draw(format).map_err(|source| AnalysisError::Chart {
                name: name.clone(),
                source,
            })?;
            let path = dir.join(&name);
            std::fs::write(&path, bytes).map_err(|source| AnalysisError::Write {
                path: path.display().to_string(),
                source,
            })?;
            written.push(path);
        }
        Ok::<(), AnalysisError>(())
    };
    let size = options.size;
    let groups: Vec<(&str, &str)> = data
        .scores
        .rows
        .iter()
        .filter(|r| r.level == Level::Total)
        .map(|r| (r.wave.as_str(), r.province_code.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rows_of: HashMap<(&str, &str), Vec<&ScoreRow>> = HashMap::new();
    for r in &data.scores.rows {
        rows_of
            .entry((r.wave.as_str(), r.province_code.as_str()))
            .or_default()
            .push(r);
    }
    let mut names: HashMap<&str, &str> = HashMap::with_capacity(data.units.len());
    for u in data.units {
        names.entry(u.code.as_str()).or_insert(u.name.as_str());
    }
    // Each province's charts on a thread of their own (a national run draws over a hundred); the list keeps the
    // provinces' order.
    let per_province = groups
        .par_iter()
        .map(|&(wave, province)| {
            let chosen = Province {
                data,
                wave,
                code: province,
                rows: rows_of.get(&(wave, province)).map_or(&[][..], Vec::as_slice),
                names: Some(&names),
            };
            let mut written = Vec::new();
            let label = options
                .province_names
                .get(province)
                .cloned()
                .unwrap_or_else(|| format!("tỉnh {province}"));
            let heatmap = heatmap_of(data, chosen, &label);
            emit(&mut written, format!("heatmap-{wave}-{province}"), &|f| {
                quartile_heatmap(&heatmap, size, f)
            })?;
            let ranked = ranking_of(data, chosen, &label, (Level::Total, TOTAL_CODE), None);
            emit(&mut written, format!("ranking-{wave}-{province}"), &|f| {
                ranking(&ranked, size, f)
            })?;
            let map = map_of(data, chosen, &label);
            if !map.points.is_empty() {
                emit(&mut written, format!("map-{wave}-{province}"), &|f| {
                    score_map(&map, size, f)
                })?;
            }
            if options.per_unit {
                let units: BTreeSet<&str> = data
                    .rows_of(wave, province, Level::Total, TOTAL_CODE)
                    .map(|r| r.unit_code.as_str())
                    .collect();
                for unit in units {
                    if let Some(chart) = profile_chart(data, wave, unit, &label) {
                        emit(&mut written, format!("profile-{wave}-{unit}"), &|f| {
                            dimension_profile(&chart, size, f)
                        })?;
                    }
                    if let Some(chart) = radar_chart(data, wave, unit, &label) {
                        emit(&mut written, format!("radar-{wave}-{unit}"), &|f| {
                            radar(&chart, size, f)
                        })?;
                    }
                }
            }
            Ok(written)
        })
        .collect::<Result<Vec<Vec<PathBuf>>, AnalysisError>>()?;
    let mut written: Vec<PathBuf> = per_province.into_iter().flatten().collect();
    if options.per_unit {
        let units: BTreeSet<&str> = data.scores.rows.iter().map(|r| r.unit_code.as_str()).collect();
        for unit in units {
            if let Some(chart) = trend_chart(data, unit) {
                emit(&mut written, format!("trend-{unit}"), &|f| trend(&chart, size, f))?;
            }
        }
    }
    Ok(written)
}

/// Renders the feedback KPI chart of `kpis` into `dir` as `feedback-kpis.{png,svg}`.
pub fn write_kpi_chart(
    kpis: &[UnitKpi],
    units: &[Unit],
    dir: &Path,
    options: &ChartOptions,
) -> Result<Vec<PathBuf>, AnalysisError> {
    let chart = kpi_chart(kpis, units, "Xử lý phản ánh, kiến nghị theo xã, phường");
    let mut written = Vec::new();
    for &format in &options.formats {
        let name = format!("feedback-kpis.{}", if format == Format::Png { "png" } else { "svg" });
        let bytes = feedback_kpis(&chart, options.size, format).map_err(|source| AnalysisError::Chart {
            name: name.clone(),
            source,
        })?;
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| AnalysisError::Write {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
