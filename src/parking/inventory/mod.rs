//! Parking inventory: lots (FIWARE OffStreetParking), their spaces (ParkingSpot) and
//! their live occupancy.
//!
//! Owns the `parking_lot`, `parking_space` and `parking_count` tables, the routes under
//! `/api/v1/parking/`, the console page `/parking/lots` and `citycore parking
//! import-inventory`. Main types: [`Lot`], [`Space`], [`occupancy::Occupancy`].
//!
//! Invariants:
//! - A lot's point is stored in WGS-84 with the grid it located to when written.
//! - An import writes every lot and space of the file or none of them.
//! - A count or counter value outside `0 ..= open capacity` is never used nor clamped:
//!   a manual count is rejected and a counter reading is flagged on the lot.
//! - Closed lots and closed spaces count neither as free nor as occupied.
//!
//! It does not publish sharing windows or take bookings; those live in the booking module.

pub mod cli;
pub mod fiware;
pub mod http;
pub mod import;
pub mod occupancy;
pub mod pages;
pub mod store;
pub mod validate;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::http::UserMessage;

pub use http::router;

/// The kind of owner of a lot, one of the values the `owner_type` column allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerType {
    Public,
    Office,
    Residential,
    Merchant,
}

impl OwnerType {
    pub const ALL: [OwnerType; 4] =
        [OwnerType::Public, OwnerType::Office, OwnerType::Residential, OwnerType::Merchant];

    pub fn as_str(self) -> &'static str {
        match self {
            OwnerType::Public => "public",
            OwnerType::Office => "office",
            OwnerType::Residential => "residential",
            OwnerType::Merchant => "merchant",
        }
    }

    pub fn parse(text: &str) -> Option<OwnerType> {
        OwnerType::ALL.into_iter().find(|owner| owner.as_str() == text)
    }
}

/// A stored lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Lot {
    pub lot_id: i64,
    pub lot_ref: String,
    pub name: String,
    pub owner_type: OwnerType,
    pub owner_name: String,
    /// Number of spaces, closed ones included.
    pub capacity: i64,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    pub grid_area_id: Option<i64>,
    pub closed: bool,
    pub tariff_code: String,
    /// The account that publishes the lot's sharing windows and views its bookings.
    pub owner_user_id: Option<i64>,
    /// Username of that account; empty without one.
    pub owner_username: String,
    pub updated_at: DateTime<Utc>,
}

/// A validated lot, ready to insert or update by `lot_ref`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLot {
    pub lot_ref: String,
    pub name: String,
    pub owner_type: OwnerType,
    pub owner_name: String,
    pub capacity: i64,
    pub longitude: f64,
    pub latitude: f64,
    pub grid_area_id: Option<i64>,
    pub closed: bool,
    pub tariff_code: String,
    /// Username of the owner's account; empty for a lot without one.
    pub owner_username: String,
}

/// A stored space with the ref of its lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub space_id: i64,
    pub space_ref: String,
    pub lot_ref: String,
    pub label: String,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub shared: bool,
    pub closed: bool,
}

/// A validated space, ready to insert or update by `space_ref`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSpace {
    pub space_ref: String,
    pub lot_ref: String,
    pub label: String,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub shared: bool,
    pub closed: bool,
}

/// Failures of the inventory, each mapped to a status in `src/http/error.rs`.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Invalid fields of one record, each message naming its field.
    #[error("invalid parking record: {0:?}")]
    Invalid(Vec<UserMessage>),
    /// Invalid records of an import, each with its position and message.
    #[error("{} invalid import records", .0.len())]
    InvalidImport(Vec<(import::Position, UserMessage)>),
    /// The file is neither the expected CSV nor a GeoJSON FeatureCollection.
    #[error("unreadable inventory file: {0}")]
    Unreadable(String),
    #[error("parking lot {0} not found")]
    LotNotFound(String),
    #[error("parking space {0} not found")]
    SpaceNotFound(String),
    /// A new lot or space whose ref is already taken.
    #[error("parking ref {0} already exists")]
    Duplicate(String),
    /// A lot whose `tariff_code` names no stored tariff.
    #[error("parking lot {lot_ref} names unknown tariff {code}")]
    UnknownTariff { lot_ref: String, code: String },
    /// A lot names an owner account that does not exist.
    #[error("lot {lot_ref} names owner account {username}, which does not exist")]
    UnknownOwner { lot_ref: String, username: String },
    /// A manual count outside `0 ..= open capacity`.
    #[error("count {occupied} outside 0..={open_capacity}")]
    CountOutOfRange { occupied: i64, open_capacity: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A lot with its spaces and live occupancy, as every view shows it.
#[derive(Debug, Clone)]
pub struct LotState {
    pub lot: Lot,
    pub spaces: Vec<Space>,
    pub occupancy: occupancy::Occupancy,
}

/// Loads a lot with its spaces and computes its occupancy at `now_ms`.
///
/// # Errors
/// [`InventoryError::LotNotFound`] or a database failure.
pub async fn lot_state(
    db: &crate::db::Db,
    lot: Lot,
    hold_seconds: i64,
    now_ms: i64,
) -> Result<LotState, InventoryError> {
    let spaces = store::spaces_of_lot(db, lot.lot_id).await?;
    let occupancy = occupancy::lot_occupancy(db, &lot, &spaces, hold_seconds, now_ms).await?;
    Ok(LotState { lot, spaces, occupancy })
}

/// Loads every lot with its state, ordered by ref.
///
/// # Errors
/// A database failure.
pub async fn all_lot_states(
    db: &crate::db::Db,
    hold_seconds: i64,
    now_ms: i64,
) -> Result<Vec<LotState>, InventoryError> {
    let mut states = Vec::new();
    for lot in store::list_lots(db).await? {
        states.push(lot_state(db, lot, hold_seconds, now_ms).await?);
    }
    Ok(states)
}

/// Records a manual count of occupied spaces after checking it against the lot's open
/// capacity (capacity minus closed spaces).
///
/// # Errors
/// [`InventoryError::CountOutOfRange`] for a negative count or one above the open
/// capacity, [`InventoryError::LotNotFound`], or a database failure.
pub async fn record_count(
    db: &crate::db::Db,
    lot_ref: &str,
    occupied: i64,
    observed_at_ms: i64,
    counted_by: i64,
) -> Result<(), InventoryError> {
    let lot = store::lot_by_ref(db, lot_ref).await?;
    let spaces = store::spaces_of_lot(db, lot.lot_id).await?;
    let closed_spaces = spaces.iter().filter(|space| space.closed).count() as i64;
    let open_capacity = if lot.closed { 0 } else { (lot.capacity - closed_spaces).max(0) };
    if !(0..=open_capacity).contains(&occupied) {
        tracing::debug!(parking.lot = lot_ref, occupied, open_capacity, "count rejected");
        return Err(InventoryError::CountOutOfRange { occupied, open_capacity });
    }
    store::insert_count(db, lot.lot_id, occupied, observed_at_ms, counted_by).await?;
    tracing::info!(parking.lot = lot_ref, occupied, "manual count recorded");
    Ok(())
}
