//! Communes × dimensions, each cell coloured by the commune's quartile group on that dimension.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Chart, ChartError, EMPTY, LABEL_PX, LINE_PX, LegendEntry, TEXT, anchored, dims, draw_error, draw_legend,
    draw_title, number, quartile_color, render, text_width, wrap,
};
use crate::charts::Format;
use crate::quartile::Quartile;

/// One cell of a [`HeatmapRow`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapCell {
    /// The score, printed in the cell when it fits.
    pub score: Option<f64>,
    /// The group, which colours the cell (light grey without one).
    pub quartile: Option<Quartile>,
}

/// One commune of a [`HeatmapChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapRow {
    /// The commune's name.
    pub label: String,
    /// One cell per column.
    pub cells: Vec<HeatmapCell>,
}

/// A table of communes (rows) by dimensions (columns), coloured by quartile group.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapChart {
    /// The chart's title.
    pub title: String,
    /// Column headers (short dimension names read best; wrapped to three lines).
    pub columns: Vec<String>,
    /// The rows, top to bottom.
    pub rows: Vec<HeatmapRow>,
    /// The four groups' names, best first.
    pub group_labels: [String; 4],
    /// The legend of grey cells, e.g. "Chưa đủ câu trả lời".
    pub missing_label: String,
    /// Write 5,5 rather than 5.5.
    pub decimal_comma: bool,
}

/// Renders a [`HeatmapChart`].
pub fn quartile_heatmap(chart: &HeatmapChart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    render(chart, size, format)
}

impl Chart for HeatmapChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, h) = dims(area);
        let mut top = draw_title(area, &self.title)?;
        let mut legend: Vec<LegendEntry> = Quartile::ALL
            .iter()
            .zip(&self.group_labels)
            .map(|(&q, label)| LegendEntry {
                color: quartile_color(q),
                label: label.clone(),
                line: false,
            })
            .collect();
        legend.push(LegendEntry {
            color: EMPTY,
            label: self.missing_label.clone(),
            line: false,
        });
        top += draw_legend(area, &legend, (20, top), w - 20)? + 8;

        let max_label = w / 3;
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|r| wrap(area, &r.label, LABEL_PX, max_label, 1).join(" "))
            .collect();
        let label_width = labels
            .iter()
            .map(|l| text_width(area, l, LABEL_PX))
            .max()
            .unwrap_or(0)
            .min(max_label);
        let left = 16 + label_width + 12;
        let right = w - 16;
        let columns = self.columns.len().max(1) as i32;
        let column_width = ((right - left) / columns).max(1);
        let header_lines: Vec<Vec<String>> = self
            .columns
            .iter()
            .map(|c| wrap(area, c, LABEL_PX, column_width - 6, 3))
            .collect();
        let line_height = LINE_PX;
        let header_height = header_lines.iter().map(Vec::len).max().unwrap_or(1) as i32 * line_height + 8;
        for (c, lines) in header_lines.iter().enumerate() {
            let x = left + c as i32 * column_width + column_width / 2;
            let first = top + header_height - 8 - lines.len() as i32 * line_height + line_height / 2;
            for (k, line) in lines.iter().enumerate() {
                area.draw(&Text::new(
                    line.clone(),
                    (x, first + k as i32 * line_height),
                    anchored(LABEL_PX, HPos::Center, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
        }
        let grid_top = top + header_height;
        let bottom = h - 16;
        let count = self.rows.len().max(1);
        let row_height = f64::from(bottom - grid_top) / count as f64;
        let step = if row_height >= f64::from(LINE_PX) {
            1
        } else {
            (f64::from(LINE_PX) / row_height.max(0.1)).ceil() as usize
        };
        let show_numbers = row_height >= f64::from(LINE_PX) && column_width >= 48;
        for (i, (row, label)) in self.rows.iter().zip(&labels).enumerate() {
            let y0 = grid_top + (row_height * i as f64).round() as i32;
            let y1 = grid_top + (row_height * (i + 1) as f64).round() as i32;
            if i % step == 0 {
                area.draw(&Text::new(
                    label.clone(),
                    (left - 12, (y0 + y1) / 2),
                    anchored(LABEL_PX, HPos::Right, VPos::Center),
                ))
                .map_err(draw_error)?;
            }
            for (c, cell) in row.cells.iter().enumerate().take(self.columns.len()) {
                let x0 = left + c as i32 * column_width;
                let color = cell.quartile.map_or(EMPTY, quartile_color);
                area.draw(&Rectangle::new(
                    [(x0 + 1, y0 + 1), (x0 + column_width - 1, y1 - 1)],
                    color.filled(),
                ))
                .map_err(draw_error)?;
                if let (true, Some(score)) = (show_numbers, cell.score) {
                    let ink = match cell.quartile {
                        Some(Quartile::Cao | Quartile::Thap) => WHITE,
                        _ => TEXT,
                    };
                    area.draw(&Text::new(
                        number(score, 1, self.decimal_comma),
                        (x0 + column_width / 2, (y0 + y1) / 2),
                        anchored(LABEL_PX, HPos::Center, VPos::Center).color(&ink),
                    ))
                    .map_err(draw_error)?;
                }
            }
        }
        Ok(())
    }
}
