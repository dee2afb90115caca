//! The case loop through the JSON API: intake, every kind of transition, version
//! conflicts, area scope and the authorization of each case route.

use citycore::{
    accounts::Role,
    areas::{AreaStore, Level, store::NewArea},
};
use geo::{MultiPolygon, Rect};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, areas, spawn_app, spawn_app_with};

/// A point inside grid A1, which spans 116.40–116.41 E and 39.90–39.91 N.
pub(crate) const IN_GRID_A1: (f64, f64) = (116.405, 39.905);
/// A point inside grid B1, which spans 116.42–116.43 E.
pub(crate) const IN_GRID_B1: (f64, f64) = (116.425, 39.905);

fn square(west: f64) -> MultiPolygon<f64> {
    let rect =
        Rect::new(geo::coord! { x: west, y: 39.90 }, geo::coord! { x: west + 0.01, y: 39.91 });
    MultiPolygon(vec![rect.to_polygon()])
}

/// Creates the helpers' test street with square grids, so that points locate.
pub(crate) async fn add_grids(app: &TestApp) {
    let area = |code: &str, level: Level, parent: Option<&str>, west: Option<f64>| NewArea {
        code: code.to_owned(),
        name: code.to_owned(),
        level,
        parent_code: parent.map(str::to_owned),
        geometry: west.map(square),
        responsible_unit: None,
    };
    let batch = [
        area(areas::DISTRICT, Level::District, None, None),
        area(areas::STREET, Level::Street, Some(areas::DISTRICT), None),
        area(areas::COMMUNITY_A, Level::Community, Some(areas::STREET), None),
        area(areas::COMMUNITY_B, Level::Community, Some(areas::STREET), None),
        area(areas::GRID_A1, Level::Grid, Some(areas::COMMUNITY_A), Some(116.40)),
        area(areas::GRID_A2, Level::Grid, Some(areas::COMMUNITY_A), Some(116.41)),
        area(areas::GRID_B1, Level::Grid, Some(areas::COMMUNITY_B), Some(116.42)),
    ];
    app.db.insert_areas(&batch).await.expect("areas inserted");
    app.state.locator.reload(&app.db).await.expect("area index reloaded");
}

pub(crate) async fn app_with_grids() -> TestApp {
    let app = spawn_app().await;
    add_grids(&app).await;
    app
}

fn area_id(app: &TestApp, code: &str) -> i64 {
    let index = app.state.locator.snapshot();
    index.areas().iter().find(|area| area.code == code).expect("area exists").area_id
}

fn report_body(point: (f64, f64)) -> Value {
    json!({
        "title": "小区门口暴露垃圾",
        "description": "垃圾桶旁堆了三袋生活垃圾",
        "category_code": "E0101",
        "longitude": point.0,
        "latitude": point.1,
        "channel": "web",
    })
}

/// Reports a case at `point` and returns its JSON view.
async fn report(session: &Session, point: (f64, f64)) -> Value {
    let response = session.post_json("/api/v1/cases", &report_body(point)).await;
    assert_eq!(response.status(), 201, "report accepted");
    response.json().await.unwrap()
}

async fn post_transition(session: &Session, case_id: i64, body: Value) -> reqwest::Response {
    session.post_json(&format!("/api/v1/cases/{case_id}/transitions"), &body).await
}

/// Takes `action` with `extra` fields at the case's current version and returns the
/// updated case.
async fn act(session: &Session, case: &Value, action: &str, extra: Value) -> Value {
    let mut body =
        json!({ "action": action, "expected_version": case["version"], "comment": action });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        body[key] = value;
    }
    let response = post_transition(session, case["case_id"].as_i64().unwrap(), body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {json}");
    json
}

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].clone())
}

/// The people of one loop: a resident, a dispatcher and a handler for the street, and
/// the grid worker of grid A1.
struct People {
    resident: Session,
    dispatcher: Session,
    handler: Session,
    grid_worker: Session,
}

async fn people(app: &TestApp) -> People {
    People {
        resident: app.login_as(Role::Resident, &[]).await,
        dispatcher: app.login_as(Role::Dispatcher, &[areas::STREET]).await,
        handler: app.login_as(Role::Handler, &[areas::STREET]).await,
        grid_worker: app.login_as(Role::GridWorker, &[areas::GRID_A1]).await,
    }
}

