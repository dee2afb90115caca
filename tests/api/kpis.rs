//! KPI formulas on the test backend: a small table of cases with known stages, times
//! and ratings, checked figure by figure, plus the drill-down and the area scope.

use chrono::{DateTime, Duration, TimeZone, Utc};
use citycore::{
    accounts::Role,
    cases::case::{Action, Case, CaseEvent, CaseStore, Channel, Stage},
};
use serde_json::Value;

use crate::helpers::{TestApp, areas, spawn_app};

/// One row of the table: a case and the facts the formulas read.
struct Row {
    description: &'static str,
    stage: Stage,
    /// Report time, in hours after [`base`].
    reported: i64,
    dispatch_due: Option<i64>,
    dispatched: Option<i64>,
    handling_due: Option<i64>,
    closed: Option<i64>,
    rating: Option<i32>,
    rework_count: i32,
    extension_count: i32,
}

/// 2026-06-10 08:00 UTC, inside the June period of the queries.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 10, 8, 0, 0).unwrap()
}

const fn row(description: &'static str, stage: Stage) -> Row {
    Row {
        description,
        stage,
        reported: 0,
        dispatch_due: Some(1),
        dispatched: None,
        handling_due: None,
        closed: None,
        rating: None,
        rework_count: 0,
        extension_count: 0,
    }
}

fn table() -> Vec<Row> {
    vec![
        Row {
            dispatched: Some(0),
            handling_due: Some(4),
            closed: Some(3),
            rating: Some(5),
            ..row("rated 5, dispatched and closed in time", Stage::Rated)
        },
        Row {
            dispatched: Some(2),
            handling_due: Some(4),
            closed: Some(10),
            rating: Some(2),
            rework_count: 1,
            ..row("rated 2, dispatched late, closed late, reworked", Stage::Rated)
        },
        Row {
            dispatched: Some(1),
            handling_due: Some(24),
            extension_count: 1,
            ..row("handling after an extension, dispatched at the deadline", Stage::Handling)
        },
        Row {
            dispatched: Some(0),
            ..row("reported done, waiting for verification", Stage::Feedback)
        },
        row("filed, dispatch deadline passed", Stage::Filed),
        Row {
            dispatch_due: Some(1_000_000),
            ..row("intake, deadline in the future", Stage::Intake)
        },
        row("voided, counts nowhere", Stage::Voided),
        Row {
            dispatch_due: None,
            closed: Some(5),
            ..row("closed without deadlines", Stage::Closed)
        },
        Row {
            reported: -24 * 40,
            closed: Some(-24 * 39),
            ..row("closed in May, outside the period", Stage::Closed)
        },
    ]
}

fn hours(offset: i64) -> DateTime<Utc> {
    base() + Duration::hours(offset)
}

fn case_of(row: &Row) -> Case {
    Case {
        case_id: 0,
        tracking_token: uuid::Uuid::new_v4().simple().to_string(),
        title: row.description.to_owned(),
        description: row.description.to_owned(),
        category_code: "E0101".to_owned(),
        channel: Channel::Api,
        reporter_user_id: None,
        address: None,
        reporter_contact: None,
        longitude: 116.47,
        latitude: 39.99,
        grid_id: None,
        community_id: None,
        outside_grids: true,
        department_code: "HWS".to_owned(),
        stage: Stage::Intake,
        due_at: None,
        dispatch_due_at: row.dispatch_due.map(|offset| hours(row.reported + offset)),
        handling_due_at: None,
        verification_due_at: None,
        requested_extension: None,
        merged_into_case_id: None,
        rating: None,
        closed_at: None,
        rework_count: 0,
        extension_count: 0,
        version: 1,
        created_at: hours(row.reported),
        updated_at: hours(row.reported),
    }
}

fn event(action: Option<Action>, to_stage: Stage, at: DateTime<Utc>) -> CaseEvent {
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
        occurred_at: at,
    }
}

