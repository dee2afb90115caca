//! Import of cases from a 311-style CSV export, such as Boston's 311 service requests.
//!
//! A [`Mapping`] names the columns of the opened time, closed time, status, case type,
//! point, agency and source id, with the time format and zone of the times. Every row
//! is parsed first ([`parse`]). When any row is invalid the import writes nothing and
//! reports every bad row by line and column, so a file is all or nothing. Valid files
//! are inserted in one transaction in batches ([`store`]).
//!
//! Decisions:
//! - The source's case type is kept in `external_category`. Every imported case is
//!   filed under the catch-all category `E9999`, because catalogue codes have room for
//!   99 minor categories per major one and Boston alone has 132 types.
//! - The agency becomes the department; unknown agencies are created by code.
//! - A case with a closed time is stored closed, any other one as dispatched to its
//!   agency. The source's target time becomes the handling deadline, so the on-time
//!   closure rate compares the same times the source system does.
//! - Points at the source's default coordinate are flagged `default_location`, not
//!   dropped. Points are located in the grids like any report; outside every grid the
//!   case keeps its coordinates with no grid and `outside_grids` set.
//! - A second import of the same file fails on the unique `(source, id)` index.

pub mod batch;
pub mod cli;
pub mod parse;
pub mod store;

pub use parse::{ImportedCase, Mapping, RowError, parse_file};
pub use store::insert_cases;

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: usize,
    /// Cases at the source's default coordinate.
    pub default_location: usize,
    /// Cases located in no grid.
    pub outside_grids: usize,
}
