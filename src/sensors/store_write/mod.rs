//! The write path of a reading batch: raw rows, conflicts, rollups and latest values,
//! all in one transaction, so a reading is acknowledged only once all of it is committed.
//!
//! Steps, on both backends:
//! 1. Insert the raw rows with `ON CONFLICT DO NOTHING RETURNING` the rows that went in.
//! 2. Look up the stored value of each reading that did not go in: an equal value is a
//!    duplicate (no effect), a different one is recorded as a conflict.
//! 3. Aggregate only the newly inserted readings per bucket in memory and merge each
//!    aggregate into its rollup row with one upsert per chunk.
//! 4. Upsert the newest measurement per device attribute, keeping the stored one when it
//!    is newer, so a late reading never replaces a newer value.
//! 5. Mark each device attribute with inserted readings as pending rule evaluation
//!    (see [`crate::alarms::pending`]), so that a failed evaluation is retried.
//!
//! NOTE: on SQLite the pool runs WAL with `synchronous = NORMAL`, so a committed batch
//! survives a crash of the process but may be lost on power failure or an OS crash.
//!
//! Rollup and latest rows are written in key order so that concurrent batches on
//! PostgreSQL lock those shared rows in the same order and do not deadlock on them.
//! Raw rows are not sorted, because two batches rarely carry the same reading key.

use std::collections::HashMap;

use chrono_tz::Tz;
use sqlx::{PgConnection, QueryBuilder, SqliteConnection};

use super::{
    reading::Reading,
    rollup::{Aggregate, BucketKey, aggregate},
    store::StoreError,
};
use crate::{
    alarms::pending::{self, PendingMark},
    db::Db,
};

/// Compares a reading whose key was already stored with the stored value: an equal
/// value is a duplicate, a different one is kept in `sensor_conflict`. A macro because
/// the body is compiled once per backend.
macro_rules! resolve_existing_body {
    ($tx:expr, $reading:expr, $received_at_ms:expr) => {{
        let reading: &Reading = $reading;
        let stored: f64 = sqlx::query_scalar(STORED_VALUE)
            .bind(reading.device_id)
            .bind(reading.attribute.code())
            .bind(reading.observed_at_ms)
            .fetch_one(&mut *$tx)
            .await?;
        if stored == reading.value {
            return Ok(Stored::Duplicate);
        }
        sqlx::query(CONFLICT_INSERT)
            .bind(reading.device_id)
            .bind(reading.attribute.code())
            .bind(reading.observed_at_ms)
            .bind(reading.value)
            .bind(stored)
            .bind($received_at_ms)
            .execute(&mut *$tx)
            .await?;
        Ok(Stored::Conflict)
    }};
}

mod postgres;
mod queued;

pub use queued::{WrittenBatches, write_queued};

/// The effect of storing one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Inserted,
    /// The same value was already stored for this time.
    Duplicate,
    /// A different value was already stored for this time; this one was recorded apart.
    Conflict,
}

type ReadingKey = (i64, i16, i64);

fn key_of(reading: &Reading) -> ReadingKey {
    (reading.device_id, reading.attribute.code(), reading.observed_at_ms)
}

/// The result of storing a batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredBatch {
    /// The effect on each reading, in the order of the batch.
    pub outcome: Vec<Stored>,
    /// The batch's rows in the table of pending rule evaluations.
    pub pending: PendingMark,
}

/// Writes a batch of checked readings.
pub trait ReadingStore {
    /// Stores `readings` in one transaction and returns what happened to each, in order,
    /// with the pending evaluation rows that the alarm rules must clear.
    ///
    /// `zone` cuts the hour and day rollups.
    fn store_readings(
        &self,
        readings: &[Reading],
        received_at_ms: i64,
        zone: Tz,
    ) -> impl Future<Output = Result<StoredBatch, StoreError>> + Send;
}

