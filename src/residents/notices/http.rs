//! JSON API of notices: `/api/v1/resident-notices` for staff, `/api/v1/my/notices` for residents.

use axum::{
    Json, Router,
    extract::{
        Path, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::StatusCode,
    response::sse::{KeepAlive, Sse},
    routing::{get, post},
};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{
    Channels, Notice,
    attachments::{self, AttachmentLink},
    audience::{self, AudienceSpec},
    inbox::{self, InboxEntry},
    receipts::{self, FollowUpInput, NoticeCounts, RecipientRow},
    service::{self, NoticeInput},
    store,
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    http::{AppError, AppState, Query},
    residents::{
        http::{json_body, path_id},
        service::scope_grids,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(attachments::http::router())
        .route("/api/v1/resident-notices", post(create_notice).get(list_notices))
        .route("/api/v1/resident-notices/audience", post(preview_audience))
        .route("/api/v1/resident-notices/follow-up", get(follow_up_list))
        .route("/api/v1/resident-notices/{notice_id}", get(get_notice))
        .route("/api/v1/resident-notices/{notice_id}/recipients", get(list_recipients))
        .route("/api/v1/resident-notices/{notice_id}/follow-ups", post(record_follow_up))
        .route("/api/v1/residents/{resident_id}/account", post(link_account))
        .route("/api/v1/my/notices", get(my_notices))
        .route("/api/v1/my/notices/events", get(my_notice_events))
        .route("/api/v1/my/notices/{notice_id}/read", post(read_notice))
}

/// A notice with its counts inside the viewer's grids.
#[derive(Debug, Serialize)]
struct NoticeView {
    #[serde(flatten)]
    notice: Notice,
    counts: NoticeCounts,
    attachments: Vec<AttachmentLink>,
}

#[derive(Debug, Serialize)]
struct AudiencePreview {
    /// Residents the notice would reach now.
    count: i64,
    /// The grids it targets, inside the sender's scope.
    grid_ids: Vec<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    /// Only recipients who have not read the notice.
    unread: bool,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct LinkInput {
    user_id: i64,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn preview_audience(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<AudienceSpec>, JsonRejection>,
) -> Result<Json<AudiencePreview>, AppError> {
    user.require(Permission::SendNotices)?;
    let spec = json_body(body)?;
    let index = state.locator.snapshot();
    let audience = audience::resolve(&state.db, &index, &user, spec).await?;
    let count = audience::count(&state.db, &audience).await?;
    Ok(Json(AudiencePreview { count, grid_ids: audience.grid_ids }))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    body: Result<Json<NoticeInput>, JsonRejection>,
) -> Result<(StatusCode, Json<NoticeView>), AppError> {
    user.require(Permission::SendNotices)?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    let channels = Channels::from_settings(&state.settings.notices);
    let (notice, counts) =
        service::create_notice(&state.db, &index, &user, &actor, input, channels).await?;
    let attachments = attachments::staff_links(&state.db, notice.notice_id).await?;
    Ok((StatusCode::CREATED, Json(NoticeView { notice, counts, attachments })))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_notices(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<Notice>>, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    let scope = scope_grids(&index, &user);
    let notices = store::list_notices(&state.db, scope.as_deref(), user.user_id, 200).await?;
    Ok(Json(notices))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<NoticeView>, AppError> {
    user.require(Permission::ViewResidents)?;
    let notice_id = path_id(path, "notice")?;
    let index = state.locator.snapshot();
    let (notice, counts) = service::visible_notice(&state.db, &index, &user, notice_id).await?;
    let attachments = attachments::staff_links(&state.db, notice_id).await?;
    Ok(Json(NoticeView { notice, counts, attachments }))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_recipients(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Vec<RecipientRow>>, AppError> {
    user.require(Permission::ViewResidents)?;
    let notice_id = path_id(path, "notice")?;
    let index = state.locator.snapshot();
    service::visible_notice(&state.db, &index, &user, notice_id).await?;
    let scope = scope_grids(&index, &user);
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let offset = page.offset.unwrap_or(0).max(0);
    let rows =
        receipts::recipients(&state.db, notice_id, scope.as_deref(), page.unread, limit, offset)
            .await?;
    Ok(Json(rows))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn follow_up_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<RecipientRow>>, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    let scope = scope_grids(&index, &user);
    let rows = receipts::follow_up_list(&state.db, scope.as_deref(), Utc::now(), 500).await?;
    Ok(Json(rows))
}

#[derive(Debug, Serialize)]
struct FollowUpCreated {
    follow_up_id: i64,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn record_follow_up(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<FollowUpInput>, JsonRejection>,
) -> Result<(StatusCode, Json<FollowUpCreated>), AppError> {
    user.require(Permission::ManageResidents)?;
    let notice_id = path_id(path, "notice")?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let follow_up_id =
        service::record_follow_up(&state.db, &index, &user, notice_id, input).await?;
    Ok((StatusCode::CREATED, Json(FollowUpCreated { follow_up_id })))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn link_account(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<LinkInput>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    user.require(Permission::ManageResidents)?;
    let resident_id = path_id(path, "resident")?;
    let input = json_body(body)?;
    let index = state.locator.snapshot();
    let created =
        inbox::link_account(&state.db, &index, &user, input.user_id, resident_id, Utc::now())
            .await?;
    Ok(if created { StatusCode::CREATED } else { StatusCode::OK })
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn my_notices(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<InboxEntry>>, AppError> {
    let resident_id = inbox::own_resident(&state.db, &user).await?;
    let entries = inbox::inbox(&state.db, resident_id, 200).await?;
    Ok(Json(entries))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn read_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<InboxEntry>, AppError> {
    let notice_id = path_id(path, "notice")?;
    let resident_id = inbox::own_resident(&state.db, &user).await?;
    let entry = inbox::mark_read(&state.db, resident_id, notice_id, Utc::now())
        .await?
        .ok_or_else(|| AppError::not_found("notice", notice_id))?;
    Ok(Json(entry))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn my_notice_events(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<
    Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    AppError,
> {
    let resident_id = inbox::own_resident(&state.db, &user).await?;
    Ok(Sse::new(inbox::stream(state.db.clone(), resident_id)).keep_alive(KeepAlive::default()))
}
