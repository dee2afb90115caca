//! The KPI aggregate read from the rollup tables.
//!
//! A period rarely starts and ends on rollup-day boundaries (the configured time zone
//! may not be UTC+8, and an open period starts at 1970-01-01 00:00 UTC), so it is cut
//! in three: the whole rollup days inside it are read from the counters, and the two
//! partial days at its edges from the reference query over the cases, which the
//! `created_at` index keeps to one day each. The whole days are cut again. The whole
//! local years among them come from the year-level table, and the whole months before
//! and after those years from the month-level one. The days left at the edges come from
//! the dekad level (旬) where they make whole dekads, and from the day level otherwise.
//! A calendar year therefore reads one row per rollup key, and the days at each end of
//! a period at most two dekad rows and nine day rows. Each row carries its counters and
//! its handling-time histogram. The response rate's
//! time-dependent part, undispatched cases past their deadline, is counted live over the
//! whole days.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{
    COUNTER_COLUMNS, day_start,
    dekad::{dekad_first_day, whole_dekads},
    hours_decode_error,
    month::{month_first_day, whole_months, whole_years, year_first_month},
    report_day,
};
use crate::{
    cases::kpi::{
        GroupCounts,
        metric::{GroupBy, Metric},
        store::{GroupRow, KpiFilter, group_counts, undispatched_late_counts},
    },
    db::{Backend, Db},
    with_pool,
};

/// The grouping key over a rollup table `r`, as [`GroupBy::key_sql`] gives it over cases.
fn key_sql(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::Community => {
            "CASE WHEN r.community_id = 0 THEN '' ELSE CAST(r.community_id AS TEXT) END"
        }
        GroupBy::Grid => "CASE WHEN r.grid_id = 0 THEN '' ELSE CAST(r.grid_id AS TEXT) END",
        GroupBy::Department => "r.department_code",
        GroupBy::Category => "r.category_code",
    }
}

/// A rollup level: its table and its period column.
#[derive(Debug, Clone, Copy)]
struct Level {
    counters: &'static str,
    period: &'static str,
}

const DAYS: Level = Level { counters: "case_kpi_rollup", period: "report_day" };
const DEKADS: Level = Level { counters: "case_kpi_rollup_dekad", period: "report_dekad" };
const MONTHS: Level = Level { counters: "case_kpi_rollup_month", period: "report_month" };
const YEARS: Level = Level { counters: "case_kpi_rollup_year", period: "report_year" };

