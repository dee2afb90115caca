//! `citycore replay`: streams a real time series through the ingestion path of device
//! readings, at a chosen speed, so that the rollups, latest values and everything built
//! on them run on real data.
//!
//! [`source`] reads a dataset file into readings. Its doc lists which device and
//! attribute each column becomes and which clock its times use. [`mod@play`] paces and
//! batches the readings, and [`sink`] hands each batch to the ingestion service of this
//! process or to a running server's `POST /api/v1/readings`. Both receivers apply the
//! same checks and write path, so a replayed batch is acknowledged only once committed.
//!
//! The accepted time window (`sensors.max_past_age_days`) rejects old measurements, so
//! the times move forward by whole weeks before they are sent (see [`Shift`]).

pub mod formats;
pub mod place;
pub mod play;
mod progress;
pub mod sink;
pub mod source;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;

pub use play::{PlayOptions, Shift, Speed, Summary, play};
pub use sink::{Registration, Sink, register_missing};
pub use source::{DateRange, Format, Series, load};

use crate::{config::Settings, http::AppState, i18n::Locale};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The dataset's CSV file, or its folder when that contains a single CSV file.
    #[arg(value_name = "DATASET_DIR_OR_FILE")]
    pub path: PathBuf,
    /// The file's layout; detected from the header row when omitted.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Seconds of measurement time replayed per wall-clock second, so 1 is real time and
    /// 3600 plays an hour per second. `max` or 0 sends as fast as the receiver stores.
    #[arg(long, default_value = "max", value_name = "N")]
    pub speed: Speed,
    /// First local date to replay (YYYY-MM-DD on the dataset's own clock).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Local date to stop before (exclusive).
    #[arg(long, value_name = "DATE")]
    pub until: Option<NaiveDate>,
    /// Whole weeks added to every measurement time, or `auto` to move the last reading
    /// into the past week, so that the readings fall inside the accepted time window.
    #[arg(long, default_value = "auto", value_name = "WEEKS")]
    pub shift_weeks: Shift,
    /// Readings per batch (one transaction, or one HTTP request, each).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch: usize,
    /// Post to the server at this URL, such as http://127.0.0.1:8080, instead of
    /// storing in this process. Its devices must be registered (see --print-devices).
    #[arg(long, value_name = "URL", requires = "token")]
    pub to: Option<String>,
    /// Gateway key or device token for --to.
    #[arg(long, env = "CITYCORE_REPLAY_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the dataset's devices as CSV for `citycore devices import`, and exit.
    #[arg(long)]
    pub print_devices: bool,
    /// Place the dataset's devices in the grids of this area (a street, community or
    /// grid code) instead of at the dataset's city, so that the area's dashboard shows
    /// them. Applies to devices this replay registers and to --print-devices; devices
    /// registered before keep their location, with a warning.
    #[arg(long, value_name = "AREA_CODE")]
    pub place: Option<String>,
}

/// Runs `citycore replay`: loads the file, registers missing devices when storing in
/// process, plays the readings with a progress display and prints a summary.
///
/// # Errors
/// Fails when the file cannot be read, nothing falls in the chosen dates, or the
/// receiver fails; readings acknowledged before a failure stay stored.
pub async fn run_replay(settings: Settings, args: ReplayArgs) -> anyhow::Result<()> {
    if args.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }

    let range = DateRange { from: args.from, until: args.until };
    let mut series = load(&args.path, args.format, range)?;
    if let Some(code) = &args.place {
        let db = crate::cli::open_database(&settings).await?;
        place::place_with_database(&db, &settings, code, &mut series.devices).await?;
    }
    if args.print_devices {
        return print_devices(&series);
    }
    if series.readings.is_empty() {
        anyhow::bail!(
            "{} has no readings in the chosen dates; check --from and --until",
            series.file.display()
        );
    }

    let locale = Locale::parse(&settings.ui.default_locale).unwrap_or_default();
    let sink = match (&args.to, args.token) {
        (Some(url), Some(token)) => Sink::http(url, token, locale)?,
        _ => {
            let db = crate::cli::open_database(&settings).await?;
            let registration = register_missing(&db, &settings, &series.devices).await?;
            eprintln!("registered {} new devices", registration.added);
            if let Some(warning) = kept_location_warning(args.place.as_deref(), registration) {
                eprintln!("warning: {warning}");
            }
            Sink::InProcess(AppState::new(settings.clone(), db).await?)
        }
    };

    let now_ms = chrono::Utc::now().timestamp_millis();
    let shift_ms = args.shift_weeks.to_ms(&series, now_ms);
    print_plan(&series, shift_ms);
    if matches!(sink, Sink::InProcess(_)) {
        warn_outside_window(&series, &settings, shift_ms, now_ms);
    }

    let options =
        PlayOptions { speed: args.speed, batch_size: args.batch, shift_ms, progress: true };
    tracing::info!(
        replay.format = series.format.name(),
        replay.readings = series.readings.len(),
        replay.shift_ms = shift_ms,
        "replay started"
    );
    let summary = play(&series, &sink, &options).await?;
    tracing::info!(
        replay.stored = summary.stored,
        replay.duplicates = summary.duplicates,
        replay.rejected = summary.rejected_total(),
        "replay finished"
    );
    print_summary(&series, &summary);
    Ok(())
}

