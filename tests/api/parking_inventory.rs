//! Parking inventory over HTTP: lots and spaces, imports that apply all or nothing, and
//! live occupancy from space sensors, lot counters and manual counts.

use chrono::{Duration, Utc};
use citycore::{
    accounts::Role,
    sensors::devices::{DeviceInput, register_devices},
};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, default_areas, spawn_app, spawn_app_with};

async fn admin(app: &TestApp) -> Session {
    app.login_as(Role::Administrator, &[]).await
}

fn lot_json(lot_ref: &str, capacity: i64) -> Value {
    json!({
        "lot_ref": lot_ref, "name": format!("停车场 {lot_ref}"), "owner_type": "residential",
        "owner_name": "望京西园物业", "capacity": capacity, "longitude": 116.47, "latitude": 39.99,
    })
}

async fn create_lot(session: &Session, lot_ref: &str, capacity: i64) -> Value {
    let response = session.post_json("/api/v1/parking/lots", &lot_json(lot_ref, capacity)).await;
    assert_eq!(response.status(), 201, "lot {lot_ref} created");
    response.json().await.unwrap()
}

async fn create_space(session: &Session, lot_ref: &str, space_ref: &str, closed: bool) {
    let body = json!({"space_ref": space_ref, "lot_ref": lot_ref, "label": space_ref,
        "closed": closed, "shared": true});
    let response = session.post_json("/api/v1/parking/spots", &body).await;
    assert_eq!(response.status(), 201, "space {space_ref} created");
}

async fn put_json(session: &Session, path: &str, body: &Value) -> reqwest::Response {
    let request = session.client.put(session.url(path)).header("x-csrf-token", &session.csrf_token);
    request.json(body).send().await.expect("request sent")
}

async fn import(
    session: &Session,
    body: &str,
    content_type: &str,
    query: &str,
) -> reqwest::Response {
    let url = session.url(&format!("/api/v1/parking/import{query}"));
    let request = session.client.post(url).header("x-csrf-token", &session.csrf_token);
    let request = request.header("content-type", content_type).body(body.to_owned());
    request.send().await.expect("request sent")
}

async fn lot(session: &Session, lot_ref: &str) -> Value {
    let response = session.get(&format!("/api/v1/parking/lots/{lot_ref}")).await;
    assert_eq!(response.status(), 200, "lot {lot_ref} is shown");
    response.json().await.unwrap()
}

/// Registers a device bound to a space or lot ref and returns its token.
async fn register(
    app: &TestApp,
    id: &str,
    kind: &str,
    bound_to: &str,
    capacity: Option<i64>,
) -> String {
    let input = DeviceInput {
        id: id.to_owned(),
        kind: kind.to_owned(),
        name: format!("测试设备 {id}"),
        longitude: 116.47,
        latitude: 39.99,
        crs: None,
        owner: "街道办".to_owned(),
        capacity,
        parking_space: Some(bound_to.to_owned()),
        merchant: None,
        resident: None,
    };
    let index = app.state.locator.snapshot();
    let mut issued = register_devices(&app.db, &index, vec![input]).await.expect("registered");
    issued.remove(0).token
}

fn seconds_ago(seconds: i64) -> String {
    (Utc::now() - Duration::seconds(seconds)).to_rfc3339()
}

async fn post_reading(
    app: &TestApp,
    token: &str,
    device: &str,
    attribute: &str,
    value: Value,
    seconds: i64,
) -> Value {
    let body = json!({"readings": [{"device": device, "attribute": attribute, "value": value,
        "observed_at": seconds_ago(seconds)}]});
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request sent");
    response.json().await.unwrap()
}

