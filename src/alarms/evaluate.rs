//! The pure step of a rule: from what it remembers of a device, whether an alarm is
//! open and one new reading (or the clock), decide what happens to the alarm.
//!
//! Times are measurement times of the readings, so that a batch replayed hours later
//! raises the same alarms as it would have live. The clock only enters through
//! [`evaluate_clock`] for the rules that hold while no reading arrives.

use super::rule::{Band, Condition};

/// A rule's memory of one device between readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub last_observed_at_ms: i64,
    pub last_value: f64,
    /// Measurement time of the last reading whose value differed from the one before.
    pub changed_at_ms: i64,
    /// Measurement time since which the condition holds; `None` when it did not hold at
    /// the last reading. A rising edge is a reading that holds when this is `None`.
    pub breach_since_ms: Option<i64>,
}

/// The effect of one step on the alarm of a rule and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing changes: no alarm, a pending one, or an open one that stays as it is.
    Quiet,
    /// A new alarm: the condition is met for long enough, and no alarm is open.
    Raise,
    /// The condition is met again while the alarm is open, so it counts on that alarm.
    Retrigger,
    /// The open alarm clears.
    Clear,
}

/// The result of one reading: the new memory and the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub memory: Memory,
    pub verdict: Verdict,
}

/// Evaluates one reading measured at `at_ms`. `window_count` is the number of readings
/// past a count rule's level within its window ending at `at_ms`, this one included;
/// other rules ignore it.
///
/// Returns `None` for a reading measured no later than the last one evaluated: a late
/// reading does not rewrite the rule's view of the past.
// NOTE: late readings are skipped, so a breach that only shows once a delayed batch
// fills a gap is not raised.
pub fn evaluate_reading(
    condition: &Condition,
    memory: Option<&Memory>,
    open: bool,
    at_ms: i64,
    value: f64,
    window_count: i64,
) -> Option<Step> {
    if memory.is_some_and(|m| at_ms <= m.last_observed_at_ms) {
        return None;
    }
    let changed_at_ms = match memory {
        Some(m) if m.last_value == value => m.changed_at_ms,
        _ => at_ms,
    };
    let since = memory.and_then(|m| m.breach_since_ms);
    let next = |breach_since_ms: Option<i64>, verdict: Verdict| {
        let memory = Memory {
            last_observed_at_ms: at_ms,
            last_value: value,
            changed_at_ms,
            breach_since_ms,
        };
        Some(Step { memory, verdict })
    };
    match *condition {
        Condition::Threshold(band) => {
            let (since, verdict) = band_step(&band, value, since, open, at_ms);
            next(since, verdict)
        }
        Condition::RateOfChange(band) => {
            let Some(previous) = memory else {
                return next(None, Verdict::Quiet);
            };
            let minutes = (at_ms - previous.last_observed_at_ms) as f64 / 60_000.0;
            let rate = (value - previous.last_value) / minutes;
            let (since, verdict) = band_step(&band, rate, since, open, at_ms);
            next(since, verdict)
        }
        Condition::NoData { .. } => {
            // A reading is data: whatever was raised for its absence clears.
            next(None, if open { Verdict::Clear } else { Verdict::Quiet })
        }
        Condition::NoChange { duration_ms } => {
            let still = changed_at_ms < at_ms;
            if !still {
                return next(None, if open { Verdict::Clear } else { Verdict::Quiet });
            }
            let long_enough = at_ms - changed_at_ms >= duration_ms;
            let verdict = if long_enough && !open { Verdict::Raise } else { Verdict::Quiet };
            next(Some(changed_at_ms), verdict)
        }
        Condition::Count { count_limit, .. } => {
            let holds = window_count >= count_limit;
            let verdict = match (holds, open, since.is_some()) {
                (true, false, _) => Verdict::Raise,
                (true, true, false) => Verdict::Retrigger,
                (false, true, _) => Verdict::Clear,
                _ => Verdict::Quiet,
            };
            next(holds.then(|| since.unwrap_or(at_ms)), verdict)
        }
    }
}

/// One step of a band on `signal` at `at_ms`: returns the new breach start and the
/// verdict. While no alarm is open, the signal must stay past the level for the minimum
/// duration. An open alarm clears only past the clear level, and a new rising edge in
/// between counts as a re-trigger.
fn band_step(
    band: &Band,
    signal: f64,
    since: Option<i64>,
    open: bool,
    at_ms: i64,
) -> (Option<i64>, Verdict) {
    let raised = band.is_raised_by(signal);
    if open {
        if band.is_cleared_by(signal) {
            return (None, Verdict::Clear);
        }
        return match (raised, since) {
            (true, None) => (Some(at_ms), Verdict::Retrigger),
            (true, Some(start)) => (Some(start), Verdict::Quiet),
            (false, _) => (None, Verdict::Quiet),
        };
    }
    if !raised {
        return (None, Verdict::Quiet);
    }
    let start = since.unwrap_or(at_ms);
    let verdict =
        if at_ms - start >= band.min_duration_ms { Verdict::Raise } else { Verdict::Quiet };
    (Some(start), verdict)
}

