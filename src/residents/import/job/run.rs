//! Starting a job and running it on a task of its own.

use std::sync::Arc;

use chrono::Utc;
use tracing::Instrument;

use super::{Finished, JobError, JobHeader, JobState, LiveJob, store};
use crate::{
    accounts::CurrentUser,
    audit::Actor,
    db::Db,
    http::{AppState, UserMessage},
    i18n::Locale,
    residents::import::{ImportContext, ImportError, ImportReport, Upload, run_import},
};

/// Starts `upload` as a background job of `user` and returns its id at once.
///
/// The job runs the same steps as [`run_import`], so its report equals the synchronous
/// call's, and its outcome is stored when it ends. The report and messages are in
/// `locale`.
///
/// # Errors
/// The database error of storing the new job; nothing runs then.
#[tracing::instrument(skip_all, fields(import.id, user.id = user.user_id))]
pub async fn start_job(
    state: &AppState,
    user: CurrentUser,
    actor: Actor,
    locale: Locale,
    upload: Upload,
) -> Result<String, sqlx::Error> {
    if let Err(error) = super::purge_old_jobs(&state.db).await {
        tracing::warn!(error = %error, "old resident import jobs not deleted");
    }
    let header = JobHeader {
        import_id: uuid::Uuid::now_v7().to_string(),
        mode: upload.mode,
        file_name: upload.file_name.clone(),
        started_by: user.user_id,
        started_at: Utc::now(),
    };
    let import_id = header.import_id.clone();
    tracing::Span::current().record("import.id", import_id.as_str());
    store::insert_job(&state.db, &header).await?;
    let job = state.import_jobs.register(header);
    tracing::info!("resident import job started");
    let task = run_job(state.clone(), job, user, actor, locale, upload);
    tokio::spawn(task.instrument(tracing::Span::current()));
    Ok(import_id)
}

/// Runs the import, keeps the stored row's counts fresh meanwhile on PostgreSQL, and
/// stores the outcome.
async fn run_job(
    state: AppState,
    job: Arc<LiveJob>,
    user: CurrentUser,
    actor: Actor,
    locale: Locale,
    upload: Upload,
) {
    let heartbeat = matches!(state.db, Db::Postgres(_))
        .then(|| tokio::spawn(beat(state.db.clone(), job.clone())));
    // The import runs on a task of its own so that a panic in it still ends the job.
    let import = tokio::spawn({
        let (state, progress) = (state.clone(), job.progress.clone());
        async move {
            let index = state.locator.snapshot();
            let ctx = ImportContext {
                db: &state.db,
                keys: &state.residents,
                index: &index,
                user: &user,
                actor: &actor,
                locale,
            };
            run_import(ctx, upload, &progress).await
        }
        .in_current_span()
    });
    let outcome = import.await.unwrap_or_else(|error| Err(ImportError::Reader(error)));
    if let Some(heartbeat) = heartbeat {
        heartbeat.abort();
    }
    job.finish(finished(outcome, locale, &job.header.import_id));
    let view = job.snapshot();
    match store::finish_job(&state.db, &view).await {
        Ok(()) => state.import_jobs.forget(&view.import_id),
        // The job stays in this node's memory, so its starter can still read it here.
        Err(error) => tracing::error!(error = %error, "resident import outcome not stored"),
    }
    tracing::info!(import.state = view.state.as_str(), "resident import job finished");
}

/// Writes the job's counts every [`super::HEARTBEAT_INTERVAL`] until aborted. Logs the
/// first failure of a run of failures, not each one.
async fn beat(db: Db, job: Arc<LiveJob>) {
    let mut interval = tokio::time::interval(super::HEARTBEAT_INTERVAL);
    let mut failing = false;
    loop {
        interval.tick().await;
        match store::save_progress(&db, &job.snapshot()).await {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(error = %error, "resident import progress not stored; retrying");
            }
            Err(_) => {}
        }
    }
}

/// Turns the import's result into the job's outcome.
fn finished(
    outcome: Result<ImportReport, ImportError>,
    locale: Locale,
    import_id: &str,
) -> Finished {
    let as_json = |report: &ImportReport| serde_json::to_value(report).ok();
    let error_of = |message: UserMessage| {
        Some(JobError { code: message.code.to_owned(), message: message.render(locale) })
    };
    let (state, report, error) = match outcome {
        Ok(report) => (JobState::Done, as_json(&report), None),
        Err(ImportError::Rejected(report)) => {
            let message =
                UserMessage::new("resident_import_rejected").arg("problems", report.problem_count);
            (JobState::Rejected, as_json(&report), error_of(message))
        }
        Err(ImportError::File(message)) => (JobState::Failed, None, error_of(message)),
        Err(ImportError::Conflict) => {
            (JobState::Failed, None, error_of(UserMessage::new("resident_import_conflict")))
        }
        Err(ImportError::TooLarge) => {
            (JobState::Failed, None, error_of(UserMessage::new("payload_too_large")))
        }
        Err(error @ (ImportError::Reader(_) | ImportError::Store(_))) => {
            tracing::error!(error = %error, error.cause = ?error, "resident import job failed");
            let message = UserMessage::new("resident_import_job_failed").arg("id", import_id);
            (JobState::Failed, None, error_of(message))
        }
    };
    Finished { state, report, error, finished_at: Utc::now() }
}
