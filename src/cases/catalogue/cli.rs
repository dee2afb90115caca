//! `citycore catalogue import FILE` and `citycore catalogue export [--output FILE]`.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::Args;

use super::service::{self, CatalogueError};
use crate::{config::Settings, db::Db, i18n::Locale};

#[derive(Debug, Args)]
pub struct ImportCatalogueArgs {
    /// CSV file in the format `catalogue export` writes; listed categories are created
    /// or replaced, others are kept.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportCatalogueArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Imports one catalogue file; nothing is written when any row is invalid.
///
/// # Errors
/// Fails with one line per invalid cell, or when the file or the database fails.
pub async fn import_catalogue(
    db: &Db,
    settings: &Settings,
    args: ImportCatalogueArgs,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    match service::import_catalogue(db, std::io::BufReader::new(file)).await {
        Ok(count) => {
            println!("imported {count} categories from {}", args.file.display());
            // Cases of renamed categories are indexed again under the new names.
            crate::cases::search::backfill(db).await?;
            Ok(())
        }
        Err(CatalogueError::Import(errors)) => {
            let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
            eprint!("{}", errors.render(locale));
            Err(errors.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Writes every category as CSV to the output file or standard output.
///
/// # Errors
/// Fails when the database or the output fails.
pub async fn export_catalogue(db: &Db, args: ExportCatalogueArgs) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let count = service::export_catalogue(db, &mut buffer).await?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &buffer)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("exported {count} categories to {}", path.display());
        }
        None => std::io::stdout().write_all(&buffer).context("cannot write to standard output")?,
    }
    Ok(())
}
