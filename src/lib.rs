//! citycore: digital governance of a city street (街道) and its communities.
//!
//! The binary in `main.rs` only parses the command line; everything it runs lives in
//! this library so that the integration tests drive the same code. Each folder is one
//! bounded context with its own storage queries, domain rules and HTTP routes; `http`
//! merges the routers and owns the one mapping from errors to HTTP responses.

pub mod accounts;
pub mod alarms;
pub mod areas;
pub mod assets;
pub mod audit;
pub mod bench;
pub mod cases;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod http;
pub mod i18n;
pub mod locate;
pub mod open311;
pub mod ops;
pub mod parking;
pub mod places;
pub mod portal;
pub mod residents;
pub mod sensors;
pub mod smart_core;
pub mod stored_files;
pub mod telemetry;
pub mod text;
