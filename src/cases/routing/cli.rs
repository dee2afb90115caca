//! `citycore routing import FILE` and `citycore routing export [--output FILE]`.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::Args;

use super::service::{self, RoutingError};
use crate::{config::Settings, db::Db, i18n::Locale, locate::Locator};

#[derive(Debug, Args)]
pub struct ImportRoutingArgs {
    /// CSV file in the format `routing export` writes; it replaces every rule.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportRoutingArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Replaces every routing rule with those of one file; nothing is written when any
/// row is invalid.
///
/// # Errors
/// Fails with one line per invalid cell, or when the file or the database fails.
pub async fn import_routing(
    db: &Db,
    settings: &Settings,
    args: ImportRoutingArgs,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let index = locator.snapshot();
    match service::import_rules(db, &index, std::io::BufReader::new(file)).await {
        Ok(count) => {
            println!("imported {count} routing rules from {}", args.file.display());
            Ok(())
        }
        Err(RoutingError::Import(errors)) => {
            let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
            eprint!("{}", errors.render(locale));
            Err(errors.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Writes every routing rule as CSV to the output file or standard output.
///
/// # Errors
/// Fails when the database or the output fails.
pub async fn export_routing(db: &Db, args: ExportRoutingArgs) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let count = service::export_rules(db, &mut buffer).await?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &buffer)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("exported {count} routing rules to {}", path.display());
        }
        None => std::io::stdout().write_all(&buffer).context("cannot write to standard output")?,
    }
    Ok(())
}
