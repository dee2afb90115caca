//! Queries of the dashboard over many devices at once, shared by SQLite and PostgreSQL.

use crate::{
    db::Db,
    sensors::{
        Attribute,
        rollup::{Aggregate, Step},
        store::{DEVICE_COLUMNS, Device, DeviceRow, Latest, StoreError},
    },
    with_pool,
};

use super::series::DeviceBucket;

/// Ids per statement; 500 stays under every backend's limit of bound parameters.
const CHUNK: usize = 500;

/// Builds `$first, $first+1, …` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Lists the devices placed in `grid_ids`, ordered by external id.
pub async fn devices_in_grids(db: &Db, grid_ids: &[i64]) -> Result<Vec<Device>, StoreError> {
    let mut devices = Vec::new();
    for chunk in grid_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM sensor_device WHERE grid_area_id IN ({})",
            placeholders(1, chunk.len())
        );
        let rows: Vec<DeviceRow> = with_pool!(db, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        for row in rows {
            devices.push(Device::try_from(row)?);
        }
    }
    devices.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    Ok(devices)
}

/// Loads the latest value of every attribute of `device_ids`, as (device id, latest).
pub async fn latest_of_devices(
    db: &Db,
    device_ids: &[i64],
) -> Result<Vec<(i64, Latest)>, StoreError> {
    let mut latest = Vec::new();
    for chunk in device_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT device_id, attribute, observed_at_ms, value FROM sensor_latest \
             WHERE device_id IN ({}) ORDER BY device_id, attribute",
            placeholders(1, chunk.len())
        );
        let rows: Vec<(i64, i16, i64, f64)> = with_pool!(db, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        for (device_id, code, observed_at_ms, value) in rows {
            let attribute = Attribute::from_code(code)
                .ok_or_else(|| StoreError::Corrupt(device_id.to_string()))?;
            latest.push((device_id, Latest { attribute, observed_at_ms, value }));
        }
    }
    Ok(latest)
}

/// Loads the rollups of `attribute` and `step` of `device_ids` whose bucket starts in
/// `[from_ms, to_ms)`.
pub async fn rollups_of_devices(
    db: &Db,
    device_ids: &[i64],
    attribute: Attribute,
    step: Step,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DeviceBucket>, StoreError> {
    type Row = (i64, i64, i64, f64, f64, f64, i64, f64, i64, f64);
    let mut buckets = Vec::new();
    for chunk in device_ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT device_id, bucket_start_ms, count, sum, min, max, first_at_ms, \
             first_value, last_at_ms, last_value FROM sensor_rollup \
             WHERE attribute = $1 AND step = $2 AND bucket_start_ms >= $3 \
             AND bucket_start_ms < $4 AND device_id IN ({})",
            placeholders(5, chunk.len())
        );
        let rows: Vec<Row> = with_pool!(db, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(attribute.code())
                .bind(step.code())
                .bind(from_ms)
                .bind(to_ms);
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        buckets.extend(rows.into_iter().map(
            |(device_id, start, count, sum, min, max, first_at, first, last_at, last)| {
                DeviceBucket {
                    device_id,
                    bucket_start_ms: start,
                    aggregate: Aggregate {
                        count,
                        sum,
                        min,
                        max,
                        first_at_ms: first_at,
                        first_value: first,
                        last_at_ms: last_at,
                        last_value: last,
                    },
                }
            },
        ));
    }
    Ok(buckets)
}
