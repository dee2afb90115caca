//! Storage of accounts and their area scopes on SQLite and PostgreSQL.
//!
//! Expiry and lock times are compared in Rust, not in SQL, because SQLite stores
//! timestamps as text whose comparison depends on the stored format.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{AccountError, Role};
use crate::{db::Db, i18n::Locale, with_pool};

/// A stored account with its area scope.
#[derive(Debug, Clone)]
pub struct User {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub locale: Option<Locale>,
    pub active: bool,
    /// Consecutive failed logins since the last success or lock.
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub area_ids: Vec<i64>,
    /// The department whose cases a handler works on. `None` for other roles and for
    /// handlers scoped by area alone.
    pub department_code: Option<String>,
}

impl User {
    /// Checks whether a lock is in force at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(FromRow)]
pub(super) struct UserRow {
    user_id: i64,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
    locale: Option<String>,
    active: bool,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
    department_code: Option<String>,
}

impl UserRow {
    pub(super) fn into_user(self, area_ids: Vec<i64>) -> Result<User, AccountError> {
        let role = Role::parse(&self.role).ok_or_else(|| {
            anyhow::anyhow!("user {} has unknown role {}", self.user_id, self.role)
        })?;
        Ok(User {
            user_id: self.user_id,
            username: self.username,
            display_name: self.display_name,
            role,
            password_hash: self.password_hash,
            locale: self.locale.as_deref().and_then(Locale::parse),
            active: self.active,
            failed_logins: self.failed_logins,
            locked_until: self.locked_until,
            last_login_at: self.last_login_at,
            area_ids,
            department_code: self.department_code,
        })
    }
}

const USER_COLUMNS: &str = "user_id, username, display_name, role, password_hash, locale, \
     active, failed_logins, locked_until, last_login_at, department_code";

/// A validated account to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub locale: Option<Locale>,
    pub area_ids: Vec<i64>,
    pub department_code: Option<String>,
}

/// The fields an administrator edits.
#[derive(Debug, Clone)]
pub struct UserChanges {
    pub display_name: String,
    pub role: Role,
    pub area_ids: Vec<i64>,
    pub active: bool,
    pub department_code: Option<String>,
}

