//! Deadline arithmetic on working time, as pure functions of a [`WorkingCalendar`].
//!
//! All walking happens day by day in local time: each local date's working periods are
//! turned into UTC instants, so a period on a 23- or 25-hour DST day lasts exactly as
//! long as the wall clock shows, and working hours are real elapsed minutes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::{TimeUnit, WorkingAmount, WorkingCalendar};

/// Consecutive days without any working time after which a search gives up: a calendar
/// with no working hours for a whole year is misconfigured, not slow.
pub const MAX_IDLE_DAYS: u32 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// No working time in [`MAX_IDLE_DAYS`] consecutive days from this date.
    #[error("the calendar has no working time for {MAX_IDLE_DAYS} days after {0}")]
    NoWorkingTime(NaiveDate),
    /// The search ran past the dates chrono can represent.
    #[error("the deadline is out of the representable date range")]
    OutOfRange,
}

/// Adds `amount` of working time to `start`, in the calendar's local time `tz`.
///
/// - Zero of either unit returns `start` unchanged.
/// - Working hours count only minutes inside working periods. A start outside them
///   (at night, on a weekend or holiday) counts from the next period's start. A
///   deadline that lands exactly on a period's end stays there rather than moving to
///   the next period.
/// - Working days: the deadline is the end of the last working period of the Nth
///   working day after the start's local date. The start date itself never counts,
///   following the rule of Chinese administrative law that a period starts the next day.
///
/// # Errors
/// [`DeadlineError::NoWorkingTime`] when the calendar has a year without working time.
pub fn add_working_time(
    start: DateTime<Utc>,
    amount: WorkingAmount,
    calendar: &WorkingCalendar,
    tz: Tz,
) -> Result<DateTime<Utc>, DeadlineError> {
    if amount.amount == 0 {
        return Ok(start);
    }
    match amount.unit {
        TimeUnit::WorkingHours => {
            add_working_minutes(start, i64::from(amount.amount) * 60, calendar, tz)
        }
        TimeUnit::WorkingDays => add_working_days(start, amount.amount, calendar, tz),
    }
}

/// Measures the working time between two instants; the result is negative when `to`
/// is before `from`.
pub fn working_time_between(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    calendar: &WorkingCalendar,
    tz: Tz,
) -> TimeDelta {
    if to < from {
        return -working_time_between(to, from, calendar, tz);
    }
    let mut total = TimeDelta::zero();
    let last = to.with_timezone(&tz).date_naive();
    let mut date = from.with_timezone(&tz).date_naive();
    while date <= last {
        for (period_start, period_end) in utc_periods(calendar, date, tz) {
            let overlap_start = period_start.max(from);
            let overlap_end = period_end.min(to);
            if overlap_end > overlap_start {
                total += overlap_end - overlap_start;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    total
}

fn add_working_minutes(
    start: DateTime<Utc>,
    minutes: i64,
    calendar: &WorkingCalendar,
    tz: Tz,
) -> Result<DateTime<Utc>, DeadlineError> {
    let mut remaining = TimeDelta::minutes(minutes);
    let mut date = start.with_timezone(&tz).date_naive();
    let mut idle_days = 0;
    loop {
        let periods = utc_periods(calendar, date, tz);
        idle_days = if periods.is_empty() { idle_days + 1 } else { 0 };
        if idle_days > MAX_IDLE_DAYS {
            return Err(DeadlineError::NoWorkingTime(date));
        }
        for (period_start, period_end) in periods {
            let from = period_start.max(start);
            if period_end <= from {
                continue;
            }
            let available = period_end - from;
            if remaining <= available {
                return Ok(from + remaining);
            }
            remaining -= available;
        }
        date = date.succ_opt().ok_or(DeadlineError::OutOfRange)?;
    }
}

fn add_working_days(
    start: DateTime<Utc>,
    days: u32,
    calendar: &WorkingCalendar,
    tz: Tz,
) -> Result<DateTime<Utc>, DeadlineError> {
    let mut date = start.with_timezone(&tz).date_naive();
    let mut counted = 0;
    let mut idle_days = 0;
    loop {
        date = date.succ_opt().ok_or(DeadlineError::OutOfRange)?;
        let Some(last_period) = calendar.periods_on(date).last() else {
            idle_days += 1;
            if idle_days > MAX_IDLE_DAYS {
                return Err(DeadlineError::NoWorkingTime(date));
            }
            continue;
        };
        idle_days = 0;
        counted += 1;
        if counted == days {
            return Ok(local_to_utc(tz, date.and_time(last_period.end)));
        }
    }
}

/// Converts the working periods of a local date to UTC instants, in order.
fn utc_periods(
    calendar: &WorkingCalendar,
    date: NaiveDate,
    tz: Tz,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    calendar
        .periods_on(date)
        .iter()
        .map(|period| {
            let start = local_to_utc(tz, date.and_time(period.start));
            (start, local_to_utc(tz, date.and_time(period.end)))
        })
        .filter(|(start, end)| end > start)
        .collect()
}

/// Resolves a local wall-clock time to UTC.
///
/// A time repeated when clocks go back takes its first occurrence. A time skipped when
/// clocks go forward becomes the first valid minute after the gap, so a period that
/// starts inside the gap starts when the clocks resume.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // DST gaps are usually one hour, but Pacific/Apia skipped all of 30 December 2011
    // when it crossed the date line, so the search spans two days.
    for minutes in 0..=2 * 24 * 60 {
        let candidate = local + TimeDelta::minutes(minutes);
        if let Some(resolved) = tz.from_local_datetime(&candidate).earliest() {
            return resolved.with_timezone(&Utc);
        }
    }
    // Unreachable with the IANA data: no zone skips more than a day.
    Utc.from_utc_datetime(&local)
}
