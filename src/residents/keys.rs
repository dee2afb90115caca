//! Where the registry's keys come from.
//!
//! The data key comes from `residents.data_key`, else `CITYCORE_DATA_KEY`, else the file
//! `<data_dir>/data-key`, which the first start creates (mode 0600) when missing. The
//! lookup key is random, made once per database and stored sealed under the data key
//! in `resident_key`. Every node therefore needs the same data key.

use std::{io::Write, path::Path};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::Utc;

use super::crypto::{DataKey, Field, KEY_BYTES, KeySet, Keyring};
use crate::{config::Settings, db::Db, with_pool};

/// Environment variable read when `residents.data_key` is empty.
pub const DATA_KEY_ENV: &str = "CITYCORE_DATA_KEY";
/// Name of the generated key file inside the data directory.
pub const KEY_FILE_NAME: &str = "data-key";

/// Loads the data keys from the settings and opens (or creates) the lookup key.
///
/// # Errors
/// Fails on a malformed key, an unwritable key file, or a lookup key sealed under a
/// data key this node does not have.
pub async fn load_keyring(settings: &Settings, db: &Db) -> anyhow::Result<Keyring> {
    let keys = load_key_set(settings)?;
    let lookup_key = open_lookup_key(db, &keys).await?;
    Ok(Keyring::new(keys, lookup_key))
}

/// Reads the current and previous data keys, generating the key file when no key is set.
///
/// # Errors
/// Fails on a malformed key or when the key file cannot be read or written.
pub fn load_key_set(settings: &Settings) -> anyhow::Result<KeySet> {
    let configured = &settings.residents.data_key.0;
    let from_env = std::env::var(DATA_KEY_ENV).ok().filter(|v| !v.trim().is_empty());
    let current = if !configured.trim().is_empty() {
        DataKey::from_base64(configured).context("residents.data_key")?
    } else if let Some(text) = from_env {
        DataKey::from_base64(&text).context(DATA_KEY_ENV)?
    } else {
        key_from_file(&settings.data_dir.join(KEY_FILE_NAME))?
    };
    let previous = settings
        .residents
        .previous_data_keys
        .iter()
        .map(|key| DataKey::from_base64(&key.0).context("residents.previous_data_keys"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(KeySet { current, previous })
}

/// Reads the key file, or creates it with a new key readable only by its owner.
fn key_from_file(path: &Path) -> anyhow::Result<DataKey> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the data key file {}", path.display()))?;
        return DataKey::from_base64(&text)
            .with_context(|| format!("data key file {}", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let (key, text) = DataKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the data key file {}", path.display()))?;
    writeln!(file, "{text}")?;
    tracing::warn!(
        key.path = %path.display(),
        key.id = key.id(),
        "generated a data key for the resident registry; back up this file, without it \
         identity and phone numbers cannot be read"
    );
    Ok(key)
}

/// Opens the database's lookup key, creating it on first use.
///
/// Two nodes starting together may both create one; the insert keeps the first and
/// both then read it back.
async fn open_lookup_key(db: &Db, keys: &KeySet) -> anyhow::Result<[u8; KEY_BYTES]> {
    if let Some(sealed) = stored_lookup_key(db).await? {
        return unseal_lookup_key(keys, &sealed);
    }
    let fresh: [u8; KEY_BYTES] = rand::random();
    let sealed = keys.seal(Field::LookupKey, &BASE64.encode(fresh));
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO resident_key (purpose, sealed, updated_at) VALUES ('lookup', $1, $2) \
             ON CONFLICT (purpose) DO NOTHING",
        )
        .bind(&sealed)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map(drop)
    })?;
    let stored = stored_lookup_key(db).await?.context("lookup key missing after insert")?;
    unseal_lookup_key(keys, &stored)
}

/// Returns the sealed lookup key, if the database has one.
///
/// # Errors
/// A database failure.
pub async fn stored_lookup_key(db: &Db) -> Result<Option<String>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT sealed FROM resident_key WHERE purpose = 'lookup'")
            .fetch_optional(pool)
            .await
    })
}

fn unseal_lookup_key(keys: &KeySet, sealed: &str) -> anyhow::Result<[u8; KEY_BYTES]> {
    let text = keys.open(Field::LookupKey, sealed).context(
        "the configured data key cannot open the registry's lookup key; configure the same \
         residents.data_key on every node, and list replaced keys in previous_data_keys",
    )?;
    let bytes = BASE64.decode(text).context("stored lookup key is not base64")?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("stored lookup key has the wrong length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_created_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join(KEY_FILE_NAME);
        let created = key_from_file(&path).unwrap();
        let read_back = key_from_file(&path).unwrap();
        assert_eq!(created.id(), read_back.id(), "the second start reads the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
