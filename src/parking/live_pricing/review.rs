//! The periodic review of each lot's band prices under the demand-responsive rule.
//!
//! Periods are runs of `period_days` local dates counted from Monday 1970-01-05, so a
//! period of whole weeks always starts on a Monday and every node computes the same
//! periods. A review looks at the period that ended last, once per lot and band. The
//! unique key of `parking_price_review` makes a second review of the same period write
//! nothing, whether this node or another runs it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    PricingError, StoredTariff,
    history::{self, Sample},
    prices::{self, PriceChange},
    tariffs,
};
use crate::{
    config::PricingSettings,
    db::Db,
    parking::{
        pricing::{Decision, PricingRule},
        tariff::{Band, DayTypes, Tariff},
    },
    with_pool,
};

/// Returns the first local date of period 0.
fn period_origin() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 5).expect("valid date")
}

/// Returns the local dates `[start, end)` of the last period that ended on or before
/// `today`.
pub fn last_complete_period(today: NaiveDate, period_days: u32) -> (NaiveDate, NaiveDate) {
    let length = i64::from(period_days.max(1));
    let index = (today - period_origin()).num_days().div_euclid(length);
    let end = period_origin() + Duration::days(index * length);
    (end - Duration::days(length), end)
}

/// Returns local midnight of `date` in `zone` as UTC ms. When the clock shows midnight
/// twice it takes the earlier instant, and when it skips midnight the first valid minute.
fn midnight_ms(date: NaiveDate, zone: Tz) -> i64 {
    let mut local = date.and_time(NaiveTime::MIN);
    for _ in 0..180 {
        if let Some(instant) = zone.from_local_datetime(&local).earliest() {
            return instant.timestamp_millis();
        }
        local += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)).timestamp_millis()
}

/// Sum of occupied fractions and the number of samples of one band.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BandStats {
    pub fraction_sum: f64,
    pub samples: i64,
}

impl BandStats {
    /// Mean occupied fraction, `None` without samples.
    pub fn mean(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.fraction_sum / self.samples as f64)
    }
}

/// Assigns each sample to the band in force at its slot's local start and sums the
/// occupied fractions per band, in the order of `tariff.bands()`.
pub fn band_stats(
    tariff: &Tariff,
    samples: &[Sample],
    zone: Tz,
    day_types: &DayTypes,
) -> Vec<BandStats> {
    let index: HashMap<(crate::parking::tariff::DayType, u16), usize> = tariff
        .bands()
        .iter()
        .enumerate()
        .map(|(position, band)| ((band.day_type, band.start_minute), position))
        .collect();
    let mut stats = vec![BandStats::default(); tariff.bands().len()];
    for sample in samples {
        let Some(instant) = Utc.timestamp_millis_opt(sample.slot_start_ms).single() else {
            continue;
        };
        let local = instant.with_timezone(&zone).naive_local();
        let day_type = day_types.of(local.date());
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let band = tariff.band_at(day_type, minute);
        if let Some(&position) = index.get(&(band.day_type, band.start_minute)) {
            let entry = &mut stats[position];
            entry.fraction_sum += f64::from(sample.occupied) / f64::from(sample.open_capacity);
            entry.samples += 1;
        }
    }
    stats
}

/// Decision of a review for one band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Raise,
    Lower,
    Hold,
    /// Fewer samples than `[pricing] min_samples`: the price holds.
    TooFewSamples,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Raise => "raise",
            ReviewDecision::Lower => "lower",
            ReviewDecision::Hold => "hold",
            ReviewDecision::TooFewSamples => "too_few_samples",
        }
    }
}

/// Applies `rule` to a band priced `old_fen` whose period gave `stats`.
pub fn decide_band(
    rule: &PricingRule,
    min_samples: i64,
    old_fen: u32,
    stats: BandStats,
) -> (ReviewDecision, u32) {
    match stats.mean().filter(|_| stats.samples >= min_samples) {
        None => (ReviewDecision::TooFewSamples, old_fen),
        Some(mean) => match rule.decide(old_fen, mean) {
            (Decision::Raise, new_fen) => (ReviewDecision::Raise, new_fen),
            (Decision::Lower, new_fen) => (ReviewDecision::Lower, new_fen),
            (Decision::Hold, new_fen) => (ReviewDecision::Hold, new_fen),
        },
    }
}

/// Outcome of one call of [`review_prices`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewReport {
    /// Reviews that moved a price, as stored by this call.
    pub changes: Vec<PriceChange>,
    /// Reviews stored by this call that kept the price.
    pub unchanged: usize,
}

