//! Areas and grids: the hierarchy city (市) > district (区) > street (街道) >
//! community (社区) > grid (网格), each with a code and an optional (multi)polygon.
//!
//! Owns the area table, GeoJSON import and export (WGS-84 stored, GCJ-02 accepted and
//! converted), code rules (NBS division codes, the 15-digit Beijing unit-grid code) and
//! the `/api/v1/areas` routes. Point lookups live in [`crate::locate`], which indexes the
//! areas loaded from here.

pub mod cli;
pub mod code;
pub mod crs;
pub mod export;
pub mod features;
pub mod geometry;
mod http;
pub mod import;
mod rings;
pub mod store;

use axum::Router;

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

use crate::http::AppState;

pub use store::AreaStore;

/// A level of the area hierarchy, from the widest to the narrowest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    District,
    Street,
    Community,
    Grid,
}

impl Level {
    pub const ALL: [Level; 5] =
        [Level::City, Level::District, Level::Street, Level::Community, Level::Grid];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == text)
    }

    /// Catalog id of the level's name, such as `level-grid` (网格).
    pub fn message_id(self) -> String {
        format!("level-{}", self.as_str())
    }
}

/// One stored area.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub area_id: i64,
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_id: Option<i64>,
    /// Boundary in WGS-84 longitude/latitude; areas above the street may have none.
    pub geometry: Option<MultiPolygon<f64>>,
    pub responsible_unit: Option<String>,
}

pub fn router() -> Router<AppState> {
    http::router()
}
