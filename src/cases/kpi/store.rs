//! The KPI aggregate and the drill-down query, on SQLite and PostgreSQL.
//!
//! One `GROUP BY` query counts the numerator and denominator of every metric with
//! `SUM(CASE …)`, so no case is loaded for a figure. Handling hours come from a second
//! query over the closed cases only, because SQLite has no median aggregate.
//!
//! Placeholders: `$1` is the current instant, `$2` and `$3` the period, then the area
//! ids of the scope. SQLite numbers reused `$n` names by their first appearance, so
//! each query text mentions them in ascending order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{
    GroupCounts,
    metric::{GroupBy, Metric, Outcome},
};
use crate::{db::Db, with_pool};

/// An always-true condition that names `$1`, for queries whose other conditions may not,
/// so that SQLite still numbers `$2` as the second parameter.
const NAMES_NOW: &str = "($1 IS NULL OR $1 IS NOT NULL)";

/// First dispatch of each case, for the response rate.
const FIRST_DISPATCH: &str = "LEFT JOIN (SELECT case_id, MIN(occurred_at) AS dispatched_at \
     FROM case_event WHERE action = 'dispatch' GROUP BY case_id) d ON d.case_id = c.case_id";

/// The cohort of a KPI query: the period, the area scope and the clock.
#[derive(Debug, Clone)]
pub struct KpiFilter {
    /// Start of the period, inclusive; cases are placed by their report time.
    pub from: DateTime<Utc>,
    /// End of the period, exclusive.
    pub to: DateTime<Utc>,
    /// The instant at which a passed dispatch deadline counts as missed.
    pub now: DateTime<Utc>,
    /// Only cases in one of these grids or communities; `None` means every area.
    pub area_ids: Option<Vec<i64>>,
    /// Also cases located in no grid.
    pub include_outside_grids: bool,
}

/// One group of the aggregate: its key (area id as text, department or category code)
/// and its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: String,
    pub counts: GroupCounts,
}

/// Builds the `WHERE` clause shared by every KPI query.
fn cohort_sql(filter: &KpiFilter) -> String {
    cohort_sql_with(filter, "")
}

/// Like [`cohort_sql`], with `area_prefix` before the area columns: `+` keeps SQLite
/// from choosing the grid and community indexes over the cases.
fn cohort_sql_with(filter: &KpiFilter, area_prefix: &str) -> String {
    let mut conditions = vec![
        "c.stage NOT IN ('voided', 'merged')".to_owned(),
        "c.created_at >= $2".to_owned(),
        "c.created_at < $3".to_owned(),
    ];
    if let Some(area_ids) = &filter.area_ids {
        let list: Vec<String> = (0..area_ids.len()).map(|i| format!("${}", i + 4)).collect();
        let list = if list.is_empty() { "NULL".to_owned() } else { list.join(", ") };
        let outside = if filter.include_outside_grids { " OR c.outside_grids" } else { "" };
        conditions.push(format!(
            "({area_prefix}c.grid_id IN ({list}) OR {area_prefix}c.community_id IN ({list}){outside})"
        ));
    }
    conditions.join(" AND ")
}

/// Number of the placeholder after the scope's area ids.
fn next_placeholder(filter: &KpiFilter) -> usize {
    4 + filter.area_ids.as_ref().map_or(0, Vec::len)
}

fn aggregate_sql(group_by: GroupBy, filter: &KpiFilter) -> String {
    let sums: Vec<String> = Metric::ALL
        .iter()
        .map(|metric| {
            let denominator = metric.denominator_sql().replace("$now", "$1");
            let numerator = metric.numerator_sql();
            format!(
                "SUM(CASE WHEN {denominator} AND {numerator} THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN {denominator} THEN 1 ELSE 0 END)"
            )
        })
        .collect();
    format!(
        "SELECT {key}, {sums} FROM service_case c {FIRST_DISPATCH} WHERE {cohort} GROUP BY {key}",
        key = group_by.key_sql(),
        sums = sums.join(", "),
        cohort = cohort_sql(filter),
    )
}

fn hours_sql(db: &Db, group_by: GroupBy, filter: &KpiFilter) -> String {
    let hours = match db {
        Db::Sqlite(_) => "(julianday(c.closed_at) - julianday(c.created_at)) * 24.0",
        Db::Postgres(_) => {
            "CAST(EXTRACT(EPOCH FROM (c.closed_at - c.created_at)) / 3600.0 AS DOUBLE PRECISION)"
        }
    };
    format!(
        "SELECT {key}, {hours} FROM service_case c WHERE {NAMES_NOW} \
         AND c.stage IN ('closed', 'rated') AND c.closed_at IS NOT NULL AND {cohort}",
        key = group_by.key_sql(),
        cohort = cohort_sql(filter),
    )
}

