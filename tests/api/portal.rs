//! The resident portal: sign-up verified by a community worker, the resident's own
//! household and notices, scoping between residents, and invalid input.

use citycore::{accounts::Role, with_pool};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, areas, csrf_field, spawn_app};

/// Returns a valid identity number born on 1985-06-15 with sequence `n` (below 1000).
fn identity(n: u32) -> String {
    let body = format!("11010519850615{n:03}");
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn phone(n: u32) -> String {
    format!("139001390{n:02}")
}

/// Registers a household in `grid` with residents `numbers`; returns the resident ids.
async fn household(admin: &Session, grid: &str, numbers: &[u32]) -> Vec<i64> {
    let body = json!({ "address": format!("花家地{grid}号楼"), "grid_code": grid });
    let response = admin.post_json("/api/v1/households", &body).await;
    assert_eq!(response.status(), 201, "household created");
    let household_id = response.json::<Value>().await.unwrap()["household_id"].as_i64().unwrap();
    let mut ids = Vec::new();
    for (position, n) in numbers.iter().enumerate() {
        let body = json!({
            "household_id": household_id,
            "name": format!("居民{n}"),
            "identity_number": identity(*n),
            "phone": phone(*n),
            "relation": if position == 0 { "head" } else { "child" },
        });
        let response = admin.post_json("/api/v1/residents", &body).await;
        assert_eq!(response.status(), 201, "resident {n} created");
        ids.push(response.json::<Value>().await.unwrap()["resident_id"].as_i64().unwrap());
    }
    ids
}

/// Posts the sign-up form as a visitor and returns the response.
async fn sign_up(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let client = app.new_client();
    let page = client.get(app.url("/portal/signup")).send().await.unwrap().text().await.unwrap();
    let mut form = fields.to_vec();
    let token = csrf_field(&page);
    form.push(("csrf_token", &token));
    client.post(app.url("/portal/signup")).form(&form).send().await.unwrap()
}

fn signup_fields<'a>(
    username: &'a str,
    identity: &'a str,
    phone: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", username),
        ("password", "resident-password-1"),
        ("display_name", "居民本人"),
        ("phone", phone),
        ("identity_number", identity),
    ]
}

/// Signs `username` up with resident `n`'s numbers and logs the account in.
async fn signed_up(app: &TestApp, username: &str, n: u32) -> Session {
    let response = sign_up(app, &signup_fields(username, &identity(n), &phone(n))).await;
    assert_eq!(response.status(), 303, "sign-up stored");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login?"), "{location}");
    app.log_in(username, "resident-password-1").await
}

async fn signup_id(app: &TestApp, user_id: i64) -> i64 {
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT signup_id FROM resident_signup WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    with_pool!(&app.db, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap())
}

