//! `citycore bench import`: a year of generated cases through the bulk import path,
//! then the latency of the KPI dashboard's queries over them.
//!
//! The cases imitate a year of Beijing's 12345 hotline (about 11 million calls) on the
//! demo street: report times over 2026 with a daily curve that peaks in office hours,
//! the shipped categories with a few frequent ones, points over the street's 40 grids
//! and a little outside, 93 % closed with a long-tailed handling time, and 60 % of the
//! closed cases rated. They are generated and stored in chunks, each one call of
//! [`insert_cases`] (case rows, intake log entries and KPI rollup in one transaction),
//! so memory stays bounded whatever `--cases` is.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use clap::Args;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{ingest::TempDir, kpis::percentile};
use crate::{
    areas::{AreaStore, Level},
    cases::{
        import::{ImportedCase, insert_cases},
        kpi::{
            GroupBy,
            rollup::read::rollup_counts,
            store::{KpiFilter, group_counts},
        },
    },
    config::Settings,
    db::Db,
    demo::demo_areas,
    locate::{AreaIndex, Locator},
    with_pool,
};

#[derive(Debug, Args)]
pub struct ImportBenchArgs {
    /// Cases to generate and import; the default is one year of Beijing 12345.
    #[arg(long, default_value_t = 11_000_000)]
    pub cases: usize,
    /// Cases per import call and transaction.
    #[arg(long, default_value_t = 50_000)]
    pub chunk: usize,
    /// Timed runs of each KPI query of the mix.
    #[arg(long, default_value_t = 20)]
    pub queries: usize,
}

/// The demo street's extent as west, south, east, north, a little wider than its grids.
const EXTENT: [f64; 4] = [116.451, 39.981, 116.488, 39.999];
/// Relative call volume per hour of the day (Beijing time), low at night.
const HOURLY_WEIGHTS: [u32; 24] =
    [2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 10, 12, 12, 11, 10, 9, 8, 7, 6, 4, 3];

/// Runs the import and the query timings and prints their figures.
///
/// # Errors
/// Fails when the database fails.
pub async fn run_import(mut settings: Settings, args: ImportBenchArgs) -> anyhow::Result<()> {
    let _temp_dir = TempDir::unless_configured(&mut settings);
    let db = crate::cli::open_database(&settings).await?;
    if db.list_areas().await?.is_empty() {
        db.insert_areas(&demo_areas()).await?;
    }
    let locator = Locator::new(settings.locate.clone());
    locator.reload(&db).await?;
    let index = locator.snapshot();
    let categories: Vec<(String, String)> = with_pool!(&db, |pool| {
        sqlx::query_as(
            "SELECT category_code, department_code FROM category \
             WHERE category_code <> 'E9999' ORDER BY category_code",
        )
        .fetch_all(pool)
        .await
    })?;
    anyhow::ensure!(!categories.is_empty(), "the catalogue has no category");

    let source = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut rng = StdRng::seed_from_u64(12_345);
    let started = Instant::now();
    let mut first = 0;
    while first < args.cases {
        let last = (first + args.chunk.max(1)).min(args.cases);
        let chunk: Vec<ImportedCase> =
            (first..last).map(|n| generated_case(&mut rng, n, args.cases, &categories)).collect();
        insert_cases(&db, &index, &source, &chunk).await?;
        first = last;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "backend {:?}: imported {} cases in {seconds:.1} s ({:.0} cases/s), peak RSS {} MiB",
        db.backend(),
        args.cases,
        args.cases as f64 / seconds,
        peak_rss_kib().map_or_else(|| "?".to_owned(), |kib| (kib / 1024).to_string()),
    );
    time_queries(&db, &index, args.queries).await
}

