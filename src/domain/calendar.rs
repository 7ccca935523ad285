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
mod tests {
    use super::*;

    fn vn(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        from_vietnam(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::default_vietnam()
    }

    #[test]
    fn vietnam_time_is_utc_plus_seven_all_year() {
        let winter = DateTime::parse_from_rfc3339("2026-01-05T00:30:00Z").unwrap().to_utc();
        let summer = DateTime::parse_from_rfc3339("2026-07-06T00:30:00Z").unwrap().to_utc();
        assert_eq!(vn(2026, 1, 5, 7, 30), winter);
        assert_eq!(vn(2026, 7, 6, 7, 30), summer);
        assert_eq!(to_vietnam(summer).time(), t(7, 30));
    }

    #[test]
    fn a_vietnam_day_starts_at_17_utc_the_day_before() {
        let start = vn_day_start(day(2025, 7, 1));
        assert_eq!(
            start,
            DateTime::parse_from_rfc3339("2025-06-30T17:00:00Z").unwrap().to_utc()
        );
        assert_eq!(vn_day(start), day(2025, 7, 1));
        assert_eq!(vn_day(start - TimeDelta::seconds(1)), day(2025, 6, 30));
        assert_eq!(vn_day(vn(2025, 7, 1, 23, 59)), day(2025, 7, 1));
    }

    #[test]
    fn the_bundled_file_parses_and_covers_2024_to_2027() {
        let c = cal();
        for y in 2024..=2027 {
            assert!(c.covers(day(y, 6, 1)), "{y}");
        }
        assert!(!c.covers(day(2023, 6, 1)));
        assert!(!c.covers(day(2028, 6, 1)));
    }

    #[test]
    fn every_year_loses_exactly_the_eleven_statutory_working_days() {
        // Labour Code art. 112: 11 paid holidays. Days in lieu of weekend holidays and swaps keep the count:
        // weekday holidays minus make-up Saturdays is 11 every year (12 once 24/11 becomes a holiday).
        let c = cal();
        for y in 2024..=2027 {
            let weekday_off = c
                .holidays
                .keys()
                .filter(|d| d.year() == y && d.weekday().num_days_from_monday() < 5)
                .count();
            let make_up = c.working_days.keys().filter(|d| d.year() == y).count();
            assert_eq!(weekday_off - make_up, 11, "{y}");
        }
    }

    #[test]
    fn a_day_has_seven_and_a_half_working_hours_by_default() {
        assert_eq!(cal().day_minutes(), 450);
        assert_eq!(Limit::WorkingDays(3).minutes(&cal()), 1350);
        assert_eq!(Limit::WorkingHours(4).minutes(&cal()), 240);
    }

    #[test]
    fn a_working_day_follows_the_sessions_given() {
        let c = WorkCalendar::default()
            .with_sessions(vec![(t(8, 0), t(12, 0)), (t(13, 0), t(17, 0))])
            .unwrap();
        assert_eq!(Limit::WorkingDays(2).minutes(&c), 960);
        assert_eq!(c.add_working(vn(2026, 3, 2, 11, 0), 90), vn(2026, 3, 2, 13, 30));
    }

    #[test]
    fn one_working_hour_within_the_morning_ends_an_hour_later() {
        assert_eq!(cal().add_working(vn(2026, 3, 2, 8, 0), 60), vn(2026, 3, 2, 9, 0));
    }

    #[test]
    fn a_case_received_at_11_with_one_working_hour_is_due_at_14_after_lunch() {
        assert_eq!(cal().add_working(vn(2026, 3, 3, 11, 0), 60), vn(2026, 3, 3, 14, 0));
    }

    #[test]
    fn received_during_lunch_the_clock_starts_at_1330() {
        assert_eq!(cal().add_working(vn(2026, 3, 3, 12, 15), 45), vn(2026, 3, 3, 14, 15));
    }

    #[test]
    fn time_runs_over_the_weekend_to_monday() {
        // Friday 16:00: one hour on Friday, one on Monday.
        assert_eq!(cal().add_working(vn(2026, 3, 6, 16, 0), 120), vn(2026, 3, 9, 8, 30));
    }

    #[test]
    fn a_case_received_on_saturday_counts_from_monday_0730() {
        let c = cal();
        assert_eq!(c.add_working(vn(2026, 3, 7, 10, 0), 60), vn(2026, 3, 9, 8, 30));
        assert_eq!(c.add_working(vn(2026, 3, 7, 10, 0), 1), vn(2026, 3, 9, 7, 31));
        assert_eq!(
            c.working_minutes_between(vn(2026, 3, 7, 10, 0), vn(2026, 3, 9, 7, 30)),
            0
        );
    }

    #[test]
    fn a_normal_case_received_the_friday_before_tet_2026_lands_after_the_break() {
        // Friday 13/2 14:00 + 3 working days: 3 h on Friday, Tết 14–22/2 off, Mon 23 and Tue 24 whole, then
        // 4.5 h on Wednesday 25/2.
        let c = cal();
        let due = c.deadline(vn(2026, 2, 13, 14, 0), Limit::WorkingDays(3), &[], 0);
        assert_eq!(due, vn(2026, 2, 25, 14, 0));
        for d in 14..=22 {
            assert!(!c.is_working_day(day(2026, 2, d)), "2026-02-{d}");
        }
        assert!(c.is_working_day(day(2026, 2, 23)));
    }

    #[test]
    fn the_30_april_break_of_2025_is_skipped_swapped_friday_included() {
        // Tuesday 29/4 09:00 + 1 working day: 6 h on Tuesday, then 30/4, 1/5, the swapped 2/5 and the weekend
        // off, 1.5 h on Monday 5/5.
        let c = cal();
        assert_eq!(
            c.deadline(vn(2025, 4, 29, 9, 0), Limit::WorkingDays(1), &[], 0),
            vn(2025, 5, 5, 9, 0)
        );
        assert!(!c.is_working_day(day(2025, 5, 2)));
    }

    #[test]
    fn national_day_is_skipped() {
        let c = cal();
        // 2025: 1/9 and 2/9 off, Friday 29/8 10:00 + 1 working day is due Wednesday 3/9 10:00.
        assert_eq!(
            c.deadline(vn(2025, 8, 29, 10, 0), Limit::WorkingDays(1), &[], 0),
            vn(2025, 9, 3, 10, 0)
        );
        // 2026: Monday 31/8 swapped with Saturday 22/8; Friday 28/8 16:00 + 2 h is due Thursday 3/9 08:30.
        assert_eq!(c.add_working(vn(2026, 8, 28, 16, 0), 120), vn(2026, 9, 3, 8, 30));
        assert_eq!(c.holiday(day(2026, 9, 2)).unwrap().en, "National Day (2 September)");
    }

    #[test]
    fn a_make_up_saturday_is_worked() {
        let c = cal();
        assert!(c.is_working_day(day(2026, 1, 10)));
        assert!(!c.is_working_day(day(2026, 1, 2)));
        assert!(!c.is_working_day(day(2026, 1, 17)), "an ordinary Saturday");
        // Friday 9/1 16:00 + 2 h: one hour on Friday, one on Saturday 10/1.
        assert_eq!(c.add_working(vn(2026, 1, 9, 16, 0), 120), vn(2026, 1, 10, 8, 30));
        assert_eq!(c.add_working(vn(2025, 4, 25, 16, 0), 120), vn(2025, 4, 26, 8, 30));
        assert!(c.extra_working_day(day(2026, 1, 10)).unwrap().vi.contains("Làm bù"));
        assert!(c.is_working_time(vn(2026, 1, 10, 9, 0)));
    }

    #[test]
    fn a_holiday_on_a_sunday_is_taken_the_next_monday() {
        let c = cal();
        assert!(c.holiday(day(2026, 4, 26)).unwrap().vi.contains("Hùng Vương"));
        assert!(!c.is_working_day(day(2026, 4, 27)));
        assert!(c.is_working_day(day(2026, 4, 28)));
    }

    #[test]
    fn working_minutes_between_skips_the_weekend() {
        assert_eq!(
            cal().working_minutes_between(vn(2026, 3, 6, 16, 0), vn(2026, 3, 9, 8, 30)),
            120
        );
    }

    #[test]
    fn working_minutes_between_skips_lunch_and_is_zero_backwards() {
        let c = cal();
        assert_eq!(
            c.working_minutes_between(vn(2026, 3, 3, 11, 0), vn(2026, 3, 3, 14, 0)),
            60
        );
        assert_eq!(
            c.working_minutes_between(vn(2026, 3, 3, 14, 0), vn(2026, 3, 3, 11, 0)),
            0
        );
        assert_eq!(
            c.working_minutes_between(vn(2026, 3, 3, 0, 0), vn(2026, 3, 4, 0, 0)),
            450
        );
    }

    #[test]
    fn working_minutes_between_over_a_week_of_tet_counts_only_open_days() {
        // Monday 9/2/2026 to Monday 23/2/2026: one working week (9–13/2), then Tết.
        assert_eq!(
            cal().working_minutes_between(vn(2026, 2, 9, 0, 0), vn(2026, 2, 23, 0, 0)),
            5 * 450
        );
    }

    #[test]
    fn a_pause_moves_the_deadline_by_exactly_the_paused_working_time() {
        let c = cal();
        let received = vn(2026, 3, 2, 8, 0);
        let plain = c.deadline(received, Limit::WorkingDays(1), &[], 0);
        assert_eq!(plain, vn(2026, 3, 3, 8, 0));
        // Waiting for the citizen Monday 10:00–14:00: 90 + 30 working minutes.
        let pause = (vn(2026, 3, 2, 10, 0), vn(2026, 3, 2, 14, 0));
        assert_eq!(c.working_minutes_between(pause.0, pause.1), 120);
        let paused = c.deadline(received, Limit::WorkingDays(1), &[pause], 0);
        assert_eq!(paused, vn(2026, 3, 3, 10, 0));
        assert_eq!(c.working_minutes_between(plain, paused), 120);
        // Overlapping pauses count once; a pause over the weekend costs no working time.
        let inner = (vn(2026, 3, 2, 11, 0), vn(2026, 3, 2, 12, 0));
        assert_eq!(c.deadline(received, Limit::WorkingDays(1), &[inner, pause], 0), paused);
        let weekend = (vn(2026, 3, 7, 8, 0), vn(2026, 3, 8, 20, 0));
        assert_eq!(c.deadline(received, Limit::WorkingDays(1), &[weekend], 0), plain);
        // The part of a pause before the case was received does not count.
        let before = (vn(2026, 2, 27, 8, 0), vn(2026, 3, 2, 9, 0));
        assert_eq!(
            c.deadline(received, Limit::WorkingDays(1), &[before], 0),
            vn(2026, 3, 3, 9, 0)
        );
    }

    #[test]
    fn an_extension_adds_working_time() {
        let c = cal();
        let received = vn(2026, 3, 2, 8, 0);
        assert_eq!(
            c.deadline(received, Limit::WorkingDays(1), &[], 2 * 450),
            vn(2026, 3, 5, 8, 0)
        );
        assert_eq!(
            c.deadline(received, Limit::WorkingDays(1), &[], -600),
            vn(2026, 3, 3, 8, 0)
        );
    }

    #[test]
    fn an_urgent_case_of_4_working_hours_received_at_1630_is_due_at_1100_the_next_working_day() {
        // 30 minutes on Monday (16:30–17:00), the other 3.5 h from 07:30 on Tuesday: 11:00.
        let due = cal().deadline(vn(2026, 3, 2, 16, 30), Limit::WorkingHours(4), &[], 0);
        assert_eq!(due, vn(2026, 3, 3, 11, 0));
        // Received on the Friday before a weekend, it is due Monday.
        let due = cal().deadline(vn(2026, 3, 6, 16, 30), Limit::WorkingHours(4), &[], 0);
        assert_eq!(due, vn(2026, 3, 9, 11, 0));
    }

    #[test]
    fn zero_minutes_is_the_start_and_work_ending_with_a_session_ends_there() {
        let c = cal();
        assert_eq!(c.add_working(vn(2026, 3, 7, 10, 0), 0), vn(2026, 3, 7, 10, 0));
        assert_eq!(c.add_working(vn(2026, 3, 2, 9, 0), -5), vn(2026, 3, 2, 9, 0));
        assert_eq!(c.add_working(vn(2026, 3, 2, 11, 0), 30), vn(2026, 3, 2, 11, 30));
        assert_eq!(c.add_working(vn(2026, 3, 2, 11, 30), 1), vn(2026, 3, 2, 13, 31));
        assert_eq!(c.add_working(vn(2026, 3, 6, 17, 0), 1), vn(2026, 3, 9, 7, 31));
        assert!(c.is_working_time(vn(2026, 3, 2, 7, 30)));
        assert!(!c.is_working_time(vn(2026, 3, 2, 11, 30)));
    }

    #[test]
    fn whole_weeks_after_the_holiday_file_are_counted_alike() {
        let c = cal();
        // 2030: 260 working days from Tuesday 1/1 07:30 end on Monday 30/12 at 17:00.
        assert_eq!(c.add_working(vn(2030, 1, 1, 7, 30), 260 * 450), vn(2030, 12, 30, 17, 0));
        // 2030 starts on a Tuesday: 52 weeks and one more Tuesday.
        assert_eq!(
            c.working_minutes_between(vn(2030, 1, 1, 0, 0), vn(2031, 1, 1, 0, 0)),
            261 * 450
        );
        assert_eq!(c.add_working(vn(2026, 3, 2, 8, 0), i64::MAX), DateTime::<Utc>::MAX_UTC);
    }

    /// A small deterministic generator (Knuth's MMIX constants), so the property loops need no crate.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn add_working_and_working_minutes_between_are_inverse() {
        let c = cal();
        let mut rng = Lcg(20260217);
        let origin = vn(2023, 12, 20, 0, 0);
        // Start anywhere from late 2023 to 2031 (inside and after the holiday file), to the second.
        let span = (vn(2031, 12, 31, 0, 0) - origin).num_seconds().unsigned_abs();
        for i in 0..3000 {
            let start = origin + TimeDelta::seconds(rng.below(span) as i64);
            let minutes = if i % 10 == 0 {
                rng.below(200 * 450) as i64
            } else {
                rng.below(10 * 450 + 1) as i64
            };
            let due = c.add_working(start, minutes);
            assert_eq!(c.working_minutes_between(start, due), minutes, "{start} + {minutes}");
            if minutes > 0 {
                // The earliest such instant: a second earlier, a minute is still missing.
                let just_before = due - TimeDelta::seconds(1);
                assert_eq!(
                    c.working_minutes_between(start, just_before),
                    minutes - 1,
                    "{start} + {minutes}"
                );
                assert!(c.is_working_time(just_before), "{start} + {minutes}");
            }
            // The other way round: the working time up to any b, added back, is reached no later than b.
            let b = start + TimeDelta::seconds(rng.below(30 * 86_400) as i64);
            let worked = c.working_minutes_between(start, b);
            let back = c.add_working(start, worked);
            assert!(back <= b, "{start}..{b}");
            assert_eq!(c.working_minutes_between(start, back), worked);
        }
    }

