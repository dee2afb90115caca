//! Storage of duplicate candidates, case followers and the reporter notice outbox.
//!
//! Followers and notices are written by [`super::CaseStore::update_case`] inside the
//! transition's own transaction through `write_follow_ups!`, so a transition that
//! loses its version race leaves no notice behind.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{
    StoreError,
    rows::{CASE_COLUMNS, CaseRow},
};
use crate::{
    cases::case::{record::Case, stage::Stage},
    db::Db,
    with_pool,
};

/// Adds the case's own reporter (`$1`) as its follower at `$2`.
pub(super) const FOLLOW_SELF: &str = "INSERT INTO case_follower (case_id, source_case_id, \
     created_at) VALUES ($1, $1, $2) ON CONFLICT (case_id, source_case_id) DO NOTHING";

/// Copies every follower of the merged case `$3` onto the surviving case `$1` at `$2`.
pub(super) const COPY_FOLLOWERS: &str = "INSERT INTO case_follower (case_id, source_case_id, \
     created_at) SELECT $1, source_case_id, $2 FROM case_follower WHERE case_id = $3 \
     ON CONFLICT (case_id, source_case_id) DO NOTHING";

/// Writes one notice per follower of case `$1`: stage `$2`, message `$3`, at `$4`.
pub(super) const NOTIFY_FOLLOWERS: &str = "INSERT INTO case_notice (case_id, source_case_id, \
     recipient_user_id, tracking_token, stage, message_key, created_at) \
     SELECT f.case_id, f.source_case_id, s.reporter_user_id, s.tracking_token, $2, $3, $4 \
     FROM case_follower f JOIN service_case s ON s.case_id = f.source_case_id \
     WHERE f.case_id = $1";

/// Fluent id of the notice that a reporter's case was merged into another one.
pub const NOTICE_MERGED: &str = "dup-notice-merged";
/// Fluent id of the notice that a followed case moved to a new stage.
pub const NOTICE_STAGE_CHANGED: &str = "dup-notice-stage-changed";

