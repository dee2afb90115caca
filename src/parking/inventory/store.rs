//! Storage of lots, spaces and manual counts, and the sensor rows occupancy reads.
//!
//! Every query runs unchanged on SQLite and PostgreSQL through [`with_pool!`]. Counts
//! such as `capacity` are `INTEGER` (32-bit on PostgreSQL), so they are read as `i32`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{InventoryError, Lot, NewLot, NewSpace, OwnerType, Space};
use crate::{db::Db, sensors::Attribute, with_pool};

// The SQL built with `format!` below joins only the constant column lists and clauses
// of this file; every value is bound.
const LOT_COLUMNS: &str = "lot_id, lot_ref, name, owner_type, owner_name, capacity, longitude, \
     latitude, grid_area_id, status, tariff_code, updated_at, owner_user_id, \
     COALESCE((SELECT u.username FROM app_user u WHERE u.user_id = owner_user_id), '') \
     AS owner_username";

const SPACE_COLUMNS: &str = "s.space_id, s.space_ref, l.lot_ref, s.label, s.longitude, \
     s.latitude, s.shared, s.closed";

/// The rule [`write_inventory`] applies to refs that exist and refs that do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Every ref must be new.
    Create,
    /// Every ref must exist.
    Update,
    /// Insert new refs and update existing ones, as an import does.
    Upsert,
}

fn lot_from_row<R>(row: &R) -> Result<Lot, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let owner: String = row.try_get("owner_type")?;
    let status: String = row.try_get("status")?;
    Ok(Lot {
        lot_id: row.try_get("lot_id")?,
        lot_ref: row.try_get("lot_ref")?,
        name: row.try_get("name")?,
        owner_type: OwnerType::parse(&owner).unwrap_or(OwnerType::Public),
        owner_name: row.try_get("owner_name")?,
        capacity: i64::from(row.try_get::<i32, _>("capacity")?),
        longitude: row.try_get("longitude")?,
        latitude: row.try_get("latitude")?,
        grid_area_id: row.try_get("grid_area_id")?,
        closed: status == "closed",
        tariff_code: row.try_get("tariff_code")?,
        owner_user_id: row.try_get("owner_user_id")?,
        owner_username: row.try_get("owner_username")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn space_from_row<R>(row: &R) -> Result<Space, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<f64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Space {
        space_id: row.try_get("space_id")?,
        space_ref: row.try_get("space_ref")?,
        lot_ref: row.try_get("lot_ref")?,
        label: row.try_get("label")?,
        longitude: row.try_get("longitude")?,
        latitude: row.try_get("latitude")?,
        shared: row.try_get("shared")?,
        closed: row.try_get("closed")?,
    })
}

/// Lists every lot by ref.
///
/// # Errors
/// A database failure.
pub async fn list_lots(db: &Db) -> Result<Vec<Lot>, InventoryError> {
    let sql = format!("SELECT {LOT_COLUMNS} FROM parking_lot ORDER BY lot_ref");
    let lots = with_pool!(db, |pool| {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await?;
        rows.iter().map(lot_from_row).collect::<Result<Vec<_>, _>>()?
    });
    Ok(lots)
}

/// Finds a lot by ref.
///
/// # Errors
/// [`InventoryError::LotNotFound`] or a database failure.
pub async fn lot_by_ref(db: &Db, lot_ref: &str) -> Result<Lot, InventoryError> {
    let sql = format!("SELECT {LOT_COLUMNS} FROM parking_lot WHERE lot_ref = $1");
    let lot = with_pool!(db, |pool| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(lot_ref)
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(lot_from_row).transpose()?
    });
    lot.ok_or_else(|| InventoryError::LotNotFound(lot_ref.to_owned()))
}

/// Lists the spaces of one lot, ordered by ref.
///
/// # Errors
/// A database failure.
pub async fn spaces_of_lot(db: &Db, lot_id: i64) -> Result<Vec<Space>, InventoryError> {
    let sql = format!(
        "SELECT {SPACE_COLUMNS} FROM parking_space s JOIN parking_lot l ON l.lot_id = s.lot_id \
         WHERE s.lot_id = $1 ORDER BY s.space_ref"
    );
    let spaces = with_pool!(db, |pool| {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(lot_id).fetch_all(pool).await?;
        rows.iter().map(space_from_row).collect::<Result<Vec<_>, _>>()?
    });
    Ok(spaces)
}

