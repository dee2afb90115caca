//! Locating a report: from the reported coordinates to a WGS-84 point and its grid.

use crate::{areas::Level, http::UserMessage, locate::AreaIndex};

/// The coordinate reference system of a reported point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Crs {
    /// WGS-84, as GPS and OpenStreetMap give it.
    #[default]
    Wgs84,
    /// GCJ-02, the shifted system of Amap and Tencent maps in mainland China.
    Gcj02,
}

impl Crs {
    /// Parses `wgs84` or `gcj02`, ignoring case.
    ///
    /// # Errors
    /// `invalid_crs` naming the value and the field `crs`.
    pub fn parse(text: &str) -> Result<Crs, UserMessage> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wgs84" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            _ => Err(UserMessage::new("invalid_crs").arg("value", text).field("crs")),
        }
    }
}

/// Checks a reported point and converts it to WGS-84 longitude and latitude.
///
/// # Errors
/// `case_location_missing` or `case_location_out_of_range`, naming the field.
pub fn parse_point(
    longitude: Option<f64>,
    latitude: Option<f64>,
    crs: Crs,
) -> Result<(f64, f64), UserMessage> {
    let missing = |field: &str| UserMessage::new("case_location_missing").field(field);
    let longitude = longitude.ok_or_else(|| missing("longitude"))?;
    let latitude = latitude.ok_or_else(|| missing("latitude"))?;
    let out_of_range = |field: &str, value: f64| {
        UserMessage::new("case_location_out_of_range").arg("value", value).field(field)
    };
    if !(-180.0..=180.0).contains(&longitude) {
        return Err(out_of_range("longitude", longitude));
    }
    if !(-90.0..=90.0).contains(&latitude) {
        return Err(out_of_range("latitude", latitude));
    }
    Ok(match crs {
        Crs::Wgs84 => (longitude, latitude),
        // The conversion only shifts points inside mainland China, where GCJ-02 applies,
        // and returns other points unchanged.
        Crs::Gcj02 => coordtransform::gcj02_to_wgs84_in_mainland(longitude, latitude),
    })
}

/// Finds the grid of a WGS-84 point and the community above it.
///
/// Uses the node's spatial index, so a point on a shared edge resolves by the index's
/// tie rule and a point just outside every grid takes the nearest grid within
/// `locate.max_outside_distance_m`. Returns `None` when no grid applies.
pub fn locate_point(
    index: &AreaIndex,
    longitude: f64,
    latitude: f64,
) -> Option<(i64, Option<i64>)> {
    let location = index.locate(longitude, latitude)?;
    (location.area.level == Level::Grid).then_some((location.area.area_id, location.area.parent_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_outside_valid_ranges_name_their_field() {
        let cases = [
            ("missing longitude", None, Some(39.9), "case_location_missing", "longitude"),
            ("missing latitude", Some(116.4), None, "case_location_missing", "latitude"),
            (
                "longitude too large",
                Some(181.0),
                Some(39.9),
                "case_location_out_of_range",
                "longitude",
            ),
            (
                "latitude too small",
                Some(116.4),
                Some(-91.0),
                "case_location_out_of_range",
                "latitude",
            ),
        ];
        for (description, longitude, latitude, code, field) in cases {
            let error = parse_point(longitude, latitude, Crs::Wgs84).unwrap_err();
            assert_eq!(error.code, code, "{description}");
            assert_eq!(error.field.as_deref(), Some(field), "{description}");
        }
    }

    #[test]
    fn gcj02_point_shifts_back_to_wgs84() {
        let (gcj_longitude, gcj_latitude) = coordtransform::wgs84_to_gcj02(116.4, 39.9);
        let (longitude, latitude) =
            parse_point(Some(gcj_longitude), Some(gcj_latitude), Crs::Gcj02).unwrap();
        assert!((longitude - 116.4).abs() < 1e-5, "{longitude}");
        assert!((latitude - 39.9).abs() < 1e-5, "{latitude}");
        assert!((gcj_longitude - 116.4).abs() > 1e-4, "GCJ-02 differs from WGS-84");
    }
}
