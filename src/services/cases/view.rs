//! What every surface shows of a case — the tracking page, the JSON API, the officials' console and the chats —
//! built here once, and which cases and files an official may see (their scope: their units and the communes
//! under them; administrators everything).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Cases;
use crate::domain::calendar::vn_day;
use crate::domain::cases::{Case, CaseState, Category};
use crate::domain::units::Unit;
use crate::domain::{Channel, Lang};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::units::unit_by_code;
use crate::storage::{AttachmentMeta, CaseAnswerRow, CaseEventRow, CaseFilter, Rating, ReporterRow};

/// A case with everything a surface shows of it.
#[derive(Clone, Debug)]
pub struct CaseView {
    pub case: Case,
    pub unit: Unit,
    /// `None` for a category no longer offered.
    pub category: Option<Category>,
    /// Every timeline entry, oldest first; public surfaces read [`CaseView::public_timeline`].
    pub timeline: Vec<CaseEventRow>,
    pub answers: Vec<CaseAnswerRow>,
    pub files: Vec<AttachmentMeta>,
    /// The reporter's rating of the answer.
    pub rating: Option<Rating>,
    /// The original's tracking code, for a duplicate: its reporter follows the original.
    pub original: Option<String>,
    /// News for the reporter's chat that the platform would not take yet (the citizen has not written lately, or
    /// blocked the bot): they go when the citizen writes to the channel again.
    pub waiting_messages: usize,
    /// How each message to the reporter's chat went, oldest first: (sent as, last error or reason it waits).
    pub deliveries: Vec<(Option<String>, Option<String>)>,
    /// Who reported it, as far as the viewer may know; `None` on public surfaces.
    pub reporter: Option<Reporter>,
}

/// The reporter as an official sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reporter {
    /// The intake desk and administrators see the contact.
    Contact(ReporterRow),
    /// Everyone else sees a stable pseudonym.
    Pseudonym(String),
}

impl CaseView {
    /// The deadline that runs now; see [`Case::due_now`].
    pub fn due_now(&self) -> Option<DateTime<Utc>> {
        self.case.due_now()
    }

    /// The category's name, or its code when it is no longer offered.
    pub fn category_name(&self, lang: Lang) -> String {
        self.category
            .as_ref()
            .map_or_else(|| self.case.category.clone(), |c| c.name().get(lang).to_owned())
    }

    /// The entries the citizen and the public see.
    pub fn public_timeline(&self) -> impl Iterator<Item = &CaseEventRow> {
        self.timeline.iter().filter(|e| e.public)
    }

    /// The photos sent with the report (shown to its reporter and the officials only).
    pub fn report_photos(&self) -> impl Iterator<Item = &AttachmentMeta> {
        self.files.iter().filter(|f| f.source == "report")
    }

    /// The photos attached to an answer (public).
    pub fn evidence(&self) -> impl Iterator<Item = &AttachmentMeta> {
        self.files.iter().filter(|f| f.source == "answer")
    }
}

/// The filters of an official's inbox.
#[derive(Clone, Debug, Default)]
pub struct InboxFilter {
    pub state: Option<CaseState>,
    pub category: Option<String>,
    /// Only open cases past the deadline that runs now.
    pub overdue: bool,
    /// Only the cases of this unit (a code within the official's scope).
    pub unit: Option<String>,
}

/// The most cases an inbox lists at once.
const INBOX_LIMIT: i64 = 200;

impl Cases {
    /// The public view of a case by a tracking code as typed by a citizen.
    pub async fn view(&self, code: &str) -> Result<CaseView, Error> {
        let case = self.find(code).await?;
        let unit = self.unit_of(&case).await?;
        self.view_of(case, unit, None).await
    }

    /// A case as `official` sees it, if it lies within their scope.
    pub async fn visible(&self, official: &Official, code: &str) -> Result<CaseView, Error> {
        let case = self.find(code).await?;
        let unit = self.unit_of(&case).await?;
        if !official.covers(&unit) {
            return Err(Error::Forbidden(format!("{} is outside your units", case.code)));
        }
        let row = self.store.case_reporter(case.id).await?;
        let reporter = if official.role.sees_reporter() {
            Reporter::Contact(row)
        } else {
            Reporter::Pseudonym(row.pseudonym)
        };
        self.view_of(case, unit, Some(reporter)).await
    }

    /// The cases reported from one chat, newest first.
    pub async fn reported_in_chat(&self, channel: Channel, chat: &str) -> Result<Vec<Case>, Error> {
        Ok(self.store.cases_reported_in_chat(channel, chat).await?)
    }

    /// Case `code` as its reporter sees it in the chat they reported it from; `None` for a case that does not
    /// exist or was reported by someone else.
    pub async fn view_for_chat(&self, channel: Channel, chat: &str, code: &str) -> Result<Option<CaseView>, Error> {
        let Some(case) = self.reported_from(channel, chat, code).await? else {
            return Ok(None);
        };
        let unit = self.unit_of(&case).await?;
        self.view_of(case, unit, None).await.map(Some)
    }

