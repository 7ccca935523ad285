//! The alert ticker: a background step (every 30 s, `app::run_background`) that reads what happened to cases and
//! where their deadlines stand, and queues each official's alerts in the outbox, which delivers them like case news
//! (retries, backoff, several instances). Every alert has a dedupe key, so ticks that overlap — on one instance or
//! several — queue it once: a new case, an assignment and a citizen's reply once per timeline event and official;
//! "due soon" and "overdue" once per deadline (an extension sets a new one); the leaders' overdue alert once per
//! case; the digest once per official and day.
//!
//! The ticker's clock is injectable ([`AlertTicker::with_clock`], [`AlertTicker::tick_at`]) so that tests move
//! time through the working-time calendar. What is due is decided on that clock; the outbox delivers on the wall
//! clock, so an alert is queued for the wall clock's now plus the wait its quiet hours impose.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use uuid::Uuid;

use super::settings;
use crate::domain::alerts::{AlertKind, AlertSettings};
use crate::domain::calendar::{to_vietnam, vn_day};
use crate::domain::cases::{Case, CaseState};
use crate::domain::units::Unit;
use crate::services::Error;
use crate::services::accounts::{Official, Role, to_official};
use crate::services::cases::Cases;
use crate::storage::{CaseFilter, LinkedChatRow, NewAlert, Store};

/// Where the ticker takes the time from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The morning digest goes out from 07:30 (Vietnam) on working days, until noon (a service started later that day
/// sends none: the day's alerts have gone out one by one).
const DIGEST_FROM: NaiveTime = match NaiveTime::from_hms_opt(7, 30, 0) {
    Some(t) => t,
    None => panic!("07:30"),
};
const DIGEST_UNTIL: NaiveTime = match NaiveTime::from_hms_opt(12, 0, 0) {
    Some(t) => t,
    None => panic!("12:00"),
};
/// Timeline events are read again this far back, so that an event stored (committed) just after a tick that read
/// past its time is not missed; the dedupe keys make the repeats nothing.
const EVENT_OVERLAP: Duration = Duration::minutes(5);
const CURSOR: &str = "case_events";

/// The alert ticker.
pub struct AlertTicker {
    store: Store,
    cases: Arc<Cases>,
    /// `YKIEN_PUBLIC_URL`, for the console links in alerts.
    public_url: Option<String>,
    clock: Arc<dyn Clock>,
    /// Wakes the outbox worker when alerts were queued.
    outbox: Arc<tokio::sync::Notify>,
}

/// An official who gets alerts, with what they need.
struct Recipient {
    official: Official,
    settings: AlertSettings,
    chats: Vec<LinkedChatRow>,
}

impl Recipient {
    /// Whether this official answers for `case` in `kind`'s sense: the intake desk for new and unaccepted cases,
    /// the officers of the case's office for assigned ones, leaders for the one overdue alert.
    fn concerned(&self, kind: AlertKind, case: &Case, unit: &Unit) -> bool {
        let o = &self.official;
        if !o.covers(unit) || !self.settings.wants(kind) {
            return false;
        }
        let officer = matches!(o.role, Role::CommuneOfficer | Role::DepartmentOfficer)
            && o.office.as_deref() == Some(case.office.as_str());
        let intake = o.role == Role::Intake;
        match kind {
            AlertKind::NewCase => intake,
            AlertKind::Assigned => officer,
            AlertKind::CitizenReplied => officer || (intake && case.state == CaseState::Received),
            AlertKind::DueSoon | AlertKind::Overdue | AlertKind::Digest => match case.state {
                CaseState::Received => intake,
                CaseState::Accepted => intake || officer,
                CaseState::Assigned => officer,
                _ => false,
            },
        }
    }
}

impl AlertTicker {
    pub fn new(store: Store, cases: Arc<Cases>, public_url: Option<String>, outbox: Arc<tokio::sync::Notify>) -> Self {
        Self {
            store,
            cases,
            public_url,
            clock: Arc::new(SystemClock),
            outbox,
        }
    }

    /// The same ticker on another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// One tick on the ticker's clock.
    pub async fn tick(&self) -> Result<u64, Error> {
        self.tick_at(self.clock.now()).await
    }