#[tokio::test]
async fn lot_and_space_crud_round_trip() {
    let app = spawn_app().await;
    let session = admin(&app).await;

    let created = create_lot(&session, "lot-a", 40).await;
    create_space(&session, "lot-a", "lot-a-001", false).await;
    let updated = put_json(&session, "/api/v1/parking/lots/lot-a", &lot_json("ignored", 45)).await;
    let shown = lot(&session, "lot-a").await;
    let spots: Value = session.get("/api/v1/parking/lots/lot-a/spots").await.json().await.unwrap();
    let listed: Value = session.get("/api/v1/parking/lots").await.json().await.unwrap();

    assert_eq!(created["type"], "OffStreetParking");
    assert_eq!(created["totalSpotNumber"], 40);
    assert_eq!(created["location"], json!({"type": "Point", "coordinates": [116.47, 39.99]}));
    assert_eq!(created["status"], json!(["open"]));
    assert_eq!(updated.status(), 200);
    assert_eq!(shown["id"], "lot-a", "the path names the lot, not the body");
    assert_eq!(shown["totalSpotNumber"], 45);
    assert_eq!(shown["refParkingSpot"], json!(["lot-a-001"]));
    assert_eq!(shown["refParkingGroup"], json!(["lot-a:shared"]));
    assert_eq!(spots[0]["type"], "ParkingSpot");
    assert_eq!(spots[0]["refParkingSite"], "lot-a");
    assert_eq!(spots[0]["status"], "unknown", "no sensor, no count per space");
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn lot_refs_are_unique_and_must_exist() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-a", 10).await;

    let again = session.post_json("/api/v1/parking/lots", &lot_json("lot-a", 10)).await;
    let missing = put_json(&session, "/api/v1/parking/lots/lot-x", &lot_json("lot-x", 10)).await;
    let orphan = session
        .post_json("/api/v1/parking/spots", &json!({"space_ref": "s-1", "lot_ref": "lot-x"}))
        .await;
    let missing_spot = session.get("/api/v1/parking/spots/nothing").await;

    assert_eq!(again.status(), 409);
    assert_eq!(missing.status(), 404);
    assert_eq!(orphan.status(), 404);
    let body: Value = orphan.json().await.unwrap();
    assert_eq!(body["error"]["code"], "parking_lot_not_found");
    assert_eq!(missing_spot.status(), 404);
}

#[tokio::test]
async fn lot_validation_names_each_field() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let mut bad = lot_json("lot a", -1);
    bad["owner_type"] = json!("airport");
    bad["crs"] = json!("bd09");

    let response = session.post_json("/api/v1/parking/lots", &bad).await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["lot_ref", "owner_type", "capacity", "crs"]);
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
}

const GOOD_CSV: &str = "record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude,shared,closed\n\
    lot,lot-a,,望京西园,residential,2,116.47,39.99,,\n\
    space,lot-a,lot-a-1,1号,,,,,true,false\n\
    space,lot-a,lot-a-2,2号,,,,,false,true\n";

#[tokio::test]
async fn csv_import_upserts_by_ref() {
    let app = spawn_app().await;
    let session = admin(&app).await;

    let dry = import(&session, GOOD_CSV, "text/csv", "?dry_run=true").await;
    let after_dry: Value = session.get("/api/v1/parking/lots").await.json().await.unwrap();
    let first = import(&session, GOOD_CSV, "text/csv", "").await;
    let renamed = GOOD_CSV.replace("2,116.47", "3,116.47");
    let second = import(&session, &renamed, "text/csv", "").await;

    assert_eq!(dry.status(), 200);
    assert_eq!(after_dry, json!([]), "a dry run writes nothing");
    assert_eq!(first.status(), 200);
    let report: Value = second.json().await.unwrap();
    assert_eq!(report, json!({"lots": 1, "spaces": 2, "dry_run": false}));
    let shown = lot(&session, "lot-a").await;
    assert_eq!(shown["totalSpotNumber"], 3, "the second import updated the lot");
    assert_eq!(shown["refParkingSpot"], json!(["lot-a-1", "lot-a-2"]));
}

#[tokio::test]
async fn csv_import_with_bad_rows_writes_nothing() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let bad = "record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude\n\
        lot,lot-a,,望京西园,residential,2,116.47,39.99\n\
        lot,lot-b,,商场,shop,5,116.4,39.9\n\
        car,lot-c,,?,public,5,116.4,39.9\n";

    let response = import(&session, bad, "text/csv", "").await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "parking_import_invalid");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|detail| detail["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["row 2: owner_type", "row 3: record"]);
    let lots: Value = session.get("/api/v1/parking/lots").await.json().await.unwrap();
    assert_eq!(lots, json!([]), "the valid first row was not written either");
}

