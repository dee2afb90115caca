//! The `resident_import_job` table: a job's row at its start, its heartbeat and its end.

use chrono::{DateTime, Utc};

use super::{ImportJob, JobError, JobHeader, JobState};
use crate::{db::Db, residents::import::Mode, with_pool};

/// A row of `resident_import_job`, in column order.
type JobRow = (
    String,
    i64,
    String,
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Inserts the row of a job that starts now.
pub async fn insert_job(db: &Db, header: &JobHeader) -> Result<(), sqlx::Error> {
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO resident_import_job (import_job_id, started_by, mode, file_name, \
             state, started_at, updated_at) VALUES ($1, $2, $3, $4, 'reading', $5, $5)",
        )
        .bind(&header.import_id)
        .bind(header.started_by)
        .bind(mode_text(header.mode))
        .bind(&header.file_name)
        .bind(header.started_at)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Writes the counts of a running job and moves its heartbeat. A job that has ended
/// meanwhile is left as it is.
pub async fn save_progress(db: &Db, job: &ImportJob) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE resident_import_job SET state = $2, rows_total = $3, rows_checked = $4, \
             rows_to_write = $5, rows_written = $6, updated_at = $7 \
             WHERE import_job_id = $1 AND finished_at IS NULL",
        )
        .bind(&job.import_id)
        .bind(job.state.as_str())
        .bind(job.rows_total.map(count))
        .bind(count(job.rows_checked))
        .bind(job.rows_to_write.map(count))
        .bind(count(job.rows_written))
        .bind(job.updated_at)
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Stores the outcome of a job that has ended.
pub async fn finish_job(db: &Db, job: &ImportJob) -> Result<(), sqlx::Error> {
    let report = job.report.as_ref().map(serde_json::Value::to_string);
    let error = job.error.as_ref();
    let _turn = db.write_turn().await;
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE resident_import_job SET state = $2, rows_total = $3, rows_checked = $4, \
             rows_to_write = $5, rows_written = $6, report = $7, error_code = $8, \
             error_message = $9, updated_at = $10, finished_at = $10 \
             WHERE import_job_id = $1",
        )
        .bind(&job.import_id)
        .bind(job.state.as_str())
        .bind(job.rows_total.map(count))
        .bind(count(job.rows_checked))
        .bind(job.rows_to_write.map(count))
        .bind(count(job.rows_written))
        .bind(&report)
        .bind(error.map(|e| e.code.as_str()))
        .bind(error.map(|e| e.message.as_str()))
        .bind(job.finished_at.unwrap_or(job.updated_at))
        .execute(pool)
        .await
        .map(|_| ())
    })
}

/// Reads the stored row of a job.
pub async fn load_job(db: &Db, import_id: &str) -> Result<Option<ImportJob>, sqlx::Error> {
    let row: Option<JobRow> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT import_job_id, started_by, mode, file_name, state, rows_total, \
             rows_checked, rows_to_write, rows_written, report, error_code, error_message, \
             started_at, updated_at, finished_at \
             FROM resident_import_job WHERE import_job_id = $1",
        )
        .bind(import_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(job_of_row))
}

/// Deletes jobs that ended before `cutoff`, and running ones last updated before it.
pub async fn delete_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let _turn = db.write_turn().await;
    let deleted = with_pool!(db, |pool| {
        sqlx::query(
            "DELETE FROM resident_import_job WHERE finished_at < $1 \
             OR (finished_at IS NULL AND updated_at < $1)",
        )
        .bind(cutoff)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(deleted)
}

fn job_of_row(row: JobRow) -> ImportJob {
    let (import_id, started_by, mode, file_name, state, rows_total, rows_checked) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
    let (rows_to_write, rows_written, report, error_code, error_message) =
        (row.7, row.8, row.9, row.10, row.11);
    let error =
        error_code.map(|code| JobError { code, message: error_message.unwrap_or_default() });
    ImportJob {
        import_id,
        // The CHECK constraints allow only the values these parse.
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        mode: Mode::parse(&mode).unwrap_or(Mode::DryRun),
        file_name,
        rows_total: rows_total.map(uncount),
        rows_checked: uncount(rows_checked),
        rows_to_write: rows_to_write.map(uncount),
        rows_written: uncount(rows_written),
        started_by,
        started_at: row.12,
        updated_at: row.13,
        finished_at: row.14,
        report: report.and_then(|text| serde_json::from_str(&text).ok()),
        error,
    }
}

fn mode_text(mode: Mode) -> &'static str {
    match mode {
        Mode::DryRun => "dry_run",
        Mode::Apply => "apply",
    }
}

/// Converts a count for a signed 64-bit column; counts stay below [`super::super::MAX_ROWS`].
fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uncount(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
