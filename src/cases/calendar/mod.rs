//! The working-time calendar: which local minutes count as working time.
//!
//! A [`WorkingCalendar`] is data: working periods per weekday (default Monday to
//! Friday 09:00–12:00 and 13:30–18:00) and dated exceptions, either a public holiday
//! (no working time) or a make-up working day (调休上班) on a weekend. Deadlines are
//! computed by the pure functions in [`deadline`] in the configured time zone, while
//! every stored and returned instant is UTC (APIs add the zone's offset).
//!
//! Administrators import holidays as CSV (`date,kind,name`, see [`import`]). The 2025
//! and 2026 mainland China schedules are seeded by a migration and shipped as
//! `data/calendar/cn-2025.csv` and `data/calendar/cn-2026.csv`.

pub mod cli;
pub mod deadline;
pub mod http;
pub mod import;
pub mod service;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

pub use deadline::{add_working_time, working_time_between};
pub use store::CalendarStore;

use crate::http::UserMessage;

/// Largest amount accepted for one time limit. 10,000 working hours is about five
/// years and 10,000 working days about forty, far beyond any real case. The search in
/// [`deadline`] takes one step per calendar day, so even the maximum is quick.
pub const MAX_AMOUNT: u32 = 10_000;

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Minutes inside working periods, counted in sixty-minute hours.
    WorkingHours,
    /// Whole working days; see [`add_working_time`] for where such a deadline falls.
    WorkingDays,
}

impl TimeUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::WorkingHours => "working_hours",
            TimeUnit::WorkingDays => "working_days",
        }
    }

    /// Parses `working_hours` or `working_days`.
    ///
    /// # Errors
    /// `invalid_time_unit` naming the value when it is neither.
    pub fn parse(text: &str) -> Result<TimeUnit, UserMessage> {
        match text.trim() {
            "working_hours" => Ok(TimeUnit::WorkingHours),
            "working_days" => Ok(TimeUnit::WorkingDays),
            other => Err(UserMessage::new("invalid_time_unit").arg("value", other)),
        }
    }
}

/// A time limit: a number of working hours or working days, at most [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WorkingAmount {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl WorkingAmount {
    /// Checks the amount's range; zero is allowed and means "at the start".
    ///
    /// # Errors
    /// `invalid_amount` when `amount` is negative or above [`MAX_AMOUNT`].
    pub fn new(amount: i64, unit: TimeUnit) -> Result<WorkingAmount, UserMessage> {
        match u32::try_from(amount) {
            Ok(amount) if amount <= MAX_AMOUNT => Ok(WorkingAmount { amount, unit }),
            _ => {
                Err(UserMessage::new("invalid_amount").arg("value", amount).arg("max", MAX_AMOUNT))
            }
        }
    }
}

/// One span of working time within a local day, `start` before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WorkPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkPeriod {
    /// # Errors
    /// `invalid_working_period` unless `start` is before `end`.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<WorkPeriod, UserMessage> {
        if start < end {
            Ok(WorkPeriod { start, end })
        } else {
            Err(UserMessage::new("invalid_working_period")
                .arg("start", start.format("%H:%M"))
                .arg("end", end.format("%H:%M")))
        }
    }
}

/// Whether a dated exception removes or adds working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday (法定节假日 or a day off moved by 调休): no working time.
    Holiday,
    /// A make-up working day (调休上班), usually a Saturday or Sunday.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    pub fn parse(text: &str) -> Option<DayKind> {
        match text.trim() {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// A dated exception to the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// The holiday's name, such as 国庆节; a make-up day carries the holiday it serves.
    pub name: String,
}

/// Working periods per weekday and the dated exceptions.
///
/// Invariant: each weekday's periods are sorted and do not overlap, which
/// [`WorkingCalendar::new`] checks.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingCalendar {
    /// Indexed by `Weekday::num_days_from_monday`.
    weekly: [Vec<WorkPeriod>; 7],
    special_days: BTreeMap<NaiveDate, SpecialDay>,
}

impl WorkingCalendar {
    /// Builds a calendar, sorting each weekday's periods.
    ///
    /// # Errors
    /// `overlapping_working_periods` when two periods of one weekday overlap.
    pub fn new(
        mut weekly: [Vec<WorkPeriod>; 7],
        special_days: impl IntoIterator<Item = SpecialDay>,
    ) -> Result<WorkingCalendar, UserMessage> {
        for (index, periods) in weekly.iter_mut().enumerate() {
            periods.sort_by_key(|period| period.start);
            if periods.windows(2).any(|pair| pair[0].end > pair[1].start) {
                let weekday = Weekday::try_from(index as u8).unwrap_or(Weekday::Mon);
                return Err(UserMessage::new("overlapping_working_periods").arg("weekday", weekday));
            }
        }
        let special_days = special_days.into_iter().map(|day| (day.date, day)).collect();
        Ok(WorkingCalendar { weekly, special_days })
    }

    /// Returns the default office hours, Monday to Friday 09:00–12:00 and 13:30–18:00, with no
    /// holidays.
    pub fn standard_week() -> [Vec<WorkPeriod>; 7] {
        let time = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        let day = vec![
            WorkPeriod { start: time(9, 0), end: time(12, 0) },
            WorkPeriod { start: time(13, 30), end: time(18, 0) },
        ];
        [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()]
    }

    /// Returns the working periods of a local date.
    ///
    /// A holiday has none. A make-up working day that falls on a day without weekly
    /// hours works Monday's hours, because the State Council notices give no hours for
    /// those days, only "上班" (work).
    pub fn periods_on(&self, date: NaiveDate) -> &[WorkPeriod] {
        let weekly = &self.weekly[date.weekday().num_days_from_monday() as usize];
        match self.special_days.get(&date).map(|day| day.kind) {
            Some(DayKind::Holiday) => &[],
            Some(DayKind::Workday) if weekly.is_empty() => &self.weekly[0],
            _ => weekly,
        }
    }

    pub fn weekly(&self) -> &[Vec<WorkPeriod>; 7] {
        &self.weekly
    }

    /// Lists the years from `from` to `to` that have no dated exception at all.
    ///
    /// A year without any holiday was most likely never imported, so a deadline that
    /// crosses it ignores that year's public holidays.
    pub fn years_without_special_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<i32> {
        (from.year()..=to.year())
            .filter(|year| {
                let first = NaiveDate::from_ymd_opt(*year, 1, 1);
                let last = NaiveDate::from_ymd_opt(*year, 12, 31);
                match (first, last) {
                    (Some(first), Some(last)) => {
                        self.special_days.range(first..=last).next().is_none()
                    }
                    _ => false,
                }
            })
            .collect()
    }

    /// Replaces the working periods of one weekday, keeping the invariant.
    ///
    /// # Errors
    /// `overlapping_working_periods` when two of `periods` overlap.
    pub fn with_weekday(
        mut self,
        weekday: Weekday,
        periods: Vec<WorkPeriod>,
    ) -> Result<WorkingCalendar, UserMessage> {
        self.weekly[weekday.num_days_from_monday() as usize] = periods;
        WorkingCalendar::new(self.weekly, self.special_days.into_values())
    }

    /// Returns the exceptions between `from` and `to`, both inclusive, in date order.
    pub fn special_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = &SpecialDay> {
        self.special_days.range(from..=to).map(|(_, day)| day)
    }
}

/// Builds the `/api/v1/calendar` routes.
pub fn router() -> axum::Router<crate::http::AppState> {
    http::router()
}