#[tokio::test]
async fn import_of_space_without_lot_rolls_back() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let csv = "record,lot_ref,space_ref,name,owner_type,capacity,longitude,latitude\n\
        lot,lot-a,,望京西园,residential,2,116.47,39.99\n\
        space,lot-z,lot-z-1,,,,,\n";

    let response = import(&session, csv, "text/csv", "").await;

    assert_eq!(response.status(), 404);
    let lots: Value = session.get("/api/v1/parking/lots").await.json().await.unwrap();
    assert_eq!(lots, json!([]), "the lot written before the failing space was rolled back");
}

#[tokio::test]
async fn geojson_import_reads_points_and_properties() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    let geojson = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.48, 39.98]},
         "properties": {"record": "lot", "lot_ref": "lot-g", "name": "写字楼", "owner_type": "office",
                        "capacity": 12, "status": "closed"}},
        {"type": "Feature", "geometry": null,
         "properties": {"record": "space", "lot_ref": "lot-g", "space_ref": "lot-g-1"}}
    ]});

    let response = import(&session, &geojson.to_string(), "application/geo+json", "").await;

    assert_eq!(response.status(), 200);
    let shown = lot(&session, "lot-g").await;
    assert_eq!(shown["location"]["coordinates"], json!([116.48, 39.98]));
    assert_eq!(shown["status"], json!(["closed"]));
    assert_eq!(shown["refParkingSpot"], json!(["lot-g-1"]));
}

#[tokio::test]
async fn space_sensors_count_free_and_occupied_after_debounce() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-s", 3).await;
    create_space(&session, "lot-s", "s-1", false).await;
    create_space(&session, "lot-s", "s-2", false).await;
    create_space(&session, "lot-s", "s-3", true).await;
    let steady = register(&app, "sensor-1", "parking_space_sensor", "s-1", None).await;
    let flapping = register(&app, "sensor-2", "parking_space_sensor", "s-2", None).await;
    let on_closed = register(&app, "sensor-3", "parking_space_sensor", "s-3", None).await;
    post_reading(&app, &steady, "sensor-1", "status", json!("free"), 600).await;
    post_reading(&app, &flapping, "sensor-2", "status", json!("occupied"), 600).await;
    // A free reading 20 s ago has not held the 60 s default yet.
    post_reading(&app, &flapping, "sensor-2", "status", json!("free"), 20).await;
    post_reading(&app, &on_closed, "sensor-3", "status", json!("occupied"), 600).await;

    let shown = lot(&session, "lot-s").await;
    let spots: Value = session.get("/api/v1/parking/lots/lot-s/spots").await.json().await.unwrap();

    assert_eq!(shown["occupancySource"], "space_sensors");
    assert_eq!(shown["availableSpotNumber"], 1);
    assert_eq!(shown["occupiedSpotNumber"], 1, "the flapping sensor still counts as occupied");
    assert!(shown["dateObserved"].as_str().unwrap().ends_with("+08:00"), "{shown}");
    assert_eq!(spots[1]["status"], "occupied");
    assert_eq!(spots[2]["status"], "closed", "a closed space is neither free nor occupied");
}

#[tokio::test]
async fn space_sensor_change_counts_once_held() {
    let app = spawn_app_with(|settings| settings.sensors.parking_status_hold_seconds = 10).await;
    let session = admin(&app).await;
    create_lot(&session, "lot-s", 1).await;
    create_space(&session, "lot-s", "s-1", false).await;
    let token = register(&app, "sensor-1", "parking_space_sensor", "s-1", None).await;
    post_reading(&app, &token, "sensor-1", "status", json!("occupied"), 600).await;
    post_reading(&app, &token, "sensor-1", "status", json!("free"), 20).await;

    let shown = lot(&session, "lot-s").await;

    assert_eq!(shown["availableSpotNumber"], 1, "20 s is longer than the 10 s hold");
    assert_eq!(shown["occupiedSpotNumber"], 0);
}

