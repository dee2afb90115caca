//! The transaction that evaluates readings against rules: it reads and locks each
//! rule's memory of a device, steps through the readings and raises, re-triggers or
//! clears the alarm, all or nothing.
//!
//! Cases are opened and notes written after the commit, by the caller, because the
//! case service runs its own transactions.

use super::{
    evaluate::{Memory, Verdict, evaluate_clock, evaluate_reading},
    rule::{Condition, Direction, Rule},
};
use crate::{db::Db, with_pool};

/// One rule and one device in scope, with the readings to evaluate, oldest first.
#[derive(Debug, Clone)]
pub struct Task<'a> {
    pub rule: &'a Rule,
    pub device_id: i64,
    /// (measurement time in ms, value); empty for an evaluation on the clock.
    pub readings: Vec<(i64, f64)>,
}

/// An alarm change that needs work on its case after the commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Raised {
        alarm_id: i64,
    },
    /// A cleared alarm raised again within [`REOPEN_WITHIN_MS`].
    Reopened {
        alarm_id: i64,
    },
    Cleared {
        alarm_id: i64,
        case_id: Option<i64>,
    },
}

/// Locks the memory row (PostgreSQL) or takes the write lock (SQLite) and reads it. The
/// no-op update replaces `SELECT … FOR UPDATE`, which SQLite lacks, and starts the
/// SQLite write transaction before the reads so that a concurrent commit cannot make
/// the later writes fail.
const LOCK_MEMORY: &str = "UPDATE sensor_rule_state SET last_value = last_value \
     WHERE sensor_rule_id = $1 AND device_id = $2 \
     RETURNING last_observed_at_ms, last_value, changed_at_ms, breach_since_ms";

const OPEN_ALARM: &str = "SELECT sensor_alarm_id FROM sensor_alarm \
     WHERE sensor_rule_id = $1 AND device_id = $2 AND state <> 'cleared'";

const WINDOW_COUNT_ABOVE: &str = "SELECT COUNT(*) FROM sensor_reading WHERE device_id = $1 \
     AND attribute = $2 AND observed_at_ms > $3 AND observed_at_ms <= $4 AND value > $5";
const WINDOW_COUNT_BELOW: &str = "SELECT COUNT(*) FROM sensor_reading WHERE device_id = $1 \
     AND attribute = $2 AND observed_at_ms > $3 AND observed_at_ms <= $4 AND value < $5";

/// Inserts an alarm unless one is open; the partial unique index decides, so two nodes
/// raising at once store one alarm. `case_claimed_at_ms` is set because the raising
/// node opens the case right after its commit.
const RAISE: &str = "INSERT INTO sensor_alarm (sensor_rule_id, rule_name, device_id, state, \
     first_triggered_at_ms, last_triggered_at_ms, trigger_count, last_value, \
     case_claimed_at_ms, created_at_ms) \
     VALUES ($1, $2, $3, 'active', $4, $4, 1, $5, $6, $6) \
     ON CONFLICT DO NOTHING RETURNING sensor_alarm_id";

/// Measurement time within which a raise after a clear by the readings reopens the
/// cleared alarm instead of raising a new one: 10 minutes. A sensor that swings past
/// both levels therefore keeps one alarm, while a condition that returns later is a
/// new alarm (which still joins the open case).
pub const REOPEN_WITHIN_MS: i64 = 10 * 60_000;

/// Reopens the newest alarm of the rule and device that the readings cleared at or
/// after `$3` (measurement time). Alarms cleared by a person stay cleared.
const REOPEN: &str = "UPDATE sensor_alarm SET state = 'active', cleared_at_ms = NULL, \
     cleared_observed_at_ms = NULL, trigger_count = trigger_count + 1, \
     last_triggered_at_ms = CASE WHEN $4 > last_triggered_at_ms THEN $4 \
       ELSE last_triggered_at_ms END, last_value = $5 \
     WHERE sensor_alarm_id = (SELECT sensor_alarm_id FROM sensor_alarm \
       WHERE sensor_rule_id = $1 AND device_id = $2 AND state = 'cleared' \
       AND cleared_by IS NULL AND cleared_observed_at_ms >= $3 \
       ORDER BY sensor_alarm_id DESC LIMIT 1) \
     RETURNING sensor_alarm_id";

