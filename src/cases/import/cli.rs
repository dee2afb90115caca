//! `citycore import cases FILE`: 311-style CSV with a column mapping or a preset.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};

use super::{Mapping, insert_cases, parse_file};
use crate::{config::Settings, db::Db, locate::Locator};

/// Mappings of known exports.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Preset {
    /// Boston 311 service requests (`CASE_ENQUIRY_ID`, `OPEN_DT`, …, local Boston time).
    Boston,
}

#[derive(Debug, Args)]
pub struct ImportCasesArgs {
    /// CSV file with a header row.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Start from a known export's mapping; the column flags below override it.
    #[arg(long)]
    pub preset: Option<Preset>,
    /// Source name stored with each case, such as `boston-311`.
    #[arg(long)]
    pub source: Option<String>,
    /// Column of the source's case id.
    #[arg(long, value_name = "COLUMN")]
    pub id_col: Option<String>,
    /// Column of the time the case was opened.
    #[arg(long, value_name = "COLUMN")]
    pub opened_col: Option<String>,
    /// Column of the time the case was closed; empty for open cases.
    #[arg(long, value_name = "COLUMN")]
    pub closed_col: Option<String>,
    /// Column of the source's target time, stored as the handling deadline.
    #[arg(long, value_name = "COLUMN")]
    pub target_col: Option<String>,
    /// Column of the status; `Closed` requires a closed time.
    #[arg(long, value_name = "COLUMN")]
    pub status_col: Option<String>,
    /// Column of the source's case type.
    #[arg(long, value_name = "COLUMN")]
    pub category_col: Option<String>,
    /// Column of the agency, stored as the department code.
    #[arg(long, value_name = "COLUMN")]
    pub agency_col: Option<String>,
    /// Column of the latitude in WGS-84 decimal degrees.
    #[arg(long, value_name = "COLUMN")]
    pub lat_col: Option<String>,
    /// Column of the longitude in WGS-84 decimal degrees.
    #[arg(long, value_name = "COLUMN")]
    pub lon_col: Option<String>,
    /// chrono format of the times, such as `%m/%d/%Y %I:%M:%S %p`.
    #[arg(long, value_name = "FORMAT")]
    pub time_format: Option<String>,
    /// IANA zone of the times in the file, such as `America/New_York`.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
}

fn pick(flag: Option<String>, preset: Option<String>, name: &str) -> anyhow::Result<String> {
    flag.or(preset).with_context(|| format!("--{name} is required without a --preset"))
}

/// Builds the mapping from the preset and the flags that override it.
///
/// # Errors
/// A required column missing with no preset, or an unknown time zone.
pub fn mapping_of(args: &ImportCasesArgs) -> anyhow::Result<Mapping> {
    let base = args.preset.map(|Preset::Boston| Mapping::boston());
    let from_base = |get: fn(&Mapping) -> String| base.as_ref().map(get);
    let time_zone = match &args.time_zone {
        Some(text) => text
            .parse::<Tz>()
            .map_err(|_| anyhow::anyhow!("unknown --time-zone {text:?}; use an IANA name"))?,
        None => {
            base.as_ref().map(|mapping| mapping.time_zone).context("--time-zone is required")?
        }
    };
    Ok(Mapping {
        source: pick(args.source.clone(), from_base(|m| m.source.clone()), "source")?,
        id_col: pick(args.id_col.clone(), from_base(|m| m.id_col.clone()), "id-col")?,
        opened_col: pick(
            args.opened_col.clone(),
            from_base(|m| m.opened_col.clone()),
            "opened-col",
        )?,
        closed_col: pick(
            args.closed_col.clone(),
            from_base(|m| m.closed_col.clone()),
            "closed-col",
        )?,
        target_col: args
            .target_col
            .clone()
            .or_else(|| base.as_ref().and_then(|m| m.target_col.clone())),
        status_col: args
            .status_col
            .clone()
            .or_else(|| base.as_ref().and_then(|m| m.status_col.clone())),
        category_col: pick(
            args.category_col.clone(),
            from_base(|m| m.category_col.clone()),
            "category-col",
        )?,
        agency_col: pick(
            args.agency_col.clone(),
            from_base(|m| m.agency_col.clone()),
            "agency-col",
        )?,
        lat_col: pick(args.lat_col.clone(), from_base(|m| m.lat_col.clone()), "lat-col")?,
        lon_col: pick(args.lon_col.clone(), from_base(|m| m.lon_col.clone()), "lon-col")?,
        time_format: pick(
            args.time_format.clone(),
            from_base(|m| m.time_format.clone()),
            "time-format",
        )?,
        time_zone,
        default_point: base.as_ref().and_then(|mapping| mapping.default_point),
    })
}

/// Imports one CSV file of cases; nothing is written when any row is invalid.
///
/// # Errors
/// Fails with one line per invalid cell, or when the file or the database fails.
pub async fn import_cases(
    db: &Db,
    settings: &Settings,
    args: ImportCasesArgs,
) -> anyhow::Result<()> {
    let mapping = mapping_of(&args)?;
    let cases = match parse_file(&args.file, &mapping) {
        Ok(cases) => cases,
        Err(errors) => {
            for error in &errors {
                eprintln!("{}: {error}", args.file.display());
            }
            bail!("{} invalid rows in {}; nothing was imported", errors.len(), args.file.display());
        }
    };
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let report =
        insert_cases(db, &locator.snapshot(), &mapping.source, &cases).await.with_context(
            || format!("cannot store the cases of {}; nothing was imported", args.file.display()),
        )?;
    println!(
        "imported {} cases from {}: {} at the default location, {} outside every grid",
        report.imported,
        args.file.display(),
        report.default_location,
        report.outside_grids
    );
    Ok(())
}
