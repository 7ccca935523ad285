//! Issue 23: papi-2026 beside papi-2025, the code map between them, comparisons across versions on what both
//! measure, the dimension rule, PAPI's scale for sub-dimensions, and scores by village.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use common::{TestApp, databases};
use ykien::domain::questionnaire::{CodeMap, Questionnaire};
use ykien::services::Error;
use ykien::services::analysis::codebook;
use ykien::services::demo::{BUNDLED_QUESTIONNAIRE, PAPI_2025_TO_2026, PAPI_2026};
use ykien::services::versions::{import_questionnaire, restrict};
use ykien::services::villages::{import_villages_csv, village_scores};
use ykien::storage::{NewResponse, QuestionnaireImport};
use ykien_analysis::{
    AnswerRow, DimensionRule, Level, Lineage, ScoreOptions, Scores, SimulateOptions, Unit, apply_dimension_rule,
    papi_scale, score_answers, simulate,
};

fn units() -> Vec<Unit> {
    ["11953", "12004"]
        .iter()
        .map(|c| Unit {
            code: (*c).to_owned(),
            name: format!("Xã {c}"),
            province_code: "33".to_owned(),
            lat: None,
            lon: None,
        })
        .collect()
}

fn scored(rows: &[AnswerRow], codebook: &ykien_analysis::Codebook) -> Scores {
    score_answers(
        ykien_analysis::Answers::Rows(rows),
        None,
        codebook,
        &units(),
        &Lineage::none(),
        &ScoreOptions {
            replicates: 20,
            ..ScoreOptions::default()
        },
    )
    .unwrap()
}

fn simulated(codebook: &ykien_analysis::Codebook, wave: &str, seed: u64) -> Vec<AnswerRow> {
    simulate(
        codebook,
        &units(),
        &SimulateOptions {
            wave: wave.to_owned(),
            responses: 600,
            seed,
            ..SimulateOptions::default()
        },
    )
    .unwrap()
}

fn codes_at(scores: &Scores, wave: &str, level: Level) -> BTreeSet<String> {
    scores
        .rows
        .iter()
        .filter(|r| r.wave == wave && r.level == level)
        .map(|r| r.code.clone())
        .collect()
}

#[test]
fn a_wave_on_each_version_scores_with_its_own_sub_dimensions() {
    let old = codebook(&Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap()).unwrap();
    let new = codebook(&Questionnaire::parse(PAPI_2026).unwrap()).unwrap();
    let s2025 = scored(&simulated(&old, "w2025", 1), &old);
    let s2026 = scored(&simulated(&new, "w2026", 2), &new);
    let subs2025 = codes_at(&s2025, "w2025", Level::Subdimension);
    let subs2026 = codes_at(&s2026, "w2026", Level::Subdimension);
    assert!(subs2025.contains("d5.2") && subs2025.contains("d3.3"), "{subs2025:?}");
    assert!(subs2026.contains("d3.4") && subs2026.contains("d8.3"), "{subs2026:?}");
    assert!(!subs2026.contains("d5.2") && !subs2026.contains("d3.3"));
    assert_eq!(codes_at(&s2026, "w2026", Level::Dimension).len(), 8);
    assert!(s2026.get("w2026", "11953", Level::Total, "total").is_some());
}

