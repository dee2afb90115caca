//! Assembles what a dashboard shows for one area: device states, open alarms and the
//! series of each quantity group.

use std::collections::HashSet;

use serde::Serialize;

use super::{
    period::Period,
    series::{Combine, Group, Point, combine},
    status::{DeviceStatus, device_statuses},
    store,
};
use crate::{
    accounts::CurrentUser,
    alarms::{record::Alarm, service::visible_alarms},
    http::{AppError, AppState},
    i18n::Locale,
    sensors::rollup::bucket_start_ms,
};

fn storage(error: crate::sensors::store::StoreError) -> AppError {
    AppError::Internal(error.into())
}

/// Lists the open alarms `user` may see on devices in `grid_ids`, newest first.
pub async fn open_alarms_in(
    state: &AppState,
    user: &CurrentUser,
    grid_ids: &[i64],
) -> Result<Vec<Alarm>, AppError> {
    let alarms = visible_alarms(state, user, None, true).await?;
    Ok(alarms
        .into_iter()
        .filter(|alarm| alarm.grid_area_id.is_some_and(|grid| grid_ids.contains(&grid)))
        .collect())
}

/// Builds the status of every device in `grid_ids`, given the open alarms there.
pub async fn device_overview(
    state: &AppState,
    grid_ids: &[i64],
    open_alarms: &[Alarm],
    locale: Locale,
) -> Result<Vec<DeviceStatus>, AppError> {
    let devices = store::devices_in_grids(&state.db, grid_ids).await.map_err(storage)?;
    let ids: Vec<i64> = devices.iter().map(|d| d.device_id).collect();
    let latest = store::latest_of_devices(&state.db, &ids).await.map_err(storage)?;
    let alarmed: HashSet<i64> = open_alarms.iter().map(|alarm| alarm.device_id).collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let zone = state.settings.sensor_time_zone();
    Ok(device_statuses(&devices, &latest, &alarmed, now_ms, locale, zone))
}

/// The series of one quantity group over the area's devices.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSeries {
    pub group: Group,
    /// The attribute behind the group, by its Smart Data Models name.
    pub attribute: &'static str,
    /// UN/CEFACT unit code of the values.
    pub unit: &'static str,
    pub combine: Combine,
    /// Devices in the area that report the attribute.
    pub device_count: usize,
    pub points: Vec<Point>,
}

/// Combines the rollups of every device in `grid_ids` into one series per group.
#[tracing::instrument(skip_all, fields(area.grids = grid_ids.len()))]
pub async fn area_series(
    state: &AppState,
    grid_ids: &[i64],
    period: &Period,
) -> Result<Vec<GroupSeries>, AppError> {
    let zone = state.settings.sensor_time_zone();
    let starts = period.bucket_starts(zone);
    let devices = store::devices_in_grids(&state.db, grid_ids).await.map_err(storage)?;
    let mut series = Vec::with_capacity(Group::ALL.len());
    for group in Group::ALL {
        let attribute = group.attribute();
        let ids: Vec<i64> = devices
            .iter()
            .filter(|d| d.kind.attributes().contains(&attribute))
            .map(|d| d.device_id)
            .collect();
        // A meter's rise in the first bucket starts from its last value before it.
        let from_ms = match group.combine() {
            Combine::Increase => bucket_start_ms(period.step, period.from_ms - 1, zone),
            Combine::Sum | Combine::Mean => period.from_ms,
        };
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            store::rollups_of_devices(
                &state.db,
                &ids,
                attribute,
                period.step,
                from_ms,
                period.to_ms,
            )
            .await
            .map_err(storage)?
        };
        series.push(GroupSeries {
            group,
            attribute: attribute.name(),
            unit: attribute.unit_code(),
            combine: group.combine(),
            device_count: ids.len(),
            points: combine(group.combine(), &starts, &rows),
        });
    }
    Ok(series)
}
