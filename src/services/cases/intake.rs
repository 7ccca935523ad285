//! What a citizen files: the checks of a report (every problem at once, nothing stored then) — its text and
//! contact fields cleaned of control and bidi characters and normalised to NFC (`domain::text`), each contact
//! field checked for length and form with the same limits on the form, the API and the chats —, its photos
//! through the sanitiser, its tracking code and the reporter's key.

use chrono::{DateTime, Utc};

use super::{Cases, problem};
use crate::domain::Channel;
use crate::domain::calendar::vn_day;
use crate::domain::cases::{Publicity, tracking_code};
use crate::domain::photos::MAX_PHOTOS;
use crate::domain::voice::{self, MAX_VOICE_NOTES};
use crate::services::Error;
use crate::services::{random_hex, sha256_hex};
use crate::storage::{NewAttachment, NewCase, NewOutboxMessage, ReporterRow, StoreError};

/// The shortest and longest report text accepted.
pub const MIN_TEXT_CHARS: usize = 15;
pub const MAX_TEXT_CHARS: usize = 5000;
/// The longest address accepted.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// The most photo bytes one report may carry, all photos together (each photo at most 10 MB): a phone photo is
/// 2–6 MB, and the bound keeps a request's body — and the memory it takes while read — small.
pub const MAX_REPORT_PHOTO_BYTES: usize = 20 * 1024 * 1024;

/// The longest reporter name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest phone number accepted as typed (spaces, dots and a country code included).
pub const MAX_PHONE_CHARS: usize = 20;

/// Whether `name` can be a person's name as typed or as a chat platform shares it: at least one letter (of any
/// script), and none of the characters of markup, addresses or code (`< > " @ / \\ { } [ ] = ;` and the backtick).
/// Digits and emoji stay allowed: Zalo and Telegram display names carry them, and refusing the name would refuse
/// the whole report.
fn is_name(name: &str) -> bool {
    name.chars().any(char::is_alphabetic) && !name.chars().any(|c| "<>\"@/\\{}[]=;`".contains(c))
}

/// Whether `email` is an ordinary address: `local@domain.tld`, the local part of ASCII letters, digits and
/// `.!#$%&'*+/=?^_`{|}~-` (no quoted forms, no `<`, `>`, spaces or commas), the domain of dot-separated labels of
/// letters, digits and `-`, ending in a letters-only top-level label. Narrower than RFC 5322 on purpose (the
/// `email_address` crate accepts quoted local parts and IP-literal domains, which no citizen needs and which an
/// official would have to copy by hand); written here because it is these fifteen lines.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

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

/// What the intake desk adds to a report it records: who, when it was received, and the scanned files.
pub(super) struct Desk<'a> {
    pub official: &'a crate::services::accounts::Official,
    pub received_at: DateTime<Utc>,
    /// Problems already found with the desk's own fields (channel, time received, files).
    pub problems: Vec<crate::domain::Problem>,
    /// Checked PDFs, stored with the photos.
    pub documents: Vec<NewAttachment>,
}

impl Cases {
    /// Checks and stores a citizen's report; every problem is listed at once and nothing is stored then.
    pub async fn submit(&self, intake: Intake, now: DateTime<Utc>) -> Result<Submitted, Error> {
        self.file(intake, now, None).await
    }

