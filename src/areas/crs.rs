//! Coordinate reference systems accepted on input: WGS-84 (stored) and GCJ-02.
//!
//! GCJ-02 is the obfuscated system of Chinese web maps (Amap, Tencent Maps); around
//! Beijing it is shifted by about 500–600 m from WGS-84. Conversion uses the
//! `coordtransform` crate (0.4), whose GCJ-02 to WGS-84 direction is an iterative
//! inverse, which the round-trip test below checks to 1 cm. Points outside mainland China
//! are left unchanged.

use geo::{MapCoords, MultiPolygon};
use serde::{Deserialize, Serialize};

/// A coordinate system for longitude/latitude input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS-84 (GPS, OpenStreetMap): what citycore stores.
    #[default]
    Wgs84,
    /// GCJ-02 (Amap, Tencent Maps).
    Gcj02,
}

impl Crs {
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
        }
    }

    /// Parses `wgs84` or `gcj02`, ignoring case and a `-` (`WGS-84`).
    pub fn parse(text: &str) -> Option<Crs> {
        match text.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "wgs84" => Some(Crs::Wgs84),
            "gcj02" => Some(Crs::Gcj02),
            _ => None,
        }
    }

    /// Converts a `(lon, lat)` in this system to WGS-84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => coordtransform::gcj02_to_wgs84(lon, lat),
        }
    }

    /// Converts a WGS-84 `(lon, lat)` to this system.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => coordtransform::wgs84_to_gcj02(lon, lat),
        }
    }

    /// Converts a polygon in this system to WGS-84.
    pub fn polygon_to_wgs84(self, shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        shape.map_coords(|c| {
            let (x, y) = self.to_wgs84(c.x, c.y);
            geo::coord! { x: x, y: y }
        })
    }

    /// Converts a WGS-84 polygon to this system.
    pub fn polygon_from_wgs84(self, shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        shape.map_coords(|c| {
            let (x, y) = self.from_wgs84(c.x, c.y);
            geo::coord! { x: x, y: y }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_round_trip_stays_within_a_centimetre() {
        let points = [(116.4074, 39.9042), (116.5903, 40.0799), (121.4737, 31.2304)];
        for (lon, lat) in points {
            let (gx, gy) = Crs::Gcj02.from_wgs84(lon, lat);
            assert!((gx - lon).abs() > 1e-3, "GCJ-02 must shift {lon},{lat}");
            let (wx, wy) = Crs::Gcj02.to_wgs84(gx, gy);
            // 1e-7 degrees is about 1 cm.
            assert!((wx - lon).abs() < 1e-7, "{lon},{lat} -> longitude {wx}");
            assert!((wy - lat).abs() < 1e-7, "{lon},{lat} -> latitude {wy}");
        }
    }

    #[test]
    fn beijing_offset_matches_published_size() {
        let (gx, gy) = Crs::Gcj02.from_wgs84(116.40, 39.90);
        assert!((0.005..0.007).contains(&(gx - 116.40)), "longitude shift {}", gx - 116.40);
        assert!((0.0005..0.002).contains(&(gy - 39.90)), "latitude shift {}", gy - 39.90);
    }

    #[test]
    fn crs_names_parse_loosely() {
        assert_eq!(Crs::parse("WGS-84"), Some(Crs::Wgs84));
        assert_eq!(Crs::parse("gcj02"), Some(Crs::Gcj02));
        assert_eq!(Crs::parse("bd09"), None);
    }
}
