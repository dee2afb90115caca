//! Routes of the parking inventory under `/api/v1/parking/`.
//!
//! Staff (`ViewDevices`) read lots and spaces and post manual counts, because the grid
//! workers who walk a lot are the ones who count it. Administrators (`ManageDevices`)
//! create, update and import the inventory, as they register the devices that report it.

use crate::http::Query;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    InventoryError, fiware,
    import::{Format, ImportReport, import_inventory},
    store::{self, WriteMode},
    validate::{LotInput, SpaceInput, validate_lot, validate_space},
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/parking/lots", get(list_lots).post(create_lot))
        .route("/api/v1/parking/lots/{lot_ref}", get(show_lot).put(update_lot))
        .route("/api/v1/parking/lots/{lot_ref}/spots", get(list_lot_spots))
        .route("/api/v1/parking/lots/{lot_ref}/group", get(show_lot_group))
        .route("/api/v1/parking/lots/{lot_ref}/counts", post(create_count))
        .route("/api/v1/parking/spots", post(create_spot))
        .route("/api/v1/parking/spots/{space_ref}", get(show_spot).put(update_spot))
        .route("/api/v1/parking/import", post(import_file))
        .merge(super::pages::router())
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

async fn lot_entity(state: &AppState, lot_ref: &str) -> Result<Value, AppError> {
    let lot = store::lot_by_ref(&state.db, lot_ref).await?;
    let hold = state.settings.sensors.parking_status_hold_seconds;
    let lot_state = super::lot_state(&state.db, lot, hold, now_ms()).await?;
    let zone = state.settings.sensor_time_zone();
    let entity =
        fiware::off_street_parking(&lot_state.lot, &lot_state.spaces, &lot_state.occupancy, zone);
    Ok(serde_json::to_value(entity).map_err(anyhow::Error::from)?)
}

/// Lists every lot as OffStreetParking with its live figures.
// NOTE: any staff member can read every lot; lots are not yet filtered by area scope.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_lots(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<fiware::OffStreetParking>>, AppError> {
    user.require(Permission::ViewDevices)?;
    let hold = state.settings.sensors.parking_status_hold_seconds;
    let states = super::all_lot_states(&state.db, hold, now_ms()).await?;
    let zone = state.settings.sensor_time_zone();
    let entities = states
        .iter()
        .map(|s| fiware::off_street_parking(&s.lot, &s.spaces, &s.occupancy, zone))
        .collect();
    Ok(Json(entities))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.lot = %lot_ref))]
async fn show_lot(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    Ok(Json(lot_entity(&state, &lot_ref).await?))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_lot(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<LotInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    user.require(Permission::ManageDevices)?;
    let lot = validate_lot(json_body(body)?, &state.locator.snapshot())
        .map_err(InventoryError::Invalid)?;
    store::write_inventory(&state.db, std::slice::from_ref(&lot), &[], WriteMode::Create, false)
        .await?;
    tracing::info!(parking.lot = %lot.lot_ref, "parking lot created");
    Ok((StatusCode::CREATED, Json(lot_entity(&state, &lot.lot_ref).await?)))
}

/// Replaces a lot's fields; the ref comes from the path.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.lot = %lot_ref))]
async fn update_lot(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
    body: Result<Json<LotInput>, JsonRejection>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::ManageDevices)?;
    let input = LotInput { lot_ref: Some(lot_ref.clone()), ..json_body(body)? };
    let lot = validate_lot(input, &state.locator.snapshot()).map_err(InventoryError::Invalid)?;
    store::write_inventory(&state.db, &[lot], &[], WriteMode::Update, false).await?;
    tracing::info!("parking lot updated");
    Ok(Json(lot_entity(&state, &lot_ref).await?))
}

async fn spot_entities(state: &AppState, lot_ref: &str) -> Result<super::LotState, AppError> {
    let lot = store::lot_by_ref(&state.db, lot_ref).await?;
    let hold = state.settings.sensors.parking_status_hold_seconds;
    Ok(super::lot_state(&state.db, lot, hold, now_ms()).await?)
}

