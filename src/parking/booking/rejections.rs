//! Online requests that found no space. They leave no booking behind, so each one is
//! stored in `parking_rejected_request` for the operator report's served/rejected
//! ratio. Batch requests that found no space stay as bookings with status `rejected`.

use chrono::{DateTime, Utc};

use super::{
    BookingError,
    reserve::{BookingRequest, Target},
    store::Lot,
};
use crate::{db::Db, with_pool};

/// Reason an online request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// No shared space fits the whole stay.
    NoSpaceFree,
    /// Every attempt lost its chosen space to a concurrent booking.
    Contention,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoSpaceFree => "no_space_free",
            RejectReason::Contention => "contention",
        }
    }

    /// Returns the reason behind `error`, or `None` for errors that are no rejection.
    pub fn of(error: &BookingError) -> Option<RejectReason> {
        match error {
            BookingError::NoSpaceFree => Some(RejectReason::NoSpaceFree),
            BookingError::Overlap => Some(RejectReason::Contention),
            _ => None,
        }
    }
}

/// A stored rejected request, as the operator report reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RejectedRequest {
    pub lot_id: Option<i64>,
    pub area_code: Option<String>,
    pub driver_kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

/// Stores the rejection of `request` by driver `driver_user_id`. `lots` are the lots
/// the request could use; a request at one lot records that lot.
///
/// # Errors
/// A database failure.
pub async fn record(
    db: &Db,
    driver_user_id: i64,
    request: &BookingRequest,
    lots: &[Lot],
    reason: RejectReason,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (lot_id, area_code) = match &request.target {
        Target::Lot(_) => (lots.first().map(|lot| lot.lot_id), None),
        Target::Area(code) => (None, Some(code.clone())),
    };
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO parking_rejected_request (lot_id, area_code, driver_user_id, \
             driver_kind, starts_at, ends_at, reason, rejected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(lot_id)
        .bind(&area_code)
        .bind(driver_user_id)
        .bind(request.driver_kind.as_str())
        .bind(request.starts_at)
        .bind(request.ends_at)
        .bind(reason.as_str())
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Returns the rejected online requests whose stay starts in `[from, to)`.
///
/// # Errors
/// A database failure.
pub async fn rejected_between(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RejectedRequest>, sqlx::Error> {
    let sql = format!(
        "SELECT lot_id, area_code, driver_kind, starts_at, ends_at, reason \
         FROM parking_rejected_request WHERE {} ORDER BY rejected_request_id",
        super::starts_in_range(db.backend(), "starts_at")
    );
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(from).bind(to).fetch_all(pool).await
    })
}
