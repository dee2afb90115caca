//! Finding the lot, time, occupied, capacity and arrivals columns of an occupancy CSV header.

use super::ParkingError;

/// Header names tried, case-insensitively, when a column flag is not given.
const LOT_NAMES: &[&str] = &["park_id", "lot", "lot_id", "systemcodenumber", "parking_id"];
const CAPACITY_NAMES: &[&str] = &["capacity", "spaces", "total_spaces"];
const ARRIVALS_NAMES: &[&str] = &["arrivals", "entries", "entry_count"];
const OCCUPIED_NAMES: &[&str] = &["occupancy", "occupied", "occupied_count", "vehicles"];
const TIME_NAMES: &[&str] = &["time", "timestamp", "lastupdated", "datetime", "date_time"];

/// Column choices from the command line; `None` means detect from the header.
#[derive(Debug, Clone, Default)]
pub struct ColumnOptions {
    pub lot_col: Option<String>,
    pub capacity_col: Option<String>,
    pub occupied_col: Option<String>,
    pub occupied_fraction_col: Option<String>,
    pub time_col: Option<String>,
    /// Spaces per lot, used when the file has no capacity column.
    pub capacity: Option<f64>,
    /// Column with the vehicles that arrived since the lot's previous reading.
    pub arrivals_col: Option<String>,
}

/// Column indexes resolved against one header.
#[derive(Debug, Clone)]
pub(super) struct Columns {
    pub(super) lot: Option<usize>,
    pub(super) time: usize,
    pub(super) occupied: OccupiedColumn,
    pub(super) capacity: CapacityColumn,
    pub(super) arrivals: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum OccupiedColumn {
    Count(usize),
    Fraction(usize),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum CapacityColumn {
    Column(usize),
    Fixed(f64),
}

/// Resolves each column from its flag, or else from the common header names.
///
/// # Errors
/// Names the missing column, the available ones and the flag that picks one.
pub(super) fn resolve_columns(
    header: &[String],
    options: &ColumnOptions,
) -> Result<Columns, ParkingError> {
    let available = header.join(", ");
    let named = |name: &str, flag: &'static str| {
        header.iter().position(|h| h.eq_ignore_ascii_case(name)).ok_or_else(|| {
            ParkingError::ColumnNotFound {
                column: name.to_owned(),
                available: available.clone(),
                flag,
            }
        })
    };
    let detect = |names: &[&str]| {
        header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let lot = match &options.lot_col {
        Some(name) => Some(named(name, "--lot-col")?),
        None => detect(LOT_NAMES),
    };
    let time = match &options.time_col {
        Some(name) => named(name, "--time-col")?,
        None => detect(TIME_NAMES).ok_or_else(|| ParkingError::ColumnNotDetected {
            what: "time",
            available: available.clone(),
            flag: "--time-col",
        })?,
    };
    let occupied = match (&options.occupied_fraction_col, &options.occupied_col) {
        (Some(name), _) => OccupiedColumn::Fraction(named(name, "--occupied-fraction-col")?),
        (None, Some(name)) => OccupiedColumn::Count(named(name, "--occupied-col")?),
        (None, None) => OccupiedColumn::Count(detect(OCCUPIED_NAMES).ok_or_else(|| {
            ParkingError::ColumnNotDetected {
                what: "occupied count",
                available: available.clone(),
                flag: "--occupied-col (or --occupied-fraction-col with --capacity)",
            }
        })?),
    };
    let capacity = match (&options.capacity_col, options.capacity) {
        (Some(name), _) => CapacityColumn::Column(named(name, "--capacity-col")?),
        (None, Some(spaces)) if spaces.is_finite() && spaces > 0.0 => CapacityColumn::Fixed(spaces),
        (None, Some(spaces)) => {
            return Err(ParkingError::InvalidOption(format!(
                "--capacity {spaces} is invalid; give the number of spaces, above 0"
            )));
        }
        (None, None) => match detect(CAPACITY_NAMES) {
            Some(index) => CapacityColumn::Column(index),
            None => {
                return Err(ParkingError::ColumnNotFound {
                    column: "Capacity".to_owned(),
                    available,
                    flag: "--capacity-col, or --capacity N for a fixed number of spaces",
                });
            }
        },
    };
    let arrivals = match &options.arrivals_col {
        Some(name) => Some(named(name, "--arrivals-col")?),
        None => detect(ARRIVALS_NAMES),
    };
    Ok(Columns { lot, time, occupied, capacity, arrivals })
}
