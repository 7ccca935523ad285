//! One row per commune: the ranking dot plot with intervals, and the feedback KPIs.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    AXIS, Chart, ChartError, LABEL_PX, LINE_PX, LegendEntry, MUTED, NOTE, Scale, TEXT, UNIT, anchored, dims,
    draw_error, draw_legend, draw_title, nfc, number, quartile_color, ramp, render, text_width, ticks, value_axis,
    wrap,
};
use crate::charts::Format;
use crate::quartile::Quartile;

/// One unit of a [`RankingChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct RankingRow {
    /// The unit's name.
    pub label: String,
    /// Its score.
    pub score: f64,
    /// Its interval, drawn as a line through the dot.
    pub ci: Option<(f64, f64)>,
    /// Its group, which colours the dot (grey without one).
    pub quartile: Option<Quartile>,
    /// Marks the unit the page is about.
    pub highlight: bool,
}

/// Units ranked by a score, best at the top, each a dot with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingChart {
    /// The chart's title.
    pub title: String,
    /// Under the value axis, e.g. "Điểm tổng (8–80)".
    pub axis_label: String,
    /// The four groups' names, best first (e.g. [`Quartile::label_vi`] of [`Quartile::ALL`]).
    pub group_labels: [String; 4],
    /// The units, in any order; drawn sorted by score.
    pub rows: Vec<RankingRow>,
    /// The value axis; `None` fits the data.
    pub range: Option<(f64, f64)>,
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`RankingChart`].
pub fn ranking(chart: &RankingChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

/// Every `step`-th row gets a label when rows are thinner than a line of text.
fn label_step(row_height: f64) -> usize {
    if row_height >= f64::from(LINE_PX) {
        1
    } else {
        (f64::from(LINE_PX) / row_height.max(0.1)).ceil() as usize
    }
}

impl Chart for RankingChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let mut top = draw_title(area, &self.title)?;
        let legend: Vec<LegendEntry> = Quartile::ALL
            .iter()
            .zip(&self.group_labels)
            .map(|(&q, label)| LegendEntry {
                color: quartile_color(q),
                label: label.clone(),
                line: false,
            })
            .collect();
        top += draw_legend(area, &legend, (20, top), w - 20)? + 8;

        let mut rows: Vec<&RankingRow> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.score.total_cmp(&a.score));
        let (low, high) = self.range.unwrap_or_else(|| {
            let lows = rows.iter().map(|r| r.ci.map_or(r.score, |c| c.0));
            let highs = rows.iter().map(|r| r.ci.map_or(r.score, |c| c.1));
            let low = lows.fold(f64::INFINITY, f64::min);
            let high = highs.fold(f64::NEG_INFINITY, f64::max);
            if low.is_finite() && high.is_finite() && high > low {
                let pad = (high - low) * 0.05;
                (low - pad, high + pad)
            } else {
                (0.0, 1.0)
            }
        });

        let max_label = w * 2 / 5;
        let numbered: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let line = wrap(area, &r.label, LABEL_PX, max_label - 50, 1).join(" ");
                format!("{}. {line}", i + 1)
            })
            .collect();
        let label_width = numbered
            .iter()
            .map(|l| text_width(area, l, LABEL_PX))
            .max()
            .unwrap_or(0)
            .min(max_label);
        let left = 16 + label_width + 12;
        let right = w - 30;
        let bottom = h - 80;
        let count = rows.len().max(1);
        let row_height = f64::from(bottom - top) / count as f64;
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
            &ticks(low, high, 8),
            self.decimal_comma,
            false,
        )?;
        area.draw(&Text::new(
            nfc(&self.axis_label),
            ((left + right) / 2, bottom + 44),
            anchored(LABEL_PX, HPos::Center, VPos::Top),
        ))
        .map_err(draw_error)?;

        let step = label_step(row_height);
        for (i, (row, label)) in rows.iter().zip(&numbered).enumerate() {
            let y = top + (row_height * (i as f64 + 0.5)).round() as i32;
            if row.highlight {
                let half = (row_height / 2.0).ceil() as i32;
                area.draw(&Rectangle::new(
                    [(8, y - half), (right, y + half)],
                    UNIT.mix(0.12).filled(),
                ))
                .map_err(draw_error)?;
            }
            if i % step == 0 || row.highlight {
                let color = if row.highlight { UNIT } else { TEXT };
                area.draw(&Text::new(
                    label.clone(),
                    (left - 12, y),
                    anchored(LABEL_PX, HPos::Right, VPos::Center).color(&color),
                ))
                .map_err(draw_error)?;
            }
            let color = row.quartile.map_or(MUTED, quartile_color);
            if let Some((ci_low, ci_high)) = row.ci {
                area.draw(&PathElement::new(
                    vec![(scale.at(ci_low), y), (scale.at(ci_high), y)],
                    color.stroke_width(2),
                ))
                .map_err(draw_error)?;
            }
            let radius = (row_height / 3.0).clamp(2.0, 6.0) as i32;
            area.draw(&Circle::new((scale.at(row.score), y), radius, color.filled()))
                .map_err(draw_error)?;
        }
        area.draw(&PathElement::new(vec![(left, top), (left, bottom)], AXIS))
            .map_err(draw_error)?;
        Ok(())
    }
}

/// One unit of a [`KpiChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    /// The unit's name.
    pub label: String,
    /// Cases received.
    pub cases: usize,
    /// Closed on time / (closed + open overdue), 0–1.
    pub on_time_rate: Option<f64>,
    /// Median hours from receipt to answer.
    pub median_hours: Option<f64>,
    /// Mean rating 1–5.
    pub mean_rating: Option<f64>,
}

