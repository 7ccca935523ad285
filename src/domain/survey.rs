//! Survey waves and reporting periods: a questionnaire version open for a time window over some units, with the
//! periods the provincial plans report on.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::questionnaire::Questionnaire;

/// A named span of days a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportingPeriod {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// A wave to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWave {
    pub code: String,
    pub title: String,
    pub questionnaire_id: Uuid,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Provinces or communes; a province covers all its communes.
    pub unit_ids: Vec<Uuid>,
    pub periods: Vec<ReportingPeriod>,
    /// A split questionnaire: the sub-dimensions each respondent is asked besides the profile (all when `None`).
    pub modules_per_respondent: Option<u16>,
}

/// A stored wave.
#[derive(Clone, Debug, PartialEq)]
pub struct Wave {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub questionnaire_id: Uuid,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// A split questionnaire: the sub-dimensions each respondent is asked besides the profile (all when `None`).
    pub modules_per_respondent: Option<u16>,
}

impl Wave {
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.opens_at <= now && now < self.closes_at
    }

    /// The sub-dimensions one respondent is asked, in the questionnaire's order: `None` (all of them) unless the
    /// wave is split. On a split wave, `modules_per_respondent` of them drawn for this respondent: the codes
    /// ordered by SHA-256 of (wave id, respondent's keyed identity hash, code), the first ones taken. The draw is
    /// the same each time the same person comes back (no re-drawing by starting again), differs between people
    /// and waves, and anyone holding the hash can recompute it.
    pub fn modules_for(&self, q: &Questionnaire, identity_hash: &str) -> Option<Vec<String>> {
        let k = usize::from(self.modules_per_respondent?);
        let mut drawn: Vec<(Vec<u8>, usize)> = q
            .subdimensions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut h = Sha256::new();
                h.update(self.id.as_bytes());
                h.update(identity_hash.as_bytes());
                h.update(b"\0");
                h.update(s.code.as_bytes());
                (h.finalize().to_vec(), i)
            })
            .collect();
        drawn.sort();
        let mut chosen: Vec<usize> = drawn.into_iter().take(k).map(|(_, i)| i).collect();
        chosen.sort_unstable();
        Some(chosen.into_iter().map(|i| q.subdimensions[i].code.clone()).collect())
    }
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// One report of the provincial plans: the six-month report of a year (data from 1 November of the year before to
/// 31 May) or its annual report (1 November of the year before to 31 October). Written `2026-6t` and `2026` in
/// addresses and file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanPeriod {
    pub year: i32,
    pub six_month: bool,
}

impl PlanPeriod {
    /// The reports whose data spans `day`, six-month first.
    pub fn containing(day: NaiveDate) -> Vec<Self> {
        let year = if day.month() >= 11 { day.year() + 1 } else { day.year() };
        [true, false]
            .into_iter()
            .map(|six_month| Self { year, six_month })
            .filter(|p| p.period().is_some_and(|r| r.starts_on <= day && day <= r.ends_on))
            .collect()
    }

    /// The reports whose data spans any day from `from` to `to` (both included; `to` before `from` counts as
    /// `from`), oldest first. Days are visited a month apart: every report spans more than a month, so none is
    /// stepped over.
    pub fn spanning(from: NaiveDate, to: NaiveDate) -> Vec<Self> {
        let to = to.max(from);
        let mut periods = std::collections::BTreeSet::new();
        let mut day = from;
        while day <= to {
            periods.extend(Self::containing(day));
            match day.checked_add_days(chrono::Days::new(30)) {
                Some(next) => day = next,
                None => break,
            }
        }
        periods.extend(Self::containing(to));
        periods.into_iter().collect()
    }

    /// Its name and days; `None` only for years chrono cannot represent.
    pub fn period(self) -> Option<ReportingPeriod> {
        let start = ymd(self.year - 1, 11, 1)?;
        let (end, name) = if self.six_month {
            (ymd(self.year, 5, 31)?, format!("Báo cáo 6 tháng năm {}", self.year))
        } else {
            (ymd(self.year, 10, 31)?, format!("Báo cáo năm {}", self.year))
        };
        Some(ReportingPeriod {
            name,
            starts_on: start,
            ends_on: end,
        })
    }

