//! Demo data: the bundled questionnaire, a wave open today over Hưng Yên, and synthetic responses so that the
//! dashboards that follow have something real to compute on. Deterministic: the same seed gives the same data.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ykien_bots::message::Channel;

use super::Error;
use super::accounts::{AccountRequest, Official, Role, add_official};
use super::cases::{CaseRules, Cases};
use super::survey::{WaveRequest, create_wave, import_questionnaire};
use super::units::children;
use crate::domain::calendar::WorkCalendar;
use crate::domain::cases::{Action, AnswerContent, BUNDLED_CATEGORIES, parse_categories};
use crate::domain::questionnaire::{Answer, NO, QuestionKind, Questionnaire, YES};
use crate::domain::survey::Wave;
use crate::domain::units::Unit;
use crate::storage::{NewResponse, Store, StoreError};

/// The questionnaire shipped with ykien.
pub const BUNDLED_QUESTIONNAIRE: &str = include_str!("../../questionnaires/papi-2025.toml");
/// The demo wave's code.
pub const DEMO_WAVE: &str = "demo-hung-yen";
/// The 2026 edition of the questionnaire (issue 23) and its code map from the bundled one.
pub const PAPI_2026: &str = include_str!("../../questionnaires/papi-2026.toml");
pub const PAPI_2025_TO_2026: &str = include_str!("../../questionnaires/papi-2025-to-papi-2026.toml");
/// The demo's second wave, on papi-2026, opened after [`DEMO_WAVE`]: the dashboard compares the two on what both
/// questionnaires measure.
pub const DEMO_WAVE_2026: &str = "demo-hung-yen-2026";
/// The demo commune with villages (Phường Phố Hiến) and its residential groups (invented for the demo).
pub const DEMO_VILLAGE_COMMUNE: &str = "11953";
pub const DEMO_VILLAGES: [(&str, &str); 4] = [
    ("tdp-1", "Tổ dân phố số 1 (minh hoạ)"),
    ("tdp-2", "Tổ dân phố số 2 (minh hoạ)"),
    ("tdp-3", "Tổ dân phố số 3 (minh hoạ)"),
    ("tdp-4", "Tổ dân phố số 4 (minh hoạ)"),
];

/// What the demo set up.
#[derive(Debug)]
pub struct DemoData {
    pub wave: Wave,
    /// The papi-2026 wave.
    pub wave_2026: Wave,
    pub responses_created: usize,
    pub cases_created: usize,
    /// A fresh Open311 key of the demo's client application.
    pub open311_key: String,
}

/// The demo's Open311 client application.
pub const DEMO_OPEN311_CLIENT: &str = "ykien-demo";

/// The demo's accounts: (username, role, office, units). They share [`DEMO_PASSWORD`].
pub const DEMO_ACCOUNTS: [(&str, &str, Option<&str>, &str); 4] = [
    ("quantri", "admin", None, ""),
    ("tiepnhan.phohien", "intake", None, "11953"),
    ("canbo.phohien", "commune_officer", Some("commune_economic"), "11953"),
    ("lanhdao.hungyen", "leader", None, "33"),
];
/// The password of every demo account (a demo database only).
pub const DEMO_PASSWORD: &str = "ykien-demo-2026";
/// The demo's administrator with two-factor sign-in on, and its TOTP secret (20 bytes; a demo database only): the
/// demo prints it in base32 for an authenticator app.
pub const DEMO_TWO_FACTOR: (&str, &[u8]) = ("quantri.2fa", b"ykien-demo-2fa-2026!");

/// Creates the demo's administrator with two-factor sign-in (once), its TOTP on with [`DEMO_TWO_FACTOR`]'s secret
/// sealed under this demo's `key`; set up again if the demo's secret changed.
pub async fn prepare_two_factor(store: &Store, key: &crate::config::Secret) -> Result<(), Error> {
    let (username, secret) = DEMO_TWO_FACTOR;
    let now = Utc::now();
    if store.official_by_username(username).await?.is_none() {
        let request = AccountRequest {
            username: username.to_owned(),
            display_name: "Quản trị (xác thực hai bước)".to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            role: "admin".to_owned(),
            office: None,
            unit_codes: Vec::new(),
        };
        add_official(store, request, crate::domain::calendar::vn_day(now)).await?;
    }
    let Some(account) = store.official_by_username(username).await? else {
        return Ok(());
    };
    let opens = store
        .totp(account.id)
        .await?
        .is_some_and(|row| super::two_factor::open(key, account.id, &row.secret).is_ok() && row.confirmed_at.is_some());
    if opens {
        return Ok(());
    }
    let audit = crate::storage::AuditEntry {
        official_id: None,
        action: "two_factor_on".to_owned(),
        target: username.to_owned(),
        before_state: None,
        after_state: Some("on".to_owned()),
        detail: Some("demo data".to_owned()),
    };
    store.delete_totp(account.id, &audit).await?;
    store
        .start_totp(account.id, &super::two_factor::seal(key, account.id, secret), now)
        .await?;
    store.confirm_totp(account.id, 0, &audit, now).await?;
    Ok(())
}

