//! Importing the real administrative-unit files, on both engines: counts, idempotence, lineage, and files
//! that must import nothing at all.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::databases;
use ykien::domain::units::UnitLevel;
use ykien::services::units::{self as unit_service, ImportError, ImportOptions, Shape};

fn data(file: &str) -> String {
    std::fs::read_to_string(format!("{}/data/admin-units/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

#[tokio::test]
async fn hung_yen_imports_with_its_104_communes_and_lineage_and_again_changes_nothing() {
    for db in databases("hung_yen_imports_with_its_104_communes_and_lineage_and_again_changes_nothing").await {
        let label = db.label;
        let store = db.store().await;
        let reports = unit_service::import_bundled_hung_yen(&store).await.unwrap();
        assert_eq!(
            reports.iter().map(|r| r.shape).collect::<Vec<_>>(),
            [Shape::Legacy, Shape::TwoLevel, Shape::Lineage]
        );
        // Legacy: 2 provinces + their districts + 381 communes; today: 1 province + 104 communes; 384 links.
        assert_eq!(reports[1].created, 105, "{label}");
        assert_eq!(reports[2].created, 384, "{label}");
        let (units, links) = store.count_units().await.unwrap();
        assert_eq!(links, 384, "{label}");

        let communes = unit_service::children(&store, Some("33"), today()).await.unwrap();
        assert_eq!(communes.len(), 104, "{label}");
        assert!(
            communes
                .iter()
                .all(|c| c.level == UnitLevel::Commune && c.lat.is_some()),
            "{label}"
        );
        let legacy_day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let legacy_provinces = unit_service::children(&store, None, legacy_day).await.unwrap();
        let names: Vec<_> = legacy_provinces.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Tỉnh Hưng Yên", "Tỉnh Thái Bình"], "{label}");
        let districts = unit_service::children(&store, Some("34"), legacy_day).await.unwrap();
        assert!(
            districts.iter().all(|d| d.level == UnitLevel::District) && districts.len() >= 7,
            "{label}"
        );

        // Phường Phố Hiến (2025) was formed from legacy communes, one of which had the same code.
        let pho_hien = unit_service::unit_detail(&store, "11953", today()).await.unwrap();
        assert_eq!(pho_hien.unit.name, "Phường Phố Hiến", "{label}");
        let origins: Vec<_> = pho_hien.predecessors.iter().map(|p| p.unit.name.as_str()).collect();
        assert!(
            origins.contains(&"Phường Hiến Nam") && origins.contains(&"Phường An Tảo"),
            "{label}: {origins:?}"
        );
        let hien_nam = unit_service::unit_detail(&store, "11953", legacy_day).await.unwrap();
        assert_eq!(hien_nam.unit.name, "Phường Hiến Nam", "{label}");
        assert_eq!(hien_nam.successors[0].unit.name, "Phường Phố Hiến", "{label}");
        assert_eq!(hien_nam.parent.unwrap().name, "Thành phố Hưng Yên", "{label}");

        // The split communes keep one default successor each.
        let split = unit_service::unit_detail(&store, "11989", legacy_day).await.unwrap();
        assert_eq!(split.successors.len(), 2, "{label}");
        assert_eq!(split.successors.iter().filter(|s| s.is_default).count(), 1, "{label}");

        // Importing again creates nothing and keeps every count.
        let again = unit_service::import_bundled_hung_yen(&store).await.unwrap();
        assert!(
            again.iter().all(|r| r.created == 0 && r.updated == r.stored),
            "{label}: {again:?}"
        );
        assert_eq!(store.count_units().await.unwrap(), (units, links), "{label}");
        store.close().await;
    }
}

#[tokio::test]
async fn all_of_vietnam_imports_with_34_provinces_and_3321_communes() {
    for db in databases("all_of_vietnam_imports_with_34_provinces_and_3321_communes").await {
        let label = db.label;
        let store = db.store().await;
        let report = unit_service::import_csv(
            &store,
            "vietnam-2025.csv",
            &data("vietnam-2025.csv"),
            ImportOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(report.created, 34 + 3321, "{label}");
        let provinces = unit_service::children(&store, None, today()).await.unwrap();
        assert_eq!(provinces.len(), 34, "{label}");
        let ha_noi = &provinces[0];
        assert_eq!(
            (ha_noi.code.as_str(), ha_noi.name.as_str()),
            ("01", "Thành phố Hà Nội"),
            "{label}"
        );
        let hoan_kiem = unit_service::unit_detail(&store, "00070", today()).await.unwrap();
        assert_eq!(hoan_kiem.unit.name, "Phường Hoàn Kiếm", "{label}");
        assert_eq!(hoan_kiem.parent.unwrap().code, "01", "{label}");

        // The Hưng Yên file brings centroids without renaming what the national file named.
        unit_service::import_csv(
            &store,
            "hung-yen-2025.csv",
            &data("hung-yen-2025.csv"),
            ImportOptions::default(),
        )
        .await
        .unwrap();
        let pho_hien = unit_service::unit_by_code(&store, "11953", today()).await.unwrap();
        assert_eq!(pho_hien.lat, Some(20.6634), "{label}");
        // …and the national file again keeps those centroids (it has none to give).
        unit_service::import_csv(
            &store,
            "vietnam-2025.csv",
            &data("vietnam-2025.csv"),
            ImportOptions::default(),
        )
        .await
        .unwrap();
        let pho_hien = unit_service::unit_by_code(&store, "11953", today()).await.unwrap();
        assert_eq!(pho_hien.lat, Some(20.6634), "{label}");
        store.close().await;
    }
}

#[tokio::test]
async fn a_file_with_one_bad_row_imports_nothing_and_names_the_line() {
    for db in databases("a_file_with_one_bad_row_imports_nothing_and_names_the_line").await {
        let label = db.label;
        let store = db.store().await;
        // A row error found while parsing (line 4 has a bad latitude).
        let text = "province_code,province_name,commune_code,commune_name,commune_type,lat,lon\n\
                    33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.66,106.07\n\
                    33,Tỉnh Hưng Yên,11977,Xã Tân Hưng,Xã,20.64,106.10\n\
                    33,Tỉnh Hưng Yên,11980,Phường Hồng Châu,Phường,hai mươi,106.06\n";
        match unit_service::import_csv(&store, "bad.csv", text, ImportOptions::default()).await {
            Err(ImportError::Row { file, line, reason }) => {
                assert_eq!((file.as_str(), line), ("bad.csv", 4), "{label}");
                assert!(reason.contains("lat 'hai mươi' is not a number"), "{label}: {reason}");
            }
            other => panic!("{label}: expected a row error, got {other:?}"),
        }
        assert_eq!(store.count_units().await.unwrap(), (0, 0), "{label}");

        // A row error found while storing (line 3 names a commune nobody imported): lines 2 is not kept either.
        unit_service::import_bundled_hung_yen(&store).await.unwrap();
        let before = store.count_units().await.unwrap();
        let lineage = "legacy_commune_code,commune_code_2025,is_default\n11950,11953,1\n99999,11953,1\n";
        match unit_service::import_csv(&store, "links.csv", lineage, ImportOptions::default()).await {
            Err(ImportError::Row { line, reason, .. }) => {
                assert_eq!(line, 3, "{label}");
                assert!(
                    reason.contains("99999") && reason.contains("import it first"),
                    "{label}: {reason}"
                );
            }
            other => panic!("{label}: expected a row error, got {other:?}"),
        }
        assert_eq!(store.count_units().await.unwrap(), before, "{label}");
        let lam_son = unit_service::unit_detail(&store, "11950", NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
            .await
            .unwrap();
        assert_eq!(
            lam_son.successors.len(),
            1,
            "{label}: the good first line must not have been stored"
        );
        store.close().await;
    }
}
