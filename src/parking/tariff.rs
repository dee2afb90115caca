//! Time-of-use tariffs (分时收费): bands by day type, stays priced per segment.
//!
//! Times are local wall-clock times of the lot, so a stay across a daylight-saving change
//! is charged by clock time. A stay is cut at every band boundary and at every midnight.
//! Each segment is charged at the rate of its own day and band. The total is rounded to
//! the fen once, so segment rounding cannot add up. The day type of each date comes from
//! [`DayTypes`], which the working calendar fills with public holidays and make-up
//! working days (调休).

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::analysis::is_weekend;

/// Minutes in a day, the exclusive end of the last band.
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// Kind of day, which selects the set of bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    Weekday,
    Weekend,
    /// A public holiday, whatever its weekday.
    Holiday,
}

impl DayType {
    pub const ALL: [DayType; 3] = [DayType::Weekday, DayType::Weekend, DayType::Holiday];

    pub fn as_str(self) -> &'static str {
        match self {
            DayType::Weekday => "weekday",
            DayType::Weekend => "weekend",
            DayType::Holiday => "holiday",
        }
    }

    pub fn parse(text: &str) -> Option<DayType> {
        DayType::ALL.into_iter().find(|day_type| day_type.as_str() == text.trim())
    }
}

/// The dated exceptions that decide a date's [`DayType`] besides its weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTypes {
    /// Public holidays, priced as [`DayType::Holiday`] whatever their weekday.
    pub holidays: BTreeSet<NaiveDate>,
    /// Make-up working days (调休上班), priced as [`DayType::Weekday`] although they
    /// fall on a weekend.
    pub workdays: BTreeSet<NaiveDate>,
}

impl DayTypes {
    /// Builds the exceptions from the working calendar's holidays and make-up days.
    pub fn from_calendar(calendar: &crate::cases::calendar::WorkingCalendar) -> DayTypes {
        use crate::cases::calendar::DayKind;
        let mut day_types = DayTypes::default();
        for day in calendar.special_days_between(NaiveDate::MIN, NaiveDate::MAX) {
            match day.kind {
                DayKind::Holiday => day_types.holidays.insert(day.date),
                DayKind::Workday => day_types.workdays.insert(day.date),
            };
        }
        day_types
    }

    /// Classifies `date`: a holiday first, then a make-up working day, then by weekday.
    pub fn of(&self, date: NaiveDate) -> DayType {
        if self.holidays.contains(&date) {
            DayType::Holiday
        } else if self.workdays.contains(&date) || !is_weekend(date.weekday()) {
            DayType::Weekday
        } else {
            DayType::Weekend
        }
    }
}

/// A rate that applies on one day type from `start_minute` to `end_minute` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Band {
    pub day_type: DayType,
    /// Minutes after local midnight, 0–1439.
    pub start_minute: u16,
    /// Minutes after local midnight, 1–1440.
    pub end_minute: u16,
    pub rate_fen_per_hour: u32,
}

/// A tariff whose bands, as checked by [`Tariff::new`], tile each day type's day once.
#[derive(Debug, Clone, PartialEq)]
pub struct Tariff {
    bands: Vec<Band>,
}

/// Reason a tariff or a stay was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("the {day_type:?} bands do not cover minute {minute} of the day exactly once")]
    Coverage { day_type: DayType, minute: u16 },
    #[error(
        "a band runs from minute {start} to {end}; it must start before it ends, within 0–1440"
    )]
    InvalidBand { start: u16, end: u16 },
    #[error("the stay ends at {end}, not after its start {start}")]
    EmptyStay { start: NaiveDateTime, end: NaiveDateTime },
}

/// One piece of a stay inside a single band on a single day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub day_type: DayType,
    pub rate_fen_per_hour: u32,
    /// Charge before rounding, in fen.
    pub cost_fen: f64,
}

/// A priced stay: its segments and the total rounded to the nearest fen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricedStay {
    pub segments: Vec<Segment>,
    pub total_fen: u64,
}

