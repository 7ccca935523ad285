//! The chat dialogue, one for every chat channel (Telegram, Zalo): a menu, the survey one question at a time,
//! a feedback report written step by step, the person's reports and their answers, rating, language, opting out.
//!
//! A webhook handler parses the platform's payload into a channel-neutral [`Inbound`] and calls [`Chats::handle`],
//! which decides, stores, and returns the [`Outbound`] messages to send; the handler's channel client sends them.
//! Nothing here knows a platform's wire format. Buttons carry short payloads (at most 64 bytes, Telegram's limit)
//! in the grammar of [`Payload`]; a typed number picks the n-th button of the last message on every channel, which
//! is how Zalo users answer lists longer than its five buttons.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use ykien_bots::message::{Button, Channel, Inbound, InboundKind, Outbound};

use super::Error;
use super::cases::{Cases, Intake, MAX_TEXT_CHARS, MIN_TEXT_CHARS};
use super::survey::{Identity, Progress, SurveyContext, Surveys, Turn, vn_day};
use crate::conversation::{Ask, Input, Mode, SurveyEngine};
use crate::domain::Lang;
use crate::domain::cases::CaseState;
use crate::domain::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS, sanitize};
use crate::domain::questionnaire::{Question, QuestionKind};
use crate::domain::units::UnitLevel;
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