macro_rules! bind_cohort {
    ($query:expr, $filter:expr) => {{
        let mut query = $query.bind($filter.now).bind($filter.from).bind($filter.to);
        for area_id in $filter.area_ids.as_deref().unwrap_or_default() {
            query = query.bind(*area_id);
        }
        query
    }};
}

/// Counts every metric per group of `group_by` over the cohort of `filter`, and
/// collects the handling hours of its closed cases. Groups without cases are absent.
///
/// # Errors
/// A database failure.
pub async fn group_counts(
    db: &Db,
    group_by: GroupBy,
    filter: &KpiFilter,
) -> Result<Vec<GroupRow>, sqlx::Error> {
    let aggregate = aggregate_sql(group_by, filter);
    let mut groups: Vec<GroupRow> = with_pool!(db, |pool| {
        let rows = bind_cohort!(sqlx::query(sqlx::AssertSqlSafe(aggregate.clone())), filter)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0)?;
                let counts = (0..Metric::ALL.len())
                    .map(|i| {
                        let numerator: Option<i64> = row.try_get(1 + 2 * i)?;
                        let denominator: Option<i64> = row.try_get(2 + 2 * i)?;
                        Ok((numerator.unwrap_or(0), denominator.unwrap_or(0)))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?;
                Ok(GroupRow { key, counts: GroupCounts { counts, ..Default::default() } })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
    })?;
    let hours_query = hours_sql(db, group_by, filter);
    let hours: Vec<(String, f64)> = with_pool!(db, |pool| {
        bind_cohort!(sqlx::query_as(sqlx::AssertSqlSafe(hours_query.clone())), filter)
            .fetch_all(pool)
            .await
    })?;
    let position: HashMap<String, usize> =
        groups.iter().enumerate().map(|(i, group)| (group.key.clone(), i)).collect();
    for (key, value) in hours {
        if let Some(group) = position.get(&key).map(|&i| &mut groups[i]) {
            // julianday() carries about a millisecond of float error, which the
            // histogram's rounding to whole seconds absorbs.
            group.counts.handling_hours.add_hours(value);
        }
    }
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(groups)
}

/// Counts per group the cases of `filter` that have a dispatch deadline before
/// `filter.now` and no dispatch: the time-dependent part of the response rate's
/// denominator, which the rollup cannot hold.
///
/// # Errors
/// A database failure.
pub async fn undispatched_late_counts(
    db: &Db,
    group_by: GroupBy,
    filter: &KpiFilter,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    // The first two conditions repeat the partial index's, so that it is used. With a
    // scope, SQLite would otherwise read every case of the area through its index.
    let query = format!(
        "SELECT {key}, COUNT(*) FROM service_case c WHERE c.dispatch_due_at < $1 \
         AND c.first_dispatched_at IS NULL AND c.dispatch_due_at IS NOT NULL \
         AND {cohort} GROUP BY {key}",
        key = group_by.key_sql(),
        cohort = cohort_sql_with(filter, "+"),
    );
    with_pool!(db, |pool| {
        bind_cohort!(sqlx::query_as(sqlx::AssertSqlSafe(query.clone())), filter)
            .fetch_all(pool)
            .await
    })
}

/// Lists the ids of the cases behind one figure: those of group `key` in the
/// denominator of `metric` that meet or miss its numerator, newest first.
///
/// # Errors
/// A database failure.
pub async fn drill_case_ids(
    db: &Db,
    group_by: GroupBy,
    filter: &KpiFilter,
    metric: Metric,
    outcome: Outcome,
    key: &str,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let denominator = metric.denominator_sql().replace("$now", "$1");
    let numerator = metric.numerator_sql();
    // A missed numerator may be NULL (no dispatch yet), so it is tested with COALESCE.
    let side = match outcome {
        Outcome::Met => format!("COALESCE({numerator}, FALSE)"),
        Outcome::Missed => format!("NOT COALESCE({numerator}, FALSE)"),
    };
    let next = next_placeholder(filter);
    let query = format!(
        "SELECT c.case_id FROM service_case c {FIRST_DISPATCH} WHERE {NAMES_NOW} \
         AND {denominator} AND {side} \
         AND {cohort} AND {key_sql} = ${next} ORDER BY c.case_id DESC LIMIT ${limit_at}",
        cohort = cohort_sql(filter),
        key_sql = group_by.key_sql(),
        limit_at = next + 1,
    );
    let ids: Vec<(i64,)> = with_pool!(db, |pool| {
        bind_cohort!(sqlx::query_as(sqlx::AssertSqlSafe(query.clone())), filter)
            .bind(key)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}
