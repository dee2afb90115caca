//! Notices to residents: audience by area and tags, inbox and read receipts, the live
//! stream, the webhook channel with retries per recipient, the follow-up list, and a
//! scheduled notice sent once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post};
use chrono::Utc;
use citycore::{
    accounts::Role,
    residents::notices::{Channels, store::send_due_notices},
    with_pool,
};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, areas, spawn_app, spawn_app_with};

/// Returns a valid identity number born on 1980-01-01 with sequence `n` (below 1000).
pub(crate) fn identity(n: u32) -> String {
    let body = format!("11010519800101{n:03}");
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn phone(n: u32) -> String {
    format!("138001380{n:02}")
}

async fn household(session: &Session, grid_code: &str) -> i64 {
    let body = json!({ "address": format!("春望里{grid_code}号"), "grid_code": grid_code });
    let response = session.post_json("/api/v1/households", &body).await;
    assert_eq!(response.status(), 201, "household created");
    response.json::<Value>().await.unwrap()["household_id"].as_i64().unwrap()
}

/// Registers resident `n` in `household_id`, returned from 某地 when `returned`.
async fn resident(session: &Session, household_id: i64, n: u32, returned: bool) -> i64 {
    let tags = if returned {
        json!([{ "code": "returned", "from_area": "某地", "since": "2026-11-20" }])
    } else {
        json!([])
    };
    let body = json!({
        "household_id": household_id,
        "name": format!("居民{n}"),
        "identity_number": identity(n),
        "phone": phone(n),
        "relation": if n.is_multiple_of(3) { "head" } else { "child" },
        "tags": tags,
    });
    let response = session.post_json("/api/v1/residents", &body).await;
    assert_eq!(response.status(), 201, "resident {n} created");
    response.json::<Value>().await.unwrap()["resident_id"].as_i64().unwrap()
}

/// Registers residents 1–6 in grid A1, 7–9 in grid A2 and 10–12 in grid B1; every odd
/// one returned from 某地. Returns their ids by number.
pub(crate) async fn street(app: &TestApp) -> HashMap<u32, i64> {
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let tag = json!({ "code": "returned", "name_zh": "返回人员", "name_en": "Returned", "kind": "returned" });
    assert_eq!(admin.post_json("/api/v1/resident-tags", &tag).await.status(), 201);
    let mut ids = HashMap::new();
    for (grid, numbers) in
        [(areas::GRID_A1, 1..=6), (areas::GRID_A2, 7..=9), (areas::GRID_B1, 10..=12)]
    {
        let household_id = household(&admin, grid).await;
        for n in numbers {
            ids.insert(n, resident(&admin, household_id, n, n % 2 == 1).await);
        }
    }
    ids
}

pub(crate) fn returned_notice() -> Value {
    json!({
        "title": "返回人员健康登记",
        "body": "请近日从某地返回的居民到社区登记。",
        "priority": "urgent",
        "audience": { "tags": [{ "code": "returned", "from_area": "某地", "since": "2026-11-01" }] },
    })
}

pub(crate) async fn send(session: &Session, notice: &Value) -> Value {
    let response = session.post_json("/api/v1/resident-notices", notice).await;
    assert_eq!(response.status(), 201, "notice sent");
    response.json().await.unwrap()
}

/// Creates a resident account linked by `worker` to registry record `resident_id`.
pub(crate) async fn resident_account(app: &TestApp, worker: &Session, resident_id: i64) -> Session {
    let (user_id, username, password) = app.create_user(Role::Resident, &[]).await;
    let path = format!("/api/v1/residents/{resident_id}/account");
    let link = json!({ "user_id": user_id });
    assert_eq!(worker.post_json(&path, &link).await.status(), 201, "account linked");
    assert_eq!(worker.post_json(&path, &link).await.status(), 200, "linking again is a no-op");
    app.log_in(&username, &password).await
}

#[tokio::test]
async fn targeted_notice_reaches_inboxes_with_receipts() {
    let app = spawn_app().await;
    let ids = street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    let preview =
        worker.post_json("/api/v1/resident-notices/audience", &returned_notice()["audience"]).await;
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    // Odd residents of community A: 1, 3, 5, 7, 9; community B is outside the scope.
    assert_eq!(preview["count"], 5, "{preview}");

    let reader = resident_account(&app, &worker, ids[&3]).await;
    let outsider = resident_account(&app, &worker, ids[&2]).await;
    let stream = reader.client.get(reader.url("/api/v1/my/notices/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let sent = send(&worker, &returned_notice()).await;
    let notice_id = sent["notice_id"].as_i64().unwrap();
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["recipient_count"], 5);
    assert_eq!(sent["counts"]["unread"], 5);

    // The open stream announces it.
    let mut stream = stream;
    let chunk = tokio::time::timeout(Duration::from_secs(15), async {
        let mut text = String::new();
        while !text.contains("event: notice") {
            let bytes = stream.chunk().await.unwrap().expect("stream open");
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        text
    })
    .await
    .expect("notice event within 15 s");
    assert!(chunk.contains(&format!("\"notice_id\":{notice_id}")), "{chunk}");

    let inbox: Vec<Value> = reader.get("/api/v1/my/notices").await.json().await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0]["read_at"].is_null());
    let outsider_inbox: Vec<Value> = outsider.get("/api/v1/my/notices").await.json().await.unwrap();
    assert!(outsider_inbox.is_empty(), "resident 2 has no returned tag");

    let read_path = format!("/api/v1/my/notices/{notice_id}/read");
    let first: Value = reader.post_json(&read_path, &json!({})).await.json().await.unwrap();
    let again: Value = reader.post_json(&read_path, &json!({})).await.json().await.unwrap();
    assert!(first["read_at"].is_string());
    assert_eq!(first["read_at"], again["read_at"], "the first receipt is kept");
    assert_eq!(outsider.post_json(&read_path, &json!({})).await.status(), 404);

    let view: Value =
        worker.get(&format!("/api/v1/resident-notices/{notice_id}")).await.json().await.unwrap();
    assert_eq!(
        (view["counts"]["read"].as_i64(), view["counts"]["unread"].as_i64()),
        (Some(1), Some(4))
    );
    let unread: Vec<Value> = worker
        .get(&format!("/api/v1/resident-notices/{notice_id}/recipients?unread=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread.len(), 4);
    assert!(unread.iter().all(|row| row["phone"].as_str().unwrap().contains('*')), "masked");

    // The notice and its recipients are hidden from community B's worker.
    let other = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    assert_eq!(other.get(&format!("/api/v1/resident-notices/{notice_id}")).await.status(), 404);
}

#[tokio::test]
async fn bad_notices_name_the_field_and_store_nothing() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let b1 = with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT area_id FROM area WHERE code = $1")
            .bind(areas::GRID_B1)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let mut cases = Vec::new();
    let mut nobody = returned_notice();
    nobody["audience"]["tags"][0]["from_area"] = json!("别处");
    cases.push(("empty audience", nobody, "audience"));
    let mut unknown_tag = returned_notice();
    unknown_tag["audience"]["tags"][0]["code"] = json!("nope");
    cases.push(("unknown tag", unknown_tag, "audience.tags"));
    let mut outside = returned_notice();
    outside["audience"]["area_ids"] = json!([b1]);
    cases.push(("area outside the scope", outside, "audience.area_ids"));
    let mut priority = returned_notice();
    priority["priority"] = json!("asap");
    cases.push(("bad priority", priority, "priority"));
    let mut title = returned_notice();
    title["title"] = json!(" ");
    cases.push(("empty title", title, "title"));
    let mut far = returned_notice();
    far["send_at"] = json!("2099-01-01T08:00:00+08:00");
    cases.push(("too far ahead", far, "send_at"));
    for (name, body, field) in cases {
        let response = worker.post_json("/api/v1/resident-notices", &body).await;
        assert_eq!(response.status(), 422, "{name}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{name}: {error}");
    }
    let stored = with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM notice").fetch_one(pool).await.unwrap()
    });
    assert_eq!(stored, 0, "nothing stored");
}

