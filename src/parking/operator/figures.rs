//! The operator report's figures, computed from loaded rows without touching storage.
//!
//! One rule assigns rows to the period: a booking or a rejected request counts when
//! its requested stay starts in the period. Space-hours are the exception, because a
//! stay may cross the period's edge: they count only the part inside the period.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::parking::booking::windows::Span;

/// Seconds per hour, to turn spans into hours.
const SECONDS_PER_HOUR: f64 = 3600.0;

/// A booking row as the report needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookingFacts {
    pub lot_id: i64,
    pub space_id: Option<i64>,
    pub status: String,
    pub request_mode: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub overstay_flagged_at: Option<DateTime<Utc>>,
    pub stay_fee_fen: i64,
    pub overstay_fee_fen: i64,
    pub cancel_fee_fen: i64,
}

/// Figures of one lot, or of all lots together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Shared spaces that are not closed, as the inventory is now.
    pub shared_spaces: i64,
    /// Hours in the period in which the sharing windows open the shared spaces,
    /// summed over spaces.
    pub published_space_hours: f64,
    /// Hours in the period reserved by placed, not cancelled bookings (confirmed,
    /// checked in, completed), summed over spaces.
    pub booked_space_hours: f64,
    /// booked_space_hours / published_space_hours; `None` without published hours.
    pub sharing_utilisation: Option<f64>,
    pub completed_stays: i64,
    /// 周转率: completed_stays / shared_spaces / days in the period.
    pub turnover_per_space_day: Option<f64>,
    /// Online requests placed on a space at once.
    pub served_online: i64,
    /// Requests that got a space from the batch allocator.
    pub served_batch: i64,
    /// Online requests rejected as "no space free", or lost to concurrent bookings.
    pub rejected_online: i64,
    /// Batch requests no space could take.
    pub rejected_batch: i64,
    /// Batch requests still waiting for an allocation.
    pub pending_batch: i64,
    /// Served requests / (served + rejected requests); `None` without requests.
    pub served_share: Option<f64>,
    pub no_shows: i64,
    pub cancellations: i64,
    /// Stays the worker found still parked past the booking's end.
    pub overstays: i64,
    pub stay_fee_fen: i64,
    pub overstay_fee_fen: i64,
    pub cancel_fee_fen: i64,
    /// stay_fee_fen + overstay_fee_fen + cancel_fee_fen.
    pub revenue_fen: i64,
}

impl Figures {
    /// Sets the ratios from the counts; `days` is the period's length in days.
    fn finish(&mut self, days: i64) {
        self.sharing_utilisation = (self.published_space_hours > 0.0)
            .then(|| self.booked_space_hours / self.published_space_hours);
        self.turnover_per_space_day = (self.shared_spaces > 0 && days > 0)
            .then(|| self.completed_stays as f64 / (self.shared_spaces * days) as f64);
        let served = self.served_online + self.served_batch;
        let answered = served + self.rejected_online + self.rejected_batch;
        self.served_share = (answered > 0).then(|| served as f64 / answered as f64);
        self.revenue_fen = self.stay_fee_fen + self.overstay_fee_fen + self.cancel_fee_fen;
    }

    fn add(&mut self, other: &Figures) {
        self.shared_spaces += other.shared_spaces;
        self.published_space_hours += other.published_space_hours;
        self.booked_space_hours += other.booked_space_hours;
        self.completed_stays += other.completed_stays;
        self.served_online += other.served_online;
        self.served_batch += other.served_batch;
        self.rejected_online += other.rejected_online;
        self.rejected_batch += other.rejected_batch;
        self.pending_batch += other.pending_batch;
        self.no_shows += other.no_shows;
        self.cancellations += other.cancellations;
        self.overstays += other.overstays;
        self.stay_fee_fen += other.stay_fee_fen;
        self.overstay_fee_fen += other.overstay_fee_fen;
        self.cancel_fee_fen += other.cancel_fee_fen;
    }
}

/// The report period in UTC: `[from, to)`, whole local days.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub days: i64,
    pub zone: Tz,
}

impl Bounds {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// Returns the hours of `[start, end)` inside the period.
    pub fn hours_inside(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        let (start, end) = (start.max(self.from), end.min(self.to));
        if start < end { (end - start).num_seconds() as f64 / SECONDS_PER_HOUR } else { 0.0 }
    }
}

