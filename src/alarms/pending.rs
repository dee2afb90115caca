//! The table of device attributes whose stored readings still need rule evaluation
//! (`sensor_alarm_pending`), the safety net behind the evaluation after each commit.
//!
//! 1. The transaction that stores a batch marks each device attribute with inserted
//!    readings, under a random token of the batch ([`mark_sqlite`], [`mark_postgres`]).
//!    An existing row keeps its earliest measurement time and takes the new token.
//! 2. The evaluation after the commit deletes the rows that still carry its token
//!    ([`delete_by_token`]). A row that another batch took over meanwhile stays, and
//!    that batch evaluates from the row's earliest time (its [`Backlog`]).
//! 3. A row left behind is claimed by the alarm worker after [`GRACE_MS`] and evaluated
//!    from its earliest time, with a doubling wait after each failure.
//!
//! Evaluating a reading twice changes nothing, because a rule skips readings measured
//! no later than the last one it evaluated for the device. So any node may evaluate a
//! row, and a race costs a repeated evaluation at most.

use sqlx::{PgConnection, QueryBuilder, SqliteConnection};

use crate::{
    db::{Backend, Db},
    sensors::{Attribute, reading::Reading, store_write::Stored},
    with_pool,
};

/// Wait before the worker takes a new row, in ms. The evaluation right after the
/// commit deletes the row within milliseconds, so the worker must not race it.
pub const GRACE_MS: i64 = 60_000;
/// Lease of a claimed row, in ms: another node takes the row over after this, if the
/// claiming node stopped. Far longer than an evaluation takes.
pub const CLAIM_LEASE_MS: i64 = 120_000;
/// Wait after the first failed retry, in ms. It doubles with each further failure.
const RETRY_INITIAL_MS: i64 = 30_000;
/// Maximum wait between retries, in ms: one hour.
const RETRY_MAX_MS: i64 = 3_600_000;
/// Readings loaded for one device attribute per evaluation. A longer backlog is
/// evaluated in steps of this size.
pub const BACKLOG_READINGS: i64 = 100_000;
/// Rows per multi-row statement on SQLite: 5,000 rows of 5 values stay under its
/// limit of 32,766 bound parameters.
const SQLITE_CHUNK: usize = 5_000;

/// A device attribute with readings measured from `from_observed_at_ms` on to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub device_id: i64,
    pub attribute: i16,
    pub from_observed_at_ms: i64,
}

/// The rows a stored batch left in the pending table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingMark {
    /// Token of the batch on its rows.
    pub token: i64,
    /// Device attributes whose unevaluated readings start before the batch's own,
    /// because another batch or evaluation has not finished with them.
    pub backlog: Vec<Backlog>,
}

/// Merges a new mark into an existing row: the earliest time stays, the newest batch
/// owns the row, and the earlier of the two retry times holds.
const MERGE_CLAUSE: &str = " ON CONFLICT (device_id, attribute) DO UPDATE SET \
     from_observed_at_ms = CASE WHEN excluded.from_observed_at_ms \
       < sensor_alarm_pending.from_observed_at_ms THEN excluded.from_observed_at_ms \
       ELSE sensor_alarm_pending.from_observed_at_ms END, \
     batch_token = excluded.batch_token, \
     retry_at_ms = CASE WHEN excluded.retry_at_ms < sensor_alarm_pending.retry_at_ms \
       THEN excluded.retry_at_ms ELSE sensor_alarm_pending.retry_at_ms END \
     RETURNING device_id, attribute, from_observed_at_ms";

/// Returns each device attribute with inserted readings and its earliest measurement
/// time, in key order, so that concurrent batches lock the rows in the same order.
pub fn keys_to_mark(readings: &[Reading], outcome: &[Stored]) -> Vec<Backlog> {
    let mut earliest: std::collections::BTreeMap<(i64, i16), i64> = Default::default();
    for (reading, _) in readings.iter().zip(outcome).filter(|(_, s)| **s == Stored::Inserted) {
        let key = (reading.device_id, reading.attribute.code());
        let at_ms = earliest.entry(key).or_insert(reading.observed_at_ms);
        *at_ms = (*at_ms).min(reading.observed_at_ms);
    }
    earliest
        .into_iter()
        .map(|((device_id, attribute), from_observed_at_ms)| Backlog {
            device_id,
            attribute,
            from_observed_at_ms,
        })
        .collect()
}

