//! Rules and alarms through the API: hysteresis, minimum duration, a flapping sensor,
//! a water meter that stops moving, the alarm's case and its notes, and bad rule input.

use chrono::{Duration, FixedOffset, Utc};
use citycore::{accounts::Role, alarms::worker};
use serde_json::{Value, json};

use crate::{
    cases_loop::{IN_GRID_A1, app_with_grids},
    helpers::{Session, TestApp, areas},
};

/// Registers a device in grid A1 and returns its token.
pub(crate) async fn register(app: &TestApp, id: &str, kind: &str) -> String {
    app.register_device(id, kind, &format!("测试设备 {id}"), IN_GRID_A1).await
}

/// Formats `minutes` after `start` as RFC 3339 in Shanghai time.
fn at(start: chrono::DateTime<Utc>, minutes: i64) -> String {
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    (start + Duration::minutes(minutes))
        .with_timezone(&shanghai)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Posts `values`, one per minute from `start`, as readings of `attribute`.
pub(crate) async fn post_series(
    app: &TestApp,
    token: &str,
    device: &str,
    attribute: &str,
    start: chrono::DateTime<Utc>,
    values: &[f64],
) {
    let readings: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(minute, value)| {
            json!({"device": device, "attribute": attribute, "value": value,
                "observed_at": at(start, minute as i64)})
        })
        .collect();
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(token)
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "readings accepted: {body}");
}

pub(crate) async fn create_rule(admin: &Session, rule: Value) -> Value {
    let response = admin.post_json("/api/v1/sensor-rules", &rule).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "rule created: {body}");
    body
}

/// Builds a threshold rule on the fill level of bin-1: raise above 0.9, clear below 0.5.
pub(crate) fn bin_threshold(min_duration_seconds: i64) -> Value {
    json!({
        "name": "垃圾桶满溢",
        "device": "bin-1",
        "attribute": "fillingLevel",
        "type": "threshold",
        "direction": "above",
        "level": 0.9,
        "clear_level": 0.5,
        "min_duration_seconds": min_duration_seconds,
        "category_code": "E0101",
    })
}

pub(crate) async fn alarms(session: &Session, state: &str) -> Vec<Value> {
    let response = session.get(&format!("/api/v1/alarms?state={state}")).await;
    assert_eq!(response.status(), 200, "alarms listed");
    let body: Value = response.json().await.unwrap();
    body["alarms"].as_array().unwrap().clone()
}

async fn case(session: &Session, case_id: i64) -> Value {
    let response = session.get(&format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(response.status(), 200, "case {case_id} shown");
    response.json().await.unwrap()
}

/// Lists the log entries of a case.
async fn case_events(app: &TestApp, case_id: i64) -> Vec<citycore::cases::case::CaseEvent> {
    use citycore::cases::case::CaseStore;
    app.db.case_events(case_id).await.expect("events read")
}

pub(crate) fn hours_ago(hours: i64) -> chrono::DateTime<Utc> {
    Utc::now() - Duration::hours(hours)
}

#[tokio::test]
async fn threshold_alarm_keeps_between_levels_and_clears_below() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    let start = hours_ago(2);

    post_series(&app, &token, "bin-1", "fillingLevel", start, &[0.4, 0.95, 0.7, 0.6]).await;

    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "one alarm: {open:?}");
    assert_eq!(open[0]["state"], "active");
    assert_eq!(open[0]["trigger_count"], 1);
    assert_eq!(open[0]["first_triggered_at"], at(start, 1), "measurement time, +08:00");

    post_series(&app, &token, "bin-1", "fillingLevel", start + Duration::minutes(4), &[0.45]).await;

    assert!(alarms(&admin, "open").await.is_empty(), "below the clear level clears");
    let cleared = alarms(&admin, "cleared").await;
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0]["cleared_by"], Value::Null, "cleared by the readings");
    assert!(cleared[0]["cleared_at"].as_str().unwrap().ends_with("+08:00"));
}