const RETRIGGER: &str = "UPDATE sensor_alarm SET trigger_count = trigger_count + 1, \
     last_triggered_at_ms = CASE WHEN $3 > last_triggered_at_ms THEN $3 \
       ELSE last_triggered_at_ms END, \
     last_value = $4 WHERE sensor_rule_id = $1 AND device_id = $2 AND state <> 'cleared'";

const CLEAR: &str = "UPDATE sensor_alarm SET state = 'cleared', cleared_at_ms = $3, \
     cleared_observed_at_ms = $4 WHERE sensor_rule_id = $1 AND device_id = $2 AND state <> 'cleared' \
     RETURNING sensor_alarm_id, case_id";

const SAVE_MEMORY: &str = "INSERT INTO sensor_rule_state (sensor_rule_id, device_id, \
     last_observed_at_ms, last_value, changed_at_ms, breach_since_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sensor_rule_id, device_id) DO UPDATE SET \
     last_observed_at_ms = excluded.last_observed_at_ms, last_value = excluded.last_value, \
     changed_at_ms = excluded.changed_at_ms, breach_since_ms = excluded.breach_since_ms";

const LATEST_AT: &str = "SELECT observed_at_ms FROM sensor_latest \
     WHERE device_id = $1 AND attribute = $2";

/// A verdict with the time and value it applies to.
type Timed = (Verdict, i64, Option<f64>);

/// Returns the count query of a count rule with its level and window in ms.
fn window_query(condition: &Condition) -> Option<(&'static str, f64, i64)> {
    match *condition {
        Condition::Count { direction: Direction::Above, level, window_ms, .. } => {
            Some((WINDOW_COUNT_ABOVE, level, window_ms))
        }
        Condition::Count { direction: Direction::Below, level, window_ms, .. } => {
            Some((WINDOW_COUNT_BELOW, level, window_ms))
        }
        _ => None,
    }
}

/// Steps the task's readings through its rule and returns the verdicts and the final
/// memory. `window_counts` contains one count per reading for a count rule and is empty
/// for the others.
fn step_readings(
    task: &Task<'_>,
    mut memory: Option<Memory>,
    mut open: bool,
    window_counts: &[i64],
) -> (Vec<Timed>, Option<Memory>) {
    let mut verdicts = Vec::new();
    for (index, &(at_ms, value)) in task.readings.iter().enumerate() {
        let count = window_counts.get(index).copied().unwrap_or(0);
        let condition = &task.rule.condition;
        let Some(step) = evaluate_reading(condition, memory.as_ref(), open, at_ms, value, count)
        else {
            continue;
        };
        memory = Some(step.memory);
        match step.verdict {
            Verdict::Raise => open = true,
            Verdict::Clear => open = false,
            Verdict::Quiet | Verdict::Retrigger => {}
        }
        verdicts.push((step.verdict, at_ms, Some(value)));
    }
    (verdicts, memory)
}

