//! Evaluation of the readings in the pending table (see [`super::pending`]): the part a
//! batch's own evaluation owes to earlier batches, the deletion of its rows once it
//! succeeded, and the worker's retries of rows left behind.

use super::{
    error::AlarmError,
    pending::{self, BACKLOG_READINGS, Backlog, Claimed, PendingMark},
    service::{evaluate, follow_up},
};
use crate::{http::AppState, sensors::reading::Reading};

/// Pending rows the worker evaluates per tick.
const ROWS_PER_TICK: i64 = 100;

/// A backlog that was longer than one load, with the measurement time of the last
/// reading evaluated.
pub(super) struct Truncated {
    backlog: Backlog,
    evaluated_to_ms: i64,
}

/// Replaces the batch's readings of each backlog's device attribute with the stored
/// readings from the backlog's earliest time on, which include the batch's own.
///
/// # Errors
/// A database failure while loading a backlog.
pub(super) async fn add_backlog(
    state: &AppState,
    readings: &mut Vec<Reading>,
    backlog: &[Backlog],
) -> Result<Vec<Truncated>, AlarmError> {
    let mut truncated = Vec::new();
    for entry in backlog {
        let stored = pending::backlog_readings(&state.relaxed_db, entry).await?;
        readings
            .retain(|r| (r.device_id, r.attribute.code()) != (entry.device_id, entry.attribute));
        if stored.len() as i64 >= BACKLOG_READINGS
            && let Some(last) = stored.last()
        {
            truncated.push(Truncated { backlog: *entry, evaluated_to_ms: last.observed_at_ms });
        }
        tracing::debug!(
            device.id = entry.device_id,
            reading.attribute = entry.attribute,
            backlog.readings = stored.len(),
            "evaluating readings of an earlier batch too"
        );
        readings.extend(stored);
    }
    Ok(truncated)
}

/// Deletes the batch's pending rows after its evaluation succeeded. A truncated
/// backlog stays, due at once, from the first reading not yet evaluated.
pub(super) async fn finish_batch(state: &AppState, mark: &PendingMark, truncated: &[Truncated]) {
    let now_ms = chrono::Utc::now().timestamp_millis();
    for rest in truncated {
        let next_token = rand::random::<i64>();
        let advanced = pending::advance(
            &state.relaxed_db,
            &rest.backlog,
            mark.token,
            next_token,
            rest.evaluated_to_ms,
            now_ms,
        );
        if let Err(error) = advanced.await {
            tracing::warn!(device.id = rest.backlog.device_id, error = %error,
                "keeping the rest of a long backlog failed; the worker evaluates it again");
        }
    }
    if let Err(error) = pending::delete_by_token(&state.relaxed_db, mark.token).await {
        tracing::warn!(batch.token = mark.token, error = %error,
            "deleting the batch's pending evaluation rows failed; the worker evaluates them again");
    }
}

/// The work of one retry run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Pending rows evaluated.
    pub evaluated: usize,
    /// Pending rows whose evaluation failed again; each waits longer before the next.
    pub failed: usize,
}

/// Claims the pending rows due at `now_ms` (UTC ms) and evaluates each from its
/// earliest reading. A failure counts on the row and delays its next retry.
///
/// # Errors
/// A database failure while claiming; the next tick claims again.
#[tracing::instrument(skip_all)]
pub async fn retry_due(state: &AppState, now_ms: i64) -> Result<RetryReport, AlarmError> {
    let token = rand::random::<i64>();
    let claimed = pending::claim_due(&state.db, token, now_ms, ROWS_PER_TICK).await?;
    let mut report = RetryReport::default();
    for claim in claimed {
        let Backlog { device_id, attribute, from_observed_at_ms } = claim.backlog;
        tracing::info!(
            device.id = device_id,
            reading.attribute = attribute,
            reading.from_ms = from_observed_at_ms,
            retry.attempt = claim.attempts + 1,
            "retrying the rule evaluation of stored readings"
        );
        let Err(error) = retry_one(state, &claim, token, now_ms).await else {
            report.evaluated += 1;
            continue;
        };
        report.failed += 1;
        match pending::reschedule(&state.db, &claim, token, now_ms).await {
            Ok(wait_ms) => {
                tracing::error!(device.id = device_id, reading.attribute = attribute,
                    retry.attempt = claim.attempts + 1, retry.wait_ms = wait_ms, error = %error,
                    "rule evaluation of stored readings failed again; retrying later");
            }
            Err(reschedule_error) => {
                tracing::error!(device.id = device_id, reading.attribute = attribute,
                    error = %error, reschedule_error = %reschedule_error,
                    "rule evaluation of stored readings failed again; retrying after the claim lease");
            }
        }
    }
    Ok(report)
}

async fn retry_one(
    state: &AppState,
    claim: &Claimed,
    token: i64,
    now_ms: i64,
) -> Result<(), AlarmError> {
    let readings = pending::backlog_readings(&state.db, &claim.backlog).await?;
    let changes = evaluate(&state.db, &readings).await?;
    follow_up(state, changes).await;
    match readings.last() {
        Some(last) if readings.len() as i64 >= BACKLOG_READINGS => {
            let next_token = rand::random::<i64>();
            let evaluated_to_ms = last.observed_at_ms;
            pending::advance(&state.db, &claim.backlog, token, next_token, evaluated_to_ms, now_ms)
                .await?;
        }
        _ => pending::delete_claimed(&state.db, &claim.backlog, token).await?,
    }
    Ok(())
}
