//! Residents' sign-ups: validation, storage, and the community worker's decision.
//!
//! A sign-up creates a resident account and a pending `resident_signup` row in one
//! transaction. A worker whose grids hold the registry record with the same identity
//! number approves it, which links the account to that record, or rejects it with a
//! reason that the resident sees after logging in.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    accounts::{
        AccountError, CurrentUser, Role,
        domain::{parse_display_name, parse_username},
        password::{Password, hash_password},
    },
    audit::{self, Actor, AuditAction, NewAuditEntry},
    db::Db,
    http::{AppError, UserMessage},
    locate::AreaIndex,
    residents::{
        Keyring,
        crypto::Field,
        identity::{IdentityNumber, PhoneNumber},
        notices::inbox::link_account,
        service::scope_grids,
    },
    with_pool,
};

/// The longest rejection reason, in characters; the column checks the same bound.
pub const MAX_REASON_CHARS: usize = 200;
/// Pending sign-ups shown on one verification page.
const PENDING_LIMIT: i64 = 200;

/// A sign-up as the public form sends it, before validation.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SignupInput {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub phone: String,
    pub identity_number: String,
}

/// Prints the username only: the other fields are a secret or personal data.
impl std::fmt::Debug for SignupInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupInput").field("username", &self.username).finish_non_exhaustive()
    }
}

/// A validated sign-up.
struct ValidSignup {
    username: String,
    password: Password,
    display_name: String,
    phone: PhoneNumber,
    identity: IdentityNumber,
}

/// Why a sign-up was not stored.
#[derive(Debug)]
pub enum SignupError {
    /// One message per invalid field, in the form's order.
    Fields(Vec<UserMessage>),
    Other(AppError),
}

impl From<sqlx::Error> for SignupError {
    fn from(error: sqlx::Error) -> Self {
        SignupError::Other(AppError::Internal(error.into()))
    }
}

/// Turns an account rule's error into the message about its field.
fn account_message(error: AccountError) -> Result<UserMessage, SignupError> {
    match AppError::from(error) {
        AppError::Invalid(message) | AppError::Conflict(message) => Ok(message),
        other => Err(SignupError::Other(other)),
    }
}

/// Checks every field and returns all the messages at once, so that one submission
/// shows the resident everything to correct.
fn validate(input: &SignupInput) -> Result<ValidSignup, SignupError> {
    let mut messages = Vec::new();
    let username = parse_username(&input.username).map_err(account_message);
    let password = Password::parse_new(input.password.clone()).map_err(account_message);
    let display_name = parse_display_name(&input.display_name).map_err(account_message);
    let phone = PhoneNumber::parse(&input.phone);
    let identity = IdentityNumber::parse(&input.identity_number);
    let username = keep(username, &mut messages)?;
    let password = keep(password, &mut messages)?;
    let display_name = keep(display_name, &mut messages)?;
    let phone = phone.map_err(|message| messages.push(message)).ok();
    let identity = identity.map_err(|message| messages.push(message)).ok();
    match (username, password, display_name, phone, identity) {
        (Some(username), Some(password), Some(display_name), Some(phone), Some(identity)) => {
            Ok(ValidSignup { username, password, display_name, phone, identity })
        }
        _ => Err(SignupError::Fields(messages)),
    }
}

fn keep<T>(
    result: Result<T, Result<UserMessage, SignupError>>,
    messages: &mut Vec<UserMessage>,
) -> Result<Option<T>, SignupError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Ok(message)) => {
            messages.push(message);
            Ok(None)
        }
        Err(Err(other)) => Err(other),
    }
}

/// Validates a sign-up and stores the account and the pending request together.
///
/// # Errors
/// [`SignupError::Fields`] for invalid fields, a taken username, or an identity number
/// that already has a pending or approved sign-up.
#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn submit_signup(
    db: &Db,
    keys: &Keyring,
    input: &SignupInput,
    actor: &Actor,
) -> Result<i64, SignupError> {
    let signup = validate(input)?;
    let identity_hash = keys.lookup_hash(Field::IdentityNumber, signup.identity.as_str());
    if identity_signed_up(db, &identity_hash).await? {
        let message = UserMessage::new("signup_identity_taken").field("identity_number");
        return Err(SignupError::Fields(vec![message]));
    }
    let password_hash = hash_password(&signup.password)
        .await
        .map_err(|error| SignupError::Other(AppError::Internal(error)))?;
    let row = SignupRow {
        identity_sealed: keys.seal(Field::IdentityNumber, signup.identity.as_str()),
        identity_hash,
        identity_masked: signup.identity.masked(),
        phone_sealed: keys.seal(Field::Phone, signup.phone.as_str()),
        phone_hash: keys.lookup_hash(Field::Phone, signup.phone.as_str()),
        phone_masked: signup.phone.masked(),
    };
    let inserted = insert_signup(db, &signup.username, &signup.display_name, &password_hash, &row)
        .await
        .map_err(|error| match error {
            sqlx::Error::Database(ref db_error) if db_error.is_unique_violation() => {
                let message = UserMessage::new("username_taken")
                    .arg("username", &signup.username)
                    .field("username");
                SignupError::Fields(vec![message])
            }
            other => other.into(),
        })?;
    tracing::Span::current().record("user.id", inserted);
    tracing::info!(user.id = inserted, "resident sign-up received");
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::UserCreated,
        target: Some(format!("user:{inserted}")),
        detail: Some(format!("username={} role=resident sign-up pending", signup.username)),
    };
    audit::record(db, entry).await;
    Ok(inserted)
}