/// Generates the `n`-th of `total` cases; report days advance with `n`.
fn generated_case(
    rng: &mut StdRng,
    n: usize,
    total: usize,
    categories: &[(String, String)],
) -> ImportedCase {
    let day = (n as u64 * 365 / total.max(1) as u64) as i64;
    let hour = weighted_hour(rng);
    let local_second = day * 86_400 + hour * 3_600 + rng.random_range(0..3_600);
    // 2026-01-01 00:00 in Beijing is 2025-12-31 16:00 UTC.
    let opened_at = year_start() + chrono::Duration::seconds(local_second);
    // Squaring skews the pick towards the first categories, as a few kinds of
    // complaint make up most calls.
    let pick = (rng.random::<f64>().powi(2) * categories.len() as f64) as usize;
    let (category_code, department) = &categories[pick.min(categories.len() - 1)];
    let closed = rng.random_range(0..100) < 93;
    // A long tail: most cases take hours, some take weeks.
    let spread: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
    let handling_hours = 20.0 * (1.6 * spread).exp();
    let closed_at =
        closed.then(|| opened_at + chrono::Duration::seconds((handling_hours * 3600.0) as i64));
    let rating =
        (closed && rng.random_range(0..100) < 60).then(|| match rng.random_range(0..100) {
            0..70 => 5,
            70..85 => 4,
            85..93 => 3,
            93..97 => 2,
            _ => 1,
        });
    ImportedCase {
        external_id: n.to_string(),
        category: category_code.clone(),
        agency: department.clone(),
        opened_at,
        closed_at,
        target_at: Some(opened_at + chrono::Duration::days(3)),
        latitude: rng.random_range(EXTENT[1]..EXTENT[3]),
        longitude: rng.random_range(EXTENT[0]..EXTENT[2]),
        default_location: false,
        category_code: Some(category_code.clone()),
        rating,
    }
}

fn year_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH)
}

fn weighted_hour(rng: &mut StdRng) -> i64 {
    let total: u32 = HOURLY_WEIGHTS.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (hour, weight) in HOURLY_WEIGHTS.iter().enumerate() {
        if pick < *weight {
            return hour as i64;
        }
        pick -= weight;
    }
    23
}

/// Starts a new peak for [`peak_rss_kib`] at the current resident size (Linux 4.0 and
/// later), so that each phase of a run reports its own peak.
pub(super) fn reset_peak_rss() {
    if let Err(error) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::debug!(%error, "peak memory not reset; later peaks include earlier phases");
    }
}

/// Peak resident memory of this process in KiB, from Linux's `/proc/self/status`.
pub(super) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Times the dashboard's queries: the whole year and one month by every grouping, ten
/// months that are not a calendar year, and one community's year by category, as a
/// community worker's dashboard shows it.
async fn time_queries(db: &Db, index: &AreaIndex, runs: usize) -> anyhow::Result<()> {
    let year = KpiFilter {
        from: year_start(),
        to: year_start() + chrono::Duration::days(365),
        now: Utc::now(),
        area_ids: None,
        include_outside_grids: true,
    };
    let june = KpiFilter {
        from: year_start() + chrono::Duration::days(151),
        to: year_start() + chrono::Duration::days(181),
        ..year.clone()
    };
    // Not a calendar year: whole months from the month level, days at both ends.
    let ten_months = KpiFilter {
        from: year_start() + chrono::Duration::days(45),
        to: year_start() + chrono::Duration::days(349),
        ..year.clone()
    };
    let community = index.areas().iter().find(|area| area.level == Level::Community);
    let scoped = KpiFilter {
        area_ids: Some(community.map(|area| vec![area.area_id]).unwrap_or_default()),
        include_outside_grids: false,
        ..year.clone()
    };
    let mut mix: Vec<(String, GroupBy, &KpiFilter)> = Vec::new();
    for group_by in GroupBy::ALL {
        mix.push((format!("year by {}", group_by.as_str()), group_by, &year));
        mix.push((format!("June by {}", group_by.as_str()), group_by, &june));
        mix.push((format!("Feb 15 to Dec 15 by {}", group_by.as_str()), group_by, &ten_months));
    }
    mix.push(("one community's year by category".to_owned(), GroupBy::Category, &scoped));
    let mut all: Vec<Duration> = Vec::new();
    for (name, group_by, filter) in &mix {
        let mut timings = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            rollup_counts(db, *group_by, filter).await?;
            timings.push(started.elapsed());
        }
        timings.sort();
        println!(
            "  KPI {name:<34} p50 {:>7.1} ms  p95 {:>7.1} ms",
            ms(&timings, 0.5),
            ms(&timings, 0.95)
        );
        all.extend(timings);
    }
    all.sort();
    println!(
        "KPI query mix over {} runs: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        all.len(),
        ms(&all, 0.5),
        ms(&all, 0.95),
        ms(&all, 1.0),
    );
    let started = Instant::now();
    group_counts(db, GroupBy::Department, &year).await?;
    println!(
        "reference query over the cases (the old path), year by department, one run: {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

fn ms(sorted: &[Duration], fraction: f64) -> f64 {
    percentile(sorted, fraction).as_secs_f64() * 1000.0
}
