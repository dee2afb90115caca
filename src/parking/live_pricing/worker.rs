//! The pricing worker: samples each lot's occupancy and reviews band prices.
//!
//! Every node may run it. Samples are keyed by lot and slot and reviews by lot, band
//! and period, so a second node's writes for the same slot or period are no-ops.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use super::{history, review};
use crate::http::AppState;

/// How often the worker runs; short against the default 15-minute sample slots, so a
/// slot is sampled within a minute of its start.
const TICK: StdDuration = StdDuration::from_secs(60);

/// Samples occupancy unless `last_slot` is the slot of `now` already, then reviews
/// prices; updates `last_slot` once the slot is sampled.
///
/// # Errors
/// The first failure of either step; the review runs even when sampling failed.
pub async fn tick(
    state: &AppState,
    now: DateTime<Utc>,
    last_slot: &mut Option<i64>,
) -> anyhow::Result<review::ReviewReport> {
    let settings = &state.settings;
    let slot = history::slot_start(now.timestamp_millis(), settings.pricing.sample_minutes);
    let mut sampled = Ok(0);
    if *last_slot != Some(slot) {
        let hold = settings.sensors.parking_status_hold_seconds;
        sampled = history::record_samples(&state.db, &settings.pricing, hold, now).await;
        if sampled.is_ok() {
            *last_slot = Some(slot);
        }
    }
    let zone = settings.booking.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let reviewed = review::review_prices(&state.db, zone, &settings.pricing, now).await;
    sampled?;
    Ok(reviewed?)
}

/// Runs [`tick`] every minute until the task is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("pricing worker started");
        let mut last_slot = None;
        loop {
            tokio::time::sleep(TICK).await;
            if let Err(error) = tick(&state, Utc::now(), &mut last_slot).await {
                tracing::error!(error = %format!("{error:#}"), "pricing worker tick failed");
            }
        }
    })
}
