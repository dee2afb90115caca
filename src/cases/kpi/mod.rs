//! Key performance indicators (KPIs) of the case loop, per area, department, category
//! and period.
//!
//! The cohort of a query is every case **reported** (`created_at`) in the half-open
//! period `[from, to)`, inside the user's area scope. Voided (作废) and merged cases are
//! not cases of their own and count in no figure. Each rate is numerator ÷ denominator
//! over that cohort, with the stage and counters as stored when the query runs:
//!
//! | Metric | Numerator | Denominator |
//! |---|---|---|
//! | 响应率 response | cases first dispatched no later than their dispatch deadline | cases with a dispatch deadline that were dispatched or whose deadline has passed |
//! | 解决率 resolution | cases the department reported done (feedback, closed, rated) | cases dispatched to a department (dispatched or any later stage) |
//! | 满意率 satisfaction | cases rated 4 or 5 | rated cases |
//! | 结案率 closure | closed or rated cases | all counted cases |
//! | 按期结案率 on-time closure | closed cases with `closed_at` ≤ handling deadline | closed or rated cases that have a handling deadline |
//! | 返工率 rework | cases sent back to handling at least once | cases reported done at least once (feedback, closed, rated, or reworked) |
//! | 延期率 extension | cases granted at least one extension | cases dispatched to a department |
//!
//! The median handling time is the median of `closed_at − created_at`, in calendar
//! hours (not working hours), over the closed or rated cases of the cohort, at the
//! precision of [`hours`]: exact to the minute below 128 minutes, then at most 1.6 %
//! low.
//!
//! A rate with an empty denominator is `None` (shown as "–"), never 0 %. The API and
//! pages read the counts from the [`rollup`], which every case write keeps current;
//! [`store`] holds the reference aggregate over the cases, which gives the same counts
//! and which [`drill`] shares, so a drill-down always sums to its figure.

pub mod drill;
pub mod export;
pub mod hours;
pub mod http;
pub mod metric;
pub mod page;
pub mod query;
pub mod rollup;
pub mod store;

pub use metric::{GroupBy, Metric, Outcome};

use serde::Serialize;

/// The counts of one group, as the SQL aggregate returns them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupCounts {
    /// Numerator and denominator of each metric, in the order of [`Metric::ALL`].
    pub counts: Vec<(i64, i64)>,
    /// Handling times of the closed cases, for the median.
    pub handling_hours: hours::HoursHistogram,
}

/// A ratio as numerator, denominator and rate; `rate` is `None` for an empty denominator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    pub numerator: i64,
    pub denominator: i64,
    /// Between 0 and 1.
    pub rate: Option<f64>,
}

impl Ratio {
    pub fn new(numerator: i64, denominator: i64) -> Ratio {
        let rate = (denominator > 0).then(|| numerator as f64 / denominator as f64);
        Ratio { numerator, denominator, rate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_of_empty_denominator_is_none() {
        assert_eq!(Ratio::new(0, 0).rate, None);
    }

    #[test]
    fn ratio_divides_numerator_by_denominator() {
        assert_eq!(Ratio::new(3, 4).rate, Some(0.75));
        assert_eq!(Ratio::new(0, 5).rate, Some(0.0));
    }
}
