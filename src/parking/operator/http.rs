//! Routes of the operator console and its JSON report.

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    routing::get,
};
use chrono::Utc;
use serde::Deserialize;

use super::{
    analysis, page,
    report::{self, OperatorReport, Period},
};
use crate::{
    accounts::{CurrentUser, Permission, Role},
    http::{AppError, AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/parking/operator-report", get(get_operator_report))
        .route("/parking/operator", get(page::get_operator_page))
        .merge(
            Router::new()
                .route(
                    "/parking/analysis",
                    get(analysis::get_analysis).post(analysis::post_analysis),
                )
                // Above the file limit, so that read_form reports the limit itself.
                .layer(DefaultBodyLimit::max(analysis::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
}

/// Query of the report: local dates `YYYY-MM-DD`, both included.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Checks the permission, parses the period and builds the report.
pub(super) async fn operator_report(
    state: &AppState,
    user: &CurrentUser,
    query: &PeriodQuery,
) -> Result<OperatorReport, AppError> {
    user.require(Permission::ViewParkingOperations)?;
    let zone = state.settings.time_zone();
    let today = report::local_today(Utc::now(), zone);
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), today)?;
    let max_stay = state.settings.booking.max_stay_hours;
    let areas = state.locator.snapshot();
    // Staff see the lots in their areas; a lot in no grid only administrators see.
    let scope = |area_id: Option<i64>| match area_id {
        Some(area_id) => user.can_access_area(&areas, area_id),
        None => user.role == Role::Administrator,
    };
    Ok(report::build(&state.db, zone, period, max_stay, &scope, &areas).await?)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_operator_report(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<OperatorReport>, AppError> {
    Ok(Json(operator_report(&state, &user, &query).await?))
}
