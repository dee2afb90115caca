//! The alarm service: evaluating a committed batch, following up raised and cleared
//! alarms on their cases, and the acknowledge and clear actions of people.

use std::collections::BTreeMap;

use super::{
    apply::{Change, Task, apply},
    case_link::{NoteKind, note, open_case},
    error::AlarmError,
    record::{self, Alarm, AlarmState},
    retry,
    rule::{Rule, Scope},
    rules::enabled_rules,
};
use crate::{
    accounts::{CurrentUser, Role},
    db::Db,
    http::AppState,
    locate::AreaIndex,
    sensors::{
        DeviceKind,
        reading::Reading,
        store_write::{Stored, StoredBatch},
    },
    with_pool,
};

/// Evaluates the newly inserted readings of a committed batch against the enabled
/// rules, then opens the cases of raised alarms and notes cleared ones.
///
/// Runs on the ingest path right after the commit, so an alarm's case exists before the
/// batch response is sent. It returns nothing, so it cannot fail the batch, whose
/// readings are already stored. A failed evaluation is logged, and the batch's rows
/// stay in the pending table so that the worker evaluates the readings again. The
/// worker also retries an alarm left without its case. Still pending readings of an
/// earlier batch of the same device attribute are evaluated too.
#[tracing::instrument(skip_all, fields(batch.readings = readings.len(), batch.token = stored.pending.token))]
pub async fn evaluate_batch(state: &AppState, readings: &[Reading], stored: &StoredBatch) {
    let mut inserted: Vec<Reading> = readings
        .iter()
        .zip(&stored.outcome)
        .filter(|(_, s)| **s == Stored::Inserted)
        .map(|(r, _)| *r)
        .collect();
    if inserted.is_empty() && stored.pending.backlog.is_empty() {
        // Only duplicates and conflicts: the batch marked nothing as pending.
        return;
    }
    let evaluated = async {
        let truncated = retry::add_backlog(state, &mut inserted, &stored.pending.backlog).await?;
        let changes = evaluate(&state.relaxed_db, &inserted).await?;
        Ok::<_, AlarmError>((truncated, changes))
    };
    let (truncated, changes) = match evaluated.await {
        Ok(evaluated) => evaluated,
        Err(error) => {
            tracing::error!(error = %error,
                "rule evaluation of a stored batch failed; the alarm worker retries it");
            return;
        }
    };
    follow_up(state, changes).await;
    retry::finish_batch(state, &stored.pending, &truncated).await;
}

/// Evaluates `readings` against the enabled rules of their attributes in one
/// transaction and returns the alarm changes.
pub(super) async fn evaluate(db: &Db, readings: &[Reading]) -> Result<Vec<Change>, AlarmError> {
    if readings.is_empty() {
        return Ok(Vec::new());
    }

    let rules = enabled_rules(db).await?;
    let relevant: Vec<&Rule> = rules
        .iter()
        .filter(|rule| readings.iter().any(|r| r.attribute == rule.attribute))
        .collect();
    if relevant.is_empty() {
        return Ok(Vec::new());
    }

    let kinds = device_kinds(db, &relevant, readings).await?;
    // Keyed by (rule, device) so that tasks run in lock order.
    let mut tasks: BTreeMap<(i64, i64), Task<'_>> = BTreeMap::new();
    for reading in readings {
        let kind = kinds.get(&reading.device_id).copied();
        for rule in relevant.iter().copied().filter(|rule| rule.attribute == reading.attribute) {
            let covered = match &rule.scope {
                Scope::Device { device_id, .. } => *device_id == reading.device_id,
                Scope::Kind(scope_kind) => kind == Some(*scope_kind),
            };
            if covered {
                tasks
                    .entry((rule.rule_id, reading.device_id))
                    .or_insert_with(|| Task {
                        rule,
                        device_id: reading.device_id,
                        readings: Vec::new(),
                    })
                    .readings
                    .push((reading.observed_at_ms, reading.value));
            }
        }
    }

    let mut tasks: Vec<Task<'_>> = tasks.into_values().collect();
    for task in &mut tasks {
        task.readings.sort_by_key(|(at_ms, _)| *at_ms);
    }

    let now_ms = chrono::Utc::now().timestamp_millis();
    Ok(apply(db, &tasks, now_ms).await?)
}

