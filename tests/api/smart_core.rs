//! The smart core dashboard through HTTP: series combined from the rollups of posted
//! readings, area scope, parameter errors, the event stream, and the page with its
//! alarm forms.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use citycore::accounts::Role;
use serde_json::{Value, json};

use crate::{
    cases_loop::{IN_GRID_A1, IN_GRID_B1, app_with_grids},
    helpers::{Session, TestApp, areas},
};

/// Registers a device at `point` and returns its token.
async fn register(app: &TestApp, id: &str, kind: &str, point: (f64, f64)) -> String {
    app.register_device(id, kind, &format!("看板设备 {id}"), point).await
}

fn shanghai(time: DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    time.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Posts (minutes after `start`, value) pairs as readings of one attribute.
async fn post(
    app: &TestApp,
    token: &str,
    device: &str,
    attribute: &str,
    start: DateTime<Utc>,
    values: &[(i64, f64)],
) {
    let readings: Vec<Value> = values
        .iter()
        .map(|(minutes, value)| {
            json!({"device": device, "attribute": attribute, "value": value,
                "observed_at": shanghai(start + chrono::Duration::minutes(*minutes))})
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

/// Returns the start of the hour three hours ago, so that two hours of readings lie in the past.
fn hour_start() -> DateTime<Utc> {
    let now = Utc::now() - chrono::Duration::hours(3);
    now.with_minute(0).unwrap().with_second(0).unwrap().with_nanosecond(0).unwrap()
}

fn series_path(area: &str, start: DateTime<Utc>, hours: i64) -> String {
    let query = serde_urlencoded::to_string([
        ("area", area.to_owned()),
        ("from", shanghai(start)),
        ("to", shanghai(start + chrono::Duration::hours(hours))),
        ("step", "hour".to_owned()),
    ])
    .unwrap();
    format!("/api/v1/smart-core/series?{query}")
}

fn group<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["groups"].as_array().unwrap().iter().find(|g| g["group"] == name).expect("group present")
}

fn values(group: &Value) -> Vec<Option<f64>> {
    group["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64()).collect()
}

#[tokio::test]
async fn series_combines_rollups_of_posted_readings() {
    let app = app_with_grids().await;
    let start = hour_start();
    let people_a = register(&app, "sc-people-a", "people_counter", IN_GRID_A1).await;
    let people_b = register(&app, "sc-people-b", "people_counter", IN_GRID_A1).await;
    let people_far = register(&app, "sc-people-far", "people_counter", IN_GRID_B1).await;
    let climate = register(&app, "sc-climate", "temperature_humidity", IN_GRID_A1).await;
    let meter = register(&app, "sc-meter", "energy_meter", IN_GRID_A1).await;
    post(&app, &people_a, "sc-people-a", "peopleCount", start, &[(5, 10.0), (50, 7.0), (70, 4.0)])
        .await;
    post(&app, &people_b, "sc-people-b", "peopleCount", start, &[(15, 3.0)]).await;
    post(&app, &people_far, "sc-people-far", "peopleCount", start, &[(10, 100.0)]).await;
    post(&app, &climate, "sc-climate", "temperature", start, &[(0, 20.0), (30, 22.0), (59, 27.0)])
        .await;
    post(
        &app,
        &meter,
        "sc-meter",
        "activeEnergyImport",
        start,
        &[(0, 500.0), (55, 502.5), (65, 503.0), (119, 506.0)],
    )
    .await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = admin.get(&series_path(areas::COMMUNITY_A, start, 2)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["area"], areas::COMMUNITY_A);
    assert_eq!(body["step"], "hour");
    assert_eq!(body["from"], shanghai(start));
    let traffic = group(&body, "foot_traffic");
    assert_eq!(traffic["device_count"], 2, "the device in community B is left out");
    assert_eq!(values(traffic), vec![Some(20.0), Some(4.0)]);
    assert_eq!(traffic["points"][0]["readings"], 3);
    assert_eq!(traffic["points"][0]["devices"], 2);
    assert_eq!(traffic["points"][0]["start"], shanghai(start));
    assert_eq!(values(group(&body, "temperature")), vec![Some(23.0), None]);
    assert_eq!(values(group(&body, "energy")), vec![Some(2.5), Some(3.5)]);
    assert_eq!(values(group(&body, "bin_fill")), vec![None, None]);

    // A period that starts at the second hour still counts the meter's rise from its
    // last reading of the first hour.
    let second: Value = admin
        .get(&series_path(areas::COMMUNITY_A, start + chrono::Duration::hours(1), 1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(values(group(&second, "energy")), vec![Some(3.5)]);
    assert_eq!(values(group(&second, "foot_traffic")), vec![Some(4.0)]);

    // The combined value equals the sums of the per-device series of the same hour.
    let mut device_total = 0.0;
    for device in ["sc-people-a", "sc-people-b"] {
        let query = serde_urlencoded::to_string([
            ("attribute", "peopleCount".to_owned()),
            ("from", shanghai(start)),
            ("to", shanghai(start + chrono::Duration::hours(1))),
            ("step", "hour".to_owned()),
        ])
        .unwrap();
        let series: Value = admin
            .get(&format!("/api/v1/devices/{device}/series?{query}"))
            .await
            .json()
            .await
            .unwrap();
        device_total += series["buckets"][0]["sum"].as_f64().unwrap();
    }
    assert_eq!(Some(device_total), values(traffic)[0]);

    let street: Value =
        admin.get(&series_path(areas::STREET, start, 2)).await.json().await.unwrap();
    assert_eq!(values(group(&street, "foot_traffic")), vec![Some(120.0), Some(4.0)]);
}

#[tokio::test]
async fn series_rejects_bad_parameters_naming_the_field() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let base = "/api/v1/smart-core/series";
    let cases = [
        (
            "unknown area",
            format!(
                "{base}?area=999&from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00"
            ),
            "area",
        ),
        (
            "from not a time",
            format!("{base}?from=yesterday&to=2026-12-02T00:00:00%2B08:00"),
            "from",
        ),
        (
            "from without offset",
            format!("{base}?from=2026-12-01T00:00:00&to=2026-12-02T00:00:00%2B08:00"),
            "from",
        ),
        ("to missing", format!("{base}?from=2026-12-01T00:00:00%2B08:00"), "to"),
        (
            "to before from",
            format!("{base}?from=2026-12-02T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00"),
            "to",
        ),
        (
            "unknown step",
            format!(
                "{base}?from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00&step=week"
            ),
            "step",
        ),
        (
            "too many minutes",
            format!(
                "{base}?from=2026-01-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00&step=minute"
            ),
            "step",
        ),
    ];
    for (description, path, field) in cases {
        let response = admin.get(&path).await;
        assert_eq!(response.status(), 400, "{description}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{description}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{description}");
    }
    let page = admin.get("/smart-core?period=fortnight").await;
    assert_eq!(page.status(), 400, "an unknown period preset");
    let page = admin.get("/smart-core?period=custom&from=2026-12-05&to=2026-12-01").await;
    assert_eq!(page.status(), 400, "custom dates in the wrong order");
}

#[tokio::test]
async fn dashboard_keeps_workers_to_their_area() {
    let app = app_with_grids().await;
    let start = hour_start();
    let token = register(&app, "sc-scope-b", "people_counter", IN_GRID_B1).await;
    post(&app, &token, "sc-scope-b", "peopleCount", start, &[(1, 9.0)]).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    for area in [areas::COMMUNITY_B, areas::STREET] {
        let response = worker.get(&series_path(area, start, 1)).await;
        assert_eq!(response.status(), 403, "series of {area}");
        let stream = worker.get(&format!("/api/v1/smart-core/events?area={area}")).await;
        assert_eq!(stream.status(), 403, "events of {area}");
        let page = worker.get(&format!("/smart-core?area={area}")).await;
        assert_eq!(page.status(), 403, "page of {area}");
    }

    let own = worker.get(&series_path("", start, 1)).await;
    assert_eq!(own.status(), 200);
    let body: Value = own.json().await.unwrap();
    assert_eq!(body["area"], areas::COMMUNITY_A, "without an area the worker's own is shown");
    assert_eq!(group(&body, "foot_traffic")["device_count"], 0);

    let page = worker.get("/smart-core").await.text().await.unwrap();
    assert!(!page.contains("sc-scope-b"), "a device of community B is not listed");
    assert!(!page.contains(&format!("value=\"{}\"", areas::STREET)), "the street is not offered");
}

/// Reads the stream until its text contains `needle`, failing after 15 seconds.
async fn read_until(stream: &mut reqwest::Response, text: &mut String, needle: &str) {
    tokio::time::timeout(Duration::from_secs(15), async {
        while !text.contains(needle) {
            let bytes = stream.chunk().await.unwrap().expect("stream open");
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle} within 15 s; got {text}"));
}

#[tokio::test]
async fn event_stream_delivers_readings_and_alarms() {
    let app = app_with_grids().await;
    let token = register(&app, "sc-live-bin", "waste_bin_fill", IN_GRID_A1).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let rule = json!({"name": "满溢", "kind": "waste_bin_fill", "attribute": "fillingLevel",
        "type": "threshold", "direction": "above", "level": 0.9, "clear_level": 0.5,
        "category_code": "E0101"});
    assert_eq!(admin.post_json("/api/v1/sensor-rules", &rule).await.status(), 201);

    let path = format!("/api/v1/smart-core/events?area={}", areas::COMMUNITY_A);
    let mut stream = admin.get(&path).await;
    assert_eq!(stream.status(), 200);
    let mut text = String::new();
    // The first poll sends every device and the alarm count.
    read_until(&mut stream, &mut text, "\"open\":0").await;
    assert!(text.contains("event: device"), "{text}");
    assert!(text.contains("\"state\":\"no_data\""), "{text}");

    let now = Utc::now() - chrono::Duration::minutes(1);
    post(&app, &token, "sc-live-bin", "fillingLevel", now, &[(0, 0.42)]).await;
    text.clear();
    read_until(&mut stream, &mut text, "42 %").await;
    assert!(text.contains("\"id\":\"sc-live-bin\""), "{text}");
    assert!(text.contains("\"state\":\"normal\""), "{text}");

    let later = Utc::now() - chrono::Duration::seconds(30);
    post(&app, &token, "sc-live-bin", "fillingLevel", later, &[(0, 0.95)]).await;
    text.clear();
    read_until(&mut stream, &mut text, "\"open\":1").await;
    assert!(text.contains("\"state\":\"alarm\""), "{text}");
}

/// Submits the first `action` form (acknowledge or clear) of the page's alarm list with
/// its hidden `back` field.
async fn submit_alarm_form(session: &Session, page: &str, action: &str) -> reqwest::Response {
    let action_end = page.find(&format!("/{action}\" class=\"inline\"")).expect("an alarm form")
        + action.len()
        + 1;
    let path_start = page[..action_end].rfind("/alarms/").unwrap();
    let path = &page[path_start..action_end];
    let marker = "name=\"back\" value=\"";
    let back_start = page[action_end..].find(marker).unwrap() + action_end + marker.len();
    let back_end = page[back_start..].find('"').unwrap() + back_start;
    let back = page[back_start..back_end].replace("&amp;", "&");
    session.post_form(path, &[("back", &back)]).await
}

#[tokio::test]
async fn dashboard_lists_devices_and_handles_alarms_in_place() {
    let app = app_with_grids().await;
    let token = register(&app, "sc-page-bin", "waste_bin_fill", IN_GRID_A1).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let rule = json!({"name": "满溢", "kind": "waste_bin_fill", "attribute": "fillingLevel",
        "type": "threshold", "direction": "above", "level": 0.9, "clear_level": 0.5,
        "category_code": "E0101"});
    assert_eq!(admin.post_json("/api/v1/sensor-rules", &rule).await.status(), 201);
    post(
        &app,
        &token,
        "sc-page-bin",
        "fillingLevel",
        Utc::now() - chrono::Duration::minutes(2),
        &[(0, 0.97)],
    )
    .await;

    let page_path = format!("/smart-core?area={}&period=week", areas::COMMUNITY_A);
    let page = admin.get(&page_path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-device=\"sc-page-bin\""), "the device is in the table");
    assert!(html.contains("97 %"), "its latest value is shown");
    assert!(html.contains("data-alarm="), "its alarm is listed");
    assert!(html.contains("id=\"series-table\""), "the chart data table is present");

    let response = submit_alarm_form(&admin, &html, "acknowledge").await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/smart-core?"), "returns to the dashboard: {location}");
    assert!(location.contains("period=week"), "keeps the period: {location}");
    assert!(location.ends_with("notice=notice-alarm-acknowledged"), "{location}");

    let html = admin.get(&page_path).await.text().await.unwrap();
    let response = submit_alarm_form(&admin, &html, "clear").await;
    assert_eq!(response.status(), 303);
    let alarms: Value = admin.get("/api/v1/alarms?state=all").await.json().await.unwrap();
    assert_eq!(alarms["alarms"][0]["state"], "cleared");

    let fragment = admin.get(&format!("/smart-core/alarms?area={}", areas::COMMUNITY_A)).await;
    assert_eq!(fragment.status(), 200);
    assert!(!fragment.text().await.unwrap().contains("<html"), "the fragment has no layout");
}

#[tokio::test]
async fn replayed_series_drives_the_dashboard() {
    use citycore::sensors::replay::{self, DateRange, Format, PlayOptions, Shift, Sink, Speed};

    let Some(folder) = crate::helpers::shared_data("melbourne-pedestrian-2016-2017") else {
        return;
    };
    let app = app_with_grids().await;
    let range = DateRange {
        from: Some(chrono::NaiveDate::from_ymd_opt(2017, 4, 10).unwrap()),
        until: Some(chrono::NaiveDate::from_ymd_opt(2017, 4, 11).unwrap()),
    };
    let mut series =
        replay::load(&folder, Some(Format::MelbournePedestrian), range).expect("loads");
    let index = app.state.locator.snapshot();
    replay::place::place_in_area(&index, areas::COMMUNITY_A, &mut series.devices).expect("placed");
    replay::register_missing(&app.db, &app.settings, &series.devices).await.expect("registered");
    let shift_ms = Shift::Auto.to_ms(&series, Utc::now().timestamp_millis());
    let sink = Sink::InProcess(app.state.clone());
    let options = PlayOptions { speed: Speed::Max, batch_size: 500, shift_ms, progress: false };
    let summary = replay::play(&series, &sink, &options).await.expect("replayed");
    assert_eq!(summary.stored, series.readings.len(), "every reading stored");

    // The day of the replay, by hour in Shanghai time, from the first shifted reading.
    let first_ms = series.readings.iter().map(|r| r.observed_at_ms).min().unwrap() + shift_ms;
    let start = DateTime::<Utc>::from_timestamp_millis(first_ms - first_ms % 3_600_000).unwrap();
    let admin = app.login_as(Role::Administrator, &[]).await;
    let body: Value =
        admin.get(&series_path(areas::COMMUNITY_A, start, 24)).await.json().await.unwrap();
    let traffic = group(&body, "foot_traffic");
    assert_eq!(traffic["device_count"].as_u64(), Some(series.devices.len() as u64));

    for (hour, value) in values(traffic).into_iter().enumerate() {
        let bucket_ms = start.timestamp_millis() + hour as i64 * 3_600_000;
        let in_hour: Vec<f64> = series
            .readings
            .iter()
            .filter(|r| (bucket_ms..bucket_ms + 3_600_000).contains(&(r.observed_at_ms + shift_ms)))
            .map(|r| r.value)
            .collect();
        let expected = (!in_hour.is_empty()).then(|| in_hour.iter().sum::<f64>());
        assert_eq!(value, expected, "foot traffic in hour {hour}");
    }
    let total: f64 = values(traffic).into_iter().flatten().sum();
    assert!(total > 0.0, "the replayed day has foot traffic");

    let page = admin.get(&format!("/smart-core?area={}", areas::COMMUNITY_A)).await;
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("data-device=\"{}\"", series.devices[0].id)), "listed");
}
