//! Validation of GeoJSON polygon geometry from raw JSON, before any write.
//!
//! The raw positions are checked here because `geo` and `geojson` close rings silently
//! and accept swapped axes. Each problem becomes a [`UserMessage`] whose field is the
//! JSON path of the offending member, such as `features[3].geometry.coordinates[0][1]`.

use geo::{LineString, MultiPolygon, Polygon, Validation, algorithm::validation::InvalidPolygon};
use serde_json::Value;

use super::rings::{LARGE_POLYGON_POSITIONS, LargePolygonProblem, check_large_polygon};
use crate::http::UserMessage;

/// The position of a feature: its file (or `request body`) and its index in `features`.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSite<'a> {
    pub file: &'a str,
    pub index: usize,
}

impl FeatureSite<'_> {
    /// Builds a message about `member` of this feature, naming the file and the JSON path.
    pub fn problem(&self, code: &'static str, member: &str) -> UserMessage {
        let field = format!("features[{}].{member}", self.index);
        UserMessage::new(code).arg("file", self.file).arg("field", &field).field(field)
    }
}

/// Mainland China spans about 73–136° E and 18–54° N; coordinates whose x all fall in
/// the latitude band and y all in the longitude band were written as [lat, lon].
const CHINA_LON_DEGREES: std::ops::RangeInclusive<f64> = 70.0..=140.0;
const CHINA_LAT_DEGREES: std::ops::RangeInclusive<f64> = 15.0..=56.0;

type Ring = Vec<[f64; 2]>;

/// Parses and validates a Polygon or MultiPolygon; problems go to `problems`.
///
/// Returns `None` when any problem was found.
pub fn parse_polygons(
    site: FeatureSite<'_>,
    geometry: &Value,
    problems: &mut Vec<UserMessage>,
) -> Option<MultiPolygon<f64>> {
    let before = problems.len();
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or_default();
    let coordinates = geometry.get("coordinates");
    let raw: Vec<(String, Vec<Ring>)> = match (kind, coordinates) {
        ("Polygon", Some(value)) => {
            let rings = read_rings(site, "geometry.coordinates", value, problems)?;
            vec![("geometry.coordinates".to_owned(), rings)]
        }
        ("MultiPolygon", Some(Value::Array(polygons))) => {
            let mut all = Vec::new();
            for (p, value) in polygons.iter().enumerate() {
                let path = format!("geometry.coordinates[{p}]");
                if let Some(rings) = read_rings(site, &path, value, problems) {
                    all.push((path, rings));
                }
            }
            all
        }
        ("Polygon" | "MultiPolygon", _) => {
            problems.push(site.problem("geometry_invalid", "geometry.coordinates"));
            return None;
        }
        (other, _) => {
            let shown = if other.is_empty() { "?" } else { other };
            problems.push(site.problem("geometry_not_polygon", "geometry.type").arg("type", shown));
            return None;
        }
    };
    if problems.len() > before {
        return None;
    }
    if raw.is_empty() || raw.iter().all(|(_, rings)| rings.is_empty()) {
        problems.push(site.problem("geometry_empty", "geometry.coordinates"));
        return None;
    }
    check_axes(site, &raw, problems);
    for (path, rings) in &raw {
        check_rings(site, path, rings, problems);
    }
    if problems.len() > before {
        return None;
    }
    // NOTE: each polygon is validated alone; overlapping parts of one MultiPolygon
    // are accepted, and a point in the overlap still resolves to this one area.
    let shape = build_polygons(&raw);
    for ((path, _), polygon) in raw.iter().zip(&shape.0) {
        if let Some((code, reason)) = polygon_problem(polygon) {
            problems.push(site.problem(code, path).arg("reason", reason));
        }
    }
    (problems.len() == before).then_some(shape)
}

