//! The KPI rollup: counters per report day and group, kept in step with every case
//! write, so that the KPI dashboard reads counters instead of every case.
//!
//! Writes: [`RollupDelta::change`] turns a case's state before and after a write into
//! "minus the old contribution, plus the new one", and `apply_rollup!` stores the
//! result in the write's own transaction. `insert_case`, `update_case` and the bulk
//! import call both, so every change of stage, department, category or area moves the
//! case between counters. Keys are applied in sorted order, so that two transactions
//! that touch the same rows lock them in the same order on PostgreSQL. A row's
//! handling-time histogram sits in its `hours` column, encoded by
//! [`super::hours::codec`], and is merged with the change in Rust.
//!
//! Reads: [`read::rollup_counts`] answers the same question as
//! [`super::store::group_counts`], the reference query over the cases, with the same
//! counts; the median handling time comes from [`super::hours`] at its documented
//! precision. The tables are described in the `case_kpi_rollup` migration, the
//! `hours` column in the `kpi_hours_blob` one.

pub mod batch;
pub mod dekad;
pub mod fill;
pub mod month;
pub mod read;
pub mod upgrade;
mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::hours::bucket_of_seconds;
use crate::cases::case::Case;
pub use write::{LEVELS, LevelSql, hours_decode_error};

/// Offset of the rollup's report day from UTC, in seconds: UTC+8, Asia/Shanghai.
pub const DAY_OFFSET_SECONDS: i64 = 8 * 3600;
pub(crate) const DAY_SECONDS: i64 = 86_400;

/// Counter columns of `case_kpi_rollup`, numerator then denominator of each metric
/// in the order of [`super::Metric::ALL`].
pub const COUNTER_COLUMNS: [&str; 14] = [
    "response_num",
    "response_den",
    "resolution_num",
    "resolution_den",
    "satisfaction_num",
    "satisfaction_den",
    "closure_num",
    "closure_den",
    "on_time_closure_num",
    "on_time_closure_den",
    "rework_num",
    "rework_den",
    "extension_num",
    "extension_den",
];

const DISPATCHED: [&str; 6] =
    ["dispatched", "handling", "extension_requested", "feedback", "closed", "rated"];
const DONE: [&str; 3] = ["feedback", "closed", "rated"];
const CLOSED: [&str; 2] = ["closed", "rated"];
/// Stages that are not cases of their own and count in no figure.
const NOT_COUNTED: [&str; 2] = ["voided", "merged"];

/// Columns of `service_case` that the KPIs read, selected as [`KpiFacts`].
pub const FACT_COLUMNS: &str = "created_at, grid_id, community_id, outside_grids, \
     department_code, category_code, stage, dispatch_due_at, first_dispatched_at, \
     handling_due_at, closed_at, rating, rework_count, extension_count";

/// Facts of one case that the KPI counters depend on.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct KpiFacts {
    pub created_at: DateTime<Utc>,
    pub grid_id: Option<i64>,
    pub community_id: Option<i64>,
    pub outside_grids: bool,
    pub department_code: String,
    pub category_code: String,
    pub stage: String,
    pub dispatch_due_at: Option<DateTime<Utc>>,
    pub first_dispatched_at: Option<DateTime<Utc>>,
    pub handling_due_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<i32>,
    pub rework_count: i32,
    pub extension_count: i32,
}

impl KpiFacts {
    /// Collects the facts of `case`, first dispatched at `first_dispatched_at`.
    pub fn of(case: &Case, first_dispatched_at: Option<DateTime<Utc>>) -> KpiFacts {
        KpiFacts {
            created_at: case.created_at,
            grid_id: case.grid_id,
            community_id: case.community_id,
            outside_grids: case.outside_grids,
            department_code: case.department_code.clone(),
            category_code: case.category_code.clone(),
            stage: case.stage.as_str().to_owned(),
            dispatch_due_at: case.dispatch_due_at,
            first_dispatched_at,
            handling_due_at: case.handling_due_at,
            closed_at: case.closed_at,
            rating: case.rating,
            rework_count: case.rework_count,
            extension_count: case.extension_count,
        }
    }

