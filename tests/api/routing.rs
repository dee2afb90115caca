//! Routing rules, routing at intake and dispatch, re-classification and the
//! department scope of handlers, through the JSON API.

use citycore::{
    accounts::{
        Role,
        service::{AccountInput, create_account},
    },
    audit::Actor,
    cases::routing::service::{export_rules, import_rules},
};
use serde_json::{Value, json};

use crate::{
    cases_loop::{IN_GRID_A1, IN_GRID_B1, app_with_grids},
    helpers::{Session, TestApp, areas},
};

async fn put_rules(session: &Session, rules: Value) -> reqwest::Response {
    let request = session
        .client
        .put(session.url("/api/v1/routing-rules"))
        .header("x-csrf-token", &session.csrf_token);
    request.json(&json!({ "rules": rules })).send().await.expect("request sent")
}

/// Replaces the rules as an administrator and checks the request succeeded.
async fn set_rules(app: &TestApp, rules: Value) {
    let admin = app.login_as(Role::Administrator, &[]).await;
    let response = put_rules(&admin, rules).await;
    let status = response.status();
    assert_eq!(status, 200, "rules replaced: {}", response.text().await.unwrap());
}

fn rule(basis: &str, area_code: &str, category: Option<&str>, department: &str) -> Value {
    json!({
        "basis": basis,
        "area_code": area_code,
        "category": category,
        "department_code": department,
    })
}

/// Reports a case of `category` at `point` as a resident and returns its JSON view.
async fn report(app: &TestApp, category: &str, point: (f64, f64)) -> Value {
    let resident = app.login_as(Role::Resident, &[]).await;
    let body = json!({
        "title": "测试案件",
        "description": "现场情况说明",
        "category_code": category,
        "longitude": point.0,
        "latitude": point.1,
    });
    let response = resident.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 201, "report accepted");
    response.json().await.unwrap()
}

async fn act(session: &Session, case: &Value, action: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({ "action": action, "expected_version": case["version"] });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        body[key] = value;
    }
    let path = format!("/api/v1/cases/{}/transitions", case["case_id"]);
    session.post_json(&path, &body).await
}

/// Takes `action` and returns the updated case, failing unless the status is 200.
async fn act_ok(session: &Session, case: &Value, action: &str, extra: Value) -> Value {
    let response = act(session, case, action, extra).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {json}");
    json
}

async fn read(session: &Session, case_id: &Value) -> reqwest::Response {
    session.get(&format!("/api/v1/cases/{case_id}")).await
}

/// Creates a handler of the street with `department` and logs them in.
async fn handler_of(app: &TestApp, department: &str) -> Session {
    let username = format!("handler-{}", department.to_ascii_lowercase());
    let password = "handler-password-1".to_owned();
    let input = AccountInput {
        username: username.clone(),
        display_name: format!("{department} 处置人员"),
        role: Role::Handler,
        area_codes: vec![areas::STREET.to_owned()],
        locale: None,
        department_code: Some(department.to_owned()),
        password: Some(password.clone()),
    };
    let index = app.state.locator.snapshot();
    create_account(&app.db, &index, input, &Actor::cli()).await.expect("handler created");
    app.log_in(&username, &password).await
}

fn intake_routing(case: &Value) -> Value {
    case["events"][0]["details"]["routing"].clone()
}

#[tokio::test]
async fn component_goes_to_its_owner_rule() {
    let app = app_with_grids().await;
    set_rules(
        &app,
        json!([
            rule("territory", areas::GRID_A1, None, "CGZF"),
            rule("owner", areas::STREET, Some("C01"), "ZJS"),
        ]),
    )
    .await;
    let case = report(&app, "C0101", IN_GRID_A1).await;
    assert_eq!(case["department_code"], "ZJS", "owner before territory for components");

    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let view: Value = read(&dispatcher, &case["case_id"]).await.json().await.unwrap();
    let routing = intake_routing(&view);
    assert_eq!(routing["basis"], "owner");
    assert_eq!(routing["area_code"], areas::STREET);
    assert_eq!(routing["category"], "C01");
    assert!(routing["rule_id"].as_i64().is_some(), "{routing}");
}

