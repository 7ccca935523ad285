//! Feedback cases (phản ánh, kiến nghị): categories, states, and the workflow rules — which action is allowed in
//! which state, and what it changes. Pure: the service loads a case, asks [`apply`], and stores the result with
//! its timeline event.
//!
//! received → accepted (or rejected, with a reason and the channel to use instead) → assigned → answered →
//! closed; reopened by the citizen; forwarded to the competent unit (never a dead-end "not ours"); marked as a
//! duplicate of an original. While waiting for the citizen the deadline clock pauses.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use super::Text;

mod case;
mod publicity;
pub mod similar;
pub mod templates;

pub use case::{Case, deadline};
pub use publicity::{MASK, Publicity, mask_contacts};

/// The office types that handle feedback in a commune (see `data/categories.toml`).
pub const OFFICE_TYPES: [&str; 6] = [
    "commune_office",
    "commune_economic",
    "commune_social",
    "commune_service_center",
    "commune_police",
    "commune_inspection",
];

/// The name of an office type, for people.
pub fn office_label(code: &str) -> Text {
    match code {
        "commune_office" => Text::new("Văn phòng HĐND và UBND", "Office of the People's Council and Committee"),
        "commune_economic" => Text::new(
            "Phòng Kinh tế (hạ tầng, đất đai, môi trường)",
            "Economic office (infrastructure, land, environment)",
        ),
        "commune_social" => Text::new("Phòng Văn hoá – Xã hội", "Culture and social affairs office"),
        "commune_service_center" => Text::new(
            "Trung tâm phục vụ hành chính công",
            "Public administrative service centre",
        ),
        "commune_police" => Text::new("Công an xã, phường", "Commune police"),
        "commune_inspection" => Text::new(
            "Thanh tra, Ban Thanh tra nhân dân",
            "Inspection, People's Inspection Board",
        ),
        other => Text::new(other, other),
    }
}

/// How fast a case must be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Urgent,
    Normal,
    Complex,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::Normal => "normal",
            Self::Complex => "complex",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Urgent, Self::Normal, Self::Complex]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    pub fn label(self) -> Text {
        match self {
            Self::Urgent => Text::new("Khẩn", "Urgent"),
            Self::Normal => Text::new("Thông thường", "Normal"),
            Self::Complex => Text::new("Phức tạp", "Complex"),
        }
    }
}

/// A category of feedback.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub vi: String,
    pub en: String,
    /// The PAPI sub-dimension it tells about, e.g. `d6.3` (basic infrastructure); its dimension is the prefix.
    pub subdimension: String,
    pub office: String,
    pub tier: Tier,
    /// Words and phrases that suggest this category in a citizen's own words (see `data/categories.toml`).
    #[serde(default)]
    pub keywords: Vec<String>,
}

impl Category {
    pub fn name(&self) -> Text {
        Text::new(&self.vi, &self.en)
    }

    /// The PAPI dimension code, e.g. `d6`.
    pub fn dimension(&self) -> &str {
        self.subdimension.split('.').next().unwrap_or(&self.subdimension)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    categories: Vec<Category>,
}

/// The category a citizen's own words most likely are about: the one whose keywords found in `text` (as whole words,
/// with or without diacritics) add up to the most words; the first in the file on a tie; `None` when no keyword
/// occurs. Only a suggestion: the chat asks the citizen to confirm or change it.
pub fn guess_category<'a>(categories: &'a [Category], text: &str) -> Option<&'a Category> {
    let text = crate::domain::folding::fold(text);
    let mut best: Option<(&Category, usize)> = None;
    for category in categories {
        let score: usize = category
            .keywords
            .iter()
            .map(|k| crate::domain::folding::fold(k))
            .filter(|k| crate::domain::folding::has_phrase(&text, k))
            .map(|k| k.split(' ').count())
            .sum();
        if score > 0 && best.is_none_or(|(_, b)| score > b) {
            best = Some((category, score));
        }
    }
    best.map(|(category, _)| category)
}

/// The categories shipped with ykien.
pub const BUNDLED_CATEGORIES: &str = include_str!("../../../data/categories.toml");

