//! API keys of Open311 clients: creation by an administrator and checking on POST.
//!
//! A key is 256 random bits in hex, shown once when it is created. Only its SHA-256 is
//! stored. A slow password hash is not needed because a key of 256 random bits cannot
//! be guessed, and a fast hash lets the lookup use the unique index.

use chrono::{SubsecRound, Utc};
use sha2::{Digest, Sha256};

use super::error::Open311Error;
use crate::{db::Db, with_pool};

/// Maximum key name length, in characters; the database checks the same limit.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid key name {0:?}: use 1 to 100 characters")]
    InvalidName(String),
    #[error("an API key named {0:?} already exists; choose another name")]
    DuplicateName(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The client an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub api_key_id: i64,
    pub name: String,
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key named `name` and returns the key itself, which is not stored.
///
/// # Errors
/// [`KeyError::InvalidName`] for an empty or too long name, [`KeyError::DuplicateName`]
/// when the name is taken, or a database failure.
pub async fn add_key(db: &Db, name: &str) -> Result<String, KeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(KeyError::InvalidName(name.to_owned()));
    }
    let taken: Option<(i64,)> = with_pool!(db, |pool| {
        sqlx::query_as("SELECT api_key_id FROM api_key WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await
    })?;
    if taken.is_some() {
        return Err(KeyError::DuplicateName(name.to_owned()));
    }
    let key = hex::encode(rand::random::<[u8; 32]>());
    let now = Utc::now().trunc_subsecs(3);
    with_pool!(db, |pool| {
        sqlx::query("INSERT INTO api_key (name, key_hash, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(hash_key(&key))
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
    })?;
    tracing::info!(api_key.name = %name, "Open311 API key created");
    Ok(key)
}

/// Finds the client of a presented key.
///
/// # Errors
/// [`Open311Error::InvalidApiKey`] when the key is missing, unknown or revoked, and a
/// server error when the database fails.
pub async fn authenticate(db: &Db, key: Option<&str>) -> Result<ApiClient, Open311Error> {
    let invalid = || Open311Error::InvalidApiKey;
    let key = key.map(str::trim).filter(|key| !key.is_empty()).ok_or_else(invalid)?;
    let found: Option<(i64, String)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT api_key_id, name FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_key(key))
        .fetch_optional(pool)
        .await
    })?;
    let (api_key_id, name) = found.ok_or_else(|| {
        tracing::debug!("unknown or revoked Open311 API key");
        invalid()
    })?;
    Ok(ApiClient { api_key_id, name })
}
