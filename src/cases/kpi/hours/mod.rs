//! Handling times as a histogram, so that the median comes from stored counts instead
//! of one row per closed case.
//!
//! A handling time is counted in whole minutes (seconds truncated) and put in a bucket:
//! - below 32 minutes every minute has its own bucket, so the median is exact to the
//!   minute;
//! - from 32 minutes on, each doubling of the time is split into 32 equal buckets. A
//!   bucket is at most 1/32 of its lower bound wide and stands for its middle, so the
//!   median is at most 1/64 (1.6 %) away from the exact one;
//! - the last of the [`BUCKETS`] buckets starts at 1.5 years (786,432 minutes) and holds
//!   every longer time as well.
//!
//! One year is bucket 480. The rollup stores a group's histogram in the `hours` column
//! of its counter row, encoded by [`codec`].

pub mod codec;
mod sqlite_sum;

pub use sqlite_sum::register_sqlite_sum;

/// Number of buckets; a time beyond the last one counts in the last one.
pub const BUCKETS: usize = 512;
/// Minutes below this each get a bucket of their own.
const EXACT_MINUTES: i64 = 32;
/// Buckets per doubling above [`EXACT_MINUTES`].
const BUCKETS_PER_OCTAVE: i64 = 32;
/// log2 of [`EXACT_MINUTES`] and of [`BUCKETS_PER_OCTAVE`].
const FIRST_OCTAVE: i64 = 5;
const LAST_BUCKET: i64 = BUCKETS as i64 - 1;

/// Returns the bucket of a handling time of `seconds`; negative times count as zero.
pub fn bucket_of_seconds(seconds: i64) -> i64 {
    let minutes = seconds.max(0) / 60;
    if minutes < EXACT_MINUTES {
        return minutes;
    }
    let octave = i64::from(63 - minutes.leading_zeros());
    let mantissa = minutes >> (octave - FIRST_OCTAVE);
    let bucket = EXACT_MINUTES
        + (octave - FIRST_OCTAVE) * BUCKETS_PER_OCTAVE
        + (mantissa - BUCKETS_PER_OCTAVE);
    bucket.min(LAST_BUCKET)
}

/// Returns the value in minutes that stands for `bucket`: the minute itself below
/// `EXACT_MINUTES`, the middle of the bucket above.
pub fn bucket_minutes(bucket: i64) -> i64 {
    let bucket = bucket.clamp(0, LAST_BUCKET);
    if bucket < EXACT_MINUTES {
        return bucket;
    }
    let octave = FIRST_OCTAVE + (bucket - EXACT_MINUTES) / BUCKETS_PER_OCTAVE;
    let mantissa = BUCKETS_PER_OCTAVE + (bucket - EXACT_MINUTES) % BUCKETS_PER_OCTAVE;
    let width = 1_i64 << (octave - FIRST_OCTAVE);
    mantissa * width + width / 2
}

/// Counts of closed cases per handling-time bucket, one slot per bucket once the first
/// case is added, so that merging the histograms of many rollup rows is a plain sum.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HoursHistogram {
    /// Empty, or [`BUCKETS`] counts.
    counts: Vec<i64>,
}

impl PartialEq for HoursHistogram {
    fn eq(&self, other: &HoursHistogram) -> bool {
        self.nonzero().eq(other.nonzero())
    }
}

impl HoursHistogram {
    fn slots(&mut self) -> &mut [i64] {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        &mut self.counts
    }

    /// Adds `cases` to `bucket`; a negative count removes cases. A bucket outside the
    /// range counts in the nearest one.
    pub fn add(&mut self, bucket: i64, cases: i64) {
        if cases == 0 {
            return;
        }
        let slot = usize::try_from(bucket.clamp(0, LAST_BUCKET)).unwrap_or(0);
        self.slots()[slot] += cases;
    }

    /// Adds one handling time given in hours, as the reference query returns it.
    pub fn add_hours(&mut self, hours: f64) {
        self.add(bucket_of_seconds((hours * 3600.0).round() as i64), 1);
    }

    /// Adds the counts of a stored histogram (see [`codec`]).
    ///
    /// # Errors
    /// The blob is not a valid encoding.
    pub fn add_blob(&mut self, blob: &[u8]) -> Result<(), codec::DecodeError> {
        codec::decode_each(blob, |bucket, cases| self.add(bucket, cases))
    }

    pub fn merge(&mut self, other: &HoursHistogram) {
        if other.counts.is_empty() {
            return;
        }
        for (sum, cases) in self.slots().iter_mut().zip(&other.counts) {
            *sum += cases;
        }
    }

    /// Returns the buckets with a non-zero count and their counts, in bucket order.
    pub fn nonzero(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, cases)| **cases != 0)
            .map(|(bucket, cases)| (bucket as i64, *cases))
    }

    /// Returns the median handling time in hours, at the precision of the module doc:
    /// the mean of the two middle buckets' values for an even count, `None` when empty.
    pub fn median_hours(&self) -> Option<f64> {
        let total: i64 = self.counts.iter().filter(|cases| **cases > 0).sum();
        if total == 0 {
            return None;
        }
        let value_at = |rank: i64| -> f64 {
            let mut seen = 0;
            for (bucket, cases) in self.nonzero().filter(|(_, cases)| *cases > 0) {
                seen += cases;
                if seen >= rank {
                    return bucket_minutes(bucket) as f64 / 60.0;
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
    fn bucket_error_within_a_64th() {
        for minutes in [0_i64, 1, 31, 32, 33, 59, 127, 128, 300, 600, 1_000, 43_210, 525_600] {
            let value = bucket_minutes(bucket_of_seconds(minutes * 60 + 59));
            if minutes < 32 {
                assert_eq!(value, minutes, "{minutes} min is exact");
            } else {
                let error = (minutes - value).abs() as f64;
                assert!(error <= minutes as f64 / 64.0, "{minutes} min stands as {value}");
            }
        }
        assert_eq!(bucket_of_seconds(-5), 0, "negative time counts as zero");
        assert_eq!(bucket_of_seconds(525_600 * 60), 480, "one year");
        assert_eq!(bucket_of_seconds(i64::MAX), LAST_BUCKET, "capped");
        assert_eq!(bucket_minutes(LAST_BUCKET + 10), bucket_minutes(LAST_BUCKET));
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
    fn median_of_centred_hours_is_exact() {
        let mut histogram = HoursHistogram::default();
        for hours in [1.0, 10.0, 5.0] {
            histogram.add_hours(hours);
        }
        assert_eq!(histogram.median_hours(), Some(5.0), "odd count");
        histogram.add_hours(20.0);
        assert_eq!(histogram.median_hours(), Some(7.5), "even count takes the mean");
        histogram.add(bucket_of_seconds(20 * 3600), -1);
        assert_eq!(histogram.median_hours(), Some(5.0), "a removed case no longer counts");
        assert_eq!(HoursHistogram::default().median_hours(), None);
    }

    #[test]
    fn histograms_compare_by_their_non_zero_buckets() {
        let mut histogram = HoursHistogram::default();
        histogram.add(7, 2);
        histogram.add(7, -2);
        assert_eq!(histogram, HoursHistogram::default(), "all zero equals empty");
        let mut other = HoursHistogram::default();
        other.add(3, 1);
        histogram.merge(&other);
        histogram.merge(&HoursHistogram::default());
        assert_eq!(histogram.nonzero().collect::<Vec<_>>(), [(3, 1)]);
        assert_eq!(histogram, other);
    }
}