    /// One tick as if it were `now`: queues what is due; returns how many alerts were new.
    pub async fn tick_at(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let recipients = self.recipients().await?;
        let mut units: HashMap<Uuid, Unit> = HashMap::new();
        let mut alerts = Vec::new();
        // What happened: new cases, assignments, citizens' replies and reopenings.
        let since = self.store.alert_cursor(CURSOR).await?;
        let mut last_seen = since;
        if let Some(since) = since {
            for event in self.store.timeline_events_between(since - EVENT_OVERLAP, now).await? {
                last_seen = last_seen.max(Some(event.at));
                let kind = match event.action.as_str() {
                    "submit" => AlertKind::NewCase,
                    "assign" => AlertKind::Assigned,
                    "citizen_replied" | "reopen" => AlertKind::CitizenReplied,
                    _ => continue,
                };
                let Some(case) = self.store.case_by_id(event.case_id).await? else {
                    continue;
                };
                let unit = self.unit(&mut units, case.unit_id).await?;
                for r in recipients.iter().filter(|r| r.concerned(kind, &case, &unit)) {
                    let key = format!("{}:{}", kind.as_str(), event.id);
                    alerts.extend(self.alert(r, kind, &key, &case, &unit, now));
                }
            }
        } else {
            // The first tick ever starts from now: no alerts about the past.
            last_seen = Some(now);
        }
        // Where deadlines stand.
        let open = if recipients.is_empty() {
            Vec::new()
        } else {
            self.store
                .list_cases(&CaseFilter {
                    unit_ids: None,
                    states: CaseState::ALL.into_iter().filter(|s| s.is_open()).collect(),
                    category: None,
                    overdue_at: None,
                    limit: 10_000,
                })
                .await?
        };
        let calendar = &self.cases.rules().calendar;
        let mut digests: HashMap<Uuid, Vec<(&Case, bool)>> = HashMap::new();
        let local = to_vietnam(now);
        let digest_time =
            calendar.is_working_day(local.date()) && local.time() >= DIGEST_FROM && local.time() < DIGEST_UNTIL;
        for case in &open {
            let Some(due) = case.due_now() else { continue };
            let unit = self.unit(&mut units, case.unit_id).await?;
            let overdue = due < now;
            let stamp = due.timestamp();
            for r in &recipients {
                if overdue && r.concerned(AlertKind::Overdue, case, &unit) {
                    let key = format!("overdue:{}:{stamp}", case.id);
                    alerts.extend(self.alert(r, AlertKind::Overdue, &key, case, &unit, now));
                } else if overdue
                    && r.official.role == Role::Leader
                    && r.official.covers(&unit)
                    && r.settings.wants(AlertKind::Overdue)
                {
                    // Once per case, whatever extensions follow.
                    let key = format!("overdue-leader:{}", case.id);
                    alerts.extend(self.alert(r, AlertKind::Overdue, &key, case, &unit, now));
                } else if !overdue
                    && r.concerned(AlertKind::DueSoon, case, &unit)
                    && calendar.working_minutes_between(now, due) <= r.settings.due_within_hours * 60
                {
                    let key = format!("due_soon:{}:{stamp}", case.id);
                    alerts.extend(self.alert(r, AlertKind::DueSoon, &key, case, &unit, now));
                }
                if digest_time
                    && r.concerned(AlertKind::Digest, case, &unit)
                    && (overdue || vn_day(due) == local.date())
                {
                    digests.entry(r.official.id).or_default().push((case, overdue));
                }
            }
        }
        for r in &recipients {
            if let Some(cases) = digests.get(&r.official.id) {
                alerts.extend(self.digest(r, cases, local.date(), now));
            }
        }
        let queued = self.store.queue_alerts(&alerts, Utc::now()).await?;
        if let Some(seen) = last_seen {
            self.store.set_alert_cursor(CURSOR, seen).await?;
        }
        if queued > 0 {
            tracing::info!(queued, "officials' alerts queued");
            self.outbox.notify_one();
        }
        Ok(queued)
    }

    async fn recipients(&self) -> Result<Vec<Recipient>, Error> {
        let mut recipients = Vec::new();
        for row in self.store.alert_recipients().await? {
            let official = to_official(&self.store, row).await?;
            let settings = settings(&self.store, official.id).await?;
            let chats = self.store.official_chats(official.id).await?;
            recipients.push(Recipient {
                official,
                settings,
                chats,
            });
        }
        Ok(recipients)
    }

    async fn unit(&self, units: &mut HashMap<Uuid, Unit>, id: Uuid) -> Result<Unit, Error> {
        if let Some(unit) = units.get(&id) {
            return Ok(unit.clone());
        }
        let unit = self.store.unit(id).await?;
        units.insert(id, unit.clone());
        Ok(unit)
    }