/// A loopback gateway that refuses phone ...01 once with 503 and phone ...03 always
/// with 400, and accepts everything else. It records each request's phone and checks
/// the signature.
#[derive(Clone, Default)]
struct Gateway {
    calls: Arc<Mutex<Vec<(String, String, bool)>>>,
}

async fn gateway_post(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let payload: Value = serde_json::from_str(&body).unwrap();
    let phone = payload["phone"].as_str().unwrap().to_owned();
    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
    let expected =
        citycore::residents::notices::webhook::signature("gateway-secret", body.as_bytes());
    let signed =
        headers.get("x-citycore-signature").is_some_and(|value| value == expected.as_str());
    let mut calls = gateway.calls.lock().unwrap();
    let earlier = calls.iter().filter(|(p, _, _)| *p == phone).count();
    calls.push((phone.clone(), key, signed));
    if phone.ends_with("01") && earlier == 0 {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    if phone.ends_with("03") {
        return axum::http::StatusCode::BAD_REQUEST;
    }
    axum::http::StatusCode::ACCEPTED
}

#[tokio::test]
async fn webhook_retries_only_failed_recipients() {
    let gateway = Gateway::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let router = axum::Router::new().route("/sms", post(gateway_post)).with_state(gateway.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = spawn_app_with(|settings| {
        settings.notices.webhook_url = url;
        settings.notices.webhook_secret = citycore::config::Secret("gateway-secret".to_owned());
        settings.notices.webhook_retry_seconds = 0;
    })
    .await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let notice_id = send(&worker, &returned_notice()).await["notice_id"].as_i64().unwrap();

    // The server's own notice worker delivers; wait until nothing is pending.
    let path = format!("/api/v1/resident-notices/{notice_id}");
    let counts = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let view: Value = worker.get(&path).await.json().await.unwrap();
            if view["counts"]["webhook_pending"] == 0 {
                return view["counts"].clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("deliveries finished within 30 s");
    assert_eq!(counts["webhook_sent"], 4, "{counts}");
    assert_eq!(counts["webhook_failed"], 1, "{counts}");

    let calls = gateway.calls.lock().unwrap().clone();
    let per_phone = |n: u32| calls.iter().filter(|(p, _, _)| *p == phone(n)).count();
    assert_eq!(per_phone(1), 2, "the refused recipient is retried once");
    assert_eq!(per_phone(3), 1, "a 400 is final");
    for n in [5, 7, 9] {
        assert_eq!(per_phone(n), 1, "recipient {n} gets exactly one copy");
    }
    assert_eq!(calls.len(), 6);
    assert!(calls.iter().all(|(_, _, signed)| *signed), "every request signed");
    let keys: Vec<&String> =
        calls.iter().filter(|(p, _, _)| *p == phone(1)).map(|c| &c.1).collect();
    assert_eq!(keys[0], keys[1], "a retry repeats its idempotency key");
}

#[tokio::test]
async fn follow_up_list_until_reached() {
    let app = spawn_app().await;
    let ids = street(&app).await;
    let sender = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let mut notice = returned_notice();
    notice["follow_up_hours"] = json!(2);
    let notice_id = send(&sender, &notice).await["notice_id"].as_i64().unwrap();
    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let list = |session: &Session| {
        let session = session.client.clone();
        let url = grid_worker.url("/api/v1/resident-notices/follow-up");
        async move { session.get(url).send().await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    assert!(list(&grid_worker).await.is_empty(), "not due before the follow-up hours");

    with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE notice SET follow_up_at = $1")
            .bind(Utc::now())
            .execute(pool)
            .await
            .unwrap();
    });
    let due = list(&grid_worker).await;
    let residents: Vec<i64> = due.iter().map(|row| row["resident_id"].as_i64().unwrap()).collect();
    assert_eq!(residents, [ids[&1], ids[&3], ids[&5]], "only grid A1's unread recipients");

    let path = format!("/api/v1/resident-notices/{notice_id}/follow-ups");
    let call = json!({ "resident_id": ids[&1], "method": "call", "outcome": "not_reached" });
    assert_eq!(grid_worker.post_json(&path, &call).await.status(), 201);
    assert_eq!(list(&grid_worker).await.len(), 3, "not reached: still on the list");
    let visit = json!({ "resident_id": ids[&1], "method": "visit", "outcome": "reached", "note": "已告知" });
    assert_eq!(grid_worker.post_json(&path, &visit).await.status(), 201);
    assert_eq!(list(&grid_worker).await.len(), 2, "reached: off the list");

    let outside = json!({ "resident_id": ids[&7], "method": "call", "outcome": "reached" });
    assert_eq!(grid_worker.post_json(&path, &outside).await.status(), 404, "grid A2 is not theirs");
    let bad = json!({ "resident_id": ids[&3], "method": "letter", "outcome": "reached" });
    assert_eq!(grid_worker.post_json(&path, &bad).await.status(), 422);
}

#[tokio::test]
async fn scheduled_notice_is_sent_once() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let mut notice = returned_notice();
    let send_at = Utc::now() + chrono::Duration::seconds(2);
    notice["send_at"] = json!(send_at.to_rfc3339());
    let stored = send(&worker, &notice).await;
    assert_eq!(stored["status"], "scheduled");
    assert_eq!(stored["recipient_count"], 0);

    // Two senders race with the server's own worker once the time has come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = Utc::now();
    let off = Channels::default();
    let (a, b) =
        tokio::join!(send_due_notices(&app.db, now, off), send_due_notices(&app.db, now, off));
    assert!(a.unwrap() + b.unwrap() <= 1, "at most one of them sends it");
    let rows = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (status, rows): (String, i64) = with_pool!(&app.db, |pool| {
                sqlx::query_as(
                    "SELECT n.status, (SELECT COUNT(*) FROM notice_recipient) FROM notice n",
                )
                .fetch_one(pool)
                .await
                .unwrap()
            });
            if status == "sent" {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("sent within 10 s");
    assert_eq!(rows, 5, "each recipient once");
}
