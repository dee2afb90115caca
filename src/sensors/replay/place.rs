//! Placement of replayed devices in the street's grids. The datasets' own positions
//! are far-away cities, so without a placement their devices fall in no grid and no
//! area's dashboard shows them.

use anyhow::Context;
use geo::Centroid;

use crate::{
    areas::Level,
    config::Settings,
    db::Db,
    locate::{AreaIndex, Locator},
    sensors::devices::DeviceInput,
};

/// Distance between devices that share a grid, in degrees (about 30 m).
const SPACING_DEGREES: f64 = 0.0003;

/// Moves `devices` into the grids at or under the area `code`, one grid after the
/// other and a little apart within a grid.
///
/// # Errors
/// Fails when the area is unknown or has no grid with a boundary.
pub fn place_in_area(
    index: &AreaIndex,
    code: &str,
    devices: &mut [DeviceInput],
) -> anyhow::Result<()> {
    let area = index.by_code(code).with_context(|| {
        format!("area {code} does not exist; give a street, community or grid code")
    })?;
    let centres: Vec<(f64, f64)> = index
        .areas()
        .iter()
        .filter(|grid| grid.level == Level::Grid && index.is_within(grid.area_id, area.area_id))
        .filter_map(|grid| grid.geometry.as_ref()?.centroid())
        .map(|point| (point.x(), point.y()))
        .collect();
    if centres.is_empty() {
        anyhow::bail!("area {code} has no grid with a boundary to place the devices in");
    }
    for (position, device) in devices.iter_mut().enumerate() {
        let (longitude, latitude) = centres[position % centres.len()];
        let offset = (position / centres.len()) as f64 * SPACING_DEGREES;
        device.longitude = longitude + offset;
        device.latitude = latitude - offset;
        device.crs = None;
    }
    Ok(())
}

/// Loads the area index of `db` and places `devices` in the area `code`.
///
/// # Errors
/// Fails when the areas cannot be read or [`place_in_area`] fails.
pub async fn place_with_database(
    db: &Db,
    settings: &Settings,
    code: &str,
    devices: &mut [DeviceInput],
) -> anyhow::Result<()> {
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    place_in_area(&locator.snapshot(), code, devices)
}
