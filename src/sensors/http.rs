//! Routes of the sensors context.
//!
//! - `POST /api/v1/readings`: a device token or gateway key in `Authorization: Bearer`.
//! - `POST /api/v1/devices`, `POST /api/v1/ingest-keys`: administrators.
//! - `GET /api/v1/devices/{id}`, `…/series`, `…/conflicts`: staff.

use crate::http::Query;
use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Attribute,
    devices::{self, DeviceError, DeviceInput, IssuedToken},
    ingest,
    rollup::{Aggregate, Step},
    store::{Device, SensorStore},
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, error::request_locale},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/readings", post(submit_readings))
        .route("/api/v1/devices", post(register_device))
        .route("/api/v1/ingest-keys", post(create_ingest_key))
        .route("/api/v1/devices/{id}", get(show_device))
        .route("/api/v1/devices/{id}/series", get(device_series))
        .route("/api/v1/devices/{id}/conflicts", get(list_conflicts))
}

#[derive(Serialize)]
struct RejectedItem {
    index: usize,
    code: &'static str,
    message: String,
    field: Option<String>,
}

#[derive(Serialize)]
struct BatchResponse {
    accepted: usize,
    /// Absent for a queued batch: its duplicates and conflicts are found later.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicates: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflicts: Option<Vec<usize>>,
    rejected: Vec<RejectedItem>,
    /// True when the accepted readings were queued rather than written.
    queued: bool,
}

/// The `Preference-Applied` header of a queued batch's response.
type PreferenceApplied = [(&'static str, &'static str); 1];

/// Returns true when the request sets `Prefer: respond-async` (RFC 7240), which selects
/// the queued path.
fn prefers_async(headers: &HeaderMap) -> bool {
    headers.get_all("prefer").iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').any(|preference| {
            let name = preference.split(';').next().unwrap_or_default().trim();
            name.eq_ignore_ascii_case("respond-async")
        })
    })
}

/// Stores a batch of readings; 200 when every item was accepted, 207 when some were
/// rejected (each listed with its position and reason). With `Prefer: respond-async`
/// the accepted readings are queued ([`super::queue`]) and the response is 202, or 207
/// with rejects, and carries `Preference-Applied: respond-async`.
#[tracing::instrument(skip_all, fields(device.id))]
async fn submit_readings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Option<PreferenceApplied>, Json<BatchResponse>), AppError> {
    let credential = ingest::authenticate(&state.db, &headers).await?;
    if let super::store::Credential::Device(device) = &credential {
        tracing::Span::current().record("device.id", device.external_id.as_str());
    }
    let limits = &state.settings.sensors;
    let raw = axum::body::to_bytes(body, limits.max_batch_bytes)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let decoded = ingest::decode_body(&headers, raw.to_vec(), limits.max_decompressed_bytes)?;
    let items =
        ingest::parse_batch(ingest::body_format(&headers), &decoded, limits.max_batch_items)?;
    let prefers_async = prefers_async(&headers);
    let outcome = if prefers_async {
        ingest::ingest_queued(&state, &credential, items).await?
    } else {
        ingest::ingest(&state, &credential, items).await?
    };
    // Nothing is queued when every item was rejected or the batch was empty.
    let queued = prefers_async && outcome.accepted > 0;
    let locale = request_locale(&headers, state.default_locale());
    let status = match (outcome.rejected.is_empty(), queued) {
        (false, _) => StatusCode::MULTI_STATUS,
        (true, true) => StatusCode::ACCEPTED,
        (true, false) => StatusCode::OK,
    };
    let rejected = outcome
        .rejected
        .into_iter()
        .map(|r| RejectedItem {
            index: r.index,
            code: r.message.code,
            message: r.message.render(locale),
            field: r.message.field,
        })
        .collect();
    let response = BatchResponse {
        accepted: outcome.accepted,
        duplicates: (!queued).then_some(outcome.duplicates),
        conflicts: (!queued).then_some(outcome.conflicts),
        rejected,
        queued,
    };
    let applied = queued.then_some([("preference-applied", "respond-async")]);
    Ok((status, applied, Json(response)))
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}

fn device_error(error: DeviceError) -> AppError {
    match error {
        DeviceError::Invalid(mut errors) => AppError::Invalid(errors.remove(0).message),
        DeviceError::Unreadable(reason) => {
            AppError::BadRequest(UserMessage::new("invalid_json_body").arg("reason", reason))
        }
        DeviceError::Store(super::store::StoreError::DuplicateDevice(id)) => {
            AppError::Conflict(UserMessage::new("device_id_taken").arg("id", id).field("id"))
        }
        DeviceError::Store(other) => AppError::Internal(other.into()),
    }
}

/// Registers one device and returns its token, which is not shown again.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, device.id))]
async fn register_device(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<DeviceInput>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedToken>), AppError> {
    user.require(Permission::ManageDevices)?;
    let input = json_body(body)?;
    tracing::Span::current().record("device.id", input.id.as_str());
    let areas = state.locator.snapshot();
    let mut issued =
        devices::register_devices(&state.db, &areas, vec![input]).await.map_err(device_error)?;
    tracing::info!("device registered");
    Ok((StatusCode::CREATED, Json(issued.remove(0))))
}

