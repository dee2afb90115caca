//! JSON API of sharing windows and bookings under `/api/v1/parking/`.
//!
//! Every logged-in user may read a lot's windows and book; the lot's owner or an
//! administrator publishes and removes windows. A driver sees and changes only their
//! own bookings, a lot's owner sees the bookings of their lots, an administrator all.

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    routing::{delete, get, post},
};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{
    Booking, Status,
    batch::{self, BatchReport},
    lifecycle::{self, Actor},
    owner_pages, pages,
    reserve::{self, BookingInput},
    sharing,
    store::{self, BookingFilter},
    view::{BookingView, WindowView},
    windows::WindowInput,
};
use crate::{
    accounts::{CurrentUser, Role},
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/parking/lots/{lot_ref}/windows", get(list_windows).post(create_window))
        .route("/api/v1/parking/windows/{window_id}", delete(delete_window))
        .route("/api/v1/parking/lots/{lot_ref}/allocation", post(allocate_lot))
        .route("/api/v1/parking/bookings", get(list_bookings).post(create_booking))
        .route("/api/v1/parking/bookings/{booking_id}", get(get_booking))
        .route("/api/v1/parking/bookings/{booking_id}/cancel", post(cancel_booking))
        .route("/api/v1/parking/bookings/{booking_id}/check-in", post(check_in_booking))
        .route("/api/v1/parking/bookings/{booking_id}/check-out", post(check_out_booking))
        .route("/parking/bookings", get(pages::get_bookings).post(pages::post_booking))
        .route("/parking/bookings/{booking_id}/cancel", post(pages::post_cancel))
        .route("/parking/lots/{lot_ref}/sharing", get(owner_pages::get_sharing))
        .route("/parking/lots/{lot_ref}/windows", post(owner_pages::post_window))
        .route(
            "/parking/lots/{lot_ref}/windows/{window_id}/delete",
            post(owner_pages::post_window_delete),
        )
}

fn actor(user: &CurrentUser) -> Actor {
    Actor { user_id: user.user_id, is_administrator: user.role == Role::Administrator }
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}

#[derive(Serialize)]
struct WindowList {
    windows: Vec<WindowView>,
}

/// Returns the configured zone that API timestamps are shown in.
fn api_zone(state: &AppState) -> chrono_tz::Tz {
    state.settings.time_zone()
}

fn booking_json(state: &AppState, booking: Booking) -> Json<BookingView> {
    Json(BookingView::new(booking, api_zone(state)))
}

#[tracing::instrument(skip_all, fields(user.id = _user.user_id))]
async fn list_windows(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<WindowList>, AppError> {
    let zone = api_zone(&state);
    let windows = sharing::list_windows(&state.db, &lot_ref).await?;
    let windows = windows.into_iter().map(|window| WindowView::new(window, zone)).collect();
    Ok(Json(WindowList { windows }))
}

async fn create_window(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
    body: Result<Json<WindowInput>, JsonRejection>,
) -> Result<(StatusCode, Json<WindowView>), AppError> {
    let window = json_body(body)?.parse(&state.settings.booking.time_zone)?;
    let stored =
        sharing::publish_window(&state.db, actor(&user), &lot_ref, &window, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(WindowView::new(stored, api_zone(&state)))))
}

async fn delete_window(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(window_id): Path<i64>,
) -> Result<StatusCode, AppError> {
    sharing::remove_window(&state.db, actor(&user), window_id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<BookingInput>, JsonRejection>,
) -> Result<(StatusCode, Json<BookingView>), AppError> {
    let now = Utc::now();
    let settings = &state.settings.booking;
    let request = json_body(body)?.parse(settings, now)?;
    if request.batch {
        let booking_id = batch::queue(&state.db, settings, user.user_id, &request, now).await?;
        let booking = lifecycle::visible_booking(&state.db, actor(&user), booking_id).await?;
        return Ok((StatusCode::ACCEPTED, booking_json(&state, booking)));
    }
    let areas = state.locator.snapshot();
    let booking =
        reserve::reserve(&state.db, settings, &areas, user.user_id, &request, now).await?;
    Ok((StatusCode::CREATED, booking_json(&state, booking)))
}

/// Runs the batch allocation of a lot's pending requests; for its owner or an
/// administrator.
async fn allocate_lot(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<BatchReport>, AppError> {
    let settings = &state.settings.booking;
    let report =
        batch::allocate_pending(&state.db, settings, actor(&user), &lot_ref, Utc::now()).await?;
    Ok(Json(report))
}

/// Query of `GET /api/v1/parking/bookings`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Bookings of one lot, for its owner or an administrator.
    lot_ref: Option<String>,
    status: Option<String>,
}

#[derive(Serialize)]
struct BookingList {
    bookings: Vec<BookingView>,
}

/// Lists the caller's own bookings, or with `lot_ref` those of a lot they own.
async fn list_bookings(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<BookingList>, AppError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            AppError::BadRequest(UserMessage::new("parking_status").field("status"))
        })?),
    };
    let mut filter = BookingFilter { status, ..BookingFilter::default() };
    match query.lot_ref {
        Some(lot_ref) => {
            let lot = store::lot_by_ref(&state.db, &lot_ref)
                .await?
                .ok_or_else(|| AppError::not_found("parking lot", &lot_ref))?;
            let owner = lot.owner_user_id == Some(user.user_id);
            if !owner && user.role != Role::Administrator {
                return Err(AppError::Forbidden);
            }
            filter.lot_id = Some(lot.lot_id);
        }
        None => filter.driver_user_id = Some(user.user_id),
    }
    let zone = api_zone(&state);
    let bookings = store::list_bookings(&state.db, &filter).await?;
    let bookings = bookings.into_iter().map(|booking| BookingView::new(booking, zone)).collect();
    Ok(Json(BookingList { bookings }))
}

async fn get_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(booking_id): Path<i64>,
) -> Result<Json<BookingView>, AppError> {
    let booking = lifecycle::visible_booking(&state.db, actor(&user), booking_id).await?;
    Ok(booking_json(&state, booking))
}

async fn cancel_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(booking_id): Path<i64>,
) -> Result<Json<BookingView>, AppError> {
    let settings = &state.settings.booking;
    let booking =
        lifecycle::cancel(&state.db, settings, actor(&user), booking_id, Utc::now()).await?;
    Ok(booking_json(&state, booking))
}

async fn check_in_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(booking_id): Path<i64>,
) -> Result<Json<BookingView>, AppError> {
    let settings = &state.settings.booking;
    let booking =
        lifecycle::check_in(&state.db, settings, actor(&user), booking_id, Utc::now()).await?;
    Ok(booking_json(&state, booking))
}

async fn check_out_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(booking_id): Path<i64>,
) -> Result<Json<BookingView>, AppError> {
    let settings = &state.settings.booking;
    let booking =
        lifecycle::check_out(&state.db, settings, actor(&user), booking_id, Utc::now()).await?;
    Ok(booking_json(&state, booking))
}
