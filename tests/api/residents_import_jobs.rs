//! Resident imports run as background jobs: progress while the write transaction is
//! open, the same report as the synchronous call, failures, ownership and abandonment.

use std::time::Duration;

use citycore::{accounts::Role, http::AppState, with_pool};
use serde_json::Value;

use crate::{
    helpers::{Session, TestApp, backend_is_postgres, default_areas},
    residents_import::{count, csv_file, identity, registry_app, street_rows, upload},
};

/// Rows in the file of the progress test: enough that the write step takes a while, few
/// enough for a debug build.
const STREET_ROWS: u32 = 2_000;

/// Uploads `bytes` with `Prefer: respond-async`.
async fn upload_async(session: &Session, bytes: Vec<u8>, query: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("street.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let url = session.url(&format!("/api/v1/resident-imports{query}"));
    let request = session.client.post(url).header("x-csrf-token", &session.csrf_token);
    let request = request.header("prefer", "respond-async");
    request.multipart(form).send().await.expect("request sent")
}

/// Starts an async import and returns the job's URL from the `Location` header.
async fn start(session: &Session, bytes: Vec<u8>, query: &str) -> String {
    let response = upload_async(session, bytes, query).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["preference-applied"], "respond-async");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/resident-imports/{}", job["import_id"].as_str().unwrap())
    );
    location
}

/// Polls the job until it has ended, as a client would; fails after 60 s.
async fn wait_until_finished(session: &Session, location: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let response = session.get(location).await;
        assert_eq!(response.status(), 200);
        let job: Value = response.json().await.unwrap();
        if !job["finished_at"].is_null() {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "job still running: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads a job as another node would: a fresh application state on the same database,
/// with no job in memory.
async fn read_on_other_node(app: &TestApp, admin: &Session, location: &str) -> Value {
    let other = AppState::new(app.settings.clone(), app.db.clone()).await.unwrap();
    let user = citycore::accounts::CurrentUser {
        user_id: admin.user_id,
        username: admin.username.clone(),
        display_name: String::new(),
        role: Role::Administrator,
        area_ids: Vec::new(),
        department_code: None,
        locale: None,
        csrf_token: String::new(),
    };
    let import_id = location.rsplit('/').next().unwrap();
    let job = citycore::residents::import::job::find_job(
        &other.import_jobs,
        &other.db,
        &user,
        import_id,
        Default::default(),
    )
    .await
    .unwrap()
    .expect("job stored");
    serde_json::to_value(job).unwrap()
}

#[tokio::test]
async fn async_apply_shows_progress_then_report() {
    let (app, admin) = registry_app().await;
    let file = csv_file(&street_rows(STREET_ROWS));
    let pause = app.state.import_jobs.pause_next_write(1_000);
    let location = start(&admin, file.clone(), "?mode=apply").await;
    tokio::time::timeout(Duration::from_secs(60), pause.reached()).await.expect("write step");

    let job: Value = admin.get(&location).await.json().await.unwrap();
    assert_eq!(job["state"], "writing", "{job}");
    assert_eq!(job["mode"], "apply");
    assert_eq!(job["rows_total"], STREET_ROWS);
    assert_eq!(job["rows_checked"], STREET_ROWS);
    assert_eq!(job["rows_to_write"], STREET_ROWS);
    assert_eq!(job["rows_written"], 1_000);
    assert_eq!(job["started_by"], admin.user_id);
    assert!(job["finished_at"].is_null());
    assert!(job["report"].is_null());
    if backend_is_postgres() {
        // The heartbeat stores the counts through its own connection while the write
        // transaction is open, so another node reads them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut stored = read_on_other_node(&app, &admin, &location).await;
        while stored["rows_written"] != 1_000 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            stored = read_on_other_node(&app, &admin, &location).await;
        }
        assert_eq!(stored["state"], "writing", "{stored}");
        assert_eq!(stored["rows_written"], 1_000, "{stored}");
    }
    assert_eq!(count(&app, "resident").await, 0, "nothing visible before the commit");
    pause.release();

    let job = wait_until_finished(&admin, &location).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["rows_written"], STREET_ROWS);
    assert!(job["error"].is_null());
    assert_eq!(count(&app, "resident").await, i64::from(STREET_ROWS));
    let stored = read_on_other_node(&app, &admin, &location).await;
    assert_eq!(stored["state"], "done", "the outcome is stored");
    assert_eq!(stored["report"], job["report"]);

    let (_other_app, other_admin) = registry_app().await;
    let response = upload(&other_admin, "street.csv", file, "?mode=apply").await;
    assert_eq!(response.status(), 201);
    let mut synchronous: Value = response.json().await.unwrap();
    let mut report = job["report"].clone();
    assert_eq!(report["import_id"], job["import_id"], "the report carries the job's id");
    report["import_id"] = Value::Null;
    synchronous["import_id"] = Value::Null;
    assert_eq!(report, synchronous);
}

