//! Looks up many bearer tokens at once, for a batch of MQTT messages that each carry
//! their sender's token. Every lookup reads the stored hashes, so a rotated or revoked
//! token stops working at once on every node; nothing is cached across batches.

use std::collections::HashMap;

use sqlx::{FromRow, QueryBuilder};

use super::{
    DeviceRef,
    store::{Credential, DeviceRefRow, StoreError},
};
use crate::db::Db;

#[derive(FromRow)]
struct DeviceTokenRow {
    token_hash: String,
    #[sqlx(flatten)]
    device: DeviceRefRow,
}

/// Returns the owner of each of `hashes` (SHA-256 hex) that belongs to a gateway key or
/// a device, in two queries whatever the number of hashes.
///
/// # Errors
/// A database failure, or a stored device of an unknown kind.
pub async fn credentials(
    db: &Db,
    hashes: &[String],
) -> Result<HashMap<String, Credential>, StoreError> {
    let mut found = HashMap::with_capacity(hashes.len());
    if hashes.is_empty() {
        return Ok(found);
    }
    let (keys, devices): (Vec<(String, i64, String)>, Vec<DeviceTokenRow>) = match db {
        Db::Postgres(pool) => (
            sqlx::query_as(
                "SELECT token_hash, ingest_key_id, name FROM sensor_ingest_key \
                 WHERE token_hash = ANY($1)",
            )
            .bind(hashes)
            .fetch_all(pool)
            .await?,
            sqlx::query_as(
                "SELECT token_hash, device_id, external_id, kind, capacity FROM sensor_device \
                 WHERE token_hash = ANY($1)",
            )
            .bind(hashes)
            .fetch_all(pool)
            .await?,
        ),
        Db::Sqlite(pool) => {
            let select = |columns: &str, table: &str| {
                let mut query = QueryBuilder::new(format!(
                    "SELECT token_hash, {columns} FROM {table} WHERE token_hash IN ("
                ));
                let mut list = query.separated(", ");
                for hash in hashes {
                    list.push_bind(hash.clone());
                }
                query.push(")");
                query
            };
            let mut keys = select("ingest_key_id, name", "sensor_ingest_key");
            let mut devices = select("device_id, external_id, kind, capacity", "sensor_device");
            (
                keys.build_query_as().fetch_all(pool).await?,
                devices.build_query_as().fetch_all(pool).await?,
            )
        }
    };
    for row in devices {
        let device = DeviceRef::try_from(row.device)?;
        found.insert(row.token_hash, Credential::Device(device));
    }
    // A gateway key wins over a device with the same hash, as in the single lookup.
    for (hash, ingest_key_id, name) in keys {
        found.insert(hash, Credential::Gateway { ingest_key_id, name });
    }
    Ok(found)
}
