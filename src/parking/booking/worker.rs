//! The booking worker: releases no-shows, flags and warns overstays, and runs the
//! scheduled batch allocation of [`super::schedule`].
//!
//! Each tick claims the due rows with one `UPDATE … WHERE booking_id IN (SELECT … FOR
//! UPDATE SKIP LOCKED)` on PostgreSQL, so that nodes running the worker at once split
//! the rows and none is changed twice; SQLite has one writer and needs no lock.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::{
    config::BookingSettings,
    db::{Backend, Db},
    http::AppState,
    with_pool,
};

/// How often the worker runs a tick.
const TICK: StdDuration = StdDuration::from_secs(30);

/// What one tick changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Bookings released because the driver did not check in within the hold time.
    pub no_shows: Vec<i64>,
    /// Checked-in bookings newly found past their end.
    pub overstays: Vec<i64>,
    /// Overstays newly warned that the owner returns soon.
    pub warnings: Vec<i64>,
}

/// Returns `column < $1` in the backend's SQL; SQLite compares the text times through
/// julianday() because their offsets may differ.
fn before(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => format!("{column} < $1"),
        Backend::Sqlite => format!("julianday({column}) < julianday($1)"),
    }
}

/// Sets `assignments` on the rows matching `condition` and returns their ids. `$1` is
/// the condition's instant and `$2` the current time.
async fn claim_and_set(
    db: &Db,
    condition: &str,
    assignments: &str,
    instant: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Both fragments are constants of this module.
    let sql = format!(
        "UPDATE parking_booking SET {assignments}, updated_at = $2 WHERE booking_id IN \
         (SELECT booking_id FROM parking_booking WHERE {condition}{lock}) RETURNING booking_id"
    );
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(instant)
            .bind(now)
            .fetch_all(pool)
            .await
    })
}

/// Runs one tick at `now`.
///
/// # Errors
/// A database failure; the rows of a failed step stay due for the next tick.
pub async fn tick(
    db: &Db,
    settings: &BookingSettings,
    now: DateTime<Utc>,
) -> Result<TickReport, sqlx::Error> {
    let backend = db.backend();
    let hold = Duration::minutes(settings.no_show_hold_minutes.max(0));
    let no_shows = claim_and_set(
        db,
        &format!("status = 'confirmed' AND {}", before(backend, "starts_at")),
        "status = 'no_show'",
        now - hold,
        now,
    )
    .await?;
    let overstays = claim_and_set(
        db,
        &format!(
            "status = 'checked_in' AND overstay_flagged_at IS NULL AND {}",
            before(backend, "ends_at")
        ),
        "overstay_flagged_at = $2",
        now,
        now,
    )
    .await?;
    // The owner returns at vacate_by; warn once the overstay is within the warning time.
    // NOTE: the driver sees the warning on /parking/bookings and as the booking's
    // `overstay_warning` field, but nothing is pushed: the account inbox carries case
    // notices only, and resident notices go to household records, not to accounts.
    let warning = Duration::minutes(settings.overstay_warning_minutes.max(0));
    let warnings = claim_and_set(
        db,
        &format!(
            "status = 'checked_in' AND overstay_flagged_at IS NOT NULL \
             AND overstay_warned_at IS NULL AND vacate_by IS NOT NULL AND {}",
            before(backend, "vacate_by")
        ),
        "overstay_warned_at = $2",
        now + warning,
        now,
    )
    .await?;
    for booking_id in &no_shows {
        tracing::info!(booking.id = booking_id, "no-show; space released");
    }
    for booking_id in &overstays {
        tracing::info!(booking.id = booking_id, "driver stays past the booking's end");
    }
    for booking_id in &warnings {
        tracing::warn!(booking.id = booking_id, "overstay reaches the owner's return soon");
    }
    Ok(TickReport { no_shows, overstays, warnings })
}

/// Runs [`tick`] and the scheduled batch allocation every 30 seconds until the task
/// is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("booking worker started");
        loop {
            tokio::time::sleep(TICK).await;
            let settings = &state.settings.booking;
            if let Err(error) = tick(&state.db, settings, Utc::now()).await {
                tracing::error!(%error, "booking worker tick failed");
            }
            if let Err(error) = super::schedule::run_due(&state.db, settings, Utc::now()).await {
                tracing::error!(%error, "scheduled batch allocation failed");
            }
        }
    })
}
