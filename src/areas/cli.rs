//! `citycore import areas` and `citycore export areas`.
//!
//! Output language: the `ui.default_locale` setting (Chinese by default), or English
//! when the `LANG` environment variable starts with `en`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{
    Level,
    crs::Crs,
    export::{ExportFilter, feature_collection},
    features::ImportSource,
    import::{
        ImportError, ImportOptions, ImportSummary, import_areas as run_import, parse_names_csv,
    },
    store::AreaStore,
};
use crate::{
    config::Settings,
    db::Db,
    i18n::{Locale, arg},
};

/// Import areas from GeoJSON files in one transaction: all or nothing.
///
/// Messages are in the `ui.default_locale` language (Chinese by default), or English
/// when `LANG` starts with `en`.
#[derive(Debug, Args)]
pub struct ImportAreasArgs {
    /// GeoJSON files: FeatureCollection, Feature or a bare geometry with `properties`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Property holding the area code [default: `code`, then `adcode`].
    #[arg(long, value_name = "NAME")]
    pub code_prop: Option<String>,
    /// Property holding the area name.
    #[arg(long, value_name = "NAME", default_value = "name")]
    pub name_prop: String,
    /// Property holding the level (city, district, street, community, grid); when
    /// absent the level follows from the code's digits.
    #[arg(long, value_name = "NAME", default_value = "level")]
    pub level_prop: String,
    /// Level of every feature, overriding properties and codes.
    #[arg(long, value_enum)]
    pub level: Option<Level>,
    /// Parent code of every feature; without it and the parent property, the longest
    /// stored or imported code prefix is the parent.
    #[arg(long, value_name = "CODE")]
    pub parent: Option<String>,
    /// Property holding the parent code.
    #[arg(long, value_name = "NAME", default_value = "parent_code")]
    pub parent_prop: String,
    /// `code,name` CSV supplying names of features without a name property; repeat
    /// for several files. A city code such as 110000 also matches its NBS short form 11.
    #[arg(long, value_name = "CSV")]
    pub names: Vec<PathBuf>,
    /// Coordinate system of the files; GCJ-02 is converted to the stored WGS-84.
    #[arg(long, value_enum, default_value_t = Crs::Wgs84)]
    pub crs: Crs,
    /// Replace the name and boundary of codes already stored instead of rejecting them.
    #[arg(long)]
    pub update_existing: bool,
    /// Check the files and print the summary without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExportAreasArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Coordinate system of the written coordinates.
    #[arg(long, value_enum, default_value_t = Crs::Wgs84)]
    pub crs: Crs,
    /// Export only this level.
    #[arg(long, value_enum)]
    pub level: Option<Level>,
}

/// Picks the language of command output, as the module doc describes.
fn cli_locale(settings: &Settings) -> Locale {
    let english = std::env::var("LANG").is_ok_and(|lang| lang.starts_with("en"));
    if english {
        Locale::En
    } else {
        Locale::parse(&settings.ui.default_locale).unwrap_or_default()
    }
}

/// Imports the files in one transaction and prints a summary per level.
///
/// # Errors
/// Fails when a file cannot be read, when any feature is invalid (every problem is
/// printed first and nothing is written) or when the database fails.
#[tracing::instrument(skip_all, fields(import.files = args.files.len()))]
pub async fn import_areas(
    db: &Db,
    settings: &Settings,
    args: ImportAreasArgs,
) -> anyhow::Result<()> {
    let locale = cli_locale(settings);
    let mut sources = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        sources.push(ImportSource { name: path.display().to_string(), text });
    }
    let mut names = std::collections::HashMap::new();
    for path in &args.names {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        names.extend(
            parse_names_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        );
    }
    let options = ImportOptions {
        code_prop: args.code_prop,
        name_prop: args.name_prop,
        level_prop: args.level_prop,
        parent_prop: args.parent_prop,
        level: args.level,
        parent: args.parent,
        names,
        crs: args.crs,
        update_existing: args.update_existing,
        dry_run: args.dry_run,
    };
    match run_import(db, &sources, &options).await {
        Ok(summary) => {
            let files: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
            summary.audit(db, &crate::audit::Actor::cli(), &files.join(",")).await;
            print_summary(locale, &summary);
            Ok(())
        }
        Err(ImportError::Invalid(problems)) => {
            for problem in &problems {
                eprintln!("{}", problem.render(locale));
            }
            let count = arg(problems.len().to_string());
            anyhow::bail!(locale.t_args("areas-import-rejected", &[("count", count)]))
        }
        Err(ImportError::Store(error)) => Err(error.into()),
    }
}

fn print_summary(locale: Locale, summary: &ImportSummary) {
    let id = if summary.dry_run { "areas-import-dry-run" } else { "areas-import-done" };
    let totals = [
        ("created", arg(summary.created_total().to_string())),
        ("updated", arg(summary.updated_total().to_string())),
    ];
    println!("{}", locale.t_args(id, &totals));
    for level in Level::ALL {
        let created = summary.created.get(&level).copied().unwrap_or_default();
        let updated = summary.updated.get(&level).copied().unwrap_or_default();
        if created + updated == 0 {
            continue;
        }
        let line = [
            ("level", arg(locale.t(&level.message_id()))),
            ("created", arg(created.to_string())),
            ("updated", arg(updated.to_string())),
        ];
        println!("  {}", locale.t_args("areas-import-level-line", &line));
    }
}

/// Writes the areas as a GeoJSON FeatureCollection to the file or standard output.
///
/// # Errors
/// Fails when the database or the output file fails.
#[tracing::instrument(skip_all)]
pub async fn export_areas(
    db: &Db,
    settings: &Settings,
    args: ExportAreasArgs,
) -> anyhow::Result<()> {
    let areas = db.list_areas().await?;
    let filter = ExportFilter { level: args.level, crs: args.crs };
    let collection = feature_collection(&areas, filter);
    let text = serde_json::to_string(&collection)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let count = collection["features"].as_array().map_or(0, Vec::len);
            let locale = cli_locale(settings);
            let args =
                [("count", arg(count.to_string())), ("file", arg(path.display().to_string()))];
            eprintln!("{}", locale.t_args("areas-export-done", &args));
        }
        None => println!("{text}"),
    }
    Ok(())
}