/// Feedback KPIs per unit: the on-time rate as a bar (0–100%), cases, median time to answer and mean rating as
/// text beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiChart {
    /// The chart's title.
    pub title: String,
    /// Under the rate axis, e.g. "Tỷ lệ giải quyết đúng hạn".
    pub rate_label: String,
    /// After the case count, e.g. "phản ánh".
    pub cases_word: String,
    /// After the median, e.g. "giờ".
    pub hours_word: String,
    /// After the mean rating, e.g. "điểm hài lòng".
    pub rating_word: String,
    /// The units, top to bottom as given.
    pub rows: Vec<KpiRow>,
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`KpiChart`].
pub fn feedback_kpis(chart: &KpiChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

impl KpiChart {
    fn note(&self, row: &KpiRow) -> String {
        let mut parts = vec![format!("{} {}", row.cases, self.cases_word)];
        if let Some(hours) = row.median_hours {
            parts.push(format!("{} {}", number(hours, 0, self.decimal_comma), self.hours_word));
        }
        if let Some(rating) = row.mean_rating {
            parts.push(format!(
                "{} {}",
                number(rating, 1, self.decimal_comma),
                self.rating_word
            ));
        }
        nfc(&parts.join(" · "))
    }
}

impl Chart for KpiChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let top = draw_title(area, &self.title)? + 8;
        let max_label = w / 4;
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| wrap(area, &r.label, LABEL_PX, max_label, 1).join(" "))
            .collect();
        let notes: Vec<String> = self.rows.iter().map(|r| self.note(r)).collect();
        let label_width = labels
            .iter()
            .map(|l| text_width(area, l, LABEL_PX))
            .max()
            .unwrap_or(0)
            .min(max_label);
        let note_width = notes.iter().map(|l| text_width(area, l, LABEL_PX)).max().unwrap_or(0);
        let left = 16 + label_width + 12;
        let bottom = h - 80;
        let count = self.rows.len().max(1);
        let row_height = f64::from(bottom - top) / count as f64;
        // Notes go in a column right of the bars when the bars keep at least a third of the width, else under
        // each bar when rows are tall enough for two lines, else they are cut to fit the column.
        let beside = w - 16 - note_width - 70 - left >= w / 3;
        let below = !beside && row_height >= f64::from(2 * LINE_PX + 8);
        let right = if beside || below {
            (w - 16 - if beside { note_width + 70 } else { 60 }).max(left + 40)
        } else {
            (left + w / 3).min(w - 100)
        };
        let scale = Scale {
            v0: 0.0,
            v1: 1.0,
            p0: left,
            p1: right,
        };
        value_axis(
            area,
            scale,
            (top, bottom),
            &ticks(0.0, 1.0, 5),
            self.decimal_comma,
            true,
        )?;
        area.draw(&Text::new(
            nfc(&self.rate_label),
            ((left + right) / 2, bottom + 44),
            anchored(LABEL_PX, HPos::Center, VPos::Top),
        ))
        .map_err(draw_error)?;
        let step = label_step(row_height);
        let half = if below {
            ((row_height * 0.2).round() as i32).clamp(1, 14)
        } else {
            ((row_height * 0.35).round() as i32).max(1)
        };
        for (i, ((row, label), note)) in self.rows.iter().zip(&labels).zip(&notes).enumerate() {
            let row_mid = top + (row_height * (i as f64 + 0.5)).round() as i32;
            // With the note underneath, the bar moves up to leave the row's lower half to it.
            let y = if below { row_mid - LINE_PX / 2 } else { row_mid };
            let show_text = i % step == 0;
            if show_text {
                area.draw(&Text::new(
                    label.clone(),
                    (left - 12, y),
                    anchored(LABEL_PX, HPos::Right, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
            match row.on_time_rate {
                Some(rate) => {
                    let x = scale.at(rate.clamp(0.0, 1.0));
                    area.draw(&Rectangle::new([(left, y - half), (x, y + half)], ramp(rate).filled()))
                        .map_err(draw_error)?;
                    if show_text {
                        area.draw(&Text::new(
                            format!("{}%", number(rate * 100.0, 0, self.decimal_comma)),
                            (x + 6, y),
                            anchored(LABEL_PX, HPos::Left, VPos::Center),
                        ))
                        .map_err(draw_error)?;
                    }
                }
                None if show_text => {
                    area.draw(&Text::new(
                        "–",
                        (left + 8, y),
                        anchored(LABEL_PX, HPos::Left, VPos::Center).color(&MUTED),
                    ))
                    .map_err(draw_error)?;
                }
                None => {}
            }
            if show_text {
                let (text, at) = if beside {
                    (note.clone(), (right + 64, y))
                } else if below {
                    (note.clone(), (left + 4, y + half + LINE_PX / 2 + 2))
                } else {
                    let cut = wrap(area, note, LABEL_PX, w - 16 - (right + 64), 1).join(" ");
                    (cut, (right + 64, y))
                };
                area.draw(&Text::new(
                    text,
                    at,
                    anchored(LABEL_PX, HPos::Left, VPos::Center).color(&NOTE),
                ))
                .map_err(draw_error)?;
            }
        }
        area.draw(&PathElement::new(vec![(left, top), (left, bottom)], AXIS))
            .map_err(draw_error)?;
        Ok(())
    }
}
