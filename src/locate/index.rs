//! [`AreaIndex`]: an immutable snapshot of the areas, with a bucket grid of polygon
//! boxes for point lookups and an R-tree of grid boxes for the nearest-grid search.

use std::collections::HashMap;

use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

use super::{
    buckets::BucketGrid,
    polygon::{PreparedPolygon, metres_per_degree},
};
use crate::{
    areas::{Area, Level},
    config::LocateSettings,
};

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A polygon as a bucket lists it: its widened box, its id and its area's rank.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    low: [f64; 2],
    high: [f64; 2],
    polygon: u32,
    rank: u32,
}

/// Ranks every area (deeper level first, then smaller code) and returns the rank of
/// each area with the area of each rank.
fn rank_areas(areas: &[Area]) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&areas[a], &areas[b]);
        b.level.cmp(&a.level).then_with(|| a.code.cmp(&b.code))
    });
    let mut ranks = vec![0u32; areas.len()];
    for (rank, &area) in order.iter().enumerate() {
        ranks[area] = rank as u32;
    }
    (ranks, order.into_iter().map(|i| i as u32).collect())
}

/// Every polygon of every area, prepared, with the boxes the lookups need.
struct PreparedShapes {
    polygons: Vec<PreparedPolygon>,
    /// Area of each polygon.
    polygon_areas: Vec<u32>,
    /// Box of each polygon widened by the boundary tolerance.
    widened: Vec<super::buckets::Bounds>,
    /// Exact boxes of grid polygons, for the nearest-grid R-tree.
    grid_entries: Vec<Entry>,
}

fn prepare_polygons(areas: &[Area], tolerance_m: f64) -> PreparedShapes {
    let mut shapes = PreparedShapes {
        polygons: Vec::new(),
        polygon_areas: Vec::new(),
        widened: Vec::new(),
        grid_entries: Vec::new(),
    };
    for (area_index, area) in areas.iter().enumerate() {
        for polygon in area.geometry.iter().flat_map(|g| g.0.iter()) {
            let prepared = PreparedPolygon::new(polygon, tolerance_m);
            let id = shapes.polygons.len() as u32;
            let [tx, ty] = prepared.tolerance_deg;
            shapes.widened.push((
                [prepared.min[0] - tx, prepared.min[1] - ty],
                [prepared.max[0] + tx, prepared.max[1] + ty],
            ));
            if area.level == Level::Grid {
                let exact = Rectangle::from_corners(prepared.min, prepared.max);
                shapes.grid_entries.push(Entry::new(exact, id));
            }
            shapes.polygons.push(prepared);
            shapes.polygon_areas.push(area_index as u32);
        }
    }
    shapes
}

/// The result of [`AreaIndex::locate`] for one point.
///
/// Rule: among the areas whose polygon contains the point or whose boundary lies
/// within `boundary_tolerance_m` of it, the deepest level wins and, within a level,
/// the smallest code. So a point on the edge shared by two grids always goes to the
/// grid with the smaller code, flagged `on_boundary`. When the winner is not a grid
/// but grids exist, the nearest grid within `max_outside_distance_m` is taken instead,
/// flagged `outside`.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    /// The chosen grid, or the deepest containing area when no grid applies.
    pub area: &'a Area,
    /// The deepest area containing the point, or within the boundary tolerance of it.
    /// It differs from `area` when `outside`, and is `None` when only a nearby grid matched.
    pub containing: Option<&'a Area>,
    pub on_boundary: bool,
    /// The point is in no grid and `area` is the nearest grid.
    pub outside: bool,
    /// Distance from the point to `area`'s boundary when `outside`, in metres.
    pub distance_m: Option<f64>,
}

/// An immutable snapshot of all areas with their spatial index.
#[derive(Debug, Default)]
pub struct AreaIndex {
    revision: i64,
    areas: Vec<Area>,
    by_id: HashMap<i64, usize>,
    by_code: HashMap<String, usize>,
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Preference of each area: lower wins (deeper level first, then smaller code).
    ranks: Vec<u32>,
    /// Area index of each rank, the inverse of `ranks`.
    by_rank: Vec<u32>,
    polygons: Vec<PreparedPolygon>,
    /// Area of each entry of `polygons`.
    polygon_areas: Vec<u32>,
    /// Polygon boxes widened by the boundary tolerance, bucketed for point lookups.
    buckets: BucketGrid<Candidate>,
    /// Boxes of grid polygons only, for the nearest-grid search.
    grid_tree: RTree<Entry>,
    boundary_tolerance_m: f64,
    max_outside_distance_m: f64,
}

