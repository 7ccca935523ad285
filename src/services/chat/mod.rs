//! The chat dialogue, one for every chat channel (Telegram, Zalo): a menu, the survey one question at a time,
//! a feedback report written step by step, the person's reports and their answers, rating, language, opting out.
//!
//! [`ChatChannels::receive`](super::channels::ChatChannels::receive) hands each event, parsed by `ykien-bots` into a
//! channel-neutral [`Inbound`], to [`Chats::take_turn`], which decides, stores the chat's state in one transaction
//! (with the survey step the turn took, if any), and returns the [`Outbound`] messages to send. Nothing here knows a
//! platform's wire format. Buttons carry short payloads in the grammar of `payloads`; a typed number picks the n-th
//! button of the last message on every channel, which is how Zalo users answer lists longer than its five buttons.
//!
//! One file per flow: `menu` (the menu, the commune, the way in), `survey`, `report` (writing a feedback report),
//! `attachments` (its photos and voice notes), `follow_up` (one's reports, their answers, rating), `quiz` (the PAPI
//! quiz, one question per message), `payloads` (what buttons carry), `official` (an official's linked chat: `/link`,
//! `/unlink`), `typed` (what typed words mean: greetings, skip/no/cancel/back/yes, numbers with units).

mod attachments;
mod follow_up;
mod menu;
mod official;
mod payloads;
mod quiz;
mod report;
mod survey;
mod typed;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ykien_bots::message::{Channel, Inbound, InboundKind, Outbound};

use menu::commune_in_payload;
pub use menu::commune_payload;
pub use payloads::rating_buttons;
use payloads::{MenuItem, Payload};
use report::{Draft, DraftStep};
use survey::{OpenSurvey, SurveyMove, Typing};
use typed::{Word, is_greeting};

use super::Error;
use super::cases::Cases;
use super::survey::{Identity, Surveys, Turn};
use crate::domain::Lang;
use crate::domain::calendar::vn_day;
use crate::services::cases::MIN_TEXT_CHARS;
use crate::storage::{ChatUserRow, SessionWrite, SessionWritten, Store};

/// Where a chat channel's photos come from: Telegram resolves file ids with `getFile`, Zalo downloads URLs.
pub trait PhotoSource: Send + Sync {
    /// Downloads one photo by the reference the platform gave, refusing more than `max_bytes`. The error is a
    /// reason for the logs; the citizen is told in general terms.
    fn fetch<'a>(&'a self, reference: &'a str, max_bytes: usize) -> PhotoFuture<'a>;
}

/// The future of [`PhotoSource::fetch`].
pub type PhotoFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, PhotoFetchError>> + Send + 'a>>;

/// Why a photo could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoFetchError {
    TooLarge,
    Failed(String),
}

/// What the dialogue waits for next.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
enum Dialog {
    /// The menu was shown.
    #[default]
    Menu,
    /// A commune code or name, then go on to `then` (with the report the person already typed, if any).
    Commune {
        then: Option<Goal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        draft: Option<Draft>,
    },
    /// In the survey; where in it is the survey session's to say. Chats stored before migration 0007 also named
    /// the question here: those fields are ignored when read.
    Survey {},
    /// A feedback report being written.
    Report(Draft),
    /// In a quiz round; which question is the person's entry's to say.
    Quiz { round: uuid::Uuid },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Goal {
    Survey,
    Feedback,
    Quiz,
}

/// The stored dialogue state of one person.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    dialog: Dialog,
    /// The payloads of the buttons last shown, for "type the number of your choice".
    #[serde(default)]
    choices: Vec<String>,
    /// The labels of those buttons, folded: typing a label picks its button (Telegram's reply-keyboard buttons send
    /// their label as text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
    /// A Telegram reply keyboard (the location request) is showing: the next message removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    reply_keyboard: bool,
    /// How far the person is in the survey of their commune, as the last survey turn left it: what the menu offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    survey_mark: Option<SurveyMark>,
}

/// Where a person stands in the open survey of a commune, kept with the chat so that the menu needs no survey read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SurveyMark {
    commune: String,
    /// The survey's wave closes then; the mark means nothing after.
    until: DateTime<Utc>,
    /// Progress of a survey begun, in percent; `None` once answered.
    percent: Option<u8>,
}

