//! Officials' alerts: each official's settings (what, where, quiet hours), read and checked here; the ticker that
//! raises alerts from the cases' timelines and deadlines is in [`ticker`].

pub mod ticker;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Error;
use crate::domain::alerts::{AlertKind, AlertSettings, MAX_DUE_WITHIN_HOURS, parse_time_of_day};
use crate::storage::{AlertSettingsRow, Store};

/// An official's settings as the console's form sends them (every field as typed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertSettingsForm {
    pub email: String,
    pub by_chat: bool,
    pub by_email: bool,
    /// The kinds ticked.
    pub on: Vec<AlertKind>,
    pub due_within_hours: String,
    pub quiet_from: String,
    pub quiet_to: String,
}

impl AlertSettingsForm {
    /// The form filled with stored settings.
    pub fn from_settings(s: &AlertSettings) -> Self {
        Self {
            email: s.email.clone().unwrap_or_default(),
            by_chat: s.by_chat,
            by_email: s.by_email,
            on: AlertKind::ALL.into_iter().filter(|k| s.wants(*k)).collect(),
            due_within_hours: s.due_within_hours.to_string(),
            quiet_from: s.quiet.map(|(f, _)| f.format("%H:%M").to_string()).unwrap_or_default(),
            quiet_to: s.quiet.map(|(_, t)| t.format("%H:%M").to_string()).unwrap_or_default(),
        }
    }

    /// The settings, or every problem: the field and what is wrong, in Vietnamese.
    pub fn read(&self) -> Result<AlertSettings, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let email = Some(self.email.trim()).filter(|e| !e.is_empty());
        if let Some(email) = email
            && let Err(why) = crate::domain::alerts::check_email(email)
        {
            problems.push(("email", why));
        }
        if self.by_email && email.is_none() {
            problems.push((
                "email",
                "Muốn nhận cảnh báo qua thư điện tử thì cần ghi địa chỉ thư điện tử.".to_owned(),
            ));
        }
        let due_within_hours = match self.due_within_hours.trim().parse::<i64>() {
            Ok(h) if (1..=MAX_DUE_WITHIN_HOURS).contains(&h) => h,
            _ => {
                problems.push((
                    "due_within_hours",
                    format!("Số giờ làm việc báo trước hạn phải là số nguyên từ 1 đến {MAX_DUE_WITHIN_HOURS}."),
                ));
                0
            }
        };
        let quiet = match (self.quiet_from.trim(), self.quiet_to.trim()) {
            ("", "") => None,
            (from, to) => match (parse_time_of_day(from), parse_time_of_day(to)) {
                (Some(f), Some(t)) if f != t => Some((f, t)),
                _ => {
                    problems.push((
                        "quiet",
                        "Giờ yên lặng cần cả giờ bắt đầu và giờ kết thúc, dạng GG:PP (ví dụ 21:00 và 06:30), khác nhau.".to_owned(),
                    ));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AlertSettings {
            email: email.map(str::to_owned),
            by_chat: self.by_chat,
            by_email: self.by_email,
            off: AlertKind::ALL.into_iter().filter(|k| !self.on.contains(k)).collect(),
            due_within_hours,
            quiet,
        })
    }
}

/// An official's settings: the stored ones, or the defaults.
pub async fn settings(store: &Store, official_id: Uuid) -> Result<AlertSettings, Error> {
    Ok(store
        .alert_settings(official_id)
        .await?
        .map(|row| from_row(&row))
        .unwrap_or_default())
}

/// Stores an official's settings.
pub async fn save_settings(
    store: &Store,
    official_id: Uuid,
    s: &AlertSettings,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    store.save_alert_settings(&to_row(official_id, s), now).await?;
    Ok(())
}

pub(crate) fn from_row(row: &AlertSettingsRow) -> AlertSettings {
    let flags = [
        (AlertKind::NewCase, row.new_case),
        (AlertKind::Assigned, row.assigned),
        (AlertKind::DueSoon, row.due_soon),
        (AlertKind::Overdue, row.overdue),
        (AlertKind::CitizenReplied, row.citizen),
        (AlertKind::Digest, row.digest),
    ];
    let quiet = match (&row.quiet_from, &row.quiet_to) {
        (Some(f), Some(t)) => parse_time_of_day(f).zip(parse_time_of_day(t)),
        _ => None,
    };
    AlertSettings {
        email: row.email.clone(),
        by_chat: row.by_chat,
        by_email: row.by_email,
        off: flags.iter().filter(|(_, on)| !on).map(|(k, _)| *k).collect(),
        due_within_hours: row.due_within_hours,
        quiet,
    }
}

fn to_row(official_id: Uuid, s: &AlertSettings) -> AlertSettingsRow {
    AlertSettingsRow {
        official_id,
        email: s.email.clone(),
        by_chat: s.by_chat,
        by_email: s.by_email,
        new_case: s.wants(AlertKind::NewCase),
        assigned: s.wants(AlertKind::Assigned),
        due_soon: s.wants(AlertKind::DueSoon),
        overdue: s.wants(AlertKind::Overdue),
        citizen: s.wants(AlertKind::CitizenReplied),
        digest: s.wants(AlertKind::Digest),
        due_within_hours: s.due_within_hours,
        quiet_from: s.quiet.map(|(f, _)| f.format("%H:%M").to_string()),
        quiet_to: s.quiet.map(|(_, t)| t.format("%H:%M").to_string()),
    }
}
