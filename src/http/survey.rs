//! The web survey: `/s/{commune}` on a citizen's phone. Server-rendered, works without JavaScript; every
//! form post answers with a redirect (or the same page with its errors and what was typed), so a reload or a
//! double tap never stores anything twice.
//!
//! The device is identified by its cookie and every form carries its CSRF token (see `http::device`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use ykien_bots::message::Channel;

use super::AppState;
use super::device::{Device, csrf_ok, csrf_token, device_of, forbidden};
use super::error::{OnPage, PageError};
use super::limits::ClientAddress;
use super::pages::{PageQuery, error_page, layout, with_lang};
use super::render::redirect;
use crate::conversation::{Ask, Input, Mode};
use crate::domain::Lang;
use crate::domain::questionnaire::{DONT_KNOW, QuestionKind, REFUSED};
use crate::services::survey::{Identity, SurveyContext, Turn};
use crate::services::villages;

/// The web survey's routes.
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/s/{commune}", get(show_survey_landing))
        .route("/s/{commune}/start", post(start_survey))
        .route("/s/{commune}/q", get(show_survey_screen).post(submit_survey_screen))
        .route("/s/{commune}/thanks", get(show_survey_thanks))
}

/// `?thon=CODE` on a survey link or poster: the village or residential group the respondent comes from.
#[derive(Debug, Default, serde::Deserialize)]
pub struct VillageQuery {
    pub thon: Option<String>,
}

fn base(commune: &str) -> String {
    format!("/s/{commune}")
}

async fn context(state: &AppState, commune: &str, lang: Lang) -> Result<SurveyContext, PageError> {
    state
        .surveys
        .survey_for_commune(commune.trim(), Utc::now())
        .await
        .on_page(lang, &base(commune))
}

/// `GET /s/{commune}`: what the survey is for, that it is anonymous, and a button to start or continue.
pub async fn show_survey_landing(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    Query(q): Query<PageQuery>,
    Query(from): Query<VillageQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let ctx = context(&state, &commune, lang).await?;
    let typed_village = from.thon.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let village = match typed_village {
        Some(code) => villages::village_in(&state.store, &ctx, code)
            .await
            .on_page(lang, &base(&commune))?,
        None => None,
    };
    let browser = Device::of(&state, &headers);
    let device = &browser.token;
    let identity = Identity {
        channel: Channel::Web,
        id: device.clone(),
    };
    let path = base(&commune);
    let responded = state
        .surveys
        .has_responded(&ctx, &identity)
        .await
        .on_page(lang, &path)?;
    let in_progress = state.surveys.has_session(&ctx, &identity).await.on_page(lang, &path)?;
    let q = &ctx.questionnaire;
    let body = html! {
        p.muted { (ctx.wave.title) }
        h1 { (lang.t("Khảo sát ý kiến người dân", "Citizens' survey")) " – " (ctx.commune.name) }
        p { strong { (lang.t("Ẩn danh: ", "Anonymous: ")) }
            (lang.t("câu trả lời không gắn với tên, số điện thoại hay tài khoản của anh/chị. Có thể dừng và tiếp tục sau trên cùng thiết bị.",
                    "your answers are not linked to your name, phone number or any account. You can stop and continue later on the same device.")) }
        @if let Some(note) = ctx.split_note(lang) { @if !responded { p { (note) } } }
        @if responded {
            p { strong { (lang.t("Anh/chị đã trả lời đợt khảo sát này. Xin cảm ơn!", "You have already answered this survey wave. Thank you!")) } }
        } @else {
            @if let Some(v) = &village {
                p { (lang.t("Thôn, tổ dân phố: ", "Village or residential group: ")) strong { (v.name) } }
            } @else if let Some(code) = typed_village {
                p.err { (lang.t("Không tìm thấy thôn, tổ dân phố có mã “", "No village or residential group has the code “")) (code)
                    (lang.t("” ở ", "” in ")) (ctx.commune.name)
                    (lang.t(". Anh/chị vẫn trả lời được; câu trả lời được tính cho xã, phường, không kèm thôn.",
                            ". You can still answer; your answers count for the commune or ward, without a village.")) }
            }
            form method="post" action=(format!("{path}/start")) {
                input type="hidden" name="csrf" value=(csrf_token(&state, device));
                input type="hidden" name="lang" value=(lang.code());
                @if let Some(v) = &village { input type="hidden" name="thon" value=(v.code); }
                div.actions { button type="submit" {
                    @if in_progress { (lang.t("Tiếp tục khảo sát", "Continue the survey")) } @else { (lang.t("Bắt đầu", "Start")) }
                } }
            }
        }
        details { summary { (lang.t("Vì sao có khảo sát này?", "Why this survey?")) } p { (q.intro.get(lang)) }
            p.muted { (lang.t("Hệ thống chỉ giữ một mã băm của thiết bị để mỗi người trả lời một lần; mã này không gắn với câu trả lời sau khi anh/chị hoàn thành.",
                              "The service keeps only a hashed device code so that each person answers once; it is no longer linked to the answers once you finish.")) } }
    };
    let title = format!("{} – {}", lang.t("Khảo sát", "Survey"), ctx.commune.name);
    Ok(browser.remembered(
        &state,
        Html(layout(lang, &path, &title, body).into_string()).into_response(),
    ))
}

