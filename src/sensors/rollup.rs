//! Rollup buckets (minute, hour, day in the configured time zone) and their aggregates.
//!
//! A batch is first aggregated here, in memory, per device, attribute, step and bucket;
//! the store then merges each aggregate into the stored one. Merging does not depend on
//! order, because first and last are chosen by measurement time, not arrival. So late
//! and out-of-order readings give the same rollups as readings sent in order, provided
//! each reading is merged once. The store ensures that by merging only new readings.

use std::collections::HashMap;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::reading::Reading;

/// The width of a rollup bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Minute,
    Hour,
    /// A calendar day from local midnight to local midnight, 23 to 25 hours long
    /// where the zone has daylight saving time.
    Day,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Minute, Step::Hour, Step::Day];

    /// The stored code.
    pub fn code(self) -> i16 {
        match self {
            Step::Minute => 1,
            Step::Hour => 2,
            Step::Day => 3,
        }
    }

    pub fn parse(text: &str) -> Option<Step> {
        match text {
            "minute" => Some(Step::Minute),
            "hour" => Some(Step::Hour),
            "day" => Some(Step::Day),
            _ => None,
        }
    }
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Computes the start of the bucket of `step` that contains `observed_at_ms`, in UTC milliseconds.
///
/// Hours are cut on the local clock, which matters in zones whose offset is not a whole
/// number of hours (Asia/Kathmandu is UTC+05:45).
pub fn bucket_start_ms(step: Step, observed_at_ms: i64, zone: Tz) -> i64 {
    match step {
        Step::Minute => observed_at_ms.div_euclid(MINUTE_MS) * MINUTE_MS,
        Step::Hour => {
            let offset_ms = offset_ms_at(observed_at_ms, zone);
            let local_ms = observed_at_ms + offset_ms;
            local_ms.div_euclid(HOUR_MS) * HOUR_MS - offset_ms
        }
        Step::Day => local_midnight_ms(observed_at_ms, zone),
    }
}

fn offset_ms_at(utc_ms: i64, zone: Tz) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp_millis(utc_ms).unwrap_or_default();
    i64::from(zone.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()) * 1000
}

/// Finds the UTC instant of the local midnight that starts the day of `utc_ms`.
fn local_midnight_ms(utc_ms: i64, zone: Tz) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp_millis(utc_ms).unwrap_or_default();
    let date = utc.with_timezone(&zone).date_naive();
    // Where a DST change skips midnight, the day starts at the first local time that exists.
    (0..=3)
        .filter_map(|hour| date.and_hms_opt(hour, 0, 0))
        .find_map(|naive| zone.from_local_datetime(&naive).earliest())
        .map_or(utc_ms, |start| start.timestamp_millis())
}

/// Count, sum, extremes, and the first and last value by measurement time of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Aggregate {
    pub count: i64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first_at_ms: i64,
    pub first_value: f64,
    pub last_at_ms: i64,
    pub last_value: f64,
}

impl Aggregate {
    pub fn of(observed_at_ms: i64, value: f64) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
            first_at_ms: observed_at_ms,
            first_value: value,
            last_at_ms: observed_at_ms,
            last_value: value,
        }
    }

    /// Adds `other` to this aggregate; two readings never share a time, so ties cannot occur.
    pub fn merge(&mut self, other: &Aggregate) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.first_at_ms < self.first_at_ms {
            self.first_at_ms = other.first_at_ms;
            self.first_value = other.first_value;
        }
        if other.last_at_ms > self.last_at_ms {
            self.last_at_ms = other.last_at_ms;
            self.last_value = other.last_value;
        }
    }
}

/// The identity of one stored rollup row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketKey {
    pub device_id: i64,
    pub attribute_code: i16,
    pub step: Step,
    pub bucket_start_ms: i64,
}

/// Aggregates `readings` into every bucket of every step they fall in.
pub fn aggregate(readings: &[Reading], zone: Tz) -> HashMap<BucketKey, Aggregate> {
    let mut buckets: HashMap<BucketKey, Aggregate> = HashMap::new();
    for reading in readings {
        let single = Aggregate::of(reading.observed_at_ms, reading.value);
        for step in Step::ALL {
            let key = BucketKey {
                device_id: reading.device_id,
                attribute_code: reading.attribute.code(),
                step,
                bucket_start_ms: bucket_start_ms(step, reading.observed_at_ms, zone),
            };
            buckets.entry(key).and_modify(|a| a.merge(&single)).or_insert(single);
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::kinds::Attribute;

    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn day_bucket_starts_at_local_midnight() {
        let shanghai = chrono_tz::Asia::Shanghai;
        // 2026-12-04 23:30 in Shanghai is 15:30 UTC; its day started at 16:00 UTC the day before.
        let start = bucket_start_ms(Step::Day, ms("2026-12-04T23:30:00+08:00"), shanghai);
        assert_eq!(start, ms("2026-12-04T00:00:00+08:00"));
        let next = bucket_start_ms(Step::Day, ms("2026-12-05T00:10:00+08:00"), shanghai);
        assert_eq!(next, ms("2026-12-05T00:00:00+08:00"));
    }

    #[test]
    fn hour_bucket_follows_local_clock_with_quarter_offset() {
        let kathmandu = chrono_tz::Asia::Kathmandu;
        let start = bucket_start_ms(Step::Hour, ms("2026-12-04T10:20:00+05:45"), kathmandu);
        assert_eq!(start, ms("2026-12-04T10:00:00+05:45"));
    }

    #[test]
    fn day_bucket_spans_dst_change() {
        let berlin = chrono_tz::Europe::Berlin;
        // Clocks go forward on 2026-03-29, so that day is 23 hours long.
        let start = bucket_start_ms(Step::Day, ms("2026-03-29T22:00:00+02:00"), berlin);
        assert_eq!(start, ms("2026-03-29T00:00:00+01:00"));
    }

    #[test]
    fn aggregate_is_independent_of_arrival_order() {
        let zone = chrono_tz::Asia::Shanghai;
        let reading = |at: &str, value: f64| Reading {
            device_id: 1,
            attribute: Attribute::Temperature,
            observed_at_ms: ms(at),
            value,
        };
        let readings = [
            reading("2026-12-04T10:00:10+08:00", 3.0),
            reading("2026-12-04T10:00:50+08:00", 1.0),
            reading("2026-12-04T10:00:30+08:00", 2.0),
        ];
        let mut reversed = readings;
        reversed.reverse();
        assert_eq!(aggregate(&readings, zone), aggregate(&reversed, zone));
        let minute = aggregate(&readings, zone)
            .into_iter()
            .find(|(key, _)| key.step == Step::Minute)
            .unwrap()
            .1;
        assert_eq!(minute.count, 3);
        assert_eq!(minute.first_value, 3.0);
        assert_eq!(minute.last_value, 1.0);
        assert_eq!((minute.min, minute.max, minute.sum), (1.0, 3.0, 6.0));
    }
}