/// Loads the kind of each device in the batch, only when a kind-wide rule needs it.
async fn device_kinds(
    db: &Db,
    rules: &[&Rule],
    readings: &[Reading],
) -> Result<BTreeMap<i64, DeviceKind>, AlarmError> {
    if !rules.iter().any(|rule| matches!(rule.scope, Scope::Kind(_))) {
        return Ok(BTreeMap::new());
    }
    let mut ids: Vec<i64> = readings.iter().map(|r| r.device_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut kinds = BTreeMap::new();
    // 500 ids per statement stays under every backend's parameter limit.
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT device_id, kind FROM sensor_device WHERE device_id IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<(i64, String)> = with_pool!(db, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        kinds.extend(
            rows.into_iter().filter_map(|(id, kind)| DeviceKind::parse(&kind).map(|k| (id, k))),
        );
    }
    Ok(kinds)
}

/// Opens the case of each raised alarm and notes each cleared one on its case. Each
/// failure is logged with its alarm id and does not stop the others.
pub async fn follow_up(state: &AppState, changes: Vec<Change>) {
    for change in changes {
        match change {
            Change::Raised { alarm_id } => {
                tracing::info!(alarm.id = alarm_id, "alarm raised");
                if let Err(error) = open_case(state, alarm_id).await {
                    tracing::error!(alarm.id = alarm_id, error = %error, "opening the alarm's case failed; the worker retries");
                }
            }
            Change::Reopened { alarm_id } => {
                tracing::info!(alarm.id = alarm_id, "alarm reopened by readings");
                if let Err(error) = note_on_case(state, alarm_id, NoteKind::Reopened).await {
                    tracing::error!(alarm.id = alarm_id, error = %error, "noting the reopened alarm on its case failed");
                }
            }
            Change::Cleared { alarm_id, case_id } => {
                tracing::info!(alarm.id = alarm_id, "alarm cleared by readings");
                if case_id.is_none() {
                    continue;
                }
                if let Err(error) = note_on_case(state, alarm_id, NoteKind::ClearedByData).await {
                    tracing::error!(alarm.id = alarm_id, case.id = case_id, error = %error, "noting the cleared alarm on its case failed");
                }
            }
        }
    }
}

/// Notes `kind` on the alarm's case; an alarm still without a case gets its notes
/// when the case opens.
async fn note_on_case(state: &AppState, alarm_id: i64, kind: NoteKind) -> Result<(), AlarmError> {
    let alarm = record::alarm_by_id(&state.db, alarm_id)
        .await?
        .ok_or(AlarmError::AlarmNotFound(alarm_id))?;
    match alarm.case_id {
        Some(case_id) => note(state, &alarm, case_id, kind, None).await,
        None => Ok(()),
    }
}

/// Reports whether `user` may see `alarm`: administrators see all, others the alarms
/// of devices in a grid of their area scope.
pub fn can_see(user: &CurrentUser, index: &AreaIndex, alarm: &Alarm) -> bool {
    user.role == Role::Administrator
        || alarm.grid_area_id.is_some_and(|grid| user.can_access_area(index, grid))
}

/// Lists the alarms `user` may see, newest first: the open ones, those in `state`, or
/// all when `state` is `None` and `open_only` is false.
pub async fn visible_alarms(
    state: &AppState,
    user: &CurrentUser,
    filter: Option<AlarmState>,
    open_only: bool,
) -> Result<Vec<Alarm>, AlarmError> {
    let alarms = record::list_alarms(&state.db, filter, open_only).await?;
    let index = state.locator.snapshot();
    Ok(alarms.into_iter().filter(|alarm| can_see(user, &index, alarm)).collect())
}

async fn visible_alarm(
    state: &AppState,
    user: &CurrentUser,
    alarm_id: i64,
) -> Result<Alarm, AlarmError> {
    let alarm = record::alarm_by_id(&state.db, alarm_id).await?;
    let index = state.locator.snapshot();
    alarm.filter(|alarm| can_see(user, &index, alarm)).ok_or(AlarmError::AlarmNotFound(alarm_id))
}

/// Acknowledges an active alarm on behalf of `user` and notes it on the case.
///
/// # Errors
/// [`AlarmError::AlarmNotFound`] outside the user's scope, [`AlarmError::WrongState`]
/// unless the alarm is active.
#[tracing::instrument(skip_all, fields(alarm.id = alarm_id, user.id = user.user_id))]
pub async fn acknowledge_alarm(
    state: &AppState,
    user: &CurrentUser,
    alarm_id: i64,
) -> Result<Alarm, AlarmError> {
    let alarm = visible_alarm(state, user, alarm_id).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    if !record::acknowledge(&state.db, alarm_id, user.user_id, now_ms).await? {
        return Err(AlarmError::WrongState { alarm_id, state: alarm.state().as_str() });
    }
    if let Some(case_id) = alarm.case_id {
        let who = Some((user.user_id, user.display_name.as_str()));
        note(state, &alarm, case_id, NoteKind::Acknowledged, who).await?;
    }
    tracing::info!("alarm acknowledged");
    visible_alarm(state, user, alarm_id).await
}

/// Clears an open alarm on behalf of `user` and notes it on the case.
///
/// # Errors
/// [`AlarmError::AlarmNotFound`] outside the user's scope, [`AlarmError::WrongState`]
/// when it is already cleared.
#[tracing::instrument(skip_all, fields(alarm.id = alarm_id, user.id = user.user_id))]
pub async fn clear_alarm(
    state: &AppState,
    user: &CurrentUser,
    alarm_id: i64,
) -> Result<Alarm, AlarmError> {
    let alarm = visible_alarm(state, user, alarm_id).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    if !record::clear(&state.db, alarm_id, user.user_id, now_ms).await? {
        return Err(AlarmError::WrongState { alarm_id, state: AlarmState::Cleared.as_str() });
    }
    if let Some(case_id) = alarm.case_id {
        let who = Some((user.user_id, user.display_name.as_str()));
        note(state, &alarm, case_id, NoteKind::ClearedByHand, who).await?;
    }
    tracing::info!("alarm cleared by hand");
    visible_alarm(state, user, alarm_id).await
}
