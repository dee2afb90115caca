//! Export of areas as a GeoJSON FeatureCollection that `import areas` reads back.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Area, Level, crs::Crs};

/// Export options: the level to keep and the coordinate system to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportFilter {
    pub level: Option<Level>,
    pub crs: Crs,
}

/// Builds the FeatureCollection of `areas` that pass `filter`, in their given order.
///
/// Each feature's properties are `code`, `name`, `level`, `parent_code` and
/// `responsible_unit`; areas without a boundary get a `null` geometry.
#[tracing::instrument(skip_all, fields(export.areas = areas.len()))]
pub fn feature_collection(areas: &[Area], filter: ExportFilter) -> Value {
    let codes: HashMap<i64, &str> = areas.iter().map(|a| (a.area_id, a.code.as_str())).collect();
    let features: Vec<Value> = areas
        .iter()
        .filter(|area| filter.level.is_none_or(|level| area.level == level))
        .map(|area| {
            let geometry = area.geometry.as_ref().map(|shape| {
                let shape = filter.crs.polygon_from_wgs84(shape);
                serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(&shape)))
                    .unwrap_or(Value::Null)
            });
            json!({
                "type": "Feature",
                "properties": {
                    "code": area.code,
                    "name": area.name,
                    "level": area.level,
                    "parent_code": area.parent_id.and_then(|id| codes.get(&id)),
                    "responsible_unit": area.responsible_unit,
                },
                "geometry": geometry,
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "coordinate_system": filter.crs.as_str(), "features": features })
}
