//! Area routes with real logins: who may read, export and import areas, and the audit
//! trail of an import.

use citycore::{
    accounts::Role,
    audit::{AuditAction, AuditStore},
};

use crate::helpers::{areas, spawn_app};

/// Builds a GeoJSON FeatureCollection with one grid under the test community.
fn grid_feature_collection() -> serde_json::Value {
    serde_json::json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"code": "110105001001009", "name": "测试第九网格"},
            "geometry": {"type": "Polygon", "coordinates": [[
                [116.40, 39.90], [116.41, 39.90], [116.41, 39.91], [116.40, 39.91], [116.40, 39.90]
            ]]}
        }]
    })
}

#[tokio::test]
async fn api_import_by_administrator_is_audited() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = admin.post_json("/api/v1/areas/import", &grid_feature_collection()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let located: serde_json::Value =
        app.get("/api/v1/locate?lat=39.905&lon=116.405").await.json().await.unwrap();
    assert_eq!(located["grid"]["code"], "110105001001009", "{located}");
    assert_eq!(located["ancestors"][2]["code"], areas::COMMUNITY_A, "{located}");
    let entries = app.db.list_audit(Some(AuditAction::AreasImported), 10, 0).await.unwrap();
    assert_eq!(entries.entries.len(), 1);
    assert_eq!(entries.entries[0].actor, admin.username);
}

#[tokio::test]
async fn dispatcher_cannot_import_areas() {
    let app = spawn_app().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let response = dispatcher.post_json("/api/v1/areas/import", &grid_feature_collection()).await;
    assert_eq!(response.status(), 403);
    let count = app.state.locator.snapshot().area_count();
    assert!(
        app.db
            .list_audit(Some(AuditAction::AreasImported), 10, 0)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(count, app.state.locator.snapshot().area_count());
}

#[tokio::test]
async fn staff_read_area_list_detail_and_export() {
    let app = spawn_app().await;
    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;

    let list: serde_json::Value = worker.get("/api/v1/areas").await.json().await.unwrap();
    let codes = list.to_string();
    assert!(codes.contains(areas::GRID_B1), "list covers the street: {codes}");

    let detail = worker.get(&format!("/api/v1/areas/{}", areas::COMMUNITY_A)).await;
    assert_eq!(detail.status(), 200);
    let detail: serde_json::Value = detail.json().await.unwrap();
    assert!(detail.to_string().contains(areas::STREET), "ancestors shown: {detail}");

    let export: serde_json::Value = worker.get("/api/v1/areas.geojson").await.json().await.unwrap();
    assert_eq!(export["type"], "FeatureCollection");
    assert_eq!(export["features"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn resident_cannot_read_area_list() {
    let app = spawn_app().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    assert_eq!(resident.get("/api/v1/areas").await.status(), 403);
    assert_eq!(resident.get("/api/v1/areas.geojson").await.status(), 403);
}
