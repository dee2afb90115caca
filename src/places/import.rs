//! Importing and exporting the gazetteer: the steps shared by the command line and
//! the demo street.

use std::io::{Read, Write};

use super::{
    PlaceError,
    csv::{PlaceRow, parse_places, write_places},
    store::{NewPlace, SaveCounts, list_places, save_places},
};
use crate::{
    areas::crs::Crs,
    audit::{self, Actor, AuditAction, NewAuditEntry},
    cases::case::locate::locate_point,
    db::Db,
    locate::AreaIndex,
};

/// Imports a gazetteer file whose points are in `crs`: parse and check every row,
/// convert the points to WGS-84, locate them, save all in one transaction and audit.
///
/// # Errors
/// [`PlaceError::Import`] listing every invalid row, or a database failure; nothing is
/// written then.
#[tracing::instrument(skip_all, fields(import.source = source, import.crs = crs.as_str()))]
pub async fn import_places(
    db: &Db,
    index: &AreaIndex,
    input: impl Read,
    crs: Crs,
    actor: &Actor,
    source: &str,
) -> Result<SaveCounts, PlaceError> {
    let rows = parse_places(input)?;
    let places: Vec<NewPlace> = rows.into_iter().map(|row| locate_row(index, crs, row)).collect();
    let counts = save_places(db, &places).await?;
    let outside = places.iter().filter(|place| place.grid_id.is_none()).count();
    if outside > 0 {
        tracing::warn!(places.outside_grids = outside, "imported places lie outside every grid");
    }
    tracing::info!(
        places.created = counts.created,
        places.updated = counts.updated,
        "places imported"
    );
    let detail = format!("source={source} created={} updated={}", counts.created, counts.updated);
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::PlacesImported,
        target: Some("places".to_owned()),
        detail: Some(detail),
    };
    audit::record(db, entry).await;
    Ok(counts)
}

/// Converts a row's point to WGS-84 and finds its grid and community.
fn locate_row(index: &AreaIndex, crs: Crs, row: PlaceRow) -> NewPlace {
    let (longitude, latitude) = crs.to_wgs84(row.longitude, row.latitude);
    let located = locate_point(index, longitude, latitude);
    NewPlace {
        name: row.name,
        aliases: row.aliases,
        kind: row.kind,
        longitude,
        latitude,
        grid_id: located.map(|(grid_id, _)| grid_id),
        community_id: located.and_then(|(_, community_id)| community_id),
    }
}

/// Writes every place as CSV with points in `crs` and returns how many were written.
///
/// # Errors
/// A database failure or a failing `output`.
pub async fn export_places(db: &Db, crs: Crs, output: impl Write) -> Result<usize, PlaceError> {
    let places = list_places(db).await?;
    write_places(&places, crs, output)?;
    Ok(places.len())
}
