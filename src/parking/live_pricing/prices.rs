//! Band prices in force at an instant, announced changes, and stay quotes.
//!
//! A band is identified by its day type, start and end minute. A change stored for a
//! band that a later edit of the tariff removed no longer matches any band and is
//! ignored, so the edited band starts again from its base rate.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{PricingError, StoredTariff, tariffs};
use crate::{
    cases::calendar::snapshot::current_calendar,
    db::Db,
    parking::tariff::{Band, DayType, DayTypes, Tariff},
    with_pool,
};

/// A price change of one lot's band: announced at `announced_at`, charged from
/// `effective_at` on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceChange {
    pub price_review_id: i64,
    pub lot_ref: String,
    pub day_type: DayType,
    pub start_minute: u16,
    pub end_minute: u16,
    pub old_fen: u32,
    pub new_fen: u32,
    /// Mean occupied fraction (0–1) of the band's samples in the reviewed period.
    pub mean_occupancy: Option<f64>,
    /// Number of samples behind `mean_occupancy`.
    pub samples: i64,
    pub announced_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
}

impl PriceChange {
    fn is_for(&self, band: &Band) -> bool {
        self.day_type == band.day_type
            && self.start_minute == band.start_minute
            && self.end_minute == band.end_minute
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    price_review_id: i64,
    lot_ref: String,
    day_type: String,
    start_minute: i32,
    end_minute: i32,
    old_fen: i32,
    new_fen: i32,
    mean_occupancy: Option<f64>,
    samples: i32,
    announced_at_ms: i64,
    effective_at_ms: i64,
}

impl ChangeRow {
    fn into_change(self) -> Option<PriceChange> {
        let instant = |ms: i64| Utc.timestamp_millis_opt(ms).single();
        Some(PriceChange {
            price_review_id: self.price_review_id,
            lot_ref: self.lot_ref,
            day_type: DayType::parse(&self.day_type)?,
            start_minute: u16::try_from(self.start_minute).ok()?,
            end_minute: u16::try_from(self.end_minute).ok()?,
            old_fen: u32::try_from(self.old_fen).ok()?,
            new_fen: u32::try_from(self.new_fen).ok()?,
            mean_occupancy: self.mean_occupancy,
            samples: i64::from(self.samples),
            announced_at: instant(self.announced_at_ms)?,
            effective_at: instant(self.effective_at_ms)?,
        })
    }
}

/// Lists the price changes announced in `[from, to)`, of one lot or of all, in
/// announcement order. Reviews that kept the price are not changes and are left out.
///
/// # Errors
/// A database failure.
pub async fn list_changes(
    db: &Db,
    lot_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PriceChange>, sqlx::Error> {
    let sql = "SELECT r.price_review_id, l.lot_ref, r.day_type, r.start_minute, r.end_minute, \
               r.old_fen, r.new_fen, r.mean_occupancy, r.samples, r.announced_at_ms, \
               r.effective_at_ms FROM parking_price_review r \
               JOIN parking_lot l ON l.lot_id = r.lot_id \
               WHERE r.new_fen <> r.old_fen AND r.announced_at_ms >= $1 AND r.announced_at_ms < $2 \
               AND ($3 IS NULL OR r.lot_id = $3) ORDER BY r.announced_at_ms, r.price_review_id";
    let rows: Vec<ChangeRow> = with_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .bind(lot_id)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().filter_map(ChangeRow::into_change).collect())
}

/// Lists every lot's price changes announced in `[from, to)`, oldest first, for the
/// operator console. Each carries the old and new price in fen per hour, the mean
/// occupancy and sample count that moved it, and when it is charged from.
///
/// # Errors
/// A database failure.
pub async fn recent_changes(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PriceChange>, sqlx::Error> {
    list_changes(db, None, from, to).await
}

/// Returns every change of a lot ever announced, oldest first.
async fn changes_of_lot(db: &Db, lot_id: i64) -> Result<Vec<PriceChange>, sqlx::Error> {
    list_changes(db, Some(lot_id), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC).await
}

/// Returns the price of `band` at `at`: the latest change effective at or before it,
/// else the band's base rate. `changes` are the lot's changes, oldest first.
pub fn price_at(band: &Band, changes: &[PriceChange], at: DateTime<Utc>) -> u32 {
    changes
        .iter()
        .filter(|change| change.is_for(band) && change.effective_at <= at)
        .max_by_key(|change| (change.effective_at, change.price_review_id))
        .map_or(band.rate_fen_per_hour, |change| change.new_fen)
}

/// Returns the newest price of `band`, announced or charged, which the next review
/// starts from; the base rate when the band never changed.
pub fn latest_price(band: &Band, changes: &[PriceChange]) -> u32 {
    changes
        .iter()
        .filter(|change| change.is_for(band))
        .max_by_key(|change| (change.announced_at, change.price_review_id))
        .map_or(band.rate_fen_per_hour, |change| change.new_fen)
}

/// Builds the tariff of a lot with every band at its price in force at `at`.
///
/// # Errors
/// A database failure, or a stored tariff that is invalid.
pub async fn tariff_in_force(
    db: &Db,
    lot_id: i64,
    tariff: &StoredTariff,
    at: DateTime<Utc>,
) -> Result<Tariff, PricingError> {
    let changes = changes_of_lot(db, lot_id).await?;
    let bands = tariff
        .tariff
        .bands()
        .iter()
        .map(|band| Band { rate_fen_per_hour: price_at(band, &changes, at), ..*band })
        .collect();
    Tariff::new(bands).map_err(|error| PricingError::Corrupt {
        code: tariff.code.clone(),
        reason: error.to_string(),
    })
}

/// Loads the day types of the working calendar: its holidays and make-up working days.
///
/// # Errors
/// A database failure or a corrupt calendar, as [`PricingError::Corrupt`].
pub async fn day_types(db: &Db) -> Result<DayTypes, PricingError> {
    let calendar = current_calendar(db).await.map_err(|error| PricingError::Corrupt {
        code: "working calendar".to_owned(),
        reason: error.to_string(),
    })?;
    Ok(DayTypes::from_calendar(&calendar))
}

/// Prices a stay `[start, end)` at lot `lot_id`, per segment across bands and midnights
/// in `zone`, at the band prices in force at `prices_at`.
///
/// Check-out passes the check-in time, and the booking quote passes the booked start,
/// so a change announced before the booking is in the quote.
///
/// # Errors
/// A missing or invalid tariff, an empty stay, or a database failure.
pub async fn price_lot_stay(
    db: &Db,
    zone: Tz,
    lot_id: i64,
    lot_tariff_code: &str,
    prices_at: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<u64, PricingError> {
    let stored = tariffs::tariff_of_lot(db, lot_tariff_code).await?;
    let tariff = tariff_in_force(db, lot_id, &stored, prices_at).await?;
    let day_types = day_types(db).await?;
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).naive_local();
    let priced = tariff
        .price_stay(local(start), local(end), &day_types)
        .map_err(|_| super::invalid("parking_stay_order", "ends_at"))?;
    Ok(priced.total_fen)
}

/// A band of a lot with its price now.
#[derive(Debug, Clone, Serialize)]
pub struct BandPrice {
    pub day_type: DayType,
    pub start_minute: u16,
    pub end_minute: u16,
    /// The tariff's rate before any change, fen per hour.
    pub base_fen: u32,
    /// The rate charged now, fen per hour.
    pub price_fen: u32,
}

/// The prices of one lot: each band now, and the changes announced but not yet charged.
#[derive(Debug, Clone, Serialize)]
pub struct LotPrices {
    pub lot_ref: String,
    pub tariff_code: String,
    pub bands: Vec<BandPrice>,
    pub upcoming: Vec<PriceChange>,
}

/// Computes the prices of lot `lot_ref` at `now`.
///
/// # Errors
/// [`PricingError::NotFound`] for a missing lot or tariff, or a database failure.
pub async fn lot_prices(
    db: &Db,
    lot_ref: &str,
    now: DateTime<Utc>,
) -> Result<LotPrices, PricingError> {
    let lot =
        crate::parking::inventory::store::lot_by_ref(db, lot_ref).await.map_err(
            |error| match error {
                crate::parking::inventory::InventoryError::Database(error) => error.into(),
                _ => PricingError::NotFound { what: "parking lot", id: lot_ref.to_owned() },
            },
        )?;
    let stored = tariffs::tariff_of_lot(db, &lot.tariff_code).await?;
    let changes = changes_of_lot(db, lot.lot_id).await?;
    let bands = stored
        .tariff
        .bands()
        .iter()
        .map(|band| BandPrice {
            day_type: band.day_type,
            start_minute: band.start_minute,
            end_minute: band.end_minute,
            base_fen: band.rate_fen_per_hour,
            price_fen: price_at(band, &changes, now),
        })
        .collect();
    let upcoming = changes
        .into_iter()
        .filter(|change| {
            change.effective_at > now
                && stored.tariff.bands().iter().any(|band| change.is_for(band))
        })
        .collect();
    Ok(LotPrices { lot_ref: lot.lot_ref, tariff_code: stored.code, bands, upcoming })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band() -> Band {
        Band {
            day_type: DayType::Weekday,
            start_minute: 480,
            end_minute: 1200,
            rate_fen_per_hour: 600,
        }
    }

    fn change(id: i64, new_fen: u32, announced: &str, effective: &str) -> PriceChange {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        PriceChange {
            price_review_id: id,
            lot_ref: "L1".to_owned(),
            day_type: DayType::Weekday,
            start_minute: 480,
            end_minute: 1200,
            old_fen: 600,
            new_fen,
            mean_occupancy: Some(0.9),
            samples: 100,
            announced_at: at(announced),
            effective_at: at(effective),
        }
    }

    #[test]
    fn price_applies_only_from_effective_time() {
        let changes = [change(1, 650, "2027-03-01T00:00:00Z", "2027-03-08T00:00:00Z")];
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        assert_eq!(price_at(&band(), &changes, at("2027-03-07T23:59:59Z")), 600, "announced only");
        assert_eq!(price_at(&band(), &changes, at("2027-03-08T00:00:00Z")), 650, "effective");
        assert_eq!(latest_price(&band(), &changes), 650, "next review starts from it");
    }

    #[test]
    fn change_of_another_band_is_ignored() {
        let mut other = change(1, 650, "2027-03-01T00:00:00Z", "2027-03-01T00:00:00Z");
        other.start_minute = 0;
        assert_eq!(price_at(&band(), &[other], Utc::now()), 600);
    }
}
