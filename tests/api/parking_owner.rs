//! Lot owners: an administrator names the owner's account on a lot, by the API or an
//! import, and that account then publishes the lot's sharing windows and finds the lot
//! on its bookings page. An unknown account is rejected and nothing is written.

use citycore::accounts::Role;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn lot_with_owner(lot_ref: &str, owner_username: &str) -> Value {
    json!({
        "lot_ref": lot_ref, "name": format!("商户停车场 {lot_ref}"), "owner_type": "merchant",
        "capacity": 12, "longitude": 116.47, "latitude": 39.99,
        "owner_username": owner_username,
    })
}

#[tokio::test]
async fn owner_publishes_windows_and_finds_lot() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let merchant = app.login_as(Role::Merchant, &[]).await;
    let stranger = app.login_as(Role::Merchant, &[]).await;
    let created =
        admin.post_json("/api/v1/parking/lots", &lot_with_owner("OWN", &merchant.username)).await;
    assert_eq!(created.status(), 201);
    let lot: Value = admin.get("/api/v1/parking/lots/OWN").await.json().await.unwrap();
    assert_eq!(lot["ownerUsername"], merchant.username.as_str(), "{lot}");

    let window = json!({"kind": "weekly", "weekdays": [1, 2, 3, 4, 5], "start_time": "19:00",
        "end_time": "08:00", "audience": "resident"});
    let refused = stranger.post_json("/api/v1/parking/lots/OWN/windows", &window).await;
    assert_eq!(refused.status(), 403, "another merchant may not publish");
    let published = merchant.post_json("/api/v1/parking/lots/OWN/windows", &window).await;
    assert_eq!(published.status(), 201);

    let page = merchant.get("/parking/bookings").await.text().await.unwrap();
    assert!(page.contains("href=\"/parking/lots/OWN/sharing\""), "the owner finds the lot");
    let other = stranger.get("/parking/bookings").await.text().await.unwrap();
    assert!(!other.contains("/parking/lots/OWN/sharing"), "others get no link");
    assert!(other.contains("<option value=\"OWN\""), "drivers choose the lot from a list");
    assert_eq!(merchant.get("/parking/lots/OWN/sharing").await.status(), 200);
}

#[tokio::test]
async fn unknown_owner_rejected_naming_field() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let response = admin.post_json("/api/v1/parking/lots", &lot_with_owner("NOONE", "ghost")).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "owner_username", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("ghost"), "{body}");
    assert_eq!(admin.get("/api/v1/parking/lots/NOONE").await.status(), 404, "nothing written");

    let merchant = app.login_as(Role::Merchant, &[]).await;
    let csv = format!(
        "record,lot_ref,name,owner_type,capacity,longitude,latitude,owner_username\n\
         lot,IMP1,商户一,merchant,8,116.47,39.99,{}\n\
         lot,IMP2,商户二,merchant,8,116.47,39.99,ghost\n",
        merchant.username
    );
    let url = admin.url("/api/v1/parking/import");
    let request = admin.client.post(url).header("x-csrf-token", &admin.csrf_token);
    let response =
        request.header("content-type", "text/csv").body(csv.clone()).send().await.unwrap();
    assert_eq!(response.status(), 422, "one unknown owner rejects the file");
    assert_eq!(admin.get("/api/v1/parking/lots/IMP1").await.status(), 404, "all or nothing");

    let fixed = csv.replace(",ghost", &format!(",{}", merchant.username));
    let url = admin.url("/api/v1/parking/import");
    let request = admin.client.post(url).header("x-csrf-token", &admin.csrf_token);
    let response = request.header("content-type", "text/csv").body(fixed).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let lot: Value = admin.get("/api/v1/parking/lots/IMP2").await.json().await.unwrap();
    assert_eq!(lot["ownerUsername"], merchant.username.as_str());
}
