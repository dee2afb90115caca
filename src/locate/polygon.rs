//! A polygon prepared for fast point tests: flat coordinates, a bounding box and, for
//! polygons with many edges, an R-tree of the edges.
//!
//! Inside/outside uses the even-odd crossing rule over all rings, so holes need no
//! special case. Distances use an equirectangular projection at the point's latitude,
//! which is accurate to well under 1% over the few hundred metres it is used for.

use geo::Polygon;
use rstar::{AABB, RTree, primitives::Line};

/// Metres per degree of latitude (mean value on the WGS-84 ellipsoid).
const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
/// Metres per degree of longitude at the equator.
const METRES_PER_DEGREE_LON: f64 = 111_320.0;
/// Polygons with more edges than this get an edge R-tree; below it a linear scan of
/// the edges is faster than walking a tree.
const EDGE_TREE_MIN_EDGES: usize = 64;

/// The relation of a point to one polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub inside: bool,
    /// The point is within the boundary tolerance of an edge.
    pub near_edge: bool,
}

#[derive(Debug)]
pub struct PreparedPolygon {
    /// All rings, exterior first, each closed (first position repeated last).
    coords: Box<[[f64; 2]]>,
    /// End offset of each ring in `coords`.
    ring_ends: Box<[u32]>,
    pub min: [f64; 2],
    pub max: [f64; 2],
    /// The boundary tolerance in degrees of longitude and latitude, taken at the
    /// polygon's latitude farthest from the equator so that it never falls short.
    pub tolerance_deg: [f64; 2],
    edges: Option<RTree<Line<[f64; 2]>>>,
}

/// Metres per degree of longitude and of latitude at `lat`.
pub fn metres_per_degree(lat: f64) -> [f64; 2] {
    // Clamped so that the scale never reaches zero near the poles.
    let cos = lat.to_radians().cos().max(0.01);
    [METRES_PER_DEGREE_LON * cos, METRES_PER_DEGREE_LAT]
}

impl PreparedPolygon {
    pub fn new(polygon: &Polygon<f64>, tolerance_m: f64) -> Self {
        let mut coords = Vec::new();
        let mut ring_ends = Vec::new();
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            coords.extend(ring.coords().map(|c| [c.x, c.y]));
            if ring.0.first() != ring.0.last() {
                coords.push([ring.0[0].x, ring.0[0].y]);
            }
            ring_ends.push(u32::try_from(coords.len()).unwrap_or(u32::MAX));
        }
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for [x, y] in &coords {
            min = [min[0].min(*x), min[1].min(*y)];
            max = [max[0].max(*x), max[1].max(*y)];
        }
        let widest_lat = min[1].abs().max(max[1].abs());
        let [kx, ky] = metres_per_degree(widest_lat);
        let mut prepared = Self {
            coords: coords.into_boxed_slice(),
            ring_ends: ring_ends.into_boxed_slice(),
            min,
            max,
            tolerance_deg: [tolerance_m / kx, tolerance_m / ky],
            edges: None,
        };
        if prepared.coords.len() > EDGE_TREE_MIN_EDGES {
            let lines: Vec<_> = prepared.edges().map(|(a, b)| Line::new(a, b)).collect();
            prepared.edges = Some(RTree::bulk_load(lines));
        }
        prepared
    }

    /// Iterates over every edge as a pair of positions.
    fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let mut start = 0usize;
        self.ring_ends.iter().flat_map(move |&end| {
            let ring = &self.coords[start..end as usize];
            start = end as usize;
            ring.windows(2).map(|pair| (pair[0], pair[1]))
        })
    }

    /// Tests whether `p` is inside and whether it lies within `tolerance_m` of an edge.
    pub fn classify(&self, p: [f64; 2], tolerance_m: f64) -> Classification {
        match &self.edges {
            Some(tree) => self.classify_with_tree(tree, p, tolerance_m),
            None => self.classify_linear(p, tolerance_m),
        }
    }

    fn classify_linear(&self, p: [f64; 2], tolerance_m: f64) -> Classification {
        let [tx, ty] = self.tolerance_deg;
        let mut inside = false;
        let mut near_edge = false;
        let mut start = 0usize;
        for &end in self.ring_ends.iter() {
            let ring = &self.coords[start..end as usize];
            start = end as usize;
            for pair in ring.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if crosses_ray(p, a, b) {
                    inside = !inside;
                }
                if !near_edge
                    && p[0] >= a[0].min(b[0]) - tx
                    && p[0] <= a[0].max(b[0]) + tx
                    && p[1] >= a[1].min(b[1]) - ty
                    && p[1] <= a[1].max(b[1]) + ty
                {
                    near_edge = segment_distance_m(p, a, b) <= tolerance_m;
                }
            }
        }
        Classification { inside, near_edge }
    }

    fn classify_with_tree(
        &self,
        tree: &RTree<Line<[f64; 2]>>,
        p: [f64; 2],
        tolerance_m: f64,
    ) -> Classification {
        let ray = AABB::from_corners(p, [self.max[0], p[1]]);
        let crossings =
            tree.locate_in_envelope_intersecting(&ray).filter(|l| crosses_ray(p, l.from, l.to));
        let inside = crossings.count() % 2 == 1;
        let [tx, ty] = self.tolerance_deg;
        let around = AABB::from_corners([p[0] - tx, p[1] - ty], [p[0] + tx, p[1] + ty]);
        let near_edge = tree
            .locate_in_envelope_intersecting(&around)
            .any(|l| segment_distance_m(p, l.from, l.to) <= tolerance_m);
        Classification { inside, near_edge }
    }

    /// Distance from `p` to the nearest edge, in metres.
    pub fn boundary_distance_m(&self, p: [f64; 2]) -> f64 {
        self.edges().map(|(a, b)| segment_distance_m(p, a, b)).fold(f64::INFINITY, f64::min)
    }
}

