//! The communes' posters: `ykien posters` writes an A4 PDF and an SVG per commune; the PDF is read back (its pages,
//! its embedded font, its QR code images decoded to the right addresses) and the SVG holds the commune's name, the
//! promise of anonymity and the latest published result. The console serves the same, within an official's scope.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::TestApp;
use ykien::domain::calendar::vn_day;
use ykien::domain::questionnaire::Questionnaire;
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, synthetic_responses};
use ykien::services::units::commune_on;
use ykien::storage::{AuditEntry, Publication};

const COMMUNE: &str = "11953";
const BASE: &str = "https://ykien.hungyen.example.vn";
const ZALO_OA: &str = "https://zalo.me/4318272634561872634";

/// Hưng Yên with a published wave in which COMMUNE has 40 respondents.
async fn setup() -> TestApp {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let store = &app.app.store;
    let wave = common::wave_2026(store).await;
    let unit = commune_on(store, COMMUNE, vn_day(Utc::now())).await.unwrap();
    let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let mut responses = synthetic_responses(&q, &wave, std::slice::from_ref(&unit), 3);
    responses.truncate(40);
    store.insert_complete_responses(&responses).await.unwrap();
    let leader = common::official(store, "lanhdao", "leader", None, &["33"]).await;
    let publication = Publication {
        province_code: "33".into(),
        wave_code: "w-2026".into(),
        period: None,
        published_by: leader.id,
        published_at: Utc::now(),
    };
    let audit = AuditEntry {
        official_id: Some(leader.id),
        action: "publish".into(),
        target: "33/w-2026/toàn đợt".into(),
        before_state: None,
        after_state: Some("published".into()),
        detail: None,
    };
    store.publish(&publication, &audit).await.unwrap();
    app
}

