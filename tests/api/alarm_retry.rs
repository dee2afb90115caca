//! Rule evaluation that fails after the readings committed: the readings stay marked
//! in the pending table, and the alarm worker or the next batch of the same device
//! attribute evaluates them again, so the alarm and its case still appear.
//!
//! The failure is a database trigger that rejects every new alarm row while it exists,
//! so the evaluation's transaction fails as it would on a real database error.

use chrono::{Duration, Utc};
use citycore::{
    accounts::Role,
    alarms::{pending, worker},
    db::Db,
    with_pool,
};

use crate::{
    alarms::{alarms, bin_threshold, create_rule, hours_ago, post_series, register},
    cases_loop::app_with_grids,
    helpers::TestApp,
};

async fn execute(db: &Db, sql: &str) {
    let sql = sql.to_owned();
    with_pool!(db, |pool| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(pool).await.expect(&sql);
    })
}

/// Makes every insert into `sensor_alarm` fail until [`heal_alarm_inserts`].
async fn break_alarm_inserts(app: &TestApp) {
    let sql = match &app.db {
        Db::Sqlite(_) => {
            "CREATE TRIGGER test_reject_alarm BEFORE INSERT ON sensor_alarm \
             BEGIN SELECT RAISE(ABORT, 'alarm insert rejected by the test'); END"
        }
        Db::Postgres(_) => {
            "CREATE FUNCTION test_reject_alarm() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'alarm insert rejected by the test'; END $$; \
             CREATE TRIGGER test_reject_alarm BEFORE INSERT ON sensor_alarm \
             FOR EACH ROW EXECUTE FUNCTION test_reject_alarm()"
        }
    };
    execute(&app.db, sql).await;
}

async fn heal_alarm_inserts(app: &TestApp) {
    let sql = match &app.db {
        Db::Sqlite(_) => "DROP TRIGGER test_reject_alarm",
        Db::Postgres(_) => "DROP TRIGGER test_reject_alarm ON sensor_alarm",
    };
    execute(&app.db, sql).await;
}

/// Pending rows as (failed retries, retry time in ms), oldest first.
async fn pending_rows(app: &TestApp) -> Vec<(i32, i64)> {
    let sql = "SELECT attempts, retry_at_ms FROM sensor_alarm_pending ORDER BY retry_at_ms";
    with_pool!(&app.db, |pool| sqlx::query_as(sql).fetch_all(pool).await.unwrap())
}

#[tokio::test]
async fn worker_raises_alarm_whose_evaluation_failed() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;

    break_alarm_inserts(&app).await;
    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.95]).await;
    assert!(alarms(&admin, "all").await.is_empty(), "the failed evaluation raised nothing");
    assert_eq!(pending_rows(&app).await.len(), 1, "the batch stays pending");
    heal_alarm_inserts(&app).await;

    let now_ms = Utc::now().timestamp_millis();
    let early = worker::tick(&app.state, now_ms).await.expect("tick");
    assert_eq!(early.pending_evaluated, 0, "a new pending row waits for its grace period");
    let late_ms = now_ms + pending::GRACE_MS + 1_000;
    let late = worker::tick(&app.state, late_ms).await.expect("tick");
    assert_eq!(late.pending_evaluated, 1, "{late:?}");

    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0]["case_id"].is_i64(), "the retried alarm has its case: {open:?}");
    assert!(pending_rows(&app).await.is_empty(), "nothing left pending");
    let again = worker::tick(&app.state, late_ms + 1_000).await.expect("tick");
    assert_eq!(again.pending_evaluated, 0, "a second tick has nothing to retry");
    assert_eq!(alarms(&admin, "all").await.len(), 1, "still one alarm");
}

#[tokio::test]
async fn failed_retry_waits_longer_before_the_next() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    break_alarm_inserts(&app).await;
    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.95]).await;

    let first_ms = Utc::now().timestamp_millis() + pending::GRACE_MS + 1_000;
    let failed = worker::tick(&app.state, first_ms).await.expect("tick");
    assert_eq!(failed.pending_failed, 1, "{failed:?}");
    let wait_ms = pending::retry_wait_ms(0);
    assert_eq!(pending_rows(&app).await, vec![(1, first_ms + wait_ms)], "one failure counted");

    heal_alarm_inserts(&app).await;
    let before = worker::tick(&app.state, first_ms + wait_ms - 1).await.expect("tick");
    assert_eq!(before.pending_evaluated, 0, "not due before the backoff ends");
    let after = worker::tick(&app.state, first_ms + wait_ms).await.expect("tick");
    assert_eq!(after.pending_evaluated, 1, "{after:?}");
    assert_eq!(alarms(&admin, "open").await.len(), 1, "the alarm appears after the retry");
}

