//! Duplicate suggestions at intake, merging with notices for every reporter, tracking
//! and rating of merged cases, and the conflict page of a stale case form.

use chrono::{TimeDelta, Utc};
use citycore::{
    accounts::Role,
    cases::case::{CaseStore, Stage, store::followers::FollowStore},
};
use serde_json::{Value, json};

use crate::{
    cases_loop::{IN_GRID_A1, app_with_grids},
    helpers::{Session, TestApp, areas, csrf_field},
};

/// Degrees of longitude per metre at the latitude of [`IN_GRID_A1`] (39.905° N).
const DEGREES_PER_METRE: f64 = 1.0 / 85_300.0;

/// Returns the point `metres` east of [`IN_GRID_A1`].
pub(crate) fn east_of_a1(metres: f64) -> (f64, f64) {
    (IN_GRID_A1.0 + metres * DEGREES_PER_METRE, IN_GRID_A1.1)
}

pub(crate) async fn report_at(session: &Session, category: &str, point: (f64, f64)) -> Value {
    let body = json!({
        "title": format!("{category} 测试上报"),
        "description": "路口有问题",
        "category_code": category,
        "longitude": point.0,
        "latitude": point.1,
        "channel": "web",
    });
    let response = session.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 201, "report accepted");
    response.json().await.unwrap()
}

pub(crate) fn id_of(case: &Value) -> i64 {
    case["case_id"].as_i64().expect("case id")
}

fn duplicate_ids(list: &Value) -> Vec<i64> {
    list.as_array().expect("array").iter().map(id_of).collect()
}

/// Sets a stored case's stage or report time directly, to build cases a test needs
/// without walking them through the loop.
async fn set_stage(app: &TestApp, case_id: i64, stage: &str) {
    citycore::with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE service_case SET stage = $1 WHERE case_id = $2")
            .bind(stage)
            .bind(case_id)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("stage set");
}

async fn age_case(app: &TestApp, case_id: i64, hours: i64) {
    let created_at = Utc::now() - TimeDelta::hours(hours);
    citycore::with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE service_case SET created_at = $1 WHERE case_id = $2")
            .bind(created_at)
            .bind(case_id)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("report time set");
}

pub(crate) async fn transition(
    session: &Session,
    case_id: i64,
    action: &str,
    extra: Value,
) -> Value {
    let case: Value = session.get(&format!("/api/v1/cases/{case_id}")).await.json().await.unwrap();
    let mut body = json!({ "action": action, "expected_version": case["version"] });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        body[key] = value;
    }
    let response = session.post_json(&format!("/api/v1/cases/{case_id}/transitions"), &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {json}");
    json
}

#[tokio::test]
async fn intake_suggests_near_open_recent_cases() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let near = id_of(&report_at(&resident, "E0101", east_of_a1(100.0)).await);
    let nearest = id_of(&report_at(&resident, "E0101", east_of_a1(40.0)).await);
    let too_far = id_of(&report_at(&resident, "E0101", east_of_a1(300.0)).await);
    let other_category = id_of(&report_at(&resident, "E0102", east_of_a1(10.0)).await);
    let closed = id_of(&report_at(&resident, "E0101", east_of_a1(10.0)).await);
    set_stage(&app, closed, "closed").await;
    let too_old = id_of(&report_at(&resident, "E0101", east_of_a1(10.0)).await);
    age_case(&app, too_old, 73).await;

    let created = report_at(&dispatcher, "E0101", IN_GRID_A1).await;
    let suggested = &created["possible_duplicates"];
    assert_eq!(duplicate_ids(suggested), vec![nearest, near], "nearest first: {suggested}");
    for excluded in [too_far, other_category, closed, too_old] {
        assert!(!duplicate_ids(suggested).contains(&excluded), "case {excluded} excluded");
    }
    let first = &suggested[0];
    let distance = first["distance_m"].as_f64().unwrap();
    assert!((distance - 40.0).abs() < 2.0, "distance in metres: {distance}");
    assert_eq!(first["stage"], "intake");
    assert!(first["created_at"].as_str().unwrap().ends_with("+08:00"), "offset: {first}");

    let path = format!("/api/v1/cases/{}/duplicates", id_of(&created));
    let listed: Value = dispatcher.get(&path).await.json().await.unwrap();
    assert_eq!(duplicate_ids(&listed), vec![nearest, near], "same list on request");
    assert_eq!(resident.get(&path).await.status(), 403, "residents cannot list duplicates");
}

