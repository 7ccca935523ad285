//! Quiz rounds in the console (`/console/quizzes`): the list and the form to make one (title, questions of the
//! bundled bank, communes, opening and closing in Vietnam time, winners, and whether to draft its announcing
//! campaign), a round's page (its seed's hash from the start and the seed once closed, results by commune over the
//! web and the chats, the entries' export without identity, the draw), and the close and draw buttons. The rules
//! are `services::reach::rounds`' and `quiz`'s.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use maud::{Markup, html};
use uuid::Uuid;

use super::AppState;
use super::console::page;
use super::error::{OnPage, PageError};
use super::render::redirect;
use super::session::SignedIn;
use crate::domain::calendar::vn_day;
use crate::domain::{Lang, Problem};
use crate::services::Error;
use crate::services::reach::campaigns::vn_time;
use crate::services::reach::quiz;
use crate::services::reach::rounds::{self, RoundForm};
use crate::services::units;

const LANG: Lang = Lang::Vi;
const HOME: &str = "/console/quizzes";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/quizzes", get(show_rounds).post(post_round))
        .route("/console/quizzes/{id}", get(show_round))
        .route("/console/quizzes/{id}/{action}", post(post_action))
}

fn problems_list(problems: &[Problem]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.error role="alert" {
                p { strong { "Chưa tạo được vòng thi: " (problems.len()) " chỗ chưa hợp lệ." } }
                ul { @for p in problems { li { (p.message.vi) } } }
            }
        }
    }
}

fn form_page(form: &RoundForm, problems: &[Problem], csrf: &str) -> Markup {
    let bank = quiz::bundled_bank();
    html! {
        h2 { "Tạo vòng thi mới" }
        (problems_list(problems))
        form method="post" action=(HOME) {
            input type="hidden" name="csrf" value=(csrf);
            p { label { "Tên vòng thi " input type="text" name="title" size="60" value=(form.title); } }
            p { label { "Mã các xã, phường tham gia (cách nhau bởi dấu phẩy) " input type="text" name="communes" size="40" value=(form.communes.join(", ")); } }
            p { label { "Mở lúc (giờ Việt Nam) " input type="datetime-local" name="opens_vn" value=(form.opens_vn); } " "
                label { "Đóng lúc (giờ Việt Nam) " input type="datetime-local" name="closes_vn" value=(form.closes_vn); } }
            p { label { "Số người thắng " input type="number" name="winners" min="1" max=(rounds::MAX_WINNERS) value=(form.winners); } }
            p { label { input type="checkbox" name="announce" value="1" checked[form.announce];
                " Soạn kèm đợt gửi tin thông báo (bản nháp có đường dẫn tới vòng thi, gửi các xã, phường trên từ lúc mở; cần lãnh đạo duyệt)" } }
            fieldset {
                legend { "Câu hỏi (ngân hàng câu hỏi kèm theo, data/quiz/papi-quiz.toml), theo thứ tự" }
                @for q in &bank {
                    p { label {
                        input type="checkbox" name="question_ids" value=(q.id) checked[form.question_ids.contains(&q.id)];
                        " " code { (q.id) } " — " (q.text)
                    } }
                }
            }
            button type="submit" { "Tạo vòng thi" }
        }
    }
}

async fn list_page(
    state: &AppState,
    session: &SignedIn,
    form: &RoundForm,
    problems: &[Problem],
) -> Result<Response, PageError> {
    let list = state.store.quiz_rounds().await.on_page(LANG, HOME)?;
    let now = Utc::now();
    let body = html! {
        h1 { "Cuộc thi tìm hiểu PAPI" }
        p.muted { "Mỗi người dự thi một lần mỗi vòng, trên web, Telegram hoặc Zalo; sau mỗi câu có giải thích và nguồn. Người thắng được bốc thăm công khai, ai cũng kiểm chứng được." }
        table {
            thead { tr { th { "Tên" } th { "Mở" } th { "Đóng" } th { "Trạng thái" } } }
            tbody { @for r in &list { tr {
                td { a href=(format!("{HOME}/{}", r.id)) { (r.title) } }
                td { (vn_time(r.opens_at)) }
                td { (vn_time(r.closes_at)) }
                td { (status(r, now)) }
            } } }
        }
        (form_page(form, problems, &session.csrf(state)))
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Html(
            page(
                "Cuộc thi tìm hiểu PAPI",
                Some((&session.official, &session.csrf(state))),
                body,
            )
            .into_string(),
        ),
    )
        .into_response())
}

