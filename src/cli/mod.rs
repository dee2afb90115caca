//! Command-line interface: argument definitions and dispatch to the contexts.
//!
//! Global flags (`--config`, `--data-dir`, `--database-url`, `--log-format`) override the
//! configuration file and `CITYCORE_…` variables. Every subcommand that reads or writes
//! stored data connects to the configured database and applies pending migrations first.
//! The `parking` file analyses and `config` do not touch the database.

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::{
    config::{LogFormat, Settings},
    db::Db,
};

#[derive(Debug, Parser)]
#[command(
    name = "citycore",
    version,
    about = "Digital governance platform for a city street (街道)"
)]
pub struct Cli {
    /// TOML configuration file; `citycore config example` prints a commented one.
    #[arg(long, global = true, env = "CITYCORE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and uploads (overrides `data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL, `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` (overrides `database.url`).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log output: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web console and the APIs.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export data to files.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Show configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Import and show the working-time calendar (holidays and make-up working days).
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Import and export the case category catalogue.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Import and export the routing rules (owner and territory departments of areas).
    #[command(subcommand)]
    Routing(RoutingCommand),
    /// Register devices, rotate their tokens, create gateway keys and purge old readings.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Stream a real time series (parking, weather, energy, foot traffic) through the
    /// ingestion path of device readings, at a chosen speed.
    Replay(Box<crate::sensors::replay::ReplayArgs>),
    /// Run benchmarks and print their figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Analyse parking occupancy series and simulate demand-responsive pricing.
    #[command(subcommand)]
    Parking(ParkingCommand),
    /// Manage the Open311 GeoReport v2 interface.
    #[command(subcommand)]
    Open311(Open311Command),
    /// Import and export the street's address gazetteer (地名地址库).
    #[command(subcommand)]
    Places(crate::places::cli::PlacesCommand),
    /// Manage the resident registry (居民档案), such as rotating its data key.
    #[command(subcommand)]
    Residents(crate::residents::rotate::ResidentsCommand),
}

#[derive(Debug, Subcommand)]
pub enum ParkingCommand {
    /// Report occupancy, utilisation and the capacity gain from sharing; with --mix,
    /// the shared-parking demand of a planned land-use mix.
    Analyze(Box<crate::parking::cli::AnalyzeArgs>),
    /// Replay the demand-responsive pricing rule on an occupancy series.
    SimulatePricing(Box<crate::parking::cli::SimulatePricingArgs>),
    /// Import parking lots and spaces from CSV or GeoJSON; all or nothing, upserted by ref.
    ImportInventory(crate::parking::inventory::cli::ImportInventoryArgs),
}

