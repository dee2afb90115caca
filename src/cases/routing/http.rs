//! `GET /api/v1/routing-rules` and `PUT /api/v1/routing-rules`.

use axum::{
    Json, Router,
    extract::{State, rejection::JsonRejection},
    routing::get,
};
use serde::{Deserialize, Serialize};

use super::service::{self, RuleDraft, RuleView};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::json_body,
    http::{AppError, AppState},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/routing-rules", get(list_rules).put(replace_rules))
}

#[derive(Serialize)]
struct RuleList {
    rules: Vec<RuleView>,
}

/// The body of a replacement: the whole new rule set.
#[derive(Deserialize)]
struct RuleSet {
    rules: Vec<RuleDraft>,
}

/// Lists every routing rule for any staff member.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_rules(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<RuleList>, AppError> {
    user.require(Permission::ViewCatalogue)?;
    let rules = service::list_rules(&state.db).await?;
    Ok(Json(RuleList { rules }))
}

/// Replaces every routing rule; administrators only. All rules are valid or none is
/// written.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn replace_rules(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<RuleSet>, JsonRejection>,
) -> Result<Json<RuleList>, AppError> {
    user.require(Permission::ManageCatalogue)?;
    let set = json_body(body)?;
    let index = state.locator.snapshot();
    let rules = service::replace_rules(&state.db, &index, &set.rules).await?;
    Ok(Json(RuleList { rules }))
}
