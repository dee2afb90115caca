//! Residents' sign-ups: validation and storage.
//!
//! A sign-up creates a resident account and a pending `resident_signup` row in one
//! transaction. [`super::verify`] decides it.

use chrono::Utc;

use crate::{
    accounts::{
        AccountError, Role,
        domain::{parse_display_name, parse_username},
        password::{Password, hash_password},
    },
    audit::{self, Actor, AuditAction, NewAuditEntry},
    db::Db,
    http::{AppError, UserMessage},
    residents::{
        Keyring,
        crypto::Field,
        identity::{IdentityNumber, PhoneNumber},
    },
    with_pool,
};

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

/// Reasons a sign-up is not stored.
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
    // Messages follow the form's order: name, identity number, phone, username, password.
    let mut messages = Vec::new();
    let display_name = parse_display_name(&input.display_name).map_err(account_message);
    let display_name = keep(display_name, &mut messages)?;
    let identity = IdentityNumber::parse(&input.identity_number);
    let identity = identity.map_err(|message| messages.push(message)).ok();
    let phone = PhoneNumber::parse(&input.phone).map_err(|message| messages.push(message)).ok();
    let username = keep(parse_username(&input.username).map_err(account_message), &mut messages)?;
    let password = Password::parse_new(input.password.clone()).map_err(account_message);
    let password = keep(password, &mut messages)?;
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
// TODO: limit sign-ups per client address; the public form is open to scripted account
// creation and to probing which identity numbers have signed up.
#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn submit_signup(
    db: &Db,
    keys: &Keyring,
    input: &SignupInput,
    actor: &Actor,
) -> Result<i64, SignupError> {
    let signup = validate(input)?;
    let identity_hash = keys.lookup_hash(Field::IdentityNumber, signup.identity.as_str());
    // The unique index on open sign-ups also catches a concurrent duplicate; this check
    // only spares the password hashing.
    if identity_signed_up(db, &identity_hash).await? {
        return Err(identity_taken());
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

    let outcome =
        insert_signup(db, &signup.username, &signup.display_name, &password_hash, &row).await;
    let inserted = match outcome {
        Ok(user_id) => user_id,
        Err(InsertError::UsernameTaken) => {
            let message = UserMessage::new("username_taken")
                .arg("username", &signup.username)
                .field("username");
            return Err(SignupError::Fields(vec![message]));
        }
        Err(InsertError::IdentityTaken) => return Err(identity_taken()),
        Err(InsertError::Store(error)) => return Err(error.into()),
    };

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

fn identity_taken() -> SignupError {
    let message = UserMessage::new("signup_identity_taken").field("identity_number");
    SignupError::Fields(vec![message])
}

/// Failures of the sign-up insert, distinguished by the statement that failed.
enum InsertError {
    UsernameTaken,
    IdentityTaken,
    Store(sqlx::Error),
}

/// Maps a unique violation to `taken` and any other failure to [`InsertError::Store`].
fn unique_or(error: sqlx::Error, taken: InsertError) -> InsertError {
    match error {
        sqlx::Error::Database(ref db_error) if db_error.is_unique_violation() => taken,
        other => InsertError::Store(other),
    }
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
) -> Result<i64, InsertError> {
    let now = Utc::now();
    with_pool!(db, |pool| async {
        let mut tx = pool.begin().await.map_err(InsertError::Store)?;
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
        .await
        .map_err(|error| unique_or(error, InsertError::UsernameTaken))?;
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
        .await
        .map_err(|error| unique_or(error, InsertError::IdentityTaken))?;
        tx.commit().await.map_err(InsertError::Store)?;
        Ok(user_id)
    }
    .await)
}

/// The state of an account's own sign-up, for its page before verification.
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
            ["display_name", "identity_number", "phone", "username", "password"]
        );
    }

    #[test]
    fn debug_shows_only_the_username() {
        let shown = format!("{:?}", input());
        assert!(shown.contains("zhang.san"), "{shown}");
        assert!(!shown.contains("1101051949"), "{shown}");
        assert!(!shown.contains("0013"), "{shown}");
        assert!(!shown.contains("long-enough"), "{shown}");
    }
}
