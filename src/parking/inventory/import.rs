//! Import of lots and spaces from CSV or from a GeoJSON FeatureCollection of Points.
//!
//! Both formats carry the same fields. The `record` field marks each row as a `lot`
//! or a `space`, and the other fields are those of [`LotInput`] and [`SpaceInput`]. In
//! GeoJSON the point comes from the geometry and the fields from `properties`. Lots and
//! spaces are upserted by `lot_ref` and `space_ref`, all or nothing, and a dry run
//! checks everything (database constraints included) without writing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{
    InventoryError, NewLot, NewSpace,
    store::{self, WriteMode},
    validate::{LotInput, SpaceInput, validate_lot, validate_space},
};
use crate::{db::Db, http::UserMessage, locate::AreaIndex};

/// One CSV row or GeoJSON feature, before it is split into a lot or a space.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRecord {
    record: Option<String>,
    lot_ref: Option<String>,
    space_ref: Option<String>,
    name: Option<String>,
    owner_type: Option<String>,
    owner_name: Option<String>,
    capacity: Option<i64>,
    longitude: Option<f64>,
    latitude: Option<f64>,
    crs: Option<String>,
    status: Option<String>,
    tariff_code: Option<String>,
    owner_username: Option<String>,
    label: Option<String>,
    shared: Option<bool>,
    closed: Option<bool>,
}

/// The place of a record in its file: the 1-based CSV data row (header excluded) or
/// GeoJSON feature. It displays as `row 3` or `feature 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub format: Format,
    pub number: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.format {
            Format::Csv => write!(formatter, "row {}", self.number),
            Format::GeoJson => write!(formatter, "feature {}", self.number),
        }
    }
}

/// The file formats the import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl Format {
    /// Picks GeoJSON for a `.geojson` or `.json` name and CSV otherwise.
    pub fn from_file_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".geojson") || lower.ends_with(".json") {
            Format::GeoJson
        } else {
            Format::Csv
        }
    }
}

/// Counts of the lots and spaces an import wrote, or would write in a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub lots: usize,
    pub spaces: usize,
    pub dry_run: bool,
}

/// Checks every record of `bytes` and then upserts all lots and spaces in one
/// transaction, or with `dry_run` rolls that transaction back.
///
/// # Errors
/// [`InventoryError::InvalidImport`] listing each invalid record and field,
/// [`InventoryError::Unreadable`] for a file of the wrong shape, and the store's errors
/// (such as a space whose lot is neither in the file nor stored). Nothing is written then.
#[tracing::instrument(skip_all, fields(parking.import.dry_run = dry_run))]
pub async fn import_inventory(
    db: &Db,
    areas: &AreaIndex,
    bytes: &[u8],
    format: Format,
    dry_run: bool,
) -> Result<ImportReport, InventoryError> {
    let records = match format {
        Format::Csv => read_csv(bytes)?,
        Format::GeoJson => read_geojson(bytes)?,
    };
    let (lots, spaces) = check_records(records, areas)?;
    store::write_inventory(db, &lots, &spaces, WriteMode::Upsert, dry_run).await?;
    let report = ImportReport { lots: lots.len(), spaces: spaces.len(), dry_run };
    tracing::info!(
        parking.lots = report.lots,
        parking.spaces = report.spaces,
        "inventory imported"
    );
    Ok(report)
}

type Located = (Position, Result<ImportRecord, UserMessage>);

fn read_csv(bytes: &[u8]) -> Result<Vec<Located>, InventoryError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers =
        reader.headers().map_err(|error| InventoryError::Unreadable(error.to_string()))?.clone();
    let mut records = Vec::new();
    for (index, row) in reader.deserialize::<ImportRecord>().enumerate() {
        let record = row.map_err(|error| {
            let field = match error.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    err.field().and_then(|i| headers.get(i as usize)).map(str::to_owned)
                }
                _ => None,
            };
            let message =
                UserMessage::new("parking_import_unreadable").arg("reason", error.to_string());
            match field {
                Some(field) => message.field(field),
                None => message,
            }
        });
        records.push((Position { format: Format::Csv, number: index + 1 }, record));
    }
    Ok(records)
}

fn read_geojson(bytes: &[u8]) -> Result<Vec<Located>, InventoryError> {
    let unreadable = |reason: &str| InventoryError::Unreadable(reason.to_owned());
    let document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| unreadable(&error.to_string()))?;
    if document["type"] != "FeatureCollection" {
        return Err(unreadable("expected a GeoJSON FeatureCollection"));
    }
    let features = document["features"]
        .as_array()
        .ok_or_else(|| unreadable("a FeatureCollection needs a features array"))?;
    let records = features
        .iter()
        .enumerate()
        .map(|(index, feature)| {
            (Position { format: Format::GeoJson, number: index + 1 }, read_feature(feature))
        })
        .collect();
    Ok(records)
}

