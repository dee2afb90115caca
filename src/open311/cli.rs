//! `citycore open311 key add --name NAME`.

use clap::Args;

use super::keys;
use crate::db::Db;

#[derive(Debug, Args)]
pub struct AddKeyArgs {
    /// Name of the client application, stored with every request it posts (1 to 100
    /// characters, unique).
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

/// Creates an API key and prints it; the key cannot be shown again.
///
/// # Errors
/// Fails on an invalid or taken name, or when the database fails.
pub async fn add_key(db: &Db, args: AddKeyArgs) -> anyhow::Result<()> {
    let key = keys::add_key(db, &args.name).await?;
    println!("{key}");
    eprintln!("API key for {:?} created; store it now, it cannot be shown again", args.name);
    Ok(())
}