/// One band's review, ready to store.
struct NewReview<'a> {
    lot_id: i64,
    band: &'a Band,
    period: (i64, i64),
    decision: ReviewDecision,
    old_fen: u32,
    new_fen: u32,
    stats: BandStats,
    announced_at: DateTime<Utc>,
    effective_at: DateTime<Utc>,
}

/// Stores a review unless its lot, band and period has one; returns the new id.
async fn insert_review(db: &Db, review: &NewReview<'_>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "INSERT INTO parking_price_review (lot_id, day_type, start_minute, end_minute, \
               period_start_ms, period_end_ms, decision, old_fen, new_fen, mean_occupancy, \
               samples, announced_at_ms, effective_at_ms) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
               ON CONFLICT (lot_id, day_type, start_minute, end_minute, period_start_ms) \
               DO NOTHING RETURNING price_review_id";
    let fen = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query_scalar(sql)
            .bind(review.lot_id)
            .bind(review.band.day_type.as_str())
            .bind(i32::from(review.band.start_minute))
            .bind(i32::from(review.band.end_minute))
            .bind(review.period.0)
            .bind(review.period.1)
            .bind(review.decision.as_str())
            .bind(fen(review.old_fen))
            .bind(fen(review.new_fen))
            .bind(review.stats.mean())
            .bind(i32::try_from(review.stats.samples).unwrap_or(i32::MAX))
            .bind(review.announced_at.timestamp_millis())
            .bind(review.effective_at.timestamp_millis())
            .fetch_optional(pool)
            .await
    })
}

/// Counts the stored reviews of a lot for the period starting at `period_start_ms`, so
/// that a tick after the period's reviews costs one query per lot.
async fn reviews_in_period(db: &Db, lot_id: i64, period_start_ms: i64) -> Result<i64, sqlx::Error> {
    let sql =
        "SELECT COUNT(*) FROM parking_price_review WHERE lot_id = $1 AND period_start_ms = $2";
    with_pool!(db, |pool| {
        sqlx::query_scalar(sql).bind(lot_id).bind(period_start_ms).fetch_one(pool).await
    })
}

/// A lot as the review needs it.
#[derive(sqlx::FromRow)]
struct ReviewLot {
    lot_id: i64,
    lot_ref: String,
    tariff_code: String,
}

/// Reviews every lot whose tariff has the rule on, for the period that ended last
/// before `now` in `zone`.
///
/// # Errors
/// A database failure or an invalid stored tariff; the reviews stored before it stay.
#[tracing::instrument(skip_all)]
pub async fn review_prices(
    db: &Db,
    zone: Tz,
    settings: &PricingSettings,
    now: DateTime<Utc>,
) -> Result<ReviewReport, PricingError> {
    let lots: Vec<ReviewLot> = with_pool!(db, |pool| {
        sqlx::query_as("SELECT lot_id, lot_ref, tariff_code FROM parking_lot ORDER BY lot_id")
            .fetch_all(pool)
            .await?
    });
    let day_types = prices::day_types(db).await?;
    let mut tariffs: HashMap<String, StoredTariff> = HashMap::new();
    let mut report = ReviewReport::default();
    for lot in &lots {
        if !tariffs.contains_key(&lot.tariff_code) {
            let stored = tariffs::tariff_of_lot(db, &lot.tariff_code).await?;
            tariffs.insert(lot.tariff_code.clone(), stored);
        }
        let tariff = &tariffs[&lot.tariff_code];
        if tariff.rule_enabled {
            review_lot(db, zone, settings, lot, tariff, &day_types, now, &mut report).await?;
        }
    }
    Ok(report)
}

/// Reviews each band of one lot; see [`review_prices`].
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(parking.lot = %lot.lot_ref, parking.tariff = %tariff.code))]
async fn review_lot(
    db: &Db,
    zone: Tz,
    settings: &PricingSettings,
    lot: &ReviewLot,
    tariff: &StoredTariff,
    day_types: &DayTypes,
    now: DateTime<Utc>,
    report: &mut ReviewReport,
) -> Result<(), PricingError> {
    let rule = tariff.rule;
    let today = now.with_timezone(&zone).date_naive();
    let (first, end) = last_complete_period(today, rule.period_days);
    let period = (midnight_ms(first, zone), midnight_ms(end, zone));
    if reviews_in_period(db, lot.lot_id, period.0).await? >= tariff.tariff.bands().len() as i64 {
        return Ok(());
    }
    let samples = history::samples_between(db, lot.lot_id, period.0, period.1).await?;
    let stats = band_stats(&tariff.tariff, &samples, zone, day_types);
    let changes = prices::list_changes(
        db,
        Some(lot.lot_id),
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
    )
    .await?;
    for (band, stats) in tariff.tariff.bands().iter().zip(stats) {
        let old_fen = prices::latest_price(band, &changes);
        let (decision, new_fen) = decide_band(&rule, settings.min_samples, old_fen, stats);
        let review = NewReview {
            lot_id: lot.lot_id,
            band,
            period,
            decision,
            old_fen,
            new_fen,
            stats,
            announced_at: now,
            effective_at: now + Duration::days(i64::from(rule.notice_days)),
        };
        let Some(review_id) = insert_review(db, &review).await? else { continue };
        log_review(lot, &review, review_id);
        if new_fen == old_fen {
            report.unchanged += 1;
        } else {
            report.changes.push(PriceChange {
                price_review_id: review_id,
                lot_ref: lot.lot_ref.clone(),
                day_type: band.day_type,
                start_minute: band.start_minute,
                end_minute: band.end_minute,
                old_fen,
                new_fen,
                mean_occupancy: stats.mean(),
                samples: stats.samples,
                announced_at: review.announced_at,
                effective_at: review.effective_at,
            });
        }
    }
    Ok(())
}

