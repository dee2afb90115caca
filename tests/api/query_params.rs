//! Query strings that do not parse, on the shared query extractor: a repeated or
//! mistyped parameter gets the usual JSON error naming it on every API.

use citycore::accounts::Role;
use serde_json::Value;

use crate::{cases_loop::app_with_grids, helpers::areas};

#[tokio::test]
async fn bad_query_parameters_get_json_errors() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let range = "from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00";
    let community = areas::COMMUNITY_A;
    // (path, code, parameter)
    let cases = [
        (
            format!("/api/v1/smart-core/series?area={community}&{range}&area={community}"),
            "query_parameter_repeated",
            "area",
        ),
        (
            format!("/api/v1/smart-core/events?area={community}&area={community}"),
            "query_parameter_repeated",
            "area",
        ),
        (
            "/api/v1/kpis?group_by=grid&group_by=grid".to_owned(),
            "query_parameter_repeated",
            "group_by",
        ),
        ("/api/v1/alarms?state=open&state=all".to_owned(), "query_parameter_repeated", "state"),
        ("/api/v1/residents?limit=ten".to_owned(), "query_parameter_invalid", "limit"),
        ("/api/v1/cases?overdue=maybe".to_owned(), "invalid_case_filter", "overdue"),
        ("/api/v1/cases?stage=finished".to_owned(), "invalid_case_filter", "stage"),
    ];

    for (path, code, parameter) in cases {
        let response = admin.get(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("application/json"), "{path}: {content_type}");

        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert_eq!(body["error"]["field"], parameter, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(parameter), "{path}: the message names it: {message}");
    }
}

/// The resident list rejects a value out of range with 422, as it does for `limit`.
#[tokio::test]
async fn negative_resident_offset_rejected() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = admin.get("/api/v1/residents?offset=-1").await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resident_offset_invalid", "{body}");
    assert_eq!(body["error"]["field"], "offset", "{body}");
}
