//! Storage of login sessions on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{
    AccountError,
    store::{User, UserRow},
};
use crate::{db::Db, with_pool};

/// One row of [`SessionStore::session_with_user`]: the session, its user and one of the
/// user's areas (`None` for a user without areas).
#[derive(FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    session: SessionRecord,
    #[sqlx(flatten)]
    user: UserRow,
    area_id: Option<i64>,
}

/// A stored login session.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRecord {
    /// SHA-256 hex of the cookie token.
    pub session_id: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Storage of login sessions, keyed by the SHA-256 of the cookie token.
///
/// TODO: delete sessions past `expires_at` in a periodic job. Today an expired session
/// is deleted only when its cookie comes back, so abandoned rows accumulate.
pub trait SessionStore {
    fn insert_session(
        &self,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    fn session_by_id(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, AccountError>> + Send;
    /// Finds a session with its user and the user's areas in one query, so that the
    /// check of each request costs one round trip; `None` when either is missing.
    fn session_with_user(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<(SessionRecord, User)>, AccountError>> + Send;
    fn touch_session(
        &self,
        session_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    fn delete_session(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    /// Ends every session of a user, after a password change or deactivation.
    fn delete_user_sessions(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<u64, AccountError>> + Send;
}

impl SessionStore for Db {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO user_session (session_id, user_id, csrf_token, created_at, \
                 last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&session.session_id)
            .bind(session.user_id)
            .bind(&session.csrf_token)
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .bind(session.expires_at)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn session_by_id(&self, session_id: &str) -> Result<Option<SessionRecord>, AccountError> {
        let session = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT session_id, user_id, csrf_token, created_at, last_seen_at, expires_at \
                 FROM user_session WHERE session_id = $1",
            )
            .bind(session_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(session)
    }

    async fn session_with_user(
        &self,
        session_id: &str,
    ) -> Result<Option<(SessionRecord, User)>, AccountError> {
        let rows: Vec<SessionUserRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT s.session_id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, \
                 s.expires_at, u.username, u.display_name, u.role, u.password_hash, u.locale, \
                 u.active, u.failed_logins, u.locked_until, u.last_login_at, u.department_code, \
                 a.area_id FROM user_session s JOIN app_user u ON u.user_id = s.user_id \
                 LEFT JOIN user_area a ON a.user_id = u.user_id \
                 WHERE s.session_id = $1 ORDER BY a.area_id",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await
        })?;
        let area_ids: Vec<i64> = rows.iter().filter_map(|row| row.area_id).collect();
        let Some(row) = rows.into_iter().next() else { return Ok(None) };
        Ok(Some((row.session, row.user.into_user(area_ids)?)))
    }

    async fn touch_session(&self, session_id: &str, at: DateTime<Utc>) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE session_id = $2")
                .bind(at)
                .bind(session_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM user_session WHERE session_id = $1")
                .bind(session_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: i64) -> Result<u64, AccountError> {
        let deleted = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await
                .map(|result| result.rows_affected())
        })?;
        Ok(deleted)
    }
}