fn status(round: &crate::storage::QuizRoundRow, now: chrono::DateTime<Utc>) -> &'static str {
    if now < round.opens_at {
        "Chưa mở"
    } else if now < round.closes_at {
        "Đang mở"
    } else {
        "Đã đóng"
    }
}

/// `GET /console/quizzes`.
async fn show_rounds(State(state): State<AppState>, session: SignedIn) -> Result<Response, PageError> {
    let now = Utc::now() + chrono::Duration::hours(1);
    let form = RoundForm {
        opens_vn: vn_time(now).replace(' ', "T")[..14].to_owned() + "00",
        closes_vn: vn_time(now + chrono::Duration::days(14)).replace(' ', "T")[..14].to_owned() + "00",
        winners: "3".into(),
        announce: true,
        ..RoundForm::default()
    };
    list_page(&state, &session, &form, &[]).await
}

/// `POST /console/quizzes`: a round; on problems the form again with what was typed.
async fn post_round(
    State(state): State<AppState>,
    session: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let one = |k: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    session.check_csrf(&state, Some(&one("csrf")))?;
    let form = RoundForm {
        title: one("title"),
        question_ids: pairs
            .iter()
            .filter(|(k, _)| k == "question_ids")
            .map(|(_, v)| v.clone())
            .collect(),
        communes: one("communes")
            .split([',', ' ', ';'])
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        opens_vn: one("opens_vn"),
        closes_vn: one("closes_vn"),
        winners: one("winners"),
        announce: one("announce") == "1",
    };
    let public_url = state.config.public_url.clone();
    match rounds::create(
        &state.store,
        &session.official,
        &form,
        public_url.as_deref(),
        Utc::now(),
    )
    .await
    {
        Ok(id) => Ok(redirect(&format!("{HOME}/{id}"))),
        Err(Error::Invalid(problems)) => list_page(&state, &session, &form, &problems).await,
        Err(e) => Err(PageError::new(LANG, HOME, e)),
    }
}

/// What a wrong id in the path shows.
const NO_SUCH: &str = "Không có vòng thi này";

