//! Feedback cases: intake from citizens, the officials' actions with their rules (role, scope, state, revision),
//! deadlines in working time, the public tracking view, the citizen's reply and rating.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Error;
use super::accounts::Official;
use super::survey::vn_day;
use super::units::unit_by_code;
use crate::domain::calendar::{Limit, WorkCalendar};
use crate::domain::cases::{
    Action, ActionError, CaseState, Category, Tier, apply, normalize_tracking_code, tracking_code,
};
use crate::domain::photos::{MAX_PHOTOS, sanitize};
use crate::domain::units::{Unit, UnitLevel};
use crate::domain::{Problem, Text};
use crate::storage::{
    AuditEntry, CaseChange, CaseEvent, CaseRow, NewAttachment, NewCase, NewOutboxMessage, PauseChange, ReporterRow,
    Store, StoreError,
};

/// The shortest and longest report text accepted.
pub const MIN_TEXT_CHARS: usize = 15;
pub const MAX_TEXT_CHARS: usize = 5000;
/// How long after an answer the citizen may reopen the case.
pub const REOPEN_DAYS: i64 = 30;

/// Deadline limits per tier, and the working calendar they are counted in.
#[derive(Clone, Debug)]
pub struct CaseRules {
    pub calendar: WorkCalendar,
    pub accept_within: Limit,
    pub urgent: Limit,
    pub normal: Limit,
    pub complex: Limit,
}

impl CaseRules {
    /// The defaults of the provincial plans: accept within 8 working hours; answer urgent cases within 4 working
    /// hours, normal within 3 working days, complex within 10.
    pub fn defaults(calendar: WorkCalendar) -> Self {
        Self {
            calendar,
            accept_within: Limit::WorkingHours(8),
            urgent: Limit::WorkingHours(4),
            normal: Limit::WorkingDays(3),
            complex: Limit::WorkingDays(10),
        }
    }

    /// The calendar and limits an operator configured.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let d = config.deadlines;
        Self {
            calendar: config.calendar.clone(),
            accept_within: d.accept,
            urgent: d.urgent,
            normal: d.normal,
            complex: d.complex,
        }
    }

    fn limit(&self, tier: Tier) -> Limit {
        match tier {
            Tier::Urgent => self.urgent,
            Tier::Normal => self.normal,
            Tier::Complex => self.complex,
        }
    }
}

/// What a citizen sends.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    pub commune: String,
    pub category: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub photos: Vec<Vec<u8>>,
    pub channel: String,
    /// The chat it comes from (a Telegram or Zalo user id), where the case's news go.
    pub reporter_chat: Option<String>,
}

/// A stored case and what was stored with it.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub code: String,
    /// The key that lets the reporter rate, reply and reopen; given to them once, stored only hashed.
    pub reporter_key: String,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn problem(field: &str, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem::new(field, code, Text::new(vi, en))
}

/// The case service.
pub struct Cases {
    store: Store,
    categories: Vec<Category>,
    rules: CaseRules,
}