/// Imports the questionnaire, opens the demo wave over today's Hưng Yên (from 30 days ago for 90 days), and
/// stores 40–80 synthetic responses per commune the first time.
pub async fn prepare(store: &Store) -> Result<DemoData, Error> {
    let questionnaire = match import_questionnaire(store, BUNDLED_QUESTIONNAIRE).await {
        Ok((q, _)) => q,
        // An older demo database whose wave fixed an earlier text of this version: keep using that one.
        Err(Error::Conflict(reason)) => {
            tracing::warn!(%reason, "the demo keeps the questionnaire text its wave already uses");
            Questionnaire::parse(BUNDLED_QUESTIONNAIRE).map_err(Error::InvalidQuestionnaire)?
        }
        Err(e) => return Err(e),
    };
    let now = Utc::now();
    let wave = match store.wave_by_code(DEMO_WAVE).await {
        Ok(w) => w,
        Err(StoreError::NotFound(_)) => {
            create_wave(
                store,
                WaveRequest {
                    code: DEMO_WAVE.to_owned(),
                    title: "Khảo sát PAPI cấp xã – Hưng Yên (dữ liệu minh hoạ)".to_owned(),
                    questionnaire: questionnaire.code.clone(),
                    questionnaire_version: Some(questionnaire.version),
                    unit_codes: vec!["33".to_owned()],
                    opens_at: now - Duration::days(30),
                    closes_at: now + Duration::days(60),
                    periods: Vec::new(),
                    modules_per_respondent: None,
                },
            )
            .await?
        }
        Err(e) => return Err(e.into()),
    };
    let (complete, _) = store.count_responses(wave.id).await?;
    let mut responses_created = 0;
    if complete == 0 {
        let communes = children(store, Some("33"), crate::domain::calendar::vn_day(now)).await?;
        // The wave's own version, which may be older than the bundled text.
        let stored = store.questionnaire(wave.questionnaire_id).await?;
        let used = Questionnaire::parse(&stored.source).map_err(Error::InvalidQuestionnaire)?;
        let responses = synthetic_responses(&used, &wave, &communes, 2025);
        let mut quality = Vec::new();
        let mut burst = 0;
        for chunk in responses.chunks(500) {
            let stored = store.insert_complete_responses(chunk).await?;
            responses_created += stored.len();
            // How each was made: a person's pace, but for a scripted burst of six in Phố Hiến (issue 22), which the
            // administrators' page of flagged responses shows.
            for (response, (id, _)) in chunk.iter().zip(stored) {
                let scripted = burst < 6 && communes.iter().any(|c| c.id == response.unit_id && c.code == "11953");
                burst += usize::from(scripted);
                let seconds = if scripted {
                    20
                } else {
                    300 + i64::from(id.as_bytes()[0]) * 4
                };
                quality.push((id, response.unit_id, wave.id, response.channel.clone(), 58, seconds));
            }
        }
        store.record_response_quality(&quality, now).await?;
    }
    let (wave_2026, created_2026) = prepare_2026_wave(store, &wave, now).await?;
    responses_created += created_2026;
    let cases_created = demo_cases(store, now).await?;
    super::demo_reach::prepare(store, now).await?;
    // Issue 18: subscribers, campaigns and a quiz round (needs the demo accounts made just above).
    super::reach::demo::prepare(store, now).await?;
    publish_demo_wave(store, &wave, now).await?;
    publish_demo_wave(store, &wave_2026, now).await?;
    // The key is stored only hashed: a new one each run, so that the demo can print one that works.
    store.delete_api_client(DEMO_OPEN311_CLIENT).await?;
    let open311_key = super::publication::add_client(store, DEMO_OPEN311_CLIENT, now).await?;
    Ok(DemoData {
        wave,
        wave_2026,
        responses_created,
        cases_created,
        open311_key,
    })
}