impl State {
    /// The button whose label was typed, if any.
    fn typed_label(&self, text: &str) -> Option<Payload> {
        let folded = crate::domain::folding::fold(text);
        if folded.is_empty() {
            return None;
        }
        let i = self.labels.iter().position(|l| *l == folded)?;
        self.choices.get(i).and_then(|p| Payload::parse(p))
    }
}

/// The chat dialogue service.
pub struct Chats {
    store: Store,
    surveys: Arc<Surveys>,
    cases: Arc<Cases>,
    public_url: Option<String>,
}

/// What one turn of a chat did: the messages to send.
#[derive(Debug, Default)]
pub struct ChatTurn {
    pub replies: Vec<Outbound>,
    /// Messages waiting for this person became due: they could not be reached before and now wrote.
    pub outbox_due: bool,
}

/// One turn being taken: the person's row and dialogue state as read, and what the turn has decided so far.
struct Conversation<'a> {
    row: ChatUserRow,
    state: State,
    lang: Lang,
    channel: Channel,
    photos: &'a dyn PhotoSource,
    now: DateTime<Utc>,
    /// The open survey of their commune with their progress, once the turn needed it.
    survey: Option<Arc<OpenSurvey>>,
    /// The survey step this turn took, stored in one transaction with the chat's state.
    survey_step: Option<SessionWrite>,
    /// The reply is a notice beside the last question (a stale button, a voice note…): the buttons of the last
    /// question stay the ones a typed number or label picks.
    keep_choices: bool,
}

impl Conversation<'_> {
    fn t(&self, vi: &str, en: &str) -> String {
        self.lang.t(vi, en).to_owned()
    }

    fn identity(&self) -> Identity {
        Identity {
            channel: self.channel,
            id: self.row.user_id.clone(),
        }
    }
}

impl Chats {
    pub fn new(store: Store, surveys: Arc<Surveys>, cases: Arc<Cases>, public_url: Option<String>) -> Self {
        Self {
            store,
            surveys,
            cases,
            public_url,
        }
    }

    /// Takes one turn of one person's chat: decides what their event means, stores the chat's state (with the
    /// survey step it took, in one transaction) and returns what to send them. The caller keeps the events of one
    /// person in order ([`super::channels::ChatChannels::receive`] holds a lock per chat while it sends).
    pub async fn take_turn(
        &self,
        inbound: &Inbound,
        photos: &dyn PhotoSource,
        now: DateTime<Utc>,
    ) -> Result<ChatTurn, Error> {
        match &inbound.kind {
            InboundKind::Unfollowed => {
                self.store
                    .set_chat_reachable(inbound.channel.as_str(), &inbound.user_id, false)
                    .await?;
                return Ok(ChatTurn::default());
            }
            kind @ InboundKind::Unsupported { .. } if kind.is_untaken_message() => {}
            InboundKind::Receipt { .. } | InboundKind::Echo | InboundKind::Unsupported { .. } => {
                return Ok(ChatTurn::default());
            }
            _ => {}
        }
        let (mut chat, link) = self
            .store
            .chat_with_link(inbound.channel.as_str(), &inbound.user_id)
            .await?;
        // An official's chat (linked, or linking) never gets the citizen dialogue.
        if let Some(replies) = self.official_turn(inbound, link, now).await? {
            // A linked official who wrote can be reached again: what waits for them may go now.
            return Ok(ChatTurn {
                replies,
                outbox_due: true,
            });
        }
        let mut outbox_due = false;
        // Two tries: another instance may take a survey step of this person between the read and the write. Only a
        // turn that takes a survey step can be stale, and such a turn did nothing else outside its transaction, so
        // deciding it again is safe.
        for again in [false, true] {
            if again {
                chat = self.store.chat_user(inbound.channel.as_str(), &inbound.user_id).await?;
            }
            if let Some(replies) = self
                .try_turn(inbound, chat.take(), photos, now, &mut outbox_due)
                .await?
            {
                return Ok(ChatTurn { replies, outbox_due });
            }
        }
        Err(Error::Busy(
            "this chat's survey kept moving on another instance; the event will be taken up again".to_owned(),
        ))
    }