/// Lists a lot's spaces as ParkingSpot entities with their debounced status.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.lot = %lot_ref))]
async fn list_lot_spots(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<Vec<fiware::ParkingSpot>>, AppError> {
    user.require(Permission::ViewDevices)?;
    let lot_state = spot_entities(&state, &lot_ref).await?;
    let zone = state.settings.sensor_time_zone();
    let spots = lot_state
        .spaces
        .iter()
        .map(|space| fiware::parking_spot(space, lot_state.lot.closed, &lot_state.occupancy, zone))
        .collect();
    Ok(Json(spots))
}

/// Shows a lot's shared spaces (共享车位) as one ParkingGroup.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.lot = %lot_ref))]
async fn show_lot_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    let lot_state = spot_entities(&state, &lot_ref).await?;
    Ok(Json(fiware::parking_group(&lot_state.lot, &lot_state.spaces, &lot_state.occupancy)))
}

async fn spot_entity(state: &AppState, space_ref: &str) -> Result<Value, AppError> {
    let space = store::space_by_ref(&state.db, space_ref).await?;
    let lot_state = spot_entities(state, &space.lot_ref).await?;
    let zone = state.settings.sensor_time_zone();
    let spot = fiware::parking_spot(&space, lot_state.lot.closed, &lot_state.occupancy, zone);
    Ok(serde_json::to_value(spot).map_err(anyhow::Error::from)?)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.space = %space_ref))]
async fn show_spot(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(space_ref): Path<String>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    Ok(Json(spot_entity(&state, &space_ref).await?))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_spot(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<SpaceInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    user.require(Permission::ManageDevices)?;
    let space = validate_space(json_body(body)?).map_err(InventoryError::Invalid)?;
    store::write_inventory(&state.db, &[], std::slice::from_ref(&space), WriteMode::Create, false)
        .await?;
    tracing::info!(parking.space = %space.space_ref, "parking space created");
    Ok((StatusCode::CREATED, Json(spot_entity(&state, &space.space_ref).await?)))
}

/// Replaces a space's fields; the ref comes from the path.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.space = %space_ref))]
async fn update_spot(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(space_ref): Path<String>,
    body: Result<Json<SpaceInput>, JsonRejection>,
) -> Result<Json<Value>, AppError> {
    user.require(Permission::ManageDevices)?;
    store::space_by_ref(&state.db, &space_ref).await?;
    let input = SpaceInput { space_ref: Some(space_ref.clone()), ..json_body(body)? };
    let space = validate_space(input).map_err(InventoryError::Invalid)?;
    store::write_inventory(&state.db, &[], &[space], WriteMode::Update, false).await?;
    tracing::info!("parking space updated");
    Ok(Json(spot_entity(&state, &space_ref).await?))
}

#[derive(Deserialize)]
struct CountInput {
    occupied: Option<i64>,
    /// When the count was taken; now when missing.
    #[serde(default)]
    observed_at: Option<DateTime<chrono::FixedOffset>>,
}

/// Records a manual count of occupied spaces (`{"occupied": 12}`).
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.lot = %lot_ref))]
async fn create_count(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
    body: Result<Json<CountInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    user.require(Permission::ViewDevices)?;
    let input = json_body(body)?;
    let occupied = input.occupied.ok_or_else(|| {
        AppError::Invalid(UserMessage::new("parking_count_missing").field("occupied"))
    })?;
    let observed_ms = input.observed_at.map_or_else(now_ms, |at| at.timestamp_millis());
    if observed_ms > now_ms() + state.settings.sensors.max_future_skew_seconds * 1000 {
        return Err(AppError::Invalid(
            UserMessage::new("parking_count_in_future").field("observed_at"),
        ));
    }
    super::record_count(&state.db, &lot_ref, occupied, observed_ms, user.user_id).await?;
    Ok((StatusCode::CREATED, Json(lot_entity(&state, &lot_ref).await?)))
}

#[derive(Deserialize)]
struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
}

/// Imports lots and spaces from the body: GeoJSON for a JSON content type, CSV
/// otherwise. `?dry_run=true` checks without writing.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn import_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportReport>, AppError> {
    user.require(Permission::ManageDevices)?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let format = if content_type.contains("json") { Format::GeoJson } else { Format::Csv };
    let areas = state.locator.snapshot();
    let report = import_inventory(&state.db, &areas, &body, format, query.dry_run).await?;
    Ok(Json(report))
}
