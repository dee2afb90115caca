//! Group commit of new cases on SQLite.
//!
//! SQLite writes one transaction at a time, and under concurrent intake each case paid
//! for a whole transaction of its own: begin, commit, and the wait for the writer
//! before it. Here a new case joins the queue of its database file, and whichever task
//! gets the writer's turn next takes every queued case and stores them in one
//! transaction, with a few multi-row statements for the whole group
//! ([`super::batch`]). If that fails, it is rolled back and each case is stored inside
//! its own savepoint: a case that fails rolls back only its savepoint and gets its own
//! error; the others commit. Every caller hears its result only after the commit, so a
//! case id it receives is durable.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{LazyLock, Mutex},
};

use sqlx::{Connection, SqlitePool};
use tokio::sync::oneshot;

use super::{StoreError, batch, insert_case_sqlite};
use crate::{
    cases::case::record::{Case, CaseEvent},
    db::Db,
};

/// The result sent back for one queued case: its id, or why it was not stored.
type Reply = oneshot::Sender<Result<i64, sqlx::Error>>;

struct Job {
    case: Case,
    event: CaseEvent,
    reply: Reply,
}

/// Queued cases per SQLite file, so that two databases in one process (as in the tests)
/// never share a transaction.
// NOTE: two in-memory databases would share the key `:memory:`; citycore opens files only.
static PENDING: LazyLock<Mutex<HashMap<PathBuf, Vec<Job>>>> = LazyLock::new(Mutex::default);

/// Queues `case` for the next group commit of `pool`'s file and waits for its id.
pub(super) async fn insert_case(
    db: &Db,
    pool: &SqlitePool,
    case: &Case,
    event: &CaseEvent,
) -> Result<i64, StoreError> {
    let file = pool.connect_options().get_filename().to_path_buf();
    let (reply, answer) = oneshot::channel();
    let job = Job { case: case.clone(), event: event.clone(), reply };
    pending().entry(file.clone()).or_default().push(job);

    // The commit runs in its own task, so a caller that goes away (a closed
    // connection drops the request's future) cannot abandon the cases of others.
    // NOTE: such a caller's own case is still stored, as it was queued already.
    let (db, pool) = (db.clone(), pool.clone());
    tokio::spawn(async move {
        let _turn = db.write_turn().await;
        let jobs = pending().remove(&file).unwrap_or_default();
        if !jobs.is_empty() {
            commit_group(&pool, jobs).await;
        }
    });
    match answer.await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Database(sqlx::Error::Protocol(
            "group commit of new cases failed: its task stopped before returning a result"
                .to_owned(),
        ))),
    }
}

fn pending() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Vec<Job>>> {
    // A panic while holding this lock cannot leave the map half-changed.
    PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Stores `jobs` in one transaction and sends each caller its own result.
// NOTE: the single writer bounds intake: a group of about four cases takes about 2 ms,
// most of it, by a profile, in hand-offs of its statements to the driver's worker thread.
async fn commit_group(pool: &SqlitePool, jobs: Vec<Job>) {
    let count = jobs.len();
    let mut answered = Vec::with_capacity(count);
    let started = std::time::Instant::now();
    let outcome = store_all(pool, jobs, &mut answered).await;
    match outcome {
        Ok(()) => {
            let micros = started.elapsed().as_micros();
            tracing::debug!(cases = count, micros, "group commit of new cases");
            for (reply, result) in answered {
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            tracing::error!(cases = count, %error, "group commit of new cases failed");
            // Nothing of this group was written; a case that failed on its own keeps
            // its own error, the others hear why the commit failed.
            for (reply, result) in answered {
                let failed = result.and_then(|_| {
                    Err(sqlx::Error::Protocol(format!("group commit failed: {error}")))
                });
                let _ = reply.send(failed);
            }
        }
    }
}

/// Inserts the whole group with [`batch::insert_cases`] and commits. When that fails,
/// rolls it back and inserts each job in its own savepoint of a new transaction
/// instead. Jobs not reached when an error ends the transaction are dropped, which
/// their callers hear as an error.
async fn store_all(
    pool: &SqlitePool,
    jobs: Vec<Job>,
    answered: &mut Vec<(Reply, Result<i64, sqlx::Error>)>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let cases: Vec<(&Case, &CaseEvent)> = jobs.iter().map(|job| (&job.case, &job.event)).collect();
    match batch::insert_cases(&mut tx, &cases).await {
        Ok(case_ids) => {
            for (job, case_id) in jobs.into_iter().zip(case_ids) {
                answered.push((job.reply, Ok(case_id)));
            }
            return tx.commit().await;
        }
        Err(error) => {
            tracing::debug!(%error, "group insert failed; storing its cases one by one");
            tx.rollback().await?;
        }
    }
    let mut tx = pool.begin().await?;
    for job in jobs {
        let mut savepoint = (*tx).begin().await?;
        let result = insert_case_sqlite(&mut savepoint, &job.case, &job.event).await;
        match &result {
            Ok(_) => savepoint.commit().await?,
            Err(error) => {
                tracing::warn!(%error, "new case rejected inside a group commit");
                savepoint.rollback().await?;
            }
        }
        answered.push((job.reply, result));
    }
    tx.commit().await
}
