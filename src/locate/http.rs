//! `GET /api/v1/locate`: the grid of a point, public.

use crate::http::Query;
use axum::{Json, Router, extract::State, routing::get};
use serde::{Deserialize, Serialize};

use super::Location;
use crate::{
    areas::{Area, crs::Crs},
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/locate", get(get_locate))
}

/// Raw query parameters, kept as text so that each bad one gets its own message.
#[derive(Debug, Deserialize)]
pub struct LocateQuery {
    lat: Option<String>,
    lon: Option<String>,
    crs: Option<String>,
}

/// A point parsed from the query and converted to WGS-84.
#[derive(Debug, Clone, Copy)]
struct QueryPoint {
    crs: Crs,
    lon: f64,
    lat: f64,
}

impl TryFrom<LocateQuery> for QueryPoint {
    type Error = AppError;

    fn try_from(query: LocateQuery) -> Result<Self, AppError> {
        let crs = match query.crs.as_deref() {
            None | Some("") => Crs::Wgs84,
            Some(text) => Crs::parse(text).ok_or_else(|| {
                AppError::BadRequest(UserMessage::new("crs_unknown").arg("crs", text).field("crs"))
            })?,
        };
        let lat = coordinate("lat", query.lat.as_deref(), 90.0)?;
        let lon = coordinate("lon", query.lon.as_deref(), 180.0)?;
        let (lon, lat) = crs.to_wgs84(lon, lat);
        Ok(QueryPoint { crs, lon, lat })
    }
}

fn coordinate(field: &'static str, text: Option<&str>, limit: f64) -> Result<f64, AppError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Err(AppError::BadRequest(
            UserMessage::new("coordinate_missing").arg("field", field).field(field),
        ));
    };
    let value = text.trim().parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= limit);
    value.ok_or_else(|| {
        let message = UserMessage::new("coordinate_invalid").arg("field", field).arg("value", text);
        AppError::BadRequest(message.arg("limit", limit).field(field))
    })
}

/// An area as the locate response shows it.
#[derive(Debug, Serialize)]
pub struct AreaSummary {
    code: String,
    name: String,
    level: crate::areas::Level,
}

impl From<&Area> for AreaSummary {
    fn from(area: &Area) -> Self {
        Self { code: area.code.clone(), name: area.name.clone(), level: area.level }
    }
}

/// The response. `lat` and `lon` are the WGS-84 point used, whatever `crs` the input had.
///
/// `grid` is the grid the point belongs to (possibly the nearest one, then `outside`
/// is true and `distance_m` set); `area` is the deepest area containing the point, or
/// the grid when no area contains it; `ancestors` are those of `grid`, else of `area`,
/// city first.
#[derive(Debug, Serialize)]
pub struct LocateResponse {
    /// The system of the request's coordinates.
    crs: Crs,
    lat: f64,
    lon: f64,
    grid: Option<AreaSummary>,
    area: AreaSummary,
    ancestors: Vec<AreaSummary>,
    on_boundary: bool,
    outside: bool,
    distance_m: Option<f64>,
}

#[tracing::instrument(skip_all, fields(locate.grid = tracing::field::Empty))]
async fn get_locate(
    State(state): State<AppState>,
    Query(query): Query<LocateQuery>,
) -> Result<Json<LocateResponse>, AppError> {
    let point = QueryPoint::try_from(query)?;
    let index = state.locator.snapshot();
    let location = index.locate(point.lon, point.lat).ok_or_else(|| {
        AppError::NotFound(
            UserMessage::new("not_in_any_area").arg("lat", point.lat).arg("lon", point.lon),
        )
    })?;
    tracing::Span::current().record("locate.grid", location.area.code.as_str());
    Ok(Json(response(point, location, &index)))
}

fn response(point: QueryPoint, location: Location<'_>, index: &super::AreaIndex) -> LocateResponse {
    let area = location.area;
    let is_grid = area.level == crate::areas::Level::Grid;
    LocateResponse {
        crs: point.crs,
        lat: point.lat,
        lon: point.lon,
        grid: is_grid.then(|| AreaSummary::from(area)),
        area: AreaSummary::from(location.containing.unwrap_or(area)),
        ancestors: index.ancestors(area.area_id).into_iter().map(AreaSummary::from).collect(),
        on_boundary: location.on_boundary,
        outside: location.outside,
        distance_m: location.distance_m,
    }
}
