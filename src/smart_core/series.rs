//! The quantity groups of the dashboard's charts and how the rollups of many devices
//! combine into one value per bucket.

use std::collections::HashMap;

use serde::Serialize;

use crate::sensors::{Attribute, rollup::Aggregate};

/// One chart: a quantity that devices of one kind report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    FootTraffic,
    VehicleFlow,
    BinFill,
    Temperature,
    Humidity,
    Energy,
    ConsumptionIndex,
}

/// The rule that combines the devices' rollups of a bucket into the group's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The sum of every reading: counts of people or vehicles.
    Sum,
    /// The mean of every reading: levels such as fill or temperature.
    Mean,
    /// The rise of cumulative meters, summed over devices.
    Increase,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::FootTraffic,
        Group::VehicleFlow,
        Group::BinFill,
        Group::Temperature,
        Group::Humidity,
        Group::Energy,
        Group::ConsumptionIndex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Group::FootTraffic => "foot_traffic",
            Group::VehicleFlow => "vehicle_flow",
            Group::BinFill => "bin_fill",
            Group::Temperature => "temperature",
            Group::Humidity => "humidity",
            Group::Energy => "energy",
            Group::ConsumptionIndex => "consumption_index",
        }
    }

    /// Returns the catalog id of the group's name, such as `smart-core-group-bin-fill`.
    pub fn message_id(self) -> String {
        format!("smart-core-group-{}", self.as_str().replace('_', "-"))
    }

    pub fn attribute(self) -> Attribute {
        match self {
            Group::FootTraffic => Attribute::PeopleCount,
            Group::VehicleFlow => Attribute::VehicleCount,
            Group::BinFill => Attribute::FillingLevel,
            Group::Temperature => Attribute::Temperature,
            Group::Humidity => Attribute::RelativeHumidity,
            Group::Energy => Attribute::ActiveEnergyImport,
            Group::ConsumptionIndex => Attribute::ConsumptionIndex,
        }
    }

    pub fn combine(self) -> Combine {
        match self {
            Group::FootTraffic | Group::VehicleFlow => Combine::Sum,
            Group::Energy => Combine::Increase,
            Group::BinFill | Group::Temperature | Group::Humidity | Group::ConsumptionIndex => {
                Combine::Mean
            }
        }
    }
}

/// One rollup row of one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceBucket {
    pub device_id: i64,
    pub bucket_start_ms: i64,
    pub aggregate: Aggregate,
}

/// The group's value in one bucket; `value` is `None` when no device reported in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub start_ms: i64,
    pub value: Option<f64>,
    /// Readings behind the value, over all devices.
    pub readings: i64,
    /// Devices that reported in the bucket.
    pub devices: i64,
}

/// Combines the rollups of `rows` into one point per bucket start in `starts`.
///
/// For [`Combine::Increase`] a device's rise in a bucket is its last value minus its last
/// value in its previous bucket among `rows`, or minus its first value in the bucket
/// when it has none. A fall (a replaced or reset meter) counts as no rise.
// NOTE: the caller loads one bucket before the period for meters, so a meter that did
// not report in that bucket loses the rise up to its first reading of the period.
pub fn combine(kind: Combine, starts: &[i64], rows: &[DeviceBucket]) -> Vec<Point> {
    let mut by_start: HashMap<i64, Point> = starts
        .iter()
        .map(|&start_ms| (start_ms, Point { start_ms, value: None, readings: 0, devices: 0 }))
        .collect();
    let mut totals: HashMap<i64, f64> = HashMap::new();
    let mut sorted: Vec<&DeviceBucket> = rows.iter().collect();
    sorted.sort_by_key(|row| (row.device_id, row.bucket_start_ms));
    let mut previous: Option<&DeviceBucket> = None;
    for row in sorted {
        let aggregate = &row.aggregate;
        let contribution = match kind {
            Combine::Sum | Combine::Mean => aggregate.sum,
            Combine::Increase => {
                let base = match previous {
                    Some(before) if before.device_id == row.device_id => {
                        before.aggregate.last_value
                    }
                    _ => aggregate.first_value,
                };
                (aggregate.last_value - base).max(0.0)
            }
        };
        previous = Some(row);
        let Some(point) = by_start.get_mut(&row.bucket_start_ms) else { continue };
        point.readings += aggregate.count;
        point.devices += 1;
        *totals.entry(row.bucket_start_ms).or_default() += contribution;
    }
    let mut points: Vec<Point> = by_start.into_values().collect();
    points.sort_by_key(|point| point.start_ms);
    for point in &mut points {
        if point.readings == 0 {
            continue;
        }
        let total = totals.get(&point.start_ms).copied().unwrap_or_default();
        point.value = Some(match kind {
            Combine::Sum | Combine::Increase => total,
            Combine::Mean => total / point.readings as f64,
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(device_id: i64, start: i64, values: &[f64]) -> DeviceBucket {
        let mut aggregate = Aggregate::of(start, values[0]);
        for (i, value) in values.iter().enumerate().skip(1) {
            aggregate.merge(&Aggregate::of(start + i as i64, *value));
        }
        DeviceBucket { device_id, bucket_start_ms: start, aggregate }
    }

    #[test]
    fn sum_adds_every_device_and_leaves_gaps_empty() {
        let rows = [row(1, 0, &[3.0, 4.0]), row(2, 0, &[5.0]), row(1, 200, &[1.0])];
        let points = combine(Combine::Sum, &[0, 100, 200], &rows);
        assert_eq!(points[0].value, Some(12.0));
        assert_eq!((points[0].readings, points[0].devices), (3, 2));
        assert_eq!(points[1].value, None, "no device reported in the second bucket");
        assert_eq!(points[2].value, Some(1.0));
    }

    #[test]
    fn mean_weights_each_reading_equally() {
        let rows = [row(1, 0, &[10.0, 20.0, 30.0]), row(2, 0, &[40.0])];
        let points = combine(Combine::Mean, &[0], &rows);
        assert_eq!(points[0].value, Some(25.0));
    }

    #[test]
    fn increase_follows_each_meter_across_buckets() {
        let rows = [
            row(1, 0, &[100.0, 101.5]),
            row(1, 100, &[102.0, 104.0]),
            row(2, 100, &[50.0, 50.5]),
            // A replaced meter starts again from zero.
            row(2, 200, &[0.0, 1.0]),
        ];
        let points = combine(Combine::Increase, &[0, 100, 200], &rows);
        assert_eq!(points[0].value, Some(1.5));
        assert_eq!(points[1].value, Some(2.5 + 0.5));
        assert_eq!(points[2].value, Some(0.0));
    }

    #[test]
    fn rows_outside_the_buckets_are_ignored() {
        let points = combine(Combine::Sum, &[0], &[row(1, 500, &[9.0])]);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value, None);
    }
}