    /// The console address of a case.
    fn case_link(&self, code: &str) -> String {
        let base = self.public_url.as_deref().unwrap_or_default().trim_end_matches('/');
        format!("{base}/console/cases/{code}")
    }

    /// One alert about `case` to `r`, on each of their ways (chat, email).
    fn alert(
        &self,
        r: &Recipient,
        kind: AlertKind,
        key: &str,
        case: &Case,
        unit: &Unit,
        now: DateTime<Utc>,
    ) -> Vec<NewAlert> {
        let heading = match kind {
            AlertKind::NewCase => "🔔 Phản ánh mới",
            AlertKind::Assigned => "📌 Phản ánh được giao cho đơn vị anh/chị",
            AlertKind::DueSoon => "⏰ Phản ánh sắp đến hạn",
            AlertKind::Overdue => "⚠️ Phản ánh quá hạn",
            AlertKind::CitizenReplied => "💬 Người dân đã trả lời hoặc mở lại phản ánh",
            AlertKind::Digest => "Bản tin",
        };
        let body = format!(
            "{heading} {code}\n{lines}\nXem và xử lý: {link}",
            code = case.code,
            lines = self.case_lines(case, unit),
            link = self.case_link(&case.code),
        );
        self.deliveries(r, &format!("alert:{key}"), Some(case.id), &body, now)
    }

    /// The lines every alert has about a case: category, commune, deadline.
    fn case_lines(&self, case: &Case, unit: &Unit) -> String {
        let category = self
            .cases
            .category(&case.category)
            .map_or_else(|| case.category.clone(), |c| c.vi.clone());
        let due = match case.deadline() {
            Some(due) => {
                let what = if case.state == CaseState::Received {
                    "thụ lý"
                } else {
                    "trả lời"
                };
                format!("Hạn {what}: {}", to_vietnam(due).format("%H:%M %d/%m/%Y"))
            }
            None => "Hạn: chưa có".to_owned(),
        };
        format!("Lĩnh vực: {category}\nĐơn vị: {}\n{due}", unit.name)
    }

    /// The morning digest of `r`: what is due today and what is overdue.
    fn digest(
        &self,
        r: &Recipient,
        cases: &[(&Case, bool)],
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<NewAlert> {
        let overdue = cases.iter().filter(|(_, o)| *o).count();
        let mut body = format!(
            "☀️ Bản tin sáng {}: {} phản ánh đến hạn hôm nay, {overdue} phản ánh quá hạn.\n",
            day.format("%d/%m/%Y"),
            cases.len() - overdue,
        );
        for (case, is_overdue) in cases.iter().take(20) {
            let flag = if *is_overdue {
                "⚠️ quá hạn"
            } else {
                "⏰ hôm nay"
            };
            body.push_str(&format!("\n• {} ({flag}) — {}", case.code, self.case_link(&case.code)));
        }
        if cases.len() > 20 {
            body.push_str(&format!("\n… và {} phản ánh khác trong hộp thư.", cases.len() - 20));
        }
        let key = format!("digest:{}:{day}", r.official.id);
        self.deliveries(r, &key, None, &body, now)
    }

    /// The outbox rows of one alert: to each linked chat (when chat alerts are on) and to the email address (when
    /// email alerts are on), after the official's quiet hours.
    fn deliveries(
        &self,
        r: &Recipient,
        key: &str,
        case_id: Option<Uuid>,
        body: &str,
        now: DateTime<Utc>,
    ) -> Vec<NewAlert> {
        let wait = r.settings.send_at(now) - now;
        let send_at = Utc::now() + wait;
        let mut rows = Vec::new();
        if r.settings.by_chat {
            for chat in &r.chats {
                rows.push(NewAlert {
                    dedupe_key: format!("{key}:{}:{}", r.official.id, chat.channel),
                    channel: chat.channel.clone(),
                    recipient: chat.user_id.clone(),
                    case_id,
                    body: body.to_owned(),
                    send_at,
                });
            }
        }
        if r.settings.by_email
            && let Some(email) = &r.settings.email
        {
            rows.push(NewAlert {
                dedupe_key: format!("{key}:{}:email", r.official.id),
                channel: crate::services::mail::EMAIL_CHANNEL.to_owned(),
                recipient: email.clone(),
                case_id,
                body: crate::services::mail::alert_body(body),
                send_at,
            });
        }
        rows
    }
}