/// Imports papi-2026 with its code map and opens the demo's second wave on it, a week after the first wave opened
/// (so that it is the newer one), with synthetic responses the first time. Returns the wave and the responses added.
async fn prepare_2026_wave(store: &Store, first: &Wave, now: chrono::DateTime<Utc>) -> Result<(Wave, usize), Error> {
    let questionnaire = match super::versions::import_questionnaire(store, PAPI_2026, Some(PAPI_2025_TO_2026)).await {
        Ok((q, _)) => q,
        Err(Error::Conflict(reason)) => {
            tracing::warn!(%reason, "the demo keeps the papi-2026 text its wave already uses");
            Questionnaire::parse(PAPI_2026).map_err(Error::InvalidQuestionnaire)?
        }
        Err(e) => return Err(e),
    };
    let wave = match store.wave_by_code(DEMO_WAVE_2026).await {
        Ok(w) => w,
        Err(StoreError::NotFound(_)) => {
            create_wave(
                store,
                WaveRequest {
                    code: DEMO_WAVE_2026.to_owned(),
                    title: "Khảo sát PAPI cấp xã 2026 – Hưng Yên (dữ liệu minh hoạ, bảng hỏi papi-2026)".to_owned(),
                    questionnaire: questionnaire.code.clone(),
                    questionnaire_version: Some(questionnaire.version),
                    unit_codes: vec!["33".to_owned()],
                    opens_at: first.opens_at + Duration::days(7),
                    closes_at: first.closes_at + Duration::days(7),
                    periods: Vec::new(),
                    modules_per_respondent: None,
                },
            )
            .await?
        }
        Err(e) => return Err(e.into()),
    };
    let mut created = 0;
    if store.count_responses(wave.id).await?.0 == 0 {
        let communes = children(store, Some("33"), crate::domain::calendar::vn_day(now)).await?;
        let stored = store.questionnaire(wave.questionnaire_id).await?;
        let used = Questionnaire::parse(&stored.source).map_err(Error::InvalidQuestionnaire)?;
        let mut responses = synthetic_responses(&used, &wave, &communes, 2026);
        // Responses are dated inside the wave and never after now.
        for r in &mut responses {
            r.at = r.at.min(now);
        }
        // Phố Hiến's residential groups: its responses came through their posters, one group with few answers.
        let pho_hien = communes.iter().find(|c| c.code == DEMO_VILLAGE_COMMUNE).map(|c| c.id);
        if let Some(unit_id) = pho_hien {
            let list: Vec<(String, String)> = DEMO_VILLAGES
                .iter()
                .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
                .collect();
            store.replace_villages(unit_id, &list).await?;
        }
        let mut villages = Vec::new();
        let mut in_commune = 0usize;
        for chunk in responses.chunks(500) {
            let stored = store.insert_complete_responses(chunk).await?;
            created += stored.len();
            for (response, (id, _)) in chunk.iter().zip(stored) {
                if Some(response.unit_id) == pho_hien {
                    // Every fifth response has no village (a link without ?thon=); the last group gets 4 at most.
                    let slot = in_commune % 5;
                    let village = match (slot, in_commune) {
                        (4, n) if n / 5 < 4 => Some(DEMO_VILLAGES[3].0),
                        (4, _) => None,
                        (slot, _) => Some(DEMO_VILLAGES[slot % 3].0),
                    };
                    if let Some(v) = village {
                        villages.push((id, v.to_owned()));
                    }
                    in_commune += 1;
                }
            }
        }
        store.set_response_villages(&villages).await?;
    }
    Ok((wave, created))
}

/// Publishes the demo wave for Hưng Yên (the whole wave), as its leaders would, so that the public scorecards show
/// data at once; once.
async fn publish_demo_wave(store: &Store, wave: &Wave, now: chrono::DateTime<Utc>) -> Result<(), Error> {
    if store
        .publications(Some("33"))
        .await?
        .iter()
        .any(|p| p.wave_code == wave.code)
    {
        return Ok(());
    }
    let Some(admin) = store.official_by_username("quantri").await? else {
        return Ok(());
    };
    let publication = crate::storage::Publication {
        province_code: "33".to_owned(),
        wave_code: wave.code.clone(),
        period: None,
        published_by: admin.id,
        published_at: now,
    };
    let audit = crate::storage::AuditEntry {
        official_id: Some(admin.id),
        action: "publish".to_owned(),
        target: format!("33/{}/toàn đợt", wave.code),
        before_state: None,
        after_state: Some("published".to_owned()),
        detail: Some("ykien demo".to_owned()),
    };
    Ok(store.publish(&publication, &audit).await?)
}