    /// One try at a turn from the chat's stored row (`None`: a new chat); `None` when the survey session moved on
    /// meanwhile and nothing was stored.
    async fn try_turn(
        &self,
        inbound: &Inbound,
        stored: Option<ChatUserRow>,
        photos: &dyn PhotoSource,
        now: DateTime<Utc>,
        outbox_due: &mut bool,
    ) -> Result<Option<Vec<Outbound>>, Error> {
        let channel = inbound.channel.as_str();
        let (row, is_new) = match stored {
            Some(row) => (row, false),
            None => (
                ChatUserRow {
                    channel: channel.to_owned(),
                    user_id: inbound.user_id.clone(),
                    lang: Lang::Vi.code().to_owned(),
                    commune_code: None,
                    dialog: String::new(),
                    revision: 0,
                    reachable: true,
                    opted_out: false,
                    last_interaction_at: None,
                    created_at: now,
                },
                true,
            ),
        };
        if row.opted_out && !is_start(&inbound.kind) {
            // After /stop nothing changes until /start: one reply that says so, and nothing stored.
            let lang = Lang::from_code(Some(&row.lang));
            return Ok(Some(vec![Outbound {
                text: lang
                    .t(
                        "Anh/chị đã dừng nhận tin từ kênh này. Gõ /start để bật lại.",
                        "You turned off messages from this channel. Type /start to turn them back on.",
                    )
                    .to_owned(),
                ..Outbound::default()
            }]));
        }
        // They could not be reached before (blocked, unfollowed, silent too long): what waits for them can go now.
        if !row.reachable && self.store.outbox_due_now(channel, &inbound.user_id, now).await? > 0 {
            *outbox_due = true;
        }
        let state: State = serde_json::from_str(&row.dialog).unwrap_or_default();
        let mut c = Conversation {
            lang: Lang::from_code(Some(&row.lang)),
            row,
            state,
            channel: inbound.channel,
            photos,
            now,
            survey: None,
            survey_step: None,
            keep_choices: false,
        };
        c.row.reachable = true;
        c.row.last_interaction_at = Some(now);
        let mut replies = self.react(&mut c, &inbound.kind).await?;
        c.row.lang = c.lang.code().to_owned();
        if !c.keep_choices {
            let last_buttons = replies.last().map(|m| m.buttons.as_slice()).unwrap_or_default();
            c.state.choices = last_buttons.iter().map(|b| b.payload.clone()).collect();
            c.state.labels = last_buttons
                .iter()
                .map(|b| crate::domain::folding::fold(&b.label))
                .collect();
        }
        // A keyboard ends with its step: the first message after the location request removes it; no other
        // message asks Telegram to remove anything (a removal costs a message of its own beside inline buttons).
        let keyboard_up =
            replies.iter().any(|r| r.request_location.is_some()) || (c.keep_choices && c.state.reply_keyboard);
        let stopping = c.row.opted_out;
        for reply in &mut replies {
            reply.remove_keyboard = false;
        }
        if (c.state.reply_keyboard || stopping)
            && !keyboard_up
            && let Some(first) = replies.first_mut()
        {
            first.remove_keyboard = true;
        }
        c.state.reply_keyboard = keyboard_up;
        c.row.dialog = serde_json::to_string(&c.state).map_err(|e| Error::BadRequest(e.to_string()))?;
        let written = self
            .store
            .save_chat_turn(&c.row, is_new, c.survey_step.as_ref())
            .await?;
        match written.survey {
            Some(SessionWritten::Stale) => return Ok(None),
            Some(SessionWritten::AlreadyResponded) => {
                // They completed this wave from another session meanwhile: the same menu, with the right thanks.
                replies = self.survey_closed(&mut c, Turn::AlreadyResponded, None).await?;
            }
            Some(SessionWritten::Written) | None => {}
        }
        if written.replaced {
            tracing::info!(
                channel,
                "another event of this chat was stored meanwhile; this one's dialogue state replaced it"
            );
        }
        if c.row.opted_out {
            // After /stop only the goodbye goes out.
            replies.truncate(1);
        }
        Ok(Some(replies))
    }

