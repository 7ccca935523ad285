//! What an official wants to be told and when: the kinds of alerts, where they go (the linked chat, email), how
//! much warning before a deadline (in working hours), and quiet hours (Vietnam time) during which an alert waits.
//! Pure: `services::alerts` reads the settings from storage and asks here.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::calendar::{from_vietnam, to_vietnam};

/// A kind of alert an official can turn on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A case arrived in the official's scope (the intake desk).
    NewCase,
    /// A case was assigned to the official's office in their scope.
    Assigned,
    /// A case's deadline is within the official's warning (working hours).
    DueSoon,
    /// A case went past its deadline (its officers; once, the leaders of its unit).
    Overdue,
    /// The citizen replied to a question or reopened the case.
    CitizenReplied,
    /// The morning digest of working days (07:30).
    Digest,
}

impl AlertKind {
    pub const ALL: [Self; 6] = [
        Self::NewCase,
        Self::Assigned,
        Self::DueSoon,
        Self::Overdue,
        Self::CitizenReplied,
        Self::Digest,
    ];

    /// The name in dedupe keys and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewCase => "new_case",
            Self::Assigned => "assigned",
            Self::DueSoon => "due_soon",
            Self::Overdue => "overdue",
            Self::CitizenReplied => "citizen",
            Self::Digest => "digest",
        }
    }

    /// How the console names it.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::NewCase => "Phản ánh mới trong phạm vi của tôi",
            Self::Assigned => "Phản ánh được giao cho đơn vị tôi",
            Self::DueSoon => "Phản ánh sắp đến hạn",
            Self::Overdue => "Phản ánh quá hạn",
            Self::CitizenReplied => "Người dân trả lời hoặc mở lại phản ánh",
            Self::Digest => "Bản tin 7 giờ 30 sáng ngày làm việc",
        }
    }
}

/// The default warning before a deadline, in working hours.
pub const DEFAULT_DUE_WITHIN_HOURS: i64 = 4;
/// The longest warning that can be asked for: a week of working hours.
pub const MAX_DUE_WITHIN_HOURS: i64 = 40;

/// An official's alert settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSettings {
    /// Where email alerts go (`None`: no email).
    pub email: Option<String>,
    pub by_chat: bool,
    pub by_email: bool,
    /// The kinds turned off.
    pub off: Vec<AlertKind>,
    /// Warn this many working hours before a deadline.
    pub due_within_hours: i64,
    /// No alert between these times of day (Vietnam); they wait for the end. `from > to` spans midnight.
    pub quiet: Option<(NaiveTime, NaiveTime)>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            email: None,
            by_chat: true,
            by_email: false,
            off: Vec::new(),
            due_within_hours: DEFAULT_DUE_WITHIN_HOURS,
            quiet: None,
        }
    }
}

impl AlertSettings {
    pub fn wants(&self, kind: AlertKind) -> bool {
        !self.off.contains(&kind)
    }

    /// When an alert raised at `now` may go out: `now`, or the end of the quiet hours it falls in.
    pub fn send_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let Some((from, to)) = self.quiet else {
            return now;
        };
        let local = to_vietnam(now);
        let time = local.time();
        let quiet = if from <= to {
            time >= from && time < to
        } else {
            time >= from || time < to
        };
        if !quiet {
            return now;
        }
        let mut end = local.date().and_time(to);
        if end <= local {
            end += Duration::days(1);
        }
        from_vietnam(end)
    }
}

/// Checks an email address as SMTP will take it (lettre's parser: `local@domain`, the domain a name or an address
/// literal); the refusal is in Vietnamese, for the form that keeps what was typed.
pub fn check_email(text: &str) -> Result<(), String> {
    match text.trim().parse::<lettre::Address>() {
        Ok(_) if text.trim().len() <= 254 => Ok(()),
        _ => Err(format!(
            "«{}» không phải là địa chỉ thư điện tử hợp lệ (dạng ten@vidu.gov.vn).",
            text.trim()
        )),
    }
}

/// Reads a time of day typed as `HH:MM` (`7:30` too).
pub fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-03-10 is a Tuesday; Vietnam is UTC+7.
        from_vietnam(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap(),
        )
    }

    #[test]
    fn an_alert_in_quiet_hours_waits_for_their_end_across_midnight() {
        let s = AlertSettings {
            quiet: Some((parse_time_of_day("21:00").unwrap(), parse_time_of_day("6:30").unwrap())),
            ..AlertSettings::default()
        };
        assert_eq!(s.send_at(at(12, 0)), at(12, 0));
        assert_eq!(s.send_at(at(23, 0)), at(6, 30) + Duration::days(1));
        assert_eq!(s.send_at(at(5, 0)), at(6, 30));
        assert_eq!(s.send_at(at(6, 30)), at(6, 30));
        assert_eq!(
            Utc.with_ymd_and_hms(2026, 3, 9, 23, 30, 0).unwrap(),
            at(6, 30),
            "06:30 in Vietnam is 23:30 UTC the day before"
        );
    }

    #[test]
    fn email_addresses_that_do_not_parse_are_refused_in_vietnamese() {
        assert!(check_email("canbo@phohien.hungyen.gov.vn").is_ok());
        for bad in ["canbo", "canbo@", "@hungyen.gov.vn", "can bo@hungyen.gov.vn", "a@b@c"] {
            let why = check_email(bad).unwrap_err();
            assert!(why.contains("không phải là địa chỉ thư điện tử"), "{bad}: {why}");
        }
    }

    #[test]
    fn quiet_hours_within_a_day() {
        let s = AlertSettings {
            quiet: Some((parse_time_of_day("11:30").unwrap(), parse_time_of_day("13:30").unwrap())),
            ..AlertSettings::default()
        };
        assert_eq!(s.send_at(at(12, 15)), at(13, 30));
        assert_eq!(s.send_at(at(13, 30)), at(13, 30));
        assert!(parse_time_of_day("25:00").is_none());
    }
}
