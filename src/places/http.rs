//! `GET /api/v1/places?q=…`: gazetteer lookup for everyone who may report a case.

use crate::http::Query;
use axum::{Json, Router, extract::State, routing::get};
use serde::{Deserialize, Serialize};

use super::{Place, PlaceKind, lookup::lookup_places};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::case::locate::locate_point,
    http::{AppError, AppState, UserMessage},
    locate::AreaIndex,
};

/// Candidates returned when the query does not say how many.
const DEFAULT_LIMIT: usize = 10;
/// Most candidates one query may ask for: enough for a suggestion list.
const MAX_LIMIT: usize = 50;
/// Maximum query length, in characters: a long address line.
const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/places", get(get_places))
}

#[derive(Debug, Deserialize)]
pub struct PlacesQuery {
    q: Option<String>,
    limit: Option<String>,
}

/// An area a place locates to.
#[derive(Debug, Serialize)]
pub struct AreaRef {
    code: String,
    name: String,
}

/// A place as the API shows it; `longitude` and `latitude` are WGS-84 degrees.
///
/// `grid` and `community` are found by locating the point on the current areas, so
/// they follow a re-import of the areas without a re-import of the places.
#[derive(Debug, Serialize)]
pub struct PlaceView {
    place_id: i64,
    name: String,
    aliases: Vec<String>,
    kind: PlaceKind,
    longitude: f64,
    latitude: f64,
    grid: Option<AreaRef>,
    community: Option<AreaRef>,
}

impl PlaceView {
    fn new(place: Place, index: &AreaIndex) -> PlaceView {
        let area = |area_id: Option<i64>| {
            let area = index.area(area_id?)?;
            Some(AreaRef { code: area.code.clone(), name: area.name.clone() })
        };
        let located = locate_point(index, place.longitude, place.latitude);
        PlaceView {
            place_id: place.place_id,
            grid: area(located.map(|(grid_id, _)| grid_id)),
            community: area(located.and_then(|(_, community_id)| community_id)),
            name: place.name,
            aliases: place.aliases,
            kind: place.kind,
            longitude: place.longitude,
            latitude: place.latitude,
        }
    }
}

/// Lookup response: the one matching place (`null` when none or several match), whether
/// several matched, and the likely places with the match first.
#[derive(Debug, Serialize)]
pub struct PlacesResponse {
    #[serde(rename = "match")]
    matched: Option<PlaceView>,
    ambiguous: bool,
    candidates: Vec<PlaceView>,
}

/// Checks `q` (required, at most 200 characters) and `limit` (1–50, default 10).
fn parse_query(query: &PlacesQuery) -> Result<(&str, usize), AppError> {
    let text = query.q.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_QUERY_CHARS {
        let message = UserMessage::new("place_query_invalid").arg("max", MAX_QUERY_CHARS);
        return Err(AppError::BadRequest(message.field("q")));
    }
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(text) => {
            text.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                let message = UserMessage::new("place_limit_invalid")
                    .arg("value", text)
                    .arg("max", MAX_LIMIT);
                AppError::BadRequest(message.field("limit"))
            })?
        }
    };
    Ok((text, limit))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_places(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<PlacesQuery>,
) -> Result<Json<PlacesResponse>, AppError> {
    user.require(Permission::ReportCases)?;
    let (text, limit) = parse_query(&query)?;
    let index = state.locator.snapshot();
    let found = lookup_places(&state.db, &index, text, limit).await?;
    let view = |place| PlaceView::new(place, &index);
    Ok(Json(PlacesResponse {
        matched: found.matched.map(view),
        ambiguous: found.ambiguous,
        candidates: found.candidates.into_iter().map(view).collect(),
    }))
}
