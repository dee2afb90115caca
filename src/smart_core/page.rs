//! The dashboard page (智慧之芯) and its alarm list fragment, which the page reloads when
//! the event stream reports an alarm change.

use crate::http::Query;
use askama::Template;
use axum::{extract::State, response::Html};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    period::{Period, Preset},
    scope::{area_choices, grid_ids, resolve_area},
    series::{Combine, Group},
    service::{GroupSeries, area_series, device_overview, open_alarms_in},
    status::DeviceStatus,
};
use crate::{
    accounts::{CurrentUser, Permission},
    alarms::{AlarmView, record::AlarmState},
    console::render,
    http::{AppError, AppState, UserMessage, pages::PageContext},
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
    area_code: String,
    area_name: String,
    /// (code, name, level label) of each area the user may pick.
    choices: Vec<(String, String, String)>,
    /// (value, label) of each period preset.
    presets: Vec<(&'static str, String)>,
    preset: &'static str,
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

#[derive(Deserialize, Default)]
pub struct PageQuery {
    area: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Parses the period selector: a preset, or `custom` with both dates.
fn page_period(
    query: &PageQuery,
    now_ms: i64,
    zone: chrono_tz::Tz,
) -> Result<(Preset, Period), AppError> {
    let text = query.period.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("day");
    let preset = Preset::parse(text).ok_or_else(|| {
        AppError::BadRequest(
            UserMessage::new("smart_core_period_invalid").arg("value", text).field("period"),
        )
    })?;
    let period = match preset {
        Preset::Custom => Period::of_dates(
            query.from.as_deref().unwrap_or_default(),
            query.to.as_deref().unwrap_or_default(),
            zone,
        )?,
        other => Period::of_preset(other, now_ms, zone),
    };
    Ok((preset, period))
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

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_smart_core(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewDevices)?;
    let index = state.locator.snapshot();
    let area = resolve_area(&user, &index, query.area.as_deref())?;
    let zone = state.settings.sensor_time_zone();
    let (preset, period) = page_period(&query, Utc::now().timestamp_millis(), zone)?;
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
    let map = &state.settings.map;
    let page = SmartCorePage {
        area_code: area.code.clone(),
        area_name: area.name.clone(),
        choices: area_choices(&user, &index)
            .into_iter()
            .map(|a| (a.code.clone(), a.name.clone(), ctx.t(&a.level.message_id())))
            .collect(),
        presets: Preset::ALL
            .into_iter()
            .map(|p| (p.as_str(), ctx.t(&format!("smart-core-period-{}", p.as_str()))))
            .collect(),
        preset: preset.as_str(),
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
    render(&page)
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
