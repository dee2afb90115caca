//! The street's address gazetteer (地名地址库): named places and address lookup.
//!
//! A [`Place`] is one named WGS-84 point that residents use to say where something is.
//! It is a residential compound (小区), a building (楼栋), a road (道路), a landmark (地标)
//! or a door number (门牌). It has aliases, and the grid and community it located to
//! when it was imported. Reports that give only an address are located through it, because
//! the product fetches nothing from an online geocoder at run time.
//!
//! - [`csv`] and [`import`]: all-or-nothing CSV import (GCJ-02 converted) and export.
//! - [`lookup`]: the matching rules (exact name or alias, then the longest contained
//!   name) and [`lookup::resolve_address`], which intake uses.
//! - [`http`]: `GET /api/v1/places?q=…` for suggestions on the report form.
//!
//! Invariants: names are unique; an import replaces places of the same name and keeps
//! the others. Not done here: deleting places, and editing them in the browser.

pub mod cli;
pub mod csv;
pub mod http;
pub mod import;
pub mod lookup;
pub mod normalize;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    cases::row_error::ImportErrors,
    http::{AppError, UserMessage},
};

pub use http::router;

/// Maximum place name length, in characters, well above the official names of
/// compounds and buildings.
pub const MAX_NAME_CHARS: usize = 100;

/// The kind of a place, stored as its English word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceKind {
    /// 小区: a residential compound.
    Residential,
    /// 楼栋: one building, usually inside a compound.
    Building,
    /// 道路: a road or lane; its point is a representative point on it.
    Road,
    /// 地标: a landmark such as a school, a park or an office.
    Landmark,
    /// 门牌: a door number along a road.
    Door,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 5] = [
        PlaceKind::Residential,
        PlaceKind::Building,
        PlaceKind::Road,
        PlaceKind::Landmark,
        PlaceKind::Door,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Residential => "residential",
            PlaceKind::Building => "building",
            PlaceKind::Road => "road",
            PlaceKind::Landmark => "landmark",
            PlaceKind::Door => "door",
        }
    }

    /// Returns the Chinese word that street offices use in their own lists.
    pub fn as_chinese(self) -> &'static str {
        match self {
            PlaceKind::Residential => "小区",
            PlaceKind::Building => "楼栋",
            PlaceKind::Road => "道路",
            PlaceKind::Landmark => "地标",
            PlaceKind::Door => "门牌",
        }
    }

    /// Parses the English word or the Chinese one, such as `building` or `楼栋`.
    pub fn parse(text: &str) -> Option<PlaceKind> {
        let text = text.trim();
        PlaceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text) || kind.as_chinese() == text)
    }
}

/// One place of the gazetteer.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub place_id: i64,
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: PlaceKind,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    /// The grid the point located to on import; `None` outside every grid.
    pub grid_id: Option<i64>,
    pub community_id: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// A file with invalid rows; nothing was written. Becomes 422 with the first.
    #[error(transparent)]
    Import(#[from] ImportErrors),
    /// An address or query the gazetteer cannot use, naming its field; becomes 422.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error("cannot write places: {0}")]
    Write(#[from] ::csv::Error),
}

impl From<PlaceError> for AppError {
    fn from(error: PlaceError) -> Self {
        match error {
            PlaceError::Import(errors) => AppError::Invalid(
                errors
                    .0
                    .into_iter()
                    .next()
                    .map(|row| row.message)
                    .unwrap_or(UserMessage::new("unreadable_csv")),
            ),
            PlaceError::Invalid(message) => AppError::Invalid(message),
            PlaceError::Store(error) => AppError::Internal(error.into()),
            PlaceError::Write(error) => AppError::Internal(error.into()),
        }
    }
}