#[test]
fn papi_scale_sub_dimension_scores_add_up_to_the_dimension_score() {
    let new = codebook(&Questionnaire::parse(PAPI_2026).unwrap()).unwrap();
    let scores = scored(&simulated(&new, "w2026", 3), &new);
    let mut checked = 0;
    for dim in scores.rows.iter().filter(|r| r.level == Level::Dimension) {
        let subs: Vec<_> = new.subdimensions.iter().filter(|s| s.dimension == dim.code).collect();
        let parts: Vec<f64> = subs
            .iter()
            .filter_map(|s| scores.get(&dim.wave, &dim.unit_code, Level::Subdimension, &s.code))
            .filter_map(|row| papi_scale(&new, row))
            .collect();
        if parts.len() == subs.len() {
            let sum: f64 = parts.iter().sum();
            assert!(
                (sum - dim.score).abs() < 1e-9,
                "{} {}: {sum} vs {}",
                dim.unit_code,
                dim.code,
                dim.score
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} dimensions had every sub-dimension");
}

#[test]
fn a_comparison_across_versions_uses_only_what_both_measure() {
    let q2025 = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let q2026 = Questionnaire::parse(PAPI_2026).unwrap();
    let map = CodeMap::parse(PAPI_2025_TO_2026, &q2025, &q2026).unwrap();
    let full2025 = codebook(&q2025).unwrap();
    let full2026 = codebook(&q2026).unwrap();
    let common = restrict(&full2026, &map.comparable(&q2025, &q2026));
    // Both waves' answers, each simulated on its own version, scored together on what both measure.
    let mut rows = simulated(&full2025, "w2025", 4);
    rows.extend(simulated(&full2026, "w2026", 5));
    let scores = scored(&rows, &common);
    for wave in ["w2025", "w2026"] {
        let subs = codes_at(&scores, wave, Level::Subdimension);
        // Construction permits (dropped), People's Inspection Boards (retired), access to justice and
        // e-responsiveness (new) are not compared.
        for left_out in ["d5.2", "d3.3", "d3.4", "d8.3"] {
            assert!(!subs.contains(left_out), "{wave}: {left_out}");
        }
        // d5 is compared on the procedures both versions ask about.
        assert!(subs.contains("d5.1") && subs.contains("d5.4"), "{wave}: {subs:?}");
        let indicators = codes_at(&scores, wave, Level::Indicator);
        for changed in ["d2.1.3", "d1.3.2", "d8.1.1", "d4.1.4"] {
            assert!(!indicators.contains(changed), "{wave}: {changed}");
        }
    }
    let changes = scores.changes("w2025", "w2026");
    assert!(changes.iter().any(|c| c.level == Level::Dimension && c.code == "d5"));
    assert!(!changes.iter().any(|c| c.code == "d5.2" || c.code == "d8.3"));
}

/// 12 respondents of 11953 who all answer d6.1 but never reach d6.2 (no child at a primary school).
fn rows_without_a_sub_dimension() -> Vec<AnswerRow> {
    let mut rows = Vec::new();
    for i in 0..12 {
        for (q, a) in [("d6_1_2", "1"), ("d6_1_0", "1"), ("d6_1_1", "good")] {
            rows.push(AnswerRow {
                response_id: format!("r{i}"),
                wave: "w".to_owned(),
                unit_code: "11953".to_owned(),
                question: q.to_owned(),
                answer: Some(a.to_owned()),
            });
        }
    }
    rows
}

#[test]
fn the_dimension_rule_withdraws_or_marks_a_dimension_missing_a_sub_dimension() {
    let mini = include_str!("fixtures/mini-questionnaire.toml");
    // d6 with two sub-dimensions: d6.1 and an added d6.2 nobody answers.
    let text = mini.replacen(
        "[[questions]]\ncode = \"improve\"",
        "[[subdimensions]]\ncode = \"d6.2\"\ndimension = \"d6\"\nvi = \"Giáo dục tiểu học công lập\"\nen = \"Public primary education\"\n\
         [[indicators]]\ncode = \"d6.2.1\"\nsubdimension = \"d6.2\"\nvi = \"Trường sạch\"\nen = \"Clean school\"\n\
         [[questions]]\ncode = \"d6_2_0\"\ntype = \"yes_no\"\nvi = \"Gia đình có con học tiểu học không?\"\nen = \"A child at primary school?\"\n\
         [[questions]]\ncode = \"d6_2_1\"\nindicator = \"d6.2.1\"\ntype = \"yes_no\"\ngood = \"yes\"\nvi = \"Trường có sạch không?\"\nen = \"Is the school clean?\"\n\
         when = [{ question = \"d6_2_0\", any_of = [\"1\"] }]\n[[questions]]\ncode = \"improve\"",
        1,
    );
    let cb = codebook(&Questionnaire::parse(&text).unwrap()).unwrap();
    let base = scored(&rows_without_a_sub_dimension(), &cb);
    assert!(
        base.get("w", "11953", Level::Dimension, "d6").is_some(),
        "scored from d6.1 alone"
    );

    let mut any = base.clone();
    assert!(apply_dimension_rule(&mut any, &cb, DimensionRule::Any).is_empty());
    assert_eq!(any, base);

    let mut all = base.clone();
    apply_dimension_rule(&mut all, &cb, DimensionRule::All);
    assert!(all.get("w", "11953", Level::Dimension, "d6").is_none());
    assert!(all.get("w", "11953", Level::Total, "total").is_none(), "totals follow");
    assert!(
        all.get("w", "11953", Level::Subdimension, "d6.1").is_some(),
        "sub-dimensions stay"
    );

    let mut one = base.clone();
    let partial = apply_dimension_rule(&mut one, &cb, DimensionRule::AtLeast(1));
    assert!(one.get("w", "11953", Level::Dimension, "d6").is_some());
    assert!(
        partial
            .iter()
            .any(|p| p.level == Level::Dimension && p.code == "d6" && p.unit_code == "11953")
    );

    let mut two = base;
    apply_dimension_rule(&mut two, &cb, DimensionRule::AtLeast(2));
    assert!(two.get("w", "11953", Level::Dimension, "d6").is_none());
}

#[tokio::test]
async fn papi_2026_is_imported_with_its_map_and_a_retyped_code_is_refused() {
    for db in databases("papi_2026_is_imported_with_its_map_and_a_retyped_code_is_refused").await {
        let label = db.label;
        let store = db.store().await;
        // The map needs the version it maps from.
        let early = import_questionnaire(&store, PAPI_2026, Some(PAPI_2025_TO_2026)).await;
        assert!(
            matches!(&early, Err(Error::InvalidQuestionnaire(e)) if e.0.iter().any(|m| m.contains("papi-2025 version 1 is not imported"))),
            "{label}: {early:?}"
        );
        import_questionnaire(&store, BUNDLED_QUESTIONNAIRE, None).await.unwrap();
        let (q, outcome) = import_questionnaire(&store, PAPI_2026, Some(PAPI_2025_TO_2026))
            .await
            .unwrap();
        let QuestionnaireImport::Created(to_id) = outcome else {
            panic!("{label}: {outcome:?}")
        };
        let from = store.questionnaire_by_code("papi-2025", Some(1)).await.unwrap();
        assert_eq!(
            store.code_map(from.id, to_id).await.unwrap().as_deref(),
            Some(PAPI_2025_TO_2026),
            "{label}"
        );
        assert_eq!(q.subdimensions.len(), 28);

        // papi-2026 version 2 turning a yes/no question into a number under the same code: refused.
        let retyped = PAPI_2026.replacen("version = 1", "version = 2", 1).replacen(
            "code = \"d8_2_1\"\nindicator = \"d8.2.1\"\ntype = \"yes_no\"\ngood = \"yes\"",
            "code = \"d8_2_1\"\nindicator = \"d8.2.1\"\ntype = \"number\"\nmin = 0\nmax = 10\ngood = 10\nbad = 0",
            1,
        );
        let refused = import_questionnaire(&store, &retyped, None).await;
        assert!(
            matches!(&refused, Err(Error::InvalidQuestionnaire(e)) if e.0.iter().any(|m| m.starts_with("'d8_2_1' was yes_no"))),
            "{label}: {refused:?}"
        );
        assert!(
            store.questionnaire_by_code("papi-2026", Some(2)).await.is_err(),
            "{label}: nothing stored"
        );
    }
}

#[tokio::test]
async fn village_scores_hide_villages_under_ten_respondents() {
    for db in databases("village_scores_hide_villages_under_ten_respondents").await {
        let label = db.label;
        let store = db.store().await;
        common::open_waves(&store).await;
        import_villages_csv(
            &store,
            "commune_code,village_code,name\n11953,thon-a,Thôn A\n11953,thon-b,Thôn B\n11953,thon-c,Thôn C\n",
        )
        .await
        .unwrap();
        let wave = store.wave_by_code("w-open").await.unwrap();
        let commune = ykien::services::units::unit_by_code(&store, "11953", ykien::http::today_in_vietnam())
            .await
            .unwrap();
        let q = Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
        let answers: Vec<(String, Option<String>, Option<String>)> = q
            .questions
            .iter()
            .filter(|x| x.when.is_empty() && !matches!(x.kind, ykien::domain::questionnaire::QuestionKind::Text { .. }))
            .map(|x| {
                let code = x
                    .options()
                    .first()
                    .map(|o| o.code.clone())
                    .unwrap_or_else(|| "1".to_owned());
                (x.code.clone(), Some(code), None)
            })
            .collect();
        let responses: Vec<NewResponse> = (0..16)
            .map(|i| NewResponse {
                wave_id: wave.id,
                unit_id: commune.id,
                channel: "web".to_owned(),
                client_token: None,
                answers: answers.clone(),
                at: Utc::now() - Duration::minutes(i),
            })
            .collect();
        let stored = store.insert_complete_responses(&responses).await.unwrap();
        // 12 from thôn A, 4 from thôn B, none from thôn C.
        let villages: Vec<_> = stored
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, if i < 12 { "thon-a" } else { "thon-b" }.to_owned()))
            .collect();
        store.set_response_villages(&villages).await.unwrap();
        let cb = codebook(&q).unwrap();
        let (listed, scores) = village_scores(&store, &wave, &commune, &cb, None).await.unwrap();
        assert_eq!(listed.len(), 3, "{label}");
        // Only unconditional questions were answered, so d5 (all of whose questions are conditional) and the total
        // have no score; d1 has.
        let a = scores.get("w-open", "thon-a", Level::Dimension, "d1");
        assert_eq!(a.map(|r| r.n), Some(12), "{label}");
        assert!(
            scores.rows.iter().all(|r| r.unit_code != "thon-b"),
            "{label}: thôn B is never shown"
        );
        assert!(
            scores.withheld.iter().any(|w| w.unit_code == "thon-b" && w.n == 4),
            "{label}"
        );
        assert!(
            scores.rows.iter().all(|r| r.unit_code != "thon-c")
                && scores.withheld.iter().all(|w| w.unit_code != "thon-c"),
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_villages_file_with_mistakes_is_refused_whole_with_each_mistake_named() {
    for db in databases("a_villages_file_with_mistakes_is_refused_whole_with_each_mistake_named").await {
        let label = db.label;
        let store = db.store().await;
        ykien::services::units::import_bundled_hung_yen(&store).await.unwrap();
        let cases: BTreeMap<&str, &str> = BTreeMap::from([
            ("the header", "commune,code,name\n11953,a,Thôn A\n"),
            (
                "village code 'Thôn A'",
                "commune_code,village_code,name\n11953,Thôn A,Thôn A\n",
            ),
            ("no name", "commune_code,village_code,name\n11953,thon-a,\n"),
            (
                "listed twice",
                "commune_code,village_code,name\n11953,thon-a,Thôn A\n11953,thon-a,Thôn A bis\n",
            ),
            (
                "commune '99999'",
                "commune_code,village_code,name\n99999,thon-a,Thôn A\n",
            ),
        ]);
        for (expected, file) in cases {
            match import_villages_csv(&store, file).await {
                Err(Error::BadRequest(message)) => assert!(message.contains(expected), "{label}: {message}"),
                other => panic!("{label}: {expected}: {other:?}"),
            }
        }
        let commune = ykien::services::units::unit_by_code(&store, "11953", ykien::http::today_in_vietnam())
            .await
            .unwrap();
        assert!(
            store.villages(commune.id).await.unwrap().is_empty(),
            "{label}: nothing stored"
        );
    }
}

#[tokio::test]
async fn a_village_link_names_the_village_and_an_unknown_code_is_pointed_out() {
    for db in databases("a_village_link_names_the_village_and_an_unknown_code_is_pointed_out").await {
        let app = TestApp::start_with_open_wave(db).await;
        import_villages_csv(
            &app.app.store,
            "commune_code,village_code,name\n11953,tdp-1,Tổ dân phố số 1\n",
        )
        .await
        .unwrap();
        let page = app.get("/s/11953?thon=tdp-1").await.text().await.unwrap();
        assert!(page.contains("Tổ dân phố số 1"), "{page}");
        assert!(page.contains("name=\"thon\" value=\"tdp-1\""), "{page}");
        let page = app.get("/s/11953?thon=khong-co").await.text().await.unwrap();
        assert!(
            page.contains("Không tìm thấy thôn, tổ dân phố có mã “khong-co”"),
            "{page}"
        );
        assert!(!page.contains("name=\"thon\""), "{page}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_demo_compares_its_papi_2026_wave_with_the_papi_2025_wave_and_shows_villages() {
    for db in databases("the_demo_compares_its_papi_2026_wave_with_the_papi_2025_wave_and_shows_villages").await {
        let app = TestApp::start_with_hung_yen(db).await;
        let demo = ykien::services::demo::prepare(&app.app.store).await.unwrap();
        assert_eq!(demo.wave_2026.code, ykien::services::demo::DEMO_WAVE_2026);
        common::official(&app.app.store, "lanhdao.test", "leader", None, &["33"]).await;
        let cookie = common::session(&app, "lanhdao.test").await;
        let path = format!("/console/dashboard/units/11953?wave={}", demo.wave_2026.code);
        let mut page = String::new();
        // The scores are computed in the background: the page says "Đang tính điểm" until they are ready.
        for _ in 0..300 {
            page = app
                .client
                .get(app.url(&path))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if !page.contains("<title>Đang tính điểm") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        // The change column compares with the papi-2025 wave on what both measure, and says so.
        assert!(page.contains("dùng bảng hỏi papi-2025:1"), "{page}");
        assert!(page.contains("chỉ so sánh trên những gì cả hai cùng đo"), "{page}");
        assert!(
            page.contains("d5.2") || page.contains("d3.4"),
            "left-out sub-dimensions are named: {page}"
        );
        // Sub-dimensions on PAPI's scale, and the residential groups of Phố Hiến, the small one hidden.
        assert!(page.contains("Nội dung thành phần theo thang PAPI"), "{page}");
        assert!(page.contains("Điểm theo thôn, tổ dân phố"), "{page}");
        assert!(page.contains("Tổ dân phố số 1 (minh hoạ)"), "{page}");
        assert!(page.contains("Dưới 10 người trả lời: không hiển thị."), "{page}");
        app.stop().await;
    }
}