/// Finds a space by ref.
///
/// # Errors
/// [`InventoryError::SpaceNotFound`] or a database failure.
pub async fn space_by_ref(db: &Db, space_ref: &str) -> Result<Space, InventoryError> {
    let sql = format!(
        "SELECT {SPACE_COLUMNS} FROM parking_space s JOIN parking_lot l ON l.lot_id = s.lot_id \
         WHERE s.space_ref = $1"
    );
    let space = with_pool!(db, |pool| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(space_ref)
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(space_from_row).transpose()?
    });
    space.ok_or_else(|| InventoryError::SpaceNotFound(space_ref.to_owned()))
}

const INSERT_LOT: &str = "INSERT INTO parking_lot (lot_ref, name, owner_type, owner_name, \
     capacity, longitude, latitude, grid_area_id, status, tariff_code, created_at, updated_at, \
     owner_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)";
const UPSERT_LOT_TAIL: &str = " ON CONFLICT (lot_ref) DO UPDATE SET name = excluded.name, \
     owner_type = excluded.owner_type, owner_name = excluded.owner_name, \
     capacity = excluded.capacity, longitude = excluded.longitude, \
     latitude = excluded.latitude, grid_area_id = excluded.grid_area_id, \
     status = excluded.status, tariff_code = excluded.tariff_code, \
     owner_user_id = excluded.owner_user_id, updated_at = excluded.updated_at";
const UPDATE_LOT: &str = "UPDATE parking_lot SET name = $2, owner_type = $3, owner_name = $4, \
     capacity = $5, longitude = $6, latitude = $7, grid_area_id = $8, status = $9, \
     tariff_code = $10, updated_at = $11, owner_user_id = $12 WHERE lot_ref = $1";

const INSERT_SPACE: &str = "INSERT INTO parking_space (lot_id, space_ref, label, longitude, \
     latitude, shared, closed, created_at, updated_at) \
     SELECT lot_id, $2, $3, $4, $5, $6, $7, $8, $8 FROM parking_lot WHERE lot_ref = $1";
const UPSERT_SPACE_TAIL: &str = " ON CONFLICT (space_ref) DO UPDATE SET \
     lot_id = excluded.lot_id, label = excluded.label, longitude = excluded.longitude, \
     latitude = excluded.latitude, shared = excluded.shared, closed = excluded.closed, \
     updated_at = excluded.updated_at";
const UPDATE_SPACE: &str = "UPDATE parking_space SET \
     lot_id = (SELECT lot_id FROM parking_lot WHERE lot_ref = $1), label = $3, \
     longitude = $4, latitude = $5, shared = $6, closed = $7, updated_at = $8 \
     WHERE space_ref = $2 AND EXISTS (SELECT 1 FROM parking_lot WHERE lot_ref = $1)";

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Resolves the owner usernames of `lots` to account ids; an empty username has none.
///
/// # Errors
/// [`InventoryError::UnknownOwner`] for the first username without an account.
async fn owner_ids(
    db: &Db,
    lots: &[NewLot],
) -> Result<std::collections::HashMap<String, i64>, InventoryError> {
    let mut owners = std::collections::HashMap::new();
    for lot in lots.iter().filter(|lot| !lot.owner_username.is_empty()) {
        if owners.contains_key(&lot.owner_username) {
            continue;
        }
        let found: Option<i64> = with_pool!(db, |pool| {
            sqlx::query_scalar("SELECT user_id FROM app_user WHERE username = $1")
                .bind(&lot.owner_username)
                .fetch_optional(pool)
                .await
        })?;
        let Some(user_id) = found else {
            return Err(InventoryError::UnknownOwner {
                lot_ref: lot.lot_ref.clone(),
                username: lot.owner_username.clone(),
            });
        };
        owners.insert(lot.owner_username.clone(), user_id);
    }
    Ok(owners)
}

