//! The web console: server-rendered pages in Simplified Chinese and English.

use axum::Router;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
