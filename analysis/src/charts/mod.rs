//! The dashboard's and reports' charts, rendered on the server as PNG or SVG bytes.
//!
//! Each chart is one function taking plain data (labels already in the page's language, numbers already chosen
//! by the caller, e.g. from [`crate::Scores`]), a size in pixels and a [`Format`]. Text is drawn with the
//! embedded DejaVu Sans (`analysis/fonts/`, Bitstream Vera licence beside it), registered with plotters'
//! `ab_glyph` renderer, so every Vietnamese letter renders without any system font; labels are 18 px or larger
//! (smaller sizes space unevenly) and normalised to NFC, because the renderer draws one code point at a time and
//! the font has the precomposed letters. In SVG the text stays text (searchable, selectable), with the same layout.
//!
//! | chart | function |
//! |---|---|
//! | a commune's 8 dimensions beside the province mean, with interval whiskers | [`dimension_profile`] |
//! | radar of the 8 dimensions | [`radar`] |
//! | communes × dimensions coloured by quartile group | [`quartile_heatmap`] |
//! | each dimension across waves | [`trend`] |
//! | ranking dot plot with intervals | [`ranking`] |
//! | communes at their centroids coloured by score | [`score_map`] |
//! | feedback KPIs per commune | [`feedback_kpis`] |

mod grid;
mod map;
mod profile;
mod ranking;
mod trend;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use unicode_normalization::UnicodeNormalization;

use crate::quartile::Quartile;

pub use grid::{HeatmapCell, HeatmapChart, HeatmapRow, quartile_heatmap};
pub use map::{MapChart, MapPoint, score_map};
pub use profile::{DimensionBar, ProfileChart, RadarChart, RadarSeries, dimension_profile, radar};
pub use ranking::{KpiChart, KpiRow, RankingChart, RankingRow, feedback_kpis, ranking};
pub use trend::{TrendChart, TrendPoint, TrendSeries, trend};

/// The embedded font: DejaVu Sans 2.37 (Bitstream Vera licence, `fonts/DejaVuSans-LICENSE.txt`).
/// DejaVu Sans, embedded: every chart (and the server's printed posters) carries the same font with all
/// Vietnamese letters, whatever the machine has installed.
pub static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// The family name the font is registered under; SVG output names it too, so viewers fall back to their own
/// sans-serif font.
const FAMILY: &str = "sans-serif";

/// The smallest text any chart draws: its em size (CSS `font-size`) in pixels.
pub const MIN_TEXT_PX: f64 = 18.0;

/// plotters sizes text by its line height, 1.24 em (the SVG backend writes `font-size` = size / 1.24, and
/// `ab_glyph` scales the bitmap glyphs alike), so a font-size in pixels is this much in plotters' terms.
const PLOTTERS_PER_EM: f64 = 1.24;

const TITLE_PX: f64 = 25.0;
/// Every label: a little above [`MIN_TEXT_PX`] so rounding never takes it below.
const LABEL_PX: f64 = 18.5;
/// The distance between two lines of labels.
const LINE_PX: i32 = 26;

/// The smallest chart drawn, in pixels.
pub const MIN_SIZE: (u32, u32) = (320, 240);

/// The file format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A PNG image (8-bit RGB).
    Png,
    /// An SVG document (UTF-8), text kept as text.
    Svg,
}

impl Format {
    /// The media type to serve the bytes with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    /// The requested size is below [`MIN_SIZE`].
    #[error("a chart must be at least {}×{} pixels, {width}×{height} was asked", MIN_SIZE.0, MIN_SIZE.1)]
    TooSmall {
        /// The requested width.
        width: u32,
        /// The requested height.
        height: u32,
    },
    /// The embedded font could not be loaded (a broken build).
    #[error("the embedded font could not be loaded")]
    Font,
    /// The backend failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

/// A chart that can draw itself on any plotters backend.
pub(crate) trait Chart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
}

/// Draws `chart` on a white canvas of `size` and encodes it.
pub(crate) fn render(chart: &impl Chart, size: (u32, u32), format: Format) -> Result<Vec<u8>, ChartError> {
    let (width, height) = size;
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 || width > 20_000 || height > 20_000 {
        return Err(ChartError::TooSmall { width, height });
    }
    ensure_font()?;
    match format {
        Format::Svg => {
            let mut svg = String::new();
            {
                let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                area.fill(&WHITE).map_err(draw_error)?;
                chart.draw(&area)?;
                area.present().map_err(draw_error)?;
            }
            Ok(svg.into_bytes())
        }
        Format::Png => {
            let mut pixels = vec![0u8; width as usize * height as usize * 3];
            {
                let area = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
                area.fill(&WHITE).map_err(draw_error)?;
                chart.draw(&area)?;
                area.present().map_err(draw_error)?;
            }
            encode_png(&pixels, width, height)
        }
    }
}