/// Writes lots first, then spaces, in one transaction: all of them or none.
///
/// With `dry_run` the transaction runs every statement and then rolls back, so the
/// database's own checks (unique refs, a space's lot) apply without a write.
///
/// # Errors
/// [`InventoryError::UnknownTariff`] for a lot whose `tariff_code` is neither empty nor
/// a stored tariff, [`InventoryError::UnknownOwner`] for an owner username without an
/// account, [`InventoryError::Duplicate`] for a taken ref in `Create` mode,
/// [`InventoryError::LotNotFound`] for a space whose lot is missing (after the file's own
/// lots are written) or for a missing lot in `Update` mode, or a database failure.
/// Nothing is written on any error. In `Update` mode the caller checks that each space
/// exists, because a missing space and a missing lot both write no row.
pub async fn write_inventory(
    db: &Db,
    lots: &[NewLot],
    spaces: &[NewSpace],
    mode: WriteMode,
    dry_run: bool,
) -> Result<(), InventoryError> {
    let codes = lots.iter().map(|lot| lot.tariff_code.as_str());
    let unknown = crate::parking::live_pricing::tariffs::unknown_codes(db, codes).await?;
    if let Some(code) = unknown.first() {
        let lot = lots.iter().find(|lot| &lot.tariff_code == code);
        return Err(InventoryError::UnknownTariff {
            lot_ref: lot.map(|lot| lot.lot_ref.clone()).unwrap_or_default(),
            code: code.clone(),
        });
    }
    let owners = owner_ids(db, lots).await?;
    let now = Utc::now();
    let (lot_sql, space_sql) = match mode {
        WriteMode::Create => (INSERT_LOT.to_owned(), INSERT_SPACE.to_owned()),
        WriteMode::Update => (UPDATE_LOT.to_owned(), UPDATE_SPACE.to_owned()),
        WriteMode::Upsert => {
            (format!("{INSERT_LOT}{UPSERT_LOT_TAIL}"), format!("{INSERT_SPACE}{UPSERT_SPACE_TAIL}"))
        }
    };
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        for lot in lots {
            let status = if lot.closed { "closed" } else { "open" };
            let written = sqlx::query(sqlx::AssertSqlSafe(lot_sql.clone()))
                .bind(&lot.lot_ref)
                .bind(&lot.name)
                .bind(lot.owner_type.as_str())
                .bind(&lot.owner_name)
                .bind(i32::try_from(lot.capacity).unwrap_or(i32::MAX))
                .bind(lot.longitude)
                .bind(lot.latitude)
                .bind(lot.grid_area_id)
                .bind(status)
                .bind(&lot.tariff_code)
                .bind(now)
                .bind(owners.get(&lot.owner_username).copied())
                .execute(&mut *tx)
                .await;
            match written {
                Err(error) if is_unique_violation(&error) => {
                    return Err(InventoryError::Duplicate(lot.lot_ref.clone()));
                }
                Err(error) => return Err(error.into()),
                Ok(done) if done.rows_affected() == 0 => {
                    return Err(InventoryError::LotNotFound(lot.lot_ref.clone()));
                }
                Ok(_) => {}
            }
        }
        for space in spaces {
            let written = sqlx::query(sqlx::AssertSqlSafe(space_sql.clone()))
                .bind(&space.lot_ref)
                .bind(&space.space_ref)
                .bind(&space.label)
                .bind(space.longitude)
                .bind(space.latitude)
                .bind(space.shared)
                .bind(space.closed)
                .bind(now)
                .execute(&mut *tx)
                .await;
            match written {
                Err(error) if is_unique_violation(&error) => {
                    return Err(InventoryError::Duplicate(space.space_ref.clone()));
                }
                Err(error) => return Err(error.into()),
                // Callers of `Update` check that the space exists first, so in every
                // mode no row written means the space's lot is missing.
                Ok(done) if done.rows_affected() == 0 => {
                    return Err(InventoryError::LotNotFound(space.lot_ref.clone()));
                }
                Ok(_) => {}
            }
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
    });
    Ok(())
}

/// A space sensor bound to one space of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceSensor {
    pub space_ref: String,
    pub device_id: i64,
    pub external_id: String,
}

