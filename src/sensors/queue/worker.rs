//! The queue worker: writes queued batches behind their acknowledgement, then hands
//! them to the alarm rules like a synchronous batch.
//!
//! Every node runs one. It wakes when its own node queues a batch and polls twice a
//! second for batches queued by other nodes.

use std::time::Duration;

use crate::{
    http::AppState,
    sensors::{
        store::StoreError,
        store_write::{Stored, write_queued},
    },
};

/// Queue rows written per transaction: 16 HTTP batches of 5,000 readings are 80,000
/// readings, and 16 MQTT batches some thousands.
const BATCHES_PER_WRITE: i64 = 16;
/// How often the worker looks for batches that another node queued.
const POLL: Duration = Duration::from_millis(500);
/// Wait after a failed write before the next attempt.
const RETRY: Duration = Duration::from_secs(2);

/// The counts of batches and readings that one [`drain`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub batches: usize,
    pub readings: usize,
    pub duplicates: usize,
    pub conflicts: usize,
}

/// Writes queued batches until the queue is empty (or held by other nodes), evaluating
/// the alarm rules after each transaction.
///
/// # Errors
/// The first failed write; what was written before it stays written.
pub async fn drain(state: &AppState) -> Result<DrainReport, StoreError> {
    let zone = state.settings.sensor_time_zone();
    let mut report = DrainReport::default();
    loop {
        let queue = &state.reading_queue;
        let written =
            write_queued(&state.relaxed_db, &queue.store, BATCHES_PER_WRITE, zone).await?;
        if written.batches == 0 {
            // Other nodes' batches are not in this node's count; catch up with them.
            queue.recount(queue.store.depth().await?.readings);
            return Ok(report);
        }
        state.reading_queue.written(written.readings.len() as i64);
        report.batches += written.batches;
        report.readings += written.readings.len();
        for stored in &written.stored.outcome {
            match stored {
                Stored::Duplicate => report.duplicates += 1,
                Stored::Conflict => report.conflicts += 1,
                Stored::Inserted => {}
            }
        }
        crate::alarms::service::evaluate_batch(state, &written.readings, &written.stored).await;
    }
}

/// Starts the worker; it runs until the returned handle is aborted. Aborting it
/// mid-write rolls that transaction back, and its batches stay queued.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(poll_ms = POLL.as_millis() as u64, "reading queue worker started");
        loop {
            match drain(&state).await {
                Ok(report) if report.batches > 0 => tracing::info!(
                    queue.batches = report.batches,
                    queue.readings = report.readings,
                    queue.duplicates = report.duplicates,
                    queue.conflicts = report.conflicts,
                    "queued readings written"
                ),
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(error = %error, retry_ms = RETRY.as_millis() as u64,
                        "writing queued readings failed; they stay queued");
                    // Rows that cannot be written count against the limit.
                    if let Ok(depth) = state.reading_queue.store.depth().await {
                        state.reading_queue.recount(depth.readings);
                    }
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
            tokio::select! {
                () = state.reading_queue.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })
}
