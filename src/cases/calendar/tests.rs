//! Unit tests of the calendar rules, the deadline arithmetic and the CSV parser.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::{Asia::Shanghai, Europe::Berlin, Tz};

use super::{
    DayKind, TimeUnit, WorkPeriod, WorkingAmount, WorkingCalendar, add_working_time,
    deadline::DeadlineError, import::default_days, import::parse_days, working_time_between,
};

/// Builds the standard office week with the shipped 2025 and 2026 holidays.
fn china() -> WorkingCalendar {
    WorkingCalendar::new(WorkingCalendar::standard_week(), default_days()).unwrap()
}

/// Parses an RFC 3339 instant with its offset.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn hours(amount: i64) -> WorkingAmount {
    WorkingAmount::new(amount, TimeUnit::WorkingHours).unwrap()
}

fn days(amount: i64) -> WorkingAmount {
    WorkingAmount::new(amount, TimeUnit::WorkingDays).unwrap()
}

/// Computes a deadline and shows it in `tz` for readable failures.
fn deadline(start: &str, amount: WorkingAmount, calendar: &WorkingCalendar, tz: Tz) -> String {
    let due = add_working_time(at(start), amount, calendar, tz).unwrap();
    due.with_timezone(&tz).to_rfc3339()
}

#[test]
fn hours_skip_the_weekend() {
    // Friday 16:00 leaves two hours that day; the other two fall on Monday morning.
    let due = deadline("2026-12-04T16:00:00+08:00", hours(4), &china(), Shanghai);
    assert_eq!(due, "2026-12-07T11:00:00+08:00");
}

#[test]
fn hours_skip_national_day_holiday() {
    let due = deadline("2026-09-30T17:00:00+08:00", hours(2), &china(), Shanghai);
    assert_eq!(due, "2026-10-08T10:00:00+08:00");
}

#[test]
fn days_count_make_up_saturday_after_national_day() {
    // Working days after 30 September: 8 Oct (Thu), 9 Oct (Fri), 10 Oct (make-up Sat).
    let due = deadline("2026-09-30T10:00:00+08:00", days(3), &china(), Shanghai);
    assert_eq!(due, "2026-10-10T18:00:00+08:00");
}

#[test]
fn hours_use_make_up_sunday_before_national_day() {
    // 19 September is a Saturday off; 20 September is a Sunday worked (调休).
    let due = deadline("2026-09-19T10:00:00+08:00", hours(1), &china(), Shanghai);
    assert_eq!(due, "2026-09-20T10:00:00+08:00");
}

#[test]
fn hours_cross_local_midnight() {
    let due = deadline("2026-12-03T17:00:00+08:00", hours(3), &china(), Shanghai);
    assert_eq!(due, "2026-12-04T11:00:00+08:00");
}

#[test]
fn start_on_previous_utc_date_uses_local_date() {
    // 07:00 in Shanghai on Friday is still Thursday in UTC.
    let due = deadline("2026-12-03T23:00:00Z", hours(1), &china(), Shanghai);
    assert_eq!(due, "2026-12-04T10:00:00+08:00");
}

#[test]
fn start_in_lunch_break_counts_from_afternoon() {
    let due = deadline("2026-12-03T12:30:00+08:00", hours(1), &china(), Shanghai);
    assert_eq!(due, "2026-12-03T14:30:00+08:00");
}

#[test]
fn start_at_night_counts_from_next_morning() {
    let due = deadline("2026-12-03T21:15:00+08:00", hours(2), &china(), Shanghai);
    assert_eq!(due, "2026-12-04T11:00:00+08:00");
}

#[test]
fn deadline_on_period_end_stays_before_break() {
    let due = deadline("2026-12-03T09:00:00+08:00", hours(3), &china(), Shanghai);
    assert_eq!(due, "2026-12-03T12:00:00+08:00");
}