/// What every survey form post starts with: its fields, its language, a device whose CSRF token matches, and
/// the commune's open survey; or the page that says why not.
struct CheckedPost<'f> {
    fields: HashMap<&'f str, &'f str>,
    lang: Lang,
    path: String,
    identity: Identity,
    ctx: SurveyContext,
}

async fn check_post<'f>(
    state: &AppState,
    commune: &str,
    headers: &HeaderMap,
    form: &'f [(String, String)],
) -> Result<CheckedPost<'f>, PageError> {
    let fields: HashMap<&str, &str> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lang = Lang::from_code(fields.get("lang").copied());
    let path = base(commune);
    let Some(device) = device_of(state, headers).filter(|d| csrf_ok(state, d, fields.get("csrf").copied())) else {
        return Err(forbidden(lang, &path).into());
    };
    let ctx = context(state, commune, lang).await?;
    Ok(CheckedPost {
        fields,
        lang,
        path,
        identity: Identity {
            channel: Channel::Web,
            id: device,
        },
        ctx,
    })
}

/// `POST /s/{commune}/start`: begins (or resumes) the survey and goes to the current screen. A new survey is not
/// begun from an address that already completed `YKIEN_RESPONSES_PER_ADDRESS` responses of this wave and commune.
pub async fn start_survey(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let post = check_post(&state, &commune, &headers, &form).await?;
    let (lang, path) = (post.lang, &post.path);
    let resuming = state
        .surveys
        .has_session(&post.ctx, &post.identity)
        .await
        .on_page(lang, path)?;
    if !resuming {
        let completed = state
            .surveys
            .responses_from_address(&post.ctx, &address)
            .await
            .on_page(lang, path)?;
        if completed >= state.config.responses_per_address {
            tracing::warn!(%address, commune = %commune, completed, "survey start refused: responses per address reached");
            return Err(PageError::message(
                lang,
                path,
                StatusCode::TOO_MANY_REQUESTS,
                lang.t("Đã đủ số phiếu từ địa chỉ mạng này", "Enough responses from this network address"),
                lang.t(
                    "Đợt khảo sát này đã nhận nhiều phiếu trả lời của xã, phường này từ cùng một địa chỉ mạng. Để mỗi người chỉ trả lời một lần, xin trả lời từ mạng di động hoặc mạng khác của anh/chị, hoặc qua Zalo hay Telegram.",
                    "This wave has received many responses for this commune from the same network address. So that each person answers once, please answer from your own mobile data or another network, or through Zalo or Telegram.",
                ),
            ));
        }
    }
    let turn = state
        .surveys
        .answer(
            &post.ctx,
            &post.identity,
            Some(&address),
            (Mode::Web, lang),
            Input::Show,
        )
        .await
        .on_page(lang, path)?;
    // The village of the link, once the response exists; an unknown code was already pointed out on the landing
    // page and is not kept.
    if !matches!(turn, Turn::AlreadyResponded)
        && let Some(code) = post.fields.get("thon")
        && let Some(village) = villages::village_in(&state.store, &post.ctx, code)
            .await
            .on_page(lang, path)?
    {
        villages::record_village(&state.store, &state.surveys, &post.ctx, &post.identity, &village)
            .await
            .on_page(lang, path)?;
    }
    Ok(match turn {
        Turn::AlreadyResponded => redirect(&with_lang(path, lang)),
        _ => redirect(&with_lang(&format!("{path}/q"), lang)),
    })
}

