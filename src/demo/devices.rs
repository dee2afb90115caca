//! Demo devices of the smart core: two of each kind the dashboard charts, placed in the
//! grids of 春晖园, with 48 hours of generated readings and one alarm rule, so that
//! `citycore serve --demo` shows a live map and charts at once.
//!
//! Values follow a simple daily pattern from the device's position in the list and the
//! hour; none comes from a real sensor. `citycore replay` adds real series.

use chrono::{Timelike, Utc};
use geo::Centroid;

use crate::{
    alarms::{input::RuleInput, rules::create_rule},
    config::Settings,
    db::Db,
    locate::AreaIndex,
    sensors::{
        Attribute, SensorStore,
        devices::{DeviceInput, register_devices},
        reading::Reading,
        store_write::ReadingStore,
    },
};

/// Grids of 春晖园 that the demo devices are spread over, one device per grid in turn.
const GRIDS: [&str; 5] =
    ["110105900001001", "110105900001002", "110105900001003", "110105900001004", "110105900001005"];

/// Kind and Chinese name of each demo device kind; two devices of each.
const KINDS: [(&str, &str); 6] = [
    ("people_counter", "客流计数器"),
    ("vehicle_counter", "车流计数器"),
    ("waste_bin_fill", "垃圾桶满溢传感器"),
    ("temperature_humidity", "温湿度传感器"),
    ("energy_meter", "路灯电表"),
    ("merchant_consumption", "商户消费指数"),
];

/// How far back the generated readings go, and their interval.
const HISTORY_HOURS: i64 = 48;
const INTERVAL_MS: i64 = 15 * 60 * 1000;

/// Registers the demo devices and stores their readings and one rule.
///
/// # Errors
/// Fails when a grid of [`GRIDS`] is missing or the database fails.
pub async fn seed_devices(db: &Db, index: &AreaIndex, settings: &Settings) -> anyhow::Result<()> {
    let inputs = device_inputs(index)?;
    let ids: Vec<String> = inputs.iter().map(|input| input.id.clone()).collect();
    register_devices(db, index, inputs).await.map_err(|error| anyhow::anyhow!("{error:?}"))?;
    let devices = db.device_refs(&ids).await?;
    let now_ms = Utc::now().timestamp_millis();
    let mut readings = Vec::new();
    for (position, device) in devices.iter().enumerate() {
        for attribute in device.kind.attributes() {
            readings.extend(history(device.device_id, *attribute, position, now_ms));
        }
    }
    db.store_readings(&readings, now_ms, settings.sensor_time_zone()).await?;
    create_rule(db, &bin_rule(), now_ms).await.map_err(|error| anyhow::anyhow!("{error:?}"))?;
    tracing::info!(devices = devices.len(), readings = readings.len(), "demo devices created");
    Ok(())
}

fn device_inputs(index: &AreaIndex) -> anyhow::Result<Vec<DeviceInput>> {
    let mut inputs = Vec::new();
    for (k, (kind, name)) in KINDS.iter().enumerate() {
        for copy in 0..2 {
            let number = k * 2 + copy;
            let grid = GRIDS[number % GRIDS.len()];
            let centre = index
                .by_code(grid)
                .and_then(|area| area.geometry.as_ref())
                .and_then(|geometry| geometry.centroid())
                .ok_or_else(|| anyhow::anyhow!("demo grid {grid} is missing"))?;
            // Spread devices of one grid around its centre, about 40 m apart.
            let offset = (number / GRIDS.len()) as f64 * 0.0004;
            inputs.push(DeviceInput {
                id: format!("demo-{}-{}", kind.replace('_', "-"), copy + 1),
                kind: (*kind).to_owned(),
                name: format!("{name} {}", copy + 1),
                longitude: centre.x() + offset,
                latitude: centre.y() - offset,
                crs: None,
                owner: "春望街道办事处".to_owned(),
                capacity: None,
                parking_space: None,
                merchant: None,
                resident: None,
            });
        }
    }
    Ok(inputs)
}

