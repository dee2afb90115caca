//! `citycore user add`.

use clap::Args;

use super::Role;
use crate::{config::Settings, db::Db};

#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// Login name: 3–64 letters, digits, `.`, `_` or `-`.
    #[arg(long)]
    pub username: String,
    /// The account's role.
    #[arg(long, value_enum)]
    pub role: Role,
}

/// Creates an account.
///
/// # Errors
/// Fails on an invalid or taken username or an unknown area.
pub async fn add_user(_db: &Db, _settings: &Settings, _args: AddUserArgs) -> anyhow::Result<()> {
    anyhow::bail!("user add is not built yet")
}
