//! Merchants and property companies: contacts with protected phones, premises in
//! grids, and reads limited to the viewer's areas.

use citycore::{accounts::Role, with_pool};
use serde_json::{Value, json};

use crate::helpers::{Session, areas, spawn_app};

fn shop(name: &str, grid_code: &str) -> Value {
    json!({
        "name": name,
        "kind": "merchant",
        "credit_code": "91110105MA01ABCD2X",
        "contacts": [{ "name": "李店长", "position": "店长", "phone": "139 1234 5678" }],
        "premises": [{ "address": "春望里1号底商", "grid_code": grid_code }],
    })
}

async fn organisation_count(session: &Session) -> usize {
    let response = session.get("/api/v1/organisations").await;
    assert_eq!(response.status(), 200);
    response.json::<Vec<Value>>().await.unwrap().len()
}

#[tokio::test]
async fn organisation_contacts_masked_and_scoped() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let worker_a = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let response =
        worker_a.post_json("/api/v1/organisations", &shop("春望超市", areas::GRID_A1)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["contacts"][0]["phone"], "139****5678");

    let raw: Vec<String> = with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT phone_sealed FROM organisation_contact")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert!(!raw[0].contains("13912345678"), "phone stored in clear");

    let worker_b = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    assert_eq!(organisation_count(&worker_a).await, 1);
    assert_eq!(organisation_count(&worker_b).await, 0, "B does not see A's shop");
    let path = format!("/api/v1/organisations/{}", created["organisation_id"]);
    assert_eq!(worker_b.get(&path).await.status(), 404);
    assert_eq!(worker_a.get(&path).await.status(), 200);
    let outside =
        worker_a.post_json("/api/v1/organisations", &shop("望湖物业", areas::GRID_B1)).await;
    assert_eq!(outside.status(), 403, "premises outside the scope");
}

#[tokio::test]
async fn organisation_bad_input_names_field_and_writes_nothing() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    assert_eq!(
        admin.post_json("/api/v1/organisations", &shop("春望超市", areas::GRID_A1)).await.status(),
        201
    );
    let cases = [
        ("same name", shop("春望超市", areas::GRID_A1), 409, "name"),
        ("unknown grid", shop("青禾便利店", "110105001009999"), 422, "premises[0].grid_code"),
        (
            "bad phone",
            {
                let mut body = shop("青禾便利店", areas::GRID_A1);
                body["contacts"][0]["phone"] = json!("12-34");
                body
            },
            400,
            "contacts[0].phone",
        ),
        (
            "unknown place",
            {
                let mut body = shop("青禾便利店", areas::GRID_A1);
                body["premises"][0]["place_id"] = json!(999_999);
                body
            },
            422,
            "premises[0].place_id",
        ),
        (
            "no premises",
            {
                let mut body = shop("青禾便利店", areas::GRID_A1);
                body["premises"] = json!([]);
                body
            },
            422,
            "premises",
        ),
    ];
    for (description, body, status, field) in cases {
        let response = admin.post_json("/api/v1/organisations", &body).await;
        assert_eq!(response.status(), status, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{description}");
    }
    assert_eq!(organisation_count(&admin).await, 1, "nothing half-written");
}
