//! JSON API of the registry. Responses show identity and phone numbers masked; the
//! clear value comes only from `POST /api/v1/residents/{id}/reveal`.

use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Path, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::StatusCode,
    routing::{get, post},
};
use serde::Serialize;

use super::{
    Household, Resident,
    contact::{self, ContactInput},
    organisations::{self, Organisation, OrganisationInput},
    service,
    tags::{self, NewTag, TagDefinition},
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    http::{AppError, AppState, Query, UserMessage},
};

/// Largest JSON body, in bytes: a resident with many tags is well under 16 KiB.
const MAX_JSON_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/households", post(create_household))
        .route("/api/v1/households/{household_id}", get(get_household))
        .route("/api/v1/residents", post(create_resident).get(list_residents))
        .route("/api/v1/residents/{resident_id}", get(get_resident).patch(update_resident))
        .route("/api/v1/residents/{resident_id}/reveal", post(reveal_resident))
        .route("/api/v1/resident-tags", get(list_tags).post(create_tag))
        .route("/api/v1/organisations", post(create_organisation).get(list_organisations))
        .route("/api/v1/organisations/{organisation_id}", get(get_organisation))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .merge(super::import::router())
        .merge(super::export::router())
}

/// Unwraps a JSON body into our error format: 413 over the limit, else 400.
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}

pub(crate) fn path_id(path: Result<Path<i64>, PathRejection>, what: &str) -> Result<i64, AppError> {
    path.map(|Path(id)| id).map_err(|_| AppError::not_found(what, "?"))
}

/// A household with its residents.
#[derive(Debug, Serialize)]
struct HouseholdView {
    #[serde(flatten)]
    household: Household,
    residents: Vec<Resident>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_household(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<service::HouseholdInput>, JsonRejection>,
) -> Result<(StatusCode, Json<HouseholdView>), AppError> {
    user.require(Permission::ManageResidents)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let household = service::create_household(&state.db, &index, &user, input).await?;
    Ok((StatusCode::CREATED, Json(HouseholdView { household, residents: Vec::new() })))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_household(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<HouseholdView>, AppError> {
    user.require(Permission::ViewResidents)?;
    let household_id = path_id(path, "household")?;
    let index = state.locator.snapshot();
    let (household, residents) =
        service::household_with_residents(&state.db, &index, &user, household_id).await?;
    Ok(Json(HouseholdView { household, residents }))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_resident(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    body: Result<Json<service::ResidentInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Resident>), AppError> {
    user.require(Permission::ManageResidents)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    let keys = &state.residents;
    let resident = service::create_resident(&state.db, keys, &index, &user, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(resident)))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_residents(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(input): Query<service::ListInput>,
) -> Result<Json<Vec<Resident>>, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    let residents =
        service::list_residents(&state.db, &state.residents, &index, &user, input).await?;
    Ok(Json(residents))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_resident(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<Resident>, AppError> {
    user.require(Permission::ViewResidents)?;
    let resident_id = path_id(path, "resident")?;
    let index = state.locator.snapshot();
    Ok(Json(service::get_resident(&state.db, &index, &user, resident_id).await?))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn update_resident(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<ContactInput>, JsonRejection>,
) -> Result<Json<Resident>, AppError> {
    user.require(Permission::ManageResidents)?;
    let resident_id = path_id(path, "resident")?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    let keys = &state.residents;
    let updated =
        contact::update_contact(&state.db, keys, &index, &user, &actor, resident_id, input).await?;
    Ok(Json(updated))
}

/// The clear value of one field; `null` when the resident has none (no phone).
#[derive(Debug, Serialize)]
struct RevealView {
    resident_id: i64,
    field: String,
    value: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn reveal_resident(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<service::RevealInput>, JsonRejection>,
) -> Result<Json<RevealView>, AppError> {
    user.require(Permission::RevealResidentNumbers)?;
    let resident_id = path_id(path, "resident")?;
    let input = json_body(body)?;
    let field = input.field.trim().to_owned();
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    let keys = &state.residents;
    let value = service::reveal(&state.db, keys, &index, &user, &actor, resident_id, input).await?;
    Ok(Json(RevealView { resident_id, field, value }))
}

async fn list_tags(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<TagDefinition>>, AppError> {
    user.require(Permission::ViewResidents)?;
    Ok(Json(tags::list_tags(&state.db).await?))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_tag(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<NewTag>, JsonRejection>,
) -> Result<(StatusCode, Json<TagDefinition>), AppError> {
    user.require(Permission::ManageResidentTags)?;
    let tag = tags::create_tag(&state.db, json_body(body)?).await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_organisation(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<OrganisationInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Organisation>), AppError> {
    user.require(Permission::ManageResidents)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let keys = &state.residents;
    let created = organisations::create_organisation(&state.db, keys, &index, &user, input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn list_organisations(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<Organisation>>, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    Ok(Json(organisations::list_organisations(&state.db, &index, &user).await?))
}

async fn get_organisation(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<Organisation>, AppError> {
    user.require(Permission::ViewResidents)?;
    let organisation_id = path_id(path, "organisation")?;
    let index = state.locator.snapshot();
    Ok(Json(organisations::get_organisation(&state.db, &index, &user, organisation_id).await?))
}
