//! The running service over real HTTP: health, metrics, the units API and its error shape, the public pages.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestApp, databases, error_code};
use serde_json::Value;

/// Checks that `value` has every property the OpenAPI schema `name` requires (following `allOf` and `$ref`).
fn assert_matches_schema(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    assert!(!schema.is_null(), "no schema {name} in the OpenAPI document");
    let parts: Vec<&Value> = match schema["allOf"].as_array() {
        Some(all) => all.iter().collect(),
        None => vec![schema],
    };
    for part in parts {
        if let Some(r) = part["$ref"].as_str() {
            assert_matches_schema(doc, r.trim_start_matches("#/components/schemas/"), value);
            continue;
        }
        for required in part["required"].as_array().unwrap() {
            let key = required.as_str().unwrap();
            assert!(value.get(key).is_some(), "{name}: '{key}' missing in {value}");
        }
    }
}

#[tokio::test]
async fn units_api_lists_a_provinces_communes_and_shows_lineage() {
    for db in databases("units_api_lists_a_provinces_communes_and_shows_lineage").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let (_, doc) = app.get_json("/api/openapi.json").await;
        assert_eq!(doc["openapi"], "3.1.0");

        let (status, body) = app.get_json("/api/v1/units?parent=33").await;
        assert_eq!(status, 200, "{label}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 104, "{label}");
        for item in items {
            assert_matches_schema(&doc, "Unit", item);
            assert_eq!(item["parent"], "33");
            assert_eq!(item["level"], "commune");
        }
        assert!(
            items
                .iter()
                .any(|i| i["name"] == "Phường Phố Hiến" && i["kind"] == "phường"),
            "{label}"
        );

        let (status, provinces) = app.get_json("/api/v1/units").await;
        assert_eq!(status, 200);
        assert_eq!(
            provinces["items"].as_array().unwrap().len(),
            1,
            "{label}: only today's Hưng Yên is current"
        );

        let (status, pho_hien) = app.get_json("/api/v1/units/11953").await;
        assert_eq!(status, 200, "{label}");
        assert_matches_schema(&doc, "UnitDetail", &pho_hien);
        assert_eq!(pho_hien["name"], "Phường Phố Hiến");
        assert_eq!(pho_hien["parent_name"], "Tỉnh Hưng Yên");
        let predecessors = pho_hien["predecessors"].as_array().unwrap();
        assert!(
            predecessors
                .iter()
                .any(|p| p["name"] == "Phường Hiến Nam" && p["valid_to"] == "2025-06-30"),
            "{label}"
        );
        for p in predecessors {
            assert_matches_schema(&doc, "LinkedUnit", p);
        }

        // The same code on a day before the reform is the legacy ward, whose successor is today's.
        let (_, hien_nam) = app.get_json("/api/v1/units/11953?at=2024-05-01").await;
        assert_eq!(hien_nam["name"], "Phường Hiến Nam", "{label}");
        assert_eq!(hien_nam["parent"], "323");
        assert_eq!(hien_nam["successors"][0]["name"], "Phường Phố Hiến");
        // A legacy district's communes, on a day when they existed.
        let (_, district) = app.get_json("/api/v1/units?parent=323&at=2025-06-30").await;
        assert!(district["items"].as_array().unwrap().len() >= 10, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn api_errors_share_one_json_shape() {
    let db = common::TestDb::sqlite();
    let app = TestApp::start_with_hung_yen(db).await;

    let (status, body) = app.get_json("/api/v1/units/99999").await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unit_not_found"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Không có đơn vị hành chính")
    );

    let (status, body) = app.get_json("/api/v1/units?parent=99").await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unit_not_found"));

    let (status, body) = app.get_json("/api/v1/units?parent=33&at=2025-02-30").await;
    assert_eq!((status, error_code(&body).as_str()), (400, "bad_request"));
    assert!(
        body["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains("'2025-02-30' is not a date")
    );

    let (status, body) = app.get_json("/api/v1/no-such-endpoint").await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));

    let r = app.client.delete(app.url("/api/v1/units/33")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(error_code(&r.json().await.unwrap()), "method_not_allowed");

    // A body over the limit is refused before any handler reads it, in the same shape.
    let big = vec![b'x'; ykien::http::MAX_BODY_BYTES + 1];
    let r = app
        .client
        .post(app.url("/api/v1/units"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(&r.json().await.unwrap()), "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn health_says_503_when_the_database_is_gone() {
    let app = TestApp::start(common::TestDb::sqlite()).await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    app.app.store.close().await;
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, 503);
    // Pages and API answer "unavailable", not a crash, while the database is gone.
    let (status, body) = app.get_json("/api/v1/units?parent=33").await;
    assert_eq!((status, error_code(&body).as_str()), (503, "storage_unavailable"));
    let page = app.get("/units/33").await;
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("Tạm thời gián đoạn"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_responses_carry_a_request_id() {
    const METRICS_TOKEN: &str = "api-units-metrics-token-0123456789abcdef";
    let app = TestApp::start_configured(common::TestDb::sqlite(), &[("YKIEN_METRICS_TOKEN", METRICS_TOKEN)]).await;
    ykien::services::units::import_bundled_hung_yen(&app.app.store)
        .await
        .unwrap();
    for _ in 0..3 {
        let r = app.get("/api/v1/units/11953").await;
        assert!(r.headers().get("x-request-id").is_some_and(|v| v.len() >= 32));
    }
    app.get("/api/v1/units/00000").await;
    // A caller's request id is kept, so logs of a chain of services line up.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");

    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"ykien_http_requests_total{method="GET",route="/api/v1/units/{code}",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/units/{code}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("ykien_http_request_duration_seconds_bucket{"), "{text}");
    // Raw paths never become labels.
    assert!(!text.contains("11953"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn the_province_page_lists_its_communes_in_vietnamese_with_their_origins() {
    for db in databases("the_province_page_lists_its_communes_in_vietnamese_with_their_origins").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let r = app.get("/units/33").await;
        assert_eq!(r.status(), 200, "{label}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"<html lang="vi">"#));
        assert!(html.contains("<h1>Tỉnh Hưng Yên</h1>"), "{label}");
        assert!(html.contains("104 xã, phường"), "{label}");
        assert_eq!(
            html.matches("<tr>").count(),
            105,
            "{label}: a header row and 104 communes"
        );
        assert!(html.contains("Hình thành từ"), "{label}");
        // A legacy ward whose code was reused links to its own, dated version.
        assert!(
            html.contains(r#"<a href="/units/11953?at=2025-06-30">Phường Hiến Nam</a>"#),
            "{label}"
        );

        let legacy = app.get("/units/11953?at=2025-06-30").await.text().await.unwrap();
        assert!(
            legacy.contains("<h1>Phường Hiến Nam</h1>") && legacy.contains("Nay thuộc"),
            "{label}"
        );
        assert!(legacy.contains("đến hết ngày 30/06/2025"), "{label}");

        let english = app.get("/units/33?lang=en").await.text().await.unwrap();
        assert!(
            english.contains(r#"<html lang="en">"#) && english.contains("104 communes and wards"),
            "{label}"
        );
        let home = app.get("/").await.text().await.unwrap();
        assert!(home.contains(r#"<a href="/units/33">Tỉnh Hưng Yên</a>"#), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn pages_explain_unknown_units_and_bad_dates_in_vietnamese() {
    let app = TestApp::start_with_hung_yen(common::TestDb::sqlite()).await;
    let r = app.get("/units/99999").await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("Không có đơn vị hành chính nào mang mã 99999"), "{html}");

    let r = app.get("/units/33?at=hôm-qua").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không phải là ngày"));

    // What a visitor typed into the address is shown as text, never as markup.
    let r = app.get("/units/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");

    let r = app.get("/khong-co-trang-nay").await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Không tìm thấy trang"));
    app.stop().await;
}
