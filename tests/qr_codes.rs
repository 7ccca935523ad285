//! The survey's QR codes over real HTTP: the PNG scans back to the commune's survey address, the SVG is a
//! crisp image on white, a code that is not a commune of today gets the Vietnamese error page, and a commune's
//! page links both images.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, TestDb};

/// The text of the one QR code in a PNG, read with a decoder independent of the encoder.
fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * info.line_size + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected exactly one QR code in the PNG");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn qr_png_of_a_commune_decodes_to_its_survey_url() {
    let app = TestApp::start_with_hung_yen(TestDb::sqlite()).await;
    let r = app.get("/s/11953/qr.png").await;
    assert_eq!(r.status(), 200);
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(
        header("content-disposition"),
        "inline; filename=\"ykien-khao-sat-11953.png\""
    );
    assert_eq!(header("cache-control"), "public, max-age=86400");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(decode_png(&bytes), format!("{}/s/11953", app.base));
    app.stop().await;
}

#[tokio::test]
async fn qr_svg_is_an_svg_with_a_white_background() {
    let app = TestApp::start_with_hung_yen(TestDb::sqlite()).await;
    let r = app.get("/s/11953/qr.svg").await;
    assert_eq!(r.status(), 200);
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/svg+xml");
    assert_eq!(
        header("content-disposition"),
        "inline; filename=\"ykien-khao-sat-11953.svg\""
    );
    assert_eq!(header("cache-control"), "public, max-age=86400");
    let svg = r.text().await.unwrap();
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert!(svg.contains("shape-rendering=\"crispEdges\""), "{svg}");
    // The first thing drawn covers the whole image in white; the modules are drawn on it in black.
    let background = regex::Regex::new(
        r##"<rect x="0" y="0" width="(\d+)" height="(\d+)" fill="#ffffff"/><path fill="#000000" d="M"##,
    )
    .unwrap();
    let size = background
        .captures(&svg)
        .unwrap_or_else(|| panic!("no white background in {svg}"));
    assert_eq!(size[1], size[2]);
    assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", &size[1])), "{svg}");
    // 10 units per module around a code of at least 21 modules and a quiet zone of 4 on each side.
    let side: usize = size[1].parse().unwrap();
    assert!(side >= (21 + 8) * 10 && side.is_multiple_of(10), "side {side}");
    assert!(svg.trim_end().ends_with("</svg>"));
    app.stop().await;
}

#[tokio::test]
async fn qr_for_an_unknown_or_legacy_commune_is_a_vietnamese_404() {
    let app = TestApp::start_with_hung_yen(TestDb::sqlite()).await;
    for (path, message) in [
        ("/s/99999/qr.png", "Không có đơn vị hành chính nào mang mã 99999"),
        // 11950 was a legacy ward of Hưng Yên until 30 June 2025.
        ("/s/11950/qr.svg", "Mã 11950 không phải là một xã, phường hiện nay."),
        // A province is not a commune.
        ("/s/33/qr.png", "Mã 33 không phải là một xã, phường hiện nay."),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        let page = r.text().await.unwrap();
        assert!(page.contains("<html lang=\"vi\">"), "{path}: {page}");
        assert!(page.contains("Không tìm thấy"), "{path}: {page}");
        assert!(page.contains(message), "{path}: {page}");
    }
    let r = app.get("/s/99999/qr.svg?lang=en").await;
    assert_eq!(r.status(), 404);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("No administrative unit has code 99999")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_commune_page_links_its_qr_codes() {
    let app = TestApp::start_with_hung_yen(TestDb::sqlite()).await;
    let page = app.get("/units/11953").await.text().await.unwrap();
    assert!(page.contains("Mã QR khảo sát"), "{page}");
    assert!(page.contains("href=\"/s/11953/qr.svg\""), "{page}");
    assert!(page.contains("href=\"/s/11953/qr.png\""), "{page}");
    let page = app.get("/units/11953?lang=en").await.text().await.unwrap();
    assert!(page.contains("Survey QR code"), "{page}");
    // Every link works.
    for path in ["/s/11953/qr.svg", "/s/11953/qr.png"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    // A province's page and a legacy ward's page have no survey to print.
    let province = app.get("/units/33").await.text().await.unwrap();
    assert!(!province.contains("qr.svg"), "{province}");
    let legacy = app.get("/units/11950").await.text().await.unwrap();
    assert!(legacy.contains("11950"), "{legacy}");
    assert!(!legacy.contains("qr.svg"), "{legacy}");
    app.stop().await;
}