/// Reports a case in grid A1 and takes it to handling.
async fn case_in_handling(people: &People) -> Value {
    let case = report(&people.resident, IN_GRID_A1).await;
    let case = act(&people.dispatcher, &case, "file", json!({})).await;
    let case = act(&people.dispatcher, &case, "dispatch", json!({})).await;
    act(&people.handler, &case, "accept", json!({})).await
}

/// Takes a case from intake to closed.
async fn closed_case(people: &People) -> Value {
    let case = case_in_handling(people).await;
    let case = act(&people.handler, &case, "report_done", json!({})).await;
    act(&people.grid_worker, &case, "verify", json!({})).await
}

#[tokio::test]
async fn whole_loop_runs_from_intake_to_rating() {
    let app = app_with_grids().await;
    let people = people(&app).await;

    let case = report(&people.resident, IN_GRID_A1).await;
    assert_eq!(case["stage"], "intake");
    assert_eq!(case["grid_id"], area_id(&app, areas::GRID_A1));
    assert_eq!(case["community_id"], area_id(&app, areas::COMMUNITY_A));
    assert_eq!(case["outside_grids"], false);
    assert_eq!(case["department_code"], "HWS", "default department of E0101");
    assert_eq!(case["tracking_token"].as_str().unwrap().len(), 40, "time prefix and 128 bits");
    let due_at = case["due_at"].as_str().expect("dispatch deadline set");
    assert!(due_at.ends_with("+08:00"), "{due_at}");

    let case = act(&people.dispatcher, &case, "file", json!({})).await;
    let case = act(&people.dispatcher, &case, "dispatch", json!({})).await;
    assert!(case["handling_due_at"].is_string(), "{case}");
    let case = act(&people.handler, &case, "accept", json!({})).await;
    let case = act(&people.handler, &case, "report_done", json!({})).await;
    assert_eq!(case["due_at"], case["verification_due_at"]);
    let case = act(&people.grid_worker, &case, "verify", json!({})).await;
    assert!(case["closed_at"].is_string());
    assert_eq!(case["due_at"], Value::Null);
    let case = act(&people.resident, &case, "rate", json!({ "rating": 5 })).await;
    assert_eq!(case["stage"], "rated");
    assert_eq!(case["rating"], 5);
    assert_eq!(case["version"], 7, "one version per transition after intake");

    let id = case["case_id"].as_i64().unwrap();
    let read: Value =
        people.resident.get(&format!("/api/v1/cases/{id}")).await.json().await.unwrap();
    let actions: Vec<&str> =
        read["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["intake", "file", "dispatch", "accept", "report_done", "verify", "rate"]);
    assert_eq!(read["events"][1]["comment"], "file");
    assert_eq!(read["allowed_actions"], json!(["reopen"]));
}

#[tokio::test]
async fn return_needs_reason_then_redispatch_changes_department() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = report(&people.resident, IN_GRID_A1).await;
    let case = act(&people.dispatcher, &case, "file", json!({})).await;
    let case = act(&people.dispatcher, &case, "dispatch", json!({})).await;

    let id = case["case_id"].as_i64().unwrap();
    let body = json!({ "action": "return", "expected_version": case["version"] });
    let (status, error) = error_of(post_transition(&people.handler, id, body).await).await;
    assert_eq!(status, 422);
    assert_eq!(error["field"], "reason");

    let case = act(&people.handler, &case, "return", json!({ "reason": "不属于本部门" })).await;
    assert_eq!(case["stage"], "filed");
    let case =
        act(&people.dispatcher, &case, "dispatch", json!({ "department_code": "SZS" })).await;
    assert_eq!(case["department_code"], "SZS");
    let case =
        act(&people.dispatcher, &case, "redispatch", json!({ "department_code": "CGZF" })).await;
    assert_eq!(case["stage"], "dispatched");
    assert_eq!(case["department_code"], "CGZF");

    let body = json!({ "action": "redispatch", "expected_version": case["version"], "department_code": "NOPE" });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!(status, 422);
    assert_eq!(error["field"], "department_code");
}

