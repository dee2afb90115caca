//! Read-mostly tables kept in memory between requests, one snapshot per database.
//!
//! The working calendar, the category catalogue and the routing rules change a few
//! times a year but are read by every intake. A [`Snapshots`] keeps what one load
//! returned for each database by [`Db::cache_key`]. A change made through this process
//! calls [`Snapshots::forget`], so the next read loads again; a change made by another
//! node or process shows once the snapshot is older than [`MAX_AGE`].

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::Db;

/// Age after which a snapshot is loaded again from the database.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// Snapshots of one kind of data, one per database, each with the moment it was read.
pub struct Snapshots<T> {
    entries: Mutex<BTreeMap<String, (Instant, Arc<T>)>>,
    /// Counts the calls of [`Snapshots::forget`], so that a load that overlapped a
    /// change does not store what it read before the change.
    changes: AtomicU64,
}

impl<T> Snapshots<T> {
    /// Creates an empty set, usable in a `static`.
    pub const fn new() -> Snapshots<T> {
        Snapshots { entries: Mutex::new(BTreeMap::new()), changes: AtomicU64::new(0) }
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, (Instant, Arc<T>)>> {
        // Each entry is replaced whole, so a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the snapshot of `db` when it is younger than [`MAX_AGE`], and otherwise
    /// runs `load` and keeps its result unless a change was forgotten meanwhile.
    ///
    /// # Errors
    /// Whatever `load` returns.
    pub async fn get_or_load<E, F>(&self, db: &Db, load: F) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let key = db.cache_key();
        if let Some((read_at, value)) = self.entries().get(&key)
            && read_at.elapsed() < MAX_AGE
        {
            return Ok(Arc::clone(value));
        }
        let read_at = Instant::now();
        let changes = self.changes.load(Ordering::SeqCst);
        let value = Arc::new(load.await?);
        let mut entries = self.entries();
        if self.changes.load(Ordering::SeqCst) == changes {
            entries.insert(key, (read_at, Arc::clone(&value)));
        }
        Ok(value)
    }

    /// Drops the snapshot of `db` after a change of the data it contains.
    pub fn forget(&self, db: &Db) {
        let mut entries = self.entries();
        self.changes.fetch_add(1, Ordering::SeqCst);
        entries.remove(&db.cache_key());
    }
}

impl<T> Default for Snapshots<T> {
    fn default() -> Snapshots<T> {
        Snapshots::new()
    }
}