async fn text(session: &Session, path: &str) -> (u16, String) {
    let response = session.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Sends a notice from `worker` to every resident of their grids; returns its id.
async fn send_notice(worker: &Session, title: &str, priority: &str) -> i64 {
    let body = json!({ "title": title, "body": "周六上午九点在社区活动室。", "priority": priority, "audience": {} });
    let response = worker.post_json("/api/v1/resident-notices", &body).await;
    assert_eq!(response.status(), 201, "notice sent");
    response.json::<Value>().await.unwrap()["notice_id"].as_i64().unwrap()
}

#[tokio::test]
async fn signup_verified_by_worker_opens_portal() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    household(&admin, areas::GRID_A1, &[1, 2]).await;
    let resident = signed_up(&app, "li.si", 1).await;

    let stored: Vec<(String, String, String, String, String, String)> =
        with_pool!(&app.db, |pool| {
            sqlx::query_as(
                "SELECT identity_sealed, identity_hash, identity_masked, phone_sealed, phone_hash, \
             phone_masked FROM resident_signup",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        });
    assert_eq!(stored.len(), 1, "one pending sign-up");
    let row = format!("{:?}", stored[0]);
    assert!(!row.contains(&identity(1)), "identity never in clear: {row}");
    assert!(!row.contains(&phone(1)), "phone never in clear: {row}");
    assert_eq!(stored[0].2, "110105********".to_owned() + &identity(1)[14..]);

    let (status, page) = text(&resident, "/portal").await;
    assert_eq!(status, 200);
    assert!(page.contains("正在等待社区工作者核验"), "pending state shown");
    assert_eq!(resident.get("/portal/notices").await.status(), 303, "portal closed until verified");
    assert_eq!(resident.get("/portal/household").await.status(), 303);

    let other_worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    let (_, list) = text(&other_worker, "/portal/signups").await;
    assert!(!list.contains("li.si"), "another community's worker does not see it");
    let signup = signup_id(&app, resident.user_id).await;
    let approve = format!("/portal/signups/{signup}/approve");
    assert_eq!(other_worker.post_form(&approve, &[]).await.status(), 404);

    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let (status, list) = text(&worker, "/portal/signups").await;
    assert_eq!(status, 200);
    assert!(list.contains("li.si"), "the worker of the record's grid sees it");
    assert!(list.contains("居民1"), "with the matching record");
    assert!(list.contains("与档案一致"), "and whether the phone matches");
    assert!(!list.contains(&identity(1)), "identity masked on the list");
    let response = worker.post_form(&approve, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM resident_account").await, 1, "account linked");
    assert_eq!(worker.post_form(&approve, &[]).await.status(), 404, "decided only once");

    let (status, home) = text(&resident, "/portal").await;
    assert_eq!(status, 200);
    assert!(home.contains("0 条未读"), "home counts unread notices");
    let english = resident.client.get(resident.url("/portal")).header("accept-language", "en");
    let english = english.send().await.unwrap().text().await.unwrap();
    assert!(english.contains("0 unread"), "English through the language");
    let (status, _) = text(&resident, "/portal/notices/not-a-number").await;
    assert_eq!(status, 404, "a malformed notice id is not found");
    let (_, family) = text(&resident, "/portal/household").await;
    assert!(family.contains("居民1"), "the resident listed");
    assert!(family.contains("居民2"), "the other member listed");
    assert!(family.contains("139****9001"), "phone masked");
    assert!(!family.contains(&identity(2)), "identity masked");
    assert!(!family.contains(&phone(2)), "phone masked");

    let normal = send_notice(&worker, "垃圾分类宣传", "normal").await;
    let urgent = send_notice(&worker, "停水通知", "urgent").await;
    let (_, home) = text(&resident, "/portal").await;
    assert!(home.contains("2 条未读"), "two unread");
    assert!(home.contains("其中 1 条紧急"), "one urgent");
    let (_, list) = text(&resident, "/portal/notices").await;
    let urgent_at = list.find("停水通知").expect("urgent listed");
    let normal_at = list.find("垃圾分类宣传").expect("normal listed");
    assert!(urgent_at < normal_at, "urgent first");

    let (status, notice) = text(&resident, &format!("/portal/notices/{normal}")).await;
    assert_eq!(status, 200);
    assert!(notice.contains("周六上午九点"), "body shown");
    let inbox: Value = resident.get("/api/v1/my/notices").await.json().await.unwrap();
    let read: Vec<(i64, bool)> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["notice_id"].as_i64().unwrap(), !entry["read_at"].is_null()))
        .collect();
    assert!(read.contains(&(normal, true)), "receipt recorded: {read:?}");
    assert!(read.contains(&(urgent, false)), "other notice still unread: {read:?}");
}

#[tokio::test]
async fn portal_shows_only_own_household_and_notices() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    household(&admin, areas::GRID_A1, &[11]).await;
    household(&admin, areas::GRID_B1, &[12]).await;
    let first = signed_up(&app, "first.resident", 11).await;
    let second = signed_up(&app, "second.resident", 12).await;
    for session in [&first, &second] {
        let signup = signup_id(&app, session.user_id).await;
        let response = admin.post_form(&format!("/portal/signups/{signup}/approve"), &[]).await;
        assert_eq!(response.status(), 303, "administrator approves any area");
    }

    let worker_b = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    let notice = send_notice(&worker_b, "望湖社区通知", "normal").await;
    let (status, _) = text(&second, &format!("/portal/notices/{notice}")).await;
    assert_eq!(status, 200, "the recipient reads it");
    let (status, _) = text(&first, &format!("/portal/notices/{notice}")).await;
    assert_eq!(status, 404, "another resident's notice is not found");
    let (_, list) = text(&first, "/portal/notices").await;
    assert!(!list.contains("望湖社区通知"), "not in the other inbox");
    assert!(list.contains("暂无通知"));

    let (_, family) = text(&first, "/portal/household").await;
    assert!(family.contains("居民11"));
    assert!(!family.contains("居民12"), "no other household");

    let staff = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    assert_eq!(staff.get("/portal").await.status(), 403, "the portal is for residents");
    assert_eq!(first.get("/portal/signups").await.status(), 403, "residents verify nothing");
}