fn encode_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let encode = |e: png::EncodingError| ChartError::Encode(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Deflate at level 1 rather than the default 6: charts are flat colours and text, which the fast level packs
    // nearly as well. Measured with callgrind on `ykien analyze` of 100,000 responses (68 PNG charts): 17.0 →
    // 14.6 billion instructions for the whole run, PNGs 5.4 → 6.9 MB in all. (`Compression::Fast`, fdeflate, was
    // 14.1 billion but 9.3 MB.)
    encoder.set_deflate_compression(png::DeflateCompression::Level(1));
    let mut writer = encoder.write_header().map_err(encode)?;
    writer.write_image_data(pixels).map_err(encode)?;
    writer.finish().map_err(encode)?;
    Ok(out)
}

fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

pub(crate) fn draw_error<E: std::error::Error + Send + Sync>(error: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// The area's size as signed pixels, the coordinate type plotters draws in.
pub(crate) fn dims<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> (i32, i32) {
    let (w, h) = area.dim_in_pixel();
    (
        i32::try_from(w).unwrap_or(i32::MAX),
        i32::try_from(h).unwrap_or(i32::MAX),
    )
}

/// Text in NFC, the form whose letters the font has whole.
pub(crate) fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// The text style of labels whose em size is `px` pixels.
pub(crate) fn style(px: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px * PLOTTERS_PER_EM).into_font()).color(&TEXT)
}

pub(crate) fn anchored(px: f64, h: HPos, v: VPos) -> TextStyle<'static> {
    style(px).pos(Pos::new(h, v))
}

/// The width of `text` at `px` in pixels.
pub(crate) fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, px: f64) -> i32 {
    area.estimate_text_size(text, &style(px))
        .map(|(w, _)| i32::try_from(w).unwrap_or(i32::MAX))
        .unwrap_or(0)
}

/// `text` broken at spaces into at most `max_lines` lines of at most `max_width` pixels; the last line ends in
/// "…" when text had to be cut.
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    px: f64,
    max_width: i32,
    max_lines: usize,
) -> Vec<String> {
    let text = nfc(text);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || text_width(area, &candidate, px) <= max_width {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines.max(1) {
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    for line in &mut lines {
        while text_width(area, line, px) > max_width && line.chars().count() > 1 {
            // Drop the ellipsis added by an earlier round first, else the loop would put it back forever.
            let mut chars: Vec<char> = line.chars().collect();
            if chars.last() == Some(&'…') {
                chars.pop();
            }
            chars.pop();
            *line = chars.into_iter().collect::<String>() + "…";
        }
    }
    lines
}

/// A number with `decimals` decimals and the page's decimal separator (Vietnamese writes 5,5).
pub(crate) fn number(value: f64, decimals: usize, decimal_comma: bool) -> String {
    let text = format!("{value:.decimals$}");
    if decimal_comma { text.replace('.', ",") } else { text }
}

/// Draws the title centred at the top; returns the height it took.
pub(crate) fn draw_title<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str) -> Result<i32, ChartError> {
    let (width, _) = area.dim_in_pixel();
    let width = i32::try_from(width).unwrap_or(i32::MAX);
    let lines = wrap(area, title, TITLE_PX, width - 40, 2);
    let line_height = (TITLE_PX * 1.5) as i32;
    for (i, line) in lines.iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (width / 2, 12 + i as i32 * line_height),
            anchored(TITLE_PX, HPos::Center, VPos::Top),
        ))
        .map_err(draw_error)?;
    }
    Ok(16 + lines.len() as i32 * line_height)
}

/// A linear map from values to pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub v0: f64,
    pub v1: f64,
    pub p0: i32,
    pub p1: i32,
}

impl Scale {
    pub fn at(&self, value: f64) -> i32 {
        let span = self.v1 - self.v0;
        let t = if span == 0.0 { 0.5 } else { (value - self.v0) / span };
        (f64::from(self.p0) + t * f64::from(self.p1 - self.p0)).round() as i32
    }
}

/// About `count` round tick values covering `low..=high`.
pub(crate) fn ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || high <= low {
        return vec![low];
    }
    let raw = (high - low) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() * step;
    let mut out = Vec::new();
    for k in 0..=1000 {
        // Rounded so that 3 × 0.2 prints as 0.6.
        let v = ((first + f64::from(k) * step) * 1e9).round() / 1e9;
        if v > high + step * 1e-9 {
            break;
        }
        out.push(if v == 0.0 { 0.0 } else { v });
    }
    out
}

/// Decimals that show `step` without noise.
pub(crate) fn decimals_for(values: &[f64]) -> usize {
    if values.iter().all(|v| (v - v.round()).abs() < 1e-9) {
        0
    } else if values.iter().all(|v| (v * 10.0 - (v * 10.0).round()).abs() < 1e-9) {
        1
    } else {
        2
    }
}

