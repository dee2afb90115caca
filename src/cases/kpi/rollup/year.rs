//! The one-time fill of the year-level rollup, `case_kpi_rollup_year`, from the
//! month-level rows already stored when the `case_kpi_rollup_year` migration adds the
//! table. From then on every case write keeps the year rows in step. SQL cannot merge
//! the handling-time histograms, so this step runs in Rust after the migrations, after
//! [`super::upgrade::fold_old_hours`] has put every histogram in its row. It is one
//! transaction, so an interrupted run starts over.

use std::collections::BTreeMap;

use sqlx::{QueryBuilder, Row};

use super::{COUNTER_COLUMNS, RollupKey, hours_decode_error, month::report_year};
use crate::{cases::kpi::hours::codec, db::Db, with_pool};

/// The name of this step in `data_step`.
const STEP: &str = "kpi_rollup_year";

/// Year rows per `INSERT`: 21 parameters each stays under SQLite's parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// The counters of one year row and its histogram as bucket counts.
type YearRow = ([i64; 14], BTreeMap<i64, i64>);

/// Fills the year-level rollup from the month level once; later calls cost one
/// statement.
///
/// # Errors
/// A database failure or a stored histogram that cannot be decoded; nothing of the step
/// is kept then.
#[tracing::instrument(skip_all)]
pub async fn fill_year_rollup(db: &Db) -> Result<(), sqlx::Error> {
    let is_postgres = matches!(db, Db::Postgres(_));
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        // Recording the step first makes a second server that starts at the same time
        // wait for this transaction on PostgreSQL and then find the step done.
        let claimed =
            sqlx::query("INSERT INTO data_step (name) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(STEP)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            return Ok(());
        }
        if is_postgres {
            // Case writes of other nodes wait until the year rows are filled, so that
            // none is counted twice (in the month rows read here and in a year row) or
            // not at all.
            sqlx::query("LOCK TABLE case_kpi_rollup_month IN SHARE MODE").execute(&mut *tx).await?;
        }
        let select = format!(
            "SELECT report_month, grid_id, community_id, outside_grids, department_code, \
             category_code, hours, {} FROM case_kpi_rollup_month",
            COUNTER_COLUMNS.join(", ")
        );
        let mut years: BTreeMap<RollupKey, YearRow> = BTreeMap::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(select)).fetch_all(&mut *tx).await? {
            let key = RollupKey {
                period: report_year(row.try_get(0)?),
                grid_id: row.try_get(1)?,
                community_id: row.try_get(2)?,
                outside_grids: row.try_get(3)?,
                department_code: row.try_get(4)?,
                category_code: row.try_get(5)?,
            };
            let (counters, hours) = years.entry(key).or_insert_with(|| ([0; 14], BTreeMap::new()));
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
        sqlx::query("DELETE FROM case_kpi_rollup_year").execute(&mut *tx).await?;
        let rows: Vec<(RollupKey, YearRow)> = years.into_iter().collect();
        for page in rows.chunks(ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::new(format!(
                "INSERT INTO case_kpi_rollup_year (report_year, grid_id, community_id, \
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
            tracing::info!(year_rows = rows.len(), "year-level KPI rollup filled from the months");
        }
        Ok(())
    })
}
