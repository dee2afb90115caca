//! The working calendar kept in memory between requests.
//!
//! Every intake and transition needs the calendar for its deadline, and reading it
//! took two queries each time although it changes a few times a year. A snapshot per
//! database is kept here: changes through this process drop it at once, and it is
//! read again at most [`MAX_AGE`] later, so that a change made by another node or
//! process shows within that time.

use std::{
    collections::HashMap,
    sync::{
        Arc, LazyLock, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::{
    WorkingCalendar,
    store::{CalendarStore, StoreError},
};
use crate::db::Db;

/// Age after which a snapshot is read again from the database.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// Counts the changes of any calendar, so that a read that overlapped a change does not
/// store what it read before the change.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The snapshot of each database by [`Db::cache_key`], with the moment it was read.
type Snapshots = HashMap<String, (Instant, Arc<WorkingCalendar>)>;

static SNAPSHOTS: LazyLock<Mutex<Snapshots>> = LazyLock::new(Mutex::default);

fn snapshots() -> MutexGuard<'static, Snapshots> {
    // Each entry is replaced whole, so a panic elsewhere cannot leave one half-written.
    SNAPSHOTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Returns the calendar of `db`, from memory when the snapshot is recent.
///
/// # Errors
/// Fails when the calendar has to be read and the database fails or contains an invalid one.
pub async fn current_calendar(db: &Db) -> Result<Arc<WorkingCalendar>, StoreError> {
    let key = db.cache_key();
    if let Some((read_at, calendar)) = snapshots().get(&key)
        && read_at.elapsed() < MAX_AGE
    {
        return Ok(Arc::clone(calendar));
    }
    let read_at = Instant::now();
    let changes = CHANGES.load(Ordering::SeqCst);
    let calendar = Arc::new(db.load_calendar().await?);
    let mut snapshots = snapshots();
    if CHANGES.load(Ordering::SeqCst) == changes {
        snapshots.insert(key, (read_at, Arc::clone(&calendar)));
    }
    Ok(calendar)
}

/// Drops the snapshot of `db` after a change of its calendar.
pub fn forget_calendar(db: &Db) {
    let mut snapshots = snapshots();
    CHANGES.fetch_add(1, Ordering::SeqCst);
    snapshots.remove(&db.cache_key());
}