/// Records followers and writes notices for a transition of `$case` that `$event`
/// describes, on the open transaction `$tx`. A merge first notifies the merged case's
/// followers, then hands them and the merged case's own reporter to the survivor.
#[macro_export]
macro_rules! write_follow_ups {
    ($tx:expr, $case:expr, $event:expr) => {{
        use $crate::cases::case::store::followers as follow;
        let case: &$crate::cases::case::record::Case = $case;
        let event: &$crate::cases::case::record::CaseEvent = $event;
        let merge_target = case
            .merged_into_case_id
            .filter(|_| event.action == Some($crate::cases::case::stage::Action::Merge));
        let message_key = if merge_target.is_some() {
            follow::NOTICE_MERGED
        } else {
            follow::NOTICE_STAGE_CHANGED
        };
        sqlx::query(follow::FOLLOW_SELF)
            .bind(case.case_id)
            .bind(event.occurred_at)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(follow::NOTIFY_FOLLOWERS)
            .bind(case.case_id)
            .bind(case.stage.as_str())
            .bind(message_key)
            .bind(event.occurred_at)
            .execute(&mut *$tx)
            .await?;
        if let Some(target) = merge_target {
            sqlx::query(follow::FOLLOW_SELF)
                .bind(target)
                .bind(event.occurred_at)
                .execute(&mut *$tx)
                .await?;
            sqlx::query(follow::COPY_FOLLOWERS)
                .bind(target)
                .bind(event.occurred_at)
                .bind(case.case_id)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// The area a duplicate search reads: one category, a latitude and longitude box in
/// WGS-84 degrees and the earliest report time.
#[derive(Debug, Clone)]
pub struct CandidateBox {
    pub category_code: String,
    pub min_latitude: f64,
    pub max_latitude: f64,
    pub min_longitude: f64,
    pub max_longitude: f64,
    pub created_since: DateTime<Utc>,
    /// The case the search is for, left out of its own results.
    pub exclude_case_id: i64,
    pub limit: i64,
}

/// One stored reporter notice.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CaseNotice {
    pub case_id: i64,
    /// The case the recipient reported; its tracking token reaches them.
    pub source_case_id: i64,
    pub recipient_user_id: Option<i64>,
    pub tracking_token: String,
    pub stage: String,
    pub message_key: String,
    pub created_at: DateTime<Utc>,
}

/// Storage of duplicate candidates, followers and notices.
pub trait FollowStore {
    /// Lists open cases inside `area`, newest first, at most `area.limit`.
    fn duplicate_candidates(
        &self,
        area: &CandidateBox,
    ) -> impl Future<Output = Result<Vec<Case>, StoreError>> + Send;
    /// Returns the rating that the reporter of `source_case_id` gave `case_id` as its
    /// follower: `None` when they have no follower row, `Some(None)` before rating.
    fn follower_rating(
        &self,
        case_id: i64,
        source_case_id: i64,
    ) -> impl Future<Output = Result<Option<Option<i32>>, StoreError>> + Send;
    /// Stores the follower's rating unless they rated before; returns whether it stored.
    fn rate_as_follower(
        &self,
        case_id: i64,
        source_case_id: i64,
        rating: i32,
        comment: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Lists the notices about `case_id`, oldest first.
    fn case_notices(
        &self,
        case_id: i64,
    ) -> impl Future<Output = Result<Vec<CaseNotice>, StoreError>> + Send;
}

impl FollowStore for Db {
    async fn duplicate_candidates(&self, area: &CandidateBox) -> Result<Vec<Case>, StoreError> {
        let closed = [Stage::Closed, Stage::Rated, Stage::Voided, Stage::Merged]
            .map(|stage| format!("'{}'", stage.as_str()))
            .join(", ");
        // The limit is an integer written into the text. A SQLite built without
        // SQLITE_ENABLE_QPSG (see .cargo/config.toml) re-prepares a statement whenever a
        // value is bound to its LIMIT.
        let limit = area.limit;
        let query = format!(
            "SELECT {CASE_COLUMNS} FROM service_case WHERE category_code = $1 \
             AND latitude BETWEEN $2 AND $3 AND longitude BETWEEN $4 AND $5 \
             AND created_at >= $6 AND case_id <> $7 AND stage NOT IN ({closed}) \
             ORDER BY case_id DESC LIMIT {limit}"
        );
        let rows: Vec<CaseRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(&area.category_code)
                .bind(area.min_latitude)
                .bind(area.max_latitude)
                .bind(area.min_longitude)
                .bind(area.max_longitude)
                .bind(area.created_since)
                .bind(area.exclude_case_id)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(Case::try_from).collect()
    }

    async fn follower_rating(
        &self,
        case_id: i64,
        source_case_id: i64,
    ) -> Result<Option<Option<i32>>, StoreError> {
        let row: Option<(Option<i32>,)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT rating FROM case_follower WHERE case_id = $1 AND source_case_id = $2",
            )
            .bind(case_id)
            .bind(source_case_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(rating,)| rating))
    }

    async fn rate_as_follower(
        &self,
        case_id: i64,
        source_case_id: i64,
        rating: i32,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The upsert also covers merges stored before followers were recorded.
        let updated_rows = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO case_follower (case_id, source_case_id, rating, rating_comment, \
                 rated_at, created_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (case_id, source_case_id) DO UPDATE SET rating = excluded.rating, \
                 rating_comment = excluded.rating_comment, rated_at = excluded.rated_at \
                 WHERE case_follower.rating IS NULL",
            )
            .bind(case_id)
            .bind(source_case_id)
            .bind(rating)
            .bind(comment)
            .bind(now)
            .execute(pool)
            .await
            .map(|result| result.rows_affected())
        })?;
        Ok(updated_rows == 1)
    }

    async fn case_notices(&self, case_id: i64) -> Result<Vec<CaseNotice>, StoreError> {
        let notices = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT case_id, source_case_id, recipient_user_id, tracking_token, stage, \
                 message_key, created_at FROM case_notice WHERE case_id = $1 \
                 ORDER BY case_notice_id",
            )
            .bind(case_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(notices)
    }
}