impl Cases {
    pub fn new(store: Store, categories: Vec<Category>, rules: CaseRules) -> Self {
        Self {
            store,
            categories,
            rules,
        }
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

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
        let commune = match super::units::commune_on(&self.store, intake.commune.trim(), vn_day(now)).await {
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
            tier: category.tier.as_str().to_owned(),
            text: text.to_owned(),
            lat: intake.lat,
            lon: intake.lon,
            channel: intake.channel.clone(),
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

    /// A case by a tracking code as typed by a citizen.
    pub async fn find(&self, code: &str) -> Result<CaseRow, Error> {
        let code = normalize_tracking_code(code).ok_or_else(|| Error::CaseNotFound(code.to_owned()))?;
        self.store.case_by_code(&code).await?.ok_or(Error::CaseNotFound(code))
    }

    /// Whether `key` is the reporter's key of this case.
    pub async fn is_reporter(&self, case: &CaseRow, key: &str) -> Result<bool, Error> {
        Ok(self.store.is_reporter_key(case.id, &sha256_hex(key)).await?)
    }

    /// The working minutes of the pauses of a case (time waiting for the citizen does not count).
    async fn pauses(&self, case: &CaseRow, now: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, Error> {
        Ok(self
            .store
            .case_pauses(case.id)
            .await?
            .into_iter()
            .map(|(a, b)| (a, b.unwrap_or(now)))
            .collect())
    }

    /// The answer deadline of a case of `tier` accepted at `accepted_at`.
    fn answer_due(
        &self,
        accepted_at: DateTime<Utc>,
        tier: Tier,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
        extension: i64,
    ) -> DateTime<Utc> {
        self.rules
            .calendar
            .deadline(accepted_at, self.rules.limit(tier), pauses, extension)
    }

    /// An official's action on a case: allowed for the role, within scope, in the case's state, on the version
    /// of the case the official saw (`revision`), with valid input.
    pub async fn act(
        &self,
        official: &Official,
        code: &str,
        revision: i64,
        action: Action,
        evidence: Vec<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let case = self.find(code).await?;
        let unit = self.store.unit(case.unit_id).await?;
        if !official.covers(&unit) {
            return Err(Error::Forbidden(format!("{} is outside your units", case.code)));
        }
        if !official.role.may(&action) {
            return Err(Error::Forbidden(format!("your role cannot {}", action.name())));
        }
        self.transition(case, Actor::Official(official), revision, action, evidence, now)
            .await
    }

    /// The citizen adds what was asked for (the clock runs again).
    pub async fn citizen_reply(&self, case: CaseRow, text: String, now: DateTime<Utc>) -> Result<(), Error> {
        let revision = case.revision;
        self.transition(
            case,
            Actor::Citizen,
            revision,
            Action::CitizenReplied { text },
            Vec::new(),
            now,
        )
        .await
    }

    /// The citizen reopens an answered case within [`REOPEN_DAYS`].
    pub async fn citizen_reopen(&self, case: CaseRow, reason: String, now: DateTime<Utc>) -> Result<(), Error> {
        if case.answered_at.is_some_and(|a| now - a > Duration::days(REOPEN_DAYS)) {
            return Err(Error::Conflict(format!(
                "cases can be reopened within {REOPEN_DAYS} days of the answer"
            )));
        }
        let revision = case.revision;
        self.transition(
            case,
            Actor::Citizen,
            revision,
            Action::Reopen { reason },
            Vec::new(),
            now,
        )
        .await
    }

    /// The citizen rates the answer 1–5 (SIPAS: handling of feedback).
    pub async fn rate(
        &self,
        case: &CaseRow,
        score: i64,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if !matches!(
            CaseState::parse(&case.state),
            Some(CaseState::Answered | CaseState::Closed)
        ) {
            return Err(Error::Conflict("only an answered case can be rated".into()));
        }
        if !(1..=5).contains(&score) {
            return Err(Error::InvalidCase(vec![problem(
                "score",
                "invalid_score",
                "Chọn từ 1 đến 5 sao.",
                "Pick 1 to 5 stars.",
            )]));
        }
        let comment = comment
            .map(|c| c.trim().chars().take(1000).collect::<String>())
            .filter(|c| !c.is_empty());
        Ok(self.store.rate_case(case.id, score, comment.as_deref(), now).await?)
    }

    async fn transition(
        &self,
        case: CaseRow,
        actor: Actor<'_>,
        revision: i64,
        action: Action,
        evidence: Vec<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if revision != case.revision {
            return Err(Error::Stale(case.code));
        }
        let state =
            CaseState::parse(&case.state).ok_or_else(|| StoreError::Corrupt(format!("case state {}", case.state)))?;
        let resume_to = case.resume_to.as_deref().and_then(CaseState::parse);
        let transition = apply(state, resume_to, &action).map_err(|e| match e {
            ActionError::NotNow { action, state } => Error::Conflict(format!(
                "«{action}» is not possible while the case is {}",
                state.label().en.to_lowercase()
            )),
            ActionError::Invalid(texts) => Error::InvalidCase(
                texts
                    .into_iter()
                    .map(|t| Problem::new(action.name(), "invalid", t))
                    .collect(),
            ),
        })?;
        let mut evidence_rows = Vec::new();
        for (i, bytes) in evidence.iter().enumerate().take(MAX_PHOTOS) {
            let p = sanitize(bytes).map_err(|e| {
                Error::InvalidCase(vec![problem(
                    &format!("evidence[{i}]"),
                    "invalid_photo",
                    e.message_vi(),
                    e.message_en(),
                )])
            })?;
            evidence_rows.push(NewAttachment {
                source: "answer",
                content_type: p.kind.mime().to_owned(),
                sha256: p.sha256,
                width: p.width,
                height: p.height,
                bytes: p.bytes,
            });
        }
        let tier = Tier::parse(&case.tier).unwrap_or(Tier::Normal);
        let mut change = CaseChange {
            case_id: case.id,
            expected_revision: case.revision,
            state: transition.to.as_str().to_owned(),
            resume_to: transition.resume_to.map(|s| s.as_str().to_owned()),
            unit_id: case.unit_id,
            office: case.office.clone(),
            tier: case.tier.clone(),
            answer_due_at: case.answer_due_at,
            extension_minutes: case.extension_minutes,
            answered_at: case.answered_at,
            closed_at: case.closed_at,
            duplicate_of: case.duplicate_of,
            event: CaseEvent {
                at: now,
                actor_kind: actor.kind(),
                official_id: actor.official_id(),
                action: action.name().to_owned(),
                from_state: Some(state.as_str().to_owned()),
                to_state: transition.to.as_str().to_owned(),
                public: true,
                note: None,
            },
            answer: None,
            evidence: evidence_rows,
            pause: None,
            audit: actor.official().map(|o| AuditEntry {
                official_id: Some(o.id),
                action: format!("case.{}", action.name()),
                target: case.code.clone(),
                before_state: Some(state.as_str().to_owned()),
                after_state: Some(transition.to.as_str().to_owned()),
                detail: None,
            }),
            notify: None,
        };
        match &action {
            Action::Accept { tier } => {
                change.tier = tier.as_str().to_owned();
                change.answer_due_at = Some(self.answer_due(now, *tier, &[], case.extension_minutes));
            }
            Action::Reject { reason, redirect_to } => {
                change.closed_at = Some(now);
                change.event.note = Some(format!("{reason}: {redirect_to}"));
            }
            Action::Forward { to_unit, note } => {
                let target = unit_by_code(&self.store, to_unit.trim(), vn_day(now)).await?;
                if target.level != UnitLevel::Commune || target.id == case.unit_id {
                    return Err(Error::InvalidCase(vec![problem(
                        "to_unit",
                        "invalid_unit",
                        "Chọn một xã, phường khác có thẩm quyền.",
                        "Pick another competent commune or ward.",
                    )]));
                }
                change.unit_id = target.id;
                change.answer_due_at = None;
                change.event.note = Some(format!("→ {}: {note}", target.name));
            }
            Action::MarkDuplicate { original } => {
                let original = self.find(original).await?;
                if original.id == case.id {
                    return Err(Error::InvalidCase(vec![problem(
                        "original",
                        "same_case",
                        "Phản ánh gốc phải là một phản ánh khác.",
                        "The original must be another case.",
                    )]));
                }
                change.duplicate_of = Some(original.id);
                change.closed_at = Some(now);
                change.event.note = Some(original.code);
            }
            Action::Assign { office } => {
                change.office = office.clone();
                change.event.public = false;
            }
            Action::RequestInfo { question } => {
                change.pause = Some(PauseChange::Start);
                change.event.note = Some(question.clone());
            }
            Action::CitizenReplied { text } => {
                change.pause = Some(PauseChange::End);
                change.event.note = Some(text.clone());
                change.event.public = false;
                change.answer_due_at = Some(
                    self.answer_due_since_accepted(&case, tier, case.extension_minutes, now)
                        .await?,
                );
            }
            Action::Extend { days, reason } => {
                change.extension_minutes += Limit::WorkingDays(*days).minutes(&self.rules.calendar);
                change.answer_due_at = Some(
                    self.answer_due_since_accepted(&case, tier, change.extension_minutes, now)
                        .await?,
                );
                change.event.note = Some(reason.clone());
            }
            Action::Answer(content) => {
                change.answered_at = Some(now);
                change.answer = Some((
                    content.what_was_done.trim().to_owned(),
                    content.by_unit.trim().to_owned(),
                    content.legal_basis.clone().filter(|b| !b.trim().is_empty()),
                    actor.official_id(),
                ));
            }
            Action::Close => change.closed_at = Some(now),
            Action::Reopen { reason } => {
                change.closed_at = None;
                change.answered_at = None;
                change.event.note = Some(reason.clone());
                change.answer_due_at = Some(self.answer_due(now, tier, &[], case.extension_minutes));
            }
        }
        if change.event.public {
            change.notify = Some(NewOutboxMessage {
                dedupe_key: format!("{}:{}:{}", case.code, action.name(), case.revision),
                // Only chats can be written to; the other channels' reporters read the tracking page.
                channel: if case.reporter_chat.is_some() {
                    case.channel.clone()
                } else {
                    "web".to_owned()
                },
                recipient: case.reporter_chat.clone().unwrap_or_else(|| case.code.clone()),
                body: notification(&case.code, transition.to, &action),
            });
        }
        if !self.store.change_case(&change).await? {
            return Err(Error::Stale(case.code));
        }
        Ok(())
    }

    /// The answer deadline counted from the acceptance, with the pauses so far and `extension` working minutes.
    async fn answer_due_since_accepted(
        &self,
        case: &CaseRow,
        tier: Tier,
        extension: i64,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let accepted_at = self.accepted_at(case).await?.unwrap_or(now);
        let pauses = self.pauses(case, now).await?;
        Ok(self.answer_due(accepted_at, tier, &pauses, extension))
    }

    /// When the case was accepted (the answer clock starts then).
    async fn accepted_at(&self, case: &CaseRow) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self
            .store
            .case_events(case.id)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.action == "accept")
            .map(|e| e.at))
    }

