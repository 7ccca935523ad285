//! Citizens' pages of issue 18: a commune's news (`/news/{commune}`) with its Atom feed, and the PAPI quiz on a
//! phone (`/quiz/{round}`): one question per page, the explanation after each answer, one entry per device per
//! round (a keyed hash of the device, as for surveys), and the round's results, committed seed and draw
//! (`/quiz/{round}/results`) with its entries without identity (`/quiz/{round}/entries.csv`).
//!
//! The Atom feed is written with maud, which escapes XML as HTML needs: its few elements did not justify another
//! XML library (the `atom_syndication` crate would bring a second version of `quick-xml` into the build).

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use maud::{PreEscaped, html};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::device::{Device, csrf_ok, csrf_token, forbidden};
use super::error::{OnPage, PageError};
use super::pages::layout;
use crate::domain::Lang;
use crate::domain::calendar::vn_day;
use crate::services::reach::campaigns::vn_time;
use crate::services::reach::quiz::{self, QuizStep, Verdict};
use crate::services::units;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/news/{commune}", get(show_news))
        .route("/news/{commune}/atom.xml", get(show_feed))
        .route("/quiz/{round}", get(show_quiz).post(post_answer))
        .route("/quiz/{round}/results", get(show_results))
        .route("/quiz/{round}/entries.csv", get(download_entries))
}

#[derive(Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

fn not_found(lang: Lang, path: &str) -> PageError {
    PageError::message(
        lang,
        path,
        StatusCode::NOT_FOUND,
        lang.t("Không tìm thấy", "Not found"),
        lang.t("Đường dẫn này không dẫn tới trang nào.", "This address leads nowhere."),
    )
}

/// `GET /news/{commune}`.
async fn show_news(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let path = format!("/news/{code}");
    let commune = units::commune_on(&state.store, &code, vn_day(Utc::now()))
        .await
        .on_page(lang, &path)?;
    let news = state
        .store
        .commune_news(&commune.code, Utc::now(), 50)
        .await
        .on_page(lang, &path)?;
    let body = html! {
        h1 { (lang.t("Tin của ", "News of ")) (commune.name) }
        p { a href=(format!("/news/{}/atom.xml", commune.code)) { (lang.t("Theo dõi bằng Atom (RSS)", "Follow with Atom (RSS)")) } }
        p.muted { (lang.t(
            "Nhận tin qua Zalo hoặc Telegram: quét mã QR trên áp phích của xã, phường. Gõ «dừng nhận tin» để thôi.",
            "Get the news on Zalo or Telegram: scan the QR code on your commune's poster. Type «stop news» to stop.")) }
        @if news.is_empty() { p { (lang.t("Chưa có tin nào.", "No news yet.")) } }
        @for n in &news {
            article {
                h2 { (n.title) }
                p.muted { (vn_time(n.scheduled_at)) }
                @let text = match (lang, &n.text_en) { (Lang::En, Some(en)) => en, _ => &n.text_vi };
                p style="white-space:pre-wrap" { (text) }
                @if let Some(link) = &n.link { p { a href=(link) rel="noopener" { (link) } } }
            }
        }
    };
    Ok(Html(layout(lang, &path, &commune.name, body).into_string()).into_response())
}

/// `GET /news/{commune}/atom.xml`: the same news as an Atom 1.0 feed (RFC 4287).
async fn show_feed(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, PageError> {
    let path = format!("/news/{code}");
    let commune = units::commune_on(&state.store, &code, vn_day(Utc::now()))
        .await
        .on_page(Lang::Vi, &path)?;
    let news = state
        .store
        .commune_news(&commune.code, Utc::now(), 50)
        .await
        .on_page(Lang::Vi, &path)?;
    let base = state.config.public_url.clone().unwrap_or_default();
    let base = base.trim_end_matches('/');
    let updated = news.first().map_or(commune_epoch(), |n| n.scheduled_at);
    let feed = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { "Tin của " (commune.name) }
            id { "urn:ykien:news:" (commune.code) }
            link rel="self" href=(format!("{base}/news/{}/atom.xml", commune.code)) {}
            link rel="alternate" href=(format!("{base}/news/{}", commune.code)) {}
            updated { (updated.to_rfc3339()) }
            author { name { (commune.name) } }
            @for n in &news {
                entry {
                    title { (n.title) }
                    id { "urn:uuid:" (n.id) }
                    updated { (n.scheduled_at.to_rfc3339()) }
                    @if let Some(link) = &n.link { link rel="related" href=(link) {} }
                    content type="text" { (n.text_vi) }
                }
            }
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.into_string(),
    )
        .into_response())
}

fn commune_epoch() -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(0, 0).unwrap_or_default()
}

#[derive(Deserialize, Default)]
struct QuizQuery {
    lang: Option<String>,
    commune: Option<String>,
}

