//! JSON routes of rules and alarms.
//!
//! - `GET /api/v1/sensor-rules`, `GET /api/v1/alarms`: staff who may read devices.
//! - `POST /api/v1/sensor-rules`, `PUT`/`DELETE /api/v1/sensor-rules/{id}`:
//!   administrators.
//! - `POST /api/v1/alarms/{id}/acknowledge`, `…/clear`: administrators, dispatchers,
//!   grid and community workers, within their area scope.

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};

use super::{
    case_link::local_time,
    input::RuleInput,
    record::{Alarm, AlarmState},
    rule::{Condition, Rule, Scope},
    rules, service, store,
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::json_body,
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sensor-rules", get(list_rules).post(create_rule))
        .route("/api/v1/sensor-rules/{id}", put(update_rule).delete(delete_rule))
        .route("/api/v1/alarms", get(list_alarms))
        .route("/api/v1/alarms/{id}/acknowledge", post(acknowledge_alarm))
        .route("/api/v1/alarms/{id}/clear", post(clear_alarm))
}

/// A rule as the API shows it; the fields match [`RuleInput`], so a client can send a
/// shown rule back with changes.
#[derive(Debug, Serialize)]
pub struct RuleView {
    pub id: i64,
    pub name: String,
    pub device: Option<String>,
    pub kind: &'static str,
    pub attribute: &'static str,
    #[serde(rename = "type")]
    pub rule_type: &'static str,
    pub direction: Option<&'static str>,
    pub level: Option<f64>,
    pub clear_level: Option<f64>,
    pub min_duration_seconds: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub count_limit: Option<i64>,
    pub category_code: String,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl RuleView {
    pub fn new(rule: &Rule, zone: chrono_tz::Tz) -> RuleView {
        let mut view = RuleView {
            id: rule.rule_id,
            name: rule.name.clone(),
            device: match &rule.scope {
                Scope::Device { external_id, .. } => Some(external_id.clone()),
                Scope::Kind(_) => None,
            },
            kind: rule.scope.kind().as_str(),
            attribute: rule.attribute.name(),
            rule_type: rule.condition.rule_type().as_str(),
            direction: None,
            level: None,
            clear_level: None,
            min_duration_seconds: None,
            duration_seconds: None,
            count_limit: None,
            category_code: rule.category_code.clone(),
            enabled: rule.enabled,
            created_at: local_time(rule.created_at_ms, zone),
            updated_at: local_time(rule.updated_at_ms, zone),
        };
        match rule.condition {
            Condition::Threshold(band) | Condition::RateOfChange(band) => {
                view.direction = Some(band.direction.as_str());
                view.level = Some(band.level);
                view.clear_level = Some(band.clear_level);
                view.min_duration_seconds = Some(band.min_duration_ms / 1000);
            }
            Condition::NoData { duration_ms } | Condition::NoChange { duration_ms } => {
                view.duration_seconds = Some(duration_ms / 1000);
            }
            Condition::Count { direction, level, count_limit, window_ms } => {
                view.direction = Some(direction.as_str());
                view.level = Some(level);
                view.count_limit = Some(count_limit);
                view.duration_seconds = Some(window_ms / 1000);
            }
        }
        view
    }
}

/// An alarm as the API shows it, times in the configured zone with their offset.
#[derive(Debug, Serialize)]
pub struct AlarmView {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub device: String,
    pub device_name: String,
    pub state: AlarmState,
    pub first_triggered_at: String,
    pub last_triggered_at: String,
    pub trigger_count: i64,
    pub last_value: Option<f64>,
    pub case_id: Option<i64>,
    pub acknowledged_by: Option<i64>,
    pub acknowledged_at: Option<String>,
    /// `None` with `cleared_at` set when the readings cleared it.
    pub cleared_by: Option<i64>,
    pub cleared_at: Option<String>,
}

impl AlarmView {
    pub fn new(alarm: &Alarm, zone: chrono_tz::Tz) -> AlarmView {
        let time = |ms: Option<i64>| ms.map(|ms| local_time(ms, zone));
        AlarmView {
            id: alarm.sensor_alarm_id,
            rule_id: alarm.sensor_rule_id,
            rule_name: alarm.rule_name.clone(),
            device: alarm.external_id.clone(),
            device_name: alarm.device_name.clone(),
            state: alarm.state(),
            first_triggered_at: local_time(alarm.first_triggered_at_ms, zone),
            last_triggered_at: local_time(alarm.last_triggered_at_ms, zone),
            trigger_count: alarm.trigger_count,
            last_value: alarm.last_value,
            case_id: alarm.case_id,
            acknowledged_by: alarm.acknowledged_by,
            acknowledged_at: time(alarm.acknowledged_at_ms),
            cleared_by: alarm.cleared_by,
            cleared_at: time(alarm.cleared_at_ms),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Lists every rule, enabled or not.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_rules(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    let zone = state.settings.time_zone();
    let rules = store::list_rules(&state.db).await.map_err(super::AlarmError::from)?;
    let views: Vec<RuleView> = rules.iter().map(|rule| RuleView::new(rule, zone)).collect();
    Ok(Json(serde_json::json!({ "rules": views })))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<RuleInput>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleView>), AppError> {
    user.require(Permission::ManageSensorRules)?;
    let input = json_body(body)?;
    let rule = rules::create_rule(&state.db, &input, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(RuleView::new(&rule, state.settings.time_zone()))))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, rule.id = id))]
async fn update_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: Result<Json<RuleInput>, JsonRejection>,
) -> Result<Json<RuleView>, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let input = json_body(body)?;
    let rule = rules::update_rule(&state.db, id, &input, now_ms()).await?;
    Ok(Json(RuleView::new(&rule, state.settings.time_zone())))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, rule.id = id))]
async fn delete_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    user.require(Permission::ManageSensorRules)?;
    rules::delete_rule(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AlarmQuery {
    /// `open` (the default: active or acknowledged), `active`, `acknowledged`,
    /// `cleared` or `all`.
    state: Option<String>,
}

/// Parses the `state` filter into (state, open only).
pub fn parse_state_filter(text: Option<&str>) -> Result<(Option<AlarmState>, bool), AppError> {
    match text.map(str::trim).unwrap_or("open") {
        "open" | "" => Ok((None, true)),
        "all" => Ok((None, false)),
        other => AlarmState::parse(other).map(|state| (Some(state), false)).ok_or_else(|| {
            AppError::BadRequest(
                UserMessage::new("alarm_state_filter_invalid").arg("value", other).field("state"),
            )
        }),
    }
}

/// Lists the alarms of devices in the user's area scope, newest first, at most 500.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_alarms(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AlarmQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Permission::ViewDevices)?;
    let (filter, open_only) = parse_state_filter(query.state.as_deref())?;
    let alarms = service::visible_alarms(&state, &user, filter, open_only).await?;
    let zone = state.settings.time_zone();
    let views: Vec<AlarmView> = alarms.iter().map(|alarm| AlarmView::new(alarm, zone)).collect();
    Ok(Json(serde_json::json!({ "alarms": views })))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, alarm.id = id))]
async fn acknowledge_alarm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<AlarmView>, AppError> {
    user.require(Permission::HandleAlarms)?;
    let alarm = service::acknowledge_alarm(&state, &user, id).await?;
    Ok(Json(AlarmView::new(&alarm, state.settings.time_zone())))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, alarm.id = id))]
async fn clear_alarm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<AlarmView>, AppError> {
    user.require(Permission::HandleAlarms)?;
    let alarm = service::clear_alarm(&state, &user, id).await?;
    Ok(Json(AlarmView::new(&alarm, state.settings.time_zone())))
}
