//! The month-level rollup: the same counters as the day-level one, keyed by the local
//! report month, so that the whole months of a period read one row per month and group
//! instead of one per day. Written by [`crate::apply_rollup!`] next to the day rows.

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

impl RollupDelta {
    /// Returns the same change summed per report month: every key's `period` becomes the
    /// month of its day.
    pub fn by_month(&self) -> RollupDelta {
        let mut months = RollupDelta::default();
        for (key, counters) in &self.counters {
            let key = super::RollupKey { period: report_month(key.period), ..key.clone() };
            let sums = months.counters.entry(key).or_insert([0; 14]);
            for (sum, value) in sums.iter_mut().zip(counters) {
                *sum += value;
            }
        }
        for ((key, bucket), cases) in &self.hours {
            let key = super::RollupKey { period: report_month(key.period), ..key.clone() };
            *months.hours.entry((key, *bucket)).or_default() += cases;
        }
        months
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
}
