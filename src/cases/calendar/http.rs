//! `GET /api/v1/calendar/{year}` and `POST /api/v1/calendar/deadline`.

use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    routing::{get, post},
};

use super::service::{self, Deadline, DeadlineInput, YearView};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::json_body,
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calendar/deadline", post(compute_deadline))
        .route("/api/v1/calendar/{year}", get(show_year))
}

/// Returns the weekly hours, holidays and make-up working days of one year.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, calendar.year = %year))]
async fn show_year(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(year): Path<String>,
) -> Result<Json<YearView>, AppError> {
    user.require(Permission::ViewCatalogue)?;
    let year: i32 = year
        .parse()
        .map_err(|_| AppError::Invalid(UserMessage::new("invalid_year").arg("value", &year)))?;
    let view = service::year_view(&state.db, state.settings.time_zone(), year).await?;
    Ok(Json(view))
}

/// Computes the deadline after a working-time amount, with offsets in the calendar's
/// zone.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn compute_deadline(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<DeadlineInput>, JsonRejection>,
) -> Result<Json<Deadline>, AppError> {
    user.require(Permission::ViewCatalogue)?;
    let input = json_body(body)?;
    let deadline = service::compute_deadline(&state.db, state.settings.time_zone(), input).await?;
    Ok(Json(deadline))
}
