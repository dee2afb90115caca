//! Moves a booking through its states: cancel, check in, check out; prices stays.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Booking, BookingError, Status, store};
use crate::{
    config::BookingSettings,
    db::Db,
    parking::{
        live_pricing::{prices, tariffs},
        tariff::{Band, DayType, DayTypes, Tariff},
    },
    with_pool,
};

/// Who acts on a booking.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: i64,
    /// Administrators act on every booking.
    pub is_administrator: bool,
}

/// Loads booking `booking_id` if `actor` may see it: its driver, its lot's owner or an
/// administrator. Others get [`BookingError::NotFound`], so ids of others' bookings
/// reveal nothing.
///
/// # Errors
/// [`BookingError::NotFound`] when it is missing or hidden.
pub async fn visible_booking(
    db: &Db,
    actor: Actor,
    booking_id: i64,
) -> Result<Booking, BookingError> {
    let not_found = || BookingError::NotFound { what: "booking", id: booking_id.to_string() };
    let (booking, owner) = store::booking_by_id(db, booking_id).await?.ok_or_else(not_found)?;
    let visible = actor.is_administrator
        || booking.driver_user_id == actor.user_id
        || owner == Some(actor.user_id);
    if visible { Ok(booking) } else { Err(not_found()) }
}

/// Loads a booking the actor may change: its driver or an administrator.
async fn own_booking(db: &Db, actor: Actor, booking_id: i64) -> Result<Booking, BookingError> {
    let booking = visible_booking(db, actor, booking_id).await?;
    if actor.is_administrator || booking.driver_user_id == actor.user_id {
        Ok(booking)
    } else {
        Err(BookingError::Forbidden)
    }
}

/// Returns the fee of cancelling `booking` at `now`: free until
/// `free_cancel_minutes` before the start, the fixed fee after.
pub fn cancel_fee(settings: &BookingSettings, booking: &Booking, now: DateTime<Utc>) -> i64 {
    let free_until = booking.starts_at - Duration::minutes(settings.free_cancel_minutes);
    if now <= free_until { 0 } else { settings.cancel_fee_fen.max(0) }
}

/// Cancels a requested or confirmed booking, charging the late fee when due.
///
/// # Errors
/// [`BookingError::WrongState`] once the driver checked in or the booking ended.
pub async fn cancel(
    db: &Db,
    settings: &BookingSettings,
    actor: Actor,
    booking_id: i64,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = own_booking(db, actor, booking_id).await?;
    let fee = cancel_fee(settings, &booking, now);
    let changed = transition(
        db,
        booking_id,
        &[Status::Requested, Status::Confirmed],
        "status = 'cancelled', cancelled_at = $2, cancel_fee_fen = $3, updated_at = $2",
        now,
        fee,
    )
    .await?;
    finish(db, actor, booking, changed, "cancel").await
}

/// Checks the driver in, from 15 minutes before the start until the no-show hold ends.
///
/// # Errors
/// [`BookingError::WrongState`] unless the booking is confirmed; invalid input when it
/// is too early or too late.
pub async fn check_in(
    db: &Db,
    settings: &BookingSettings,
    actor: Actor,
    booking_id: i64,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = own_booking(db, actor, booking_id).await?;
    if booking.status == Status::Confirmed {
        if now < booking.starts_at - Duration::minutes(EARLY_CHECK_IN_MINUTES) {
            return Err(super::invalid("parking_check_in_early", "booking_id"));
        }
        if now > booking.starts_at + Duration::minutes(settings.no_show_hold_minutes) {
            return Err(super::invalid("parking_check_in_late", "booking_id"));
        }
    }
    let changed = transition(
        db,
        booking_id,
        &[Status::Confirmed],
        "status = 'checked_in', checked_in_at = $2, updated_at = $2",
        now,
        0,
    )
    .await?;
    finish(db, actor, booking, changed, "check_in").await
}

/// How early before the start a driver may check in, in minutes.
const EARLY_CHECK_IN_MINUTES: i64 = 15;

/// Charges of a finished stay, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayCharge {
    pub stay_fee_fen: i64,
    pub overstay_minutes: i64,
    pub overstay_fee_fen: i64,
}

