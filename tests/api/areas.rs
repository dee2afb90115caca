//! Area import, export and the read API, through the library and over HTTP.

use citycore::areas::{
    AreaStore, Level,
    crs::Crs,
    export::{ExportFilter, feature_collection},
    features::ImportSource,
    import::{ImportError, ImportOptions, import_areas},
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Builds a closed square ring with its south-west corner at (`lon`, `lat`).
pub fn square(lon: f64, lat: f64, size: f64) -> Value {
    json!([[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]])
}

pub fn feature(code: &str, name: &str, rings: Value) -> Value {
    json!({
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": rings},
    })
}

/// Builds a street with one community split into two grids; grid 001 has a hole.
///
/// Community 110105026001 covers 116.40–116.42 E, 39.90–39.91 N; grid 001 is the
/// west half, grid 002 the east half, meeting at 116.41 E.
pub fn street_collection() -> Value {
    json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "110105026", "name": "望京街道"}, "geometry": null},
            feature("110105026001", "花家地西里社区", json!([[[116.40, 39.90], [116.42, 39.90], [116.42, 39.91], [116.40, 39.91], [116.40, 39.90]]])),
            feature("110105026001001", "第一网格", json!([
                [[116.40, 39.90], [116.41, 39.90], [116.41, 39.91], [116.40, 39.91], [116.40, 39.90]],
                square(116.403, 39.903, 0.002),
            ])),
            feature("110105026001002", "第二网格", json!([[[116.41, 39.90], [116.42, 39.90], [116.42, 39.91], [116.41, 39.91], [116.41, 39.90]]])),
        ]
    })
}

pub fn source(name: &str, document: &Value) -> ImportSource {
    ImportSource { name: name.to_owned(), text: document.to_string() }
}

/// Imports `document` with `options` and rebuilds the app's index.
pub async fn import(
    app: &TestApp,
    document: &Value,
    options: &ImportOptions,
) -> Result<citycore::areas::import::ImportSummary, ImportError> {
    let summary = import_areas(&app.db, &[source("areas.geojson", document)], options).await?;
    app.state.locator.reload(&app.db).await.expect("reload");
    Ok(summary)
}

fn problems(
    result: Result<citycore::areas::import::ImportSummary, ImportError>,
) -> Vec<(String, String)> {
    match result {
        Err(ImportError::Invalid(problems)) => {
            problems.into_iter().map(|p| (p.code.to_owned(), p.field.unwrap_or_default())).collect()
        }
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn import_infers_levels_and_parents() {
    let app = spawn_app().await;
    let summary = import(&app, &street_collection(), &ImportOptions::default()).await.unwrap();
    assert_eq!(summary.created.get(&Level::Street), Some(&1));
    assert_eq!(summary.created.get(&Level::Grid), Some(&2));
    let index = app.state.locator.snapshot();
    let grid = index.by_code("110105026001002").unwrap();
    let chain: Vec<_> = index.ancestors(grid.area_id).iter().map(|a| a.code.clone()).collect();
    assert_eq!(chain, ["110105026", "110105026001"]);
    let street = index.by_code("110105026").unwrap();
    assert!(index.is_within(grid.area_id, street.area_id));
    assert!(!index.is_within(street.area_id, grid.area_id));
    assert_eq!(index.children(street.area_id).len(), 1);
}

#[tokio::test]
async fn export_then_import_round_trips() {
    let first = spawn_app().await;
    import(&first, &street_collection(), &ImportOptions::default()).await.unwrap();
    let exported =
        feature_collection(&first.db.list_areas().await.unwrap(), ExportFilter::default());

    let second = spawn_app().await;
    import(&second, &exported, &ImportOptions::default()).await.unwrap();
    let described = |areas: Vec<citycore::areas::Area>| -> Vec<_> {
        areas.into_iter().map(|a| (a.code, a.name, a.level, a.geometry)).collect()
    };
    assert_eq!(
        described(first.db.list_areas().await.unwrap()),
        described(second.db.list_areas().await.unwrap())
    );
    let again = feature_collection(&second.db.list_areas().await.unwrap(), ExportFilter::default());
    assert_eq!(exported, again);
}

#[tokio::test]
async fn gcj02_export_round_trips_within_a_centimetre() {
    let app = spawn_app().await;
    import(&app, &street_collection(), &ImportOptions::default()).await.unwrap();
    let gcj = ExportFilter { crs: Crs::Gcj02, level: Some(Level::Community) };
    let exported = feature_collection(&app.db.list_areas().await.unwrap(), gcj);
    let first = &exported["features"][0]["geometry"]["coordinates"][0][0][0];
    assert!((first[0].as_f64().unwrap() - 116.40).abs() > 0.005, "shifted: {first}");

    let other = spawn_app().await;
    let options = ImportOptions { crs: Crs::Gcj02, parent: None, ..ImportOptions::default() };
    let community = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"code": "110105026001", "name": "花家地西里社区"},
        "geometry": exported["features"][0]["geometry"].clone(),
    }]});
    import(&other, &community, &options).await.unwrap();
    let stored = other.state.locator.snapshot();
    let shape = stored.by_code("110105026001").unwrap().geometry.clone().unwrap();
    let corner = shape.0[0].exterior().0[0];
    assert!((corner.x - 116.40).abs() < 1e-7, "{corner:?}");
    assert!((corner.y - 39.90).abs() < 1e-7, "{corner:?}");
}

