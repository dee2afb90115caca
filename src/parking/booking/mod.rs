//! Shared parking (共享车位, 错峰停车): owners' sharing windows and drivers' bookings.
//!
//! Owns the `parking_window` and `parking_booking` tables. An owner (the lot's
//! `owner_user_id`, or an administrator) publishes [`windows`] in which the lot's shared
//! spaces are free, weekly or once, each open to one audience (residents, commuters,
//! visitors or anyone). A driver requests a stay at a lot or anywhere in an area;
//! [`reserve`] turns the windows and the existing bookings into free time per space and
//! lets the online allocator of [`crate::parking::allocate`] pick one. [`lifecycle`]
//! moves a booking through its states and prices it with [`crate::parking::tariff`].
//!
//! Invariants:
//! - A booking takes its space over `[starts_at, ends_at + buffer)`, which lies inside
//!   one merged sharing window; the window's end is stored as `vacate_by`.
//! - No two active bookings (requested with a space, confirmed, checked in) of one space
//!   overlap. The database enforces it at commit time on every path: an exclusion
//!   constraint on PostgreSQL, a trigger on SQLite. The allocator only proposes; a
//!   constraint violation makes [`reserve`] try again on fresh data.
//! - A window is removed only when no active booking depends on it.
//!
//! It does not manage lots and spaces (the inventory does) nor read sensors.

pub mod batch;
pub mod http;
pub mod lifecycle;
mod owner_pages;
pub(crate) mod pages;
pub mod rejections;
pub mod reserve;
pub mod schedule;
pub mod sharing;
pub mod store;
pub mod view;
pub mod windows;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use http::router;

/// State of a booking. `Requested`, `Confirmed` and `CheckedIn` keep the space taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the batch allocator, or holding a space it proposed.
    Requested,
    /// A space is reserved for the driver.
    Confirmed,
    CheckedIn,
    Completed,
    Cancelled,
    /// The driver did not check in within the hold time; the space was released.
    NoShow,
    /// No space could be found for the request.
    Rejected,
}

impl Status {
    pub const ACTIVE: [Status; 3] = [Status::Requested, Status::Confirmed, Status::CheckedIn];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Confirmed => "confirmed",
            Status::CheckedIn => "checked_in",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Requested,
            Status::Confirmed,
            Status::CheckedIn,
            Status::Completed,
            Status::Cancelled,
            Status::NoShow,
            Status::Rejected,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// Why a driver parks, which decides the windows open to them (错峰停车 rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Parks near home, typically at night in office lots.
    Resident,
    /// Parks near work, typically by day in residential spaces.
    Commuter,
    Visitor,
}

impl DriverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Resident => "resident",
            DriverKind::Commuter => "commuter",
            DriverKind::Visitor => "visitor",
        }
    }

    pub fn parse(text: &str) -> Option<DriverKind> {
        [DriverKind::Resident, DriverKind::Commuter, DriverKind::Visitor]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A stored booking as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Booking {
    pub booking_id: i64,
    pub lot_ref: String,
    pub space_ref: Option<String>,
    pub driver_user_id: i64,
    pub plate: String,
    pub driver_kind: DriverKind,
    pub status: Status,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// End of the span the space is taken: `ends_at` plus the buffer.
    pub occupied_until: DateTime<Utc>,
    /// When the owner expects the space back.
    pub vacate_by: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub overstay_flagged_at: Option<DateTime<Utc>>,
    pub overstay_warned_at: Option<DateTime<Utc>>,
    pub stay_fee_fen: i64,
    pub overstay_minutes: i64,
    pub overstay_fee_fen: i64,
    pub cancel_fee_fen: i64,
    /// The price of the booked stay quoted when it was booked, in fen; `None` for a
    /// request still waiting for a space.
    pub quote_fen: Option<i64>,
}

impl Booking {
    /// Reports whether the driver is still parked past the end and was warned that the
    /// owner returns soon.
    pub fn has_overstay_warning(&self) -> bool {
        self.status == Status::CheckedIn && self.overstay_warned_at.is_some()
    }

    /// Reports whether the driver is still parked past the booking's end.
    pub fn is_overstaying(&self) -> bool {
        self.status == Status::CheckedIn && self.overstay_flagged_at.is_some()
    }
}

/// Failures of sharing and booking, in domain terms; `http` picks the status codes.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Input that breaks a rule; the message names the field and the fix.
    #[error("invalid input: {0:?}")]
    Invalid(crate::http::UserMessage),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the caller may not do this")]
    Forbidden,
    /// No shared space is free for the whole requested stay.
    #[error("no shared space is free for the stay")]
    NoSpaceFree,
    /// Another booking took the chosen space at commit time, on every attempt.
    #[error("the space was booked concurrently")]
    Overlap,
    /// The booking's state does not allow the action.
    #[error("booking {booking_id} is {status:?}; {action} is not possible")]
    WrongState { booking_id: i64, status: Status, action: &'static str },
    /// The window is in use by the listed active bookings.
    #[error("window {window_id} is used by bookings {bookings:?}")]
    WindowInUse { window_id: i64, bookings: Vec<i64> },
    /// The lot's tariff or prices could not be read.
    #[error(transparent)]
    Pricing(#[from] crate::parking::live_pricing::PricingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<BookingError> for crate::http::AppError {
    fn from(error: BookingError) -> Self {
        use crate::http::{AppError, UserMessage};
        match error {
            BookingError::Invalid(message) => AppError::Invalid(message),
            BookingError::NotFound { what, id } => AppError::not_found(what, id),
            BookingError::Forbidden => AppError::Forbidden,
            BookingError::NoSpaceFree => {
                AppError::Conflict(UserMessage::new("parking_no_space_free"))
            }
            BookingError::Overlap => AppError::Conflict(UserMessage::new("parking_space_taken")),
            BookingError::WrongState { booking_id, status, action } => AppError::Conflict(
                UserMessage::new("parking_booking_wrong_state")
                    .arg("id", booking_id)
                    .arg("status", status.as_str())
                    .arg("action", action),
            ),
            BookingError::WindowInUse { window_id, bookings } => {
                let list: Vec<String> = bookings.iter().map(i64::to_string).collect();
                AppError::Conflict(
                    UserMessage::new("parking_window_in_use")
                        .arg("id", window_id)
                        .arg("bookings", list.join(", ")),
                )
            }
            BookingError::Pricing(error) => error.into(),
            BookingError::Database(error) => AppError::Internal(error.into()),
        }
    }
}

/// Returns the SQL condition `$1 <= column AND column < $2` for a time column. SQLite
/// compares through julianday() because the stored text may carry any offset.
pub(crate) fn starts_in_range(backend: crate::db::Backend, column: &str) -> String {
    match backend {
        crate::db::Backend::Postgres => format!("$1 <= {column} AND {column} < $2"),
        crate::db::Backend::Sqlite => {
            format!("julianday($1) <= julianday({column}) AND julianday({column}) < julianday($2)")
        }
    }
}

/// Builds an [`BookingError::Invalid`] about `field`.
fn invalid(code: &'static str, field: &str) -> BookingError {
    BookingError::Invalid(crate::http::UserMessage::new(code).field(field))
}
