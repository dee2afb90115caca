//! The console page `/parking/lots` (停车场): a Leaflet map of lots with their free
//! counts, and the same lots in a table that works without JavaScript.
//!
//! The server writes each lot's display position into the table row, already shifted to
//! GCJ-02 when the operator's tiles use it, so the script only places markers.

use askama::Template;
use axum::{Router, extract::State, response::Html, routing::get};
use chrono::Utc;

use super::{LotState, occupancy::Source};
use crate::{
    accounts::{CurrentUser, Permission},
    console::{PageContext, render},
    http::{AppError, AppState},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/parking/lots", get(get_lots_page))
}

/// One table row and map marker.
struct LotRow {
    lot_ref: String,
    name: String,
    owner_type_id: String,
    status_id: &'static str,
    /// `free / open capacity`, or a dash when unknown or closed.
    free_text: String,
    total: i64,
    source_id: &'static str,
    /// Local time of the data and its age, or empty without data.
    observed_text: String,
    age_minutes: Option<i64>,
    problem: Option<String>,
    display_longitude: f64,
    display_latitude: f64,
}

#[derive(Template)]
#[template(path = "parking/lots.html")]
struct LotsPage {
    ctx: PageContext,
    tile_url: String,
    tile_attribution: String,
    lots: Vec<LotRow>,
    /// Administrators open every lot's sharing page from the table.
    links_to_sharing: bool,
}

fn lot_row(state: &LotState, tiles_gcj02: bool, zone: chrono_tz::Tz, now_ms: i64) -> LotRow {
    let (lot, occupancy) = (&state.lot, &state.occupancy);
    let free_text = match occupancy.free {
        Some(free) => format!("{free} / {}", occupancy.open_capacity),
        None => "–".to_owned(),
    };
    let observed = occupancy.observed_at_ms;
    let (display_longitude, display_latitude) = if tiles_gcj02 {
        coordtransform::wgs84_to_gcj02(lot.longitude, lot.latitude)
    } else {
        (lot.longitude, lot.latitude)
    };
    let source_id = match occupancy.source {
        Source::SpaceSensors => "parking-source-space-sensors",
        Source::LotCounter => "parking-source-lot-counter",
        Source::ManualCount => "parking-source-manual-count",
        Source::None => "parking-source-none",
    };
    LotRow {
        lot_ref: lot.lot_ref.clone(),
        name: lot.name.clone(),
        owner_type_id: format!("parking-owner-{}", lot.owner_type.as_str()),
        status_id: if lot.closed { "parking-status-closed" } else { "parking-status-open" },
        free_text,
        total: lot.capacity,
        source_id,
        observed_text: observed
            .map(|ms| super::fiware::local_time(ms, zone).replace('T', " "))
            .unwrap_or_default(),
        age_minutes: observed.map(|ms| ((now_ms - ms) / 60_000).max(0)),
        problem: occupancy.problem.as_ref().map(|problem| {
            let source = problem.device.clone().unwrap_or_default();
            format!("{source} {} > {}", problem.value, problem.open_capacity)
        }),
        display_longitude,
        display_latitude,
    }
}

/// Shows every lot with its live free count and data age.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_lots_page(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewDevices)?;
    let now_ms = Utc::now().timestamp_millis();
    let hold = state.settings.sensors.parking_status_hold_seconds;
    let states = super::all_lot_states(&state.db, hold, now_ms).await?;
    let map = &state.settings.map;
    let zone = state.settings.time_zone();
    let lots = states.iter().map(|lot| lot_row(lot, map.tiles_gcj02, zone, now_ms)).collect();
    let page = LotsPage {
        ctx: ctx.at("parking"),
        tile_url: map.tile_url.clone(),
        tile_attribution: map.tile_attribution.clone(),
        lots,
        links_to_sharing: user.role == crate::accounts::Role::Administrator,
    };
    render(&page)
}
