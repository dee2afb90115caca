//! The one-time move of the handling-time histograms from the per-bucket tables
//! `case_kpi_hours` and `case_kpi_hours_month` into the `hours` column of the counter
//! rows, which the `kpi_hours_blob` migration adds. SQL cannot build the blob, so this
//! step runs in Rust after the migrations. It re-buckets each row's counts into the
//! current buckets, stores them, empties the old tables and records itself in
//! `data_step`. All of it is one transaction, so an interrupted run starts over.

use crate::{
    cases::kpi::hours::{bucket_of_seconds, codec},
    db::Db,
    with_pool,
};

/// The name of this step in `data_step`.
const STEP: &str = "kpi_hours_blob";

/// One level of the old layout: its bucket table, its counter table, its period column.
struct OldLevel {
    hours: &'static str,
    counters: &'static str,
    period: &'static str,
}

const OLD_LEVELS: [OldLevel; 2] = [
    OldLevel { hours: "case_kpi_hours", counters: "case_kpi_rollup", period: "report_day" },
    OldLevel {
        hours: "case_kpi_hours_month",
        counters: "case_kpi_rollup_month",
        period: "report_month",
    },
];

/// Returns the lower bound in minutes of a bucket of the old layout: a bucket per minute
/// below 128 minutes, then 64 per doubling.
pub fn old_bucket_minutes(bucket: i64) -> i64 {
    if bucket < 128 {
        return bucket.max(0);
    }
    let octave = 7 + (bucket - 128) / 64;
    let mantissa = 64 + (bucket - 128) % 64;
    mantissa << (octave - 6).min(56)
}

/// Returns the current bucket of an old bucket. Below 128 minutes both layouts have a
/// bucket per minute. Above, a current bucket is two old ones wide and starts where an
/// old one does, so an old bucket lies inside one current bucket and the move loses
/// nothing.
pub fn current_bucket(old_bucket: i64) -> i64 {
    bucket_of_seconds(old_bucket_minutes(old_bucket).saturating_mul(60))
}

/// A row of an old bucket table without its period.
type OldRow = (i64, i64, bool, String, String, i64, i64);

/// Folds the old bucket tables into the `hours` column once; later calls cost one
/// statement.
///
/// # Errors
/// A database failure; nothing of the step is kept then.
#[tracing::instrument(skip_all)]
pub async fn fold_old_hours(db: &Db) -> Result<(), sqlx::Error> {
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
        let mut folded_rows = 0_u64;
        for level in OLD_LEVELS {
            let periods: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT {} FROM {} ORDER BY 1",
                level.period, level.hours
            )))
            .fetch_all(&mut *tx)
            .await?;
            let select = format!(
                "SELECT grid_id, community_id, outside_grids, department_code, category_code, \
                 bucket, cases FROM {} WHERE {} = $1 ORDER BY grid_id, community_id, \
                 outside_grids, department_code, category_code, bucket",
                level.hours, level.period
            );
            let store = format!(
                "INSERT INTO {0} ({1}, grid_id, community_id, outside_grids, department_code, \
                 category_code, hours) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ({1}, \
                 grid_id, community_id, outside_grids, department_code, category_code) \
                 DO UPDATE SET hours = excluded.hours",
                level.counters, level.period
            );
            for (period,) in periods {
                let rows: Vec<OldRow> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                    .bind(period)
                    .fetch_all(&mut *tx)
                    .await?;
                folded_rows += rows.len() as u64;
                for group in rows.chunk_by(same_key) {
                    let (grid_id, community_id, outside_grids, department, category, _, _) =
                        &group[0];
                    sqlx::query(sqlx::AssertSqlSafe(store.clone()))
                        .bind(period)
                        .bind(grid_id)
                        .bind(community_id)
                        .bind(outside_grids)
                        .bind(department.as_str())
                        .bind(category.as_str())
                        .bind(encode_group(group))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", level.hours)))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if folded_rows > 0 {
            tracing::info!(folded_rows, "handling-time buckets moved into the rollup rows");
        }
        Ok(())
    })
}

fn same_key(a: &OldRow, b: &OldRow) -> bool {
    (a.0, a.1, a.2, &a.3, &a.4) == (b.0, b.1, b.2, &b.3, &b.4)
}

/// Encodes the old rows of one key, in old bucket order, in the current buckets;
/// `None` when no count is left.
fn encode_group(rows: &[OldRow]) -> Option<Vec<u8>> {
    let mut pairs: Vec<(i64, i64)> = Vec::with_capacity(rows.len());
    for row in rows {
        let bucket = current_bucket(row.5);
        match pairs.last_mut() {
            Some(last) if last.0 == bucket => last.1 += row.6,
            _ => pairs.push((bucket, row.6)),
        }
    }
    pairs.retain(|(_, cases)| *cases != 0);
    (!pairs.is_empty()).then(|| codec::encode(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the old layout's bucket of a time in minutes, as the old code computed it.
    fn old_bucket(minutes: i64) -> i64 {
        if minutes < 128 {
            return minutes;
        }
        let octave = i64::from(63 - minutes.leading_zeros());
        128 + (octave - 7) * 64 + (minutes >> (octave - 6)) - 64
    }

    #[test]
    fn old_bucket_maps_to_current() {
        for minutes in (0..20_000).chain([43_210, 525_600, 1_000_000]) {
            let old = old_bucket(minutes);
            assert!(old_bucket_minutes(old) <= minutes, "{minutes} min");
            assert_eq!(current_bucket(old), bucket_of_seconds(minutes * 60), "{minutes} min");
        }
    }

    #[test]
    fn encode_group_merges_old_rows() {
        let row = |bucket: i64, cases: i64| -> OldRow {
            (1, 2, false, "HWS".to_owned(), "E0101".to_owned(), bucket, cases)
        };
        // Old buckets 300 and 301 fall in one current bucket.
        let blob = encode_group(&[row(5, 2), row(300, 1), row(301, 3)]).unwrap();
        let pairs = codec::decode(&blob).unwrap();
        assert_eq!(pairs, [(5, 2), (current_bucket(300), 4)]);
        assert_eq!(encode_group(&[row(7, 0)]), None);
    }
}
