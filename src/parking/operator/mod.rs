//! The parking operator console (运营): how shared parking performs, and the
//! occupancy analysis run on an uploaded file.
//!
//! - `/parking/operator` and `GET /api/v1/parking/operator-report?from=&to=` show, per
//!   lot and in total, shared spaces, published and booked space-hours, the sharing
//!   utilisation, turnover, served and rejected requests (online and batch), no-shows,
//!   cancellations, overstays and revenue, each with its formula ([`report`],
//!   [`figures`]), and each lot's occupancy utilisation with the price changes of
//!   the period ([`pricing`]).
//! - `/parking/analysis` takes an occupancy CSV and shows the report of
//!   `citycore parking analyze`, with JSON and CSV downloads ([`analysis`]).
//!
//! Both are for administrators and dispatchers
//! ([`crate::accounts::Permission::ViewParkingOperations`]). The report covers the lots
//! in the reader's areas; lots placed in no grid appear to administrators only. This
//! context stores nothing; it reads the booking tables, the inventory and the live pricing history.

pub mod analysis;
pub mod figures;
mod http;
mod page;
pub mod pricing;
pub mod report;

pub use http::router;
