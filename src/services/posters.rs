//! Posters for the commune office's notice board: one A4 page per commune with its name, QR codes for the web
//! survey, the feedback form, the Telegram bot and the Zalo OA (when connected), the promise of anonymity, and the latest
//! published result — as a PDF that carries its font (DejaVu Sans, the charts' font, subset by printpdf: every
//! Vietnamese letter prints on any printer) and as SVG for designers.
//!
//! The QR codes are images of one pixel per module (level Q, with the 4-module quiet zone) scaled to 50 mm, so a
//! scanner reads them from a metre away, and a test can decode them back from the PDF.

use maud::{PreEscaped, html};
use printpdf::{
    Color, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage,
    RawImageData, RawImageFormat, Rect, Rgb, TextItem, XObjectTransform,
};
use qrcode::{EcLevel, QrCode};

use super::Error;
use super::publication::Publications;
use crate::storage::Store;
use ykien_analysis::{Level, Sufficiency, TOTAL_CODE};

/// What one commune's poster says.
#[derive(Clone, Debug)]
pub struct Poster {
    pub commune_code: String,
    pub commune_name: String,
    pub province_name: String,
    /// The codes to print: (label, address).
    pub links: Vec<(String, String)>,
    /// The latest published result, in one line, if any.
    pub result: Option<String>,
    /// The public address of the service, printed at the foot.
    pub base: String,
}

impl Poster {
    /// A commune's poster with the links every commune has (web survey, feedback form, public results) and the
    /// Telegram bot's and the Zalo OA's when given.
    pub fn new(
        base: &str,
        commune_code: &str,
        commune_name: &str,
        province_name: &str,
        telegram: Option<String>,
        zalo: Option<&str>,
        result: Option<String>,
    ) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let mut links = vec![
            ("Khảo sát ý kiến".to_owned(), format!("{base}/s/{commune_code}")),
            ("Gửi phản ánh, kiến nghị".to_owned(), format!("{base}/f/{commune_code}")),
        ];
        if let Some(link) = telegram {
            links.push(("Qua Telegram".to_owned(), link));
        }
        if let Some(link) = zalo {
            links.push(("Qua Zalo".to_owned(), link.to_owned()));
        }
        links.push(("Kết quả công khai".to_owned(), format!("{base}/scores")));
        Self {
            commune_code: commune_code.to_owned(),
            commune_name: commune_name.to_owned(),
            province_name: province_name.to_owned(),
            links,
            result,
            base,
        }
    }
}

/// The posters of a province's communes of today (or of the one commune `only`), each with the newest
/// published result; `telegram` gives a commune's link to the bot when one is connected, `zalo` is the OA's
/// address (the same for every commune: Zalo's link carries no start payload).
pub async fn of_province(
    publications: &Publications,
    store: &Store,
    province: &str,
    only: Option<&str>,
    base: &str,
    telegram: &(dyn Fn(&str) -> Option<String> + Sync),
    zalo: Option<&str>,
) -> Result<Vec<Poster>, Error> {
    let today = crate::domain::calendar::vn_day(chrono::Utc::now());
    let unit = super::units::unit_by_code(store, province, today).await?;
    let communes = super::units::children(store, Some(&unit.code), today).await?;
    let latest = publications.latest(&unit.code).await?;
    let mut posters = Vec::new();
    for commune in communes.iter().filter(|c| only.is_none_or(|o| o == c.code)) {
        let result = latest.as_ref().map(|(published, snapshot)| {
            let wave = &published.wave.title;
            match snapshot.score(&commune.code, Level::Total, TOTAL_CODE) {
                Some(r) if r.sufficiency == Sufficiency::Enough => {
                    let ranked = snapshot
                        .ranked(&unit.code, Level::Total, TOTAL_CODE)
                        .iter()
                        .filter(|r| r.sufficiency == Sufficiency::Enough)
                        .count();
                    let rank = r
                        .rank
                        .map(|k| format!(", hạng {k}/{ranked} trong tỉnh"))
                        .unwrap_or_default();
                    format!(
                        "Kết quả công bố gần nhất ({wave}): {} điểm trên thang 8–80{rank}.",
                        format!("{:.2}", r.score).replace('.', ",")
                    )
                }
                Some(_) => format!(
                    "Kết quả công bố gần nhất ({wave}): chưa đủ câu trả lời để chấm điểm – mời anh/chị tham gia."
                ),
                None => format!(
                    "Kết quả công bố gần nhất ({wave}): xã, phường chưa có đủ người trả lời – mời anh/chị tham gia."
                ),
            }
        });
        posters.push(Poster::new(
            base,
            &commune.code,
            &commune.name,
            &unit.name,
            telegram(&commune.code),
            zalo,
            result,
        ));
    }
    Ok(posters)
}