#[tokio::test]
async fn threshold_waits_for_minimum_duration() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(180)).await;
    let start = hours_ago(2);

    // Above for two minutes, a dip, then above for three minutes (minutes 4 to 7).
    post_series(&app, &token, "bin-1", "fillingLevel", start, &[0.95, 0.95, 0.95, 0.8]).await;
    assert!(alarms(&admin, "all").await.is_empty(), "two minutes above is not enough");

    let later = start + Duration::minutes(4);
    post_series(&app, &token, "bin-1", "fillingLevel", later, &[0.95, 0.96, 0.97, 0.98]).await;

    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["first_triggered_at"], at(start, 7), "raised after three minutes");
}

#[tokio::test]
async fn flapping_sensor_raises_one_alarm_and_one_case() {
    // (description, low value, state after the last, low reading)
    let cases =
        [("dips between the levels", 0.85, "active"), ("swings past both levels", 0.2, "cleared")];
    for (description, low, final_state) in cases {
        let app = app_with_grids().await;
        let admin = app.login_as(Role::Administrator, &[]).await;
        let token = register(&app, "bin-1", "waste_bin_fill").await;
        create_rule(&admin, bin_threshold(0)).await;
        let values: Vec<f64> = (0..200).map(|i| if i % 2 == 0 { 0.95 } else { low }).collect();

        // Two batches, so the second one meets the alarm the first one raised.
        let start = hours_ago(5);
        post_series(&app, &token, "bin-1", "fillingLevel", start, &values[..100]).await;
        let later = start + Duration::minutes(100);
        post_series(&app, &token, "bin-1", "fillingLevel", later, &values[100..]).await;

        let all = alarms(&admin, "all").await;
        assert_eq!(all.len(), 1, "{description}: one alarm: {all:?}");
        assert_eq!(all[0]["trigger_count"], 100, "{description}: every rising edge counts");
        assert_eq!(all[0]["last_triggered_at"], at(start, 198), "{description}");
        assert_eq!(all[0]["state"], final_state, "{description}");
        let case_id = all[0]["case_id"].as_i64().expect("the alarm has a case");
        let response = admin.get("/api/v1/cases").await;
        let cases: Value = response.json().await.unwrap();
        let iot_cases: Vec<&Value> =
            cases.as_array().unwrap().iter().filter(|c| c["channel"] == "iot").collect();
        assert_eq!(iot_cases.len(), 1, "{description}: one case: {cases}");
        assert_eq!(iot_cases[0]["case_id"], case_id, "{description}");
    }
}

#[tokio::test]
async fn alarm_case_lies_in_device_grid_and_category() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;

    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.97]).await;

    let open = alarms(&admin, "open").await;
    let case = case(&admin, open[0]["case_id"].as_i64().unwrap()).await;
    let grid_a1 = app
        .state
        .locator
        .snapshot()
        .areas()
        .iter()
        .find(|area| area.code == areas::GRID_A1)
        .unwrap()
        .area_id;
    assert_eq!(case["grid_id"], grid_a1);
    assert_eq!(case["category_code"], "E0101");
    assert_eq!(case["channel"], "iot");
    assert_eq!(case["stage"], "intake");
    assert!(case["title"].as_str().unwrap().contains("垃圾桶满溢"), "{case}");
}

