//! The GET forms of `/smart-core` and `/kpis`: with bad input the page comes back with
//! the form, the values as sent and the message beside the rejected input, while the
//! JSON APIs behind them keep returning JSON errors. An area opened by its code is
//! selected in the smart-core form.

use citycore::accounts::Role;
use serde_json::Value;

use crate::{
    cases_loop::app_with_grids,
    helpers::{Session, areas, spawn_app},
};

/// Requests `path` as a browser does, asking for HTML.
async fn get_html(session: &Session, path: &str) -> reqwest::Response {
    let request = session.client.get(session.url(path)).header("accept", "text/html");
    request.send().await.expect("request sent")
}

/// Checks that `html` marks the input `field` as invalid with a message beside it.
fn assert_field_error(html: &str, field: &str, description: &str) {
    assert!(html.contains(&format!("id=\"{field}-error\" class=\"field-error\"")), "{description}");
    assert!(
        html.contains(&format!("aria-describedby=\"{field}-error\""))
            || html.contains(&format!(" {field}-error\"")),
        "{description}: input points at its message"
    );
    assert!(html.contains(&format!("href=\"#{field}\"")), "{description}: summary links the input");
}

#[tokio::test]
async fn smart_core_form_shows_field_errors() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    // (query, rejected field, value the form keeps)
    let cases = [
        ("period=fortnight", "period", None),
        ("period=custom&from=2026-12-05&to=2026-12-01", "to", Some("value=\"2026-12-05\"")),
        ("period=custom&from=2026-13-01&to=2026-12-01", "from", Some("value=\"2026-13-01\"")),
        ("period=custom&from=2026-12-01&to=soon", "to", Some("value=\"soon\"")),
        ("area=999&period=week", "area", None),
    ];
    for (query, field, kept) in cases {
        let response = get_html(&admin, &format!("/smart-core?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{query}: {content_type}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<form method=\"get\" action=\"/smart-core\""), "{query}: form");
        assert_field_error(&html, field, query);
        if let Some(kept) = kept {
            assert!(html.contains(kept), "{query}: keeps {kept}");
        }
        assert!(!html.contains("id=\"device-map\""), "{query}: no dashboard below the form");
    }

    let api = admin
        .get("/api/v1/smart-core/series?from=2026-12-02T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00")
        .await;
    assert_eq!(api.status(), 400);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["field"], "to", "the API still answers JSON: {body}");
}

#[tokio::test]
async fn smart_core_selector_shows_opened_grid() {
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let response = get_html(&admin, &format!("/smart-core?area={}", areas::GRID_A1)).await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let option = format!("<option value=\"{}\" selected>", areas::GRID_A1);
    assert!(html.contains(&option), "the grid is offered and selected");
    let selected = html.matches(" selected>").count();
    assert_eq!(selected, 2, "one area and one period are selected");
}

#[tokio::test]
async fn kpi_form_shows_field_errors() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    // (query, rejected field, value the form keeps)
    let cases = [
        ("from=2026-06-02&to=2026-06-01", "to", "value=\"2026-06-02\""),
        ("from=2026-13-01", "from", "value=\"2026-13-01\""),
        ("group_by=street&from=2026-06-01", "group_by", "value=\"2026-06-01\""),
    ];
    for (query, field, kept) in cases {
        let response = get_html(&admin, &format!("/kpis?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<form method=\"get\" action=\"/kpis\""), "{query}: form");
        assert_field_error(&html, field, query);
        assert!(html.contains(kept), "{query}: keeps {kept}");
        assert!(!html.contains("id=\"kpi-chart\""), "{query}: no figures below the form");
    }
}
