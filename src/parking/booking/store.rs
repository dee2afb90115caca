//! Storage of windows and bookings; the same SQL runs on SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Booking, BookingError, DriverKind, Status,
    windows::{Audience, NewWindow, Schedule, Window},
};
use crate::{db::Db, with_pool};

/// The name of the no-overlap rule: the exclusion constraint on PostgreSQL and the
/// trigger's error message on SQLite.
pub const NO_OVERLAP: &str = "parking_booking_no_overlap";

/// Reports whether `error` is a violation of the no-overlap rule.
pub fn is_overlap(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(database) = error else { return false };
    // 23P01 is PostgreSQL's exclusion_violation.
    database.code().as_deref() == Some("23P01") || database.message().contains(NO_OVERLAP)
}

/// A lot as booking needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Lot {
    pub lot_id: i64,
    pub lot_ref: String,
    pub owner_user_id: Option<i64>,
    pub status: String,
    pub grid_area_id: Option<i64>,
    /// Empty for the `default` tariff.
    pub tariff_code: String,
}

/// A shared, open space.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SharedSpace {
    pub space_id: i64,
    pub lot_id: i64,
    pub space_ref: String,
}

/// Returns the lot `lot_ref`.
pub async fn lot_by_ref(db: &Db, lot_ref: &str) -> Result<Option<Lot>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT lot_id, lot_ref, owner_user_id, status, grid_area_id, tariff_code FROM parking_lot \
             WHERE lot_ref = $1",
        )
        .bind(lot_ref)
        .fetch_optional(pool)
        .await
    })
}

/// Returns the lot `lot_id`.
pub async fn lot_by_id(db: &Db, lot_id: i64) -> Result<Option<Lot>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT lot_id, lot_ref, owner_user_id, status, grid_area_id, tariff_code FROM parking_lot \
             WHERE lot_id = $1",
        )
        .bind(lot_id)
        .fetch_optional(pool)
        .await
    })
}

/// Returns every open lot placed in a grid, for requests that name an area.
pub async fn open_lots_in_grids(db: &Db) -> Result<Vec<Lot>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT lot_id, lot_ref, owner_user_id, status, grid_area_id, tariff_code FROM parking_lot \
             WHERE status = 'open' AND grid_area_id IS NOT NULL ORDER BY lot_id",
        )
        .fetch_all(pool)
        .await
    })
}

fn id_list(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    list.join(",")
}

/// Returns the shared spaces of `lot_ids` that are not closed, in lot and space order.
pub async fn shared_spaces(db: &Db, lot_ids: &[i64]) -> Result<Vec<SharedSpace>, sqlx::Error> {
    if lot_ids.is_empty() {
        return Ok(Vec::new());
    }
    // The ids come from the database, never from a request.
    let sql = format!(
        "SELECT space_id, lot_id, space_ref FROM parking_space \
         WHERE lot_id IN ({}) AND shared AND NOT closed ORDER BY lot_id, space_id",
        id_list(lot_ids)
    );
    with_pool!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await)
}

/// Returns the space `space_ref` of lot `lot_id`.
pub async fn space_of_lot(
    db: &Db,
    lot_id: i64,
    space_ref: &str,
) -> Result<Option<SharedSpace>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT space_id, lot_id, space_ref FROM parking_space \
             WHERE lot_id = $1 AND space_ref = $2",
        )
        .bind(lot_id)
        .bind(space_ref)
        .fetch_optional(pool)
        .await
    })
}

#[derive(sqlx::FromRow)]
struct WindowRow {
    window_id: i64,
    lot_id: i64,
    space_id: Option<i64>,
    space_ref: Option<String>,
    kind: String,
    weekday_mask: i32,
    start_minute: i32,
    end_minute: i32,
    time_zone: String,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    audience: String,
}

impl WindowRow {
    fn into_window(self) -> Window {
        let schedule = match (self.kind.as_str(), self.starts_at, self.ends_at) {
            ("once", Some(starts_at), Some(ends_at)) => Schedule::Once { starts_at, ends_at },
            _ => Schedule::Weekly {
                weekday_mask: u8::try_from(self.weekday_mask).unwrap_or(0),
                start_minute: u16::try_from(self.start_minute).unwrap_or(0),
                end_minute: u16::try_from(self.end_minute).unwrap_or(0),
                time_zone: self.time_zone,
                valid_from: self.valid_from,
                valid_until: self.valid_until,
            },
        };
        Window {
            window_id: self.window_id,
            lot_id: self.lot_id,
            space_id: self.space_id,
            space_ref: self.space_ref,
            audience: Audience::parse(&self.audience).unwrap_or(Audience::Any),
            schedule,
        }
    }
}

const WINDOW_COLUMNS: &str = "w.window_id, w.lot_id, w.space_id, s.space_ref, w.kind, \
    w.weekday_mask, w.start_minute, w.end_minute, w.time_zone, w.valid_from, w.valid_until, \
    w.starts_at, w.ends_at, w.audience FROM parking_window w \
    LEFT JOIN parking_space s ON s.space_id = w.space_id";