/// Parses and checks a categories file: unique codes, known office types, a sub-dimension code `dN.M`.
pub fn parse_categories(text: &str) -> Result<Vec<Category>, String> {
    let file: CategoriesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    for (i, c) in file.categories.iter().enumerate() {
        let at = format!("categories[{i}] ({})", c.code);
        if !seen.insert(c.code.as_str()) {
            return Err(format!("{at}: the code is used twice"));
        }
        if !OFFICE_TYPES.contains(&c.office.as_str()) {
            return Err(format!(
                "{at}: office '{}' is not one of {}",
                c.office,
                OFFICE_TYPES.join(", ")
            ));
        }
        let valid_sub = c.subdimension.split_once('.').is_some_and(|(d, n)| {
            d.len() == 2
                && d.starts_with('d')
                && d[1..].parse::<u8>().is_ok_and(|x| (1..=8).contains(&x))
                && n.parse::<u8>().is_ok()
        });
        if !valid_sub {
            return Err(format!(
                "{at}: subdimension '{}' is not a PAPI sub-dimension code like d6.3",
                c.subdimension
            ));
        }
        if c.vi.trim().is_empty() || c.en.trim().is_empty() {
            return Err(format!("{at}: needs a Vietnamese and an English name"));
        }
    }
    Ok(file.categories)
}

/// Where a case is in its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseState {
    Received,
    Accepted,
    Rejected,
    Assigned,
    WaitingForCitizen,
    Answered,
    Closed,
    Duplicate,
}

impl CaseState {
    pub const ALL: [Self; 8] = [
        Self::Received,
        Self::Accepted,
        Self::Rejected,
        Self::Assigned,
        Self::WaitingForCitizen,
        Self::Answered,
        Self::Closed,
        Self::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Assigned => "assigned",
            Self::WaitingForCitizen => "waiting_for_citizen",
            Self::Answered => "answered",
            Self::Closed => "closed",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> Text {
        match self {
            Self::Received => Text::new("Đã tiếp nhận", "Received"),
            Self::Accepted => Text::new("Đã thụ lý", "Accepted"),
            Self::Rejected => Text::new("Không thụ lý", "Rejected"),
            Self::Assigned => Text::new("Đang xử lý", "In progress"),
            Self::WaitingForCitizen => Text::new("Chờ người dân bổ sung", "Waiting for the citizen"),
            Self::Answered => Text::new("Đã trả lời", "Answered"),
            Self::Closed => Text::new("Đã đóng", "Closed"),
            Self::Duplicate => Text::new("Trùng với phản ánh khác", "Duplicate"),
        }
    }

    /// Whether the deadline still runs (the case awaits the authorities).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Received | Self::Accepted | Self::Assigned)
    }

    /// Whether nothing more happens to the case (unless reopened).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Rejected | Self::Closed | Self::Duplicate)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a case is not taken up, and where the citizen should go instead (never a dead end).
pub const REJECTION_REASONS: [(&str, &str, &str); 4] = [
    (
        "court",
        "Vụ việc thuộc thẩm quyền của Tòa án",
        "A matter for the courts",
    ),
    (
        "private_dispute",
        "Tranh chấp dân sự giữa các cá nhân",
        "A civil dispute between private persons",
    ),
    (
        "no_content",
        "Nội dung không rõ, không đủ thông tin để xử lý",
        "Unclear, not enough information to act on",
    ),
    (
        "abusive",
        "Nội dung xúc phạm, không mang tính phản ánh",
        "Abusive, not feedback",
    ),
];

/// The quality gate of an answer: what was done, by which unit; evidence and legal basis are optional but
/// shown. Vague answers ("đã tiếp thu") are what citizens complain about most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerContent {
    pub what_was_done: String,
    pub by_unit: String,
    pub legal_basis: Option<String>,
}

/// The shortest "what was done" accepted.
pub const MIN_ANSWER_CHARS: usize = 40;