/// `GET /s/{commune}/q`: the current screen of questions.
pub async fn show_survey_screen(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_code(q.lang.as_deref());
    let path = base(&commune);
    let Some(device) = device_of(&state, &headers) else {
        return Ok(redirect(&with_lang(&path, lang)));
    };
    let ctx = context(&state, &commune, lang).await?;
    let identity = Identity {
        channel: Channel::Web,
        id: device.clone(),
    };
    if !state.surveys.has_session(&ctx, &identity).await.on_page(lang, &path)? {
        return Ok(redirect(&with_lang(&path, lang)));
    }
    let turn = state
        .surveys
        .answer(&ctx, &identity, None, (Mode::Web, lang), Input::Show)
        .await;
    Ok(render_turn(&state, &ctx, &commune, &device, lang, turn))
}

/// `POST /s/{commune}/q`: the answers of one screen, or "back".
pub async fn submit_survey_screen(
    State(state): State<AppState>,
    Path(commune): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let post = check_post(&state, &commune, &headers, &form).await?;
    let (fields, lang, path, ctx) = (&post.fields, post.lang, post.path.as_str(), &post.ctx);
    let input = if fields.get("action") == Some(&"back") {
        Input::Back
    } else {
        let Some(screen) = fields.get("screen").and_then(|s| s.parse().ok()) else {
            return Ok(redirect(&with_lang(&format!("{path}/q"), lang)));
        };
        // `a_CODE` carries the answer; `x_CODE` (don't know / refused beside a number or text box) wins when set.
        let mut answers: Vec<(String, String)> = Vec::new();
        for (name, value) in &form {
            if let Some(code) = name.strip_prefix("a_") {
                let special = fields
                    .get(format!("x_{code}").as_str())
                    .copied()
                    .filter(|x| *x == DONT_KNOW || *x == REFUSED);
                answers.push((code.to_owned(), special.unwrap_or(value).to_owned()));
            } else if let Some(code) = name.strip_prefix("x_")
                && !fields.contains_key(format!("a_{code}").as_str())
            {
                answers.push((code.to_owned(), value.clone()));
            }
        }
        Input::Submit { screen, answers }
    };
    let turn = state
        .surveys
        .answer(ctx, &post.identity, Some(&address), (Mode::Web, lang), input)
        .await;
    Ok(match turn {
        // Errors are shown on the same page with what was typed; everything else moves by redirect.
        Ok(Turn::Ask { ref ask, .. }) if !ask.errors.is_empty() => {
            render_turn(&state, ctx, &commune, &post.identity.id, lang, turn)
        }
        Ok(Turn::Done) => redirect(&with_lang(&format!("{path}/thanks"), lang)),
        Ok(Turn::AlreadyResponded) => redirect(&with_lang(path, lang)),
        Ok(Turn::Ask { .. }) => redirect(&with_lang(&format!("{path}/q"), lang)),
        Err(e) => return Err(PageError::new(lang, path, e)),
    })
}

/// `GET /s/{commune}/thanks`.
pub async fn show_survey_thanks(Path(commune): Path<String>, Query(q): Query<PageQuery>) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let path = format!("{}/thanks", base(&commune));
    let body = html! {
        h1 { (lang.t("Xin cảm ơn!", "Thank you!")) }
        p { (lang.t("Câu trả lời của anh/chị đã được ghi nhận. Ý kiến của anh/chị giúp chính quyền xã, phường phục vụ người dân tốt hơn.",
                    "Your answers have been recorded. Your views help the commune serve its citizens better.")) }
        p { a href=(with_lang("/", lang)) { (lang.t("Về trang chủ", "Go to the home page")) } }
    };
    Html(layout(lang, &path, lang.t("Xin cảm ơn", "Thank you"), body).into_string()).into_response()
}

fn render_turn(
    state: &AppState,
    ctx: &SurveyContext,
    commune: &str,
    device: &str,
    lang: Lang,
    turn: Result<Turn, crate::services::Error>,
) -> Response {
    let path = base(commune);
    match turn {
        Ok(Turn::Ask { ask, .. }) => {
            let status = if ask.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let title = ctx
                .questionnaire
                .pages
                .get(ask.page)
                .map(|p| p.title.get(lang).to_owned())
                .unwrap_or_default();
            let body = screen_form(state, ctx, commune, device, lang, &ask);
            (
                status,
                Html(layout(lang, &format!("{path}/q"), &title, body).into_string()),
            )
                .into_response()
        }
        Ok(Turn::Done) => redirect(&with_lang(&format!("{path}/thanks"), lang)),
        Ok(Turn::AlreadyResponded) => redirect(&with_lang(&path, lang)),
        Err(e) => error_page(lang, &path, e),
    }
}

