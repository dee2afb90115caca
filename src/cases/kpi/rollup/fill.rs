//! The one-time fill of a rollup level added after cases were stored: the year level,
//! `case_kpi_rollup_year`, from the month rows, and the dekad level,
//! `case_kpi_rollup_dekad`, from the day rows. From then on every case write keeps the
//! new level in step. SQL cannot merge the handling-time histograms, so each fill runs
//! in Rust after the migrations, after [`super::upgrade::fold_old_hours`] has put every
//! histogram in its row. Each is one transaction, so an interrupted run starts over.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use sqlx::{QueryBuilder, Row};

use super::{
    COUNTER_COLUMNS, RollupKey, dekad::report_dekad, hours_decode_error, month::report_year,
};
use crate::{cases::kpi::hours::codec, db::Db, with_pool};

/// Rows per `INSERT`: 21 parameters each stays under SQLite's parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// The counters of one filled row and its histogram as bucket counts.
type FilledRow = ([i64; 14], BTreeMap<i64, i64>);

/// A level filled once from a finer one.
struct Fill {
    /// The name of this step in `data_step`.
    step: &'static str,
    /// The finer level's table and period column.
    source: (&'static str, &'static str),
    /// The new level's table and period column.
    target: (&'static str, &'static str),
    /// Maps a period of the finer level to the new level's.
    coarser: fn(i64) -> i64,
}

/// The year level from the months, then the dekad level from the days.
const FILLS: [Fill; 2] = [
    Fill {
        step: "kpi_rollup_year",
        source: ("case_kpi_rollup_month", "report_month"),
        target: ("case_kpi_rollup_year", "report_year"),
        coarser: report_year,
    },
    Fill {
        step: "kpi_rollup_dekad",
        source: ("case_kpi_rollup", "report_day"),
        target: ("case_kpi_rollup_dekad", "report_dekad"),
        coarser: report_dekad,
    },
];

/// Fills every level added after cases were stored, once; later calls cost one
/// statement per level.
///
/// # Errors
/// A database failure or a stored histogram that cannot be decoded; nothing of the
/// failed level is kept then.
pub async fn fill_new_levels(db: &Db) -> Result<(), sqlx::Error> {
    for fill in &FILLS {
        fill_level(db, fill).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(step = fill.step))]
async fn fill_level(db: &Db, fill: &Fill) -> Result<(), sqlx::Error> {
    let is_postgres = matches!(db, Db::Postgres(_));
    let (source, source_period) = fill.source;
    let (target, target_period) = fill.target;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        // Recording the step first makes a second server that starts at the same time
        // wait for this transaction on PostgreSQL and then find the step done.
        let claimed =
            sqlx::query("INSERT INTO data_step (name) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(fill.step)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            return Ok(());
        }
        if is_postgres {
            // Case writes of other nodes wait until the new rows are filled, so that
            // none is counted twice (in the rows read here and in a new row) or not
            // at all.
            let lock = format!("LOCK TABLE {source} IN SHARE MODE");
            sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await?;
        }
        let select = format!(
            "SELECT {source_period}, grid_id, community_id, outside_grids, department_code, \
             category_code, hours, {} FROM {source}",
            COUNTER_COLUMNS.join(", ")
        );
        let mut filled: BTreeMap<RollupKey, FilledRow> = BTreeMap::new();
        // Streamed: the day level of a year of 11 million cases is half a million rows.
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let key = RollupKey {
                period: (fill.coarser)(row.try_get(0)?),
                grid_id: row.try_get(1)?,
                community_id: row.try_get(2)?,
                outside_grids: row.try_get(3)?,
                department_code: row.try_get(4)?,
                category_code: row.try_get(5)?,
            };
            let (counters, hours) = filled.entry(key).or_insert_with(|| ([0; 14], BTreeMap::new()));
            for (i, sum) in counters.iter_mut().enumerate() {
                *sum += row.try_get::<i64, _>(7 + i)?;
            }
            if let Some(blob) = row.try_get::<Option<Vec<u8>>, _>(6)? {
                codec::decode_each(&blob, |bucket, cases| {
                    *hours.entry(bucket).or_default() += cases
                })
                .map_err(hours_decode_error)?;
            }
        }
        drop(rows);
        let delete = format!("DELETE FROM {target}");
        sqlx::query(sqlx::AssertSqlSafe(delete)).execute(&mut *tx).await?;
        let rows: Vec<(RollupKey, FilledRow)> = filled.into_iter().collect();
        for page in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::new(format!(
                "INSERT INTO {target} ({target_period}, grid_id, community_id, \
                 outside_grids, department_code, category_code, hours, {}) ",
                COUNTER_COLUMNS.join(", ")
            ));
            insert.push_values(page, |mut values, (key, (counters, hours))| {
                let pairs = hours.iter().filter(|(_, cases)| **cases != 0);
                let blob = pairs
                    .clone()
                    .next()
                    .is_some()
                    .then(|| codec::encode(pairs.map(|(bucket, cases)| (*bucket, *cases))));
                values
                    .push_bind(key.period)
                    .push_bind(key.grid_id)
                    .push_bind(key.community_id)
                    .push_bind(key.outside_grids)
                    .push_bind(key.department_code.clone())
                    .push_bind(key.category_code.clone())
                    .push_bind(blob);
                for value in counters {
                    values.push_bind(*value);
                }
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        if !rows.is_empty() {
            tracing::info!(rows = rows.len(), table = target, "KPI rollup level filled");
        }
        Ok(())
    })
}
