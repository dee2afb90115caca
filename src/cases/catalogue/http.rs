//! `GET /api/v1/categories` and `PUT /api/v1/categories/{code}`.

use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    routing::{get, put},
};
use serde::Serialize;

use super::{
    CategoryDraft,
    service::{self, CategoryView, Saved},
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::json_body,
    http::{AppError, AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/categories", get(list_categories))
        .route("/api/v1/categories/{code}", put(save_category))
}

#[derive(Serialize)]
struct CategoryList {
    categories: Vec<CategoryView>,
}

/// Lists every category for any staff member.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_categories(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CategoryList>, AppError> {
    user.require(Permission::ViewCatalogue)?;
    let categories = service::list_categories(&state.db).await?;
    Ok(Json(CategoryList { categories }))
}

/// Creates (201) or replaces (200) one category; administrators only.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, category.code = %code))]
async fn save_category(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(code): Path<String>,
    body: Result<Json<CategoryDraft>, JsonRejection>,
) -> Result<(StatusCode, Json<CategoryView>), AppError> {
    user.require(Permission::ManageCatalogue)?;
    let draft = json_body(body)?;
    let (category, saved) = service::save_category(&state.db, &code, draft).await?;
    // A renamed category's cases were queued for indexing under the new names.
    crate::cases::search::backfill_in_background(state.db.clone());
    let status = match saved {
        Saved::Created => StatusCode::CREATED,
        Saved::Updated => StatusCode::OK,
    };
    Ok((status, Json(category)))
}
