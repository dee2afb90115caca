//! Aligning each lot's readings on one common time grid.
//!
//! The grid starts at the earliest reading rounded down to a whole step (counted from
//! the Unix epoch) and ends at the latest reading. At each grid point a lot takes its
//! last reading at or before that point (last observation carried forward). If that
//! reading is older than `max_gap`, the point is missing for that lot. Every
//! interval between two consecutive readings longer than `max_gap` is counted as a gap.
//!
//! A run of identical readings longer than `flat_run_hours` is counted as a flat run,
//! because a sensor feed that repeats its last value during an outage looks like that.
//! Flat runs are kept unless `drop_flat_runs` is set, and the report lists them either way.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{
    ParkingError,
    series::{ProblemKind, Problems, Reading},
};

/// Grid step and the oldest reading that may still fill a grid point.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AlignOptions {
    pub step_minutes: u32,
    pub max_gap_minutes: u32,
    /// Shortest span of identical readings, in hours, reported as a flat run.
    pub flat_run_hours: u32,
    /// True to leave the readings of flat runs out of every measure.
    pub drop_flat_runs: bool,
}

/// Default for [`AlignOptions::flat_run_hours`]. It is a judgement, not a measured
/// figure: a lot in use rarely keeps exactly the same count for a whole day.
pub const DEFAULT_FLAT_RUN_HOURS: u32 = 24;

impl AlignOptions {
    /// # Errors
    /// Rejects a zero step or a maximum gap shorter than the step.
    pub fn new(step_minutes: u32, max_gap_minutes: u32) -> Result<Self, ParkingError> {
        if step_minutes == 0 || max_gap_minutes < step_minutes {
            return Err(ParkingError::InvalidOption(format!(
                "--step-minutes {step_minutes} and --max-gap-minutes {max_gap_minutes} are invalid; \
                 the step must be at least 1 and the maximum gap at least the step"
            )));
        }
        Ok(Self {
            step_minutes,
            max_gap_minutes,
            flat_run_hours: DEFAULT_FLAT_RUN_HOURS,
            drop_flat_runs: false,
        })
    }

    /// Sets the flat-run threshold in hours and whether flat runs are left out.
    ///
    /// # Errors
    /// Rejects a threshold of 0 hours.
    pub fn with_flat_runs(self, hours: u32, drop: bool) -> Result<Self, ParkingError> {
        if hours == 0 {
            return Err(ParkingError::InvalidOption(
                "--flat-run-hours 0 is invalid; give at least 1 hour".to_owned(),
            ));
        }
        Ok(Self { flat_run_hours: hours, drop_flat_runs: drop, ..self })
    }
}

/// A lot's occupied count and capacity at one grid point, in spaces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub occupied: f64,
    pub capacity: f64,
}

/// One lot's values on the grid; `None` where no recent reading exists.
#[derive(Debug, Clone)]
pub struct AlignedLot {
    pub lot: String,
    pub points: Vec<Option<Point>>,
    /// Sum of the arrivals of the readings used, or `None` when any reading lacks them.
    /// Arrivals are events, so they are summed per reading and never carried forward.
    pub arrivals: Option<f64>,
}

/// All lots on the same grid.
#[derive(Debug, Clone)]
pub struct Aligned {
    pub start: DateTime<Utc>,
    pub step: Duration,
    pub lots: Vec<AlignedLot>,
}

