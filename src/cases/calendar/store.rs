//! Storage of working periods and calendar days on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use sqlx::FromRow;

use super::{DayKind, SpecialDay, WorkPeriod, WorkingCalendar, snapshot::forget_calendar};
use crate::{db::Db, with_pool};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored calendar is corrupt: {0}")]
    Corrupt(String),
}

#[derive(FromRow)]
struct PeriodRow {
    weekday: i32,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
}

#[derive(FromRow)]
struct DayRow {
    day: NaiveDate,
    kind: String,
    name: String,
}

/// Storage of the working-time calendar.
pub trait CalendarStore {
    /// Loads the whole calendar: weekly periods and every dated exception.
    fn load_calendar(&self) -> impl Future<Output = Result<WorkingCalendar, StoreError>> + Send;
    /// Replaces every stored day of each year that `days` touches, in one transaction,
    /// so that a corrected file also removes days dropped from it.
    fn replace_calendar_years(
        &self,
        days: &[SpecialDay],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Replaces the working periods of one weekday in one transaction.
    fn replace_weekday_periods(
        &self,
        weekday: Weekday,
        periods: &[WorkPeriod],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl CalendarStore for Db {
    async fn load_calendar(&self) -> Result<WorkingCalendar, StoreError> {
        let periods: Vec<PeriodRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT weekday, starts_at, ends_at FROM working_period \
                 ORDER BY weekday, starts_at",
            )
            .fetch_all(pool)
            .await
        })?;
        let days: Vec<DayRow> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT day, kind, name FROM calendar_day ORDER BY day")
                .fetch_all(pool)
                .await
        })?;

        let mut weekly: [Vec<WorkPeriod>; 7] = Default::default();
        for row in periods {
            let index = usize::try_from(row.weekday - 1)
                .ok()
                .filter(|index| *index < 7)
                .ok_or_else(|| StoreError::Corrupt(format!("weekday {}", row.weekday)))?;
            let period = WorkPeriod::new(row.starts_at, row.ends_at).map_err(|_| {
                StoreError::Corrupt(format!("period {}–{}", row.starts_at, row.ends_at))
            })?;
            weekly[index].push(period);
        }
        let special_days = days
            .into_iter()
            .map(|row| {
                let kind = DayKind::parse(&row.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("day kind {}", row.kind)))?;
                Ok(SpecialDay { date: row.day, kind, name: row.name })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        WorkingCalendar::new(weekly, special_days)
            .map_err(|message| StoreError::Corrupt(format!("{message:?}")))
    }

    async fn replace_calendar_years(&self, days: &[SpecialDay]) -> Result<usize, StoreError> {
        let years: BTreeSet<i32> = days.iter().map(|day| day.date.year()).collect();
        let result = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for year in &years {
                let first = NaiveDate::from_ymd_opt(*year, 1, 1);
                let last = NaiveDate::from_ymd_opt(*year, 12, 31);
                sqlx::query("DELETE FROM calendar_day WHERE day >= $1 AND day <= $2")
                    .bind(first)
                    .bind(last)
                    .execute(&mut *tx)
                    .await?;
            }
            for day in days {
                sqlx::query("INSERT INTO calendar_day (day, kind, name) VALUES ($1, $2, $3)")
                    .bind(day.date)
                    .bind(day.kind.as_str())
                    .bind(&day.name)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(days.len())
        });
        forget_calendar(self);
        result
    }

    async fn replace_weekday_periods(
        &self,
        weekday: Weekday,
        periods: &[WorkPeriod],
    ) -> Result<(), StoreError> {
        let iso_weekday = i32::try_from(weekday.number_from_monday()).unwrap_or(1);
        let result = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM working_period WHERE weekday = $1")
                .bind(iso_weekday)
                .execute(&mut *tx)
                .await?;
            for period in periods {
                sqlx::query(
                    "INSERT INTO working_period (weekday, starts_at, ends_at) VALUES ($1, $2, $3)",
                )
                .bind(iso_weekday)
                .bind(period.start)
                .bind(period.end)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        });
        forget_calendar(self);
        result
    }
}
