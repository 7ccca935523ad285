//! How well each unit handles the feedback it gets: cases, on-time rate, median time to answer, mean rating.
//!
//! The on-time rate follows the server's rule (`src/domain/cases.rs`): closed on time / (closed + open overdue),
//! where a case counts as closed once answered, it was on time when answered by its deadline, and an open case is
//! overdue once its deadline has passed. Rejected and duplicate cases, and cases waiting for the citizen (their
//! clock is paused), are counted as cases but enter neither side of the rate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a case stands, as far as the KPI cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Received, accepted or assigned: the clock runs.
    Open,
    /// Answered or closed.
    Closed,
    /// Rejected, duplicate, or waiting for the citizen: outside the rate.
    NotCounted,
}

/// What the KPIs need of one feedback case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFacts {
    /// The unit the case belongs to.
    pub unit_code: String,
    /// When the citizen sent it.
    pub received_at: DateTime<Utc>,
    /// The deadline that applies (acceptance while received, else the answer deadline), if any.
    pub due_at: Option<DateTime<Utc>>,
    /// When the official answer was given.
    pub answered_at: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: CaseStatus,
    /// The citizen's rating of the answer, 1–5; other values are ignored.
    pub rating: Option<u8>,
}

/// The feedback KPIs of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitKpi {
    /// The unit.
    pub unit_code: String,
    /// All cases given for it.
    pub cases: usize,
    /// Answered or closed cases.
    pub closed: usize,
    /// Of those, answered by their deadline.
    pub closed_on_time: usize,
    /// Open cases past their deadline.
    pub open_overdue: usize,
    /// closed on time / (closed + open overdue); `None` when both are 0.
    pub on_time_rate: Option<f64>,
    /// Median of answered − received over answered cases, in hours of the clock (not working hours).
    pub median_hours_to_answer: Option<f64>,
    /// Mean of the ratings 1–5 given.
    pub mean_rating: Option<f64>,
    /// How many ratings the mean is over.
    pub ratings: usize,
}

/// The KPIs of every unit that has cases, ordered by unit code; `now` decides which open cases are overdue.
pub fn kpis(cases: &[CaseFacts], now: DateTime<Utc>) -> Vec<UnitKpi> {
    let mut by_unit: BTreeMap<&str, Vec<&CaseFacts>> = BTreeMap::new();
    for case in cases {
        by_unit.entry(&case.unit_code).or_default().push(case);
    }
    by_unit
        .into_iter()
        .map(|(unit, cases)| {
            let mut kpi = UnitKpi {
                unit_code: unit.to_owned(),
                cases: cases.len(),
                closed: 0,
                closed_on_time: 0,
                open_overdue: 0,
                on_time_rate: None,
                median_hours_to_answer: None,
                mean_rating: None,
                ratings: 0,
            };
            let mut hours = Vec::new();
            let mut rating_sum = 0u32;
            for case in &cases {
                match case.status {
                    CaseStatus::Closed => {
                        kpi.closed += 1;
                        if matches!((case.answered_at, case.due_at), (Some(a), Some(d)) if a <= d) {
                            kpi.closed_on_time += 1;
                        }
                    }
                    CaseStatus::Open if case.due_at.is_some_and(|d| d < now) => kpi.open_overdue += 1,
                    CaseStatus::Open | CaseStatus::NotCounted => {}
                }
                if let Some(answered) = case.answered_at {
                    // Milliseconds keep sub-second precision without overflow for any realistic span.
                    hours.push((answered - case.received_at).num_milliseconds() as f64 / 3_600_000.0);
                }
                if let Some(rating) = case.rating.filter(|r| (1..=5).contains(r)) {
                    rating_sum += u32::from(rating);
                    kpi.ratings += 1;
                }
            }
            let denominator = kpi.closed + kpi.open_overdue;
            kpi.on_time_rate = (denominator > 0).then(|| kpi.closed_on_time as f64 / denominator as f64);
            kpi.median_hours_to_answer = median(&mut hours);
            kpi.mean_rating = (kpi.ratings > 0).then(|| f64::from(rating_sum) / kpi.ratings as f64);
            kpi
        })
        .collect()
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000, 0).single().expect("valid") + chrono::Duration::hours(hour)
    }

    fn case(unit: &str, status: CaseStatus, due: i64, answered: Option<i64>, rating: Option<u8>) -> CaseFacts {
        CaseFacts {
            unit_code: unit.into(),
            received_at: at(0),
            due_at: Some(at(due)),
            answered_at: answered.map(at),
            status,
            rating,
        }
    }

    #[test]
    fn on_time_rate_median_and_rating_per_unit() {
        let now = at(100);
        let cases = [
            case("11953", CaseStatus::Closed, 20, Some(10), Some(5)), // on time, 10 h
            case("11953", CaseStatus::Closed, 20, Some(30), Some(2)), // late, 30 h
            case("11953", CaseStatus::Open, 50, None, None),          // overdue
            case("11953", CaseStatus::Open, 200, None, None),         // still in time
            case("11953", CaseStatus::NotCounted, 20, None, Some(9)), // rejected; a bad rating is ignored
            case("11977", CaseStatus::Open, 200, None, None),
        ];
        let kpis = kpis(&cases, now);
        assert_eq!(kpis.len(), 2);
        let k = &kpis[0];
        assert_eq!(k.unit_code, "11953");
        assert_eq!((k.cases, k.closed, k.closed_on_time, k.open_overdue), (5, 2, 1, 1));
        assert_eq!(k.on_time_rate, Some(1.0 / 3.0));
        assert_eq!(k.median_hours_to_answer, Some(20.0));
        assert_eq!((k.mean_rating, k.ratings), (Some(3.5), 2));
        let quiet = &kpis[1];
        assert_eq!(
            (quiet.cases, quiet.on_time_rate, quiet.median_hours_to_answer),
            (1, None, None)
        );
    }
}
