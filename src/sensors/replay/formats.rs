//! The row readers of the four formats; [`super::source`] documents the mapping.
//!
//! Device positions are approximate city positions in WGS-84, because none of the files
//! carries coordinates; they only place the devices on a map.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::source::{Columns, Row, RowReader, Series, SkippedRow, SourceReading, number};
use crate::sensors::{Attribute, DeviceKind, devices::DeviceInput};

/// Spaces of the Mantova lot: the dataset's own loader counts 68 sensors.
pub const MANTOVA_CAPACITY: i64 = 68;

fn device(
    id: String,
    kind: DeviceKind,
    name: String,
    position: (f64, f64),
    owner: &str,
) -> DeviceInput {
    DeviceInput {
        id,
        kind: kind.as_str().to_owned(),
        name,
        longitude: position.0,
        latitude: position.1,
        crs: None,
        owner: owner.to_owned(),
        capacity: None,
        parking_space: None,
        merchant: None,
        resident: None,
    }
}

/// Finds the position of a device in `series`, adding it with `make` on first use.
fn device_index(series: &mut Series, id: &str, make: impl FnOnce() -> DeviceInput) -> usize {
    if let Some(index) = series.devices.iter().position(|d| d.id == id) {
        return index;
    }
    series.devices.push(make());
    series.devices.len() - 1
}

fn skip(series: &mut Series, row: &Row, reason: String) {
    series.skipped.push(SkippedRow { line: row.line, reason });
}

/// Yields every row of the file, recording CSV-level errors as skipped rows.
fn each_row(
    rows: &mut RowReader,
    series: &mut Series,
    mut handle: impl FnMut(&RowReader, &mut Series, Row),
) {
    while let Some(row) = rows.next_row() {
        match row {
            Ok(row) => handle(rows, series, row),
            Err(skipped) => series.skipped.push(skipped),
        }
    }
}

/// Reads `time,percentage,park_id`: one free-space count per lot and 5-minute bin.
pub(super) fn read_mantova(
    columns: &Columns,
    rows: &mut RowReader,
    series: &mut Series,
) -> anyhow::Result<()> {
    let (time, percentage, park) =
        (columns.index("time")?, columns.index("percentage")?, columns.index("park_id")?);
    each_row(rows, series, |rows, series, row| {
        let observed = match rows.time(&row.record[time]) {
            Ok(Some(ms)) => ms,
            Ok(None) => return,
            Err(reason) => return skip(series, &row, reason),
        };
        let occupied = match number(&row, percentage, "percentage") {
            Ok(value) if (0.0..=1.0).contains(&value) => value,
            Ok(value) => return skip(series, &row, format!("percentage {value} is not 0 to 1")),
            Err(reason) => return skip(series, &row, reason),
        };
        let lot = row.record[park].trim().to_owned();
        let index = device_index(series, &format!("replay-mantova-lot-{lot}"), || {
            let name = format!("Mantova parking lot {lot}");
            let mut input = device(
                format!("replay-mantova-lot-{lot}"),
                DeviceKind::LotCounter,
                name,
                (10.79, 45.16),
                "UNIMORE smart-parking pilot",
            );
            input.capacity = Some(MANTOVA_CAPACITY);
            input
        });
        let free = (MANTOVA_CAPACITY as f64 * (1.0 - occupied)).round();
        series.readings.push(SourceReading {
            device: index,
            attribute: Attribute::AvailableSpotNumber,
            value: free,
            observed_at_ms: observed,
        });
    });
    Ok(())
}

/// Reads the hourly PRSA rows: `TEMP` and `DEWP`, each skipped alone when it is `NA`.
pub(super) fn read_beijing(
    columns: &Columns,
    rows: &mut RowReader,
    series: &mut Series,
) -> anyhow::Result<()> {
    let parts = [
        columns.index("year")?,
        columns.index("month")?,
        columns.index("day")?,
        columns.index("hour")?,
    ];
    let (temp, dewp, station) =
        (columns.index("TEMP")?, columns.index("DEWP")?, columns.index("station")?);
    each_row(rows, series, |rows, series, row| {
        let field = |i: usize| row.record.get(parts[i]).and_then(|t| t.trim().parse::<u32>().ok());
        let local = match (field(0), field(1), field(2), field(3)) {
            (Some(y), Some(m), Some(d), Some(h)) => {
                NaiveDate::from_ymd_opt(y as i32, m, d).and_then(|date| date.and_hms_opt(h, 0, 0))
            }
            _ => None,
        };
        let Some(local) = local else {
            return skip(series, &row, "year, month, day or hour is not a valid time".to_owned());
        };
        let observed = match rows.local_time(local) {
            Ok(Some(ms)) => ms,
            Ok(None) => return,
            Err(reason) => return skip(series, &row, reason),
        };
        let name = row.record[station].trim().to_owned();
        let id = format!("replay-beijing-{}", name.to_ascii_lowercase());
        let index = device_index(series, &id, || {
            let title = format!("{name} weather (Beijing)");
            device(
                id.clone(),
                DeviceKind::TemperatureHumidity,
                title,
                (116.40, 39.98),
                "Beijing Municipal Environmental Monitoring Center",
            )
        });
        for (column, name, attribute) in
            [(temp, "TEMP", Attribute::Temperature), (dewp, "DEWP", Attribute::DewPoint)]
        {
            match number(&row, column, name) {
                Ok(value) => series.readings.push(SourceReading {
                    device: index,
                    attribute,
                    value,
                    observed_at_ms: observed,
                }),
                Err(reason) => skip(series, &row, reason),
            }
        }
    });
    Ok(())
}