#[derive(Debug, Subcommand)]
pub enum Open311Command {
    /// Manage the API keys that Open311 clients post with.
    #[command(subcommand)]
    Key(Open311KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum Open311KeyCommand {
    /// Create an API key for a client and print it once; only its hash is stored.
    Add(crate::open311::cli::AddKeyArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// On first start with no areas, create the generated demo street and an administrator.
    #[arg(long)]
    pub demo: bool,
    /// Address and port to listen on, such as 127.0.0.1:8080 (overrides `server.bind`).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import areas and grids from GeoJSON files; all or nothing.
    Areas(crate::areas::cli::ImportAreasArgs),
    /// Import cases from a 311-style CSV with a column mapping; all or nothing.
    Cases(Box<crate::cases::import::cli::ImportCasesArgs>),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export areas and grids as a GeoJSON FeatureCollection.
    Areas(crate::areas::cli::ExportAreasArgs),
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Import holidays and make-up working days from CSV (`date,kind,name`); all or nothing.
    Import(crate::cases::calendar::cli::ImportCalendarArgs),
    /// Print the weekly working hours and the special days of one year.
    Show(crate::cases::calendar::cli::ShowCalendarArgs),
    /// Set the working periods of one weekday, such as `09:00-12:00,13:30-18:00`.
    Hours(crate::cases::calendar::cli::SetHoursArgs),
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Import categories from CSV; all or nothing, with one error per invalid cell.
    Import(crate::cases::catalogue::cli::ImportCatalogueArgs),
    /// Export every category as CSV in the format `import` reads.
    Export(crate::cases::catalogue::cli::ExportCatalogueArgs),
}

#[derive(Debug, Subcommand)]
pub enum RoutingCommand {
    /// Replace every routing rule with those of a CSV file. An invalid row writes nothing.
    Import(crate::cases::routing::cli::ImportRoutingArgs),
    /// Export every routing rule as CSV in the format `import` reads.
    Export(crate::cases::routing::cli::ExportRoutingArgs),
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// Import devices from CSV or JSON; all or nothing. Prints each new device's token once.
    Import(crate::sensors::cli::ImportDevicesArgs),
    /// Replace a device's token and print the new one; the old one stops working.
    Token(crate::sensors::cli::RotateTokenArgs),
    /// Create a gateway key that may submit readings of any device, and print it once.
    Key(crate::sensors::cli::CreateKeyArgs),
    /// Delete raw readings older than `sensors.raw_retention_days`; rollups are kept.
    Purge,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints a generated password unless one is given on stdin.
    Add(crate::accounts::cli::AddUserArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration with every key and its default.
    Example,
    /// Print the effective configuration after files, environment and flags (secrets hidden).
    Show,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Point-to-grid lookups per second over generated grids, optionally beside PostGIS.
    Locate(crate::bench::LocateBenchArgs),
    /// Readings per second through HTTP batches, next to direct bulk inserts.
    Ingest(crate::bench::ingest::IngestBenchArgs),
    /// Readings per second through an MQTT broker into the store, next to the broker's
    /// own rate to a subscriber that only counts.
    Mqtt(crate::bench::mqtt::MqttBenchArgs),
    /// KPI query p50 and p95 over generated cases on the configured database.
    Kpis(crate::bench::kpis::KpiBenchArgs),
    /// Cases per second through POST /api/v1/cases on an in-process server.
    Intake(crate::bench::intake::IntakeBenchArgs),
    /// A year of generated cases through the bulk import, then KPI query latency.
    Import(crate::bench::import::ImportBenchArgs),
    /// One notice to every generated resident: inbox fan-out and webhook deliveries.
    Notices(crate::bench::notices::NoticeBenchArgs),
    /// Shared-space allocation: served requests against the optimum, and speed.
    Allocate(crate::bench::allocate::AllocateBenchArgs),
    /// Latency from a reading to its alarm and case, next to a reading that raises none.
    Alarms(crate::bench::alarms::AlarmBenchArgs),
}

/// Runs the parsed command and maps failures to exit code 1.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match load_settings(&cli) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("citycore: {error:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(settings.log.format, &settings.log.filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("citycore: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("citycore: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        settings.data_dir = dir.clone();
    }
    if let Some(url) = &cli.database_url {
        settings.database.url = url.clone();
    }
    if let Some(format) = cli.log_format {
        settings.log.format = format;
    }
    if let Command::Serve(ServeArgs { bind: Some(bind), .. }) = &cli.command {
        settings.server.bind = *bind;
    }
    settings.validate()?;
    Ok(settings)
}

/// Connects to the configured database and applies pending migrations.
///
/// # Errors
/// Fails when the database cannot be reached or a migration fails.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    let db = Db::connect(&url, settings.database.max_connections).await?;
    db.migrate().await?;
    tracing::debug!(database.url = %crate::config::redact_url(&url), "database ready");
    Ok(db)
}

async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Config(ConfigCommand::Example) => {
            print!("{}", crate::config::EXAMPLE_TOML);
            Ok(())
        }
        Command::Config(ConfigCommand::Show) => {
            let mut shown = settings.clone();
            shown.database.url = crate::config::redact_url(&settings.database_url());
            shown.residents = settings.residents.redacted();
            shown.notices = settings.notices.redacted();
            shown.mqtt = settings.mqtt.redacted();
            print!("{}", toml::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Locate(args)) => crate::bench::run_locate(args).await,
        Command::Parking(ParkingCommand::Analyze(args)) => {
            crate::parking::cli::run_analyze(&settings, *args)
        }
        Command::Parking(ParkingCommand::SimulatePricing(args)) => {
            crate::parking::cli::run_simulate_pricing(&settings, *args)
        }
        Command::Parking(ParkingCommand::ImportInventory(args)) => {
            let db = open_database(&settings).await?;
            crate::parking::inventory::cli::run_import_inventory(&db, &settings, args).await
        }
        Command::Bench(BenchCommand::Ingest(args)) => {
            crate::bench::ingest::run_ingest(settings, args).await
        }
        Command::Bench(BenchCommand::Mqtt(args)) => {
            crate::bench::mqtt::run_mqtt(settings, args).await
        }
        Command::Devices(command) => {
            let db = open_database(&settings).await?;
            match command {
                DevicesCommand::Import(args) => {
                    crate::sensors::cli::import_devices(&db, &settings, args).await
                }
                DevicesCommand::Token(args) => crate::sensors::cli::rotate_token(&db, args).await,
                DevicesCommand::Key(args) => crate::sensors::cli::create_key(&db, args).await,
                DevicesCommand::Purge => crate::sensors::cli::purge(&db, &settings).await,
            }
        }
        Command::Replay(args) => crate::sensors::replay::run_replay(settings, *args).await,
        Command::Bench(BenchCommand::Import(args)) => {
            crate::bench::import::run_import(settings, args).await
        }
        Command::Bench(BenchCommand::Allocate(args)) => crate::bench::allocate::run_allocate(args),
        Command::Bench(BenchCommand::Alarms(args)) => {
            crate::bench::alarms::run_alarms(settings, args).await
        }
        Command::Bench(BenchCommand::Notices(args)) => {
            crate::bench::notices::run_notices(settings, args).await
        }
        Command::Bench(BenchCommand::Intake(args)) => {
            crate::bench::intake::run_intake(settings, args).await
        }
        Command::Bench(BenchCommand::Kpis(args)) => {
            let db = open_database(&settings).await?;
            crate::bench::kpis::run_kpis(&db, args).await
        }
        Command::Migrate => {
            open_database(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve(args) => serve(settings, args).await,
        Command::Import(ImportCommand::Cases(args)) => {
            let db = open_database(&settings).await?;
            crate::cases::import::cli::import_cases(&db, &settings, *args).await
        }
        Command::Import(ImportCommand::Areas(args)) => {
            let db = open_database(&settings).await?;
            crate::areas::cli::import_areas(&db, &settings, args).await
        }
        Command::Export(ExportCommand::Areas(args)) => {
            let db = open_database(&settings).await?;
            crate::areas::cli::export_areas(&db, &settings, args).await
        }
        Command::Calendar(command) => {
            let db = open_database(&settings).await?;
            match command {
                CalendarCommand::Import(args) => {
                    crate::cases::calendar::cli::import_calendar(&db, &settings, args).await
                }
                CalendarCommand::Show(args) => {
                    crate::cases::calendar::cli::show_calendar(&db, &settings, args).await
                }
                CalendarCommand::Hours(args) => {
                    crate::cases::calendar::cli::set_hours(&db, &settings, args).await
                }
            }
        }
        Command::Catalogue(command) => {
            let db = open_database(&settings).await?;
            match command {
                CatalogueCommand::Import(args) => {
                    crate::cases::catalogue::cli::import_catalogue(&db, &settings, args).await
                }
                CatalogueCommand::Export(args) => {
                    crate::cases::catalogue::cli::export_catalogue(&db, args).await
                }
            }
        }
        Command::Routing(command) => {
            let db = open_database(&settings).await?;
            match command {
                RoutingCommand::Import(args) => {
                    crate::cases::routing::cli::import_routing(&db, &settings, args).await
                }
                RoutingCommand::Export(args) => {
                    crate::cases::routing::cli::export_routing(&db, args).await
                }
            }
        }
        Command::Open311(Open311Command::Key(Open311KeyCommand::Add(args))) => {
            let db = open_database(&settings).await?;
            crate::open311::cli::add_key(&db, args).await
        }
        Command::Places(command) => {
            let db = open_database(&settings).await?;
            crate::places::cli::run(&db, &settings, command).await
        }
        Command::Residents(command) => {
            let db = open_database(&settings).await?;
            crate::residents::rotate::run(&db, &settings, command).await
        }
        Command::User(UserCommand::Add(args)) => {
            let db = open_database(&settings).await?;
            crate::accounts::cli::add_user(&db, &settings, args).await
        }
    }
}

async fn serve(settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    crate::sensors::mqtt::check_tls_files(&settings.mqtt)?;
    let listener = tokio::net::TcpListener::bind(settings.server.bind).await.map_err(|error| {
        anyhow::anyhow!(
            "cannot listen on {}: {error}; choose another address with --bind",
            settings.server.bind
        )
    })?;
    let db = open_database(&settings).await?;
    if args.demo {
        crate::demo::seed_if_empty(&db, &settings).await?;
    }
    println!("citycore is serving on http://{}", listener.local_addr()?);
    let state = crate::http::AppState::new(settings, db).await?;
    crate::http::serve(state, listener).await
}
