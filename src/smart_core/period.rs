//! The period a dashboard shows: a half-open range of UTC milliseconds cut into rollup
//! buckets of one step.

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::{
    http::{AppError, UserMessage},
    sensors::{
        rollup::{Step, bucket_start_ms},
        store::MAX_SERIES_BUCKETS,
    },
};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// A range `[from_ms, to_ms)` of bucket starts and the step of its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from_ms: i64,
    pub to_ms: i64,
    pub step: Step,
}

/// The choices of the page's period selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The last 24 hours by hour, ending with the current hour.
    Day,
    /// The last 7 days by day, ending with today.
    Week,
    /// The last 30 days by day, ending with today.
    Month,
    /// From one date to another, both included, by day.
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 4] = [Preset::Day, Preset::Week, Preset::Month, Preset::Custom];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Day => "day",
            Preset::Week => "week",
            Preset::Month => "month",
            Preset::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|preset| preset.as_str() == text)
    }
}

fn invalid(code: &'static str, field: &str) -> AppError {
    AppError::BadRequest(UserMessage::new(code).field(field))
}

/// Returns the start of the bucket after the one that starts at `start_ms`.
pub fn next_bucket_ms(step: Step, start_ms: i64, zone: Tz) -> i64 {
    match step {
        Step::Minute => start_ms + MINUTE_MS,
        Step::Hour => bucket_start_ms(Step::Hour, start_ms + HOUR_MS + HOUR_MS / 2, zone),
        // 36 hours after a local midnight always falls in the next day, because a day
        // lasts 23 to 25 hours.
        Step::Day => bucket_start_ms(Step::Day, start_ms + 36 * HOUR_MS, zone),
    }
}

impl Period {
    /// Lists the bucket starts of the period, oldest first.
    pub fn bucket_starts(&self, zone: Tz) -> Vec<i64> {
        let mut starts = Vec::new();
        let mut start = bucket_start_ms(self.step, self.from_ms, zone);
        if start < self.from_ms {
            start = next_bucket_ms(self.step, start, zone);
        }
        while start < self.to_ms && (starts.len() as i64) < MAX_SERIES_BUCKETS {
            starts.push(start);
            start = next_bucket_ms(self.step, start, zone);
        }
        starts
    }

    /// Builds the period of a preset that ends with the bucket containing `now_ms`.
    pub fn of_preset(preset: Preset, now_ms: i64, zone: Tz) -> Period {
        let (step, count) = match preset {
            Preset::Day => (Step::Hour, 24),
            Preset::Week => (Step::Day, 7),
            Preset::Month | Preset::Custom => (Step::Day, 30),
        };
        let current = bucket_start_ms(step, now_ms, zone);
        let to_ms = next_bucket_ms(step, current, zone);
        let mut from_ms = current;
        for _ in 1..count {
            // One step back from a bucket start lands in the bucket before it.
            from_ms = bucket_start_ms(step, from_ms - 1, zone);
        }
        Period { from_ms, to_ms, step }
    }