impl ReadingStore for Db {
    async fn store_readings(
        &self,
        readings: &[Reading],
        received_at_ms: i64,
        zone: Tz,
    ) -> Result<StoredBatch, StoreError> {
        if readings.is_empty() {
            return Ok(StoredBatch::default());
        }
        let token = rand::random::<i64>();
        let retry_at_ms = received_at_ms + pending::GRACE_MS;
        match self {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let outcome = sqlite::store(&mut tx, readings, received_at_ms, zone).await?;
                let keys = pending::keys_to_mark(readings, &outcome);
                let backlog = pending::mark_sqlite(&mut tx, &keys, token, retry_at_ms).await?;
                tx.commit().await?;
                Ok(StoredBatch { outcome, pending: PendingMark { token, backlog } })
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let outcome = postgres::store(&mut tx, readings, received_at_ms, zone).await?;
                let keys = pending::keys_to_mark(readings, &outcome);
                let backlog = pending::mark_postgres(&mut tx, &keys, token, retry_at_ms).await?;
                tx.commit().await?;
                Ok(StoredBatch { outcome, pending: PendingMark { token, backlog } })
            }
        }
    }
}

/// Marks each reading inserted when its key and value came back from the insert; the
/// others still need a look at the stored value.
fn classify_inserted(
    readings: &[Reading],
    mut inserted: HashMap<ReadingKey, f64>,
) -> Vec<Option<Stored>> {
    readings
        .iter()
        .map(|reading| {
            let key = key_of(reading);
            match inserted.get(&key) {
                // Remove the key so that a second copy in the same batch is not also counted.
                Some(value) if *value == reading.value => {
                    inserted.remove(&key);
                    Some(Stored::Inserted)
                }
                _ => None,
            }
        })
        .collect()
}

/// Picks the newest inserted reading of each device attribute, in key order.
fn newest_per_attribute(readings: &[Reading], outcome: &[Stored]) -> Vec<Reading> {
    let mut newest: HashMap<(i64, i16), Reading> = HashMap::new();
    let inserted = readings.iter().zip(outcome).filter(|(_, s)| **s == Stored::Inserted);
    for (reading, _) in inserted {
        newest
            .entry((reading.device_id, reading.attribute.code()))
            .and_modify(|kept| {
                if reading.observed_at_ms > kept.observed_at_ms {
                    *kept = *reading;
                }
            })
            .or_insert(*reading);
    }
    let mut sorted: Vec<Reading> = newest.into_values().collect();
    sorted.sort_by_key(|r| (r.device_id, r.attribute.code()));
    sorted
}

/// Aggregates the inserted readings into rollup deltas, in key order.
fn rollup_deltas(
    readings: &[Reading],
    outcome: &[Stored],
    zone: Tz,
) -> Vec<(BucketKey, Aggregate)> {
    let inserted: Vec<Reading> = readings
        .iter()
        .zip(outcome)
        .filter(|(_, s)| **s == Stored::Inserted)
        .map(|(r, _)| *r)
        .collect();
    let mut deltas: Vec<(BucketKey, Aggregate)> = aggregate(&inserted, zone).into_iter().collect();
    deltas.sort_by_key(|(key, _)| *key);
    deltas
}

/// Builds the `DO UPDATE` clause that merges an incoming aggregate into a stored rollup row.
/// `least`/`greatest` name the two-argument minimum and maximum of the backend.
fn rollup_merge_clause(least: &str, greatest: &str) -> String {
    format!(
        " ON CONFLICT (device_id, attribute, step, bucket_start_ms) DO UPDATE SET \
         count = sensor_rollup.count + excluded.count, \
         sum = sensor_rollup.sum + excluded.sum, \
         min = {least}(sensor_rollup.min, excluded.min), \
         max = {greatest}(sensor_rollup.max, excluded.max), \
         first_at_ms = CASE WHEN excluded.first_at_ms < sensor_rollup.first_at_ms \
           THEN excluded.first_at_ms ELSE sensor_rollup.first_at_ms END, \
         first_value = CASE WHEN excluded.first_at_ms < sensor_rollup.first_at_ms \
           THEN excluded.first_value ELSE sensor_rollup.first_value END, \
         last_at_ms = CASE WHEN excluded.last_at_ms > sensor_rollup.last_at_ms \
           THEN excluded.last_at_ms ELSE sensor_rollup.last_at_ms END, \
         last_value = CASE WHEN excluded.last_at_ms > sensor_rollup.last_at_ms \
           THEN excluded.last_value ELSE sensor_rollup.last_value END"
    )
}

