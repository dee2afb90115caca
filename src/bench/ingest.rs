//! `citycore bench ingest`: readings per second through `POST /api/v1/readings` on
//! loopback, next to the same rows written straight into the store.
//!
//! Four runs, each on its own device set so every row is new:
//! - raw: plain multi-row inserts into `sensor_reading` only (the ceiling of the table);
//! - store: the full write path (raw rows, rollups, latest values) without HTTP;
//! - http: JSON batches posted to an in-process server by `--connections` clients;
//! - queued: the same batches with `Prefer: respond-async`, timed to the last
//!   acknowledgement (durable in the reading queue) and to the moment the queue worker
//!   has written them all.
//!
//! Each run reports its peak resident memory.

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use clap::Args;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::import::{peak_rss_kib, reset_peak_rss};
use crate::{
    config::Settings,
    db::Db,
    http::AppState,
    sensors::{
        Attribute, ReadingStore,
        devices::{DeviceInput, register_devices},
        reading::Reading,
    },
};

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Readings written by each of the three runs.
    #[arg(long, default_value_t = 1_000_000)]
    pub readings: usize,
    /// Readings per batch (per HTTP request and per transaction).
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Devices the readings are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub devices: usize,
    /// Concurrent HTTP connections, and concurrent writers of the other runs.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Body format of the HTTP runs: `json`, or `csv` (the compact text form).
    #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
    pub format: String,
    /// Runs only the queued HTTP run, for profiling it alone.
    #[arg(long)]
    pub queued_only: bool,
}

/// Runs the measurements and prints one line per run.
///
/// Uses `--database-url` when given, else a SQLite file in a new temporary folder.
///
/// # Errors
/// Fails when the database or the server fails, or a batch is not fully accepted.
pub async fn run_ingest(mut settings: Settings, args: IngestBenchArgs) -> anyhow::Result<()> {
    let _temp_dir = TempDir::unless_configured(&mut settings);
    // Readings must fall inside the accepted time window even for a long run.
    settings.sensors.max_past_age_days = settings.sensors.raw_retention_days;
    let db = crate::cli::open_database(&settings).await?;
    let backend = format!("{:?}", db.backend());
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let state = AppState::new(settings.clone(), db.clone()).await?;

    println!(
        "backend {backend}, {} readings, batch {}, {} devices, {} connections, {} bodies",
        args.readings, args.batch, args.devices, args.connections, args.format
    );
    let mut runs = Vec::new();
    if !args.queued_only {
        runs = time_direct_runs(&state, &args, &run_id).await?;
    }
    let queued_prefix = format!("bench-{run_id}-queued");
    register(&state, &queued_prefix, args.devices).await?;
    reset_peak_rss();
    let (acknowledged, written) = time_http(&state, &args, &queued_prefix, true).await?;
    let queued_peak = peak_rss_kib();
    runs.push(("http queued, acknowledged", acknowledged, queued_peak));
    runs.push(("http queued, written", written, queued_peak));
    for (name, seconds, peak) in runs {
        let peak = peak.map_or_else(|| "?".to_owned(), |kib| (kib / 1024).to_string());
        println!(
            "{name:<26} {:>12.0} readings/s ({seconds:.2} s, peak {peak} MiB)",
            args.readings as f64 / seconds
        );
    }
    Ok(())
}

