//! Console pages: the rule list and its create and edit form (administrators), and the
//! alarm list with acknowledge and clear buttons. Every form posts without JavaScript
//! and responds with a 303 and a flash message, or the form again with its errors.

use crate::http::Query;
use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    error::AlarmError,
    http::{AlarmView, RuleView, parse_state_filter},
    input::RuleInput,
    record::{Alarm, AlarmState},
    rule::RuleType,
    rules, service, store,
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, pages::PageContext},
    sensors::DeviceKind,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sensor-rules", get(get_rules).post(post_new_rule))
        .route("/sensor-rules/new", get(get_new_rule))
        .route("/sensor-rules/{id}", get(get_rule).post(post_rule))
        .route("/sensor-rules/{id}/delete", post(post_delete_rule))
        .route("/alarms", get(get_alarms))
        .route("/alarms/{id}/acknowledge", post(post_acknowledge))
        .route("/alarms/{id}/clear", post(post_clear))
}

/// A message shown next to a form input.
pub struct FieldError {
    /// The `id` of the input the message is about.
    pub field: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "alarms/rules.html")]
struct RulesPage {
    ctx: PageContext,
    rules: Vec<RuleView>,
}

/// The rule form's values as text, kept to fill it again after an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub name: String,
    pub device: String,
    pub kind: String,
    pub attribute: String,
    #[serde(rename = "type")]
    pub rule_type: String,
    pub direction: String,
    pub level: String,
    pub clear_level: String,
    pub min_duration_seconds: String,
    pub duration_seconds: String,
    pub count_limit: String,
    pub category_code: String,
    /// Present (`on`) when the checkbox is ticked.
    pub enabled: Option<String>,
}

impl RuleForm {
    fn from_view(view: &RuleView) -> RuleForm {
        let text = |value: Option<String>| value.unwrap_or_default();
        RuleForm {
            name: view.name.clone(),
            device: text(view.device.clone()),
            kind: if view.device.is_some() { String::new() } else { view.kind.to_owned() },
            attribute: view.attribute.to_owned(),
            rule_type: view.rule_type.to_owned(),
            direction: view.direction.unwrap_or_default().to_owned(),
            level: text(view.level.map(|v| v.to_string())),
            clear_level: text(view.clear_level.map(|v| v.to_string())),
            min_duration_seconds: text(view.min_duration_seconds.map(|v| v.to_string())),
            duration_seconds: text(view.duration_seconds.map(|v| v.to_string())),
            count_limit: text(view.count_limit.map(|v| v.to_string())),
            category_code: view.category_code.clone(),
            enabled: view.enabled.then(|| "on".to_owned()),
        }
    }

    /// Builds the API input. A number that does not parse becomes a value that fails
    /// its range check, so the error names that field.
    fn to_input(&self) -> RuleInput {
        let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let real = |value: &str| text(value).map(|v| v.parse::<f64>().unwrap_or(f64::NAN));
        let whole = |value: &str| text(value).map(|v| v.parse::<i64>().unwrap_or(i64::MIN));
        RuleInput {
            name: Some(self.name.clone()),
            device: text(&self.device),
            kind: text(&self.kind),
            attribute: text(&self.attribute),
            rule_type: text(&self.rule_type),
            direction: text(&self.direction),
            level: real(&self.level),
            clear_level: real(&self.clear_level),
            min_duration_seconds: whole(&self.min_duration_seconds),
            duration_seconds: whole(&self.duration_seconds),
            count_limit: whole(&self.count_limit),
            category_code: text(&self.category_code),
            enabled: Some(self.enabled.is_some()),
        }
    }
}

