//! The `citycore parking` subcommands: argument parsing and the steps of each run.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use clap::{Args, ValueEnum};

use super::{
    ParkingError,
    align::{AlignOptions, align},
    html::render_html,
    landuse::{mix_demand, parse_mix},
    pricing::PricingRule,
    pricing_report::{simulation_csv, simulation_text},
    report::{AnalysisReport, SeriesReport, analysis_csv, analysis_text},
    series::{ColumnOptions, read_series},
    simulate::{SimulationOptions, parse_bands, simulate},
};
use crate::{config::Settings, i18n::Locale};

/// Input columns, time zones and grid options, shared by both subcommands.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    /// Column with the lot id (detected: park_id, lot, lot_id, SystemCodeNumber); without one
    /// the file is one lot.
    #[arg(long, value_name = "NAME")]
    pub lot_col: Option<String>,
    /// Column with the number of spaces (detected: Capacity, spaces).
    #[arg(long, value_name = "NAME")]
    pub capacity_col: Option<String>,
    /// Column with the occupied count (detected: Occupancy, occupied, vehicles).
    #[arg(long, value_name = "NAME")]
    pub occupied_col: Option<String>,
    /// Column with the occupied fraction 0–1, multiplied by the capacity.
    #[arg(long, value_name = "NAME")]
    pub occupied_fraction_col: Option<String>,
    /// Column with the reading time (detected: time, timestamp, LastUpdated).
    #[arg(long, value_name = "NAME")]
    pub time_col: Option<String>,
    /// Spaces per lot when the file has no capacity column.
    #[arg(long, value_name = "SPACES")]
    pub capacity: Option<f64>,
    /// Column with the vehicles that arrived since the lot's previous reading (detected:
    /// arrivals, entries); turnover is reported only with it.
    #[arg(long, value_name = "NAME")]
    pub arrivals_col: Option<String>,
    /// IANA time zone of timestamps without an offset.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub time_zone: String,
    /// IANA time zone that cuts hours and days in the report [default: ui.time_zone].
    #[arg(long, value_name = "ZONE")]
    pub report_time_zone: Option<String>,
    /// Step of the common time grid, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 5)]
    pub step_minutes: u32,
    /// Maximum age of a reading carried forward to a grid point, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 30)]
    pub max_gap_minutes: u32,
    /// Report runs of identical readings longer than this many hours as flat runs.
    #[arg(long, value_name = "HOURS", default_value_t = crate::parking::align::DEFAULT_FLAT_RUN_HOURS)]
    pub flat_run_hours: u32,
    /// Leave flat runs out of every measure instead of only reporting them.
    #[arg(long)]
    pub drop_flat_runs: bool,
}

