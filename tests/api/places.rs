//! The address gazetteer: CSV import (all or nothing, GCJ-02 converted, audited), the
//! lookup rules through `GET /api/v1/places`, and reports located by address through
//! the JSON API, the report form and Open311.

use citycore::{
    areas::crs::Crs,
    audit::{Actor, AuditAction, AuditStore},
    cases::case::{CaseStore, store::CaseFilter},
    places::{PlaceError, import::import_places, store::list_places},
};
use serde_json::{Value, json};

use crate::{
    cases_loop::app_with_grids,
    helpers::{Session, TestApp, areas},
};

/// Places of the test street: 春望里 in grid A1, its building 3 in grid A2 (so that
/// the longest contained name is visible in the grid), a road in grid B1, and two
/// compounds that share an alias.
const GAZETTEER: &str = "name,aliases,kind,longitude,latitude\n\
    春望里,春望小区,小区,116.405,39.905\n\
    春望里3号楼,,building,116.415,39.905\n\
    青禾路,,道路,116.425,39.905\n\
    明湖东区,明湖小区,residential,116.402,39.902\n\
    明湖西区,明湖小区,residential,116.412,39.902\n";

async fn import(app: &TestApp, file: &str, crs: Crs) -> Result<(), PlaceError> {
    let index = app.state.locator.snapshot();
    import_places(&app.db, &index, file.as_bytes(), crs, &Actor::cli(), "test.csv").await?;
    Ok(())
}

async fn app_with_places() -> TestApp {
    let app = app_with_grids().await;
    import(&app, GAZETTEER, Crs::Wgs84).await.expect("gazetteer imported");
    app
}

async fn case_count(app: &TestApp) -> usize {
    let filter = CaseFilter { limit: 1000, ..CaseFilter::default() };
    app.db.list_cases(&filter).await.expect("cases listed").len()
}

fn report_body(address: &str) -> Value {
    json!({
        "title": "井盖缺失",
        "description": "人行道上的井盖不见了",
        "category_code": "E0101",
        "address": address,
    })
}

async fn lookup(session: &Session, query: &str) -> Value {
    let path = format!("/api/v1/places?q={}", urlencoding(query));
    let response = session.get(&path).await;
    assert_eq!(response.status(), 200, "lookup of {query}");
    response.json().await.unwrap()
}

/// Percent-encodes a query value, so that the test does not lean on the client's
/// handling of raw non-ASCII characters in a URL.
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn import_locates_converts_and_audits() {
    let app = app_with_places().await;
    let places = list_places(&app.db).await.unwrap();
    assert_eq!(places.len(), 5);
    let index = app.state.locator.snapshot();
    let building = places.iter().find(|place| place.name == "春望里3号楼").unwrap();
    let grid = index.area(building.grid_id.expect("building is in a grid")).unwrap();
    assert_eq!(grid.code, areas::GRID_A2);
    let compound = places.iter().find(|place| place.name == "春望里").unwrap();
    assert_eq!(compound.aliases, vec!["春望小区"]);

    let (longitude, latitude) = Crs::Gcj02.from_wgs84(116.425, 39.906);
    let shifted = format!(
        "name,aliases,kind,longitude,latitude\n青禾路,青禾大道,road,{longitude},{latitude}\n"
    );
    import(&app, &shifted, Crs::Gcj02).await.expect("GCJ-02 file imported");
    let places = list_places(&app.db).await.unwrap();
    assert_eq!(places.len(), 5, "a place of the same name is replaced, not added");
    let road = places.iter().find(|place| place.name == "青禾路").unwrap();
    assert!((road.longitude - 116.425).abs() < 1e-5, "{}", road.longitude);
    assert!((road.latitude - 39.906).abs() < 1e-5, "{}", road.latitude);
    assert_eq!(road.aliases, vec!["青禾大道"]);

    let audit = app.db.list_audit(Some(AuditAction::PlacesImported), 10, 0).await.unwrap();
    assert_eq!(audit.total, 2, "each import is audited");
}

#[tokio::test]
async fn import_bad_row_writes_nothing() {
    let app = app_with_grids().await;
    let file = format!("{GAZETTEER}望晴里,,castle,116.405,39.905\n");
    let Err(PlaceError::Import(errors)) = import(&app, &file, Crs::Wgs84).await else {
        panic!("a file with an unknown kind is refused");
    };
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].line, 7);
    assert_eq!(errors.0[0].column.as_deref(), Some("kind"));
    assert!(list_places(&app.db).await.unwrap().is_empty(), "nothing written");
    let audit = app.db.list_audit(Some(AuditAction::PlacesImported), 10, 0).await.unwrap();
    assert_eq!(audit.total, 0, "a refused import is not audited");
}

#[tokio::test]
async fn lookup_rules_through_api() {
    let app = app_with_places().await;
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    let cases = [
        ("exact name", "春望里", Some("春望里")),
        ("alias", "春望小区", Some("春望里")),
        ("full-width digit and spaces", "春望里 ３号楼", Some("春望里3号楼")),
        ("longest contained name", "春望里3号楼东侧", Some("春望里3号楼")),
        ("shorter contained name", "春望里南门", Some("春望里")),
        ("shared alias", "明湖小区", None),
        ("unknown", "望京西园", None),
    ];
    for (description, query, expected) in cases {
        let body = lookup(&resident, query).await;
        assert_eq!(body["match"]["name"].as_str(), expected, "{description}: {body}");
    }
    let ambiguous = lookup(&resident, "明湖小区").await;
    assert_eq!(ambiguous["ambiguous"], true);
    assert_eq!(ambiguous["candidates"].as_array().unwrap().len(), 2, "both offered");

    let found = lookup(&resident, "春望里3号楼").await;
    assert_eq!(found["match"]["grid"]["code"], areas::GRID_A2);
    assert_eq!(found["match"]["community"]["code"], areas::COMMUNITY_A);
    assert_eq!(found["match"]["longitude"], 116.415);

    let typed = lookup(&resident, "春望").await;
    assert!(typed["match"].is_null(), "a partial name matches nothing");
    assert_eq!(typed["candidates"].as_array().unwrap().len(), 2, "but both are suggested");

    let missing = resident.get("/api/v1/places?q=").await;
    assert_eq!(missing.status(), 400);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["field"], "q");
}

