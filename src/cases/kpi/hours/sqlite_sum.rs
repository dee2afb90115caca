//! `kpi_hours_sum(hours)`: an SQLite aggregate that adds up stored histograms inside the
//! database and returns one encoded histogram per group.
//!
//! A KPI over several months reads tens of thousands of rollup rows. Handing each
//! row's histogram to Rust through the driver cost more than the query itself, so on
//! SQLite the rows are summed where they are read. PostgreSQL has no such function and
//! sends the histograms joined as hex text (see `rollup::read`).

use sqlite_aggregate::{BlobFold, RegisterError};
use sqlx::sqlite::LockedSqliteHandle;

use super::{HoursHistogram, codec};

/// The SQL name of the aggregate.
pub const SQLITE_SUM: &str = "kpi_hours_sum";

#[derive(Default)]
struct HoursSum(HoursHistogram);

impl BlobFold for HoursSum {
    fn step(&mut self, blob: &[u8]) -> Result<(), String> {
        self.0.add_blob(blob).map_err(|error| format!("a stored handling-time histogram: {error}"))
    }

    fn finish(self) -> Vec<u8> {
        codec::encode(self.0.nonzero())
    }
}

/// Adds `kpi_hours_sum` to one SQLite connection; the pool calls it on every new one.
///
/// # Errors
/// SQLite rejected the function.
pub fn register_sqlite_sum(handle: &mut LockedSqliteHandle<'_>) -> Result<(), RegisterError> {
    sqlite_aggregate::register::<HoursSum>(handle, SQLITE_SUM)
}
