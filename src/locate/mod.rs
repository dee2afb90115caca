//! Point-to-grid lookup over an in-memory index of the areas.
//!
//! [`Locator`] holds the current [`AreaIndex`] behind a lock that readers hold only to
//! clone an `Arc`, so lookups never wait for a rebuild. The index is rebuilt after local
//! changes and, for changes made by other nodes, when the area revision in the database
//! moves (checked every `locate.refresh_seconds`). `GET /api/v1/locate` is public
//! because the residents' report form calls it before anyone logs in.

mod buckets;
mod http;
mod index;
pub mod polygon;

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

pub use http::router;
pub use index::{AreaIndex, Location};

use crate::{areas::AreaStore, config::LocateSettings, db::Db};

/// The node's current area index and the settings for lookups; clones share both.
#[derive(Clone)]
pub struct Locator {
    inner: Arc<LocatorInner>,
}

struct LocatorInner {
    settings: LocateSettings,
    current: RwLock<Arc<AreaIndex>>,
}

impl Locator {
    pub fn new(settings: LocateSettings) -> Self {
        let inner = LocatorInner { settings, current: RwLock::new(Arc::new(AreaIndex::default())) };
        Self { inner: Arc::new(inner) }
    }

    pub fn settings(&self) -> &LocateSettings {
        &self.inner.settings
    }

    /// Returns the current snapshot.
    pub fn snapshot(&self) -> Arc<AreaIndex> {
        self.inner.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the index from the database.
    ///
    /// # Errors
    /// Fails when the areas cannot be read; the old index stays in place.
    #[tracing::instrument(skip_all)]
    pub async fn reload(&self, db: &Db) -> anyhow::Result<()> {
        let revision = db.area_revision().await?;
        let areas = db.list_areas().await?;
        let settings = self.inner.settings.clone();
        // Building parses and indexes every polygon: CPU work kept off the async workers.
        let index =
            tokio::task::spawn_blocking(move || AreaIndex::build(revision, areas, &settings))
                .await?;
        tracing::info!(
            areas.revision = revision,
            areas.count = index.area_count(),
            areas.polygons = index.polygon_count(),
            "area index rebuilt"
        );
        *self.inner.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(index);
        Ok(())
    }

    /// Starts the background task that follows area changes made by other nodes: it
    /// reads the area revision every `refresh_seconds` and rebuilds when it moved.
    pub fn spawn_refresher(&self, db: Db) -> tokio::task::JoinHandle<()> {
        let locator = self.clone();
        let period = Duration::from_secs(self.inner.settings.refresh_seconds.max(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                locator.refresh_once(&db).await;
            }
        })
    }

    /// Rebuilds when the stored revision differs from the index's; logs failures.
    async fn refresh_once(&self, db: &Db) {
        let stored = match db.area_revision().await {
            Ok(revision) => revision,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the area revision; keeping the index");
                return;
            }
        };
        if stored == self.snapshot().revision() {
            return;
        }
        if let Err(error) = self.reload(db).await {
            tracing::error!(error = %error, error.cause_chain = ?error, "area index rebuild failed");
        }
    }
}
