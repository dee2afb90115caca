//! Storage of devices, keys and readings on SQLite and PostgreSQL.
//!
//! Device and key queries share their SQL through [`with_pool!`]. Reading batches take
//! the backend's fastest bulk form: multi-row `INSERT … VALUES` statements on SQLite and
//! `INSERT … SELECT FROM UNNEST(arrays)` on PostgreSQL, all in one transaction per batch.
//! The write paths live in `store_write.rs`.

use chrono::Utc;
use sqlx::FromRow;

use super::{
    DeviceRef, NewDevice,
    kinds::{Attribute, DeviceKind},
    rollup::{Aggregate, Step},
};
use crate::{db::Db, with_pool};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("device id {0} is already registered")]
    DuplicateDevice(String),
    #[error("stored device {0} has an unknown kind or attribute")]
    Corrupt(String),
    #[error("queued reading batch cannot be read: {0}")]
    UnreadableQueue(String),
}

/// The owner of a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A device token: only that device's readings are accepted.
    Device(DeviceRef),
    /// A gateway key: readings of any registered device are accepted.
    Gateway { ingest_key_id: i64, name: String },
}

/// A stored device with its registry fields.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Device {
    #[serde(skip)]
    pub device_id: i64,
    #[serde(rename = "id")]
    pub external_id: String,
    pub kind: DeviceKind,
    pub name: String,
    pub longitude: f64,
    pub latitude: f64,
    #[serde(skip)]
    pub grid_area_id: Option<i64>,
    pub owner: String,
    pub capacity: Option<i64>,
    pub parking_space: Option<String>,
    pub merchant: Option<String>,
    pub resident: Option<String>,
}

#[derive(FromRow)]
pub(crate) struct DeviceRow {
    device_id: i64,
    external_id: String,
    kind: String,
    name: String,
    longitude: f64,
    latitude: f64,
    grid_area_id: Option<i64>,
    owner: String,
    capacity: Option<i64>,
    parking_space_ref: Option<String>,
    merchant_ref: Option<String>,
    resident_ref: Option<String>,
}

impl TryFrom<DeviceRow> for Device {
    type Error = StoreError;
    fn try_from(row: DeviceRow) -> Result<Self, StoreError> {
        let kind = DeviceKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(row.external_id.clone()))?;
        Ok(Device {
            device_id: row.device_id,
            external_id: row.external_id,
            kind,
            name: row.name,
            longitude: row.longitude,
            latitude: row.latitude,
            grid_area_id: row.grid_area_id,
            owner: row.owner,
            capacity: row.capacity,
            parking_space: row.parking_space_ref,
            merchant: row.merchant_ref,
            resident: row.resident_ref,
        })
    }
}

#[derive(FromRow)]
pub(super) struct DeviceRefRow {
    device_id: i64,
    external_id: String,
    kind: String,
    capacity: Option<i64>,
}

impl TryFrom<DeviceRefRow> for DeviceRef {
    type Error = StoreError;
    fn try_from(row: DeviceRefRow) -> Result<Self, StoreError> {
        let kind = DeviceKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(row.external_id.clone()))?;
        Ok(DeviceRef {
            device_id: row.device_id,
            external_id: row.external_id,
            kind,
            capacity: row.capacity,
        })
    }
}

/// The newest measurement of one attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub attribute: Attribute,
    pub observed_at_ms: i64,
    pub value: f64,
}

/// A value that arrived for a time that already had a different value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub attribute: Attribute,
    pub observed_at_ms: i64,
    pub stored_value: f64,
    pub conflicting_value: f64,
    pub received_at_ms: i64,
}

/// Most buckets one series request returns: a week of minutes is 10,080, so a client
/// asks for longer ranges in hours or days, or pages by moving `from`.
pub const MAX_SERIES_BUCKETS: i64 = 10_080;

