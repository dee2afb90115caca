//! Live occupancy of a lot from space sensors, a lot counter or a manual count.
//!
//! When any space of the lot has a space sensor, the figures come from the debounced
//! status of each sensor. Otherwise they come from the newer of the lot counter's free
//! count and the newest manual count. Closed lots and closed spaces (closed in the inventory, or reported
//! `closed` by their sensor) are left out of both free and occupied. A counter value
//! outside `0 ..= open capacity` is flagged as a [`Problem`] and not used.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{InventoryError, Lot, Space, store};
use crate::{db::Db, sensors::kinds::PARKING_STATUSES};

/// Status readings fetched per sensor for the debounce; a sensor that flapped more
/// often than this within the hold time is shown as unknown.
const STATUS_HISTORY_LIMIT: i64 = 50;

/// FIWARE ParkingSpot `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpotStatus {
    Free,
    Occupied,
    Closed,
    Unknown,
}

impl SpotStatus {
    fn from_code(code: f64) -> SpotStatus {
        match PARKING_STATUSES.get(code as usize).copied() {
            Some("free") => SpotStatus::Free,
            Some("occupied") => SpotStatus::Occupied,
            Some("closed") => SpotStatus::Closed,
            _ => SpotStatus::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpotStatus::Free => "free",
            SpotStatus::Occupied => "occupied",
            SpotStatus::Closed => "closed",
            SpotStatus::Unknown => "unknown",
        }
    }
}

/// Picks the status a flapping sensor is at: the newest status that held for at
/// least `hold_ms`, from `history` (measurement ms and status code, newest first).
///
/// A status lasts from its first reading in a run of equal readings until the next
/// different reading, or until `now_ms` for the newest run. Returns `Unknown` when no
/// run in `history` lasted that long, such as for a sensor that reported only just now.
pub fn debounce(history: &[(i64, f64)], now_ms: i64, hold_ms: i64) -> SpotStatus {
    let mut run_end = now_ms;
    let mut index = 0;
    while index < history.len() {
        let code = history[index].1;
        let mut run_start = history[index].0;
        while index < history.len() && history[index].1 == code {
            run_start = history[index].0;
            index += 1;
        }
        if run_end - run_start >= hold_ms {
            return SpotStatus::from_code(code);
        }
        run_end = run_start;
    }
    SpotStatus::Unknown
}

/// An impossible occupancy value that was not used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The counter's external id, or `None` for a manual count.
    pub device: Option<String>,
    pub value: f64,
    pub open_capacity: i64,
    pub observed_at_ms: i64,
}

/// The source of a lot's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    SpaceSensors,
    LotCounter,
    ManualCount,
    /// No usable data, or a closed lot.
    None,
}

/// The debounced status of one space and its sensor's newest measurement time (UTC ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpaceReading {
    pub status: SpotStatus,
    pub observed_at_ms: Option<i64>,
}

/// The live figures of one lot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupancy {
    pub source: Source,
    /// Capacity minus closed spaces; 0 for a closed lot.
    pub open_capacity: i64,
    pub free: Option<i64>,
    pub occupied: Option<i64>,
    /// Measurement time of the data used, UTC ms; the oldest one for space sensors.
    pub observed_at_ms: Option<i64>,
    pub problem: Option<Problem>,
    /// Debounced status of each space that has a sensor, by space ref.
    pub spaces: BTreeMap<String, SpaceReading>,
}

impl Occupancy {
    fn empty(open_capacity: i64) -> Occupancy {
        Occupancy {
            source: Source::None,
            open_capacity,
            free: None,
            occupied: None,
            observed_at_ms: None,
            problem: None,
            spaces: BTreeMap::new(),
        }
    }
}

/// Computes the live occupancy of `lot`, whose inventory spaces are `spaces`.
///
/// # Errors
/// A database failure.
#[tracing::instrument(skip_all, fields(parking.lot = %lot.lot_ref))]
pub async fn lot_occupancy(
    db: &Db,
    lot: &Lot,
    spaces: &[Space],
    hold_seconds: i64,
    now_ms: i64,
) -> Result<Occupancy, InventoryError> {
    if lot.closed {
        return Ok(Occupancy::empty(0));
    }
    let closed_spaces = spaces.iter().filter(|space| space.closed).count() as i64;
    let open_capacity = (lot.capacity - closed_spaces).max(0);
    let sensors = store::space_sensors(db, lot.lot_id).await?;
    if !sensors.is_empty() {
        return from_space_sensors(db, spaces, &sensors, hold_seconds * 1000, now_ms).await;
    }
    let counter = store::lot_counter_reading(db, &lot.lot_ref).await?;
    let count = store::latest_count(db, lot.lot_id).await?;
    let mut occupancy = Occupancy::empty(open_capacity);
    let counter_is_newer = match (&counter, count) {
        (Some(reading), Some((_, counted_at))) => reading.observed_at_ms >= counted_at,
        (Some(_), None) => true,
        _ => false,
    };
    if let Some(reading) = counter.filter(|_| counter_is_newer) {
        let free = reading.free;
        if free.fract() == 0.0 && (0.0..=open_capacity as f64).contains(&free) {
            occupancy.source = Source::LotCounter;
            occupancy.free = Some(free as i64);
            occupancy.occupied = Some(open_capacity - free as i64);
            occupancy.observed_at_ms = Some(reading.observed_at_ms);
            return Ok(occupancy);
        }
        tracing::warn!(
            device.id = %reading.external_id,
            parking.free = free,
            parking.open_capacity = open_capacity,
            "lot counter reports an impossible free count; not used"
        );
        occupancy.problem = Some(Problem {
            device: Some(reading.external_id),
            value: free,
            open_capacity,
            observed_at_ms: reading.observed_at_ms,
        });
    }
    if let Some((occupied, counted_at)) = count {
        // A count can exceed the open capacity when spaces were closed after it.
        if occupied <= open_capacity {
            occupancy.source = Source::ManualCount;
            occupancy.free = Some(open_capacity - occupied);
            occupancy.occupied = Some(occupied);
            occupancy.observed_at_ms = Some(counted_at);
        } else if occupancy.problem.is_none() {
            occupancy.problem = Some(Problem {
                device: None,
                value: occupied as f64,
                open_capacity,
                observed_at_ms: counted_at,
            });
        }
    }
    Ok(occupancy)
}

