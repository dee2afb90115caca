//! The JSON routes of cases: intake, reading, listing and transitions.

use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::JsonRejection},
    http::StatusCode,
    routing::{get, post},
};
use chrono::Utc;

use super::{
    intake::{IntakeInput, submit_case},
    query::{ListQuery, list_cases, read_case},
    transitions::{TransitionInput, transition_case},
    view::CaseView,
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::json_body,
    http::{AppError, AppState},
};

/// Builds the `/api/v1/cases` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(create_case).get(get_cases))
        .route("/api/v1/cases/{case_id}", get(get_case))
        .route("/api/v1/cases/{case_id}/transitions", post(create_transition))
}

async fn create_case(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<IntakeInput>, JsonRejection>,
) -> Result<(StatusCode, Json<CaseView>), AppError> {
    user.require(Permission::ReportCases)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let case = submit_case(&state.db, &index, tz, &user, input).await?;
    Ok((StatusCode::CREATED, Json(CaseView::new(case, tz, Utc::now(), true))))
}

async fn get_case(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(case_id): Path<i64>,
) -> Result<Json<CaseView>, AppError> {
    let index = state.locator.snapshot();
    let view = read_case(&state.db, &index, state.settings.time_zone(), &user, case_id).await?;
    Ok(Json(view))
}

async fn get_cases(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<CaseView>>, AppError> {
    user.require(Permission::ViewCases)?;
    let index = state.locator.snapshot();
    let views = list_cases(&state.db, &index, state.settings.time_zone(), &user, query).await?;
    Ok(Json(views))
}

async fn create_transition(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(case_id): Path<i64>,
    body: Result<Json<TransitionInput>, JsonRejection>,
) -> Result<Json<CaseView>, AppError> {
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let case = transition_case(&state.db, &index, &state.settings, &user, case_id, input).await?;
    let show_token = case.reporter_user_id == Some(user.user_id);
    Ok(Json(CaseView::new(case, state.settings.time_zone(), Utc::now(), show_token)))
}