#[tokio::test]
async fn bad_feature_makes_import_write_nothing() {
    let app = spawn_app().await;
    let mut document = street_collection();
    document["features"][3]["geometry"]["coordinates"][0][4] = json!([116.41, 39.9001]);
    let result = import(&app, &document, &ImportOptions::default()).await;
    assert_eq!(
        problems(result),
        [("ring_unclosed".to_owned(), "features[3].geometry.coordinates[0]".to_owned())]
    );
    assert!(app.db.list_areas().await.unwrap().is_empty());
    assert_eq!(app.db.area_revision().await.unwrap(), 0);
}

#[tokio::test]
async fn every_problem_is_reported_with_its_feature() {
    let app = spawn_app().await;
    let mut document = street_collection();
    document["features"][1]["properties"] = json!({"name": "无编码"});
    document["features"][2]["geometry"] = json!({"type": "Point", "coordinates": [116.4, 39.9]});
    document["features"][3]["properties"]["code"] = json!("110105026001");
    let found = problems(import(&app, &document, &ImportOptions::default()).await);
    let expected = [
        ("property_missing", "features[1].properties.code"),
        ("geometry_not_polygon", "features[2].geometry.type"),
    ];
    for (code, field) in expected {
        assert!(found.contains(&(code.to_owned(), field.to_owned())), "{code} {field}: {found:?}");
    }
}

#[tokio::test]
async fn duplicate_code_in_file_is_rejected() {
    let app = spawn_app().await;
    let mut document = street_collection();
    document["features"][3]["properties"]["code"] = json!("110105026001001");
    let found = problems(import(&app, &document, &ImportOptions::default()).await);
    assert_eq!(found, [("duplicate_code".to_owned(), "features[3].properties.code".to_owned())]);
}

#[tokio::test]
async fn stored_code_needs_update_existing() {
    let app = spawn_app().await;
    import(&app, &street_collection(), &ImportOptions::default()).await.unwrap();
    let mut document = street_collection();
    let found = problems(import(&app, &document, &ImportOptions::default()).await);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found.iter().all(|(code, _)| code == "code_exists"), "{found:?}");

    document["features"][2]["properties"]["name"] = json!("改名网格");
    let update = ImportOptions { update_existing: true, ..ImportOptions::default() };
    let summary = import(&app, &document, &update).await.unwrap();
    assert_eq!(summary.updated_total(), 4);
    let index = app.state.locator.snapshot();
    assert_eq!(index.by_code("110105026001001").unwrap().name, "改名网格");
}

#[tokio::test]
async fn unknown_parent_is_rejected() {
    let app = spawn_app().await;
    let document = json!({"type": "Feature", "properties": {"code": "DEMO-G01", "name": "示范网格", "level": "grid", "parent_code": "DEMO-C01"},
        "geometry": {"type": "Polygon", "coordinates": [square(116.4, 39.9, 0.01)]}});
    let found = problems(import(&app, &document, &ImportOptions::default()).await);
    assert_eq!(
        found,
        [("parent_unknown".to_owned(), "features[0].properties.parent_code".to_owned())]
    );
}

#[tokio::test]
async fn parent_rules_are_checked() {
    let app = spawn_app().await;
    import(&app, &street_collection(), &ImportOptions::default()).await.unwrap();
    let grid = |code: &str, parent: &str| {
        json!({"type": "Feature", "properties": {"code": code, "name": "网格", "parent_code": parent},
            "geometry": {"type": "Polygon", "coordinates": [square(116.4, 39.9, 0.001)]}})
    };
    let cases = [
        ("same level", grid("110105026001009", "110105026001001"), "parent_level"),
        ("other prefix", grid("110108026001009", "110105026001"), "code_prefix_mismatch"),
    ];
    for (description, document, code) in cases {
        let found = problems(import(&app, &document, &ImportOptions::default()).await);
        assert_eq!(found.len(), 1, "{description}: {found:?}");
        assert_eq!(found[0].0, code, "{description}");
        assert_eq!(found[0].1, "features[0].properties.parent_code", "{description}");
    }
}

#[tokio::test]
async fn custom_code_without_level_is_rejected() {
    let app = spawn_app().await;
    let document = json!({"type": "Feature", "properties": {"code": "DEMO-G01", "name": "示范网格"},
        "geometry": {"type": "Polygon", "coordinates": [square(116.4, 39.9, 0.01)]}});
    let found = problems(import(&app, &document, &ImportOptions::default()).await);
    assert_eq!(found, [("level_missing".to_owned(), "features[0].properties.level".to_owned())]);
    let as_grid = ImportOptions { level: Some(Level::Grid), ..ImportOptions::default() };
    assert!(import(&app, &document, &as_grid).await.is_ok());
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let app = spawn_app().await;
    let options = ImportOptions { dry_run: true, ..ImportOptions::default() };
    let summary = import(&app, &street_collection(), &options).await.unwrap();
    assert_eq!(summary.created_total(), 4);
    assert!(app.db.list_areas().await.unwrap().is_empty());
}

#[tokio::test]
async fn area_routes_require_login() {
    let app = spawn_app().await;
    for path in ["/api/v1/areas", "/api/v1/areas/110105", "/api/v1/areas.geojson"] {
        assert_eq!(app.get(path).await.status(), 401, "{path}");
    }
    let response =
        app.client.post(app.url("/api/v1/areas/import")).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn other_node_sees_import_after_refresh() {
    let app = crate::helpers::spawn_app_with(|s| s.locate.refresh_seconds = 1).await;
    import_areas(
        &app.db,
        &[source("areas.geojson", &street_collection())],
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    // The import did not reload this node, so only the refresher can bring it in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.locator.snapshot().by_code("110105026001001").is_none() {
        assert!(std::time::Instant::now() < deadline, "index not refreshed within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
