//! The resident registry: numbers encrypted at rest and found by keyed hash, masking
//! and reveals per role, area scope, validation, duplicates and key rotation.

use citycore::{
    accounts::Role,
    audit::{Actor, AuditAction, AuditStore},
    residents::{crypto::DataKey, keys::load_keyring, rotate::rotate_key},
    with_pool,
};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, areas, spawn_app};

/// A valid identity number (female, born 1949-12-31) and two more for other residents.
const IDENTITY: &str = "11010519491231002X";
const IDENTITY_2: &str = "110105198506120034";
const IDENTITY_3: &str = "110105197001010070";
const PHONE: &str = "13800138000";

async fn registry_app() -> (TestApp, Session) {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    (app, admin)
}

async fn create_household(session: &Session, grid_code: &str) -> i64 {
    let body = json!({ "address": "春望里1号楼101室", "grid_code": grid_code });
    let response = session.post_json("/api/v1/households", &body).await;
    assert_eq!(response.status(), 201, "household created");
    response.json::<Value>().await.unwrap()["household_id"].as_i64().unwrap()
}

fn resident_body(household_id: i64, identity: &str) -> Value {
    json!({
        "household_id": household_id,
        "name": "王秀英",
        "identity_number": identity,
        "phone": PHONE,
        "relation": "head",
    })
}

async fn create_resident(session: &Session, body: &Value) -> Value {
    let response = session.post_json("/api/v1/residents", body).await;
    assert_eq!(response.status(), 201, "resident created");
    response.json().await.unwrap()
}

async fn resident_count(app: &TestApp) -> i64 {
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM resident").fetch_one(pool).await.unwrap()
    })
}