/// Returns the windows of `lot_ids` in publication order.
pub async fn windows_of_lots(db: &Db, lot_ids: &[i64]) -> Result<Vec<Window>, sqlx::Error> {
    if lot_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {WINDOW_COLUMNS} WHERE w.lot_id IN ({}) ORDER BY w.window_id",
        id_list(lot_ids)
    );
    let rows: Vec<WindowRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(WindowRow::into_window).collect())
}

/// Returns the window `window_id`.
pub async fn window_by_id(db: &Db, window_id: i64) -> Result<Option<Window>, sqlx::Error> {
    let sql = format!("SELECT {WINDOW_COLUMNS} WHERE w.window_id = $1");
    let row: Option<WindowRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(window_id).fetch_optional(pool).await
    })?;
    Ok(row.map(WindowRow::into_window))
}

/// Stores `window` for lot `lot_id` and returns its id.
pub async fn insert_window(
    db: &Db,
    lot_id: i64,
    space_id: Option<i64>,
    window: &NewWindow,
    created_by: i64,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let (kind, mask, start, end, zone, from, until, starts_at, ends_at) = match &window.schedule {
        Schedule::Weekly {
            weekday_mask,
            start_minute,
            end_minute,
            time_zone,
            valid_from,
            valid_until,
        } => (
            "weekly",
            i32::from(*weekday_mask),
            i32::from(*start_minute),
            i32::from(*end_minute),
            time_zone.clone(),
            *valid_from,
            *valid_until,
            None,
            None,
        ),
        Schedule::Once { starts_at, ends_at } => {
            ("once", 0, 0, 0, "UTC".to_owned(), None, None, Some(*starts_at), Some(*ends_at))
        }
    };
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO parking_window (lot_id, space_id, kind, weekday_mask, start_minute, \
             end_minute, time_zone, valid_from, valid_until, starts_at, ends_at, audience, \
             created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             RETURNING window_id",
        )
        .bind(lot_id)
        .bind(space_id)
        .bind(kind)
        .bind(mask)
        .bind(start)
        .bind(end)
        .bind(&zone)
        .bind(from)
        .bind(until)
        .bind(starts_at)
        .bind(ends_at)
        .bind(window.audience.as_str())
        .bind(created_by)
        .bind(now)
        .fetch_one(pool)
        .await
    })
}

/// Deletes the window `window_id`.
pub async fn delete_window(db: &Db, window_id: i64) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query("DELETE FROM parking_window WHERE window_id = $1")
            .bind(window_id)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// An active booking's taken span on its space.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TakenSpan {
    pub booking_id: i64,
    pub space_id: i64,
    pub starts_at: DateTime<Utc>,
    pub occupied_until: DateTime<Utc>,
}

/// Returns the active bookings of `space_ids` still taking their space after `from`.
pub async fn taken_spans(
    db: &Db,
    space_ids: &[i64],
    from: DateTime<Utc>,
) -> Result<Vec<TakenSpan>, sqlx::Error> {
    if space_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT booking_id, space_id, starts_at, occupied_until FROM parking_booking \
         WHERE space_id IN ({}) AND status IN ('requested', 'confirmed', 'checked_in') \
         ORDER BY space_id, starts_at",
        id_list(space_ids)
    );
    let spans: Vec<TakenSpan> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    // Filtered here because SQLite stores the times as text with offsets.
    Ok(spans.into_iter().filter(|span| span.occupied_until > from).collect())
}

/// A booking ready to be written.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub lot_id: i64,
    pub space_id: Option<i64>,
    pub driver_user_id: i64,
    pub plate: String,
    pub driver_kind: DriverKind,
    pub status: Status,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub occupied_until: DateTime<Utc>,
    pub vacate_by: Option<DateTime<Utc>>,
    /// Price of the stay quoted at booking time, in fen.
    pub quote_fen: Option<i64>,
}