/// Returns the warning for `--place AREA` when some devices were registered before this
/// replay: `--place` does not move them, so the area's dashboard may not show them.
pub fn kept_location_warning(place: Option<&str>, registration: Registration) -> Option<String> {
    let area = place?;
    (registration.existing > 0).then(|| {
        format!(
            "--place {area} applies only to devices registered now ({added}). {existing} devices \
             of this dataset were registered before and keep their stored location, which \
             may lie outside {area}. To place them, replay into a fresh data directory or \
             database",
            added = registration.added,
            existing = registration.existing,
        )
    })
}

fn print_plan(series: &Series, shift_ms: i64) {
    let first = series.readings.first().map_or(0, |r| r.observed_at_ms);
    let last = series.readings.last().map_or(0, |r| r.observed_at_ms);
    let utc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| t.to_rfc3339())
    };
    println!(
        "replaying {} readings of {} devices ({}) from {}",
        series.readings.len(),
        series.devices.len(),
        series.format.name(),
        series.file.display()
    );
    println!("measured {} to {} (UTC)", utc(first), utc(last));
    println!(
        "shifted by {} weeks to {} to {} (UTC)",
        shift_ms / (7 * 86_400_000),
        utc(first + shift_ms),
        utc(last + shift_ms)
    );
}

/// Warns before sending when readings will fall before the accepted time window, which
/// is known here only for the in-process receiver.
fn warn_outside_window(series: &Series, settings: &Settings, shift_ms: i64, now_ms: i64) {
    let days = settings.sensors.max_past_age_days;
    let oldest_ms = now_ms - days * 86_400_000;
    let too_old =
        series.readings.iter().filter(|r| r.observed_at_ms + shift_ms < oldest_ms).count();
    if too_old > 0 {
        eprintln!(
            "warning: {too_old} readings fall more than {days} days back and will be rejected; \
             replay fewer dates or raise sensors.max_past_age_days"
        );
    }
}

fn print_summary(series: &Series, summary: &Summary) {
    let seconds = summary.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { summary.sent as f64 / seconds } else { 0.0 };
    println!(
        "sent {} readings in {} batches in {seconds:.1} s ({rate:.0} readings/s)",
        summary.sent, summary.batches
    );
    println!(
        "stored {}, duplicates {}, conflicts {}, rejected {}",
        summary.stored,
        summary.duplicates,
        summary.conflicts,
        summary.rejected_total()
    );
    for (code, (count, message)) in &summary.rejected {
        println!("  rejected {count} × {code}: {message}");
    }
    println!("skipped in the file: {}", series.skipped.len());
    let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for row in &series.skipped {
        *reasons.entry(row.reason.as_str()).or_default() += 1;
    }
    for (reason, count) in reasons {
        println!("  skipped {count} × {reason}");
    }
}

fn print_devices(series: &Series) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(std::io::stdout().lock());
    writer.write_record([
        "id",
        "kind",
        "name",
        "longitude",
        "latitude",
        "crs",
        "owner",
        "capacity",
        "parking_space",
        "merchant",
        "resident",
    ])?;
    for device in &series.devices {
        let capacity = device.capacity.map(|c| c.to_string()).unwrap_or_default();
        writer.write_record([
            device.id.as_str(),
            &device.kind,
            &device.name,
            &device.longitude.to_string(),
            &device.latitude.to_string(),
            "wgs84",
            &device.owner,
            &capacity,
            "",
            "",
            "",
        ])?;
    }
    writer.flush()?;
    Ok(())
}