#[tokio::test]
async fn approved_extension_moves_deadline() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = case_in_handling(&people).await;
    let before = case["handling_due_at"].as_str().unwrap().to_owned();

    let extension = json!({ "extension_amount": 2, "extension_unit": "working_days" });
    let case = act(&people.handler, &case, "request_extension", extension.clone()).await;
    assert_eq!(case["stage"], "extension_requested");
    let case = act(&people.dispatcher, &case, "reject_extension", json!({})).await;
    assert_eq!(case["handling_due_at"], before.as_str(), "a rejection keeps the deadline");
    assert_eq!(case["extension_count"], 0);

    let case = act(&people.handler, &case, "request_extension", extension).await;
    let case = act(&people.dispatcher, &case, "approve_extension", json!({})).await;
    assert_eq!(case["stage"], "handling");
    assert_eq!(case["extension_count"], 1);
    let after = chrono::DateTime::parse_from_rfc3339(case["handling_due_at"].as_str().unwrap());
    let before = chrono::DateTime::parse_from_rfc3339(&before).unwrap();
    assert!(after.unwrap() - before >= chrono::TimeDelta::days(2), "moved by two working days");
    assert_eq!(case["due_at"], case["handling_due_at"]);
}

#[tokio::test]
async fn extension_request_needs_valid_amount() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = case_in_handling(&people).await;
    let id = case["case_id"].as_i64().unwrap();
    let cases = [
        ("missing amount", json!({ "extension_unit": "working_days" }), "extension_amount"),
        (
            "zero amount",
            json!({ "extension_amount": 0, "extension_unit": "working_days" }),
            "extension_amount",
        ),
        (
            "unknown unit",
            json!({ "extension_amount": 2, "extension_unit": "weeks" }),
            "extension_unit",
        ),
    ];
    for (description, extra, field) in cases {
        let mut body =
            json!({ "action": "request_extension", "expected_version": case["version"] });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, error) = error_of(post_transition(&people.handler, id, body).await).await;
        assert_eq!(status, 422, "{description}");
        assert_eq!(error["field"], field, "{description}");
    }
}

#[tokio::test]
async fn rework_is_counted() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = case_in_handling(&people).await;
    let case = act(&people.handler, &case, "report_done", json!({})).await;
    let case =
        act(&people.grid_worker, &case, "rework", json!({ "comment": "垃圾未清干净" })).await;
    assert_eq!(case["stage"], "handling");
    assert_eq!(case["rework_count"], 1);
    let case = act(&people.handler, &case, "report_done", json!({})).await;
    let case = act(&people.grid_worker, &case, "rework", json!({})).await;
    assert_eq!(case["rework_count"], 2);
}

#[tokio::test]
async fn reopen_inside_window_restarts_handling() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = closed_case(&people).await;
    let case = act(&people.resident, &case, "reopen", json!({ "comment": "又堆起来了" })).await;
    assert_eq!(case["stage"], "dispatched");
    assert_eq!(case["closed_at"], Value::Null);
    assert!(case["due_at"].is_string());
}

#[tokio::test]
async fn reopen_outside_window_is_rejected() {
    let app = spawn_app_with(|settings| settings.cases.reopen_window_days = 0).await;
    add_grids(&app).await;
    let people = people(&app).await;
    let case = closed_case(&people).await;
    let id = case["case_id"].as_i64().unwrap();
    let body = json!({ "action": "reopen", "expected_version": case["version"] });
    let (status, error) = error_of(post_transition(&people.resident, id, body).await).await;
    assert_eq!(status, 422);
    assert_eq!(error["code"], "case_reopen_window_passed");
}

#[tokio::test]
async fn voided_report_accepts_no_more_actions() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = report(&people.resident, IN_GRID_A1).await;
    let id = case["case_id"].as_i64().unwrap();

    let body = json!({ "action": "void", "expected_version": 1 });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("reason")));

    let case =
        act(&people.dispatcher, &case, "void", json!({ "reason": "重复来电，非案件" })).await;
    assert_eq!(case["stage"], "voided");
    let body = json!({ "action": "file", "expected_version": case["version"] });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!(status, 422);
    assert_eq!(error["code"], "case_action_not_allowed");
    assert!(error["message"].as_str().unwrap().contains("voided"), "{error}");
}

