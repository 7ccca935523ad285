//! Survey waves and reporting periods: a questionnaire version open for a time window over some units, with the
//! periods the provincial plans report on.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use uuid::Uuid;

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
}

impl Wave {
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.opens_at <= now && now < self.closes_at
    }
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The plans' periods that contain `day`: the six-month report (1 November – 31 May) while it runs, and the
/// annual report (1 November – 31 October). A reporting year starts on 1 November of the year before.
pub fn plan_periods(day: NaiveDate) -> Vec<ReportingPeriod> {
    let year = if day.month() >= 11 { day.year() + 1 } else { day.year() };
    let mut periods = Vec::new();
    if let (Some(start), Some(six), Some(annual)) = (ymd(year - 1, 11, 1), ymd(year, 5, 31), ymd(year, 10, 31)) {
        if day <= six {
            periods.push(ReportingPeriod {
                name: format!("Báo cáo 6 tháng năm {year}"),
                starts_on: start,
                ends_on: six,
            });
        }
        periods.push(ReportingPeriod {
            name: format!("Báo cáo năm {year}"),
            starts_on: start,
            ends_on: annual,
        });
    }
    periods
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
    fn a_summer_day_is_only_in_the_annual_report() {
        let p = plan_periods(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].starts_on.to_string(), p[0].ends_on.to_string()),
            ("2025-11-01".into(), "2026-10-31".into())
        );
    }
}
