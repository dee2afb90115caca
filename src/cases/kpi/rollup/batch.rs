//! Multi-row rollup writes for a batch of case writes.
//!
//! `apply_rollup!` sends one or two statements per changed row, which suits a single
//! case write. A group commit of new cases changes about four rows per case (its day, dekad,
//! month and year), and a bulk import thousands of rows per chunk. Each statement is a
//! message to SQLite's worker thread or a round trip to PostgreSQL, so
//! [`RollupBatch::apply_rollup_batch`] stores the rows of a level in a few statements
//! per [`ROWS_PER_STATEMENT`] rows instead.

use sqlx::{PgConnection, QueryBuilder, Sqlite, SqliteConnection};

use super::{COUNTER_COLUMNS, RollupDelta, RollupKey};

/// Rows per statement: 20 parameters each keeps a statement at 10,000 parameters, under
/// SQLite's default limit of 32,766.
pub const ROWS_PER_STATEMENT: usize = 500;

/// The counter table and its period column of the day, dekad, month and year levels, in
/// the order `apply_rollup!` writes them.
pub const COUNTER_TABLES: [(&str, &str); 4] = [
    ("case_kpi_rollup", "report_day"),
    ("case_kpi_rollup_dekad", "report_dekad"),
    ("case_kpi_rollup_month", "report_month"),
    ("case_kpi_rollup_year", "report_year"),
];

/// Stores `delta` through `conn` (inside the caller's transaction) like `apply_rollup!`,
/// writing the day-level counters and, summed per month and per year, the month- and
/// year-level ones.
///
/// # Errors
/// Fails when a statement fails; the caller's transaction must then be rolled back.
pub async fn apply_counters_sqlite(
    conn: &mut SqliteConnection,
    delta: &RollupDelta,
) -> Result<(), sqlx::Error> {
    conn.apply_rollup_batch(delta).await
}

/// Appends to `builder` the counter upserts of `delta` at every level, each statement
/// ending in `;`, so that a caller can send them with other statements in one call to
/// SQLite's worker thread. Returns false, appending nothing, when `delta` changes a
/// handling-time histogram: merging one needs the stored value first, which
/// [`apply_counters_sqlite`] reads back.
pub fn push_counter_upserts(builder: &mut QueryBuilder<Sqlite>, delta: &RollupDelta) -> bool {
    if delta.hours.values().any(|cases| *cases != 0) {
        return false;
    }
    let dekads = delta.by_dekad();
    let months = delta.by_month();
    let years = months.by_year();
    let levels = [delta, &dekads, &months, &years];
    for (level, (table, period)) in levels.into_iter().zip(COUNTER_TABLES) {
        let rows: Vec<_> = level
            .counters
            .iter()
            .filter(|(_, counters)| counters.iter().any(|v| *v != 0))
            .collect();
        for page in rows.chunks(ROWS_PER_STATEMENT) {
            builder.push(upsert_head(table, period));
            builder.push_values(page, |mut row, (key, counters)| {
                row.push_bind(key.period)
                    .push_bind(key.grid_id)
                    .push_bind(key.community_id)
                    .push_bind(key.outside_grids)
                    .push_bind(key.department_code.clone())
                    .push_bind(key.category_code.clone());
                for value in counters.iter() {
                    row.push_bind(*value);
                }
            });
            builder.push(upsert_tail(table, period)).push(";\n");
        }
    }
    true
}