#[tokio::test]
async fn event_goes_to_territory_before_owner() {
    let app = app_with_grids().await;
    set_rules(
        &app,
        json!([
            rule("owner", areas::GRID_A1, None, "ZJS"),
            rule("territory", areas::COMMUNITY_A, None, "CGZF"),
        ]),
    )
    .await;
    let case = report(&app, "E0101", IN_GRID_A1).await;
    assert_eq!(case["department_code"], "CGZF");
}

#[tokio::test]
async fn more_specific_area_rule_wins() {
    let app = app_with_grids().await;
    set_rules(
        &app,
        json!([
            rule("territory", areas::STREET, Some("E0101"), "CGZF"),
            rule("territory", areas::GRID_A1, None, "YLS"),
        ]),
    )
    .await;
    let in_a1 = report(&app, "E0101", IN_GRID_A1).await;
    assert_eq!(in_a1["department_code"], "YLS", "grid rule beats the street rule");
    let in_b1 = report(&app, "E0101", IN_GRID_B1).await;
    assert_eq!(in_b1["department_code"], "CGZF", "street rule applies in another grid");
}

#[tokio::test]
async fn case_without_matching_rule_keeps_category_default() {
    let app = app_with_grids().await;
    set_rules(&app, json!([rule("territory", areas::GRID_B1, None, "CGZF")])).await;
    let case = report(&app, "E0101", IN_GRID_A1).await;
    assert_eq!(case["department_code"], "HWS", "default department of E0101");
    let outside = report(&app, "E0101", (120.0, 30.0)).await;
    assert_eq!(outside["outside_grids"], true);
    assert_eq!(outside["department_code"], "HWS", "outside every grid");

    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let view: Value = read(&dispatcher, &case["case_id"]).await.json().await.unwrap();
    assert_eq!(intake_routing(&view)["basis"], "category_default");
}