    /// What the event means where the dialogue is.
    async fn react(&self, c: &mut Conversation<'_>, kind: &InboundKind) -> Result<Vec<Outbound>, Error> {
        // Commands are typed on Zalo too, where they arrive as text.
        let command = match kind {
            InboundKind::Command { name, payload } => Some((name.as_str(), payload.as_deref())),
            InboundKind::Text(text) if text.starts_with('/') => {
                let mut parts = text[1..].splitn(2, char::is_whitespace);
                let name = parts.next().unwrap_or_default();
                Some((name, parts.next().map(str::trim).filter(|p| !p.is_empty())))
            }
            _ => None,
        };
        if let Some((name, payload)) = command {
            return self.command(c, &name.to_lowercase(), payload).await;
        }
        match kind {
            InboundKind::Followed => {
                // Following the OA subscribes to the commune's news (issue 18).
                super::reach::set_subscribed(&self.store, &c.row.channel, &c.row.user_id, true, c.now).await?;
                c.state.dialog = Dialog::Menu;
                self.menu(c, true).await
            }
            InboundKind::Button { payload, .. } => match Payload::parse(payload) {
                Some(p) => self.pressed(c, p).await,
                None => self.menu(c, false).await,
            },
            InboundKind::Text(text) => {
                let text = text.trim();
                // STOP, DỪNG, HUỶ stop everything at once (HUỶ only at the menu: in a step it cancels the step).
                if super::reach::is_stop_word(text)
                    && (matches!(c.state.dialog, Dialog::Menu)
                        || !crate::domain::folding::fold(text).starts_with("huy"))
                {
                    return self.command(c, "stop", None).await;
                }
                if matches!(c.state.dialog, Dialog::Menu) {
                    match crate::domain::folding::fold(text).as_str() {
                        "nhan tin" | "get news" => return self.set_news(c, true).await,
                        "dung nhan tin" | "stop news" => return self.set_news(c, false).await,
                        "du thi" | "thi" | "cuoc thi" | "quiz" => return self.start_quiz(c, None).await,
                        _ => {}
                    }
                }
                if let Some(p) = self.numbered_choice(c, text).await? {
                    return self.pressed(c, p).await;
                }
                if let Some(p) = c.state.typed_label(text) {
                    return self.pressed(c, p).await;
                }
                self.typed(c, text).await
            }
            InboundKind::Photo { urls, caption } => self.photo(c, urls, caption.as_deref()).await,
            InboundKind::Voice {
                reference,
                duration_secs,
                ..
            } => self.voice(c, reference, *duration_secs).await,
            InboundKind::Location { lat, lon } => self.location(c, *lat, *lon).await,
            InboundKind::ContactInfo { name, phone, .. } => self.contact(c, name.clone(), phone.clone()).await,
            kind if kind.is_untaken_message() => {
                // A sticker, a video, a file…: said what is taken, and the last question stays the one to answer.
                c.keep_choices = true;
                Ok(vec![Outbound::text(c.t(
                    "Xin lỗi, tôi chưa nhận được loại tin nhắn này (nhãn dán, video, tệp…). Tôi nhận tin nhắn chữ, \
                     ảnh, tin nhắn thoại và vị trí.",
                    "Sorry, I cannot take this kind of message (stickers, videos, files…). I take text, photos, \
                     voice notes and locations.",
                ))])
            }
            _ => Ok(Vec::new()),
        }
    }

    /// A typed number that picks the n-th button of the last message, unless the question asks for a number.
    async fn numbered_choice(&self, c: &mut Conversation<'_>, text: &str) -> Result<Option<Payload>, Error> {
        let Ok(n) = text.trim_end_matches('.').parse::<usize>() else {
            return Ok(None);
        };
        let wants_typing = match &c.state.dialog {
            Dialog::Survey {} => self.survey_typing(c).await?.is_some(),
            Dialog::Report(draft) => matches!(draft.step, DraftStep::Text | DraftStep::Location),
            Dialog::Commune { .. } => true,
            // The quiz reads numbers itself: a choice's text may be a number.
            Dialog::Quiz { .. } => true,
            Dialog::Menu => false,
        };
        if wants_typing {
            return Ok(None);
        }
        Ok(n.checked_sub(1)
            .and_then(|i| c.state.choices.get(i))
            .and_then(|payload| Payload::parse(payload)))
    }

