//! What a citizen files: the checks of a report (every problem at once, nothing stored then), its photos
//! through the sanitiser, its tracking code and the reporter's key.

use chrono::{DateTime, Utc};

use super::{Cases, problem, sha256_hex};
use crate::domain::Channel;
use crate::domain::calendar::vn_day;
use crate::domain::cases::{Publicity, tracking_code};
use crate::domain::photos::{MAX_PHOTOS, sanitize};
use crate::domain::voice::{self, MAX_VOICE_NOTES};
use crate::services::Error;
use crate::storage::{NewAttachment, NewCase, ReporterRow, StoreError};

/// The shortest and longest report text accepted.
pub const MIN_TEXT_CHARS: usize = 15;
pub const MAX_TEXT_CHARS: usize = 5000;
/// The longest address accepted.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// What a citizen sends.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    pub commune: String,
    pub category: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Where it is, as the citizen typed it (instead of, or beside, a location).
    pub address: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub photos: Vec<Vec<u8>>,
    /// Voice notes (a chat's), stored as they came once recognised as audio.
    pub voice_notes: Vec<Vec<u8>>,
    pub channel: Channel,
    /// The chat it comes from (a Telegram or Zalo user id), where the case's news go.
    pub reporter_chat: Option<String>,
    /// "Cho phép công khai": the reporter lets the answered case be shown publicly (off unless chosen).
    pub public: bool,
    /// …and its photos too.
    pub public_photos: bool,
}

/// A stored case and what was stored with it.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub code: String,
    /// The key that lets the reporter rate, reply and reopen; given to them once, stored only hashed.
    pub reporter_key: String,
}

