//! Device registration: validation of device records, grid lookup, token issue and the
//! all-or-nothing import from CSV or JSON.

use geo::{Contains, Point};
use serde::Deserialize;

use super::{
    DeviceKind, NewDevice, hash_token, new_token,
    store::{SensorStore, StoreError},
};
use crate::{
    areas::Level,
    db::Db,
    http::UserMessage,
    i18n::{Locale, arg},
    locate::AreaIndex,
};

/// A device record as submitted by the API or one import record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub longitude: f64,
    pub latitude: f64,
    /// `wgs84` (the default) or `gcj02`, the offset datum of Amap and Tencent maps.
    #[serde(default)]
    pub crs: Option<String>,
    pub owner: String,
    #[serde(default)]
    pub capacity: Option<i64>,
    #[serde(default)]
    pub parking_space: Option<String>,
    #[serde(default)]
    pub merchant: Option<String>,
    #[serde(default)]
    pub resident: Option<String>,
}

/// One invalid field of one record of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// 1-based record number: the data row of a CSV file (header excluded) or the
    /// element of a JSON array.
    pub record: usize,
    pub message: UserMessage,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{} invalid device records", .0.len())]
    Invalid(Vec<RecordError>),
    #[error("unreadable device file: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registered device and its token, which is shown this once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
}

const MAX_TEXT_CHARS: usize = 100;

/// Checks one record and resolves its grid.
///
/// # Errors
/// Every invalid field, each as a message naming the field.
pub fn validate(input: DeviceInput, areas: &AreaIndex) -> Result<NewDevice, Vec<UserMessage>> {
    let mut errors = Vec::new();
    let id_ok = (1..=64).contains(&input.id.len())
        && input.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !id_ok {
        errors.push(UserMessage::new("device_id_invalid").field("id"));
    }
    let kind = DeviceKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(UserMessage::new("device_kind_unknown").arg("kind", &input.kind).field("kind"));
    }
    for (field, text) in [("name", &input.name), ("owner", &input.owner)] {
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            errors.push(
                UserMessage::new("device_text_invalid").arg("max", MAX_TEXT_CHARS).field(field),
            );
        }
    }
    let (longitude, latitude) = match input.crs.as_deref() {
        None | Some("wgs84") => (input.longitude, input.latitude),
        Some("gcj02") => coordtransform::gcj02_to_wgs84(input.longitude, input.latitude),
        Some(other) => {
            errors.push(UserMessage::new("device_crs_unknown").arg("crs", other).field("crs"));
            (input.longitude, input.latitude)
        }
    };
    if !((-180.0..=180.0).contains(&longitude) && (-90.0..=90.0).contains(&latitude)) {
        errors.push(UserMessage::new("device_location_invalid").field("longitude"));
    }
    let needs_capacity = kind.is_some_and(DeviceKind::needs_capacity);
    match input.capacity {
        Some(capacity) if capacity < 1 => {
            errors.push(UserMessage::new("device_capacity_invalid").field("capacity"));
        }
        None if needs_capacity => {
            errors.push(UserMessage::new("device_capacity_missing").field("capacity"));
        }
        _ => {}
    }
    let (Some(kind), true) = (kind, errors.is_empty()) else { return Err(errors) };
    let blank_to_none = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    Ok(NewDevice {
        external_id: input.id,
        kind,
        name: input.name.trim().to_owned(),
        longitude,
        latitude,
        grid_area_id: grid_of(areas, longitude, latitude),
        owner: input.owner.trim().to_owned(),
        capacity: input.capacity,
        parking_space: blank_to_none(input.parking_space),
        merchant: blank_to_none(input.merchant),
        resident: blank_to_none(input.resident),
    })
}

/// Finds the grid whose polygon contains the point, if any.
// NOTE: this scans every grid linearly. That is cheap for a street's few hundred grids
// but not for a city; the indexed lookup of `crate::locate` should replace it.
fn grid_of(areas: &AreaIndex, longitude: f64, latitude: f64) -> Option<i64> {
    let point = Point::new(longitude, latitude);
    areas
        .areas()
        .iter()
        .filter(|area| area.level == Level::Grid)
        .find(|area| area.geometry.as_ref().is_some_and(|g| g.contains(&point)))
        .map(|area| area.area_id)
}