/// Keeps the returned rows whose earliest time lies before the batch's own readings.
fn backlog_of(keys: &[Backlog], rows: Vec<(i64, i16, i64)>) -> Vec<Backlog> {
    let own: std::collections::HashMap<(i64, i16), i64> =
        keys.iter().map(|k| ((k.device_id, k.attribute), k.from_observed_at_ms)).collect();
    rows.into_iter()
        .filter(|(device, attribute, from)| {
            own.get(&(*device, *attribute)).is_some_and(|o| from < o)
        })
        .map(|(device_id, attribute, from_observed_at_ms)| Backlog {
            device_id,
            attribute,
            from_observed_at_ms,
        })
        .collect()
}

/// Marks `keys` inside the SQLite transaction that stores their readings.
pub async fn mark_sqlite(
    tx: &mut SqliteConnection,
    keys: &[Backlog],
    token: i64,
    retry_at_ms: i64,
) -> Result<Vec<Backlog>, sqlx::Error> {
    let mut rows = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(SQLITE_CHUNK) {
        let mut query = QueryBuilder::new(
            "INSERT INTO sensor_alarm_pending (device_id, attribute, from_observed_at_ms, \
             batch_token, retry_at_ms) ",
        );
        query.push_values(chunk, |mut row, key| {
            row.push_bind(key.device_id)
                .push_bind(key.attribute)
                .push_bind(key.from_observed_at_ms)
                .push_bind(token)
                .push_bind(retry_at_ms);
        });
        query.push(MERGE_CLAUSE);
        rows.extend(query.build_query_as::<(i64, i16, i64)>().fetch_all(&mut *tx).await?);
    }
    Ok(backlog_of(keys, rows))
}

/// Marks `keys` inside the PostgreSQL transaction that stores their readings.
pub async fn mark_postgres(
    tx: &mut PgConnection,
    keys: &[Backlog],
    token: i64,
    retry_at_ms: i64,
) -> Result<Vec<Backlog>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO sensor_alarm_pending (device_id, attribute, from_observed_at_ms, \
         batch_token, retry_at_ms) \
         SELECT d, a, f, $4, $5 FROM UNNEST($1::bigint[], $2::smallint[], $3::bigint[]) \
         AS u(d, a, f){MERGE_CLAUSE}"
    );
    let rows: Vec<(i64, i16, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(keys.iter().map(|k| k.device_id).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.attribute).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.from_observed_at_ms).collect::<Vec<_>>())
        .bind(token)
        .bind(retry_at_ms)
        .fetch_all(&mut *tx)
        .await?;
    Ok(backlog_of(keys, rows))
}

/// Loads the stored readings of a backlog, oldest first, at most [`BACKLOG_READINGS`].
pub async fn backlog_readings(db: &Db, backlog: &Backlog) -> Result<Vec<Reading>, sqlx::Error> {
    let Some(attribute) = Attribute::from_code(backlog.attribute) else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i64, f64)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT observed_at_ms, value FROM sensor_reading WHERE device_id = $1 \
             AND attribute = $2 AND observed_at_ms >= $3 ORDER BY observed_at_ms LIMIT $4",
        )
        .bind(backlog.device_id)
        .bind(backlog.attribute)
        .bind(backlog.from_observed_at_ms)
        .bind(BACKLOG_READINGS)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(observed_at_ms, value)| Reading {
            device_id: backlog.device_id,
            attribute,
            observed_at_ms,
            value,
        })
        .collect())
}

/// Deletes the rows that still carry `token`, once their readings are evaluated.
pub async fn delete_by_token(db: &Db, token: i64) -> Result<u64, sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query("DELETE FROM sensor_alarm_pending WHERE batch_token = $1")
            .bind(token)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
}

