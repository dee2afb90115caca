//! Cases (接诉即办): the foundations of the closed case loop.
//!
//! This context owns two kinds of reference data that administrators edit and every
//! case relies on:
//!
//! - [`catalogue`]: the category catalogue of components (部件) and events (事件),
//!   grouped into major (大类) and minor (小类) categories. Each minor category carries
//!   its default department, filing (立案) and closing (结案) criteria, a time limit per
//!   stage and the radius for duplicate search.
//! - [`calendar`]: the working-time calendar (weekly hours, public holidays, make-up
//!   working days) and the deadline arithmetic on it.
//!
//! Invariants: category codes are unique and encode kind, major and minor. Every time
//! limit is a positive amount of working hours or working days. Instants are stored in
//! UTC, and deadlines are computed in the configured zone.
//!
//! [`case`] contains the cases themselves: the stages of the loop, the transition table
//! and the transition log, and [`kpi`] the rates computed over them.

pub mod attachment;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod import;
pub mod inbox;
pub mod kpi;
pub mod pages;
pub mod routing;
pub mod row_error;
pub mod search;

use axum::{Json, Router, extract::rejection::JsonRejection};

use crate::http::{AppError, AppState, UserMessage};

/// Builds the `/api/v1/categories`, `/api/v1/calendar` and `/api/v1/cases` routes, the
/// `/cases` console pages and the public `/track/{token}` page.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(calendar::router())
        .merge(catalogue::router())
        .merge(case::http::router())
        .merge(pages::router())
        .merge(kpi::http::router())
        .merge(routing::router())
        .merge(inbox::router())
}

/// Unwraps a JSON body, turning axum's rejection into our error format.
///
/// # Errors
/// [`AppError::PayloadTooLarge`] (413) for a body over the route's limit, and otherwise
/// `invalid_json_body` (400) with the parser's reason.
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}