/// Validates every record, then inserts all of them with fresh tokens in one transaction.
///
/// # Errors
/// [`DeviceError::Invalid`] with every invalid field when any record is invalid, and a
/// store error (such as an id already registered) otherwise; nothing is written then.
pub async fn register_devices(
    db: &Db,
    areas: &AreaIndex,
    inputs: Vec<DeviceInput>,
) -> Result<Vec<IssuedToken>, DeviceError> {
    let mut valid = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        match validate(input, areas) {
            Ok(device) => valid.push(device),
            Err(messages) => errors.extend(
                messages.into_iter().map(|message| RecordError { record: index + 1, message }),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(DeviceError::Invalid(errors));
    }
    let issued: Vec<(NewDevice, String, String)> = valid
        .into_iter()
        .map(|device| {
            let token = new_token();
            let hash = hash_token(&token);
            (device, token, hash)
        })
        .collect();
    let rows: Vec<(NewDevice, String)> =
        issued.iter().map(|(device, _, hash)| (device.clone(), hash.clone())).collect();
    db.insert_devices(&rows).await?;
    Ok(issued
        .into_iter()
        .map(|(device, token, _)| IssuedToken { id: device.external_id, token })
        .collect())
}

/// Reads device records from CSV (a header row with the [`DeviceInput`] field names) or
/// from a JSON array, chosen by `is_json`.
///
/// # Errors
/// [`DeviceError::Invalid`] naming the record and field of each value that cannot be
/// read, or [`DeviceError::Unreadable`] when the file is not CSV or JSON at all.
pub fn read_device_file(bytes: &[u8], is_json: bool) -> Result<Vec<DeviceInput>, DeviceError> {
    if is_json {
        return serde_json::from_slice(bytes).map_err(|e| DeviceError::Unreadable(e.to_string()));
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.headers().map_err(|e| DeviceError::Unreadable(e.to_string()))?.clone();
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in reader.deserialize::<DeviceInput>().enumerate() {
        match record {
            Ok(input) => inputs.push(input),
            Err(error) => {
                let field = match error.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => {
                        err.field().and_then(|i| headers.get(i as usize)).map(str::to_owned)
                    }
                    _ => None,
                };
                let mut message =
                    UserMessage::new("device_record_unreadable").arg("reason", error.to_string());
                if let Some(field) = field {
                    message = message.field(field);
                }
                errors.push(RecordError { record: index + 1, message });
            }
        }
    }
    if errors.is_empty() { Ok(inputs) } else { Err(DeviceError::Invalid(errors)) }
}

/// Renders one line per error, such as `record 3, field kind: …`, in `locale`.
pub fn render_errors(errors: &[RecordError], locale: Locale) -> String {
    let mut text = String::new();
    for error in errors {
        let position = locale.t_args(
            "device-import-position",
            &[
                ("record", arg(error.record.to_string())),
                ("field", arg(error.message.field.clone().unwrap_or_else(|| "-".to_owned()))),
            ],
        );
        text.push_str(&format!("{position}: {}\n", error.message.render(locale)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str) -> DeviceInput {
        DeviceInput {
            id: "bin-001".into(),
            kind: kind.into(),
            name: "花家地垃圾桶".into(),
            longitude: 116.47,
            latitude: 39.99,
            crs: None,
            owner: "环卫所".into(),
            capacity: None,
            parking_space: None,
            merchant: Some(String::new()),
            resident: None,
        }
    }

    #[test]
    fn validate_accepts_a_complete_record() {
        let device = validate(input("waste_bin_fill"), &AreaIndex::default()).unwrap();
        assert_eq!(device.kind, DeviceKind::WasteBinFill);
        assert_eq!(device.merchant, None, "a blank link is no link");
    }

    #[test]
    fn validate_names_each_invalid_field() {
        let mut bad = input("rocket");
        bad.id = "has space".into();
        bad.latitude = 91.0;
        let fields: Vec<_> = validate(bad, &AreaIndex::default())
            .unwrap_err()
            .into_iter()
            .map(|m| m.field.unwrap())
            .collect();
        assert_eq!(fields, ["id", "kind", "longitude"]);
    }

    #[test]
    fn lot_counter_requires_capacity() {
        let errors = validate(input("lot_counter"), &AreaIndex::default()).unwrap_err();
        assert_eq!(errors[0].code, "device_capacity_missing");
    }

    #[test]
    fn gcj02_location_is_converted_to_wgs84() {
        let mut shifted = input("waste_bin_fill");
        shifted.crs = Some("gcj02".into());
        let device = validate(shifted, &AreaIndex::default()).unwrap();
        // GCJ-02 is offset from WGS-84 by a few hundred metres around Beijing.
        let shift = (device.longitude - 116.47).abs() + (device.latitude - 39.99).abs();
        assert!(shift > 0.001 && shift < 0.02, "shift {shift}");
    }

    #[test]
    fn csv_import_names_record_and_field() {
        let csv = "id,kind,name,longitude,latitude,owner\n\
                   a,waste_bin_fill,A,116.4,39.9,x\n\
                   b,waste_bin_fill,B,east,39.9,x\n";
        let DeviceError::Invalid(errors) = read_device_file(csv.as_bytes(), false).unwrap_err()
        else {
            panic!("expected invalid records");
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].record, 2);
        assert_eq!(errors[0].message.field.as_deref(), Some("longitude"));
    }
}