/// Stores the table's cases: inserted at intake, then moved to their final state by
/// one update whose log entry is the dispatch when the row was dispatched.
async fn store_table(app: &TestApp) -> Vec<i64> {
    let mut ids = Vec::new();
    for row in table() {
        let new_case = case_of(&row);
        let stored = app
            .db
            .insert_case(&new_case, &event(None, Stage::Intake, new_case.created_at))
            .await
            .expect("case inserted");
        let relative = |offset: Option<i64>| offset.map(|offset| hours(row.reported + offset));
        let changed = Case {
            stage: row.stage,
            handling_due_at: relative(row.handling_due),
            closed_at: relative(row.closed),
            rating: row.rating,
            rework_count: row.rework_count,
            extension_count: row.extension_count,
            ..stored.clone()
        };
        let log = match relative(row.dispatched) {
            Some(at) => event(Some(Action::Dispatch), Stage::Dispatched, at),
            None => event(Some(Action::File), Stage::Filed, stored.created_at),
        };
        app.db.update_case(&changed, stored.version, &log).await.expect("case updated");
        ids.push(stored.case_id);
    }
    ids
}

/// Returns `(numerator, denominator)` of `metric` in a figures object.
fn ratio(figures: &Value, metric: &str) -> (i64, i64) {
    let figure = figures["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|figure| figure["metric"] == metric)
        .unwrap_or_else(|| panic!("metric {metric} missing"));
    (figure["numerator"].as_i64().unwrap(), figure["denominator"].as_i64().unwrap())
}

const JUNE: &str = "from=2026-06-01&to=2026-06-30";

#[tokio::test]
async fn kpi_formulas_match_table_of_cases() {
    let app = spawn_app().await;
    store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = admin.get(&format!("/api/v1/kpis?group_by=department&{JUNE}")).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let total = &report["total"];
    let expected = [
        ("response", (3, 5), "dispatched by the deadline of 5 due: 2 late or never"),
        ("resolution", (4, 5), "reported done of 5 dispatched"),
        ("satisfaction", (1, 2), "rated 4–5 of 2 rated"),
        ("closure", (3, 7), "closed of 7 counted, voided and May cases excluded"),
        ("on_time_closure", (1, 2), "closed by the handling deadline of 2 with one"),
        ("rework", (1, 4), "reworked of 4 reported done"),
        ("extension", (1, 5), "extended of 5 dispatched"),
    ];
    for (metric, counts, description) in expected {
        assert_eq!(ratio(total, metric), counts, "{metric}: {description}");
    }
    assert_eq!(total["cases"], 7, "counted cases");
    assert_eq!(total["median_handling_hours"], 5.0, "median of 3, 10 and 5 hours");
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "one department");
    assert_eq!(groups[0]["key"], "HWS");
}

#[tokio::test]
async fn kpi_period_without_bounds_counts_every_case() {
    let app = spawn_app().await;
    store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let report: Value = admin.get("/api/v1/kpis").await.json().await.unwrap();

    assert_eq!(ratio(&report["total"], "closure"), (4, 8), "the May case counts too");
}

#[tokio::test]
async fn kpi_drill_down_lists_cases_behind_figure() {
    let app = spawn_app().await;
    let ids = store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let late: Vec<Value> = admin
        .get(&format!(
            "/api/v1/kpis/cases?group_by=department&group=HWS&metric=on_time_closure&outcome=late&{JUNE}"
        ))
        .await
        .json()
        .await
        .unwrap();
    let late_ids: Vec<i64> = late.iter().map(|case| case["case_id"].as_i64().unwrap()).collect();
    assert_eq!(late_ids, vec![ids[1]], "only the case closed after its deadline");

    let missed: Vec<Value> = admin
        .get(&format!("/api/v1/kpis/cases?group_by=department&group=HWS&metric=response&{JUNE}"))
        .await
        .json()
        .await
        .unwrap();
    let missed_ids: Vec<i64> =
        missed.iter().map(|case| case["case_id"].as_i64().unwrap()).collect();
    assert_eq!(missed_ids, vec![ids[4], ids[1]], "late dispatch and passed deadline, newest first");
}

