//! Import jobs: an import that runs in the background while its progress can be read.
//!
//! A job has the import's id and moves through [`JobState`]: reading the file, checking
//! rows, writing them in one transaction, then done, rejected (rows have problems, so
//! nothing was written) or failed. The node running a job keeps its live counts in
//! [`ImportJobs`], in memory, because on SQLite the write transaction holds the
//! database lock until it commits. The job's row in `resident_import_job` is written
//! when the job starts and when it ends. On PostgreSQL the node also rewrites the counts
//! every [`HEARTBEAT_INTERVAL`] through a pooled connection of its own, so any node can
//! show them. A running job not held in memory whose row has not changed for
//! [`STALE_AFTER`] belonged to a node that stopped, and reads as failed.
//!
//! A job belongs to the user who started it: [`find_job`] returns `None` for others,
//! except administrators. Finished jobs are deleted [`JOB_RETENTION`] after they end.

mod progress;
mod run;
mod store;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use self::{
    progress::{Progress, WritePause},
    run::start_job,
};
use super::Mode;
use crate::{
    accounts::{CurrentUser, Role},
    db::Db,
    i18n::Locale,
};

/// How often a running job's counts are written to its row on PostgreSQL: often enough
/// for a progress bar polled every few seconds, one small `UPDATE` per job.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// How long a running job's row may go unchanged before the job reads as abandoned:
/// 15 missed heartbeats, so that a busy database does not end a live job early.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// How long a finished job and its report stay readable: a week, long enough to look
/// up an import of the past days, short enough not to keep reports indefinitely.
pub const JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The stage an import job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Reading,
    Checking,
    Writing,
    Done,
    Rejected,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Reading => "reading",
            JobState::Checking => "checking",
            JobState::Writing => "writing",
            JobState::Done => "done",
            JobState::Rejected => "rejected",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Reading,
            JobState::Checking,
            JobState::Writing,
            JobState::Done,
            JobState::Rejected,
            JobState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// Reports whether the job has ended, so that its counts no longer change.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Done | JobState::Rejected | JobState::Failed)
    }
}

/// Why a job failed or was rejected: a stable code and its text in the language of the
/// user who started the job.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// An import job as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportJob {
    pub import_id: String,
    pub state: JobState,
    pub mode: Mode,
    pub file_name: String,
    /// Data rows in the file, known once it has been read.
    pub rows_total: Option<u64>,
    pub rows_checked: u64,
    /// Residents the write step will insert, known once the rows have been checked.
    pub rows_to_write: Option<u64>,
    pub rows_written: u64,
    /// The user id of the account that started the job.
    pub started_by: i64,
    pub started_at: DateTime<Utc>,
    /// When the counts were read: now for a job running on the node serving the request, else the
    /// last stored heartbeat.
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Once done or rejected, the report the synchronous call returns.
    pub report: Option<serde_json::Value>,
    pub error: Option<JobError>,
}

/// The outcome of a job, set once when it ends.
#[derive(Debug, Clone)]
pub struct Finished {
    pub state: JobState,
    pub report: Option<serde_json::Value>,
    pub error: Option<JobError>,
    pub finished_at: DateTime<Utc>,
}

/// What a job was started with; it does not change while the job runs.
#[derive(Debug, Clone)]
pub struct JobHeader {
    pub import_id: String,
    pub mode: Mode,
    pub file_name: String,
    pub started_by: i64,
    pub started_at: DateTime<Utc>,
}

/// A job running on this node, or finished here but not yet stored.
pub struct LiveJob {
    header: JobHeader,
    progress: Arc<Progress>,
    finished: Mutex<Option<Finished>>,
}

impl LiveJob {
    /// Builds the job's current view from its live counts.
    pub fn snapshot(&self) -> ImportJob {
        let counts = self.progress.counts();
        let finished = self.finished.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (state, finished_at, report, error) = match finished {
            Some(end) => (end.state, Some(end.finished_at), end.report, end.error),
            None => (counts.state, None, None, None),
        };
        ImportJob {
            import_id: self.header.import_id.clone(),
            state,
            mode: self.header.mode,
            file_name: self.header.file_name.clone(),
            rows_total: counts.rows_total,
            rows_checked: counts.rows_checked,
            rows_to_write: counts.rows_to_write,
            rows_written: counts.rows_written,
            started_by: self.header.started_by,
            started_at: self.header.started_at,
            updated_at: finished_at.unwrap_or_else(Utc::now),
            finished_at,
            report,
            error,
        }
    }

    fn finish(&self, outcome: Finished) {
        *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|end| end.finished_at)
    }
}

/// The import jobs running on this node, kept in the application state.
///
/// A job leaves the map once its outcome is stored; one whose outcome could not be
/// stored stays until [`JOB_RETENTION`] has passed, so that its starter can still read it.
#[derive(Default)]
pub struct ImportJobs {
    jobs: Mutex<HashMap<String, Arc<LiveJob>>>,
    /// A pause for the next job's write step; see [`ImportJobs::pause_next_write`].
    next_pause: Mutex<Option<Arc<WritePause>>>,
}

