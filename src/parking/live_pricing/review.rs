//! The periodic review of each lot's band prices under the demand-responsive rule.
//!
//! A review looks at the period that ended last (see [`band_review`]), once per lot and
//! band. The unique key of `parking_price_review` makes a second review of the same
//! period write nothing, whether this node or another runs it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

pub use super::band_review::{
    BandStats, ReviewDecision, band_stats, decide_band, last_complete_period,
};
use super::{
    PricingError, StoredTariff, band_review, history,
    prices::{self, PriceChange},
    tariffs,
};
use crate::{
    config::PricingSettings,
    db::Db,
    parking::tariff::{Band, DayTypes},
    with_pool,
};

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
    let period = (band_review::midnight_ms(first, zone), band_review::midnight_ms(end, zone));
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
