//! The gazetteer of the demo street: compounds, buildings, roads, landmarks and door
//! numbers of 春望街道, each placed inside one of its generated grids. The names are
//! made up in the style of Beijing addresses; none is a real place.

use geo::{Centroid, Coord, MultiPolygon};

use super::street::demo_areas;
use crate::areas::Level;

/// One residential compound (小区) per grid, in the order of the grids: 8 communities
/// of 5 grids each. The first entry of a pair is the name, the second its aliases.
const COMPOUNDS: [(&str, &str); 40] = [
    ("春望里", "春望小区"),
    ("春晖园东里", ""),
    ("春晖园西里", ""),
    ("春晖嘉园", ""),
    ("春晖家属院", ""),
    ("青禾里小区", "青禾里"),
    ("青禾北里", ""),
    ("禾苑", "禾苑小区"),
    ("青禾雅居", ""),
    ("青禾南里", ""),
    ("明湖东区", "明湖小区东区"),
    ("明湖西区", "明湖小区西区"),
    ("湖光里", ""),
    ("明湖花园", ""),
    ("望湖公寓", ""),
    ("悦秀园一区", ""),
    ("悦秀园二区", ""),
    ("悦秀园三区", ""),
    ("秀水嘉园", ""),
    ("悦秀公寓", ""),
    ("望晴里", ""),
    ("晴川家园", ""),
    ("望晴东里", ""),
    ("望晴西里", ""),
    ("晴园", "晴园小区"),
    ("清枫华景", "清枫华景园"),
    ("枫林苑", ""),
    ("清枫北里", ""),
    ("清枫南里", ""),
    ("红枫小区", ""),
    ("锦安里", ""),
    ("锦绣家园", ""),
    ("安华里", ""),
    ("锦安东苑", ""),
    ("锦安西苑", ""),
    ("朝晖里", ""),
    ("朝晖东苑", ""),
    ("朝晖西苑", ""),
    ("晖园", ""),
    ("朝晖公寓", ""),
];

/// Roads, landmarks and door numbers: name, aliases, kind, and the grid (index into
/// the street's grids) whose corner the point leans towards.
const OTHER_PLACES: [(&str, &str, &str, usize); 16] = [
    ("春望路", "", "road", 2),
    ("春望东路", "", "road", 8),
    ("青禾路", "", "road", 12),
    ("明湖路", "明湖大街", "road", 16),
    ("朝晖北街", "", "road", 36),
    ("锦安胡同", "", "road", 31),
    ("春望街道办事处", "街道办|春望街道办", "landmark", 3),
    ("春望小学", "", "landmark", 6),
    ("明湖公园", "", "landmark", 13),
    ("朝晖菜市场", "", "landmark", 37),
    ("春望社区卫生服务中心", "社区医院", "landmark", 22),
    ("悦秀园幼儿园", "", "landmark", 18),
    ("锦安体育公园", "", "landmark", 33),
    ("春望路8号", "", "door", 2),
    ("青禾路12号", "", "door", 12),
    ("明湖路3号", "", "door", 16),
];

/// Buildings (楼栋) generated in each compound.
const BUILDINGS_PER_COMPOUND: usize = 3;

/// Builds the demo gazetteer as CSV in the format `citycore places import` reads,
/// WGS-84 points, so that the demo goes through the same import as real data.
pub fn demo_places_csv() -> String {
    let grids: Vec<MultiPolygon<f64>> = demo_areas()
        .into_iter()
        .filter(|area| area.level == Level::Grid)
        .filter_map(|area| area.geometry)
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    // A csv::Writer over a Vec fails only on I/O, which a Vec never reports, so the
    // results here and below are ignored.
    let _ = writer.write_record(crate::places::csv::COLUMNS);
    let mut row = |name: &str, aliases: &str, kind: &str, point: Coord<f64>| {
        let longitude = format!("{:.6}", point.x);
        let latitude = format!("{:.6}", point.y);
        let _ = writer.write_record([name, aliases, kind, &longitude, &latitude]);
    };
    for (grid, (name, aliases)) in grids.iter().zip(COMPOUNDS) {
        row(name, aliases, "residential", inside(grid, 0, 0.0));
        for number in 1..=BUILDINGS_PER_COMPOUND {
            let building = format!("{name}{number}号楼");
            row(&building, "", "building", inside(grid, number - 1, 0.45));
        }
    }
    for (name, aliases, kind, grid) in OTHER_PLACES {
        row(name, aliases, kind, inside(&grids[grid], 3, 0.55));
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Returns the point `share` of the way from a grid's centroid to its `corner`-th
/// vertex. The demo grids are convex quadrilaterals, so any share below 1 stays inside;
/// the test below checks every demo place.
pub(super) fn inside(grid: &MultiPolygon<f64>, corner: usize, share: f64) -> Coord<f64> {
    let centre = grid.centroid().map_or(Coord { x: 0.0, y: 0.0 }, |point| point.0);
    let ring = grid.0.first().map(|polygon| polygon.exterior().0.clone()).unwrap_or_default();
    let vertex = ring.get(corner).copied().unwrap_or(centre);
    Coord {
        x: centre.x + share * (vertex.x - centre.x),
        y: centre.y + share * (vertex.y - centre.y),
    }
}

#[cfg(test)]
mod tests {
    use geo::{Contains, Point};

    use super::*;
    use crate::places::csv::parse_places;

    #[test]
    fn demo_places_import_inside_grids() {
        let text = demo_places_csv();
        let rows = parse_places(text.as_bytes()).expect("demo gazetteer is a valid import file");
        assert_eq!(rows.len(), 40 * (1 + BUILDINGS_PER_COMPOUND) + OTHER_PLACES.len());
        let grids: Vec<MultiPolygon<f64>> = demo_areas()
            .into_iter()
            .filter(|area| area.level == Level::Grid)
            .filter_map(|area| area.geometry)
            .collect();
        for row in rows {
            let point = Point::new(row.longitude, row.latitude);
            let count = grids.iter().filter(|grid| grid.contains(&point)).count();
            assert_eq!(count, 1, "{} lies in exactly one grid", row.name);
        }
    }
}
