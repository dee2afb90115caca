//! Residents' e-mail addresses in the registry: sealed and masked like phone numbers,
//! revealed with an audit entry, validated in the API and the import, masked in the
//! export, and re-sealed by a key rotation.

use citycore::{
    accounts::Role,
    audit::{Actor, AuditAction, AuditStore},
    residents::{crypto::Field, rotate::rotate_key},
    with_pool,
};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, areas, spawn_app},
    notices::identity,
};

const EMAIL: &str = "zhang.san@example.com";

async fn registry_app() -> (TestApp, Session, i64) {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let household = json!({ "address": "春望里1号楼101室", "grid_code": areas::GRID_A1 });
    let response = admin.post_json("/api/v1/households", &household).await;
    assert_eq!(response.status(), 201, "household created");
    let household_id = response.json::<Value>().await.unwrap()["household_id"].as_i64().unwrap();
    (app, admin, household_id)
}

fn resident_body(household_id: i64, n: u32, email: &str) -> Value {
    json!({
        "household_id": household_id,
        "name": "张三",
        "identity_number": identity(n),
        "relation": "head",
        "email": email,
    })
}

async fn stored_email_columns(
    app: &TestApp,
) -> Vec<(Option<String>, Option<String>, Option<String>)> {
    with_pool!(&app.db, |pool| {
        sqlx::query_as(
            "SELECT email_sealed, email_hash, email_masked FROM resident ORDER BY resident_id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    })
}

async fn resident_count(app: &TestApp) -> i64 {
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM resident").fetch_one(pool).await.unwrap()
    })
}

#[tokio::test]
async fn email_is_sealed_masked_and_revealed_with_audit() {
    let (app, admin, household_id) = registry_app().await;
    let body = resident_body(household_id, 1, " Zhang.San@Example.com ");
    let response = admin.post_json("/api/v1/residents", &body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["email"], "z***@example.com");
    let without = resident_body(household_id, 2, "");
    let response = admin.post_json("/api/v1/residents", &without).await;
    assert_eq!(response.status(), 201, "an empty address means none");
    assert_eq!(response.json::<Value>().await.unwrap()["email"], Value::Null);

    let stored = stored_email_columns(&app).await;
    let (sealed, hash, masked) = stored[0].clone();
    let sealed = sealed.expect("sealed address stored");
    assert!(!sealed.contains("zhang"), "{sealed}");
    assert!(!hash.unwrap().contains("zhang"), "the hash is not the address");
    assert_eq!(masked.as_deref(), Some("z***@example.com"));
    assert_eq!(app.state.residents.open(Field::Email, &sealed).unwrap(), EMAIL, "normalized");
    assert_eq!(stored[1], (None, None, None));

    let resident_id = created["resident_id"].as_i64().unwrap();
    let path = format!("/api/v1/residents/{resident_id}/reveal");
    let request = json!({ "field": "email", "reason": "核实联系方式" });
    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let seen: Value =
        grid_worker.get(&format!("/api/v1/residents/{resident_id}")).await.json().await.unwrap();
    assert_eq!(seen["email"], "z***@example.com", "grid workers see the mask");
    assert_eq!(grid_worker.post_json(&path, &request).await.status(), 403);

    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let response = worker.post_json(&path, &request).await;
    assert_eq!(response.status(), 200);
    let revealed: Value = response.json().await.unwrap();
    assert_eq!(revealed["field"], "email");
    assert_eq!(revealed["value"], EMAIL);
    let audit = app.db.list_audit(Some(AuditAction::ResidentRevealed), 10, 0).await.unwrap();
    assert_eq!(audit.total, 1, "the reveal is audited");
    let detail = audit.entries[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("field=email"), "{detail}");
    assert!(!detail.contains(EMAIL), "the audit names the field, not the value: {detail}");
}

#[tokio::test]
async fn bad_email_names_the_field_and_writes_nothing() {
    let (app, admin, household_id) = registry_app().await;
    let cases = [
        ("no at sign", "zhang.example.com"),
        ("display name", "张三 <zhang@example.com>"),
        ("two addresses", "a@example.com; b@example.com"),
        ("masked form", "z***@example.com"),
    ];
    for (description, email) in cases {
        let response =
            admin.post_json("/api/v1/residents", &resident_body(household_id, 1, email)).await;
        assert_eq!(response.status(), 400, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "email", "{description}: {error}");
        assert_eq!(error["error"]["code"], "email_invalid", "{description}: {error}");
    }
    assert_eq!(resident_count(&app).await, 0, "nothing stored");
}

#[tokio::test]
async fn contact_update_sets_clears_and_audits() {
    let (app, admin, household_id) = registry_app().await;
    let response = admin.post_json("/api/v1/residents", &resident_body(household_id, 1, "")).await;
    let resident_id = response.json::<Value>().await.unwrap()["resident_id"].as_i64().unwrap();
    let path = format!("/api/v1/residents/{resident_id}");
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let patch = |body: Value| {
        let request = worker.client.patch(worker.url(&path));
        request.header("x-csrf-token", &worker.csrf_token).json(&body).send()
    };

    let response = patch(json!({ "email": EMAIL, "phone": "13800138000" })).await.unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["email"], "z***@example.com");
    assert_eq!(updated["phone"], "138****8000");

    let response = patch(json!({ "email": "not an address" })).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "email", "{error}");
    let response = patch(json!({})).await.unwrap();
    assert_eq!(response.status(), 422, "nothing to change");
    let response = patch(json!({ "name": "李四" })).await.unwrap();
    assert_eq!(response.status(), 400, "only contact details change here");

    let response = patch(json!({ "email": "" })).await.unwrap();
    assert_eq!(response.status(), 200);
    let cleared: Value = response.json().await.unwrap();
    assert_eq!(cleared["email"], Value::Null, "an empty string removes it");
    assert_eq!(cleared["phone"], "138****8000", "a missing key keeps it");
    assert_eq!(stored_email_columns(&app).await[0], (None, None, None));

    let outsider = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    let request = outsider.client.patch(outsider.url(&path));
    let response = request
        .header("x-csrf-token", &outsider.csrf_token)
        .json(&json!({ "email": EMAIL }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "outside the scope");

    let audit = app.db.list_audit(Some(AuditAction::ResidentContactUpdated), 10, 0).await.unwrap();
    assert_eq!(audit.total, 2, "one entry per accepted change");
    let details: Vec<String> =
        audit.entries.iter().map(|e| e.detail.clone().unwrap_or_default()).collect();
    assert!(details.contains(&"fields=phone,email".to_owned()), "{details:?}");
    assert!(details.iter().all(|d| !d.contains("example.com")), "no value in the audit");
}

