//! A feedback report written step by step in a chat: category, description, photos, location, confirmation; sent
//! through the same case intake as the web's. A report also starts from what a person types at the menu: the text
//! becomes the description, its category is guessed from the keywords of `data/categories.toml`, and they confirm.
//! At every step the words for skip, no, cancel, back and yes (`typed::Word`) do what the step's buttons do.

use serde::{Deserialize, Serialize};
use ykien_bots::message::Outbound;

use super::payloads::{FormAction, Payload, button};
use super::typed::Word;
use super::{Chats, Conversation, Dialog, Goal};
use crate::domain::cases::{Category, guess_category};
use crate::domain::channel::Channel;
use crate::domain::photos::MAX_PHOTOS;
use crate::services::Error;
use crate::services::cases::{Intake, MAX_TEXT_CHARS, MIN_TEXT_CHARS};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Draft {
    pub(super) step: DraftStep,
    pub(super) category: Option<String>,
    pub(super) text: Option<String>,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) name: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) photos: usize,
    /// The address typed at the location step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) address: Option<String>,
    /// The category step shows every category, not only the most used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) all_categories: bool,
    /// Voice notes kept with the report.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) voice_notes: usize,
    /// The category is being changed from the confirmation: go back there once it is chosen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) then_confirm: bool,
    /// "Cho phép công khai": the answered report may be shown publicly (its text, without the sender or photos).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) public: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum DraftStep {
    /// Text typed at the menu, read as a report: send it, change its category, or not.
    Proposed,
    #[default]
    Category,
    Text,
    Photos,
    Location,
    Confirm,
}

impl Draft {
    /// The draft once the person said yes to a report read from what they typed: on to the category if none was
    /// guessed, else to the photos.
    pub(super) fn kept(mut self) -> Self {
        if self.step == DraftStep::Proposed {
            self.step = if self.category.is_some() {
                DraftStep::Photos
            } else {
                DraftStep::Category
            };
        }
        self
    }
}

/// How many categories the category step shows before "Khác…".
pub(super) const COMMON_CATEGORIES: usize = 6;

/// The most a typed address may hold.
const MAX_ADDRESS_CHARS: usize = 300;

/// The description of a report given only as a voice note (the intake wants a text; officials listen to the note).
pub(super) const VOICE_ONLY_TEXT: &str = "Phản ánh bằng tin nhắn thoại (xin nghe bản ghi âm kèm theo).";

/// How much of a typed report is shown back when asking to confirm it.
const SHOWN_BACK_CHARS: usize = 400;

impl Chats {
    /// A category picked for the report.
    pub(super) async fn category(&self, c: &mut Conversation<'_>, code: String) -> Result<Vec<Outbound>, Error> {
        let Dialog::Report(draft) = &mut c.state.dialog else {
            return self.goal(c, Goal::Feedback).await;
        };
        if self.cases.category(&code).is_none() {
            return Ok(vec![self.report_prompt(c).await?]);
        }
        draft.category = Some(code);
        draft.all_categories = false;
        draft.step = if std::mem::take(&mut draft.then_confirm) {
            DraftStep::Confirm
        } else if draft.text.is_some() {
            DraftStep::Photos
        } else {
            DraftStep::Text
        };
        Ok(vec![self.report_prompt(c).await?])
    }

    /// Text typed at the menu that is not a greeting: a report for the person to confirm, its category guessed.
    pub(super) async fn propose_report(&self, c: &mut Conversation<'_>, text: &str) -> Result<Vec<Outbound>, Error> {
        self.store.clear_draft_files(&c.row.channel, &c.row.user_id).await?;
        c.state.dialog = Dialog::Report(Draft {
            step: DraftStep::Proposed,
            category: guess_category(self.cases.categories(), text).map(|k| k.code.clone()),
            text: Some(text.to_owned()),
            ..Draft::default()
        });
        Ok(vec![self.report_prompt(c).await?])
    }