    /// Flags every open case past its deadline to the leaders of its unit (once per case): an internal timeline
    /// entry, and the case shows as escalated in their console. Returns how many were flagged now.
    pub async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut flagged = 0;
        for case in self.store.overdue_unescalated(now).await? {
            let missed = if case.state == "received" {
                "thụ lý"
            } else {
                "trả lời"
            };
            let note = format!("Quá hạn {missed}: đã báo lãnh đạo đơn vị.");
            if self.store.escalate_case(case.id, &case.state, &note, now).await? {
                tracing::warn!(code = %case.code, state = %case.state, "a case is overdue and was escalated");
                flagged += 1;
            }
        }
        Ok(flagged)
    }

    /// The unit of a case.
    pub async fn unit_of(&self, case: &CaseRow) -> Result<Unit, Error> {
        Ok(self.store.unit(case.unit_id).await?)
    }
}

/// Who acts on a case.
enum Actor<'a> {
    Official(&'a Official),
    Citizen,
}

impl Actor<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Official(_) => "official",
            Self::Citizen => "citizen",
        }
    }

    fn official(&self) -> Option<&Official> {
        match self {
            Self::Official(o) => Some(o),
            Self::Citizen => None,
        }
    }

    fn official_id(&self) -> Option<Uuid> {
        self.official().map(|o| o.id)
    }
}

