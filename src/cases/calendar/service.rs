//! Calendar operations shared by the HTTP routes and the command line.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    SpecialDay, TimeUnit, WorkPeriod, WorkingAmount, add_working_time,
    deadline::DeadlineError,
    import::parse_days,
    store::{CalendarStore, StoreError},
};
use crate::{
    cases::row_error::ImportErrors,
    db::Db,
    http::{AppError, UserMessage},
};

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Input that breaks a rule, such as an unknown unit; becomes 422.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    /// An imported file with invalid rows; nothing was written. Becomes 422.
    #[error(transparent)]
    Import(#[from] ImportErrors),
    /// No deadline can be computed from the stored calendar; becomes 422.
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CalendarError> for AppError {
    fn from(error: CalendarError) -> Self {
        match error {
            CalendarError::Invalid(message) => AppError::Invalid(message),
            CalendarError::Import(errors) => AppError::Invalid(
                errors
                    .0
                    .into_iter()
                    .next()
                    .map(|row| row.message)
                    .unwrap_or(UserMessage::new("unreadable_csv")),
            ),
            CalendarError::Deadline(DeadlineError::NoWorkingTime(date)) => {
                AppError::Invalid(UserMessage::new("no_working_time").arg("date", date))
            }
            CalendarError::Deadline(DeadlineError::OutOfRange) => {
                AppError::Invalid(UserMessage::new("deadline_out_of_range"))
            }
            CalendarError::Store(error) => AppError::Internal(error.into()),
        }
    }
}

/// A deadline request as it arrives: `start` is RFC 3339 with an offset.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DeadlineInput {
    pub start: String,
    pub amount: i64,
    pub unit: String,
}

/// A computed deadline; instants carry the calendar zone's offset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadline {
    pub start: DateTime<FixedOffset>,
    pub amount: u32,
    pub unit: TimeUnit,
    pub deadline: DateTime<FixedOffset>,
    pub time_zone: String,
    /// Years from start to deadline without any imported holiday, whose public
    /// holidays the deadline therefore ignores; empty when the calendar covers them.
    pub years_without_holidays: Vec<i32>,
}

/// One year of the calendar as shown to people.
#[derive(Debug, Clone, Serialize)]
pub struct YearView {
    pub year: i32,
    pub time_zone: String,
    /// Working periods from Monday (index 0) to Sunday.
    pub weekly_hours: Vec<WeekdayHours>,
    pub days: Vec<SpecialDay>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeekdayHours {
    /// Lower-case English weekday name, such as `monday`.
    pub weekday: String,
    pub periods: Vec<WorkPeriod>,
}

/// Parses a deadline request and computes it on the stored calendar.
///
/// # Errors
/// `invalid_timestamp` (field `start`), `invalid_time_unit` or `invalid_amount`
/// (fields `unit`, `amount`), a calendar without working time, or a storage failure.
#[tracing::instrument(skip_all, fields(deadline.unit = %input.unit, deadline.amount = input.amount))]
pub async fn compute_deadline(
    db: &Db,
    tz: Tz,
    input: DeadlineInput,
) -> Result<Deadline, CalendarError> {
    let start = DateTime::parse_from_rfc3339(input.start.trim()).map_err(|_| {
        CalendarError::Invalid(
            UserMessage::new("invalid_timestamp").arg("value", &input.start).field("start"),
        )
    })?;
    let unit = TimeUnit::parse(&input.unit).map_err(|m| CalendarError::Invalid(m.field("unit")))?;
    let amount = WorkingAmount::new(input.amount, unit)
        .map_err(|m| CalendarError::Invalid(m.field("amount")))?;

    let calendar = db.load_calendar().await?;
    let deadline = add_working_time(start.with_timezone(&Utc), amount, &calendar, tz)?;
    let start = with_zone_offset(start.with_timezone(&Utc), tz);
    let deadline = with_zone_offset(deadline, tz);
    let years_without_holidays =
        calendar.years_without_special_days(start.date_naive(), deadline.date_naive());
    if !years_without_holidays.is_empty() {
        tracing::warn!(
            calendar.missing_years = ?years_without_holidays,
            "deadline crosses years without imported holidays"
        );
    }
    Ok(Deadline {
        start,
        amount: amount.amount,
        unit,
        deadline,
        time_zone: tz.name().to_owned(),
        years_without_holidays,
    })
}

/// Collects the weekly hours and the dated exceptions of `year`.
///
/// # Errors
/// `invalid_year` outside 1900–9999, or a storage failure.
#[tracing::instrument(skip_all, fields(calendar.year = year))]
pub async fn year_view(db: &Db, tz: Tz, year: i32) -> Result<YearView, CalendarError> {
    let invalid = || CalendarError::Invalid(UserMessage::new("invalid_year").arg("value", year));
    if !(1900..=9999).contains(&year) {
        return Err(invalid());
    }
    let first = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(invalid)?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(invalid)?;
    let calendar = db.load_calendar().await?;
    let weekday_names =
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let weekly_hours = weekday_names
        .iter()
        .zip(calendar.weekly())
        .map(|(name, periods)| WeekdayHours {
            weekday: (*name).to_owned(),
            periods: periods.clone(),
        })
        .collect();
    let days = calendar.special_days_between(first, last).cloned().collect();
    Ok(YearView { year, time_zone: tz.name().to_owned(), weekly_hours, days })
}

/// Imports a calendar CSV file, replacing the stored days of every year it covers.
///
/// # Errors
/// [`CalendarError::Import`] listing every invalid row, with nothing written.
#[tracing::instrument(skip_all)]
pub async fn import_calendar(db: &Db, input: impl std::io::Read) -> Result<usize, CalendarError> {
    let days = parse_days(input)?;
    let count = db.replace_calendar_years(&days).await?;
    tracing::info!(calendar.days = count, "calendar imported");
    Ok(count)
}

/// Converts an instant to the offset that `tz` has at that moment, such as `+08:00`.
pub fn with_zone_offset(instant: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    instant.with_timezone(&tz).fixed_offset()
}

/// Parses periods such as `09:00-12:00,13:30-18:00` and stores them for `weekday`;
/// an empty text or `-` leaves the weekday without working time.
///
/// # Errors
/// `invalid_working_period` for text that is not `HH:MM-HH:MM` or ends before it
/// starts, `overlapping_working_periods`, or a storage failure.
#[tracing::instrument(skip_all, fields(calendar.weekday = %weekday))]
pub async fn set_weekday_hours(
    db: &Db,
    weekday: Weekday,
    text: &str,
) -> Result<Vec<WorkPeriod>, CalendarError> {
    let periods = parse_periods(text).map_err(CalendarError::Invalid)?;
    let calendar = db.load_calendar().await?;
    calendar.with_weekday(weekday, periods.clone()).map_err(CalendarError::Invalid)?;
    db.replace_weekday_periods(weekday, &periods).await?;
    tracing::info!(calendar.periods = periods.len(), "weekday hours changed");
    Ok(periods)
}

fn parse_periods(text: &str) -> Result<Vec<WorkPeriod>, UserMessage> {
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let invalid = || {
                UserMessage::new("invalid_period_text").arg("value", part.trim()).field("periods")
            };
            let (start, end) = part.trim().split_once('-').ok_or_else(invalid)?;
            let time = |value: &str| {
                NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| invalid())
            };
            WorkPeriod::new(time(start)?, time(end)?)
        })
        .collect()
}