#[tokio::test]
async fn dispatch_keeps_routed_department_unless_overridden() {
    let app = app_with_grids().await;
    set_rules(&app, json!([rule("territory", areas::GRID_A1, None, "CGZF")])).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let case = report(&app, "E0101", IN_GRID_A1).await;
    let case = act_ok(&dispatcher, &case, "file", json!({})).await;
    let dispatched = act_ok(&dispatcher, &case, "dispatch", json!({})).await;
    assert_eq!(dispatched["department_code"], "CGZF", "routed department kept");

    let other = report(&app, "E0101", IN_GRID_A1).await;
    let other = act_ok(&dispatcher, &other, "file", json!({})).await;
    let overridden =
        act_ok(&dispatcher, &other, "dispatch", json!({ "department_code": "YLS" })).await;
    assert_eq!(overridden["department_code"], "YLS", "dispatcher's choice wins");
    let view: Value = read(&dispatcher, &other["case_id"]).await.json().await.unwrap();
    let dispatch = view["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(dispatch["details"]["chosen_by"], "dispatcher");
}

#[tokio::test]
async fn reclassify_changes_category_department_and_deadline() {
    let app = app_with_grids().await;
    set_rules(&app, json!([rule("owner", areas::COMMUNITY_A, Some("C0103"), "ZJS")])).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;

    let case = report(&app, "E0101", IN_GRID_A1).await;
    let case = act_ok(&dispatcher, &case, "file", json!({})).await;
    let case = act_ok(&dispatcher, &case, "dispatch", json!({})).await;
    let case = act_ok(&handler, &case, "accept", json!({})).await;
    assert_eq!(case["department_code"], "HWS");
    let old_handling_due = case["handling_due_at"].as_str().unwrap().to_owned();

    let changed =
        act_ok(&dispatcher, &case, "reclassify", json!({ "category_code": "C0103" })).await;
    assert_eq!(changed["case_id"], case["case_id"], "same case id");
    assert_eq!(changed["category_code"], "C0103");
    assert_eq!(changed["department_code"], "ZJS", "routed again by the owner rule");
    assert_eq!(changed["stage"], "dispatched", "the new department accepts again");
    let new_handling_due = changed["handling_due_at"].as_str().unwrap();
    let parse = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    assert!(
        parse(new_handling_due) > parse(&old_handling_due),
        "3 working days of C0103 end after 4 working hours of E0101: \
         {new_handling_due} vs {old_handling_due}"
    );
    assert_eq!(changed["due_at"], changed["handling_due_at"]);

    let view: Value = read(&dispatcher, &case["case_id"]).await.json().await.unwrap();
    let event = view["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(event["action"], "reclassify");
    assert_eq!(event["details"]["from_category"], "E0101");
    assert_eq!(event["details"]["to_category"], "C0103");
    assert_eq!(event["details"]["routing"]["basis"], "owner");

    // The search index follows the new category's names.
    let found: Value =
        dispatcher.get("/api/v1/cases?q=%E8%B7%AF%E7%81%AF").await.json().await.unwrap();
    let ids: Vec<&Value> = found.as_array().unwrap().iter().map(|c| &c["case_id"]).collect();
    assert_eq!(ids, vec![&case["case_id"]], "路灯 finds the re-classified case");
}

#[tokio::test]
async fn reclassify_before_dispatch_recomputes_dispatch_deadline() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let case = report(&app, "E0101", IN_GRID_A1).await;
    let changed = act_ok(
        &dispatcher,
        &case,
        "reclassify",
        json!({ "category_code": "E0104", "department_code": "YLS" }),
    )
    .await;
    assert_eq!(changed["stage"], "intake");
    assert_eq!(changed["category_code"], "E0104");
    assert_eq!(changed["department_code"], "YLS", "named department wins over routing");
    assert_eq!(changed["due_at"], changed["dispatch_due_at"]);
    assert_eq!(changed["version"], 2);
}

#[tokio::test]
async fn reclassify_rejects_bad_input_and_late_stages() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;
    let case = report(&app, "E0101", IN_GRID_A1).await;

    let cases = [
        ("missing category", json!({}), "routing_reclassify_category_missing"),
        ("unknown category", json!({ "category_code": "E0999" }), "unknown_category"),
        ("same category", json!({ "category_code": "E0101" }), "routing_reclassify_same_category"),
    ];
    for (description, extra, code) in cases {
        let response = act(&dispatcher, &case, "reclassify", extra).await;
        assert_eq!(response.status(), 422, "{description}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{description}: {body}");
        assert_eq!(body["error"]["field"], "category_code", "{description}");
    }

    let case = act_ok(&dispatcher, &case, "file", json!({})).await;
    let case = act_ok(&dispatcher, &case, "dispatch", json!({})).await;
    let case = act_ok(&handler, &case, "accept", json!({})).await;
    let response = act(&handler, &case, "reclassify", json!({ "category_code": "E0102" })).await;
    assert_eq!(response.status(), 403, "handlers may not reclassify");

    let case = act_ok(&handler, &case, "report_done", json!({})).await;
    let response = act(&dispatcher, &case, "reclassify", json!({ "category_code": "E0102" })).await;
    assert_eq!(response.status(), 422, "not allowed in feedback");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "case_action_not_allowed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("verify, rework"), "lists the allowed actions: {message}");
}

#[tokio::test]
async fn allowed_actions_list_reclassify_for_dispatchers() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let case = report(&app, "E0101", IN_GRID_A1).await;
    let view: Value = read(&dispatcher, &case["case_id"]).await.json().await.unwrap();
    let allowed: Vec<&str> =
        view["allowed_actions"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(allowed.contains(&"reclassify"), "{allowed:?}");
}

#[tokio::test]
async fn handler_of_another_department_cannot_read_or_act() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let sanitation = handler_of(&app, "HWS").await;
    let enforcement = handler_of(&app, "CGZF").await;

    let case = report(&app, "E0101", IN_GRID_A1).await;
    let response = read(&sanitation, &case["case_id"]).await;
    assert_eq!(response.status(), 404, "not yet dispatched to any department");

    let case = act_ok(&dispatcher, &case, "file", json!({})).await;
    let case = act_ok(&dispatcher, &case, "dispatch", json!({})).await;
    assert_eq!(case["department_code"], "HWS");

    assert_eq!(read(&enforcement, &case["case_id"]).await.status(), 404, "other department");
    let response = act(&enforcement, &case, "accept", json!({})).await;
    assert_eq!(response.status(), 404, "other department cannot act");
    let listed: Value = enforcement.get("/api/v1/cases").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0, "other department lists nothing");

    assert_eq!(read(&sanitation, &case["case_id"]).await.status(), 200, "own department");
    let listed: Value = sanitation.get("/api/v1/cases").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "own department lists its case");
    act_ok(&sanitation, &case, "accept", json!({})).await;

    let me: Value = sanitation.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["department_code"], "HWS");
}