    fn key(&self) -> RollupKey {
        RollupKey {
            period: report_day(self.created_at),
            grid_id: self.grid_id.unwrap_or(0),
            community_id: self.community_id.unwrap_or(0),
            outside_grids: self.outside_grids,
            department_code: self.department_code.clone(),
            category_code: self.category_code.clone(),
        }
    }

    /// Returns the case's counters in the order of [`COUNTER_COLUMNS`]. The conditions
    /// match [`super::Metric::denominator_sql`] and `numerator_sql`, except that an
    /// undispatched case is left out of the response rate, because that part is counted
    /// live.
    fn counters(&self) -> [i64; 14] {
        let stage = self.stage.as_str();
        let dispatched = DISPATCHED.contains(&stage);
        let done = DONE.contains(&stage);
        let closed = CLOSED.contains(&stage);
        let responded = self.dispatch_due_at.is_some() && self.first_dispatched_at.is_some();
        let on_time_due = closed && self.handling_due_at.is_some();
        let flags = [
            responded && self.first_dispatched_at <= self.dispatch_due_at,
            responded,
            done,
            dispatched,
            self.rating.is_some_and(|rating| rating >= 4),
            self.rating.is_some(),
            closed,
            true,
            on_time_due && self.closed_at.is_some_and(|at| Some(at) <= self.handling_due_at),
            on_time_due,
            self.rework_count > 0,
            done || self.rework_count > 0,
            dispatched && self.extension_count > 0,
            dispatched,
        ];
        flags.map(i64::from)
    }

    /// Returns the handling-time bucket of a closed case.
    fn hours_bucket(&self) -> Option<i64> {
        let closed_at = self.closed_at.filter(|_| CLOSED.contains(&self.stage.as_str()))?;
        Some(bucket_of_seconds(closed_at.timestamp() - self.created_at.timestamp()))
    }
}

/// Returns the rollup day of a report time: days since 1970-01-01 in UTC+8.
pub fn report_day(at: DateTime<Utc>) -> i64 {
    (at.timestamp() + DAY_OFFSET_SECONDS).div_euclid(DAY_SECONDS)
}

/// Returns the instant at which rollup day `day` starts.
pub fn day_start(day: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(day * DAY_SECONDS - DAY_OFFSET_SECONDS, 0)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The primary key of a rollup row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RollupKey {
    /// The report day; the report month in a [`RollupDelta::by_month`] delta, the report
    /// year in a [`RollupDelta::by_year`] one.
    pub period: i64,
    /// 0 for no grid.
    pub grid_id: i64,
    /// 0 for no community.
    pub community_id: i64,
    pub outside_grids: bool,
    pub department_code: String,
    pub category_code: String,
}

/// Changes to the rollup counters, summed per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupDelta {
    pub counters: BTreeMap<RollupKey, [i64; 14]>,
    pub hours: BTreeMap<(RollupKey, i64), i64>,
}

impl RollupDelta {
    /// Computes the counter change of one case from `old` to `new` (`old` is `None` for
    /// an insert). Every case write computes its contribution here.
    pub fn change(old: Option<&KpiFacts>, new: Option<&KpiFacts>) -> RollupDelta {
        let mut delta = RollupDelta::default();
        delta.add_change(old, new);
        delta
    }

    /// Adds the change of one more case, for batches.
    pub fn add_change(&mut self, old: Option<&KpiFacts>, new: Option<&KpiFacts>) {
        if old == new {
            return;
        }
        for (facts, sign) in [(old, -1), (new, 1)] {
            let Some(facts) = facts.filter(|facts| !NOT_COUNTED.contains(&facts.stage.as_str()))
            else {
                continue;
            };
            let key = facts.key();
            let sums = self.counters.entry(key.clone()).or_insert([0; 14]);
            for (sum, value) in sums.iter_mut().zip(facts.counters()) {
                *sum += sign * value;
            }
            if let Some(bucket) = facts.hours_bucket() {
                *self.hours.entry((key, bucket)).or_default() += sign;
            }
        }
    }

    /// Returns the non-zero handling-time changes of the row `key`, in bucket order.
    pub fn hours_changes(&self, key: &RollupKey) -> Vec<(i64, i64)> {
        self.hours
            .range((key.clone(), i64::MIN)..=(key.clone(), i64::MAX))
            .filter(|(_, cases)| **cases != 0)
            .map(|((_, bucket), cases)| (*bucket, *cases))
            .collect()
    }
}