#[test]
fn start_on_holiday_counts_from_next_working_day() {
    let calendar = china();
    let by_hours = deadline("2026-10-03T10:00:00+08:00", hours(1), &calendar, Shanghai);
    assert_eq!(by_hours, "2026-10-08T10:00:00+08:00");
    let by_days = deadline("2026-10-03T10:00:00+08:00", days(1), &calendar, Shanghai);
    assert_eq!(by_days, "2026-10-08T18:00:00+08:00");
}

#[test]
fn days_exclude_the_start_date() {
    // Thursday morning plus one working day is the end of Friday, not of Thursday.
    let due = deadline("2026-12-03T09:05:00+08:00", days(1), &china(), Shanghai);
    assert_eq!(due, "2026-12-04T18:00:00+08:00");
}

#[test]
fn days_skip_spring_festival() {
    // 14 Feb 2026 is a make-up Saturday, 15–23 Feb the Spring Festival holiday.
    let due = deadline("2026-02-13T15:00:00+08:00", days(2), &china(), Shanghai);
    assert_eq!(due, "2026-02-24T18:00:00+08:00");
}

#[test]
fn zero_amount_returns_start_unchanged() {
    let calendar = china();
    for (description, start) in [
        ("inside working hours", "2026-12-03T10:17:00+08:00"),
        ("on a holiday", "2026-10-03T03:00:00+08:00"),
    ] {
        for amount in [hours(0), days(0)] {
            let due = add_working_time(at(start), amount, &calendar, Shanghai).unwrap();
            assert_eq!(due, at(start), "{description}, {amount:?}");
        }
    }
}

#[test]
fn maximum_hours_match_working_time_between() {
    let calendar = china();
    let start = at("2026-01-05T09:00:00+08:00");
    let due = add_working_time(start, hours(10_000), &calendar, Shanghai).unwrap();
    assert_eq!(working_time_between(start, due, &calendar, Shanghai), TimeDelta::hours(10_000));
    assert!(due > at("2030-01-01T00:00:00+08:00"), "{due}");
}

#[test]
fn maximum_days_finish() {
    let start = at("2026-01-05T09:00:00+08:00");
    let due = add_working_time(start, days(10_000), &china(), Shanghai).unwrap();
    // About 250 working days a year, so 10,000 working days is about forty years.
    assert!(due > at("2064-01-01T00:00:00Z") && due < at("2068-01-01T00:00:00Z"), "{due}");
}

#[test]
fn amount_above_maximum_is_rejected() {
    let error = WorkingAmount::new(10_001, TimeUnit::WorkingHours).unwrap_err();
    assert_eq!(error.code, "invalid_amount");
    let error = WorkingAmount::new(-1, TimeUnit::WorkingDays).unwrap_err();
    assert_eq!(error.code, "invalid_amount");
}

#[test]
fn calendar_without_working_time_reports_error() {
    let calendar = WorkingCalendar::new(Default::default(), []).unwrap();
    let result = add_working_time(at("2026-12-03T09:00:00Z"), hours(1), &calendar, Shanghai);
    assert!(matches!(result, Err(DeadlineError::NoWorkingTime(_))), "{result:?}");
}

#[test]
fn working_time_between_counts_only_periods() {
    let calendar = china();
    let from = at("2026-12-04T17:00:00+08:00");
    let to = at("2026-12-07T10:30:00+08:00");
    assert_eq!(working_time_between(from, to, &calendar, Shanghai), TimeDelta::minutes(150));
    assert_eq!(working_time_between(to, from, &calendar, Shanghai), TimeDelta::minutes(-150));
    assert_eq!(working_time_between(from, from, &calendar, Shanghai), TimeDelta::zero());
}

/// A calendar that works 00:00–06:00 every day, so the period spans the DST switches.
fn night_shift() -> WorkingCalendar {
    let time = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let night = vec![WorkPeriod::new(time(0), time(6)).unwrap()];
    WorkingCalendar::new(std::array::from_fn(|_| night.clone()), []).unwrap()
}

