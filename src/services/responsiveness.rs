//! How well each commune answers feedback, per category and overall, as the public scorecards show it
//! (FixMyStreet's responsiveness tables are the model): cases received, answered on time, the median working time
//! to the answer, reopened cases and the mean rating. Computed with the scores' snapshot from the same cases.
//!
//! The rules, written out in `docs/public.md`:
//! - *received*: every case received in the span;
//! - *answered on time*: answered cases whose answer came by their deadline, over answered cases plus open cases
//!   past their deadline (rejected and duplicate cases and those waiting for the citizen do not count);
//! - *median working time*: over answered cases, working hours of the calendar from receipt to the answer (time
//!   waiting for the citizen included);
//! - *reopened*: cases the citizen reopened at least once;
//! - *mean rating*: of the ratings given, shown only from [`MIN_RATINGS_SHOWN`] ratings so that no reporter's
//!   own rating can be read off a commune with one or two.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::calendar::WorkCalendar;
use crate::domain::cases::CaseState;
use crate::storage::CaseFacts;

/// Fewer ratings than this and the mean is not shown.
pub const MIN_RATINGS_SHOWN: usize = 5;

/// One commune's responsiveness, over all its cases (`category` `None`) or one category's.
#[derive(Clone, Debug, PartialEq)]
pub struct Responsiveness {
    pub unit_code: String,
    pub category: Option<String>,
    pub received: usize,
    pub answered: usize,
    pub answered_on_time: usize,
    /// Open cases past their deadline.
    pub open_overdue: usize,
    /// answered on time / (answered + open overdue), `None` when both are 0.
    pub on_time_rate: Option<f64>,
    /// Median working hours from receipt to the answer.
    pub median_working_hours: Option<f64>,
    pub reopened: usize,
    /// Mean of the ratings, `None` under [`MIN_RATINGS_SHOWN`] ratings.
    pub mean_rating: Option<f64>,
    pub ratings: usize,
}

/// The responsiveness of every commune with cases, overall first then per category, by unit and category code.
pub fn responsiveness(cases: &[CaseFacts], calendar: &WorkCalendar, now: DateTime<Utc>) -> Vec<Responsiveness> {
    let mut groups: BTreeMap<(&str, Option<&str>), Vec<&CaseFacts>> = BTreeMap::new();
    for c in cases {
        groups.entry((&c.unit_code, None)).or_default().push(c);
        groups.entry((&c.unit_code, Some(&c.category))).or_default().push(c);
    }
    groups
        .into_iter()
        .map(|((unit, category), cases)| summarize(unit, category, &cases, calendar, now))
        .collect()
}

fn summarize(
    unit: &str,
    category: Option<&str>,
    cases: &[&CaseFacts],
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Responsiveness {
    let counted = |c: &&&CaseFacts| {
        !matches!(
            c.state,
            CaseState::Rejected | CaseState::Duplicate | CaseState::WaitingForCitizen
        )
    };
    let answered: Vec<&&CaseFacts> = cases
        .iter()
        .filter(counted)
        .filter(|c| c.answered_at.is_some())
        .collect();
    let on_time = answered
        .iter()
        .filter(|c| match (c.answered_at, c.answer_due_at) {
            (Some(at), Some(due)) => at <= due,
            _ => false,
        })
        .count();
    let open_overdue = cases
        .iter()
        .filter(counted)
        .filter(|c| c.answered_at.is_none() && c.state.is_open())
        .filter(|c| crate::domain::cases::deadline(c.state, c.accept_due_at, c.answer_due_at).is_some_and(|d| d < now))
        .count();
    let mut hours: Vec<f64> = answered
        .iter()
        .filter_map(|c| Some(calendar.working_minutes_between(c.received_at, c.answered_at?) as f64 / 60.0))
        .collect();
    hours.sort_by(f64::total_cmp);
    let ratings: Vec<f64> = cases.iter().filter_map(|c| c.rating).map(|r| r as f64).collect();
    let denominator = answered.len() + open_overdue;
    Responsiveness {
        unit_code: unit.to_owned(),
        category: category.map(str::to_owned),
        received: cases.len(),
        answered: answered.len(),
        answered_on_time: on_time,
        open_overdue,
        on_time_rate: (denominator > 0).then(|| on_time as f64 / denominator as f64),
        median_working_hours: median(&hours),
        reopened: cases.iter().filter(|c| c.reopens > 0).count(),
        mean_rating: (ratings.len() >= MIN_RATINGS_SHOWN).then(|| ratings.iter().sum::<f64>() / ratings.len() as f64),
        ratings: ratings.len(),
    }
}

/// The median of sorted values: the middle one, or the mean of the two middle ones.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // Hours in Vietnam (UTC+7), December 2026: Monday 7th to Friday 11th are working days.
        Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0)
            .single()
            .expect("a valid instant")
            - chrono::Duration::hours(7)
    }

    fn case(category: &str, state: CaseState, received: DateTime<Utc>, due: DateTime<Utc>) -> CaseFacts {
        CaseFacts {
            unit_code: "11953".into(),
            category: category.into(),
            state,
            received_at: received,
            accept_due_at: due,
            answer_due_at: Some(due),
            answered_at: None,
            rating: None,
            reopens: 0,
        }
    }

    /// Worked by hand on the default calendar (07:30–11:30 and 13:30–17:00, Monday to Friday).
    #[test]
    fn a_commune_worked_by_hand() {
        let mut answered_early = case("road", CaseState::Answered, at(7, 8), at(9, 17));
        answered_early.answered_at = Some(at(7, 13)); // 08:00–11:30: 3.5 working hours (lunch does not count)
        answered_early.rating = Some(4);
        let mut answered_late = case("road", CaseState::Closed, at(7, 8), at(8, 8));
        answered_late.answered_at = Some(at(8, 10)); // 3.5 + 3.5 + 2.5 = 9.5 working hours, past its deadline
        answered_late.reopens = 1;
        let overdue = case("clean_water", CaseState::Assigned, at(7, 9), at(7, 12));
        let rejected = case("clean_water", CaseState::Rejected, at(7, 9), at(7, 12));
        let rows = responsiveness(
            &[answered_early, answered_late, overdue, rejected],
            &WorkCalendar::default_vietnam(),
            at(10, 9),
        );
        let all = rows.iter().find(|r| r.category.is_none()).expect("the commune's row");
        assert_eq!(
            (all.received, all.answered, all.answered_on_time, all.open_overdue),
            (4, 2, 1, 1)
        );
        assert_eq!(all.on_time_rate, Some(1.0 / 3.0));
        assert_eq!(all.median_working_hours, Some(6.5));
        assert_eq!(all.reopened, 1);
        assert_eq!((all.mean_rating, all.ratings), (None, 1));
        let water = rows
            .iter()
            .find(|r| r.category.as_deref() == Some("clean_water"))
            .expect("water");
        assert_eq!((water.received, water.answered, water.on_time_rate), (2, 0, Some(0.0)));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn the_mean_rating_shows_from_five_ratings() {
        let rated: Vec<CaseFacts> = (1..=5)
            .map(|r| {
                let mut c = case("road", CaseState::Closed, at(7, 8), at(9, 17));
                c.answered_at = Some(at(7, 9));
                c.rating = Some(r);
                c
            })
            .collect();
        let rows = responsiveness(&rated[..4], &WorkCalendar::default_vietnam(), at(10, 9));
        assert_eq!(rows[0].mean_rating, None);
        let rows = responsiveness(&rated, &WorkCalendar::default_vietnam(), at(10, 9));
        assert_eq!(rows[0].mean_rating, Some(3.0));
    }
}
