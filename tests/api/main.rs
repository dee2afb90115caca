//! Integration tests: the real app on a random port against a fresh database.
//!
//! SQLite by default; set `CITYCORE_TEST_BACKEND=postgres` (and optionally
//! `CITYCORE_TEST_DATABASE_URL`) to run the same tests on PostgreSQL.

mod accounts;
mod authz;
// Helpers serve every test file; a helper unused by the current set is not an error.
mod areas;
#[allow(dead_code)]
mod helpers;
mod locate;
mod ops;
mod users;

// The case context: category catalogue and working-time calendar.
mod cases_calendar;
mod cases_catalogue;
mod cases_import;
mod cases_loop;
mod cases_routes;
mod cases_store;
mod kpis;
