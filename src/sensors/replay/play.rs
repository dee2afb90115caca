//! Pacing a series by measurement time, cutting it into batches and tallying results.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use super::{
    progress::Progress,
    sink::{BatchResult, Sink},
    source::Series,
};
use crate::sensors::{kinds::RawValue, reading::Submitted};

const WEEK_MS: i64 = 7 * 86_400_000;

/// Wall time within which readings that are due join the current batch. Without it a
/// fast paced replay, such as a day per second, would send one reading per request.
const PACE_SLACK: Duration = Duration::from_millis(50);

/// The pace of measurement time during the replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Send batches back to back.
    Max,
    /// This many seconds of measurement time per second of wall time.
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "max" {
            return Ok(Speed::Max);
        }
        match text.parse::<f64>() {
            Ok(0.0) => Ok(Speed::Max),
            Ok(factor) if factor > 0.0 && factor.is_finite() => Ok(Speed::Factor(factor)),
            _ => Err(format!("{text:?} is not a speed; give a positive number such as 60, or max")),
        }
    }
}

/// The offset added to the measurement times before they are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// The smallest whole number of weeks that puts the last reading within the past week.
    Auto,
    /// Exactly this many weeks; 0 sends the times as they are.
    Weeks(i64),
}

impl std::str::FromStr for Shift {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            return Ok(Shift::Auto);
        }
        text.parse::<i64>()
            .map(Shift::Weeks)
            .map_err(|_| format!("{text:?} is not a shift; give a whole number of weeks, or auto"))
    }
}

impl Shift {
    /// Returns the shift in milliseconds for `series` at `now_ms`. Whole weeks keep the
    /// weekday and the local time of day of every reading, in every time zone.
    pub fn to_ms(self, series: &Series, now_ms: i64) -> i64 {
        match self {
            Shift::Weeks(weeks) => weeks * WEEK_MS,
            Shift::Auto => match series.readings.last() {
                Some(last) => (now_ms - last.observed_at_ms).div_euclid(WEEK_MS) * WEEK_MS,
                None => 0,
            },
        }
    }
}

/// Settings of one replay run.
#[derive(Debug, Clone, Copy)]
pub struct PlayOptions {
    pub speed: Speed,
    /// Readings per batch at most; a paced replay sends smaller batches when it waits.
    pub batch_size: usize,
    /// Added to every measurement time, in milliseconds.
    pub shift_ms: i64,
    /// Draw the progress display on stderr.
    pub progress: bool,
}

/// The totals of a replay.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub sent: usize,
    pub batches: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub conflicts: usize,
    /// Rejected readings per error code: count and the first message.
    pub rejected: BTreeMap<String, (usize, String)>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().map(|(count, _)| count).sum()
    }

    fn add(&mut self, result: BatchResult) {
        self.batches += 1;
        self.stored += result.stored;
        self.duplicates += result.duplicates;
        self.conflicts += result.conflicts;
        for (code, message) in result.rejected {
            self.rejected.entry(code).or_insert((0, message)).0 += 1;
        }
    }
}

/// Sends every reading of `series` to `sink` in measurement-time order.
///
/// # Errors
/// Fails when the sink fails. The error states how many readings were acknowledged
/// before, and those stay stored.
pub async fn play(series: &Series, sink: &Sink, options: &PlayOptions) -> anyhow::Result<Summary> {
    let total = series.readings.len();
    let mut progress = Progress::new(total, options.progress);
    let mut summary = Summary::default();
    let started = Instant::now();
    let first_ms = series.readings.first().map_or(0, |r| r.observed_at_ms);
    let mut pending: Vec<Submitted> = Vec::with_capacity(options.batch_size);
    for reading in &series.readings {
        if let Speed::Factor(factor) = options.speed {
            let offset_s = (reading.observed_at_ms - first_ms) as f64 / 1000.0 / factor;
            let due = started + Duration::from_secs_f64(offset_s);
            if due > Instant::now() + PACE_SLACK {
                flush(sink, &mut pending, &mut summary, &mut progress).await?;
                tokio::time::sleep_until(due.into()).await;
            }
        }
        pending.push(Submitted {
            device: series.devices[reading.device].id.clone(),
            attribute: reading.attribute.name().to_owned(),
            value: RawValue::Number(reading.value),
            unit: Some(reading.attribute.unit_code().to_owned()),
            observed_at_ms: reading.observed_at_ms + options.shift_ms,
        });
        if pending.len() >= options.batch_size {
            flush(sink, &mut pending, &mut summary, &mut progress).await?;
        }
    }
    flush(sink, &mut pending, &mut summary, &mut progress).await?;
    progress.finish();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn flush(
    sink: &Sink,
    pending: &mut Vec<Submitted>,
    summary: &mut Summary,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let batch = std::mem::take(pending);
    let count = batch.len();
    let result = sink.send(batch).await.map_err(|error| {
        let acknowledged = summary.stored + summary.duplicates + summary.conflicts;
        error.context(format!("replay stopped; {acknowledged} readings were acknowledged before"))
    })?;
    summary.sent += count;
    summary.add(result);
    progress.advance(count);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_parses_factor_and_max() {
        assert_eq!("60".parse::<Speed>(), Ok(Speed::Factor(60.0)));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("0".parse::<Speed>(), Ok(Speed::Max));
        assert!("-1".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn auto_shift_puts_last_reading_in_past_week() {
        let series = Series {
            format: super::super::source::Format::MantovaParking,
            file: "x.csv".into(),
            devices: Vec::new(),
            readings: vec![super::super::source::SourceReading {
                device: 0,
                attribute: crate::sensors::Attribute::PeopleCount,
                value: 1.0,
                observed_at_ms: 1_000,
            }],
            skipped: Vec::new(),
        };
        let now_ms = 1_000 + 10 * WEEK_MS + 5;
        let shift = Shift::Auto.to_ms(&series, now_ms);
        assert_eq!(shift, 10 * WEEK_MS);
        assert_eq!(Shift::Weeks(0).to_ms(&series, now_ms), 0);
    }
}