async fn from_space_sensors(
    db: &Db,
    spaces: &[Space],
    sensors: &[store::SpaceSensor],
    hold_ms: i64,
    now_ms: i64,
) -> Result<Occupancy, InventoryError> {
    let closed: Vec<&str> =
        spaces.iter().filter(|space| space.closed).map(|space| space.space_ref.as_str()).collect();
    // NOTE: with sensors the open capacity is the lot's registered open spaces, not its
    // `capacity`; spaces missing from the inventory are not counted at all.
    let open_capacity = (spaces.len() - closed.len()) as i64;
    let mut occupancy = Occupancy::empty(open_capacity);
    occupancy.source = Source::SpaceSensors;
    let (mut free, mut occupied, mut sensor_closed) = (0, 0, 0);
    // NOTE: one query per sensor; fine for a lot of a few hundred spaces, slow for a
    // list of many large lots.
    for sensor in sensors {
        if closed.contains(&sensor.space_ref.as_str()) {
            continue;
        }
        let history = store::status_history(db, sensor.device_id, STATUS_HISTORY_LIMIT).await?;
        let status = debounce(&history, now_ms, hold_ms);
        let newest_ms = history.first().map(|&(at_ms, _)| at_ms);
        if let Some(newest_ms) = newest_ms {
            occupancy.observed_at_ms =
                Some(occupancy.observed_at_ms.map_or(newest_ms, |oldest| oldest.min(newest_ms)));
        }
        match status {
            SpotStatus::Free => free += 1,
            SpotStatus::Occupied => occupied += 1,
            SpotStatus::Closed => sensor_closed += 1,
            SpotStatus::Unknown => {}
        }
        occupancy
            .spaces
            .insert(sensor.space_ref.clone(), SpaceReading { status, observed_at_ms: newest_ms });
    }
    occupancy.open_capacity -= sensor_closed;
    occupancy.free = Some(free);
    occupancy.occupied = Some(occupied);
    Ok(occupancy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: i64 = 60_000;
    const NOW: i64 = 1_000_000;

    #[test]
    fn debounce_keeps_old_status_until_new_one_held() {
        // Free for long, then occupied 30 s ago: the change has not held yet.
        let history = [(NOW - 30_000, 1.0), (NOW - 600_000, 0.0)];
        assert_eq!(debounce(&history, NOW, HOLD), SpotStatus::Free);
    }

    #[test]
    fn debounce_takes_new_status_after_hold_time() {
        let history = [(NOW - 61_000, 1.0), (NOW - 600_000, 0.0)];
        assert_eq!(debounce(&history, NOW, HOLD), SpotStatus::Occupied);
    }

    #[test]
    fn debounce_skips_short_flaps() {
        // Occupied for long, then free 40 s, occupied 10 s, free 5 s: it stays occupied.
        let history =
            [(NOW - 5_000, 0.0), (NOW - 15_000, 1.0), (NOW - 55_000, 0.0), (NOW - 900_000, 1.0)];
        assert_eq!(debounce(&history, NOW, HOLD), SpotStatus::Occupied);
    }

    #[test]
    fn debounce_of_a_new_sensor_is_unknown() {
        assert_eq!(debounce(&[(NOW - 10_000, 0.0)], NOW, HOLD), SpotStatus::Unknown);
        assert_eq!(debounce(&[], NOW, HOLD), SpotStatus::Unknown);
    }

    #[test]
    fn debounce_run_starts_at_its_first_reading() {
        // Repeated occupied readings since 90 s ago: the run held 90 s.
        let history = [(NOW - 10_000, 1.0), (NOW - 50_000, 1.0), (NOW - 90_000, 1.0)];
        assert_eq!(debounce(&history, NOW, HOLD), SpotStatus::Occupied);
    }
}