/// The `WHERE` clause over a rollup table: periods in `$1`–`$2`, then the scope's ids.
fn rollup_where(level: Level, filter: &KpiFilter) -> String {
    let mut clause = format!("r.{0} >= $1 AND r.{0} < $2", level.period);
    if let Some(area_ids) = &filter.area_ids {
        let list: Vec<String> = (0..area_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let list = if list.is_empty() { "NULL".to_owned() } else { list.join(", ") };
        let outside = if filter.include_outside_grids { " OR r.outside_grids" } else { "" };
        clause.push_str(&format!(
            " AND (r.grid_id IN ({list}) OR r.community_id IN ({list}){outside})"
        ));
    }
    clause
}

macro_rules! bind_range {
    ($query:expr, $days:expr, $filter:expr) => {{
        let mut query = $query.bind($days.0).bind($days.1);
        for area_id in $filter.area_ids.as_deref().unwrap_or_default() {
            query = query.bind(*area_id);
        }
        query
    }};
}

/// Whole rollup days inside `[from, to)`, as `(first, end)` with `end` exclusive.
fn whole_days(filter: &KpiFilter) -> (i64, i64) {
    let first = report_day(filter.from);
    let first = if day_start(first) < filter.from { first + 1 } else { first };
    (first, report_day(filter.to).max(first))
}

/// Splits the whole rollup days `days` into the levels that read them. The whole years
/// among them come from the year level, and the whole months around those years from
/// the month level. The days left before and after the months come from the dekad and
/// day levels ([`day_ranges`]).
fn level_ranges(days: (i64, i64)) -> Vec<(Level, (i64, i64))> {
    let months = whole_months(days);
    if months.0 >= months.1 {
        return day_ranges(days);
    }
    let (first_day, end_day) = (month_first_day(months.0), month_first_day(months.1));
    let years = whole_years(months);
    let middle = if years.0 < years.1 {
        let (first_month, end_month) = (year_first_month(years.0), year_first_month(years.1));
        vec![(MONTHS, (months.0, first_month)), (YEARS, years), (MONTHS, (end_month, months.1))]
    } else {
        vec![(MONTHS, months)]
    };
    let mut ranges = day_ranges((days.0, first_day));
    ranges.extend(middle);
    ranges.extend(day_ranges((end_day, days.1)));
    ranges.retain(|(_, range)| range.0 < range.1);
    ranges
}

/// Splits the rollup days `days`, which hold no whole month, into the whole dekads
/// among them and the days before and after those.
fn day_ranges(days: (i64, i64)) -> Vec<(Level, (i64, i64))> {
    let dekads = whole_dekads(days);
    let mut ranges = if dekads.0 < dekads.1 {
        let (first_day, end_day) = (dekad_first_day(dekads.0), dekad_first_day(dekads.1));
        vec![(DAYS, (days.0, first_day)), (DEKADS, dekads), (DAYS, (end_day, days.1))]
    } else {
        vec![(DAYS, days)]
    };
    ranges.retain(|(_, range)| range.0 < range.1);
    ranges
}

/// Counts every metric per group, like [`group_counts`], from the rollup.
///
/// # Errors
/// A database failure.
pub async fn rollup_counts(
    db: &Db,
    group_by: GroupBy,
    filter: &KpiFilter,
) -> Result<Vec<GroupRow>, sqlx::Error> {
    let days = whole_days(filter);
    if days.0 >= days.1 {
        return group_counts(db, group_by, filter).await;
    }
    let (inner_from, inner_to) = (day_start(days.0), day_start(days.1));

    let mut groups: BTreeMap<String, GroupCounts> = BTreeMap::new();
    let mut edges = Vec::new();
    if filter.from < inner_from {
        edges.push(KpiFilter { to: inner_from, ..filter.clone() });
    }
    if inner_to < filter.to {
        edges.push(KpiFilter { from: inner_to, ..filter.clone() });
    }
    for edge in &edges {
        for row in group_counts(db, group_by, edge).await? {
            merge(&mut groups, row.key, &row.counts);
        }
    }

    for (level, range) in level_ranges(days) {
        for row in counter_rows(db, level, group_by, filter, range).await? {
            merge(&mut groups, row.key, &row.counts);
        }
    }

    let inner = KpiFilter { from: inner_from, to: inner_to, ..filter.clone() };
    for (key, late) in undispatched_late_counts(db, group_by, &inner).await? {
        let counts = group_counts_with(|counts| counts.counts[0].1 += late);
        merge(&mut groups, key, &counts);
    }

    // A group whose cases all left (a rollup row at zero) has no counted case.
    let closure = Metric::ALL.iter().position(|metric| *metric == Metric::Closure).unwrap_or(3);
    Ok(groups
        .into_iter()
        .filter(|(_, counts)| counts.counts[closure].1 > 0)
        .map(|(key, counts)| GroupRow { key, counts })
        .collect())
}

fn group_counts_with(change: impl FnOnce(&mut GroupCounts)) -> GroupCounts {
    let mut counts = GroupCounts { counts: vec![(0, 0); Metric::ALL.len()], ..Default::default() };
    change(&mut counts);
    counts
}

fn merge(groups: &mut BTreeMap<String, GroupCounts>, key: String, counts: &GroupCounts) {
    let sum = groups.entry(key).or_insert_with(|| group_counts_with(|_| {}));
    for (total, (numerator, denominator)) in sum.counts.iter_mut().zip(&counts.counts) {
        total.0 += numerator;
        total.1 += denominator;
    }
    sum.handling_hours.merge(&counts.handling_hours);
}

/// Sums the counters and handling-time histograms of the rollup rows of `level` in
/// `range` per group. SQLite adds up the histograms itself with
/// [`kpi_hours_sum`](crate::cases::kpi::hours::register_sqlite_sum) and returns one per
/// group. PostgreSQL returns each group's histograms as one text of comma-separated
/// hex blobs, added up here: a row per rollup key cost more in the driver than the
/// database spent on the whole query.
async fn counter_rows(
    db: &Db,
    level: Level,
    group_by: GroupBy,
    filter: &KpiFilter,
    range: (i64, i64),
) -> Result<Vec<GroupRow>, sqlx::Error> {
    let sums: Vec<String> =
        COUNTER_COLUMNS.iter().map(|column| format!("CAST(SUM(r.{column}) AS BIGINT)")).collect();
    let histograms = match db.backend() {
        Backend::Sqlite => "kpi_hours_sum(r.hours)",
        Backend::Postgres => "string_agg(encode(r.hours, 'hex'), ',')",
    };
    let query = format!(
        "SELECT {key}, {sums}, {histograms} FROM {table} r WHERE {clause} GROUP BY {key}",
        key = key_sql(group_by),
        sums = sums.join(", "),
        table = level.counters,
        clause = rollup_where(level, filter),
    );
    let hours_column = 1 + COUNTER_COLUMNS.len();
    let rows = with_pool!(db, |pool| {
        let rows = bind_range!(sqlx::query(sqlx::AssertSqlSafe(query.clone())), range, filter)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(0)?;
                let mut counts = group_counts_with(|_| {});
                for (i, sum) in counts.counts.iter_mut().enumerate() {
                    *sum = (row.try_get(1 + 2 * i)?, row.try_get(2 + 2 * i)?);
                }
                let histograms: Histograms = match db.backend() {
                    Backend::Sqlite => Histograms::Summed(row.try_get(hours_column)?),
                    Backend::Postgres => Histograms::Hex(row.try_get(hours_column)?),
                };
                Ok((GroupRow { key, counts }, histograms))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
    })?;
    rows.into_iter()
        .map(|(mut row, histograms)| {
            histograms.add_to(&mut row.counts)?;
            Ok(row)
        })
        .collect()
}

/// The handling-time histograms of one group as the query returns them.
enum Histograms {
    /// SQLite: already summed into one encoded histogram.
    Summed(Option<Vec<u8>>),
    /// PostgreSQL: every row's histogram, hex-encoded and joined by commas.
    Hex(Option<String>),
}

impl Histograms {
    fn add_to(self, counts: &mut GroupCounts) -> Result<(), sqlx::Error> {
        match self {
            Histograms::Summed(blob) => counts
                .handling_hours
                .add_blob(&blob.unwrap_or_default())
                .map_err(hours_decode_error),
            Histograms::Hex(joined) => {
                for hex in joined.unwrap_or_default().split(',').filter(|hex| !hex.is_empty()) {
                    let blob =
                        hex::decode(hex).map_err(|error| sqlx::Error::Decode(error.into()))?;
                    counts.handling_hours.add_blob(&blob).map_err(hours_decode_error)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::kpi::rollup::month::report_month;

    /// Returns the table and range of each part of `days`.
    fn parts(days: (i64, i64)) -> Vec<(&'static str, (i64, i64))> {
        level_ranges(days).into_iter().map(|(level, range)| (level.counters, range)).collect()
    }

    #[test]
    fn level_ranges_take_years_then_months_then_days() {
        let year_2026 = 2026 - 1970;
        let january = year_first_month(year_2026);
        let first_day = month_first_day(january);
        let next_year_day = month_first_day(january + 12);
        assert_eq!(
            parts((first_day, next_year_day)),
            [(YEARS.counters, (year_2026, year_2026 + 1))]
        );

        // From 20 November 2025 to 3 February 2027, local days.
        let (from, to) = (month_first_day(january - 2) + 19, month_first_day(january + 13) + 2);
        assert_eq!(report_month(from), january - 2);
        let november = january - 2;
        assert_eq!(
            parts((from, to)),
            [
                (DAYS.counters, (from, from + 1)),
                (DEKADS.counters, (november * 3 + 2, november * 3 + 3)),
                (MONTHS.counters, (january - 1, january)),
                (YEARS.counters, (year_2026, year_2026 + 1)),
                (MONTHS.counters, (january + 12, january + 13)),
                (DAYS.counters, (month_first_day(january + 13), to)),
            ]
        );

        // 15 February to 15 December reads no year row, and dekads at both ends.
        let (february, december) = (january + 1, january + 11);
        let (from, to) = (month_first_day(february) + 14, month_first_day(december) + 14);
        assert_eq!(
            parts((from, to)),
            [
                (DAYS.counters, (from, month_first_day(february) + 20)),
                (DEKADS.counters, (february * 3 + 2, february * 3 + 3)),
                (MONTHS.counters, (january + 2, december)),
                (DEKADS.counters, (december * 3, december * 3 + 1)),
                (DAYS.counters, (month_first_day(december) + 10, to)),
            ]
        );

        // Days inside one month: whole dekads and the days around them.
        let first = month_first_day(january);
        assert_eq!(
            parts((first + 5, first + 25)),
            [
                (DAYS.counters, (first + 5, first + 10)),
                (DEKADS.counters, (january * 3 + 1, january * 3 + 2)),
                (DAYS.counters, (first + 20, first + 25)),
            ]
        );
    }
}
