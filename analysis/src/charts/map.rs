//! Communes placed at their centroids and coloured by score: a map without base layer, so no tiles or shapes are
//! needed, in an equirectangular projection corrected for latitude so the province keeps its shape.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Chart, ChartError, GRID, LABEL_PX, MUTED, anchored, dims, draw_error, draw_title, nfc, number, ramp, render, ticks,
};
use crate::charts::Format;

/// One commune of a [`MapChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Printed beside the dot when given (name the few that matter; a hundred labels overlap).
    pub label: Option<String>,
    /// Centroid latitude.
    pub lat: f64,
    /// Centroid longitude.
    pub lon: f64,
    /// The score colouring the dot; `None` draws a hollow grey dot.
    pub score: Option<f64>,
}

/// Communes at their centroids, coloured from red (low) through yellow to green (high).
#[derive(Debug, Clone, PartialEq)]
pub struct MapChart {
    /// The chart's title.
    pub title: String,
    /// Above the colour bar, e.g. "Điểm tổng".
    pub scale_label: String,
    /// The scores at the red and the green end of the colour bar.
    pub range: (f64, f64),
    /// The communes; points with non-finite coordinates are skipped.
    pub points: Vec<MapPoint>,
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`MapChart`].
pub fn score_map(chart: &MapChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

impl Chart for MapChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let top = draw_title(area, &self.title)? + 10;
        let (low, high) = self.range;
        let t_of = |score: f64| if high > low { (score - low) / (high - low) } else { 0.5 };

        // Colour bar on the right.
        let bar_x = w - 110;
        let bar_top = top + 40;
        let bar_bottom = (h - 40).max(bar_top + 40);
        area.draw(&Text::new(
            nfc(&self.scale_label),
            (w - 20, top),
            anchored(LABEL_PX, HPos::Right, VPos::Top),
        ))
        .map_err(draw_error)?;
        let steps = (bar_bottom - bar_top).max(1);
        for k in 0..steps {
            let t = 1.0 - f64::from(k) / f64::from(steps);
            area.draw(&Rectangle::new(
                [(bar_x, bar_top + k), (bar_x + 24, bar_top + k + 1)],
                ramp(t).filled(),
            ))
            .map_err(draw_error)?;
        }
        let marks = ticks(low, high, 5);
        let decimals = super::decimals_for(&marks);
        for &m in &marks {
            let y = bar_bottom - ((t_of(m) * f64::from(steps)).round() as i32);
            area.draw(&PathElement::new(vec![(bar_x + 24, y), (bar_x + 30, y)], MUTED))
                .map_err(draw_error)?;
            area.draw(&Text::new(
                number(m, decimals, self.decimal_comma),
                (bar_x + 34, y),
                anchored(LABEL_PX, HPos::Left, VPos::Center),
            ))
            .map_err(draw_error)?;
        }

        let points: Vec<&MapPoint> = self
            .points
            .iter()
            .filter(|p| p.lat.is_finite() && p.lon.is_finite())
            .collect();
        if points.is_empty() {
            return Ok(());
        }
        let (mut lat0, mut lat1, mut lon0, mut lon1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &points {
            lat0 = lat0.min(p.lat);
            lat1 = lat1.max(p.lat);
            lon0 = lon0.min(p.lon);
            lon1 = lon1.max(p.lon);
        }
        let shrink = ((lat0 + lat1) / 2.0).to_radians().cos().max(0.1);
        let span_x = ((lon1 - lon0) * shrink).max(1e-6);
        let span_y = (lat1 - lat0).max(1e-6);
        // Inside the frame by more than a dot's radius, so edge communes are whole.
        let (map_left, map_right, map_top, map_bottom) = (40, bar_x - 50, top + 30, h - 40);
        let room_x = f64::from(map_right - map_left);
        let room_y = f64::from(map_bottom - map_top);
        let pixels_per_unit = (room_x / span_x).min(room_y / span_y);
        let pad_x = (room_x - span_x * pixels_per_unit) / 2.0;
        let pad_y = (room_y - span_y * pixels_per_unit) / 2.0;
        let place = |p: &MapPoint| {
            let x = f64::from(map_left) + pad_x + (p.lon - lon0) * shrink * pixels_per_unit;
            let y = f64::from(map_top) + pad_y + (lat1 - p.lat) * pixels_per_unit;
            (x.round() as i32, y.round() as i32)
        };
        area.draw(&Rectangle::new(
            [(map_left - 20, map_top - 20), (map_right + 20, map_bottom + 20)],
            GRID,
        ))
        .map_err(draw_error)?;
        for p in &points {
            let at = place(p);
            match p.score {
                Some(score) => {
                    area.draw(&Circle::new(at, 9, ramp(t_of(score)).filled()))
                        .map_err(draw_error)?;
                    area.draw(&Circle::new(at, 9, RGBColor(60, 60, 60).stroke_width(1)))
                        .map_err(draw_error)?;
                }
                None => {
                    area.draw(&Circle::new(at, 8, MUTED.stroke_width(2)))
                        .map_err(draw_error)?;
                }
            }
        }
        for p in &points {
            if let Some(label) = &p.label {
                let (x, y) = place(p);
                area.draw(&Text::new(
                    nfc(label),
                    (x + 13, y),
                    anchored(LABEL_PX, HPos::Left, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
        }
        Ok(())
    }
}
