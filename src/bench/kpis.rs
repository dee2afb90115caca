//! `citycore bench kpis`: KPI query latency over generated cases on the configured
//! database.
//!
//! The generated cases are spread over the year 2026 with stages, deadlines, ratings
//! and counters set by the case id's remainders, so that every metric has non-empty
//! numerators and denominators. Generation runs as one `INSERT … SELECT` per batch in
//! SQL; the timed part is [`group_counts`], the reference query over the cases.
//!
//! NOTE: the generated rows bypass the KPI rollup, so this no longer times what the API
//! runs. `bench import` stores cases through the bulk import and times the rollup.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clap::Args;

use crate::{
    cases::kpi::{
        GroupBy,
        store::{KpiFilter, group_counts},
    },
    db::Db,
    with_pool,
};

#[derive(Debug, Args)]
pub struct KpiBenchArgs {
    /// Number of cases to generate before timing; 0 times the cases already stored.
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: u64,
    /// Number of timed queries per grouping.
    #[arg(long, default_value_t = 20)]
    pub queries: usize,
}

/// Rows per generating statement, to keep each transaction short.
const BATCH_ROWS: u64 = 100_000;

fn generate_sql(db: &Db) -> &'static str {
    // Columns derived from the row number n: category and department rotate, a tenth
    // is still open, ratings 1–5 cycle, one case in seven is late.
    match db {
        Db::Sqlite(_) => {
            "WITH RECURSIVE seq(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM seq WHERE n < $2) \
             INSERT INTO service_case (tracking_token, title, description, category_code, channel, \
             longitude, latitude, outside_grids, department_code, stage, handling_due_at, \
             closed_at, rating, rework_count, extension_count, version, created_at, updated_at) \
             SELECT 'bench' || n, 'bench', 'bench', 'E0101', 'api', 116.4, 39.9, 1, \
             CASE n % 3 WHEN 0 THEN 'HWS' WHEN 1 THEN 'SZS' ELSE 'CGZF' END, \
             CASE WHEN n % 10 = 0 THEN 'handling' WHEN n % 2 = 0 THEN 'rated' ELSE 'closed' END, \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || (n % 31536000 + 14400) || ' seconds'), \
             CASE WHEN n % 10 = 0 THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', \
             '+' || (n % 31536000 + CASE WHEN n % 7 = 0 THEN 20000 ELSE 7200 END) || ' seconds') END, \
             CASE WHEN n % 2 = 0 AND n % 10 <> 0 THEN n % 5 + 1 END, \
             CASE WHEN n % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 13 = 0 THEN 1 ELSE 0 END, 1, \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || (n % 31536000) || ' seconds'), \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || (n % 31536000) || ' seconds') \
             FROM seq"
        }
        Db::Postgres(_) => {
            "INSERT INTO service_case (tracking_token, title, description, category_code, channel, \
             longitude, latitude, outside_grids, department_code, stage, handling_due_at, \
             closed_at, rating, rework_count, extension_count, version, created_at, updated_at) \
             SELECT 'bench' || n, 'bench', 'bench', 'E0101', 'api', 116.4, 39.9, TRUE, \
             CASE n % 3 WHEN 0 THEN 'HWS' WHEN 1 THEN 'SZS' ELSE 'CGZF' END, \
             CASE WHEN n % 10 = 0 THEN 'handling' WHEN n % 2 = 0 THEN 'rated' ELSE 'closed' END, \
             TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(secs => n % 31536000 + 14400), \
             CASE WHEN n % 10 = 0 THEN NULL ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' + \
             make_interval(secs => n % 31536000 + CASE WHEN n % 7 = 0 THEN 20000 ELSE 7200 END) END, \
             CASE WHEN n % 2 = 0 AND n % 10 <> 0 THEN n % 5 + 1 END, \
             CASE WHEN n % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 13 = 0 THEN 1 ELSE 0 END, 1, \
             TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(secs => n % 31536000), \
             TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(secs => n % 31536000) \
             FROM generate_series($1::bigint, $2::bigint) AS n"
        }
    }
}

async fn generate(db: &Db, count: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut first = 1_i64;
    while (first as u64) <= count {
        let last = (first as u64 + BATCH_ROWS - 1).min(count) as i64;
        let sql = generate_sql(db);
        with_pool!(db, |pool| {
            sqlx::query(sql).bind(first).bind(last).execute(pool).await.map(|_| ())
        })?;
        first = last + 1;
    }
    println!("generated {count} cases in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

pub(super) fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Generates cases, then times the KPI aggregate for one month and for the whole year.
///
/// # Errors
/// A database failure.
pub async fn run_kpis(db: &Db, args: KpiBenchArgs) -> anyhow::Result<()> {
    if args.cases > 0 {
        generate(db, args.cases).await?;
    }
    let month = KpiFilter {
        from: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
        now: Utc::now(),
        area_ids: None,
        include_outside_grids: true,
    };
    let year = KpiFilter {
        from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        ..month.clone()
    };
    for (name, filter) in [("one month", &month), ("whole year", &year)] {
        let mut timings = Vec::with_capacity(args.queries);
        for _ in 0..args.queries.max(1) {
            let started = Instant::now();
            group_counts(db, GroupBy::Department, filter).await?;
            timings.push(started.elapsed());
        }
        timings.sort();
        println!(
            "KPI query by department, {name}: p50 {:.1} ms, p95 {:.1} ms over {} runs",
            percentile(&timings, 0.5).as_secs_f64() * 1000.0,
            percentile(&timings, 0.95).as_secs_f64() * 1000.0,
            timings.len()
        );
    }
    Ok(())
}