impl AreaIndex {
    /// Builds the index; `areas` should list parents before children.
    pub fn build(revision: i64, areas: Vec<Area>, settings: &LocateSettings) -> Self {
        let by_id: HashMap<i64, usize> =
            areas.iter().enumerate().map(|(i, a)| (a.area_id, i)).collect();
        let by_code = areas.iter().enumerate().map(|(i, a)| (a.code.clone(), i)).collect();
        let parents: Vec<Option<usize>> =
            areas.iter().map(|a| a.parent_id.and_then(|id| by_id.get(&id).copied())).collect();
        let mut children = vec![Vec::new(); areas.len()];
        for (child, parent) in parents.iter().enumerate() {
            if let Some(parent) = parent {
                children[*parent].push(child);
            }
        }

        let (ranks, by_rank) = rank_areas(&areas);
        let tolerance = settings.boundary_tolerance_m.max(0.0);
        let shapes = prepare_polygons(&areas, tolerance);
        let buckets = BucketGrid::build(&shapes.widened, |k| Candidate {
            low: shapes.widened[k].0,
            high: shapes.widened[k].1,
            polygon: k as u32,
            rank: ranks[shapes.polygon_areas[k] as usize],
        });
        Self {
            revision,
            by_id,
            by_code,
            parents,
            children,
            ranks,
            by_rank,
            polygons: shapes.polygons,
            polygon_areas: shapes.polygon_areas,
            buckets,
            grid_tree: RTree::bulk_load(shapes.grid_entries),
            boundary_tolerance_m: tolerance,
            max_outside_distance_m: settings.max_outside_distance_m.max(0.0),
            areas,
        }
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn area_count(&self) -> usize {
        self.areas.len()
    }

    /// Number of indexed polygons (a MultiPolygon counts each part).
    pub fn polygon_count(&self) -> usize {
        self.polygons.len()
    }

    /// Every area, parents before children.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    pub fn area(&self, area_id: i64) -> Option<&Area> {
        self.by_id.get(&area_id).map(|&i| &self.areas[i])
    }

    pub fn by_code(&self, code: &str) -> Option<&Area> {
        self.by_code.get(code).map(|&i| &self.areas[i])
    }

    /// Lists the ancestors of an area, the top (city) first; empty for unknown ids.
    pub fn ancestors(&self, area_id: i64) -> Vec<&Area> {
        let mut chain = Vec::new();
        let mut current = self.by_id.get(&area_id).and_then(|&i| self.parents[i]);
        while let Some(index) = current {
            // A parent cycle cannot come from the store; the bound guards against it.
            if chain.len() > self.areas.len() {
                break;
            }
            chain.push(&self.areas[index]);
            current = self.parents[index];
        }
        chain.reverse();
        chain
    }

    /// Lists the direct children of an area, ordered by code.
    pub fn children(&self, area_id: i64) -> Vec<&Area> {
        let Some(&index) = self.by_id.get(&area_id) else { return Vec::new() };
        let mut children: Vec<&Area> =
            self.children[index].iter().map(|&c| &self.areas[c]).collect();
        children.sort_by(|a, b| a.code.cmp(&b.code));
        children
    }

    /// Tells whether `area_id` is `ancestor_id` or lies below it, for area-scoped access.
    pub fn is_within(&self, area_id: i64, ancestor_id: i64) -> bool {
        area_id == ancestor_id && self.by_id.contains_key(&area_id)
            || self.ancestors(area_id).iter().any(|a| a.area_id == ancestor_id)
    }

    /// Finds the area of a WGS-84 point; see [`Location`] for the rule. `None` when no
    /// area contains the point and no grid is within `max_outside_distance_m`.
    ///
    /// Allocation-free: one bucket gives the candidate polygons, and each candidate whose
    /// box contains the point is tested in one pass over its edges.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Location<'_>> {
        let point = [lon, lat];
        let mut best: Option<(u32, bool)> = None;
        for candidate in self.buckets.candidates(point) {
            let Candidate { low, high, polygon, rank } = *candidate;
            if point[0] < low[0] || point[0] > high[0] || point[1] < low[1] || point[1] > high[1] {
                continue;
            }
            if best.is_some_and(|(best_rank, near)| rank > best_rank || rank == best_rank && near) {
                continue;
            }
            let found = self.polygons[polygon as usize].classify(point, self.boundary_tolerance_m);
            if !(found.inside || found.near_edge) {
                continue;
            }
            best = match best {
                Some((best_rank, near)) if best_rank == rank => {
                    Some((rank, near || found.near_edge))
                }
                _ => Some((rank, found.near_edge)),
            };
        }
        let chosen = best.map(|(rank, near)| (self.area_by_rank(rank), near));
        let direct = chosen.map(|(area, on_boundary)| Location {
            area,
            containing: Some(area),
            on_boundary,
            outside: false,
            distance_m: None,
        });
        if chosen.is_some_and(|(area, _)| area.level == Level::Grid) || self.grid_tree.size() == 0 {
            return direct;
        }
        match self.nearest_grid(point) {
            Some((area, distance_m)) => Some(Location {
                area,
                containing: chosen.map(|(area, _)| area),
                on_boundary: false,
                outside: true,
                distance_m: Some(distance_m),
            }),
            None => direct,
        }
    }

    fn area_by_rank(&self, rank: u32) -> &Area {
        &self.areas[self.by_rank[rank as usize] as usize]
    }

    /// Finds the grid whose boundary is nearest to `point` within
    /// `max_outside_distance_m`; equal distances go to the smaller code.
    fn nearest_grid(&self, point: [f64; 2]) -> Option<(&Area, f64)> {
        let [kx, ky] = metres_per_degree(point[1]);
        let (dx, dy) = (self.max_outside_distance_m / kx, self.max_outside_distance_m / ky);
        let around =
            AABB::from_corners([point[0] - dx, point[1] - dy], [point[0] + dx, point[1] + dy]);
        let mut best: Option<(f64, u32)> = None;
        for entry in self.grid_tree.locate_in_envelope_intersecting(&around) {
            let distance = self.polygons[entry.data as usize].boundary_distance_m(point);
            let rank = self.ranks[self.polygon_areas[entry.data as usize] as usize];
            if distance <= self.max_outside_distance_m
                && best.is_none_or(|(d, r)| distance < d || distance == d && rank < r)
            {
                best = Some((distance, rank));
            }
        }
        best.map(|(distance, rank)| (self.area_by_rank(rank), distance))
    }
}
