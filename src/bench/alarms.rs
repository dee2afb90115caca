//! `citycore bench alarms`: the latency from a reading to its alarm and case.
//!
//! A kind-wide threshold rule watches the temperature of every bench device. Each
//! device then sends one reading, in a batch of its own, through the ingest path that
//! the HTTP and MQTT handlers share. That path checks the reading, commits it and
//! evaluates the rules. A reading past the level also raises an alarm and opens its
//! case through the case intake. The
//! ingest call returns once the case is committed, so its time is the latency from
//! reading to case. Readings below the level, on other devices, give the baseline: the
//! same path with a rule evaluated and nothing raised. HTTP parsing is not included.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::{
    import::peak_rss_kib,
    ingest::{TempDir, bench_devices},
    kpis::percentile,
};
use crate::{
    alarms::{input::RuleInput, rules::create_rule},
    areas::AreaStore,
    config::Settings,
    demo::demo_areas,
    http::AppState,
    sensors::{
        devices::register_devices, ingest, kinds::RawValue, reading::Submitted, store::Credential,
    },
    with_pool,
};

#[derive(Debug, Args)]
pub struct AlarmBenchArgs {
    /// Devices that raise an alarm, and as many that stay below the level.
    #[arg(long, default_value_t = 1_000)]
    pub devices: usize,
}

/// The rule's level in °C; the baseline sends 20 °C and the alarm run 40 °C.
const LEVEL: f64 = 35.0;

/// Runs the baseline and the alarm run and prints their latency percentiles.
///
/// Uses `--database-url` when given, else a SQLite file in a new temporary folder.
///
/// # Errors
/// Fails when the database fails, a reading is rejected, or an alarm has no case.
pub async fn run_alarms(mut settings: Settings, args: AlarmBenchArgs) -> anyhow::Result<()> {
    let _temp_dir = TempDir::unless_configured(&mut settings);
    let db = crate::cli::open_database(&settings).await?;
    if db.list_areas().await?.is_empty() {
        db.insert_areas(&demo_areas()).await?;
    }
    let state = AppState::new(settings.clone(), db.clone()).await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let index = state.locator.snapshot();
    let quiet_devices = bench_devices(&format!("bench-{run_id}-quiet"), args.devices);
    let raising_devices = bench_devices(&format!("bench-{run_id}-alarm"), args.devices);
    let quiet: Vec<String> = quiet_devices.iter().map(|device| device.id.clone()).collect();
    let raising: Vec<String> = raising_devices.iter().map(|device| device.id.clone()).collect();
    register_devices(&db, &index, quiet_devices).await?;
    register_devices(&db, &index, raising_devices).await?;

    let now_ms = chrono::Utc::now().timestamp_millis();
    let input = RuleInput {
        name: Some(format!("bench heat {run_id}")),
        kind: Some("temperature_humidity".to_owned()),
        attribute: Some("temperature".to_owned()),
        rule_type: Some("threshold".to_owned()),
        direction: Some("above".to_owned()),
        level: Some(LEVEL),
        clear_level: Some(30.0),
        min_duration_seconds: Some(0),
        category_code: Some("E0101".to_owned()),
        ..RuleInput::default()
    };
    let rule = create_rule(&db, &input, now_ms).await.context("creating the bench rule")?;

    let baseline = time_readings(&state, &quiet, 20.0).await?;
    let alarmed = time_readings(&state, &raising, 40.0).await?;
    let (cases,): (i64,) = with_pool!(&db, |pool| {
        sqlx::query_as(
            "SELECT COUNT(*) FROM sensor_alarm WHERE sensor_rule_id = $1 AND case_id IS NOT NULL",
        )
        .bind(rule.rule_id)
        .fetch_one(pool)
        .await
    })?;
    anyhow::ensure!(
        cases == args.devices as i64,
        "{cases} alarms have a case; expected {}",
        args.devices
    );

    println!("backend {:?}, {} devices, one reading per batch", db.backend(), args.devices);
    print_latencies("below the level (no alarm)", &baseline);
    print_latencies("past the level (alarm and case)", &alarmed);
    if let Some(kib) = peak_rss_kib() {
        println!("  peak memory: {} MiB", kib / 1024);
    }
    Ok(())
}

/// Sends one reading of `celsius` per device, each in its own batch, and returns the
/// sorted times of the ingest calls.
async fn time_readings(
    state: &AppState,
    devices: &[String],
    celsius: f64,
) -> anyhow::Result<Vec<Duration>> {
    let credential = Credential::Gateway { ingest_key_id: 0, name: "bench alarms".to_owned() };
    let mut latencies = Vec::with_capacity(devices.len());
    for device in devices {
        let reading = Submitted {
            device: device.clone(),
            attribute: "temperature".to_owned(),
            value: RawValue::Number(celsius),
            unit: None,
            observed_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        let started = Instant::now();
        let outcome = ingest::ingest(state, &credential, vec![Ok(reading)]).await?;
        latencies.push(started.elapsed());
        anyhow::ensure!(outcome.accepted == 1, "a reading of {device} was rejected");
    }
    latencies.sort();
    Ok(latencies)
}

fn print_latencies(name: &str, sorted: &[Duration]) {
    let ms = |fraction: f64| percentile(sorted, fraction).as_secs_f64() * 1000.0;
    println!(
        "  {name}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.95),
        ms(0.99),
        sorted.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
}