    /// The categories in the order the category step shows them: the most used first ("other" always last).
    async fn categories_by_use(&self) -> Result<Vec<&Category>, Error> {
        let counts: std::collections::HashMap<String, i64> =
            self.store.case_counts_by_category().await?.into_iter().collect();
        let mut categories: Vec<&Category> = self.cases.categories().iter().collect();
        // A stable sort: equally used categories keep the file's order.
        categories.sort_by_key(|k| (k.code == "other", -counts.get(&k.code).copied().unwrap_or(0)));
        Ok(categories)
    }

    /// Text typed while writing a report: the description at its step, an address at the location step, a word
    /// for a step's action anywhere; other text adds to the description rather than being lost.
    pub(super) async fn typed_report(
        &self,
        c: &mut Conversation<'_>,
        mut draft: Draft,
        text: &str,
        word: Option<Word>,
    ) -> Result<Vec<Outbound>, Error> {
        use DraftStep as S;
        let action = match (draft.step, word) {
            (_, Some(Word::Cancel)) | (S::Proposed | S::Category | S::Text | S::Confirm, Some(Word::No)) => {
                Some(FormAction::Cancel)
            }
            (S::Proposed, Some(Word::Yes)) => Some(FormAction::Keep),
            (S::Confirm, Some(Word::Yes)) => Some(FormAction::Send),
            (S::Photos, Some(Word::Skip | Word::No | Word::Yes)) => Some(FormAction::Next),
            (S::Location, Some(Word::Skip | Word::No)) => Some(FormAction::NoLocation),
            (S::Category, Some(Word::Skip)) => return self.category(c, "other".to_owned()).await,
            (step, Some(Word::Back)) => {
                draft.step = match step {
                    S::Text | S::Category if draft.text.is_some() => S::Proposed,
                    S::Proposed | S::Category => return self.form(c, FormAction::Cancel).await,
                    S::Text => S::Category,
                    S::Photos => S::Text,
                    S::Location => S::Photos,
                    S::Confirm => S::Location,
                };
                c.state.dialog = Dialog::Report(draft);
                return Ok(vec![self.report_prompt(c).await?]);
            }
            _ => None,
        };
        if let Some(action) = action {
            return self.form(c, action).await;
        }
        let note = match draft.step {
            S::Text => {
                let chars = text.chars().count();
                let problem = if chars < MIN_TEXT_CHARS {
                    Some(c.t(
                        &format!("Nội dung mới có {chars} ký tự; xin mô tả rõ hơn (ít nhất {MIN_TEXT_CHARS} ký tự)."),
                        &format!(
                            "That is only {chars} characters; please describe it more (at least {MIN_TEXT_CHARS})."
                        ),
                    ))
                } else if chars > MAX_TEXT_CHARS {
                    Some(c.t(
                        &format!(
                            "Nội dung dài {chars} ký tự; tối đa {MAX_TEXT_CHARS} ký tự. Xin rút gọn rồi gửi lại. \
                             Nội dung anh/chị đã gửi (đã được giữ lại):\n«{}»",
                            shown_back(text)
                        ),
                        &format!(
                            "That is {chars} characters; at most {MAX_TEXT_CHARS}. Please shorten it and send it \
                             again. What you sent (kept):\n“{}”",
                            shown_back(text)
                        ),
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
                draft.step = S::Photos;
                None
            }
            S::Location => {
                let chars = text.chars().count();
                if !(3..=MAX_ADDRESS_CHARS).contains(&chars) {
                    let mut reply = self.report_prompt(c).await?;
                    reply.text = format!(
                        "⚠️ {}\n\n{}",
                        c.t(
                            &format!("Địa chỉ cần từ 3 đến {MAX_ADDRESS_CHARS} ký tự."),
                            &format!("An address takes 3 to {MAX_ADDRESS_CHARS} characters."),
                        ),
                        reply.text
                    );
                    return Ok(vec![reply]);
                }
                draft.address = Some(text.to_owned());
                draft.step = S::Confirm;
                Some(c.t(&format!("✓ Địa chỉ: {text}"), &format!("✓ Address: {text}")))
            }
            // No description yet at the category step: what they typed is it, and their category is guessed.
            S::Category if draft.text.is_none() && text.chars().count() >= MIN_TEXT_CHARS => {
                draft.category = guess_category(self.cases.categories(), text).map(|k| k.code.clone());
                draft.text = Some(text.to_owned());
                draft.step = S::Proposed;
                None
            }
            S::Category => Some(c.t(
                "Xin bấm một lĩnh vực bên dưới, hoặc gõ số thứ tự của nó.",
                "Please press one of the topics below, or type its number.",
            )),
            // More words about the same report (people write in several messages): added to the description.
            S::Proposed | S::Photos | S::Confirm => {
                let joined = match draft.text.take() {
                    Some(before) => format!("{before}\n{text}"),
                    None => text.to_owned(),
                };
                if draft.category.is_none() {
                    draft.category = guess_category(self.cases.categories(), &joined).map(|k| k.code.clone());
                }
                draft.text = Some(joined);
                Some(c.t("✓ Đã thêm vào nội dung phản ánh.", "✓ Added to the report's text."))
            }
        };
        c.state.dialog = Dialog::Report(draft);
        let mut reply = self.report_prompt(c).await?;
        if let Some(note) = note {
            reply.text = format!("{note}\n\n{}", reply.text);
        }
        Ok(vec![reply])
    }

    /// Contact details the person shared: they go with the report being written.
    pub(super) async fn contact(
        &self,
        c: &mut Conversation<'_>,
        name: Option<String>,
        phone: Option<String>,
    ) -> Result<Vec<Outbound>, Error> {
        if let Dialog::Report(draft) = &mut c.state.dialog {
            draft.name = name.or(draft.name.take());
            draft.phone = phone.or(draft.phone.take());
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

    /// The prompt of the report's current step.
    pub(super) async fn report_prompt(&self, c: &mut Conversation<'_>) -> Result<Outbound, Error> {
        let Dialog::Report(draft) = &c.state.dialog else {
            return Ok(Outbound::text(String::new()));
        };
        let cancel = button(c.t("✖ Hủy", "✖ Cancel"), Payload::Form(FormAction::Cancel));
        let category_name = |code: Option<&str>| {
            code.and_then(|k| self.cases.category(k))
                .map(|k| k.name().get(c.lang).to_owned())
        };
        Ok(match draft.step {
            DraftStep::Proposed => {
                let text = draft.text.as_deref().unwrap_or_default();
                let topic = match category_name(draft.category.as_deref()) {
                    Some(name) => c.t(&format!("Lĩnh vực: {name}"), &format!("Topic: {name}")),
                    None => c.t(
                        "Lĩnh vực: chưa rõ, anh/chị sẽ chọn ở bước sau.",
                        "Topic: not clear yet, you will pick it next.",
                    ),
                };
                Outbound {
                    text: format!(
                        "{}\n\n«{}»\n\n{topic}",
                        c.t("Anh/chị muốn gửi phản ánh này?", "Do you want to send this as feedback?"),
                        shown_back(text),
                    ),
                    buttons: vec![
                        button(c.t("✅ Gửi phản ánh này", "✅ Send it"), Payload::Form(FormAction::Keep)),
                        button(
                            c.t("🗂 Đổi lĩnh vực", "🗂 Change the topic"),
                            Payload::Form(FormAction::ChangeCategory),
                        ),
                        button(c.t("✖ Không gửi", "✖ Do not send"), Payload::Form(FormAction::Cancel)),
                    ],
                    ..Outbound::default()
                }
            }
            DraftStep::Category => {
                let categories = self.categories_by_use().await?;
                let (shown, more): (Vec<&Category>, bool) = if draft.all_categories {
                    (categories.into_iter().skip(COMMON_CATEGORIES).collect(), false)
                } else {
                    let more = categories.len() > COMMON_CATEGORIES;
                    (categories.into_iter().take(COMMON_CATEGORIES).collect(), more)
                };
                Outbound {
                    text: if draft.all_categories {
                        c.t(
                            "Các lĩnh vực khác: bấm một lĩnh vực, hoặc gõ số thứ tự của nó.",
                            "The other topics: press one, or type its number.",
                        )
                    } else {
                        c.t(
                            "Phản ánh của anh/chị về việc gì? Bấm một lĩnh vực (hoặc gõ số thứ tự của nó); «Khác…» \
                             để xem các lĩnh vực khác.",
                            "What is your feedback about? Press a topic (or type its number); “Other…” for more \
                             topics.",
                        )
                    },
                    buttons: shown
                        .iter()
                        .map(|k| button(k.name().get(c.lang), Payload::Category(k.code.clone())))
                        .chain(more.then(|| {
                            button(c.t("Khác…", "Other…"), Payload::Form(FormAction::MoreCategories))
                        }))
                        .chain([cancel])
                        .collect(),
                    ..Outbound::default()
                }
            }
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
                        &format!(
                            "Gửi ảnh chụp sự việc (tối đa {MAX_PHOTOS} ảnh) hoặc tin nhắn thoại nếu có, rồi bấm \
                             «Tiếp tục»; không có ảnh thì bấm «Không có ảnh, tiếp tục» hoặc gõ «bỏ qua»."
                        ),
                        &format!(
                            "Send photos of it (at most {MAX_PHOTOS}) or voice notes if you have any, then press \
                             “Continue”; without photos press “No photos, continue” or type “skip”."
                        ),
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
                text: match c.channel {
                    // Zalo has no location-request button: the person shares it with Zalo's own feature.
                    Channel::Zalo => c.t(
                        "Sự việc ở đâu? Gửi vị trí bằng chức năng chia sẻ vị trí của Zalo, hoặc gõ địa chỉ (ví dụ: \
                         Tổ 5, đường Nguyễn Văn Linh), hoặc bấm «Bỏ qua vị trí».",
                        "Where is it? Share the location with Zalo's location sharing, or type the address (e.g. \
                         Tổ 5, đường Nguyễn Văn Linh), or press “Skip location”.",
                    ),
                    _ => c.t(
                        "Sự việc ở đâu? Bấm «📍 Gửi vị trí» bên dưới, hoặc gõ địa chỉ (ví dụ: Tổ 5, đường Nguyễn \
                         Văn Linh), hoặc bấm «Bỏ qua vị trí».",
                        "Where is it? Press “📍 Send location” below, or type the address (e.g. Tổ 5, đường \
                         Nguyễn Văn Linh), or press “Skip location”.",
                    ),
                },
                buttons: vec![
                    button(c.t("Bỏ qua vị trí", "Skip location"), Payload::Form(FormAction::NoLocation)),
                    cancel,
                ],
                request_location: Some(c.t("📍 Gửi vị trí", "📍 Send location")),
                ..Outbound::default()
            },
            DraftStep::Confirm => {
                let category = category_name(draft.category.as_deref()).unwrap_or_default();
                let place = match (draft.lat, draft.lon, &draft.address) {
                    (Some(lat), Some(lon), _) => format!("{lat:.5}, {lon:.5}"),
                    (_, _, Some(address)) => address.clone(),
                    _ => c.t("không có", "none"),
                };
                let public = if draft.public {
                    c.t(
                        "có, khi đã được trả lời (không kèm tên, số điện thoại, ảnh)",
                        "yes, once answered (without name, phone or photos)",
                    )
                } else {
                    c.t("không", "no")
                };
                Outbound {
                    text: format!(
                        "{}\n\n{}: {category}\n{}: {}\n{}: {}{}\n{}: {place}\n{}: {public}\n\n{}",
                        c.t("Xin kiểm tra lại phản ánh:", "Please check your report:"),
                        c.t("Lĩnh vực", "Topic"),
                        c.t("Nội dung", "Text"),
                        draft.text.as_deref().unwrap_or_default(),
                        c.t("Ảnh", "Photos"),
                        draft.photos,
                        if draft.voice_notes > 0 {
                            format!("\n{}: {}", c.t("Tin nhắn thoại", "Voice notes"), draft.voice_notes)
                        } else {
                            String::new()
                        },
                        c.t("Vị trí", "Location"),
                        c.t("Công khai", "Public"),
                        c.t("Gửi phản ánh này?", "Send this report?"),
                    ),
                    buttons: vec![
                        button(c.t("✅ Gửi", "✅ Send"), Payload::Form(FormAction::Send)),
                        button(
                            if draft.public {
                                c.t("🔒 Không công khai", "🔒 Do not show publicly")
                            } else {
                                c.t("🌐 Cho phép công khai", "🌐 Allow to show publicly")
                            },
                            Payload::Form(FormAction::TogglePublic),
                        ),
                        button(
                            c.t("🗂 Đổi lĩnh vực", "🗂 Change the topic"),
                            Payload::Form(FormAction::ChangeCategory),
                        ),
                        cancel,
                    ],
                    ..Outbound::default()
                }
            }
        })
    }

    pub(super) async fn location(&self, c: &mut Conversation<'_>, lat: f64, lon: f64) -> Result<Vec<Outbound>, Error> {
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

    pub(super) async fn form(&self, c: &mut Conversation<'_>, action: FormAction) -> Result<Vec<Outbound>, Error> {
        let Dialog::Report(mut draft) = c.state.dialog.clone() else {
            return self.menu(c, false).await;
        };
        match action {
            FormAction::Cancel => {
                self.store.clear_draft_files(&c.row.channel, &c.row.user_id).await?;
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
            FormAction::Keep if draft.step == DraftStep::Proposed => {
                draft = draft.kept();
                if c.row.commune_code.is_none() {
                    c.state.dialog = Dialog::Report(draft);
                    return Ok(vec![self.ask_commune(c, Some(Goal::Feedback), None)]);
                }
            }
            FormAction::ChangeCategory if matches!(draft.step, DraftStep::Proposed | DraftStep::Confirm) => {
                draft.then_confirm = draft.step == DraftStep::Confirm;
                draft.step = DraftStep::Category;
                draft.all_categories = false;
            }
            FormAction::MoreCategories if draft.step == DraftStep::Category => draft.all_categories = true,
            FormAction::Next if draft.step == DraftStep::Photos => draft.step = DraftStep::Location,
            FormAction::NoLocation if matches!(draft.step, DraftStep::Location | DraftStep::Photos) => {
                draft.step = DraftStep::Confirm;
            }
            FormAction::TogglePublic if draft.step == DraftStep::Confirm => draft.public = !draft.public,
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
        let (voice_notes, photos): (Vec<_>, Vec<_>) = self
            .store
            .draft_files(&c.row.channel, &c.row.user_id)
            .await?
            .into_iter()
            .partition(|(content_type, _)| content_type.starts_with("audio/"));
        let photos = photos.into_iter().map(|(_, bytes)| bytes).collect();
        let voice_notes = voice_notes.into_iter().map(|(_, bytes)| bytes).collect();
        let intake = Intake {
            commune,
            category: draft.category.clone().unwrap_or_default(),
            text: draft.text.clone().unwrap_or_default(),
            lat: draft.lat,
            lon: draft.lon,
            address: draft.address.clone(),
            name: draft.name.clone(),
            phone: draft.phone.clone(),
            email: None,
            photos,
            voice_notes,
            channel: c.channel,
            reporter_chat: Some(c.row.user_id.clone()),
            public: draft.public,
            ..Intake::default()
        };
        match self.cases.submit(intake, c.now).await {
            Ok(submitted) => {
                self.store.clear_draft_files(&c.row.channel, &c.row.user_id).await?;
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
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A typed text as shown back to its writer: whole, or its beginning and "…".
fn shown_back(text: &str) -> String {
    if text.chars().count() <= SHOWN_BACK_CHARS {
        return text.to_owned();
    }
    let mut shown: String = text.chars().take(SHOWN_BACK_CHARS).collect();
    shown.push('…');
    shown
}
