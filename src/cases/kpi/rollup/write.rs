//! The write side of the KPI rollup: the statements that add a [`super::RollupDelta`]
//! to the counter rows, and `apply_rollup!`, which runs them in the caller's transaction.

/// Builds the upsert of one counter row into `$table` keyed by `$period`: key in `$1`–`$6`,
/// counters from `$7`, followed by `$tail`.
macro_rules! upsert_counters_sql {
    ($table:literal, $period:literal, $tail:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (",
            $period,
            ", grid_id, community_id, outside_grids, \
             department_code, category_code, response_num, response_den, resolution_num, \
             resolution_den, satisfaction_num, satisfaction_den, closure_num, closure_den, \
             on_time_closure_num, on_time_closure_den, rework_num, rework_den, \
             extension_num, extension_den) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) ON CONFLICT (",
            $period,
            ", grid_id, community_id, outside_grids, department_code, \
             category_code) DO UPDATE SET \
             response_num = ",
            $table,
            ".response_num + excluded.response_num, \
             response_den = ",
            $table,
            ".response_den + excluded.response_den, \
             resolution_num = ",
            $table,
            ".resolution_num + excluded.resolution_num, \
             resolution_den = ",
            $table,
            ".resolution_den + excluded.resolution_den, \
             satisfaction_num = ",
            $table,
            ".satisfaction_num + excluded.satisfaction_num, \
             satisfaction_den = ",
            $table,
            ".satisfaction_den + excluded.satisfaction_den, \
             closure_num = ",
            $table,
            ".closure_num + excluded.closure_num, \
             closure_den = ",
            $table,
            ".closure_den + excluded.closure_den, \
             on_time_closure_num = ",
            $table,
            ".on_time_closure_num + \
             excluded.on_time_closure_num, \
             on_time_closure_den = ",
            $table,
            ".on_time_closure_den + \
             excluded.on_time_closure_den, \
             rework_num = ",
            $table,
            ".rework_num + excluded.rework_num, \
             rework_den = ",
            $table,
            ".rework_den + excluded.rework_den, \
             extension_num = ",
            $table,
            ".extension_num + excluded.extension_num, \
             extension_den = ",
            $table,
            ".extension_den + excluded.extension_den",
            $tail
        )
    };
}

/// Builds the statement that stores the encoded histogram `$7` in the row of `$table`
/// keyed by `$period`, with the key in `$1`–`$6`.
macro_rules! update_hours_sql {
    ($table:literal, $period:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET hours = $7 WHERE ",
            $period,
            " = $1 AND grid_id = $2 AND community_id = $3 AND outside_grids = $4 \
             AND department_code = $5 AND category_code = $6"
        )
    };
}

/// The statements that store one level of the rollup.
#[derive(Debug, Clone, Copy)]
pub struct LevelSql {
    /// Adds counters to a row.
    pub upsert: &'static str,
    /// The same, returning the row's stored histogram; on PostgreSQL the upsert locks
    /// the row, so that no other transaction changes the histogram before it is
    /// written back.
    pub upsert_returning_hours: &'static str,
    /// Writes a row's histogram back.
    pub update_hours: &'static str,
}

/// Statements of the day-level rollup, then of the dekad-, month- and year-level ones.
pub const LEVELS: [LevelSql; 4] = [
    LevelSql {
        upsert: upsert_counters_sql!("case_kpi_rollup", "report_day", ""),
        upsert_returning_hours: upsert_counters_sql!(
            "case_kpi_rollup",
            "report_day",
            " RETURNING hours"
        ),
        update_hours: update_hours_sql!("case_kpi_rollup", "report_day"),
    },
    LevelSql {
        upsert: upsert_counters_sql!("case_kpi_rollup_dekad", "report_dekad", ""),
        upsert_returning_hours: upsert_counters_sql!(
            "case_kpi_rollup_dekad",
            "report_dekad",
            " RETURNING hours"
        ),
        update_hours: update_hours_sql!("case_kpi_rollup_dekad", "report_dekad"),
    },
    LevelSql {
        upsert: upsert_counters_sql!("case_kpi_rollup_month", "report_month", ""),
        upsert_returning_hours: upsert_counters_sql!(
            "case_kpi_rollup_month",
            "report_month",
            " RETURNING hours"
        ),
        update_hours: update_hours_sql!("case_kpi_rollup_month", "report_month"),
    },
    LevelSql {
        upsert: upsert_counters_sql!("case_kpi_rollup_year", "report_year", ""),
        upsert_returning_hours: upsert_counters_sql!(
            "case_kpi_rollup_year",
            "report_year",
            " RETURNING hours"
        ),
        update_hours: update_hours_sql!("case_kpi_rollup_year", "report_year"),
    },
];

/// Turns a stored histogram that cannot be decoded into a database decoding error.
pub fn hours_decode_error(error: crate::cases::kpi::hours::codec::DecodeError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// Stores a [`super::RollupDelta`] through `$conn` (a transaction's connection) into the
/// day-level table and, summed per month and per year, into the month- and
/// year-level ones, skipping rows
/// whose change is zero. A row whose handling times change is upserted with its
/// stored histogram returned, which is merged with the change and written back, so
/// that only writes that close, reopen or move a closed case pay the two statements;
/// an intake pays one statement per level as before. A macro because the body is
/// compiled once per backend.
#[macro_export]
macro_rules! apply_rollup {
    ($conn:expr, $delta:expr) => {{
        let delta: &$crate::cases::kpi::rollup::RollupDelta = $delta;
        let dekads = delta.by_dekad();
        let months = delta.by_month();
        let years = months.by_year();
        let mut result: Result<(), sqlx::Error> = Ok(());
        let levels = [delta, &dekads, &months, &years];
        for (delta, sql) in levels.into_iter().zip($crate::cases::kpi::rollup::LEVELS) {
            for (key, counters) in &delta.counters {
                if result.is_err() {
                    break;
                }
                let changes = delta.hours_changes(key);
                if changes.is_empty() && counters.iter().all(|value| *value == 0) {
                    continue;
                }
                let statement =
                    if changes.is_empty() { sql.upsert } else { sql.upsert_returning_hours };
                let mut query = sqlx::query(statement)
                    .bind(key.period)
                    .bind(key.grid_id)
                    .bind(key.community_id)
                    .bind(key.outside_grids)
                    .bind(key.department_code.as_str())
                    .bind(key.category_code.as_str());
                for value in counters {
                    query = query.bind(*value);
                }
                if changes.is_empty() {
                    result = query.execute(&mut *$conn).await.map(drop);
                    continue;
                }
                result = async {
                    let row = query.fetch_one(&mut *$conn).await?;
                    let stored: Option<Vec<u8>> = sqlx::Row::try_get(&row, 0)?;
                    let hours = $crate::cases::kpi::hours::codec::apply_changes(
                        stored.as_deref(),
                        &changes,
                    )
                    .map_err($crate::cases::kpi::rollup::hours_decode_error)?;
                    sqlx::query(sql.update_hours)
                        .bind(key.period)
                        .bind(key.grid_id)
                        .bind(key.community_id)
                        .bind(key.outside_grids)
                        .bind(key.department_code.as_str())
                        .bind(key.category_code.as_str())
                        .bind(hours)
                        .execute(&mut *$conn)
                        .await
                        .map(drop)
                }
                .await;
            }
        }
        result
    }};
}
