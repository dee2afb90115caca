//! The operator report: the period picked by the operator, the rows it needs, and the
//! figures per lot and in total from [`super::figures`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    figures::{self, BookingFacts, Bounds, Figures},
    pricing::{self, PricingPart},
};
use crate::{
    db::Db,
    http::{AppError, UserMessage},
    locate::AreaIndex,
    parking::booking::{
        rejections, store,
        windows::{self, Window},
    },
    with_pool,
};

/// Maximum period of one report, in days: a leap year.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Days of the default period, which ends today.
const DEFAULT_PERIOD_DAYS: i64 = 7;

/// A period of whole local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// Parses the `from` and `to` dates (`YYYY-MM-DD`); a missing or empty one takes
    /// the default period, the last 7 days up to `today`.
    ///
    /// # Errors
    /// [`AppError::Invalid`] naming the field: a date that does not parse, `to` before
    /// `from`, or a period longer than [`MAX_PERIOD_DAYS`].
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, AppError> {
        let date = |text: Option<&str>, field: &str| -> Result<Option<NaiveDate>, AppError> {
            match text.map(str::trim).filter(|text| !text.is_empty()) {
                None => Ok(None),
                Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| {
                    AppError::Invalid(
                        UserMessage::new("parking_period_date").arg("value", text).field(field),
                    )
                }),
            }
        };
        let to = date(to, "to")?.unwrap_or(today);
        let from = date(from, "from")?.unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS - 1));
        if to < from {
            return Err(AppError::Invalid(UserMessage::new("parking_period_order").field("to")));
        }
        if (to - from).num_days() + 1 > MAX_PERIOD_DAYS {
            return Err(AppError::Invalid(
                UserMessage::new("parking_period_too_long")
                    .arg("days", MAX_PERIOD_DAYS)
                    .field("to"),
            ));
        }
        Ok(Period { from, to })
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Returns `[first local midnight, midnight after the last day)` in UTC.
    fn bounds(&self, zone: Tz) -> Bounds {
        let midnight = |date: NaiveDate| {
            windows::local_instant(zone, date, 0)
                .unwrap_or_else(|| date.and_time(NaiveTime::MIN).and_utc())
        };
        Bounds {
            from: midnight(self.from),
            to: midnight(self.to + Duration::days(1)),
            days: self.days(),
            zone,
        }
    }
}

/// One lot's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct LotFigures {
    pub lot_ref: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Placed bookings whose stay starts on one local day.
#[derive(Debug, Clone, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub bookings: i64,
}

/// The whole report, as the JSON API returns it and the console page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    /// The zone that cuts the local days.
    pub time_zone: String,
    pub lots: Vec<LotFigures>,
    /// Rejected online requests made at an area rather than a lot; counted in the
    /// total only.
    pub area_rejected_online: i64,
    pub total: Figures,
    pub bookings_per_day: Vec<DayCount>,
    /// Occupancy utilisation of the lots in scope and the price changes of the period.
    pub pricing: PricingPart,
}

#[derive(sqlx::FromRow)]
struct LotRow {
    lot_id: i64,
    lot_ref: String,
    name: String,
    grid_area_id: Option<i64>,
}

async fn load_lots(db: &Db) -> Result<Vec<LotRow>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT lot_id, lot_ref, name, grid_area_id FROM parking_lot ORDER BY lot_ref",
        )
        .fetch_all(pool)
        .await
    })
}

/// Which areas the reader may see: called with a lot's grid, or the area of a request
/// made at an area; `None` is a lot placed in no grid.
pub type Scope<'a> = &'a (dyn Fn(Option<i64>) -> bool + Sync);

/// Loads the bookings that may touch `bounds`: those starting in it, and those
/// starting up to `max_stay` before it, whose stay may reach into it.
async fn load_bookings(
    db: &Db,
    bounds: &Bounds,
    max_stay: Duration,
) -> Result<Vec<BookingFacts>, sqlx::Error> {
    let sql = format!(
        "SELECT lot_id, space_id, status, request_mode, starts_at, ends_at, \
         overstay_flagged_at, stay_fee_fen, overstay_fee_fen, cancel_fee_fen \
         FROM parking_booking WHERE {} ORDER BY booking_id",
        crate::parking::booking::starts_in_range(db.backend(), "starts_at")
    );
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(bounds.from - max_stay)
            .bind(bounds.to)
            .fetch_all(pool)
            .await
    })
}

/// Sums the published hours of every shared space of `lot_id` inside `bounds`.
fn published_hours(space_ids: &[i64], lot_id: i64, lot_windows: &[Window], bounds: &Bounds) -> f64 {
    space_ids
        .iter()
        .map(|space_id| {
            let spans = lot_windows
                .iter()
                .filter(|window| window.lot_id == lot_id)
                .filter(|window| window.space_id.is_none_or(|id| id == *space_id))
                .flat_map(|window| window.schedule.occurrences(bounds.from, bounds.to))
                .collect();
            figures::published_hours(&windows::merge(spans), bounds)
        })
        .sum()
}

