//! Storage of cases and their transition log on SQLite and PostgreSQL.
//!
//! Every change to a case is one transaction: the guarded `UPDATE … WHERE case_id = $1
//! AND version = $2`, the insert of its log entry and the change of the KPI rollup
//! ([`crate::cases::kpi::rollup`]). A transition that lost a race therefore writes
//! nothing and reports [`StoreError::VersionConflict`]. The same transaction records
//! the case's followers and writes one notice per follower.

pub mod followers;
mod list;
mod rows;

use self::rows::{CASE_COLUMNS, CaseRow, EventRow, INTAKE_ACTION};
use super::{
    record::{Case, CaseEvent},
    stage::{Action, Stage},
};
use crate::{
    apply_rollup,
    cases::{
        kpi::rollup::{FACT_COLUMNS, KpiFacts, RollupDelta},
        search::SearchIndex,
    },
    db::Db,
    with_pool,
};

pub use self::list::CaseFilter;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored case {case_id} is corrupt: {reason}")]
    Corrupt { case_id: i64, reason: String },
    /// The case changed since the caller read version `expected`; it is now `current`.
    #[error("case {case_id} is at version {current}, not {expected}")]
    VersionConflict { case_id: i64, expected: i64, current: i64 },
    #[error("case {0} not found")]
    NotFound(i64),
}

