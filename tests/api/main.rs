//! Integration tests: the real app on a random port against a fresh database.
//!
//! SQLite by default; set `CITYCORE_TEST_BACKEND=postgres` (and optionally
//! `CITYCORE_TEST_DATABASE_URL`) to run the same tests on PostgreSQL.

mod accounts;
mod areas_access;
mod authz;
mod booking;
mod booking_pages;
// Helpers serve every test file; a helper unused by the current set is not an error.
mod areas;
// The fake SMTP server of the e-mail channel's tests.
mod fake_smtp;
// Log capture for tests that check what the product logs.
mod captured_log;
#[allow(dead_code)]
mod helpers;
mod locate;
mod open311;
mod ops;
mod organisations;
mod parking;
mod parking_inventory;
mod parking_operator;
mod parking_owner;
// Tariffs as data and live demand-responsive pricing.
mod live_pricing;
mod places;
mod portal;
mod residents;
mod tariffs;
// Query-string errors on every API, and GET forms shown again with their errors.
mod form_errors;
mod query_params;
mod users;

// The case context: category catalogue and working-time calendar.
mod case_pages;
mod cases_calendar;
mod cases_catalogue;
mod cases_import;
mod cases_loop;
mod cases_routes;
mod cases_store;
mod duplicates;
mod inbox;
mod kpi_rollup;
mod kpis;
mod notice_attachments;
mod notices;
mod notices_audience;
mod notices_email;
mod routing;
mod search;

// The smart street core: devices and their readings, over HTTP and MQTT.
mod mqtt;
mod mqtt_tls;
mod replay;
// Rules on readings, alarms and the cases they open.
mod alarm_retry;
mod alarms;
mod reading_queue;
mod sensors;
mod smart_core;

// Import and export of the resident registry.
mod resident_email;
mod resident_pages;
mod residents_import;
mod residents_import_jobs;
