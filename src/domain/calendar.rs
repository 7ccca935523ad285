//! The working-time calendar: when a deadline counted in working hours or working days falls due, and how much
//! working time passed between two instants. Pure domain code: `services` ask it for a case's deadline when the
//! case is received, extended or resumed after a pause, and for the working time a case took (KPIs); nothing
//! here touches storage or HTTP.
//!
//! Why working time: the rules on citizens' feedback (phản ánh, kiến nghị) give an authority so many working days
//! (ngày làm việc) to answer, urgent matters so many working hours, so the clock only runs while the commune office
//! is open: during the working sessions of a working day, never on weekends, on public holidays (ngày nghỉ lễ,
//! Tết) or on days swapped off by the government — but it does run on the Saturdays worked instead (ngày làm bù).
//! The holidays and make-up Saturdays come from `data/holidays/vietnam.toml`, with their sources next to it.
//!
//! Time zone: instants are stored in UTC; days and office hours are Vietnamese. Vietnam keeps UTC+7 all year,
//! without daylight saving time, so the conversion is a fixed seven hours ([`to_vietnam`], [`from_vietnam`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use serde::Deserialize;

use super::Text;

/// Vietnam's offset from UTC, the same all year (no daylight saving time).
pub const VIETNAM_OFFSET: TimeDelta = TimeDelta::hours(7);

/// The holiday file shipped with ykien (2024–2027; sources in `data/holidays/README.md`).
pub const BUNDLED_HOLIDAYS: &str = include_str!("../../data/holidays/vietnam.toml");

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("not a time of day"),
    }
}

/// The office hours of a Vietnamese state office: 07:30–11:30 and 13:30–17:00, 7.5 working hours a day.
pub const DEFAULT_SESSIONS: [(NaiveTime, NaiveTime); 2] = [(hm(7, 30), hm(11, 30)), (hm(13, 30), hm(17, 0))];

/// The wall-clock time in Vietnam of an instant.
pub fn to_vietnam(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
        .checked_add_signed(VIETNAM_OFFSET)
        .unwrap_or(NaiveDateTime::MAX)
}

/// The instant of a Vietnamese wall-clock time.
pub fn from_vietnam(local: NaiveDateTime) -> DateTime<Utc> {
    local
        .checked_sub_signed(VIETNAM_OFFSET)
        .map_or(DateTime::<Utc>::MIN_UTC, |n| n.and_utc())
}

/// The day in Vietnam of an instant: which units are valid, which day a wave opened, the "today" of pages.
pub fn vn_day(at: DateTime<Utc>) -> NaiveDate {
    to_vietnam(at).date()
}

/// The instant Vietnam's `day` starts (its midnight, 17:00 UTC the day before); the inverse of [`vn_day`].
pub fn vn_day_start(day: NaiveDate) -> DateTime<Utc> {
    from_vietnam(day.and_time(NaiveTime::MIN))
}

/// Why a calendar could not be built. Entries of the holiday file are named `holidays[i] "name"` (counting from
/// 0, in file order) with their line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the holiday file cannot be read: {0}")]
    Toml(String),
    #[error("{entry} (line {line}): bad date {value}: {reason}")]
    BadDate {
        entry: String,
        line: usize,
        value: String,
        reason: String,
    },
    #[error("{entry} (line {line}): {date} is listed twice, the first time as {first}")]
    DuplicateDate {
        entry: String,
        line: usize,
        date: NaiveDate,
        first: String,
    },
    #[error("{date} is both a holiday ({holiday}) and a working day ({working_day})")]
    HolidayAndWorkingDay {
        date: NaiveDate,
        holiday: String,
        working_day: String,
    },
    #[error("{entry} (line {line}): {date} is a {weekday}, worked anyway; a make-up working day falls on a weekend")]
    WorkingDayNotOnWeekend {
        entry: String,
        line: usize,
        date: NaiveDate,
        weekday: Weekday,
    },
    #[error("{entry} (line {line}): needs a Vietnamese (vi) and an English (en) name")]
    MissingName { entry: String, line: usize },
    #[error("a working day needs at least one working session")]
    NoSessions,
    #[error("working session {index} ({start}–{end}) must end after it starts")]
    EmptySession {
        index: usize,
        start: NaiveTime,
        end: NaiveTime,
    },
    #[error(
        "working session {index} ({start}–{end}) starts before session {previous} ends ({previous_end}): \
         give the sessions in order, without overlap"
    )]
    OverlappingSessions {
        index: usize,
        start: NaiveTime,
        end: NaiveTime,
        previous: usize,
        previous_end: NaiveTime,
    },
    #[error("at least one weekday must be a working day")]
    NoWorkingWeekday,
}