/// Lists the space sensors whose `parking_space_ref` names a space of the lot.
///
/// # Errors
/// A database failure.
pub async fn space_sensors(db: &Db, lot_id: i64) -> Result<Vec<SpaceSensor>, InventoryError> {
    let sql = "SELECT s.space_ref, d.device_id, d.external_id FROM parking_space s \
               JOIN sensor_device d ON d.parking_space_ref = s.space_ref \
               AND d.kind = 'parking_space_sensor' WHERE s.lot_id = $1 ORDER BY d.device_id";
    let sensors = with_pool!(db, |pool| {
        let rows = sqlx::query(sql).bind(lot_id).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                Ok::<_, sqlx::Error>(SpaceSensor {
                    space_ref: row.try_get("space_ref")?,
                    device_id: row.try_get("device_id")?,
                    external_id: row.try_get("external_id")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    });
    Ok(sensors)
}

/// Returns the newest `limit` status readings of a device as (ms, status code), newest first.
///
/// # Errors
/// A database failure.
pub async fn status_history(
    db: &Db,
    device_id: i64,
    limit: i64,
) -> Result<Vec<(i64, f64)>, InventoryError> {
    let sql = "SELECT observed_at_ms, value FROM sensor_reading \
               WHERE device_id = $1 AND attribute = $2 ORDER BY observed_at_ms DESC LIMIT $3";
    let rows = with_pool!(db, |pool| {
        sqlx::query_as::<_, (i64, f64)>(sql)
            .bind(device_id)
            .bind(Attribute::Status.code())
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    Ok(rows)
}

/// The newest free count of a lot counter.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterReading {
    pub external_id: String,
    pub observed_at_ms: i64,
    pub free: f64,
}

/// Finds the newest free count among the lot counters whose `parking_space_ref` is the lot's ref.
///
/// # Errors
/// A database failure.
pub async fn lot_counter_reading(
    db: &Db,
    lot_ref: &str,
) -> Result<Option<CounterReading>, InventoryError> {
    let sql = "SELECT d.external_id, l.observed_at_ms, l.value FROM sensor_device d \
               JOIN sensor_latest l ON l.device_id = d.device_id AND l.attribute = $2 \
               WHERE d.kind = 'lot_counter' AND d.parking_space_ref = $1 \
               ORDER BY l.observed_at_ms DESC LIMIT 1";
    let row = with_pool!(db, |pool| {
        sqlx::query_as::<_, (String, i64, f64)>(sql)
            .bind(lot_ref)
            .bind(Attribute::AvailableSpotNumber.code())
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(external_id, observed_at_ms, free)| CounterReading {
        external_id,
        observed_at_ms,
        free,
    }))
}

/// Returns the newest manual count of a lot as (occupied, observed ms).
///
/// # Errors
/// A database failure.
pub async fn latest_count(db: &Db, lot_id: i64) -> Result<Option<(i64, i64)>, InventoryError> {
    let sql = "SELECT occupied, observed_at_ms FROM parking_count WHERE lot_id = $1 \
               ORDER BY observed_at_ms DESC, parking_count_id DESC LIMIT 1";
    let row = with_pool!(db, |pool| {
        sqlx::query_as::<_, (i32, i64)>(sql).bind(lot_id).fetch_optional(pool).await?
    });
    Ok(row.map(|(occupied, at)| (i64::from(occupied), at)))
}

/// Stores one manual count; the caller has checked it against the open capacity.
///
/// # Errors
/// A database failure.
pub async fn insert_count(
    db: &Db,
    lot_id: i64,
    occupied: i64,
    observed_at_ms: i64,
    counted_by: i64,
) -> Result<(), InventoryError> {
    let sql = "INSERT INTO parking_count (lot_id, occupied, observed_at_ms, counted_by, \
               created_at_ms) VALUES ($1, $2, $3, $4, $5)";
    let occupied = i32::try_from(occupied).unwrap_or(i32::MAX);
    let now_ms = Utc::now().timestamp_millis();
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(sql)
            .bind(lot_id)
            .bind(occupied)
            .bind(observed_at_ms)
            .bind(counted_by)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(drop)?
    });
    Ok(())
}
