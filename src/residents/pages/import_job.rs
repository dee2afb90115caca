//! The progress page of an import job (`/residents/import/{import_id}`): a progress bar
//! with counts while the job runs, then its outcome.
//!
//! With JavaScript, htmx replaces the progress block every second with the fragment at
//! `/residents/import/{import_id}/progress`. Without it, the page reloads itself every
//! [`RELOAD_SECONDS`] until the job has ended.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{local_time, render_page};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, pages::PageContext},
    residents::import::job::{ImportJob, JobState, find_job},
};

/// Seconds between reloads of the page without JavaScript.
const RELOAD_SECONDS: u32 = 3;

#[derive(Template)]
#[template(path = "residents/import_job.html")]
struct ImportJobPage {
    ctx: PageContext,
    job: JobView,
    reload_seconds: u32,
}

#[derive(Template)]
#[template(path = "residents/_import_progress.html")]
struct ImportProgressFragment {
    ctx: PageContext,
    job: JobView,
}

/// A job as the page shows it.
struct JobView {
    import_id: String,
    state: &'static str,
    /// The state in the page's language.
    state_label: String,
    running: bool,
    file_name: String,
    /// The bar's value and maximum for the current step; no maximum while reading.
    bar_value: u64,
    bar_max: Option<u64>,
    rows_total: String,
    rows_checked: u64,
    rows_to_write: String,
    rows_written: u64,
    started_at: String,
    finished_at: Option<String>,
    report: Option<ReportSummary>,
    error: Option<String>,
}

/// The parts of an import report the outcome shows.
#[derive(Deserialize)]
struct ReportSummary {
    households_to_create: usize,
    households_to_join: usize,
    residents_to_create: usize,
    problem_count: usize,
    problems: Vec<ProblemLine>,
}

#[derive(Deserialize)]
struct ProblemLine {
    row: u32,
    column: String,
    message: String,
}

impl JobView {
    fn new(job: ImportJob, tz: chrono_tz::Tz, ctx: &PageContext) -> Self {
        let (bar_value, bar_max) = match job.state {
            JobState::Reading => (0, None),
            JobState::Checking => (job.rows_checked, job.rows_total),
            JobState::Writing => (job.rows_written, job.rows_to_write),
            _ => (1, Some(1)),
        };
        let known = |count: Option<u64>| count.map(|n| n.to_string()).unwrap_or_default();
        JobView {
            import_id: job.import_id,
            state: job.state.as_str(),
            state_label: ctx.t(&format!("resident-import-job-state-{}", job.state.as_str())),
            running: !job.state.is_finished(),
            file_name: job.file_name,
            bar_value,
            bar_max,
            rows_total: known(job.rows_total),
            rows_checked: job.rows_checked,
            rows_to_write: known(job.rows_to_write),
            rows_written: job.rows_written,
            started_at: local_time(job.started_at, tz),
            finished_at: job.finished_at.map(|at| local_time(at, tz)),
            report: job.report.and_then(|report| serde_json::from_value(report).ok()),
            error: job.error.map(|error| error.message),
        }
    }
}

/// Finds the user's job for a page, or 404.
async fn load_view(
    state: &AppState,
    user: &CurrentUser,
    ctx: &PageContext,
    import_id: &str,
) -> Result<JobView, AppError> {
    user.require(Permission::ManageResidents)?;
    let job = find_job(&state.import_jobs, &state.db, user, import_id, ctx.locale)
        .await?
        .ok_or_else(|| AppError::NotFound(UserMessage::new("resident_import_job_not_found")))?;
    Ok(JobView::new(job, state.settings.time_zone(), ctx))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, import.id = %import_id))]
pub async fn get_import_job(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(import_id): Path<String>,
) -> Result<Response, AppError> {
    let job = load_view(&state, &user, &ctx, &import_id).await?;
    let page = ImportJobPage { ctx: ctx.at("residents"), job, reload_seconds: RELOAD_SECONDS };
    render_page(&page, StatusCode::OK)
}

/// Returns the progress block alone, for htmx to swap in.
#[tracing::instrument(level = "debug", skip_all, fields(user.id = user.user_id))]
pub async fn get_import_progress(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(import_id): Path<String>,
) -> Result<Response, AppError> {
    let job = load_view(&state, &user, &ctx, &import_id).await?;
    render_page(&ImportProgressFragment { ctx, job }, StatusCode::OK)
}
