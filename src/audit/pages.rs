//! `GET /audit`: the administrator's view of the audit log.

use axum::Router;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
