//! Storage of rules on SQLite and PostgreSQL, which share every statement here.

use sqlx::FromRow;

use super::rule::{Band, Condition, Direction, Rule, RuleType, Scope};
use crate::{
    db::Db,
    sensors::{Attribute, DeviceKind},
    with_pool,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored rule {rule_id} is corrupt: {reason}")]
    Corrupt { rule_id: i64, reason: String },
}

#[derive(FromRow)]
struct RuleRow {
    sensor_rule_id: i64,
    name: String,
    device_kind: Option<String>,
    device_id: Option<i64>,
    external_id: Option<String>,
    scope_kind: Option<String>,
    attribute: i16,
    rule_type: String,
    direction: Option<String>,
    level: Option<f64>,
    clear_level: Option<f64>,
    min_duration_seconds: i64,
    duration_seconds: Option<i64>,
    count_limit: Option<i64>,
    category_code: String,
    enabled: bool,
    created_at_ms: i64,
    updated_at_ms: i64,
}

const RULE_SELECT: &str = "SELECT r.sensor_rule_id, r.name, r.device_kind, r.device_id, \
     d.external_id, d.kind AS scope_kind, r.attribute, r.rule_type, r.direction, r.level, \
     r.clear_level, r.min_duration_seconds, r.duration_seconds, r.count_limit, \
     r.category_code, r.enabled, r.created_at_ms, r.updated_at_ms \
     FROM sensor_rule r LEFT JOIN sensor_device d ON d.device_id = r.device_id";

impl TryFrom<RuleRow> for Rule {
    type Error = StoreError;

