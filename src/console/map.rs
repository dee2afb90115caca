//! The grid map (网格地图): area polygons drawn by Leaflet from the GeoJSON API.
//!
//! Without a configured tile server the map shows polygons on a plain background, so
//! the page never contacts another host. The same grids are listed in a table below
//! the map for keyboard and screen-reader users and for browsers without JavaScript.

use askama::Template;
use axum::{extract::State, response::Html};

use super::{PageContext, render};
use crate::{
    accounts::{CurrentUser, Permission},
    areas::Level,
    http::{AppError, AppState},
};

#[derive(Template)]
#[template(path = "console/map.html")]
struct MapPage {
    ctx: PageContext,
    tile_url: String,
    tile_attribution: String,
    tiles_gcj02: bool,
    /// Name, code and community name of each grid, for the table.
    grids: Vec<(String, String, String)>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_map(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewAreas)?;
    let index = state.locator.snapshot();
    let areas = index.areas();
    let grids = areas
        .iter()
        .filter(|a| a.level == Level::Grid)
        .map(|grid| {
            let community = grid
                .parent_id
                .and_then(|id| areas.iter().find(|a| a.area_id == id))
                .map(|a| a.name.clone())
                .unwrap_or_default();
            (grid.name.clone(), grid.code.clone(), community)
        })
        .collect();
    let map = &state.settings.map;
    let page = MapPage {
        ctx: ctx.at("map"),
        tile_url: map.tile_url.clone(),
        tile_attribution: map.tile_attribution.clone(),
        tiles_gcj02: map.tiles_gcj02,
        grids,
    };
    render(&page)
}