/// Evaluates a rule that can hold while no reading arrives, at the clock time `now_ms`.
/// `latest_at_ms` is the device's newest measurement of the attribute.
///
/// No data raises once `now_ms` is `duration_ms` past the newest measurement and clears
/// when a newer one arrives. No change raises once the value has been the same for
/// `duration_ms` up to now, so a meter that stops reporting also raises it. Only a new
/// value clears it, and only the ingest path evaluates new values.
pub fn evaluate_clock(
    condition: &Condition,
    memory: Option<&Memory>,
    latest_at_ms: Option<i64>,
    open: bool,
    now_ms: i64,
) -> Verdict {
    match *condition {
        Condition::NoData { duration_ms } => {
            let Some(latest) = latest_at_ms else {
                return Verdict::Quiet;
            };
            let silent = now_ms - latest >= duration_ms;
            match (silent, open) {
                (true, false) => Verdict::Raise,
                (false, true) => Verdict::Clear,
                _ => Verdict::Quiet,
            }
        }
        Condition::NoChange { duration_ms } => match memory {
            Some(m) if !open && now_ms - m.changed_at_ms >= duration_ms => Verdict::Raise,
            _ => Verdict::Quiet,
        },
        _ => Verdict::Quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::rule::Direction;

    const MINUTE: i64 = 60_000;

    fn band(min_duration_ms: i64) -> Condition {
        Condition::Threshold(Band {
            direction: Direction::Above,
            level: 30.0,
            clear_level: 20.0,
            min_duration_ms,
        })
    }

    /// Runs `values`, one per minute, and returns the verdicts, with an alarm open from
    /// a raise until a clear.
    fn run(condition: &Condition, values: &[f64]) -> Vec<Verdict> {
        let mut memory: Option<Memory> = None;
        let mut open = false;
        let mut verdicts = Vec::new();
        for (minute, value) in values.iter().enumerate() {
            let at_ms = minute as i64 * MINUTE;
            let step = evaluate_reading(condition, memory.as_ref(), open, at_ms, *value, 0)
                .expect("readings are in order");
            match step.verdict {
                Verdict::Raise => open = true,
                Verdict::Clear => open = false,
                _ => {}
            }
            memory = Some(step.memory);
            verdicts.push(step.verdict);
        }
        verdicts
    }

    use Verdict::{Clear, Quiet, Raise, Retrigger};

    #[test]
    fn threshold_keeps_alarm_between_levels() {
        let verdicts = run(&band(0), &[25.0, 31.0, 25.0, 32.0, 19.0, 25.0]);
        assert_eq!(verdicts, [Quiet, Raise, Quiet, Retrigger, Clear, Quiet]);
    }

    #[test]
    fn threshold_waits_for_minimum_duration() {
        let verdicts = run(&band(2 * MINUTE), &[31.0, 31.0, 25.0, 31.0, 31.0, 31.0]);
        assert_eq!(verdicts, [Quiet, Quiet, Quiet, Quiet, Quiet, Raise]);
    }

    #[test]
    fn late_reading_is_skipped() {
        let memory = Memory {
            last_observed_at_ms: 10 * MINUTE,
            last_value: 31.0,
            changed_at_ms: 0,
            breach_since_ms: Some(0),
        };
        let step = evaluate_reading(&band(0), Some(&memory), true, 5 * MINUTE, 10.0, 0);
        assert_eq!(step, None);
    }

    #[test]
    fn rate_of_change_uses_change_per_minute() {
        let rate = Condition::RateOfChange(Band {
            direction: Direction::Above,
            level: 5.0,
            clear_level: 1.0,
            min_duration_ms: 0,
        });
        let verdicts = run(&rate, &[10.0, 12.0, 20.0, 23.0, 23.5]);
        assert_eq!(verdicts, [Quiet, Quiet, Raise, Quiet, Clear]);
    }

    #[test]
    fn no_change_raises_after_duration() {
        let still = Condition::NoChange { duration_ms: 3 * MINUTE };
        let verdicts = run(&still, &[7.0, 7.0, 7.0, 7.0, 7.0, 7.5]);
        assert_eq!(verdicts, [Quiet, Quiet, Quiet, Raise, Quiet, Clear]);
    }

    #[test]
    fn no_data_clock_raises_after_silence() {
        let silence = Condition::NoData { duration_ms: 10 * MINUTE };
        assert_eq!(evaluate_clock(&silence, None, Some(0), false, 9 * MINUTE), Quiet);
        assert_eq!(evaluate_clock(&silence, None, Some(0), false, 10 * MINUTE), Raise);
        assert_eq!(evaluate_clock(&silence, None, Some(0), true, 11 * MINUTE), Quiet);
        assert_eq!(evaluate_clock(&silence, None, Some(5 * MINUTE), true, 11 * MINUTE), Clear);
        assert_eq!(evaluate_clock(&silence, None, None, false, 11 * MINUTE), Quiet);
    }

    #[test]
    fn count_raises_at_limit_and_clears_below() {
        let count = Condition::Count {
            direction: Direction::Above,
            level: 0.5,
            count_limit: 3,
            window_ms: 10 * MINUTE,
        };
        let mut memory = None;
        let mut verdicts = Vec::new();
        let mut open = false;
        for (minute, window_count) in [1, 2, 3, 4, 2, 3].into_iter().enumerate() {
            let at = minute as i64 * MINUTE;
            let step = evaluate_reading(&count, memory.as_ref(), open, at, 1.0, window_count)
                .expect("in order");
            open = match step.verdict {
                Raise => true,
                Clear => false,
                _ => open,
            };
            memory = Some(step.memory);
            verdicts.push(step.verdict);
        }
        assert_eq!(verdicts, [Quiet, Quiet, Raise, Quiet, Clear, Raise]);
    }
}
