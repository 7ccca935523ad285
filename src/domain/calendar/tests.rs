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