const LATEST_MERGE_CLAUSE: &str = " ON CONFLICT (device_id, attribute) DO UPDATE SET \
     observed_at_ms = excluded.observed_at_ms, value = excluded.value \
     WHERE excluded.observed_at_ms > sensor_latest.observed_at_ms";

const CONFLICT_INSERT: &str = "INSERT INTO sensor_conflict (device_id, attribute, \
     observed_at_ms, value, stored_value, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT DO NOTHING";

const STORED_VALUE: &str = "SELECT value FROM sensor_reading \
     WHERE device_id = $1 AND attribute = $2 AND observed_at_ms = $3";

mod sqlite {
    use super::*;

    /// Rows per multi-row statement: 6,000 rows of 5 values stay under SQLite's default
    /// limit of 32,766 bound parameters.
    const READING_CHUNK: usize = 6_000;
    /// 2,500 rollup rows of 12 values each, under the same limit.
    const ROLLUP_CHUNK: usize = 2_500;

    pub(super) async fn store(
        tx: &mut SqliteConnection,
        readings: &[Reading],
        received_at_ms: i64,
        zone: Tz,
    ) -> Result<Vec<Stored>, StoreError> {
        let mut inserted = HashMap::with_capacity(readings.len());
        for chunk in readings.chunks(READING_CHUNK) {
            let mut query = QueryBuilder::new(
                "INSERT INTO sensor_reading (device_id, attribute, observed_at_ms, value, \
                 received_at_ms) ",
            );
            query.push_values(chunk, |mut row, reading| {
                row.push_bind(reading.device_id)
                    .push_bind(reading.attribute.code())
                    .push_bind(reading.observed_at_ms)
                    .push_bind(reading.value)
                    .push_bind(received_at_ms);
            });
            query.push(
                " ON CONFLICT DO NOTHING RETURNING device_id, attribute, observed_at_ms, value",
            );
            let rows: Vec<(i64, i16, i64, f64)> =
                query.build_query_as().fetch_all(&mut *tx).await?;
            inserted.extend(rows.into_iter().map(|(d, a, t, v)| ((d, a, t), v)));
        }
        let mut outcome = Vec::with_capacity(readings.len());
        for (reading, known) in readings.iter().zip(classify_inserted(readings, inserted)) {
            let stored = match known {
                Some(stored) => stored,
                None => resolve_existing(tx, reading, received_at_ms).await?,
            };
            outcome.push(stored);
        }
        for chunk in rollup_deltas(readings, &outcome, zone).chunks(ROLLUP_CHUNK) {
            let mut query = QueryBuilder::new(
                "INSERT INTO sensor_rollup (device_id, attribute, step, bucket_start_ms, count, \
                 sum, min, max, first_at_ms, first_value, last_at_ms, last_value) ",
            );
            query.push_values(chunk, |mut row, (key, a)| {
                row.push_bind(key.device_id)
                    .push_bind(key.attribute_code)
                    .push_bind(key.step.code())
                    .push_bind(key.bucket_start_ms)
                    .push_bind(a.count)
                    .push_bind(a.sum)
                    .push_bind(a.min)
                    .push_bind(a.max)
                    .push_bind(a.first_at_ms)
                    .push_bind(a.first_value)
                    .push_bind(a.last_at_ms)
                    .push_bind(a.last_value);
            });
            query.push(rollup_merge_clause("min", "max"));
            query.build().execute(&mut *tx).await?;
        }
        for chunk in newest_per_attribute(readings, &outcome).chunks(READING_CHUNK) {
            let mut query = QueryBuilder::new(
                "INSERT INTO sensor_latest (device_id, attribute, observed_at_ms, value) ",
            );
            query.push_values(chunk, |mut row, reading| {
                row.push_bind(reading.device_id)
                    .push_bind(reading.attribute.code())
                    .push_bind(reading.observed_at_ms)
                    .push_bind(reading.value);
            });
            query.push(LATEST_MERGE_CLAUSE);
            query.build().execute(&mut *tx).await?;
        }
        Ok(outcome)
    }

    async fn resolve_existing(
        tx: &mut SqliteConnection,
        reading: &Reading,
        received_at_ms: i64,
    ) -> Result<Stored, StoreError> {
        resolve_existing_body!(tx, reading, received_at_ms)
    }
}