    async fn command(
        &self,
        c: &mut Conversation<'_>,
        name: &str,
        payload: Option<&str>,
    ) -> Result<Vec<Outbound>, Error> {
        match name {
            "start" => {
                c.row.opted_out = false;
                // Starting the bot subscribes to the commune's news (issue 18).
                super::reach::set_subscribed(&self.store, &c.row.channel, &c.row.user_id, true, c.now).await?;
                c.state.dialog = Dialog::Menu;
                if let Some(payload) = payload {
                    match commune_in_payload(payload) {
                        Some(code) => match super::units::commune_on(&self.store, code, vn_day(c.now)).await {
                            Ok(unit) => {
                                // Another commune's poster while a survey is half-way: asked first.
                                if let Some(current) = c.row.commune_code.clone()
                                    && current != unit.code
                                    && self.survey_in_progress(c, &current).await?
                                {
                                    return self.choose_commune(c, &unit.code, false).await;
                                }
                                c.row.commune_code = Some(unit.code);
                            }
                            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                                return Ok(vec![self.ask_commune(
                                    c,
                                    None,
                                    Some(&c.t(
                                        "Đường dẫn anh/chị mở ghi một mã xã, phường không còn hoặc không có.",
                                        "The link you opened names a commune or ward that does not exist (any more).",
                                    )),
                                )]);
                            }
                            Err(e) => return Err(e),
                        },
                        None => tracing::debug!("a /start payload that names no commune"),
                    }
                }
                self.menu(c, true).await
            }
            "stop" => {
                c.row.opted_out = true;
                c.state.dialog = Dialog::Menu;
                Ok(vec![Outbound {
                    text: c.t(
                        "Đã dừng. Anh/chị sẽ không nhận thêm tin nhắn nào từ kênh này, kể cả tin về phản ánh đã gửi \
                         (vẫn xem được trên trang theo dõi). Gõ /start để bật lại.",
                        "Stopped. You will get no more messages here, not even about reports you sent (their \
                         tracking pages still work). Type /start to turn messages back on.",
                    ),
                    remove_keyboard: true,
                    ..Outbound::default()
                }])
            }
            "english" | "en" => {
                c.lang = Lang::En;
                self.menu(c, false).await
            }
            "tiengviet" | "vi" => {
                c.lang = Lang::Vi;
                self.menu(c, false).await
            }
            "survey" | "khaosat" => self.pressed(c, Payload::Menu(MenuItem::Survey)).await,
            "feedback" | "phananh" => self.pressed(c, Payload::Menu(MenuItem::Feedback)).await,
            "cases" | "theodoi" => self.pressed(c, Payload::Menu(MenuItem::Follow)).await,
            "quiz" | "duthi" => self.start_quiz(c, None).await,
            _ => {
                c.state.dialog = Dialog::Menu;
                self.menu(c, false).await
            }
        }
    }

    async fn pressed(&self, c: &mut Conversation<'_>, payload: Payload) -> Result<Vec<Outbound>, Error> {
        match payload {
            Payload::Menu(MenuItem::Home) => self.menu(c, false).await,
            Payload::Menu(MenuItem::NewsOn) => self.set_news(c, true).await,
            Payload::Menu(MenuItem::NewsOff) => self.set_news(c, false).await,
            Payload::Menu(MenuItem::Language) => {
                c.lang = match c.lang {
                    Lang::Vi => Lang::En,
                    Lang::En => Lang::Vi,
                };
                self.menu(c, false).await
            }
            Payload::Menu(MenuItem::Commune) => Ok(vec![self.ask_commune(c, None, None)]),
            Payload::Menu(MenuItem::Survey) => self.goal(c, Goal::Survey).await,
            Payload::Menu(MenuItem::Feedback) => self.goal(c, Goal::Feedback).await,
            Payload::Menu(MenuItem::Follow) => self.my_cases(c).await,
            Payload::Commune(code) => self.choose_commune(c, &code, false).await,
            Payload::SwitchCommune(code) => self.choose_commune(c, &code, true).await,
            Payload::Answer { screen, code } => {
                self.survey(
                    c,
                    SurveyMove::Answer {
                        screen: Some(screen),
                        raw: code,
                    },
                )
                .await
            }
            Payload::Back => self.survey(c, SurveyMove::Back).await,
            Payload::Pause => self.pause_survey(c).await,
            Payload::Category(code) => self.category(c, code).await,
            Payload::Form(action) => self.form(c, action).await,
            Payload::Case(code) => self.show_case(c, &code).await,
            Payload::Rate { code, stars } => self.rate(c, &code, stars).await,
            Payload::QuizStart(round) => self.start_quiz(c, Some(round)).await,
            Payload::QuizAnswer { round, index, choice } => self.quiz_answer(c, round, index, choice).await,
        }
    }

    async fn typed(&self, c: &mut Conversation<'_>, text: &str) -> Result<Vec<Outbound>, Error> {
        let word = Word::read(text);
        match c.state.dialog.clone() {
            Dialog::Commune { .. } if matches!(word, Some(Word::Cancel | Word::Back)) => self.menu(c, false).await,
            Dialog::Commune { then, .. } => self.find_commune(c, then, text).await,
            Dialog::Survey {} => self.typed_in_survey(c, text, word).await,
            Dialog::Report(draft) => self.typed_report(c, draft, text, word).await,
            Dialog::Quiz { round } => self.typed_in_quiz(c, round, text, word).await,
            Dialog::Menu if is_greeting(text) => self.menu(c, true).await,
            // What most people do first: type their problem. It becomes a report for them to confirm.
            Dialog::Menu if text.chars().count() >= MIN_TEXT_CHARS => self.propose_report(c, text).await,
            Dialog::Menu => {
                let mut replies = self.menu(c, false).await?;
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}\n\n{}",
                        c.t(
                            &format!(
                                "Xin lỗi, tôi chưa hiểu tin nhắn này. Nếu anh/chị muốn phản ánh một việc, xin viết rõ \
                                 sự việc (ít nhất {MIN_TEXT_CHARS} ký tự); hoặc chọn một mục dưới đây."
                            ),
                            &format!(
                                "Sorry, I did not understand that. To report something, describe it (at least \
                                 {MIN_TEXT_CHARS} characters); or pick one of these."
                            ),
                        ),
                        first.text
                    );
                }
                Ok(replies)
            }
        }
    }

    /// Text typed in the survey: "quay lại" and "hủy" where the question is a choice, a number read from words
    /// around it ("30 phút") where it asks for a number, otherwise the answer as typed.
    async fn typed_in_survey(
        &self,
        c: &mut Conversation<'_>,
        text: &str,
        word: Option<Word>,
    ) -> Result<Vec<Outbound>, Error> {
        let raw = match self.survey_typing(c).await? {
            None if word == Some(Word::Back) => return self.survey(c, SurveyMove::Back).await,
            None if word == Some(Word::Cancel) => return self.pause_survey(c).await,
            Some(Typing::Number) => typed::number_in(text).unwrap_or_else(|| text.to_owned()),
            Some(Typing::Text { max_len }) if text.chars().count() > max_len => {
                // Refused, but not lost: shown back whole to shorten, and the question stays the one asked.
                let chars = text.chars().count();
                c.keep_choices = true;
                return Ok(vec![Outbound::text(c.t(
                    &format!(
                        "⚠️ Câu trả lời dài {chars} ký tự; câu này nhận tối đa {max_len} ký tự. Xin rút gọn rồi gửi \
                         lại. Câu anh/chị đã gửi:\n\n{text}"
                    ),
                    &format!(
                        "⚠️ Your answer is {chars} characters; this question takes at most {max_len}. Please shorten \
                         it and send it again. What you sent:\n\n{text}"
                    ),
                ))]);
            }
            _ => text.to_owned(),
        };
        self.survey(c, SurveyMove::Answer { screen: None, raw }).await
    }
}

/// Whether an event is `/start` (typed or as a command), the one thing that turns messages back on after `/stop`.
fn is_start(kind: &InboundKind) -> bool {
    match kind {
        InboundKind::Command { name, .. } => name.eq_ignore_ascii_case("start"),
        InboundKind::Text(text) => text
            .trim()
            .strip_prefix('/')
            .and_then(|t| t.split_whitespace().next())
            .is_some_and(|n| n.eq_ignore_ascii_case("start")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialog_stored_with_its_survey_question_still_reads_as_in_the_survey() {
        // As chats stored it before the survey session became the only survey state.
        let old = r#"{"dialog":{"at":"survey","screen":3,"question":"p_residence","typed":false},"choices":["s:3:1"]}"#;
        let state: State = serde_json::from_str(old).unwrap();
        assert_eq!(state.dialog, Dialog::Survey {});
        assert_eq!(state.choices, vec!["s:3:1"]);
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"dialog":{"at":"survey"},"choices":["s:3:1"]}"#
        );
    }
}