fn log_review(lot: &ReviewLot, review: &NewReview<'_>, review_id: i64) {
    let band = format!(
        "{} {}-{}",
        review.band.day_type.as_str(),
        review.band.start_minute,
        review.band.end_minute
    );
    if review.decision == ReviewDecision::TooFewSamples {
        tracing::info!(
            parking.lot_id = lot.lot_id,
            parking.price_review_id = review_id,
            parking.band = %band,
            parking.samples = review.stats.samples,
            "too few occupancy samples; band price kept"
        );
    } else if review.new_fen != review.old_fen {
        tracing::info!(
            parking.lot_id = lot.lot_id,
            parking.price_review_id = review_id,
            parking.band = %band,
            parking.old_fen = review.old_fen,
            parking.new_fen = review.new_fen,
            parking.mean_occupancy = review.stats.mean(),
            parking.effective_at = %review.effective_at,
            "band price change announced"
        );
    } else {
        tracing::debug!(
            parking.lot_id = lot.lot_id,
            parking.price_review_id = review_id,
            parking.band = %band,
            decision = review.decision.as_str(),
            "band price kept"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::tariff::DayType;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_of_whole_weeks_start_on_mondays() {
        // Wednesday 2027-03-10: the 28-day period before it ended on a Monday.
        let (start, end) = last_complete_period(date("2027-03-10"), 28);
        assert_eq!(end - start, Duration::days(28));
        assert_eq!(start.format("%a").to_string(), "Mon");
        assert!(end <= date("2027-03-10"), "the period ended by that day");
        assert!(date("2027-03-10") < end + Duration::days(28), "it is the latest such period");
    }

    #[test]
    fn decide_band_holds_with_too_few_samples() {
        let rule = PricingRule::default();
        let full = BandStats { fraction_sum: 9.5, samples: 10 };
        assert_eq!(decide_band(&rule, 20, 600, full), (ReviewDecision::TooFewSamples, 600));
        assert_eq!(decide_band(&rule, 10, 600, full), (ReviewDecision::Raise, 650));
        let empty = BandStats { fraction_sum: 2.0, samples: 10 };
        assert_eq!(decide_band(&rule, 10, 600, empty), (ReviewDecision::Lower, 550));
        let target = BandStats { fraction_sum: 7.0, samples: 10 };
        assert_eq!(decide_band(&rule, 10, 600, target), (ReviewDecision::Hold, 600));
    }

    #[test]
    fn band_stats_assign_samples_by_local_time() {
        let tariff = Tariff::new(
            DayType::ALL
                .into_iter()
                .flat_map(|day_type| {
                    [
                        Band { day_type, start_minute: 0, end_minute: 480, rate_fen_per_hour: 200 },
                        Band {
                            day_type,
                            start_minute: 480,
                            end_minute: 1440,
                            rate_fen_per_hour: 600,
                        },
                    ]
                })
                .collect(),
        )
        .unwrap();
        // 2027-03-01 is a Monday; 00:00 UTC is 08:00 in Shanghai, the day band.
        let slot = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap().timestamp_millis();
        let samples = [
            Sample {
                lot_id: 1,
                slot_start_ms: slot,
                interval_minutes: 15,
                occupied: 9,
                open_capacity: 10,
            },
            Sample {
                lot_id: 1,
                slot_start_ms: slot - 60_000 * 15,
                interval_minutes: 15,
                occupied: 1,
                open_capacity: 10,
            },
        ];
        let stats = band_stats(&tariff, &samples, chrono_tz::Asia::Shanghai, &DayTypes::default());
        assert_eq!(stats[1], BandStats { fraction_sum: 0.9, samples: 1 }, "weekday day band");
        assert_eq!(stats[0], BandStats { fraction_sum: 0.1, samples: 1 }, "weekday night band");
    }
}