/// The promise printed on every poster.
const ANONYMITY: &str = "Khảo sát không hỏi tên, số điện thoại hay địa chỉ của anh/chị. Câu trả lời chỉ được \
     dùng để tính điểm chung của xã, phường; không ai biết anh/chị đã trả lời gì.";

const RED: (f32, f32, f32) = (0.647, 0.055, 0.055);
/// Size of a printed QR code.
const QR_MM: f32 = 50.0;

/// The most codes a poster prints: two rows of three.
const MOST_CODES: usize = 6;

/// Where the `i`th of `n` codes goes, in millimetres from the page's left edge and from its top edge to the
/// code's top: two rows, of two codes when there are up to four, of three when there are more.
fn code_place(i: usize, n: usize) -> (f32, f32) {
    let (columns, xs): (usize, &[f32]) = if n <= 4 {
        (2, &[20.0, 115.0])
    } else {
        (3, &[12.0, 80.0, 148.0])
    };
    let top = if i < columns { 82.0 } else { 162.0 };
    (xs[i % columns], top)
}
const QUIET_ZONE: usize = 4;

/// The QR code of `address` as a greyscale image, one pixel per module with the quiet zone.
fn qr_image(address: &str) -> Result<RawImage, Error> {
    let code = QrCode::with_error_correction_level(address.as_bytes(), EcLevel::Q)
        .map_err(|e| Error::Unavailable(format!("a QR code cannot hold {address}: {e}")))?;
    let n = code.width();
    let side = n + 2 * QUIET_ZONE;
    let mut pixels = vec![255_u8; side * side];
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            pixels[(i / n + QUIET_ZONE) * side + i % n + QUIET_ZONE] = 0;
        }
    }
    Ok(RawImage {
        pixels: RawImageData::U8(pixels),
        width: side,
        height: side,
        data_format: RawImageFormat::R8,
        tag: Vec::new(),
    })
}

/// `text` cut into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// The posters as one PDF, a page per commune.
pub fn pdf(posters: &[Poster]) -> Result<Vec<u8>, Error> {
    let mut doc = PdfDocument::new("ykien – áp phích");
    let font = ParsedFont::from_bytes(ykien_analysis::charts::FONT, 0, &mut Vec::new())
        .ok_or_else(|| Error::Unavailable("the poster font cannot be read".to_owned()))?;
    let font = PdfFontHandle::External(doc.add_font(&font));
    let mut pages = Vec::new();
    for poster in posters {
        let mut ops = Vec::new();
        let text = |ops: &mut Vec<Op>, x: f32, y: f32, size: f32, color: (f32, f32, f32), line: &str| {
            ops.extend([
                Op::StartTextSection,
                Op::SetFillColor { col: rgb(color) },
                Op::SetFont {
                    font: font.clone(),
                    size: Pt(size),
                },
                Op::SetTextCursor {
                    pos: Point::new(Mm(x), Mm(y)),
                },
                Op::ShowText {
                    items: vec![TextItem::Text(line.to_owned())],
                },
                Op::EndTextSection,
            ]);
        };
        // The red band with the call.
        ops.push(Op::SetFillColor { col: rgb(RED) });
        ops.push(Op::DrawRectangle {
            rectangle: Rect {
                mode: Some(PaintMode::Fill),
                ..Rect::from_xywh(
                    Pt::from(Mm(0.0)),
                    Pt::from(Mm(257.0)),
                    Pt::from(Mm(210.0)),
                    Pt::from(Mm(40.0)),
                )
            },
        });
        let white = (1.0, 1.0, 1.0);
        let black = (0.1, 0.1, 0.1);
        text(&mut ops, 15.0, 280.0, 28.0, white, "Ý KIẾN NGƯỜI DÂN");
        text(
            &mut ops,
            15.0,
            266.0,
            13.0,
            white,
            "Hãy cho chính quyền biết anh/chị nghĩ gì – chỉ mất vài phút",
        );
        text(&mut ops, 15.0, 243.0, 22.0, black, &poster.commune_name);
        text(&mut ops, 15.0, 234.0, 13.0, black, &poster.province_name);
        let n = poster.links.len().min(MOST_CODES);
        for (i, (label, address)) in poster.links.iter().enumerate().take(n) {
            let (x, top) = code_place(i, n);
            // PDF places an image by its lower-left corner, measured from the page's foot.
            let y = 297.0 - top - QR_MM;
            let image = qr_image(address)?;
            let pixels = image.width as f32;
            let id = doc.add_image(&image);
            ops.push(Op::UseXobject {
                id,
                transform: XObjectTransform {
                    translate_x: Some(Pt::from(Mm(x))),
                    translate_y: Some(Pt::from(Mm(y))),
                    // printpdf sizes an image from its pixels and dpi: this many dots per inch make it QR_MM wide.
                    dpi: Some(pixels / (QR_MM / 25.4)),
                    ..XObjectTransform::default()
                },
            });
            text(&mut ops, x, y - 6.0, if n <= 4 { 13.0 } else { 11.0 }, black, label);
        }
        let mut y = 62.0;
        for line in wrap(ANONYMITY, 80) {
            text(&mut ops, 15.0, y, 11.0, black, &line);
            y -= 5.5;
        }
        if let Some(result) = &poster.result {
            y -= 3.0;
            for line in wrap(result, 80) {
                text(&mut ops, 15.0, y, 11.0, RED, &line);
                y -= 5.5;
            }
        }
        text(
            &mut ops,
            15.0,
            12.0,
            9.0,
            (0.35, 0.35, 0.35),
            &format!("ykien · {}", poster.base),
        );
        pages.push(PdfPage::new(Mm(210.0), Mm(297.0), ops));
    }
    let mut warnings = Vec::new();
    Ok(doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut warnings))
}