/// Every QR code image in a PDF, decoded.
fn qr_codes(pdf: &lopdf::Document) -> Vec<String> {
    let mut found = Vec::new();
    for object in pdf.objects.values() {
        let Ok(stream) = object.as_stream() else { continue };
        if stream.dict.get(b"Subtype").and_then(|s| s.as_name()).ok() != Some(b"Image".as_slice()) {
            continue;
        }
        let width = stream.dict.get(b"Width").unwrap().as_i64().unwrap() as usize;
        let height = stream.dict.get(b"Height").unwrap().as_i64().unwrap() as usize;
        let pixels = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
        assert_eq!(pixels.len(), width * height, "an 8-bit greyscale image");
        // One pixel per module is too small for a camera-minded decoder: eight per module, as a print would be.
        let scale = 8;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width * scale, height * scale, |x, y| {
            pixels[(y / scale) * width + x / scale]
        });
        for grid in image.detect_grids() {
            found.push(grid.decode().unwrap().1);
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn the_posters_command_writes_a_pdf_and_an_svg_with_the_communes_codes_and_result() {
    let app = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("posters");
    let db_url = app.db.url.clone();
    let output = common::ykien_command(
        &[
            ("YKIEN_DATABASE_URL", db_url.as_str()),
            ("YKIEN_SECRET", common::TEST_SECRET),
            ("YKIEN_PUBLIC_URL", BASE),
            // A Zalo OA that ykien answers (never asked here: the poster prints its address only).
            ("YKIEN_ZALO_APP_ID", "1234567890"),
            ("YKIEN_ZALO_APP_SECRET", "app-secret"),
            ("YKIEN_ZALO_OA_SECRET_KEY", "oa-secret-key"),
            ("YKIEN_ZALO_API_URL", "http://127.0.0.1:9"),
            ("YKIEN_ZALO_OAUTH_URL", "http://127.0.0.1:9"),
            ("YKIEN_ZALO_OA_LINK", ZALO_OA),
        ],
        &[
            "posters",
            "--province",
            "33",
            "--commune",
            COMMUNE,
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // Kept for people to look at: target/test-output/posters/.
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-output/posters");
    std::fs::create_dir_all(&kept).unwrap();
    for ext in ["pdf", "svg"] {
        let name = format!("ap-phich-{COMMUNE}.{ext}");
        std::fs::copy(out.join(&name), kept.join(&name)).unwrap();
    }
    let bytes = std::fs::read(out.join(format!("ap-phich-{COMMUNE}.pdf"))).unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).unwrap();
    assert_eq!(pdf.get_pages().len(), 1);
    let embedded = pdf.objects.values().any(|o| {
        o.as_dict()
            .is_ok_and(|d| d.has(b"FontFile2") || d.has(b"FontFile3") || d.has(b"FontFile"))
    });
    assert!(embedded, "the PDF carries its font");
    assert_eq!(
        qr_codes(&pdf),
        vec![
            format!("{BASE}/f/{COMMUNE}"),
            format!("{BASE}/s/{COMMUNE}"),
            format!("{BASE}/scores"),
            ZALO_OA.to_owned(),
        ],
        "the codes lead to the survey, the feedback form, the public results and the Zalo OA"
    );

    let svg = std::fs::read_to_string(out.join(format!("ap-phich-{COMMUNE}.svg"))).unwrap();
    // The words of the poster, whatever lines they were wrapped into.
    let words = regex::Regex::new(r"<text[^>]*>([^<]*)</text>")
        .unwrap()
        .captures_iter(&svg)
        .map(|c| c[1].to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    assert!(
        words.contains("Phường Phố Hiến") && words.contains("Tỉnh Hưng Yên"),
        "the names: {words}"
    );
    assert!(words.contains("Qua Zalo"), "the Zalo OA's code is named: {words}");
    assert!(
        words.contains("Khảo sát không hỏi tên"),
        "the promise of anonymity: {words}"
    );
    assert!(
        words.contains("Kết quả công bố gần nhất (Khảo sát PAPI cấp xã 2026):") && words.contains("trên thang 8–80"),
        "the published result: {words}"
    );

    // An unknown commune: a clear error, nothing written.
    let output = common::ykien_command(
        &[
            ("YKIEN_DATABASE_URL", db_url.as_str()),
            ("YKIEN_SECRET", common::TEST_SECRET),
            ("YKIEN_PUBLIC_URL", BASE),
        ],
        &[
            "posters",
            "--province",
            "33",
            "--commune",
            "99999",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("99999"));
    app.stop().await;
}

#[tokio::test]
async fn the_console_serves_posters_within_the_officials_scope() {
    let app = setup().await;
    common::official(
        &app.app.store,
        "canbo",
        "commune_officer",
        Some("commune_economic"),
        &[COMMUNE],
    )
    .await;
    let officer = common::session(&app, "canbo").await;
    let leader = common::session(&app, "lanhdao").await;
    let get = |cookie: &str, path: &str| app.client.get(app.url(path)).header("cookie", cookie.to_owned()).send();
    let own = get(&officer, &format!("/console/posters/{COMMUNE}.pdf")).await.unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.headers()["content-type"], "application/pdf");
    let pdf = lopdf::Document::load_mem(&own.bytes().await.unwrap()).unwrap();
    assert_eq!(pdf.get_pages().len(), 1);
    assert_eq!(
        get(&officer, "/console/posters/11977.pdf").await.unwrap().status(),
        403,
        "another commune"
    );
    assert_eq!(
        get(&officer, "/console/posters/33.pdf").await.unwrap().status(),
        403,
        "the province"
    );
    assert_eq!(get(&officer, "/console/posters/11953.doc").await.unwrap().status(), 404);
    let svg = get(&officer, &format!("/console/posters/{COMMUNE}.svg")).await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    // The province's leader: every commune of today, a page each.
    let all = get(&leader, "/console/posters/33.pdf").await.unwrap();
    assert_eq!(all.status(), 200);
    let pdf = lopdf::Document::load_mem(&all.bytes().await.unwrap()).unwrap();
    let communes = ykien::services::units::children(&app.app.store, Some("33"), vn_day(Utc::now()))
        .await
        .unwrap()
        .len();
    assert_eq!(pdf.get_pages().len(), communes);
    app.stop().await;
}