/// Evaluates `tasks` in one transaction and returns the alarms raised and cleared.
///
/// With readings, each reading steps the rule's memory; without, the rule is evaluated
/// on the clock at `now_ms`. Tasks should come sorted by rule and device, so that
/// concurrent transactions on PostgreSQL lock the memory rows in the same order.
///
/// # Errors
/// A database failure; nothing of the tasks is stored then.
pub async fn apply(db: &Db, tasks: &[Task<'_>], now_ms: i64) -> Result<Vec<Change>, sqlx::Error> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let mut changes = Vec::new();
        for task in tasks {
            let (rule_id, device_id) = (task.rule.rule_id, task.device_id);
            let row: Option<(i64, f64, i64, Option<i64>)> = sqlx::query_as(LOCK_MEMORY)
                .bind(rule_id)
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
            let mut memory = row.map(|(last_observed_at_ms, last_value, changed_at_ms, since)| {
                Memory { last_observed_at_ms, last_value, changed_at_ms, breach_since_ms: since }
            });
            let open: Option<i64> = sqlx::query_scalar(OPEN_ALARM)
                .bind(rule_id)
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
            let open = open.is_some();
            let verdicts = if task.readings.is_empty() {
                let latest: Option<i64> = sqlx::query_scalar(LATEST_AT)
                    .bind(device_id)
                    .bind(task.rule.attribute.code())
                    .fetch_optional(&mut *tx)
                    .await?;
                let verdict =
                    evaluate_clock(&task.rule.condition, memory.as_ref(), latest, open, now_ms);
                vec![(verdict, now_ms, memory.map(|m| m.last_value))]
            } else {
                let mut window_counts = Vec::new();
                if let Some((sql, level, window_ms)) = window_query(&task.rule.condition) {
                    for &(at_ms, _) in &task.readings {
                        let count: i64 = sqlx::query_scalar(sql)
                            .bind(device_id)
                            .bind(task.rule.attribute.code())
                            .bind(at_ms - window_ms)
                            .bind(at_ms)
                            .bind(level)
                            .fetch_one(&mut *tx)
                            .await?;
                        window_counts.push(count);
                    }
                }
                let (verdicts, stepped) = step_readings(task, memory, open, &window_counts);
                memory = stepped;
                verdicts
            };
            for (verdict, at_ms, value) in verdicts {
                match verdict {
                    Verdict::Quiet => {}
                    Verdict::Raise | Verdict::Retrigger => {
                        let mut raised: Option<i64> = None;
                        if verdict == Verdict::Raise {
                            let reopened: Option<i64> = sqlx::query_scalar(REOPEN)
                                .bind(rule_id)
                                .bind(device_id)
                                .bind(at_ms - REOPEN_WITHIN_MS)
                                .bind(at_ms)
                                .bind(value)
                                .fetch_optional(&mut *tx)
                                .await?;
                            if let Some(alarm_id) = reopened {
                                changes.push(Change::Reopened { alarm_id });
                                continue;
                            }
                            raised = sqlx::query_scalar(RAISE)
                                .bind(rule_id)
                                .bind(&task.rule.name)
                                .bind(device_id)
                                .bind(at_ms)
                                .bind(value)
                                .bind(now_ms)
                                .fetch_optional(&mut *tx)
                                .await?;
                        }
                        match raised {
                            Some(alarm_id) => changes.push(Change::Raised { alarm_id }),
                            // A re-trigger, or a raise that another node stored first
                            // and that therefore counts on the open alarm.
                            None => {
                                sqlx::query(RETRIGGER)
                                    .bind(rule_id)
                                    .bind(device_id)
                                    .bind(at_ms)
                                    .bind(value)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                        }
                    }
                    Verdict::Clear => {
                        // A clear on the clock has no reading to time it by.
                        let observed_at_ms = (!task.readings.is_empty()).then_some(at_ms);
                        let cleared: Option<(i64, Option<i64>)> = sqlx::query_as(CLEAR)
                            .bind(rule_id)
                            .bind(device_id)
                            .bind(now_ms)
                            .bind(observed_at_ms)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some((alarm_id, case_id)) = cleared {
                            changes.push(Change::Cleared { alarm_id, case_id });
                        }
                    }
                }
            }
            if let Some(memory) = memory.filter(|_| !task.readings.is_empty()) {
                sqlx::query(SAVE_MEMORY)
                    .bind(rule_id)
                    .bind(device_id)
                    .bind(memory.last_observed_at_ms)
                    .bind(memory.last_value)
                    .bind(memory.changed_at_ms)
                    .bind(memory.breach_since_ms)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(changes)
    }
    .await)
}
