//! The occupancy history: one sample of each lot's live figures per slot, and the time
//! utilisation (利用率) computed from it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    config::PricingSettings,
    db::Db,
    parking::inventory::{self, LotState, occupancy::Source},
    with_pool,
};

/// One stored sample of a lot's occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Sample {
    pub lot_id: i64,
    /// Start of the slot the sample stands for, UTC ms.
    pub slot_start_ms: i64,
    pub interval_minutes: i32,
    pub occupied: i32,
    pub open_capacity: i32,
}

/// Returns the start of the `interval_minutes` slot that contains `at_ms`.
pub fn slot_start(at_ms: i64, interval_minutes: i64) -> i64 {
    let length = interval_minutes.max(1) * 60_000;
    at_ms - at_ms.rem_euclid(length)
}

/// Stores one sample unless the lot already has one for that slot; returns whether it
/// was stored. Several nodes may call it for the same slot: the first write wins.
///
/// # Errors
/// A database failure, or a sample outside `0 ..= open_capacity` (a check constraint).
pub async fn insert_sample(
    db: &Db,
    sample: &Sample,
    observed_at_ms: i64,
) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO parking_occupancy_sample (lot_id, slot_start_ms, interval_minutes, \
               occupied, open_capacity, observed_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (lot_id, slot_start_ms) DO NOTHING";
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(sql)
            .bind(sample.lot_id)
            .bind(sample.slot_start_ms)
            .bind(sample.interval_minutes)
            .bind(sample.occupied)
            .bind(sample.open_capacity)
            .bind(observed_at_ms)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0)
    })
}

/// Builds the sample of one lot's live state at `now_ms`, or `None` when the lot is
/// closed or has no usable figures.
///
/// A counter or manual count older than `max_data_age_minutes` is not used. Space
/// sensors are used whatever their age, because a sensor's last status stays valid until
/// it reports a change. Their sample counts only spaces with a known status, so a sensor
/// showing `unknown` does not read as a free space.
pub fn sample_of(
    state: &LotState,
    settings: &PricingSettings,
    now_ms: i64,
) -> Option<(Sample, i64)> {
    let occupancy = &state.occupancy;
    let occupied = occupancy.occupied?;
    let observed_at_ms = occupancy.observed_at_ms?;
    let open_capacity = match occupancy.source {
        Source::SpaceSensors => occupied + occupancy.free?,
        _ => occupancy.open_capacity,
    };
    if open_capacity <= 0 || occupied > open_capacity {
        return None;
    }
    let too_old = now_ms - observed_at_ms > settings.max_data_age_minutes * 60_000;
    if too_old && occupancy.source != Source::SpaceSensors {
        return None;
    }
    let sample = Sample {
        lot_id: state.lot.lot_id,
        slot_start_ms: slot_start(now_ms, settings.sample_minutes),
        interval_minutes: i32::try_from(settings.sample_minutes).ok()?,
        occupied: i32::try_from(occupied).ok()?,
        open_capacity: i32::try_from(open_capacity).ok()?,
    };
    Some((sample, observed_at_ms))
}

/// Copies the live occupancy of every lot into the history for the slot of `now`;
/// returns the number of samples stored by this call.
///
/// # Errors
/// A database failure; the lots sampled before it keep their samples.
#[tracing::instrument(skip_all)]
pub async fn record_samples(
    db: &Db,
    settings: &PricingSettings,
    hold_seconds: i64,
    now: DateTime<Utc>,
) -> Result<usize, inventory::InventoryError> {
    let now_ms = now.timestamp_millis();
    let states = inventory::all_lot_states(db, hold_seconds, now_ms).await?;
    let mut stored = 0;
    for state in &states {
        match sample_of(state, settings, now_ms) {
            Some((sample, observed_at_ms)) => {
                if insert_sample(db, &sample, observed_at_ms).await? {
                    stored += 1;
                }
            }
            None => tracing::debug!(
                parking.lot = %state.lot.lot_ref,
                "no current occupancy; lot not sampled"
            ),
        }
    }
    if stored > 0 {
        tracing::info!(parking.samples = stored, "occupancy sampled");
    }
    Ok(stored)
}

/// Returns the samples of lot `lot_id` whose slots start in `[from_ms, to_ms)`.
///
/// # Errors
/// A database failure.
pub async fn samples_between(
    db: &Db,
    lot_id: i64,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Sample>, sqlx::Error> {
    let sql = "SELECT lot_id, slot_start_ms, interval_minutes, occupied, open_capacity \
               FROM parking_occupancy_sample WHERE lot_id = $1 AND slot_start_ms >= $2 \
               AND slot_start_ms < $3 ORDER BY slot_start_ms";
    with_pool!(db, |pool| {
        sqlx::query_as(sql).bind(lot_id).bind(from_ms).bind(to_ms).fetch_all(pool).await
    })
}

/// Time utilisation of one lot over a span, from its occupancy history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LotUtilisation {
    pub lot_ref: String,
    /// Sum over samples of occupied spaces × the sample's length, in space-hours.
    pub occupied_space_hours: f64,
    /// Sum over samples of open spaces × the sample's length, in space-hours.
    pub available_space_hours: f64,
    /// `occupied_space_hours / available_space_hours`; `None` without samples.
    pub utilisation: Option<f64>,
    pub samples: i64,
}

/// Computes each sampled lot's time utilisation (利用率) over `[from, to)`: occupied
/// space-hours divided by available space-hours, in lot ref order.
///
/// Only sampled time counts. A slot without a sample (lot closed, no fresh figures,
/// server down) adds to neither sum, so gaps do not read as empty spaces. A slot counts
/// when its start lies in the span, so a span should cover whole slots.
///
/// # Errors
/// A database failure.
pub async fn utilisation(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<LotUtilisation>, sqlx::Error> {
    let sql = "SELECT l.lot_ref, \
               SUM(CAST(s.occupied AS DOUBLE PRECISION) * s.interval_minutes), \
               SUM(CAST(s.open_capacity AS DOUBLE PRECISION) * s.interval_minutes), \
               COUNT(*) FROM parking_occupancy_sample s JOIN parking_lot l ON l.lot_id = s.lot_id \
               WHERE s.slot_start_ms >= $1 AND s.slot_start_ms < $2 \
               GROUP BY l.lot_ref ORDER BY l.lot_ref";
    let rows: Vec<(String, f64, f64, i64)> = with_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(lot_ref, occupied_minutes, available_minutes, samples)| LotUtilisation {
            lot_ref,
            occupied_space_hours: occupied_minutes / 60.0,
            available_space_hours: available_minutes / 60.0,
            utilisation: (available_minutes > 0.0).then(|| occupied_minutes / available_minutes),
            samples,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_start_rounds_down_to_the_interval() {
        assert_eq!(slot_start(15 * 60_000 + 1, 15), 15 * 60_000);
        assert_eq!(slot_start(15 * 60_000, 15), 15 * 60_000);
        assert_eq!(slot_start(14 * 60_000, 15), 0);
    }
}