/// Moves the earliest time of a row that still carries `token` past `evaluated_to_ms`
/// and makes it due at `now_ms`, for a backlog longer than one evaluation takes. The
/// row gets `next_token`, so that a delete by `token` keeps it.
pub async fn advance(
    db: &Db,
    backlog: &Backlog,
    token: i64,
    next_token: i64,
    evaluated_to_ms: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE sensor_alarm_pending SET from_observed_at_ms = $4, batch_token = $5, \
             retry_at_ms = $6 WHERE device_id = $1 AND attribute = $2 AND batch_token = $3",
        )
        .bind(backlog.device_id)
        .bind(backlog.attribute)
        .bind(token)
        .bind(evaluated_to_ms + 1)
        .bind(next_token)
        .bind(now_ms)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// A row claimed by the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    pub backlog: Backlog,
    /// Retries before this one.
    pub attempts: i32,
}

/// Claims up to `limit` rows due at `now_ms` for one worker run: they take `token` and
/// a lease of [`CLAIM_LEASE_MS`]. On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps nodes
/// that claim at the same moment apart, and the lease keeps later claims away.
pub async fn claim_due(
    db: &Db,
    token: i64,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE sensor_alarm_pending SET batch_token = $1, retry_at_ms = $3 \
         WHERE (device_id, attribute) IN (SELECT device_id, attribute \
         FROM sensor_alarm_pending WHERE retry_at_ms <= $2 ORDER BY retry_at_ms LIMIT $4{lock}) \
         RETURNING device_id, attribute, from_observed_at_ms, attempts"
    );
    let _turn = db.write_turn().await;
    let rows: Vec<(i64, i16, i64, i32)> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(token)
            .bind(now_ms)
            .bind(now_ms + CLAIM_LEASE_MS)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(device_id, attribute, from_observed_at_ms, attempts)| Claimed {
            backlog: Backlog { device_id, attribute, from_observed_at_ms },
            attempts,
        })
        .collect())
}

/// Returns the wait after `attempts` failed retries, in ms.
pub fn retry_wait_ms(attempts: i32) -> i64 {
    let doublings = attempts.clamp(0, 20) as u32;
    RETRY_INITIAL_MS.saturating_mul(1 << doublings).min(RETRY_MAX_MS)
}

/// Counts a failed retry of a row that still carries `token` and makes it due after
/// the backoff; returns that wait in ms.
pub async fn reschedule(
    db: &Db,
    claimed: &Claimed,
    token: i64,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    let wait_ms = retry_wait_ms(claimed.attempts);
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE sensor_alarm_pending SET attempts = attempts + 1, retry_at_ms = $4 \
             WHERE device_id = $1 AND attribute = $2 AND batch_token = $3",
        )
        .bind(claimed.backlog.device_id)
        .bind(claimed.backlog.attribute)
        .bind(token)
        .bind(now_ms + wait_ms)
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    Ok(wait_ms)
}

/// Deletes one claimed row once its readings are evaluated, unless a batch took it
/// over meanwhile.
pub async fn delete_claimed(db: &Db, backlog: &Backlog, token: i64) -> Result<(), sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "DELETE FROM sensor_alarm_pending WHERE device_id = $1 AND attribute = $2 \
             AND batch_token = $3",
        )
        .bind(backlog.device_id)
        .bind(backlog.attribute)
        .bind(token)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_wait_doubles_up_to_one_hour() {
        assert_eq!(retry_wait_ms(0), 30_000);
        assert_eq!(retry_wait_ms(1), 60_000);
        assert_eq!(retry_wait_ms(3), 240_000);
        assert_eq!(retry_wait_ms(7), RETRY_MAX_MS);
        assert_eq!(retry_wait_ms(i32::MAX), RETRY_MAX_MS);
    }

    #[test]
    fn keys_to_mark_takes_the_earliest_inserted_reading() {
        let reading = |device_id, observed_at_ms| Reading {
            device_id,
            attribute: Attribute::Temperature,
            observed_at_ms,
            value: 1.0,
        };
        let readings = [reading(2, 50), reading(1, 30), reading(1, 10), reading(1, 5)];
        let outcome = [Stored::Inserted, Stored::Inserted, Stored::Inserted, Stored::Duplicate];
        let code = Attribute::Temperature.code();
        assert_eq!(
            keys_to_mark(&readings, &outcome),
            vec![
                Backlog { device_id: 1, attribute: code, from_observed_at_ms: 10 },
                Backlog { device_id: 2, attribute: code, from_observed_at_ms: 50 },
            ]
        );
    }
}