/// 40–80 complete responses per commune. Each commune has its own quality (so communes differ), each person
/// a little noise; answers follow the skip logic, with some "don't know" and "refused".
pub fn synthetic_responses(q: &Questionnaire, wave: &Wave, communes: &[Unit], seed: u64) -> Vec<NewResponse> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for commune in communes {
        let quality: f64 = rng.random_range(0.25..0.85);
        let n = rng.random_range(40..=80);
        for i in 0..n {
            let person = (quality + rng.random_range(-0.2..0.2)).clamp(0.0, 1.0);
            let answers = synthetic_answers(q, person, &mut rng);
            out.push(NewResponse {
                wave_id: wave.id,
                unit_id: commune.id,
                channel: if i % 3 == 0 { Channel::Telegram } else { Channel::Web }
                    .as_str()
                    .to_owned(),
                client_token: None,
                answers: answers.into_iter().map(|(code, a)| a.into_row(code)).collect(),
                at: wave.opens_at + Duration::minutes(rng.random_range(0..60 * 24 * 28)),
            });
        }
    }
    out
}

const TEXTS: [&str; 5] = [
    "Sửa đường liên thôn và lắp thêm đèn đường.",
    "Công khai rõ hơn các khoản thu chi của xã.",
    "Cán bộ một cửa cần hướng dẫn tận tình hơn.",
    "Thu gom rác thường xuyên hơn.",
    "Nạo vét kênh mương trước mùa mưa.",
];

/// One person's answers, in question order, following skip logic; `quality` in [0, 1] is how well their
/// commune serves them.
fn synthetic_answers(q: &Questionnaire, quality: f64, rng: &mut StdRng) -> Vec<(String, Answer)> {
    let mut given: HashMap<String, Answer> = HashMap::new();
    let mut ordered = Vec::new();
    for question in &q.questions {
        if !question.is_eligible(&given) {
            continue;
        }
        let roll: f64 = rng.random();
        let answer = if question.offers_special_codes() && roll < 0.04 {
            Answer::DontKnow
        } else if question.offers_special_codes() && roll < 0.05 {
            Answer::Refused
        } else {
            let good = rng.random::<f64>() < quality;
            match &question.kind {
                QuestionKind::YesNo {
                    yes_is_good: Some(yes_good),
                } => Answer::Code(if good == *yes_good { YES } else { NO }.to_owned()),
                // Screening questions: about a third of people used the service.
                QuestionKind::YesNo { yes_is_good: None } => {
                    Answer::Code(if rng.random::<f64>() < 0.4 { YES } else { NO }.to_owned())
                }
                QuestionKind::Single { choices } => {
                    let target = quality + rng.random_range(-0.25..0.25);
                    let scored: Vec<_> = choices.iter().filter(|c| c.value.is_some()).collect();
                    let pick = if scored.is_empty() {
                        &choices[rng.random_range(0..choices.len())]
                    } else {
                        scored
                            .iter()
                            .min_by(|a, b| {
                                let da = (a.value.unwrap_or(0.0) - target).abs();
                                let db = (b.value.unwrap_or(0.0) - target).abs();
                                da.total_cmp(&db)
                            })
                            .copied()
                            .unwrap_or(&choices[0])
                    };
                    Answer::Code(pick.code.clone())
                }
                QuestionKind::Likert { high_is_good, .. } => {
                    let level = (quality + rng.random_range(-0.3..0.3)).clamp(0.0, 1.0);
                    let level = if *high_is_good == Some(false) {
                        1.0 - level
                    } else {
                        level
                    };
                    Answer::Code(((1.0 + 4.0 * level).round() as i64).clamp(1, 5).to_string())
                }
                QuestionKind::Number {
                    min, max, good, bad, ..
                } => {
                    let v = match (good, bad) {
                        (Some(g), Some(b)) => g + (b - g) * (1.0 - quality + rng.random_range(-0.2..0.3)),
                        _ => *min as f64 + rng.random::<f64>() * ((*max - *min) as f64 / 5.0),
                    };
                    Answer::Number((v.round() as i64).clamp(*min, *max))
                }
                QuestionKind::Text { .. } => {
                    if rng.random::<f64>() < 0.4 {
                        Answer::Text(TEXTS[rng.random_range(0..TEXTS.len())].to_owned())
                    } else {
                        Answer::Refused
                    }
                }
            }
        };
        given.insert(question.code.clone(), answer.clone());
        ordered.push((question.code.clone(), answer));
    }
    ordered
}