#[tokio::test]
async fn invalid_action_names_stage_and_allowed_actions() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = report(&people.resident, IN_GRID_A1).await;
    let id = case["case_id"].as_i64().unwrap();
    let body = json!({ "action": "verify", "expected_version": 1 });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!(status, 422);
    assert_eq!(error["field"], "action");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("intake"), "{message}");
    assert!(message.contains("file, void, merge"), "{message}");

    let body = json!({ "action": "file", "expected_version": 1 });
    let response = post_transition(&people.handler, id, body).await;
    assert_eq!(response.status(), 403, "a handler may not file");
}

#[tokio::test]
async fn duplicate_merges_into_open_case() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let first = report(&people.resident, IN_GRID_A1).await;
    let second = report(&people.resident, IN_GRID_A1).await;
    let id = second["case_id"].as_i64().unwrap();

    let body = json!({ "action": "merge", "expected_version": 1, "target_case_id": id });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("target_case_id")), "not into itself");

    let merged =
        act(&people.dispatcher, &second, "merge", json!({ "target_case_id": first["case_id"] }))
            .await;
    assert_eq!(merged["stage"], "merged");
    assert_eq!(merged["merged_into_case_id"], first["case_id"]);
    assert_eq!(merged["due_at"], Value::Null);
}

#[tokio::test]
async fn racing_transitions_let_exactly_one_win() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = report(&people.resident, IN_GRID_A1).await;
    let id = case["case_id"].as_i64().unwrap();

    let file =
        post_transition(&people.dispatcher, id, json!({ "action": "file", "expected_version": 1 }));
    let void = post_transition(
        &people.dispatcher,
        id,
        json!({ "action": "void", "expected_version": 1, "reason": "非案件" }),
    );
    let (first, second) = tokio::join!(file, void);
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "one wins and one conflicts");

    let body = json!({ "action": "file", "expected_version": 1 });
    let (status, error) = error_of(post_transition(&people.dispatcher, id, body).await).await;
    assert_eq!(status, 409, "a stale version conflicts");
    assert_eq!(error["code"], "case_version_conflict");
    assert_eq!(error["field"], "expected_version");
}

#[tokio::test]
async fn other_grid_worker_cannot_read_case() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let case = report(&people.resident, IN_GRID_A1).await;
    let path = format!("/api/v1/cases/{}", case["case_id"]);

    let other_grid = app.login_as(Role::GridWorker, &[areas::GRID_A2]).await;
    assert_eq!(other_grid.get(&path).await.status(), 404);
    let listed: Value = other_grid.get("/api/v1/cases").await.json().await.unwrap();
    assert_eq!(listed, json!([]));

    let other_resident = app.login_as(Role::Resident, &[]).await;
    assert_eq!(other_resident.get(&path).await.status(), 404);

    assert_eq!(people.grid_worker.get(&path).await.status(), 200);
    let community = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let listed: Value = community.get("/api/v1/cases").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["case_id"], case["case_id"]);
}

#[tokio::test]
async fn list_filters_by_stage_category_and_overdue() {
    let app = app_with_grids().await;
    let people = people(&app).await;
    let first = report(&people.resident, IN_GRID_A1).await;
    report(&people.resident, IN_GRID_B1).await;
    act(&people.dispatcher, &first, "file", json!({})).await;

    let get = |query: &'static str| {
        let dispatcher = &people.dispatcher;
        async move {
            let response = dispatcher.get(&format!("/api/v1/cases{query}")).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (_, all) = get("").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, filed) = get("?stage=filed").await;
    assert_eq!(filed.as_array().unwrap().len(), 1);
    let (_, other_category) = get("?category=C0101").await;
    assert_eq!(other_category, json!([]));
    let (_, overdue) = get("?overdue=true").await;
    assert_eq!(overdue, json!([]), "fresh cases are not overdue");
    let (status, error) = get("?stage=lost").await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "stage");
}

