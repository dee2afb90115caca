//! Storage of login sessions on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::AccountError;
use crate::{db::Db, with_pool};

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