#[derive(Template)]
#[template(path = "alarms/rule_form.html")]
struct RuleFormPage {
    ctx: PageContext,
    /// `None` for a new rule.
    rule_id: Option<i64>,
    form: RuleForm,
    errors: Vec<FieldError>,
    kinds: Vec<&'static str>,
    /// (value, label) of each rule type.
    types: Vec<(&'static str, String)>,
}

impl RuleFormPage {
    fn new(
        ctx: PageContext,
        rule_id: Option<i64>,
        form: RuleForm,
        errors: Vec<FieldError>,
    ) -> Self {
        let types = RuleType::ALL
            .iter()
            .map(|kind| (kind.as_str(), ctx.t(&format!("sensor-rule-type-{}", kind.as_str()))))
            .collect();
        RuleFormPage {
            ctx: ctx.at("sensor-rules"),
            rule_id,
            form,
            errors,
            kinds: DeviceKind::ALL.iter().map(|kind| kind.as_str()).collect(),
            types,
        }
    }
}

fn render(page: &impl Template, status: StatusCode) -> Result<Response, AppError> {
    crate::console::render(page).map(|html| (status, html).into_response())
}

async fn get_rules(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let zone = state.settings.time_zone();
    let stored = store::list_rules(&state.db).await.map_err(AlarmError::from)?;
    let rules = stored.iter().map(|rule| RuleView::new(rule, zone)).collect();
    render(&RulesPage { ctx: ctx.at("sensor-rules"), rules }, StatusCode::OK)
}

async fn get_new_rule(user: CurrentUser, ctx: PageContext) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let form = RuleForm { enabled: Some("on".to_owned()), ..RuleForm::default() };
    render(&RuleFormPage::new(ctx, None, form, Vec::new()), StatusCode::OK)
}

async fn get_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let rule = store::rule_by_id(&state.db, id)
        .await
        .map_err(AlarmError::from)?
        .ok_or(AlarmError::RuleNotFound(id))?;
    let form = RuleForm::from_view(&RuleView::new(&rule, state.settings.time_zone()));
    render(&RuleFormPage::new(ctx, Some(id), form, Vec::new()), StatusCode::OK)
}

/// Turns a validation failure into the form again with one message per field, and
/// passes every other error on.
fn form_errors(
    ctx: PageContext,
    rule_id: Option<i64>,
    form: RuleForm,
    error: AlarmError,
) -> Result<Response, AppError> {
    let AlarmError::Invalid(messages) = error else {
        return Err(error.into());
    };
    let errors = messages
        .iter()
        .map(|message| FieldError {
            field: message.field.clone().unwrap_or_default(),
            message: message.render(ctx.locale),
        })
        .collect();
    let page = RuleFormPage::new(ctx, rule_id, form, errors);
    render(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

fn saved() -> Response {
    Redirect::to("/sensor-rules?notice=notice-sensor-rule-saved").into_response()
}

async fn post_new_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Form(form): Form<RuleForm>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    match rules::create_rule(&state.db, &form.to_input(), now_ms).await {
        Ok(_) => Ok(saved()),
        Err(error) => form_errors(ctx, None, form, error),
    }
}

async fn post_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(id): Path<i64>,
    Form(form): Form<RuleForm>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    match rules::update_rule(&state.db, id, &form.to_input(), now_ms).await {
        Ok(_) => Ok(saved()),
        Err(error) => form_errors(ctx, Some(id), form, error),
    }
}

async fn post_delete_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageSensorRules)?;
    rules::delete_rule(&state.db, id).await?;
    Ok(Redirect::to("/sensor-rules?notice=notice-sensor-rule-deleted").into_response())
}

/// One alarm as the page lists it.
pub struct AlarmRow {
    pub view: AlarmView,
    pub state_label: String,
    pub may_acknowledge: bool,
    pub may_clear: bool,
}