pub(crate) const DEVICE_COLUMNS: &str = "device_id, external_id, kind, name, longitude, latitude, \
     grid_area_id, owner, capacity, parking_space_ref, merchant_ref, resident_ref";

/// Storage of the device registry and the read side of readings.
pub trait SensorStore {
    /// Inserts `devices` with their token hashes in one transaction; nothing is written
    /// when one id is already registered.
    fn insert_devices(
        &self,
        devices: &[(NewDevice, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a device's token hash; false when the device does not exist.
    fn set_device_token(
        &self,
        external_id: &str,
        token_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn insert_ingest_key(
        &self,
        name: &str,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Finds the owner of a token hash, device or gateway, if any.
    fn credential(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;
    /// Loads the registered devices among `external_ids`; unknown ids are left out.
    fn device_refs(
        &self,
        external_ids: &[String],
    ) -> impl Future<Output = Result<Vec<DeviceRef>, StoreError>> + Send;
    fn device(
        &self,
        external_id: &str,
    ) -> impl Future<Output = Result<Option<Device>, StoreError>> + Send;
    fn latest_values(
        &self,
        device_id: i64,
    ) -> impl Future<Output = Result<Vec<Latest>, StoreError>> + Send;
    /// Lists the rollups of `step` whose bucket starts in `[from_ms, to_ms)`, oldest first,
    /// at most [`MAX_SERIES_BUCKETS`] of them.
    fn rollups(
        &self,
        device_id: i64,
        attribute: Attribute,
        step: Step,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<(i64, Aggregate)>, StoreError>> + Send;
    /// Conflicting values of a device, newest measurement first, at most `limit`.
    fn conflicts(
        &self,
        device_id: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Conflict>, StoreError>> + Send;
    /// Deletes raw readings measured before `before_ms` and returns how many.
    ///
    /// Rollups and latest values are kept: they are the long-term record.
    fn purge_readings(
        &self,
        before_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

impl SensorStore for Db {
    async fn insert_devices(&self, devices: &[(NewDevice, String)]) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (device, token_hash) in devices {
                let result = sqlx::query(
                    "INSERT INTO sensor_device (external_id, kind, name, longitude, latitude, \
                     grid_area_id, owner, capacity, parking_space_ref, merchant_ref, \
                     resident_ref, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&device.external_id)
                .bind(device.kind.as_str())
                .bind(&device.name)
                .bind(device.longitude)
                .bind(device.latitude)
                .bind(device.grid_area_id)
                .bind(&device.owner)
                .bind(device.capacity)
                .bind(&device.parking_space)
                .bind(&device.merchant)
                .bind(&device.resident)
                .bind(token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await;
                match result {
                    Ok(_) => {}
                    Err(error) if is_unique_violation(&error) => {
                        return Err(StoreError::DuplicateDevice(device.external_id.clone()));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn set_device_token(
        &self,
        external_id: &str,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let result = with_pool!(self, |pool| {
            sqlx::query("UPDATE sensor_device SET token_hash = $1 WHERE external_id = $2")
                .bind(token_hash)
                .bind(external_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(result == 1)
    }

    async fn insert_ingest_key(&self, name: &str, token_hash: &str) -> Result<(), StoreError> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sensor_ingest_key (name, token_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::DuplicateDevice(name.to_owned())
            } else {
                error.into()
            }
        })
    }

    async fn credential(&self, token_hash: &str) -> Result<Option<Credential>, StoreError> {
        let key: Option<(i64, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT ingest_key_id, name FROM sensor_ingest_key WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await
        })?;
        if let Some((ingest_key_id, name)) = key {
            return Ok(Some(Credential::Gateway { ingest_key_id, name }));
        }
        let row: Option<DeviceRefRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT device_id, external_id, kind, capacity FROM sensor_device \
                 WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|row| DeviceRef::try_from(row).map(Credential::Device)).transpose()
    }

    async fn device_refs(&self, external_ids: &[String]) -> Result<Vec<DeviceRef>, StoreError> {
        let rows: Vec<DeviceRefRow> = match self {
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT device_id, external_id, kind, capacity FROM sensor_device \
                     WHERE external_id = ANY($1)",
                )
                .bind(external_ids)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let mut rows = Vec::with_capacity(external_ids.len());
                // 30,000 stays under SQLite's default limit of 32,766 bound parameters.
                for chunk in external_ids.chunks(30_000) {
                    let mut query = sqlx::QueryBuilder::new(
                        "SELECT device_id, external_id, kind, capacity FROM sensor_device \
                         WHERE external_id IN (",
                    );
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(id);
                    }
                    query.push(")");
                    rows.extend(query.build_query_as::<DeviceRefRow>().fetch_all(pool).await?);
                }
                rows
            }
        };
        rows.into_iter().map(DeviceRef::try_from).collect()
    }

    async fn device(&self, external_id: &str) -> Result<Option<Device>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM sensor_device WHERE external_id = $1");
        let row: Option<DeviceRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(external_id).fetch_optional(pool).await
        })?;
        row.map(Device::try_from).transpose()
    }

    async fn latest_values(&self, device_id: i64) -> Result<Vec<Latest>, StoreError> {
        let rows: Vec<(i16, i64, f64)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT attribute, observed_at_ms, value FROM sensor_latest \
                 WHERE device_id = $1 ORDER BY attribute",
            )
            .bind(device_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(code, observed_at_ms, value)| {
                let attribute = Attribute::from_code(code)
                    .ok_or_else(|| StoreError::Corrupt(device_id.to_string()))?;
                Ok(Latest { attribute, observed_at_ms, value })
            })
            .collect()
    }

    async fn rollups(
        &self,
        device_id: i64,
        attribute: Attribute,
        step: Step,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, Aggregate)>, StoreError> {
        type Row = (i64, i64, f64, f64, f64, i64, f64, i64, f64);
        let rows: Vec<Row> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT bucket_start_ms, count, sum, min, max, first_at_ms, first_value, \
                 last_at_ms, last_value FROM sensor_rollup \
                 WHERE device_id = $1 AND attribute = $2 AND step = $3 \
                 AND bucket_start_ms >= $4 AND bucket_start_ms < $5 \
                 ORDER BY bucket_start_ms LIMIT $6",
            )
            .bind(device_id)
            .bind(attribute.code())
            .bind(step.code())
            .bind(from_ms)
            .bind(to_ms)
            .bind(MAX_SERIES_BUCKETS)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    start,
                    count,
                    sum,
                    min,
                    max,
                    first_at_ms,
                    first_value,
                    last_at_ms,
                    last_value,
                )| {
                    let aggregate = Aggregate {
                        count,
                        sum,
                        min,
                        max,
                        first_at_ms,
                        first_value,
                        last_at_ms,
                        last_value,
                    };
                    (start, aggregate)
                },
            )
            .collect())
    }

    async fn conflicts(&self, device_id: i64, limit: i64) -> Result<Vec<Conflict>, StoreError> {
        let rows: Vec<(i16, i64, f64, f64, i64)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT attribute, observed_at_ms, stored_value, value, received_at_ms \
                 FROM sensor_conflict WHERE device_id = $1 \
                 ORDER BY observed_at_ms DESC, attribute LIMIT $2",
            )
            .bind(device_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(code, observed_at_ms, stored_value, conflicting_value, received_at_ms)| {
                let attribute = Attribute::from_code(code)
                    .ok_or_else(|| StoreError::Corrupt(device_id.to_string()))?;
                Ok(Conflict {
                    attribute,
                    observed_at_ms,
                    stored_value,
                    conflicting_value,
                    received_at_ms,
                })
            })
            .collect()
    }

    async fn purge_readings(&self, before_ms: i64) -> Result<u64, StoreError> {
        let deleted = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sensor_reading WHERE observed_at_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted)
    }
}