/// A time limit as the rules state it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    WorkingHours(u32),
    WorkingDays(u32),
}

impl Limit {
    /// The limit in working minutes. A working day is the working time of one day of the calendar (7.5 hours =
    /// 450 minutes by default), so "3 working days" is 3 × 450 working minutes, counted from the instant the case
    /// was received: received Monday 10:00, one working day is due Tuesday 10:00. This rolling count treats
    /// urgent (hours) and normal (days) tiers alike, and it is never later than counting whole days from the day
    /// after receipt, so a commune that meets it meets the stricter reading too.
    pub fn minutes(&self, cal: &WorkCalendar) -> i64 {
        match *self {
            Self::WorkingHours(h) => i64::from(h) * 60,
            Self::WorkingDays(d) => i64::from(d) * cal.day_minutes(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ListedDay {
    name: Text,
    provisional: bool,
}

/// Which instants are working time: the sessions of a working day, the working weekdays, the holidays (days off
/// that would otherwise be worked) and the extra working days (weekend days worked, ngày làm bù).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkCalendar {
    sessions: Vec<(NaiveTime, NaiveTime)>,
    /// Indexed by `Weekday::num_days_from_monday`.
    weekdays: [bool; 7],
    holidays: BTreeMap<NaiveDate, ListedDay>,
    working_days: BTreeMap<NaiveDate, ListedDay>,
    years: BTreeSet<i32>,
}

impl Default for WorkCalendar {
    /// Default office hours, Monday to Friday, no holidays.
    fn default() -> Self {
        Self {
            sessions: DEFAULT_SESSIONS.to_vec(),
            weekdays: [true, true, true, true, true, false, false],
            holidays: BTreeMap::new(),
            working_days: BTreeMap::new(),
            years: BTreeSet::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    holidays: Vec<RawDay>,
    #[serde(default)]
    working_days: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: toml::Spanned<toml::Value>,
    vi: String,
    en: String,
    #[serde(default)]
    provisional: bool,
}

fn parse_date(value: &toml::Value) -> Result<NaiveDate, String> {
    const LIKE: &str = "write a date like 2026-02-17";
    match value {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(|| format!("no such day; {LIKE}")),
            _ => Err(format!("a day has no time of day nor offset; {LIKE}")),
        },
        toml::Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| format!("{e}; {LIKE}")),
        other => Err(format!("a TOML {} is not a date; {LIKE}", other.type_str())),
    }
}

fn show_value(value: &toml::Value) -> String {
    match value {
        toml::Value::Datetime(dt) => dt.to_string(),
        toml::Value::String(s) => format!("{s:?}"),
        other => other.type_str().to_string(),
    }
}

impl WorkCalendar {
    /// Builds a calendar with the default office hours (Monday to Friday) from a holiday file:
    /// `[[holidays]]` and `[[working_days]]` entries, each with `date`, `vi`, `en` and an optional
    /// `provisional = true` (see `data/holidays/vietnam.toml`). Refuses a bad date, a date listed twice, a date
    /// both holiday and working day, and a working day that is not a weekend day (most likely a typo).
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| CalendarError::Toml(e.to_string()))?;
        let mut cal = Self::default();
        let line_of = |offset: usize| text.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1;
        for (list, entries) in [("holidays", &raw.holidays), ("working_days", &raw.working_days)] {
            for (i, e) in entries.iter().enumerate() {
                let entry = format!("{list}[{i}] {:?}", e.vi);
                let line = line_of(e.date.span().start);
                let date = parse_date(e.date.get_ref()).map_err(|reason| CalendarError::BadDate {
                    entry: entry.clone(),
                    line,
                    value: show_value(e.date.get_ref()),
                    reason,
                })?;
                if e.vi.trim().is_empty() || e.en.trim().is_empty() {
                    return Err(CalendarError::MissingName { entry, line });
                }
                let day = ListedDay {
                    name: Text::new(e.vi.trim(), e.en.trim()),
                    provisional: e.provisional,
                };
                let (this, other) = if list == "holidays" {
                    (&mut cal.holidays, &cal.working_days)
                } else {
                    if cal.weekdays[date.weekday().num_days_from_monday() as usize] {
                        return Err(CalendarError::WorkingDayNotOnWeekend {
                            entry,
                            line,
                            date,
                            weekday: date.weekday(),
                        });
                    }
                    (&mut cal.working_days, &cal.holidays)
                };
                if let Some(first) = this.get(&date) {
                    return Err(CalendarError::DuplicateDate {
                        entry,
                        line,
                        date,
                        first: first.name.vi.clone(),
                    });
                }
                if let Some(holiday) = other.get(&date) {
                    return Err(CalendarError::HolidayAndWorkingDay {
                        date,
                        holiday: holiday.name.vi.clone(),
                        working_day: day.name.vi,
                    });
                }
                this.insert(date, day);
                cal.years.insert(date.year());
            }
        }
        Ok(cal)
    }

    /// The calendar of a Vietnamese commune office: default office hours, Monday to Friday, and the bundled
    /// holidays.
    ///
    /// # Panics
    /// Only if the bundled holiday file were invalid, which a unit test rules out before any release.
    pub fn default_vietnam() -> Self {
        Self::from_toml(BUNDLED_HOLIDAYS).unwrap_or_else(|e| panic!("the bundled holiday file is invalid: {e}"))
    }

    /// Replaces the working sessions of a working day: each must end after it starts, and they must come in
    /// order without overlapping (one may start when the previous ends).
    pub fn with_sessions(mut self, sessions: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, CalendarError> {
        if sessions.is_empty() {
            return Err(CalendarError::NoSessions);
        }
        for (index, &(start, end)) in sessions.iter().enumerate() {
            if end <= start {
                return Err(CalendarError::EmptySession { index, start, end });
            }
            if let Some(&(_, previous_end)) = index.checked_sub(1).and_then(|p| sessions.get(p))
                && start < previous_end
            {
                return Err(CalendarError::OverlappingSessions {
                    index,
                    start,
                    end,
                    previous: index - 1,
                    previous_end,
                });
            }
        }
        self.sessions = sessions;
        Ok(self)
    }

    /// Replaces the working weekdays (Monday to Friday by default). Make-up working days already listed stay
    /// worked.
    pub fn with_working_weekdays(mut self, days: &[Weekday]) -> Result<Self, CalendarError> {
        if days.is_empty() {
            return Err(CalendarError::NoWorkingWeekday);
        }
        self.weekdays = [false; 7];
        for d in days {
            self.weekdays[d.num_days_from_monday() as usize] = true;
        }
        Ok(self)
    }

    pub fn sessions(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.sessions
    }

    fn day_time(&self) -> TimeDelta {
        self.sessions.iter().map(|&(s, e)| e - s).sum()
    }

    /// The working minutes of one working day (450 with the default sessions).
    pub fn day_minutes(&self) -> i64 {
        self.day_time().num_minutes()
    }

    /// Whether the office works on this (Vietnamese) day: a make-up working day, or a working weekday that is no
    /// holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_days.contains_key(&date)
            || (self.weekdays[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains_key(&date))
    }

    /// Whether an instant is inside a working session (a session includes its start, not its end).
    pub fn is_working_time(&self, t: DateTime<Utc>) -> bool {
        let local = to_vietnam(t);
        self.is_working_day(local.date())
            && self
                .sessions
                .iter()
                .any(|&(s, e)| s <= local.time() && local.time() < e)
    }

    /// The name of the holiday on this day, for display; also for holidays that fall on a weekend.
    pub fn holiday(&self, date: NaiveDate) -> Option<&Text> {
        self.holidays.get(&date).map(|d| &d.name)
    }

    /// The name of the make-up working day on this day (ngày làm bù), for display.
    pub fn extra_working_day(&self, date: NaiveDate) -> Option<&Text> {
        self.working_days.get(&date).map(|d| &d.name)
    }

    /// Whether the holiday or make-up day listed on this day was not yet announced by the government when the
    /// file was written (to be checked).
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        self.holidays
            .get(&date)
            .or_else(|| self.working_days.get(&date))
            .is_some_and(|d| d.provisional)
    }

    /// Whether the holiday file has days for this date's year; outside them, only weekends are off.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains(&date.year())
    }

