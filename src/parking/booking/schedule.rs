//! Scheduled batch allocation: the worker places each lot's pending requests every
//! `booking.batch_every_minutes`, and sooner when a pending stay starts within
//! `booking.batch_cutoff_minutes`, so that no request waits past the cut-off.
//!
//! Several nodes may run the worker on one PostgreSQL database. Each lot's run holds a
//! transaction-scoped advisory lock, so one node runs a lot's batch at a time and the
//! others skip the lot until the next tick. The lock ends with the transaction, even
//! when the run fails. SQLite serves one node, so it needs no lock.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{
    BookingError,
    batch::{self, BatchReport},
    lifecycle::Actor,
};
use crate::{config::BookingSettings, db::Db, with_pool};

/// First key of the two-key PostgreSQL advisory lock of a lot's batch run; the second
/// is the lot id. The value is arbitrary but must not be used by other locks.
pub const BATCH_LOCK_CLASS: i32 = 0x5042_4154;

/// The actor of scheduled runs: the worker acts for the street, like an administrator.
/// User id 0 belongs to no account and marks the run as the worker's in the logs.
const WORKER: Actor = Actor { user_id: 0, is_administrator: true };

/// Outcome of one scheduled pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleReport {
    /// Lots whose batch ran, by reference.
    pub lots_run: Vec<String>,
    /// Due lots skipped because another node was running their batch.
    pub lots_busy: Vec<String>,
    /// Outcome of the runs together.
    pub batch: BatchReport,
}

/// Reports whether a lot's batch is due at `now`: its last run is at least `every` ago
/// (or it never ran), or a pending stay starts within `cutoff`.
pub fn is_due(
    last_run: Option<DateTime<Utc>>,
    first_start: DateTime<Utc>,
    now: DateTime<Utc>,
    every: Duration,
    cutoff: Duration,
) -> bool {
    let interval_passed = last_run.is_none_or(|last| last + every <= now);
    interval_passed || first_start - cutoff <= now
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    lot_id: i64,
    lot_ref: String,
    starts_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LastRun {
    lot_id: i64,
    last_run_at: DateTime<Utc>,
}

/// A lot with pending requests: its reference, earliest pending start and last run.
struct PendingLot {
    lot_ref: String,
    first_start: DateTime<Utc>,
    last_run: Option<DateTime<Utc>>,
}

async fn pending_lots(db: &Db) -> Result<BTreeMap<i64, PendingLot>, sqlx::Error> {
    let (pending, runs): (Vec<PendingRow>, Vec<LastRun>) = with_pool!(db, |pool| {
        let pending = sqlx::query_as(
            "SELECT b.lot_id, l.lot_ref, b.starts_at FROM parking_booking b \
             JOIN parking_lot l ON l.lot_id = b.lot_id \
             WHERE b.status = 'requested' AND b.space_id IS NULL",
        )
        .fetch_all(pool)
        .await?;
        let runs = sqlx::query_as("SELECT lot_id, last_run_at FROM parking_batch_run")
            .fetch_all(pool)
            .await?;
        Ok::<_, sqlx::Error>((pending, runs))
    })?;
    let mut lots: BTreeMap<i64, PendingLot> = BTreeMap::new();
    for row in pending {
        let lot = lots.entry(row.lot_id).or_insert(PendingLot {
            lot_ref: row.lot_ref,
            first_start: row.starts_at,
            last_run: None,
        });
        lot.first_start = lot.first_start.min(row.starts_at);
    }
    for run in runs {
        if let Some(lot) = lots.get_mut(&run.lot_id) {
            lot.last_run = Some(run.last_run_at);
        }
    }
    Ok(lots)
}

async fn store_last_run(db: &Db, lot_id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO parking_batch_run (lot_id, last_run_at) VALUES ($1, $2) \
             ON CONFLICT (lot_id) DO UPDATE SET last_run_at = excluded.last_run_at",
        )
        .bind(lot_id)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Runs `job` while this node holds lot `lot_id`'s batch lock; returns `None` without
/// running it when another node holds the lock.
async fn with_lot_lock<T>(
    db: &Db,
    lot_id: i64,
    job: impl Future<Output = T>,
) -> Result<Option<T>, sqlx::Error> {
    match db {
        Db::Sqlite(_) => Ok(Some(job.await)),
        Db::Postgres(pool) => {
            // Lot ids beyond i32 share a key with a smaller lot, which only serialises
            // the two lots' runs.
            let key = (lot_id & i64::from(i32::MAX)) as i32;
            let mut transaction = pool.begin().await?;
            let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
                .bind(BATCH_LOCK_CLASS)
                .bind(key)
                .fetch_one(&mut *transaction)
                .await?;
            if !locked {
                return Ok(None);
            }
            let outcome = job.await;
            transaction.commit().await?;
            Ok(Some(outcome))
        }
    }
}

/// Runs the batch of every lot that is due at `now`; does nothing when
/// `booking.batch_every_minutes` is 0.
///
/// # Errors
/// A database failure; lots not yet run stay due for the next pass.
#[tracing::instrument(skip_all)]
pub async fn run_due(
    db: &Db,
    settings: &BookingSettings,
    now: DateTime<Utc>,
) -> Result<ScheduleReport, BookingError> {
    let mut report = ScheduleReport::default();
    if settings.batch_every_minutes <= 0 {
        return Ok(report);
    }
    let every = Duration::minutes(settings.batch_every_minutes);
    let cutoff = Duration::minutes(settings.batch_cutoff_minutes.max(0));
    for (lot_id, lot) in pending_lots(db).await? {
        if !is_due(lot.last_run, lot.first_start, now, every, cutoff) {
            continue;
        }
        let run = async {
            let outcome = batch::allocate_pending(db, settings, WORKER, &lot.lot_ref, now).await?;
            store_last_run(db, lot_id, now).await?;
            Ok::<BatchReport, BookingError>(outcome)
        };
        match with_lot_lock(db, lot_id, run).await? {
            Some(outcome) => {
                let outcome = outcome?;
                report.batch.confirmed.extend(outcome.confirmed);
                report.batch.rejected.extend(outcome.rejected);
                report.batch.deferred.extend(outcome.deferred);
                report.lots_run.push(lot.lot_ref);
            }
            None => {
                tracing::debug!(lot.reference = lot.lot_ref, "batch runs on another node; skipped");
                report.lots_busy.push(lot.lot_ref);
            }
        }
    }
    if !report.lots_run.is_empty() {
        tracing::info!(lots = report.lots_run.len(), "scheduled batch allocation finished");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn batch_is_due_by_interval_or_cutoff() {
        let now = at("2027-03-01T10:00:00+08:00");
        let every = Duration::minutes(15);
        let cutoff = Duration::minutes(60);
        let far = at("2027-03-01T18:00:00+08:00");
        let near = at("2027-03-01T10:59:00+08:00");
        let cases = [
            ("never run", None, far, true),
            ("ran 14 minutes ago, start far", Some(now - Duration::minutes(14)), far, false),
            ("ran 15 minutes ago", Some(now - Duration::minutes(15)), far, true),
            ("ran just now, start inside the cut-off", Some(now), near, true),
        ];
        for (description, last_run, first_start, expected) in cases {
            assert_eq!(
                is_due(last_run, first_start, now, every, cutoff),
                expected,
                "{description}"
            );
        }
    }
}