    /// Checks and stores a report, a citizen's own or one the intake desk records (`desk`).
    pub(super) async fn file(
        &self,
        mut intake: Intake,
        now: DateTime<Utc>,
        desk: Option<Desk<'_>>,
    ) -> Result<Submitted, Error> {
        let received_at = desk.as_ref().map_or(now, |d| d.received_at);
        let mut problems = Vec::new();
        // Control and bidi characters out, NFC in, before anything is counted or checked.
        let cleaned = crate::domain::text::clean(&intake.text);
        let text = cleaned.trim();
        let name = crate::domain::text::clean_optional(intake.name.as_deref());
        let phone = crate::domain::text::clean_optional(intake.phone.as_deref());
        let email = crate::domain::text::clean_optional(intake.email.as_deref());
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
            Ok(u) if desk.as_ref().is_some_and(|d| !d.official.covers(&u)) => {
                problems.push(problem(
                    "commune",
                    "outside_scope",
                    "Xã, phường này ngoài phạm vi tài khoản của anh/chị.",
                    "This commune or ward is outside your account's scope.",
                ));
                None
            }
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
        if let Some(name) = &name {
            let chars = name.chars().count();
            if chars > MAX_NAME_CHARS {
                problems.push(problem(
                    "name",
                    "name_too_long",
                    format!("Họ tên dài {chars} ký tự; tối đa {MAX_NAME_CHARS} ký tự."),
                    format!("The name has {chars} characters; at most {MAX_NAME_CHARS}."),
                ));
            } else if !is_name(name) {
                problems.push(problem(
                    "name",
                    "invalid_name",
                    "Họ tên không được chứa các ký tự < > \" @ / \\ { } [ ] = ; (ví dụ Nguyễn Văn An).",
                    "A name cannot contain < > \" @ / \\ { } [ ] = ; (e.g. Nguyễn Văn An).",
                ));
            }
        }
        if let Some(email) = &email {
            let chars = email.chars().count();
            if chars > MAX_EMAIL_CHARS {
                problems.push(problem(
                    "email",
                    "email_too_long",
                    format!("Địa chỉ email dài {chars} ký tự; tối đa {MAX_EMAIL_CHARS} ký tự."),
                    format!("The email address has {chars} characters; at most {MAX_EMAIL_CHARS}."),
                ));
            } else if !is_email(email) {
                problems.push(problem(
                    "email",
                    "invalid_email",
                    "Địa chỉ email không hợp lệ (ví dụ ten@gmail.com).",
                    "The email address is not valid (e.g. name@gmail.com).",
                ));
            }
        }
        if let Some(phone) = &phone {
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            if phone.chars().count() > MAX_PHONE_CHARS
                || !(9..=11).contains(&digits.len())
                || phone.chars().any(|c| !(c.is_ascii_digit() || " +-.()".contains(c)))
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
        let document_bytes: usize = desk
            .as_ref()
            .map_or(0, |d| d.documents.iter().map(|a| a.bytes.len()).sum());
        let photo_bytes: usize = intake.photos.iter().map(Vec::len).sum::<usize>() + document_bytes;
        if photo_bytes > MAX_REPORT_PHOTO_BYTES {
            problems.push(problem(
                "photos",
                "photos_too_large",
                "Tổng dung lượng ảnh quá lớn: tối đa 20 MB cho mọi ảnh của một phản ánh.",
                "The photos are too large together: at most 20 MB for all photos of a report.",
            ));
        }
        let mut photos = Vec::new();
        // Decoded only when the report can be stored as far as its photos' size goes.
        let sent = std::mem::take(&mut intake.photos);
        let sent = if photo_bytes <= MAX_REPORT_PHOTO_BYTES {
            sent
        } else {
            Vec::new()
        };
        for (i, bytes) in sent.into_iter().enumerate().take(MAX_PHOTOS) {
            match super::prepare_photo(bytes).await {
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
        let (recorded_by, documents) = match desk {
            Some(d) => {
                problems.extend(d.problems);
                (Some(d.official.id), d.documents)
            }
            None => (None, Vec::new()),
        };
        photos.extend(documents);
        let (Some(category), Some(commune)) = (category, commune) else {
            return Err(Error::InvalidCase(problems));
        };
        if !problems.is_empty() {
            return Err(Error::InvalidCase(problems));
        }
        let reporter_key = random_hex::<32>();
        // The unsubscribe link of the case's news by email (`/unsubscribe/{token}`).
        let news_token = email.as_ref().map(|_| random_hex::<24>());
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
            // The deadline counts from when the case was received, also when the desk types it in later.
            received_at,
            accept_due_at: self
                .rules
                .calendar
                .deadline(received_at, self.rules.accept_within, &[], 0),
            reporter: ReporterRow {
                name,
                phone,
                email,
                pseudonym: format!("Người phản ánh {}", &sha256_hex(&reporter_key)[..6].to_uppercase()),
            },
            reporter_key_hash: sha256_hex(&reporter_key),
            photos,
            publicity: Publicity::chosen(intake.public, intake.public_photos),
            recorded_by,
            recorded_at: now,
            news_token,
            news: Vec::new(),
        };
        // A new code on the rare collision; five in a row means something else is wrong.
        for _ in 0..5 {
            new.code = tracking_code(rand::random());
            // A case the desk recorded is confirmed by email to a reporter who left an address: they are not in
            // front of the tracking page, as a citizen filing on the web is.
            if let (Some(_), Some(token), Some(to)) = (recorded_by, &new.news_token, &new.reporter.email) {
                new.news = vec![NewOutboxMessage {
                    dedupe_key: format!("{}:intake:email", new.code),
                    channel: Channel::Email,
                    recipient: to.clone(),
                    body: receipt_email(&new, self.public_base(), token),
                }];
            }
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

/// The email confirming a case the intake desk recorded: its code, when it was received and by which channel, the
/// acceptance deadline, the tracking link, and the unsubscribe link of the case's news. Stored as JSON in the outbox.
fn receipt_email(case: &NewCase, base: &str, token: &str) -> String {
    let at = |t: DateTime<Utc>| {
        crate::domain::calendar::to_vietnam(t)
            .format("%H:%M %d/%m/%Y")
            .to_string()
    };
    let code = &case.code;
    let text = format!(
        "Bộ phận tiếp nhận đã ghi nhận phản ánh, kiến nghị của anh/chị ({channel}, lúc {received}).\n\
         Mã phản ánh: {code}\nHạn thụ lý: {due}\n\nTheo dõi phản ánh: {base}/t/{code}\n\
         Anh/chị sẽ nhận thư khi phản ánh được thụ lý, trả lời.\n\n\
         Thư này được gửi tự động từ hệ thống tiếp nhận phản ánh, kiến nghị; xin đừng trả lời thư.",
        channel = case.channel.label().to_lowercase(),
        received = at(case.received_at),
        due = at(case.accept_due_at),
    );
    let body = crate::services::mail::MailBody {
        subject: format!("[ykien] Phản ánh {code}: đã tiếp nhận"),
        text,
        unsubscribe: Some(format!("{base}/unsubscribe/{token}")),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{is_email, is_name};

    #[test]
    fn ordinary_emails_pass_and_markup_or_odd_forms_do_not() {
        for ok in ["an.nguyen@gmail.com", "a+b@ubnd.hungyen.gov.vn", "x_y-1@mail.co"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "<script>@x",
            "a@b",
            "a@@b.com",
            "@b.com",
            "a@b.c",
            "a b@c.com",
            "\"q\"@c.com",
            "a@[127.0.0.1]",
            "a..b@c.com",
            "a@-b.com",
            "a@b.123",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_letters_and_spaces() {
        assert!(is_name("Nguyễn Thị Minh Khai") && is_name("O'Neil-Trần (chị)") && is_name("Tuấn 1990 🌸"));
        assert!(!is_name("<b>An</b>") && !is_name("...") && !is_name("a@b.vn") && !is_name("x=1;"));
    }
}
