//! Every `Store` method, run against SQLite and (when configured) PostgreSQL with the same assertions.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use common::databases;
use ykien::domain::units::{NewLineage, NewUnit, REFORM_2025, UnitKind, UnitLevel};
use ykien::storage::{Engine, ImportCounts, StoreError};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn unit(code: &str, name: &str, level: UnitLevel, kind: UnitKind, parent: Option<&str>, legacy: bool) -> NewUnit {
    NewUnit {
        code: code.into(),
        name: name.into(),
        level,
        kind,
        parent_code: parent.map(Into::into),
        valid_from: (!legacy).then_some(REFORM_2025),
        valid_to: legacy.then(|| day(2025, 6, 30)),
        lat: Some(20.65),
        lon: Some(106.05),
        area_km2: None,
    }
}

/// A small slice of Hưng Yên before and after the reform: code 11953 is reused.
fn legacy_units() -> Vec<NewUnit> {
    vec![
        unit("33", "Tỉnh Hưng Yên", UnitLevel::Province, UnitKind::Tinh, None, true),
        unit(
            "323",
            "Thành phố Hưng Yên",
            UnitLevel::District,
            UnitKind::ThanhPho,
            Some("33"),
            true,
        ),
        unit(
            "11950",
            "Phường Lam Sơn",
            UnitLevel::Commune,
            UnitKind::Phuong,
            Some("323"),
            true,
        ),
        unit(
            "11953",
            "Phường Hiến Nam",
            UnitLevel::Commune,
            UnitKind::Phuong,
            Some("323"),
            true,
        ),
    ]
}

fn new_units() -> Vec<NewUnit> {
    vec![
        unit("33", "Tỉnh Hưng Yên", UnitLevel::Province, UnitKind::Tinh, None, false),
        unit(
            "11953",
            "Phường Phố Hiến",
            UnitLevel::Commune,
            UnitKind::Phuong,
            Some("33"),
            false,
        ),
        unit(
            "11983",
            "Phường Sơn Nam",
            UnitLevel::Commune,
            UnitKind::Phuong,
            Some("33"),
            false,
        ),
    ]
}

fn link(from: &str, to: &str, is_default: bool) -> NewLineage {
    NewLineage {
        predecessor_code: from.into(),
        successor_code: to.into(),
        is_default,
        effective: REFORM_2025,
    }
}

