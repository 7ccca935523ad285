//! The survey in a chat, one question per message: the survey session is the only survey state (the chat's dialogue
//! only records that it is in a survey), read once per turn with its answers; the step decided by
//! [`Surveys::advance`](crate::services::survey::Surveys::advance) is stored with the chat's state.

use std::sync::Arc;

use ykien_bots::message::Outbound;

use super::payloads::{Payload, button};
use super::{Chats, Conversation, Dialog, Goal, SurveyMark};
use crate::conversation::{Ask, Input, Mode};
use crate::domain::Lang;
use crate::domain::questionnaire::{Question, QuestionKind};
use crate::services::Error;
use crate::services::survey::{Progress, SurveyContext, Turn};

/// The open survey of the person's commune and where they are in it, read at most once per turn.
pub(super) struct OpenSurvey {
    pub(super) ctx: SurveyContext,
    pub(super) progress: Progress,
}

/// What the question the person is at asks them to type, when it is not a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Typing {
    Number,
    Text { max_len: usize },
}

/// What the person did in the survey.
pub(super) enum SurveyMove {
    Show,
    Back,
    /// An answer to the question of `screen` (a button), or of the screen they are at (typed).
    Answer {
        screen: Option<usize>,
        raw: String,
    },
}
impl Chats {
    /// The open survey of the person's commune and their progress in it, read once per turn (again only if the
    /// commune changed meanwhile). `NoOpenWave` when none is open.
    async fn open_survey(&self, c: &mut Conversation<'_>, commune: &str) -> Result<Arc<OpenSurvey>, Error> {
        if let Some(open) = c.survey.as_ref().filter(|s| s.ctx.commune.code == commune) {
            return Ok(open.clone());
        }
        let (ctx, progress) = self.surveys.survey_with_progress(commune, &c.identity(), c.now).await?;
        let open = Arc::new(OpenSurvey { ctx, progress });
        c.survey = Some(open.clone());
        Ok(open)
    }

    /// Whether the survey question the person is at asks for a number or a text rather than a choice.
    pub(super) async fn survey_typing(&self, c: &mut Conversation<'_>) -> Result<Option<Typing>, Error> {
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(None);
        };
        let open = match self.open_survey(c, &commune).await {
            Ok(open) => open,
            Err(Error::NoOpenWave(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let engine = open.ctx.engine(Mode::Chat, &open.progress);
        Ok(open
            .progress
            .screen()
            .and_then(|screen| engine.first_question(screen))
            .and_then(|q| match q.kind {
                QuestionKind::Number { .. } => Some(Typing::Number),
                QuestionKind::Text { max_len } => Some(Typing::Text { max_len }),
                _ => None,
            }))
    }

    /// Whether the person has begun the open survey of `commune` and not finished it.
    pub(super) async fn survey_in_progress(&self, c: &mut Conversation<'_>, commune: &str) -> Result<bool, Error> {
        match self.open_survey(c, commune).await {
            Ok(open) => Ok(open.progress.screen().is_some()),
            Err(Error::NoOpenWave(_) | Error::UnitNotFound(_) | Error::NotACommune(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// "⏸ Tạm dừng": the answers so far are kept with the survey session; the menu says how to go on.
    pub(super) async fn pause_survey(&self, c: &mut Conversation<'_>) -> Result<Vec<Outbound>, Error> {
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            first.text = format!(
                "{}\n\n{}",
                c.t(
                    "⏸ Đã tạm dừng khảo sát. Các câu đã trả lời được giữ lại; bấm «Trả lời khảo sát» để làm tiếp \
                     từ câu đang dở.",
                    "⏸ The survey is paused. Your answers so far are kept; press “Answer the survey” to go on from \
                     where you left off.",
                ),
                first.text
            );
        }
        Ok(replies)
    }

    pub(super) async fn survey(&self, c: &mut Conversation<'_>, said: SurveyMove) -> Result<Vec<Outbound>, Error> {
        let Some(code) = c.row.commune_code.clone() else {
            return Ok(vec![self.ask_commune(c, Some(Goal::Survey), None)]);
        };
        let open = match self.open_survey(c, &code).await {
            Ok(open) => open,
            Err(Error::NoOpenWave(name)) => {
                let mut replies = self.menu(c, false).await?;
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}\n\n{}",
                        c.t(
                            &format!("Hiện {name} chưa có đợt khảo sát nào đang mở. Cảm ơn anh/chị đã quan tâm!"),
                            &format!("No survey is open in {name} now. Thank you for your interest!"),
                        ),
                        first.text
                    );
                }
                return Ok(replies);
            }
            Err(e) => return Err(e),
        };
        let ctx = &open.ctx;
        let at = open.progress.screen();
        if let SurveyMove::Answer {
            screen: Some(pressed), ..
        } = &said
            && at.is_some_and(|at| at != *pressed)
        {
            // A button of an earlier question (its keyboard is edited away on Telegram; Zalo's stay): nothing
            // changes, and the question being asked stays the one to answer.
            c.keep_choices = true;
            return Ok(vec![Outbound::text(c.t(
                "Câu này đã trả lời. Xin trả lời câu hỏi ở tin nhắn mới nhất.",
                "That question was already answered. Please answer the one in the latest message.",
            ))]);
        }
        // Someone who has not begun: the introduction (time needed, anonymity, "Không biết") comes first.
        let starting = matches!(said, SurveyMove::Show) && at.is_none();
        // The question an answer is for, and what was picked, to show it above the next question.
        let (input, chosen) = match said {
            SurveyMove::Show => (Input::Show, None),
            SurveyMove::Back => (Input::Back, None),
            SurveyMove::Answer { screen, raw } => {
                let engine = ctx.engine(Mode::Chat, &open.progress);
                match screen.or(at).and_then(|s| Some((s, engine.first_question(s)?))) {
                    Some((screen, question)) => {
                        let chosen = (Some(screen) == at)
                            .then(|| chosen_label(question, &raw, c.lang))
                            .flatten();
                        let answers = vec![(question.code.clone(), raw)];
                        (Input::Submit { screen, answers }, chosen)
                    }
                    None => (Input::Show, None),
                }
            }
        };
        let advanced = self.surveys.advance(ctx, &open.progress, Mode::Chat, c.lang, input)?;
        c.survey_step = advanced.write;
        match advanced.turn {
            Turn::Ask { ask, resumed, .. } => {
                c.state.dialog = Dialog::Survey {};
                c.state.survey_mark = Some(SurveyMark {
                    commune: code.clone(),
                    until: ctx.wave.closes_at,
                    percent: Some(ask.progress_percent),
                });
                let mut question = render_question(ctx, &ask, c.lang, chosen, resumed);
                if starting {
                    let mut intro = ctx.questionnaire.intro.get(c.lang).to_owned();
                    if let Some(note) = ctx.split_note(c.lang) {
                        intro.push_str("\n\n");
                        intro.push_str(&note);
                    }
                    question.text = format!("{intro}\n\n{}", question.text);
                }
                Ok(vec![question])
            }
            closed => {
                c.state.survey_mark = Some(SurveyMark {
                    commune: code.clone(),
                    until: ctx.wave.closes_at,
                    percent: None,
                });
                self.survey_closed(c, closed, chosen).await
            }
        }
    }

    /// The menu after the survey ended: completed now, or already before.
    pub(super) async fn survey_closed(
        &self,
        c: &mut Conversation<'_>,
        turn: Turn,
        chosen: Option<String>,
    ) -> Result<Vec<Outbound>, Error> {
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            let note = if matches!(turn, Turn::Done) {
                c.t(
                    "✅ Cảm ơn anh/chị đã hoàn thành khảo sát! Câu trả lời được lưu ẩn danh, không gắn với \
                     tài khoản của anh/chị.",
                    "✅ Thank you for completing the survey! Your answers are stored anonymously, not linked \
                     to your account.",
                )
            } else {
                c.t(
                    "Anh/chị đã trả lời khảo sát đợt này rồi. Cảm ơn anh/chị!",
                    "You have already answered this survey round. Thank you!",
                )
            };
            first.text = format!(
                "{}{note}\n\n{}",
                chosen.map(|l| format!("✓ {l}\n\n")).unwrap_or_default(),
                first.text
            );
        }
        Ok(replies)
    }
}

/// The label of the option `raw` of `question`, or the typed value itself.
fn chosen_label(question: &Question, raw: &str, lang: Lang) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    question
        .options()
        .into_iter()
        .find(|o| o.code.eq_ignore_ascii_case(raw))
        .map(|o| o.label.get(lang).to_owned())
        .or_else(|| question.parse_answer(raw).ok().map(|_| raw.to_owned()))
}

