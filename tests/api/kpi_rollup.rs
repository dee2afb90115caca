//! The KPI rollup against the reference query over the cases: a varied generated set
//! of cases, stored and moved through transitions with the case store, must give the
//! same counts and handling-time histogram for every grouping, period and scope. The
//! cases span May to August 2026, so that periods read whole years from the year-level
//! table, whole months from the month-level one, whole days around them from the
//! dekad- and day-level ones and partial days from the cases.

use chrono::{DateTime, Duration, TimeZone, Utc};
use citycore::{
    cases::{
        case::{Action, Case, CaseEvent, CaseStore, Channel, Stage},
        import::{ImportedCase, insert_cases},
        kpi::{
            GroupBy,
            rollup::{month::report_month, read::rollup_counts, report_day},
            store::{KpiFilter, group_counts},
        },
    },
    with_pool,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::helpers::{TestApp, areas, spawn_app};

/// Categories of the shipped catalogue with their departments.
const CATEGORIES: [(&str, &str); 3] = [("E0101", "HWS"), ("C0101", "SZS"), ("E0104", "CGZF")];

fn at(hours: i64, minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
        + Duration::hours(hours)
        + Duration::minutes(minutes)
}

fn event(action: Option<Action>, to_stage: Stage, occurred_at: DateTime<Utc>) -> CaseEvent {
    CaseEvent {
        case_event_id: None,
        action,
        from_stage: None,
        to_stage,
        actor_user_id: None,
        actor_role: None,
        comment: String::new(),
        reason: None,
        attachment_ids: Vec::new(),
        details: serde_json::json!({}),
        occurred_at,
    }
}

/// Area ids of the test grids with their communities, by code.
async fn places(app: &TestApp) -> Vec<(i64, i64)> {
    app.ensure_test_areas().await;
    let rows: Vec<(i64, String)> = with_pool!(&app.db, |pool| {
        sqlx::query_as("SELECT area_id, code FROM area").fetch_all(pool).await.unwrap()
    });
    let id = |code: &str| rows.iter().find(|(_, found)| found == code).unwrap().0;
    vec![
        (id(areas::GRID_A1), id(areas::COMMUNITY_A)),
        (id(areas::GRID_A2), id(areas::COMMUNITY_A)),
        (id(areas::GRID_B1), id(areas::COMMUNITY_B)),
    ]
}

fn new_case(rng: &mut StdRng, places: &[(i64, i64)]) -> Case {
    let created_at = at(rng.random_range(-24 * 20..24 * 75), rng.random_range(0..60));
    let place = places.get(rng.random_range(0..places.len() + 1)).copied();
    let (category, department) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
    let dispatch_due_at = match rng.random_range(0..10) {
        0 => None,
        1 => Some(Utc::now() + Duration::days(30)),
        _ => Some(created_at + Duration::hours(rng.random_range(1..8))),
    };
    Case {
        case_id: 0,
        tracking_token: uuid::Uuid::new_v4().simple().to_string(),
        title: "rollup".to_owned(),
        description: "rollup".to_owned(),
        category_code: category.to_owned(),
        channel: Channel::Api,
        reporter_user_id: None,
        reporter_contact: None,
        address: None,
        longitude: 116.47,
        latitude: 39.99,
        grid_id: place.map(|(grid, _)| grid),
        community_id: place.map(|(_, community)| community),
        outside_grids: place.is_none(),
        department_code: department.to_owned(),
        stage: Stage::Intake,
        due_at: dispatch_due_at,
        dispatch_due_at,
        handling_due_at: None,
        verification_due_at: None,
        requested_extension: None,
        merged_into_case_id: None,
        rating: None,
        closed_at: None,
        rework_count: 0,
        extension_count: 0,
        version: 1,
        created_at,
        updated_at: created_at,
    }
}

/// Moves `case` to a random later state with one stored transition.
async fn move_case(app: &TestApp, rng: &mut StdRng, case: Case) -> Case {
    let stages = [
        Stage::Filed,
        Stage::Dispatched,
        Stage::Handling,
        Stage::ExtensionRequested,
        Stage::Feedback,
        Stage::Closed,
        Stage::Rated,
        Stage::Voided,
        Stage::Merged,
    ];
    let stage = stages[rng.random_range(0..stages.len())];
    let when = case.created_at + Duration::minutes(rng.random_range(0..60 * 30));
    let closed = matches!(stage, Stage::Closed | Stage::Rated);
    let changed = Case {
        stage,
        department_code: if rng.random_range(0..6) == 0 {
            "CGZF".to_owned()
        } else {
            case.department_code.clone()
        },
        handling_due_at: (rng.random_range(0..4) > 0)
            .then(|| case.created_at + Duration::hours(rng.random_range(1..60))),
        closed_at: closed.then_some(when),
        rating: (stage == Stage::Rated).then(|| rng.random_range(1..=5)),
        rework_count: case.rework_count + i32::from(rng.random_range(0..5) == 0),
        extension_count: case.extension_count + i32::from(rng.random_range(0..5) == 0),
        ..case.clone()
    };
    let action = match rng.random_range(0..3) {
        0 => Action::Dispatch,
        1 => Action::Redispatch,
        _ => Action::File,
    };
    app.db
        .update_case(&changed, case.version, &event(Some(action), stage, when))
        .await
        .expect("case updated")
}

fn filters(places: &[(i64, i64)]) -> Vec<(&'static str, KpiFilter)> {
    let everything = KpiFilter {
        from: DateTime::UNIX_EPOCH,
        to: Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(),
        now: Utc::now(),
        area_ids: None,
        include_outside_grids: true,
    };
    let shanghai_june = KpiFilter {
        from: Utc.with_ymd_and_hms(2026, 5, 31, 16, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap(),
        ..everything.clone()
    };
    let community_a = Some(vec![places[0].1]);
    let shanghai_may_21_to_aug_6 = KpiFilter {
        from: Utc.with_ymd_and_hms(2026, 5, 20, 16, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 8, 5, 16, 0, 0).unwrap(),
        ..everything.clone()
    };
    vec![
        (
            "the year 2026 in UTC+8, one whole year and nothing else",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        (
            "a whole year with whole months and days before and after",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2025, 11, 20, 16, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2027, 2, 3, 16, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        (
            "July in UTC+8, one whole month and nothing else",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 7, 31, 16, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        ("two whole months with whole days before and after", shanghai_may_21_to_aug_6.clone()),
        (
            "across two month boundaries, partial days at both edges",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2026, 5, 25, 10, 30, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 7, 3, 5, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        (
            "whole days inside one month",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2026, 6, 3, 16, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 6, 20, 16, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        (
            "one grid over whole months, no cases outside grids",
            KpiFilter {
                area_ids: Some(vec![places[1].0]),
                include_outside_grids: false,
                ..shanghai_may_21_to_aug_6
            },
        ),
        ("open period", everything.clone()),
        ("June in UTC+8, whole rollup days", shanghai_june.clone()),
        (
            "June in UTC, partial days at both edges",
            KpiFilter {
                from: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
                ..everything.clone()
            },
        ),
        (
            "a few hours inside one day",
            KpiFilter { from: at(24 * 5, 30), to: at(24 * 5 + 15, 0), ..everything.clone() },
        ),
        (
            "one community with cases outside grids",
            KpiFilter { area_ids: community_a.clone(), ..shanghai_june.clone() },
        ),
        (
            "one community and one grid, no cases outside grids",
            KpiFilter {
                area_ids: Some(vec![places[0].1, places[2].0]),
                include_outside_grids: false,
                ..everything.clone()
            },
        ),
        (
            "an empty scope",
            KpiFilter {
                area_ids: Some(Vec::new()),
                include_outside_grids: false,
                ..everything.clone()
            },
        ),
        ("a clock before the dispatch deadlines", KpiFilter { now: at(0, 0), ..shanghai_june }),
    ]
}

async fn assert_rollup_matches_reference(app: &TestApp, places: &[(i64, i64)], moment: &str) {
    for (description, filter) in filters(places) {
        for group_by in GroupBy::ALL {
            let reference = group_counts(&app.db, group_by, &filter).await.unwrap();
            let rollup = rollup_counts(&app.db, group_by, &filter).await.unwrap();
            assert!(!reference.is_empty() || description == "an empty scope", "{description}");
            assert_eq!(rollup, reference, "{moment}, {description}, by {group_by:?}");
        }
    }
}

#[tokio::test]
async fn kpi_rollup_matches_reference_query_before_and_after_transitions() {
    let app = spawn_app().await;
    let places = places(&app).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut cases = Vec::new();
    for _ in 0..300 {
        let case = new_case(&mut rng, &places);
        let stored = app
            .db
            .insert_case(&case, &event(None, Stage::Intake, case.created_at))
            .await
            .expect("case inserted");
        let stored = if rng.random_range(0..5) == 0 {
            stored
        } else {
            move_case(&app, &mut rng, stored).await
        };
        cases.push(stored);
    }
    assert_rollup_matches_reference(&app, &places, "after intake and one transition").await;

    for case in cases.into_iter().step_by(3) {
        move_case(&app, &mut rng, case).await;
    }
    assert_rollup_matches_reference(&app, &places, "after further transitions").await;
}

/// The bucket of a handling time in the layout before the `kpi_hours_blob` migration:
/// a bucket per minute below 128 minutes, then 64 per doubling.
fn old_bucket(seconds: i64) -> i64 {
    let minutes = seconds.max(0) / 60;
    if minutes < 128 {
        return minutes;
    }
    let octave = i64::from(63 - minutes.leading_zeros());
    128 + (octave - 7) * 64 + (minutes >> (octave - 6)) - 64
}

/// Puts the handling times back the way the schema before `kpi_hours_blob` stored them:
/// one row per key and bucket in `case_kpi_hours` and `case_kpi_hours_month`, no blobs,
/// no year-level rows (which came later), and neither data step done.
async fn store_hours_in_old_tables(app: &TestApp) {
    type Closed = (DateTime<Utc>, DateTime<Utc>, Option<i64>, Option<i64>, bool, String, String);
    with_pool!(&app.db, |pool| {
        let closed: Vec<Closed> = sqlx::query_as(
            "SELECT created_at, closed_at, grid_id, community_id, outside_grids, \
             department_code, category_code FROM service_case \
             WHERE stage IN ('closed', 'rated') AND closed_at IS NOT NULL",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(closed.len() > 20, "enough closed cases: {}", closed.len());
        for (created_at, closed_at, grid, community, outside, department, category) in closed {
            let day = report_day(created_at);
            let bucket = old_bucket((closed_at - created_at).num_seconds());
            for (table, period, value) in [
                ("case_kpi_hours", "report_day", day),
                ("case_kpi_hours_month", "report_month", report_month(day)),
            ] {
                let upsert = format!(
                    "INSERT INTO {table} ({period}, grid_id, community_id, outside_grids, \
                     department_code, category_code, bucket, cases) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT ({period}, grid_id, \
                     community_id, outside_grids, department_code, category_code, bucket) \
                     DO UPDATE SET cases = {table}.cases + 1"
                );
                sqlx::query(sqlx::AssertSqlSafe(upsert))
                    .bind(value)
                    .bind(grid.unwrap_or(0))
                    .bind(community.unwrap_or(0))
                    .bind(outside)
                    .bind(department.as_str())
                    .bind(category.as_str())
                    .bind(bucket)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        for statement in [
            "UPDATE case_kpi_rollup SET hours = NULL",
            "UPDATE case_kpi_rollup_month SET hours = NULL",
            "DELETE FROM case_kpi_rollup_year",
            "DELETE FROM case_kpi_rollup_dekad",
            "DELETE FROM data_step",
        ] {
            sqlx::query(statement).execute(pool).await.unwrap();
        }
    });
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    with_pool!(&app.db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await.unwrap())
}

#[tokio::test]
async fn upgrade_moves_old_handling_time_rows_into_the_rollup_rows() {
    let app = spawn_app().await;
    let places = places(&app).await;
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..300 {
        let case = new_case(&mut rng, &places);
        let stored = app
            .db
            .insert_case(&case, &event(None, Stage::Intake, case.created_at))
            .await
            .expect("case inserted");
        move_case(&app, &mut rng, stored).await;
    }
    let (_, year) = filters(&places).into_iter().find(|(name, _)| *name == "open period").unwrap();
    let before = rollup_counts(&app.db, GroupBy::Category, &year).await.unwrap();

    store_hours_in_old_tables(&app).await;
    let without_blobs = rollup_counts(&app.db, GroupBy::Category, &year).await.unwrap();
    assert_ne!(without_blobs, before, "the histograms are only in the old tables now");

    app.db.migrate().await.expect("upgrade");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM case_kpi_hours").await, 0, "day rows moved");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM case_kpi_hours_month").await, 0, "months too");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_step").await, 3, "steps recorded");
    assert!(count(&app, "SELECT COUNT(*) FROM case_kpi_rollup_year").await > 0, "years filled");
    assert!(count(&app, "SELECT COUNT(*) FROM case_kpi_rollup_dekad").await > 0, "dekads filled");
    assert_eq!(rollup_counts(&app.db, GroupBy::Category, &year).await.unwrap(), before);
    assert_rollup_matches_reference(&app, &places, "after the upgrade").await;

    app.db.migrate().await.expect("second start");
    assert_eq!(rollup_counts(&app.db, GroupBy::Category, &year).await.unwrap(), before);
}

/// Generates `count` imported cases from May to August 2026, most closed and some rated,
/// numbered from `first`.
fn imported_cases(rng: &mut StdRng, first: usize, count: usize) -> Vec<ImportedCase> {
    (first..first + count)
        .map(|n| {
            let opened_at = at(rng.random_range(-24 * 20..24 * 75), rng.random_range(0..60));
            let (category, department) = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            let closed = rng.random_range(0..10) < 8;
            let closed_at =
                closed.then(|| opened_at + Duration::minutes(rng.random_range(5..60 * 24 * 20)));
            ImportedCase {
                external_id: n.to_string(),
                category: category.to_owned(),
                agency: department.to_owned(),
                opened_at,
                closed_at,
                target_at: Some(opened_at + Duration::days(rng.random_range(1..5))),
                latitude: 39.99,
                longitude: 116.47,
                default_location: false,
                category_code: Some(category.to_owned()),
                rating: closed.then(|| rng.random_range(1..6)).filter(|_| rng.random_bool(0.6)),
            }
        })
        .collect()
}

#[tokio::test]
async fn bulk_import_rollup_matches_reference_query() {
    let app = spawn_app().await;
    let places = places(&app).await;
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..60 {
        let case = new_case(&mut rng, &places);
        let stored = app
            .db
            .insert_case(&case, &event(None, Stage::Intake, case.created_at))
            .await
            .expect("case inserted");
        move_case(&app, &mut rng, stored).await;
    }
    // Two imports into the same days: the second adds to counter rows and merges into
    // histograms that the first one stored.
    let index = app.state.locator.snapshot();
    for (first, count) in [(0, 400), (400, 600)] {
        let cases = imported_cases(&mut rng, first, count);
        insert_cases(&app.db, &index, "rollup-test", &cases).await.expect("cases imported");
    }
    assert_rollup_matches_reference(&app, &places, "after two bulk imports").await;
}