    fn try_from(row: RuleRow) -> Result<Rule, StoreError> {
        let rule_id = row.sensor_rule_id;
        let corrupt = |reason: &str| StoreError::Corrupt { rule_id, reason: reason.to_owned() };
        let kind = |text: Option<&str>| text.and_then(DeviceKind::parse);
        let scope = match (row.device_id, row.external_id) {
            (Some(device_id), Some(external_id)) => Scope::Device {
                device_id,
                external_id,
                kind: kind(row.scope_kind.as_deref()).ok_or_else(|| corrupt("device kind"))?,
            },
            _ => Scope::Kind(kind(row.device_kind.as_deref()).ok_or_else(|| corrupt("kind"))?),
        };
        let attribute = Attribute::from_code(row.attribute).ok_or_else(|| corrupt("attribute"))?;
        let rule_type = RuleType::parse(&row.rule_type).ok_or_else(|| corrupt("type"))?;
        let direction = || row.direction.as_deref().and_then(Direction::parse);
        let band = || -> Option<Band> {
            Some(Band {
                direction: direction()?,
                level: row.level?,
                clear_level: row.clear_level?,
                min_duration_ms: row.min_duration_seconds * 1000,
            })
        };
        let duration_ms = row.duration_seconds.map(|seconds| seconds * 1000);
        let condition = match rule_type {
            RuleType::Threshold => band().map(Condition::Threshold),
            RuleType::RateOfChange => band().map(Condition::RateOfChange),
            RuleType::NoData => duration_ms.map(|duration_ms| Condition::NoData { duration_ms }),
            RuleType::NoChange => {
                duration_ms.map(|duration_ms| Condition::NoChange { duration_ms })
            }
            RuleType::Count => (|| {
                Some(Condition::Count {
                    direction: direction()?,
                    level: row.level?,
                    count_limit: row.count_limit?,
                    window_ms: duration_ms?,
                })
            })(),
        }
        .ok_or_else(|| corrupt("condition fields"))?;
        Ok(Rule {
            rule_id,
            name: row.name,
            scope,
            attribute,
            condition,
            category_code: row.category_code,
            enabled: row.enabled,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

/// The condition as its stored columns: direction, level, clear level, minimum
/// duration, duration or window (both in seconds) and count limit.
type ConditionColumns =
    (Option<&'static str>, Option<f64>, Option<f64>, i64, Option<i64>, Option<i64>);

fn condition_columns(condition: &Condition) -> ConditionColumns {
    let seconds = |ms: i64| ms / 1000;
    match *condition {
        Condition::Threshold(band) | Condition::RateOfChange(band) => (
            Some(band.direction.as_str()),
            Some(band.level),
            Some(band.clear_level),
            seconds(band.min_duration_ms),
            None,
            None,
        ),
        Condition::NoData { duration_ms } | Condition::NoChange { duration_ms } => {
            (None, None, None, 0, Some(seconds(duration_ms)), None)
        }
        Condition::Count { direction, level, count_limit, window_ms } => (
            Some(direction.as_str()),
            Some(level),
            None,
            0,
            Some(seconds(window_ms)),
            Some(count_limit),
        ),
    }
}

fn scope_columns(scope: &Scope) -> (Option<&'static str>, Option<i64>) {
    match scope {
        Scope::Kind(kind) => (Some(kind.as_str()), None),
        Scope::Device { device_id, .. } => (None, Some(*device_id)),
    }
}

fn into_rules(rows: Vec<RuleRow>) -> Result<Vec<Rule>, StoreError> {
    rows.into_iter().map(Rule::try_from).collect()
}

/// Lists every rule, enabled or not, by id.
pub async fn list_rules(db: &Db) -> Result<Vec<Rule>, StoreError> {
    let sql = format!("{RULE_SELECT} ORDER BY r.sensor_rule_id");
    let rows: Vec<RuleRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    into_rules(rows)
}

pub async fn rule_by_id(db: &Db, rule_id: i64) -> Result<Option<Rule>, StoreError> {
    let sql = format!("{RULE_SELECT} WHERE r.sensor_rule_id = $1");
    let row: Option<RuleRow> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(rule_id).fetch_optional(pool).await
    })?;
    row.map(Rule::try_from).transpose()
}

/// Inserts `rule` (its id is ignored) and returns the new id.
pub async fn insert_rule(db: &Db, rule: &Rule) -> Result<i64, StoreError> {
    let (kind, device_id) = scope_columns(&rule.scope);
    let (direction, level, clear_level, min_duration, duration, count_limit) =
        condition_columns(&rule.condition);
    let id: i64 = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO sensor_rule (name, device_kind, device_id, attribute, rule_type, \
             direction, level, clear_level, min_duration_seconds, duration_seconds, \
             count_limit, category_code, enabled, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             RETURNING sensor_rule_id",
        )
        .bind(&rule.name)
        .bind(kind)
        .bind(device_id)
        .bind(rule.attribute.code())
        .bind(rule.condition.rule_type().as_str())
        .bind(direction)
        .bind(level)
        .bind(clear_level)
        .bind(min_duration)
        .bind(duration)
        .bind(count_limit)
        .bind(&rule.category_code)
        .bind(rule.enabled)
        .bind(rule.created_at_ms)
        .fetch_one(pool)
        .await
    })?;
    Ok(id)
}

/// Replaces every field of the rule with `rule.rule_id`; false when it does not exist.
///
/// The rule's memory of each device is dropped, because it was built for the old
/// condition. Open alarms stay open until the new condition clears them.
pub async fn update_rule(db: &Db, rule: &Rule) -> Result<bool, StoreError> {
    let (kind, device_id) = scope_columns(&rule.scope);
    let (direction, level, clear_level, min_duration, duration, count_limit) =
        condition_columns(&rule.condition);
    let updated = with_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let result = sqlx::query(
            "UPDATE sensor_rule SET name = $2, device_kind = $3, device_id = $4, \
             attribute = $5, rule_type = $6, direction = $7, level = $8, clear_level = $9, \
             min_duration_seconds = $10, duration_seconds = $11, count_limit = $12, \
             category_code = $13, enabled = $14, updated_at_ms = $15 \
             WHERE sensor_rule_id = $1",
        )
        .bind(rule.rule_id)
        .bind(&rule.name)
        .bind(kind)
        .bind(device_id)
        .bind(rule.attribute.code())
        .bind(rule.condition.rule_type().as_str())
        .bind(direction)
        .bind(level)
        .bind(clear_level)
        .bind(min_duration)
        .bind(duration)
        .bind(count_limit)
        .bind(&rule.category_code)
        .bind(rule.enabled)
        .bind(rule.updated_at_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sensor_rule_state WHERE sensor_rule_id = $1")
            .bind(rule.rule_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(result.rows_affected() == 1)
    }
    .await)?;
    Ok(updated)
}

/// The result of deleting a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    NotFound,
    /// The rule has open alarms, which must be cleared first so that their cases
    /// record how they ended.
    HasOpenAlarms,
}

/// Deletes a rule without open alarms, with its memory; its cleared alarms keep their
/// history and lose only the link to the rule.
pub async fn delete_rule(db: &Db, rule_id: i64) -> Result<Deleted, StoreError> {
    let outcome = with_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sensor_alarm WHERE sensor_rule_id = $1 AND state <> 'cleared'",
        )
        .bind(rule_id)
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Ok::<_, sqlx::Error>(Deleted::HasOpenAlarms);
        }
        let result = sqlx::query("DELETE FROM sensor_rule WHERE sensor_rule_id = $1")
            .bind(rule_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if result.rows_affected() == 1 { Deleted::Deleted } else { Deleted::NotFound })
    }
    .await)?;
    Ok(outcome)
}
