//! The actions on a case — the officials' and the citizen's — with their rules: role, scope, state, the
//! revision the actor saw, valid input; the deadlines they set in working time; the news each sends the reporter.

use chrono::{DateTime, Duration, Utc};

use super::{Actor, Cases, problem};
use crate::domain::calendar::Limit;
use crate::domain::calendar::vn_day;
use crate::domain::cases::{Action, ActionError, Case, CaseState, MAX_EXTENSION_DAYS_TOTAL, Tier, apply};
use crate::domain::photos::MAX_PHOTOS;
use crate::domain::units::UnitLevel;
use crate::domain::{Channel, Problem};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::services::units::unit_by_code;
use crate::storage::{AuditEntry, CaseChange, CaseEvent, NewAnswer, NewAttachment, NewOutboxMessage, PauseChange};

/// How long after an answer the citizen may reopen the case.
pub const REOPEN_DAYS: i64 = 30;

impl Cases {
    /// The working minutes of the pauses of a case (time waiting for the citizen does not count).
    async fn pauses(&self, case: &Case, now: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, Error> {
        Ok(self
            .store
            .case_pauses(case.id)
            .await?
            .into_iter()
            .map(|p| (p.started_at, p.ended_at.unwrap_or(now)))
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
    pub async fn citizen_reply(&self, case: Case, text: String, now: DateTime<Utc>) -> Result<(), Error> {
        let revision = case.revision;
        let text = crate::domain::text::clean(&text);
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
    pub async fn citizen_reopen(&self, case: Case, reason: String, now: DateTime<Utc>) -> Result<(), Error> {
        if case.answered_at.is_some_and(|a| now - a > Duration::days(REOPEN_DAYS)) {
            return Err(Error::Conflict(format!(
                "cases can be reopened within {REOPEN_DAYS} days of the answer"
            )));
        }
        let revision = case.revision;
        let reason = crate::domain::text::clean(&reason);
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
        case: &Case,
        score: i64,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if !matches!(case.state, CaseState::Answered | CaseState::Closed) {
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
        let comment =
            crate::domain::text::clean_optional(comment.as_deref()).map(|c| c.chars().take(1000).collect::<String>());
        Ok(self.store.rate_case(case.id, score, comment.as_deref(), now).await?)
    }

    async fn transition(
        &self,
        case: Case,
        actor: Actor<'_>,
        revision: i64,
        action: Action,
        evidence: Vec<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if revision != case.revision {
            return Err(Error::Stale(case.code));
        }
        let state = case.state;
        let transition = apply(state, case.resume_to, &action).map_err(|e| match e {
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
        for (i, bytes) in evidence.into_iter().enumerate().take(MAX_PHOTOS) {
            let p = super::prepare_photo(bytes).await.map_err(|e| {
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
        let tier = case.tier;
        let mut after = case.clone();
        after.state = transition.to;
        after.resume_to = transition.resume_to;
        let mut change = CaseChange {
            after,
            event: CaseEvent {
                at: now,
                actor_kind: actor.kind(),
                official_id: actor.official_id(),
                action: action.name().to_owned(),
                from_state: Some(state),
                to_state: transition.to,
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
            notify: Vec::new(),
        };
        match &action {
            Action::Accept { tier } => {
                change.after.tier = *tier;
                change.after.answer_due_at = Some(self.answer_due(now, *tier, &[], case.extension_minutes));
            }
            Action::Reject { reason, redirect_to } => {
                change.after.closed_at = Some(now);
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
                change.after.unit_id = target.id;
                change.after.answer_due_at = None;
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
                // A duplicate follows its original's answer: one of another commune is answered by other people,
                // about another place (forward the case instead).
                if original.unit_id != case.unit_id {
                    return Err(Error::InvalidCase(vec![problem(
                        "original",
                        "another_commune",
                        "Phản ánh gốc thuộc xã, phường khác; chỉ đánh dấu trùng với phản ánh cùng xã, phường.",
                        "The original belongs to another commune or ward; only a case of the same one can be the original.",
                    )]));
                }
                change.after.duplicate_of = Some(original.id);
                change.after.closed_at = Some(now);
                change.event.note = Some(original.code);
            }
            Action::Assign { office } => {
                change.after.office = office.clone();
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
                change.after.answer_due_at = Some(
                    self.answer_due_since_accepted(&case, tier, case.extension_minutes, now)
                        .await?,
                );
            }
            Action::Extend { days, reason } => {
                // A second extension is a leader's decision (or an administrator's), and all together stay under
                // a cap: without these an officer could push a deadline back without end.
                let approver = actor
                    .official()
                    .is_some_and(|o| matches!(o.role, Role::Leader | Role::Admin));
                if case.extension_minutes > 0 && !approver {
                    return Err(Error::InvalidCase(vec![problem(
                        "days",
                        "second_extension_needs_leader",
                        "Phản ánh này đã được gia hạn một lần; lần gia hạn tiếp theo cần lãnh đạo phê duyệt \
                         (lãnh đạo thực hiện trên tài khoản của mình).",
                        "This case was extended once already; a further extension needs a leader's approval \
                         (done from a leader's account).",
                    )]));
                }
                let cap = Limit::WorkingDays(MAX_EXTENSION_DAYS_TOTAL).minutes(&self.rules.calendar);
                change.after.extension_minutes += Limit::WorkingDays(*days).minutes(&self.rules.calendar);
                if change.after.extension_minutes > cap {
                    return Err(Error::InvalidCase(vec![problem(
                        "days",
                        "extension_cap",
                        format!(
                            "Tổng thời gian gia hạn của một phản ánh tối đa {MAX_EXTENSION_DAYS_TOTAL} ngày làm việc."
                        ),
                        format!("A case may be extended by at most {MAX_EXTENSION_DAYS_TOTAL} working days in all."),
                    )]));
                }
                change.after.answer_due_at = Some(
                    self.answer_due_since_accepted(&case, tier, change.after.extension_minutes, now)
                        .await?,
                );
                change.event.note = Some(reason.clone());
            }
            Action::Answer(content) => {
                change.after.answered_at = Some(now);
                change.answer = Some(NewAnswer {
                    what_was_done: content.what_was_done.trim().to_owned(),
                    by_unit: content.by_unit.trim().to_owned(),
                    legal_basis: content.legal_basis.clone().filter(|b| !b.trim().is_empty()),
                    official_id: actor.official_id(),
                });
            }
            Action::Close => change.after.closed_at = Some(now),
            Action::Reopen { reason } => {
                change.after.closed_at = None;
                change.after.answered_at = None;
                change.event.note = Some(reason.clone());
                change.after.answer_due_at = Some(self.answer_due(now, tier, &[], case.extension_minutes));
            }
        }
        // The reporter's chat gets the news, and their email when they left one (and did not stop them); the
        // others read the tracking page.
        if let (true, Some((channel, chat))) = (change.event.public, case.reporter_chat()) {
            change.notify.push(NewOutboxMessage {
                dedupe_key: format!("{}:{}:{}", case.code, action.name(), case.revision),
                channel,
                recipient: chat.to_owned(),
                body: notification(&case.code, transition.to, &action),
            });
        }
        if change.event.public
            && let Some(to) = self.store.case_news_email(case.id).await?
        {
            change.notify.push(NewOutboxMessage {
                dedupe_key: format!("{}:{}:{}:email", case.code, action.name(), case.revision),
                channel: Channel::Email,
                recipient: to.email,
                body: news_email(&case.code, transition.to, &action, self.public_base(), &to.news_token),
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
        case: &Case,
        tier: Tier,
        extension: i64,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let accepted_at = self.accepted_at(case).await?.unwrap_or(now);
        let pauses = self.pauses(case, now).await?;
        Ok(self.answer_due(accepted_at, tier, &pauses, extension))
    }

    /// When the case was accepted (the answer clock starts then).
    async fn accepted_at(&self, case: &Case) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self
            .store
            .case_events(case.id)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.action == "accept")
            .map(|e| e.at))
    }
}

/// The news of a case's change in Vietnamese, with the answer itself when there is one.
fn news_text(code: &str, state: CaseState, action: &Action) -> String {
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
    if let Action::Answer(content) = action {
        text.push_str(&format!(
            "\n\n{}:\n{}",
            content.by_unit.trim(),
            content.what_was_done.trim()
        ));
        if let Some(basis) = content.legal_basis.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            text.push_str(&format!("\n\nCăn cứ: {basis}"));
        }
    }
    text
}

/// The message a case's change sends to its reporter's chat: the news, and rating buttons under an answer. Stored
/// as JSON in the outbox; chat channels send it as it is.
fn notification(code: &str, state: CaseState, action: &Action) -> String {
    let mut text = news_text(code, state, action);
    let mut buttons = Vec::new();
    if let Action::Answer(_) = action {
        text.push_str("\n\nXin anh/chị đánh giá câu trả lời:");
        buttons = crate::services::chat::rating_buttons(code);
    }
    let message = ykien_bots::message::Outbound {
        text,
        buttons,
        ..ykien_bots::message::Outbound::default()
    };
    serde_json::to_string(&message).unwrap_or_else(|_| unreachable!("a message of strings serializes"))
}

/// The email a case's change sends to a reporter who left an address: the same news, the tracking page's link,
/// and the link that stops these emails (also sent as `List-Unsubscribe`). Stored as JSON in the outbox.
fn news_email(code: &str, state: CaseState, action: &Action, base: &str, token: &str) -> String {
    let mut text = news_text(code, state, action);
    text.push_str(&format!("\n\nTheo dõi phản ánh: {base}/t/{code}"));
    if let Action::Answer(_) = action {
        text.push_str("\nAnh/chị có thể đánh giá câu trả lời trên trang theo dõi.");
    }
    text.push_str("\n\nThư này được gửi tự động từ hệ thống tiếp nhận phản ánh, kiến nghị; xin đừng trả lời thư.");
    let body = crate::services::mail::MailBody {
        subject: format!("[ykien] Phản ánh {code}: {}", state.label().vi.to_lowercase()),
        text,
        unsubscribe: Some(format!("{base}/unsubscribe/{token}")),
    };
    serde_json::to_string(&body).unwrap_or_else(|_| unreachable!("a message of strings serializes"))
}