#[tokio::test]
async fn kpi_query_rejects_bad_parameters() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    // (path, field, the part of the message that gives the fix)
    let cases = [
        ("/api/v1/kpis?group_by=street", "group_by", "community、grid、department 或 category"),
        ("/api/v1/kpis?from=2026-13-01", "from", "YYYY-MM-DD"),
        ("/api/v1/kpis?from=2026-1-1", "from", "YYYY-MM-DD"),
        ("/api/v1/kpis?from=2026-06-02&to=2026-06-01", "to", "请选择不早于起始日期的截止日期"),
        ("/api/v1/kpis/cases?metric=speed", "metric", "on_time_closure"),
        ("/api/v1/kpis/cases?metric=closure&outcome=early", "outcome", "met 或 missed"),
    ];
    for (path, field, fix) in cases {
        let response = admin.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(fix), "{path}: {message}");
    }

    let reversed = admin
        .client
        .get(admin.url("/api/v1/kpis?from=2026-06-02&to=2026-06-01"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let body: Value = reversed.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("(to) 2026-06-01"), "names the end date: {message}");
    assert!(message.contains("(from) 2026-06-02"), "names the start date: {message}");
}

#[tokio::test]
async fn kpi_group_outside_grids_has_label() {
    let app = spawn_app().await;
    store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    for (language, label) in
        [("zh-CN", "无所属区域（不在任何网格内）"), ("en", "No area (outside every grid)")]
    {
        let response = admin
            .client
            .get(admin.url(&format!("/api/v1/kpis?group_by=grid&{JUNE}")))
            .header("accept-language", language)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{language}");
        let report: Value = response.json().await.unwrap();
        let groups = report["groups"].as_array().unwrap();
        let outside = groups.iter().find(|group| group["key"] == "").expect("outside group");
        assert_eq!(outside["label"], label, "{language}");
    }
}

#[tokio::test]
async fn kpi_scope_hides_cases_outside_user_areas() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    store_table(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    let report: Value = worker.get("/api/v1/kpis").await.json().await.unwrap();

    assert_eq!(report["groups"].as_array().unwrap().len(), 0, "cases lie in no grid");
    assert_eq!(ratio(&report["total"], "closure"), (0, 0));
    assert!(report["total"]["metrics"][0]["rate"].is_null(), "empty denominator has no rate");
}

#[tokio::test]
async fn kpi_page_shows_figures_formulas_and_links() {
    let app = spawn_app().await;
    store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = admin.get(&format!("/kpis?group_by=department&{JUNE}")).await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<th scope=\"row\">HWS</th>"), "department row");
    assert!(html.contains("60.0 %"), "response rate 3 / 5");
    assert!(html.contains("3 / 5"), "counts beside the rate");
    assert!(html.contains("按期结案率"), "metric name in the default language");
    assert!(html.contains("评价为 4 或 5 分的案件数 ÷ 已评价案件数"), "satisfaction formula");
    assert!(html.contains("metric=on_time_closure&#38;group=HWS&#38;outcome=missed"), "drill link");
    assert!(html.contains("/kpis/export.csv?group_by=department"), "export link keeps filters");
    assert!(html.contains("label for=\"from\""), "labelled date input");
}

#[tokio::test]
async fn kpi_exports_csv_and_xlsx_for_filters() {
    let app = spawn_app().await;
    store_table(&app).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let csv = admin.get(&format!("/kpis/export.csv?group_by=department&{JUNE}")).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header, HWS and total: {text}");
    assert!(lines[1].starts_with("HWS,HWS,7,3,5,0.6000,"), "{}", lines[1]);

    let xlsx = admin.get(&format!("/kpis/export.xlsx?group_by=department&{JUNE}")).await;
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip archive");
}