/// A connection that stores the rollup change of many cases at once, usually inside a
/// transaction.
pub trait RollupBatch {
    /// Stores `delta` with the result of `apply_rollup!` in a few statements per level.
    fn apply_rollup_batch(
        &mut self,
        delta: &RollupDelta,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

impl RollupBatch for SqliteConnection {
    async fn apply_rollup_batch(&mut self, delta: &RollupDelta) -> Result<(), sqlx::Error> {
        crate::apply_rollup_batch!(self, delta, sqlx::Sqlite)
    }
}

impl RollupBatch for PgConnection {
    async fn apply_rollup_batch(&mut self, delta: &RollupDelta) -> Result<(), sqlx::Error> {
        crate::apply_rollup_batch!(self, delta, sqlx::Postgres)
    }
}

/// Stores a [`RollupDelta`] of many cases through `$conn` (inside the caller's
/// transaction) with the result of `apply_rollup!`, in a few multi-row statements per
/// level: an upsert of up to [`ROWS_PER_STATEMENT`] counter rows that returns each
/// row's key and stored histogram, then one `UPDATE … FROM (VALUES …)` that writes the
/// merged histograms back. On PostgreSQL the upsert locks its rows in key order, as
/// `apply_rollup!` does. `$db` is the sqlx database type; a macro because the body is
/// compiled once per backend.
#[macro_export]
macro_rules! apply_rollup_batch {
    ($conn:expr, $delta:expr, $db:ty) => {{
        use $crate::cases::kpi::rollup::batch as batch_sql;
        let delta: &$crate::cases::kpi::rollup::RollupDelta = $delta;
        let dekads = delta.by_dekad();
        let months = delta.by_month();
        let years = months.by_year();
        let mut result: Result<(), sqlx::Error> = Ok(());
        let levels = [delta, &dekads, &months, &years];
        for (level, (table, period)) in levels.into_iter().zip(batch_sql::COUNTER_TABLES) {
            let rows: Vec<_> = level
                .counters
                .iter()
                .map(|(key, counters)| (key, counters, level.hours_changes(key)))
                .filter(|(_, counters, changes)| {
                    !changes.is_empty() || counters.iter().any(|value| *value != 0)
                })
                .collect();
            for page in rows.chunks(batch_sql::ROWS_PER_STATEMENT) {
                if result.is_err() {
                    break;
                }
                result = async {
                    let with_hours = page.iter().any(|(_, _, changes)| !changes.is_empty());
                    let mut upsert =
                        sqlx::QueryBuilder::<$db>::new(batch_sql::upsert_head(table, period));
                    upsert.push_values(page, |mut row, (key, counters, _)| {
                        row.push_bind(key.period)
                            .push_bind(key.grid_id)
                            .push_bind(key.community_id)
                            .push_bind(key.outside_grids)
                            .push_bind(key.department_code.as_str())
                            .push_bind(key.category_code.as_str());
                        for value in counters.iter() {
                            row.push_bind(*value);
                        }
                    });
                    upsert.push(batch_sql::upsert_tail(table, period));
                    if !with_hours {
                        upsert.build().execute(&mut *$conn).await?;
                        return Ok(());
                    }
                    upsert.push(batch_sql::returning_key_and_hours(period));
                    let stored: Vec<batch_sql::StoredHours> =
                        upsert.build_query_as().fetch_all(&mut *$conn).await?;
                    let stored: std::collections::BTreeMap<_, _> =
                        stored.into_iter().map(|row| (row.key(), row.hours)).collect();
                    let mut merged = Vec::new();
                    for (key, _, changes) in
                        page.iter().filter(|(_, _, changes)| !changes.is_empty())
                    {
                        let old = stored.get(*key).and_then(|hours| hours.as_deref());
                        let hours = $crate::cases::kpi::hours::codec::apply_changes(old, changes)
                            .map_err($crate::cases::kpi::rollup::hours_decode_error)?;
                        merged.push((*key, hours));
                    }
                    let mut update = sqlx::QueryBuilder::<$db>::new(batch_sql::update_head(table));
                    update.push_values(&merged, |mut row, (key, hours)| {
                        row.push_bind(key.period)
                            .push_bind(key.grid_id)
                            .push_bind(key.community_id)
                            .push_bind(key.outside_grids)
                            .push_bind(key.department_code.as_str())
                            .push_bind(key.category_code.as_str())
                            .push_bind(hours.as_deref());
                    });
                    update.push(batch_sql::update_tail(table, period));
                    update.build().execute(&mut *$conn).await.map(drop)
                }
                .await;
            }
        }
        result
    }};
}

/// Returns the `RETURNING` clause of an upsert of a page that changes histograms: each
/// row's key, its period column named `period_key`, and its stored histogram.
pub fn returning_key_and_hours(period: &str) -> String {
    format!(
        " RETURNING {period} AS period_key, grid_id, community_id, outside_grids, \
         department_code, category_code, hours"
    )
}

/// A counter row's key and stored histogram, as [`returning_key_and_hours`] returns it.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredHours {
    period_key: i64,
    grid_id: i64,
    community_id: i64,
    outside_grids: bool,
    department_code: String,
    category_code: String,
    pub hours: Option<Vec<u8>>,
}

impl StoredHours {
    pub fn key(&self) -> RollupKey {
        RollupKey {
            period: self.period_key,
            grid_id: self.grid_id,
            community_id: self.community_id,
            outside_grids: self.outside_grids,
            department_code: self.department_code.clone(),
            category_code: self.category_code.clone(),
        }
    }
}

/// Returns `UPDATE table SET hours = v.column7 FROM ` for
/// [`sqlx::QueryBuilder::push_values`].
/// Both backends name the columns of a `VALUES` list `column1`, `column2` and so on.
pub fn update_head(table: &str) -> String {
    format!("UPDATE {table} SET hours = v.column7 FROM (")
}

/// Returns the end of [`update_head`]'s statement, matching each row by its key.
pub fn update_tail(table: &str, period: &str) -> String {
    format!(
        ") AS v WHERE {table}.{period} = v.column1 AND {table}.grid_id = v.column2 \
         AND {table}.community_id = v.column3 AND {table}.outside_grids = v.column4 \
         AND {table}.department_code = v.column5 AND {table}.category_code = v.column6"
    )
}

/// Returns `INSERT INTO table (columns) ` for
/// [`sqlx::QueryBuilder::push_values`].
pub fn upsert_head(table: &str, period: &str) -> String {
    format!(
        "INSERT INTO {table} ({period}, grid_id, community_id, outside_grids, \
         department_code, category_code, {}) ",
        COUNTER_COLUMNS.join(", ")
    )
}

/// Returns the conflict clause that adds each new counter to the stored one.
pub fn upsert_tail(table: &str, period: &str) -> String {
    let sums: Vec<String> = COUNTER_COLUMNS
        .iter()
        .map(|column| format!("{column} = {table}.{column} + excluded.{column}"))
        .collect();
    format!(
        " ON CONFLICT ({period}, grid_id, community_id, outside_grids, department_code, \
         category_code) DO UPDATE SET {}",
        sums.join(", ")
    )
}
