//! Device readings over HTTP: bad input per item, event time, duplicates, conflicts,
//! rollups cut at local midnight, gzip limits, tokens and retention.

use std::{collections::BTreeMap, io::Write};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use citycore::{
    accounts::Role,
    sensors::{
        Attribute, ReadingStore, SensorStore,
        devices::{DeviceInput, register_devices},
        reading::Reading,
    },
};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};

/// Registers one device through the library and returns its token.
pub(crate) async fn register(app: &TestApp, id: &str, kind: &str, capacity: Option<i64>) -> String {
    let input = DeviceInput {
        id: id.to_owned(),
        kind: kind.to_owned(),
        name: format!("测试设备 {id}"),
        longitude: 116.47,
        latitude: 39.99,
        crs: None,
        owner: "街道办".to_owned(),
        capacity,
        parking_space: None,
        merchant: None,
        resident: None,
    };
    let index = app.state.locator.snapshot();
    let mut issued = register_devices(&app.db, &index, vec![input]).await.expect("registered");
    issued.remove(0).token
}

async fn gateway_key(app: &TestApp) -> String {
    citycore::sensors::cli::create_ingest_key(&app.db, "test-gateway").await.expect("key created")
}

pub(crate) async fn post_readings(app: &TestApp, token: &str, readings: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(token)
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Formats the time `hours` before now as RFC 3339 in Shanghai, in whole seconds.
pub(crate) fn hours_ago(hours: i64) -> String {
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    let time = (Utc::now() - Duration::hours(hours)).with_timezone(&shanghai);
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub(crate) async fn admin(app: &TestApp) -> Session {
    app.login_as(Role::Administrator, &[]).await
}

pub(crate) async fn latest(session: &Session, device: &str) -> Vec<Value> {
    let response = session.get(&format!("/api/v1/devices/{device}")).await;
    assert_eq!(response.status(), 200, "device {device} is shown");
    let body: Value = response.json().await.unwrap();
    body["latest"].as_array().unwrap().clone()
}

#[tokio::test]
async fn mixed_batch_stores_only_valid_items() {
    let app = spawn_app().await;
    register(&app, "bin-1", "waste_bin_fill", None).await;
    register(&app, "lot-1", "lot_counter", Some(40)).await;
    register(&app, "thermo-1", "temperature_humidity", None).await;
    let key = gateway_key(&app).await;
    let at = hours_ago(1);
    let item = |device: &str, attribute: &str, value: Value| json!({"device": device, "attribute": attribute, "value": value, "observed_at": at});
    let mut batch = vec![
        item("bin-1", "fillingLevel", json!(0.42)),
        item("ghost-9", "fillingLevel", json!(0.1)),
        item("bin-1", "temperature", json!(20.0)),
        item("thermo-1", "temperature", json!("warm")),
        json!({"device": "thermo-1", "attribute": "temperature", "value": 70, "unit": "FAH",
            "observed_at": at}),
        item("thermo-1", "relativeHumidity", json!("NaN")),
        json!({"device": "thermo-1", "attribute": "temperature", "value": 20,
            "observed_at": hours_ago(-24)}),
        json!({"device": "thermo-1", "attribute": "temperature", "value": 20,
            "observed_at": hours_ago(24 * 60)}),
        item("lot-1", "availableSpotNumber", json!(41)),
        item("lot-1", "availableSpotNumber", json!(-1)),
        item("bin-1", "fillingLevel", json!(1.5)),
        json!({"device": "thermo-1", "attribute": "temperature", "value": 21.5}),
    ];
    batch.push(item("lot-1", "availableSpotNumber", json!(12)));
    batch.push(item("thermo-1", "temperature", json!(-3.5)));

    let (status, body) = post_readings(&app, &key, Value::Array(batch)).await;

    assert_eq!(status, 207, "{body}");
    assert_eq!(body["accepted"], 3, "{body}");
    let rejected: Vec<(u64, String)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        (1, "reading_unknown_device"),
        (2, "reading_unknown_attribute"),
        (3, "reading_wrong_type"),
        (4, "reading_wrong_unit"),
        (5, "reading_not_finite"),
        (6, "reading_time_in_future"),
        (7, "reading_time_too_old"),
        (8, "reading_out_of_range"),
        (9, "reading_out_of_range"),
        (10, "reading_out_of_range"),
        (11, "reading_time_missing"),
    ];
    let expected: Vec<(u64, String)> =
        expected.iter().map(|(i, c)| (*i, (*c).to_owned())).collect();
    assert_eq!(rejected, expected);
    let message = body["rejected"][0]["message"].as_str().unwrap();
    assert!(message.contains("ghost-9"), "message names the device: {message}");

    let session = admin(&app).await;
    assert_eq!(latest(&session, "bin-1").await[0]["value"], 0.42);
    assert_eq!(latest(&session, "lot-1").await[0]["value"], 12.0);
    assert_eq!(latest(&session, "thermo-1").await[0]["value"], -3.5);
}

#[tokio::test]
async fn late_reading_does_not_replace_newer_latest_value() {
    let app = spawn_app().await;
    let token = register(&app, "bin-2", "waste_bin_fill", None).await;
    let reading = |value: f64, at: &str| json!([{"device": "bin-2", "attribute": "fillingLevel", "value": value, "observed_at": at}]);
    let (newer, older) = (hours_ago(1), hours_ago(2));

    let (first, _) = post_readings(&app, &token, reading(0.8, &newer)).await;
    let (second, _) = post_readings(&app, &token, reading(0.3, &older)).await;

    assert_eq!((first, second), (200, 200));
    let values = latest(&admin(&app).await, "bin-2").await;
    assert_eq!(values[0]["value"], 0.8, "the newest measurement stays latest");
    let shown = DateTime::parse_from_rfc3339(values[0]["observed_at"].as_str().unwrap()).unwrap();
    assert_eq!(shown, DateTime::parse_from_rfc3339(&newer).unwrap());
}

/// Reads the day rollups of `device` between two local dates.
pub(crate) async fn day_series(
    session: &Session,
    device: &str,
    attribute: &str,
    from: &str,
    to: &str,
) -> Value {
    let path = format!(
        "/api/v1/devices/{device}/series?attribute={attribute}&step=day&from={}&to={}",
        citycore::http::error::urlencode(from),
        citycore::http::error::urlencode(to)
    );
    let response = session.get(&path).await;
    assert_eq!(response.status(), 200, "series of {device}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn resent_and_conflicting_values_are_kept_apart() {
    let app = spawn_app().await;
    let token = register(&app, "thermo-2", "temperature_humidity", None).await;
    let at = hours_ago(3);
    let reading = |value: f64| {
        json!([{"device": "thermo-2", "attribute": "temperature", "value": value,
            "observed_at": at}])
    };

    let (_, first) = post_readings(&app, &token, reading(20.5)).await;
    let (status, again) = post_readings(&app, &token, reading(20.5)).await;
    let (_, conflicting) = post_readings(&app, &token, reading(22.0)).await;

    assert_eq!(first["duplicates"], json!([]));
    assert_eq!(status, 200);
    assert_eq!(again["duplicates"], json!([0]), "{again}");
    assert_eq!(conflicting["conflicts"], json!([0]), "{conflicting}");
    let session = admin(&app).await;
    assert_eq!(latest(&session, "thermo-2").await[0]["value"], 20.5, "no silent overwrite");
    let conflicts: Value =
        session.get("/api/v1/devices/thermo-2/conflicts").await.json().await.unwrap();
    let listed = &conflicts["conflicts"][0];
    assert_eq!(listed["stored_value"], 20.5);
    assert_eq!(listed["conflicting_value"], 22.0);
    let (from, to) = (hours_ago(24 * 3), hours_ago(-24 * 2));
    let series = day_series(&session, "thermo-2", "temperature", &from, &to).await;
    let total: i64 =
        series["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 1, "the rollup counts the reading once: {series}");
}

/// Count, sum, min, max, first and last of one local day, computed without the app.
#[derive(Debug, Default, PartialEq)]
struct DaySummary {
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
    first: f64,
    last: f64,
}

#[tokio::test]
async fn day_rollups_match_independent_sums() {
    let app = spawn_app().await;
    let token = register(&app, "people-1", "people_counter", None).await;
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    let day: NaiveDate = (Utc::now() - Duration::days(3)).with_timezone(&shanghai).date_naive();
    let start = shanghai.from_local_datetime(&day.and_hms_opt(21, 3, 0).unwrap()).unwrap();
    // Every 7 minutes from 21:03 to about 03:00 the next day, values that vary.
    let readings: Vec<(DateTime<FixedOffset>, i64)> =
        (0..52).map(|n| (start + Duration::minutes(7 * n), (n * 37) % 23)).collect();

    let mut expected: BTreeMap<NaiveDate, DaySummary> = BTreeMap::new();
    for (at, value) in &readings {
        let value = *value as f64;
        let summary = expected.entry(at.date_naive()).or_insert(DaySummary {
            min: f64::MAX,
            max: f64::MIN,
            first: value,
            ..DaySummary::default()
        });
        summary.count += 1;
        summary.sum += value;
        summary.min = summary.min.min(value);
        summary.max = summary.max.max(value);
        summary.last = value;
    }
    // Send them out of order, in three batches, latest first.
    let items: Vec<Value> = readings
        .iter()
        .rev()
        .map(|(at, value)| {
            json!({"device": "people-1", "attribute": "peopleCount", "value": value,
                "observed_at_ms": at.timestamp_millis()})
        })
        .collect();
    for chunk in items.chunks(20) {
        let (status, body) = post_readings(&app, &token, Value::Array(chunk.to_vec())).await;
        assert_eq!(status, 200, "{body}");
    }

    let session = admin(&app).await;
    let from = shanghai.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap();
    let to = from + Duration::days(2);
    let series =
        day_series(&session, "people-1", "peopleCount", &from.to_rfc3339(), &to.to_rfc3339()).await;
    let mut actual: BTreeMap<NaiveDate, DaySummary> = BTreeMap::new();
    for bucket in series["buckets"].as_array().unwrap() {
        let start = DateTime::parse_from_rfc3339(bucket["start"].as_str().unwrap()).unwrap();
        assert_eq!(start.time(), chrono::NaiveTime::MIN, "a day starts at local midnight: {start}");
        assert_eq!(start.offset(), &shanghai, "times carry the local offset");
        let number = |name: &str| bucket[name].as_f64().unwrap();
        actual.insert(
            start.date_naive(),
            DaySummary {
                count: bucket["count"].as_i64().unwrap(),
                sum: number("sum"),
                min: number("min"),
                max: number("max"),
                first: number("first"),
                last: number("last"),
            },
        );
    }
    assert_eq!(expected.len(), 2, "the readings cross local midnight");
    assert_eq!(actual, expected);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post_raw(app: &TestApp, token: &str, body: Vec<u8>, gzipped: bool, csv: bool) -> u16 {
    let mut request = app.client.post(app.url("/api/v1/readings")).bearer_auth(token);
    request = request.header("content-type", if csv { "text/csv" } else { "application/json" });
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    request.body(body).send().await.expect("request sent").status().as_u16()
}

#[tokio::test]
async fn gzip_body_is_accepted_within_decompression_limit() {
    let app = spawn_app_with(|settings| settings.sensors.max_decompressed_bytes = 4096).await;
    let token = register(&app, "bin-3", "waste_bin_fill", None).await;
    let small = json!({"readings": [{"device": "bin-3", "attribute": "fillingLevel",
        "value": 0.5, "observed_at": hours_ago(1)}]});
    let padding = " ".repeat(8192);
    let large = format!("{{\"readings\": []{padding}}}");

    let accepted = post_raw(&app, &token, gzip(small.to_string().as_bytes()), true, false).await;
    let too_large = post_raw(&app, &token, gzip(large.as_bytes()), true, false).await;
    let corrupt = post_raw(&app, &token, b"not gzip at all".to_vec(), true, false).await;

    assert_eq!(accepted, 200);
    assert_eq!(too_large, 413, "a small gzip body that inflates past the limit is refused");
    assert_eq!(corrupt, 400);
}

#[tokio::test]
async fn body_over_batch_limit_is_rejected() {
    let app = spawn_app_with(|settings| settings.sensors.max_batch_bytes = 1024).await;
    let token = register(&app, "bin-4", "waste_bin_fill", None).await;
    let body = format!("{{\"readings\": []{}}}", " ".repeat(2048));
    assert_eq!(post_raw(&app, &token, body.into_bytes(), false, false).await, 413);
}

#[tokio::test]
async fn csv_lines_are_ingested() {
    let app = spawn_app().await;
    let token = register(&app, "spot-1", "parking_space_sensor", None).await;
    let ms = (Utc::now() - Duration::hours(1)).timestamp_millis();
    let body = format!("# device,attribute,value,observed_at\nspot-1,status,occupied,{ms}ms\n");
    assert_eq!(post_raw(&app, &token, body.into_bytes(), false, true).await, 200);
    let values = latest(&admin(&app).await, "spot-1").await;
    assert_eq!(values[0]["attribute"], "status");
    assert_eq!(values[0]["value"], 1.0, "occupied is stored as code 1");
}

#[tokio::test]
async fn device_token_covers_only_its_device_and_rotation_revokes_it() {
    let app = spawn_app().await;
    let token = register(&app, "bin-5", "waste_bin_fill", None).await;
    register(&app, "bin-6", "waste_bin_fill", None).await;
    let at = hours_ago(1);
    let batch = json!([
        {"device": "bin-5", "attribute": "fillingLevel", "value": 0.2, "observed_at": at},
        {"device": "bin-6", "attribute": "fillingLevel", "value": 0.2, "observed_at": at},
    ]);

    let (status, body) = post_readings(&app, &token, batch.clone()).await;
    let (wrong, wrong_body) = post_readings(&app, "0".repeat(64).as_str(), batch.clone()).await;
    let missing = app.client.post(app.url("/api/v1/readings")).json(&json!({"readings": []}));
    let missing = missing.send().await.unwrap();
    let missing_status = missing.status().as_u16();
    let missing_body: Value = missing.json().await.unwrap();

    assert_eq!(status, 207);
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejected"][0]["code"], "reading_device_not_allowed");
    assert_eq!((wrong, missing_status), (401, 401));
    assert_eq!(wrong_body["error"]["code"], "device_token_invalid", "{wrong_body}");
    assert_eq!(missing_body["error"]["code"], "device_token_missing", "{missing_body}");
    let stored_hash = citycore::sensors::hash_token("new-token");
    assert!(app.db.set_device_token("bin-5", &stored_hash).await.unwrap());
    let (after_rotation, _) = post_readings(&app, &token, batch.clone()).await;
    let (with_new, _) = post_readings(&app, "new-token", json!([batch[0].clone()])).await;
    assert_eq!((after_rotation, with_new), (401, 200));
}

#[tokio::test]
async fn purge_deletes_raw_readings_past_retention_and_keeps_rollups() {
    let app = spawn_app().await;
    register(&app, "water-1", "water_meter", None).await;
    let device_id = app.db.device("water-1").await.unwrap().unwrap().device_id;
    let now = Utc::now().timestamp_millis();
    let day_ms = 86_400_000;
    let reading = |age_days: i64, value: f64| Reading {
        device_id,
        attribute: Attribute::WaterConsumption,
        observed_at_ms: now - age_days * day_ms,
        value,
    };
    let zone = app.settings.sensor_time_zone();
    // Written through the store: the HTTP path refuses readings this old.
    app.db.store_readings(&[reading(100, 1.0), reading(1, 2.0)], now, zone).await.unwrap();

    citycore::sensors::cli::purge(&app.db, &app.settings).await.unwrap();

    let raw_left = app.db.purge_readings(i64::MAX).await.unwrap();
    assert_eq!(raw_left, 1, "only the reading inside the 90-day retention was left");
    let day = citycore::sensors::rollup::Step::Day;
    let old_rollups = app
        .db
        .rollups(device_id, Attribute::WaterConsumption, day, now - 101 * day_ms, now - 99 * day_ms)
        .await
        .unwrap();
    assert_eq!(old_rollups.len(), 1, "rollups outlive raw retention");
}

#[tokio::test]
async fn administrator_registers_device_and_its_token_works() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let device = json!({"id": "lot-9", "kind": "lot_counter", "name": "望京停车场入口",
        "longitude": 116.4767, "latitude": 39.9966, "crs": "gcj02", "owner": "物业",
        "capacity": 120});

    let created = session.post_json("/api/v1/devices", &device).await;
    let again = session.post_json("/api/v1/devices", &device).await;
    let invalid = session
        .post_json(
            "/api/v1/devices",
            &json!({"id": "x", "kind": "rocket",
        "name": "n", "longitude": 0, "latitude": 0, "owner": "o"}),
        )
        .await;

    assert_eq!(created.status(), 201);
    let token = created.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(again.status(), 409, "the id is taken");
    assert_eq!(invalid.status(), 422);
    assert_eq!(invalid.json::<Value>().await.unwrap()["error"]["field"], "kind");
    let reading = json!([{"device": "lot-9", "attribute": "availableSpotNumber", "value": 120,
        "observed_at_s": (Utc::now() - Duration::minutes(5)).timestamp()}]);
    let (status, body) = post_readings(&app, &token, reading).await;
    assert_eq!(status, 200, "{body}");
    let device_view: Value = session.get("/api/v1/devices/lot-9").await.json().await.unwrap();
    let longitude = device_view["longitude"].as_f64().unwrap();
    assert!((longitude - 116.4767).abs() > 0.001, "GCJ-02 input was converted: {longitude}");
}

#[tokio::test]
async fn two_values_for_one_time_in_one_batch_keep_the_first() {
    let app = spawn_app().await;
    let token = register(&app, "bin-7", "waste_bin_fill", None).await;
    let at = hours_ago(2);
    let batch = json!([
        {"device": "bin-7", "attribute": "fillingLevel", "value": 0.1, "observed_at": at},
        {"device": "bin-7", "attribute": "fillingLevel", "value": 0.9, "observed_at": at},
        {"device": "bin-7", "attribute": "fillingLevel", "value": 0.1, "observed_at": at},
    ]);

    let (status, body) = post_readings(&app, &token, batch).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["conflicts"], json!([1]));
    assert_eq!(body["duplicates"], json!([2]));
    assert_eq!(latest(&admin(&app).await, "bin-7").await[0]["value"], 0.1);
}