/// The protected forms of a sign-up's numbers.
struct SignupRow {
    identity_sealed: String,
    identity_hash: String,
    identity_masked: String,
    phone_sealed: String,
    phone_hash: String,
    phone_masked: String,
}

async fn identity_signed_up(db: &Db, identity_hash: &str) -> Result<bool, sqlx::Error> {
    let count: i64 = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM resident_signup \
             WHERE identity_hash = $1 AND status IN ('pending', 'approved')",
        )
        .bind(identity_hash)
        .fetch_one(pool)
        .await
    })?;
    Ok(count > 0)
}

/// Inserts the resident account and its pending sign-up in one transaction.
async fn insert_signup(
    db: &Db,
    username: &str,
    display_name: &str,
    password_hash: &str,
    row: &SignupRow,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    with_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO app_user (username, display_name, role, password_hash, active, \
             failed_logins, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, TRUE, 0, $5, $5) RETURNING user_id",
        )
        .bind(username)
        .bind(display_name)
        .bind(Role::Resident.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO resident_signup (user_id, identity_sealed, identity_hash, \
             identity_masked, phone_sealed, phone_hash, phone_masked, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
        )
        .bind(user_id)
        .bind(&row.identity_sealed)
        .bind(&row.identity_hash)
        .bind(&row.identity_masked)
        .bind(&row.phone_sealed)
        .bind(&row.phone_hash)
        .bind(&row.phone_masked)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user_id)
    }
    .await)
}

/// The state of an account's own sign-up, for the page it sees before verification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnSignup {
    pub status: String,
    pub reason: Option<String>,
}

/// Returns the sign-up of `user_id`, if the account was created by one.
///
/// # Errors
/// A database failure.
pub async fn own_signup(db: &Db, user_id: i64) -> Result<Option<OwnSignup>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as("SELECT status, reason FROM resident_signup WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
}

/// A pending sign-up with the registry record that has the same identity number.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PendingSignup {
    pub signup_id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub identity_masked: String,
    pub phone_masked: String,
    pub created_at: DateTime<Utc>,
    /// `None` when no registry record has the identity number.
    pub resident_id: Option<i64>,
    pub resident_name: Option<String>,
    pub household_address: Option<String>,
    pub grid_id: Option<i64>,
    /// Whether the phone number matches the one in the registry record.
    pub phone_matches: bool,
}

const PENDING_SELECT: &str = "SELECT s.signup_id, s.user_id, u.username, u.display_name, \
     s.identity_masked, s.phone_masked, s.created_at, r.resident_id, r.name AS resident_name, \
     h.address AS household_address, r.grid_id, \
     (r.phone_hash IS NOT NULL AND r.phone_hash = s.phone_hash) AS phone_matches \
     FROM resident_signup s JOIN app_user u ON u.user_id = s.user_id \
     LEFT JOIN resident r ON r.identity_hash = s.identity_hash \
     LEFT JOIN household h ON h.household_id = r.household_id \
     WHERE s.status = 'pending'";

/// Lists the pending sign-ups `verifier` may decide, oldest first: those matching a
/// registry record in their grids, and for administrators also those matching none.
///
/// # Errors
/// A database failure.
pub async fn pending_signups(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
) -> Result<Vec<PendingSignup>, sqlx::Error> {
    let sql = format!("{PENDING_SELECT} ORDER BY s.signup_id LIMIT $1");
    let rows: Vec<PendingSignup> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(PENDING_LIMIT).fetch_all(pool).await
    })?;
    // NOTE: the scope filter runs after the limit, so a worker of a busy street may see
    // fewer than the limit while older pending sign-ups of other grids wait.
    let grids = scope_grids(index, verifier);
    Ok(rows.into_iter().filter(|row| may_decide(grids.as_deref(), row.grid_id)).collect())
}

/// Administrators (`grids` of `None`) decide every sign-up; others those matched to a
/// record in one of their grids.
fn may_decide(grids: Option<&[i64]>, grid_id: Option<i64>) -> bool {
    match (grids, grid_id) {
        (None, _) => true,
        (Some(grids), Some(grid_id)) => grids.contains(&grid_id),
        (Some(_), None) => false,
    }
}

/// Returns one pending sign-up that `verifier` may decide.
///
/// # Errors
/// 404 when it does not exist, is decided already, or lies outside the scope.
async fn pending_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    signup_id: i64,
) -> Result<PendingSignup, AppError> {
    let sql = format!("{PENDING_SELECT} AND s.signup_id = $1");
    let row: Option<PendingSignup> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(signup_id).fetch_optional(pool).await
    })
    .map_err(|error| AppError::Internal(error.into()))?;
    let grids = scope_grids(index, verifier);
    row.filter(|row| may_decide(grids.as_deref(), row.grid_id)).ok_or_else(|| {
        AppError::NotFound(UserMessage::new("signup_not_found").arg("id", signup_id))
    })
}