/// Finds the message code and explanation of an invalid polygon, or `None` when valid.
///
/// NOTE: polygons above [`LARGE_POLYGON_POSITIONS`] get the faster check of
/// [`super::rings`], which covers self-intersection, crossing rings and holes outside
/// the exterior but not every case `geo::Validation` finds (such as nested holes).
fn polygon_problem(polygon: &Polygon<f64>) -> Option<(&'static str, String)> {
    let positions: usize =
        polygon.exterior().0.len() + polygon.interiors().iter().map(|r| r.0.len()).sum::<usize>();
    if positions > LARGE_POLYGON_POSITIONS {
        return match check_large_polygon(polygon) {
            Ok(()) => None,
            Err(problem @ LargePolygonProblem::SelfIntersection { .. }) => {
                Some(("ring_self_intersection", problem.to_string()))
            }
            Err(problem) => Some(("polygon_invalid", problem.to_string())),
        };
    }
    let reason = polygon.check_validation().err()?;
    let code = match reason {
        InvalidPolygon::SelfIntersection(_) => "ring_self_intersection",
        _ => "polygon_invalid",
    };
    Some((code, reason.to_string()))
}

/// Reads the rings of one polygon, each a list of `[x, y]` or `[x, y, z]` numbers.
fn read_rings(
    site: FeatureSite<'_>,
    path: &str,
    value: &Value,
    problems: &mut Vec<UserMessage>,
) -> Option<Vec<Ring>> {
    let Value::Array(rings) = value else {
        problems.push(site.problem("geometry_invalid", path));
        return None;
    };
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let Value::Array(positions) = ring else {
            problems.push(site.problem("geometry_invalid", &format!("{path}[{r}]")));
            return None;
        };
        let mut points = Vec::with_capacity(positions.len());
        for (k, position) in positions.iter().enumerate() {
            match read_position(position) {
                Some(point) => points.push(point),
                None => {
                    let at = format!("{path}[{r}][{k}]");
                    problems.push(site.problem("position_invalid", &at));
                    return None;
                }
            }
        }
        out.push(points);
    }
    Some(out)
}

fn read_position(value: &Value) -> Option<[f64; 2]> {
    let numbers = value.as_array()?;
    if !(2..=3).contains(&numbers.len()) {
        return None;
    }
    let x = numbers[0].as_f64().filter(|x| x.is_finite())?;
    let y = numbers[1].as_f64().filter(|y| y.is_finite())?;
    Some([x, y])
}

/// Flags [lat, lon] order (checked first, because it also breaks the latitude range)
/// and then positions outside ±180° longitude or ±90° latitude.
fn check_axes(site: FeatureSite<'_>, raw: &[(String, Vec<Ring>)], problems: &mut Vec<UserMessage>) {
    let all = || raw.iter().flat_map(|(_, rings)| rings.iter().flatten());
    let swapped =
        all().all(|[x, y]| CHINA_LAT_DEGREES.contains(x) && CHINA_LON_DEGREES.contains(y));
    if swapped {
        problems.push(site.problem("coordinates_swapped", "geometry.coordinates"));
        return;
    }
    for (path, rings) in raw {
        for (r, ring) in rings.iter().enumerate() {
            if let Some(k) = ring.iter().position(|[x, y]| x.abs() > 180.0 || y.abs() > 90.0) {
                let [x, y] = ring[k];
                problems.push(
                    site.problem("coordinate_out_of_range", &format!("{path}[{r}][{k}]"))
                        .arg("lon", x)
                        .arg("lat", y),
                );
                return;
            }
        }
    }
}

/// A ring needs four positions (a triangle plus the closing one) and must end where it
/// starts.
fn check_rings(site: FeatureSite<'_>, path: &str, rings: &[Ring], problems: &mut Vec<UserMessage>) {
    if rings.is_empty() {
        problems.push(site.problem("geometry_empty", path));
    }
    for (r, ring) in rings.iter().enumerate() {
        let at = format!("{path}[{r}]");
        if ring.len() < 4 {
            problems.push(site.problem("ring_too_few_points", &at).arg("count", ring.len()));
        } else if ring.first() != ring.last() {
            problems.push(site.problem("ring_unclosed", &at));
        }
    }
}