#[tokio::test]
async fn next_batch_evaluates_readings_of_failed_batch() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    let start = hours_ago(1);

    break_alarm_inserts(&app).await;
    post_series(&app, &token, "bin-1", "fillingLevel", start, &[0.95]).await;
    heal_alarm_inserts(&app).await;
    // Between the levels: on its own it neither raises nor clears.
    post_series(&app, &token, "bin-1", "fillingLevel", start + Duration::minutes(1), &[0.7]).await;

    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "the earlier reading raised the alarm: {open:?}");
    assert!(open[0]["case_id"].is_i64(), "{open:?}");
    assert!(pending_rows(&app).await.is_empty(), "nothing left pending");
}

#[tokio::test]
async fn concurrent_claims_take_disjoint_rows() {
    let app = app_with_grids().await;
    // Due in an hour, so that the app's own alarm worker, which ticks on the real clock,
    // leaves the rows to the claims below.
    let due_ms = Utc::now().timestamp_millis() + 3_600_000;
    let values: Vec<String> =
        (1..=40).map(|device| format!("({device}, 7, 0, 0, {due_ms})")).collect();
    let sql = format!(
        "INSERT INTO sensor_alarm_pending (device_id, attribute, from_observed_at_ms, \
         batch_token, retry_at_ms) VALUES {}",
        values.join(", ")
    );
    execute(&app.db, &sql).await;

    let now_ms = due_ms;
    let claims = (1..=4).map(|token| pending::claim_due(&app.db, token, now_ms, 15));
    let claimed = futures_util::future::join_all(claims).await;

    let mut devices: Vec<i64> = Vec::new();
    for (index, rows) in claimed.into_iter().enumerate() {
        let rows = rows.expect("claim");
        assert!(rows.len() <= 15, "claim {index} took {} rows", rows.len());
        devices.extend(rows.iter().map(|row| row.backlog.device_id));
    }
    // A claim may skip a row that a concurrent claim released a moment earlier, so a
    // last claim takes whatever is still due.
    let rest = pending::claim_due(&app.db, 5, now_ms, 40).await.expect("claim");
    devices.extend(rest.iter().map(|row| row.backlog.device_id));
    devices.sort_unstable();
    let claimed_count = devices.len();
    devices.dedup();
    assert_eq!(devices.len(), claimed_count, "no row claimed twice");
    assert_eq!(claimed_count, 40, "every due row claimed once");
}

/// The evaluation after a batch writes through [`Db::relaxed`]. On PostgreSQL its
/// commits do not wait for the WAL flush. That is safe only because the readings' own
/// transaction, with its pending rows, still waits.
#[tokio::test]
async fn relaxed_pool_skips_flush_wait() {
    let app = app_with_grids().await;
    let setting = |db: Db| async move {
        match db {
            Db::Postgres(pool) => {
                let (value,): (String,) =
                    sqlx::query_as("SHOW synchronous_commit").fetch_one(&pool).await.unwrap();
                value
            }
            Db::Sqlite(pool) => {
                let (value,): (i64,) =
                    sqlx::query_as("PRAGMA synchronous").fetch_one(&pool).await.unwrap();
                value.to_string()
            }
        }
    };
    let main = setting(app.state.db.clone()).await;
    let relaxed = setting(app.state.relaxed_db.clone()).await;

    match &app.db {
        Db::Postgres(_) => {
            assert_eq!(main, "on", "the main pool waits for the flush");
            assert_eq!(relaxed, "off", "the relaxed pool does not");
        }
        // NORMAL (1) in WAL mode, so a commit does not wait for a flush on SQLite.
        Db::Sqlite(_) => {
            assert_eq!(main, "1");
            assert_eq!(relaxed, "1");
        }
    }
}
