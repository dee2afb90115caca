//! `citycore places import FILE [--crs gcj02]` and `citycore places export`.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{
    PlaceError,
    import::{export_places, import_places},
};
use crate::{
    areas::crs::Crs, audit::Actor, config::Settings, db::Db, i18n::Locale, locate::Locator,
};

#[derive(Debug, Subcommand)]
pub enum PlacesCommand {
    /// Import places from CSV (`name,aliases,kind,longitude,latitude`); all or nothing.
    Import(ImportPlacesArgs),
    /// Export every place as CSV in the format `import` reads.
    Export(ExportPlacesArgs),
}

#[derive(Debug, Args)]
pub struct ImportPlacesArgs {
    /// CSV file; listed places are created or replaced by name, others are kept.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Coordinate system of the file's points; GCJ-02 is converted to WGS-84.
    #[arg(long, value_enum, default_value_t = Crs::Wgs84)]
    pub crs: Crs,
}

#[derive(Debug, Args)]
pub struct ExportPlacesArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Coordinate system of the written points.
    #[arg(long, value_enum, default_value_t = Crs::Wgs84)]
    pub crs: Crs,
}

/// Runs one `places` subcommand.
///
/// # Errors
/// Fails with one line per invalid cell, or when the file or the database fails.
pub async fn run(db: &Db, settings: &Settings, command: PlacesCommand) -> anyhow::Result<()> {
    match command {
        PlacesCommand::Import(args) => import(db, settings, args).await,
        PlacesCommand::Export(args) => export(db, args).await,
    }
}

async fn import(db: &Db, settings: &Settings, args: ImportPlacesArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let index = locator.snapshot();
    let source = args.file.display().to_string();
    let reader = std::io::BufReader::new(file);
    match import_places(db, &index, reader, args.crs, &Actor::cli(), &source).await {
        Ok(counts) => {
            println!(
                "imported places from {source}: {} created, {} updated",
                counts.created, counts.updated
            );
            Ok(())
        }
        Err(PlaceError::Import(errors)) => {
            let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
            eprint!("{}", errors.render(locale));
            Err(errors.into())
        }
        Err(other) => Err(other.into()),
    }
}

async fn export(db: &Db, args: ExportPlacesArgs) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let count = export_places(db, args.crs, &mut buffer).await?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &buffer)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("exported {count} places to {}", path.display());
        }
        None => std::io::stdout().write_all(&buffer).context("cannot write to standard output")?,
    }
    Ok(())
}
