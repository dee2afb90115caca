//! The routes of KPIs: `/api/v1/kpis`, its drill-down and the `/kpis` page.

use crate::http::Query;
use axum::{Json, Router, extract::State, routing::get};

use super::{
    drill::{DrillQuery, drill_cases},
    query::{KpiQuery, KpiReport, compute_report, parse_request},
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::case::view::CaseView,
    http::{AppError, AppState, pages::PageContext},
};

/// Builds the `/api/v1/kpis` and `/kpis` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/kpis", get(get_kpis))
        .route("/api/v1/kpis/cases", get(get_kpi_cases))
        .route("/kpis", get(super::page::get_kpis_page))
        .route("/kpis/export.csv", get(super::export::get_kpis_csv))
        .route("/kpis/export.xlsx", get(super::export::get_kpis_xlsx))
}

/// Returns the figures per group; group labels are in the caller's language.
async fn get_kpis(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<KpiQuery>,
) -> Result<Json<KpiReport>, AppError> {
    user.require(Permission::ViewKpis)?;
    let index = state.locator.snapshot();
    let request = parse_request(&query, &user, &index, state.settings.time_zone())?;
    Ok(Json(compute_report(&state.db, &index, &request, ctx.locale).await?))
}

async fn get_kpi_cases(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<DrillQuery>,
) -> Result<Json<Vec<CaseView>>, AppError> {
    user.require(Permission::ViewKpis)?;
    let index = state.locator.snapshot();
    let views = drill_cases(&state.db, &index, state.settings.time_zone(), &user, &query).await?;
    Ok(Json(views))
}