#[tokio::test]
async fn category_window_limits_suggestions() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let earlier = id_of(&report_at(&resident, "E0101", IN_GRID_A1).await);
    age_case(&app, earlier, 30).await;

    let created = report_at(&dispatcher, "E0101", IN_GRID_A1).await;
    assert_eq!(duplicate_ids(&created["possible_duplicates"]), vec![earlier], "inside 72 h");

    let admin = app.login_as(Role::Administrator, &[]).await;
    let listed: Value = admin.get("/api/v1/categories").await.json().await.unwrap();
    let categories = listed["categories"].as_array().unwrap();
    let category = categories.iter().find(|c| c["code"] == "E0101").expect("E0101 listed");
    assert_eq!(category["duplicate_window_hours"], 72, "default window");
    let mut changed = category.clone();
    changed["duplicate_window_hours"] = json!(24);
    let response = admin.client.put(admin.url("/api/v1/categories/E0101"));
    let response = response.header("x-csrf-token", &admin.csrf_token).json(&changed);
    assert_eq!(response.send().await.unwrap().status(), 200, "window updated");

    let created = report_at(&dispatcher, "E0101", IN_GRID_A1).await;
    let ids = duplicate_ids(&created["possible_duplicates"]);
    assert!(!ids.contains(&earlier), "30 h old case is outside a 24 h window: {ids:?}");
}

/// Opens the case page as `session` and presses the merge button of `target`.
async fn merge_through_page(session: &Session, case_id: i64, target: i64) {
    let page = session.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    let button = format!("name=\"target_case_id\" value=\"{target}\"");
    assert!(page.contains(&button), "case page offers merging into {target}");
    let version = app_version(&page);
    let target = target.to_string();
    let form = [
        ("action", "merge"),
        ("expected_version", version.as_str()),
        ("target_case_id", target.as_str()),
    ];
    let response = session.post_form(&format!("/cases/{case_id}/actions"), &form).await;
    assert_eq!(response.status(), 303, "merge redirects");
}

