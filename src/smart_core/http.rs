//! JSON and event-stream routes of the dashboard, for staff who may read devices.
//!
//! - `GET /api/v1/smart-core/series?area=&from=&to=&step=`: one series per quantity
//!   group over the area's devices.
//! - `GET /api/v1/smart-core/events?area=`: live device and alarm changes (see
//!   [`super::live`]).

use crate::http::Query;
use axum::{
    Json, Router,
    extract::State,
    response::sse::{KeepAlive, Sse},
    routing::get,
};
use serde::{Deserialize, Serialize};

use super::{
    live,
    period::Period,
    scope::{grid_ids, resolve_area},
    series::{Combine, Group},
    service::area_series,
};
use crate::{
    accounts::{CurrentUser, Permission},
    alarms::case_link::local_time,
    http::{AppError, AppState, pages::PageContext},
    sensors::rollup::Step,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/smart-core/series", get(get_series))
        .route("/api/v1/smart-core/events", get(get_events))
}

#[derive(Deserialize)]
struct SeriesQuery {
    area: Option<String>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    step: Option<String>,
}

#[derive(Serialize)]
struct PointView {
    /// Bucket start, RFC 3339 with the offset of the sensors' time zone.
    start: String,
    value: Option<f64>,
    readings: i64,
    devices: i64,
}

#[derive(Serialize)]
struct GroupView {
    group: Group,
    label: String,
    attribute: &'static str,
    unit: &'static str,
    combine: Combine,
    device_count: usize,
    points: Vec<PointView>,
}

#[derive(Serialize)]
struct SeriesResponse {
    area: String,
    area_name: String,
    from: String,
    to: String,
    step: Step,
    time_zone: &'static str,
    groups: Vec<GroupView>,
}

/// Lists one series per quantity group for the area's devices, a point per bucket of
/// `step` from `from` (inclusive) to `to` (exclusive).
#[tracing::instrument(skip_all, fields(user.id = user.user_id, area.code))]
async fn get_series(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<SeriesQuery>,
) -> Result<Json<SeriesResponse>, AppError> {
    user.require(Permission::ViewDevices)?;
    let index = state.locator.snapshot();
    let area = resolve_area(&user, &index, query.area.as_deref())?;
    tracing::Span::current().record("area.code", area.code.as_str());
    let period = Period::of_query(&query.from, &query.to, query.step.as_deref())?;
    let series = area_series(&state, &grid_ids(&index, area.area_id), &period).await?;
    let zone = state.settings.sensor_time_zone();
    let groups = series
        .into_iter()
        .map(|s| GroupView {
            group: s.group,
            label: ctx.t(&s.group.message_id()),
            attribute: s.attribute,
            unit: s.unit,
            combine: s.combine,
            device_count: s.device_count,
            points: s
                .points
                .iter()
                .map(|p| PointView {
                    start: local_time(p.start_ms, zone),
                    value: p.value,
                    readings: p.readings,
                    devices: p.devices,
                })
                .collect(),
        })
        .collect();
    Ok(Json(SeriesResponse {
        area: area.code.clone(),
        area_name: area.name.clone(),
        from: local_time(period.from_ms, zone),
        to: local_time(period.to_ms, zone),
        step: period.step,
        time_zone: zone.name(),
        groups,
    }))
}

#[derive(Deserialize)]
struct EventsQuery {
    area: Option<String>,
}

/// Streams device and alarm changes of the area; see [`super::live`].
#[tracing::instrument(skip_all, fields(user.id = user.user_id, area.code))]
async fn get_events(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<EventsQuery>,
) -> Result<
    Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    AppError,
> {
    user.require(Permission::ViewDevices)?;
    let index = state.locator.snapshot();
    let area = resolve_area(&user, &index, query.area.as_deref())?;
    tracing::Span::current().record("area.code", area.code.as_str());
    let grids = grid_ids(&index, area.area_id);
    tracing::debug!("smart core stream opened");
    let stream = live::stream(state.clone(), user, grids, ctx.locale);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