/// Builds the tariff of the `[booking]` settings: the day rate between `day_starts` and
/// `day_ends` on every kind of day, the night rate otherwise. It seeds the stored
/// `default` tariff, which prices the stays of lots without a tariff of their own.
///
/// # Errors
/// [`BookingError::Invalid`] when the settings' times do not parse or are not in order.
pub fn stay_tariff(settings: &BookingSettings) -> Result<Tariff, BookingError> {
    let minute = |text: &str| {
        NaiveTime::parse_from_str(text, "%H:%M")
            .ok()
            .and_then(|time| u16::try_from((time - NaiveTime::MIN).num_minutes()).ok())
    };
    let bad = || super::invalid("parking_tariff_settings", "booking.day_starts");
    let (day_start, day_end) = (
        minute(&settings.day_starts).ok_or_else(bad)?,
        minute(&settings.day_ends).ok_or_else(bad)?,
    );
    if day_start == 0 || day_end <= day_start {
        return Err(bad());
    }
    let mut bands = Vec::new();
    for day_type in [DayType::Weekday, DayType::Weekend, DayType::Holiday] {
        let band = |start_minute, end_minute, rate_fen_per_hour| Band {
            day_type,
            start_minute,
            end_minute,
            rate_fen_per_hour,
        };
        bands.push(band(0, day_start, settings.night_fen_per_hour));
        bands.push(band(day_start, day_end, settings.day_fen_per_hour));
        if day_end < crate::parking::tariff::MINUTES_PER_DAY {
            bands.push(band(
                day_end,
                crate::parking::tariff::MINUTES_PER_DAY,
                settings.night_fen_per_hour,
            ));
        }
    }
    Tariff::new(bands).map_err(|_| bad())
}

/// Prices a stay checked in at `checked_in_at` and out at `checked_out_at`: the part
/// up to the booking's end with `tariff` in local time of `[booking] time_zone`, each
/// date's day type from `day_types`, and every started minute after the end at the
/// overstay rate.
///
/// # Errors
/// [`BookingError::Invalid`] when the stay cannot be priced.
pub fn price(
    settings: &BookingSettings,
    tariff: &Tariff,
    day_types: &DayTypes,
    booking: &Booking,
    checked_in_at: DateTime<Utc>,
    checked_out_at: DateTime<Utc>,
) -> Result<StayCharge, BookingError> {
    let zone: Tz = settings.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let start = checked_in_at.max(booking.starts_at);
    let end = checked_out_at.min(booking.ends_at);
    let stay_fee_fen = if start < end {
        let local = |at: DateTime<Utc>| at.with_timezone(&zone).naive_local();
        let priced = tariff
            .price_stay(local(start), local(end), day_types)
            .map_err(|_| super::invalid("parking_stay_order", "ends_at"))?;
        i64::try_from(priced.total_fen).unwrap_or(i64::MAX)
    } else {
        0
    };
    let over_seconds = (checked_out_at - booking.ends_at).num_seconds().max(0);
    let overstay_minutes = (over_seconds + 59) / 60;
    let overstay_fee_fen = (overstay_minutes * settings.overstay_fen_per_hour + 30) / 60;
    Ok(StayCharge { stay_fee_fen, overstay_minutes, overstay_fee_fen })
}

/// Prices a stay with its lot's tariff at the band prices in force at check-in, so a
/// price change announced or charged during the stay never applies to it.
async fn stay_charge(
    db: &Db,
    settings: &BookingSettings,
    booking: &Booking,
    checked_in_at: DateTime<Utc>,
    checked_out_at: DateTime<Utc>,
) -> Result<StayCharge, BookingError> {
    let lot = crate::parking::inventory::store::lot_by_ref(db, &booking.lot_ref)
        .await
        .map_err(|_| BookingError::NotFound { what: "parking lot", id: booking.lot_ref.clone() })?;
    let stored = tariffs::tariff_of_lot(db, &lot.tariff_code).await?;
    let tariff = prices::tariff_in_force(db, lot.lot_id, &stored, checked_in_at).await?;
    let day_types = prices::day_types(db).await?;
    price(settings, &tariff, &day_types, booking, checked_in_at, checked_out_at)
}

/// Checks the driver out and records the charges of the stay and of any overstay.
///
/// # Errors
/// [`BookingError::WrongState`] unless the driver is checked in.
pub async fn check_out(
    db: &Db,
    settings: &BookingSettings,
    actor: Actor,
    booking_id: i64,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = own_booking(db, actor, booking_id).await?;
    let Some(checked_in_at) = booking.checked_in_at.filter(|_| booking.status == Status::CheckedIn)
    else {
        return Err(BookingError::WrongState {
            booking_id,
            status: booking.status,
            action: "check_out",
        });
    };
    let charge = stay_charge(db, settings, &booking, checked_in_at, now).await?;
    let _turn = db.write_turn().await;
    let changed = with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE parking_booking SET status = 'completed', checked_out_at = $2, \
             stay_fee_fen = $3, overstay_minutes = $4, overstay_fee_fen = $5, updated_at = $2 \
             WHERE booking_id = $1 AND status = 'checked_in'",
        )
        .bind(booking_id)
        .bind(now)
        .bind(charge.stay_fee_fen)
        .bind(charge.overstay_minutes)
        .bind(charge.overstay_fee_fen)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() > 0)
    })?;
    drop(_turn);
    if charge.overstay_minutes > 0 {
        tracing::info!(
            booking.id = booking_id,
            overstay_minutes = charge.overstay_minutes,
            "overstay charged"
        );
    }
    finish(db, actor, booking, changed, "check_out").await
}

