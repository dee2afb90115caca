//! `GET /api/v1/locate` on generated grids and on the real Beijing district outlines.

use citycore::areas::{crs::Crs, import::ImportOptions};
use serde_json::Value;

use crate::{
    areas::{import, street_collection},
    helpers::{TestApp, shared_data, spawn_app, spawn_app_with},
};

async fn locate(app: &TestApp, query: &str) -> (u16, Value) {
    let response = app.get(&format!("/api/v1/locate?{query}")).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn street_app() -> TestApp {
    let app = spawn_app().await;
    import(&app, &street_collection(), &ImportOptions::default()).await.expect("import");
    app
}

#[tokio::test]
async fn point_inside_grid_returns_grid_and_ancestors() {
    let app = street_app().await;
    let (status, body) = locate(&app, "lat=39.905&lon=116.415").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grid"]["code"], "110105026001002");
    assert_eq!(body["area"]["code"], "110105026001002");
    let ancestors: Vec<_> =
        body["ancestors"].as_array().unwrap().iter().map(|a| a["code"].clone()).collect();
    assert_eq!(ancestors, ["110105026", "110105026001"]);
    assert_eq!(body["on_boundary"], false);
    assert_eq!(body["outside"], false);
    assert_eq!(body["distance_m"], Value::Null);
    assert_eq!(body["crs"], "wgs84");
}

#[tokio::test]
async fn point_on_shared_edge_goes_to_smaller_code() {
    let app = street_app().await;
    let (status, body) = locate(&app, "lat=39.905&lon=116.41").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grid"]["code"], "110105026001001");
    assert_eq!(body["on_boundary"], true);
}

#[tokio::test]
async fn point_in_hole_takes_nearest_grid_flagged_outside() {
    let app = street_app().await;
    // The hole spans 116.403–116.405 E; its centre is about 85 m from the hole's edge.
    let (status, body) = locate(&app, "lat=39.904&lon=116.404").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grid"]["code"], "110105026001001");
    assert_eq!(body["area"]["code"], "110105026001");
    assert_eq!(body["outside"], true);
    let distance = body["distance_m"].as_f64().unwrap();
    assert!((80.0..90.0).contains(&distance), "{distance}");
}

#[tokio::test]
async fn point_beyond_outside_distance_has_no_grid() {
    let app = spawn_app_with(|s| s.locate.max_outside_distance_m = 10.0).await;
    import(&app, &street_collection(), &ImportOptions::default()).await.unwrap();
    let (status, body) = locate(&app, "lat=39.904&lon=116.404").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grid"], Value::Null);
    assert_eq!(body["area"]["code"], "110105026001");
}

#[tokio::test]
async fn point_far_from_every_area_is_not_found() {
    let app = street_app().await;
    let (status, body) = locate(&app, "lat=31.23&lon=121.47").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_in_any_area");
}

#[tokio::test]
async fn bad_query_names_the_field() {
    let app = street_app().await;
    let cases = [
        ("missing lat", "lon=116.4", "coordinate_missing", "lat"),
        ("text lon", "lat=39.9&lon=east", "coordinate_invalid", "lon"),
        ("lat out of range", "lat=95&lon=116.4", "coordinate_invalid", "lat"),
        ("lon out of range", "lat=39.9&lon=181", "coordinate_invalid", "lon"),
        ("unknown crs", "lat=39.9&lon=116.4&crs=bd09", "crs_unknown", "crs"),
    ];
    for (description, query, code, field) in cases {
        let (status, body) = locate(&app, query).await;
        assert_eq!(status, 400, "{description}: {body}");
        assert_eq!(body["error"]["code"], code, "{description}");
        assert_eq!(body["error"]["field"], field, "{description}");
    }
}

/// Imports the 17 Beijing outlines (GCJ-02) with names from the NBS tables.
async fn beijing_app() -> Option<TestApp> {
    let boundaries = shared_data("beijing-district-boundaries-gcj02")?;
    let divisions = shared_data("beijing-admin-divisions-2023")?;
    let mut names = std::collections::HashMap::new();
    for table in ["beijing_provinces.csv", "beijing_areas.csv"] {
        let text = std::fs::read_to_string(divisions.join(table)).unwrap();
        names.extend(citycore::areas::import::parse_names_csv(&text).unwrap());
    }
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&boundaries).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "geojson") {
            let text = std::fs::read_to_string(&path).unwrap();
            sources.push(citycore::areas::features::ImportSource {
                name: path.display().to_string(),
                text,
            });
        }
    }
    assert_eq!(sources.len(), 17);
    let app = spawn_app().await;
    let options = ImportOptions { crs: Crs::Gcj02, names, ..ImportOptions::default() };
    let summary = citycore::areas::import::import_areas(&app.db, &sources, &options).await.unwrap();
    assert_eq!(summary.created_total(), 17);
    app.state.locator.reload(&app.db).await.unwrap();
    Some(app)
}

#[tokio::test]
async fn beijing_districts_resolve_real_points() {
    let Some(app) = beijing_app().await else { return };
    let index = app.state.locator.snapshot();
    let city = index.by_code("110000").unwrap();
    assert_eq!(city.name, "北京市");
    assert_eq!(index.children(city.area_id).len(), 16);

    // Capital Airport exclave of Chaoyang: inside Shunyi's outline but in its hole.
    let (status, body) = locate(&app, "lat=40.07&lon=116.59&crs=gcj02").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["area"]["code"], "110105", "exclave");
    assert_eq!(body["area"]["name"], "朝阳区");
    assert_eq!(body["ancestors"][0]["code"], "110000");
    assert_eq!(body["grid"], Value::Null);
    assert_eq!(body["on_boundary"], false);

    let (_, body) = locate(&app, "lat=39.93&lon=116.47&crs=gcj02").await;
    assert_eq!(body["area"]["code"], "110105", "central Chaoyang");

    // A vertex of Chaoyang's main outline, read from the GCJ-02 file at run time.
    let folder = shared_data("beijing-district-boundaries-gcj02").unwrap();
    let chaoyang: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("110105.geojson")).unwrap())
            .unwrap();
    let vertex = &chaoyang["coordinates"][0][0][100];
    let query = format!("lat={}&lon={}&crs=gcj02", vertex[1], vertex[0]);
    let (_, body) = locate(&app, &query).await;
    assert_eq!(body["area"]["code"], "110105", "vertex");
    assert_eq!(body["on_boundary"], true, "vertex");

    let (status, body) = locate(&app, "lat=39.13&lon=117.20&crs=gcj02").await;
    assert_eq!(status, 404, "Tianjin: {body}");
    assert_eq!(body["error"]["code"], "not_in_any_area");
}

#[tokio::test]
async fn beijing_point_agrees_across_coordinate_systems() {
    let Some(app) = beijing_app().await else { return };
    for (lat, lon) in [(40.07, 116.59), (39.93, 116.47), (39.99, 116.31)] {
        let (_, gcj) = locate(&app, &format!("lat={lat}&lon={lon}&crs=gcj02")).await;
        let (wgs_lon, wgs_lat) = Crs::Gcj02.to_wgs84(lon, lat);
        assert!((gcj["lon"].as_f64().unwrap() - wgs_lon).abs() < 1e-9);
        let (_, wgs) = locate(&app, &format!("lat={wgs_lat}&lon={wgs_lon}")).await;
        assert_eq!(gcj["area"]["code"], wgs["area"]["code"], "{lat},{lon}");
        // The raw GCJ-02 numbers read as WGS-84 land about 600 m away; near a district
        // edge that can change the result, which is why the crs parameter exists.
    }
}
