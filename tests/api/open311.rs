//! Open311 GeoReport v2: services, requests in JSON and XML, API keys, tokens and the
//! specification's error body.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// Creates an API key through the library, as `citycore open311 key add` does.
async fn api_key(app: &TestApp) -> String {
    citycore::open311::keys::add_key(&app.db, "test-client").await.expect("key created")
}

/// Builds a valid report of exposed garbage with `key`.
fn report(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("api_key", key.to_owned()),
        ("service_code", "E0101".to_owned()),
        ("description", "路口有一堆垃圾 & <散落>".to_owned()),
        ("lat", "39.99".to_owned()),
        ("long", "116.47".to_owned()),
        ("address_string", "望京街 1 号".to_owned()),
        ("email", "resident@example.org".to_owned()),
    ]
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, String)]) -> reqwest::Response {
    app.client.post(app.url(path)).form(form).send().await.expect("request sent")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// Creates a request and returns its id and token.
async fn create_request(app: &TestApp, key: &str) -> (String, String) {
    let response = post_form(app, "/open311/v2/requests.json", &report(key)).await;
    assert_eq!(response.status(), 201, "request created");
    let body = json_of(response).await;
    let id = body[0]["service_request_id"].as_str().expect("id is a string").to_owned();
    let token = body[0]["token"].as_str().expect("token").to_owned();
    (id, token)
}

/// Reads the property names and required names of a conformance schema, or `None` when the
/// schemas are not checked out beside the repository.
fn schema_keys(name: &str) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/open311-georeport-v2")
        .join(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping schema check: {} not found", path.display());
        return None;
    };
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let properties = schema["properties"].as_object().expect("properties").keys().cloned();
    let required = schema["required"].as_array().expect("required").iter();
    let required = required.map(|name| name.as_str().unwrap().to_owned());
    Some((properties.collect(), required.collect()))
}

/// Checks that `object` has every required key and no key the schema lacks.
fn assert_matches_schema(object: &Value, schema: &str) {
    let Some((properties, required)) = schema_keys(schema) else { return };
    let keys: BTreeSet<String> = object.as_object().expect("an object").keys().cloned().collect();
    let missing: Vec<_> = required.difference(&keys).collect();
    let unknown: Vec<_> = keys.difference(&properties).collect();
    assert!(missing.is_empty(), "{schema}: missing {missing:?} in {object}");
    assert!(unknown.is_empty(), "{schema}: unknown {unknown:?} in {object}");
}

#[tokio::test]
async fn services_list_categories_in_json_and_xml() {
    let app = spawn_app().await;

    let response = app.get("/open311/v2/services.json?locale=en").await;
    assert_eq!(response.status(), 200);
    let services = json_of(response).await;
    let services = services.as_array().expect("a list");
    assert!(!services.is_empty(), "the default catalogue has services");
    for service in services {
        assert_matches_schema(service, "service.json");
        assert_eq!(service["type"], "realtime");
    }
    let garbage = services.iter().find(|s| s["service_code"] == "E0101").expect("E0101 listed");
    assert!(garbage["service_name"].as_str().unwrap().is_ascii(), "English name: {garbage}");

    let response = app.get("/open311/v2/services.xml").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<services><service>"), "{xml}");
    assert!(xml.contains("<service_code>E0101</service_code>"), "{xml}");
}

#[tokio::test]
async fn service_definition_and_discovery_answer() {
    let app = spawn_app().await;

    let definition = json_of(app.get("/open311/v2/services/E0101.json").await).await;
    assert_matches_schema(&definition, "service-definition.json");
    assert_eq!(definition["attributes"], serde_json::json!([]));

    let response = app.get("/open311/v2/services/E9999.xml").await;
    assert_eq!(response.status(), 404);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<errors><error><code>404</code><description>"), "{xml}");

    let discovery = json_of(app.get("/open311/v2/discovery.json").await).await;
    let url = discovery["endpoints"][0]["url"].as_str().unwrap();
    assert!(url.ends_with("/open311/v2"), "{url}");
    let xml = app.get("/open311/v2/discovery.xml").await.text().await.unwrap();
    assert!(xml.contains("<formats><format>application/json</format>"), "{xml}");
}

#[tokio::test]
async fn request_round_trips_in_json_and_xml() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (id, token) = create_request(&app, &key).await;

    let single = json_of(app.get(&format!("/open311/v2/requests/{id}.json")).await).await;
    let request = &single[0];
    assert_matches_schema(request, "request.json");
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "E0101");
    assert_eq!(request["description"], "路口有一堆垃圾 & <散落>");
    assert_eq!(request["address"], "望京街 1 号");
    assert_eq!(request["lat"], 39.99);
    assert_eq!(request["long"], 116.47);
    let requested = request["requested_datetime"].as_str().unwrap();
    assert!(requested.ends_with("+08:00"), "ISO 8601 with offset: {requested}");
    assert!(request.get("email").is_none(), "contact stays private");

    let list = json_of(app.get("/open311/v2/requests.json?status=open").await).await;
    let listed: Vec<&Value> = list.as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service_request_id"], id.as_str());
    let closed = json_of(app.get("/open311/v2/requests.json?status=closed").await).await;
    assert_eq!(closed, serde_json::json!([]));

    let xml = app.get(&format!("/open311/v2/requests/{id}.xml")).await.text().await.unwrap();
    assert!(xml.contains("<service_requests><request>"), "{xml}");
    assert!(xml.contains("&amp; &lt;散落&gt;"), "description escaped: {xml}");
    let xml = app.get("/open311/v2/requests.xml").await.text().await.unwrap();
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")), "{xml}");

    let found = json_of(app.get(&format!("/open311/v2/tokens/{token}.json")).await).await;
    assert_eq!(found[0]["service_request_id"], id.as_str());
}