#[test]
fn dst_spring_forward_day_has_one_hour_less() {
    // Berlin skips 02:00–03:00 on 29 March 2026, so 00:00–06:00 lasts five hours.
    let calendar = night_shift();
    let from = at("2026-03-29T00:00:00+01:00");
    let to = at("2026-03-29T06:00:00+02:00");
    assert_eq!(working_time_between(from, to, &calendar, Berlin), TimeDelta::hours(5));
    let due = deadline("2026-03-29T00:00:00+01:00", hours(5), &calendar, Berlin);
    assert_eq!(due, "2026-03-29T06:00:00+02:00");
}

#[test]
fn dst_fall_back_day_has_one_hour_more() {
    // Berlin repeats 02:00–03:00 on 25 October 2026, so 00:00–06:00 lasts seven hours.
    let calendar = night_shift();
    let from = at("2026-10-25T00:00:00+02:00");
    let to = at("2026-10-25T06:00:00+01:00");
    assert_eq!(working_time_between(from, to, &calendar, Berlin), TimeDelta::hours(7));
    let due = deadline("2026-10-25T00:00:00+02:00", hours(7), &calendar, Berlin);
    assert_eq!(due, "2026-10-25T06:00:00+01:00");
}

#[test]
fn dst_days_keep_local_end_of_day() {
    let calendar = WorkingCalendar::new(WorkingCalendar::standard_week(), []).unwrap();
    let due = deadline("2026-03-27T10:00:00+01:00", days(1), &calendar, Berlin);
    assert_eq!(due, "2026-03-30T18:00:00+02:00");
}

#[test]
fn shipped_2026_file_has_national_day_schedule() {
    let days_2026: Vec<_> =
        default_days().into_iter().filter(|day| day.date.to_string().starts_with("2026")).collect();
    let kind_of =
        |date: &str| days_2026.iter().find(|day| day.date.to_string() == date).map(|d| d.kind);
    assert_eq!(kind_of("2026-10-01"), Some(DayKind::Holiday));
    assert_eq!(kind_of("2026-10-07"), Some(DayKind::Holiday));
    assert_eq!(kind_of("2026-10-08"), None);
    assert_eq!(kind_of("2026-09-20"), Some(DayKind::Workday));
    assert_eq!(kind_of("2026-10-10"), Some(DayKind::Workday));
    let workdays = days_2026.iter().filter(|day| day.kind == DayKind::Workday).count();
    assert_eq!(workdays, 6);
}

#[test]
fn csv_reports_every_bad_row_with_line_and_column() {
    let input = "# comment\ndate,kind,name\n2026-13-01,holiday,X\n2026-01-02,vacation,Y\n\
                 2026-01-03,holiday,\n2026-01-04,workday,Z\n2026-01-04,holiday,Z\n";
    let errors = parse_days(input.as_bytes()).unwrap_err().0;
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line, e.column.clone().unwrap_or_default(), e.message.code))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, "date".to_owned(), "invalid_date"),
            (4, "kind".to_owned(), "invalid_day_kind"),
            (5, "name".to_owned(), "missing_value"),
            (7, "date".to_owned(), "duplicate_date"),
        ]
    );
}

#[test]
fn csv_without_kind_column_is_rejected() {
    let errors = parse_days("date,name\n2026-01-01,元旦\n".as_bytes()).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message.code, "missing_column");
    assert_eq!(errors[0].message.args, vec![("column", "kind".to_owned())]);
}

#[test]
fn overlapping_periods_are_rejected() {
    let time = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let mut week: [Vec<WorkPeriod>; 7] = Default::default();
    week[2] = vec![
        WorkPeriod::new(time(9), time(12)).unwrap(),
        WorkPeriod::new(time(11), time(14)).unwrap(),
    ];
    let error = WorkingCalendar::new(week, []).unwrap_err();
    assert_eq!(error.code, "overlapping_working_periods");
}

#[test]
fn skipped_day_in_apia_resolves_to_next_day() {
    // Samoa skipped 30 December 2011; a period on that date starts when 31 December does.
    let calendar = night_shift();
    let due = deadline("2011-12-29T23:00:00-10:00", hours(1), &calendar, chrono_tz::Pacific::Apia);
    assert_eq!(due, "2011-12-31T01:00:00+14:00");
}
