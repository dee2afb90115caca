//! Case import from 311-style CSV: the real Boston month on the test backend, checked
//! against figures computed here straight from the CSV, and a file with a bad row.

use chrono::{NaiveDateTime, TimeZone};
use citycore::{
    accounts::Role,
    cases::import::{Mapping, insert_cases, parse_file},
};
use serde_json::Value;

use crate::helpers::{TestApp, shared_data, spawn_app};

const BOSTON: &str = "boston-311-2015-06";

/// Figures computed from the CSV with the `csv` crate alone, not the import's code.
struct Expected {
    rows: usize,
    at_city_hall: usize,
    closed: usize,
    median_hours: f64,
}

fn boston_local(text: &str) -> chrono::DateTime<chrono::Utc> {
    let local = NaiveDateTime::parse_from_str(text, "%m/%d/%Y %I:%M:%S %p").unwrap();
    chrono_tz::America::New_York.from_local_datetime(&local).earliest().unwrap().to_utc()
}

fn expected_from_csv(path: &std::path::Path) -> Expected {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|header| header == name).unwrap();
    let (opened, closed, lat, lon) =
        (column("OPEN_DT"), column("CLOSED_DT"), column("LATITUDE"), column("LONGITUDE"));
    let mut expected = Expected { rows: 0, at_city_hall: 0, closed: 0, median_hours: 0.0 };
    let mut hours = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        expected.rows += 1;
        if &record[lat] == "42.3594" && &record[lon] == "-71.0587" {
            expected.at_city_hall += 1;
        }
        if !record[closed].is_empty() {
            expected.closed += 1;
            let seconds =
                (boston_local(&record[closed]) - boston_local(&record[opened])).num_seconds();
            hours.push(seconds as f64 / 3600.0);
        }
    }
    hours.sort_by(f64::total_cmp);
    let middle = hours.len() / 2;
    expected.median_hours = if hours.len() % 2 == 1 {
        hours[middle]
    } else {
        (hours[middle - 1] + hours[middle]) / 2.0
    };
    expected
}

async fn import(app: &TestApp, path: &std::path::Path) -> citycore::cases::import::ImportReport {
    let mapping = Mapping::boston();
    let cases = parse_file(path, &mapping).expect("every Boston row parses");
    insert_cases(&app.db, &app.state.locator.snapshot(), &mapping.source, &cases)
        .await
        .expect("cases stored")
}

#[tokio::test]
async fn boston_month_imports_with_matching_kpis() {
    let Some(folder) = shared_data(BOSTON) else { return };
    let path = folder.join("boston_311_2015-06.csv");
    let expected = expected_from_csv(&path);
    let app = spawn_app().await;

    let report = import(&app, &path).await;

    assert_eq!(report.imported, expected.rows, "imported rows");
    assert_eq!(report.imported, 10_332, "rows stated for the dataset");
    assert_eq!(report.default_location, expected.at_city_hall, "rows at City Hall");
    assert_eq!(report.outside_grids, expected.rows, "Boston lies in no grid of the street");
    // The import writes the log in batches from memory, so each case must get exactly
    // one entry that matches its own row.
    let (events, logged_cases): (i64, i64) = citycore::with_pool!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT e.case_id) FROM case_event e \
             JOIN service_case c ON c.case_id = e.case_id \
             WHERE c.external_source = $1 AND e.action = 'intake' \
             AND e.to_stage = c.stage AND e.occurred_at = c.created_at",
        )
        .bind(Mapping::boston().source)
        .fetch_one(pool)
        .await
    })
    .unwrap();
    assert_eq!((events, logged_cases), (expected.rows as i64, expected.rows as i64), "intake log");

    let admin = app.login_as(Role::Administrator, &[]).await;
    let response = admin.get("/api/v1/kpis?group_by=department").await;
    assert_eq!(response.status(), 200);
    let kpis: Value = response.json().await.unwrap();
    let total = &kpis["total"];
    let closure = total["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|figure| figure["metric"] == "closure")
        .unwrap();
    assert_eq!(closure["numerator"].as_u64().unwrap() as usize, expected.closed, "closed cases");
    assert_eq!(closure["denominator"].as_u64().unwrap() as usize, expected.rows, "all cases");
    let median = total["median_handling_hours"].as_f64().unwrap();
    // The median comes from the handling-time histogram: exact to the minute, or at
    // most a 64th away from the exact value.
    let tolerance = expected.median_hours / 64.0 + 1.0 / 60.0;
    assert!(
        (median - expected.median_hours).abs() <= tolerance,
        "median handling hours {median} against {}",
        expected.median_hours
    );
    assert_eq!(kpis["groups"].as_array().unwrap().len(), 13, "one group per Boston agency");

    let again = parse_file(&path, &Mapping::boston()).unwrap();
    let mapping = Mapping::boston();
    let index = app.state.locator.snapshot();
    let second = insert_cases(&app.db, &index, &mapping.source, &again).await;
    assert!(second.is_err(), "a second import of the same file is rejected");
}

#[tokio::test]
async fn import_reports_bad_rows_and_writes_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("bad.csv");
    std::fs::write(
        &path,
        "CASE_ENQUIRY_ID,OPEN_DT,TARGET_DT,CLOSED_DT,CASE_STATUS,TYPE,Department,LATITUDE,LONGITUDE\n\
         1,06/01/2015 12:28:00 AM,,06/02/2015 01:00:00 PM,Closed,Graffiti,PWDx,42.35,-71.06\n\
         2,2015-06-01 10:00,,,Open,Graffiti,PWDx,42.35,-71.06\n\
         3,06/01/2015 12:28:00 AM,,,Closed,Graffiti,PWDx,42.35,-71.06\n\
         4,06/01/2015 12:28:00 AM,,,Open,Graffiti,PWDx,95,-71.06\n",
    )
    .unwrap();

    let errors = parse_file(&path, &Mapping::boston()).unwrap_err();

    let found: Vec<(u64, &str)> =
        errors.iter().map(|error| (error.line, error.column.as_str())).collect();
    assert_eq!(
        found,
        vec![(3, "OPEN_DT"), (4, "CLOSED_DT"), (5, "LATITUDE")],
        "one error per bad row, naming line and column: {errors:?}"
    );
    assert!(errors[0].reason.contains("2015-06-01 10:00"), "{}", errors[0].reason);
}
