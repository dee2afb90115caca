//! The alarm worker: evaluates the rules that can hold while no reading arrives (no
//! data, no change) on the clock, evaluates again the stored readings whose evaluation
//! after their batch failed, and opens the cases that a failed node left behind.
//!
//! Any number of nodes may run it at once. A raise inserts under the partial unique
//! index of open alarms, and a clear updates only an alarm still open, so the node that
//! loses a race changes nothing. Alarms without a case are claimed with `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL and a claim time, so one node opens each case; pending
//! evaluations are claimed the same way.

use std::time::Duration;

use super::{
    apply::{Task, apply},
    case_link::open_case,
    error::AlarmError,
    record::claim_missing_cases,
    retry::retry_due,
    rule::Scope,
    rules::enabled_rules,
    service::follow_up,
};
use crate::{http::AppState, with_pool};

/// How often the worker runs a tick. The shortest duration worth a no-data rule is
/// minutes, so half a minute adds little delay.
const TICK: Duration = Duration::from_secs(30);
/// Age of a case claim after which another node takes the alarm over, in ms: far
/// longer than opening a case takes.
const STALE_CLAIM_MS: i64 = 60_000;
/// Alarms without a case handled per tick.
const CASES_PER_TICK: i64 = 100;

/// The changes of one tick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Alarms raised or cleared by the clock rules.
    pub changes: usize,
    /// Pending device attributes whose stored readings were evaluated again.
    pub pending_evaluated: usize,
    /// Pending device attributes whose evaluation failed again.
    pub pending_failed: usize,
    /// Alarms whose missing case was opened.
    pub cases_opened: usize,
}

/// Runs one tick at `now_ms` (UTC milliseconds), which tests choose.
///
/// # Errors
/// A database failure of the clock rules or of claiming pending evaluations; the next
/// tick does that work again.
#[tracing::instrument(skip_all)]
pub async fn tick(state: &AppState, now_ms: i64) -> Result<TickReport, AlarmError> {
    let rules = enabled_rules(&state.db).await?;
    let mut tasks = Vec::new();
    for rule in rules.iter().filter(|rule| rule.condition.rule_type().is_time_based()) {
        let device_ids = match &rule.scope {
            Scope::Device { device_id, .. } => vec![*device_id],
            Scope::Kind(kind) => with_pool!(&state.db, |pool| {
                sqlx::query_scalar(
                    "SELECT device_id FROM sensor_device WHERE kind = $1 ORDER BY device_id",
                )
                .bind(kind.as_str())
                .fetch_all(pool)
                .await
            })?,
        };
        tasks.extend(device_ids.into_iter().map(|device_id| Task {
            rule,
            device_id,
            readings: Vec::new(),
        }));
    }
    // NOTE: each device in scope costs two or three queries per tick, which bounds a
    // kind-wide rule to some thousands of devices per node.
    let changes = apply(&state.db, &tasks, now_ms).await?;
    let mut report = TickReport { changes: changes.len(), ..TickReport::default() };
    follow_up(state, changes).await;

    let retried = retry_due(state, now_ms).await?;
    report.pending_evaluated = retried.evaluated;
    report.pending_failed = retried.failed;

    let claimed =
        claim_missing_cases(&state.db, now_ms - STALE_CLAIM_MS, now_ms, CASES_PER_TICK).await?;
    for alarm_id in claimed {
        match open_case(state, alarm_id).await {
            Ok(_) => report.cases_opened += 1,
            Err(error) => {
                tracing::error!(alarm.id = alarm_id, error = %error, "opening the alarm's case failed again");
            }
        }
    }
    Ok(report)
}

/// Starts the worker; it runs until the returned handle is aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(tick_seconds = TICK.as_secs(), "alarm worker started");
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let now_ms = chrono::Utc::now().timestamp_millis();
            match tick(&state, now_ms).await {
                Ok(report) if report != TickReport::default() => {
                    tracing::info!(
                        alarm.changes = report.changes,
                        alarm.pending_evaluated = report.pending_evaluated,
                        alarm.pending_failed = report.pending_failed,
                        alarm.cases_opened = report.cases_opened,
                        "alarm tick finished"
                    );
                }
                Ok(_) => tracing::debug!("alarm tick found nothing to do"),
                Err(error) => {
                    tracing::error!(error = %error, "alarm tick failed; retrying next tick")
                }
            }
        }
    })
}