/// The message the citizen gets when their case changes (Vietnamese; chats add English on request later).
/// The message a case's change sends to its reporter: the news in Vietnamese, the answer itself when there is one,
/// and rating buttons under an answer. Stored as JSON in the outbox; chat channels send it as it is.
fn notification(code: &str, state: CaseState, action: &Action) -> String {
    let mut text = match state {
        CaseState::Accepted => format!("Phản ánh {code} đã được thụ lý và đang chờ xử lý."),
        CaseState::Rejected => {
            format!("Phản ánh {code} không được thụ lý; xem lý do và nơi cần gửi trên trang theo dõi.")
        }
        CaseState::Answered => format!("Phản ánh {code} đã có trả lời."),
        CaseState::Closed => format!("Phản ánh {code} đã được đóng."),
        CaseState::WaitingForCitizen => format!("Phản ánh {code}: cơ quan xử lý cần anh/chị bổ sung thông tin."),
        CaseState::Duplicate => {
            format!("Phản ánh {code} trùng với một phản ánh đang được xử lý; anh/chị theo dõi phản ánh gốc.")
        }
        CaseState::Received => format!("Phản ánh {code} đã được chuyển đến đơn vị có thẩm quyền."),
        CaseState::Assigned => format!("Phản ánh {code} đang được xử lý lại."),
    };
    let mut buttons = Vec::new();
    if let Action::Answer(content) = action {
        text.push_str(&format!(
            "\n\n{}:\n{}",
            content.by_unit.trim(),
            content.what_was_done.trim()
        ));
        if let Some(basis) = content.legal_basis.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            text.push_str(&format!("\n\nCăn cứ: {basis}"));
        }
        text.push_str("\n\nXin anh/chị đánh giá câu trả lời:");
        buttons = super::chat::rating_buttons(code);
    }
    let message = ykien_bots::message::Outbound {
        text,
        buttons,
        ..ykien_bots::message::Outbound::default()
    };
    serde_json::to_string(&message).unwrap_or_else(|_| unreachable!("a message of strings serializes"))
}