/// Storage of cases and their transition log.
pub trait CaseStore {
    /// Inserts a new case and its intake log entry in one transaction and returns the
    /// case with its id. `case.case_id` is ignored.
    fn insert_case(
        &self,
        case: &Case,
        event: &CaseEvent,
    ) -> impl Future<Output = Result<Case, StoreError>> + Send;
    fn case_by_id(
        &self,
        case_id: i64,
    ) -> impl Future<Output = Result<Option<Case>, StoreError>> + Send;
    /// Lists cases matching `filter`: by relevance when it has a search query, else
    /// newest first.
    fn list_cases(
        &self,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Vec<Case>, StoreError>> + Send;
    /// Stores the changed `case` if it is still at `expected_version`, with its log
    /// entry, its followers and one notice per follower, and returns it at the next
    /// version. A merge also makes the merged case's followers follow the survivor.
    ///
    /// # Errors
    /// [`StoreError::VersionConflict`] when another transition committed first, and
    /// [`StoreError::NotFound`] when the case does not exist; nothing is written.
    fn update_case(
        &self,
        case: &Case,
        expected_version: i64,
        event: &CaseEvent,
    ) -> impl Future<Output = Result<Case, StoreError>> + Send;
    /// Lists the transition log of a case, oldest first.
    fn case_events(
        &self,
        case_id: i64,
    ) -> impl Future<Output = Result<Vec<CaseEvent>, StoreError>> + Send;
    /// Finds the case behind a tracking page by its token.
    fn case_by_token(
        &self,
        tracking_token: &str,
    ) -> impl Future<Output = Result<Option<Case>, StoreError>> + Send;
    /// Lists the newest `limit` cases that `user_id` reported, newest first.
    fn cases_by_reporter(
        &self,
        user_id: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Case>, StoreError>> + Send;
    /// Appends a log entry that leaves the case as it is, such as a note. The case's
    /// version does not change, so the entry cannot conflict with a transition.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the case does not exist.
    fn insert_note(
        &self,
        case_id: i64,
        event: &CaseEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Checks that a department with this code exists.
    fn department_exists(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

const INSERT_EVENT: &str = "INSERT INTO case_event (case_id, action, from_stage, to_stage, \
     actor_user_id, actor_role, comment, reason, attachment_ids, details, occurred_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Binds the columns of [`INSERT_EVENT`] in order.
macro_rules! bind_event {
    ($case_id:expr, $event:expr) => {
        sqlx::query(INSERT_EVENT)
            .bind($case_id)
            .bind($event.action.map_or(INTAKE_ACTION, Action::as_str))
            .bind($event.from_stage.map(Stage::as_str))
            .bind($event.to_stage.as_str())
            .bind($event.actor_user_id)
            .bind($event.actor_role.as_deref())
            .bind(&$event.comment)
            .bind($event.reason.as_deref())
            .bind(serde_json::Value::from($event.attachment_ids.clone()).to_string())
            .bind($event.details.to_string())
            .bind($event.occurred_at)
    };
}

/// Returns the KPI facts of a case as [`CaseStore::insert_case`] stores it. The columns
/// it does not insert keep their defaults.
fn inserted_facts(case: &Case) -> KpiFacts {
    KpiFacts {
        handling_due_at: None,
        closed_at: None,
        rating: None,
        rework_count: 0,
        extension_count: 0,
        ..KpiFacts::of(case, None)
    }
}

/// Inserts `$case` and its intake log entry `$event` through the connection `$conn`,
/// with its search index entry and KPI rollup change, and evaluates to the new case id
/// as `Result<i64, sqlx::Error>`. The caller owns the transaction.
macro_rules! insert_case_on {
    ($conn:expr, $case:expr, $event:expr) => {{
        let case: &Case = $case;
        async {
            let (case_id,): (i64,) = sqlx::query_as(
                "INSERT INTO service_case (tracking_token, title, description, category_code, \
                 channel, reporter_user_id, reporter_contact, longitude, latitude, grid_id, \
                 community_id, outside_grids, department_code, stage, due_at, dispatch_due_at, \
                 version, created_at, updated_at, address) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20) RETURNING case_id",
            )
            .bind(&case.tracking_token)
            .bind(&case.title)
            .bind(&case.description)
            .bind(&case.category_code)
            .bind(case.channel.as_str())
            .bind(case.reporter_user_id)
            .bind(case.reporter_contact.as_deref())
            .bind(case.longitude)
            .bind(case.latitude)
            .bind(case.grid_id)
            .bind(case.community_id)
            .bind(case.outside_grids)
            .bind(&case.department_code)
            .bind(case.stage.as_str())
            .bind(case.due_at)
            .bind(case.dispatch_due_at)
            .bind(case.version)
            .bind(case.created_at)
            .bind(case.updated_at)
            .bind(case.address.as_deref())
            .fetch_one(&mut *$conn)
            .await?;
            bind_event!(case_id, $event).execute(&mut *$conn).await?;
            $conn.index_case(case_id).await?;
            apply_rollup!($conn, &RollupDelta::change(None, Some(&inserted_facts(case))))?;
            Ok::<_, sqlx::Error>(case_id)
        }
        .await
    }};
}

mod batch;
mod group;

/// Inserts one new case through a SQLite connection inside the caller's transaction or
/// savepoint; [`group`] commits several of these at once.
async fn insert_case_sqlite(
    conn: &mut sqlx::SqliteConnection,
    case: &Case,
    event: &CaseEvent,
) -> Result<i64, sqlx::Error> {
    insert_case_on!(conn, case, event)
}

impl CaseStore for Db {
    async fn insert_case(&self, case: &Case, event: &CaseEvent) -> Result<Case, StoreError> {
        let case_id = match self {
            // SQLite writes one transaction at a time: queue for a shared commit.
            Db::Sqlite(pool) => group::insert_case(self, pool, case, event).await?,
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let case_id = insert_case_on!(tx, case, event)?;
                tx.commit().await?;
                case_id
            }
        };
        Ok(Case { case_id, ..case.clone() })
    }

    async fn case_by_id(&self, case_id: i64) -> Result<Option<Case>, StoreError> {
        let query = format!("SELECT {CASE_COLUMNS} FROM service_case WHERE case_id = $1");
        let row: Option<CaseRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(case_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Case::try_from).transpose()
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        list::list_cases(self, filter).await
    }

    async fn update_case(
        &self,
        case: &Case,
        expected_version: i64,
        event: &CaseEvent,
    ) -> Result<Case, StoreError> {
        let lock = format!(
            "UPDATE service_case SET version = version WHERE case_id = $1 AND version = $2 \
             RETURNING {FACT_COLUMNS}"
        );
        let select_facts = format!("SELECT {FACT_COLUMNS} FROM service_case WHERE case_id = $1");
        let dispatched_at = (event.action == Some(Action::Dispatch)).then_some(event.occurred_at);
        let turn = self.write_turn().await;
        let updated_rows = with_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            // Locks the row first (SQLite takes its write lock here), so that the old
            // facts read are the ones the guarded update replaces.
            let old: Option<KpiFacts> = sqlx::query_as(sqlx::AssertSqlSafe(lock.clone()))
                .bind(case.case_id)
                .bind(expected_version)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(old) = old else {
                // Lost a race or no such case: the caller tells which.
                return Ok::<_, sqlx::Error>(0);
            };
            let first_dispatched_at = match (old.first_dispatched_at, dispatched_at) {
                (Some(first), Some(now)) => Some(first.min(now)),
                (first, now) => first.or(now),
            };
            // Only re-classification changes indexed text (the category names); other
            // transitions leave the search index entry as it is.
            let result = sqlx::query(
                "UPDATE service_case SET department_code = $3, stage = $4, due_at = $5, \
                 dispatch_due_at = $6, handling_due_at = $7, verification_due_at = $8, \
                 requested_extension_amount = $9, requested_extension_unit = $10, \
                 merged_into_case_id = $11, rating = $12, closed_at = $13, rework_count = $14, \
                 extension_count = $15, updated_at = $16, category_code = $17, \
                 first_dispatched_at = $18, \
                 version = version + 1 WHERE case_id = $1 AND version = $2",
            )
            .bind(case.case_id)
            .bind(expected_version)
            .bind(&case.department_code)
            .bind(case.stage.as_str())
            .bind(case.due_at)
            .bind(case.dispatch_due_at)
            .bind(case.handling_due_at)
            .bind(case.verification_due_at)
            // WorkingAmount caps amounts at MAX_AMOUNT (10,000), so the value fits.
            .bind(case.requested_extension.map(|extension| extension.amount as i32))
            .bind(case.requested_extension.map(|extension| extension.unit.as_str()))
            .bind(case.merged_into_case_id)
            .bind(case.rating)
            .bind(case.closed_at)
            .bind(case.rework_count)
            .bind(case.extension_count)
            .bind(case.updated_at)
            .bind(&case.category_code)
            .bind(first_dispatched_at)
            .execute(&mut *tx)
            .await?;
            bind_event!(case.case_id, event).execute(&mut *tx).await?;
            if event.action == Some(Action::Reclassify) {
                tx.index_case(case.case_id).await?;
            }
            crate::write_follow_ups!(tx, case, event);
            // The new facts are read back rather than taken from `case`, so that the
            // rollup follows whichever columns the update writes.
            let new: KpiFacts = sqlx::query_as(sqlx::AssertSqlSafe(select_facts.clone()))
                .bind(case.case_id)
                .fetch_one(&mut *tx)
                .await?;
            apply_rollup!(tx, &RollupDelta::change(Some(&old), Some(&new)))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(result.rows_affected())
        }
        .await)?;
        drop(turn);
        if updated_rows == 1 {
            return Ok(Case { version: expected_version + 1, ..case.clone() });
        }
        match self.case_by_id(case.case_id).await? {
            Some(current) => Err(StoreError::VersionConflict {
                case_id: case.case_id,
                expected: expected_version,
                current: current.version,
            }),
            None => Err(StoreError::NotFound(case.case_id)),
        }
    }

    async fn insert_note(&self, case_id: i64, event: &CaseEvent) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let result =
            with_pool!(self, |pool| { bind_event!(case_id, event).execute(pool).await.map(drop) });
        match result {
            Ok(_) => Ok(()),
            // The case_id foreign key is the only constraint the insert can break.
            Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
                Err(StoreError::NotFound(case_id))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>, StoreError> {
        let rows: Vec<EventRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT case_event_id, action, from_stage, to_stage, actor_user_id, actor_role, \
                 comment, reason, attachment_ids, details, occurred_at FROM case_event \
                 WHERE case_id = $1 ORDER BY case_event_id",
            )
            .bind(case_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(|row| row.into_event(case_id)).collect()
    }

    async fn case_by_token(&self, tracking_token: &str) -> Result<Option<Case>, StoreError> {
        let query = format!("SELECT {CASE_COLUMNS} FROM service_case WHERE tracking_token = $1");
        let row: Option<CaseRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(tracking_token)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Case::try_from).transpose()
    }

    async fn cases_by_reporter(&self, user_id: i64, limit: i64) -> Result<Vec<Case>, StoreError> {
        let query = format!(
            "SELECT {CASE_COLUMNS} FROM service_case WHERE reporter_user_id = $1 \
             ORDER BY case_id DESC LIMIT $2"
        );
        let rows: Vec<CaseRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(user_id)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(Case::try_from).collect()
    }

    async fn department_exists(&self, code: &str) -> Result<bool, StoreError> {
        let found: Option<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT department_code FROM department WHERE department_code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found.is_some())
    }
}
