//! Replaying the pricing rule on a recorded occupancy series.
//!
//! The recorded occupancy is taken as the demand at the start price. Under price `p` a
//! lot's occupied fraction becomes `recorded × (p / start)^elasticity`, capped at 1: a
//! constant price elasticity of demand, which is an assumption of the simulation and
//! not something the series shows. Each lot is simulated on its own.
//!
//! A band-hour is one local clock hour of one day inside one price band. Its occupancy
//! is the mean over the grid points in that hour. Every `period_days` from the first
//! local day, the rule looks at each band's mean simulated occupancy over the ended
//! period and announces a new price that applies `notice_days` later.
//!
//! NOTE: a full lot hides demand beyond its capacity, so where the series reads 100%
//! the simulated occupancy after a raise is probably too low. Public holidays are
//! treated as the weekday they fall on.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Timelike};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    ParkingError,
    align::Aligned,
    analysis::is_weekend,
    pricing::{Decision, PricingRule},
    tariff::DayType,
};

/// Everything the simulation needs besides the series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationOptions {
    pub rule: PricingRule,
    pub start_fen: u32,
    /// Constant price elasticity of demand, usually negative.
    pub elasticity: f64,
    /// Price bands as local hour ranges `[start, end)` that tile 0–24, used on weekdays
    /// and on weekends with separate prices.
    pub bands: Vec<(u32, u32)>,
}

/// Parses `0-8,8-12,20-24` into hour ranges that must tile the day in order.
///
/// # Errors
/// Names the first range that is malformed or leaves a hole or overlap.
pub fn parse_bands(text: &str) -> Result<Vec<(u32, u32)>, ParkingError> {
    let mut bands = Vec::new();
    let mut expected_start = 0;
    for part in text.split(',').map(str::trim) {
        let parsed = part.split_once('-').and_then(|(a, b)| {
            Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?))
        });
        match parsed {
            Some((start, end)) if start == expected_start && start < end && end <= 24 => {
                bands.push((start, end));
                expected_start = end;
            }
            _ => {
                return Err(ParkingError::InvalidOption(format!(
                    "--bands range \"{part}\" is invalid; give hour ranges that cover 0 to 24 in \
                     order without gaps, such as 0-8,8-12,12-16,16-20,20-24"
                )));
            }
        }
    }
    if expected_start != 24 {
        return Err(ParkingError::InvalidOption(format!(
            "--bands \"{text}\" ends at hour {expected_start}; the last range must end at 24"
        )));
    }
    Ok(bands)
}

/// A price band of one day type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BandKey {
    pub day_type: DayType,
    pub start_hour: u32,
    pub end_hour: u32,
}

/// Band-hours inside, above and below the target band.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TargetShare {
    pub in_target: u64,
    pub above: u64,
    pub below: u64,
}

impl TargetShare {
    fn count(&mut self, rule: &PricingRule, occupancy: f64) {
        if occupancy >= rule.raise_at {
            self.above += 1;
        } else if occupancy < rule.lower_below {
            self.below += 1;
        } else {
            self.in_target += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.in_target + self.above + self.below
    }

    /// Share of band-hours inside the target band, in percent; 0 without band-hours.
    pub fn in_target_percent(&self) -> f64 {
        if self.total() == 0 { 0.0 } else { self.in_target as f64 * 100.0 / self.total() as f64 }
    }

    fn add(&mut self, other: &TargetShare) {
        self.in_target += other.in_target;
        self.above += other.above;
        self.below += other.below;
    }
}

/// One evaluation of one band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceChange {
    pub band: BandKey,
    pub announced: NaiveDate,
    pub effective: NaiveDate,
    /// Mean simulated occupied fraction of the band over the ended period.
    pub mean_occupancy: f64,
    pub decision: Decision,
    pub old_fen: u32,
    pub new_fen: u32,
}

/// The simulation of one lot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LotSimulation {
    pub lot: String,
    /// Recorded occupancy at the constant start price.
    pub before: TargetShare,
    /// Simulated occupancy under the rule.
    pub after: TargetShare,
    pub changes: Vec<PriceChange>,
    pub final_prices: Vec<(BandKey, u32)>,
}

/// The simulation of every lot and their totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub options: SimulationOptions,
    pub lots: Vec<LotSimulation>,
    pub before: TargetShare,
    pub after: TargetShare,
}

struct BandHour {
    date: NaiveDate,
    band: BandKey,
    recorded: f64,
}

/// Runs the rule on every lot of `aligned`, with local days and hours in `zone`.
pub fn simulate(aligned: &Aligned, zone: Tz, options: &SimulationOptions) -> Simulation {
    let lots: Vec<LotSimulation> = (0..aligned.lots.len())
        .map(|index| {
            simulate_lot(
                &aligned.lots[index].lot,
                &band_hours(aligned, index, zone, options),
                options,
            )
        })
        .collect();
    let (mut before, mut after) = (TargetShare::default(), TargetShare::default());
    for lot in &lots {
        before.add(&lot.before);
        after.add(&lot.after);
    }
    Simulation { options: options.clone(), lots, before, after }
}