/// Writes `booking` and returns its id.
///
/// # Errors
/// [`BookingError::Overlap`] when the database rejects it because it overlaps an active
/// booking of the same space.
pub async fn insert_booking(
    db: &Db,
    booking: &NewBooking,
    now: DateTime<Utc>,
) -> Result<i64, BookingError> {
    // A request stored without a space waits for the batch allocator.
    let mode = if booking.space_id.is_none() && booking.status == Status::Requested {
        "batch"
    } else {
        "online"
    };
    let _turn = db.write_turn().await;
    let inserted = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO parking_booking (lot_id, space_id, driver_user_id, plate, driver_kind, \
             status, starts_at, ends_at, occupied_until, vacate_by, quote_fen, created_at, \
             updated_at, request_mode) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $11, $11, $13) \
             RETURNING booking_id",
        )
        .bind(booking.lot_id)
        .bind(booking.space_id)
        .bind(booking.driver_user_id)
        .bind(&booking.plate)
        .bind(booking.driver_kind.as_str())
        .bind(booking.status.as_str())
        .bind(booking.starts_at)
        .bind(booking.ends_at)
        .bind(booking.occupied_until)
        .bind(booking.vacate_by)
        .bind(now)
        .bind(booking.quote_fen)
        .bind(mode)
        .fetch_one(pool)
        .await
    });
    inserted.map_err(|error| if is_overlap(&error) { BookingError::Overlap } else { error.into() })
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    booking_id: i64,
    lot_ref: String,
    space_ref: Option<String>,
    driver_user_id: i64,
    plate: String,
    driver_kind: String,
    status: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    occupied_until: DateTime<Utc>,
    vacate_by: Option<DateTime<Utc>>,
    checked_in_at: Option<DateTime<Utc>>,
    checked_out_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    overstay_flagged_at: Option<DateTime<Utc>>,
    overstay_warned_at: Option<DateTime<Utc>>,
    stay_fee_fen: i64,
    overstay_minutes: i64,
    overstay_fee_fen: i64,
    cancel_fee_fen: i64,
    quote_fen: Option<i64>,
}

impl BookingRow {
    fn into_booking(self) -> Booking {
        Booking {
            booking_id: self.booking_id,
            lot_ref: self.lot_ref,
            space_ref: self.space_ref,
            driver_user_id: self.driver_user_id,
            plate: self.plate,
            driver_kind: DriverKind::parse(&self.driver_kind).unwrap_or(DriverKind::Visitor),
            status: Status::parse(&self.status).unwrap_or(Status::Rejected),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            occupied_until: self.occupied_until,
            vacate_by: self.vacate_by,
            checked_in_at: self.checked_in_at,
            checked_out_at: self.checked_out_at,
            cancelled_at: self.cancelled_at,
            overstay_flagged_at: self.overstay_flagged_at,
            overstay_warned_at: self.overstay_warned_at,
            stay_fee_fen: self.stay_fee_fen,
            overstay_minutes: self.overstay_minutes,
            overstay_fee_fen: self.overstay_fee_fen,
            cancel_fee_fen: self.cancel_fee_fen,
            quote_fen: self.quote_fen,
        }
    }
}

const BOOKING_COLUMNS: &str = "b.booking_id, l.lot_ref, s.space_ref, b.driver_user_id, \
    b.plate, b.driver_kind, b.status, b.starts_at, b.ends_at, b.occupied_until, b.vacate_by, \
    b.checked_in_at, b.checked_out_at, b.cancelled_at, b.overstay_flagged_at, \
    b.overstay_warned_at, b.stay_fee_fen, b.overstay_minutes, b.overstay_fee_fen, \
    b.cancel_fee_fen, b.quote_fen FROM parking_booking b JOIN parking_lot l ON l.lot_id = b.lot_id \
    LEFT JOIN parking_space s ON s.space_id = b.space_id";

/// Returns the booking `booking_id` and the owner of its lot.
pub async fn booking_by_id(
    db: &Db,
    booking_id: i64,
) -> Result<Option<(Booking, Option<i64>)>, sqlx::Error> {
    let sql = format!("SELECT {BOOKING_COLUMNS} WHERE b.booking_id = $1");
    let owner_sql = "SELECT l.owner_user_id FROM parking_booking b \
                     JOIN parking_lot l ON l.lot_id = b.lot_id WHERE b.booking_id = $1";
    with_pool!(db, |pool| {
        let row: Option<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(booking_id)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let owner: Option<i64> =
            sqlx::query_scalar(owner_sql).bind(booking_id).fetch_one(pool).await?;
        Ok(Some((row.into_booking(), owner)))
    })
}

/// Which bookings a list returns.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub driver_user_id: Option<i64>,
    pub lot_id: Option<i64>,
    /// Bookings on any lot this user owns.
    pub owner_user_id: Option<i64>,
    pub status: Option<Status>,
}

/// Upper bound of a booking list; the newest come first.
pub const MAX_LISTED_BOOKINGS: i64 = 500;

/// Returns the bookings matching `filter`, newest start first.
pub async fn list_bookings(db: &Db, filter: &BookingFilter) -> Result<Vec<Booking>, sqlx::Error> {
    let sql = format!(
        "SELECT {BOOKING_COLUMNS} WHERE ($1 IS NULL OR b.driver_user_id = $1) \
         AND ($2 IS NULL OR b.lot_id = $2) AND ($3 IS NULL OR l.owner_user_id = $3) \
         AND ($4 IS NULL OR b.status = $4) \
         ORDER BY b.starts_at DESC, b.booking_id DESC LIMIT {MAX_LISTED_BOOKINGS}"
    );
    let rows: Vec<BookingRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(filter.driver_user_id)
            .bind(filter.lot_id)
            .bind(filter.owner_user_id)
            .bind(filter.status.map(Status::as_str))
            .fetch_all(pool)
            .await
    })?;
    Ok(rows.into_iter().map(BookingRow::into_booking).collect())
}