impl Aligned {
    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.lots.first().map_or(0, |lot| lot.points.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the instant of grid point `index`.
    pub fn time_at(&self, index: usize) -> DateTime<Utc> {
        self.start + self.step * index as i32
    }

    /// Step length in hours, the weight of one grid point in space-hours.
    pub fn step_hours(&self) -> f64 {
        self.step.num_seconds() as f64 / 3600.0
    }
}

/// Aligns `readings` (sorted by lot, then time) and records gaps and flat runs in `problems`.
pub fn align(readings: &[Reading], options: AlignOptions, problems: &mut Problems) -> Aligned {
    let step = Duration::minutes(i64::from(options.step_minutes));
    let max_gap = Duration::minutes(i64::from(options.max_gap_minutes));
    let (Some(first), Some(last)) =
        (readings.iter().map(|r| r.time).min(), readings.iter().map(|r| r.time).max())
    else {
        return Aligned { start: DateTime::UNIX_EPOCH, step, lots: Vec::new() };
    };
    let step_seconds = step.num_seconds();
    let start_seconds = first.timestamp().div_euclid(step_seconds) * step_seconds;
    let start = DateTime::from_timestamp(start_seconds, 0).unwrap_or(first);
    let len = ((last - start).num_seconds() / step_seconds) as usize + 1;

    let mut lots = Vec::new();
    let flat_run = Duration::hours(i64::from(options.flat_run_hours));
    for group in readings.chunk_by(|a, b| a.lot == b.lot) {
        record_gaps(group, max_gap, problems);
        let flat = flat_run_mask(group, flat_run, problems);
        let kept: Vec<Reading> = group
            .iter()
            .zip(&flat)
            .filter(|(_, in_flat_run)| !(options.drop_flat_runs && **in_flat_run))
            .map(|(reading, _)| reading.clone())
            .collect();
        let group = kept.as_slice();
        let Some(first_reading) = group.first() else { continue };
        let mut points = vec![None; len];
        let mut next = 0;
        for (index, point) in points.iter_mut().enumerate() {
            let time = start + step * index as i32;
            while next < group.len() && group[next].time <= time {
                next += 1;
            }
            if let Some(reading) = next.checked_sub(1).map(|i| &group[i])
                && time - reading.time <= max_gap
            {
                *point = Some(Point { occupied: reading.occupied, capacity: reading.capacity });
            }
        }
        let arrivals = group.iter().map(|reading| reading.arrivals).sum();
        lots.push(AlignedLot { lot: first_reading.lot.clone(), points, arrivals });
    }
    Aligned { start, step, lots }
}

fn record_gaps(group: &[Reading], max_gap: Duration, problems: &mut Problems) {
    for pair in group.windows(2) {
        if pair[1].time - pair[0].time > max_gap {
            problems.record(ProblemKind::Gap, || {
                format!(
                    "lot {}: no reading from {} (line {}) to {} (line {})",
                    pair[0].lot, pair[0].time, pair[0].line, pair[1].time, pair[1].line
                )
            });
        }
    }
}

/// Marks the readings of every run of equal values spanning more than `flat_run`.
fn flat_run_mask(group: &[Reading], flat_run: Duration, problems: &mut Problems) -> Vec<bool> {
    let mut mask = vec![false; group.len()];
    let mut start = 0;
    for end in 1..=group.len() {
        if end < group.len() && group[end].occupied == group[start].occupied {
            continue;
        }
        let (first, last) = (&group[start], &group[end - 1]);
        if last.time - first.time > flat_run {
            mask[start..end].fill(true);
            problems.record(ProblemKind::FlatRun, || {
                format!(
                    "lot {}: {} readings of {} from {} (line {}) to {} (line {})",
                    first.lot,
                    end - start,
                    first.occupied,
                    first.time,
                    first.line,
                    last.time,
                    last.line
                )
            });
        }
        start = end;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(lot: &str, minute: i64, occupied: f64) -> Reading {
        Reading {
            lot: lot.into(),
            time: DateTime::UNIX_EPOCH + Duration::minutes(minute),
            occupied,
            capacity: 10.0,
            arrivals: None,
            line: 0,
        }
    }

    fn occupied(lot: &AlignedLot) -> Vec<Option<f64>> {
        lot.points.iter().map(|p| p.map(|p| p.occupied)).collect()
    }

    #[test]
    fn readings_carry_forward_up_to_max_gap() {
        let readings = [reading("A", 0, 1.0), reading("A", 7, 2.0), reading("A", 30, 3.0)];
        let mut problems = Problems::default();
        let aligned = align(&readings, AlignOptions::new(5, 10).unwrap(), &mut problems);
        assert_eq!(aligned.len(), 7);
        let expected = [Some(1.0), Some(1.0), Some(2.0), Some(2.0), None, None, Some(3.0)];
        assert_eq!(occupied(&aligned.lots[0]), expected);
        assert_eq!(problems.count(ProblemKind::Gap), 1);
    }

    #[test]
    fn lots_share_grid_and_miss_before_first_reading() {
        let readings = [reading("A", 0, 1.0), reading("A", 10, 1.0), reading("B", 10, 4.0)];
        let aligned = align(&readings, AlignOptions::new(5, 5).unwrap(), &mut Problems::default());
        assert_eq!(aligned.lots.len(), 2);
        assert_eq!(occupied(&aligned.lots[1]), [None, None, Some(4.0)]);
    }

    #[test]
    fn grid_starts_on_whole_step() {
        let readings = [reading("A", 3, 1.0), reading("A", 12, 1.0)];
        let aligned = align(&readings, AlignOptions::new(5, 15).unwrap(), &mut Problems::default());
        assert_eq!(aligned.start, DateTime::UNIX_EPOCH);
        assert_eq!(occupied(&aligned.lots[0]), [None, Some(1.0), Some(1.0)]);
    }

    #[test]
    fn flat_runs_are_reported_and_dropped_on_request() {
        let mut readings: Vec<Reading> =
            (0..=30).map(|hour| reading("A", hour * 60, 4.0)).collect();
        readings.push(reading("A", 31 * 60, 5.0));
        let kept = AlignOptions::new(60, 60).unwrap();
        let mut problems = Problems::default();
        let aligned = align(&readings, kept, &mut problems);
        assert_eq!(problems.count(ProblemKind::FlatRun), 1);
        assert_eq!(aligned.lots[0].points.iter().flatten().count(), 32);

        let dropped = kept.with_flat_runs(24, true).unwrap();
        let aligned = align(&readings, dropped, &mut Problems::default());
        let values = occupied(&aligned.lots[0]);
        assert_eq!(values.iter().flatten().count(), 1, "only the reading after the run is left");
        assert_eq!(values[31], Some(5.0));
    }

    #[test]
    fn short_flat_stretch_is_not_reported() {
        let readings: Vec<Reading> = (0..=24).map(|hour| reading("A", hour * 60, 4.0)).collect();
        let mut problems = Problems::default();
        align(&readings, AlignOptions::new(60, 60).unwrap(), &mut problems);
        assert_eq!(problems.count(ProblemKind::FlatRun), 0, "exactly 24 h is not longer than 24 h");
    }

    #[test]
    fn options_reject_gap_shorter_than_step() {
        assert!(AlignOptions::new(0, 10).is_err());
        assert!(AlignOptions::new(15, 10).is_err());
    }
}
