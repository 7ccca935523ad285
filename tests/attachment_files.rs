//! Attachment files outside the database (issue 22, `src/storage/files.rs`): beside a SQLite database by default,
//! in a directory or a real S3-compatible bucket when `YKIEN_FILES` says (moto's server from PyPI, installed by
//! `.ci/run`), in the database on PostgreSQL by default; a citizen's photo goes in through the API and comes back
//! through the console's file route byte for byte, whatever holds it.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use common::{TestApp, TestDb, databases};

/// A small JPEG of a gradient.
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 90)
        .encode_image(&image)
        .unwrap();
    out
}

/// Files a case with one photo through the API; returns its tracking code and the stored photo's bytes as the
/// store reads them back.
async fn file_a_case_with_a_photo(app: &TestApp) -> (String, Vec<u8>) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .json(&serde_json::json!({
            "commune": "11953",
            "category": "road",
            "text": "Ổ gà lớn trước cổng chợ Phố Hiến, xe máy ngã nhiều lần.",
            "photos": [b64.encode(photo())],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let answer: serde_json::Value = r.json().await.unwrap();
    let code = answer["code"].as_str().unwrap().to_owned();
    let store = &app.app.store;
    let case = store.case_by_code(&code).await.unwrap().unwrap();
    let files = store.case_attachments(case.id).await.unwrap();
    assert_eq!(files.len(), 1);
    let stored = store.attachment(files[0].id).await.unwrap();
    assert_eq!(stored.content_type, "image/jpeg");
    image::load_from_memory(&stored.bytes).expect("a readable photo");
    (code, stored.bytes)
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn start(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
    let app = TestApp::start_configured(db, extra).await;
    ykien::services::units::import_bundled_hung_yen(&app.app.store)
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn photos_go_beside_a_sqlite_database_by_default_and_into_a_configured_directory_on_both_engines() {
    // SQLite without YKIEN_FILES: `ykien-test.db` → `ykien-test-files/`.
    let app = start(TestDb::sqlite(), &[]).await;
    let database = app.db.url.trim_start_matches("sqlite://").to_owned();
    let beside = Path::new(&database).with_file_name("ykien-test-files");
    let (_, bytes) = file_a_case_with_a_photo(&app).await;
    let on_disk = files_under(&beside);
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert_eq!(
        std::fs::read(&on_disk[0]).unwrap(),
        bytes,
        "the file holds the stored photo"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM attachments WHERE location IS NOT NULL AND length(bytes) = 0")
            .await,
        1,
        "the row names the file and holds no bytes"
    );
    app.stop().await;

    for db in databases("photos_go_into_a_configured_directory").await {
        let label = db.label;
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("tệp đính kèm");
        let app = start(db, &[("YKIEN_FILES", files.to_str().unwrap())]).await;
        let (_, bytes) = file_a_case_with_a_photo(&app).await;
        let on_disk = files_under(&files);
        assert_eq!(on_disk.len(), 1, "{label}: {on_disk:?}");
        assert_eq!(std::fs::read(&on_disk[0]).unwrap(), bytes, "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn on_postgresql_without_a_setting_photos_stay_in_the_database_and_earlier_rows_stay_readable() {
    for db in databases("on_postgresql_without_a_setting_photos_stay_in_the_database").await {
        let label = db.label;
        let in_database = db.label == "PostgreSQL";
        let app = start(db, &[]).await;
        let (code, bytes) = file_a_case_with_a_photo(&app).await;
        let rows_with_bytes = app
            .db
            .count("SELECT COUNT(*) FROM attachments WHERE location IS NULL AND length(bytes) > 0")
            .await;
        assert_eq!(rows_with_bytes, i64::from(in_database), "{label}");
        // An installation that sets a directory later keeps reading the photos stored in rows before.
        if in_database {
            let dir = tempfile::tempdir().unwrap();
            let config = app.db.config_with(&[("YKIEN_FILES", dir.path().to_str().unwrap())]);
            let store = ykien::app::open_store(&config).await.unwrap();
            let case = store.case_by_code(&code).await.unwrap().unwrap();
            let files = store.case_attachments(case.id).await.unwrap();
            assert_eq!(store.attachment(files[0].id).await.unwrap().bytes, bytes, "{label}");
            store.close().await;
        }
        app.stop().await;
    }
}

/// moto's S3-compatible server on a free port, with one bucket.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    async fn start(bucket: &str) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(_) => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED S3 test: moto_server not installed (pip install 'moto[server]==5.2.1'; .ci/run does)"
                );
                return None;
            }
        };
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            // moto creates a bucket on an unsigned PUT.
            if let Ok(r) = client.put(format!("{}/{bucket}", server.endpoint)).send().await {
                assert!(r.status().is_success(), "creating the bucket: {}", r.status());
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start on port {port}");
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn photos_go_to_an_s3_compatible_bucket_shared_by_two_instances() {
    let Some(s3) = S3Server::start("ykien-files").await else {
        return;
    };
    for db in databases("photos_go_to_an_s3_compatible_bucket").await {
        let label = db.label;
        let settings = [
            ("YKIEN_FILES", "s3://ykien-files/hung-yen"),
            ("AWS_ENDPOINT", s3.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "ykien-test"),
            ("AWS_SECRET_ACCESS_KEY", "ykien-test-secret"),
            ("AWS_REGION", "us-east-1"),
        ];
        let app = start(db, &settings).await;
        let (code, bytes) = file_a_case_with_a_photo(&app).await;
        // The object is in the bucket, under the prefix, named by its content (listed by S3's own API).
        let listing = reqwest::get(format!("{}/ykien-files?list-type=2&prefix=hung-yen/", s3.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(listing.contains("<Key>hung-yen/attachments/"), "{label}: {listing}");
        // A second instance on the same database and bucket reads it.
        let second = ykien::app::open_store(&app.db.config_with(&settings)).await.unwrap();
        let case = second.case_by_code(&code).await.unwrap().unwrap();
        let files = second.case_attachments(case.id).await.unwrap();
        assert_eq!(second.attachment(files[0].id).await.unwrap().bytes, bytes, "{label}");
        second.close().await;
        app.stop().await;
    }
}

#[test]
fn a_wrong_files_setting_is_refused_with_its_name() {
    let db = TestDb::sqlite();
    let mut env = std::collections::BTreeMap::new();
    env.insert("YKIEN_DATABASE_URL".to_owned(), db.url.clone());
    for wrong in ["s3://", "gs://bucket/photos"] {
        env.insert("YKIEN_FILES".to_owned(), wrong.to_owned());
        let err = ykien::config::Config::from_layers(None, &env).unwrap_err();
        assert_eq!(err.setting, "YKIEN_FILES", "{wrong}");
    }
}
