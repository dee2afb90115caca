//! Health, readiness and metrics endpoints.

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_checks_database() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn metrics_use_prometheus_text_format() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(body.contains("citycore_http_requests_total"), "{body}");
    assert!(body.contains("citycore_areas"), "{body}");
}

#[tokio::test]
async fn unknown_api_path_returns_json_error() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/no-such-thing").await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "page_not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("页面不存在"));
}

#[tokio::test]
async fn error_message_follows_accept_language() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/no-such-thing"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("does not exist"));
}
