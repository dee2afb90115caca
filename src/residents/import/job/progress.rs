//! The live counts of one import, shared between the import and its readers.

use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::Notify;

use super::JobState;

/// A count that is not known yet, such as the rows of a file still being read.
const UNKNOWN: u64 = u64::MAX;

/// The state and counts of a running import. The import stores counts atomically and
/// the state under a lock held only for the copy, so a read never waits for the
/// import's database work.
pub struct Progress {
    import_id: String,
    state: Mutex<JobState>,
    rows_total: AtomicU64,
    rows_checked: AtomicU64,
    rows_to_write: AtomicU64,
    rows_written: AtomicU64,
    pause: Option<std::sync::Arc<WritePause>>,
}

/// A copy of the counts at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub state: JobState,
    pub rows_total: Option<u64>,
    pub rows_checked: u64,
    pub rows_to_write: Option<u64>,
    pub rows_written: u64,
}

impl Progress {
    pub(super) fn new(import_id: String, pause: Option<std::sync::Arc<WritePause>>) -> Self {
        Progress {
            import_id,
            state: Mutex::new(JobState::Reading),
            rows_total: AtomicU64::new(UNKNOWN),
            rows_checked: AtomicU64::new(0),
            rows_to_write: AtomicU64::new(UNKNOWN),
            rows_written: AtomicU64::new(0),
            pause,
        }
    }

    /// Builds the progress of a synchronous import under a new id. No reader sees it.
    pub fn detached() -> Self {
        Progress::new(uuid::Uuid::now_v7().to_string(), None)
    }

    /// Returns the import's id, which its report, log lines and audit entry carry.
    pub fn import_id(&self) -> &str {
        &self.import_id
    }

    pub fn set_state(&self, state: JobState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    pub fn set_rows_total(&self, rows: usize) {
        self.rows_total.store(rows as u64, Ordering::Relaxed);
    }

    pub fn set_rows_checked(&self, rows: usize) {
        self.rows_checked.store(rows as u64, Ordering::Relaxed);
    }

    pub fn set_rows_to_write(&self, rows: usize) {
        self.rows_to_write.store(rows as u64, Ordering::Relaxed);
    }

    /// Records `rows` residents written, and waits there if a test pause is set at
    /// that count.
    pub async fn set_rows_written(&self, rows: usize) {
        let rows = rows as u64;
        self.rows_written.store(rows, Ordering::Relaxed);
        if let Some(pause) = self.pause.as_ref().filter(|pause| pause.after_rows == rows) {
            pause.reached.notify_one();
            pause.release.notified().await;
        }
    }

    pub fn counts(&self) -> Counts {
        let known = |value: u64| (value != UNKNOWN).then_some(value);
        Counts {
            state: *self.state.lock().unwrap_or_else(|e| e.into_inner()),
            rows_total: known(self.rows_total.load(Ordering::Relaxed)),
            rows_checked: self.rows_checked.load(Ordering::Relaxed),
            rows_to_write: known(self.rows_to_write.load(Ordering::Relaxed)),
            rows_written: self.rows_written.load(Ordering::Relaxed),
        }
    }
}

/// A stop in a job's write step at a set number of residents, for tests that read
/// progress at a known point; see [`super::ImportJobs::pause_next_write`].
pub struct WritePause {
    after_rows: u64,
    reached: Notify,
    release: Notify,
}

impl WritePause {
    pub(super) fn new(after_rows: u64) -> Self {
        WritePause { after_rows, reached: Notify::new(), release: Notify::new() }
    }

    /// Waits until the job has written the residents and stopped.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the stopped job go on.
    pub fn release(&self) {
        self.release.notify_one();
    }
}