/// Applies `assignments` to booking `booking_id` if its status is one of `from`.
/// `$2` is bound to `now` and `$3` to `amount`; returns whether a row changed.
async fn transition(
    db: &Db,
    booking_id: i64,
    from: &[Status],
    assignments: &str,
    now: DateTime<Utc>,
    amount: i64,
) -> Result<bool, BookingError> {
    let states: Vec<String> = from.iter().map(|status| format!("'{}'", status.as_str())).collect();
    // Assignments and states are constants of this module, never input.
    let sql = format!(
        "UPDATE parking_booking SET {assignments} WHERE booking_id = $1 AND status IN ({})",
        states.join(", ")
    );
    let _turn = db.write_turn().await;
    let changed = with_pool!(db, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(booking_id)
            .bind(now)
            .bind(amount)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0)
    })?;
    Ok(changed)
}

/// Reloads the booking after a transition, or reports the state that prevented it.
async fn finish(
    db: &Db,
    actor: Actor,
    before: Booking,
    changed: bool,
    action: &'static str,
) -> Result<Booking, BookingError> {
    let after = visible_booking(db, actor, before.booking_id).await?;
    if changed {
        tracing::info!(
            booking.id = after.booking_id,
            status = after.status.as_str(),
            action,
            "booking changed"
        );
        Ok(after)
    } else {
        Err(BookingError::WrongState { booking_id: after.booking_id, status: after.status, action })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::booking::DriverKind;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn booking(starts_at: &str, ends_at: &str) -> Booking {
        Booking {
            booking_id: 1,
            lot_ref: "L1".to_owned(),
            space_ref: Some("S1".to_owned()),
            driver_user_id: 1,
            plate: "京A12345".to_owned(),
            driver_kind: DriverKind::Resident,
            status: Status::CheckedIn,
            starts_at: at(starts_at),
            ends_at: at(ends_at),
            occupied_until: at(ends_at) + Duration::minutes(15),
            vacate_by: None,
            checked_in_at: None,
            checked_out_at: None,
            cancelled_at: None,
            overstay_flagged_at: None,
            overstay_warned_at: None,
            stay_fee_fen: 0,
            overstay_minutes: 0,
            overstay_fee_fen: 0,
            cancel_fee_fen: 0,
            quote_fen: None,
        }
    }

    /// Prices `stay` with the tariff of the default settings and no holidays.
    fn price_default(stay: &Booking, out: DateTime<Utc>) -> StayCharge {
        let settings = BookingSettings::default();
        let tariff = stay_tariff(&settings).unwrap();
        price(&settings, &tariff, &DayTypes::default(), stay, stay.starts_at, out).unwrap()
    }

    #[test]
    fn stay_across_midnight_and_two_bands_is_priced_per_segment() {
        // Tuesday 18:00 to Wednesday 09:00 Beijing time: 2 h day, 12 h night, 1 h day.
        let stay = booking("2026-12-08T18:00:00+08:00", "2026-12-09T09:00:00+08:00");
        let charge = price_default(&stay, stay.ends_at);
        assert_eq!(charge.stay_fee_fen, 2 * 600 + 12 * 200 + 600);
        assert_eq!(charge.overstay_minutes, 0);
    }

    #[test]
    fn overstay_minutes_are_charged_at_the_overstay_rate() {
        let stay = booking("2026-12-08T10:00:00+08:00", "2026-12-08T12:00:00+08:00");
        let out = stay.ends_at + Duration::minutes(29) + Duration::seconds(10);
        let charge = price_default(&stay, out);
        assert_eq!(charge.stay_fee_fen, 2 * 600);
        assert_eq!(charge.overstay_minutes, 30);
        assert_eq!(charge.overstay_fee_fen, 1000);
    }

    #[test]
    fn cancellation_is_free_until_the_deadline() {
        let settings = BookingSettings::default();
        let stay = booking("2026-12-08T10:00:00+08:00", "2026-12-08T12:00:00+08:00");
        assert_eq!(cancel_fee(&settings, &stay, at("2026-12-08T09:00:00+08:00")), 0);
        assert_eq!(cancel_fee(&settings, &stay, at("2026-12-08T09:01:00+08:00")), 500);
    }
}