/// Storage of accounts.
pub trait AccountStore {
    /// Inserts an account and its areas in one transaction and returns its id.
    ///
    /// # Errors
    /// [`AccountError::UsernameTaken`] when the username exists.
    fn insert_user(&self, user: &NewUser)
    -> impl Future<Output = Result<i64, AccountError>> + Send;
    fn user_by_id(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<Option<User>, AccountError>> + Send;
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, AccountError>> + Send;
    /// Lists every account ordered by username.
    fn list_users(&self) -> impl Future<Output = Result<Vec<User>, AccountError>> + Send;
    /// Replaces the edited fields and the area scope; returns false when there is no such user.
    fn update_user(
        &self,
        user_id: i64,
        changes: &UserChanges,
    ) -> impl Future<Output = Result<bool, AccountError>> + Send;
    fn set_user_locale(
        &self,
        user_id: i64,
        locale: Option<Locale>,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    /// Counts one more failed login and returns the new count.
    fn record_failed_login(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<i32, AccountError>> + Send;
    /// Locks the account until `until` and restarts the failure count.
    fn lock_user(
        &self,
        user_id: i64,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
    /// Clears the lock and the failure count.
    fn unlock_user(&self, user_id: i64) -> impl Future<Output = Result<(), AccountError>> + Send;
    /// Clears the failure count and stamps the login time.
    fn record_successful_login(
        &self,
        user_id: i64,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;
}

fn unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl AccountStore for Db {
    async fn insert_user(&self, user: &NewUser) -> Result<i64, AccountError> {
        let now = Utc::now();
        // The async block keeps `?` inside, so that a unique violation reaches map_err.
        let inserted: Result<i64, sqlx::Error> = with_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO app_user (username, display_name, role, password_hash, locale, \
                 active, failed_logins, created_at, updated_at, department_code) \
                 VALUES ($1, $2, $3, $4, $5, TRUE, 0, $6, $6, $7) RETURNING user_id",
            )
            .bind(&user.username)
            .bind(&user.display_name)
            .bind(user.role.as_str())
            .bind(&user.password_hash)
            .bind(user.locale.map(Locale::tag))
            .bind(now)
            .bind(user.department_code.as_deref())
            .fetch_one(&mut *tx)
            .await?;
            for area_id in &user.area_ids {
                sqlx::query("INSERT INTO user_area (user_id, area_id) VALUES ($1, $2)")
                    .bind(user_id)
                    .bind(area_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(user_id)
        }
        .await);
        inserted.map_err(|error| {
            if unique_violation(&error) {
                AccountError::UsernameTaken(user.username.clone())
            } else {
                AccountError::Database(error)
            }
        })
    }

    async fn user_by_id(&self, user_id: i64) -> Result<Option<User>, AccountError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE user_id = $1");
        let row: Option<UserRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_optional(pool).await
        })?;
        self.attach_areas(row).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, AccountError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE username = $1");
        let row: Option<UserRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(pool).await
        })?;
        self.attach_areas(row).await
    }

    async fn list_users(&self) -> Result<Vec<User>, AccountError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user ORDER BY username");
        let (rows, scopes): (Vec<UserRow>, Vec<(i64, i64)>) = with_pool!(self, |pool| {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            let scopes = sqlx::query_as("SELECT user_id, area_id FROM user_area ORDER BY area_id")
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((rows, scopes))
        })?;
        rows.into_iter()
            .map(|row| {
                let user_id = row.user_id;
                let ids = scopes.iter().filter(|(u, _)| *u == user_id).map(|(_, a)| *a);
                row.into_user(ids.collect())
            })
            .collect()
    }

    async fn update_user(&self, user_id: i64, changes: &UserChanges) -> Result<bool, AccountError> {
        let now = Utc::now();
        let updated: bool = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let result = sqlx::query(
                "UPDATE app_user SET display_name = $1, role = $2, active = $3, updated_at = $4, \
                 department_code = $6 WHERE user_id = $5",
            )
            .bind(&changes.display_name)
            .bind(changes.role.as_str())
            .bind(changes.active)
            .bind(now)
            .bind(user_id)
            .bind(changes.department_code.as_deref())
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM user_area WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for area_id in &changes.area_ids {
                sqlx::query("INSERT INTO user_area (user_id, area_id) VALUES ($1, $2)")
                    .bind(user_id)
                    .bind(area_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(result.rows_affected() == 1)
        })?;
        Ok(updated)
    }

    async fn set_user_locale(
        &self,
        user_id: i64,
        locale: Option<Locale>,
    ) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE app_user SET locale = $1, updated_at = $2 WHERE user_id = $3")
                .bind(locale.map(Locale::tag))
                .bind(Utc::now())
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE app_user SET password_hash = $1, updated_at = $2 WHERE user_id = $3",
            )
            .bind(password_hash)
            .bind(Utc::now())
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn record_failed_login(&self, user_id: i64) -> Result<i32, AccountError> {
        // One statement increments and reads, so concurrent failures each count.
        let count: i32 = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "UPDATE app_user SET failed_logins = failed_logins + 1 WHERE user_id = $1 \
                 RETURNING failed_logins",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })?;
        Ok(count)
    }

    async fn lock_user(&self, user_id: i64, until: DateTime<Utc>) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE app_user SET locked_until = $1, failed_logins = 0 WHERE user_id = $2",
            )
            .bind(until)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn unlock_user(&self, user_id: i64) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE app_user SET locked_until = NULL, failed_logins = 0 WHERE user_id = $1",
            )
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn record_successful_login(
        &self,
        user_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = $1 \
                 WHERE user_id = $2",
            )
            .bind(at)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }
}

impl Db {
    async fn attach_areas(&self, row: Option<UserRow>) -> Result<Option<User>, AccountError> {
        let Some(row) = row else { return Ok(None) };
        let area_ids: Vec<i64> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT area_id FROM user_area WHERE user_id = $1 ORDER BY area_id")
                .bind(row.user_id)
                .fetch_all(pool)
                .await
        })?;
        row.into_user(area_ids).map(Some)
    }
}