#[tokio::test]
async fn async_apply_with_problems_is_rejected() {
    let (app, admin) = registry_app().await;
    let mut rows = street_rows(3);
    let number = identity("19800101", 999);
    rows.push(format!("春望里9号,110105999999999,钱九,{number},户主,,"));
    let location = start(&admin, csv_file(&rows), "?mode=apply").await;
    let job = wait_until_finished(&admin, &location).await;
    assert_eq!(job["state"], "rejected", "{job}");
    assert_eq!(job["report"]["problem_count"], 1, "the unknown grid");
    assert_eq!(job["report"]["problems"][0]["code"], "resident_import_grid_unknown");
    assert_eq!(job["report"]["applied"], false);
    assert_eq!(job["error"]["code"], "resident_import_rejected");
    assert_eq!(count(&app, "resident").await, 0);
}

/// Makes inserting a resident named 坏行 fail inside the import's transaction.
async fn fail_inserts_of_bad_row(app: &TestApp) {
    let statements: &[&str] = if backend_is_postgres() {
        &[
            "CREATE FUNCTION reject_bad_row() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'test: row rejected'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER reject_bad_row BEFORE INSERT ON resident FOR EACH ROW \
             WHEN (NEW.name = '坏行') EXECUTE FUNCTION reject_bad_row()",
        ]
    } else {
        &["CREATE TRIGGER reject_bad_row BEFORE INSERT ON resident \
           WHEN NEW.name = '坏行' BEGIN SELECT RAISE(ABORT, 'test: row rejected'); END"]
    };
    for statement in statements {
        with_pool!(&app.db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(*statement)).execute(pool).await.unwrap();
        });
    }
}

#[tokio::test]
async fn failed_async_write_leaves_nothing_and_says_failed() {
    let (app, admin) = registry_app().await;
    fail_inserts_of_bad_row(&app).await;
    let mut rows = street_rows(40);
    let last = rows.pop().unwrap();
    let fields: Vec<&str> = last.split(',').collect();
    rows.push(format!("{},{},坏行,{}", fields[0], fields[1], fields[3..].join(",")));
    let response = crate::residents_import::upload_with(
        &admin,
        "street.csv",
        csv_file(&rows),
        "?mode=apply&async=true",
        &[],
    )
    .await;
    assert_eq!(response.status(), 202, "?async=true starts a job too");
    let location = response.headers()["location"].to_str().unwrap().to_owned();

    let job = wait_until_finished(&admin, &location).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "resident_import_job_failed");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(message.contains("未写入任何数据"), "{message}");
    assert!(message.contains(job["import_id"].as_str().unwrap()), "{message}");
    assert!(job["report"].is_null());
    assert_eq!(count(&app, "resident").await, 0);
    assert_eq!(count(&app, "household").await, 0);
}

#[tokio::test]
async fn import_job_of_another_user_is_not_found() {
    let (app, admin) = registry_app().await;
    let role = Role::CommunityWorker;
    let owner = app.login_as(role, default_areas(role)).await;
    let other = app.login_as(role, default_areas(role)).await;
    let location = start(&owner, csv_file(&street_rows(4)), "").await;
    let job = wait_until_finished(&owner, &location).await;
    assert_eq!(job["state"], "done", "a dry run ends as done: {job}");
    assert_eq!(job["report"]["applied"], false);

    assert_eq!(other.get(&location).await.status(), 404);
    assert_eq!(admin.get(&location).await.status(), 200, "administrators read every job");
    let unknown = format!("/api/v1/resident-imports/{}", uuid::Uuid::new_v4());
    assert_eq!(owner.get(&unknown).await.status(), 404);
    assert_eq!(owner.get("/api/v1/resident-imports/not-a-uuid").await.status(), 404);
    assert_eq!(count(&app, "resident").await, 0);
}

#[tokio::test]
async fn running_job_without_a_node_reads_as_failed() {
    let (app, admin) = registry_app().await;
    let import_id = uuid::Uuid::new_v4().to_string();
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
    with_pool!(&app.db, |pool| {
        sqlx::query(
            "INSERT INTO resident_import_job (import_job_id, started_by, mode, file_name, \
             state, rows_total, rows_checked, started_at, updated_at) \
             VALUES ($1, $2, 'apply', 'street.csv', 'writing', 10, 10, $3, $3)",
        )
        .bind(&import_id)
        .bind(admin.user_id)
        .bind(long_ago)
        .execute(pool)
        .await
        .unwrap();
    });
    let response = admin.get(&format!("/api/v1/resident-imports/{import_id}")).await;
    assert_eq!(response.status(), 200);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "resident_import_job_abandoned");
}