    /// Case `code`, if it was reported from this chat; `None` for a case that does not exist or was reported by
    /// someone else.
    pub async fn reported_from(&self, channel: Channel, chat: &str, code: &str) -> Result<Option<Case>, Error> {
        match self.find(code).await {
            Ok(case) => Ok((case.reporter_chat() == Some((channel, chat))).then_some(case)),
            Err(Error::CaseNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn view_of(&self, case: Case, unit: Unit, reporter: Option<Reporter>) -> Result<CaseView, Error> {
        let store = &self.store;
        let original = match case.duplicate_of {
            Some(id) => store.case_by_id(id).await?.map(|c| c.code),
            None => None,
        };
        // Only the news to the reporter's chat: the case's outbox also holds officials' alerts and news by email.
        let chat = case.reporter_chat().map(|(c, r)| (c.as_str(), r.to_owned()));
        let mut queued = store.case_outbox(case.id).await?;
        queued.retain(|m| chat.as_ref().is_some_and(|(c, r)| m.channel == *c && m.recipient == *r));
        let waiting_messages = queued.iter().filter(|m| !m.sent).count();
        let deliveries = queued.into_iter().map(|m| (m.sent_as, m.last_error)).collect();
        Ok(CaseView {
            category: self.category(&case.category).cloned(),
            timeline: store.case_events(case.id).await?,
            answers: store.case_answers(case.id).await?,
            files: store.case_attachments(case.id).await?,
            rating: store.case_rating(case.id).await?,
            original,
            waiting_messages,
            deliveries,
            reporter,
            unit,
            case,
        })
    }

    /// The cases of `official`'s inbox: within their scope, matching `filter`, newest first.
    pub async fn inbox(
        &self,
        official: &Official,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<Case>, Error> {
        let unit_ids = match filter.unit.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                let unit = unit_by_code(&self.store, code, vn_day(now)).await?;
                if !official.covers(&unit) {
                    return Err(Error::Forbidden(format!("unit {code}")));
                }
                Some(vec![unit.id])
            }
            None => self.scope_units(official).await?,
        };
        Ok(self
            .store
            .list_cases(&CaseFilter {
                unit_ids,
                states: filter.state.into_iter().collect(),
                category: filter.category.clone().filter(|c| !c.is_empty()),
                overdue_at: filter.overdue.then_some(now),
                limit: INBOX_LIMIT,
            })
            .await?)
    }

    /// The unit ids an official's lists are limited to: their scope, with the communes of a province; `None` for
    /// every unit.
    pub(super) async fn scope_units(&self, official: &Official) -> Result<Option<Vec<Uuid>>, Error> {
        if official.role == Role::Admin {
            return Ok(None);
        }
        let mut ids = official.scope.clone();
        for unit in &official.scope {
            ids.extend(self.store.children(*unit).await?.into_iter().map(|u| u.id));
        }
        Ok(Some(ids))
    }

    /// The cases of one commune still awaiting the authorities (for the leaders' dashboard).
    pub async fn open_in(&self, unit: &Unit) -> Result<Vec<Case>, Error> {
        Ok(self
            .store
            .list_cases(&CaseFilter {
                unit_ids: Some(vec![unit.id]),
                states: CaseState::ALL.into_iter().filter(|s| s.is_open()).collect(),
                category: None,
                overdue_at: None,
                limit: 500,
            })
            .await?)
    }

    /// An attachment of a case within `official`'s scope: its content type and bytes.
    pub async fn file_for_official(&self, official: &Official, id: Uuid) -> Result<(String, Vec<u8>), Error> {
        let file = self.store.attachment(id).await?;
        let visible = match self.store.case_by_id(file.case_id).await? {
            Some(case) => official.covers(&self.unit_of(&case).await?),
            None => false,
        };
        if !visible {
            return Err(Error::Forbidden(
                "this file belongs to a case outside your units".into(),
            ));
        }
        Ok((file.content_type, file.bytes))
    }

    /// An attachment of the case `code` on its public page: the answer's evidence to anyone, the report's own
    /// photos only to the reporter (who holds `reporter_key`).
    pub async fn file_for_citizen(
        &self,
        code: &str,
        id: Uuid,
        reporter_key: Option<&str>,
    ) -> Result<(String, Vec<u8>), Error> {
        let case = self.find(code).await?;
        let file = self.store.attachment(id).await?;
        if file.case_id != case.id {
            return Err(Error::CaseNotFound(code.to_owned()));
        }
        let is_reporter = match reporter_key {
            Some(key) => self.is_reporter(&case, key).await?,
            None => false,
        };
        if file.source != "answer" && !is_reporter {
            return Err(Error::Forbidden(
                "the report's photos are shown to its reporter and the officials only".into(),
            ));
        }
        Ok((file.content_type, file.bytes))
    }
}
