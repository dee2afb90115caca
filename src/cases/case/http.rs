//! The JSON routes of cases: intake, reading, listing, duplicate suggestions and
//! transitions.

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Path, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::StatusCode,
    routing::{get, post},
};
use chrono::Utc;
use serde::Serialize;

use super::{
    duplicates::{DuplicateView, find_duplicates, suggest_duplicates},
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

/// Largest JSON body of a report or a transition, in bytes. A maximal description is
/// 4,000 characters of up to 4 bytes in UTF-8, so 64 KiB leaves room for every other
/// field while keeping the whole server's much larger upload limit away from this route.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Builds the `/api/v1/cases` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(create_case).get(get_cases))
        .route("/api/v1/cases/{case_id}", get(get_case))
        .route("/api/v1/cases/{case_id}/duplicates", get(get_duplicates))
        .route("/api/v1/cases/{case_id}/transitions", post(create_transition))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
}

/// Parses the case id of a path, so that `/api/v1/cases/abc` gets our 404 body.
fn case_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, AppError> {
    path.map(|Path(case_id)| case_id).map_err(|_| AppError::not_found("case", "?"))
}

/// The response to a new report: the stored case and the open cases it may duplicate.
#[derive(Debug, Serialize)]
struct IntakeView {
    #[serde(flatten)]
    case: CaseView,
    /// Nearest first; only cases the reporter may read, so residents see few or none.
    possible_duplicates: Vec<DuplicateView>,
}

async fn create_case(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<IntakeInput>, JsonRejection>,
) -> Result<(StatusCode, Json<IntakeView>), AppError> {
    user.require(Permission::ReportCases)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let case = submit_case(&state.db, &index, tz, &user, input).await?;
    let duplicates = find_duplicates(&state.db, &index, &user, &case).await?;
    let view = IntakeView {
        case: CaseView::new(case, tz, Utc::now(), true),
        possible_duplicates: duplicates.into_iter().map(|d| DuplicateView::new(d, tz)).collect(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

async fn get_duplicates(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<DuplicateView>>, AppError> {
    user.require(Permission::ViewCases)?;
    let case_id = case_id(path)?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let views = suggest_duplicates(&state.db, &index, tz, &user, case_id).await?;
    Ok(Json(views))
}

async fn get_case(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<CaseView>, AppError> {
    let case_id = case_id(path)?;
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
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<TransitionInput>, JsonRejection>,
) -> Result<Json<CaseView>, AppError> {
    let case_id = case_id(path)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let case = transition_case(&state.db, &index, &state.settings, &user, case_id, input).await?;
    let show_token = case.reporter_user_id == Some(user.user_id);
    Ok(Json(CaseView::new(case, state.settings.time_zone(), Utc::now(), show_token)))
}
