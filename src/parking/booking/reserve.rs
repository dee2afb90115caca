//! Booking a shared space: free time per space from windows and bookings, the online
//! allocator's choice, and the write that the database may still reject.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{
    Booking, BookingError, DriverKind, Status, invalid,
    rejections::{self, RejectReason},
    store::{self, Lot, NewBooking},
    windows::{self, Span, Window},
};
use crate::{
    config::BookingSettings,
    db::Db,
    locate::AreaIndex,
    parking::allocate::{Allocator, Policy, Request, Space},
};

/// Attempts of [`reserve`]: the first, and two more after another request took the
/// chosen space between reading and writing.
pub const MAX_ATTEMPTS: usize = 3;

/// Lot id given to every candidate space in the allocator, so that a request at an
/// area may take a space in any of its lots.
const ANY_LOT: i64 = 0;

/// A driver's request as sent; exactly one of `lot_ref` and `area_code` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct BookingInput {
    pub lot_ref: Option<String>,
    pub area_code: Option<String>,
    pub plate: String,
    /// `resident`, `commuter` or `visitor`.
    pub driver_kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `online` (the default) books at once; `batch` queues the request for the lot's
    /// next batch allocation.
    pub mode: Option<String>,
}

/// The place a driver requests: one lot, or any lot in an area.
#[derive(Debug, Clone)]
pub enum Target {
    Lot(String),
    Area(String),
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub target: Target,
    pub plate: String,
    pub driver_kind: DriverKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Whether the request waits for the batch allocation.
    pub batch: bool,
}

impl BookingInput {
    /// Validates the request against the booking rules at `now`.
    ///
    /// # Errors
    /// [`BookingError::Invalid`] naming the first field to fix.
    pub fn parse(
        self,
        settings: &BookingSettings,
        now: DateTime<Utc>,
    ) -> Result<BookingRequest, BookingError> {
        let target = match (self.lot_ref, self.area_code) {
            (Some(lot_ref), None) => Target::Lot(lot_ref),
            (None, Some(area_code)) => Target::Area(area_code),
            _ => return Err(invalid("parking_target", "lot_ref")),
        };
        let plate = self.plate.trim().to_uppercase();
        if plate.is_empty() || plate.chars().count() > 16 {
            return Err(invalid("parking_plate", "plate"));
        }
        let driver_kind = DriverKind::parse(&self.driver_kind)
            .ok_or(invalid("parking_driver_kind", "driver_kind"))?;
        if self.ends_at <= self.starts_at {
            return Err(invalid("parking_stay_order", "ends_at"));
        }
        if self.ends_at - self.starts_at > Duration::hours(settings.max_stay_hours) {
            return Err(BookingError::Invalid(
                crate::http::UserMessage::new("parking_stay_too_long")
                    .arg("hours", settings.max_stay_hours)
                    .field("ends_at"),
            ));
        }
        if self.starts_at < now - Duration::minutes(5) {
            return Err(invalid("parking_start_in_past", "starts_at"));
        }
        let batch = match self.mode.as_deref() {
            None | Some("online") => false,
            Some("batch") => true,
            Some(_) => return Err(invalid("parking_mode", "mode")),
        };
        Ok(BookingRequest {
            batch,
            target,
            plate,
            driver_kind,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        })
    }
}

/// Returns the open lots a request may use.
async fn candidate_lots(
    db: &Db,
    areas: &AreaIndex,
    target: &Target,
) -> Result<Vec<Lot>, BookingError> {
    match target {
        Target::Lot(lot_ref) => {
            let lot = store::lot_by_ref(db, lot_ref).await?.ok_or_else(|| {
                BookingError::NotFound { what: "parking lot", id: lot_ref.clone() }
            })?;
            if lot.status != "open" {
                return Err(invalid("parking_lot_closed", "lot_ref"));
            }
            Ok(vec![lot])
        }
        Target::Area(code) => {
            let area = areas
                .by_code(code)
                .ok_or_else(|| BookingError::NotFound { what: "area", id: code.clone() })?;
            let lots = store::open_lots_in_grids(db).await?;
            Ok(lots
                .into_iter()
                .filter(|lot| lot.grid_area_id.is_some_and(|id| areas.is_within(id, area.area_id)))
                .collect())
        }
    }
}