/// The four Sceaux meters: column, device id suffix, name, and kWh per unit of the column.
const SCEAUX_METERS: [(&str, &str, &str, f64); 4] = [
    // kW averaged over one minute is 1/60 kWh.
    ("Global_active_power", "main", "whole house", 1.0 / 60.0),
    ("Sub_metering_1", "kitchen", "kitchen", 0.001),
    ("Sub_metering_2", "laundry", "laundry room", 0.001),
    ("Sub_metering_3", "heating", "water heater and air conditioner", 0.001),
];

const MINUTE_MS: i64 = 60_000;

/// Reads the minute rows as four cumulative energy counters.
pub(super) fn read_sceaux(
    columns: &Columns,
    rows: &mut RowReader,
    series: &mut Series,
) -> anyhow::Result<()> {
    let time = columns.index("date_time")?;
    let mut meters = Vec::with_capacity(SCEAUX_METERS.len());
    for (column, suffix, name, kwh_per_unit) in SCEAUX_METERS {
        let id = format!("replay-sceaux-{suffix}");
        let input = device(
            id,
            DeviceKind::EnergyMeter,
            format!("Sceaux house meter: {name}"),
            (2.29, 48.78),
            "UCI household power dataset",
        );
        meters.push((columns.index(column)?, column, input, kwh_per_unit));
    }
    // Counters start at zero on the first row of the file, whatever the date range.
    let mut totals_kwh = vec![0.0_f64; meters.len()];
    let mut indices: Vec<Option<usize>> = vec![None; meters.len()];
    each_row(rows, series, |rows, series, row| {
        let observed = match rows.time(&row.record[time]) {
            Ok(observed) => observed,
            Err(reason) => return skip(series, &row, reason),
        };
        for (meter, (column, name, input, kwh_per_unit)) in meters.iter().enumerate() {
            let value = match number(&row, *column, name) {
                Ok(value) if value >= 0.0 => value,
                Ok(value) => {
                    skip(series, &row, format!("{name} {value} is negative"));
                    continue;
                }
                Err(reason) => {
                    skip(series, &row, reason);
                    continue;
                }
            };
            totals_kwh[meter] += value * kwh_per_unit;
            let Some(observed_start) = observed else { continue };
            let index = *indices[meter]
                .get_or_insert_with(|| device_index(series, &input.id, || input.clone()));
            series.readings.push(SourceReading {
                device: index,
                attribute: Attribute::ActiveEnergyImport,
                value: totals_kwh[meter],
                // The counter includes this minute once the minute has ended.
                observed_at_ms: observed_start + MINUTE_MS,
            });
        }
    });
    Ok(())
}

/// Reads the long-format hourly counts: one people counter per `Sensor_ID`.
pub(super) fn read_melbourne(
    columns: &Columns,
    rows: &mut RowReader,
    series: &mut Series,
) -> anyhow::Result<()> {
    let (time, sensor, name, counts) = (
        columns.index("Date_Time")?,
        columns.index("Sensor_ID")?,
        columns.index("Sensor_Name")?,
        columns.index("Hourly_Counts")?,
    );
    let mut indices: HashMap<String, usize> = HashMap::new();
    each_row(rows, series, |rows, series, row| {
        let observed = match rows.time(&row.record[time]) {
            Ok(Some(ms)) => ms,
            Ok(None) => return,
            Err(reason) => return skip(series, &row, reason),
        };
        let count = match number(&row, counts, "Hourly_Counts") {
            Ok(count) => count,
            Err(reason) => return skip(series, &row, reason),
        };
        let sensor_id = row.record[sensor].trim().to_owned();
        let index = match indices.get(&sensor_id) {
            Some(index) => *index,
            None => {
                let id = format!("replay-melbourne-{sensor_id}");
                let title = format!("{} (Melbourne)", row.record[name].trim());
                let index = device_index(series, &id, || {
                    device(
                        id.clone(),
                        DeviceKind::PeopleCounter,
                        title,
                        (144.96, -37.81),
                        "City of Melbourne",
                    )
                });
                indices.insert(sensor_id, index);
                index
            }
        };
        series.readings.push(SourceReading {
            device: index,
            attribute: Attribute::PeopleCount,
            value: count,
            observed_at_ms: observed,
        });
    });
    Ok(())
}