fn screen_form(state: &AppState, ctx: &SurveyContext, commune: &str, device: &str, lang: Lang, ask: &Ask) -> Markup {
    let q = &ctx.questionnaire;
    let page = q.pages.get(ask.page);
    let errors: HashMap<&str, &str> = ask
        .errors
        .iter()
        .map(|(code, t)| (code.as_str(), t.get(lang)))
        .collect();
    html! {
        p.muted { (ctx.commune.name) " · " (lang.t("đã xong", "done")) " " (ask.progress_percent) "%" }
        progress value=(ask.progress_percent) max="100" { (ask.progress_percent) "%" }
        @if let Some(page) = page { h1 { (page.title.get(lang)) } }
        @if !ask.errors.is_empty() {
            div.summary role="alert" {
                p.err { (lang.t("Xin xem lại các câu sau:", "Please check these questions:")) }
                ul { @for (code, text) in &ask.errors {
                    li { a href=(format!("#q-{code}")) {
                        (q.question(code).map(|x| x.prompt(lang)).unwrap_or_default()) } " – " (text.get(lang)) }
                } }
            }
        }
        form method="post" action=(format!("{}/q", base(commune))) {
            input type="hidden" name="csrf" value=(csrf_token(state, device));
            input type="hidden" name="lang" value=(lang.code());
            input type="hidden" name="screen" value=(ask.screen);
            @for &i in &ask.questions {
                @let question = &q.questions[i];
                @let code = question.code.as_str();
                @let value = ask.values.get(code).map(String::as_str).unwrap_or("");
                fieldset.q id=(format!("q-{code}")) aria-invalid=[errors.contains_key(code).then_some("true")] {
                    legend { (question.prompt(lang)) }
                    @if let Some(help) = &question.help { p.help { (help.get(lang)) } }
                    @if let Some(err) = errors.get(code) { p.err { (err) } }
                    @match &question.kind {
                        QuestionKind::Number { min, max, .. } => {
                            @let typed = if value == DONT_KNOW || value == REFUSED { "" } else { value };
                            input type="number" inputmode="numeric" name=(format!("a_{code}")) min=(min) max=(max) value=(typed)
                                aria-label=(question.prompt(lang));
                            (special_choices(question.offers_special_codes(), code, value, lang))
                        }
                        QuestionKind::Text { max_len } => {
                            @let typed = if value == DONT_KNOW || value == REFUSED { "" } else { value };
                            textarea name=(format!("a_{code}")) maxlength=(max_len) rows="3" aria-label=(question.prompt(lang)) { (typed) }
                            (special_choices(question.offers_special_codes(), code, value, lang))
                        }
                        _ => {
                            @for option in question.options() {
                                label.opt {
                                    input type="radio" name=(format!("a_{code}")) value=(option.code) checked[value == option.code];
                                    span { (option.label.get(lang)) }
                                }
                            }
                        }
                    }
                }
            }
            div.actions {
                button type="submit" name="action" value="next" { (lang.t("Tiếp tục", "Next")) }
                @if ask.can_go_back {
                    button.secondary type="submit" name="action" value="back" formnovalidate { (lang.t("Quay lại", "Back")) }
                }
            }
        }
    }
}

/// "Answer in the box above" / "Don't know" / "Refused" beside a number or text box.
fn special_choices(offered: bool, code: &str, value: &str, lang: Lang) -> Markup {
    html! {
        @if offered {
            div.special {
                label.opt { input type="radio" name=(format!("x_{code}")) value="" checked[value != DONT_KNOW && value != REFUSED]; span { (lang.t("Trả lời ở ô trên", "Answer in the box above")) } }
                label.opt { input type="radio" name=(format!("x_{code}")) value=(DONT_KNOW) checked[value == DONT_KNOW]; span { (lang.t("Không biết", "Don't know")) } }
                label.opt { input type="radio" name=(format!("x_{code}")) value=(REFUSED) checked[value == REFUSED]; span { (lang.t("Không trả lời", "Prefer not to answer")) } }
            }
        }
    }
}