#[tokio::test]
async fn signup_bad_input_names_each_field() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    household(&admin, areas::GRID_A2, &[21]).await;

    let bad = [
        ("username", "x"),
        ("password", "short"),
        ("display_name", ""),
        ("phone", "12"),
        ("identity_number", "110105194912310021"),
    ];
    let response = sign_up(&app, &bad).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    for field in ["username", "password", "display_name", "phone", "identity_number"] {
        assert!(page.contains(&format!("href=\"#{field}\"")), "summary links {field}");
        assert!(page.contains(&format!("id=\"{field}-error\"")), "message next to {field}");
    }
    assert!(page.contains("身份证号最后一位与校验码不符"), "names the check digit");
    assert!(page.contains("value=\"x\""), "typed username kept");
    assert!(!page.contains("value=\"short\""), "password never echoed");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM resident_signup").await, 0, "nothing stored");

    let english = app.new_client();
    let form_page = english.get(app.url("/portal/signup")).header("accept-language", "en");
    let form_page = form_page.send().await.unwrap().text().await.unwrap();
    let token = csrf_field(&form_page);
    let mut fields = bad.to_vec();
    fields.push(("csrf_token", &token));
    let response = english
        .post(app.url("/portal/signup"))
        .header("accept-language", "en")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("Please correct the following"), "English");

    signed_up(&app, "taken.name", 21).await;
    let again = sign_up(&app, &signup_fields("taken.name", &identity(22), &phone(22))).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("用户名 taken.name 已被使用"), "username taken");
    let twice = sign_up(&app, &signup_fields("other.name", &identity(21), &phone(21))).await;
    assert_eq!(twice.status(), 422);
    assert!(twice.text().await.unwrap().contains("该身份证号已有待核验"), "identity signed up");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM resident_signup").await, 1, "one stored");
}

#[tokio::test]
async fn rejected_signup_shows_reason_to_resident() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    household(&admin, areas::GRID_A1, &[31]).await;
    let matched = signed_up(&app, "matched.resident", 31).await;
    let unmatched = signed_up(&app, "unknown.resident", 39).await;

    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let (_, list) = text(&worker, "/portal/signups").await;
    assert!(!list.contains("unknown.resident"), "unmatched sign-ups are for administrators");
    let signup = signup_id(&app, matched.user_id).await;
    let reject = format!("/portal/signups/{signup}/reject");
    let response = worker.post_form(&reject, &[("reason", "  ")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("href=\"#reason-{signup}\"")), "names the reason field");
    assert!(page.contains("请填写退回原因"));
    let response = worker.post_form(&reject, &[("reason", "电话与档案不符，请到社区更新")]).await;
    assert_eq!(response.status(), 303);
    let (_, page) = text(&matched, "/portal").await;
    assert!(page.contains("未通过核验"), "rejection shown");
    assert!(page.contains("电话与档案不符"), "reason shown");
    assert_eq!(matched.get("/portal/notices").await.status(), 303, "still closed");
    let retry = sign_up(&app, &signup_fields("matched.again", &identity(31), &phone(31))).await;
    assert_eq!(retry.status(), 303, "a rejected identity number may sign up again");

    let (_, list) = text(&admin, "/portal/signups").await;
    assert!(list.contains("unknown.resident"), "administrators see unmatched sign-ups");
    assert!(list.contains("没有身份证号相同的居民档案"));
    let other = signup_id(&app, unmatched.user_id).await;
    let response = admin.post_form(&format!("/portal/signups/{other}/approve"), &[]).await;
    assert_eq!(response.status(), 422, "nothing to link");
    assert!(response.text().await.unwrap().contains("居民档案中没有这个身份证号"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM resident_account").await, 0);
}
