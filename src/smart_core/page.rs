//! The dashboard page (智慧之芯) and its alarm list fragment, which the page reloads when
//! the event stream reports an alarm change.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    form::{FormValues, PageQuery, page_period, selector_areas},
    period::{Period, Preset},
    scope::{grid_ids, resolve_area},
    series::{Combine, Group},
    service::{GroupSeries, area_series, device_overview, open_alarms_in},
    status::DeviceStatus,
};
use crate::{
    accounts::{CurrentUser, Permission},
    alarms::{AlarmView, record::AlarmState},
    areas::Area,
    console::render,
    http::{
        AppError, AppState, Query,
        pages::{FieldError, PageContext, error_for, field_error},
    },
    sensors::rollup::Step,
};

/// One open alarm as the dashboard lists it.
pub struct AlarmRow {
    pub view: AlarmView,
    pub state_label: String,
    pub may_acknowledge: bool,
}

/// One chart and its column in the data table.
pub struct ChartView {
    pub key: &'static str,
    pub label: String,
    pub device_count: usize,
}

#[derive(Template)]
#[template(path = "smart_core/alarm_list.html")]
struct AlarmListFragment {
    ctx: PageContext,
    alarms: Vec<AlarmRow>,
    can_handle: bool,
    /// The page the acknowledge and clear forms return to.
    back: String,
}

#[derive(Template)]
#[template(path = "smart_core/dashboard.html")]
struct SmartCorePage {
    ctx: PageContext,
    /// The shown area's name, empty on a form with errors, which shows no dashboard.
    area_name: String,
    /// (code, name, level label) of each area the user may pick.
    choices: Vec<(String, String, String)>,
    /// (value, label) of each period preset.
    presets: Vec<(&'static str, String)>,
    form: FormValues,
    /// Rejected inputs. When there are any, the page shows only the form.
    errors: Vec<FieldError>,
    devices: Vec<DeviceStatus>,
    alarms: Vec<AlarmRow>,
    can_handle: bool,
    links: Links,
    tile_url: String,
    tile_attribution: String,
    tiles_gcj02: bool,
    charts: Vec<ChartView>,
    /// Codes of the area's grids, separated by spaces, whose outlines the map draws.
    grid_codes: String,
    /// Bucket label and one formatted value per chart, for the data table.
    rows: Vec<(String, Vec<String>)>,
}

fn alarm_rows(
    ctx: &PageContext,
    alarms: &[crate::alarms::record::Alarm],
    zone: chrono_tz::Tz,
) -> Vec<AlarmRow> {
    alarms
        .iter()
        .map(|alarm| {
            let state = alarm.state();
            AlarmRow {
                view: AlarmView::new(alarm, zone),
                state_label: ctx.t(&format!("alarm-state-{}", state.as_str())),
                may_acknowledge: state == AlarmState::Active,
            }
        })
        .collect()
}

/// Formats a chart value as the data table shows it.
fn format_point(group: Group, value: Option<f64>) -> String {
    let Some(value) = value else { return "—".to_owned() };
    match (group, group.combine()) {
        (_, Combine::Sum) => format!("{value:.0}"),
        (Group::BinFill | Group::Humidity, _) => format!("{:.0} %", value * 100.0),
        (Group::Temperature, _) => format!("{value:.1} °C"),
        (Group::Energy, _) => format!("{value:.1} kWh"),
        _ => format!("{value:.1}"),
    }
}

fn local_label(ms: i64, step: Step, zone: chrono_tz::Tz) -> String {
    let time = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&zone);
    match step {
        Step::Day => time.format("%Y-%m-%d").to_string(),
        Step::Hour | Step::Minute => time.format("%m-%d %H:%M").to_string(),
    }
}

/// Turns the series into table rows: one per bucket, one column per group.
fn table_rows(
    series: &[GroupSeries],
    step: Step,
    zone: chrono_tz::Tz,
) -> Vec<(String, Vec<String>)> {
    let Some(first) = series.first() else { return Vec::new() };
    (0..first.points.len())
        .map(|i| {
            let label = local_label(first.points[i].start_ms, step, zone);
            let values = series.iter().map(|s| format_point(s.group, s.points[i].value)).collect();
            (label, values)
        })
        .collect()
}

