//! Batch allocation: requests collected as `requested` without a space are placed
//! together by [`allocate_batch`], which can serve more of them than arrival order.
//!
//! Each placement is written as an update of the request that the database checks
//! against the no-overlap rule like any other write, so a booking made online in the
//! meantime wins and the request stays pending for the next run.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{
    BookingError, DriverKind, invalid,
    lifecycle::Actor,
    reserve::{self, BookingRequest, Target},
    store::{self, NewBooking},
};
use crate::{
    config::BookingSettings,
    db::Db,
    parking::allocate::{Request, Space, allocate_batch},
    with_pool,
};

/// Outcome of one batch run, by booking id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    pub confirmed: Vec<i64>,
    /// Requests no space could take; they are marked rejected.
    pub rejected: Vec<i64>,
    /// Requests whose space was taken by a concurrent write; they stay pending.
    pub deferred: Vec<i64>,
}

/// Stores `request` as pending for the next batch run and returns its id.
///
/// # Errors
/// [`BookingError::Invalid`] for a request at an area, because a batch runs per lot.
pub async fn queue(
    db: &Db,
    settings: &BookingSettings,
    driver_user_id: i64,
    request: &BookingRequest,
    now: DateTime<Utc>,
) -> Result<i64, BookingError> {
    let Target::Lot(lot_ref) = &request.target else {
        return Err(invalid("parking_batch_needs_lot", "lot_ref"));
    };
    let lot = store::lot_by_ref(db, lot_ref)
        .await?
        .ok_or_else(|| BookingError::NotFound { what: "parking lot", id: lot_ref.clone() })?;
    let booking = NewBooking {
        lot_id: lot.lot_id,
        space_id: None,
        driver_user_id,
        plate: request.plate.clone(),
        driver_kind: request.driver_kind,
        status: super::Status::Requested,
        starts_at: request.starts_at,
        ends_at: request.ends_at,
        occupied_until: request.ends_at + Duration::minutes(settings.buffer_minutes.max(0)),
        vacate_by: None,
        quote_fen: Some(super::reserve::quote(db, settings, &lot, request).await?),
    };
    store::insert_booking(db, &booking, now).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Pending {
    booking_id: i64,
    driver_kind: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

async fn pending_of_lot(db: &Db, lot_id: i64) -> Result<Vec<Pending>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT booking_id, driver_kind, starts_at, ends_at FROM parking_booking \
             WHERE lot_id = $1 AND status = 'requested' AND space_id IS NULL \
             ORDER BY booking_id",
        )
        .bind(lot_id)
        .fetch_all(pool)
        .await
    })
}

/// Sets the outcome of one pending request; returns whether it was still pending.
async fn settle(
    db: &Db,
    booking_id: i64,
    placement: Option<(i64, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> Result<bool, BookingError> {
    let _turn = db.write_turn().await;
    let (space_id, vacate_by) = placement.unzip();
    let status = if space_id.is_some() { "confirmed" } else { "rejected" };
    let updated = with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE parking_booking SET space_id = $2, status = $3, vacate_by = $4, \
             updated_at = $5 WHERE booking_id = $1 AND status = 'requested' AND space_id IS NULL",
        )
        .bind(booking_id)
        .bind(space_id)
        .bind(status)
        .bind(vacate_by.flatten())
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() > 0)
    });
    match updated {
        Ok(changed) => Ok(changed),
        Err(error) if store::is_overlap(&error) => Err(BookingError::Overlap),
        Err(error) => Err(error.into()),
    }
}

/// Places the pending requests of lot `lot_ref` with the batch allocator.
///
/// Requests are grouped by driver kind, because a window may be open to one kind only.
/// Each group is placed after the bookings the previous groups confirmed. Requests that
/// already started are rejected.
///
/// # Errors
/// [`BookingError::Forbidden`] unless `actor` owns the lot or is an administrator.
#[tracing::instrument(skip_all, fields(user.id = actor.user_id, lot.reference = lot_ref))]
pub async fn allocate_pending(
    db: &Db,
    settings: &BookingSettings,
    actor: Actor,
    lot_ref: &str,
    now: DateTime<Utc>,
) -> Result<BatchReport, BookingError> {
    let lot = store::lot_by_ref(db, lot_ref)
        .await?
        .ok_or_else(|| BookingError::NotFound { what: "parking lot", id: lot_ref.to_owned() })?;
    if !actor.is_administrator && lot.owner_user_id != Some(actor.user_id) {
        return Err(BookingError::Forbidden);
    }
    let buffer = Duration::minutes(settings.buffer_minutes.max(0));
    let mut groups: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
    for pending in pending_of_lot(db, lot.lot_id).await? {
        groups.entry(pending.driver_kind.clone()).or_default().push(pending);
    }
    let mut report = BatchReport::default();
    for (kind, pending) in groups {
        let kind = DriverKind::parse(&kind).unwrap_or(DriverKind::Visitor);
        let (late, pending): (Vec<Pending>, Vec<Pending>) =
            pending.into_iter().partition(|request| request.starts_at <= now);
        for request in late {
            if settle(db, request.booking_id, None, now).await? {
                report.rejected.push(request.booking_id);
            }
        }
        let Some(from) = pending.iter().map(|request| request.starts_at).min() else { continue };
        let until = pending.iter().map(|request| request.ends_at).max().unwrap_or(from) + buffer;
        let times = reserve::space_times(db, std::slice::from_ref(&lot), kind, from, until).await?;
        let spaces: Vec<Space> = times
            .iter()
            .map(|time| Space {
                space_id: time.space_id,
                lot_id: lot.lot_id,
                windows: time.free.iter().map(|(a, b)| (a.timestamp(), b.timestamp())).collect(),
            })
            .collect();
        let requests: Vec<Request> = pending
            .iter()
            .map(|request| Request {
                request_id: request.booking_id,
                lot_id: lot.lot_id,
                start: request.starts_at.timestamp(),
                end: request.ends_at.timestamp(),
            })
            .collect();
        let placed = allocate_batch(spaces, buffer.num_seconds(), &requests);
        for (request, space_id) in pending.iter().zip(placed) {
            let placement = space_id.map(|space_id| {
                let time = times.iter().find(|time| time.space_id == space_id);
                let until = request.ends_at + buffer;
                (space_id, time.and_then(|time| reserve::vacate_by(time, request.starts_at, until)))
            });
            match settle(db, request.booking_id, placement, now).await {
                Ok(true) if space_id.is_some() => report.confirmed.push(request.booking_id),
                Ok(true) => report.rejected.push(request.booking_id),
                Ok(false) => {}
                Err(BookingError::Overlap) => {
                    tracing::debug!(
                        booking.id = request.booking_id,
                        "space taken meanwhile; deferred"
                    );
                    report.deferred.push(request.booking_id);
                }
                Err(other) => return Err(other),
            }
        }
    }
    tracing::info!(
        confirmed = report.confirmed.len(),
        rejected = report.rejected.len(),
        deferred = report.deferred.len(),
        "batch allocation finished"
    );
    Ok(report)
}