/// Reads one feature: a Point geometry (or none, for a space) and its properties.
fn read_feature(feature: &serde_json::Value) -> Result<ImportRecord, UserMessage> {
    let properties = feature.get("properties").cloned().unwrap_or(serde_json::Value::Null);
    let mut record: ImportRecord = serde_json::from_value(properties).map_err(|error| {
        UserMessage::new("parking_import_unreadable")
            .arg("reason", error.to_string())
            .field("properties")
    })?;
    let geometry = &feature["geometry"];
    if geometry.is_null() {
        return Ok(record);
    }
    let coordinates = geometry["coordinates"].as_array();
    let point = match (geometry["type"].as_str(), coordinates.map(Vec::as_slice)) {
        (Some("Point"), Some([longitude, latitude, ..])) => {
            longitude.as_f64().zip(latitude.as_f64())
        }
        _ => None,
    };
    let Some((longitude, latitude)) = point else {
        return Err(UserMessage::new("parking_import_not_point").field("geometry"));
    };
    record.longitude = Some(longitude);
    record.latitude = Some(latitude);
    Ok(record)
}

/// Validates each record and checks that no ref appears twice in the file.
fn check_records(
    records: Vec<Located>,
    areas: &AreaIndex,
) -> Result<(Vec<NewLot>, Vec<NewSpace>), InventoryError> {
    let mut lots = Vec::new();
    let mut spaces = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (location, record) in records {
        let checked = record.map_err(|message| vec![message]).and_then(|record| {
            match record.record.as_deref().map(str::trim) {
                Some("lot") => validate_lot(lot_input(record), areas).map(Checked::Lot),
                Some("space") => validate_space(space_input(record)).map(Checked::Space),
                other => Err(vec![
                    UserMessage::new("parking_record_kind_invalid")
                        .arg("value", other.unwrap_or_default())
                        .field("record"),
                ]),
            }
        });
        match checked {
            Ok(Checked::Lot(lot)) if !seen.insert(("lot", lot.lot_ref.clone())) => {
                errors.push((location, duplicate(&lot.lot_ref, "lot_ref")));
            }
            Ok(Checked::Space(space)) if !seen.insert(("space", space.space_ref.clone())) => {
                errors.push((location, duplicate(&space.space_ref, "space_ref")));
            }
            Ok(Checked::Lot(lot)) => lots.push(lot),
            Ok(Checked::Space(space)) => spaces.push(space),
            Err(messages) => {
                errors.extend(messages.into_iter().map(|message| (location, message)));
            }
        }
    }
    if errors.is_empty() { Ok((lots, spaces)) } else { Err(InventoryError::InvalidImport(errors)) }
}

enum Checked {
    Lot(NewLot),
    Space(NewSpace),
}

fn duplicate(value: &str, field: &str) -> UserMessage {
    UserMessage::new("parking_ref_repeated").arg("value", value).field(field)
}

fn lot_input(record: ImportRecord) -> LotInput {
    LotInput {
        lot_ref: record.lot_ref,
        name: record.name,
        owner_type: record.owner_type,
        owner_name: record.owner_name,
        capacity: record.capacity,
        longitude: record.longitude,
        latitude: record.latitude,
        crs: record.crs,
        status: record.status,
        tariff_code: record.tariff_code,
        owner_username: record.owner_username,
    }
}

fn space_input(record: ImportRecord) -> SpaceInput {
    SpaceInput {
        space_ref: record.space_ref,
        lot_ref: record.lot_ref,
        label: record.label.or(record.name),
        longitude: record.longitude,
        latitude: record.latitude,
        crs: record.crs,
        shared: record.shared,
        closed: record.closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude,shared\n\
                       lot,lot-a,,望京西园,residential,2,116.47,39.99,\n\
                       space,lot-a,lot-a-1,1号,,,,,true\n\
                       space,lot-a,lot-a-1,1号,,,,,false\n\
                       lot,lot-b,,商场,shop,many,116.4,39.9,\n";

    #[test]
    fn csv_import_lists_each_bad_row_and_field() {
        let records = read_csv(CSV.as_bytes()).unwrap();
        let Err(InventoryError::InvalidImport(errors)) =
            check_records(records, &AreaIndex::default())
        else {
            panic!("expected invalid records");
        };
        let positions: Vec<_> = errors
            .iter()
            .map(|(location, message)| format!("{location} {}", message.field.clone().unwrap()))
            .collect();
        assert_eq!(positions, ["row 3 space_ref", "row 4 capacity"]);
    }

    #[test]
    fn geojson_point_fills_the_lot_location() {
        let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "geometry":{"type":"Point","coordinates":[116.47,39.99]},
            "properties":{"record":"lot","lot_ref":"lot-a","name":"A",
            "owner_type":"public","capacity":10}}]}"#;
        let records = read_geojson(geojson.as_bytes()).unwrap();
        let (lots, spaces) = check_records(records, &AreaIndex::default()).unwrap();
        assert_eq!(lots[0].longitude, 116.47);
        assert!(spaces.is_empty());
    }

    #[test]
    fn geojson_line_geometry_is_rejected() {
        let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "geometry":{"type":"LineString","coordinates":[[116.4,39.9],[116.5,39.9]]},
            "properties":{"record":"lot"}}]}"#;
        let records = read_geojson(geojson.as_bytes()).unwrap();
        let message = records[0].1.clone().unwrap_err();
        assert_eq!(message.code, "parking_import_not_point");
    }
}
