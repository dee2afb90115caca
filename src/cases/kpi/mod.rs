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
//! hours (not working hours), over the closed or rated cases of the cohort.
//!
//! A rate with an empty denominator is `None` (shown as "–"), never 0 %. The counts
//! come from one SQL aggregate per query ([`store`]); [`drill`] lists the cases behind a
//! figure with the same conditions, so a drill-down always sums to its figure.

pub mod drill;
pub mod export;
pub mod http;
pub mod metric;
pub mod page;
pub mod query;
pub mod store;

pub use metric::{GroupBy, Metric, Outcome};

use serde::Serialize;

/// The counts of one group, as the SQL aggregate returns them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupCounts {
    /// Numerator and denominator of each metric, in the order of [`Metric::ALL`].
    pub counts: Vec<(i64, i64)>,
    /// Handling hours of the closed cases, for the median.
    pub handling_hours: Vec<f64>,
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

/// Returns the median of `values`, the mean of the two middle ones for an even count,
/// or `None` when there are none. NaN values are ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|value| !value.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        Some(sorted[middle])
    } else {
        Some((sorted[middle - 1] + sorted[middle]) / 2.0)
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

    #[test]
    fn median_handles_odd_even_and_empty() {
        let cases: [(&[f64], Option<f64>, &str); 5] = [
            (&[], None, "empty"),
            (&[5.0], Some(5.0), "one value"),
            (&[9.0, 1.0, 4.0], Some(4.0), "odd count, unsorted"),
            (&[1.0, 2.0, 10.0, 3.0], Some(2.5), "even count takes the mean of the middle"),
            (&[f64::NAN, 2.0], Some(2.0), "NaN ignored"),
        ];
        for (values, expected, description) in cases {
            assert_eq!(median(values), expected, "{description}");
        }
    }
}
