//! Uploaded import files kept between the dry run and the apply, so that the user
//! uploads once and confirms with a button.
//!
//! A staged file lives under `<data_dir>/resident-import-staging/` as `<id>.bin`, sealed
//! with AES-256-GCM under the registry's data key because a roster carries identity
//! numbers, with `<id>.json` naming its owner and file name. The id is a random UUID
//! (122 random bits), so it cannot be guessed, and only the user who uploaded the file
//! may apply it. Files older than [`STAGED_TTL`] are rejected and removed at the next
//! upload.
// NOTE: the files sit on the node that served the dry run. Behind a load balancer
// without sticky sessions an apply may reach another node, which reports the file as
// expired and requests the upload again.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};

use crate::residents::{Keyring, crypto::Field};

/// How long a staged file may be applied after its dry run: 30 minutes.
pub const STAGED_TTL: Duration = Duration::from_secs(30 * 60);

/// The sidecar of a staged file.
#[derive(Debug, Serialize, Deserialize)]
struct StagedMeta {
    user_id: i64,
    file_name: String,
    sheet: Option<String>,
}

/// A staged file read back for the apply.
pub struct StagedFile {
    pub file_name: String,
    pub sheet: Option<String>,
    pub bytes: Vec<u8>,
}

fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("resident-import-staging")
}

/// Checks that `id` is a UUID, so that it names a file inside the staging folder.
fn parse_id(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id.trim()).ok().map(|id| id.to_string())
}

/// Stores `bytes` for `user_id` and returns the id to apply it with. Removes expired
/// files first.
///
/// # Errors
/// An I/O failure of the staging folder.
pub async fn stage(
    data_dir: &Path,
    keys: &Keyring,
    user_id: i64,
    file_name: &str,
    sheet: Option<String>,
    bytes: &[u8],
) -> std::io::Result<String> {
    let dir = staging_dir(data_dir);
    tokio::fs::create_dir_all(&dir).await?;
    remove_expired(&dir).await;
    let id = uuid::Uuid::new_v4().to_string();
    let meta = StagedMeta { user_id, file_name: file_name.to_owned(), sheet };
    let meta = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
    let sealed = keys.seal(Field::StagedImport, &BASE64.encode(bytes));
    tokio::fs::write(dir.join(format!("{id}.bin")), sealed).await?;
    tokio::fs::write(dir.join(format!("{id}.json")), meta).await?;
    Ok(id)
}

/// Reads the file staged as `id` by `user_id`; `None` when it does not exist, has
/// expired, belongs to someone else or no configured key opens it.
pub async fn load(data_dir: &Path, keys: &Keyring, user_id: i64, id: &str) -> Option<StagedFile> {
    let id = parse_id(id)?;
    let dir = staging_dir(data_dir);
    let meta_path = dir.join(format!("{id}.json"));
    let modified = tokio::fs::metadata(&meta_path).await.ok()?.modified().ok()?;
    if is_expired(modified) {
        return None;
    }
    let meta: StagedMeta = serde_json::from_slice(&tokio::fs::read(&meta_path).await.ok()?).ok()?;
    if meta.user_id != user_id {
        tracing::warn!(user.id = user_id, "staged import of another user requested");
        return None;
    }
    let sealed = tokio::fs::read_to_string(dir.join(format!("{id}.bin"))).await.ok()?;
    let opened = keys.open(Field::StagedImport, &sealed);
    let bytes = opened.ok().and_then(|text| BASE64.decode(text).ok());
    let Some(bytes) = bytes else {
        tracing::warn!(user.id = user_id, "staged import could not be opened with the data keys");
        return None;
    };
    Some(StagedFile { file_name: meta.file_name, sheet: meta.sheet, bytes })
}

/// Deletes the file staged as `id`, once it has been applied.
pub async fn remove(data_dir: &Path, id: &str) {
    let Some(id) = parse_id(id) else { return };
    let dir = staging_dir(data_dir);
    for extension in ["bin", "json"] {
        let _ = tokio::fs::remove_file(dir.join(format!("{id}.{extension}"))).await;
    }
}

fn is_expired(modified: SystemTime) -> bool {
    SystemTime::now().duration_since(modified).is_ok_and(|age| age > STAGED_TTL)
}

async fn remove_expired(dir: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let modified = entry.metadata().await.ok().and_then(|m| m.modified().ok());
        if !modified.is_some_and(is_expired) {
            continue;
        }
        if let Err(error) = tokio::fs::remove_file(entry.path()).await {
            tracing::warn!(%error, "expired staged import not removed");
        }
    }
}
