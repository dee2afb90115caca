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

/// Samples occupancy and reviews prices once at `now`.
///
/// # Errors
/// The first failure of either step; the other step still ran.
pub async fn tick(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<review::ReviewReport> {
    let settings = &state.settings;
    let hold = settings.sensors.parking_status_hold_seconds;
    let sampled = history::record_samples(&state.db, &settings.pricing, hold, now).await;
    let zone = settings.booking.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let reviewed = review::review_prices(&state.db, zone, &settings.pricing, now).await;
    sampled?;
    Ok(reviewed?)
}

/// Runs [`tick`] every minute until the task is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("pricing worker started");
        loop {
            tokio::time::sleep(TICK).await;
            if let Err(error) = tick(&state, Utc::now()).await {
                tracing::error!(error = %format!("{error:#}"), "pricing worker tick failed");
            }
        }
    })
}
