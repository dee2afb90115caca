//! Validation of lot and space records from the API and from imports.

use serde::Deserialize;

use super::{NewLot, NewSpace, OwnerType};
use crate::{
    cases::case::locate::{Crs, locate_point, parse_point},
    http::UserMessage,
    locate::AreaIndex,
};

const MAX_REF_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 100;

/// A lot as submitted; every field is optional here so that each missing one is named.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotInput {
    pub lot_ref: Option<String>,
    pub name: Option<String>,
    pub owner_type: Option<String>,
    #[serde(default)]
    pub owner_name: Option<String>,
    pub capacity: Option<i64>,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    /// `wgs84` (the default) or `gcj02`.
    #[serde(default)]
    pub crs: Option<String>,
    /// `open` (the default) or `closed`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tariff_code: Option<String>,
    /// Username of the account that publishes the lot's sharing windows.
    #[serde(default)]
    pub owner_username: Option<String>,
}

/// A space as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceInput {
    pub space_ref: Option<String>,
    pub lot_ref: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub crs: Option<String>,
    #[serde(default)]
    pub shared: Option<bool>,
    #[serde(default)]
    pub closed: Option<bool>,
}

/// Checks a ref: 1 to 64 letters, digits or `._:-`, the characters device ids allow.
fn check_ref(field: &'static str, value: Option<&str>, errors: &mut Vec<UserMessage>) -> String {
    let value = value.map(str::trim).unwrap_or_default();
    let valid = (1..=MAX_REF_CHARS).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !valid {
        errors.push(
            UserMessage::new("parking_ref_invalid")
                .arg("value", value)
                .arg("max", MAX_REF_CHARS)
                .field(field),
        );
    }
    value.to_owned()
}

fn check_crs(text: Option<&str>, errors: &mut Vec<UserMessage>) -> Crs {
    match text.filter(|t| !t.trim().is_empty()).map(Crs::parse) {
        None => Crs::Wgs84,
        Some(Ok(crs)) => crs,
        Some(Err(message)) => {
            errors.push(message);
            Crs::Wgs84
        }
    }
}

/// Checks a point with the case rules, naming a missing coordinate in parking words
/// (the case message also offers an address, which a lot cannot use).
fn check_point(
    longitude: Option<f64>,
    latitude: Option<f64>,
    crs: Crs,
    errors: &mut Vec<UserMessage>,
) -> Option<(f64, f64)> {
    match parse_point(longitude, latitude, crs) {
        Ok(point) => Some(point),
        Err(message) => {
            let message = if message.code == "case_location_missing" {
                UserMessage::new("parking_location_missing")
                    .field(message.field.unwrap_or_default())
            } else {
                message
            };
            errors.push(message);
            None
        }
    }
}

/// Checks a lot record and locates its point to a grid.
///
/// # Errors
/// Every invalid field, each as a message naming the field and the fix.
pub fn validate_lot(input: LotInput, areas: &AreaIndex) -> Result<NewLot, Vec<UserMessage>> {
    let mut errors = Vec::new();
    let lot_ref = check_ref("lot_ref", input.lot_ref.as_deref(), &mut errors);
    let name = input.name.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(
            UserMessage::new("parking_name_invalid").arg("max", MAX_NAME_CHARS).field("name"),
        );
    }
    let owner_text = input.owner_type.as_deref().map(str::trim).unwrap_or_default();
    let owner_type = OwnerType::parse(owner_text);
    if owner_type.is_none() {
        errors.push(
            UserMessage::new("parking_owner_type_invalid")
                .arg("value", owner_text)
                .field("owner_type"),
        );
    }
    let capacity = input.capacity.unwrap_or(-1);
    if !(0..=100_000).contains(&capacity) {
        errors.push(UserMessage::new("parking_capacity_invalid").field("capacity"));
    }
    let crs = check_crs(input.crs.as_deref(), &mut errors);
    let point = check_point(input.longitude, input.latitude, crs, &mut errors);
    let closed = match input.status.as_deref().map(str::trim) {
        None | Some("") | Some("open") => false,
        Some("closed") => true,
        Some(other) => {
            errors.push(
                UserMessage::new("parking_status_invalid").arg("value", other).field("status"),
            );
            false
        }
    };
    let (Some(owner_type), Some((longitude, latitude)), true) =
        (owner_type, point, errors.is_empty())
    else {
        return Err(errors);
    };
    Ok(NewLot {
        lot_ref,
        name,
        owner_type,
        owner_name: input.owner_name.unwrap_or_default().trim().to_owned(),
        capacity,
        longitude,
        latitude,
        grid_area_id: locate_point(areas, longitude, latitude).map(|(grid_id, _)| grid_id),
        closed,
        tariff_code: input.tariff_code.unwrap_or_default().trim().to_owned(),
        owner_username: input.owner_username.unwrap_or_default().trim().to_owned(),
    })
}

/// Checks a space record. The point is optional but, when given, needs both coordinates.
///
/// # Errors
/// Every invalid field, each as a message naming the field and the fix.
pub fn validate_space(input: SpaceInput) -> Result<NewSpace, Vec<UserMessage>> {
    let mut errors = Vec::new();
    let space_ref = check_ref("space_ref", input.space_ref.as_deref(), &mut errors);
    let lot_ref = check_ref("lot_ref", input.lot_ref.as_deref(), &mut errors);
    let label = input.label.unwrap_or_default().trim().to_owned();
    if label.chars().count() > MAX_NAME_CHARS {
        errors.push(
            UserMessage::new("parking_name_invalid").arg("max", MAX_NAME_CHARS).field("label"),
        );
    }
    let crs = check_crs(input.crs.as_deref(), &mut errors);
    let point = match (input.longitude, input.latitude) {
        (None, None) => None,
        (longitude, latitude) => check_point(longitude, latitude, crs, &mut errors),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewSpace {
        space_ref,
        lot_ref,
        label,
        longitude: point.map(|(longitude, _)| longitude),
        latitude: point.map(|(_, latitude)| latitude),
        shared: input.shared.unwrap_or(false),
        closed: input.closed.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot() -> LotInput {
        LotInput {
            lot_ref: Some("lot-a".into()),
            name: Some("望京西园停车场".into()),
            owner_type: Some("residential".into()),
            capacity: Some(40),
            longitude: Some(116.47),
            latitude: Some(39.99),
            ..LotInput::default()
        }
    }

    #[test]
    fn lot_with_required_fields_is_valid() {
        let lot = validate_lot(lot(), &AreaIndex::default()).unwrap();
        assert_eq!(lot.owner_type, OwnerType::Residential);
        assert!(!lot.closed, "a lot is open unless its status says closed");
    }

    #[test]
    fn lot_errors_name_each_field() {
        let mut bad = lot();
        bad.lot_ref = Some("has space".into());
        bad.owner_type = Some("airport".into());
        bad.capacity = Some(-3);
        bad.latitude = None;
        bad.status = Some("full".into());
        let fields: Vec<_> = validate_lot(bad, &AreaIndex::default())
            .unwrap_err()
            .into_iter()
            .map(|message| message.field.unwrap())
            .collect();
        assert_eq!(fields, ["lot_ref", "owner_type", "capacity", "latitude", "status"]);
    }

    #[test]
    fn space_with_half_a_point_is_invalid() {
        let input = SpaceInput {
            space_ref: Some("lot-a-001".into()),
            lot_ref: Some("lot-a".into()),
            longitude: Some(116.47),
            ..SpaceInput::default()
        };
        let errors = validate_space(input).unwrap_err();
        assert_eq!(errors[0].field.as_deref(), Some("latitude"));
    }
}
