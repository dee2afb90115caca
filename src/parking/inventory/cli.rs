//! `citycore parking import-inventory FILE`: the inventory import from the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{
    InventoryError,
    import::{Format, import_inventory},
};
use crate::{
    config::Settings,
    db::Db,
    http::UserMessage,
    i18n::{Locale, arg},
    locate::Locator,
};

#[derive(Debug, Args)]
pub struct ImportInventoryArgs {
    /// CSV file, or GeoJSON FeatureCollection when the name ends in .geojson or .json.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Check every record, database constraints included, without writing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Imports lots and spaces, all or nothing, and prints how many were written.
///
/// # Errors
/// Fails with one line per invalid field, naming its row or feature, or with the first
/// store error, such as a space whose lot is missing. Nothing is written then.
pub async fn run_import_inventory(
    db: &Db,
    settings: &Settings,
    args: ImportInventoryArgs,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let format = Format::from_file_name(&args.file.to_string_lossy());
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
    match import_inventory(db, &locator.snapshot(), &bytes, format, args.dry_run).await {
        Ok(report) => {
            let verb = if report.dry_run { "would import" } else { "imported" };
            println!("{verb} {} lots and {} spaces", report.lots, report.spaces);
            Ok(())
        }
        Err(InventoryError::InvalidImport(records)) => {
            for (position, message) in &records {
                let id = match position.format {
                    Format::Csv => "parking-import-row",
                    Format::GeoJson => "parking-import-feature",
                };
                let field = message.field.clone().unwrap_or_else(|| "-".to_owned());
                let args = [("number", arg(position.number.to_string())), ("field", arg(field))];
                eprintln!("{}: {}", locale.t_args(id, &args), message.render(locale));
            }
            anyhow::bail!("{} invalid values; nothing was imported", records.len())
        }
        Err(error) => {
            let message = match &error {
                InventoryError::LotNotFound(lot_ref) => {
                    UserMessage::new("parking_lot_not_found").arg("ref", lot_ref)
                }
                InventoryError::Duplicate(taken) => {
                    UserMessage::new("parking_ref_taken").arg("ref", taken)
                }
                InventoryError::Unreadable(reason) => {
                    UserMessage::new("parking_import_unreadable").arg("reason", reason)
                }
                _ => return Err(error.into()),
            };
            anyhow::bail!("{}; nothing was imported", message.render(locale))
        }
    }
}
