//! The dekad-level rollup (旬): the same counters as the day level, keyed by the thirds
//! of each local month, days 1–10, 11–20 and 21 to the month's end. The days at either
//! end of a period that do not make a whole month read whole dekads and at most nine
//! days each, instead of up to thirty days. Written by [`crate::apply_rollup!`] next to
//! the day rows.

use super::{
    RollupDelta,
    month::{month_first_day, report_month},
};

/// Days in each of a month's first two dekads; the third runs to the month's end.
const DEKAD_DAYS: i64 = 10;

/// Returns the rollup dekad of rollup day `day`: three per rollup month since January
/// 1970, in the calendar of [`report_month`].
pub fn report_dekad(day: i64) -> i64 {
    let month = report_month(day);
    let third = ((day - month_first_day(month)) / DEKAD_DAYS).clamp(0, 2);
    month * 3 + third
}

/// Returns the rollup day on which rollup dekad `dekad` starts.
pub fn dekad_first_day(dekad: i64) -> i64 {
    month_first_day(dekad.div_euclid(3)) + dekad.rem_euclid(3) * DEKAD_DAYS
}

/// Whole rollup dekads inside the rollup days `[days.0, days.1)`, as `(first, end)`
/// with `end` exclusive; empty when no dekad fits.
pub fn whole_dekads(days: (i64, i64)) -> (i64, i64) {
    let first = report_dekad(days.0);
    let first = if dekad_first_day(first) < days.0 { first + 1 } else { first };
    (first, report_dekad(days.1).max(first))
}

impl RollupDelta {
    /// Returns the same change summed per report dekad: every key's `period` becomes
    /// the dekad of its day.
    pub fn by_dekad(&self) -> RollupDelta {
        self.regroup(report_dekad)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::cases::kpi::rollup::report_day;

    #[test]
    fn dekads_cut_each_local_month_in_three() {
        // February 2026 has 28 days: its third dekad is 8 days long.
        let february = (2026 - 1970) * 12 + 1;
        let first = month_first_day(february);
        assert_eq!(report_day(Utc.with_ymd_and_hms(2026, 1, 31, 16, 0, 0).unwrap()), first);
        assert_eq!(report_dekad(first), february * 3);
        assert_eq!(report_dekad(first + 9), february * 3);
        assert_eq!(report_dekad(first + 10), february * 3 + 1);
        assert_eq!(report_dekad(first + 20), february * 3 + 2);
        assert_eq!(report_dekad(first + 27), february * 3 + 2);
        assert_eq!(report_dekad(first + 28), (february + 1) * 3);
        assert_eq!(report_dekad(first - 1), february * 3 - 1);
        for dekad in february * 3 - 3..february * 3 + 6 {
            assert_eq!(report_dekad(dekad_first_day(dekad)), dekad);
            assert_eq!(report_dekad(dekad_first_day(dekad + 1) - 1), dekad);
        }
    }

    #[test]
    fn whole_dekads_leave_the_edge_days_out() {
        let february = (2026 - 1970) * 12 + 1;
        let first = month_first_day(february);
        // 15 February to 4 March: the third dekad of February only.
        assert_eq!(whole_dekads((first + 14, first + 31)), (february * 3 + 2, february * 3 + 3));
        // 1 to 20 February: two dekads.
        assert_eq!(whole_dekads((first, first + 20)), (february * 3, february * 3 + 2));
        let (from, end) = whole_dekads((first + 1, first + 19));
        assert!(from >= end);
    }
}