#[tokio::test]
async fn lot_counter_above_capacity_is_flagged_not_used() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-c", 20).await;
    // The counter was registered for 50 spaces, so ingestion accepts up to 50 free.
    let token = register(&app, "counter-1", "lot_counter", "lot-c", Some(50)).await;
    let stored =
        post_reading(&app, &token, "counter-1", "availableSpotNumber", json!(30), 120).await;

    let flagged = lot(&session, "lot-c").await;
    post_reading(&app, &token, "counter-1", "availableSpotNumber", json!(5), 60).await;
    let counted = lot(&session, "lot-c").await;

    assert_eq!(stored["accepted"], 1);
    assert_eq!(flagged["availableSpotNumber"], Value::Null, "not clamped to 20");
    assert_eq!(flagged["occupancyProblem"]["device"], "counter-1");
    assert_eq!(flagged["occupancyProblem"]["value"], 30.0);
    assert_eq!(flagged["occupancyProblem"]["openCapacity"], 20);
    assert_eq!(counted["occupancySource"], "lot_counter");
    assert_eq!(counted["availableSpotNumber"], 5);
    assert_eq!(counted["occupiedSpotNumber"], 15);
    assert_eq!(counted["occupancyProblem"], Value::Null);
}

#[tokio::test]
async fn negative_lot_counter_reading_is_rejected_at_ingestion() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-c", 20).await;
    let token = register(&app, "counter-1", "lot_counter", "lot-c", Some(20)).await;

    let outcome =
        post_reading(&app, &token, "counter-1", "availableSpotNumber", json!(-2), 60).await;

    assert_eq!(outcome["rejected"][0]["field"], "value", "{outcome}");
    assert_eq!(lot(&session, "lot-c").await["availableSpotNumber"], Value::Null);
}

#[tokio::test]
async fn manual_counts_are_checked_against_open_capacity() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-m", 10).await;
    create_space(&session, "lot-m", "m-1", true).await;
    create_space(&session, "lot-m", "m-2", true).await;
    app.ensure_test_areas().await;
    let worker = app.login_as(Role::GridWorker, default_areas(Role::GridWorker)).await;
    let count = |occupied: i64| json!({ "occupied": occupied });

    let negative = worker.post_json("/api/v1/parking/lots/lot-m/counts", &count(-1)).await;
    let above_open = worker.post_json("/api/v1/parking/lots/lot-m/counts", &count(9)).await;
    let full = worker.post_json("/api/v1/parking/lots/lot-m/counts", &count(8)).await;

    assert_eq!(negative.status(), 422);
    let body: Value = negative.json().await.unwrap();
    assert_eq!(body["error"]["code"], "parking_count_out_of_range");
    assert_eq!(body["error"]["field"], "occupied");
    assert_eq!(above_open.status(), 422, "two of the ten spaces are closed");
    assert_eq!(full.status(), 201);
    let shown: Value = full.json().await.unwrap();
    assert_eq!(shown["occupancySource"], "manual_count");
    assert_eq!(shown["availableSpotNumber"], 0);
    assert_eq!(shown["occupiedSpotNumber"], 8);
    assert_eq!(shown["totalSpotNumber"], 10);
}

#[tokio::test]
async fn closed_lot_is_neither_free_nor_full() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-x", 10).await;
    session.post_json("/api/v1/parking/lots/lot-x/counts", &json!({"occupied": 4})).await;
    let mut closed = lot_json("lot-x", 10);
    closed["status"] = json!("closed");
    put_json(&session, "/api/v1/parking/lots/lot-x", &closed).await;

    let shown = lot(&session, "lot-x").await;
    let count =
        session.post_json("/api/v1/parking/lots/lot-x/counts", &json!({"occupied": 1})).await;

    assert_eq!(shown["status"], json!(["closed"]));
    assert_eq!(shown["availableSpotNumber"], Value::Null);
    assert_eq!(shown["occupiedSpotNumber"], Value::Null);
    assert_eq!(count.status(), 422, "a closed lot has no open space to count");
}

#[tokio::test]
async fn lots_page_lists_free_count_and_age() {
    let app = spawn_app().await;
    let session = admin(&app).await;
    create_lot(&session, "lot-p", 10).await;
    let count = json!({"occupied": 4, "observed_at": seconds_ago(300)});
    session.post_json("/api/v1/parking/lots/lot-p/counts", &count).await;

    let response = session.get("/parking/lots").await;

    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("停车场 lot-p"), "lot name listed");
    assert!(page.contains("6 / 10"), "free of open spaces:\n{page}");
    assert!(page.contains("5 分钟前"), "data age shown");
    assert!(page.contains("人工清点"), "source shown");
    assert!(page.contains("data-longitude=\"116.47\""), "map position in the row");
}