#[derive(Deserialize)]
struct AnswerForm {
    csrf: String,
    commune: String,
    index: usize,
    choice: Option<usize>,
}

fn parse_round(text: &str, lang: Lang) -> Result<Uuid, PageError> {
    text.parse().map_err(|_| not_found(lang, "/quiz"))
}

async fn round_of(state: &AppState, id: &str, lang: Lang) -> Result<crate::storage::QuizRoundRow, PageError> {
    let id = parse_round(id, lang)?;
    state
        .store
        .quiz_round(id)
        .await
        .on_page(lang, "/quiz")?
        .ok_or_else(|| not_found(lang, "/quiz"))
}

fn verdict_block(lang: Lang, v: &Verdict, choices: &[String]) -> maud::Markup {
    html! {
        div role="status" {
            p { strong { @if v.right { (lang.t("✅ Đúng!", "✅ Right!")) } @else { (lang.t("❌ Chưa đúng.", "❌ Not quite.")) } } }
            @if !v.right { p { (lang.t("Đáp án đúng: ", "The right answer: ")) (choices.get(v.correct - 1).cloned().unwrap_or_default()) } }
            p { (v.explanation) }
            p.muted { (lang.t("Nguồn: ", "Source: ")) (v.source) }
        }
    }
}

/// The quiz page after a step: a question, or the end.
async fn quiz_page(
    state: &AppState,
    round: &crate::storage::QuizRoundRow,
    device: &Device,
    lang: Lang,
    commune: &str,
    answer: Option<(usize, usize)>,
) -> Result<Response, PageError> {
    let path = format!("/quiz/{}", round.id);
    let identity = quiz::identity_hash(&state.surveys, "web", &device.token);
    let step = quiz::step(&state.store, round, &identity, "web", commune, answer, Utc::now())
        .await
        .on_page(lang, &path)?;
    let questions = quiz::round_questions(round);
    let previous = answer.and_then(|(i, _)| questions.get(i));
    let csrf = csrf_token(state, &device.token);
    let body = html! {
        h1 { (round.title) }
        @match &step {
            QuizStep::Closed => p role="alert" { (lang.t("Vòng thi không mở vào lúc này.", "This round is not open now.")) " "
                (lang.t("Mở từ ", "It runs from ")) (vn_time(round.opens_at)) (lang.t(" đến ", " to ")) (vn_time(round.closes_at))
                (lang.t(" (giờ Việt Nam).", " (Vietnam time).")) },
            QuizStep::NotHere => p role="alert" { (lang.t(
                "Vòng thi này không dành cho xã, phường của anh/chị.",
                "This round is not for your commune.")) },
            QuizStep::AlreadyEntered { score, of } => {
                p role="alert" { (lang.t(
                    "Anh/chị đã tham gia vòng thi này rồi; mỗi người chỉ dự thi một lần.",
                    "You already took part in this round; one entry per person.")) }
                p { (lang.t("Kết quả của anh/chị: ", "Your score: ")) (score) "/" (of) }
            }
            QuizStep::Done { score, of, last } => {
                @if let (Some(v), Some(q)) = (last, previous) { (verdict_block(lang, v, &q.choices)) }
                p { strong { (lang.t("Hoàn thành! Điểm của anh/chị: ", "Done! Your score: ")) (score) "/" (of) } }
                p { a href=(format!("{path}/results")) { (lang.t("Kết quả và bốc thăm", "Results and draw")) } }
            }
            QuizStep::Ask { index, last } => {
                @if let (Some(v), Some(q)) = (last, previous) { (verdict_block(lang, v, &q.choices)) }
                @if let Some(q) = questions.get(*index) {
                    form method="post" action=(path) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="commune" value=(commune);
                        input type="hidden" name="index" value=(index);
                        fieldset {
                            legend { (lang.t("Câu ", "Question ")) (index + 1) "/" (questions.len()) ": "
                                (match (lang, &q.text_en) { (Lang::En, Some(en)) => en.as_str(), _ => q.text.as_str() }) }
                            @for (i, c) in q.choices.iter().enumerate() {
                                p { label { input type="radio" name="choice" value=(i + 1) required; " " (c) } }
                            }
                        }
                        button type="submit" { (lang.t("Trả lời", "Answer")) }
                    }
                }
            }
        }
    };
    let page = layout(lang, &path, &round.title, body).into_string();
    Ok(device.remembered(state, Html(page).into_response()))
}