#[tokio::test]
async fn acknowledge_and_clear_are_noted_on_case() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let outsider = app.login_as(Role::GridWorker, &[areas::GRID_B1]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.97]).await;
    let alarm = alarms(&grid_worker, "open").await.remove(0);
    let alarm_id = alarm["id"].as_i64().unwrap();
    let case_id = alarm["case_id"].as_i64().unwrap();

    assert!(alarms(&outsider, "all").await.is_empty(), "another grid's worker sees none");
    let path = format!("/api/v1/alarms/{alarm_id}/acknowledge");
    assert_eq!(outsider.post_json(&path, &json!({})).await.status(), 404);
    let response = grid_worker.post_json(&path, &json!({})).await;
    assert_eq!(response.status(), 200);
    let acknowledged: Value = response.json().await.unwrap();
    assert_eq!(acknowledged["state"], "acknowledged");
    assert_eq!(grid_worker.post_json(&path, &json!({})).await.status(), 409, "twice");

    let clear = format!("/api/v1/alarms/{alarm_id}/clear");
    let cleared: Value = grid_worker.post_json(&clear, &json!({})).await.json().await.unwrap();
    assert_eq!(cleared["state"], "cleared");
    assert!(cleared["cleared_by"].is_i64(), "{cleared}");
    assert_eq!(grid_worker.post_json(&clear, &json!({})).await.status(), 409);

    let notes: Vec<String> = case_events(&app, case_id)
        .await
        .into_iter()
        .filter(|event| event.action == Some(citycore::cases::case::Action::Note))
        .map(|event| event.details["alarm_event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(notes, ["acknowledged", "cleared_by_hand"]);
    assert_eq!(case(&admin, case_id).await["stage"], "intake", "notes keep the stage");
}

#[tokio::test]
async fn cleared_alarm_reopens_or_joins_case() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    let start = hours_ago(3);
    let post = |minute: i64, value: f64| {
        let token = token.clone();
        let app = &app;
        async move {
            let at = start + Duration::minutes(minute);
            post_series(app, &token, "bin-1", "fillingLevel", at, &[value]).await;
        }
    };

    // Full, empty, full again within ten minutes: the same alarm reopens.
    post(0, 0.97).await;
    post(1, 0.2).await;
    post(2, 0.96).await;
    let all = alarms(&admin, "all").await;
    assert_eq!(all.len(), 1, "reopened, not raised anew: {all:?}");
    assert_eq!(all[0]["state"], "active");
    assert_eq!(all[0]["trigger_count"], 2);

    // Emptied, then full half an hour later: a new alarm that joins the open case.
    post(3, 0.2).await;
    post(33, 0.96).await;
    let all = alarms(&admin, "all").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["case_id"], all[1]["case_id"], "the second alarm joins the open case");
    let case_id = all[0]["case_id"].as_i64().unwrap();
    let notes: Vec<String> = case_events(&app, case_id)
        .await
        .into_iter()
        .filter(|event| event.action == Some(citycore::cases::case::Action::Note))
        .map(|event| event.details["alarm_event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(notes, ["cleared_by_data", "reopened", "cleared_by_data", "raised_again"]);
}

#[tokio::test]
async fn water_meter_unchanged_for_twelve_hours_raises_alarm() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "water-1", "water_meter").await;
    create_rule(
        &admin,
        json!({
            "name": "独居老人水表 12 小时未走字",
            "kind": "water_meter",
            "attribute": "waterConsumption",
            "type": "no_change",
            "duration_seconds": 12 * 3600,
            "category_code": "E0101",
        }),
    )
    .await;
    let start = hours_ago(20);
    // Readings every hour, measured 20 to 9 hours ago: the meter moves once, then stays.
    let hourly = |hours: &[f64]| -> Vec<(i64, f64)> {
        hours.iter().enumerate().map(|(h, v)| (h as i64 * 60, *v)).collect()
    };
    let mut series = hourly(&[12.0, 12.4]);
    series.extend((2..=11).map(|h| (h * 60, 12.4)));
    for (minute, value) in &series {
        post_series(
            &app,
            &token,
            "water-1",
            "waterConsumption",
            start + Duration::minutes(*minute),
            &[*value],
        )
        .await;
    }
    assert!(alarms(&admin, "all").await.is_empty(), "still for ten hours is not enough");

    let thirteenth = start + Duration::hours(13);
    post_series(&app, &token, "water-1", "waterConsumption", thirteenth, &[12.4]).await;

    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["first_triggered_at"], at(thirteenth, 0));
    assert!(open[0]["case_id"].is_i64());

    post_series(&app, &token, "water-1", "waterConsumption", start + Duration::hours(14), &[12.6])
        .await;
    assert!(alarms(&admin, "open").await.is_empty(), "water flows again");
}

#[tokio::test]
async fn worker_raises_no_data_alarm_after_silence() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "thermo-1", "temperature_humidity").await;
    create_rule(
        &admin,
        json!({
            "name": "温度计离线",
            "device": "thermo-1",
            "attribute": "temperature",
            "type": "no_data",
            "duration_seconds": 3600,
            "category_code": "E0101",
        }),
    )
    .await;
    let last = hours_ago(2);
    post_series(&app, &token, "thermo-1", "temperature", last, &[21.0]).await;

    let early = (last + Duration::minutes(59)).timestamp_millis();
    worker::tick(&app.state, early).await.expect("tick");
    assert!(alarms(&admin, "all").await.is_empty(), "59 minutes of silence is not enough");

    let late = (last + Duration::minutes(61)).timestamp_millis();
    worker::tick(&app.state, late).await.expect("tick");
    worker::tick(&app.state, late + 1000).await.expect("a second tick changes nothing");
    let open = alarms(&admin, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0]["case_id"].is_i64());

    post_series(&app, &token, "thermo-1", "temperature", hours_ago(0), &[21.5]).await;
    assert!(alarms(&admin, "open").await.is_empty(), "a reading clears it");
}

