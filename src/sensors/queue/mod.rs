//! The reading queue (暂存队列): checked batches acknowledged before they are written.
//!
//! A batch posted with `Prefer: respond-async`, and every batch of MQTT messages, is
//! checked item by item as usual and then committed as one row of
//! `sensor_reading_queue` ([`codec`] form). That commit is the acknowledgement, so the
//! reading is durable at once. The [`worker`] then writes the readings through the
//! same write path as a synchronous batch (raw rows, conflicts, rollups, latest values,
//! pending rule evaluations) and deletes the queue row in the same transaction.
//!
//! Why: the full write path stores some tens of thousands of readings per second,
//! while one queue row per batch takes a few hundred thousand or more. Bursts are
//! absorbed by the queue; the write path catches up behind it. The queue is bounded by
//! `sensors.max_queued_readings`; beyond it new queued batches get 429.
//!
//! On SQLite the queue has a file of its own ([`QueueStore`]). Several nodes share one
//! queue on PostgreSQL: a worker claims rows with `FOR UPDATE SKIP LOCKED`. The duplicates and conflicts of a queued batch are not known when it
//! is acknowledged; they appear in the conflict list once it is written.

pub mod codec;
mod store;
pub mod worker;

pub use store::QueueStore;

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

use super::{reading::Reading, store::StoreError};
use crate::db::Db;

/// The node's view of the queue: where it is stored, a wake-up for its worker and a
/// count of the readings queued but not yet written, used to bound the queue.
#[derive(Debug)]
pub struct ReadingQueue {
    pub store: QueueStore,
    wake: Notify,
    backlog: AtomicI64,
}

/// The reason a batch was not queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue already contains `backlog` readings, at or past the limit.
    #[error("the reading queue is full ({backlog} readings)")]
    Full { backlog: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Readings and batches in the queue, as counted in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    pub batches: i64,
    pub readings: i64,
}

impl ReadingQueue {
    /// Opens the queue of `db` and counts what it holds.
    ///
    /// # Errors
    /// The queue cannot be opened or counted.
    pub async fn open(db: &Db) -> Result<ReadingQueue, StoreError> {
        let store = QueueStore::open(db).await?;
        let backlog = AtomicI64::new(store.depth().await?.readings);
        Ok(ReadingQueue { store, wake: Notify::new(), backlog })
    }

    /// Readings queued and not yet written, as this node counts them.
    pub fn backlog(&self) -> i64 {
        self.backlog.load(Ordering::Relaxed)
    }

    fn written(&self, readings: i64) {
        let _ = self
            .backlog
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some((n - readings).max(0)));
    }

    /// Sets the count from the database: at start, whenever the worker finds the queue
    /// empty, and after a failed write.
    fn recount(&self, readings: i64) {
        self.backlog.store(readings, Ordering::Relaxed);
    }

    /// Wakes this node's worker.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Commits `readings` as one queued batch and wakes the worker.
///
/// New batches are rejected once the queue contains `limit` readings. A batch that
/// would pass the limit is still accepted while the queue is below it, so a batch or an
/// MQTT message larger than the limit is not rejected forever. The queue can therefore
/// pass the limit by the batches in flight.
///
/// # Errors
/// [`QueueError::Full`] when the node's count of queued readings is at `limit` or
/// above; nothing is written then.
pub async fn append(
    queue: &ReadingQueue,
    readings: &[Reading],
    received_at_ms: i64,
    limit: i64,
) -> Result<(), QueueError> {
    if readings.is_empty() {
        return Ok(());
    }
    let count = readings.len() as i64;
    let backlog = queue.backlog();
    if backlog >= limit {
        return Err(QueueError::Full { backlog });
    }
    queue.store.insert(received_at_ms, count as i32, codec::encode(readings)).await?;
    queue.backlog.fetch_add(count, Ordering::Relaxed);
    queue.wake();
    Ok(())
}
