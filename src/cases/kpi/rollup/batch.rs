//! Multi-row counter upserts for a batch of case writes on SQLite.
//!
//! `apply_rollup!` sends one upsert per changed row, which suits a single case write.
//! A group commit of new cases changes about two rows per case (its day and its month),
//! and each statement is a message to the connection's worker thread, so
//! [`apply_counters_sqlite`] stores all counter rows of a level in one statement per
//! [`ROWS_PER_STATEMENT`] rows instead.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{COUNTER_COLUMNS, RollupDelta};
use crate::apply_rollup;

/// Rows per statement: 20 parameters each keeps a statement at 10,000 parameters, under
/// SQLite's default limit of 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// The counter table and its period column of the day level, then of the month level,
/// in the order `apply_rollup!` writes them.
const COUNTER_TABLES: [(&str, &str); 2] =
    [("case_kpi_rollup", "report_day"), ("case_kpi_rollup_month", "report_month")];

/// Stores `delta` through `conn` (inside the caller's transaction) like `apply_rollup!`,
/// writing the day-level counters and, summed per month, the month-level ones. A delta
/// with handling-time rows goes through `apply_rollup!` whole.
///
/// # Errors
/// Fails when a statement fails; the caller's transaction must then be rolled back.
pub async fn apply_counters_sqlite(
    conn: &mut SqliteConnection,
    delta: &RollupDelta,
) -> Result<(), sqlx::Error> {
    if !delta.hours.is_empty() {
        return apply_rollup!(conn, delta);
    }
    let months = delta.by_month();
    for (level, (table, period)) in [delta, &months].into_iter().zip(COUNTER_TABLES) {
        let rows: Vec<_> = level
            .counters
            .iter()
            .filter(|(_, counters)| counters.iter().any(|value| *value != 0))
            .collect();
        for page in rows.chunks(ROWS_PER_STATEMENT) {
            let mut upsert = QueryBuilder::<Sqlite>::new(upsert_head(table, period));
            upsert.push_values(page, |mut row, (key, counters)| {
                row.push_bind(key.period)
                    .push_bind(key.grid_id)
                    .push_bind(key.community_id)
                    .push_bind(key.outside_grids)
                    .push_bind(key.department_code.as_str())
                    .push_bind(key.category_code.as_str());
                for value in *counters {
                    row.push_bind(*value);
                }
            });
            upsert.push(upsert_tail(table, period));
            upsert.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Returns `INSERT INTO table (columns) ` for [`QueryBuilder::push_values`].
fn upsert_head(table: &str, period: &str) -> String {
    format!(
        "INSERT INTO {table} ({period}, grid_id, community_id, outside_grids, \
         department_code, category_code, {}) ",
        COUNTER_COLUMNS.join(", ")
    )
}

/// Returns the conflict clause that adds each new counter to the stored one.
fn upsert_tail(table: &str, period: &str) -> String {
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