/// `GET /console/quizzes/{id}`.
async fn show_round(
    State(state): State<AppState>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    let path = format!("{HOME}/{id}");
    let round = state
        .store
        .quiz_round(id)
        .await
        .on_page(LANG, &path)?
        .ok_or_else(|| PageError::no_such(LANG, HOME, NO_SUCH))?;
    let now = Utc::now();
    let entries = state.store.quiz_entries(id).await.on_page(LANG, &path)?;
    let by_commune = quiz::results_by_commune(&entries);
    let mut by_channel: HashMap<&str, usize> = HashMap::new();
    for e in &entries {
        *by_channel.entry(e.channel.as_str()).or_default() += 1;
    }
    let scope = quiz::round_communes(&round);
    let day = vn_day(now);
    let mut names = HashMap::new();
    for code in scope.iter().copied().chain(by_commune.iter().map(|(c, ..)| c.as_str())) {
        let name = units::commune_on(&state.store, code, day)
            .await
            .map(|u| u.name)
            .unwrap_or_else(|_| code.to_owned());
        names.insert(code.to_owned(), name);
    }
    let seed = quiz::revealed_seed(&round, now);
    let winners = seed.map(|seed| {
        let scored: Vec<(Uuid, i64)> = entries.iter().map(|e| (e.entry_id, e.score)).collect();
        quiz::draw(seed, &scored, usize::try_from(round.winners).unwrap_or(1))
    });
    let questions = quiz::round_questions(&round);
    let csrf = session.csrf(&state);
    let action = |name: &str, label: &str| {
        html! {
            form method="post" action=(format!("{path}/{name}")) style="display:inline" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { (label) } " "
            }
        }
    };
    let body = html! {
        h1 { (round.title) }
        p { "Trạng thái: " strong { (status(&round, now)) } " · Mở " (vn_time(round.opens_at)) " · Đóng " (vn_time(round.closes_at)) " (giờ Việt Nam) · " (round.winners) " người thắng" }
        p { "Xã, phường: "
            @if scope.is_empty() { "mọi xã, phường" }
            @else { (scope.iter().map(|c| format!("{} ({c})", names.get(*c).cloned().unwrap_or_default())).collect::<Vec<_>>().join(", ")) } }
        p { "Trang dự thi: " a href=(format!("/quiz/{}", round.id)) { "/quiz/" (round.id) }
            " · Trong Telegram và Zalo: nút «🏆 Dự thi tìm hiểu PAPI» trong menu của người dân các xã, phường trên, khi vòng thi mở." }
        @if let Some(campaign) = round.campaign_id {
            p { "Đợt gửi tin thông báo: " a href=(format!("/console/campaigns/{campaign}")) { "xem, duyệt" } }
        }
        h2 { "Bốc thăm có thể kiểm chứng" }
        p { "SHA-256(seed) = " code { (round.seed_hash) } " (công bố từ khi tạo vòng thi)" }
        @match (seed, &winners) {
            (Some(seed), Some(winners)) => {
                p { "seed = " code { (seed) } }
                p { "Người thắng (mã bài dự thi): " @for w in winners { code { (w) } " " } }
            }
            _ => p.muted { "Hạt giống được công bố khi vòng thi đóng; khi đó bốc thăm được." },
        }
        h2 { "Kết quả theo xã, phường" }
        p { "Bài dự thi đã hoàn thành: " (entries.len())
            @for channel in ["web", "telegram", "zalo"] { " · " (channel) ": " (by_channel.get(channel).copied().unwrap_or(0)) } }
        table {
            thead { tr { th { "Xã, phường" } th { "Bài dự thi" } th { "Điểm trung bình" } } }
            tbody { @for (code, n, mean) in &by_commune { tr {
                td { (names.get(code).cloned().unwrap_or_else(|| code.clone())) " (" (code) ")" } td { (n) } td { (format!("{mean:.2}")) } } } }
        }
        p { a href=(format!("/quiz/{}/entries.csv", round.id)) { "Tải các bài dự thi (không có danh tính), CSV" }
            " · " a href=(format!("/quiz/{}/results", round.id)) { "Trang kết quả công khai" } }
        h2 { "Thao tác" }
        p {
            @if now < round.closes_at { (action("close", "Đóng vòng thi ngay")) }
            @else { (action("draw", "Bốc thăm và ghi vào nhật ký")) }
        }
        h2 { "Câu hỏi" }
        ol { @for q in &questions { li { (q.text) " " span.muted { "(" (q.source) ")" } } } }
        p { a href=(HOME) { "← Các vòng thi" } }
    };
    Ok(Html(page(&round.title, Some((&session.official, &csrf)), body).into_string()).into_response())
}

/// `POST /console/quizzes/{id}/{close|draw}`.
async fn post_action(
    State(state): State<AppState>,
    session: SignedIn,
    Path((id, action)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    session.check_csrf(&state, csrf)?;
    let id = PageError::path_id(&id, LANG, HOME, NO_SUCH)?;
    let path = format!("{HOME}/{id}");
    let now = Utc::now();
    let official = &session.official;
    match action.as_str() {
        "close" => rounds::close(&state.store, official, id, now)
            .await
            .on_page(LANG, &path)?,
        "draw" => drop(
            rounds::draw(&state.store, official, id, now)
                .await
                .on_page(LANG, &path)?,
        ),
        _ => return Err(PageError::no_such(LANG, HOME, NO_SUCH)),
    }
    Ok(redirect(&path))
}
