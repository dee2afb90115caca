//! FIWARE Smart Data Models views of the inventory: OffStreetParking for a lot,
//! ParkingSpot for a space and ParkingGroup for a lot's shared spaces.
//!
//! Mapping:
//! - `id` is the lot or space ref, and `totalSpotNumber` the capacity.
//! - `availableSpotNumber` and `occupiedSpotNumber` are the live figures, null when
//!   unknown or closed.
//! - `dateObserved` is the measurement time of the data behind them, with the offset of
//!   `sensors.time_zone`.
//! - `status` is a list as in the model (`open` or `closed`), and `location` a GeoJSON
//!   Point in WGS-84.
//!
//! Fields outside the models are `ownerType`, `occupancySource`, `occupancyProblem`,
//! `gridAreaId` and `shared`.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Lot, Space,
    occupancy::{Occupancy, SpotStatus},
};

/// Formats UTC milliseconds as RFC 3339 with the offset of `zone`.
pub fn local_time(ms: i64, zone: chrono_tz::Tz) -> String {
    let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    zone.from_utc_datetime(&utc.naive_utc()).to_rfc3339()
}

fn point(longitude: f64, latitude: f64) -> Value {
    json!({ "type": "Point", "coordinates": [longitude, latitude] })
}

/// A lot as an OffStreetParking entity.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffStreetParking {
    pub id: String,
    #[serde(rename = "type")]
    pub entity_type: &'static str,
    pub name: String,
    pub owner_type: &'static str,
    pub owner: Vec<String>,
    /// The citycore account that publishes the lot's sharing windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_username: Option<String>,
    pub total_spot_number: i64,
    pub available_spot_number: Option<i64>,
    pub occupied_spot_number: Option<i64>,
    pub date_observed: Option<String>,
    pub status: Vec<&'static str>,
    pub location: Value,
    pub ref_parking_spot: Vec<String>,
    pub ref_parking_group: Vec<String>,
    pub occupancy_source: super::occupancy::Source,
    pub occupancy_problem: Option<Value>,
    pub grid_area_id: Option<i64>,
}

/// Builds the id of a lot's ParkingGroup of shared spaces.
pub fn group_id(lot_ref: &str) -> String {
    format!("{lot_ref}:shared")
}

pub fn off_street_parking(
    lot: &Lot,
    spaces: &[Space],
    occupancy: &Occupancy,
    zone: chrono_tz::Tz,
) -> OffStreetParking {
    let problem = occupancy.problem.as_ref().map(|problem| {
        json!({
            "device": problem.device,
            "value": problem.value,
            "openCapacity": problem.open_capacity,
            "dateObserved": local_time(problem.observed_at_ms, zone),
        })
    });
    let has_shared = spaces.iter().any(|space| space.shared);
    OffStreetParking {
        id: lot.lot_ref.clone(),
        entity_type: "OffStreetParking",
        name: lot.name.clone(),
        owner_type: lot.owner_type.as_str(),
        owner: [lot.owner_name.clone()].into_iter().filter(|name| !name.is_empty()).collect(),
        owner_username: Some(lot.owner_username.clone()).filter(|name| !name.is_empty()),
        total_spot_number: lot.capacity,
        available_spot_number: occupancy.free,
        occupied_spot_number: occupancy.occupied,
        date_observed: occupancy.observed_at_ms.map(|ms| local_time(ms, zone)),
        status: vec![if lot.closed { "closed" } else { "open" }],
        location: point(lot.longitude, lot.latitude),
        ref_parking_spot: spaces.iter().map(|space| space.space_ref.clone()).collect(),
        ref_parking_group: if has_shared { vec![group_id(&lot.lot_ref)] } else { Vec::new() },
        occupancy_source: occupancy.source,
        occupancy_problem: problem,
        grid_area_id: lot.grid_area_id,
    }
}

/// A space as a ParkingSpot entity.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkingSpot {
    pub id: String,
    #[serde(rename = "type")]
    pub entity_type: &'static str,
    pub name: String,
    pub status: SpotStatus,
    pub ref_parking_site: String,
    pub date_observed: Option<String>,
    pub location: Option<Value>,
    pub shared: bool,
}

/// Builds a ParkingSpot; a space closed in the inventory or in a closed lot is `closed`.
pub fn parking_spot(
    space: &Space,
    lot_closed: bool,
    occupancy: &Occupancy,
    zone: chrono_tz::Tz,
) -> ParkingSpot {
    let reading = occupancy.spaces.get(&space.space_ref);
    let status = if space.closed || lot_closed {
        SpotStatus::Closed
    } else {
        reading.map_or(SpotStatus::Unknown, |reading| reading.status)
    };
    let location = space.longitude.zip(space.latitude).map(|(lon, lat)| point(lon, lat));
    ParkingSpot {
        id: space.space_ref.clone(),
        entity_type: "ParkingSpot",
        name: space.label.clone(),
        status,
        ref_parking_site: space.lot_ref.clone(),
        date_observed: reading.and_then(|r| r.observed_at_ms).map(|ms| local_time(ms, zone)),
        location,
        shared: space.shared,
    }
}

/// Builds the ParkingGroup entity of a lot's shared spaces. `availableSpotNumber` counts
/// the shared spaces whose sensor reports free; without sensors it is null.
pub fn parking_group(lot: &Lot, spaces: &[Space], occupancy: &Occupancy) -> Value {
    let shared: Vec<&Space> = spaces.iter().filter(|space| space.shared).collect();
    let open: Vec<&&Space> = shared.iter().filter(|space| !space.closed && !lot.closed).collect();
    let has_sensors = open.iter().any(|space| occupancy.spaces.contains_key(&space.space_ref));
    let free = open
        .iter()
        .filter(|space| {
            occupancy.spaces.get(&space.space_ref).is_some_and(|r| r.status == SpotStatus::Free)
        })
        .count();
    json!({
        "id": group_id(&lot.lot_ref),
        "type": "ParkingGroup",
        "name": lot.name,
        "refParkingSite": lot.lot_ref,
        "refParkingSpot": shared.iter().map(|space| &space.space_ref).collect::<Vec<_>>(),
        "totalSpotNumber": shared.len(),
        "availableSpotNumber": has_sensors.then_some(free),
    })
}