impl Tariff {
    /// # Errors
    /// Rejects a band outside the day and any day type whose bands overlap or leave a hole.
    pub fn new(bands: Vec<Band>) -> Result<Self, TariffError> {
        for band in &bands {
            if band.start_minute >= band.end_minute || band.end_minute > MINUTES_PER_DAY {
                return Err(TariffError::InvalidBand {
                    start: band.start_minute,
                    end: band.end_minute,
                });
            }
        }
        for day_type in [DayType::Weekday, DayType::Weekend, DayType::Holiday] {
            for minute in 0..MINUTES_PER_DAY {
                let covering = bands
                    .iter()
                    .filter(|b| {
                        b.day_type == day_type && (b.start_minute..b.end_minute).contains(&minute)
                    })
                    .count();
                if covering != 1 {
                    return Err(TariffError::Coverage { day_type, minute });
                }
            }
        }
        Ok(Self { bands })
    }

    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// Finds the band in force at `minute` of a `day_type` day; `new` ensures one exists.
    pub fn band_at(&self, day_type: DayType, minute: u16) -> &Band {
        self.bands
            .iter()
            .find(|b| b.day_type == day_type && (b.start_minute..b.end_minute).contains(&minute))
            .expect("a validated tariff covers every minute")
    }

    /// Prices a stay from `start` to `end` in local time, cutting at bands and midnights.
    ///
    /// # Errors
    /// Rejects a stay that does not end after it starts.
    pub fn price_stay(
        &self,
        start: NaiveDateTime,
        end: NaiveDateTime,
        day_types: &DayTypes,
    ) -> Result<PricedStay, TariffError> {
        if end <= start {
            return Err(TariffError::EmptyStay { start, end });
        }
        let mut segments = Vec::new();
        let mut cursor = start;
        while cursor < end {
            let date = cursor.date();
            let day_type = day_types.of(date);
            let minute = (cursor.time() - NaiveTime::MIN).num_minutes() as u16;
            let band = self.band_at(day_type, minute);
            let band_end =
                date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(band.end_minute));
            let segment_end = band_end.min(end);
            let seconds = (segment_end - cursor).num_seconds() as f64;
            segments.push(Segment {
                start: cursor,
                end: segment_end,
                day_type,
                rate_fen_per_hour: band.rate_fen_per_hour,
                cost_fen: f64::from(band.rate_fen_per_hour) * seconds / 3600.0,
            });
            cursor = segment_end;
        }
        let total: f64 = segments.iter().map(|s| s.cost_fen).sum();
        Ok(PricedStay { segments, total_fen: total.round() as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(day_type: DayType, start_hour: u16, end_hour: u16, yuan: u32) -> Band {
        Band {
            day_type,
            start_minute: start_hour * 60,
            end_minute: end_hour * 60,
            rate_fen_per_hour: yuan * 100,
        }
    }

    /// Day 08:00–20:00 at 6 yuan/h and night at 2 yuan/h on weekdays; 3 yuan/h all day on
    /// weekends; 1 yuan/h all day on holidays.
    fn tariff() -> Tariff {
        Tariff::new(vec![
            band(DayType::Weekday, 0, 8, 2),
            band(DayType::Weekday, 8, 20, 6),
            band(DayType::Weekday, 20, 24, 2),
            band(DayType::Weekend, 0, 24, 3),
            band(DayType::Holiday, 0, 24, 1),
        ])
        .unwrap()
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn stay_across_midnight_and_two_bands_is_split() {
        // Tuesday 23:00 to Wednesday 10:00: 1 h + 8 h at night rate, 2 h at day rate.
        let stay = tariff()
            .price_stay(at("2024-01-02 23:00"), at("2024-01-03 10:00"), &DayTypes::default())
            .unwrap();
        let bounds: Vec<_> =
            stay.segments.iter().map(|s| (s.start, s.end, s.rate_fen_per_hour)).collect();
        assert_eq!(
            bounds,
            [
                (at("2024-01-02 23:00"), at("2024-01-03 00:00"), 200),
                (at("2024-01-03 00:00"), at("2024-01-03 08:00"), 200),
                (at("2024-01-03 08:00"), at("2024-01-03 10:00"), 600),
            ]
        );
        assert_eq!(stay.total_fen, 200 + 1600 + 1200);
    }

    #[test]
    fn friday_night_into_weekend_uses_weekend_rate() {
        let stay = tariff()
            .price_stay(at("2024-01-05 22:00"), at("2024-01-06 02:00"), &DayTypes::default())
            .unwrap();
        assert_eq!(stay.segments[1].day_type, DayType::Weekend);
        assert_eq!(stay.total_fen, 2 * 200 + 2 * 300);
    }

    #[test]
    fn holiday_overrides_weekday() {
        let holidays = BTreeSet::from([NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()]);
        let day_types = DayTypes { holidays, ..DayTypes::default() };
        let stay = tariff()
            .price_stay(at("2024-01-01 09:00"), at("2024-01-01 10:30"), &day_types)
            .unwrap();
        assert_eq!(stay.segments[0].day_type, DayType::Holiday);
        assert_eq!(stay.total_fen, 150);
    }

    #[test]
    fn make_up_working_day_uses_weekday_rates() {
        // Sunday 2024-02-04 was a make-up working day before the Spring Festival.
        let workdays = BTreeSet::from([NaiveDate::from_ymd_opt(2024, 2, 4).unwrap()]);
        let day_types = DayTypes { workdays, ..DayTypes::default() };
        let stay = tariff()
            .price_stay(at("2024-02-04 09:00"), at("2024-02-04 10:00"), &day_types)
            .unwrap();
        assert_eq!(stay.segments[0].day_type, DayType::Weekday);
        assert_eq!(stay.total_fen, 600);
    }

    #[test]
    fn total_is_rounded_once() {
        // Three 20-minute segments at 1 fen/h would round to 0 each but sum to 1 fen.
        let penny = Tariff::new(vec![
            Band {
                day_type: DayType::Weekday,
                start_minute: 0,
                end_minute: 20,
                rate_fen_per_hour: 1,
            },
            Band {
                day_type: DayType::Weekday,
                start_minute: 20,
                end_minute: 40,
                rate_fen_per_hour: 1,
            },
            Band {
                day_type: DayType::Weekday,
                start_minute: 40,
                end_minute: 1440,
                rate_fen_per_hour: 1,
            },
            band(DayType::Weekend, 0, 24, 0),
            band(DayType::Holiday, 0, 24, 0),
        ])
        .unwrap();
        let stay = penny
            .price_stay(at("2024-01-02 00:00"), at("2024-01-02 01:00"), &DayTypes::default())
            .unwrap();
        assert_eq!(stay.segments.len(), 3);
        assert_eq!(stay.total_fen, 1);
    }

    #[test]
    fn tariff_rejects_holes_and_overlaps() {
        let hole =
            Tariff::new(vec![band(DayType::Weekday, 0, 8, 1), band(DayType::Weekday, 9, 24, 1)]);
        assert_eq!(
            hole.unwrap_err(),
            TariffError::Coverage { day_type: DayType::Weekday, minute: 480 }
        );
        let mut bands = tariff().bands().to_vec();
        bands.push(band(DayType::Weekend, 10, 12, 9));
        assert!(matches!(
            Tariff::new(bands),
            Err(TariffError::Coverage { day_type: DayType::Weekend, .. })
        ));
    }

    #[test]
    fn empty_stay_is_rejected() {
        let error = tariff().price_stay(
            at("2024-01-02 10:00"),
            at("2024-01-02 10:00"),
            &DayTypes::default(),
        );
        assert!(matches!(error, Err(TariffError::EmptyStay { .. })));
    }
}
