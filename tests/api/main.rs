//! Integration tests: the real app on a random port against a fresh database.
//!
//! SQLite by default; set `CITYCORE_TEST_BACKEND=postgres` (and optionally
//! `CITYCORE_TEST_DATABASE_URL`) to run the same tests on PostgreSQL.

// Helpers serve every test file; a helper unused by the current set is not an error.
mod accounts;
#[allow(dead_code)]
mod helpers;
mod ops;
