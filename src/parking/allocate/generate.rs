//! Generated sharing scenarios for tests and `citycore bench allocate`: lots whose
//! spaces belong to residents, offices, merchants and the public, each shared in the
//! hours its owner does not need it, and requests from commuters, residents who park
//! overnight, and short-stay visitors. Time 0 is a Monday 00:00; times are multiples of
//! 15 minutes.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{Request, Space};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const QUARTER: i64 = 15 * 60;

/// The size of a scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub lots: usize,
    pub spaces_per_lot: usize,
    pub requests: usize,
    pub days: i64,
    pub seed: u64,
}

fn quarter(rng: &mut StdRng, from_hours: f64, to_hours: f64) -> i64 {
    let seconds = rng.random_range(from_hours..to_hours) * HOUR as f64;
    (seconds as i64 / QUARTER) * QUARTER
}

/// Windows of an owner of `kind` over `days` days.
fn windows(kind: usize, days: i64) -> Vec<(i64, i64)> {
    let weekday = |day: i64| day % 7 < 5;
    let mut windows = Vec::new();
    for day in 0..days {
        let midnight = day * DAY;
        match kind {
            // Residents drive to work: free on weekdays in office hours.
            0 if weekday(day) => windows.push((midnight + 8 * HOUR, midnight + 18 * HOUR)),
            // Offices: free from the evening to the next morning, and at weekends.
            1 if weekday(day) => {
                windows.push((midnight + 19 * HOUR, midnight + DAY + 7 * HOUR + 1800))
            }
            1 => windows.push((midnight, midnight + DAY)),
            // Merchants: free overnight until opening time.
            2 => windows.push((midnight + 22 * HOUR, midnight + DAY + 9 * HOUR)),
            // Public spaces: always.
            3 => windows.push((midnight, midnight + DAY)),
            _ => {}
        }
    }
    merge(windows)
}

/// Sorts windows and joins those that touch or overlap.
fn merge(mut windows: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    windows.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
    for (from, to) in windows {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Generates the spaces and requests of `scenario`; requests come in arrival order,
/// which is not the order of their start times.
pub fn generate(scenario: Scenario) -> (Vec<Space>, Vec<Request>) {
    let mut rng = StdRng::seed_from_u64(scenario.seed);
    let mut spaces = Vec::with_capacity(scenario.lots * scenario.spaces_per_lot);
    for lot in 0..scenario.lots {
        for n in 0..scenario.spaces_per_lot {
            let kind = [0, 0, 0, 1, 1, 2, 3][rng.random_range(0..7)];
            spaces.push(Space {
                space_id: (lot * scenario.spaces_per_lot + n) as i64 + 1,
                lot_id: lot as i64 + 1,
                windows: windows(kind, scenario.days),
            });
        }
    }
    let mut requests = Vec::with_capacity(scenario.requests);
    for n in 0..scenario.requests {
        let day = rng.random_range(0..scenario.days);
        let midnight = day * DAY;
        let (start, end) = match rng.random_range(0..10) {
            // Commuters on weekdays.
            0..=3 if day % 7 < 5 => {
                let start = midnight + quarter(&mut rng, 7.5, 9.5);
                (start, midnight + quarter(&mut rng, 17.0, 19.0))
            }
            // Residents overnight.
            4..=6 if day + 1 < scenario.days => {
                let start = midnight + quarter(&mut rng, 18.0, 21.0);
                (start, midnight + DAY + quarter(&mut rng, 7.0, 8.5))
            }
            // Visitors, one to four hours.
            _ => {
                let start = midnight + quarter(&mut rng, 9.0, 20.0);
                (start, start + quarter(&mut rng, 1.0, 4.0).max(QUARTER))
            }
        };
        requests.push(Request {
            request_id: n as i64 + 1,
            lot_id: rng.random_range(0..scenario.lots) as i64 + 1,
            start,
            end,
        });
    }
    (spaces, requests)
}