/// One commune's poster as SVG (A4 in millimetres; the text in the reader's DejaVu Sans or sans-serif).
pub fn svg(poster: &Poster) -> Result<String, Error> {
    let mut codes = Vec::new();
    let n = poster.links.len().min(MOST_CODES);
    for (i, (label, address)) in poster.links.iter().enumerate().take(n) {
        let code = QrCode::with_error_correction_level(address.as_bytes(), EcLevel::Q)
            .map_err(|e| Error::Unavailable(format!("a QR code cannot hold {address}: {e}")))?;
        let drawn = code
            .render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .module_dimensions(8, 8)
            .build();
        // The renderer writes a whole document: keep what is inside its root, nested at the code's place.
        let inner = drawn
            .split_once("<svg")
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(_, body)| body.trim_end().trim_end_matches("</svg>").to_owned())
            .unwrap_or_default();
        let side = code.width() + 2 * QUIET_ZONE;
        let (x, y) = code_place(i, n);
        codes.push((x, y, side, inner, label.clone()));
    }
    // The PDF's 13 pt, or 11 pt when three codes share a row, in the SVG's millimetres.
    let label_size = if n <= 4 { 4.6 } else { 3.9 };
    let promise = wrap(ANONYMITY, 80);
    let result = poster.result.as_deref().map(|r| wrap(r, 80)).unwrap_or_default();
    let doc = html! {
        svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297"
            font-family="'DejaVu Sans', sans-serif" {
            rect x="0" y="0" width="210" height="297" fill="#ffffff" {}
            rect x="0" y="0" width="210" height="40" fill="#a50e0e" {}
            text x="15" y="17" font-size="9.9" fill="#ffffff" font-weight="bold" { "Ý KIẾN NGƯỜI DÂN" }
            text x="15" y="31" font-size="4.6" fill="#ffffff" { "Hãy cho chính quyền biết anh/chị nghĩ gì – chỉ mất vài phút" }
            text x="15" y="54" font-size="7.8" { (poster.commune_name) }
            text x="15" y="63" font-size="4.6" { (poster.province_name) }
            @for (x, y, side, inner, label) in &codes {
                svg x=(x) y=(y) width=(QR_MM) height=(QR_MM) viewBox=(format!("0 0 {0} {0}", side * 8)) { (PreEscaped(inner)) }
                text x=(x) y=(y + QR_MM + 6.0) font-size=(label_size) { (label) }
            }
            @for (i, line) in promise.iter().enumerate() {
                text x="15" y=(235.0 + 5.5 * i as f32) font-size="3.9" { (line) }
            }
            @for (i, line) in result.iter().enumerate() {
                text x="15" y=(235.0 + 5.5 * (promise.len() + i) as f32 + 3.0) font-size="3.9" fill="#a50e0e" { (line) }
            }
            text x="15" y="285" font-size="3.2" fill="#595959" { "ykien · " (poster.base) }
        }
    };
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}",
        doc.into_string()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_at_spaces() {
        assert_eq!(wrap("một hai ba bốn năm", 7), vec!["một hai", "ba bốn", "năm"]);
        assert!(wrap(ANONYMITY, 80).iter().all(|l| l.chars().count() <= 80));
    }
}
