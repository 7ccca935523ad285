//! A feedback case as stored and as every surface reads it: typed state, tier and channel, and the one rule for
//! the deadline that runs now.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{CaseState, Publicity, Tier};
use crate::domain::Channel;

/// A feedback case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub id: Uuid,
    /// The tracking code citizens type, e.g. `PA-7K3M-9XQZ`.
    pub code: String,
    pub unit_id: Uuid,
    pub category: String,
    /// The PAPI sub-dimension it tells about, from its category when it was filed.
    pub subdimension: String,
    pub office: String,
    pub tier: Tier,
    pub state: CaseState,
    /// The state to return to when the citizen replies (kept while waiting for them).
    pub resume_to: Option<CaseState>,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Where it is, as the citizen typed it.
    pub address: Option<String>,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub accept_due_at: DateTime<Utc>,
    pub answer_due_at: Option<DateTime<Utc>>,
    /// Working minutes added by extensions.
    pub extension_minutes: i64,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duplicate_of: Option<Uuid>,
    /// Bumped by every change: a form built on an older revision is refused.
    pub revision: i64,
    /// When the leaders were told it is overdue (once).
    pub escalated_at: Option<DateTime<Utc>>,
    /// The chat (Telegram or Zalo user id) the case was reported from, where its news go.
    pub reporter_chat: Option<String>,
    /// What of it the reporter allowed to be shown publicly, and an official's redaction.
    pub publicity: Publicity,
}

impl Case {
    /// The deadline the case is measured against: acceptance while it is received, the answer afterwards (for
    /// an answered case, the one it was answered against).
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        deadline(self.state, self.accept_due_at, self.answer_due_at)
    }

    /// The deadline that runs now: only while the case awaits the authorities (not while it waits for the
    /// citizen, whose time does not count, nor once answered or closed).
    pub fn due_now(&self) -> Option<DateTime<Utc>> {
        self.deadline().filter(|_| self.state.is_open())
    }

    /// Whether the deadline that runs now has passed.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_now().is_some_and(|due| due < now)
    }

    /// The chat the case's news go to, when it came from one.
    pub fn reporter_chat(&self) -> Option<(Channel, &str)> {
        let chat = self.reporter_chat.as_deref().filter(|_| self.channel.is_chat())?;
        Some((self.channel, chat))
    }
}

/// The deadline a case in `state` is measured against; see [`Case::deadline`]. Free for the KPIs, which read
/// only these three facts of a case.
pub fn deadline(
    state: CaseState,
    accept_due_at: DateTime<Utc>,
    answer_due_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if state == CaseState::Received {
        Some(accept_due_at)
    } else {
        answer_due_at
    }
}
