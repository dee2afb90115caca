//! The audience of a notice over 100,000 generated residents, counted and fanned out
//! against an independent count in SQL.

use citycore::{accounts::Role, with_pool};
use serde_json::{Value, json};

use crate::{
    helpers::{areas, spawn_app},
    notices::{returned_notice, send, street},
};

#[tokio::test]
async fn audience_of_100000_generated_residents() {
    let app = spawn_app().await;
    let ids = street(&app).await;
    let seed = ids[&1];
    // Copies of resident 1 in grid A1 with unique hashes; every tenth returned from 某地.
    with_pool!(&app.db, |pool| {
        sqlx::query(
            "INSERT INTO resident (household_id, grid_id, name, gender, birth_date, relation, \
             identity_sealed, identity_hash, identity_masked, phone_sealed, phone_hash, \
             phone_masked, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
             SELECT r.household_id, r.grid_id, r.name, r.gender, r.birth_date, r.relation, \
             r.identity_sealed, 'generated-' || CAST(n.i AS TEXT), r.identity_masked, \
             r.phone_sealed, r.phone_hash, r.phone_masked, r.created_at, r.updated_at \
             FROM n, resident r WHERE r.resident_id = $1",
        )
        .bind(seed)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO resident_tag_assignment (resident_id, tag_id, from_area, since, created_at) \
             SELECT r.resident_id, a.tag_id, a.from_area, a.since, a.created_at \
             FROM resident r, resident_tag_assignment a \
             WHERE a.resident_id = $1 AND r.identity_hash LIKE 'generated-%' \
             AND r.resident_id % 10 = 0",
        )
        .bind(seed)
        .execute(pool)
        .await
        .unwrap();
    });
    let expected: i64 = with_pool!(&app.db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM resident r WHERE EXISTS (SELECT 1 FROM \
             resident_tag_assignment a WHERE a.resident_id = r.resident_id) \
             AND r.grid_id IN (SELECT area_id FROM area WHERE code LIKE $1)",
        )
        .bind(format!("{}%", areas::COMMUNITY_A))
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert!(expected > 10_000, "{expected}");
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let preview: Value = worker
        .post_json("/api/v1/resident-notices/audience", &returned_notice()["audience"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["count"].as_i64(), Some(expected));
    let sent = send(&worker, &returned_notice()).await;
    assert_eq!(sent["recipient_count"].as_i64(), Some(expected));
    let everyone: Value = worker
        .post_json("/api/v1/resident-notices/audience", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(everyone["count"].as_i64(), Some(100_000 + 9));
}