#[tokio::test]
async fn bad_reports_name_their_field() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let long_text = "长".repeat(4_001);
    let cases = [
        ("unknown category", json!({ "category_code": "E9999" }), "category_code"),
        ("malformed category", json!({ "category_code": "垃圾" }), "category_code"),
        ("missing longitude", json!({ "longitude": null }), "longitude"),
        ("latitude out of range", json!({ "latitude": 95.0 }), "latitude"),
        ("description too long", json!({ "description": long_text }), "description"),
        ("empty title", json!({ "title": " " }), "title"),
        ("unknown crs", json!({ "crs": "bd09" }), "crs"),
        ("resident posing as patrol", json!({ "channel": "patrol" }), "channel"),
    ];
    for (description, change, field) in cases {
        let mut body = report_body(IN_GRID_A1);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = resident.post_json("/api/v1/cases", &body).await;
        let (status, error) = error_of(response).await;
        assert_eq!(status, 422, "{description}: {error}");
        assert_eq!(error["field"], field, "{description}");
    }
    let listed: Value = app
        .login_as(Role::Administrator, &[])
        .await
        .get("/api/v1/cases")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "nothing was stored");
}

#[tokio::test]
async fn report_outside_grids_is_kept_and_flagged() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let case = report(&resident, (116.50, 39.95)).await;
    assert_eq!(case["outside_grids"], true);
    assert_eq!(case["grid_id"], Value::Null);

    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let path = format!("/api/v1/cases/{}", case["case_id"]);
    assert_eq!(dispatcher.get(&path).await.status(), 200, "dispatchers place unlocated cases");
}

#[tokio::test]
async fn gcj02_report_locates_in_wgs84_grid() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let (longitude, latitude) = coordtransform::wgs84_to_gcj02(IN_GRID_A1.0, IN_GRID_A1.1);
    let mut body = report_body((longitude, latitude));
    body["crs"] = json!("gcj02");
    let response = resident.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 201);
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["grid_id"], area_id(&app, areas::GRID_A1));
    assert!((case["longitude"].as_f64().unwrap() - IN_GRID_A1.0).abs() < 1e-5);
}

#[tokio::test]
async fn case_routes_follow_authorization_matrix() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let case = report(&resident, IN_GRID_A1).await;
    let case_path = format!("/api/v1/cases/{}", case["case_id"]);

    // (role, GET list, GET one) for a case in grid A1 reported by another person.
    let rows = [
        (Role::Administrator, 200, 200),
        (Role::Dispatcher, 200, 200),
        (Role::Handler, 200, 200),
        (Role::GridWorker, 200, 200),
        (Role::CommunityWorker, 200, 200),
        (Role::Resident, 403, 404),
        (Role::Merchant, 403, 404),
    ];
    for (role, list_status, one_status) in rows {
        let session = app.login_as(role, crate::helpers::default_areas(role)).await;
        assert_eq!(session.get("/api/v1/cases").await.status(), list_status, "{role:?} lists");
        assert_eq!(session.get(&case_path).await.status(), one_status, "{role:?} reads");
        let response = session.post_json("/api/v1/cases", &report_body(IN_GRID_A1)).await;
        assert_eq!(response.status(), 201, "{role:?} reports");
    }

    let anonymous = [
        app.client.get(app.url("/api/v1/cases")).send().await.unwrap(),
        app.client.get(app.url(&case_path)).send().await.unwrap(),
        app.client
            .post(app.url("/api/v1/cases"))
            .json(&report_body(IN_GRID_A1))
            .send()
            .await
            .unwrap(),
        app.client
            .post(app.url(&format!("{case_path}/transitions")))
            .json(&json!({ "action": "file", "expected_version": 1 }))
            .send()
            .await
            .unwrap(),
    ];
    for response in anonymous {
        assert_eq!(response.status(), 401, "{}", response.url());
    }
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let response = dispatcher.get("/api/v1/cases/not-a-number").await;
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));

    let mut body = report_body(IN_GRID_A1);
    body["description"] = json!("x".repeat(100_000));
    let response = dispatcher.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 413, "a body over 64 KiB is rejected before parsing");

    let response = dispatcher
        .client
        .post(dispatcher.url("/api/v1/cases"))
        .header("x-csrf-token", &dispatcher.csrf_token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_json_body")));
}
