//! The month- and year-level rollups: the same counters as the day-level one, keyed by
//! the local report month or year. The whole months of a period read one row per month
//! and group instead of one per day, and a whole year one row instead of twelve. Written by [`crate::apply_rollup!`] next to the day rows.

use chrono::{Datelike, NaiveDate};

use super::{DAY_SECONDS, RollupDelta};

/// Returns the rollup month of rollup day `day`: months since January 1970 in UTC+8.
pub fn report_month(day: i64) -> i64 {
    let date = chrono::DateTime::from_timestamp(day * DAY_SECONDS, 0)
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
        .date_naive();
    (i64::from(date.year()) - 1970) * 12 + i64::from(date.month0())
}

/// Returns the rollup day on which rollup month `month` starts.
pub fn month_first_day(month: i64) -> i64 {
    let year = i32::try_from(1970 + month.div_euclid(12)).unwrap_or(i32::MAX);
    let month0 = u32::try_from(month.rem_euclid(12)).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, month0 + 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or(0, |start| start.and_utc().timestamp().div_euclid(DAY_SECONDS))
}

/// Whole rollup months inside the rollup days `[days.0, days.1)`, as `(first, end)`
/// with `end` exclusive; empty when no month fits.
pub fn whole_months(days: (i64, i64)) -> (i64, i64) {
    let first = report_month(days.0);
    let first = if month_first_day(first) < days.0 { first + 1 } else { first };
    (first, report_month(days.1).max(first))
}

/// Returns the rollup year of rollup month `month`: years since 1970 in UTC+8.
pub fn report_year(month: i64) -> i64 {
    month.div_euclid(12)
}

/// Returns the rollup month in which rollup year `year` starts.
pub fn year_first_month(year: i64) -> i64 {
    year * 12
}

/// Whole rollup years inside the rollup months `[months.0, months.1)`, as
/// `(first, end)` with `end` exclusive; empty when no year fits.
pub fn whole_years(months: (i64, i64)) -> (i64, i64) {
    let first = report_year(months.0);
    let first = if year_first_month(first) < months.0 { first + 1 } else { first };
    (first, report_year(months.1).max(first))
}

impl RollupDelta {
    /// Returns the same change summed per report month: every key's `period` becomes the
    /// month of its day.
    pub fn by_month(&self) -> RollupDelta {
        self.regroup(report_month)
    }

    /// Returns the change of a [`RollupDelta::by_month`] delta summed per report year.
    pub fn by_year(&self) -> RollupDelta {
        self.regroup(report_year)
    }

    /// Returns the same change with every key's `period` mapped through `coarser` and
    /// the rows that meet summed.
    pub(super) fn regroup(&self, coarser: impl Fn(i64) -> i64) -> RollupDelta {
        let mut sums = RollupDelta::default();
        for (key, counters) in &self.counters {
            let key = super::RollupKey { period: coarser(key.period), ..key.clone() };
            let row = sums.counters.entry(key).or_insert([0; 14]);
            for (sum, value) in row.iter_mut().zip(counters) {
                *sum += value;
            }
        }
        for ((key, bucket), cases) in &self.hours {
            let key = super::RollupKey { period: coarser(key.period), ..key.clone() };
            *sums.hours.entry((key, *bucket)).or_default() += cases;
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::cases::kpi::rollup::report_day;

    #[test]
    fn months_follow_the_local_calendar() {
        // 2026-05-31 16:00 UTC is 2026-06-01 00:00 in UTC+8.
        let june_first = report_day(Utc.with_ymd_and_hms(2026, 5, 31, 16, 0, 0).unwrap());
        let june = (2026 - 1970) * 12 + 5;
        assert_eq!(report_month(june_first), june);
        assert_eq!(report_month(june_first - 1), june - 1);
        assert_eq!(month_first_day(june), june_first);
        assert_eq!(month_first_day(june + 1), june_first + 30);
        assert_eq!(report_month(0), 0);
        assert_eq!(month_first_day(0), 0);
    }

    #[test]
    fn whole_months_leave_the_edge_days_out() {
        let june = (2026 - 1970) * 12 + 5;
        let june_first = month_first_day(june);
        assert_eq!(whole_months((june_first, june_first + 30)), (june, june + 1));
        assert_eq!(whole_months((june_first + 1, june_first + 61)), (june + 1, june + 2));
        let (first, end) = whole_months((june_first + 1, june_first + 29));
        assert!(first >= end);
    }

    #[test]
    fn whole_years_leave_the_edge_months_out() {
        let january = (2026 - 1970) * 12;
        assert_eq!(report_year(january), 2026 - 1970);
        assert_eq!(report_year(january - 1), 2025 - 1970);
        assert_eq!(year_first_month(2026 - 1970), january);
        assert_eq!(whole_years((january, january + 12)), (56, 57));
        assert_eq!(whole_years((january - 1, january + 25)), (56, 58));
        let (first, end) = whole_years((january + 1, january + 12));
        assert!(first >= end);
    }
}
