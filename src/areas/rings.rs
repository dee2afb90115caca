//! Validity checks for polygons too large for `geo::Validation`, whose ring
//! self-intersection test compares every pair of edges: 15,000 positions (the Beijing
//! city outline) take over a minute in a debug build. Here an R-tree of the edges
//! limits the comparisons to edges whose boxes overlap.

use geo::{Coord, Polygon};
use rstar::{RTree, primitives::GeomWithData, primitives::Line};

/// Polygons with more positions than this are checked here instead of by `geo`.
pub const LARGE_POLYGON_POSITIONS: usize = 500;

/// An edge with its ring number and its index within that ring.
type Edge = GeomWithData<Line<[f64; 2]>, (usize, usize)>;

/// Checks a large polygon, explaining problems in the same words as `geo`.
pub fn check_large_polygon(polygon: &Polygon<f64>) -> Result<(), LargePolygonProblem> {
    let rings: Vec<&[Coord<f64>]> = std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|ring| ring.0.as_slice())
        .collect();
    let mut edges = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        for (k, pair) in ring.windows(2).enumerate() {
            let line = Line::new([pair[0].x, pair[0].y], [pair[1].x, pair[1].y]);
            edges.push(Edge::new(line, (r, k)));
        }
    }
    let tree = RTree::bulk_load(edges.clone());
    for edge in &edges {
        let envelope = rstar::RTreeObject::envelope(edge);
        for other in tree.locate_in_envelope_intersecting(&envelope) {
            let ((r1, k1), (r2, k2)) = (edge.data, other.data);
            if (r1, k1) >= (r2, k2) || !segments_cross(edge.geom(), other.geom()) {
                continue;
            }
            let ring_edges = rings[r1].len() - 1;
            let adjacent = r1 == r2 && (k2 == k1 + 1 || (k1 == 0 && k2 == ring_edges - 1));
            if adjacent {
                continue;
            }
            return Err(if r1 == r2 {
                LargePolygonProblem::SelfIntersection { ring: r1 }
            } else {
                LargePolygonProblem::RingsCross { first: r1, second: r2 }
            });
        }
    }
    for (hole, ring) in rings.iter().enumerate().skip(1) {
        let inside = ring.first().is_some_and(|c| ring_contains(rings[0], *c));
        if !inside {
            return Err(LargePolygonProblem::HoleOutside { ring: hole });
        }
    }
    Ok(())
}

/// A problem of a large polygon; ring 0 is the exterior.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LargePolygonProblem {
    #[error("ring {ring} has a self-intersection")]
    SelfIntersection { ring: usize },
    #[error("rings {first} and {second} cross each other")]
    RingsCross { first: usize, second: usize },
    #[error("interior ring {ring} is not contained within the polygon's exterior")]
    HoleOutside { ring: usize },
}

fn orientation(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Tells whether two segments share any point other than a common endpoint.
fn segments_cross(s: &Line<[f64; 2]>, t: &Line<[f64; 2]>) -> bool {
    let shared_end = s.from == t.from || s.from == t.to || s.to == t.from || s.to == t.to;
    let (d1, d2) = (orientation(s.from, s.to, t.from), orientation(s.from, s.to, t.to));
    let (d3, d4) = (orientation(t.from, t.to, s.from), orientation(t.from, t.to, s.to));
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return true;
    }
    // Collinear overlap beyond a shared endpoint, such as a spike doubling back.
    let collinear = d1 == 0.0 && d2 == 0.0;
    collinear && !shared_end && boxes_overlap(s, t)
}

fn boxes_overlap(s: &Line<[f64; 2]>, t: &Line<[f64; 2]>) -> bool {
    (0..2).all(|axis| {
        let (s_min, s_max) = (s.from[axis].min(s.to[axis]), s.from[axis].max(s.to[axis]));
        let (t_min, t_max) = (t.from[axis].min(t.to[axis]), t.from[axis].max(t.to[axis]));
        s_min <= t_max && t_min <= s_max
    })
}

/// Even-odd test of a point against one closed ring.
fn ring_contains(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    let mut inside = false;
    for pair in ring.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use geo::LineString;

    use super::*;

    /// Builds a closed circle of `n` positions around (116, 39).
    fn circle(n: usize, radius: f64, start_degrees: f64) -> LineString<f64> {
        let mut points: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let angle = (start_degrees + i as f64 * 360.0 / n as f64).to_radians();
                (116.0 + radius * angle.cos(), 39.0 + radius * angle.sin())
            })
            .collect();
        points.push(points[0]);
        LineString::from(points)
    }

    #[test]
    fn large_circle_with_hole_is_valid() {
        let polygon = Polygon::new(circle(2000, 0.1, 0.0), vec![circle(600, 0.05, 0.0)]);
        assert_eq!(check_large_polygon(&polygon), Ok(()));
    }

    #[test]
    fn swapped_positions_make_a_self_intersection() {
        let mut ring = circle(2000, 0.1, 0.0);
        ring.0.swap(10, 11);
        let polygon = Polygon::new(ring, vec![]);
        assert_eq!(
            check_large_polygon(&polygon),
            Err(LargePolygonProblem::SelfIntersection { ring: 0 })
        );
    }

    #[test]
    fn hole_outside_exterior_is_rejected() {
        let mut hole = circle(600, 0.01, 0.0);
        hole.0.iter_mut().for_each(|c| c.x += 1.0);
        let polygon = Polygon::new(circle(2000, 0.1, 0.0), vec![hole]);
        assert_eq!(
            check_large_polygon(&polygon),
            Err(LargePolygonProblem::HoleOutside { ring: 1 })
        );
    }
}