fn build_polygons(raw: &[(String, Vec<Ring>)]) -> MultiPolygon<f64> {
    let line =
        |ring: &Ring| LineString::from(ring.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>());
    let polygons = raw
        .iter()
        .map(|(_, rings)| {
            let exterior = line(&rings[0]);
            let holes = rings[1..].iter().map(line).collect();
            Polygon::new(exterior, holes)
        })
        .collect();
    MultiPolygon::new(polygons)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SITE: FeatureSite<'static> = FeatureSite { file: "grids.geojson", index: 3 };

    fn problems_of(geometry: Value) -> Vec<UserMessage> {
        let mut problems = Vec::new();
        let shape = parse_polygons(SITE, &geometry, &mut problems);
        assert_eq!(shape.is_some(), problems.is_empty(), "{problems:?}");
        problems
    }

    fn square(x: f64, y: f64, size: f64) -> Value {
        json!([[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]])
    }

    #[test]
    fn polygon_with_hole_is_accepted() {
        let hole = square(116.41, 39.91, 0.01);
        let problems = problems_of(
            json!({"type": "Polygon", "coordinates": [square(116.4, 39.9, 0.05), hole]}),
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn each_bad_geometry_names_its_member() {
        let open = json!([[116.4, 39.9], [116.5, 39.9], [116.5, 40.0], [116.4, 40.0]]);
        let bowtie =
            json!([[116.4, 39.9], [116.5, 40.0], [116.5, 39.9], [116.4, 40.0], [116.4, 39.9]]);
        let cases = [
            (
                "unclosed ring",
                json!({"type": "Polygon", "coordinates": [open]}),
                "ring_unclosed",
                "geometry.coordinates[0]",
            ),
            (
                "too few points",
                json!({"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.5, 39.9], [116.4, 39.9]]]}),
                "ring_too_few_points",
                "geometry.coordinates[0]",
            ),
            (
                "self-intersection",
                json!({"type": "Polygon", "coordinates": [bowtie]}),
                "ring_self_intersection",
                "geometry.coordinates",
            ),
            (
                "empty",
                json!({"type": "MultiPolygon", "coordinates": []}),
                "geometry_empty",
                "geometry.coordinates",
            ),
            (
                "point",
                json!({"type": "Point", "coordinates": [116.4, 39.9]}),
                "geometry_not_polygon",
                "geometry.type",
            ),
            (
                "out of range",
                json!({"type": "Polygon", "coordinates": [square(116.4, 95.0, 0.1)]}),
                "coordinate_out_of_range",
                "geometry.coordinates[0][0]",
            ),
            (
                "swapped",
                json!({"type": "Polygon", "coordinates": [square(39.9, 116.4, 0.1)]}),
                "coordinates_swapped",
                "geometry.coordinates",
            ),
            (
                "text position",
                json!({"type": "MultiPolygon", "coordinates": [[[[116.4, "39.9"]]]]}),
                "position_invalid",
                "geometry.coordinates[0][0][0]",
            ),
            (
                "hole outside",
                json!({"type": "Polygon", "coordinates": [square(116.4, 39.9, 0.01), square(116.5, 39.9, 0.01)]}),
                "polygon_invalid",
                "geometry.coordinates",
            ),
        ];
        for (description, geometry, code, member) in cases {
            let problems = problems_of(geometry);
            assert_eq!(problems.len(), 1, "{description}: {problems:?}");
            assert_eq!(problems[0].code, code, "{description}");
            let field = format!("features[3].{member}");
            assert_eq!(problems[0].field.as_deref(), Some(field.as_str()), "{description}");
            assert!(
                problems[0].args.contains(&("file", "grids.geojson".to_owned())),
                "{description}"
            );
        }
    }

    #[test]
    fn every_unclosed_ring_is_reported() {
        let open = json!([[116.4, 39.9], [116.5, 39.9], [116.5, 40.0], [116.4, 40.0]]);
        let geometry = json!({"type": "MultiPolygon", "coordinates": [[open.clone()], [open]]});
        let fields: Vec<_> = problems_of(geometry).into_iter().filter_map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["features[3].geometry.coordinates[0][0]", "features[3].geometry.coordinates[1][0]"]
        );
    }
}
