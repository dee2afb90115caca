//! Benchmarks run by `citycore bench`.
//!
//! `bench locate` measures point-to-grid lookups of [`crate::locate::AreaIndex`] on
//! one thread over generated grids and, with `--postgis`, the same lookups in PostGIS
//! on one connection, so both figures are per core.

pub mod alarms;
pub mod allocate;
mod grids;
pub mod import;
pub mod intake;
pub mod kpis;
pub mod mqtt;
pub mod notices;
mod postgis;

use std::{hint::black_box, time::Instant};

pub mod ingest;

use clap::Args;
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{config::LocateSettings, locate::AreaIndex};

#[derive(Debug, Args)]
pub struct LocateBenchArgs {
    /// Number of generated grid polygons (about 100 m across each, 6–12 vertices).
    #[arg(long, default_value_t = 60_000)]
    pub grids: usize,
    /// Number of in-memory lookups to time.
    #[arg(long, default_value_t = 5_000_000)]
    pub lookups: usize,
    /// PostgreSQL URL of a database with the PostGIS extension, to compare against;
    /// the benchmark creates and replaces its own tables there.
    #[arg(long, value_name = "URL")]
    pub postgis: Option<String>,
    /// Number of single-point PostGIS queries to time.
    #[arg(long, default_value_t = 20_000)]
    pub postgis_lookups: usize,
    /// Number of points in the PostGIS set-based join.
    #[arg(long, default_value_t = 200_000)]
    pub postgis_join_points: usize,
    /// Seed of the generated polygons and points, for repeatable runs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Random points over the generated extent, uniform in longitude and latitude.
fn random_points(extent: [f64; 4], count: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| [rng.random_range(extent[0]..extent[2]), rng.random_range(extent[1]..extent[3])])
        .collect()
}

/// Lookups per second of the in-memory index, with the share of points found.
struct IndexFigures {
    build_seconds: f64,
    /// Lookups per second of wall-clock time.
    lookups_per_second: f64,
    /// Lookups per second of CPU time of the measuring thread, when Linux reports it.
    lookups_per_cpu_second: Option<f64>,
    inside_share: f64,
}

/// Reads the CPU time a task has run, in nanoseconds, from a Linux `schedstat` file
/// such as `/proc/thread-self/schedstat` (its first field).
///
/// On a shared machine the wall-clock rate depends on what else runs, while the rate
/// per CPU second does not, so the benchmark reports both.
pub fn cpu_nanoseconds(schedstat: &str) -> Option<u64> {
    std::fs::read_to_string(schedstat).ok()?.split_whitespace().next()?.parse().ok()
}

/// Distinct points cycled through by the in-memory run; enough to defeat the caches
/// of a single lookup without spending the run's memory on points.
const DISTINCT_POINTS: usize = 1_000_000;

fn measure_index(grids: &grids::GeneratedGrids, args: &LocateBenchArgs) -> IndexFigures {
    let started = Instant::now();
    let index = AreaIndex::build(1, grids.areas.clone(), &LocateSettings::default());
    let build_seconds = started.elapsed().as_secs_f64();
    let points = random_points(grids.extent, DISTINCT_POINTS.min(args.lookups.max(1)), args.seed);
    for point in points.iter().take(100_000) {
        black_box(index.locate(point[0], point[1]));
    }
    let mut inside = 0usize;
    let cpu_before = cpu_nanoseconds("/proc/thread-self/schedstat");
    let started = Instant::now();
    for point in points.iter().cycle().take(args.lookups) {
        if black_box(index.locate(black_box(point[0]), black_box(point[1])))
            .is_some_and(|l| !l.outside)
        {
            inside += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu_nanoseconds("/proc/thread-self/schedstat");
    let cpu_seconds = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a) as f64 / 1e9);
    IndexFigures {
        build_seconds,
        lookups_per_second: args.lookups as f64 / seconds,
        lookups_per_cpu_second: cpu_seconds.map(|cpu| args.lookups as f64 / cpu),
        inside_share: inside as f64 / args.lookups.max(1) as f64,
    }
}

/// Reads the CPU model from `/proc/cpuinfo`, or returns `unknown` elsewhere.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Measures point-to-grid lookups per second and prints the figures.
///
/// # Errors
/// Fails when PostGIS is requested but unreachable or lacks the extension.
#[tracing::instrument(skip_all, fields(bench.grids = args.grids, bench.lookups = args.lookups))]
pub async fn run_locate(args: LocateBenchArgs) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("machine: {} logical cores, {}", cores, cpu_model());
    let grids = grids::generate(args.grids, args.seed);
    let vertices: usize = grids
        .areas
        .iter()
        .flat_map(|a| a.geometry.iter().flat_map(|g| g.0.iter()))
        .map(|p| p.exterior().0.len() - 1)
        .sum();
    println!(
        "grids: {} polygons ({}×{} lattice, {:.1} vertices on average), extent {:?}",
        grids.areas.len(),
        grids.columns,
        grids.rows,
        vertices as f64 / grids.areas.len().max(1) as f64,
        grids.extent
    );
    let figures = tokio::task::block_in_place(|| measure_index(&grids, &args));
    println!(
        "citycore index: built in {:.2} s; {:.0} lookups/s wall-clock on one thread, {} per CPU second ({} lookups, {:.1}% inside a grid)",
        figures.build_seconds,
        figures.lookups_per_second,
        shown(figures.lookups_per_cpu_second),
        args.lookups,
        figures.inside_share * 100.0
    );
    let Some(url) = &args.postgis else {
        return Ok(());
    };
    let postgis = postgis::measure(url, &grids, &args).await?;
    print_postgis(&figures, &postgis, &args);
    Ok(())
}

/// Prints the PostGIS figures and their ratios to the in-memory index.
fn print_postgis(
    figures: &IndexFigures,
    postgis: &postgis::PostgisFigures,
    args: &LocateBenchArgs,
) {
    println!("PostGIS: {}", postgis.version);
    println!(
        "PostGIS single-point ST_Contains: {:.0} lookups/s wall-clock on one connection, {} per server CPU second ({} queries)",
        postgis.single.per_second,
        shown(postgis.single.per_cpu_second),
        args.postgis_lookups
    );
    println!(
        "PostGIS set-based join: {:.0} points/s wall-clock, {} per server CPU second ({} points)",
        postgis.join.per_second,
        shown(postgis.join.per_cpu_second),
        args.postgis_join_points
    );
    let ratio = |ours: Option<f64>, theirs: Option<f64>| match ours.zip(theirs) {
        Some((ours, theirs)) => format!("{:.1}×", ours / theirs),
        None => "n/a".to_owned(),
    };
    println!(
        "ratio citycore/PostGIS, wall-clock: single-point {:.1}×, join {:.1}×",
        figures.lookups_per_second / postgis.single.per_second,
        figures.lookups_per_second / postgis.join.per_second
    );
    println!(
        "ratio citycore/PostGIS, per CPU second: single-point {}, join {}",
        ratio(figures.lookups_per_cpu_second, postgis.single.per_cpu_second),
        ratio(figures.lookups_per_cpu_second, postgis.join.per_cpu_second)
    );
}

fn shown(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |rate| format!("{rate:.0}"))
}