/// Builds the report of `period` in `zone` over the lots and area requests that `scope`
/// admits. `max_stay_hours` bounds how long before the period a booking may start and
/// still reach into it.
///
/// # Errors
/// A database failure.
#[tracing::instrument(skip_all, fields(period.from = %period.from, period.to = %period.to))]
pub async fn build(
    db: &Db,
    zone: Tz,
    period: Period,
    max_stay_hours: i64,
    scope: Scope<'_>,
    areas: &AreaIndex,
) -> Result<OperatorReport, sqlx::Error> {
    let bounds = period.bounds(zone);
    let mut lots = load_lots(db).await?;
    lots.retain(|lot| scope(lot.grid_area_id));
    let lot_refs: BTreeSet<String> = lots.iter().map(|lot| lot.lot_ref.clone()).collect();
    let pricing = pricing::build(db, zone, bounds.from, bounds.to, &lot_refs).await?;
    let lot_ids: Vec<i64> = lots.iter().map(|lot| lot.lot_id).collect();
    let spaces = store::shared_spaces(db, &lot_ids).await?;
    let lot_windows = store::windows_of_lots(db, &lot_ids).await?;
    let bookings = load_bookings(db, &bounds, Duration::hours(max_stay_hours.max(0))).await?;
    let rejected = rejections::rejected_between(db, bounds.from, bounds.to).await?;

    let mut by_lot: BTreeMap<i64, Figures> = BTreeMap::new();
    for lot in &lots {
        let space_ids: Vec<i64> =
            spaces.iter().filter(|s| s.lot_id == lot.lot_id).map(|s| s.space_id).collect();
        let figures = by_lot.entry(lot.lot_id).or_default();
        figures.shared_spaces = space_ids.len() as i64;
        figures.published_space_hours =
            published_hours(&space_ids, lot.lot_id, &lot_windows, &bounds);
    }
    let mut per_day = BTreeMap::new();
    // by_lot contains exactly the lots in scope, so rows of other lots are skipped.
    for booking in &bookings {
        if let Some(figures) = by_lot.get_mut(&booking.lot_id) {
            figures::count_booking(figures, &mut per_day, booking, &bounds);
        }
    }
    let mut area = Figures::default();
    for request in &rejected {
        match (request.lot_id, &request.area_code) {
            (Some(lot_id), _) => {
                if let Some(figures) = by_lot.get_mut(&lot_id) {
                    figures.rejected_online += 1;
                }
            }
            (None, Some(code)) => {
                if scope(areas.by_code(code).map(|found| found.area_id)) {
                    area.rejected_online += 1;
                }
            }
            (None, None) => {}
        }
    }

    // Lots without shared spaces and without requests would only add rows of zeros.
    let mut shown: Vec<LotFigures> = lots
        .into_iter()
        .filter_map(|lot| {
            let figures = by_lot.remove(&lot.lot_id)?;
            let active = figures.shared_spaces > 0 || figures != Figures::default();
            active.then_some(LotFigures { lot_ref: lot.lot_ref, name: lot.name, figures })
        })
        .collect();
    let mut lot_figures: Vec<Figures> = shown.iter().map(|lot| lot.figures.clone()).collect();
    let total = figures::total(&mut lot_figures, &area, period.days());
    for (lot, finished) in shown.iter_mut().zip(lot_figures) {
        lot.figures = finished;
    }
    let bookings_per_day = period_days(period)
        .map(|date| DayCount { date, bookings: per_day.get(&date).copied().unwrap_or(0) })
        .collect();
    Ok(OperatorReport {
        from: period.from,
        to: period.to,
        days: period.days(),
        time_zone: zone.to_string(),
        lots: shown,
        area_rejected_online: area.rejected_online,
        total,
        bookings_per_day,
        pricing,
    })
}

fn period_days(period: Period) -> impl Iterator<Item = NaiveDate> {
    period.from.iter_days().take_while(move |date| *date <= period.to)
}

/// Returns today's date in `zone` at `now`.
pub fn local_today(now: DateTime<Utc>, zone: Tz) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, 10).unwrap()
    }

    #[test]
    fn period_defaults_to_the_last_seven_days() {
        let period = Period::parse(None, Some(""), today()).unwrap();
        assert_eq!(period.from, NaiveDate::from_ymd_opt(2027, 3, 4).unwrap());
        assert_eq!(period.to, today());
        assert_eq!(period.days(), 7);
    }

    #[test]
    fn period_rejects_bad_dates_order_and_length() {
        let cases = [
            ("unparsable from", Some("2027-13-01"), None, "from"),
            ("to before from", Some("2027-03-05"), Some("2027-03-04"), "to"),
            ("longer than a year", Some("2025-01-01"), Some("2027-03-04"), "to"),
        ];
        for (description, from, to, field) in cases {
            let Err(AppError::Invalid(message)) = Period::parse(from, to, today()) else {
                panic!("{description}: expected an invalid-input error");
            };
            assert_eq!(message.field.as_deref(), Some(field), "{description}");
        }
    }
}