/// `GET /quiz/{round}?commune=…`.
async fn show_quiz(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<QuizQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let round = round_of(&state, &id, lang).await?;
    let device = Device::of(&state, &headers);
    let Some(commune) = q.commune.filter(|c| !c.is_empty()) else {
        let body = html! {
            h1 { (round.title) }
            p { (lang.t("Mã băm của hạt giống bốc thăm (công bố khi mở vòng thi): ", "Hash of the draw's seed (published when the round opens): ")) code { (round.seed_hash) } }
            form method="get" action=(format!("/quiz/{}", round.id)) {
                label { (lang.t("Mã xã, phường của anh/chị (5 chữ số) ", "Your commune's code (5 digits) ")) input type="text" name="commune" inputmode="numeric" required; }
                " " button type="submit" { (lang.t("Bắt đầu", "Start")) }
            }
        };
        return Ok(
            Html(layout(lang, &format!("/quiz/{}", round.id), &round.title, body).into_string()).into_response(),
        );
    };
    let commune = units::commune_on(&state.store, &commune, vn_day(Utc::now()))
        .await
        .on_page(lang, &format!("/quiz/{}", round.id))?;
    quiz_page(&state, &round, &device, lang, &commune.code, None).await
}

/// `POST /quiz/{round}`: one answer.
async fn post_answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let round = round_of(&state, &id, lang).await?;
    let device = Device::of(&state, &headers);
    let path = format!("/quiz/{}", round.id);
    if !csrf_ok(&state, &device.token, Some(&form.csrf)) {
        return Ok(forbidden(lang, &path));
    }
    let commune = units::commune_on(&state.store, &form.commune, vn_day(Utc::now()))
        .await
        .on_page(lang, &path)?;
    let answer = form.choice.map(|c| (form.index, c));
    quiz_page(&state, &round, &device, lang, &commune.code, answer).await
}

/// `GET /quiz/{round}/results`: by commune, the committed seed, and the draw once closed.
async fn show_results(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let round = round_of(&state, &id, lang).await?;
    let path = format!("/quiz/{}/results", round.id);
    let entries = state.store.quiz_entries(round.id).await.on_page(lang, &path)?;
    let by_commune = quiz::results_by_commune(&entries);
    let now = Utc::now();
    let seed = quiz::revealed_seed(&round, now);
    let winners = seed.map(|seed| {
        let scored: Vec<(Uuid, i64)> = entries.iter().map(|e| (e.entry_id, e.score)).collect();
        quiz::draw(seed, &scored, usize::try_from(round.winners).unwrap_or(1))
    });
    let day = vn_day(now);
    let mut names = Vec::new();
    for (code, ..) in &by_commune {
        names.push(
            units::commune_on(&state.store, code, day)
                .await
                .map(|u| u.name)
                .unwrap_or_else(|_| code.clone()),
        );
    }
    let body = html! {
        h1 { (round.title) }
        p { (lang.t("Mở: ", "Opens: ")) (vn_time(round.opens_at)) " · " (lang.t("Đóng: ", "Closes: ")) (vn_time(round.closes_at)) }
        table {
            thead { tr { th { (lang.t("Xã, phường", "Commune")) } th { (lang.t("Bài dự thi", "Entries")) } th { (lang.t("Điểm trung bình", "Mean score")) } } }
            tbody { @for ((code, n, mean), name) in by_commune.iter().zip(&names) { tr { td { (name) " (" (code) ")" } td { (n) } td { (format!("{mean:.2}")) } } } }
        }
        h2 { (lang.t("Bốc thăm có thể kiểm chứng", "A draw anyone can check")) }
        p { "SHA-256(seed) = " code { (round.seed_hash) } }
        @match (seed, &winners) {
            (Some(seed), Some(winners)) => {
                p { "seed = " code { (seed) } }
                p { (lang.t("Người thắng (mã bài dự thi): ", "Winners (entry ids): ")) @for w in winners { code { (w) } " " } }
            }
            _ => p { (lang.t("Hạt giống được công bố khi vòng thi đóng.", "The seed is published when the round closes.")) },
        }
        p { (lang.t(
            "Cách kiểm tra: SHA-256 của seed phải bằng mã băm trên; trong các bài điểm cao nhất, tính SHA-256(seed + \":\" + mã bài), bài có giá trị nhỏ nhất thắng (xem docs/reach.md).",
            "To check: SHA-256 of the seed must equal the hash above; among the best-scoring entries, compute SHA-256(seed + \":\" + entry id); the smallest win (see docs/reach.md).")) }
        p { a href=(format!("/quiz/{}/entries.csv", round.id)) { (lang.t("Tải các bài dự thi (không có danh tính), CSV", "Download the entries (no identity), CSV")) } }
    };
    Ok(Html(layout(lang, &path, &round.title, body).into_string()).into_response())
}

/// `GET /quiz/{round}/entries.csv`.
async fn download_entries(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let round = round_of(&state, &id, Lang::Vi).await?;
    let entries = state.store.quiz_entries(round.id).await.on_page(Lang::Vi, "/quiz")?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quiz-{}.csv\"", round.id),
            ),
        ],
        quiz::entries_csv(&entries),
    )
        .into_response())
}
