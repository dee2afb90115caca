//! Writes queued batches ([`crate::sensors::queue`]) through the usual write path.
//!
//! On PostgreSQL the transaction claims the oldest queue rows by deleting them, then
//! writes their readings and commits both at once, so a failure also rolls the delete
//! back. On SQLite the queue is a file of its own, so the rows are read first and
//! deleted after the readings are committed. A crash between the two writes those
//! batches again, which changes nothing because an equal resend is a duplicate and a
//! conflict is recorded once.

use chrono_tz::Tz;

use super::{StoredBatch, postgres, sqlite};
use crate::{
    alarms::pending::{self, PendingMark},
    db::Db,
    sensors::{
        queue::{QueueStore, codec},
        reading::Reading,
        store::StoreError,
    },
};

/// Reads the oldest rows of the SQLite queue file; one worker per process reads it.
const READ_SQLITE: &str = "SELECT batch_id, received_at_ms, body FROM sensor_reading_queue \
     ORDER BY batch_id LIMIT $1";
/// Takes the oldest rows, skipping those that another node's worker holds.
const CLAIM_POSTGRES: &str = "DELETE FROM sensor_reading_queue WHERE batch_id IN \
     (SELECT batch_id FROM sensor_reading_queue ORDER BY batch_id LIMIT $1 \
     FOR UPDATE SKIP LOCKED) RETURNING batch_id, received_at_ms, body";

type QueueRow = (i64, i64, Vec<u8>);

/// The queued batches one transaction wrote.
#[derive(Debug, Default)]
pub struct WrittenBatches {
    /// Queue rows written and deleted.
    pub batches: usize,
    /// Their readings, in queue order.
    pub readings: Vec<Reading>,
    pub stored: StoredBatch,
}

/// Writes up to `limit` queued batches in one transaction; nothing when the queue is
/// empty (or, on PostgreSQL, every row is held by another node).
///
/// # Errors
/// A database failure, or [`StoreError::UnreadableQueue`] for a body this build cannot decode;
/// the claimed rows stay queued either way.
pub async fn write_queued(
    db: &Db,
    queue: &QueueStore,
    limit: i64,
    zone: Tz,
) -> Result<WrittenBatches, StoreError> {
    let token = rand::random::<i64>();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut written = WrittenBatches::default();
    let mut outcome = Vec::new();
    match db {
        Db::Sqlite(pool) => {
            let Db::Sqlite(queue_pool) = &queue.db else {
                return Err(StoreError::UnreadableQueue("queue on another backend".into()));
            };
            let rows: Vec<QueueRow> =
                sqlx::query_as(READ_SQLITE).bind(limit).fetch_all(queue_pool).await?;
            let Some(last) = rows.iter().map(|(batch_id, _, _)| *batch_id).max() else {
                return Ok(written);
            };
            let mut tx = pool.begin().await?;
            for (readings, received_at_ms) in decode_rows(rows)? {
                outcome.extend(sqlite::store(&mut tx, &readings, received_at_ms, zone).await?);
                written.readings.extend(readings);
                written.batches += 1;
            }
            let keys = pending::keys_to_mark(&written.readings, &outcome);
            let retry_at_ms = now_ms + pending::GRACE_MS;
            let backlog = pending::mark_sqlite(&mut tx, &keys, token, retry_at_ms).await?;
            tx.commit().await?;
            // The ids grow, so the rows up to `last` are exactly those read above.
            sqlx::query("DELETE FROM sensor_reading_queue WHERE batch_id <= $1")
                .bind(last)
                .execute(queue_pool)
                .await?;
            written.stored = StoredBatch { outcome, pending: PendingMark { token, backlog } };
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let rows: Vec<QueueRow> =
                sqlx::query_as(CLAIM_POSTGRES).bind(limit).fetch_all(&mut *tx).await?;
            for (readings, received_at_ms) in decode_rows(rows)? {
                outcome.extend(postgres::store(&mut tx, &readings, received_at_ms, zone).await?);
                written.readings.extend(readings);
                written.batches += 1;
            }
            let keys = pending::keys_to_mark(&written.readings, &outcome);
            let retry_at_ms = now_ms + pending::GRACE_MS;
            let backlog = pending::mark_postgres(&mut tx, &keys, token, retry_at_ms).await?;
            tx.commit().await?;
            written.stored = StoredBatch { outcome, pending: PendingMark { token, backlog } };
        }
    }
    Ok(written)
}

/// Decodes the claimed rows in queue order, so that batches are written as they came.
fn decode_rows(mut rows: Vec<QueueRow>) -> Result<Vec<(Vec<Reading>, i64)>, StoreError> {
    // NOTE: a row that this build cannot decode, such as one from a newer build, stops
    // the queue on this node until a build that reads it runs. It is never dropped.
    rows.sort_by_key(|(batch_id, _, _)| *batch_id);
    rows.into_iter()
        .map(|(batch_id, received_at_ms, body)| {
            let readings = codec::decode(&body).map_err(|error| {
                StoreError::UnreadableQueue(format!("batch {batch_id}: {error}"))
            })?;
            Ok((readings, received_at_ms))
        })
        .collect()
}