/// Vertical grid lines with their labels under `bottom`, for a horizontal value axis.
pub(crate) fn value_axis<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    (top, bottom): (i32, i32),
    tick_values: &[f64],
    decimal_comma: bool,
    percent: bool,
) -> Result<(), ChartError> {
    let decimals = decimals_for(tick_values);
    let labels: Vec<String> = tick_values
        .iter()
        .map(|&t| {
            if percent {
                format!("{}%", number(t * 100.0, 0, decimal_comma))
            } else {
                number(t, decimals, decimal_comma)
            }
        })
        .collect();
    // Label every k-th tick when labels would touch on a narrow axis.
    let widest = labels.iter().map(|l| text_width(area, l, LABEL_PX)).max().unwrap_or(0);
    let spacing = match tick_values {
        [a, b, ..] => (scale.at(*b) - scale.at(*a)).abs().max(1),
        _ => i32::MAX,
    };
    let every = usize::try_from((widest + 12) / spacing + 1).unwrap_or(1).max(1);
    for (k, (&t, label)) in tick_values.iter().zip(labels).enumerate() {
        let x = scale.at(t);
        area.draw(&PathElement::new(vec![(x, top), (x, bottom)], GRID))
            .map_err(draw_error)?;
        if k % every == 0 {
            area.draw(&Text::new(
                label,
                (x, bottom + 8),
                anchored(LABEL_PX, HPos::Center, VPos::Top),
            ))
            .map_err(draw_error)?;
        }
    }
    area.draw(&PathElement::new(vec![(scale.p0, bottom), (scale.p1, bottom)], AXIS))
        .map_err(draw_error)?;
    Ok(())
}

/// One legend entry: a swatch of `color` (a filled square, or a line when `line`) and its label.
pub(crate) struct LegendEntry {
    pub color: RGBColor,
    pub label: String,
    pub line: bool,
}

/// Draws legend entries left to right from (`x`, `y`), wrapping at `max_x`; returns the height used.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    (x, y): (i32, i32),
    max_x: i32,
) -> Result<i32, ChartError> {
    let row_height = LINE_PX + 8;
    let (mut cx, mut cy) = (x, y);
    for entry in entries {
        let label = nfc(&entry.label);
        let width = 28 + text_width(area, &label, LABEL_PX) + 24;
        if cx > x && cx + width > max_x {
            cx = x;
            cy += row_height;
        }
        let mid = cy + row_height / 2;
        if entry.line {
            area.draw(&PathElement::new(
                vec![(cx, mid), (cx + 20, mid)],
                entry.color.stroke_width(3),
            ))
            .map_err(draw_error)?;
        } else {
            area.draw(&Rectangle::new(
                [(cx, mid - 8), (cx + 20, mid + 8)],
                entry.color.filled(),
            ))
            .map_err(draw_error)?;
        }
        area.draw(&Text::new(
            label,
            (cx + 28, mid),
            anchored(LABEL_PX, HPos::Left, VPos::Center),
        ))
        .map_err(draw_error)?;
        cx += width;
    }
    Ok(cy + row_height - y)
}

pub(crate) const TEXT: RGBColor = RGBColor(33, 37, 41);
pub(crate) const AXIS: RGBColor = RGBColor(90, 90, 90);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(crate) const MUTED: RGBColor = RGBColor(150, 150, 150);
/// Secondary text that must stay readable.
pub(crate) const NOTE: RGBColor = RGBColor(95, 95, 95);
pub(crate) const EMPTY: RGBColor = RGBColor(235, 235, 235);
/// The commune's colour across charts.
pub(crate) const UNIT: RGBColor = RGBColor(31, 95, 170);
/// The province's colour across charts.
pub(crate) const PROVINCE: RGBColor = RGBColor(160, 160, 160);

/// PAPI's groups from green (best) to red (poor), distinguishable in grey too.
pub(crate) fn quartile_color(group: Quartile) -> RGBColor {
    match group {
        Quartile::Cao => RGBColor(26, 120, 55),
        Quartile::TrungBinhCao => RGBColor(127, 191, 123),
        Quartile::TrungBinhThap => RGBColor(241, 163, 64),
        Quartile::Thap => RGBColor(215, 48, 39),
    }
}

/// Eight distinct colours for series (the dimensions), Okabe–Ito plus two.
pub(crate) fn series_color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(0, 0, 0),
        RGBColor(140, 86, 75),
    ];
    COLORS[index % COLORS.len()]
}

/// A colour on a red → yellow → green ramp for `t` in [0, 1] (1 is best).
pub(crate) fn ramp(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    let stops = [(215.0, 48.0, 39.0), (254.0, 224.0, 139.0), (26.0, 152.0, 80.0)];
    let (a, b, u) = if t < 0.5 {
        (stops[0], stops[1], t * 2.0)
    } else {
        (stops[1], stops[2], (t - 0.5) * 2.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(1.0, 10.0, 9), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(number(5.5, 1, true), "5,5");
        assert_eq!(number(5.5, 1, false), "5.5");
    }
}
