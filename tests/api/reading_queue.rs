//! The reading queue: batches sent with `Prefer: respond-async` are acknowledged once
//! queued and then written exactly as a direct batch would be.

use citycore::sensors::{store::StoreError, store_write::write_queued};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    sensors::{admin, day_series, hours_ago, latest, post_readings, register},
};

/// Posts `readings` with `Prefer: respond-async`; returns the status, the
/// `Preference-Applied` header and the body.
async fn post_queued(app: &TestApp, token: &str, readings: Value) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(token)
        .header("prefer", "wait=5, respond-async")
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let applied = response
        .headers()
        .get("preference-applied")
        .map(|value| value.to_str().unwrap().to_owned());
    (status, applied, response.json().await.expect("JSON body"))
}

fn temperatures(device: &str, values: &[(f64, i64)]) -> Value {
    let mut items: Vec<Value> = values
        .iter()
        .map(|(value, hours)| {
            json!({"device": device, "attribute": "temperature", "value": value,
                "observed_at": hours_ago(*hours)})
        })
        .collect();
    items.push(json!({"device": device, "attribute": "temperature", "value": "warm",
        "observed_at": hours_ago(1)}));
    Value::Array(items)
}

#[tokio::test]
async fn queued_batch_is_written_like_a_direct_one() {
    let app = spawn_app().await;
    let queued_token = register(&app, "queued-1", "temperature_humidity", None).await;
    let direct_token = register(&app, "direct-1", "temperature_humidity", None).await;
    let values = [(20.5, 3), (21.0, 2), (19.0, 30)];

    let (status, applied, body) =
        post_queued(&app, &queued_token, temperatures("queued-1", &values)).await;
    let (direct_status, direct) =
        post_readings(&app, &direct_token, temperatures("direct-1", &values)).await;

    assert_eq!(status, 207, "one item is rejected: {body}");
    assert_eq!(applied.as_deref(), Some("respond-async"));
    assert_eq!(body["queued"], true);
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["rejected"][0]["index"], 3, "{body}");
    assert_eq!(body["rejected"][0]["field"], "value", "{body}");
    assert!(body.get("duplicates").is_none(), "a queued batch cannot know its duplicates");
    assert_eq!((direct_status, &direct["queued"]), (207, &json!(false)));
    app.settle_reading_queue().await;
    let session = admin(&app).await;
    let newest = latest(&session, "queued-1").await;
    assert_eq!(newest, latest(&session, "direct-1").await, "same latest value");
    assert_eq!(newest[0]["value"], 21.0);
    let (from, to) = (hours_ago(24 * 3), hours_ago(-24));
    let queued_days = day_series(&session, "queued-1", "temperature", &from, &to).await;
    let direct_days = day_series(&session, "direct-1", "temperature", &from, &to).await;
    assert_eq!(queued_days["buckets"], direct_days["buckets"], "same day rollups");
}

#[tokio::test]
async fn queued_resends_and_conflicts_are_found_when_written() {
    let app = spawn_app().await;
    let token = register(&app, "queued-2", "temperature_humidity", None).await;
    let at = hours_ago(3);
    let reading = |value: f64| {
        json!([{"device": "queued-2", "attribute": "temperature", "value": value,
            "observed_at": at}])
    };

    for value in [20.5, 20.5, 22.0] {
        let (status, _, body) = post_queued(&app, &token, reading(value)).await;
        assert_eq!(status, 202, "{body}");
        app.settle_reading_queue().await;
    }

    let session = admin(&app).await;
    assert_eq!(latest(&session, "queued-2").await[0]["value"], 20.5, "no silent overwrite");
    let conflicts: Value =
        session.get("/api/v1/devices/queued-2/conflicts").await.json().await.unwrap();
    assert_eq!(conflicts["conflicts"].as_array().unwrap().len(), 1, "{conflicts}");
    assert_eq!(conflicts["conflicts"][0]["conflicting_value"], 22.0);
    let (from, to) = (hours_ago(24 * 3), hours_ago(-24));
    let series = day_series(&session, "queued-2", "temperature", &from, &to).await;
    let total: i64 =
        series["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 1, "the resend is counted once: {series}");

    let (status, applied, body) = post_queued(&app, &token, temperatures("queued-2", &[])).await;
    assert_eq!((status, applied), (207, None), "nothing to queue: {body}");
    assert_eq!(body["queued"], false, "{body}");
}

/// Queues a row that this build cannot decode, claiming `items` readings. The worker
/// leaves it in place, so it counts against the queue limit.
async fn queue_unreadable_row(app: &TestApp, items: i32) {
    let queue = &app.state.reading_queue.store;
    citycore::with_pool!(&queue.db, |pool| {
        sqlx::query(
            "INSERT INTO sensor_reading_queue (received_at_ms, item_count, body) \
             VALUES ($1, $2, $3)",
        )
        .bind(0_i64)
        .bind(items)
        .bind(vec![9_u8, 1, 0, 0, 0])
        .execute(pool)
        .await
        .map(drop)
    })
    .unwrap();
}

async fn stored_readings(app: &TestApp) -> i64 {
    citycore::with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM sensor_reading").fetch_one(pool).await
    })
    .unwrap()
}

#[tokio::test]
async fn full_queue_refuses_queued_batches_until_written() {
    let app = spawn_app_with(|settings| settings.sensors.max_queued_readings = 2).await;
    let token = register(&app, "queued-3", "temperature_humidity", None).await;
    let three = temperatures("queued-3", &[(20.0, 3), (21.0, 2), (22.0, 1)]);
    let (status, _, body) = post_queued(&app, &token, three).await;
    assert_eq!(status, 207, "a batch over the limit is taken while the queue is below it");
    app.settle_reading_queue().await;
    assert_eq!(stored_readings(&app).await, 3, "{body}");

    queue_unreadable_row(&app, 2).await;
    app.state.reading_queue.wake();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.reading_queue.backlog() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the stuck row was not counted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, applied, body) =
        post_queued(&app, &token, temperatures("queued-3", &[(23.0, 4)])).await;

    assert_eq!(status, 429, "{body}");
    assert_eq!(applied, None);
    assert_eq!(body["error"]["code"], "readings_queue_full", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains('2'), "names the limit: {body}");
    let depth = app.state.reading_queue.store.depth().await.unwrap();
    assert_eq!(depth.readings, 2, "only the stuck row is queued");
    assert_eq!(stored_readings(&app).await, 3, "nothing of the refused batch is stored");
}

#[tokio::test]
async fn unreadable_queued_batch_stays_queued() {
    let app = spawn_app().await;
    queue_unreadable_row(&app, 1).await;
    let queue = &app.state.reading_queue.store;

    let written = write_queued(&app.db, queue, 16, chrono_tz::Asia::Shanghai).await;

    assert!(matches!(written, Err(StoreError::UnreadableQueue(_))), "{written:?}");
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.batches, depth.readings), (1, 1), "the row is kept for a newer build");
}