#[tokio::test]
async fn request_records_channel_and_key_name() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (id, _) = create_request(&app, &key).await;

    use citycore::cases::case::CaseStore;
    let case_id: i64 = id.parse().unwrap();
    let case = app.db.case_by_id(case_id).await.unwrap().expect("case stored");
    assert_eq!(case.channel.as_str(), "open311");
    assert_eq!(case.reporter_user_id, None);
    let events = app.db.case_events(case_id).await.unwrap();
    assert_eq!(events[0].details["api_key"], "test-client");
}

#[tokio::test]
async fn request_accepts_json_body() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let body = serde_json::json!({
        "api_key": key,
        "service_code": "E0101",
        "description": "垃圾桶满了",
        "lat": 39.99,
        "long": 116.47,
    });
    let response =
        app.client.post(app.url("/open311/v2/requests.xml")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<service_request_id>"), "{xml}");
    assert!(xml.contains("<token>"), "{xml}");
}

#[tokio::test]
async fn api_key_missing_or_wrong_is_forbidden() {
    let app = spawn_app().await;
    api_key(&app).await;
    for (description, key) in [("missing", ""), ("wrong", "not-a-key")] {
        let response = post_form(&app, "/open311/v2/requests.json", &report(key)).await;
        assert_eq!(response.status(), 403, "{description}");
        let body = json_of(response).await;
        assert_eq!(body[0]["code"], 403, "{description}");
        let text = body[0]["description"].as_str().unwrap();
        assert!(text.starts_with("api_key"), "{description}: {text}");
    }
    let list = json_of(app.get("/open311/v2/requests.json").await).await;
    assert_eq!(list, serde_json::json!([]), "nothing was written");
}

type BadInputCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [&'a str], &'a str);

#[tokio::test]
async fn bad_input_gets_400_naming_the_parameter() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let long_description = "长".repeat(4_001);
    // Each case: description, parameters set, parameters removed, parameter named.
    let cases: Vec<BadInputCase> = vec![
        ("unknown service", vec![("service_code", "E9999")], &[], "service_code"),
        ("missing location", vec![], &["lat", "long"], "lat"),
        ("address unknown to the gazetteer", vec![], &["lat", "long"], "address_string"),
        ("latitude out of range", vec![("lat", "91")], &[], "lat"),
        ("longitude out of range", vec![("long", "-181")], &[], "long"),
        ("description too long", vec![("description", &long_description)], &[], "description"),
        ("missing description", vec![], &["description"], "description"),
        ("missing service", vec![], &["service_code"], "service_code"),
    ];
    for (description, changes, removed, parameter) in cases {
        let mut form: Vec<(&str, String)> = report(&key)
            .into_iter()
            .filter(|(name, _)| !removed.contains(name))
            .filter(|(name, _)| description != "missing location" || *name != "address_string")
            .collect();
        for (name, value) in changes {
            form.retain(|(existing, _)| *existing != name);
            form.push((name, value.to_owned()));
        }
        let response = post_form(&app, "/open311/v2/requests.json", &form).await;
        assert_eq!(response.status(), 400, "{description}");
        let body = json_of(response).await;
        assert_eq!(body[0]["code"], 400, "{description}");
        let text = body[0]["description"].as_str().unwrap();
        assert!(text.starts_with(&format!("{parameter}:")), "{description}: {text}");
    }

    let response = app
        .client
        .post(app.url("/open311/v2/requests.xml"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "malformed JSON");
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<code>400</code><description>body:"), "{xml}");

    let list = json_of(app.get("/open311/v2/requests.json").await).await;
    assert_eq!(list, serde_json::json!([]), "nothing was written");
}

#[tokio::test]
async fn unknown_request_and_token_are_not_found() {
    let app = spawn_app().await;
    for path in ["/open311/v2/requests/999.json", "/open311/v2/tokens/nothing.json"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body = json_of(response).await;
        assert_eq!(body[0]["code"], 404, "{path}");
    }
    let response = app.get("/open311/v2/requests.json?start_date=yesterday").await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn request_list_filters_by_date_and_service() {
    let app = spawn_app().await;
    let key = api_key(&app).await;
    let (id, _) = create_request(&app, &key).await;
    let count = |list: Value| list.as_array().expect("a list").len();

    let past = "start_date=2020-01-01T00:00:00%2B08:00";
    let listed = json_of(app.get(&format!("/open311/v2/requests.json?{past}")).await).await;
    assert_eq!(count(listed), 1, "created after a past start");

    let future = "/open311/v2/requests.json?start_date=2999-01-01T00:00:00Z";
    assert_eq!(count(json_of(app.get(future).await).await), 0, "future start");

    let old =
        "/open311/v2/requests.json?start_date=2019-01-01T00:00:00Z&end_date=2020-01-01T00:00:00Z";
    assert_eq!(count(json_of(app.get(old).await).await), 0, "range in the past");

    let other = "/open311/v2/requests.json?service_code=C0101";
    assert_eq!(count(json_of(app.get(other).await).await), 0, "other service");

    let both = "/open311/v2/requests.json?service_code=C0101,E0101";
    assert_eq!(count(json_of(app.get(both).await).await), 1, "one of two services");

    let by_id = format!("/open311/v2/requests.json?service_request_id={id},999");
    assert_eq!(count(json_of(app.get(&by_id).await).await), 1, "listed by id");
}
