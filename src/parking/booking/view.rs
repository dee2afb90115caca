//! Bookings and windows as the JSON API shows them: every instant in the configured
//! zone with its offset (`2027-03-01T20:00:00+08:00`), like the rest of the API.
//! Input keeps accepting any offset; only the output changes.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    Booking, DriverKind, Status,
    windows::{Audience, Schedule, Window},
};
use crate::cases::calendar::service::with_zone_offset;

/// A booking with local timestamps.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    pub booking_id: i64,
    pub lot_ref: String,
    pub space_ref: Option<String>,
    pub driver_user_id: i64,
    pub plate: String,
    pub driver_kind: DriverKind,
    pub status: Status,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    /// End of the span the space is taken: `ends_at` plus the buffer.
    pub occupied_until: DateTime<FixedOffset>,
    /// When the owner expects the space back.
    pub vacate_by: Option<DateTime<FixedOffset>>,
    pub checked_in_at: Option<DateTime<FixedOffset>>,
    pub checked_out_at: Option<DateTime<FixedOffset>>,
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    pub overstay_flagged_at: Option<DateTime<FixedOffset>>,
    pub overstay_warned_at: Option<DateTime<FixedOffset>>,
    /// Whether the driver is still parked past the end and the owner returns soon; the
    /// driver must leave by `vacate_by`.
    pub overstay_warning: bool,
    pub stay_fee_fen: i64,
    pub overstay_minutes: i64,
    pub overstay_fee_fen: i64,
    pub cancel_fee_fen: i64,
}

impl BookingView {
    pub fn new(booking: Booking, zone: Tz) -> BookingView {
        let local = |at: DateTime<Utc>| with_zone_offset(at, zone);
        let maybe = |at: Option<DateTime<Utc>>| at.map(local);
        BookingView {
            overstay_warning: booking.has_overstay_warning(),
            booking_id: booking.booking_id,
            lot_ref: booking.lot_ref,
            space_ref: booking.space_ref,
            driver_user_id: booking.driver_user_id,
            plate: booking.plate,
            driver_kind: booking.driver_kind,
            status: booking.status,
            starts_at: local(booking.starts_at),
            ends_at: local(booking.ends_at),
            occupied_until: local(booking.occupied_until),
            vacate_by: maybe(booking.vacate_by),
            checked_in_at: maybe(booking.checked_in_at),
            checked_out_at: maybe(booking.checked_out_at),
            cancelled_at: maybe(booking.cancelled_at),
            overstay_flagged_at: maybe(booking.overstay_flagged_at),
            overstay_warned_at: maybe(booking.overstay_warned_at),
            stay_fee_fen: booking.stay_fee_fen,
            overstay_minutes: booking.overstay_minutes,
            overstay_fee_fen: booking.overstay_fee_fen,
            cancel_fee_fen: booking.cancel_fee_fen,
        }
    }
}

/// When a window is open, with a one-off window's instants in local time.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScheduleView {
    /// Opens on each weekday of `weekday_mask` (bit 0 Monday) at `start_minute` local
    /// time and closes at `end_minute`, on the next day when that is not after the start.
    Weekly {
        weekday_mask: u8,
        start_minute: u16,
        end_minute: u16,
        time_zone: String,
        valid_from: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
    },
    /// Open once over `[starts_at, ends_at)`.
    Once { starts_at: DateTime<FixedOffset>, ends_at: DateTime<FixedOffset> },
}

/// A window with local timestamps.
#[derive(Debug, Clone, Serialize)]
pub struct WindowView {
    pub window_id: i64,
    pub lot_id: i64,
    /// `None` when the window applies to every shared space of the lot.
    pub space_id: Option<i64>,
    pub space_ref: Option<String>,
    pub audience: Audience,
    #[serde(flatten)]
    pub schedule: ScheduleView,
}

impl WindowView {
    pub fn new(window: Window, zone: Tz) -> WindowView {
        let schedule = match window.schedule {
            Schedule::Weekly {
                weekday_mask,
                start_minute,
                end_minute,
                time_zone,
                valid_from,
                valid_until,
            } => ScheduleView::Weekly {
                weekday_mask,
                start_minute,
                end_minute,
                time_zone,
                valid_from,
                valid_until,
            },
            Schedule::Once { starts_at, ends_at } => ScheduleView::Once {
                starts_at: with_zone_offset(starts_at, zone),
                ends_at: with_zone_offset(ends_at, zone),
            },
        };
        WindowView {
            window_id: window.window_id,
            lot_id: window.lot_id,
            space_id: window.space_id,
            space_ref: window.space_ref,
            audience: window.audience,
            schedule,
        }
    }
}