#[tokio::test]
async fn every_store_method_behaves_the_same_on_both_engines() {
    for db in databases("every_store_method_behaves_the_same_on_both_engines").await {
        let label = db.label;
        let store = db.store().await;
        assert_eq!(
            store.engine(),
            if label == "SQLite" {
                Engine::Sqlite
            } else {
                Engine::Postgres
            }
        );
        store.ping().await.unwrap();
        // Migrating twice is harmless (every instance migrates at start).
        store.migrate().await.unwrap();
        assert_eq!(store.count_units().await.unwrap(), (0, 0), "{label}");

        // Import: created, then the same again is an update of every row, nothing new.
        let counts = store.import_units(&legacy_units()).await.unwrap();
        assert_eq!(counts, ImportCounts { created: 4, updated: 0 }, "{label}");
        let counts = store.import_units(&legacy_units()).await.unwrap();
        assert_eq!(counts, ImportCounts { created: 0, updated: 4 }, "{label}");
        assert_eq!(store.import_units(&new_units()).await.unwrap().created, 3, "{label}");
        assert_eq!(store.count_units().await.unwrap(), (7, 0), "{label}");

        // A reused code has two versions, oldest first, open ends mapped back to None.
        let versions = store.units_by_code("11953").await.unwrap();
        assert_eq!(versions.len(), 2, "{label}");
        assert_eq!(versions[0].name, "Phường Hiến Nam");
        assert_eq!(
            (versions[0].valid_from, versions[0].valid_to),
            (None, Some(day(2025, 6, 30))),
            "{label}"
        );
        assert_eq!(versions[1].name, "Phường Phố Hiến");
        assert_eq!(
            (versions[1].valid_from, versions[1].valid_to),
            (Some(REFORM_2025), None),
            "{label}"
        );
        assert_eq!(versions[1].kind, UnitKind::Phuong);
        assert_eq!(versions[1].lat, Some(20.65));

        // Parents were resolved within their own period.
        let legacy_province = store.units_by_code("33").await.unwrap().remove(0);
        let new_province = store.units_by_code("33").await.unwrap().remove(1);
        let district = store.units_by_code("323").await.unwrap().remove(0);
        assert_eq!(district.parent_id, Some(legacy_province.id), "{label}");
        assert_eq!(versions[1].parent_id, Some(new_province.id), "{label}");
        assert_eq!(store.unit(district.id).await.unwrap(), district);

        // Children in code order; provinces by day.
        let children: Vec<_> = store
            .children(new_province.id)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.code)
            .collect();
        assert_eq!(children, ["11953", "11983"], "{label}");
        let before = store
            .units_at_level(UnitLevel::Province, day(2024, 1, 1))
            .await
            .unwrap();
        let after = store
            .units_at_level(UnitLevel::Province, day(2026, 1, 1))
            .await
            .unwrap();
        assert_eq!((before.len(), after.len()), (1, 1), "{label}");
        assert_ne!(before[0].id, after[0].id, "{label}");
        assert!(
            store
                .units_at_level(UnitLevel::District, day(2026, 1, 1))
                .await
                .unwrap()
                .is_empty(),
            "{label}"
        );

        // Lineage: predecessors resolved the day before the reform, successors on the day.
        let links = [
            link("11950", "11983", true),
            link("11953", "11953", true),
            link("11953", "11983", false),
        ];
        assert_eq!(
            store.import_lineage(&links).await.unwrap(),
            ImportCounts { created: 3, updated: 0 },
            "{label}"
        );
        let pho_hien = &versions[1];
        let from: Vec<_> = store
            .predecessors(pho_hien.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.unit.name)
            .collect();
        assert_eq!(from, ["Phường Hiến Nam"], "{label}");
        let hien_nam = &versions[0];
        let to = store.successors(hien_nam.id).await.unwrap();
        assert_eq!(to.len(), 2, "{label}");
        assert!(
            to.iter()
                .any(|l| l.unit.code == "11953" && l.is_default && l.effective == REFORM_2025),
            "{label}"
        );
        assert!(to.iter().any(|l| l.unit.code == "11983" && !l.is_default), "{label}");

        // A new default successor replaces the old one.
        store.import_lineage(&[link("11953", "11983", true)]).await.unwrap();
        let to = store.successors(hien_nam.id).await.unwrap();
        let defaults: Vec<_> = to
            .iter()
            .filter(|l| l.is_default)
            .map(|l| l.unit.code.as_str())
            .collect();
        assert_eq!(defaults, ["11983"], "{label}");

        // The lineage of a whole level in one query each way.
        let into_children = store.predecessors_of_children(new_province.id).await.unwrap();
        assert_eq!(into_children.len(), 3, "{label}");
        let ids = children_ids(&store, new_province.id).await;
        assert!(into_children.iter().all(|l| ids.contains(&l.other_side_of)), "{label}");
        let out_of_children = store.successors_of_children(district.id).await.unwrap();
        assert_eq!(out_of_children.len(), 3, "{label}");
        assert_eq!(store.count_units().await.unwrap(), (7, 3), "{label}");

        store.close().await;
        assert!(store.ping().await.is_err(), "{label}: a closed store must not answer");
    }
}

async fn children_ids(store: &ykien::storage::Store, parent: uuid::Uuid) -> Vec<uuid::Uuid> {
    store
        .children(parent)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect()
}

