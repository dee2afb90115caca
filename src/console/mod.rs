//! The web console: server-rendered pages in Simplified Chinese (default) and English.
//!
//! This context owns the dashboard, the area tree and the grid map. Pages are askama
//! templates extending `templates/layout.html`, fed by [`PageContext`]; every form
//! posts without JavaScript, and scripts only enhance (the map). Account pages live in
//! [`crate::accounts`].

mod areas;
mod dashboard;
mod map;

use axum::{Router, routing::get};

use crate::http::AppState;
pub use crate::http::pages::PageContext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::get_dashboard))
        .route("/areas", get(areas::get_area_tree))
        .route("/areas/{code}", get(areas::get_area_detail))
        .route("/map", get(map::get_map))
}

/// Renders an askama template into an HTML response, mapping template bugs to 500.
pub(crate) fn render(
    template: &impl askama::Template,
) -> Result<axum::response::Html<String>, crate::http::AppError> {
    template
        .render()
        .map(axum::response::Html)
        .map_err(|error| crate::http::AppError::Internal(error.into()))
}