/// Free time of one space around a stay, and the windows it came from.
#[derive(Debug, Clone)]
pub struct SpaceTime {
    pub space_id: i64,
    pub lot_id: i64,
    /// Merged open spans of the windows the driver may use, sorted.
    pub open: Vec<Span>,
    /// `open` minus the spans of active bookings.
    pub free: Vec<Span>,
}

/// How far around a stay windows are expanded; a window that closes further away does
/// not matter, except to report its end as vacate-by.
// NOTE: a merged window longer than this horizon reports the horizon's end as its
// vacate-by, which is earlier than the owner's real return and so stays safe.
const HORIZON_DAYS: i64 = 8;

/// Computes the free time of every shared space of `lots` around `[start, end)` for a
/// driver of `kind`.
pub async fn space_times(
    db: &Db,
    lots: &[Lot],
    kind: DriverKind,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<SpaceTime>, BookingError> {
    let lot_ids: Vec<i64> = lots.iter().map(|lot| lot.lot_id).collect();
    let spaces = store::shared_spaces(db, &lot_ids).await?;
    let windows = store::windows_of_lots(db, &lot_ids).await?;
    let space_ids: Vec<i64> = spaces.iter().map(|space| space.space_id).collect();
    let horizon = Duration::days(HORIZON_DAYS);
    let (from, to) = (start - horizon, end + horizon);
    let mut taken: HashMap<i64, Vec<Span>> = HashMap::new();
    for span in store::taken_spans(db, &space_ids, from).await? {
        taken.entry(span.space_id).or_default().push((span.starts_at, span.occupied_until));
    }
    let times = spaces
        .iter()
        .map(|space| {
            let applies = |window: &&Window| {
                window.lot_id == space.lot_id
                    && window.space_id.is_none_or(|id| id == space.space_id)
                    && window.audience.admits(kind)
            };
            let spans = windows
                .iter()
                .filter(applies)
                .flat_map(|window| window.schedule.occurrences(from, to))
                .collect();
            let open = windows::merge(spans);
            let free =
                windows::subtract(&open, taken.get(&space.space_id).map_or(&[], Vec::as_slice));
            SpaceTime { space_id: space.space_id, lot_id: space.lot_id, open, free }
        })
        .collect();
    Ok(times)
}

/// Picks a space for `[start, end)` with the online allocator (best fit), or `None`.
pub fn choose_space(
    times: &[SpaceTime],
    buffer: Duration,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<i64> {
    let seconds = |at: DateTime<Utc>| at.timestamp();
    let spaces = times
        .iter()
        .map(|time| Space {
            space_id: time.space_id,
            lot_id: ANY_LOT,
            windows: time.free.iter().map(|(from, to)| (seconds(*from), seconds(*to))).collect(),
        })
        .collect();
    let mut allocator = Allocator::new(spaces, buffer.num_seconds());
    let request =
        Request { request_id: 0, lot_id: ANY_LOT, start: seconds(start), end: seconds(end) };
    allocator.place(&request, Policy::BestFit)
}

/// Returns the end of the open span of `time` that contains `[start, until)`.
pub fn vacate_by(
    time: &SpaceTime,
    start: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    time.open.iter().find(|(from, to)| *from <= start && until <= *to).map(|(_, to)| *to)
}

/// Quotes the price of the requested stay at `lot`: its tariff per segment at the band
/// prices in force at the booked start, which include every change announced by now.
///
/// # Errors
/// A missing or invalid tariff, or a database failure.
pub async fn quote(
    db: &Db,
    settings: &BookingSettings,
    lot: &Lot,
    request: &BookingRequest,
) -> Result<i64, BookingError> {
    let zone = settings.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let fen = crate::parking::live_pricing::prices::price_lot_stay(
        db,
        zone,
        lot.lot_id,
        &lot.tariff_code,
        request.starts_at,
        request.starts_at,
        request.ends_at,
    )
    .await?;
    Ok(i64::try_from(fen).unwrap_or(i64::MAX))
}

/// Quotes the stay at the lot `lot_id` among `lots`, the candidates of the request.
async fn quote_at_lot(
    db: &Db,
    settings: &BookingSettings,
    lots: &[Lot],
    lot_id: i64,
    request: &BookingRequest,
) -> Result<i64, BookingError> {
    let lot = lots
        .iter()
        .find(|lot| lot.lot_id == lot_id)
        .ok_or_else(|| BookingError::NotFound { what: "parking lot", id: lot_id.to_string() })?;
    quote(db, settings, lot, request).await
}

/// Books a shared space for `request` and returns the stored booking.
///
/// Each attempt reads the windows and bookings, lets the allocator choose a space and
/// writes the booking. When the database rejects the write because another request
/// took that space in between, the next attempt starts over on fresh data.
///
/// Both rejections, no space free and losing every attempt, are stored for the
/// operator report.
///
/// # Errors
/// [`BookingError::NoSpaceFree`] when no space fits, [`BookingError::Overlap`] when
/// every attempt lost its space to a concurrent booking, and the lookup errors.
#[tracing::instrument(skip_all, fields(user.id = driver_user_id, booking.id))]
pub async fn reserve(
    db: &Db,
    settings: &BookingSettings,
    areas: &AreaIndex,
    driver_user_id: i64,
    request: &BookingRequest,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let lots = candidate_lots(db, areas, &request.target).await?;
    let outcome = place(db, settings, driver_user_id, request, &lots, now).await;
    if let Some(reason) = outcome.as_ref().err().and_then(RejectReason::of) {
        // The driver still gets the rejection when it cannot be stored; the report
        // then undercounts rejections, which the log line makes visible.
        if let Err(error) =
            rejections::record(db, driver_user_id, request, &lots, reason, now).await
        {
            tracing::error!(%error, reason = reason.as_str(), "rejected request not stored");
        }
    }
    outcome
}

/// Runs the attempts of [`reserve`] on the candidate `lots`.
async fn place(
    db: &Db,
    settings: &BookingSettings,
    driver_user_id: i64,
    request: &BookingRequest,
    lots: &[Lot],
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let buffer = Duration::minutes(settings.buffer_minutes.max(0));
    let occupied_until = request.ends_at + buffer;
    for attempt in 1..=MAX_ATTEMPTS {
        let times =
            space_times(db, lots, request.driver_kind, request.starts_at, occupied_until).await?;
        let Some(space_id) = choose_space(&times, buffer, request.starts_at, request.ends_at)
        else {
            tracing::debug!(attempt, "no shared space free for the stay");
            return Err(BookingError::NoSpaceFree);
        };
        let Some(time) = times.iter().find(|time| time.space_id == space_id) else {
            return Err(BookingError::NoSpaceFree);
        };
        let booking = NewBooking {
            lot_id: time.lot_id,
            space_id: Some(space_id),
            driver_user_id,
            plate: request.plate.clone(),
            driver_kind: request.driver_kind,
            status: Status::Confirmed,
            starts_at: request.starts_at,
            ends_at: request.ends_at,
            occupied_until,
            vacate_by: vacate_by(time, request.starts_at, occupied_until),
            quote_fen: Some(quote_at_lot(db, settings, lots, time.lot_id, request).await?),
        };
        match store::insert_booking(db, &booking, now).await {
            Ok(booking_id) => {
                tracing::Span::current().record("booking.id", booking_id);
                tracing::info!(space.id = space_id, attempt, "booking confirmed");
                return store::booking_by_id(db, booking_id)
                    .await?
                    .map(|(booking, _)| booking)
                    .ok_or(BookingError::NotFound { what: "booking", id: booking_id.to_string() });
            }
            Err(BookingError::Overlap) => {
                tracing::debug!(space.id = space_id, attempt, "space taken concurrently; retrying");
            }
            Err(other) => return Err(other),
        }
    }
    Err(BookingError::Overlap)
}
