//! Parking analysis: occupancy series, shared-parking demand and time-of-use pricing.
//!
//! This context owns the offline measures that back every parking claim. They are per-lot
//! and pooled occupancy, time utilisation (利用率), the capacity gain from sharing and the
//! land-use demand estimate for a planned mix. It also owns tariffs priced per segment and
//! the demand-responsive pricing rule with its simulation on a recorded series.
//!
//! Invariants:
//! - A reading is used only when it parses and lies in `0 ..= capacity`; every other
//!   row is counted under a [`series::ProblemKind`] with examples, never clamped.
//! - Lots are compared on one time grid ([`align`]); a value is carried forward at
//!   most `max_gap` and grid points beyond it are gaps, not zeros.
//! - The capacity gain is computed only on grid points where every lot has a value,
//!   so a lot's missing hours cannot inflate the gain.
//!
//! The analysis modules store nothing. The stored inventory of lots and spaces, with
//! their live occupancy from sensors and manual counts, lives in [`inventory`]; the
//! shared-space allocator in [`allocate`]; stored tariffs, the occupancy history and
//! the live demand-responsive prices in [`live_pricing`].

pub mod align;
pub mod allocate;
pub mod analysis;
pub mod booking;
pub mod cli;
mod columns;
pub mod html;
pub mod inventory;
pub mod landuse;
pub mod live_pricing;
pub mod operator;
pub mod pricing;
pub mod pricing_report;
pub mod report;
pub mod series;
pub mod simulate;
pub mod tariff;

/// Failures of the parking commands, each naming the input to fix.
#[derive(Debug, thiserror::Error)]
pub enum ParkingError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("CSV header of {path} cannot be read: {source}")]
    Header { path: String, source: csv::Error },
    #[error("column {column} not found; available: {available}; pass {flag}")]
    ColumnNotFound { column: String, available: String, flag: &'static str },
    #[error("no {what} column detected; available: {available}; pass {flag}")]
    ColumnNotDetected { what: &'static str, available: String, flag: &'static str },
    #[error("{0}")]
    InvalidOption(String),
    #[error("no valid reading in {path}; see the data problems above")]
    NoValidReadings { path: String },
}
