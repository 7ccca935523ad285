//! Each dimension across waves: one line per series, intervals as whiskers.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    AXIS, Chart, ChartError, GRID, LABEL_PX, LINE_PX, LegendEntry, Scale, anchored, decimals_for, dims, draw_error,
    draw_legend, draw_title, nfc, number, render, series_color, ticks, wrap,
};
use crate::charts::Format;

/// One wave's value of a [`TrendSeries`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendPoint {
    /// The score.
    pub score: f64,
    /// Its interval.
    pub ci: Option<(f64, f64)>,
}

/// One line of a [`TrendChart`], e.g. one dimension of one commune.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    /// Its legend.
    pub label: String,
    /// One per wave; a missing wave breaks the line.
    pub points: Vec<Option<TrendPoint>>,
}

/// Scores across waves.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendChart {
    /// The chart's title.
    pub title: String,
    /// The waves' names, oldest first.
    pub waves: Vec<String>,
    /// The lines (up to eight distinct colours).
    pub series: Vec<TrendSeries>,
    /// Beside the value axis, e.g. "Điểm (1–10)".
    pub axis_label: String,
    /// The value axis, (1, 10) for dimensions.
    pub range: (f64, f64),
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`TrendChart`].
pub fn trend(chart: &TrendChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

impl Chart for TrendChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let mut top = draw_title(area, &self.title)?;
        let legend: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendEntry {
                color: series_color(i),
                label: s.label.clone(),
                line: true,
            })
            .collect();
        top += draw_legend(area, &legend, (20, top), w - 20)? + 12;
        area.draw(&Text::new(
            nfc(&self.axis_label),
            (20, top),
            anchored(LABEL_PX, HPos::Left, VPos::Top),
        ))
        .map_err(draw_error)?;
        top += 36;

        let (low, high) = self.range;
        let left = 70;
        let right = w - 40;
        let bottom = h - 70;
        let y_scale = Scale {
            v0: low,
            v1: high,
            p0: bottom,
            p1: top,
        };
        let values = ticks(low, high, 6);
        let decimals = decimals_for(&values);
        for &v in &values {
            let y = y_scale.at(v);
            area.draw(&PathElement::new(vec![(left, y), (right, y)], GRID))
                .map_err(draw_error)?;
            area.draw(&Text::new(
                number(v, decimals, self.decimal_comma),
                (left - 10, y),
                anchored(LABEL_PX, HPos::Right, VPos::Center),
            ))
            .map_err(draw_error)?;
        }
        area.draw(&PathElement::new(vec![(left, bottom), (right, bottom)], AXIS))
            .map_err(draw_error)?;

        let waves = self.waves.len().max(1) as i32;
        let slot = (right - left) / waves;
        let x_of = |i: usize| left + slot * i as i32 + slot / 2;
        for (i, wave) in self.waves.iter().enumerate() {
            let lines = wrap(area, wave, LABEL_PX, slot - 8, 2);
            for (k, line) in lines.iter().enumerate() {
                area.draw(&Text::new(
                    line.clone(),
                    (x_of(i), bottom + 8 + k as i32 * LINE_PX),
                    anchored(LABEL_PX, HPos::Center, VPos::Top),
                ))
                .map_err(draw_error)?;
            }
        }

        let series_count = self.series.len().max(1) as i32;
        for (s, series) in self.series.iter().enumerate() {
            let color = series_color(s);
            // Whiskers of different series side by side rather than on top of each other.
            let offset = ((s as i32) - (series_count - 1) / 2) * 4;
            let mut segment: Vec<(i32, i32)> = Vec::new();
            let mut segments = Vec::new();
            for (i, point) in series.points.iter().enumerate().take(self.waves.len()) {
                match point {
                    Some(p) => segment.push((x_of(i) + offset, y_scale.at(p.score))),
                    None => segments.push(std::mem::take(&mut segment)),
                }
            }
            segments.push(segment);
            for line in segments.into_iter().filter(|l| l.len() > 1) {
                area.draw(&PathElement::new(line, color.stroke_width(3)))
                    .map_err(draw_error)?;
            }
            for (i, point) in series.points.iter().enumerate().take(self.waves.len()) {
                let Some(p) = point else { continue };
                let x = x_of(i) + offset;
                if let Some((ci_low, ci_high)) = p.ci {
                    area.draw(&PathElement::new(
                        vec![(x, y_scale.at(ci_low)), (x, y_scale.at(ci_high))],
                        color.mix(0.6).stroke_width(2),
                    ))
                    .map_err(draw_error)?;
                }
                area.draw(&Circle::new((x, y_scale.at(p.score)), 5, color.filled()))
                    .map_err(draw_error)?;
            }
        }
        Ok(())
    }
}