#[tokio::test]
async fn report_by_address_locates_grid() {
    let app = app_with_places().await;
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    let response = resident.post_json("/api/v1/cases", &report_body("春望里3号楼东侧")).await;
    assert_eq!(response.status(), 201);
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["address"], "春望里3号楼东侧", "the address is kept as given");
    assert_eq!(case["longitude"], 116.415);
    let index = app.state.locator.snapshot();
    let grid = index.area(case["grid_id"].as_i64().expect("located to a grid")).unwrap();
    assert_eq!(grid.code, areas::GRID_A2);

    let case_id = case["case_id"].as_i64().unwrap();
    let page = resident.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains("春望里3号楼东侧"), "the case page shows the address");
    let token = case["tracking_token"].as_str().unwrap();
    let tracking = app.get(&format!("/track/{token}")).await.text().await.unwrap();
    assert!(tracking.contains("春望里3号楼东侧"), "the tracking page shows the address");
}

#[tokio::test]
async fn coordinates_win_over_address() {
    let app = app_with_places().await;
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    let mut body = report_body("小卖部对面");
    body["longitude"] = json!(116.425);
    body["latitude"] = json!(39.905);
    let response = resident.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 201, "an address unknown to the gazetteer is fine");
    let case: Value = response.json().await.unwrap();
    assert_eq!(case["address"], "小卖部对面");
    let index = app.state.locator.snapshot();
    assert_eq!(index.area(case["grid_id"].as_i64().unwrap()).unwrap().code, areas::GRID_B1);
}

#[tokio::test]
async fn unresolved_address_is_rejected() {
    let app = app_with_places().await;
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    for (address, code) in
        [("望京西园", "place_address_unknown"), ("明湖小区", "place_address_ambiguous")]
    {
        let response = resident.post_json("/api/v1/cases", &report_body(address)).await;
        assert_eq!(response.status(), 422, "{address}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{address}");
        assert_eq!(body["error"]["field"], "address", "{address}");
    }
    assert_eq!(case_count(&app).await, 0, "nothing written");
}

#[tokio::test]
async fn report_form_resolves_address() {
    let app = app_with_places().await;
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    let html = resident.get("/cases/new").await.text().await.unwrap();
    assert!(html.contains("name=\"address\""), "the form has an address field");

    let fields = |address: &'static str| {
        [
            ("category_code", "E0101"),
            ("title", "井盖缺失"),
            ("description", "人行道上的井盖不见了"),
            ("address", address),
        ]
    };
    let refused = resident.post_form("/cases/new", &fields("春望")).await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("id=\"address-error\""), "the error sits at the address field");
    assert!(page.contains("春望里3号楼"), "suggestions are named without scripts");
    assert_eq!(case_count(&app).await, 0, "nothing written");

    let accepted = resident.post_form("/cases/new", &fields("青禾路")).await;
    assert_eq!(accepted.status(), 303);
    let cases = app.db.cases_by_reporter(resident.user_id, 10).await.unwrap();
    assert_eq!(cases[0].address.as_deref(), Some("青禾路"));
    let index = app.state.locator.snapshot();
    assert_eq!(index.area(cases[0].grid_id.unwrap()).unwrap().code, areas::GRID_B1);
}

#[tokio::test]
async fn open311_address_string_round_trip() {
    let app = app_with_places().await;
    let key = citycore::open311::keys::add_key(&app.db, "test-client").await.unwrap();
    let form = |address: &'static str| {
        vec![
            ("api_key", key.clone()),
            ("service_code", "E0101".to_owned()),
            ("description", "路口有一堆垃圾".to_owned()),
            ("address_string", address.to_owned()),
        ]
    };
    let url = app.url("/open311/v2/requests.json");
    let created = app.client.post(&url).form(&form("春望小区")).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    let id = body[0]["service_request_id"].as_str().unwrap().to_owned();

    let read = app.get(&format!("/open311/v2/requests/{id}.json")).await;
    let request: Value = read.json().await.unwrap();
    assert_eq!(request[0]["address"], "春望小区");
    assert_eq!(request[0]["long"], 116.405);
    assert_eq!(request[0]["lat"], 39.905);

    let refused = app.client.post(&url).form(&form("望京西园")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let errors: Value = refused.json().await.unwrap();
    let description = errors[0]["description"].as_str().unwrap();
    assert!(description.starts_with("address_string:"), "{description}");
    assert_eq!(case_count(&app).await, 1, "the refused request wrote nothing");
}

#[tokio::test]
async fn lookup_shows_the_grid_of_the_current_areas() {
    let app = crate::helpers::spawn_app().await;
    import(&app, GAZETTEER, Crs::Wgs84).await.expect("imported before the grids existed");
    let resident = app.login_as(citycore::accounts::Role::Resident, &[]).await;
    let before = lookup(&resident, "春望里3号楼").await;
    assert!(before["match"]["grid"].is_null(), "no grid yet: {before}");

    crate::cases_loop::add_grids(&app).await;
    let after = lookup(&resident, "春望里3号楼").await;
    assert_eq!(after["match"]["grid"]["code"], areas::GRID_A2, "{after}");
    assert_eq!(after["match"]["community"]["code"], areas::COMMUNITY_A);
}
