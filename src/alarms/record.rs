//! Stored alarms and the queries of their lifecycle: listing, acknowledging, clearing
//! by hand and linking the case.

use serde::Serialize;
use sqlx::FromRow;

use crate::{db::Db, with_pool};

/// The lifecycle of an alarm: active → acknowledged → cleared, or active → cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    Active,
    Acknowledged,
    Cleared,
}

impl AlarmState {
    pub const ALL: [AlarmState; 3] =
        [AlarmState::Active, AlarmState::Acknowledged, AlarmState::Cleared];

    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Active => "active",
            AlarmState::Acknowledged => "acknowledged",
            AlarmState::Cleared => "cleared",
        }
    }

    pub fn parse(text: &str) -> Option<AlarmState> {
        AlarmState::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// One stored alarm with the device fields that lists and cases show.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Alarm {
    pub sensor_alarm_id: i64,
    pub sensor_rule_id: Option<i64>,
    pub rule_name: String,
    pub device_id: i64,
    pub external_id: String,
    pub device_name: String,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    pub grid_area_id: Option<i64>,
    pub state: String,
    pub first_triggered_at_ms: i64,
    pub last_triggered_at_ms: i64,
    pub trigger_count: i64,
    pub last_value: Option<f64>,
    pub case_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_at_ms: Option<i64>,
    pub cleared_by: Option<i64>,
    pub cleared_at_ms: Option<i64>,
}

impl Alarm {
    /// Returns the state; a stored value outside the CHECK constraint reads as cleared.
    pub fn state(&self) -> AlarmState {
        AlarmState::parse(&self.state).unwrap_or(AlarmState::Cleared)
    }
}

const ALARM_SELECT: &str = "SELECT a.sensor_alarm_id, a.sensor_rule_id, a.rule_name, \
     a.device_id, d.external_id, d.name AS device_name, d.longitude, d.latitude, \
     d.grid_area_id, a.state, a.first_triggered_at_ms, a.last_triggered_at_ms, \
     a.trigger_count, a.last_value, a.case_id, a.acknowledged_by, a.acknowledged_at_ms, \
     a.cleared_by, a.cleared_at_ms \
     FROM sensor_alarm a JOIN sensor_device d ON d.device_id = a.device_id";

/// Most alarms one list returns, newest first.
pub const MAX_LISTED: i64 = 500;

/// Lists alarms newest first, at most [`MAX_LISTED`]: only open ones (active or
/// acknowledged) when `open_only`, otherwise those in `state`, or all.
pub async fn list_alarms(
    db: &Db,
    state: Option<AlarmState>,
    open_only: bool,
) -> Result<Vec<Alarm>, sqlx::Error> {
    let filter = match (open_only, state) {
        (true, _) => " WHERE a.state <> 'cleared'",
        (false, Some(_)) => " WHERE a.state = $2",
        (false, None) => "",
    };
    let sql = format!("{ALARM_SELECT}{filter} ORDER BY a.sensor_alarm_id DESC LIMIT $1");
    with_pool!(db, |pool| {
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(MAX_LISTED);
        let query = match (open_only, state) {
            (false, Some(state)) => query.bind(state.as_str()),
            _ => query,
        };
        query.fetch_all(pool).await
    })
}

pub async fn alarm_by_id(db: &Db, alarm_id: i64) -> Result<Option<Alarm>, sqlx::Error> {
    let sql = format!("{ALARM_SELECT} WHERE a.sensor_alarm_id = $1");
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(alarm_id).fetch_optional(pool).await
    })
}

/// Acknowledges an active alarm; false when it is not active any more.
pub async fn acknowledge(
    db: &Db,
    alarm_id: i64,
    user_id: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let _turn = db.write_turn().await;
    let result = with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE sensor_alarm SET state = 'acknowledged', acknowledged_by = $2, \
             acknowledged_at_ms = $3 WHERE sensor_alarm_id = $1 AND state = 'active'",
        )
        .bind(alarm_id)
        .bind(user_id)
        .bind(now_ms)
        .execute(pool)
        .await
        .map(|result| result.rows_affected())
    })?;
    Ok(result == 1)
}

/// Clears an open alarm by hand and drops the rule's memory of the device, so that a
/// condition that is still met raises a new alarm. Returns false when it was already
/// cleared.
pub async fn clear(db: &Db, alarm_id: i64, user_id: i64, now_ms: i64) -> Result<bool, sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let cleared: Option<(Option<i64>, i64)> = sqlx::query_as(
            "UPDATE sensor_alarm SET state = 'cleared', cleared_by = $2, cleared_at_ms = $3 \
             WHERE sensor_alarm_id = $1 AND state <> 'cleared' \
             RETURNING sensor_rule_id, device_id",
        )
        .bind(alarm_id)
        .bind(user_id)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((rule_id, device_id)) = cleared else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM sensor_rule_state WHERE sensor_rule_id = $1 AND device_id = $2")
            .bind(rule_id)
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
    .await)
}

pub async fn set_case(db: &Db, alarm_id: i64, case_id: i64) -> Result<(), sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query("UPDATE sensor_alarm SET case_id = $2 WHERE sensor_alarm_id = $1")
            .bind(alarm_id)
            .bind(case_id)
            .execute(pool)
            .await
            .map(drop)
    })?;
    Ok(())
}

/// Finds the case of the newest earlier alarm of the same rule and device, which a
/// new alarm joins while that case is still open.
pub async fn previous_case(db: &Db, alarm: &Alarm) -> Result<Option<i64>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT case_id FROM sensor_alarm WHERE sensor_rule_id = $1 AND device_id = $2 \
             AND sensor_alarm_id < $3 AND case_id IS NOT NULL \
             ORDER BY sensor_alarm_id DESC LIMIT 1",
        )
        .bind(alarm.sensor_rule_id)
        .bind(alarm.device_id)
        .bind(alarm.sensor_alarm_id)
        .fetch_optional(pool)
        .await
    })
}

/// Claims up to `limit` open alarms that have no case although their claim is older
/// than `stale_before_ms`: the node that raised them failed before the case was stored.
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL lets nodes split the rows, and the claim time
/// keeps another node away until it goes stale again.
pub async fn claim_missing_cases(
    db: &Db,
    stale_before_ms: i64,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let lock = match db.backend() {
        crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        crate::db::Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE sensor_alarm SET case_claimed_at_ms = $2 WHERE sensor_alarm_id IN \
         (SELECT sensor_alarm_id FROM sensor_alarm WHERE case_id IS NULL \
         AND state <> 'cleared' AND (case_claimed_at_ms IS NULL OR case_claimed_at_ms < $1) \
         ORDER BY sensor_alarm_id LIMIT $3{lock}) RETURNING sensor_alarm_id"
    );
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(stale_before_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(pool)
            .await
    })
}