/// Generates readings every [`INTERVAL_MS`] for [`HISTORY_HOURS`] up to `now_ms`.
fn history(device_id: i64, attribute: Attribute, position: usize, now_ms: i64) -> Vec<Reading> {
    let steps = HISTORY_HOURS * 3_600_000 / INTERVAL_MS;
    let last = now_ms - now_ms % INTERVAL_MS;
    // A meter reading is cumulative: each step adds its use to the reading before.
    let mut meter = 1000.0;
    (0..steps)
        .map(|i| {
            let observed_at_ms = last - (steps - 1 - i) * INTERVAL_MS;
            let mut value = demo_value(attribute, position, i, observed_at_ms);
            if attribute == Attribute::ActiveEnergyImport {
                meter += value;
                value = meter;
            }
            Reading { device_id, attribute, observed_at_ms, value }
        })
        .collect()
}

/// Generates a value with a daily rhythm: busiest in the day, warmest in the afternoon.
/// For the energy meter it returns the use of one interval, which [`history`] adds up.
fn demo_value(attribute: Attribute, position: usize, step: i64, at_ms: i64) -> f64 {
    let hour = chrono::DateTime::<Utc>::from_timestamp_millis(at_ms)
        .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).hour())
        .unwrap_or(12) as f64;
    let daylight = ((hour - 6.0) / 24.0 * std::f64::consts::TAU).sin().max(0.0);
    let jitter = ((step as f64 * 1.7 + position as f64).sin() + 1.0) / 2.0;
    match attribute {
        Attribute::PeopleCount => (40.0 * daylight + 5.0 * jitter).round(),
        Attribute::VehicleCount => (25.0 * daylight + 3.0 * jitter).round(),
        // Bins fill during the day and are emptied at 6:00.
        Attribute::FillingLevel => ((hour + 18.0) % 24.0 / 24.0 * 0.8 + 0.1 * jitter).min(1.0),
        Attribute::Temperature => 2.0 + 6.0 * daylight + jitter,
        Attribute::RelativeHumidity => 0.55 - 0.2 * daylight + 0.05 * jitter,
        Attribute::DewPoint => -6.0 + jitter,
        // The use of one interval: street lights draw power at night.
        Attribute::ActiveEnergyImport => 0.5 * (1.0 - daylight) + 0.05 * jitter,
        Attribute::ConsumptionIndex => 60.0 + 40.0 * daylight + 5.0 * jitter,
        _ => 0.0,
    }
}

/// Raises an alarm when a bin is more than 90 % full, cleared below 70 %.
fn bin_rule() -> RuleInput {
    RuleInput {
        name: Some("垃圾桶满溢".to_owned()),
        device: None,
        kind: Some("waste_bin_fill".to_owned()),
        attribute: Some("fillingLevel".to_owned()),
        rule_type: Some("threshold".to_owned()),
        direction: Some("above".to_owned()),
        level: Some(0.9),
        clear_level: Some(0.7),
        min_duration_seconds: Some(0),
        duration_seconds: None,
        count_limit: None,
        category_code: Some("E0101".to_owned()),
        enabled: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_history_never_decreases() {
        let readings = history(1, Attribute::ActiveEnergyImport, 0, 1_764_950_400_000);
        assert_eq!(readings.len() as i64, HISTORY_HOURS * 4);
        for pair in readings.windows(2) {
            assert!(pair[1].value >= pair[0].value, "{pair:?}");
            assert_eq!(pair[1].observed_at_ms - pair[0].observed_at_ms, INTERVAL_MS);
        }
    }

    #[test]
    fn fractions_stay_within_their_rule() {
        for step in 0..HISTORY_HOURS * 4 {
            let at_ms = 1_764_950_400_000 + step * INTERVAL_MS;
            for attribute in [Attribute::FillingLevel, Attribute::RelativeHumidity] {
                let value = demo_value(attribute, 3, step, at_ms);
                assert!((0.0..=1.0).contains(&value), "{attribute:?} {value}");
            }
        }
    }
}
