//! The intake desk (bộ phận tiếp nhận): cases received by hotline, in person, by letter or by email, recorded by
//! an official with when they were received (the deadline counts from then), the citizen's contact with the same
//! checks as the web form, and the scanned papers — PDF checked as PDF, images through the photo sanitiser.
//! Decision 31/2021/QĐ-TTg asks that feedback from every channel be entered into the one system.

use chrono::{DateTime, Duration, Utc};

use super::intake::Desk;
use super::{Cases, Intake, Submitted, problem};
use crate::domain::Channel;
use crate::domain::documents::{MAX_PDFS, PDF_MIME, check_pdf, looks_like_pdf};
use crate::domain::units::{Unit, UnitLevel};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::storage::NewAttachment;

/// How far back a received time may go: a letter opened late is still recorded, but a month-old date is a typo
/// more often than not (and would start the case already overdue).
pub const MAX_DAYS_BACK: i64 = 30;
/// A received time this much ahead of the server's clock is still "now" (the desk's PC clock may run fast).
const CLOCK_SLACK: Duration = Duration::minutes(5);

/// What the intake desk types in.
#[derive(Clone, Debug, Default)]
pub struct DeskIntake {
    /// The report as for any channel; its `channel` must be one of [`Channel::DESK`].
    pub intake: Intake,
    /// When it was received; `None` when what was typed is not a date and time.
    pub received_at: Option<DateTime<Utc>>,
    /// The scanned papers: PDF files and photos, told apart by their first bytes.
    pub files: Vec<Vec<u8>>,
}

/// Whether an official may record cases at the desk.
pub fn may_record(official: &Official) -> bool {
    matches!(official.role, Role::Intake | Role::Admin)
}

impl Cases {
    /// The communes an intake official records cases for (their scope's, valid on `day`), by name; empty for an
    /// administrator, who types the commune's code.
    pub async fn desk_communes(&self, official: &Official, day: chrono::NaiveDate) -> Result<Vec<Unit>, Error> {
        let Some(ids) = self.scope_units(official).await? else {
            return Ok(Vec::new());
        };
        let mut communes = Vec::new();
        for id in ids {
            let unit = self.store.unit(id).await?;
            if unit.level == UnitLevel::Commune && unit.is_valid_on(day) {
                communes.push(unit);
            }
        }
        communes.sort_by(|a, b| a.name.cmp(&b.name));
        communes.dedup_by(|a, b| a.id == b.id);
        Ok(communes)
    }

    /// Records a case the desk received; every problem is listed at once and nothing is stored then.
    pub async fn record_at_desk(
        &self,
        official: &Official,
        mut desk: DeskIntake,
        now: DateTime<Utc>,
    ) -> Result<Submitted, Error> {
        if !may_record(official) {
            return Err(Error::Forbidden("only the intake desk records cases".into()));
        }
        let mut problems = Vec::new();
        if !Channel::DESK.contains(&desk.intake.channel) {
            problems.push(problem(
                "channel",
                "invalid_channel",
                "Chọn kênh tiếp nhận: đường dây nóng, trực tiếp, thư hoặc thư điện tử.",
                "Pick the channel: hotline, in person, letter or email.",
            ));
        }
        let received_at = match desk.received_at {
            None => {
                problems.push(problem(
                    "received_at",
                    "invalid_received_at",
                    "Nhập thời điểm tiếp nhận (ngày và giờ, ví dụ 06/12/2026 14:30).",
                    "Give the time it was received (date and time).",
                ));
                now
            }
            Some(at) if at > now + CLOCK_SLACK => {
                problems.push(problem(
                    "received_at",
                    "received_in_future",
                    "Thời điểm tiếp nhận không thể ở tương lai.",
                    "The time received cannot be in the future.",
                ));
                now
            }
            Some(at) if at < now - Duration::days(MAX_DAYS_BACK) => {
                problems.push(problem(
                    "received_at",
                    "received_too_long_ago",
                    format!(
                        "Thời điểm tiếp nhận không được trước hôm nay quá {MAX_DAYS_BACK} ngày; xin kiểm tra lại ngày."
                    ),
                    format!("The time received cannot be more than {MAX_DAYS_BACK} days ago; check the date."),
                ));
                now
            }
            Some(at) => at.min(now),
        };
        let (pdfs, images): (Vec<_>, Vec<_>) = std::mem::take(&mut desk.files)
            .into_iter()
            .filter(|f| !f.is_empty())
            .partition(|f| looks_like_pdf(f));
        desk.intake.photos.extend(images);
        if pdfs.len() > MAX_PDFS {
            problems.push(problem(
                "files",
                "too_many_pdfs",
                format!("Tối đa {MAX_PDFS} tệp PDF."),
                format!("At most {MAX_PDFS} PDF files."),
            ));
        }
        let mut documents = Vec::new();
        for (i, bytes) in pdfs.into_iter().enumerate().take(MAX_PDFS) {
            let checked = tokio::task::spawn_blocking(move || check_pdf(bytes))
                .await
                .unwrap_or(Err(crate::domain::documents::PdfError::Unreadable));
            match checked {
                Ok(pdf) => documents.push(NewAttachment {
                    source: "report",
                    content_type: PDF_MIME.to_owned(),
                    sha256: pdf.sha256,
                    width: 0,
                    height: 0,
                    bytes: pdf.bytes,
                }),
                Err(e) => problems.push(problem(
                    &format!("files[{i}]"),
                    "invalid_pdf",
                    format!("Tệp PDF {}: {}", i + 1, e.message_vi()),
                    format!("PDF file {}: {}", i + 1, e.message_en()),
                )),
            }
        }
        let desk_part = Desk {
            official,
            received_at,
            problems,
            documents,
        };
        self.file(desk.intake, now, Some(desk_part)).await
    }
}
