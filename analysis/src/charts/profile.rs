//! A commune's dimension profile: bars beside the province mean, and the radar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    AXIS, Chart, ChartError, GRID, LABEL_PX, LINE_PX, LegendEntry, MUTED, PROVINCE, Scale, TEXT, UNIT, anchored, dims,
    draw_error, draw_legend, draw_title, nfc, number, render, text_width, ticks, value_axis, wrap,
};
use crate::charts::Format;

/// One dimension of [`ProfileChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct DimensionBar {
    /// The dimension's name (wrapped to two lines when long).
    pub label: String,
    /// The commune's score; `None` draws `note` instead of a bar.
    pub score: Option<f64>,
    /// The commune's interval, drawn as a whisker.
    pub ci: Option<(f64, f64)>,
    /// The province mean, drawn as a thinner grey bar below the commune's.
    pub province_mean: Option<f64>,
    /// Shown instead of a missing score, e.g. "Chưa đủ câu trả lời".
    pub note: Option<String>,
}

/// A commune's dimension scores beside the province mean, with interval whiskers (horizontal bars, so that long
/// Vietnamese dimension names stay readable).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileChart {
    /// The chart's title.
    pub title: String,
    /// The legend of the commune's bars, e.g. its name.
    pub unit_label: String,
    /// The legend of the province's bars, e.g. "Trung bình tỉnh".
    pub province_label: String,
    /// The legend of the whiskers, e.g. "Khoảng tin cậy 95%".
    pub interval_label: String,
    /// One per dimension, top to bottom.
    pub bars: Vec<DimensionBar>,
    /// The value axis, (1, 10) for dimensions.
    pub range: (f64, f64),
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`ProfileChart`].
pub fn dimension_profile(chart: &ProfileChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

impl Chart for ProfileChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let mut top = draw_title(area, &self.title)?;
        let legend = [
            LegendEntry {
                color: UNIT,
                label: self.unit_label.clone(),
                line: false,
            },
            LegendEntry {
                color: PROVINCE,
                label: self.province_label.clone(),
                line: false,
            },
            LegendEntry {
                color: TEXT,
                label: self.interval_label.clone(),
                line: true,
            },
        ];
        top += draw_legend(area, &legend, (20, top), w - 20)? + 8;

        let label_width = self
            .bars
            .iter()
            .map(|b| {
                wrap(area, &b.label, LABEL_PX, w * 2 / 5, 2)
                    .iter()
                    .map(|l| text_width(area, l, LABEL_PX))
                    .max()
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
            .min(w * 2 / 5);
        let left = 16 + label_width + 12;
        let right = w - 70;
        let bottom = h - 44;
        let rows = self.bars.len().max(1) as i32;
        let row_height = ((bottom - top) / rows).max(1);
        let (low, high) = self.range;
        let scale = Scale {
            v0: low,
            v1: high,
            p0: left,
            p1: right,
        };
        value_axis(
            area,
            scale,
            (top, bottom),
            &ticks(low, high, 9),
            self.decimal_comma,
            false,
        )?;

        for (i, bar) in self.bars.iter().enumerate() {
            let y0 = top + i as i32 * row_height;
            let mid = y0 + row_height / 2;
            let lines = wrap(area, &bar.label, LABEL_PX, label_width, 2);
            let line_height = LINE_PX;
            let first = mid - (lines.len() as i32 - 1) * line_height / 2;
            for (k, line) in lines.iter().enumerate() {
                area.draw(&Text::new(
                    line.clone(),
                    (left - 12, first + k as i32 * line_height),
                    anchored(LABEL_PX, HPos::Right, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
            let unit_band = (y0 + row_height / 8, y0 + row_height * 9 / 16);
            let province_band = (y0 + row_height * 5 / 8, y0 + row_height * 7 / 8);
            if let Some(mean) = bar.province_mean {
                area.draw(&Rectangle::new(
                    [(scale.at(low), province_band.0), (scale.at(mean), province_band.1)],
                    PROVINCE.filled(),
                ))
                .map_err(draw_error)?;
            }
            match bar.score {
                Some(score) => {
                    area.draw(&Rectangle::new(
                        [(scale.at(low), unit_band.0), (scale.at(score), unit_band.1)],
                        UNIT.filled(),
                    ))
                    .map_err(draw_error)?;
                    let whisker_mid = (unit_band.0 + unit_band.1) / 2;
                    let mut label_x = scale.at(score);
                    if let Some((ci_low, ci_high)) = bar.ci {
                        let (x0, x1) = (scale.at(ci_low), scale.at(ci_high));
                        let cap = ((unit_band.1 - unit_band.0) / 3).max(3);
                        for path in [
                            vec![(x0, whisker_mid), (x1, whisker_mid)],
                            vec![(x0, whisker_mid - cap), (x0, whisker_mid + cap)],
                            vec![(x1, whisker_mid - cap), (x1, whisker_mid + cap)],
                        ] {
                            area.draw(&PathElement::new(path, TEXT.stroke_width(2)))
                                .map_err(draw_error)?;
                        }
                        label_x = label_x.max(x1);
                    }
                    area.draw(&Text::new(
                        number(score, 1, self.decimal_comma),
                        (label_x + 6, whisker_mid),
                        anchored(LABEL_PX, HPos::Left, VPos::Center),
                    ))
                    .map_err(draw_error)?;
                }
                None => {
                    let note = bar.note.as_deref().map(nfc).unwrap_or_else(|| "–".to_owned());
                    area.draw(&Text::new(
                        note,
                        (left + 8, (unit_band.0 + unit_band.1) / 2),
                        anchored(LABEL_PX, HPos::Left, VPos::Center).color(&MUTED),
                    ))
                    .map_err(draw_error)?;
                }
            }
        }
        area.draw(&PathElement::new(vec![(left, top), (left, bottom)], AXIS))
            .map_err(draw_error)?;
        Ok(())
    }
}

/// One polygon of a [`RadarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct RadarSeries {
    /// Its legend, e.g. the commune's name or "Trung bình tỉnh".
    pub label: String,
    /// One value per axis; a missing value leaves its corner out of the polygon.
    pub values: Vec<Option<f64>>,
}

/// The eight dimensions as a radar: one axis per dimension, one polygon per series.
#[derive(Debug, Clone, PartialEq)]
pub struct RadarChart {
    /// The chart's title.
    pub title: String,
    /// The axis names, clockwise from the top (short names read best).
    pub axes: Vec<String>,
    /// The first is drawn in the commune's colour, the second in the province's, others in series colours.
    pub series: Vec<RadarSeries>,
    /// The value at the centre and at the rim, (1, 10) for dimensions.
    pub range: (f64, f64),
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`RadarChart`].
pub fn radar(chart: &RadarChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

fn radar_color(index: usize) -> RGBColor {
    match index {
        0 => UNIT,
        1 => RGBColor(120, 120, 120),
        n => super::series_color(n),
    }
}

impl Chart for RadarChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let mut top = draw_title(area, &self.title)?;
        let legend: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendEntry {
                color: radar_color(i),
                label: s.label.clone(),
                line: true,
            })
            .collect();
        top += draw_legend(area, &legend, (20, top), w - 20)? + 8;

        let label_room = 180;
        let vertical_room = 2 * LINE_PX + 24;
        let radius = ((w - 2 * label_room).min(h - top - 2 * vertical_room) / 2).max(20);
        let center = (w / 2, top + (h - top) / 2);
        let n = self.axes.len().max(3);
        let (low, high) = self.range;
        let point = |axis: usize, value: f64| {
            let angle = -std::f64::consts::FRAC_PI_2 + axis as f64 * std::f64::consts::TAU / n as f64;
            let t = if high > low {
                ((value - low) / (high - low)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let r = t * f64::from(radius);
            (
                center.0 + (r * angle.cos()).round() as i32,
                center.1 + (r * angle.sin()).round() as i32,
            )
        };

        let rings = ticks(low, high, 5);
        for &ring in &rings {
            if ring <= low {
                continue;
            }
            let mut outline: Vec<(i32, i32)> = (0..n).map(|a| point(a, ring)).collect();
            outline.push(point(0, ring));
            area.draw(&PathElement::new(outline, GRID.stroke_width(1)))
                .map_err(draw_error)?;
            let (x, y) = point(0, ring);
            area.draw(&Text::new(
                number(ring, super::decimals_for(&rings), self.decimal_comma),
                (x + 4, y),
                anchored(LABEL_PX, HPos::Left, VPos::Center).color(&MUTED),
            ))
            .map_err(draw_error)?;
        }
        for a in 0..n {
            area.draw(&PathElement::new(vec![center, point(a, high)], GRID.stroke_width(1)))
                .map_err(draw_error)?;
        }

        for (a, label) in self.axes.iter().enumerate() {
            let angle = -std::f64::consts::FRAC_PI_2 + a as f64 * std::f64::consts::TAU / n as f64;
            let (cos, sin) = (angle.cos(), angle.sin());
            let r = f64::from(radius) + 14.0;
            let x = center.0 + (r * cos).round() as i32;
            let y = center.1 + (r * sin).round() as i32;
            let h_pos = if cos > 0.3 {
                HPos::Left
            } else if cos < -0.3 {
                HPos::Right
            } else {
                HPos::Center
            };
            let lines = wrap(area, label, LABEL_PX, label_room - 24, 2);
            let line_height = LINE_PX;
            let block = lines.len() as i32 * line_height;
            let first = if sin < -0.3 {
                y - block + line_height / 2
            } else if sin > 0.3 {
                y + line_height / 2
            } else {
                y - block / 2 + line_height / 2
            };
            for (k, line) in lines.iter().enumerate() {
                area.draw(&Text::new(
                    line.clone(),
                    (x, first + k as i32 * line_height),
                    anchored(LABEL_PX, h_pos, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
        }

        for (i, series) in self.series.iter().enumerate() {
            let color = radar_color(i);
            let corners: Vec<(i32, i32)> = series
                .values
                .iter()
                .enumerate()
                .filter_map(|(a, v)| v.map(|v| point(a, v)))
                .collect();
            if corners.len() >= 3 {
                area.draw(&Polygon::new(corners.clone(), color.mix(0.15).filled()))
                    .map_err(draw_error)?;
            }
            let mut outline = corners.clone();
            if let Some(&first) = corners.first() {
                outline.push(first);
            }
            area.draw(&PathElement::new(outline, color.stroke_width(3)))
                .map_err(draw_error)?;
            for &corner in &corners {
                area.draw(&Circle::new(corner, 4, color.filled())).map_err(draw_error)?;
            }
        }
        Ok(())
    }
}