#[derive(Template)]
#[template(path = "alarms/alarms.html")]
struct AlarmsPage {
    ctx: PageContext,
    alarms: Vec<AlarmRow>,
    /// The state filter shown, such as `open`.
    filter: String,
    /// (value, label) of each state filter.
    filters: Vec<(&'static str, String)>,
    can_handle: bool,
}

#[derive(Deserialize)]
struct AlarmFilter {
    state: Option<String>,
}

async fn get_alarms(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<AlarmFilter>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewDevices)?;
    let (filter, open_only) = parse_state_filter(query.state.as_deref())?;
    let alarms = service::visible_alarms(&state, &user, filter, open_only).await?;
    let zone = state.settings.time_zone();
    let rows = alarms
        .iter()
        .map(|alarm| {
            let state = alarm.state();
            AlarmRow {
                view: AlarmView::new(alarm, zone),
                state_label: ctx.t(&format!("alarm-state-{}", state.as_str())),
                may_acknowledge: state == AlarmState::Active,
                may_clear: state != AlarmState::Cleared,
            }
        })
        .collect();
    let filters = ["open", "active", "acknowledged", "cleared", "all"]
        .into_iter()
        .map(|option| (option, ctx.t(&format!("alarm-state-{option}"))))
        .collect();
    let page = AlarmsPage {
        ctx: ctx.at("alarms"),
        alarms: rows,
        filter: query.state.unwrap_or_else(|| "open".to_owned()),
        filters,
        can_handle: user.role.allows(Permission::HandleAlarms),
    };
    render(&page, StatusCode::OK)
}

/// The optional page an acknowledge or clear form returns to.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ReturnTo {
    back: Option<String>,
}

/// Reports whether `path` is the dashboard page, the only page other than the alarm
/// list that these forms may return to, so that `back` cannot redirect off the site.
pub fn is_dashboard_path(path: &str) -> bool {
    is_page_path(path, "/smart-core")
}

/// Reports whether `path` is `page`, with or without a query, and nothing that could
/// lead elsewhere.
fn is_page_path(path: &str, page: &str) -> bool {
    let rest = path.strip_prefix(page).unwrap_or("/");
    (rest.is_empty() || rest.starts_with('?'))
        && !path.contains("//")
        && !path.chars().any(|c| c == '\\' || c.is_control())
}

/// Redirects to the form's `back` page when it is the dashboard or the alarm list (with
/// its filter), to `/alarms` otherwise, with `notice` as the flash message.
fn redirect_back(form: ReturnTo, notice: &str) -> Response {
    let page = form.back.filter(|back| is_dashboard_path(back) || is_page_path(back, "/alarms"));
    let target = match page {
        Some(back) if back.contains('?') => format!("{back}&notice={notice}"),
        Some(back) => format!("{back}?notice={notice}"),
        None => format!("/alarms?notice={notice}"),
    };
    Redirect::to(&target).into_response()
}

async fn post_acknowledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ReturnTo>,
) -> Result<Response, AppError> {
    user.require(Permission::HandleAlarms)?;
    let done = service::acknowledge_alarm(&state, &user, id).await;
    form_outcome(done, form, "notice-alarm-acknowledged")
}

async fn post_clear(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ReturnTo>,
) -> Result<Response, AppError> {
    user.require(Permission::HandleAlarms)?;
    let done = service::clear_alarm(&state, &user, id).await;
    form_outcome(done, form, "notice-alarm-cleared")
}

/// Turns the result of an acknowledge or clear form into its redirect. An alarm that
/// someone else moved on first (a second click, two users) is not an error for the
/// person at the form: the page comes back with a notice and shows its current state.
fn form_outcome(
    done: Result<Alarm, AlarmError>,
    form: ReturnTo,
    notice: &str,
) -> Result<Response, AppError> {
    match done {
        Ok(_) => Ok(redirect_back(form, notice)),
        Err(AlarmError::WrongState { alarm_id, state }) => {
            tracing::info!(
                alarm.id = alarm_id,
                alarm.state = state,
                "alarm form on a changed alarm"
            );
            Ok(redirect_back(form, "notice-alarm-changed-meanwhile"))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_dashboard_path;

    #[test]
    fn return_path_allows_only_the_dashboard() {
        let cases = [
            ("/smart-core", true),
            ("/smart-core?area=110105001&period=week", true),
            ("/smart-corex", false),
            ("//evil.example/smart-core", false),
            ("https://evil.example/smart-core", false),
            ("/smart-core?next=//evil.example", false),
            ("/smart-core?a=\\evil", false),
            ("/alarms", false),
        ];
        for (path, allowed) in cases {
            assert_eq!(is_dashboard_path(path), allowed, "{path}");
        }
    }
}