/// Tells whether the edge a–b crosses the ray from `p` towards +x. The half-open test on y
/// counts a vertex exactly at `p`'s latitude once.
#[inline]
fn crosses_ray(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> bool {
    if (a[1] > p[1]) == (b[1] > p[1]) {
        return false;
    }
    let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
    p[0] < x
}

/// Distance from `p` to the segment a–b in metres.
pub fn segment_distance_m(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let [kx, ky] = metres_per_degree(p[1]);
    let (ax, ay) = ((a[0] - p[0]) * kx, (a[1] - p[1]) * ky);
    let (bx, by) = ((b[0] - p[0]) * kx, (b[1] - p[1]) * ky);
    let (dx, dy) = (bx - ax, by - ay);
    let length_2 = dx * dx + dy * dy;
    let t = if length_2 > 0.0 { (-(ax * dx + ay * dy) / length_2).clamp(0.0, 1.0) } else { 0.0 };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    (cx * cx + cy * cy).sqrt()
}

#[cfg(test)]
mod tests {
    use geo::{LineString, polygon};

    use super::*;

    fn square_with_hole() -> Polygon<f64> {
        let exterior =
            LineString::from(vec![(116.0, 39.0), (116.1, 39.0), (116.1, 39.1), (116.0, 39.1)]);
        let hole = LineString::from(vec![
            (116.04, 39.04),
            (116.06, 39.04),
            (116.06, 39.06),
            (116.04, 39.06),
        ]);
        Polygon::new(exterior, vec![hole])
    }

    /// Builds a 200-edge circle, so that the edge R-tree path runs.
    fn circle() -> Polygon<f64> {
        let points: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let angle = f64::from(i) * std::f64::consts::TAU / 200.0;
                (116.0 + 0.05 * angle.cos(), 39.0 + 0.05 * angle.sin())
            })
            .collect();
        Polygon::new(LineString::from(points), vec![])
    }

    #[test]
    fn point_in_hole_is_outside() {
        let prepared = PreparedPolygon::new(&square_with_hole(), 0.1);
        assert!(prepared.classify([116.02, 39.02], 0.1).inside);
        assert!(!prepared.classify([116.05, 39.05], 0.1).inside);
        assert!(!prepared.classify([116.2, 39.05], 0.1).inside);
    }

    #[test]
    fn point_on_edge_or_vertex_is_near_edge() {
        let prepared = PreparedPolygon::new(&square_with_hole(), 0.1);
        for point in [[116.05, 39.0], [116.1, 39.1], [116.04, 39.05], [116.0, 39.03]] {
            assert!(prepared.classify(point, 0.1).near_edge, "{point:?}");
        }
        // 1e-5 degrees of latitude is about 1.1 m, beyond the 0.1 m tolerance.
        assert!(!prepared.classify([116.05, 39.00001], 0.1).near_edge);
        let wider = PreparedPolygon::new(&square_with_hole(), 2.0);
        assert!(wider.classify([116.05, 39.00001], 2.0).near_edge);
    }

    #[test]
    fn edge_tree_agrees_with_linear_scan() {
        let shape = circle();
        let prepared = PreparedPolygon::new(&shape, 0.1);
        assert!(prepared.edges.is_some());
        let first = shape.exterior().0[0];
        for (point, inside) in
            [([116.0, 39.0], true), ([116.049, 39.0], true), ([116.06, 39.0], false)]
        {
            let by_tree = prepared.classify(point, 0.1);
            assert_eq!(by_tree, prepared.classify_linear(point, 0.1), "{point:?}");
            assert_eq!(by_tree.inside, inside, "{point:?}");
        }
        assert!(prepared.classify([first.x, first.y], 0.1).near_edge);
    }

    #[test]
    fn segment_distance_is_in_metres() {
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)];
        let prepared = PreparedPolygon::new(&square, 0.1);
        let distance = prepared.boundary_distance_m([0.5, -0.001]);
        assert!((distance - 110.574).abs() < 0.01, "{distance}");
    }
}