#[tokio::test]
async fn only_handlers_take_a_known_department() {
    let app = app_with_grids().await;
    let index = app.state.locator.snapshot();
    let input = |role: Role, username: &str, department: &str| AccountInput {
        username: username.to_owned(),
        display_name: "部门测试".to_owned(),
        role,
        area_codes: vec![areas::STREET.to_owned()],
        locale: None,
        department_code: Some(department.to_owned()),
        password: Some("department-password".to_owned()),
    };
    let cases = [
        ("dispatcher with a department", input(Role::Dispatcher, "dispatcher-dept", "HWS")),
        ("handler with an unknown department", input(Role::Handler, "handler-dept", "NOPE")),
    ];
    for (description, input) in cases {
        let result = create_account(&app.db, &index, input, &Actor::cli()).await;
        assert!(result.is_err(), "{description} is rejected");
    }
}

#[tokio::test]
async fn invalid_rule_set_changes_nothing() {
    let app = app_with_grids().await;
    set_rules(&app, json!([rule("territory", areas::GRID_A1, None, "CGZF")])).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let cases = [
        ("unknown basis", rule("nobody", areas::GRID_A1, None, "HWS"), "rules[1].basis"),
        ("unknown area", rule("owner", "999999999", None, "HWS"), "rules[1].area_code"),
        ("district area", rule("owner", areas::DISTRICT, None, "HWS"), "rules[1].area_code"),
        ("bad category", rule("owner", areas::GRID_A1, Some("X1"), "HWS"), "rules[1].category"),
        (
            "unknown department",
            rule("owner", areas::GRID_A1, None, "NOPE"),
            "rules[1].department_code",
        ),
        (
            "rule given twice",
            rule("territory", areas::STREET, Some("E01"), "HWS"),
            "rules[1].category",
        ),
    ];
    for (description, bad, field) in cases {
        let first = rule("territory", areas::STREET, Some("E01"), "YLS");
        let response = put_rules(&admin, json!([first, bad])).await;
        assert_eq!(response.status(), 422, "{description}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{description}: {body}");
    }

    let listed: Value = admin.get("/api/v1/routing-rules").await.json().await.unwrap();
    let rules = listed["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "the old rule set stays: {listed}");
    assert_eq!(rules[0]["department_code"], "CGZF");
}

#[tokio::test]
async fn csv_import_round_trips_and_reports_rows() {
    let app = app_with_grids().await;
    let index = app.state.locator.snapshot();
    let file = format!(
        "basis,area_code,category,department_code\n\
         # street-wide owner of manholes\n\
         owner,{},C01,ZJS\n\
         territory,{},,CGZF\n",
        areas::STREET,
        areas::GRID_A1
    );
    let count = import_rules(&app.db, &index, file.as_bytes()).await.expect("file imported");
    assert_eq!(count, 2);
    let mut exported = Vec::new();
    export_rules(&app.db, &mut exported).await.expect("rules exported");
    let exported = String::from_utf8(exported).unwrap();
    let again = import_rules(&app.db, &index, exported.as_bytes()).await.expect("re-imported");
    assert_eq!(again, 2, "export imports unchanged:\n{exported}");

    let bad = format!(
        "basis,area_code,category,department_code\n\
         owner,{},C01,ZJS\n\
         sideways,{},,CGZF\n",
        areas::STREET,
        areas::GRID_A1
    );
    let error = import_rules(&app.db, &index, bad.as_bytes()).await.unwrap_err();
    let text = format!("{error:?}");
    assert!(text.contains("line: 3"), "names the line: {text}");
    assert!(text.contains("\"basis\""), "names the column: {text}");
    let mut after = Vec::new();
    export_rules(&app.db, &mut after).await.unwrap();
    assert_eq!(String::from_utf8(after).unwrap(), exported, "nothing written");
}

#[tokio::test]
async fn routing_page_replaces_rules_from_upload() {
    let app = app_with_grids().await;
    set_rules(&app, json!([rule("territory", areas::GRID_A1, None, "CGZF")])).await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let page = admin.get("/routing").await.text().await.unwrap();
    assert!(page.contains(areas::GRID_A1), "lists the rule's area");
    assert!(page.contains("CGZF"), "lists the rule's department");

    let upload = |text: String| {
        let part = reqwest::multipart::Part::bytes(text.into_bytes()).file_name("rules.csv");
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", admin.csrf_token.clone())
            .part("file", part);
        let url = admin.url(&format!("/routing/import?csrf_token={}", admin.csrf_token));
        admin.client.post(url).multipart(form).send()
    };
    let bad = format!("basis,area_code,category,department_code\nowner,{},,NOPE\n", areas::STREET);
    let response = upload(bad).await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("department_code"), "names the column");

    let good = format!("basis,area_code,category,department_code\nowner,{},,ZJS\n", areas::STREET);
    let response = upload(good).await.unwrap();
    assert_eq!(response.status(), 303);
    let listed: Value = admin.get("/api/v1/routing-rules").await.json().await.unwrap();
    let rules = listed["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{listed}");
    assert_eq!(rules[0]["department_code"], "ZJS");
    assert_eq!(rules[0]["area_code"], areas::STREET);
}

