//! Case storage on the test backend: the guarded update lets exactly one of two racing
//! transitions commit, and the loser writes nothing.

use chrono::{SubsecRound, Utc};
use citycore::cases::case::{
    Case, CaseEvent, CaseStore, Channel, Stage,
    store::{CaseFilter, StoreError},
};

use crate::helpers::spawn_app;

fn sample_case() -> Case {
    let now = Utc::now().trunc_subsecs(3);
    Case {
        case_id: 0,
        tracking_token: uuid::Uuid::new_v4().simple().to_string(),
        title: "暴露垃圾".to_owned(),
        description: "小区门口垃圾堆积".to_owned(),
        category_code: "E0101".to_owned(),
        channel: Channel::Api,
        reporter_user_id: None,
        address: None,
        reporter_contact: Some("138 0000 0000".to_owned()),
        longitude: 116.47,
        latitude: 39.99,
        grid_id: None,
        community_id: None,
        outside_grids: true,
        department_code: "HWS".to_owned(),
        stage: Stage::Intake,
        due_at: Some(now),
        dispatch_due_at: Some(now),
        handling_due_at: None,
        verification_due_at: None,
        requested_extension: None,
        merged_into_case_id: None,
        rating: None,
        closed_at: None,
        rework_count: 0,
        extension_count: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

fn event(to_stage: Stage, comment: &str) -> CaseEvent {
    CaseEvent {
        case_event_id: None,
        action: None,
        from_stage: None,
        to_stage,
        actor_user_id: None,
        actor_role: None,
        comment: comment.to_owned(),
        reason: None,
        attachment_ids: vec!["photo-1".to_owned()],
        details: serde_json::json!({}),
        occurred_at: Utc::now().trunc_subsecs(3),
    }
}

#[tokio::test]
async fn stored_case_reads_back_unchanged() {
    let app = spawn_app().await;
    let stored = app.db.insert_case(&sample_case(), &event(Stage::Intake, "")).await.unwrap();
    let read = app.db.case_by_id(stored.case_id).await.unwrap().expect("case stored");
    assert_eq!(read, stored);

    let events = app.db.case_events(stored.case_id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].attachment_ids, vec!["photo-1".to_owned()]);

    let listed = app.db.list_cases(&CaseFilter { limit: 10, ..CaseFilter::default() }).await;
    assert_eq!(listed.unwrap(), vec![stored]);
}

#[tokio::test]
async fn racing_updates_let_exactly_one_win() {
    let app = spawn_app().await;
    let stored = app.db.insert_case(&sample_case(), &event(Stage::Intake, "")).await.unwrap();

    let mut tasks = Vec::new();
    for comment in ["first", "second"] {
        let db = app.db.clone();
        let filed = Case { stage: Stage::Filed, ..stored.clone() };
        tasks.push(tokio::spawn(async move {
            db.update_case(&filed, 1, &event(Stage::Filed, comment)).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task finished"));
    }

    let winners = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    let conflict = results.iter().find(|result| result.is_err()).unwrap();
    assert!(
        matches!(conflict, Err(StoreError::VersionConflict { expected: 1, current: 2, .. })),
        "{conflict:?}"
    );
    let events = app.db.case_events(stored.case_id).await.unwrap();
    assert_eq!(events.len(), 2, "the loser wrote no log entry");
    let current = app.db.case_by_id(stored.case_id).await.unwrap().unwrap();
    assert_eq!(current.version, 2);
}

#[tokio::test]
async fn update_of_missing_case_is_not_found() {
    let app = spawn_app().await;
    let missing = Case { case_id: 999, ..sample_case() };
    let result = app.db.update_case(&missing, 1, &event(Stage::Filed, "")).await;
    assert!(matches!(result, Err(StoreError::NotFound(999))), "{result:?}");
}

#[tokio::test]
async fn overdue_filter_compares_deadlines() {
    let app = spawn_app().await;
    let stored = app.db.insert_case(&sample_case(), &event(Stage::Intake, "")).await.unwrap();
    let due_at = stored.due_at.unwrap();
    let overdue_at = |at| CaseFilter { overdue_at: Some(at), limit: 10, ..CaseFilter::default() };

    let later = app.db.list_cases(&overdue_at(due_at + chrono::TimeDelta::minutes(1))).await;
    assert_eq!(later.unwrap().len(), 1, "past its deadline a minute later");
    let earlier = app.db.list_cases(&overdue_at(due_at - chrono::TimeDelta::minutes(1))).await;
    assert_eq!(earlier.unwrap().len(), 0, "not yet due a minute earlier");
    let milliseconds =
        app.db.list_cases(&overdue_at(due_at + chrono::TimeDelta::milliseconds(1))).await;
    assert_eq!(milliseconds.unwrap().len(), 1, "fractional seconds compare in order");
}

#[tokio::test]
async fn scope_filter_lists_only_named_areas() {
    let app = spawn_app().await;
    app.db.insert_case(&sample_case(), &event(Stage::Intake, "")).await.unwrap();
    let scoped = |include_outside_grids| CaseFilter {
        area_ids: Some(vec![]),
        include_outside_grids,
        limit: 10,
        ..CaseFilter::default()
    };
    assert_eq!(app.db.list_cases(&scoped(false)).await.unwrap().len(), 0);
    assert_eq!(app.db.list_cases(&scoped(true)).await.unwrap().len(), 1, "outside every grid");
}

/// Counts the rows of `table`, which must be a fixed table name.
async fn count_rows(app: &crate::helpers::TestApp, table: &str) -> i64 {
    let query = format!("SELECT COUNT(*) FROM {table}");
    citycore::with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query.clone())).fetch_one(pool).await
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_commit_apart_from_a_failing_one() {
    let app = spawn_app().await;
    let first = app.db.insert_case(&sample_case(), &event(Stage::Intake, "")).await.unwrap();

    // On SQLite these queue for shared group commits; the duplicate tracking token must
    // fail alone, inside whichever group it lands in.
    let mut tasks = Vec::new();
    for n in 0..16 {
        let db = app.db.clone();
        let mut case = sample_case();
        if n == 7 {
            case.tracking_token.clone_from(&first.tracking_token);
            case.title = "duplicate token".to_owned();
        }
        tasks.push(tokio::spawn(async move {
            db.insert_case(&case, &event(Stage::Intake, "")).await.map(|stored| stored.case_id)
        }));
    }
    let mut ids = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        if n == 7 {
            assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
        } else {
            ids.push(result.unwrap());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 15, "every valid case gets its own id");
    for case_id in ids {
        assert!(app.db.case_by_id(case_id).await.unwrap().is_some(), "case {case_id} stored");
        assert_eq!(app.db.case_events(case_id).await.unwrap().len(), 1);
    }
    assert_eq!(count_rows(&app, "service_case").await, 16);
    assert_eq!(count_rows(&app, "case_event").await, 16);
    assert_eq!(count_rows(&app, "case_search").await, 16, "nothing of the failed case indexed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_keep_own_rows() {
    let app = spawn_app().await;
    // On SQLite these share multi-row inserts; each id must belong to its own case, and
    // the counters must add up over cases of two categories.
    let mut tasks = Vec::new();
    for n in 0..12 {
        let db = app.db.clone();
        let case = Case {
            title: format!("case {n}"),
            category_code: if n % 3 == 0 { "E0102" } else { "E0101" }.to_owned(),
            ..sample_case()
        };
        tasks.push(tokio::spawn(async move {
            let stored = db.insert_case(&case, &event(Stage::Intake, &case.title)).await;
            (case, stored)
        }));
    }
    for task in tasks {
        let (case, stored) = task.await.unwrap();
        let stored = stored.unwrap();
        let read = app.db.case_by_id(stored.case_id).await.unwrap().expect("case stored");
        assert_eq!(read, Case { case_id: stored.case_id, ..case.clone() });
        let events = app.db.case_events(stored.case_id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].comment, case.title, "the log entry belongs to its own case");
    }
    assert_eq!(count_rows(&app, "case_search").await, 12);
    let sums: Vec<(String, i64, i64)> = citycore::with_pool!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT d.category_code, CAST(SUM(d.closure_den) AS BIGINT), \
             CAST((SELECT SUM(m.closure_den) FROM case_kpi_rollup_month m \
             WHERE m.category_code = d.category_code) AS BIGINT) \
             FROM case_kpi_rollup d GROUP BY d.category_code ORDER BY d.category_code",
        )
        .fetch_all(pool)
        .await
    })
    .unwrap();
    let expected = [("E0101".to_owned(), 8, 8), ("E0102".to_owned(), 4, 4)];
    assert_eq!(sums, expected, "day and month counters per category");
}