/// A button payload of the chat dialogue. Written and read only here (and by the rating buttons of notifications,
/// built by [`rating_buttons`]).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Payload {
    /// `m:<item>`: a menu entry.
    Menu(MenuItem),
    /// `c:<code>`: this commune.
    Commune(String),
    /// `s:<screen>:<code>`: this answer to the question of this screen.
    Answer { screen: usize, code: String },
    /// `s:back`: the previous question.
    Back,
    /// `k:<category>`: this feedback category.
    Category(String),
    /// `f:<step>`: a step of the feedback form.
    Form(FormAction),
    /// `v:<code>`: show this case.
    Case(String),
    /// `r:<code>:<1-5>`: rate this case's answer.
    Rate { code: String, stars: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MenuItem {
    Home,
    Survey,
    Feedback,
    Follow,
    Language,
    Commune,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormAction {
    /// Done with photos.
    Next,
    /// No location.
    NoLocation,
    Send,
    Cancel,
}

impl Payload {
    fn parse(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        Some(match kind {
            "m" => Self::Menu(match rest {
                "home" => MenuItem::Home,
                "survey" => MenuItem::Survey,
                "feedback" => MenuItem::Feedback,
                "follow" => MenuItem::Follow,
                "lang" => MenuItem::Language,
                "commune" => MenuItem::Commune,
                _ => return None,
            }),
            "c" => Self::Commune(rest.to_owned()),
            "s" if rest == "back" => Self::Back,
            "s" => {
                let (screen, code) = rest.split_once(':')?;
                Self::Answer {
                    screen: screen.parse().ok()?,
                    code: code.to_owned(),
                }
            }
            "k" => Self::Category(rest.to_owned()),
            "f" => Self::Form(match rest {
                "next" => FormAction::Next,
                "noloc" => FormAction::NoLocation,
                "send" => FormAction::Send,
                "cancel" => FormAction::Cancel,
                _ => return None,
            }),
            "v" => Self::Case(rest.to_owned()),
            "r" => {
                let (code, stars) = rest.rsplit_once(':')?;
                Self::Rate {
                    code: code.to_owned(),
                    stars: stars.parse().ok()?,
                }
            }
            _ => return None,
        })
    }

    fn encode(&self) -> String {
        match self {
            Self::Menu(item) => format!(
                "m:{}",
                match item {
                    MenuItem::Home => "home",
                    MenuItem::Survey => "survey",
                    MenuItem::Feedback => "feedback",
                    MenuItem::Follow => "follow",
                    MenuItem::Language => "lang",
                    MenuItem::Commune => "commune",
                }
            ),
            Self::Commune(code) => format!("c:{code}"),
            Self::Answer { screen, code } => format!("s:{screen}:{code}"),
            Self::Back => "s:back".to_owned(),
            Self::Category(code) => format!("k:{code}"),
            Self::Form(action) => format!(
                "f:{}",
                match action {
                    FormAction::Next => "next",
                    FormAction::NoLocation => "noloc",
                    FormAction::Send => "send",
                    FormAction::Cancel => "cancel",
                }
            ),
            Self::Case(code) => format!("v:{code}"),
            Self::Rate { code, stars } => format!("r:{code}:{stars}"),
        }
    }
}

fn button(label: impl Into<String>, payload: Payload) -> Button {
    Button {
        label: label.into(),
        payload: payload.encode(),
    }
}

/// The five rating buttons sent with an answered case's notification.
pub fn rating_buttons(code: &str) -> Vec<Button> {
    (1..=5)
        .rev()
        .map(|stars| {
            button(
                format!("{} {stars}/5", "★".repeat(stars as usize)),
                Payload::Rate {
                    code: code.to_owned(),
                    stars,
                },
            )
        })
        .collect()
}

/// What the dialogue waits for next.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
enum Dialog {
    /// The menu was shown.
    #[default]
    Menu,
    /// A commune code or name, then go on to `then`.
    Commune { then: Option<Goal> },
    /// In the survey: where is the survey session's to say (chats before migration 0007 also kept the question
    /// here; those fields are ignored when read).
    Survey {},
    /// A feedback report being written.
    Report(Draft),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Goal {
    Survey,
    Feedback,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Draft {
    step: DraftStep,
    category: Option<String>,
    text: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    name: Option<String>,
    phone: Option<String>,
    photos: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DraftStep {
    #[default]
    Category,
    Text,
    Photos,
    Location,
    Confirm,
}

/// The stored dialogue state of one person.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    dialog: Dialog,
    /// The payloads of the buttons last shown, for "type the number of your choice".
    #[serde(default)]
    choices: Vec<String>,
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

/// The open survey of the person's commune and where they are in it, read at most once per turn.
struct OpenSurvey {
    ctx: SurveyContext,
    progress: Progress,
}

/// What the person did in the survey.
enum SurveyMove {
    Show,
    Back,
    /// An answer to the question of `screen` (a button), or of the screen they are at (typed).
    Answer {
        screen: Option<usize>,
        raw: String,
    },
}

/// Lower case, without diacritics (đ → d): what a name search compares.
fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commune code in a `/start` payload: `commune_11953`, `c11953` or `11953`.
fn commune_in_payload(payload: &str) -> Option<&str> {
    let code = payload
        .strip_prefix("commune_")
        .or_else(|| payload.strip_prefix('c'))
        .unwrap_or(payload);
    (!code.is_empty() && code.len() <= 10 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The deep-link payload naming a commune, as printed on posters.
pub fn commune_payload(code: &str) -> String {
    format!("commune_{code}")
}

struct Conversation<'a> {
    row: ChatUserRow,
    state: State,
    lang: Lang,
    channel: Channel,
    photos: &'a dyn PhotoSource,
    now: DateTime<Utc>,
    survey: Option<Arc<OpenSurvey>>,
    /// The survey step this turn took, stored in one transaction with the chat's state.
    survey_step: Option<SessionWrite>,
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
            InboundKind::Receipt { .. } | InboundKind::Echo | InboundKind::Unsupported { .. } => {
                return Ok(ChatTurn::default());
            }
            _ => {}
        }
        let mut outbox_due = false;
        // Two tries: another instance may take a survey step of this person between the read and the write. Only a
        // turn that takes a survey step can be stale, and such a turn did nothing else outside its transaction, so
        // deciding it again is safe.
        for _ in 0..2 {
            if let Some(replies) = self.try_turn(inbound, photos, now, &mut outbox_due).await? {
                return Ok(ChatTurn { replies, outbox_due });
            }
        }
        Err(Error::Busy(
            "this chat's survey kept moving on another instance; the event will be taken up again".to_owned(),
        ))
    }

    /// One try at a turn; `None` when the survey session moved on meanwhile and nothing was stored.
    async fn try_turn(
        &self,
        inbound: &Inbound,
        photos: &dyn PhotoSource,
        now: DateTime<Utc>,
        outbox_due: &mut bool,
    ) -> Result<Option<Vec<Outbound>>, Error> {
        let channel = inbound.channel.as_str();
        let (row, is_new) = match self.store.chat_user(channel, &inbound.user_id).await? {
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
        };
        c.row.reachable = true;
        c.row.last_interaction_at = Some(now);
        let mut replies = self.react(&mut c, &inbound.kind).await?;
        c.row.lang = c.lang.code().to_owned();
        c.state.choices = replies
            .last()
            .map(|m| m.buttons.iter().map(|b| b.payload.clone()).collect())
            .unwrap_or_default();
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
        if c.row.opted_out {
            c.row.opted_out = false;
        }
        match kind {
            InboundKind::Followed => {
                c.state.dialog = Dialog::Menu;
                self.menu(c, true).await
            }
            InboundKind::Button { payload, .. } => match Payload::parse(payload) {
                Some(p) => self.pressed(c, p).await,
                None => self.menu(c, false).await,
            },
            InboundKind::Text(text) => {
                let text = text.trim();
                if let Some(p) = self.numbered_choice(c, text).await? {
                    return self.pressed(c, p).await;
                }
                self.typed(c, text).await
            }
            InboundKind::Photo { urls, caption } => self.photo(c, urls, caption.as_deref()).await,
            InboundKind::Location { lat, lon } => self.location(c, *lat, *lon).await,
            InboundKind::ContactInfo { name, phone, .. } => {
                if let Dialog::Report(draft) = &mut c.state.dialog {
                    draft.name = name.clone().or(draft.name.take());
                    draft.phone = phone.clone().or(draft.phone.take());
                    let mut reply = self.report_prompt(c).await?;
                    reply.text = format!(
                        "{}\n\n{}",
                        c.t(
                            "Đã ghi nhận thông tin liên lạc của anh/chị cho phản ánh này.",
                            "Your contact details were added to this report."
                        ),
                        reply.text
                    );
                    Ok(vec![reply])
                } else {
                    self.menu(c, false).await
                }
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
            Dialog::Survey {} => self.survey_wants_typing(c).await?,
            Dialog::Report(draft) => draft.step == DraftStep::Text,
            Dialog::Commune { .. } => true,
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
                c.state.dialog = Dialog::Menu;
                if let Some(payload) = payload {
                    match commune_in_payload(payload) {
                        Some(code) => match super::units::commune_on(&self.store, code, vn_day(c.now)).await {
                            Ok(unit) => c.row.commune_code = Some(unit.code),
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
            _ => {
                c.state.dialog = Dialog::Menu;
                self.menu(c, false).await
            }
        }
    }

    async fn menu(&self, c: &mut Conversation<'_>, greet: bool) -> Result<Vec<Outbound>, Error> {
        c.state.dialog = Dialog::Menu;
        let mut text = String::new();
        if greet {
            text.push_str(&c.t(
                "Xin chào! Đây là kênh lắng nghe ý kiến người dân của chính quyền địa phương: trả lời khảo sát về \
                 chất lượng quản trị (ẩn danh), gửi phản ánh, kiến nghị và nhận trả lời ngay tại đây.",
                "Hello! This is your local government's channel for hearing citizens: answer the governance survey \
                 (anonymously), send feedback, and get the answers right here.",
            ));
            text.push_str("\n\n");
        }
        if let Some(code) = &c.row.commune_code {
            match super::units::commune_on(&self.store, code, vn_day(c.now)).await {
                Ok(unit) => {
                    text.push_str(&format!(
                        "{} {}.\n",
                        c.t("Xã, phường của anh/chị:", "Your commune:"),
                        unit.name
                    ));
                }
                Err(_) => c.row.commune_code = None,
            }
        }
        text.push_str(&c.t("Anh/chị muốn làm gì?", "What would you like to do?"));
        Ok(vec![Outbound {
            text,
            buttons: vec![
                button(
                    c.t("📋 Trả lời khảo sát", "📋 Answer the survey"),
                    Payload::Menu(MenuItem::Survey),
                ),
                button(
                    c.t("📝 Gửi phản ánh", "📝 Send feedback"),
                    Payload::Menu(MenuItem::Feedback),
                ),
                button(
                    c.t("🔎 Theo dõi phản ánh", "🔎 My reports"),
                    Payload::Menu(MenuItem::Follow),
                ),
                button(
                    c.t("📍 Đổi xã, phường", "📍 Change commune"),
                    Payload::Menu(MenuItem::Commune),
                ),
                button(c.t("🌐 English", "🌐 Tiếng Việt"), Payload::Menu(MenuItem::Language)),
            ],
            remove_keyboard: true,
            ..Outbound::default()
        }])
    }

    fn ask_commune(&self, c: &mut Conversation<'_>, then: Option<Goal>, problem: Option<&str>) -> Outbound {
        c.state.dialog = Dialog::Commune { then };
        let mut text = problem.map(|p| format!("{p}\n\n")).unwrap_or_default();
        text.push_str(&c.t(
            "Anh/chị ở xã, phường nào? Gõ tên (ví dụ: Phố Hiến) hoặc mã số 5 chữ số in trên áp phích.",
            "Which commune or ward do you live in? Type its name (e.g. Phố Hiến) or the 5-digit code printed on the poster.",
        ));
        Outbound {
            text,
            buttons: vec![button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home))],
            ..Outbound::default()
        }
    }

    async fn pressed(&self, c: &mut Conversation<'_>, payload: Payload) -> Result<Vec<Outbound>, Error> {
        match payload {
            Payload::Menu(MenuItem::Home) => self.menu(c, false).await,
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
            Payload::Commune(code) => self.choose_commune(c, &code).await,
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
            Payload::Category(code) => {
                let Dialog::Report(draft) = &mut c.state.dialog else {
                    return self.goal(c, Goal::Feedback).await;
                };
                if self.cases.category(&code).is_none() {
                    return Ok(vec![self.report_prompt(c).await?]);
                }
                draft.category = Some(code);
                draft.step = DraftStep::Text;
                Ok(vec![self.report_prompt(c).await?])
            }
            Payload::Form(action) => self.form(c, action).await,
            Payload::Case(code) => self.show_case(c, &code).await,
            Payload::Rate { code, stars } => self.rate(c, &code, stars).await,
        }
    }

    async fn goal(&self, c: &mut Conversation<'_>, goal: Goal) -> Result<Vec<Outbound>, Error> {
        if c.row.commune_code.is_none() {
            return Ok(vec![self.ask_commune(c, Some(goal), None)]);
        }
        match goal {
            Goal::Survey => self.survey(c, SurveyMove::Show).await,
            Goal::Feedback => {
                self.store.clear_draft_photos(&c.row.channel, &c.row.user_id).await?;
                c.state.dialog = Dialog::Report(Draft::default());
                Ok(vec![self.report_prompt(c).await?])
            }
        }
    }

    async fn choose_commune(&self, c: &mut Conversation<'_>, code: &str) -> Result<Vec<Outbound>, Error> {
        let then = match &c.state.dialog {
            Dialog::Commune { then } => *then,
            _ => None,
        };
        match super::units::commune_on(&self.store, code, vn_day(c.now)).await {
            Ok(unit) => {
                c.row.commune_code = Some(unit.code);
                match then {
                    Some(goal) => self.goal(c, goal).await,
                    None => self.menu(c, false).await,
                }
            }
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                let problem = c.t(
                    &format!("Không có xã, phường nào mang mã {code}."),
                    &format!("No commune or ward has code {code}."),
                );
                Ok(vec![self.ask_commune(c, then, Some(&problem))])
            }
            Err(e) => Err(e),
        }
    }

    async fn typed(&self, c: &mut Conversation<'_>, text: &str) -> Result<Vec<Outbound>, Error> {
        match c.state.dialog.clone() {
            Dialog::Commune { then } => {
                if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
                    return self.choose_commune(c, text).await;
                }
                let wanted = fold(text);
                if wanted.chars().count() < 2 {
                    let problem = c.t("Tên quá ngắn.", "That name is too short.");
                    return Ok(vec![self.ask_commune(c, then, Some(&problem))]);
                }
                let communes = self.store.units_at_level(UnitLevel::Commune, vn_day(c.now)).await?;
                let mut found: Vec<_> = communes.iter().filter(|u| fold(&u.name).contains(&wanted)).collect();
                // "Phố Hiến" should find the ward named exactly so before "Phường Phố Hiến Mới".
                found.sort_by_key(|u| (fold(&u.name) != wanted, u.name.len()));
                match found.len() {
                    0 => {
                        let problem = c.t(
                            &format!("Không tìm thấy xã, phường nào tên «{text}». Xin kiểm tra lại chính tả."),
                            &format!("No commune or ward is named “{text}”. Please check the spelling."),
                        );
                        Ok(vec![self.ask_commune(c, then, Some(&problem))])
                    }
                    1 => {
                        let code = found[0].code.clone();
                        self.choose_commune(c, &code).await
                    }
                    n => {
                        let mut reply = self.ask_commune(c, then, None);
                        reply.text = if n > 8 {
                            c.t(
                                &format!("Có {n} xã, phường khớp với «{text}». Đây là 8 nơi đầu; gõ tên đầy đủ hơn nếu chưa thấy."),
                                &format!("{n} communes match “{text}”. Here are the first 8; type more of the name if yours is not there."),
                            )
                        } else {
                            c.t("Anh/chị ở nơi nào dưới đây?", "Which of these is yours?")
                        };
                        reply.buttons = found
                            .iter()
                            .take(8)
                            .map(|u| button(format!("{} ({})", u.name, u.code), Payload::Commune(u.code.clone())))
                            .chain(reply.buttons)
                            .collect();
                        Ok(vec![reply])
                    }
                }
            }
            Dialog::Survey {} => {
                self.survey(
                    c,
                    SurveyMove::Answer {
                        screen: None,
                        raw: text.to_owned(),
                    },
                )
                .await
            }
            Dialog::Report(mut draft) => {
                match draft.step {
                    DraftStep::Text => {
                        let chars = text.chars().count();
                        let problem = if chars < MIN_TEXT_CHARS {
                            Some(c.t(
                            &format!("Nội dung mới có {chars} ký tự; xin mô tả rõ hơn (ít nhất {MIN_TEXT_CHARS} ký tự)."),
                            &format!("That is only {chars} characters; please describe it more (at least {MIN_TEXT_CHARS})."),
                        ))
                        } else if chars > MAX_TEXT_CHARS {
                            Some(c.t(
                                &format!("Nội dung dài {chars} ký tự; tối đa {MAX_TEXT_CHARS} ký tự. Xin rút gọn."),
                                &format!("That is {chars} characters; at most {MAX_TEXT_CHARS}. Please shorten it."),
                            ))
                        } else {
                            None
                        };
                        if let Some(problem) = problem {
                            let mut reply = self.report_prompt(c).await?;
                            reply.text = format!("⚠️ {problem}\n\n{}", reply.text);
                            return Ok(vec![reply]);
                        }
                        draft.text = Some(text.to_owned());
                        draft.step = DraftStep::Photos;
                        c.state.dialog = Dialog::Report(draft);
                        Ok(vec![self.report_prompt(c).await?])
                    }
                    _ => {
                        let mut reply = self.report_prompt(c).await?;
                        reply.text = format!(
                            "{}\n\n{}",
                            c.t("Tin nhắn này chưa được dùng.", "That message was not used."),
                            reply.text
                        );
                        Ok(vec![reply])
                    }
                }
            }
            Dialog::Menu => {
                let mut replies = self.menu(c, false).await?;
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}\n\n{}",
                        c.t(
                            "Xin lỗi, tôi chưa hiểu tin nhắn này. Xin chọn một mục dưới đây.",
                            "Sorry, I did not understand that. Please pick one of these."
                        ),
                        first.text
                    );
                }
                Ok(replies)
            }
        }
    }

    // ---- the survey -------------------------------------------------------------------------------------------

    /// The open survey of the person's commune and their progress in it, read once per turn (again only if the
    /// commune changed meanwhile). `NoOpenWave` when none is open.
    async fn open_survey(&self, c: &mut Conversation<'_>, commune: &str) -> Result<Arc<OpenSurvey>, Error> {
        if let Some(open) = c.survey.as_ref().filter(|s| s.ctx.commune.code == commune) {
            return Ok(open.clone());
        }
        let ctx = self.surveys.survey_for_commune(commune, c.now).await?;
        let progress = self.surveys.progress(&ctx, &c.identity()).await?;
        let open = Arc::new(OpenSurvey { ctx, progress });
        c.survey = Some(open.clone());
        Ok(open)
    }

    /// Whether the survey question the person is at asks for a number or a text rather than a choice.
    async fn survey_wants_typing(&self, c: &mut Conversation<'_>) -> Result<bool, Error> {
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(false);
        };
        let open = match self.open_survey(c, &commune).await {
            Ok(open) => open,
            Err(Error::NoOpenWave(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let engine = SurveyEngine::new(&open.ctx.questionnaire, Mode::Chat);
        Ok(open
            .progress
            .screen()
            .and_then(|screen| engine.first_question(screen))
            .is_some_and(|q| matches!(q.kind, QuestionKind::Number { .. } | QuestionKind::Text { .. })))
    }

    async fn survey(&self, c: &mut Conversation<'_>, said: SurveyMove) -> Result<Vec<Outbound>, Error> {
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
        // The question an answer is for, and what was picked, to show it above the next question.
        let (input, chosen) = match said {
            SurveyMove::Show => (Input::Show, None),
            SurveyMove::Back => (Input::Back, None),
            SurveyMove::Answer { screen, raw } => {
                let engine = SurveyEngine::new(&ctx.questionnaire, Mode::Chat);
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
                Ok(vec![render_question(ctx, &ask, c.lang, chosen, resumed)])
            }
            closed => self.survey_closed(c, closed, chosen).await,
        }
    }

    /// The menu after the survey ended: completed now, or already before.
    async fn survey_closed(
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

    // ---- a feedback report ------------------------------------------------------------------------------------

    /// The prompt of the report's current step.
    async fn report_prompt(&self, c: &mut Conversation<'_>) -> Result<Outbound, Error> {
        let Dialog::Report(draft) = &c.state.dialog else {
            return Ok(Outbound::text(String::new()));
        };
        let cancel = button(c.t("✖ Hủy", "✖ Cancel"), Payload::Form(FormAction::Cancel));
        Ok(match draft.step {
            DraftStep::Category => Outbound {
                text: c.t(
                    "Phản ánh của anh/chị về việc gì? Chọn một lĩnh vực.",
                    "What is your feedback about? Pick a topic.",
                ),
                buttons: self
                    .cases
                    .categories()
                    .iter()
                    .map(|k| button(k.name().get(c.lang), Payload::Category(k.code.clone())))
                    .chain([cancel])
                    .collect(),
                ..Outbound::default()
            },
            DraftStep::Text => Outbound {
                text: c.t(
                    &format!(
                        "Xin mô tả sự việc: ở đâu, khi nào, ảnh hưởng thế nào (từ {MIN_TEXT_CHARS} đến {MAX_TEXT_CHARS} ký tự)."
                    ),
                    &format!(
                        "Please describe it: where, when, how it affects people ({MIN_TEXT_CHARS} to {MAX_TEXT_CHARS} characters)."
                    ),
                ),
                buttons: vec![cancel],
                ..Outbound::default()
            },
            DraftStep::Photos => Outbound {
                text: if draft.photos == 0 {
                    c.t(
                        &format!("Gửi ảnh chụp sự việc nếu có (tối đa {MAX_PHOTOS} ảnh), rồi bấm «Tiếp tục»."),
                        &format!("Send photos of it if you have any (at most {MAX_PHOTOS}), then press “Continue”."),
                    )
                } else {
                    c.t(
                        &format!("Đã nhận {} ảnh. Gửi thêm, hoặc bấm «Tiếp tục».", draft.photos),
                        &format!("{} photo(s) received. Send more, or press “Continue”.", draft.photos),
                    )
                },
                buttons: vec![
                    button(
                        if draft.photos == 0 {
                            c.t("Không có ảnh, tiếp tục", "No photos, continue")
                        } else {
                            c.t("Tiếp tục", "Continue")
                        },
                        Payload::Form(FormAction::Next),
                    ),
                    cancel,
                ],
                ..Outbound::default()
            },
            DraftStep::Location => Outbound {
                text: c.t(
                    "Chia sẻ vị trí nơi xảy ra sự việc để cán bộ tìm đến nhanh hơn (bấm nút «Gửi vị trí», hoặc dùng \
                     mục Vị trí/Location trong ứng dụng), hoặc bỏ qua.",
                    "Share where it is so officials can find it (press “Send location”, or use the app's Location \
                     item), or skip.",
                ),
                buttons: vec![
                    button(c.t("Bỏ qua vị trí", "Skip location"), Payload::Form(FormAction::NoLocation)),
                    cancel,
                ],
                request_location: Some(c.t("📍 Gửi vị trí", "📍 Send location")),
                ..Outbound::default()
            },
            DraftStep::Confirm => {
                let category = draft
                    .category
                    .as_deref()
                    .and_then(|k| self.cases.category(k))
                    .map(|k| k.name().get(c.lang).to_owned())
                    .unwrap_or_default();
                let place = match (draft.lat, draft.lon) {
                    (Some(lat), Some(lon)) => format!("{lat:.5}, {lon:.5}"),
                    _ => c.t("không có", "none"),
                };
                Outbound {
                    text: format!(
                        "{}\n\n{}: {category}\n{}: {}\n{}: {}\n{}: {place}\n\n{}",
                        c.t("Xin kiểm tra lại phản ánh:", "Please check your report:"),
                        c.t("Lĩnh vực", "Topic"),
                        c.t("Nội dung", "Text"),
                        draft.text.as_deref().unwrap_or_default(),
                        c.t("Ảnh", "Photos"),
                        draft.photos,
                        c.t("Vị trí", "Location"),
                        c.t("Gửi phản ánh này?", "Send this report?"),
                    ),
                    buttons: vec![button(c.t("✅ Gửi", "✅ Send"), Payload::Form(FormAction::Send)), cancel],
                    remove_keyboard: true,
                    ..Outbound::default()
                }
            }
        })
    }

    async fn photo(
        &self,
        c: &mut Conversation<'_>,
        refs: &[String],
        caption: Option<&str>,
    ) -> Result<Vec<Outbound>, Error> {
        let Dialog::Report(mut draft) = c.state.dialog.clone() else {
            let mut replies = self.menu(c, false).await?;
            if let Some(first) = replies.first_mut() {
                first.text = format!(
                    "{}\n\n{}",
                    c.t(
                        "Để gửi ảnh về một sự việc, xin chọn «Gửi phản ánh» trước.",
                        "To send photos of something, choose “Send feedback” first."
                    ),
                    first.text
                );
            }
            return Ok(replies);
        };
        // A photo with a caption where the description is expected: the caption is the description.
        if draft.step == DraftStep::Text
            && let Some(caption) = caption.filter(|t| t.chars().count() >= MIN_TEXT_CHARS)
        {
            draft.text = Some(caption.chars().take(MAX_TEXT_CHARS).collect());
            draft.step = DraftStep::Photos;
        }
        if draft.step != DraftStep::Photos {
            let mut reply = self.report_prompt(c).await?;
            reply.text = format!(
                "{}\n\n{}",
                c.t("Ảnh sẽ được nhận ở bước sau.", "Photos come at a later step."),
                reply.text
            );
            return Ok(vec![reply]);
        }
        let mut problems = Vec::new();
        for reference in refs {
            if draft.photos >= MAX_PHOTOS {
                problems.push(c.t(
                    &format!("Mỗi phản ánh chỉ kèm tối đa {MAX_PHOTOS} ảnh; các ảnh sau không được nhận."),
                    &format!("A report takes at most {MAX_PHOTOS} photos; the rest were not taken."),
                ));
                break;
            }
            match c.photos.fetch(reference, MAX_PHOTO_BYTES).await {
                Ok(bytes) => match sanitize(&bytes) {
                    Ok(photo) => {
                        self.store
                            .add_draft_photo(&c.row.channel, &c.row.user_id, photo.kind.mime(), &photo.bytes, c.now)
                            .await?;
                        draft.photos += 1;
                    }
                    Err(e) => problems.push(match c.lang {
                        Lang::Vi => e.message_vi(),
                        Lang::En => e.message_en(),
                    }),
                },
                Err(PhotoFetchError::TooLarge) => problems.push(c.t(
                    &format!("Ảnh quá lớn (tối đa {} MB).", MAX_PHOTO_BYTES / (1024 * 1024)),
                    &format!(
                        "The photo is too large (at most {} MB).",
                        MAX_PHOTO_BYTES / (1024 * 1024)
                    ),
                )),
                Err(PhotoFetchError::Failed(why)) => {
                    tracing::warn!(error = %why, "a chat photo could not be downloaded");
                    problems.push(c.t(
                        "Không tải được ảnh này. Xin gửi lại.",
                        "This photo could not be downloaded. Please send it again.",
                    ));
                }
            }
        }
        c.state.dialog = Dialog::Report(draft);
        let mut reply = self.report_prompt(c).await?;
        if !problems.is_empty() {
            reply.text = format!("⚠️ {}\n\n{}", problems.join("\n"), reply.text);
        }
        Ok(vec![reply])
    }

    async fn location(&self, c: &mut Conversation<'_>, lat: f64, lon: f64) -> Result<Vec<Outbound>, Error> {
        match &mut c.state.dialog {
            Dialog::Report(draft)
                if matches!(draft.step, DraftStep::Photos | DraftStep::Location | DraftStep::Confirm) =>
            {
                draft.lat = Some(lat);
                draft.lon = Some(lon);
                draft.step = DraftStep::Confirm;
                Ok(vec![self.report_prompt(c).await?])
            }
            _ => {
                let mut replies = self.menu(c, false).await?;
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}\n\n{}",
                        c.t(
                            "Vị trí được nhận khi anh/chị gửi phản ánh, ở bước «vị trí».",
                            "A location is taken at the “location” step of a report."
                        ),
                        first.text
                    );
                }
                Ok(replies)
            }
        }
    }

    async fn form(&self, c: &mut Conversation<'_>, action: FormAction) -> Result<Vec<Outbound>, Error> {
        let Dialog::Report(mut draft) = c.state.dialog.clone() else {
            return self.menu(c, false).await;
        };
        match action {
            FormAction::Cancel => {
                self.store.clear_draft_photos(&c.row.channel, &c.row.user_id).await?;
                let mut replies = self.menu(c, false).await?;
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}\n\n{}",
                        c.t("Đã hủy phản ánh.", "The report was cancelled."),
                        first.text
                    );
                }
                return Ok(replies);
            }
            FormAction::Next if draft.step == DraftStep::Photos => draft.step = DraftStep::Location,
            FormAction::NoLocation if matches!(draft.step, DraftStep::Location | DraftStep::Photos) => {
                draft.step = DraftStep::Confirm;
            }
            FormAction::Send if draft.step == DraftStep::Confirm => {
                c.state.dialog = Dialog::Report(draft);
                return self.send_report(c).await;
            }
            // An old button of an earlier step: show where the report is.
            _ => {}
        }
        c.state.dialog = Dialog::Report(draft);
        Ok(vec![self.report_prompt(c).await?])
    }

    async fn send_report(&self, c: &mut Conversation<'_>) -> Result<Vec<Outbound>, Error> {
        let Dialog::Report(draft) = c.state.dialog.clone() else {
            return self.menu(c, false).await;
        };
        let Some(commune) = c.row.commune_code.clone() else {
            return Ok(vec![self.ask_commune(c, Some(Goal::Feedback), None)]);
        };
        let photos = self.store.draft_photos(&c.row.channel, &c.row.user_id).await?;
        let intake = Intake {
            commune,
            category: draft.category.clone().unwrap_or_default(),
            text: draft.text.clone().unwrap_or_default(),
            lat: draft.lat,
            lon: draft.lon,
            name: draft.name.clone(),
            phone: draft.phone.clone(),
            email: None,
            photos,
            channel: c.row.channel.clone(),
            reporter_chat: Some(c.row.user_id.clone()),
        };
        match self.cases.submit(intake, c.now).await {
            Ok(submitted) => {
                self.store.clear_draft_photos(&c.row.channel, &c.row.user_id).await?;
                let mut replies = self.menu(c, false).await?;
                let link = self
                    .public_url
                    .as_deref()
                    .map(|u| format!("\n{} {u}/t/{}", c.t("Theo dõi tại:", "Track it at:"), submitted.code))
                    .unwrap_or_default();
                if let Some(first) = replies.first_mut() {
                    first.text = format!(
                        "{}{link}\n\n{}",
                        c.t(
                            &format!(
                                "✅ Đã nhận phản ánh. Mã theo dõi: {}. Kết quả xử lý sẽ được gửi đến anh/chị tại đây.",
                                submitted.code
                            ),
                            &format!(
                                "✅ Your report was received. Tracking code: {}. Its progress will be sent to you here.",
                                submitted.code
                            ),
                        ),
                        first.text
                    );
                }
                Ok(replies)
            }
            Err(Error::InvalidCase(problems)) => {
                // Nothing was stored; the draft stays as it is for the citizen to fix.
                let mut draft = draft;
                if problems.iter().any(|p| p.field == "text") {
                    draft.step = DraftStep::Text;
                } else if problems.iter().any(|p| p.field == "category") {
                    draft.step = DraftStep::Category;
                }
                c.state.dialog = Dialog::Report(draft);
                let mut reply = self.report_prompt(c).await?;
                let list: Vec<&str> = problems.iter().map(|p| p.message.get(c.lang)).collect();
                reply.text = format!("⚠️ {}\n\n{}", list.join("\n"), reply.text);
                Ok(vec![reply])
            }
            Err(e) => Err(e),
        }
    }

    // ---- following one's reports ------------------------------------------------------------------------------

    async fn my_cases(&self, c: &mut Conversation<'_>) -> Result<Vec<Outbound>, Error> {
        c.state.dialog = Dialog::Menu;
        let cases = self
            .store
            .cases_reported_in_chat(&c.row.channel, &c.row.user_id)
            .await?;
        if cases.is_empty() {
            let mut replies = self.menu(c, false).await?;
            if let Some(first) = replies.first_mut() {
                first.text = format!(
                    "{}\n\n{}",
                    c.t(
                        "Anh/chị chưa gửi phản ánh nào qua kênh này.",
                        "You have not sent any report through this channel."
                    ),
                    first.text
                );
            }
            return Ok(replies);
        }
        let mut text = c.t("Phản ánh của anh/chị:", "Your reports:");
        let mut buttons = Vec::new();
        for case in cases.iter().take(8) {
            let state = CaseState::parse(&case.state).map(|s| s.label().get(c.lang).to_owned());
            let category = self
                .cases
                .category(&case.category)
                .map(|k| k.name().get(c.lang).to_owned())
                .unwrap_or_default();
            text.push_str(&format!(
                "\n• {} — {category} — {} ({})",
                case.code,
                state.unwrap_or_default(),
                vn_day(case.received_at).format("%d/%m/%Y")
            ));
            buttons.push(button(case.code.clone(), Payload::Case(case.code.clone())));
        }
        buttons.push(button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home)));
        Ok(vec![Outbound {
            text,
            buttons,
            ..Outbound::default()
        }])
    }

    /// The case, if this person reported it through this channel.
    async fn own_case(&self, c: &Conversation<'_>, code: &str) -> Result<Option<crate::storage::CaseRow>, Error> {
        let case = match self.cases.find(code).await {
            Ok(case) => case,
            Err(Error::CaseNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(
            (case.channel == c.row.channel && case.reporter_chat.as_deref() == Some(c.row.user_id.as_str()))
                .then_some(case),
        )
    }

    async fn show_case(&self, c: &mut Conversation<'_>, code: &str) -> Result<Vec<Outbound>, Error> {
        let Some(case) = self.own_case(c, code).await? else {
            return self.my_cases(c).await;
        };
        let state = CaseState::parse(&case.state);
        let mut text = format!(
            "{} {}\n{}: {}",
            c.t("Phản ánh", "Report"),
            case.code,
            c.t("Trạng thái", "State"),
            state.map(|s| s.label().get(c.lang).to_owned()).unwrap_or_default()
        );
        if let Some(due) = case.answer_due_at.filter(|_| case.answered_at.is_none()) {
            text.push_str(&format!(
                "\n{}: {}",
                c.t("Hạn trả lời", "Answer due"),
                due.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!()))
                    .format("%H:%M %d/%m/%Y")
            ));
        }
        if let Some(answer) = self.store.case_answers(case.id).await?.last() {
            text.push_str(&format!(
                "\n\n{} ({}):\n{}",
                c.t("Trả lời", "Answer"),
                answer.by_unit,
                answer.what_was_done
            ));
        }
        if let Some(url) = &self.public_url {
            text.push_str(&format!("\n\n{} {url}/t/{}", c.t("Chi tiết:", "Details:"), case.code));
        }
        let mut buttons = Vec::new();
        let rated = self.store.case_rating(case.id).await?.is_some();
        if matches!(state, Some(CaseState::Answered | CaseState::Closed)) && !rated {
            text.push_str(&format!(
                "\n\n{}",
                c.t("Anh/chị đánh giá câu trả lời thế nào?", "How do you rate the answer?")
            ));
            buttons.extend(rating_buttons(&case.code));
        }
        buttons.push(button(c.t("↩ Về menu", "↩ Menu"), Payload::Menu(MenuItem::Home)));
        Ok(vec![Outbound {
            text,
            buttons,
            ..Outbound::default()
        }])
    }

    async fn rate(&self, c: &mut Conversation<'_>, code: &str, stars: i64) -> Result<Vec<Outbound>, Error> {
        let Some(case) = self.own_case(c, code).await? else {
            return self.my_cases(c).await;
        };
        let note = match self.cases.rate(&case, stars, None, c.now).await {
            Ok(()) => c.t(
                &format!("Cảm ơn anh/chị đã đánh giá {stars}/5 cho trả lời phản ánh {code}."),
                &format!("Thank you for rating the answer to {code} {stars}/5."),
            ),
            Err(Error::Conflict(_)) => c.t(
                &format!("Phản ánh {code} chưa có trả lời để đánh giá."),
                &format!("Report {code} has no answer to rate yet."),
            ),
            Err(Error::InvalidCase(problems)) => problems
                .first()
                .map(|p| p.message.get(c.lang).to_owned())
                .unwrap_or_default(),
            Err(e) => return Err(e),
        };
        let mut replies = self.menu(c, false).await?;
        if let Some(first) = replies.first_mut() {
            first.text = format!("{note}\n\n{}", first.text);
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
    buttons.push(button(lang.t("⏸ Tạm dừng", "⏸ Pause"), Payload::Menu(MenuItem::Home)));
    Outbound {
        text,
        buttons,
        remove_keyboard: true,
        ..Outbound::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for p in [
            Payload::Menu(MenuItem::Survey),
            Payload::Commune("11953".into()),
            Payload::Answer {
                screen: 12,
                code: "not_told".into(),
            },
            Payload::Back,
            Payload::Category("road".into()),
            Payload::Form(FormAction::NoLocation),
            Payload::Case("HY-7K3M9P".into()),
            Payload::Rate {
                code: "HY-7K3M9P".into(),
                stars: 4,
            },
        ] {
            assert_eq!(Payload::parse(&p.encode()), Some(p.clone()), "{p:?}");
        }
        assert_eq!(Payload::parse("s:x:1"), None);
        assert_eq!(Payload::parse("nonsense"), None);
        assert_eq!(Payload::parse("m:unknown"), None);
    }

    #[test]
    fn every_answer_button_of_the_questionnaire_fits_telegram_callback_data() {
        let q = crate::domain::questionnaire::Questionnaire::parse(include_str!("../../questionnaires/papi-2025.toml"))
            .unwrap();
        let screens = crate::conversation::screens(&q, Mode::Chat);
        for (s, screen) in screens.iter().enumerate() {
            for &i in &screen.questions {
                for o in q.questions[i].options() {
                    let payload = Payload::Answer {
                        screen: s,
                        code: o.code,
                    }
                    .encode();
                    assert!(payload.len() <= 64, "{payload}");
                }
            }
        }
    }

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

    #[test]
    fn names_fold_without_diacritics() {
        assert_eq!(fold("  Phố   Hiến "), "pho hien");
        assert_eq!(fold("Đông Hưng"), "dong hung");
        assert_eq!(fold("ĐỨC HỢP"), "duc hop");
    }

    #[test]
    fn start_payloads_name_communes() {
        assert_eq!(commune_in_payload("commune_11953"), Some("11953"));
        assert_eq!(commune_in_payload("c11953"), Some("11953"));
        assert_eq!(commune_in_payload("11953"), Some("11953"));
        assert_eq!(commune_in_payload("commune_"), None);
        assert_eq!(commune_in_payload("hello"), None);
        assert_eq!(commune_payload("11953"), "commune_11953");
    }
}
