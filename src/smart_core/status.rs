//! The state of each device on the map and in the device table: its latest values,
//! whether they are recent, and whether an alarm is open on it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::{
    i18n::Locale,
    sensors::{
        Attribute,
        kinds::{PARKING_STATUSES, ValueRule},
        store::{Device, Latest},
    },
};

/// Age after which a device's newest value counts as stale: one hour, longer than the
/// reporting interval of every device kind the street uses (at most 15 minutes).
pub const STALE_AFTER_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Reported within [`STALE_AFTER_MS`] and no open alarm.
    Normal,
    /// The newest value is older than [`STALE_AFTER_MS`].
    Stale,
    /// Never reported.
    NoData,
    /// An alarm on the device is active or acknowledged.
    Alarm,
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Normal => "normal",
            DeviceState::Stale => "stale",
            DeviceState::NoData => "no_data",
            DeviceState::Alarm => "alarm",
        }
    }
}

/// One device as the dashboard shows it; the texts are in the viewer's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceStatus {
    #[serde(rename = "id")]
    pub external_id: String,
    pub name: String,
    pub kind: &'static str,
    pub kind_label: String,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    pub state: DeviceState,
    pub state_label: String,
    /// The latest value of each attribute, such as `温度 21.5 °C · 相对湿度 63 %`.
    pub summary: String,
    /// Measurement time of the newest value, RFC 3339 with offset.
    pub observed_at: Option<String>,
}

/// Formats a stored value for people: fractions as percent, units after numbers,
/// parking status and button presses as words.
pub fn format_value(attribute: Attribute, value: f64, locale: Locale) -> String {
    match attribute.rule() {
        ValueRule::Fraction => format!("{:.0} %", value * 100.0),
        ValueRule::ParkingStatus => {
            let name = PARKING_STATUSES.get(value as usize).copied().unwrap_or("unknown");
            locale.t(&format!("smart-core-parking-{name}"))
        }
        ValueRule::Boolean => {
            locale.t(if value > 0.0 { "smart-core-pressed" } else { "smart-core-not-pressed" })
        }
        ValueRule::Count | ValueRule::FreeCount => format!("{value:.0}"),
        ValueRule::Range { .. } => match attribute.unit_code() {
            "CEL" => format!("{value:.1} °C"),
            "KWH" => format!("{value:.1} kWh"),
            "MTQ" => format!("{value:.2} m³"),
            _ => format!("{value:.1}"),
        },
    }
}

/// Builds the status of each device from its latest values and the ids of devices
/// with an open alarm, at the instant `now_ms`.
pub fn device_statuses(
    devices: &[Device],
    latest: &[(i64, Latest)],
    alarmed: &HashSet<i64>,
    now_ms: i64,
    locale: Locale,
    zone: chrono_tz::Tz,
) -> Vec<DeviceStatus> {
    let mut by_device: HashMap<i64, Vec<&Latest>> = HashMap::new();
    for (device_id, value) in latest {
        by_device.entry(*device_id).or_default().push(value);
    }
    devices
        .iter()
        .map(|device| {
            let values = by_device.remove(&device.device_id).unwrap_or_default();
            let newest_ms = values.iter().map(|v| v.observed_at_ms).max();
            let state = if alarmed.contains(&device.device_id) {
                DeviceState::Alarm
            } else {
                match newest_ms {
                    None => DeviceState::NoData,
                    Some(at_ms) if now_ms - at_ms > STALE_AFTER_MS => DeviceState::Stale,
                    Some(_) => DeviceState::Normal,
                }
            };
            let summary = values
                .iter()
                .map(|v| {
                    let label = locale.t(&format!("smart-core-attribute-{}", v.attribute.name()));
                    format!("{label} {}", format_value(v.attribute, v.value, locale))
                })
                .collect::<Vec<_>>()
                .join(" · ");
            DeviceStatus {
                external_id: device.external_id.clone(),
                name: device.name.clone(),
                kind: device.kind.as_str(),
                kind_label: locale.t(&format!("smart-core-kind-{}", device.kind.as_str())),
                longitude: device.longitude,
                latitude: device.latitude,
                state,
                state_label: locale.t(&format!("smart-core-state-{}", state.as_str())),
                summary,
                observed_at: newest_ms.map(|ms| crate::alarms::case_link::local_time(ms, zone)),
            }
        })
        .collect()
}