/// Builds `path?name=value&…` with the values percent-encoded.
fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    format!("{path}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

/// The period's dates as the form shows them, and the URLs the page links to.
#[derive(Default)]
struct Links {
    /// The period's first and last local dates, `YYYY-MM-DD`.
    from_date: String,
    to_date: String,
    /// This page with its area and period, where the alarm forms return to.
    back: String,
    series_url: String,
    events_url: String,
    alarms_url: String,
}

fn page_links(area_code: &str, preset: Preset, period: &Period, zone: chrono_tz::Tz) -> Links {
    let from_date = local_label(period.from_ms, Step::Day, zone);
    let to_date = local_label(period.to_ms - 1, Step::Day, zone);
    let mut back_query = vec![("area", area_code), ("period", preset.as_str())];
    if preset == Preset::Custom {
        back_query.extend([("from", from_date.as_str()), ("to", to_date.as_str())]);
    }
    let back = with_query("/smart-core", &back_query);
    let api_time = |ms| crate::alarms::case_link::local_time(ms, zone);
    let step = match period.step {
        Step::Minute => "minute",
        Step::Hour => "hour",
        Step::Day => "day",
    };
    let series_query = [
        ("area", area_code),
        ("from", &api_time(period.from_ms)),
        ("to", &api_time(period.to_ms)),
        ("step", step),
    ];
    Links {
        series_url: with_query("/api/v1/smart-core/series", &series_query),
        events_url: with_query("/api/v1/smart-core/events", &[("area", area_code)]),
        alarms_url: with_query("/smart-core/alarms", &[("area", area_code), ("back", &back)]),
        back,
        from_date,
        to_date,
    }
}

/// Lists (code, name, level label) of each area in the selector.
fn area_options(ctx: &PageContext, areas: Vec<&Area>) -> Vec<(String, String, String)> {
    areas
        .into_iter()
        .map(|a| (a.code.clone(), a.name.clone(), ctx.t(&a.level.message_id())))
        .collect()
}

/// Lists (value, label) of each period preset.
fn period_options(ctx: &PageContext) -> Vec<(&'static str, String)> {
    Preset::ALL
        .into_iter()
        .map(|p| (p.as_str(), ctx.t(&format!("smart-core-period-{}", p.as_str()))))
        .collect()
}

/// Builds the page that shows only the form, with the user's values and the errors.
fn form_with_errors(
    ctx: PageContext,
    areas: Vec<&Area>,
    query: &PageQuery,
    errors: Vec<FieldError>,
) -> SmartCorePage {
    SmartCorePage {
        area_name: String::new(),
        choices: area_options(&ctx, areas),
        presets: period_options(&ctx),
        form: FormValues::as_sent(query),
        errors,
        devices: Vec::new(),
        alarms: Vec::new(),
        can_handle: false,
        links: Links::default(),
        tile_url: String::new(),
        tile_attribution: String::new(),
        tiles_gcj02: false,
        charts: Vec::new(),
        grid_codes: String::new(),
        rows: Vec::new(),
        ctx: ctx.at("smart-core"),
    }
}

/// Shows the dashboard of the chosen area and period, or the form again with a message
/// beside each rejected input.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_smart_core(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewDevices)?;
    let index = state.locator.snapshot();
    let zone = state.settings.sensor_time_zone();
    let area = resolve_area(&user, &index, query.area.as_deref());
    let period = page_period(&query, Utc::now().timestamp_millis(), zone);
    let (area, (preset, period)) = match (area, period) {
        (Ok(area), Ok(period)) => (area, period),
        (area, period) => {
            // A 403 or 404 passes through `field_error` to the error page.
            let failures = [area.err(), period.err()].into_iter().flatten();
            let mut status = StatusCode::BAD_REQUEST;
            let mut errors = Vec::new();
            for error in failures {
                status = error.status();
                errors.push(field_error(error, ctx.locale)?);
            }
            let page = form_with_errors(ctx, selector_areas(&user, &index, None), &query, errors);
            return Ok((status, render(&page)?).into_response());
        }
    };
    let grids = grid_ids(&index, area.area_id);

    let alarms = open_alarms_in(&state, &user, &grids).await?;
    let devices = device_overview(&state, &grids, &alarms, ctx.locale).await?;
    let series = area_series(&state, &grids, &period).await?;

    let links = page_links(&area.code, preset, &period, zone);
    let charts = series
        .iter()
        .map(|s| ChartView {
            key: s.group.as_str(),
            label: ctx.t(&s.group.message_id()),
            device_count: s.device_count,
        })
        .collect();
    let form = FormValues {
        area: area.code.clone(),
        period: preset.as_str().to_owned(),
        from: links.from_date.clone(),
        to: links.to_date.clone(),
    };
    let map = &state.settings.map;
    let page = SmartCorePage {
        area_name: area.name.clone(),
        choices: area_options(&ctx, selector_areas(&user, &index, Some(area))),
        presets: period_options(&ctx),
        form,
        errors: Vec::new(),
        devices,
        alarms: alarm_rows(&ctx, &alarms, state.settings.time_zone()),
        can_handle: user.role.allows(Permission::HandleAlarms),
        links,
        tile_url: map.tile_url.clone(),
        tile_attribution: map.tile_attribution.clone(),
        tiles_gcj02: map.tiles_gcj02,
        charts,
        grid_codes: grids
            .iter()
            .filter_map(|id| index.area(*id))
            .map(|grid| grid.code.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        rows: table_rows(&series, period.step, zone),
        ctx: ctx.at("smart-core"),
    };
    Ok(render(&page)?.into_response())
}

impl SmartCorePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize)]
pub struct FragmentQuery {
    area: Option<String>,
    back: Option<String>,
}

/// Renders the open alarms of the area as the dashboard lists them, without the layout.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_alarm_list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<FragmentQuery>,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewDevices)?;
    let index = state.locator.snapshot();
    let area = resolve_area(&user, &index, query.area.as_deref())?;
    let alarms = open_alarms_in(&state, &user, &grid_ids(&index, area.area_id)).await?;
    let back = query
        .back
        .filter(|back| crate::alarms::is_dashboard_path(back))
        .unwrap_or_else(|| with_query("/smart-core", &[("area", &area.code)]));
    let fragment = AlarmListFragment {
        alarms: alarm_rows(&ctx, &alarms, state.settings.time_zone()),
        can_handle: user.role.allows(Permission::HandleAlarms),
        back,
        ctx,
    };
    render(&fragment)
}