impl ImportJobs {
    /// Test hook: makes the next job started on this node stop after writing
    /// `after_rows` residents, inside its transaction, until the pause is released.
    /// Tests use it to read progress at a known point without racing the import.
    pub fn pause_next_write(&self, after_rows: u64) -> Arc<WritePause> {
        let pause = Arc::new(WritePause::new(after_rows));
        *self.next_pause.lock().unwrap_or_else(|e| e.into_inner()) = Some(pause.clone());
        pause
    }

    fn register(&self, header: JobHeader) -> Arc<LiveJob> {
        let pause = self.next_pause.lock().unwrap_or_else(|e| e.into_inner()).take();
        let progress = Arc::new(Progress::new(header.import_id.clone(), pause));
        let job = Arc::new(LiveJob { header, progress, finished: Mutex::new(None) });
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = Utc::now() - JOB_RETENTION;
        jobs.retain(|_, job| job.finished_at().is_none_or(|at| at > cutoff));
        jobs.insert(job.header.import_id.clone(), job.clone());
        job
    }

    fn get(&self, import_id: &str) -> Option<Arc<LiveJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(import_id).cloned()
    }

    fn forget(&self, import_id: &str) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).remove(import_id);
    }
}

/// Finds a job that `user` may read: their own, or any for an administrator.
///
/// Messages of abandoned jobs are in `locale`; other messages are in the starter's.
/// Reads this node's memory first and the stored row otherwise. A stored job that is
/// still running but not on this node reads as failed when it is abandoned: on SQLite
/// always, because only one node uses the file, and on PostgreSQL once its row is older
/// than [`STALE_AFTER`].
///
/// # Errors
/// The database error of the lookup.
pub async fn find_job(
    jobs: &ImportJobs,
    db: &Db,
    user: &CurrentUser,
    import_id: &str,
    locale: Locale,
) -> Result<Option<ImportJob>, sqlx::Error> {
    let Ok(import_id) = uuid::Uuid::parse_str(import_id.trim()) else {
        return Ok(None);
    };
    let import_id = import_id.to_string();
    let job = match jobs.get(&import_id) {
        Some(live) => live.snapshot(),
        None => match store::load_job(db, &import_id).await? {
            Some(stored) => {
                let single_node = matches!(db, Db::Sqlite(_));
                mark_abandoned(stored, single_node, Utc::now(), locale)
            }
            None => return Ok(None),
        },
    };
    let allowed = job.started_by == user.user_id || user.role == Role::Administrator;
    Ok(allowed.then_some(job))
}

/// Shows a running job from the database as failed when no node keeps it alive. On a
/// `single_node` database (SQLite) a job missing from memory is abandoned at once.
fn mark_abandoned(
    mut job: ImportJob,
    single_node: bool,
    now: DateTime<Utc>,
    locale: Locale,
) -> ImportJob {
    if job.state.is_finished() {
        return job;
    }
    let stale = (now - job.updated_at).to_std().is_ok_and(|age| age > STALE_AFTER);
    if !(single_node || stale) {
        return job;
    }
    // NOTE: a node that stopped between the commit and storing the outcome leaves a
    // written import that reads as abandoned; the audit log still has its entry.
    let message = crate::http::UserMessage::new("resident_import_job_abandoned");
    job.state = JobState::Failed;
    job.error = Some(JobError { code: message.code.to_owned(), message: message.render(locale) });
    job
}

/// Deletes the stored jobs that ended, or were abandoned, before [`JOB_RETENTION`].
///
/// # Errors
/// The database error of the delete.
pub async fn purge_old_jobs(db: &Db) -> Result<u64, sqlx::Error> {
    store::delete_before(db, Utc::now() - JOB_RETENTION).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_job(state: JobState, updated_seconds_ago: i64, now: DateTime<Utc>) -> ImportJob {
        let updated_at = now - chrono::Duration::seconds(updated_seconds_ago);
        ImportJob {
            import_id: "0193a000-0000-7000-8000-000000000000".to_owned(),
            state,
            mode: Mode::Apply,
            file_name: "street.csv".to_owned(),
            rows_total: Some(10),
            rows_checked: 10,
            rows_to_write: Some(10),
            rows_written: 4,
            started_by: 1,
            started_at: updated_at,
            updated_at,
            finished_at: state.is_finished().then_some(updated_at),
            report: None,
            error: None,
        }
    }

    #[test]
    fn stored_job_abandonment_by_backend_and_age() {
        let now = Utc::now();
        let stale = STALE_AFTER.as_secs() as i64 + 1;
        // (description, state, seconds since the last update, single node, expected state)
        let cases = [
            ("fresh heartbeat on PostgreSQL", JobState::Writing, 1, false, JobState::Writing),
            ("stale heartbeat on PostgreSQL", JobState::Writing, stale, false, JobState::Failed),
            ("running job not in memory on SQLite", JobState::Checking, 1, true, JobState::Failed),
            ("finished job, however old", JobState::Done, stale * 100, true, JobState::Done),
        ];
        for (description, state, age, single_node, expected) in cases {
            let job = mark_abandoned(stored_job(state, age, now), single_node, now, Locale::En);
            assert_eq!(job.state, expected, "{description}");
            let abandoned = job.error.map(|error| error.code);
            let expected_code = (expected != state).then(|| "resident_import_job_abandoned".into());
            assert_eq!(abandoned, expected_code, "{description}");
        }
    }
}