#[tokio::test]
async fn users_page_sets_a_handler_department() {
    use citycore::accounts::AccountStore;
    let app = app_with_grids().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let form = |username: &'static str, role: &'static str| {
        [
            ("username", username),
            ("display_name", "环卫处置"),
            ("role", role),
            ("areas", areas::STREET),
            ("department_code", "HWS"),
            ("password", "handler-password-2"),
        ]
    };

    let response = admin.post_form("/users/new", &form("hws-handler", "handler")).await;
    assert_eq!(response.status(), 303, "handler with a department created");
    let stored = app.db.user_by_username("hws-handler").await.unwrap().expect("stored");
    assert_eq!(stored.department_code.as_deref(), Some("HWS"));

    let response = admin.post_form("/users/new", &form("hws-dispatcher", "dispatcher")).await;
    assert_eq!(response.status(), 422, "dispatchers take no department");
    let html = response.text().await.unwrap();
    assert!(html.contains("department_code-error"), "error shown next to the field");
}

#[tokio::test]
async fn reclassify_keeps_approved_extensions() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;
    let in_handling = |extend: bool| {
        let (dispatcher, handler, app) = (&dispatcher, &handler, &app);
        async move {
            let case = report(app, "E0101", IN_GRID_A1).await;
            let case = act_ok(dispatcher, &case, "file", json!({})).await;
            let case = act_ok(dispatcher, &case, "dispatch", json!({})).await;
            let mut case = act_ok(handler, &case, "accept", json!({})).await;
            if extend {
                let extension = json!({ "extension_amount": 1, "extension_unit": "working_days" });
                case = act_ok(handler, &case, "request_extension", extension).await;
                case = act_ok(dispatcher, &case, "approve_extension", json!({})).await;
            }
            act_ok(dispatcher, &case, "reclassify", json!({ "category_code": "C0103" })).await
        }
    };
    let plain = in_handling(false).await;
    let extended = in_handling(true).await;
    let due = |case: &Value| {
        chrono::DateTime::parse_from_rfc3339(case["handling_due_at"].as_str().unwrap()).unwrap()
    };
    let gained = due(&extended) - due(&plain);
    assert!(
        gained >= chrono::TimeDelta::hours(20),
        "one working day later: {} vs {}",
        extended["handling_due_at"],
        plain["handling_due_at"]
    );
}

#[tokio::test]
async fn case_page_reclassifies_through_its_form() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let case = report(&app, "E0101", IN_GRID_A1).await;
    let case_id = case["case_id"].as_i64().unwrap();

    let page = dispatcher.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains("id=\"reclassify-category_code\""), "reclassify form shown");

    let version = case["version"].to_string();
    let form = [
        ("action", "reclassify"),
        ("expected_version", version.as_str()),
        ("category_code", "E0104"),
        ("department_code", ""),
    ];
    let response = dispatcher.post_form(&format!("/cases/{case_id}/actions"), &form).await;
    assert_eq!(response.status(), 303);
    let view: Value = read(&dispatcher, &case["case_id"]).await.json().await.unwrap();
    assert_eq!(view["category_code"], "E0104");
    assert_eq!(view["department_code"], "CGZF", "default department of E0104");
    assert_eq!(view["case_id"], case_id);
}