    /// The last day the holiday file lists; after it every week looks the same.
    fn last_listed(&self) -> Option<NaiveDate> {
        let h = self.holidays.last_key_value().map(|(d, _)| *d);
        let w = self.working_days.last_key_value().map(|(d, _)| *d);
        h.max(w)
    }

    fn week_time(&self) -> TimeDelta {
        let days = self.weekdays.iter().filter(|w| **w).count();
        self.day_time() * i32::try_from(days).unwrap_or(7)
    }

    /// Whether every day from `date` on is a plain week (no listed day), so whole weeks can be skipped.
    fn plain_from(&self, date: NaiveDate) -> bool {
        self.last_listed().is_none_or(|last| date > last)
    }

    /// The instant when `minutes` of working time have passed after `start`.
    ///
    /// - A start outside working hours counts from the next working session: received Saturday, one working
    ///   hour is due Monday 08:30.
    /// - The answer is the earliest such instant, so work that ends with a session ends at the session's end:
    ///   11:00 plus 30 minutes is 11:30, not 13:30; a start exactly at a session's end (11:30) counts from the
    ///   next session (11:30 plus one minute is 13:31).
    /// - `minutes` 0 (or negative, counted as 0) gives `start` itself, even outside working hours.
    ///
    /// Loops over days (skipping whole weeks after the last listed holiday), never over minutes; beyond the
    /// representable range it saturates to the last instant chrono knows.
    pub fn add_working(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        match TimeDelta::try_minutes(minutes.max(0)) {
            Some(d) => self.add_working_time(start, d),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    fn add_working_time(&self, start: DateTime<Utc>, amount: TimeDelta) -> DateTime<Utc> {
        if amount <= TimeDelta::zero() {
            return start;
        }
        let local = to_vietnam(start);
        let week = self.week_time();
        let mut remaining = amount;
        let mut date = local.date();
        loop {
            if date > local.date() && week > TimeDelta::zero() && self.plain_from(date) {
                // Keep at least one week to walk through, so the answer is found by the loop below.
                let weeks = (remaining.num_seconds() - 1) / week.num_seconds();
                if weeks >= 1 {
                    let Some(skipped) = u64::try_from(weeks.saturating_mul(7))
                        .ok()
                        .and_then(|n| date.checked_add_days(Days::new(n)))
                    else {
                        return DateTime::<Utc>::MAX_UTC;
                    };
                    date = skipped;
                    remaining -= week * i32::try_from(weeks).unwrap_or(i32::MAX);
                }
            }
            if self.is_working_day(date) {
                for &(s, e) in &self.sessions {
                    let from = date.and_time(s).max(local);
                    let end = date.and_time(e);
                    if end > from {
                        let available = end - from;
                        if remaining <= available {
                            return from_vietnam(from + remaining);
                        }
                        remaining -= available;
                    }
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return DateTime::<Utc>::MAX_UTC,
            }
        }
    }

    /// The working time between `a` and `b` in whole minutes (seconds are dropped); 0 if `b` is not after `a`.
    /// The inverse of [`add_working`](Self::add_working): `working_minutes_between(s, add_working(s, m)) == m`.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        self.working_time_between(a, b).num_minutes()
    }

    fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        let mut total = TimeDelta::zero();
        if b <= a {
            return total;
        }
        let (la, lb) = (to_vietnam(a), to_vietnam(b));
        let week = self.week_time();
        let mut date = la.date();
        while date <= lb.date() {
            if date > la.date() && self.plain_from(date) {
                // Whole weeks strictly before b's day are all alike.
                let weeks = (lb.date() - date).num_days() / 7;
                if weeks >= 1
                    && let Some(skipped) = date.checked_add_days(Days::new(weeks.unsigned_abs() * 7))
                {
                    total += week * i32::try_from(weeks).unwrap_or(i32::MAX);
                    date = skipped;
                }
            }
            if self.is_working_day(date) {
                for &(s, e) in &self.sessions {
                    let from = date.and_time(s).max(la);
                    let to = date.and_time(e).min(lb);
                    if to > from {
                        total += to - from;
                    }
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }

    /// The working time inside the pauses, each counted once however they overlap, and only from `received` on.
    fn paused_time(&self, received: DateTime<Utc>, paused: &[(DateTime<Utc>, DateTime<Utc>)]) -> TimeDelta {
        let mut spans: Vec<_> = paused
            .iter()
            .map(|&(from, to)| (from.max(received), to))
            .filter(|(from, to)| to > from)
            .collect();
        spans.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(spans.len());
        for (from, to) in spans {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        merged
            .iter()
            .map(|&(from, to)| self.working_time_between(from, to))
            .sum()
    }

    /// When a case received at `received` is due: the limit, plus `extension_minutes` of working time (a
    /// negative extension counts as none), plus the working time spent in pauses (the clock stops while waiting
    /// for the citizen, so a pause moves the deadline by exactly the working time it lasted). Pauses may be given
    /// in any order and may overlap; the part of a pause before `received` does not count.
    pub fn deadline(
        &self,
        received: DateTime<Utc>,
        limit: Limit,
        paused: &[(DateTime<Utc>, DateTime<Utc>)],
        extension_minutes: i64,
    ) -> DateTime<Utc> {
        let minutes = limit.minutes(self).saturating_add(extension_minutes.max(0));
        let Some(granted) = TimeDelta::try_minutes(minutes) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        match granted.checked_add(&self.paused_time(received, paused)) {
            Some(total) => self.add_working_time(received, total),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }
}

#[cfg(test)]
mod tests;