    #[test]
    fn holiday_names_are_there_for_display() {
        let c = cal();
        let tet = c.holiday(day(2026, 2, 17)).unwrap();
        assert_eq!(tet.vi, "Tết Nguyên đán (mùng 1 Tết)");
        assert_eq!(tet.en, "Lunar New Year (1st day)");
        assert!(c.holiday(day(2026, 3, 2)).is_none());
        assert!(c.holiday(day(2024, 4, 18)).unwrap().vi.starts_with("Giỗ Tổ Hùng Vương"));
        assert!(c.is_provisional(day(2027, 2, 5)));
        assert!(!c.is_provisional(day(2026, 2, 17)));
        assert!(!c.is_provisional(day(2026, 3, 2)));
    }

    fn err(text: &str) -> CalendarError {
        WorkCalendar::from_toml(text).unwrap_err()
    }

    #[test]
    fn a_bad_date_is_refused_naming_the_entry_and_its_line() {
        let e = err(
            "[[holidays]]\ndate = 2026-01-01\nvi = \"A\"\nen = \"A\"\n\n[[holidays]]\ndate = \"2026-02-30\"\nvi = \"Tết\"\nen = \"Tet\"\n",
        );
        assert!(matches!(e, CalendarError::BadDate { line: 7, .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("holidays[1] \"Tết\" (line 7): bad date \"2026-02-30\""),
            "{e}"
        );
        let e = err("[[holidays]]\ndate = 2026-02-17T08:00:00\nvi = \"Tết\"\nen = \"Tet\"\n");
        assert!(e.to_string().contains("no time of day"), "{e}");
        let e = err("[[holidays]]\ndate = 20260217\nvi = \"Tết\"\nen = \"Tet\"\n");
        assert!(e.to_string().contains("a TOML integer is not a date"), "{e}");
        // A day the TOML parser itself knows cannot exist.
        let e = err("[[holidays]]\ndate = 2026-02-30\nvi = \"Tết\"\nen = \"Tet\"\n");
        assert!(
            matches!(e, CalendarError::Toml(_)) && e.to_string().contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn a_date_listed_twice_is_refused() {
        let e = err(
            "[[holidays]]\ndate = 2026-02-17\nvi = \"Mùng 1\"\nen = \"A\"\n[[holidays]]\ndate = 2026-02-17\nvi = \"Mùng 2\"\nen = \"B\"\n",
        );
        assert_eq!(
            e.to_string(),
            "holidays[1] \"Mùng 2\" (line 6): 2026-02-17 is listed twice, the first time as Mùng 1"
        );
    }

    #[test]
    fn a_date_both_holiday_and_working_day_is_refused() {
        let e = err(
            "[[holidays]]\ndate = 2026-01-10\nvi = \"Nghỉ\"\nen = \"Off\"\n[[working_days]]\ndate = 2026-01-10\nvi = \"Làm bù\"\nen = \"Make-up\"\n",
        );
        assert_eq!(
            e.to_string(),
            "2026-01-10 is both a holiday (Nghỉ) and a working day (Làm bù)"
        );
    }

    #[test]
    fn a_make_up_day_on_a_weekday_is_refused_as_a_likely_typo() {
        let e = err("[[working_days]]\ndate = 2026-01-09\nvi = \"Làm bù\"\nen = \"Make-up\"\n");
        assert!(
            matches!(
                e,
                CalendarError::WorkingDayNotOnWeekend {
                    weekday: Weekday::Fri,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("working_days[0] \"Làm bù\" (line 2): 2026-01-09 is a Fri"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_and_empty_names_are_refused() {
        let e = err("[[holiday]]\ndate = 2026-01-01\nvi = \"A\"\nen = \"A\"\n");
        assert!(
            matches!(e, CalendarError::Toml(_)) && e.to_string().contains("holiday"),
            "{e}"
        );
        let e = err("[[holidays]]\ndate = 2026-01-01\nvi = \"A\"\nen = \"A\"\nname = \"x\"\n");
        assert!(e.to_string().contains("name"), "{e}");
        let e = err("[[holidays]]\ndate = 2026-01-01\nvi = \" \"\nen = \"A\"\n");
        assert!(matches!(e, CalendarError::MissingName { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn bad_sessions_are_refused() {
        let base = WorkCalendar::default;
        assert_eq!(base().with_sessions(vec![]).unwrap_err(), CalendarError::NoSessions);
        let e = base().with_sessions(vec![(t(11, 0), t(8, 0))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "working session 0 (11:00:00–08:00:00) must end after it starts"
        );
        let e = base()
            .with_sessions(vec![(t(8, 0), t(12, 0)), (t(11, 0), t(17, 0))])
            .unwrap_err();
        assert!(
            matches!(
                e,
                CalendarError::OverlappingSessions {
                    index: 1,
                    previous: 0,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = base()
            .with_sessions(vec![(t(13, 0), t(17, 0)), (t(8, 0), t(12, 0))])
            .unwrap_err();
        assert!(e.to_string().contains("in order"), "{e}");
        // Touching sessions are fine.
        assert!(
            base()
                .with_sessions(vec![(t(8, 0), t(12, 0)), (t(12, 0), t(16, 0))])
                .is_ok()
        );
    }

    #[test]
    fn working_weekdays_can_include_saturday_but_not_be_empty() {
        let six = WorkCalendar::default()
            .with_working_weekdays(&[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
            ])
            .unwrap();
        assert!(six.is_working_day(day(2026, 3, 7)));
        assert!(!six.is_working_day(day(2026, 3, 8)));
        assert_eq!(six.add_working(vn(2026, 3, 6, 16, 0), 120), vn(2026, 3, 7, 8, 30));
        assert_eq!(
            WorkCalendar::default().with_working_weekdays(&[]).unwrap_err(),
            CalendarError::NoWorkingWeekday
        );
    }
}