type Run = (&'static str, f64, Option<u64>);

/// Times the raw inserts, the write path without HTTP and the direct HTTP batches.
async fn time_direct_runs(
    state: &AppState,
    args: &IngestBenchArgs,
    run_id: &str,
) -> anyhow::Result<Vec<Run>> {
    let (db, settings) = (&state.db, &state.settings);
    let raw_ids = register(state, &format!("bench-{run_id}-raw"), args.devices).await?;
    reset_peak_rss();
    let raw =
        time_writers(args, &raw_ids, |db, batch| async move { insert_raw(&db, &batch).await }, db)
            .await?;
    let raw_peak = peak_rss_kib();
    let store_ids = register(state, &format!("bench-{run_id}-store"), args.devices).await?;
    let zone = settings.sensor_time_zone();
    reset_peak_rss();
    let store = time_writers(
        args,
        &store_ids,
        move |db, batch| async move {
            db.store_readings(&batch, chrono::Utc::now().timestamp_millis(), zone).await?;
            Ok(())
        },
        db,
    )
    .await?;
    let store_peak = peak_rss_kib();
    let http_prefix = format!("bench-{run_id}-http");
    register(state, &http_prefix, args.devices).await?;
    reset_peak_rss();
    let (http, _) = time_http(state, args, &http_prefix, false).await?;
    Ok(vec![
        ("raw insert", raw, raw_peak),
        ("store path", store, store_peak),
        ("http batch", http, peak_rss_kib()),
    ])
}

/// Removes the benchmark's SQLite folder when the run ends.
pub(super) struct TempDir(pub(super) std::path::PathBuf);

impl TempDir {
    /// Points `settings` at a new temporary data folder, deleted when the returned value
    /// drops, unless a database URL is configured.
    pub(super) fn unless_configured(settings: &mut crate::config::Settings) -> Option<TempDir> {
        if !settings.database.url.is_empty() {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("citycore-bench-{}", uuid::Uuid::new_v4()));
        settings.data_dir = dir.clone();
        Some(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Returns `count` temperature and humidity devices named `{prefix}-{n}`.
pub(super) fn bench_devices(prefix: &str, count: usize) -> Vec<DeviceInput> {
    (0..count)
        .map(|n| DeviceInput {
            id: format!("{prefix}-{n}"),
            kind: "temperature_humidity".into(),
            name: format!("bench {n}"),
            longitude: 116.47,
            latitude: 39.99,
            crs: None,
            owner: "bench".into(),
            capacity: None,
            parking_space: None,
            merchant: None,
            resident: None,
        })
        .collect()
}

/// Registers the [`bench_devices`] and returns their ids.
async fn register(state: &AppState, prefix: &str, count: usize) -> anyhow::Result<Vec<i64>> {
    let inputs = bench_devices(prefix, count);
    let ids: Vec<String> = inputs.iter().map(|i| i.id.clone()).collect();
    register_devices(&state.db, &state.locator.snapshot(), inputs).await?;
    let refs = crate::sensors::SensorStore::device_refs(&state.db, &ids).await?;
    Ok(refs.into_iter().map(|r| r.device_id).collect())
}

/// Computes the `n`-th reading of a run: devices take turns, one reading per device per
/// second, ending about now so that every time is inside the accepted window.
pub(super) fn nth_reading(
    n: usize,
    devices: usize,
    total: usize,
    start_ms: i64,
) -> (usize, i64, f64) {
    let device = n % devices;
    let tick = (n / devices) as i64;
    let ticks = total.div_ceil(devices) as i64;
    let at = start_ms - (ticks - tick) * 1000;
    (device, at, 15.0 + (n % 100) as f64 / 10.0)
}

/// Splits the run into batches and hands them to `connections` concurrent writers.
async fn time_writers<F, Fut>(
    args: &IngestBenchArgs,
    device_ids: &[i64],
    write: F,
    db: &Db,
) -> anyhow::Result<f64>
where
    F: Fn(Db, Vec<Reading>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start_ms = chrono::Utc::now().timestamp_millis();
    let batches: Vec<Vec<Reading>> = (0..args.readings)
        .map(|n| {
            let (device, at, value) = nth_reading(n, device_ids.len(), args.readings, start_ms);
            Reading {
                device_id: device_ids[device],
                attribute: Attribute::Temperature,
                observed_at_ms: at,
                value,
            }
        })
        .collect::<Vec<_>>()
        .chunks(args.batch)
        .map(<[Reading]>::to_vec)
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(batches));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (queue, write, db) = (queue.clone(), write.clone(), db.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(batch) = next else { return anyhow::Ok(()) };
                write(db.clone(), batch).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Plain multi-row inserts into the raw table, without rollups or latest values.
async fn insert_raw(db: &Db, batch: &[Reading]) -> anyhow::Result<()> {
    let received_at_ms = chrono::Utc::now().timestamp_millis();
    match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for chunk in batch.chunks(6_000) {
                let mut query = sqlx::QueryBuilder::new(
                    "INSERT INTO sensor_reading (device_id, attribute, observed_at_ms, value, received_at_ms) ",
                );
                query.push_values(chunk, |mut row, r| {
                    row.push_bind(r.device_id)
                        .push_bind(r.attribute.code())
                        .push_bind(r.observed_at_ms)
                        .push_bind(r.value)
                        .push_bind(received_at_ms);
                });
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Db::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO sensor_reading (device_id, attribute, observed_at_ms, value, received_at_ms) \
                 SELECT d, a, t, v, $5 FROM UNNEST($1::bigint[], $2::smallint[], $3::bigint[], $4::float8[]) AS u(d, a, t, v)",
            )
            .bind(batch.iter().map(|r| r.device_id).collect::<Vec<_>>())
            .bind(batch.iter().map(|r| r.attribute.code()).collect::<Vec<_>>())
            .bind(batch.iter().map(|r| r.observed_at_ms).collect::<Vec<_>>())
            .bind(batch.iter().map(|r| r.value).collect::<Vec<_>>())
            .bind(received_at_ms)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// Posts pre-built JSON batches to an in-process server and times the whole run: to
/// the last response, and with `queued` also to the moment the queue is empty.
async fn time_http(
    state: &AppState,
    args: &IngestBenchArgs,
    prefix: &str,
    queued: bool,
) -> anyhow::Result<(f64, f64)> {
    let key = crate::sensors::cli::create_ingest_key(&state.db, &format!("{prefix}-key")).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = crate::http::router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let worker = queued.then(|| crate::sensors::queue::worker::spawn(state.clone()));

    let bodies = build_bodies(args, prefix)?;
    let content_type =
        if args.format == "csv" { "content-type: text/csv\r\n" } else { "" }.to_owned();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (queue, key, content_type) = (queue.clone(), key.clone(), content_type.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await?;
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let Some(body) = next else { return anyhow::Ok(()) };
                let (headers, expected) = if queued {
                    (
                        format!(
                            "authorization: Bearer {key}\r\nprefer: respond-async\r\n{content_type}"
                        ),
                        202,
                    )
                } else {
                    (format!("authorization: Bearer {key}\r\n{content_type}"), 200)
                };
                let status =
                    post(&mut stream, &address.to_string(), "/api/v1/readings", &headers, &body)
                        .await?;
                anyhow::ensure!(
                    status == expected,
                    "a batch returned status {status}; expected {expected}"
                );
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let acknowledged = started.elapsed().as_secs_f64();
    while state.reading_queue.store.depth().await?.batches > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let written = started.elapsed().as_secs_f64();
    server.abort();
    if let Some(worker) = worker {
        worker.abort();
    }
    Ok((acknowledged, written))
}

/// Builds the request bodies of a run: JSON batches, or CSV lines with times in ms.
fn build_bodies(args: &IngestBenchArgs, prefix: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let start_ms = chrono::Utc::now().timestamp_millis();
    let reading = |n| nth_reading(n, args.devices, args.readings, start_ms);
    let starts = (0..args.readings).step_by(args.batch.max(1));
    starts
        .map(|first| {
            let range = first..(first + args.batch).min(args.readings);
            if args.format == "csv" {
                let mut body = String::new();
                for (device, at, value) in range.map(reading) {
                    body.push_str(&format!("{prefix}-{device},temperature,{value},{at}ms\n"));
                }
                Ok(body.into_bytes())
            } else {
                let items: Vec<serde_json::Value> = range
                    .map(reading)
                    .map(|(device, at, value)| {
                        serde_json::json!({"device": format!("{prefix}-{device}"),
                            "attribute": "temperature", "value": value, "observed_at_ms": at})
                    })
                    .collect();
                Ok(serde_json::to_vec(&serde_json::json!({ "readings": items }))?)
            }
        })
        .collect()
}

/// Sends one keep-alive HTTP/1.1 POST of a JSON `body` to `path` and reads the
/// response; returns its status. `headers` are extra header lines, each ending in CRLF;
/// the content type is JSON unless they name one.
///
/// A hand-written client keeps the benchmark free of an HTTP client dependency; it
/// supports only what this server sends back: a `content-length` body.
pub(super) async fn post(
    stream: &mut TcpStream,
    host: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> anyhow::Result<u16> {
    let content_type =
        if headers.contains("content-type:") { "" } else { "content-type: application/json\r\n" };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\n{headers}{content_type}\
         content-length: {}\r\n\r\n",
        body.len()
    );
    // One write: a head and a small body sent apart wait for the server's delayed ACK
    // (Nagle's algorithm), which added about 40 ms to every short request.
    let mut request = Vec::with_capacity(head.len() + body.len());
    request.extend_from_slice(head.as_bytes());
    request.extend_from_slice(body);
    stream.write_all(&request).await?;
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0_u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = std::str::from_utf8(&buffer[..end]).context("response head is not UTF-8")?;
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).context("no status")?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
            })
            .context("response without content-length")?;
        while buffer.len() < end + 4 + length {
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "the server closed the connection");
            buffer.extend_from_slice(&chunk[..read]);
        }
        return Ok(status);
    }
}
