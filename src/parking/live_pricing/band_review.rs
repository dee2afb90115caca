//! The pure parts of a review: the periods, the mean occupancy per band and the decision.
//!
//! Periods are runs of `period_days` local dates counted from Monday 1970-01-05, so a
//! period of whole weeks always starts on a Monday and every node computes the same
//! periods.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::history::Sample;
use crate::parking::{
    pricing::{Decision, PricingRule},
    tariff::{DayTypes, Tariff},
};

/// Returns the first local date of period 0.
fn period_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("valid date")
}

/// Returns the local dates `[start, end)` of the last period that ended on or before
/// `today`.
pub fn last_complete_period(today: NaiveDate, period_days: u32) -> (NaiveDate, NaiveDate) {
    let length = i64::from(period_days.max(1));
    let index = (today - period_origin()).num_days().div_euclid(length);
    let end = period_origin() + Duration::days(index * length);
    (end - Duration::days(length), end)
}

/// Returns local midnight of `date` in `zone` as UTC ms. When the clock shows midnight
/// twice it takes the earlier instant, and when it skips midnight the first valid minute.
pub fn midnight_ms(date: NaiveDate, zone: Tz) -> i64 {
    let mut local = date.and_time(NaiveTime::MIN);
    for _ in 0..180 {
        if let Some(instant) = zone.from_local_datetime(&local).earliest() {
            return instant.timestamp_millis();
        }
        local += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)).timestamp_millis()
}

/// Sum of occupied fractions and the number of samples of one band.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BandStats {
    pub fraction_sum: f64,
    pub samples: i64,
}

impl BandStats {
    /// Mean occupied fraction, `None` without samples.
    pub fn mean(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.fraction_sum / self.samples as f64)
    }
}

/// Assigns each sample to the band in force at its slot's local start and sums the
/// occupied fractions per band, in the order of `tariff.bands()`.
pub fn band_stats(
    tariff: &Tariff,
    samples: &[Sample],
    zone: Tz,
    day_types: &DayTypes,
) -> Vec<BandStats> {
    let index: HashMap<(crate::parking::tariff::DayType, u16), usize> = tariff
        .bands()
        .iter()
        .enumerate()
        .map(|(position, band)| ((band.day_type, band.start_minute), position))
        .collect();
    let mut stats = vec![BandStats::default(); tariff.bands().len()];
    for sample in samples {
        let Some(instant) = Utc.timestamp_millis_opt(sample.slot_start_ms).single() else {
            continue;
        };
        let local = instant.with_timezone(&zone).naive_local();
        let day_type = day_types.of(local.date());
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let band = tariff.band_at(day_type, minute);
        if let Some(&position) = index.get(&(band.day_type, band.start_minute)) {
            let entry = &mut stats[position];
            entry.fraction_sum += f64::from(sample.occupied) / f64::from(sample.open_capacity);
            entry.samples += 1;
        }
    }
    stats
}

/// Decision of a review for one band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Raise,
    Lower,
    Hold,
    /// Fewer samples than `[pricing] min_samples`: the price holds.
    TooFewSamples,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Raise => "raise",
            ReviewDecision::Lower => "lower",
            ReviewDecision::Hold => "hold",
            ReviewDecision::TooFewSamples => "too_few_samples",
        }
    }
}

/// Applies `rule` to a band priced `old_fen` whose period gave `stats`.
pub fn decide_band(
    rule: &PricingRule,
    min_samples: i64,
    old_fen: u32,
    stats: BandStats,
) -> (ReviewDecision, u32) {
    match stats.mean().filter(|_| stats.samples >= min_samples) {
        None => (ReviewDecision::TooFewSamples, old_fen),
        Some(mean) => match rule.decide(old_fen, mean) {
            (Decision::Raise, new_fen) => (ReviewDecision::Raise, new_fen),
            (Decision::Lower, new_fen) => (ReviewDecision::Lower, new_fen),
            (Decision::Hold, new_fen) => (ReviewDecision::Hold, new_fen),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::tariff::{Band, DayType};

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_of_whole_weeks_start_on_mondays() {
        // Wednesday 2027-03-10: the 28-day period before it ended on a Monday.
        let (start, end) = last_complete_period(date("2027-03-10"), 28);
        assert_eq!(end - start, Duration::days(28));
        assert_eq!(start.format("%a").to_string(), "Mon");
        assert!(end <= date("2027-03-10"), "the period ended by that day");
        assert!(date("2027-03-10") < end + Duration::days(28), "it is the latest such period");
    }

    #[test]
    fn decide_band_holds_with_too_few_samples() {
        let rule = PricingRule::default();
        let full = BandStats { fraction_sum: 9.5, samples: 10 };
        assert_eq!(decide_band(&rule, 20, 600, full), (ReviewDecision::TooFewSamples, 600));
        assert_eq!(decide_band(&rule, 10, 600, full), (ReviewDecision::Raise, 650));
        let empty = BandStats { fraction_sum: 2.0, samples: 10 };
        assert_eq!(decide_band(&rule, 10, 600, empty), (ReviewDecision::Lower, 550));
        let target = BandStats { fraction_sum: 7.0, samples: 10 };
        assert_eq!(decide_band(&rule, 10, 600, target), (ReviewDecision::Hold, 600));
    }

    #[test]
    fn band_stats_assign_samples_by_local_time() {
        let tariff = Tariff::new(
            DayType::ALL
                .into_iter()
                .flat_map(|day_type| {
                    [
                        Band { day_type, start_minute: 0, end_minute: 480, rate_fen_per_hour: 200 },
                        Band {
                            day_type,
                            start_minute: 480,
                            end_minute: 1440,
                            rate_fen_per_hour: 600,
                        },
                    ]
                })
                .collect(),
        )
        .unwrap();
        // 2027-03-01 is a Monday; 00:00 UTC is 08:00 in Shanghai, the day band.
        let slot = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap().timestamp_millis();
        let samples = [
            Sample {
                lot_id: 1,
                slot_start_ms: slot,
                interval_minutes: 15,
                occupied: 9,
                open_capacity: 10,
            },
            Sample {
                lot_id: 1,
                slot_start_ms: slot - 60_000 * 15,
                interval_minutes: 15,
                occupied: 1,
                open_capacity: 10,
            },
        ];
        let stats = band_stats(&tariff, &samples, chrono_tz::Asia::Shanghai, &DayTypes::default());
        assert_eq!(stats[1], BandStats { fraction_sum: 0.9, samples: 1 }, "weekday day band");
        assert_eq!(stats[0], BandStats { fraction_sum: 0.1, samples: 1 }, "weekday night band");
    }
}