/// One question as a chat message: progress, the question, what to do, errors, the options as buttons.
fn render_question(ctx: &SurveyContext, ask: &Ask, lang: Lang, chosen: Option<String>, resumed: bool) -> Outbound {
    let q = &ctx.questionnaire;
    let mut text = String::new();
    if let Some(label) = chosen {
        text.push_str(&format!("✓ {label}\n\n"));
    }
    if resumed {
        text.push_str(lang.t(
            "Tiếp tục phần khảo sát còn dở.\n\n",
            "Picking up where you left off.\n\n",
        ));
    }
    let page = q.pages.get(ask.page).map(|p| p.title.get(lang)).unwrap_or_default();
    text.push_str(&format!("[{}% · {page}]\n", ask.progress_percent));
    let mut buttons = Vec::new();
    if let Some(&i) = ask.questions.first() {
        let question = &q.questions[i];
        text.push_str(&question.prompt(lang));
        if let Some(help) = &question.help {
            text.push_str(&format!("\n({})", help.get(lang)));
        }
        match &question.kind {
            QuestionKind::Number { min, max, .. } => text.push_str(&format!(
                "\n\n{}",
                lang.t(
                    &format!("Gõ một số từ {min} đến {max}."),
                    &format!("Type a number from {min} to {max}.")
                )
            )),
            QuestionKind::Text { max_len } => text.push_str(&format!(
                "\n\n{}",
                lang.t(
                    &format!("Gõ câu trả lời (tối đa {max_len} ký tự)."),
                    &format!("Type your answer (at most {max_len} characters).")
                )
            )),
            _ => {}
        }
        for (code, message) in &ask.errors {
            if *code == question.code {
                text.push_str(&format!("\n\n⚠️ {}", message.get(lang)));
            }
        }
        buttons.extend(question.options().into_iter().map(|o| {
            button(
                o.label.get(lang),
                Payload::Answer {
                    screen: ask.screen,
                    code: o.code,
                },
            )
        }));
    }
    if ask.can_go_back {
        buttons.push(button(lang.t("← Câu trước", "← Previous"), Payload::Back));
    }
    buttons.push(button(lang.t("⏸ Tạm dừng", "⏸ Pause"), Payload::Pause));
    Outbound {
        text,
        buttons,
        remove_keyboard: true,
        ..Outbound::default()
    }
}