impl AnswerContent {
    /// Checks the quality gate; every problem, in both languages.
    pub fn check(&self) -> Result<(), Vec<Text>> {
        let mut problems = Vec::new();
        let done = self.what_was_done.trim();
        if done.chars().count() < MIN_ANSWER_CHARS {
            problems.push(Text::new(
                format!("Nêu rõ việc đã làm (ít nhất {MIN_ANSWER_CHARS} ký tự): làm gì, ở đâu, khi nào, kết quả."),
                format!("Say what was done (at least {MIN_ANSWER_CHARS} characters): what, where, when, the result."),
            ));
        }
        if self.by_unit.trim().is_empty() {
            problems.push(Text::new("Nêu đơn vị đã xử lý.", "Name the unit that handled it."));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// An action on a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Accept { tier: Tier },
    Reject { reason: String, redirect_to: String },
    Forward { to_unit: String, note: String },
    MarkDuplicate { original: String },
    Assign { office: String },
    RequestInfo { question: String },
    CitizenReplied { text: String },
    Extend { days: u32, reason: String },
    Answer(AnswerContent),
    Close,
    Reopen { reason: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "accept",
            Self::Reject { .. } => "reject",
            Self::Forward { .. } => "forward",
            Self::MarkDuplicate { .. } => "mark_duplicate",
            Self::Assign { .. } => "assign",
            Self::RequestInfo { .. } => "request_info",
            Self::CitizenReplied { .. } => "citizen_replied",
            Self::Extend { .. } => "extend",
            Self::Answer(_) => "answer",
            Self::Close => "close",
            Self::Reopen { .. } => "reopen",
        }
    }

    /// What the timeline calls an action, by its name.
    pub fn label(name: &str) -> Text {
        match name {
            "submit" => Text::new("Người dân gửi phản ánh", "Submitted by the citizen"),
            "intake" => Text::new("Bộ phận tiếp nhận ghi nhận", "Recorded by the intake desk"),
            "accept" => Text::new("Thụ lý", "Accepted"),
            "reject" => Text::new("Không thụ lý", "Rejected"),
            "forward" => Text::new("Chuyển đơn vị có thẩm quyền", "Forwarded"),
            "mark_duplicate" => Text::new("Đánh dấu trùng", "Marked as duplicate"),
            "assign" => Text::new("Giao xử lý", "Assigned"),
            "request_info" => Text::new("Đề nghị bổ sung", "Information requested"),
            "citizen_replied" => Text::new("Người dân bổ sung", "The citizen replied"),
            "extend" => Text::new("Gia hạn", "Extended"),
            "answer" => Text::new("Trả lời", "Answered"),
            "close" => Text::new("Đóng", "Closed"),
            "reopen" => Text::new("Mở lại", "Reopened"),
            "escalate" => Text::new("Báo lãnh đạo (quá hạn)", "Escalated (overdue)"),
            other => Text::new(other, other),
        }
    }

    /// The states this action may be taken in.
    pub fn allowed_in(&self) -> &'static [CaseState] {
        use CaseState::*;
        match self {
            Self::Accept { .. } | Self::Reject { .. } => &[Received],
            Self::Forward { .. } => &[Received, Accepted, Assigned],
            Self::MarkDuplicate { .. } => &[Received, Accepted],
            Self::Assign { .. } => &[Accepted, Assigned],
            Self::RequestInfo { .. } => &[Accepted, Assigned],
            Self::CitizenReplied { .. } => &[WaitingForCitizen],
            Self::Extend { .. } => &[Accepted, Assigned, WaitingForCitizen],
            Self::Answer(_) => &[Accepted, Assigned],
            Self::Close => &[Answered],
            Self::Reopen { .. } => &[Answered, Closed],
        }
    }
}

/// The shortest reason accepted for an extension: a reason the citizen can read, not "x".
pub const MIN_EXTENSION_REASON_CHARS: usize = 15;
/// The most working days a case's deadline may be extended by, all extensions together.
pub const MAX_EXTENSION_DAYS_TOTAL: u32 = 30;

/// Why an action was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// Not allowed in the current state.
    NotNow { action: &'static str, state: CaseState },
    /// The input is not good enough, with every problem.
    Invalid(Vec<Text>),
}

/// What an allowed action changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub to: CaseState,
    /// The state to return to when the citizen replies (kept while waiting).
    pub resume_to: Option<CaseState>,
}