    /// The instants its data was collected in, `[first midnight, the midnight after the last day)` in Vietnam's
    /// time (UTC+7, no daylight saving).
    pub fn instants(self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let period = self.period()?;
        let midnight = |day: NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc() - chrono::Duration::hours(VIETNAM_UTC_OFFSET_HOURS))
        };
        Some((midnight(period.starts_on)?, midnight(period.ends_on.succ_opt()?)?))
    }
}

/// Vietnam's offset from UTC.
pub const VIETNAM_UTC_OFFSET_HOURS: i64 = 7;

impl std::fmt::Display for PlanPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.six_month {
            write!(f, "{}-6t", self.year)
        } else {
            write!(f, "{}", self.year)
        }
    }
}

impl std::str::FromStr for PlanPeriod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (year, six_month) = match s.strip_suffix("-6t") {
            Some(y) => (y, true),
            None => (s, false),
        };
        match year.parse::<i32>() {
            Ok(year) if (2000..=2200).contains(&year) => Ok(Self { year, six_month }),
            _ => Err(format!(
                "kỳ báo cáo {s:?} không hợp lệ; ví dụ 2026-6t (6 tháng) hoặc 2026 (cả năm)"
            )),
        }
    }
}

/// The plans' periods that contain `day`: the six-month report (1 November – 31 May) while it runs, and the
/// annual report (1 November – 31 October). A reporting year starts on 1 November of the year before.
pub fn plan_periods(day: NaiveDate) -> Vec<ReportingPeriod> {
    PlanPeriod::containing(day)
        .into_iter()
        .filter_map(PlanPeriod::period)
        .collect()
}

/// A wave code: lower-case letters, digits and '-', as it appears in addresses.
pub fn is_wave_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wave_spans_every_report_its_days_fall_in() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let six = |year| PlanPeriod { year, six_month: true };
        let annual = |year| PlanPeriod { year, six_month: false };
        assert_eq!(
            PlanPeriod::spanning(day(2025, 11, 1), day(2026, 10, 31)),
            vec![annual(2026), six(2026)]
        );
        assert_eq!(
            PlanPeriod::spanning(day(2026, 5, 20), day(2026, 11, 3)),
            vec![annual(2026), six(2026), annual(2027), six(2027)]
        );
        assert_eq!(
            PlanPeriod::spanning(day(2026, 7, 1), day(2026, 6, 1)),
            vec![annual(2026)]
        );
    }

    #[test]
    fn a_november_day_falls_in_next_years_six_month_and_annual_reports() {
        let p = plan_periods(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "Báo cáo 6 tháng năm 2027");
        assert_eq!(
            (p[0].starts_on.to_string(), p[0].ends_on.to_string()),
            ("2026-11-01".into(), "2027-05-31".into())
        );
        assert_eq!(
            (p[1].name.as_str(), p[1].ends_on.to_string()),
            ("Báo cáo năm 2027", "2027-10-31".into())
        );
    }

    #[test]
    fn plan_periods_are_written_and_read_back_and_span_vietnamese_days() {
        let six: PlanPeriod = "2026-6t".parse().unwrap();
        assert_eq!(
            (six.year, six.six_month, six.to_string()),
            (2026, true, "2026-6t".to_owned())
        );
        let annual: PlanPeriod = "2026".parse().unwrap();
        assert_eq!(annual.to_string(), "2026");
        let (from, until) = six.instants().unwrap();
        // 1 November 2025 00:00 in Hà Nội is 31 October 17:00 UTC; the period ends at 1 June 2026 00:00 there.
        assert_eq!(from.to_rfc3339(), "2025-10-31T17:00:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-05-31T17:00:00+00:00");
        assert_eq!(annual.instants().unwrap().1.to_rfc3339(), "2026-10-31T17:00:00+00:00");
        for bad in ["", "26", "2026-6", "2026-12t", "năm 2026", "1999"] {
            let e = bad.parse::<PlanPeriod>().unwrap_err();
            assert!(e.contains("không hợp lệ"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_summer_day_is_only_in_the_annual_report() {
        let p = plan_periods(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].starts_on.to_string(), p[0].ends_on.to_string()),
            ("2025-11-01".into(), "2026-10-31".into())
        );
    }
}