#[tokio::test]
async fn bad_rule_input_names_each_field() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    register(&app, "bin-1", "waste_bin_fill").await;
    let cases = [
        ("no scope", json!({"name": "x", "attribute": "fillingLevel"}), "device"),
        ("unknown device", json!({"device": "ghost"}), "device"),
        ("unknown kind", json!({"kind": "toaster"}), "kind"),
        ("attribute of another kind", json!({"attribute": "temperature"}), "attribute"),
        ("unknown type", json!({"type": "magic"}), "type"),
        ("missing direction", json!({"direction": null}), "direction"),
        ("clear level above level", json!({"clear_level": 0.95}), "clear_level"),
        ("negative minimum duration", json!({"min_duration_seconds": -1}), "min_duration_seconds"),
        ("unknown category", json!({"category_code": "Z9999"}), "category_code"),
        ("empty name", json!({"name": "  "}), "name"),
    ];
    for (description, change, field) in cases {
        let mut rule = bin_threshold(0);
        for (key, value) in change.as_object().unwrap() {
            rule[key] = value.clone();
        }
        if field == "device" && description == "no scope" {
            rule.as_object_mut().unwrap().remove("device");
        }
        if field == "kind" {
            rule.as_object_mut().unwrap().remove("device");
        }
        let response = admin.post_json("/api/v1/sensor-rules", &rule).await;
        assert_eq!(response.status(), 422, "{description}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{description}: {body}");
    }
    let list: Value = admin.get("/api/v1/sensor-rules").await.json().await.unwrap();
    assert_eq!(list["rules"], json!([]), "nothing half-written");
}

#[tokio::test]
async fn rule_is_updated_and_deleted_once_alarms_clear() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    let rule = create_rule(&admin, bin_threshold(0)).await;
    let path = format!("/api/v1/sensor-rules/{}", rule["id"]);
    let mut changed = bin_threshold(0);
    changed["level"] = json!(0.8);
    let response = admin
        .client
        .put(admin.url(&path))
        .header("x-csrf-token", &admin.csrf_token)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["level"], 0.8);

    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.85]).await;
    let delete =
        || admin.client.delete(admin.url(&path)).header("x-csrf-token", &admin.csrf_token).send();
    assert_eq!(delete().await.unwrap().status(), 409, "an open alarm blocks deletion");
    let alarm_id = alarms(&admin, "open").await[0]["id"].as_i64().unwrap();
    let clear = format!("/api/v1/alarms/{alarm_id}/clear");
    assert_eq!(admin.post_json(&clear, &json!({})).await.status(), 200);
    assert_eq!(delete().await.unwrap().status(), 204);
    assert_eq!(delete().await.unwrap().status(), 404);
    let cleared = alarms(&admin, "all").await;
    assert_eq!(cleared[0]["rule_id"], Value::Null, "the alarm outlives its rule");
}