/// Decides whether `action` may be taken on a case in `state` (with `resume_to` remembered while waiting) and
/// what state follows.
pub fn apply(state: CaseState, resume_to: Option<CaseState>, action: &Action) -> Result<Transition, ActionError> {
    if !action.allowed_in().contains(&state) {
        return Err(ActionError::NotNow {
            action: action.name(),
            state,
        });
    }
    let required = |value: &str, vi: &str, en: &str| -> Result<(), ActionError> {
        if value.trim().is_empty() {
            Err(ActionError::Invalid(vec![Text::new(vi, en)]))
        } else {
            Ok(())
        }
    };
    let to = match action {
        Action::Accept { .. } => CaseState::Accepted,
        Action::Reject { reason, redirect_to } => {
            if !REJECTION_REASONS.iter().any(|(code, _, _)| code == reason) {
                return Err(ActionError::Invalid(vec![Text::new(
                    "Chọn lý do không thụ lý.",
                    "Pick a reason.",
                )]));
            }
            required(
                redirect_to,
                "Hướng dẫn người dân nơi cần gửi (cơ quan, kênh) – không để người dân không biết đi đâu.",
                "Tell the citizen where to go instead (body, channel).",
            )?;
            CaseState::Rejected
        }
        Action::Forward { to_unit, note } => {
            required(to_unit, "Chọn đơn vị có thẩm quyền.", "Pick the competent unit.")?;
            required(note, "Ghi chú lý do chuyển.", "Say why it is forwarded.")?;
            CaseState::Received
        }
        Action::MarkDuplicate { original } => {
            required(original, "Nhập mã phản ánh gốc.", "Give the original case's code.")?;
            CaseState::Duplicate
        }
        Action::Assign { office } => {
            if !OFFICE_TYPES.contains(&office.as_str()) {
                return Err(ActionError::Invalid(vec![Text::new(
                    "Chọn bộ phận xử lý.",
                    "Pick an office.",
                )]));
            }
            CaseState::Assigned
        }
        Action::RequestInfo { question } => {
            required(
                question,
                "Nêu thông tin cần người dân bổ sung.",
                "Say what the citizen should add.",
            )?;
            return Ok(Transition {
                to: CaseState::WaitingForCitizen,
                resume_to: Some(state),
            });
        }
        Action::CitizenReplied { text } => {
            required(text, "Nội dung bổ sung trống.", "The reply is empty.")?;
            resume_to.unwrap_or(CaseState::Accepted)
        }
        Action::Extend { days, reason } => {
            if !(1..=30).contains(days) {
                return Err(ActionError::Invalid(vec![Text::new(
                    "Gia hạn từ 1 đến 30 ngày làm việc.",
                    "Extend by 1 to 30 working days.",
                )]));
            }
            if reason.trim().chars().count() < MIN_EXTENSION_REASON_CHARS {
                return Err(ActionError::Invalid(vec![Text::new(
                    "Nêu rõ lý do gia hạn (ít nhất 15 ký tự): vì sao chưa giải quyết được đúng hạn.",
                    "Give the reason for the extension (at least 15 characters): why the deadline cannot be met.",
                )]));
            }
            state
        }
        Action::Answer(content) => {
            content.check().map_err(ActionError::Invalid)?;
            CaseState::Answered
        }
        Action::Close => CaseState::Closed,
        Action::Reopen { reason } => {
            required(reason, "Nêu lý do mở lại.", "Say why it is reopened.")?;
            CaseState::Assigned
        }
    };
    let resume_to = if to == CaseState::WaitingForCitizen {
        resume_to
    } else {
        None
    };
    Ok(Transition { to, resume_to })
}

/// A short, unambiguous tracking code: `PA-` and 8 characters from an alphabet without 0/O, 1/I/L, read aloud
/// or typed on a phone without confusion.
pub fn tracking_code(random: [u8; 8]) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let body: String = random
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("PA-{}-{}", &body[..4], &body[4..])
}

/// Normalizes what a citizen typed as a tracking code ("pa 7k3m-9xqz" → "PA-7K3M-9XQZ").
pub fn normalize_tracking_code(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    let body = compact.strip_prefix("PA")?;
    (body.len() == 8).then(|| format!("PA-{}-{}", &body[..4], &body[4..]))
}

#[cfg(test)]
mod tests;
