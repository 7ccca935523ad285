//! What a report carries besides its text: photos (sanitised like the web's) and voice notes (recognised by
//! content), downloaded from the platform and kept with the draft until the report is sent.

use ykien_bots::message::Outbound;

use super::report::{Draft, DraftStep, VOICE_ONLY_TEXT};
use super::{Chats, Conversation, Dialog, PhotoFetchError};
use crate::domain::Lang;
use crate::domain::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS, sanitize};
use crate::domain::voice::{self, MAX_VOICE_BYTES, MAX_VOICE_NOTES};
use crate::services::Error;
use crate::services::cases::{MAX_TEXT_CHARS, MIN_TEXT_CHARS};

impl Chats {
    /// The report a photo or voice note joins: the one being written, or a new one when it comes at the menu (an
    /// attachment sent first starts a report). At any other step the reply `refused` (Vietnamese, English), and the
    /// step keeps its question.
    async fn attachment_draft(
        &self,
        c: &mut Conversation<'_>,
        refused: (&str, &str),
    ) -> Result<Result<Draft, Vec<Outbound>>, Error> {
        match c.state.dialog.clone() {
            Dialog::Report(draft) => Ok(Ok(draft)),
            Dialog::Menu => {
                self.store.clear_draft_files(&c.row.channel, &c.row.user_id).await?;
                Ok(Ok(Draft::default()))
            }
            Dialog::Survey {} | Dialog::Commune { .. } | Dialog::Quiz { .. } => {
                c.keep_choices = true;
                Ok(Err(vec![Outbound::text(c.t(refused.0, refused.1))]))
            }
        }
    }

    pub(super) async fn photo(
        &self,
        c: &mut Conversation<'_>,
        refs: &[String],
        caption: Option<&str>,
    ) -> Result<Vec<Outbound>, Error> {
        let refused = (
            "Ảnh chỉ được nhận khi gửi phản ánh. Ở bước này xin bấm nút hoặc gõ chữ.",
            "Photos are taken with feedback reports. At this step please press a button or type.",
        );
        let mut draft = match self.attachment_draft(c, refused).await? {
            Ok(draft) => draft,
            Err(refusal) => return Ok(refusal),
        };
        // A caption long enough is the description when there is none yet.
        if draft.text.is_none()
            && let Some(caption) = caption.filter(|t| t.chars().count() >= MIN_TEXT_CHARS)
        {
            draft.text = Some(caption.chars().take(MAX_TEXT_CHARS).collect());
            if draft.step == DraftStep::Text {
                draft.step = DraftStep::Photos;
            }
        }
        let before = draft.photos;
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
                Ok(bytes) if let Err(over) = self.charge_upload(c, bytes.len()) => problems.push(over),
                Ok(bytes) => match sanitize(&bytes) {
                    Ok(photo) => {
                        self.store
                            .add_draft_file(&c.row.channel, &c.row.user_id, photo.kind.mime(), &photo.bytes, c.now)
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
        // Photos are kept at whatever step they come; the photo step's prompt counts them itself.
        let note = (draft.step != DraftStep::Photos && draft.photos > before).then(|| {
            c.t(
                &format!("✓ Đã nhận {} ảnh.", draft.photos),
                &format!("✓ {} photo(s) received.", draft.photos),
            )
        });
        c.state.dialog = Dialog::Report(draft);
        let mut reply = self.report_prompt(c).await?;
        if let Some(note) = note {
            reply.text = format!("{note}\n\n{}", reply.text);
        }
        if !problems.is_empty() {
            reply.text = format!("⚠️ {}\n\n{}", problems.join("\n"), reply.text);
        }
        Ok(vec![reply])
    }

    /// A voice note: kept with the report being written (standing for the description when none was typed yet);
    /// outside a report it starts one; in the survey and at the commune question it is not an answer.
    pub(super) async fn voice(
        &self,
        c: &mut Conversation<'_>,
        reference: &str,
        duration_secs: Option<u32>,
    ) -> Result<Vec<Outbound>, Error> {
        let refused = (
            "Tin nhắn thoại chỉ được nhận khi gửi phản ánh. Ở bước này xin bấm nút hoặc gõ chữ.",
            "Voice notes are taken with feedback reports. At this step please press a button or type.",
        );
        let mut draft = match self.attachment_draft(c, refused).await? {
            Ok(draft) => draft,
            Err(refusal) => return Ok(refusal),
        };
        let note = if draft.voice_notes >= MAX_VOICE_NOTES {
            c.t(
                &format!("⚠️ Mỗi phản ánh nhận tối đa {MAX_VOICE_NOTES} tin nhắn thoại; tin này không được nhận."),
                &format!("⚠️ A report takes at most {MAX_VOICE_NOTES} voice notes; this one was not taken."),
            )
        } else {
            match c.photos.fetch(reference, MAX_VOICE_BYTES).await {
                Ok(bytes) if let Err(over) = self.charge_upload(c, bytes.len()) => format!("⚠️ {over}"),
                Ok(bytes) => match voice::check(&bytes) {
                    Ok(note) => {
                        self.store
                            .add_draft_file(&c.row.channel, &c.row.user_id, note.format.mime(), &note.bytes, c.now)
                            .await?;
                        draft.voice_notes += 1;
                        if draft.text.is_none() {
                            draft.text = Some(VOICE_ONLY_TEXT.to_owned());
                            if draft.step == DraftStep::Text {
                                draft.step = DraftStep::Photos;
                            }
                        }
                        match duration_secs {
                            Some(secs) => c.t(
                                &format!("✓ Đã nhận tin nhắn thoại ({secs} giây)."),
                                &format!("✓ Voice note received ({secs} s)."),
                            ),
                            None => c.t("✓ Đã nhận tin nhắn thoại.", "✓ Voice note received."),
                        }
                    }
                    Err(e) => format!("⚠️ {}", e.message().get(c.lang)),
                },
                Err(PhotoFetchError::TooLarge) => {
                    format!("⚠️ {}", voice::VoiceError::TooLarge.message().get(c.lang))
                }
                Err(PhotoFetchError::Failed(why)) => {
                    tracing::warn!(error = %why, "a chat voice note could not be downloaded");
                    c.t(
                        "⚠️ Không tải được tin nhắn thoại này. Xin gửi lại.",
                        "⚠️ This voice note could not be downloaded. Please send it again.",
                    )
                }
            }
        };
        c.state.dialog = Dialog::Report(draft);
        let mut reply = self.report_prompt(c).await?;
        reply.text = format!("{note}\n\n{}", reply.text);
        Ok(vec![reply])
    }

    /// Charges a downloaded file to the upload budget the web form and the API share (`services::uploads`), per
    /// chat user and commune; the Vietnamese or English refusal when the budget is spent.
    fn charge_upload(&self, c: &Conversation<'_>, bytes: usize) -> Result<(), String> {
        let sender = crate::services::uploads::Sender::Chat(&c.row.channel, &c.row.user_id);
        self.cases
            .uploads()
            .charge(&sender, c.row.commune_code.as_deref(), bytes as u64)
            .map_err(|over| c.t(&over.message_vi(), &over.message_en()))
    }
}
