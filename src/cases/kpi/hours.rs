//! Handling times as a histogram, so that the median comes from stored counts instead
//! of one row per closed case.
//!
//! A handling time is counted in whole minutes (seconds truncated) and put in a bucket:
//! - below 128 minutes every minute has its own bucket, so the median is exact to the
//!   minute;
//! - from 128 minutes on, each doubling of the time is split into 64 equal buckets,
//!   and a bucket stands for its lower bound, so the median is at most 1/64 (1.6 %)
//!   below the exact one.
//!
//! One year is bucket 896, so a group never has more than about a thousand buckets.
//! The back-fill in the `case_kpi_rollup` migration computes the same buckets in SQL.

use std::collections::BTreeMap;

/// Minutes below this each get a bucket of their own.
const EXACT_MINUTES: i64 = 128;
/// Buckets per doubling above [`EXACT_MINUTES`].
const BUCKETS_PER_OCTAVE: i64 = 64;
/// log2 of [`EXACT_MINUTES`].
const FIRST_OCTAVE: i64 = 7;

/// Returns the bucket of a handling time of `seconds`; negative times count as zero.
pub fn bucket_of_seconds(seconds: i64) -> i64 {
    let minutes = seconds.max(0) / 60;
    if minutes < EXACT_MINUTES {
        return minutes;
    }
    let octave = i64::from(63 - minutes.leading_zeros());
    let mantissa = minutes >> (octave - 6);
    EXACT_MINUTES + (octave - FIRST_OCTAVE) * BUCKETS_PER_OCTAVE + (mantissa - BUCKETS_PER_OCTAVE)
}

/// Returns the lower bound of `bucket` in minutes, the value that stands for it.
pub fn bucket_minutes(bucket: i64) -> i64 {
    if bucket < EXACT_MINUTES {
        return bucket.max(0);
    }
    let octave = FIRST_OCTAVE + (bucket - EXACT_MINUTES) / BUCKETS_PER_OCTAVE;
    let mantissa = BUCKETS_PER_OCTAVE + (bucket - EXACT_MINUTES) % BUCKETS_PER_OCTAVE;
    mantissa << (octave - 6)
}

/// Counts of closed cases per handling-time bucket.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HoursHistogram {
    counts: BTreeMap<i64, i64>,
}

impl HoursHistogram {
    /// Adds `cases` to `bucket`; a negative count removes cases.
    pub fn add(&mut self, bucket: i64, cases: i64) {
        let count = self.counts.entry(bucket).or_default();
        *count += cases;
        if *count == 0 {
            self.counts.remove(&bucket);
        }
    }

    /// Adds one handling time given in hours, as the reference query returns it.
    pub fn add_hours(&mut self, hours: f64) {
        self.add(bucket_of_seconds((hours * 3600.0).round() as i64), 1);
    }

    pub fn merge(&mut self, other: &HoursHistogram) {
        for (bucket, cases) in &other.counts {
            self.add(*bucket, *cases);
        }
    }

    /// Returns the median handling time in hours, at the precision of the module doc:
    /// the mean of the two middle buckets' values for an even count, `None` when empty.
    pub fn median_hours(&self) -> Option<f64> {
        let total: i64 = self.counts.values().filter(|cases| **cases > 0).sum();
        if total == 0 {
            return None;
        }
        let value_at = |rank: i64| -> f64 {
            let mut seen = 0;
            for (bucket, cases) in self.counts.iter().filter(|(_, cases)| **cases > 0) {
                seen += cases;
                if seen >= rank {
                    return bucket_minutes(*bucket) as f64 / 60.0;
                }
            }
            0.0
        };
        if total % 2 == 1 {
            Some(value_at(total / 2 + 1))
        } else {
            Some((value_at(total / 2) + value_at(total / 2 + 1)) / 2.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_128_minutes_and_within_a_64th_above() {
        for minutes in [0_i64, 1, 59, 127, 128, 129, 300, 600, 1_000, 43_210, 525_600] {
            let bucket = bucket_of_seconds(minutes * 60 + 59);
            let lower = bucket_minutes(bucket);
            assert!(lower <= minutes, "{minutes} min falls in a bucket starting at {lower}");
            if minutes < 128 {
                assert_eq!(lower, minutes, "{minutes} min is exact");
            } else {
                assert!((minutes - lower) as f64 <= minutes as f64 / 64.0, "{minutes} min");
            }
        }
        assert_eq!(bucket_of_seconds(-5), 0, "negative time counts as zero");
        assert_eq!(bucket_of_seconds(525_600 * 60), 896, "one year");
    }

    #[test]
    fn bucket_numbers_increase_with_time() {
        let mut previous = -1;
        for minutes in 0..5_000 {
            let bucket = bucket_of_seconds(minutes * 60);
            assert!(bucket >= previous, "{minutes} min");
            assert_eq!(bucket_of_seconds(bucket_minutes(bucket) * 60), bucket, "{minutes} min");
            previous = bucket;
        }
    }

    #[test]
    fn median_of_whole_hours_is_exact() {
        let mut histogram = HoursHistogram::default();
        for hours in [3.0, 10.0, 5.0] {
            histogram.add_hours(hours);
        }
        assert_eq!(histogram.median_hours(), Some(5.0), "odd count");
        histogram.add_hours(1.0);
        assert_eq!(histogram.median_hours(), Some(4.0), "even count takes the mean");
        histogram.add(bucket_of_seconds(3600), -1);
        assert_eq!(histogram.median_hours(), Some(5.0), "a removed case no longer counts");
        assert_eq!(HoursHistogram::default().median_hours(), None);
    }
}
