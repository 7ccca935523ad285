//! The web survey over real HTTP, on both databases: a whole survey with skips, resume, resubmission, the
//! CSRF guard, one response per device, and the refusals a citizen can meet.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/survey.rs"]
mod survey;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use common::{TestApp, databases};
use survey::{Device, answer_page, csrf, screen};
use ykien::services::demo::BUNDLED_QUESTIONNAIRE;
use ykien::services::survey::{WaveRequest, create_wave, import_questionnaire};

#[tokio::test]
async fn a_citizen_answers_the_whole_survey_with_skips_back_and_resume() {
    for db in databases("a_citizen_answers_the_whole_survey_with_skips_back_and_resume").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let mut phone = Device::new(&app);
        let landing = phone.get("/s/11953").await;
        assert_eq!(landing.status, 200, "{label}");
        assert!(
            landing.html.contains("Phường Phố Hiến") && landing.html.contains("Ẩn danh"),
            "{label}"
        );
        let token = csrf(&landing.html);
        let started = phone
            .post(
                "/s/11953/start",
                &[("csrf".into(), token.clone()), ("lang".into(), "vi".into())],
            )
            .await;
        assert_eq!(
            (started.status, started.location.as_deref()),
            (303, Some("/s/11953/q")),
            "{label}"
        );

        let mut page = phone.get("/s/11953/q").await;
        assert!(page.html.contains("Thông tin về anh/chị"), "{label}: {}", page.html);
        // An empty submission is refused on the same page, in Vietnamese, nothing moves.
        let empty = vec![
            ("csrf".into(), csrf(&page.html)),
            ("screen".into(), screen(&page.html)),
            ("action".into(), "next".into()),
        ];
        let refused = phone.post("/s/11953/q", &empty).await;
        assert_eq!(refused.status, 422, "{label}");
        assert!(refused.html.contains("Anh/chị chưa trả lời câu hỏi này."), "{label}");

        let mut screens = 0;
        let mut went_back = false;
        let mut resumed = false;
        loop {
            let form = answer_page(&page.html);
            let next = phone.post("/s/11953/q", &form).await;
            assert_eq!(next.status, 303, "{label}: {}", next.html);
            screens += 1;
            if next.location.as_deref() == Some("/s/11953/thanks") {
                break;
            }
            if screens == 3 && !went_back {
                // Back one screen: the stored answers are shown checked, then forward again.
                went_back = true;
                let back = vec![("csrf".into(), csrf(&page.html)), ("action".into(), "back".into())];
                assert_eq!(phone.post("/s/11953/q", &back).await.status, 303);
                let again = phone.get("/s/11953/q").await;
                assert!(
                    again.html.contains("checked"),
                    "{label}: stored answers are shown again"
                );
                let forward = phone.post("/s/11953/q", &answer_page(&again.html)).await;
                assert_eq!(forward.status, 303, "{label}");
                // The earlier form posted again (a double tap) changes nothing and stays on the current screen.
                let stale = phone.post("/s/11953/q", &answer_page(&again.html)).await;
                assert_eq!(stale.location.as_deref(), Some("/s/11953/q"), "{label}");
            }
            if screens == 6 && !resumed {
                // The tab is closed; the landing page offers to continue, and the survey resumes where it was.
                resumed = true;
                let landing = phone.get("/s/11953").await;
                assert!(landing.html.contains("Tiếp tục khảo sát"), "{label}");
            }
            page = phone.get("/s/11953/q").await;
            assert_eq!(page.status, 200, "{label}");
            assert!(screens < 200, "{label}: the survey never ends");
        }
        assert!(screens > 10, "{label}: only {screens} screens");
        let thanks = phone.get("/s/11953/thanks").await;
        assert!(thanks.html.contains("Xin cảm ơn!"), "{label}");

        // One complete response, with answers; nothing of the device is in the answers or responses tables.
        let wave = app.app.store.wave_by_code("w-open").await.unwrap();
        assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");

        // The same device cannot answer again.
        let landing = phone.get("/s/11953").await;
        assert!(landing.html.contains("đã trả lời đợt khảo sát này"), "{label}");
        assert!(!landing.html.contains("/start"), "{label}");
        let again = phone
            .post(
                "/s/11953/start",
                &[("csrf".into(), token), ("lang".into(), "vi".into())],
            )
            .await;
        assert_eq!(again.location.as_deref(), Some("/s/11953"), "{label}");
        assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");
        app.stop().await;
    }
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_store_nothing() {
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    let mut phone = Device::new(&app);
    let landing = phone.get("/s/11953").await;
    let token = csrf(&landing.html);
    for bad in [
        "",
        "0000",
        &token.replace(&token[..1], if &token[..1] == "a" { "b" } else { "a" }),
    ] {
        let r = phone.post("/s/11953/start", &[("csrf".into(), bad.to_owned())]).await;
        assert_eq!(r.status, 403, "{bad}");
        assert!(r.html.contains("Phiên làm việc không hợp lệ"));
    }
    // A form from another device's page (no cookie) is refused too.
    let mut stranger = Device::new(&app);
    let r = stranger.post("/s/11953/start", &[("csrf".into(), token)]).await;
    assert_eq!(r.status, 403);
    let wave = app.app.store.wave_by_code("w-open").await.unwrap();
    assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn a_commune_without_an_open_wave_or_unknown_says_so_in_vietnamese() {
    let app = TestApp::start_with_open_wave(common::TestDb::sqlite()).await;
    let mut phone = Device::new(&app);
    // A legacy commune of Thái Bình does not exist today.
    let r = phone.get("/s/11950").await;
    assert_eq!(r.status, 404);
    assert!(
        r.html.contains("không phải là một xã, phường hiện nay") || r.html.contains("Không có đơn vị"),
        "{}",
        r.html
    );
    let r = phone.get("/s/99999").await;
    assert_eq!(r.status, 404);
    assert!(r.html.contains("Không có đơn vị hành chính nào mang mã 99999"));
}

fn api_answers(pairs: &[(&str, serde_json::Value)]) -> serde_json::Value {
    serde_json::Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

/// A complete, valid response to the bundled questionnaire: the engine's own walk, "no" to every screening
/// question so the skip logic is exercised.
fn complete_answers() -> BTreeMap<String, String> {
    let q = ykien::domain::questionnaire::Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
    let mut given = std::collections::HashMap::new();
    let mut out = BTreeMap::new();
    for question in &q.questions {
        if !question.is_eligible(&given) {
            continue;
        }
        let raw = match &question.kind {
            ykien::domain::questionnaire::QuestionKind::Number { min, .. } => min.to_string(),
            ykien::domain::questionnaire::QuestionKind::Text { .. } => "Đèn đường".to_owned(),
            ykien::domain::questionnaire::QuestionKind::YesNo { .. } => "0".to_owned(),
            _ => question.options()[0].code.clone(),
        };
        given.insert(question.code.clone(), question.parse_answer(&raw).unwrap());
        out.insert(question.code.clone(), raw);
    }
    out
}

#[tokio::test]
async fn the_responses_api_stores_a_complete_response_once_and_lists_every_problem() {
    for db in databases("the_responses_api_stores_a_complete_response_once_and_lists_every_problem").await {
        let label = db.label;
        let token = "api-token-api-token-api-token-0123456789";
        let config = db.config_with(&[("YKIEN_API_TOKEN", token)]);
        let store = ykien::app::open_store(&config).await.unwrap();
        let running = ykien::app::start(&config, store).await.unwrap();
        ykien::services::units::import_bundled_hung_yen(&running.store)
            .await
            .unwrap();
        import_questionnaire(&running.store, BUNDLED_QUESTIONNAIRE)
            .await
            .unwrap();
        let now = Utc::now();
        for (code, opens, closes) in [("w-open", -1, 30), ("w-closed", -60, -30)] {
            create_wave(
                &running.store,
                WaveRequest {
                    code: code.into(),
                    title: code.into(),
                    questionnaire: "papi-2025".into(),
                    questionnaire_version: None,
                    unit_codes: vec!["11953".into()],
                    opens_at: now + Duration::days(opens),
                    closes_at: now + Duration::days(closes),
                    periods: Vec::new(),
                    modules_per_respondent: None,
                },
            )
            .await
            .unwrap();
        }
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/waves/w-open/responses", running.url());
        let answers: serde_json::Map<String, serde_json::Value> = complete_answers()
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let body = serde_json::json!({ "commune": "11953", "client_token": "tablet-7-0001", "answers": answers });

        let r = client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 401, "{label}: no token");
        let r = client.post(&url).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201, "{label}");
        let first: serde_json::Value = r.json().await.unwrap();
        // Retried with the same client token: the same response, not a second one.
        let r = client.post(&url).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{label}");
        let second: serde_json::Value = r.json().await.unwrap();
        assert_eq!(first["id"], second["id"], "{label}");
        let wave = running.store.wave_by_code("w-open").await.unwrap();
        assert_eq!(running.store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");
        let stored = running
            .store
            .answers(first["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap();
        assert_eq!(stored.len(), complete_answers().len(), "{label}");

        // Every problem of a bad response, per question, in Vietnamese and English.
        let mut bad = complete_answers();
        let first_likert = bad.keys().find(|k| k.starts_with("d1_")).unwrap().clone();
        bad.insert(first_likert.clone(), "9".into());
        bad.insert("khong_co".into(), "1".into());
        let eligible_only = bad.keys().last().unwrap().clone();
        bad.remove(&eligible_only);
        let body = serde_json::json!({ "commune": "11953", "answers": bad });
        let r = client.post(&url).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 422, "{label}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_response");
        let problems: Vec<(String, String)> = e["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["field"].as_str().unwrap().to_owned(),
                    p["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            problems.contains(&("khong_co".into(), "unknown_question".into())),
            "{label}: {problems:?}"
        );
        assert!(
            problems.contains(&(first_likert, "invalid_answer".into())),
            "{label}: {problems:?}"
        );
        assert!(
            problems.contains(&(eligible_only, "missing_answer".into())),
            "{label}: {problems:?}"
        );
        assert!(
            e["error"]["problems"][0]["message"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| "ảạấầẩẫậ".contains(c) || !c.is_ascii())
        );

        // A screened-out question answered anyway.
        let screened = {
            let q = ykien::domain::questionnaire::Questionnaire::parse(BUNDLED_QUESTIONNAIRE).unwrap();
            let complete = complete_answers();
            q.questions
                .iter()
                .find(|x| !x.when.is_empty() && !complete.contains_key(&x.code))
                .unwrap()
                .code
                .clone()
        };
        let mut extra = complete_answers();
        extra.insert(screened.clone(), "1".into());
        let r = client
            .post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({ "commune": "11953", "answers": extra }))
            .send()
            .await
            .unwrap();
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(
            e["error"]["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == screened.as_str() && p["code"] == "not_eligible"),
            "{label}: {e}"
        );

        // A commune outside the wave, a closed wave, an unknown wave.
        let outside = serde_json::json!({ "commune": "11977", "answers": api_answers(&[]) });
        let r = client
            .post(&url)
            .bearer_auth(token)
            .json(&outside)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{label}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["error"]["problems"][0]["code"], "invalid_commune", "{label}");
        let closed = format!("{}/api/v1/waves/w-closed/responses", running.url());
        let r = client
            .post(&closed)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409, "{label}");
        let unknown = format!("{}/api/v1/waves/nope/responses", running.url());
        let r = client
            .post(&unknown)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{label}");
        assert_eq!(
            running.store.count_responses(wave.id).await.unwrap(),
            (1, 0),
            "{label}: nothing else stored"
        );

        // Malformed JSON keeps the error shape.
        let r = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{\"commune\":")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        assert!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"].is_string());
        running.shut_down().await.unwrap();
    }
}

/// Answers the current chat question the way a careful citizen taps: the first option, the smallest number,
/// a short text.
fn tap(q: &ykien::domain::questionnaire::Questionnaire, ask: &ykien::conversation::Ask) -> Vec<(String, String)> {
    ask.questions
        .iter()
        .map(|&i| {
            let question = &q.questions[i];
            let raw = match &question.kind {
                ykien::domain::questionnaire::QuestionKind::Number { min, .. } => min.to_string(),
                ykien::domain::questionnaire::QuestionKind::Text { .. } => "Lắp đèn đường".to_owned(),
                _ => question.options()[0].code.clone(),
            };
            (question.code.clone(), raw)
        })
        .collect()
}

#[tokio::test]
async fn a_chat_identity_answers_one_question_at_a_time_once_even_when_taps_race() {
    use ykien::conversation::{Input, Mode};
    use ykien::services::survey::{Identity, Surveys, Turn};
    use ykien_bots::message::Channel;
    for db in databases("a_chat_identity_answers_one_question_at_a_time_once_even_when_taps_race").await {
        let label = db.label;
        let app = TestApp::start_with_open_wave(db).await;
        let surveys = std::sync::Arc::new(Surveys::new(
            app.app.store.clone(),
            ykien::config::Secret::new(common::TEST_SECRET),
        ));
        let ctx = surveys.survey_for_commune("11953", Utc::now()).await.unwrap();
        let user = Identity {
            channel: Channel::Telegram,
            id: "123456789".into(),
        };
        let lang = ykien::domain::Lang::Vi;
        let mut turn = surveys
            .answer(&ctx, &user, None, (Mode::Chat, lang), Input::Show)
            .await
            .unwrap();
        let mut questions = 0;
        loop {
            let ask = match turn {
                Turn::Ask { ask, .. } => ask,
                Turn::Done => break,
                Turn::AlreadyResponded => panic!("{label}: not answered yet"),
            };
            assert_eq!(ask.questions.len(), 1, "{label}: chats ask one question at a time");
            questions += 1;
            let input = Input::Submit {
                screen: ask.screen,
                answers: tap(&ctx.questionnaire, &ask),
            };
            // The same tap delivered four times at once (a webhook retried, a double tap): one counts.
            let mut racing = Vec::new();
            for _ in 0..4 {
                let (surveys, ctx, user, input) = (surveys.clone(), ctx.clone(), user.clone(), input.clone());
                racing.push(tokio::spawn(async move {
                    surveys.answer(&ctx, &user, None, (Mode::Chat, lang), input).await
                }));
            }
            let mut results = Vec::new();
            for r in racing {
                results.push(r.await.unwrap().unwrap());
            }
            turn = results.into_iter().find(|t| matches!(t, Turn::Done)).unwrap_or(
                surveys
                    .answer(&ctx, &user, None, (Mode::Chat, lang), Input::Show)
                    .await
                    .unwrap(),
            );
            assert!(questions < 300, "{label}: never ends");
        }
        assert!(questions > 40, "{label}: {questions} questions");
        let wave = app.app.store.wave_by_code("w-open").await.unwrap();
        assert_eq!(app.app.store.count_responses(wave.id).await.unwrap(), (1, 0), "{label}");
        // Once more from the same Telegram user: refused.
        let again = surveys
            .answer(&ctx, &user, None, (Mode::Chat, lang), Input::Show)
            .await
            .unwrap();
        assert!(matches!(again, Turn::AlreadyResponded), "{label}");
        app.stop().await;
    }
}

/// One number from the test database (a count), on either engine.
#[tokio::test]
async fn a_split_wave_asks_each_respondent_the_profile_and_their_own_draw_of_sub_dimensions() {
    use std::collections::BTreeSet;
    use ykien::conversation::{Input, Mode};
    use ykien::services::survey::{Identity, Surveys, Turn, WaveRequest, create_wave, import_questionnaire};
    use ykien_bots::message::Channel;
    for db in databases("a_split_wave_asks_each_respondent_the_profile_and_their_own_draw").await {
        let label = db.label;
        let app = TestApp::start_with_hung_yen(db).await;
        let store = app.app.store.clone();
        import_questionnaire(&store, ykien::services::demo::BUNDLED_QUESTIONNAIRE)
            .await
            .unwrap();
        let now = Utc::now();
        let request = |modules| WaveRequest {
            code: "w-split".into(),
            title: "Đợt rút gọn".into(),
            questionnaire: "papi-2025".into(),
            questionnaire_version: None,
            unit_codes: vec!["33".into()],
            opens_at: now - chrono::Duration::days(1),
            closes_at: now + chrono::Duration::days(30),
            periods: Vec::new(),
            modules_per_respondent: modules,
        };
        // Bad input: no module, or as many as the questionnaire has (that is not a split).
        for wrong in [0, 99] {
            let err = create_wave(&store, request(Some(wrong))).await.unwrap_err().to_string();
            assert!(err.contains("modules_per_respondent"), "{label}: {err}");
        }
        create_wave(&store, request(Some(4))).await.unwrap();
        // The web survey's first page says the wave is shorter than its introduction.
        let landing = Device::new(&app).get("/s/11953").await;
        assert!(
            landing
                .html
                .contains("Đợt này mỗi người chỉ trả lời phần thông tin chung và 4 trong 28 nhóm câu hỏi"),
            "{label}: {}",
            landing.html
        );

        let surveys = Surveys::new(store.clone(), ykien::config::Secret::new(common::TEST_SECRET));
        let ctx = surveys.survey_for_commune("11953", now).await.unwrap();
        let q = ctx.questionnaire.clone();
        let page_of = |code: &str| q.question(code).unwrap().page.clone();
        let mut draws = BTreeSet::new();
        for person in ["111", "222", "333", "444"] {
            let user = Identity {
                channel: Channel::Telegram,
                id: person.into(),
            };
            let at = (Mode::Chat, ykien::domain::Lang::Vi);
            let mut turn = surveys.answer(&ctx, &user, None, at, Input::Show).await.unwrap();
            let mut pages = BTreeSet::new();
            let mut questions = 0;
            while let Turn::Ask { ask, .. } = turn {
                let answers = tap(&q, &ask);
                for (code, _) in &answers {
                    pages.insert(page_of(code));
                }
                questions += 1;
                let input = Input::Submit {
                    screen: ask.screen,
                    answers,
                };
                turn = surveys.answer(&ctx, &user, None, at, input).await.unwrap();
                assert!(questions < 300, "{label}: never ends");
            }
            assert!(matches!(turn, Turn::Done), "{label}");
            assert!(
                pages.remove(ykien::domain::questionnaire::PROFILE_PAGE),
                "{label}: the profile is asked"
            );
            assert!(
                !pages.is_empty() && pages.len() <= 4,
                "{label}: at most the 4 drawn sub-dimensions: {pages:?}"
            );
            assert!(questions < 60, "{label}: a shorter survey ({questions} questions)");
            draws.insert(pages);
        }
        assert!(
            draws.len() > 1,
            "{label}: respondents get different sub-dimensions: {draws:?}"
        );
        let wave = store.wave_by_code("w-split").await.unwrap();
        assert_eq!(wave.modules_per_respondent, Some(4));
        assert_eq!(store.count_responses(wave.id).await.unwrap(), (4, 0), "{label}");
        // Each response keeps the sub-dimensions it was asked.
        assert_eq!(
            app.db
                .count(
                    "SELECT COUNT(*) FROM responses WHERE complete AND modules LIKE '%,%,%,%' AND modules NOT LIKE '%,%,%,%,%'"
                )
                .await,
            4,
            "{label}"
        );
        app.stop().await;
    }
}
