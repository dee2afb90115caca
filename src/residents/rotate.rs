//! `citycore residents rotate-key --new-key-file F`: re-seal every stored number under
//! a new data key.
//!
//! Values are re-sealed in batches, each in its own transaction, walking the ids once.
//! A value already under the new key is skipped, so an interrupted rotation is
//! finished by running it again. The lookup key is re-sealed last.
//!
//! The lookup hashes do not change. They are keyed by the separate lookup key, which
//! only gets a new seal. Changing that key would mean re-hashing every row together
//! with its new seal. Nodes still running with the old settings would then stop
//! finding residents and detecting duplicates until they restart.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};

use super::{
    ResidentError,
    crypto::{DataKey, Field, KeyError, KeySet, Keyring},
    keys,
};
use crate::{
    audit::{Actor, AuditAction, AuditStore, NewAuditEntry},
    config::Settings,
    db::Db,
    with_pool,
};

/// Rows re-sealed per transaction; small, so SQLite's write lock is held briefly.
const BATCH_ROWS: i64 = 200;

#[derive(Debug, Subcommand)]
pub enum ResidentsCommand {
    /// Re-seal every identity and phone number and e-mail address under a new data key.
    RotateKey(RotateKeyArgs),
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// File holding base64 of the new 32-byte key (`head -c 32 /dev/urandom | base64`).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
}

/// Runs one `residents` subcommand.
///
/// # Errors
/// Fails on an unreadable or malformed key file, a value no configured key opens, or a
/// database failure; values re-sealed before the failure stay readable.
pub async fn run(db: &Db, settings: &Settings, command: ResidentsCommand) -> anyhow::Result<()> {
    let ResidentsCommand::RotateKey(args) = command;
    let text = std::fs::read_to_string(&args.new_key_file)
        .with_context(|| format!("cannot read {}", args.new_key_file.display()))?;
    let new_key = DataKey::from_base64(&text)
        .with_context(|| format!("new key file {}", args.new_key_file.display()))?;
    let keyring = keys::load_keyring(settings, db).await?;
    let count = rotate_key(db, &keyring, new_key.clone(), &Actor::cli()).await?;
    println!(
        "re-sealed {count} values under data key {id}. Set residents.data_key to the new key, \
         keep the old one in residents.previous_data_keys until every node has restarted, \
         then run this command again to catch values written meanwhile.",
        id = new_key.id()
    );
    Ok(())
}

/// Re-seals every value not yet under `new_key` and returns how many it re-sealed.
///
/// # Errors
/// A value that no key of `old` opens, or a database failure.
pub async fn rotate_key(
    db: &Db,
    old: &Keyring,
    new_key: DataKey,
    actor: &Actor,
) -> Result<u64, ResidentError> {
    let mut previous = vec![old.keys.current.clone()];
    previous.extend(old.keys.previous.iter().cloned());
    let keys = KeySet { current: new_key, previous };
    let mut count = reseal_residents(db, &keys).await?;
    count += reseal_contacts(db, &keys).await?;
    if let Some(sealed) = keys::stored_lookup_key(db).await?
        && let Some(resealed) = reseal(&keys, Field::LookupKey, &sealed)?
    {
        with_pool!(db, |pool| {
            sqlx::query(
                "UPDATE resident_key SET sealed = $1, updated_at = $2 WHERE purpose = 'lookup'",
            )
            .bind(&resealed)
            .bind(Utc::now())
            .execute(pool)
            .await
            .map(drop)
        })?;
    }
    let detail = format!("key={}; values={count}", keys.current.id());
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::ResidentKeyRotated,
        target: None,
        detail: Some(detail),
    };
    db.append_audit(entry).await?;
    tracing::info!(key.id = keys.current.id(), rotation.values = count, "data key rotated");
    Ok(count)
}

/// Returns the value sealed under the current key, or `None` when it already is.
fn reseal(keys: &KeySet, field: Field, stored: &str) -> Result<Option<String>, KeyError> {
    if keys.is_current(stored) {
        return Ok(None);
    }
    Ok(Some(keys.seal(field, &keys.open(field, stored)?)))
}

async fn reseal_residents(db: &Db, keys: &KeySet) -> Result<u64, ResidentError> {
    let (mut after, mut count) = (0_i64, 0_u64);
    loop {
        let _turn = db.write_turn().await;
        let (last, resealed) = with_pool!(db, |pool| {
            let mut tx = pool.begin().await?;
            let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT resident_id, identity_sealed, phone_sealed, email_sealed FROM resident \
                 WHERE resident_id > $1 ORDER BY resident_id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH_ROWS)
            .fetch_all(&mut *tx)
            .await?;
            let mut resealed = 0_u64;
            for (resident_id, identity, phone, email) in &rows {
                let identity = reseal(keys, Field::IdentityNumber, identity)?;
                let phone = phone.as_deref().map(|p| reseal(keys, Field::Phone, p)).transpose()?;
                let phone = phone.flatten();
                let email = email.as_deref().map(|e| reseal(keys, Field::Email, e)).transpose()?;
                let email = email.flatten();
                if identity.is_none() && phone.is_none() && email.is_none() {
                    continue;
                }
                resealed += u64::from(identity.is_some())
                    + u64::from(phone.is_some())
                    + u64::from(email.is_some());
                sqlx::query(
                    "UPDATE resident SET identity_sealed = COALESCE($1, identity_sealed), \
                     phone_sealed = COALESCE($2, phone_sealed), \
                     email_sealed = COALESCE($3, email_sealed) WHERE resident_id = $4",
                )
                .bind(identity)
                .bind(phone)
                .bind(email)
                .bind(resident_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, ResidentError>((rows.last().map(|row| row.0), resealed))
        })?;
        count += resealed;
        match last {
            Some(last) => after = last,
            None => return Ok(count),
        }
    }
}

async fn reseal_contacts(db: &Db, keys: &KeySet) -> Result<u64, ResidentError> {
    let (mut after, mut count) = (0_i64, 0_u64);
    loop {
        let _turn = db.write_turn().await;
        let (last, resealed) = with_pool!(db, |pool| {
            let mut tx = pool.begin().await?;
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT contact_id, phone_sealed FROM organisation_contact \
                 WHERE contact_id > $1 AND phone_sealed IS NOT NULL ORDER BY contact_id LIMIT $2",
            )
            .bind(after)
            .bind(BATCH_ROWS)
            .fetch_all(&mut *tx)
            .await?;
            let mut resealed = 0_u64;
            for (contact_id, phone) in &rows {
                let Some(phone) = reseal(keys, Field::Phone, phone)? else { continue };
                resealed += 1;
                sqlx::query(
                    "UPDATE organisation_contact SET phone_sealed = $1 WHERE contact_id = $2",
                )
                .bind(phone)
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, ResidentError>((rows.last().map(|row| row.0), resealed))
        })?;
        count += resealed;
        match last {
            Some(last) => after = last,
            None => return Ok(count),
        }
    }
}