/// Reads the `expected_version` hidden field of a case page.
fn app_version(html: &str) -> String {
    let marker = "name=\"expected_version\" value=\"";
    let start = html.find(marker).expect("page has a form") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn merge_keeps_every_reporter_informed() {
    let app = app_with_grids().await;
    let first = app.login_as(Role::Resident, &[]).await;
    let second = app.login_as(Role::Resident, &[]).await;
    let third = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;

    let survivor = id_of(&report_at(&first, "E0101", IN_GRID_A1).await);
    let middle = id_of(&report_at(&second, "E0101", east_of_a1(50.0)).await);
    let last = id_of(&report_at(&third, "E0101", east_of_a1(80.0)).await);
    // The third report joins the second, which then joins the first: followers of a
    // merged case move on with it.
    merge_through_page(&dispatcher, last, middle).await;
    merge_through_page(&dispatcher, middle, survivor).await;
    let middle_notices = app.db.case_notices(middle).await.unwrap();
    let merged: Vec<_> = middle_notices.iter().map(|n| n.message_key.as_str()).collect();
    assert_eq!(merged, vec!["dup-notice-merged"; 2], "both reporters of the middle case told");

    transition(&dispatcher, survivor, "file", json!({})).await;
    let notices = app.db.case_notices(survivor).await.unwrap();
    let mut recipients: Vec<_> = notices.iter().map(|n| n.recipient_user_id).collect();
    recipients.sort();
    let mut expected = vec![Some(first.user_id), Some(second.user_id), Some(third.user_id)];
    expected.sort();
    assert_eq!(recipients, expected, "one notice per reporter");
    assert!(
        notices.iter().all(|n| n.stage == "filed" && n.message_key == "dup-notice-stage-changed")
    );

    let token = app.db.case_by_id(middle).await.unwrap().unwrap().tracking_token;
    let track = app.get(&format!("/track/{token}")).await.text().await.unwrap();
    assert!(track.contains("合并办理进度"), "merged case says it was merged");
    assert!(track.contains("<dd>立案</dd>"), "survivor's stage shown: {track}");
    let own_token = app.db.case_by_id(survivor).await.unwrap().unwrap().tracking_token;
    assert!(!track.contains(&own_token), "no other reporter's link on the page");
    let mine = second.get("/cases/mine").await.text().await.unwrap();
    assert!(mine.contains("已合并办理"), "my cases marks the merge");
    assert!(mine.contains("立案"), "my cases shows the survivor's stage");

    // Close the survivor, then each reporter rates it once through their own link.
    transition(&dispatcher, survivor, "dispatch", json!({})).await;
    let early = rate(&app, &token, "4").await;
    assert_eq!(early, 422, "an open survivor cannot be rated");
    transition(&handler, survivor, "accept", json!({})).await;
    transition(&handler, survivor, "report_done", json!({})).await;
    transition(&dispatcher, survivor, "verify", json!({})).await;

    assert_eq!(rate(&app, &token, "4").await, 303, "merged reporter rates the survivor");
    assert_eq!(rate(&app, &token, "5").await, 422, "only once");
    let stored = app.db.follower_rating(survivor, middle).await.unwrap();
    assert_eq!(stored, Some(Some(4)));
    assert_eq!(rate(&app, &own_token, "5").await, 303, "original reporter still rates");
    let survivor_case = app.db.case_by_id(survivor).await.unwrap().unwrap();
    assert_eq!((survivor_case.stage, survivor_case.rating), (Stage::Rated, Some(5)));
    let last_token = app.db.case_by_id(last).await.unwrap().unwrap().tracking_token;
    assert_eq!(rate(&app, &last_token, "3").await, 303, "transitively merged reporter rates");
}

/// Rates through the tracking page as a fresh visitor and returns the status.
async fn rate(app: &TestApp, token: &str, rating: &str) -> u16 {
    let visitor = app.new_client();
    let url = app.url(&format!("/track/{token}"));
    let html = visitor.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_field(&html);
    let form = [("rating", rating), ("comment", "谢谢"), ("csrf_token", csrf.as_str())];
    visitor.post(&url).form(&form).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn stale_case_form_gets_conflict_page() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let other = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let case_id = id_of(&report_at(&resident, "E0101", IN_GRID_A1).await);

    let page = dispatcher.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    let stale = app_version(&page);
    transition(&other, case_id, "file", json!({})).await;

    let form = [("action", "void"), ("expected_version", stale.as_str()), ("reason", "重复")];
    let response = dispatcher.post_form(&format!("/cases/{case_id}/actions"), &form).await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("案件已被他人处理"), "page names what happened");
    assert!(html.contains(&format!("href=\"/cases/{case_id}\"")), "links to the current case");
    let case = app.db.case_by_id(case_id).await.unwrap().unwrap();
    assert_eq!((case.stage, case.version), (Stage::Filed, 2), "case unchanged");

    let body = json!({ "action": "void", "expected_version": 1, "reason": "重复" });
    let response =
        dispatcher.post_json(&format!("/api/v1/cases/{case_id}/transitions"), &body).await;
    assert_eq!(response.status(), 409, "JSON API answers the same conflict");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "case_version_conflict");
}

#[tokio::test]
async fn staff_report_form_leads_to_suggestions() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let earlier = id_of(&report_at(&resident, "E0101", east_of_a1(60.0)).await);

    let longitude = IN_GRID_A1.0.to_string();
    let latitude = IN_GRID_A1.1.to_string();
    let form = [
        ("category_code", "E0101"),
        ("title", "路口暴露垃圾"),
        ("description", "来电反映路口有垃圾"),
        ("longitude", longitude.as_str()),
        ("latitude", latitude.as_str()),
    ];
    let response = dispatcher.post_form("/cases/new", &form).await;
    assert_eq!(response.status(), 303, "hotline report filed");
    let location = response.headers()["location"].to_str().unwrap().to_owned();

    let page = dispatcher.get(&location).await.text().await.unwrap();
    assert!(page.contains("疑似重复案件"), "case page lists suggestions");
    assert!(page.contains(&format!("href=\"/cases/{earlier}\"")), "earlier case suggested");
    let button = format!("name=\"target_case_id\" value=\"{earlier}\"");
    assert!(page.contains(&button), "merge button for the suggestion");
}