/// Adds one booking to its lot's figures and to the bookings per day.
pub fn count_booking(
    figures: &mut Figures,
    per_day: &mut BTreeMap<NaiveDate, i64>,
    booking: &BookingFacts,
    bounds: &Bounds,
) {
    let reserved = matches!(booking.status.as_str(), "confirmed" | "checked_in" | "completed");
    if reserved && booking.space_id.is_some() {
        figures.booked_space_hours += bounds.hours_inside(booking.starts_at, booking.ends_at);
    }
    if !bounds.contains(booking.starts_at) {
        return;
    }
    let batch = booking.request_mode == "batch";
    if booking.space_id.is_some() {
        if batch {
            figures.served_batch += 1;
        } else {
            figures.served_online += 1;
        }
        let day = booking.starts_at.with_timezone(&bounds.zone).date_naive();
        *per_day.entry(day).or_default() += 1;
    }
    match booking.status.as_str() {
        "rejected" => figures.rejected_batch += 1,
        "requested" if booking.space_id.is_none() => figures.pending_batch += 1,
        "completed" => figures.completed_stays += 1,
        "no_show" => figures.no_shows += 1,
        "cancelled" => figures.cancellations += 1,
        _ => {}
    }
    if booking.overstay_flagged_at.is_some() {
        figures.overstays += 1;
    }
    figures.stay_fee_fen += booking.stay_fee_fen;
    figures.overstay_fee_fen += booking.overstay_fee_fen;
    figures.cancel_fee_fen += booking.cancel_fee_fen;
}

/// Returns the hours of the merged open `spans` of one space inside the period.
pub fn published_hours(spans: &[Span], bounds: &Bounds) -> f64 {
    spans.iter().map(|(start, end)| bounds.hours_inside(*start, *end)).sum()
}

/// Finishes every lot's figures and returns the total over `lots` plus `extra`, the
/// figures that belong to no lot (rejected requests at an area).
pub fn total(lots: &mut [Figures], extra: &Figures, days: i64) -> Figures {
    let mut total = extra.clone();
    for lot in lots.iter_mut() {
        lot.finish(days);
        total.add(lot);
    }
    total.finish(days);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn bounds() -> Bounds {
        Bounds {
            from: at("2027-03-01T00:00:00+08:00"),
            to: at("2027-03-03T00:00:00+08:00"),
            days: 2,
            zone: chrono_tz::Asia::Shanghai,
        }
    }

    fn booking(status: &str, starts_at: &str, ends_at: &str) -> BookingFacts {
        BookingFacts {
            lot_id: 1,
            space_id: Some(1),
            status: status.to_owned(),
            request_mode: "online".to_owned(),
            starts_at: at(starts_at),
            ends_at: at(ends_at),
            overstay_flagged_at: None,
            stay_fee_fen: 0,
            overstay_fee_fen: 0,
            cancel_fee_fen: 0,
        }
    }

    #[test]
    fn stay_crossing_the_period_end_counts_only_its_hours_inside() {
        let mut figures = Figures::default();
        let mut per_day = BTreeMap::new();
        let late = booking("completed", "2027-03-02T22:00:00+08:00", "2027-03-03T06:00:00+08:00");
        count_booking(&mut figures, &mut per_day, &late, &bounds());
        assert_eq!(figures.booked_space_hours, 2.0);
        assert_eq!(figures.completed_stays, 1);
    }

    #[test]
    fn stay_starting_before_the_period_is_not_counted_as_a_request() {
        let mut figures = Figures::default();
        let mut per_day = BTreeMap::new();
        let early = booking("completed", "2027-02-28T22:00:00+08:00", "2027-03-01T02:00:00+08:00");
        count_booking(&mut figures, &mut per_day, &early, &bounds());
        assert_eq!(figures.booked_space_hours, 2.0);
        assert_eq!(figures.served_online, 0);
        assert!(per_day.is_empty());
    }

    #[test]
    fn ratios_are_absent_without_published_hours_or_spaces() {
        let mut lots = vec![Figures::default()];
        let total = total(&mut lots, &Figures::default(), 7);
        assert_eq!(total.sharing_utilisation, None);
        assert_eq!(total.turnover_per_space_day, None);
    }
}
