//! The PostgreSQL write path: multi-row statements over `UNNEST` arrays.

use super::*;

pub(super) async fn store(
    tx: &mut PgConnection,
    readings: &[Reading],
    received_at_ms: i64,
    zone: Tz,
) -> Result<Vec<Stored>, StoreError> {
    let rows: Vec<(i64, i16, i64, f64)> = sqlx::query_as(
        "INSERT INTO sensor_reading (device_id, attribute, observed_at_ms, value, \
         received_at_ms) \
         SELECT d, a, t, v, $5 FROM UNNEST($1::bigint[], $2::smallint[], $3::bigint[], \
         $4::float8[]) AS u(d, a, t, v) \
         ON CONFLICT DO NOTHING RETURNING device_id, attribute, observed_at_ms, value",
    )
    .bind(readings.iter().map(|r| r.device_id).collect::<Vec<_>>())
    .bind(readings.iter().map(|r| r.attribute.code()).collect::<Vec<_>>())
    .bind(readings.iter().map(|r| r.observed_at_ms).collect::<Vec<_>>())
    .bind(readings.iter().map(|r| r.value).collect::<Vec<_>>())
    .bind(received_at_ms)
    .fetch_all(&mut *tx)
    .await?;

    let inserted: HashMap<ReadingKey, f64> =
        rows.into_iter().map(|(d, a, t, v)| ((d, a, t), v)).collect();
    let mut outcome = Vec::with_capacity(readings.len());
    for (reading, known) in readings.iter().zip(classify_inserted(readings, inserted)) {
        let stored = match known {
            Some(stored) => stored,
            None => resolve_existing(tx, reading, received_at_ms).await?,
        };
        outcome.push(stored);
    }

    upsert_rollups(tx, &rollup_deltas(readings, &outcome, zone)).await?;
    let newest = newest_per_attribute(readings, &outcome);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sensor_latest (device_id, attribute, observed_at_ms, value) \
         SELECT * FROM UNNEST($1::bigint[], $2::smallint[], $3::bigint[], $4::float8[]) \
         {LATEST_MERGE_CLAUSE}"
    )))
    .bind(newest.iter().map(|r| r.device_id).collect::<Vec<_>>())
    .bind(newest.iter().map(|r| r.attribute.code()).collect::<Vec<_>>())
    .bind(newest.iter().map(|r| r.observed_at_ms).collect::<Vec<_>>())
    .bind(newest.iter().map(|r| r.value).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(outcome)
}

async fn upsert_rollups(
    tx: &mut PgConnection,
    deltas: &[(BucketKey, Aggregate)],
) -> Result<(), StoreError> {
    let column = |f: fn(&(BucketKey, Aggregate)) -> i64| deltas.iter().map(f).collect::<Vec<_>>();
    let real = |f: fn(&(BucketKey, Aggregate)) -> f64| deltas.iter().map(f).collect::<Vec<_>>();
    let sql = format!(
        "INSERT INTO sensor_rollup (device_id, attribute, step, bucket_start_ms, count, sum, \
         min, max, first_at_ms, first_value, last_at_ms, last_value) \
         SELECT * FROM UNNEST($1::bigint[], $2::smallint[], $3::smallint[], $4::bigint[], \
         $5::bigint[], $6::float8[], $7::float8[], $8::float8[], $9::bigint[], \
         $10::float8[], $11::bigint[], $12::float8[]){}",
        rollup_merge_clause("LEAST", "GREATEST")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(column(|(k, _)| k.device_id))
        .bind(deltas.iter().map(|(k, _)| k.attribute_code).collect::<Vec<_>>())
        .bind(deltas.iter().map(|(k, _)| k.step.code()).collect::<Vec<_>>())
        .bind(column(|(k, _)| k.bucket_start_ms))
        .bind(column(|(_, a)| a.count))
        .bind(real(|(_, a)| a.sum))
        .bind(real(|(_, a)| a.min))
        .bind(real(|(_, a)| a.max))
        .bind(column(|(_, a)| a.first_at_ms))
        .bind(real(|(_, a)| a.first_value))
        .bind(column(|(_, a)| a.last_at_ms))
        .bind(real(|(_, a)| a.last_value))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn resolve_existing(
    tx: &mut PgConnection,
    reading: &Reading,
    received_at_ms: i64,
) -> Result<Stored, StoreError> {
    resolve_existing_body!(tx, reading, received_at_ms)
}
