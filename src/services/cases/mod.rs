//! Feedback cases, one folder a question: `intake` (what a citizen files and its checks), `actions` (the
//! officials' and the citizen's actions with their rules: role, state, revision, deadlines in working time, and
//! the news each sends), `view` (what every surface shows of a case, and which cases an official may see).

mod actions;
mod desk;
mod intake;
mod news;
mod suggest;
mod view;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Error;
use super::accounts::Official;
use crate::domain::calendar::{Limit, WorkCalendar};
use crate::domain::cases::{Case, CaseState, Category, Tier, normalize_tracking_code};
use crate::domain::units::Unit;
use crate::services::sha256_hex;
use crate::storage::Store;

pub use actions::REOPEN_DAYS;
pub use desk::{DeskIntake, MAX_DAYS_BACK, may_record};
pub use intake::{
    Intake, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_REPORT_PHOTO_BYTES, MAX_TEXT_CHARS, MIN_TEXT_CHARS,
    Submitted,
};
pub use news::NewsLink;
pub use suggest::{DuplicateSuggestion, FilledTemplate, RECENT_DAYS};
pub use view::{CaseView, InboxFilter, Reporter};

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

    /// The answer limit of a tier (the receipt says it).
    pub fn limit_of(&self, tier: Tier) -> Limit {
        self.limit(tier)
    }

    fn limit(&self, tier: Tier) -> Limit {
        match tier {
            Tier::Urgent => self.urgent,
            Tier::Normal => self.normal,
            Tier::Complex => self.complex,
        }
    }
}

/// The case service.
pub struct Cases {
    store: Store,
    categories: Vec<Category>,
    rules: CaseRules,
    /// The hourly byte budget of photo uploads, shared by the form, the API and the chats.
    uploads: crate::services::uploads::UploadBudget,
    /// The public address (`YKIEN_PUBLIC_URL`), for the links in the reporters' news by email.
    public_url: Option<String>,
}

impl Cases {
    pub fn new(store: Store, categories: Vec<Category>, rules: CaseRules) -> Self {
        Self {
            store,
            categories,
            rules,
            uploads: crate::services::uploads::UploadBudget::default(),
            public_url: None,
        }
    }

    /// The same, with the public address the reporters' news by email link to.
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    /// The public address, without a trailing slash (empty when none is configured).
    pub fn public_base(&self) -> &str {
        self.public_url.as_deref().unwrap_or_default().trim_end_matches('/')
    }

    /// The same, with upload budgets of `per_sender` and `per_commune` bytes an hour.
    pub fn with_upload_budget(mut self, per_sender: u64, per_commune: u64) -> Self {
        self.uploads = crate::services::uploads::UploadBudget::new(per_sender, per_commune);
        self
    }

    /// The upload budget every channel charges photos to.
    pub fn uploads(&self) -> &crate::services::uploads::UploadBudget {
        &self.uploads
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The deadlines' rules and calendar.
    pub fn rules(&self) -> &CaseRules {
        &self.rules
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// A case by a tracking code as typed by a citizen.
    pub async fn find(&self, code: &str) -> Result<Case, Error> {
        let code = normalize_tracking_code(code).ok_or_else(|| Error::CaseNotFound(code.to_owned()))?;
        self.store.case_by_code(&code).await?.ok_or(Error::CaseNotFound(code))
    }

    /// Whether `key` is the reporter's key of this case.
    pub async fn is_reporter(&self, case: &Case, key: &str) -> Result<bool, Error> {
        Ok(self.store.is_reporter_key(case.id, &sha256_hex(key)).await?)
    }

    /// Flags every open case past its deadline to the leaders of its unit (once per case): an internal timeline
    /// entry, and the case shows as escalated in their console. Returns how many were flagged now.
    pub async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut flagged = 0;
        for case in self.store.overdue_unescalated(now).await? {
            let missed = if case.state == CaseState::Received {
                "thụ lý"
            } else {
                "trả lời"
            };
            let note = format!("Quá hạn {missed}: đã báo lãnh đạo đơn vị.");
            if self.store.escalate_case(case.id, case.state, &note, now).await? {
                tracing::warn!(code = %case.code, state = %case.state, "a case is overdue and was escalated");
                flagged += 1;
            }
        }
        Ok(flagged)
    }

    /// The unit of a case.
    pub async fn unit_of(&self, case: &Case) -> Result<Unit, Error> {
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

fn problem(field: &str, code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> crate::domain::Problem {
    crate::domain::Problem::new(field, code, crate::domain::Text::new(vi, en))
}

/// Photos decoded at once in this process: decoding takes up to 128 MiB (`domain::photos::MAX_DECODED_BYTES`),
/// and one at a time keeps a flood of uploads within the memory the load test measures (`tests/uploads.rs`).
const PHOTOS_AT_ONCE: usize = 1;
static PHOTO_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PHOTOS_AT_ONCE);

/// A photo as stored ([`crate::domain::photos::prepare`]), decoded on the blocking pool, one at a time.
pub(crate) async fn prepare_photo(
    bytes: Vec<u8>,
) -> Result<crate::domain::photos::Photo, crate::domain::photos::PhotoError> {
    let turn = PHOTO_TURNS.acquire().await;
    // The turn goes with the work: a request that times out while its photo is being decoded does not free the
    // turn before the decoding ends (the blocking task cannot be stopped).
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        crate::domain::photos::prepare(&bytes)
    })
    .await
    .unwrap_or(Err(crate::domain::photos::PhotoError::Corrupt {
        reason: "the photo could not be processed",
    }))
}
