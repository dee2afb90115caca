//! `citycore import areas` and `citycore export areas`.

use std::path::PathBuf;

use clap::Args;

use crate::db::Db;

#[derive(Debug, Args)]
pub struct ImportAreasArgs {
    /// GeoJSON files: FeatureCollection, Feature or a bare geometry with `properties`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportAreasArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Imports the files in one transaction.
///
/// # Errors
/// Fails on the first invalid feature; nothing is written then.
pub async fn import_areas(_db: &Db, _args: ImportAreasArgs) -> anyhow::Result<()> {
    anyhow::bail!("import areas is not built yet")
}

/// Writes all areas as GeoJSON.
///
/// # Errors
/// Fails when the database or the output file fails.
pub async fn export_areas(_db: &Db, _args: ExportAreasArgs) -> anyhow::Result<()> {
    anyhow::bail!("export areas is not built yet")
}