/// Returns every stored number column of the resident table, joined, to search for
/// clear numbers.
async fn raw_resident_text(app: &TestApp) -> String {
    let rows: Vec<String> = with_pool!(&app.db, |pool| {
        sqlx::query_scalar(
            "SELECT identity_sealed || ' ' || identity_hash || ' ' || identity_masked || ' ' \
             || COALESCE(phone_sealed, '') || ' ' || COALESCE(phone_hash, '') || ' ' \
             || COALESCE(phone_masked, '') FROM resident",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.join("\n")
}

async fn list(session: &Session, query: &str) -> Vec<Value> {
    let response = session.get(&format!("/api/v1/residents{query}")).await;
    assert_eq!(response.status(), 200, "list {query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn numbers_encrypted_masked_and_searchable() {
    let (app, admin) = registry_app().await;
    let household_id = create_household(&admin, areas::GRID_A1).await;
    let created = create_resident(&admin, &resident_body(household_id, IDENTITY)).await;
    assert_eq!(created["identity_number"], "110105********002X");
    assert_eq!(created["phone"], "138****8000");
    assert_eq!(created["gender"], "female");
    assert_eq!(created["birth_date"], "1949-12-31");

    let raw = raw_resident_text(&app).await;
    assert!(!raw.contains("1101051949"), "identity number stored in clear: {raw}");
    assert!(!raw.contains(PHONE), "phone stored in clear: {raw}");
    assert!(!raw.contains("00138000"), "phone digits stored in clear: {raw}");

    let by_identity = list(&admin, "?identity_number=110105%2019491231002x").await;
    assert_eq!(by_identity.len(), 1, "found by identity number typed another way");
    assert_eq!(by_identity[0]["resident_id"], created["resident_id"]);
    let by_phone = list(&admin, "?phone=%2B86%20138-0013-8000").await;
    assert_eq!(by_phone.len(), 1, "found by phone typed another way");
    assert!(list(&admin, &format!("?identity_number={IDENTITY_2}")).await.is_empty());
}

#[tokio::test]
async fn reveal_is_limited_to_allowed_roles_and_audited() {
    let (app, admin) = registry_app().await;
    let household_id = create_household(&admin, areas::GRID_A1).await;
    let created = create_resident(&admin, &resident_body(household_id, IDENTITY)).await;
    let path = format!("/api/v1/residents/{}/reveal", created["resident_id"]);
    let request = json!({ "field": "identity_number", "reason": "办理高龄津贴" });

    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let seen: Value = grid_worker
        .get(&format!("/api/v1/residents/{}", created["resident_id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["identity_number"], "110105********002X", "grid workers see the mask");
    assert_eq!(grid_worker.post_json(&path, &request).await.status(), 403);

    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let no_reason = worker.post_json(&path, &json!({ "field": "phone", "reason": " " })).await;
    assert_eq!(no_reason.status(), 422);
    assert_eq!(no_reason.json::<Value>().await.unwrap()["error"]["field"], "reason");
    let response = worker.post_json(&path, &request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["value"], IDENTITY);

    let audit = app.db.list_audit(Some(AuditAction::ResidentRevealed), 10, 0).await.unwrap();
    assert_eq!(audit.total, 1, "one reveal, one entry; refused reveals write none");
    let entry = &audit.entries[0];
    assert_eq!(entry.actor_user_id, Some(worker.user_id));
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("resident:{}", created["resident_id"]).as_str())
    );
    let detail = entry.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("identity_number"), "{detail}");
    assert!(detail.contains("办理高龄津贴"), "{detail}");
    assert!(!detail.contains(IDENTITY), "the audit entry does not hold the number");
}

#[tokio::test]
async fn reads_are_limited_to_the_viewers_areas() {
    let (app, admin) = registry_app().await;
    let in_a1 = create_household(&admin, areas::GRID_A1).await;
    let in_a2 = create_household(&admin, areas::GRID_A2).await;
    let in_b1 = create_household(&admin, areas::GRID_B1).await;
    create_resident(&admin, &resident_body(in_a1, IDENTITY)).await;
    create_resident(&admin, &resident_body(in_a2, IDENTITY_2)).await;
    let in_b = create_resident(&admin, &resident_body(in_b1, IDENTITY_3)).await;

    let cases = [
        ("administrator sees the street", Role::Administrator, vec![], 3),
        ("community worker of A", Role::CommunityWorker, vec![areas::COMMUNITY_A], 2),
        ("community worker of B", Role::CommunityWorker, vec![areas::COMMUNITY_B], 1),
        ("grid worker of A1", Role::GridWorker, vec![areas::GRID_A1], 1),
    ];
    for (description, role, scope, expected) in cases {
        let session = app.login_as(role, &scope).await;
        assert_eq!(list(&session, "").await.len(), expected, "{description}");
    }
    let worker_a = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let path = format!("/api/v1/residents/{}", in_b["resident_id"]);
    assert_eq!(worker_a.get(&path).await.status(), 404, "B's resident is hidden from A");
    assert_eq!(worker_a.get(&format!("/api/v1/households/{in_b1}")).await.status(), 404);
    let by_number = list(&worker_a, &format!("?identity_number={IDENTITY_3}")).await;
    assert!(by_number.is_empty(), "a search does not cross the scope");
    let reveal = json!({ "field": "phone", "reason": "核实" });
    let response = worker_a.post_json(&format!("{path}/reveal"), &reveal).await;
    assert_eq!(response.status(), 404, "nor does a reveal");
    let body = json!({ "address": "望湖2号楼", "grid_code": areas::GRID_B1 });
    assert_eq!(worker_a.post_json("/api/v1/households", &body).await.status(), 403);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let (app, admin) = registry_app().await;
    let household_id = create_household(&admin, areas::GRID_A1).await;
    let cases = [
        (
            "wrong check digit",
            json!({ "identity_number": "110105194912310021" }),
            400,
            "identity_number",
        ),
        ("short number", json!({ "identity_number": "1101051949" }), 400, "identity_number"),
        ("bad phone", json!({ "phone": "12-34" }), 400, "phone"),
        ("unknown relation", json!({ "relation": "cousin" }), 422, "relation"),
        ("gender against the number", json!({ "gender": "male" }), 422, "gender"),
        ("unknown tag", json!({ "tags": [{ "code": "nope" }] }), 422, "tags[0].code"),
        ("unknown household", json!({ "household_id": 999_999 }), 422, "household_id"),
    ];
    for (description, change, status, field) in cases {
        let mut body = resident_body(household_id, IDENTITY);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = admin.post_json("/api/v1/residents", &body).await;
        assert_eq!(response.status(), status, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{description}");
        assert!(!error["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    let body = json!({ "address": "春望里2号楼", "grid_code": "110105001009999" });
    let response = admin.post_json("/api/v1/households", &body).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], "grid_code");
    assert_eq!(resident_count(&app).await, 0, "nothing half-written");
}

#[tokio::test]
async fn duplicate_identity_number_is_a_conflict() {
    let (app, admin) = registry_app().await;
    let household_id = create_household(&admin, areas::GRID_A1).await;
    create_resident(&admin, &resident_body(household_id, IDENTITY)).await;
    let again = resident_body(household_id, "11010519491231002x");
    let response = admin.post_json("/api/v1/residents", &again).await;
    assert_eq!(response.status(), 409);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["field"], "identity_number");
    assert_eq!(resident_count(&app).await, 1);
}

#[tokio::test]
async fn tags_are_defined_by_administrators_checked_and_filterable() {
    let (app, admin) = registry_app().await;
    let tag = json!({ "code": "disabled", "name_zh": "残疾人", "name_en": "Disabled person", "kind": "disability" });
    assert_eq!(admin.post_json("/api/v1/resident-tags", &tag).await.status(), 201);
    assert_eq!(admin.post_json("/api/v1/resident-tags", &tag).await.status(), 409);
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let other = json!({ "code": "volunteer", "name_zh": "志愿者", "name_en": "Volunteer", "kind": "plain" });
    assert_eq!(worker.post_json("/api/v1/resident-tags", &other).await.status(), 403);

    let household_id = create_household(&worker, areas::GRID_A2).await;
    let mut body = resident_body(household_id, IDENTITY);
    body["tags"] = json!([{ "code": "disabled", "disability_category": "physical" }]);
    let response = worker.post_json("/api/v1/residents", &body).await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "tags[0].disability_grade");
    assert_eq!(resident_count(&app).await, 0);

    body["tags"][0]["disability_grade"] = json!(2);
    let created = create_resident(&worker, &body).await;
    assert_eq!(created["tags"][0]["disability_grade"], 2);
    create_resident(&worker, &resident_body(household_id, IDENTITY_2)).await;
    let tagged = list(&worker, "?tag=disabled").await;
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["resident_id"], created["resident_id"]);
    let household: Value =
        worker.get(&format!("/api/v1/households/{household_id}")).await.json().await.unwrap();
    assert_eq!(household["residents"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn key_rotation_keeps_values_readable() {
    let (app, admin) = registry_app().await;
    let household_id = create_household(&admin, areas::GRID_A1).await;
    let mut ids = Vec::new();
    for identity in [IDENTITY, IDENTITY_2, IDENTITY_3] {
        ids.push(
            create_resident(&admin, &resident_body(household_id, identity)).await["resident_id"]
                .clone(),
        );
    }
    let shop = json!({
        "name": "春望超市",
        "kind": "merchant",
        "contacts": [{ "name": "李店长", "phone": "13912345678" }],
        "premises": [{ "address": "春望里1号底商", "grid_code": areas::GRID_A1 }],
    });
    assert_eq!(admin.post_json("/api/v1/organisations", &shop).await.status(), 201);
    let old = app.state.residents.clone();
    let (new_key, new_text) = DataKey::generate();
    let resealed = rotate_key(&app.db, &old, new_key.clone(), &Actor::cli()).await.unwrap();
    assert_eq!(resealed, 7, "three identity numbers, three phones and a contact's phone");
    let again = rotate_key(&app.db, &old, new_key.clone(), &Actor::cli()).await.unwrap();
    assert_eq!(again, 0, "a second run finds nothing left to do");
    assert!(
        raw_resident_text(&app)
            .await
            .lines()
            .all(|line| line.starts_with(&format!("v1:{}:", new_key.id())))
    );

    // A node started with only the new key opens the lookup key and every value.
    let mut settings = app.settings.clone();
    settings.residents.data_key = citycore::config::Secret(new_text);
    let rotated = load_keyring(&settings, &app.db).await.expect("new key opens the registry");
    assert_eq!(rotated.lookup_key(), old.lookup_key(), "lookup hashes stay valid");
    let sealed: Vec<(String, String)> = with_pool!(&app.db, |pool| {
        sqlx::query_as("SELECT identity_sealed, phone_sealed FROM resident ORDER BY resident_id")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let field = citycore::residents::crypto::Field::IdentityNumber;
    let opened: Vec<String> =
        sealed.iter().map(|(identity, _)| rotated.open(field, identity).unwrap()).collect();
    assert_eq!(opened, [IDENTITY, IDENTITY_2, IDENTITY_3]);
    let phone = citycore::residents::crypto::Field::Phone;
    assert!(sealed.iter().all(|(_, p)| rotated.open(phone, p).unwrap() == PHONE));
    let contact: String = with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT phone_sealed FROM organisation_contact")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(rotated.open(phone, &contact).unwrap(), "13912345678");
    assert_eq!(list(&admin, &format!("?identity_number={IDENTITY_2}")).await.len(), 1);
    let audit = app.db.list_audit(Some(AuditAction::ResidentKeyRotated), 10, 0).await.unwrap();
    assert_eq!(audit.total, 2);
}
