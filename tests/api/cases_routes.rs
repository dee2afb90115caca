//! The `/api/v1/categories` and `/api/v1/calendar` routes through a logged-in client.

use citycore::accounts::Role;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, default_areas, spawn_app};

async fn login(app: &TestApp, role: Role) -> Session {
    app.login_as(role, default_areas(role)).await
}

/// Sends `PUT /api/v1/categories/{code}` with the session's CSRF token.
async fn put_category(session: &Session, code: &str, body: &Value) -> reqwest::Response {
    let url = session.url(&format!("/api/v1/categories/{code}"));
    let request = session.client.put(url).header("x-csrf-token", &session.csrf_token);
    request.json(body).send().await.expect("request sent")
}

fn new_category() -> Value {
    json!({
        "major_name_zh": "市容环境",
        "major_name_en": "Street appearance and sanitation",
        "name_zh": "共享单车堆积",
        "name_en": "Shared bicycles piled up",
        "department_code": "CGZF",
        "department_name": "街道综合行政执法队",
        "filing_criteria": "同一地点堆积共享单车超过 20 辆",
        "closing_criteria": "车辆已清运或规整",
        "dispatch_limit": 1,
        "dispatch_unit": "working_hours",
        "handling_limit": 4,
        "handling_unit": "working_hours",
        "verification_limit": 1,
        "verification_unit": "working_days"
    })
}

#[tokio::test]
async fn staff_list_categories() {
    let app = spawn_app().await;
    let grid_worker = login(&app, Role::GridWorker).await;
    let response = grid_worker.get("/api/v1/categories").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let categories = body["categories"].as_array().unwrap();
    assert!(categories.len() >= 30, "{}", categories.len());
    let garbage = categories.iter().find(|c| c["code"] == "E0101").unwrap();
    assert_eq!(garbage["kind"], "event");
    assert_eq!(garbage["name_zh"], "暴露垃圾");
    assert_eq!(garbage["handling_limit"], 4);
    assert_eq!(garbage["handling_unit"], "working_hours");
}

#[tokio::test]
async fn residents_cannot_list_categories() {
    let app = spawn_app().await;
    let resident = login(&app, Role::Resident).await;
    assert_eq!(resident.get("/api/v1/categories").await.status(), 403);
}

#[tokio::test]
async fn administrator_creates_then_updates_category() {
    let app = spawn_app().await;
    let admin = login(&app, Role::Administrator).await;
    let mut body = new_category();
    let created = put_category(&admin, "E0109", &body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["code"], "E0109");
    assert_eq!(created["duplicate_radius_m"], 250);

    body["handling_limit"] = json!(2);
    body["duplicate_radius_m"] = json!(100);
    let updated = put_category(&admin, "E0109", &body).await;
    assert_eq!(updated.status(), 200);

    let listed: Value = admin.get("/api/v1/categories").await.json().await.unwrap();
    let stored = listed["categories"].as_array().unwrap().iter().find(|c| c["code"] == "E0109");
    let stored = stored.expect("E0109 is listed");
    assert_eq!(stored["handling_limit"], 2);
    assert_eq!(stored["duplicate_radius_m"], 100);
}

#[tokio::test]
async fn dispatcher_cannot_edit_categories() {
    let app = spawn_app().await;
    let dispatcher = login(&app, Role::Dispatcher).await;
    assert_eq!(put_category(&dispatcher, "E0109", &new_category()).await.status(), 403);
}

#[tokio::test]
async fn invalid_category_names_the_field() {
    let app = spawn_app().await;
    let admin = login(&app, Role::Administrator).await;
    let cases = [
        ("unknown unit", "E0109", "handling_unit", json!("hours"), "invalid_time_unit"),
        ("negative limit", "E0109", "handling_limit", json!(-4), "invalid_time_limit"),
        ("empty name", "E0109", "name_en", json!(""), "missing_value"),
        ("bad code in URL", "E9", "name_en", json!("x"), "invalid_category_code"),
        ("body code differs", "E0109", "code", json!("E0110"), "code_mismatch"),
    ];
    for (description, code, field, value, expected) in cases {
        let mut body = new_category();
        body[field] = value;
        let response = put_category(&admin, code, &body).await;
        assert_eq!(response.status(), 422, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], expected, "{description}: {error}");
        let expected_field = if expected == "invalid_category_code" { "code" } else { field };
        assert_eq!(error["error"]["field"], expected_field, "{description}: {error}");
    }
    let listed: Value = admin.get("/api/v1/categories").await.json().await.unwrap();
    let codes: Vec<_> =
        listed["categories"].as_array().unwrap().iter().map(|c| &c["code"]).collect();
    assert!(!codes.contains(&&json!("E0109")), "nothing was written");
}

#[tokio::test]
async fn calendar_year_lists_national_day() {
    let app = spawn_app().await;
    let handler = login(&app, Role::Handler).await;
    let response = handler.get("/api/v1/calendar/2026").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["time_zone"], "Asia/Shanghai");
    let days = body["days"].as_array().unwrap();
    let national_day = days.iter().find(|d| d["date"] == "2026-10-01").unwrap();
    assert_eq!(national_day["kind"], "holiday");
    let make_up = days.iter().find(|d| d["date"] == "2026-10-10").unwrap();
    assert_eq!(make_up["kind"], "workday");
    assert_eq!(body["weekly_hours"][0]["periods"][0]["start"], "09:00:00");

    assert_eq!(handler.get("/api/v1/calendar/twenty").await.status(), 422);
}

#[tokio::test]
async fn deadline_route_returns_shanghai_offsets() {
    let app = spawn_app().await;
    let dispatcher = login(&app, Role::Dispatcher).await;
    let request = json!({"start": "2026-09-30T09:00:00Z", "amount": 3, "unit": "working_days"});
    let response = dispatcher.post_json("/api/v1/calendar/deadline", &request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["start"], "2026-09-30T17:00:00+08:00");
    assert_eq!(body["deadline"], "2026-10-10T18:00:00+08:00");
    assert_eq!(body["time_zone"], "Asia/Shanghai");
}

#[tokio::test]
async fn deadline_route_rejects_bad_input_by_field() {
    let app = spawn_app().await;
    let dispatcher = login(&app, Role::Dispatcher).await;
    let cases = [
        (
            "no offset",
            json!({"start": "2026-09-30T09:00:00", "amount": 1, "unit": "working_hours"}),
            422,
            "start",
        ),
        (
            "unknown unit",
            json!({"start": "2026-09-30T09:00:00Z", "amount": 1, "unit": "hours"}),
            422,
            "unit",
        ),
        (
            "too long",
            json!({"start": "2026-09-30T09:00:00Z", "amount": 10001, "unit": "working_days"}),
            422,
            "amount",
        ),
    ];
    for (description, request, status, field) in cases {
        let response = dispatcher.post_json("/api/v1/calendar/deadline", &request).await;
        assert_eq!(response.status(), status, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{description}: {error}");
    }
    let malformed = dispatcher.post_json("/api/v1/calendar/deadline", &json!({"start": 5})).await;
    assert_eq!(malformed.status(), 400);
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_json_body");
}