async fn upload_csv(session: &Session, text: &str, query: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("名册.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let url = session.url(&format!("/api/v1/resident-imports{query}"));
    let request = session.client.post(url).header("x-csrf-token", &session.csrf_token);
    request.multipart(form).send().await.expect("request sent")
}

#[tokio::test]
async fn import_reads_email_column_and_reports_bad_rows() {
    let (app, admin, _) = registry_app().await;
    let grid = areas::GRID_A1;
    let (one, two, three) = (identity(11), identity(12), identity(13));
    let text = format!(
        "地址,网格,姓名,公民身份号码,与户主关系,邮箱\n\
         春望里2号楼,{grid},李一,{one},户主,Li.Yi@Example.com\n\
         春望里2号楼,{grid},李二,{two},子女,li-er@example\n\
         春望里2号楼,{grid},李三,{three},子女,\n"
    );
    let response = upload_csv(&admin, &text, "").await;
    assert_eq!(response.status(), 200, "dry run");
    let report: Value = response.json().await.unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["row"], 3);
    assert_eq!(problems[0]["field"], "email");
    assert_eq!(problems[0]["code"], "email_invalid");
    assert_eq!(problems[0]["column"], "F (邮箱)");
    assert_eq!(resident_count(&app).await, 0, "a dry run writes nothing");

    let fixed = text.replace("li-er@example\n", "li-er@example.cn\n");
    let response = upload_csv(&admin, &fixed, "?mode=apply").await;
    assert_eq!(response.status(), 201, "applied");
    let masked: Vec<Option<String>> =
        stored_email_columns(&app).await.into_iter().map(|(_, _, masked)| masked).collect();
    assert_eq!(
        masked,
        [Some("l***@example.com".to_owned()), Some("l***@example.cn".to_owned()), None]
    );

    let template = admin.get("/api/v1/resident-imports/template?format=csv&locale=en").await;
    let text = template.text().await.unwrap();
    assert!(text.contains("E-mail"), "the template has the column: {text}");

    let export = admin.get("/api/v1/residents/export?format=csv").await;
    assert_eq!(export.status(), 200);
    let text = export.text().await.unwrap();
    assert!(text.lines().next().unwrap().contains("电子邮箱"), "{text}");
    assert!(text.contains("l***@example.com"), "masked in the export: {text}");
    assert!(!text.contains("li.yi@example.com"), "no clear address: {text}");
}

#[tokio::test]
async fn key_rotation_reseals_email() {
    let (app, admin, household_id) = registry_app().await;
    let response =
        admin.post_json("/api/v1/residents", &resident_body(household_id, 1, EMAIL)).await;
    assert_eq!(response.status(), 201);
    let old = app.state.residents.clone();
    let (new_key, _) = citycore::residents::crypto::DataKey::generate();
    let resealed = rotate_key(&app.db, &old, new_key.clone(), &Actor::cli()).await.unwrap();
    assert_eq!(resealed, 2, "the identity number and the e-mail address");
    let (sealed, _, _) = stored_email_columns(&app).await.remove(0);
    let sealed = sealed.unwrap();
    assert!(sealed.starts_with(&format!("v1:{}:", new_key.id())), "{sealed}");
    let mut rotated = old.clone();
    rotated.keys.previous.push(rotated.keys.current.clone());
    rotated.keys.current = new_key;
    assert_eq!(rotated.open(Field::Email, &sealed).unwrap(), EMAIL);
}