/// Approves a pending sign-up: links the account to the matching registry record and
/// marks the request approved.
///
/// # Errors
/// 404 for a sign-up the verifier may not decide, 422 when no registry record has the
/// identity number or the record is linked to another account.
#[tracing::instrument(skip_all, fields(signup.id = signup_id, user.id = verifier.user_id))]
pub async fn approve_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    actor: &Actor,
    signup_id: i64,
) -> Result<(), AppError> {
    let signup = pending_signup(db, index, verifier, signup_id).await?;
    let Some(resident_id) = signup.resident_id else {
        let message = UserMessage::new("signup_no_record").field(format!("signup-{signup_id}"));
        return Err(AppError::Invalid(message));
    };
    let now = Utc::now();
    // NOTE: the link and the status change are two writes. Linking again is a no-op,
    // so a failure between them leaves a pending sign-up that a second approval ends.
    link_account(db, index, verifier, signup.user_id, resident_id, now).await?;
    decide(db, signup_id, "approved", None, Some(resident_id), verifier.user_id, now).await?;
    tracing::info!(resident.id = resident_id, "resident sign-up approved");
    let detail = format!("sign-up {signup_id} approved; linked to resident:{resident_id}");
    record_decision(db, actor, signup.user_id, detail).await;
    Ok(())
}

/// Rejects a pending sign-up with a reason the resident will read.
///
/// # Errors
/// 404 for a sign-up the verifier may not decide, 422 for a missing or long reason.
#[tracing::instrument(skip_all, fields(signup.id = signup_id, user.id = verifier.user_id))]
pub async fn reject_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    actor: &Actor,
    signup_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    let reason = reason.trim();
    if !(1..=MAX_REASON_CHARS).contains(&reason.chars().count()) {
        let message = UserMessage::new("signup_reason_invalid").arg("max", MAX_REASON_CHARS);
        return Err(AppError::Invalid(message.field(format!("reason-{signup_id}"))));
    }
    let signup = pending_signup(db, index, verifier, signup_id).await?;
    decide(db, signup_id, "rejected", Some(reason), None, verifier.user_id, Utc::now())
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    tracing::info!("resident sign-up rejected");
    record_decision(db, actor, signup.user_id, format!("sign-up {signup_id} rejected")).await;
    Ok(())
}

async fn decide(
    db: &Db,
    signup_id: i64,
    status: &str,
    reason: Option<&str>,
    resident_id: Option<i64>,
    decided_by: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE resident_signup SET status = $2, reason = $3, resident_id = $4, \
             decided_by = $5, decided_at = $6 WHERE signup_id = $1 AND status = 'pending'",
        )
        .bind(signup_id)
        .bind(status)
        .bind(reason)
        .bind(resident_id)
        .bind(decided_by)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
}

async fn record_decision(db: &Db, actor: &Actor, user_id: i64, detail: String) {
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::UserUpdated,
        target: Some(format!("user:{user_id}")),
        detail: Some(detail),
    };
    audit::record(db, entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SignupInput {
        SignupInput {
            username: "zhang.san".to_owned(),
            password: "long-enough-password".to_owned(),
            display_name: "张三".to_owned(),
            phone: "138 0013 8000".to_owned(),
            identity_number: "11010519491231002X".to_owned(),
        }
    }

    fn fields(input: &SignupInput) -> Vec<String> {
        match validate(input) {
            Err(SignupError::Fields(messages)) => {
                messages.into_iter().map(|m| m.field.unwrap_or_default()).collect()
            }
            Err(SignupError::Other(error)) => panic!("unexpected error {error:?}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn validate_accepts_a_complete_sign_up() {
        assert!(fields(&input()).is_empty());
    }

    #[test]
    fn validate_names_every_invalid_field() {
        let bad = SignupInput {
            username: "x".to_owned(),
            password: "short".to_owned(),
            display_name: " ".to_owned(),
            phone: "12".to_owned(),
            identity_number: "123".to_owned(),
        };
        assert_eq!(
            fields(&bad),
            ["username", "password", "display_name", "phone", "identity_number"]
        );
    }

    #[test]
    fn debug_shows_only_the_username() {
        let shown = format!("{:?}", input());
        assert!(shown.contains("zhang.san"), "{shown}");
        assert!(!shown.contains("1101051949"), "{shown}");
        assert!(!shown.contains("13800138000") && !shown.contains("0013"), "{shown}");
        assert!(!shown.contains("long-enough"), "{shown}");
    }

    #[test]
    fn may_decide_by_scope() {
        assert!(may_decide(None, None), "administrators decide unmatched sign-ups");
        assert!(may_decide(Some(&[3]), Some(3)));
        assert!(!may_decide(Some(&[3]), Some(4)));
        assert!(!may_decide(Some(&[3]), None), "unmatched sign-ups are for administrators");
    }
}
