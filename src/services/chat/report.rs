//! A feedback report written step by step in a chat: category, description, photos, location, confirmation; sent
//! through the same case intake as the web's.

use serde::{Deserialize, Serialize};
use ykien_bots::message::Outbound;

use super::payloads::{FormAction, Payload, button};
use super::{Chats, Conversation, Dialog, Goal, PhotoFetchError};
use crate::domain::Lang;
use crate::domain::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS, sanitize};
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
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum DraftStep {
    #[default]
    Category,
    Text,
    Photos,
    Location,
    Confirm,
}

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
        draft.step = DraftStep::Text;
        Ok(vec![self.report_prompt(c).await?])
    }

    /// Text typed while writing a report: the description at its step, otherwise not used.
    pub(super) async fn typed_report(
        &self,
        c: &mut Conversation<'_>,
        mut draft: Draft,
        text: &str,
    ) -> Result<Vec<Outbound>, Error> {
        match draft.step {
            DraftStep::Text => {
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

    pub(super) async fn photo(
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
            let fetched = c.photos.fetch(reference, MAX_PHOTO_BYTES).await.map(|bytes| {
                // The upload budget the web and the API share (`services::uploads`), per chat user and commune.
                let sender = crate::services::uploads::Sender::Chat(&c.row.channel, &c.row.user_id);
                let charged = self
                    .cases
                    .uploads()
                    .charge(&sender, c.row.commune_code.as_deref(), bytes.len() as u64);
                (bytes, charged)
            });
            match fetched {
                Ok((_, Err(over))) => problems.push(c.t(&over.message_vi(), &over.message_en())),
                Ok((bytes, Ok(()))) => match sanitize(&bytes) {
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
            channel: c.channel,
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
}
