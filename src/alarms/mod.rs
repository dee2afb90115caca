//! Rules and alarms on device readings (智慧之芯, second layer).
//!
//! Owns the `sensor_rule`, `sensor_alarm`, `sensor_rule_state` and
//! `sensor_alarm_pending` tables, the routes `/api/v1/sensor-rules` and
//! `/api/v1/alarms`, and the console pages of both.
//!
//! A [`rule::Rule`] watches one attribute of one device or of every device of a kind.
//! Its [`rule::Condition`] is a threshold or a rate of change (both with hysteresis and
//! a minimum duration), no data or no change for a duration, or a count of readings
//! past a level within a window. [`service::evaluate_batch`] evaluates each committed
//! batch right after its commit, on the ingest path that HTTP and MQTT share, and
//! [`worker`] evaluates the no-data and no-change rules on the clock. The batch's
//! transaction also records its device attributes in [`pending`], so that the worker
//! evaluates again what a failed evaluation left behind ([`retry`]).
//!
//! Invariants:
//! - A rule and device have at most one open (active or acknowledged) alarm; a partial
//!   unique index enforces it across nodes. While it is open, a new rising edge of the
//!   condition counts on it instead of raising another. A raise within 10 minutes of
//!   measurement time after the readings cleared an alarm reopens it, so a flapping
//!   sensor raises one alarm.
//! - Conditions use measurement times, so a replayed batch raises what it raised live.
//!   A reading older than the last one a rule evaluated for the device is skipped.
//! - An alarm's case is created by the case intake (channel `iot`) in the rule's
//!   category at the device's location. A new alarm joins the case of the previous one
//!   while that case is open. Acknowledging and clearing are noted on the case.
//!
//! It does not notify people itself; the case loop and its notices do.

mod apply;
pub mod case_link;
pub mod error;
pub mod evaluate;
mod http;
pub mod input;
mod pages;
pub mod pending;
pub mod record;
pub mod retry;
pub mod rule;
pub mod rules;
pub mod service;
pub mod store;
pub mod worker;

use axum::Router;

pub use error::AlarmError;
pub use http::AlarmView;
pub use pages::is_dashboard_path;

use crate::http::AppState;

/// Builds the JSON routes and the console pages of rules and alarms.
pub fn router() -> Router<AppState> {
    Router::new().merge(http::router()).merge(pages::router())
}