    /// Builds the period from the local midnight of `from` to the local midnight after
    /// `to`, by day.
    ///
    /// # Errors
    /// 400 naming `from` or `to` when a date is missing, not `YYYY-MM-DD`, or `to` is
    /// before `from`, and naming `to` when the range is longer than the bucket limit.
    pub fn of_dates(from: &str, to: &str, zone: Tz) -> Result<Period, AppError> {
        let date = |text: &str, field: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| invalid("smart_core_date_invalid", field))
        };
        let (first, last) = (date(from, "from")?, date(to, "to")?);
        if last < first {
            return Err(invalid("smart_core_range_reversed", "to"));
        }
        let midnight = |day: NaiveDate| {
            let noon =
                day.and_hms_opt(12, 0, 0).and_then(|t| zone.from_local_datetime(&t).earliest());
            noon.map(|t| bucket_start_ms(Step::Day, t.timestamp_millis(), zone))
        };
        let from_ms = midnight(first).ok_or_else(|| invalid("smart_core_date_invalid", "from"))?;
        let last_ms = midnight(last).ok_or_else(|| invalid("smart_core_date_invalid", "to"))?;
        let period =
            Period { from_ms, to_ms: next_bucket_ms(Step::Day, last_ms, zone), step: Step::Day };
        period.check_size("to")?;
        Ok(period)
    }

    /// Builds the period of the series API from RFC 3339 times and a step. Without a
    /// step, ranges up to two days go by hour and longer ones by day.
    ///
    /// # Errors
    /// 400 naming `from`, `to` or `step` when one is invalid, `to` is not after `from`,
    /// or the range contains more buckets than one response returns.
    pub fn of_query(from: &str, to: &str, step: Option<&str>) -> Result<Period, AppError> {
        let time = |text: &str, field: &str| {
            DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.timestamp_millis())
                .map_err(|_| invalid("smart_core_time_invalid", field))
        };
        let (from_ms, to_ms) = (time(from, "from")?, time(to, "to")?);
        if to_ms <= from_ms {
            return Err(invalid("smart_core_range_reversed", "to"));
        }
        let step = match step.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => {
                Step::parse(text).ok_or_else(|| invalid("series_step_invalid", "step"))?
            }
            None if to_ms - from_ms <= 48 * HOUR_MS => Step::Hour,
            None => Step::Day,
        };
        let period = Period { from_ms, to_ms, step };
        period.check_size("step")?;
        Ok(period)
    }

    /// Rejects a period with more buckets than [`MAX_SERIES_BUCKETS`].
    fn check_size(&self, field: &str) -> Result<(), AppError> {
        let width_ms = match self.step {
            Step::Minute => MINUTE_MS,
            Step::Hour => HOUR_MS,
            // The shortest day, so the estimate never lets a long range through.
            Step::Day => 23 * HOUR_MS,
        };
        if (self.to_ms - self.from_ms) / width_ms > MAX_SERIES_BUCKETS {
            return Err(AppError::BadRequest(
                UserMessage::new("smart_core_range_too_long")
                    .arg("max", MAX_SERIES_BUCKETS)
                    .field(field),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn day_preset_ends_with_current_hour() {
        let period = Period::of_preset(Preset::Day, ms("2026-12-05T10:20:00+08:00"), SHANGHAI);
        assert_eq!(period.step, Step::Hour);
        assert_eq!(period.from_ms, ms("2026-12-04T11:00:00+08:00"));
        assert_eq!(period.to_ms, ms("2026-12-05T11:00:00+08:00"));
        assert_eq!(period.bucket_starts(SHANGHAI).len(), 24);
    }

    #[test]
    fn week_preset_starts_at_local_midnight() {
        let period = Period::of_preset(Preset::Week, ms("2026-12-05T00:30:00+08:00"), SHANGHAI);
        assert_eq!(period.step, Step::Day);
        assert_eq!(period.from_ms, ms("2026-11-29T00:00:00+08:00"));
        assert_eq!(period.to_ms, ms("2026-12-06T00:00:00+08:00"));
        assert_eq!(period.bucket_starts(SHANGHAI).len(), 7);
    }

    #[test]
    fn dates_include_both_days() {
        let period = Period::of_dates("2026-12-01", "2026-12-03", SHANGHAI).unwrap();
        assert_eq!(period.from_ms, ms("2026-12-01T00:00:00+08:00"));
        assert_eq!(period.to_ms, ms("2026-12-04T00:00:00+08:00"));
    }

    #[test]
    fn dates_across_dst_change_keep_local_midnights() {
        let berlin = chrono_tz::Europe::Berlin;
        let period = Period::of_dates("2026-03-28", "2026-03-30", berlin).unwrap();
        let starts = period.bucket_starts(berlin);
        assert_eq!(
            starts,
            vec![
                ms("2026-03-28T00:00:00+01:00"),
                ms("2026-03-29T00:00:00+01:00"),
                ms("2026-03-30T00:00:00+02:00")
            ]
        );
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let field = |result: Result<Period, AppError>| match result {
            Err(AppError::BadRequest(message)) => message.field.unwrap_or_default(),
            other => panic!("expected a 400, got {other:?}"),
        };
        assert_eq!(field(Period::of_dates("2026-13-01", "2026-12-01", SHANGHAI)), "from");
        assert_eq!(field(Period::of_dates("2026-12-02", "2026-12-01", SHANGHAI)), "to");
        assert_eq!(field(Period::of_query("yesterday", "2026-12-01T00:00:00Z", None)), "from");
        assert_eq!(
            field(Period::of_query("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", None)),
            "to"
        );
        assert_eq!(
            field(Period::of_query("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", Some("week"))),
            "step"
        );
        assert_eq!(
            field(Period::of_query("2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", Some("minute"))),
            "step"
        );
    }
}
