//! Logging in and out: password check, lockout after repeated failures, and session
//! creation, each outcome audited.

use chrono::{DateTime, Duration, Utc};

use super::{
    AccountError, AccountStore,
    domain::parse_username,
    password::{Password, verify_against_dummy, verify_password},
    session,
};
use crate::{
    audit::{self, Actor, AuditAction, NewAuditEntry},
    config::AuthSettings,
    db::Db,
    i18n::Locale,
};

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    pub user_id: i64,
    /// The token for the session cookie.
    pub session_token: String,
    /// The account's stored language, to put in the language cookie.
    pub locale: Option<Locale>,
}

/// Reasons a login fails. Unknown usernames, wrong passwords and inactive accounts share
/// one variant so that the response does not reveal which usernames exist.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("account locked until {until}")]
    Locked { until: DateTime<Utc> },
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// Checks a username and password and starts a session, ending the browser's
/// `previous_session` (if any) so that a login always gets a fresh token.
///
/// After `auth.max_failed_logins` consecutive wrong passwords the account is locked
/// for `auth.lockout_minutes`; a success resets the count.
///
/// # Errors
/// [`LoginError::InvalidCredentials`], [`LoginError::Locked`] or a database failure.
#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn log_in(
    db: &Db,
    auth: &AuthSettings,
    username: &str,
    password: &Password,
    previous_session: Option<&str>,
    client_ip: Option<String>,
) -> Result<LoggedIn, LoginError> {
    // The attempted name is recorded as typed (trimmed, cut to 64 characters), never
    // the password.
    let attempted: String = username.trim().chars().take(64).collect();
    let visitor = Actor { user_id: None, name: attempted.clone(), client_ip: client_ip.clone() };
    let user = match parse_username(username) {
        Ok(name) => db.user_by_username(&name).await?,
        Err(_) => None,
    };

    let Some(user) = user.filter(|user| user.active) else {
        verify_against_dummy(password).await;
        record(db, &visitor, AuditAction::LoginFailed, None, "unknown or inactive account").await;
        return Err(LoginError::InvalidCredentials);
    };
    tracing::Span::current().record("user.id", user.user_id);
    let actor = Actor { user_id: Some(user.user_id), name: user.username.clone(), client_ip };

    let now = Utc::now();
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        record(db, &actor, AuditAction::LoginFailed, Some(user.user_id), "account locked").await;
        return Err(LoginError::Locked { until });
    }

    if !verify_password(password, &user.password_hash).await {
        return Err(count_failure(db, auth, &actor, user.user_id).await?);
    }

    db.record_successful_login(user.user_id, now).await?;
    if let Some(token) = previous_session {
        session::end_session(db, token).await?;
    }
    let session_token = session::start_session(db, auth, user.user_id).await?;
    tracing::info!(user.id = user.user_id, "logged in");
    record(db, &actor, AuditAction::LoginSucceeded, Some(user.user_id), "").await;
    Ok(LoggedIn { user_id: user.user_id, session_token, locale: user.locale })
}

/// Counts a wrong password and locks the account when the count reaches the maximum.
async fn count_failure(
    db: &Db,
    auth: &AuthSettings,
    actor: &Actor,
    user_id: i64,
) -> Result<LoginError, LoginError> {
    let failures = db.record_failed_login(user_id).await?;
    if failures < auth.max_failed_logins {
        record(db, actor, AuditAction::LoginFailed, Some(user_id), "wrong password").await;
        return Ok(LoginError::InvalidCredentials);
    }
    let until = Utc::now() + Duration::minutes(auth.lockout_minutes);
    db.lock_user(user_id, until).await?;
    tracing::warn!(user.id = user_id, failures, "account locked after failed logins");
    let detail = format!("{failures} failed logins; locked for {} minutes", auth.lockout_minutes);
    record(db, actor, AuditAction::AccountLocked, Some(user_id), &detail).await;
    Ok(LoginError::Locked { until })
}

/// Ends a session and audits the logout.
///
/// # Errors
/// Fails when the database does.
#[tracing::instrument(skip_all, fields(user.id = actor.user_id))]
pub async fn log_out(db: &Db, token: &str, actor: &Actor) -> Result<(), AccountError> {
    session::end_session(db, token).await?;
    record(db, actor, AuditAction::Logout, actor.user_id, "").await;
    Ok(())
}

async fn record(db: &Db, actor: &Actor, action: AuditAction, user_id: Option<i64>, detail: &str) {
    let entry = NewAuditEntry {
        actor,
        action,
        target: user_id.map(|id| format!("user:{id}")),
        detail: (!detail.is_empty()).then(|| detail.to_owned()),
    };
    audit::record(db, entry).await;
}