#[derive(Deserialize)]
struct IngestKeyInput {
    name: String,
}

/// Creates a gateway key that may submit readings of any device; shown once.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_ingest_key(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<IngestKeyInput>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    user.require(Permission::ManageDevices)?;
    let input = json_body(body)?;
    let token =
        super::cli::create_ingest_key(&state.db, &input.name).await.map_err(device_error)?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "name": input.name, "token": token }))))
}

async fn load_device(state: &AppState, id: &str) -> Result<Device, AppError> {
    let device = state.db.device(id).await.map_err(anyhow::Error::from)?;
    device.ok_or_else(|| AppError::not_found("device", id))
}

#[derive(Serialize)]
struct LatestView {
    attribute: &'static str,
    value: f64,
    observed_at: String,
}

#[derive(Serialize)]
struct DeviceView {
    #[serde(flatten)]
    device: Device,
    latest: Vec<LatestView>,
}

/// Shows a device with the newest measurement of each of its attributes.
// NOTE: any staff member sees every device; devices are not yet filtered by the
// viewer's area scope.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, device.id = %id))]
async fn show_device(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, AppError> {
    user.require(Permission::ViewDevices)?;
    let device = load_device(&state, &id).await?;
    let zone = state.settings.sensor_time_zone();
    let latest = state.db.latest_values(device.device_id).await.map_err(anyhow::Error::from)?;
    let latest = latest
        .into_iter()
        .map(|l| LatestView {
            attribute: l.attribute.name(),
            value: l.value,
            observed_at: local_time(l.observed_at_ms, zone),
        })
        .collect();
    Ok(Json(DeviceView { device, latest }))
}

/// Formats UTC milliseconds as RFC 3339 with the offset of `zone`.
fn local_time(ms: i64, zone: chrono_tz::Tz) -> String {
    let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    zone.from_utc_datetime(&utc.naive_utc()).to_rfc3339()
}

#[derive(Deserialize)]
struct SeriesQuery {
    attribute: String,
    from: String,
    to: String,
    step: String,
}

#[derive(Serialize)]
struct Bucket {
    start: String,
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
    mean: f64,
    first: f64,
    first_at: String,
    last: f64,
    last_at: String,
}

/// Lists the rollups of one attribute whose bucket starts in `[from, to)`.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, device.id = %id))]
async fn device_series(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<SeriesQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    let device = load_device(&state, &id).await?;
    let invalid =
        |code: &'static str, field: &str| AppError::BadRequest(UserMessage::new(code).field(field));
    let attribute = Attribute::parse(&query.attribute)
        .filter(|a| device.kind.attributes().contains(a))
        .ok_or_else(|| invalid("series_attribute_invalid", "attribute"))?;
    let step = Step::parse(&query.step).ok_or_else(|| invalid("series_step_invalid", "step"))?;
    let parse = |text: &str, field| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|_| invalid("series_time_invalid", field))
    };
    let (from_ms, to_ms) = (parse(&query.from, "from")?, parse(&query.to, "to")?);
    let rows = state
        .db
        .rollups(device.device_id, attribute, step, from_ms, to_ms)
        .await
        .map_err(anyhow::Error::from)?;
    let zone = state.settings.sensor_time_zone();
    let buckets: Vec<Bucket> =
        rows.into_iter().map(|(start, a)| bucket_view(start, &a, zone)).collect();
    Ok(Json(serde_json::json!({
        "device": device.external_id,
        "attribute": attribute.name(),
        "step": step,
        "time_zone": zone.name(),
        "buckets": buckets,
    })))
}

fn bucket_view(start_ms: i64, a: &Aggregate, zone: chrono_tz::Tz) -> Bucket {
    Bucket {
        start: local_time(start_ms, zone),
        count: a.count,
        sum: a.sum,
        min: a.min,
        max: a.max,
        mean: a.sum / a.count as f64,
        first: a.first_value,
        first_at: local_time(a.first_at_ms, zone),
        last: a.last_value,
        last_at: local_time(a.last_at_ms, zone),
    }
}

/// Lists the newest 1,000 conflicting values of a device.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, device.id = %id))]
async fn list_conflicts(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    let device = load_device(&state, &id).await?;
    let zone = state.settings.sensor_time_zone();
    let conflicts =
        state.db.conflicts(device.device_id, 1000).await.map_err(anyhow::Error::from)?;
    let items: Vec<serde_json::Value> = conflicts
        .iter()
        .map(|c| {
            serde_json::json!({
                "attribute": c.attribute.name(),
                "observed_at": local_time(c.observed_at_ms, zone),
                "stored_value": c.stored_value,
                "conflicting_value": c.conflicting_value,
                "received_at": local_time(c.received_at_ms, zone),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "device": device.external_id, "conflicts": items })))
}