impl Cases {
    /// Checks and stores a citizen's report; every problem is listed at once and nothing is stored then.
    pub async fn submit(&self, intake: Intake, now: DateTime<Utc>) -> Result<Submitted, Error> {
        let mut problems = Vec::new();
        let text = intake.text.trim();
        let chars = text.chars().count();
        if chars < MIN_TEXT_CHARS {
            problems.push(problem(
                "text",
                "too_short",
                format!("Xin mô tả rõ hơn (ít nhất {MIN_TEXT_CHARS} ký tự): việc gì, ở đâu, từ khi nào."),
                format!("Please describe it (at least {MIN_TEXT_CHARS} characters): what, where, since when."),
            ));
        } else if chars > MAX_TEXT_CHARS {
            problems.push(problem(
                "text",
                "too_long",
                format!("Nội dung dài {chars} ký tự; tối đa {MAX_TEXT_CHARS} ký tự."),
                format!("The text has {chars} characters; at most {MAX_TEXT_CHARS}."),
            ));
        }
        let category = self.category(intake.category.trim());
        if category.is_none() {
            problems.push(problem(
                "category",
                "unknown_category",
                "Xin chọn loại phản ánh.",
                "Please pick a category.",
            ));
        }
        let commune = match crate::services::units::commune_on(&self.store, intake.commune.trim(), vn_day(now)).await {
            Ok(u) => Some(u),
            Err(Error::UnitNotFound(_) | Error::NotACommune(_)) => {
                problems.push(problem(
                    "commune",
                    "unknown_commune",
                    "Không có xã, phường nào mang mã này.",
                    "No commune or ward has this code.",
                ));
                None
            }
            Err(e) => return Err(e),
        };
        match (intake.lat, intake.lon) {
            (None, None) => {}
            (Some(lat), Some(lon)) if (6.0..=24.0).contains(&lat) && (102.0..=118.0).contains(&lon) => {}
            _ => problems.push(problem(
                "location",
                "invalid_location",
                "Vị trí không hợp lệ (cần cả vĩ độ và kinh độ, trong lãnh thổ Việt Nam).",
                "The location is not valid (latitude and longitude, within Viet Nam).",
            )),
        }
        let address = intake.address.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if address.is_some_and(|a| a.chars().count() > MAX_ADDRESS_CHARS) {
            problems.push(problem(
                "address",
                "address_too_long",
                format!("Địa chỉ dài quá {MAX_ADDRESS_CHARS} ký tự."),
                format!("The address is longer than {MAX_ADDRESS_CHARS} characters."),
            ));
        }
        if let Some(phone) = intake.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            if !(9..=11).contains(&digits.len()) || phone.chars().any(|c| !(c.is_ascii_digit() || " +-.()".contains(c)))
            {
                problems.push(problem(
                    "phone",
                    "invalid_phone",
                    "Số điện thoại không hợp lệ (ví dụ 0912 345 678).",
                    "The phone number is not valid (e.g. 0912 345 678).",
                ));
            }
        }
        if intake.photos.len() > MAX_PHOTOS {
            problems.push(problem(
                "photos",
                "too_many_photos",
                format!("Tối đa {MAX_PHOTOS} ảnh."),
                format!("At most {MAX_PHOTOS} photos."),
            ));
        }
        let mut photos = Vec::new();
        for (i, bytes) in intake.photos.iter().enumerate().take(MAX_PHOTOS) {
            match sanitize(bytes) {
                Ok(p) => photos.push(NewAttachment {
                    source: "report",
                    content_type: p.kind.mime().to_owned(),
                    sha256: p.sha256,
                    width: p.width,
                    height: p.height,
                    bytes: p.bytes,
                }),
                Err(e) => problems.push(problem(
                    &format!("photos[{i}]"),
                    "invalid_photo",
                    format!("Ảnh {}: {}", i + 1, e.message_vi()),
                    format!("Photo {}: {}", i + 1, e.message_en()),
                )),
            }
        }
        if intake.voice_notes.len() > MAX_VOICE_NOTES {
            problems.push(problem(
                "voice_notes",
                "too_many_voice_notes",
                format!("Tối đa {MAX_VOICE_NOTES} tin nhắn thoại."),
                format!("At most {MAX_VOICE_NOTES} voice notes."),
            ));
        }
        for (i, bytes) in intake.voice_notes.iter().enumerate().take(MAX_VOICE_NOTES) {
            match voice::check(bytes) {
                // Audio has no pixels: width and height stay 0.
                Ok(v) => photos.push(NewAttachment {
                    source: "report",
                    content_type: v.format.mime().to_owned(),
                    sha256: v.sha256,
                    width: 0,
                    height: 0,
                    bytes: v.bytes,
                }),
                Err(e) => {
                    let message = e.message();
                    problems.push(problem(
                        &format!("voice_notes[{i}]"),
                        "invalid_voice_note",
                        format!("Tin nhắn thoại {}: {}", i + 1, message.vi),
                        format!("Voice note {}: {}", i + 1, message.en),
                    ));
                }
            }
        }
        let (Some(category), Some(commune)) = (category, commune) else {
            return Err(Error::InvalidCase(problems));
        };
        if !problems.is_empty() {
            return Err(Error::InvalidCase(problems));
        }
        let key_bytes: [u8; 32] = rand::random();
        let reporter_key: String = key_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut new = NewCase {
            code: String::new(),
            unit_id: commune.id,
            category: category.code.clone(),
            subdimension: category.subdimension.clone(),
            office: category.office.clone(),
            tier: category.tier,
            text: text.to_owned(),
            lat: intake.lat,
            lon: intake.lon,
            address: address.map(str::to_owned),
            channel: intake.channel,
            reporter_chat: intake.reporter_chat.clone(),
            received_at: now,
            accept_due_at: self.rules.calendar.deadline(now, self.rules.accept_within, &[], 0),
            reporter: ReporterRow {
                name: clean(&intake.name),
                phone: clean(&intake.phone),
                email: clean(&intake.email),
                pseudonym: format!("Người phản ánh {}", &sha256_hex(&reporter_key)[..6].to_uppercase()),
            },
            reporter_key_hash: sha256_hex(&reporter_key),
            photos,
            publicity: Publicity::chosen(intake.public, intake.public_photos),
        };
        // A new code on the rare collision; five in a row means something else is wrong.
        for _ in 0..5 {
            new.code = tracking_code(rand::random());
            match self.store.insert_case(&new).await {
                Ok(_) => {
                    return Ok(Submitted {
                        code: new.code,
                        reporter_key,
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict("no free tracking code after five tries".into()))
    }
}