#[tokio::test]
async fn a_rejected_row_keeps_nothing_of_its_batch() {
    for db in databases("a_rejected_row_keeps_nothing_of_its_batch").await {
        let label = db.label;
        let store = db.store().await;
        // The third unit names a parent that does not exist: the first two must not stay.
        let mut batch = new_units();
        batch[2].parent_code = Some("99".into());
        match store.import_units(&batch).await {
            Err(StoreError::Rejected { index, reason }) => {
                assert_eq!(index, 2, "{label}");
                assert!(reason.contains("parent 99"), "{label}: {reason}");
            }
            other => panic!("{label}: expected a rejection, got {other:?}"),
        }
        assert_eq!(store.count_units().await.unwrap(), (0, 0), "{label}");

        // A version whose period overlaps another version of the same code is refused.
        store.import_units(&new_units()).await.unwrap();
        let mut overlapping = new_units()[..1].to_vec();
        overlapping[0].valid_from = Some(day(2025, 9, 1));
        match store.import_units(&overlapping).await {
            Err(StoreError::Rejected { index: 0, reason }) => {
                assert!(reason.contains("overlaps"), "{label}: {reason}")
            }
            other => panic!("{label}: expected an overlap rejection, got {other:?}"),
        }

        // Lineage naming an unknown unit keeps none of its links.
        let links = [link("11953", "11983", true), link("12345", "11983", true)];
        store.import_units(&legacy_units()).await.unwrap();
        match store.import_lineage(&links).await {
            Err(StoreError::Rejected { index: 1, reason }) => {
                assert!(reason.contains("12345"), "{label}: {reason}")
            }
            other => panic!("{label}: expected a rejection, got {other:?}"),
        }
        assert_eq!(store.count_units().await.unwrap().1, 0, "{label}");

        // A missing id is a domain error, not a driver error.
        assert!(
            matches!(store.unit(uuid::Uuid::new_v4()).await, Err(StoreError::NotFound(_))),
            "{label}"
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_chat_turn_stores_its_state_and_its_survey_step_together_or_not_at_all() {
    use ykien::storage::{ChatUserRow, SessionFrom, SessionTo, SessionWrite, SessionWritten};
    for db in databases("a_chat_turn_stores_its_state_and_its_survey_step_together_or_not_at_all").await {
        let label = db.label;
        let store = db.store().await;
        common::open_waves(&store).await;
        let wave = store.wave_by_code("w-open").await.unwrap();
        let commune = store.units_by_code("11953").await.unwrap().pop().unwrap();
        let now = chrono::Utc::now();
        let person = ChatUserRow {
            channel: "telegram".into(),
            user_id: "500800".into(),
            lang: "vi".into(),
            commune_code: Some("11953".into()),
            dialog: r#"{"dialog":{"at":"survey"}}"#.into(),
            revision: 0,
            reachable: true,
            opted_out: false,
            last_interaction_at: Some(now),
            created_at: now,
        };
        let answer = |q: &str, c: &str| (q.to_owned(), Some(c.to_owned()), None::<String>);
        let step = |from, to, upserts: Vec<_>| SessionWrite {
            identity_hash: "hash-of-lan".into(),
            wave_id: wave.id,
            from,
            to,
            upserts,
            deletes: Vec::new(),
            screens: 3,
            address_hash: None,
        };
        let open = |state: &str, answers: Vec<_>| SessionTo::Open {
            state: state.into(),
            answers,
        };

        // A survey step decided from a session that does not exist any more: nothing is stored, not even the chat.
        let stale = step(
            SessionFrom::Revision(3),
            open("s1", vec![answer("a1", "1")]),
            vec![answer("a1", "1")],
        );
        let written = store.save_chat_turn(&person, true, Some(&stale)).await.unwrap();
        assert_eq!(written.survey, Some(SessionWritten::Stale), "{label}");
        assert!(
            store.chat_user("telegram", "500800").await.unwrap().is_none(),
            "{label}"
        );
        assert!(
            store.session("hash-of-lan", wave.id).await.unwrap().is_none(),
            "{label}"
        );

        // The first step starts the response: the chat, the session with its answers and the answer, at once.
        let new = SessionFrom::New {
            unit_id: commune.id,
            channel: "telegram".into(),
            modules: None,
        };
        let first = step(
            new.clone(),
            open("s1", vec![answer("a1", "1")]),
            vec![answer("a1", "1")],
        );
        let written = store.save_chat_turn(&person, true, Some(&first)).await.unwrap();
        assert_eq!(
            (written.survey, written.replaced),
            (Some(SessionWritten::Written), false),
            "{label}"
        );
        let session = store.session("hash-of-lan", wave.id).await.unwrap().unwrap();
        assert_eq!((session.state.as_str(), session.revision), ("s1", 0), "{label}");
        assert_eq!(session.answers, vec![answer("a1", "1")], "{label}");
        assert_eq!(
            store.answers(session.response_id).await.unwrap(),
            session.answers,
            "{label}"
        );
        let mut person = store.chat_user("telegram", "500800").await.unwrap().unwrap();
        assert_eq!(person.revision, 1, "{label}");

        // Another instance moved the chat meanwhile: this turn's state replaces it, its survey step is stored.
        let mut elsewhere = person.clone();
        elsewhere.lang = "en".into();
        assert!(store.save_chat_user(&elsewhere, false).await.unwrap(), "{label}");
        person.dialog = r#"{"dialog":{"at":"menu"}}"#.into();
        let second = step(
            SessionFrom::Revision(0),
            open("s2", vec![answer("a1", "1"), answer("a2", "2")]),
            vec![answer("a2", "2")],
        );
        let written = store.save_chat_turn(&person, false, Some(&second)).await.unwrap();
        assert_eq!(
            (written.survey, written.replaced),
            (Some(SessionWritten::Written), true),
            "{label}"
        );
        let stored = store.chat_user("telegram", "500800").await.unwrap().unwrap();
        assert_eq!(
            (stored.lang.as_str(), stored.dialog.as_str(), stored.revision),
            ("vi", person.dialog.as_str(), 3),
            "{label}"
        );
        let session = store.session("hash-of-lan", wave.id).await.unwrap().unwrap();
        assert_eq!(
            (session.state.as_str(), session.revision, session.answers.len()),
            ("s2", 1, 2),
            "{label}"
        );

        // The session's answers are read with it, not from the response...
        sqlx_execute(&db, "DELETE FROM answers WHERE question_code = 'a2'").await;
        assert_eq!(
            store.session("hash-of-lan", wave.id).await.unwrap().unwrap().answers,
            vec![answer("a1", "1"), answer("a2", "2")],
            "{label}"
        );
        // ... unless a binary from before they travelled with it moved the session (during a rolling upgrade), or
        // started it: then the response's are read.
        sqlx_execute(&db, "UPDATE survey_sessions SET revision = revision + 1").await;
        assert_eq!(
            store.session("hash-of-lan", wave.id).await.unwrap().unwrap().answers,
            vec![answer("a1", "1")],
            "{label}"
        );
        sqlx_execute(
            &db,
            "UPDATE survey_sessions SET answers = NULL, revision = revision - 1",
        )
        .await;
        assert_eq!(
            store.session("hash-of-lan", wave.id).await.unwrap().unwrap().answers,
            vec![answer("a1", "1")],
            "{label}"
        );
        sqlx_execute(
            &db,
            "INSERT INTO answers (response_id, question_code, code) SELECT response_id, 'a2', '2' FROM survey_sessions",
        )
        .await;

        // Completing: the response is complete and the session forgotten, with the chat's state.
        let done = step(SessionFrom::Revision(1), SessionTo::Complete, vec![answer("a3", "1")]);
        let mut person = store.chat_user("telegram", "500800").await.unwrap().unwrap();
        let written = store.save_chat_turn(&person, false, Some(&done)).await.unwrap();
        assert_eq!(written.survey, Some(SessionWritten::Written), "{label}");
        assert!(
            store.session("hash-of-lan", wave.id).await.unwrap().is_none(),
            "{label}"
        );
        assert!(store.has_responded(wave.id, "hash-of-lan").await.unwrap(), "{label}");
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");

        // The same person completing again from a new response: it is dropped, the chat's state still stored.
        person.revision += 1;
        let again = step(new, SessionTo::Complete, vec![answer("a1", "2")]);
        let written = store.save_chat_turn(&person, false, Some(&again)).await.unwrap();
        assert_eq!(written.survey, Some(SessionWritten::AlreadyResponded), "{label}");
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");
        assert_eq!(
            store.chat_user("telegram", "500800").await.unwrap().unwrap().revision,
            5,
            "{label}"
        );

        // A turn without a survey step stores the chat alone.
        person.revision = 5;
        let written = store.save_chat_turn(&person, false, None).await.unwrap();
        assert_eq!((written.survey, written.replaced), (None, false), "{label}");
    }
}

#[tokio::test]
async fn chat_events_are_recorded_and_marked_handled_in_groups() {
    use ykien::storage::{HandledChatEvent, NewChatEvent};
    for db in databases("chat_events_are_recorded_and_marked_handled_in_groups").await {
        let label = db.label;
        let store = db.store().await;
        let now = chrono::Utc::now();
        let event = |channel: &str, id: &str, kind: &'static str| NewChatEvent {
            channel: channel.to_owned(),
            event_id: id.to_owned(),
            kind,
            user_id: Some("42".to_owned()),
            raw: format!("{{\"{channel}\": \"{id}\"}}"),
            received_at: now,
            claimed_until: now + chrono::Duration::minutes(2),
        };
        assert_eq!(
            store
                .record_chat_events(&[event("telegram", "1", "text")])
                .await
                .unwrap(),
            [true],
            "{label}"
        );
        // In one group: one already recorded, one new, the same id on the other channel (a different event), and
        // a delivery repeated within the group (only its first is new).
        let group = [
            event("telegram", "1", "text"),
            event("telegram", "2", "unsupported"),
            event("zalo", "2", "text"),
            event("telegram", "3", "text"),
            event("telegram", "3", "text"),
        ];
        assert_eq!(
            store.record_chat_events(&group).await.unwrap(),
            [false, true, true, true, false],
            "{label}"
        );
        assert_eq!(
            store.record_chat_events(&[]).await.unwrap(),
            Vec::<bool>::new(),
            "{label}"
        );

        // Marked handled together: the raw body stays only where asked, on the right channel.
        let handled = |channel: &str, id: &str, keep_raw: bool| HandledChatEvent {
            channel: channel.to_owned(),
            event_id: id.to_owned(),
            keep_raw,
        };
        store
            .finish_chat_events(
                &[
                    handled("telegram", "1", false),
                    handled("telegram", "2", true),
                    handled("zalo", "2", false),
                ],
                now,
            )
            .await
            .unwrap();
        store.finish_chat_events(&[], now).await.unwrap();
        let kept = store.chat_events_of_kind("telegram", "unsupported").await.unwrap();
        assert_eq!(
            kept,
            [("2".to_owned(), Some(r#"{"telegram": "2"}"#.to_owned()))],
            "{label}"
        );
        let zalo = store.chat_events_of_kind("zalo", "text").await.unwrap();
        assert_eq!(zalo, [("2".to_owned(), None)], "{label}");
        // Only the unhandled one is taken up again once its claim runs out.
        let later = now + chrono::Duration::minutes(3);
        let unhandled = store
            .claim_unhandled_chat_events(later, later + chrono::Duration::minutes(2), 10)
            .await
            .unwrap();
        let ids: Vec<(String, String)> = unhandled.into_iter().map(|(c, id, _)| (c, id)).collect();
        assert_eq!(ids, [("telegram".to_owned(), "3".to_owned())], "{label}");
    }
}

/// Runs one statement on the test database directly, as an older version of the service would have left it.
async fn sqlx_execute(db: &common::TestDb, statement: &str) {
    use sqlx::Connection;
    let statement = sqlx::AssertSqlSafe(statement.to_owned());
    if db.url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}
