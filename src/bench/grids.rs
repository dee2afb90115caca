//! Generated grid polygons for the lookup benchmark: a jittered lattice whose
//! neighbours share every vertex, like a real grid partition of a city.

use geo::{LineString, MultiPolygon, Polygon};

use crate::areas::{Area, Level};

/// South-west corner of the generated extent (north-west Beijing, WGS-84).
const ORIGIN: [f64; 2] = [116.10, 39.70];
/// Cell size in degrees: about 100 m by 100 m at 40° N.
const CELL_DEGREES: [f64; 2] = [0.001_17, 0.000_90];
/// Corners move by up to this fraction of a cell, edge points across by half of it.
const CORNER_JITTER: f64 = 0.2;
/// Every this many cells gets a square hole in its middle.
const HOLE_EVERY: usize = 997;

/// The generated grids and the extent they cover.
pub struct GeneratedGrids {
    pub areas: Vec<Area>,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the lattice.
    pub extent: [f64; 4],
    pub columns: usize,
    pub rows: usize,
}

/// Hashes a lattice position statelessly (SplitMix64 finaliser), so that the two
/// cells sharing an edge derive the same edge points.
fn hash(seed: u64, a: usize, b: usize, salt: u64) -> u64 {
    let mut z = seed ^ (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (b as u64) << 32 ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps a hash to a number in [-1, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

struct Lattice {
    seed: u64,
}

impl Lattice {
    fn corner(&self, i: usize, j: usize) -> [f64; 2] {
        let jx = unit(hash(self.seed, i, j, 1)) * CORNER_JITTER;
        let jy = unit(hash(self.seed, i, j, 2)) * CORNER_JITTER;
        [
            ORIGIN[0] + (i as f64 + jx) * CELL_DEGREES[0],
            ORIGIN[1] + (j as f64 + jy) * CELL_DEGREES[1],
        ]
    }

    /// Points strictly between the corners of an edge, from `(i, j)` outwards: 1–2
    /// on horizontal edges, 0–2 on vertical ones, so a cell has 6–12 vertices.
    fn edge_points(&self, i: usize, j: usize, horizontal: bool) -> Vec<[f64; 2]> {
        let salt = if horizontal { 3 } else { 4 };
        let h = hash(self.seed, i, j, salt);
        let count = if horizontal { 1 + (h % 2) as usize } else { (h % 3) as usize };
        let start = self.corner(i, j);
        let end = if horizontal { self.corner(i + 1, j) } else { self.corner(i, j + 1) };
        (1..=count)
            .map(|m| {
                let t = m as f64 / (count + 1) as f64;
                let across = unit(hash(self.seed, i, j, 10 + m as u64)) * CORNER_JITTER / 2.0;
                let mut point =
                    [start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])];
                if horizontal {
                    point[1] += across * CELL_DEGREES[1];
                } else {
                    point[0] += across * CELL_DEGREES[0];
                }
                point
            })
            .collect()
    }

    /// Builds the closed, counter-clockwise outline of cell `(i, j)`.
    fn cell(&self, i: usize, j: usize) -> Vec<[f64; 2]> {
        let mut ring = vec![self.corner(i, j)];
        ring.extend(self.edge_points(i, j, true));
        ring.push(self.corner(i + 1, j));
        ring.extend(self.edge_points(i + 1, j, false));
        ring.push(self.corner(i + 1, j + 1));
        ring.extend(self.edge_points(i, j + 1, true).into_iter().rev());
        ring.push(self.corner(i, j + 1));
        ring.extend(self.edge_points(i, j, false).into_iter().rev());
        ring.push(ring[0]);
        ring
    }
}

/// Generates `count` grid polygons on a near-square lattice.
pub fn generate(count: usize, seed: u64) -> GeneratedGrids {
    let columns = (count as f64).sqrt().ceil().max(1.0) as usize;
    let rows = count.div_ceil(columns);
    let lattice = Lattice { seed };
    let mut areas = Vec::with_capacity(count);
    for n in 0..count {
        let (i, j) = (n % columns, n / columns);
        let outline = LineString::from(
            lattice.cell(i, j).into_iter().map(|[x, y]| (x, y)).collect::<Vec<_>>(),
        );
        let holes = if n % HOLE_EVERY == HOLE_EVERY - 1 {
            let centre = [
                ORIGIN[0] + (i as f64 + 0.5) * CELL_DEGREES[0],
                ORIGIN[1] + (j as f64 + 0.5) * CELL_DEGREES[1],
            ];
            let [hx, hy] = [CELL_DEGREES[0] * 0.1, CELL_DEGREES[1] * 0.1];
            vec![LineString::from(vec![
                (centre[0] - hx, centre[1] - hy),
                (centre[0] + hx, centre[1] - hy),
                (centre[0] + hx, centre[1] + hy),
                (centre[0] - hx, centre[1] + hy),
                (centre[0] - hx, centre[1] - hy),
            ])]
        } else {
            Vec::new()
        };
        areas.push(Area {
            area_id: n as i64 + 1,
            code: format!("BENCH-{n:06}"),
            name: format!("bench grid {n}"),
            level: Level::Grid,
            parent_id: None,
            geometry: Some(MultiPolygon::new(vec![Polygon::new(outline, holes)])),
            responsible_unit: None,
        });
    }
    let extent = [
        ORIGIN[0],
        ORIGIN[1],
        ORIGIN[0] + columns as f64 * CELL_DEGREES[0],
        ORIGIN[1] + rows as f64 * CELL_DEGREES[1],
    ];
    GeneratedGrids { areas, extent, columns, rows }
}

#[cfg(test)]
mod tests {
    use geo::Validation;

    use super::*;

    #[test]
    fn generated_cells_are_valid_with_6_to_12_vertices() {
        let grids = generate(2_000, 7);
        assert_eq!(grids.areas.len(), 2_000);
        let mut holes = 0;
        for area in &grids.areas {
            let polygon = &area.geometry.as_ref().unwrap().0[0];
            let vertices = polygon.exterior().0.len() - 1;
            assert!((6..=12).contains(&vertices), "{}: {vertices}", area.code);
            assert!(polygon.is_valid(), "{}: {:?}", area.code, polygon.validation_errors());
            holes += polygon.interiors().len();
        }
        assert_eq!(holes, 2);
    }

    #[test]
    fn neighbouring_cells_share_their_edge() {
        let grids = generate(100, 7);
        let index = crate::locate::AreaIndex::build(1, grids.areas, &Default::default());
        let [x0, y0, x1, y1] = grids.extent;
        let mut found = 0;
        for step in 0..1_000 {
            let t = f64::from(step) / 1_000.0;
            // A diagonal through the inner cells, away from the jittered outer border.
            let (lon, lat) = (x0 + (0.15 + 0.7 * t) * (x1 - x0), y0 + (0.15 + 0.7 * t) * (y1 - y0));
            if index.locate(lon, lat).is_some_and(|l| !l.outside) {
                found += 1;
            }
        }
        assert!(found >= 995, "only {found} of 1000 inner points found a grid");
    }
}