/// Output format and destination.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format [default: from the --output extension, else text].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to this file and print the console summary.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of the report: zh-CN or en [default: ui.default_locale].
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Html,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Occupancy CSV with a time, an occupied count or fraction, and optionally lot and
    /// capacity columns.
    pub file: Option<PathBuf>,
    /// Planned land-use mix, such as office=20000,residential=300,retail=5000 (office,
    /// retail, restaurant in m² of floor area; residential in dwellings).
    #[arg(long, value_name = "USE=SIZE,…")]
    pub mix: Option<String>,
    #[command(flatten)]
    pub series: SeriesArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SimulatePricingArgs {
    /// Occupancy CSV, read as for `parking analyze`.
    pub file: PathBuf,
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Constant price elasticity of demand, an assumption (not measured from the data).
    #[arg(long, default_value_t = -0.3, allow_hyphen_values = true)]
    pub elasticity: f64,
    /// Price of every band at the start, in yuan per hour.
    #[arg(long, value_name = "YUAN", default_value_t = 2.0)]
    pub start_price: f64,
    /// Price change per decision, in yuan per hour.
    #[arg(long, value_name = "YUAN", default_value_t = 0.5)]
    pub price_step: f64,
    /// Lowest price, in yuan per hour.
    #[arg(long, value_name = "YUAN", default_value_t = 0.5)]
    pub min_price: f64,
    /// Highest price, in yuan per hour.
    #[arg(long, value_name = "YUAN", default_value_t = 15.0)]
    pub max_price: f64,
    /// Mean occupied fraction at or above which a band's price rises.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.8)]
    pub raise_at: f64,
    /// Mean occupied fraction below which a band's price falls.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.6)]
    pub lower_below: f64,
    /// Days between evaluations, the shortest time between two price changes.
    #[arg(long, value_name = "DAYS", default_value_t = 28)]
    pub period_days: u32,
    /// Days between announcing a price and charging it.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub notice_days: u32,
    /// Price bands as local hour ranges, priced separately on weekdays and weekends.
    #[arg(long, value_name = "RANGES", default_value = "0-8,8-12,12-16,16-20,20-24")]
    pub bands: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `parking analyze`.
///
/// # Errors
/// Fails on unreadable input, invalid options, or when the output cannot be written.
pub fn run_analyze(settings: &Settings, args: AnalyzeArgs) -> anyhow::Result<()> {
    let locale = pick_locale(settings, args.output.lang.as_deref())?;
    if args.file.is_none() && args.mix.is_none() {
        anyhow::bail!("nothing to analyze; give an occupancy CSV file, --mix USE=SIZE,…, or both");
    }
    let series = match &args.file {
        Some(path) => Some(analyze_file(settings, path, &args.series)?),
        None => None,
    };
    let mix = args.mix.as_deref().map(parse_mix).transpose()?.map(|mix| mix_demand(&mix));
    let report = AnalysisReport { series, mix };
    let text = analysis_text(&report, locale);
    let rendered = match output_format(&args.output) {
        Format::Text => text.clone(),
        Format::Html => render_html(&report, locale)?,
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Csv => analysis_csv(&report)?,
    };
    write_output(&args.output, &rendered, &text)
}

fn analyze_file(
    settings: &Settings,
    path: &Path,
    args: &SeriesArgs,
) -> anyhow::Result<SeriesReport> {
    let input_zone = parse_zone(&args.time_zone, "--time-zone")?;
    let report_zone = match &args.report_time_zone {
        Some(name) => parse_zone(name, "--report-time-zone")?,
        None => settings.time_zone(),
    };
    let alignment = align_options(args)?;
    let series = read_series(path, &column_options(args), input_zone)?;
    if series.readings.is_empty() {
        print_problems(&series.problems);
    }
    let source = path.display().to_string();
    Ok(SeriesReport::build(&source, series, alignment, input_zone, report_zone)?)
}

/// Runs `parking simulate-pricing`.
///
/// # Errors
/// Fails on unreadable input, invalid options, or when the output cannot be written.
pub fn run_simulate_pricing(settings: &Settings, args: SimulatePricingArgs) -> anyhow::Result<()> {
    let locale = pick_locale(settings, args.output.lang.as_deref())?;
    let format = output_format(&args.output);
    anyhow::ensure!(
        format != Format::Html,
        "--format html is not available for simulate-pricing; use text, json or csv"
    );
    let options = simulation_options(&args)?;
    let series_args = &args.series;
    let report_zone = match &series_args.report_time_zone {
        Some(name) => parse_zone(name, "--report-time-zone")?,
        None => settings.time_zone(),
    };
    let alignment = align_options(series_args)?;
    let input_zone = parse_zone(&series_args.time_zone, "--time-zone")?;
    let mut series = read_series(&args.file, &column_options(series_args), input_zone)?;
    if series.readings.is_empty() {
        print_problems(&series.problems);
        return Err(ParkingError::NoValidReadings { path: args.file.display().to_string() }.into());
    }
    let aligned = align(&series.readings, alignment, &mut series.problems);
    print_problems(&series.problems);
    let simulation = simulate(&aligned, report_zone, &options);
    let text = simulation_text(&simulation, locale);
    let rendered = match format {
        // HTML was rejected before reading the file.
        Format::Text | Format::Html => text.clone(),
        Format::Json => serde_json::to_string_pretty(&simulation)? + "\n",
        Format::Csv => simulation_csv(&simulation)?,
    };
    write_output(&args.output, &rendered, &text)
}

fn simulation_options(args: &SimulatePricingArgs) -> anyhow::Result<SimulationOptions> {
    let fen = |yuan: f64, flag: &str| -> anyhow::Result<u32> {
        anyhow::ensure!(
            yuan.is_finite() && (0.0..=10_000.0).contains(&yuan),
            "{flag} {yuan} is invalid; give yuan per hour from 0 to 10000"
        );
        Ok((yuan * 100.0).round() as u32)
    };
    anyhow::ensure!(
        args.elasticity.is_finite(),
        "--elasticity {} is invalid; give a number such as -0.3",
        args.elasticity
    );
    let rule = PricingRule {
        raise_at: args.raise_at,
        lower_below: args.lower_below,
        step_fen: fen(args.price_step, "--price-step")?,
        min_fen: fen(args.min_price, "--min-price")?,
        max_fen: fen(args.max_price, "--max-price")?,
        period_days: args.period_days,
        notice_days: args.notice_days,
    };
    let start_fen = fen(args.start_price, "--start-price")?;
    anyhow::ensure!(start_fen > 0, "--start-price must be above 0 yuan per hour");
    rule.validate(start_fen)?;
    Ok(SimulationOptions {
        rule,
        start_fen,
        elasticity: args.elasticity,
        bands: parse_bands(&args.bands)?,
    })
}

fn align_options(args: &SeriesArgs) -> Result<AlignOptions, ParkingError> {
    AlignOptions::new(args.step_minutes, args.max_gap_minutes)?
        .with_flat_runs(args.flat_run_hours, args.drop_flat_runs)
}

fn column_options(args: &SeriesArgs) -> ColumnOptions {
    ColumnOptions {
        lot_col: args.lot_col.clone(),
        capacity_col: args.capacity_col.clone(),
        occupied_col: args.occupied_col.clone(),
        occupied_fraction_col: args.occupied_fraction_col.clone(),
        time_col: args.time_col.clone(),
        capacity: args.capacity,
        arrivals_col: args.arrivals_col.clone(),
    }
}

fn parse_zone(name: &str, flag: &str) -> anyhow::Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        anyhow::anyhow!(
            "{flag} {name} is not an IANA time zone name; use one such as UTC or Asia/Shanghai"
        )
    })
}

fn pick_locale(settings: &Settings, lang: Option<&str>) -> anyhow::Result<Locale> {
    match lang {
        Some(tag) => Locale::parse(tag)
            .ok_or_else(|| anyhow::anyhow!("--lang {tag} is not supported; use zh-CN or en")),
        None => Ok(Locale::parse(&settings.ui.default_locale).unwrap_or_default()),
    }
}

fn output_format(args: &OutputArgs) -> Format {
    let extension = args.output.as_ref().and_then(|path| path.extension()).and_then(|e| e.to_str());
    args.format.unwrap_or(match extension {
        Some("html" | "htm") => Format::Html,
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        _ => Format::Text,
    })
}

fn write_output(args: &OutputArgs, rendered: &str, console_text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered)
                .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?;
            print!("{console_text}");
        }
        None => print!("{rendered}"),
    }
    Ok(())
}

/// Prints the data problems to standard error, for output that has no room for them.
fn print_problems(problems: &super::series::Problems) {
    for (kind, tally) in &problems.0 {
        eprintln!("data problem {kind:?}: {}", tally.count);
        for example in &tally.examples {
            eprintln!("  {example}");
        }
    }
}