#[tokio::test]
async fn console_pages_save_rule_and_handle_alarm() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    assert_eq!(admin.get("/sensor-rules/new").await.status(), 200);
    let mut fields = vec![
        ("name", "垃圾桶满溢"),
        ("device", "bin-1"),
        ("attribute", "fillingLevel"),
        ("type", "threshold"),
        ("direction", "above"),
        ("level", "0.9"),
        ("clear_level", "lots"),
        ("category_code", "E0101"),
        ("enabled", "on"),
    ];

    let response = admin.post_form("/sensor-rules", &fields).await;
    assert_eq!(response.status(), 422, "a clear level that is not a number");
    let page = response.text().await.unwrap();
    assert!(page.contains("href=\"#clear_level\""), "the error links to its input");
    assert!(page.contains("value=\"垃圾桶满溢\""), "the form keeps what was typed");

    fields[6] = ("clear_level", "0.5");
    let response = admin.post_form("/sensor-rules", &fields).await;
    assert_eq!(response.status(), 303);
    let list = admin.get("/sensor-rules").await.text().await.unwrap();
    assert!(list.contains("垃圾桶满溢"), "the rule is listed");

    post_series(&app, &token, "bin-1", "fillingLevel", hours_ago(1), &[0.97]).await;
    let alarm_id = alarms(&admin, "open").await[0]["id"].as_i64().unwrap();
    let page = admin.get("/alarms").await.text().await.unwrap();
    assert!(page.contains(&format!("action=\"/alarms/{alarm_id}/acknowledge\"")), "{page}");
    assert!(page.contains("name=\"back\" value=\"/alarms?state=open\""), "{page}");
    let path = format!("/alarms/{alarm_id}/acknowledge");
    assert_eq!(admin.post_form(&path, &[]).await.status(), 303);
    assert_eq!(alarms(&admin, "acknowledged").await.len(), 1);

    // A second click on the same form returns to the filtered list with a notice.
    let again = admin.post_form(&path, &[("back", "/alarms?state=active")]).await;
    assert_eq!(again.status(), 303);
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/alarms?state=active&notice=notice-alarm-changed-meanwhile");
    let off_site = admin.post_form(&path, &[("back", "//example.org/alarms")]).await;
    assert_eq!(off_site.headers()["location"], "/alarms?notice=notice-alarm-changed-meanwhile");
    let path = format!("/alarms/{alarm_id}/clear");
    assert_eq!(admin.post_form(&path, &[]).await.status(), 303);
    assert_eq!(alarms(&admin, "cleared").await.len(), 1);
}

#[tokio::test]
async fn count_and_rate_rules_raise_alarms() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let counter = register(&app, "people-1", "people_counter").await;
    let thermo = register(&app, "thermo-1", "temperature_humidity").await;
    let crowd = json!({
        "name": "十分钟内三次人流超过 50",
        "kind": "people_counter",
        "attribute": "peopleCount",
        "type": "count",
        "direction": "above",
        "level": 50,
        "duration_seconds": 600,
        "count_limit": 3,
        "category_code": "E0201",
    });
    create_rule(&admin, crowd).await;
    let heating = json!({
        "name": "温度每分钟上升超过 5 度",
        "device": "thermo-1",
        "attribute": "temperature",
        "type": "rate_of_change",
        "direction": "above",
        "level": 5,
        "clear_level": 1,
        "category_code": "E0101",
    });
    create_rule(&admin, heating).await;
    let start = hours_ago(1);

    post_series(&app, &counter, "people-1", "peopleCount", start, &[60.0, 10.0, 70.0]).await;
    post_series(&app, &thermo, "thermo-1", "temperature", start, &[20.0, 21.0]).await;
    assert!(alarms(&admin, "all").await.is_empty(), "two crowded readings, slow warming");

    let later = start + Duration::minutes(3);
    post_series(&app, &counter, "people-1", "peopleCount", later, &[80.0]).await;
    let later = start + Duration::minutes(2);
    post_series(&app, &thermo, "thermo-1", "temperature", later, &[30.0]).await;

    let open = alarms(&admin, "open").await;
    let mut raised: Vec<(&str, &str)> = open
        .iter()
        .map(|alarm| {
            (alarm["device"].as_str().unwrap(), alarm["first_triggered_at"].as_str().unwrap())
        })
        .collect();
    raised.sort();
    let crowd_at = at(start, 3);
    let heat_at = at(start, 2);
    assert_eq!(raised, [("people-1", crowd_at.as_str()), ("thermo-1", heat_at.as_str())]);
}

#[tokio::test]
async fn concurrent_batches_raise_one_alarm() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let token = register(&app, "bin-1", "waste_bin_fill").await;
    create_rule(&admin, bin_threshold(0)).await;
    let start = hours_ago(3);

    // Eight batches at once, each with its own minute above the level.
    let batches = (0..8).map(|minute| {
        let (app, token) = (&app, &token);
        async move {
            let at = start + Duration::minutes(minute);
            post_series(app, token, "bin-1", "fillingLevel", at, &[0.95]).await;
        }
    });
    futures_util::future::join_all(batches).await;

    let all = alarms(&admin, "all").await;
    assert_eq!(all.len(), 1, "one alarm: {all:?}");
    assert!(all[0]["case_id"].is_i64(), "{all:?}");
}