/// Creates the demo accounts (once) and, the first time, synthetic feedback cases in every state across the
/// province, taken through the real workflow.
async fn demo_cases(store: &Store, now: chrono::DateTime<Utc>) -> Result<usize, Error> {
    let day = crate::domain::calendar::vn_day(now);
    for (username, role, office, units) in DEMO_ACCOUNTS {
        if store.official_by_username(username).await?.is_some() {
            continue;
        }
        let display_name = match role {
            "admin" => "Quản trị hệ thống",
            "intake" => "Bộ phận tiếp nhận phường Phố Hiến",
            "commune_officer" => "Cán bộ Phòng Kinh tế phường Phố Hiến",
            _ => "Lãnh đạo tỉnh Hưng Yên",
        };
        let request = AccountRequest {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            role: role.to_owned(),
            office: office.map(str::to_owned),
            unit_codes: if units.is_empty() {
                Vec::new()
            } else {
                vec![units.to_owned()]
            },
        };
        add_official(store, request, day).await?;
    }
    if !store
        .list_cases(&crate::storage::CaseFilter {
            limit: 1,
            ..Default::default()
        })
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let Some(admin) = store.official_by_username("quantri").await? else {
        return Ok(0);
    };
    let admin = Official {
        id: admin.id,
        username: admin.username,
        display_name: admin.display_name,
        role: Role::Admin,
        office: None,
        scope: Vec::new(),
    };
    let categories = parse_categories(BUNDLED_CATEGORIES).map_err(Error::BadRequest)?;
    let cases = Cases::new(
        store.clone(),
        categories.clone(),
        CaseRules::defaults(WorkCalendar::default_vietnam()),
    );
    let communes = children(store, Some("33"), day).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let texts = [
        "Đường liên thôn xuống cấp, nhiều ổ gà, trời mưa đọng nước.",
        "Đèn đường trên trục chính không sáng đã hơn một tuần.",
        "Rác thải tập kết bên đường không được thu gom, bốc mùi.",
        "Cơ sở sản xuất đốt rác gây khói bụi vào buổi tối.",
        "Hồ sơ cấp giấy chứng nhận quyền sử dụng đất quá hạn chưa có kết quả.",
        "Kênh mương nội đồng bị ô nhiễm, cá chết hàng loạt.",
    ];
    let mut created = 0;
    for i in 0..60 {
        // Phố Hiến gets a share of its own, so the demo intake desk has work.
        let commune = if i % 4 == 0 {
            "11953".to_owned()
        } else {
            communes[rng.random_range(0..communes.len())].code.clone()
        };
        let category = &categories[rng.random_range(0..categories.len())];
        let received = now - Duration::hours(rng.random_range(1..24 * 20));
        let by_chat = i % 3 == 0;
        let intake = super::cases::Intake {
            commune,
            category: category.code.clone(),
            text: texts[rng.random_range(0..texts.len())].to_owned(),
            channel: if by_chat { Channel::Telegram } else { Channel::Web },
            // Half of the reporters let their case be public once answered; some with their photos.
            public: i % 2 == 0,
            public_photos: i % 4 == 0,
            // As a chat's location step takes it, and a voice note as an older citizen would send one.
            address: by_chat.then(|| format!("Tổ {}, đường Nguyễn Văn Linh", 1 + i % 9)),
            voice_notes: if i % 12 == 0 {
                vec![demo_voice_note()]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        let code = cases.submit(intake, received).await?.code;
        created += 1;
        // How far along the workflow this case has come: 0 received … 5 closed and rated.
        let depth = rng.random_range(0..6);
        let mut at = received;
        let mut steps: Vec<(Action, i64)> = Vec::new();
        if depth >= 1 && i % 11 == 5 {
            steps.push((
                Action::Reject {
                    reason: "private_dispute".into(),
                    redirect_to: "Hoà giải viên ở tổ dân phố".into(),
                },
                90,
            ));
        } else {
            if depth >= 1 {
                steps.push((Action::Accept { tier: category.tier }, 120));
            }
            if depth >= 2 {
                steps.push((
                    Action::Assign {
                        office: category.office.clone(),
                    },
                    60,
                ));
            }
            if depth >= 3 {
                let answer = AnswerContent {
                    what_was_done: format!(
                        "Tổ công tác đã kiểm tra hiện trường, xử lý dứt điểm nội dung phản ánh ({}) và báo cáo kết quả.",
                        category.vi
                    ),
                    by_unit: "UBND xã, phường".into(),
                    legal_basis: None,
                };
                steps.push((Action::Answer(answer), rng.random_range(60..60 * 24 * 6)));
            }
            if depth >= 4 {
                steps.push((Action::Close, 60));
            }
        }
        // Each action bumps the case's revision by one, starting from 0.
        for (revision, (action, minutes)) in (0_i64..).zip(steps) {
            at += Duration::minutes(minutes);
            // Cases are not dated in the future: a late step waits for "now".
            let when = at.min(now);
            cases.act(&admin, &code, revision, action, Vec::new(), when).await?;
        }
        if depth >= 5 && i % 11 != 5 {
            let case = cases.find(&code).await?;
            cases.rate(&case, rng.random_range(2..=5), None, now).await?;
        }
    }
    created += demo_intake_desk(store, &cases, &admin, now).await?;
    Ok(created)
}

/// Issue 20 in the demo: the example answer templates, a case the Phố Hiến desk took by hotline (its receipt is
/// at `/console/cases/{code}/receipt`), and the same broken street light reported again on the web an hour later,
/// which the console suggests as a duplicate (with an answer template for its category).
async fn demo_intake_desk(
    store: &Store,
    cases: &Cases,
    admin: &Official,
    now: chrono::DateTime<Utc>,
) -> Result<usize, Error> {
    cases
        .import_templates(crate::domain::cases::templates::BUNDLED_TEMPLATES, Some(admin), now)
        .await?;
    let Some(row) = store.official_by_username("tiepnhan.phohien").await? else {
        return Ok(0);
    };
    let desk = Official {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        role: Role::Intake,
        office: None,
        scope: store.official_scope(row.id).await?,
    };
    let street = "Tổ 3, đường Nguyễn Văn Linh";
    let hotline = super::cases::DeskIntake {
        intake: super::cases::Intake {
            commune: "11953".into(),
            category: "street_light".into(),
            text: "Cả dãy đèn đường trước số nhà 45 đường Nguyễn Văn Linh không sáng từ ba hôm nay, buổi tối rất tối."
                .into(),
            address: Some(street.into()),
            name: Some("Trần Thị Mai".into()),
            phone: Some("0912 345 678".into()),
            channel: Channel::Hotline,
            ..Default::default()
        },
        received_at: Some(now - Duration::hours(2)),
        files: Vec::new(),
    };
    cases.record_at_desk(&desk, hotline, now).await?;
    let again = super::cases::Intake {
        commune: "11953".into(),
        category: "street_light".into(),
        text: "Đèn đường trước số nhà 45 đường Nguyễn Văn Linh không sáng mấy hôm nay, buổi tối tối om.".into(),
        address: Some(street.into()),
        channel: Channel::Web,
        ..Default::default()
    };
    cases.submit(again, now - Duration::hours(1)).await?;
    Ok(2)
}

/// A playable stand-in for a citizen's voice note in the demo: one and a half seconds of a 440 Hz tone as an
/// 8 kHz, 8-bit mono WAVE file (the console plays it like a recorded one).
fn demo_voice_note() -> Vec<u8> {
    const RATE: u32 = 8_000;
    let samples: Vec<u8> = (0..RATE * 3 / 2)
        .map(|n| {
            let t = f64::from(n) / f64::from(RATE);
            (128.0 + 60.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as u8
        })
        .collect();
    let data_len = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16_u32.to_le_bytes()); // the format chunk's size
    wav.extend_from_slice(&1_u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1_u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes()); // bytes a second
    wav.extend_from_slice(&1_u16.to_le_bytes()); // bytes a frame
    wav.extend_from_slice(&8_u16.to_le_bytes()); // bits a sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}
