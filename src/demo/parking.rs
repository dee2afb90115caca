//! Parking of the demo street: four lots, one of each owner type. Three of them have
//! shared spaces with weekly sharing windows, and each lot is counted once. The parking
//! console pages then show a working street on the first start.
//!
//! Everything goes through the same paths as an administrator's import, a published
//! window and a counted lot. The lots stand inside demo grids and are made up.

use chrono::Utc;
use geo::{Coord, MultiPolygon};

use super::places::inside;
use super::street::demo_areas;
use crate::{
    areas::Level,
    db::Db,
    locate::AreaIndex,
    parking::{
        booking::{lifecycle::Actor, sharing, windows::WindowInput},
        inventory::{
            self,
            import::{Format, import_inventory},
        },
    },
};

/// Ref, name, owner type, owner account, capacity, shared spaces, grid index and the
/// occupied spaces of the first count.
type DemoLot = (&'static str, &'static str, &'static str, &'static str, i64, usize, usize, i64);
const DEMO_LOTS: [DemoLot; 4] = [
    ("CW-P1", "春望里地下停车场", "residential", "", 120, 20, 0, 64),
    ("CW-P2", "春望商业街停车场", "merchant", "shanghu", 40, 10, 1, 31),
    ("CW-P3", "明湖写字楼停车场", "office", "", 80, 15, 10, 22),
    ("CW-P4", "青禾路路侧停车位", "public", "", 30, 0, 6, 27),
];

/// Lot ref, ISO weekdays, local opening and closing times, and audience of each window.
type DemoWindow = (&'static str, &'static [u8], &'static str, &'static str, &'static str);
const DEMO_WINDOWS: [DemoWindow; 4] = [
    // Residents drive to work: their spaces are free for commuters by day.
    ("CW-P1", &[1, 2, 3, 4, 5], "08:30", "17:30", "commuter"),
    // The shops close at night: residents park there overnight.
    ("CW-P2", &[1, 2, 3, 4, 5, 6, 7], "21:00", "08:00", "resident"),
    // The offices empty in the evening and at weekends.
    ("CW-P3", &[1, 2, 3, 4, 5], "19:00", "07:30", "resident"),
    ("CW-P3", &[6, 7], "00:00", "24:00", "any"),
];

/// Returns the inventory of [`DEMO_LOTS`] as an import CSV: each lot, then its spaces.
fn inventory_csv() -> String {
    let grids: Vec<MultiPolygon<f64>> = demo_areas()
        .into_iter()
        .filter(|area| area.level == Level::Grid)
        .filter_map(|area| area.geometry)
        .collect();
    let mut lines =
        vec!["record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude,shared,owner_username".to_owned()];
    for (lot_ref, name, owner_type, owner, capacity, shared, grid, _) in DEMO_LOTS {
        let Coord { x, y } =
            grids.get(grid).map_or(Coord { x: 0.0, y: 0.0 }, |area| inside(area, 2, 0.3));
        lines.push(format!("lot,{lot_ref},,{name},{owner_type},{capacity},{x:.6},{y:.6},,{owner}"));
        for number in 1..=shared {
            lines.push(format!("space,{lot_ref},{lot_ref}-{number:03},,,,,,true,"));
        }
    }
    lines.join("\n") + "\n"
}

/// Stores the demo lots, their windows and a first count, acting as `admin_id`.
///
/// # Errors
/// Fails when the database fails or a demo record is invalid.
pub async fn seed_parking(db: &Db, index: &AreaIndex, admin_id: i64) -> anyhow::Result<()> {
    let report = import_inventory(db, index, inventory_csv().as_bytes(), Format::Csv, false)
        .await
        .map_err(|error| anyhow::anyhow!("demo parking inventory invalid: {error}"))?;
    let admin = Actor { user_id: admin_id, is_administrator: true };
    let now = Utc::now();
    for (lot_ref, weekdays, start, end, audience) in DEMO_WINDOWS {
        let input = WindowInput {
            kind: "weekly".to_owned(),
            weekdays: weekdays.to_vec(),
            start_time: Some(start.to_owned()),
            end_time: Some(end.to_owned()),
            time_zone: None,
            valid_from: None,
            valid_until: None,
            starts_at: None,
            ends_at: None,
            space_ref: None,
            audience: Some(audience.to_owned()),
        };
        let window = input
            .parse("Asia/Shanghai")
            .map_err(|error| anyhow::anyhow!("demo window of {lot_ref} failed: {error}"))?;
        sharing::publish_window(db, admin, lot_ref, &window, now)
            .await
            .map_err(|error| anyhow::anyhow!("demo window of {lot_ref} failed: {error}"))?;
    }
    for (lot_ref, .., occupied) in DEMO_LOTS {
        inventory::record_count(db, lot_ref, occupied, now.timestamp_millis(), admin_id)
            .await
            .map_err(|error| anyhow::anyhow!("demo count of {lot_ref} failed: {error}"))?;
    }
    tracing::info!(
        parking.lots = report.lots,
        parking.spaces = report.spaces,
        "demo parking created"
    );
    Ok(())
}
