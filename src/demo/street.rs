//! Geometry and names of the demo street.

use geo::{LineString, MultiPolygon, Polygon};

use crate::areas::{Level, store::NewArea};

/// South-west corner of the street, WGS-84 degrees (near the Fourth Ring Road, Chaoyang).
const ORIGIN_LON: f64 = 116.452;
const ORIGIN_LAT: f64 = 39.982;
/// Lattice of grid cells: 10 columns by 4 rows, each about 300 m wide and 450 m tall.
const COLUMNS: usize = 10;
const ROWS: usize = 4;
const CELL_LON: f64 = 0.0035;
const CELL_LAT: f64 = 0.0041;
/// Each community is a row of this many cells.
const CELLS_PER_COMMUNITY: usize = 5;

const STREET_CODE: &str = "110105900";
const COMMUNITY_NAMES: [&str; 8] =
    ["春晖园", "青禾里", "明湖", "悦秀园", "望晴里", "清枫", "锦安", "朝晖"];

/// Builds every area of the demo, parents first: city, district, street, 8 communities, 40 grids.
pub fn demo_areas() -> Vec<NewArea> {
    let lattice = Lattice::new();
    let mut areas = vec![
        area("110000", "北京市", Level::City, None, None),
        area("110105", "朝阳区", Level::District, Some("110000"), None),
        area(
            STREET_CODE,
            "春望街道",
            Level::Street,
            Some("110105"),
            Some(lattice.block(0, COLUMNS, 0, ROWS)),
        ),
    ];
    for (index, short_name) in COMMUNITY_NAMES.iter().enumerate() {
        let row = index / 2;
        let first_column = (index % 2) * CELLS_PER_COMMUNITY;
        let community_code = format!("{STREET_CODE}{:03}", index + 1);
        let outline = lattice.block(first_column, first_column + CELLS_PER_COMMUNITY, row, row + 1);
        areas.push(area(
            &community_code,
            &format!("{short_name}社区"),
            Level::Community,
            Some(STREET_CODE),
            Some(outline),
        ));
        for cell in 0..CELLS_PER_COMMUNITY {
            let column = first_column + cell;
            let mut grid = area(
                &format!("{community_code}{:03}", cell + 1),
                &format!("{short_name}第{}网格", cell + 1),
                Level::Grid,
                Some(&community_code),
                Some(lattice.block(column, column + 1, row, row + 1)),
            );
            // One grid per community is left without a unit, to show that it falls to
            // the community (属地兜底).
            if cell > 0 {
                grid.responsible_unit = Some(format!("{short_name}社区第{}网格工作站", cell + 1));
            }
            areas.push(grid);
        }
    }
    areas
}

fn area(
    code: &str,
    name: &str,
    level: Level,
    parent: Option<&str>,
    polygon: Option<Polygon<f64>>,
) -> NewArea {
    NewArea {
        code: code.to_owned(),
        name: name.to_owned(),
        level,
        parent_code: parent.map(str::to_owned),
        geometry: polygon.map(|p| MultiPolygon(vec![p])),
        responsible_unit: None,
    }
}

/// Jittered lattice vertices, `(COLUMNS + 1) x (ROWS + 1)` of them.
struct Lattice {
    vertices: Vec<Vec<(f64, f64)>>,
}

impl Lattice {
    fn new() -> Self {
        let vertices = (0..=ROWS)
            .map(|row| {
                (0..=COLUMNS)
                    .map(|column| {
                        let (dx, dy) = jitter(column, row);
                        (
                            ORIGIN_LON + (column as f64 + dx) * CELL_LON,
                            ORIGIN_LAT + (row as f64 + dy) * CELL_LAT,
                        )
                    })
                    .collect()
            })
            .collect();
        Self { vertices }
    }

    /// Builds the outline of the cells in columns `c0..c1` and rows `r0..r1`, counter-clockwise.
    fn block(&self, c0: usize, c1: usize, r0: usize, r1: usize) -> Polygon<f64> {
        let mut ring = Vec::new();
        ring.extend((c0..=c1).map(|c| self.vertices[r0][c]));
        ring.extend((r0 + 1..=r1).map(|r| self.vertices[r][c1]));
        ring.extend((c0..c1).rev().map(|c| self.vertices[r1][c]));
        ring.extend((r0 + 1..r1).rev().map(|r| self.vertices[r][c0]));
        ring.push(ring[0]);
        Polygon::new(LineString::from(ring), Vec::new())
    }
}

/// Returns a fixed pseudo-random offset of up to 0.18 cell, so every start draws the same street.
fn jitter(column: usize, row: usize) -> (f64, f64) {
    let mut seed =
        (column as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((row as u64 + 1) * 0xBF58);
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 1000) as f64 / 1000.0 - 0.5
    };
    (next() * 0.36, next() * 0.36)
}

#[cfg(test)]
mod tests {
    use geo::{Area, Contains, Validation};

    use super::*;

    #[test]
    fn demo_has_eight_communities_and_forty_grids() {
        let areas = demo_areas();
        let count = |level| areas.iter().filter(|a| a.level == level).count();
        assert_eq!(count(Level::Community), 8);
        assert_eq!(count(Level::Grid), 40);
    }

    #[test]
    fn demo_grid_codes_follow_beijing_scheme() {
        for grid in demo_areas().iter().filter(|a| a.level == Level::Grid) {
            let parent = grid.parent_code.as_deref().unwrap();
            assert_eq!(grid.code.len(), 15, "{}", grid.code);
            assert!(grid.code.starts_with(parent), "{} under {parent}", grid.code);
        }
    }

    #[test]
    fn demo_polygons_are_valid_and_tile_the_street() {
        let areas = demo_areas();
        let street = areas.iter().find(|a| a.level == Level::Street).unwrap();
        let street_area = street.geometry.as_ref().unwrap().unsigned_area();
        let mut grid_sum = 0.0;
        for area in areas.iter().filter(|a| a.geometry.is_some()) {
            let geometry = area.geometry.as_ref().unwrap();
            assert!(geometry.is_valid(), "{} is invalid", area.code);
            if area.level == Level::Grid {
                grid_sum += geometry.unsigned_area();
                let centre = geo::Centroid::centroid(geometry).unwrap();
                assert!(street.geometry.as_ref().unwrap().contains(&centre), "{}", area.code);
            }
        }
        assert!((grid_sum - street_area).abs() / street_area < 1e-9);
    }
}