/// Averages one lot's grid points into band-hours, in time order.
fn band_hours(
    aligned: &Aligned,
    lot: usize,
    zone: Tz,
    options: &SimulationOptions,
) -> Vec<BandHour> {
    let mut hours: BTreeMap<(NaiveDate, u32), (f64, u32)> = BTreeMap::new();
    for (index, point) in aligned.lots[lot].points.iter().enumerate() {
        let Some(point) = point else { continue };
        let local = aligned.time_at(index).with_timezone(&zone);
        let entry = hours.entry((local.date_naive(), local.hour())).or_default();
        entry.0 += point.occupied / point.capacity;
        entry.1 += 1;
    }
    hours
        .into_iter()
        .map(|((date, hour), (sum, count))| {
            let day_type =
                if is_weekend(date.weekday()) { DayType::Weekend } else { DayType::Weekday };
            let &(start_hour, end_hour) = options
                .bands
                .iter()
                .find(|(start, end)| (*start..*end).contains(&hour))
                .unwrap_or(&(0, 24));
            BandHour {
                date,
                band: BandKey { day_type, start_hour, end_hour },
                recorded: sum / f64::from(count),
            }
        })
        .collect()
}

fn simulate_lot(lot: &str, hours: &[BandHour], options: &SimulationOptions) -> LotSimulation {
    let rule = &options.rule;
    let mut prices: BTreeMap<BandKey, u32> = BTreeMap::new();
    let mut pending: Vec<PriceChange> = Vec::new();
    let mut changes = Vec::new();
    let mut window: BTreeMap<BandKey, (f64, u32)> = BTreeMap::new();
    let (mut before, mut after) = (TargetShare::default(), TargetShare::default());
    let period = Days::new(u64::from(rule.period_days));
    let mut next_evaluation = hours.first().map(|h| h.date + period);

    for hour in hours {
        while let Some(evaluation) = next_evaluation.filter(|day| hour.date >= *day) {
            for (band, (sum, count)) in std::mem::take(&mut window) {
                let old_fen = *prices.get(&band).unwrap_or(&options.start_fen);
                let mean_occupancy = sum / f64::from(count);
                let (decision, new_fen) = rule.decide(old_fen, mean_occupancy);
                let effective = evaluation + Days::new(u64::from(rule.notice_days));
                pending.push(PriceChange {
                    band,
                    announced: evaluation,
                    effective,
                    mean_occupancy,
                    decision,
                    old_fen,
                    new_fen,
                });
            }
            next_evaluation = Some(evaluation + period);
        }
        for change in pending.extract_if(.., |change| change.effective <= hour.date) {
            prices.insert(change.band, change.new_fen);
            changes.push(change);
        }
        let price = *prices.entry(hour.band).or_insert(options.start_fen);
        let factor = (f64::from(price) / f64::from(options.start_fen)).powf(options.elasticity);
        let simulated = (hour.recorded * factor).min(1.0);
        before.count(rule, hour.recorded);
        after.count(rule, simulated);
        let entry = window.entry(hour.band).or_default();
        entry.0 += simulated;
        entry.1 += 1;
    }
    LotSimulation {
        lot: lot.to_owned(),
        before,
        after,
        changes,
        final_prices: prices.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::parking::align::{AlignedLot, Point};

    /// Builds a lot at `fraction` every hour for `days` days from Monday 2024-01-01 UTC.
    fn constant_lot(fraction: f64, days: usize) -> Aligned {
        let point = Some(Point { occupied: fraction * 10.0, capacity: 10.0 });
        Aligned {
            start: "2024-01-01T00:00:00Z".parse().unwrap(),
            step: Duration::hours(1),
            lots: vec![AlignedLot {
                lot: "a".into(),
                points: vec![point; days * 24],
                arrivals: None,
            }],
        }
    }

    fn options(elasticity: f64) -> SimulationOptions {
        SimulationOptions {
            rule: PricingRule { period_days: 7, notice_days: 0, ..PricingRule::default() },
            start_fen: 200,
            elasticity,
            bands: vec![(0, 24)],
        }
    }

    #[test]
    fn parse_bands_requires_tiling() {
        assert_eq!(parse_bands("0-8, 8-24").unwrap(), [(0, 8), (8, 24)]);
        assert!(parse_bands("0-8,9-24").is_err());
        assert!(parse_bands("0-8").unwrap_err().to_string().contains("must end at 24"));
        assert!(parse_bands("8-0").is_err());
    }

    #[test]
    fn full_lot_price_rises_until_occupancy_enters_band() {
        let simulation = simulate(&constant_lot(0.95, 70), chrono_tz::UTC, &options(-0.3));
        let lot = &simulation.lots[0];
        assert_eq!(lot.before.in_target, 0);
        assert!(lot.after.in_target > 0, "{:?}", lot.after);
        // Each raise of 0.5 yuan lowers occupancy; 0.95 × (p/2)^-0.3 < 0.8 needs p > 3.53 yuan.
        let weekday =
            lot.final_prices.iter().find(|(band, _)| band.day_type == DayType::Weekday).unwrap();
        assert_eq!(weekday.1, 400);
        let raises = lot.changes.iter().filter(|c| c.decision == Decision::Raise).count();
        assert!(raises >= 4, "{raises} raises");
    }

    #[test]
    fn zero_elasticity_changes_prices_but_not_occupancy() {
        let simulation = simulate(&constant_lot(0.3, 30), chrono_tz::UTC, &options(0.0));
        assert_eq!(simulation.before, simulation.after);
        assert!(simulation.lots[0].final_prices.iter().all(|(_, fen)| *fen < 200));
    }

    #[test]
    fn new_price_applies_after_notice() {
        let mut with_notice = options(-0.3);
        with_notice.rule.notice_days = 3;
        let simulation = simulate(&constant_lot(0.95, 12), chrono_tz::UTC, &with_notice);
        let change = &simulation.lots[0].changes[0];
        assert_eq!(change.announced, NaiveDate::from_ymd_opt(2024, 1, 8).unwrap());
        assert_eq!(change.effective, NaiveDate::from_ymd_opt(2024, 1, 11).unwrap());
    }
}
