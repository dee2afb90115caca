//! The administrator's user pages, the audit page and `citycore user add`.

use citycore::{
    accounts::{AccountStore, Role},
    audit::{Actor, AuditAction, AuditStore, NewAuditEntry},
};

use crate::helpers::{TestApp, areas, spawn_app};

async fn admin(app: &TestApp) -> crate::helpers::Session {
    app.ensure_test_areas().await;
    app.login_as(Role::Administrator, &[]).await
}

#[tokio::test]
async fn create_user_with_password_redirects_with_notice() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let form = [
        ("username", "Wang.Fang"),
        ("display_name", "王芳"),
        ("role", "grid_worker"),
        ("areas", areas::GRID_A1),
        ("areas", areas::GRID_A2),
        ("locale", "en"),
        ("password", "initial-password-1"),
    ];
    let response = admin.post_form("/users/new", &form).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("?notice=notice-user-created"), "{location}");
    let user = app.db.user_by_username("wang.fang").await.unwrap().expect("stored in lower case");
    assert_eq!(user.role, Role::GridWorker);
    assert_eq!(user.area_ids.len(), 2);
    let page = admin.get(&location).await.text().await.unwrap();
    assert!(page.contains("用户已创建"), "notice shown");
    app.log_in("wang.fang", "initial-password-1").await;
    let created = app.db.list_audit(Some(AuditAction::UserCreated), 10, 0).await.unwrap();
    assert!(created.entries.iter().any(|e| e.actor == admin.username && e.client_ip.is_some()));
}

#[tokio::test]
async fn create_user_without_password_shows_generated_one_once() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let form = [("username", "li-lei"), ("display_name", "李雷"), ("role", "resident")];
    let response = admin.post_form("/users/new", &form).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let start = page.find("class=\"generated-password\" lang=\"en\">").expect("password shown")
        + "class=\"generated-password\" lang=\"en\">".len();
    let password = &page[start..start + 18];
    app.log_in("li-lei", password).await;
}

/// A form field and value, as posted.
type Field<'a> = (&'a str, &'a str);

#[tokio::test]
async fn create_user_form_errors_name_the_field() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let cases: [(&[Field], &str, &str); 5] = [
        (
            &[("username", "ab"), ("display_name", "甲"), ("role", "resident")],
            "username",
            "3 到 64",
        ),
        (
            &[("username", &admin.username), ("display_name", "甲"), ("role", "resident")],
            "username",
            "已被使用",
        ),
        (
            &[
                ("username", "short-pw"),
                ("display_name", "甲"),
                ("role", "resident"),
                ("password", "123456789"),
            ],
            "password",
            "至少需要 10 个字符",
        ),
        (
            &[
                ("username", "grid-x"),
                ("display_name", "甲"),
                ("role", "grid_worker"),
                ("areas", areas::COMMUNITY_A),
            ],
            "areas",
            areas::COMMUNITY_A,
        ),
        (
            &[("username", "no-area"), ("display_name", "甲"), ("role", "community_worker")],
            "areas",
            "至少需要选择一个",
        ),
    ];
    for (form, field, text) in cases {
        let response = admin.post_form("/users/new", form).await;
        assert_eq!(response.status(), 422, "{form:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains(text), "{field}: message containing {text:?} in\n{page}");
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{field}: error linked by id");
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "{field}: summary links to the field"
        );
    }
    assert!(app.db.user_by_username("short-pw").await.unwrap().is_none());
}

#[tokio::test]
async fn edit_user_changes_role_and_areas() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let path = format!("/users/{}", worker.user_id);
    let form = [
        ("display_name", "新名字"),
        ("role", "community_worker"),
        ("areas", areas::COMMUNITY_B),
        ("active", "on"),
    ];
    let response = admin.post_form(&path, &form).await;
    assert_eq!(response.status(), 303);
    let user = app.db.user_by_id(worker.user_id).await.unwrap().unwrap();
    assert_eq!((user.display_name.as_str(), user.role), ("新名字", Role::CommunityWorker));
    let me: serde_json::Value = worker.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["areas"][0]["code"], areas::COMMUNITY_B, "scope applies to the live session");
    let list = admin.get("/users").await.text().await.unwrap();
    assert!(list.contains(&format!("望湖社区 ({})", areas::COMMUNITY_B)), "{list}");
    let updates = app.db.list_audit(Some(AuditAction::UserUpdated), 10, 0).await.unwrap();
    assert_eq!(updates.total, 1);
    assert_eq!(
        updates.entries[0].target.as_deref(),
        Some(format!("user:{}", worker.user_id).as_str())
    );
}

#[tokio::test]
async fn deactivating_user_ends_sessions() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let form = [("display_name", "居民"), ("role", "resident")];
    let response = admin.post_form(&format!("/users/{}", resident.user_id), &form).await;
    assert_eq!(response.status(), 303);
    assert_eq!(resident.get("/api/v1/me").await.status(), 401);
    let list = admin.get("/users").await.text().await.unwrap();
    assert!(list.contains("已停用"), "status column shows deactivation");
}

#[tokio::test]
async fn administrator_cannot_demote_self() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let form = [("display_name", "管理员"), ("role", "resident"), ("active", "on")];
    let response = admin.post_form(&format!("/users/{}", admin.user_id), &form).await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.db.user_by_id(admin.user_id).await.unwrap().unwrap().role, Role::Administrator);
}

#[tokio::test]
async fn reset_password_replaces_old_one_and_ends_sessions() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let response = admin.post_form(&format!("/users/{}/password", resident.user_id), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let marker = "class=\"generated-password\" lang=\"en\">";
    let start = page.find(marker).unwrap() + marker.len();
    let password = page[start..start + 18].to_owned();
    assert_eq!(resident.get("/api/v1/me").await.status(), 401, "old session ended");
    app.log_in(&resident.username, &password).await;
    let resets = app.db.list_audit(Some(AuditAction::PasswordReset), 10, 0).await.unwrap();
    assert_eq!(resets.total, 1);
    assert!(!format!("{:?}", resets.entries).contains(&password), "new password not audited");
}

#[tokio::test]
async fn users_page_marks_locked_accounts_and_offers_unlock() {
    let app = spawn_app_locked_after_one().await;
    let admin = admin(&app).await;
    let (user_id, username, _) = app.create_user(Role::Merchant, &[]).await;
    let client = app.new_client();
    let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let form = [
        ("username", username.as_str()),
        ("password", "wrong-password"),
        ("csrf_token", &crate::helpers::csrf_field(&page)),
    ];
    assert_eq!(client.post(app.url("/login")).form(&form).send().await.unwrap().status(), 429);
    let list = admin.get("/users").await.text().await.unwrap();
    assert!(list.contains("已锁定"), "{list}");
    let edit = admin.get(&format!("/users/{user_id}")).await.text().await.unwrap();
    assert!(edit.contains(&format!("action=\"/users/{user_id}/unlock\"")));
}

async fn spawn_app_locked_after_one() -> TestApp {
    crate::helpers::spawn_app_with(|settings| settings.auth.max_failed_logins = 1).await
}

#[tokio::test]
async fn users_page_renders_in_english() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    admin.post_form("/locale", &[("locale", "en"), ("next", "/users")]).await;
    let page = admin.get("/users").await.text().await.unwrap();
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(page.contains("New user"), "{page}");
    assert!(page.contains("<th scope=\"col\">Username</th>"));
}

#[tokio::test]
async fn audit_page_filters_and_pages() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let actor = Actor::cli();
    for number in 0..60 {
        let entry = NewAuditEntry {
            actor: &actor,
            action: AuditAction::UserUpdated,
            target: Some(format!("user:{number}")),
            detail: None,
        };
        app.db.append_audit(entry).await.unwrap();
    }
    let first = admin.get("/audit?action=user_updated").await.text().await.unwrap();
    assert!(first.contains("user:59"), "newest on page 1");
    assert!(!first.contains("user:9<"), "older entries on page 2");
    assert!(first.contains("共 60 条记录"));
    let second = admin.get("/audit?action=user_updated&page=2").await.text().await.unwrap();
    assert!(second.contains("user:0<"), "oldest on page 2");
    assert!(!second.contains("user:59"), "newest not on page 2");
    let logins = admin.get("/audit?action=login_succeeded").await.text().await.unwrap();
    assert!(logins.contains(&admin.username), "login entry listed");
    assert!(!logins.contains("user:59"), "other actions filtered out");
    assert_eq!(admin.get("/audit?action=drop_tables").await.status(), 400);
}

#[tokio::test]
async fn cli_user_add_prints_generated_password_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let database = crate::helpers::fresh_database_url(data_dir.path()).await;
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_citycore"))
            .args(["--database-url", &database, "user", "add"])
            // The test-only variable is not a setting the binary accepts.
            .env_remove("CITYCORE_TEST_BACKEND")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        (output.status.success(), text(output.stdout), text(output.stderr))
    };
    let (ok, stdout, _) =
        run(&["--username", "ops", "--display-name", "运维", "--role", "administrator"], "");
    assert!(ok, "first add succeeds");
    assert!(stdout.contains("password (shown once): "), "{stdout}");

    let (ok, _, stderr) =
        run(&["--username", "ops", "--display-name", "x", "--role", "administrator"], "");
    assert!(!ok, "taken username fails");
    assert!(stderr.contains("username ops is taken"), "{stderr}");

    let (ok, _, stderr) = run(
        &["--username", "gw-1", "--display-name", "x", "--role", "grid_worker", "--area", "999"],
        "",
    );
    assert!(!ok, "unknown area fails");
    assert!(stderr.contains("unknown area code 999"), "{stderr}");

    let short =
        ["--username", "res", "--display-name", "x", "--role", "resident", "--password-stdin"];
    let (ok, _, stderr) = run(&short, "short\n");
    assert!(!ok, "short password fails");
    assert!(stderr.contains("at least 10 characters"), "{stderr}");

    let (ok, stdout, _) = run(&short, "long-enough-password\n");
    assert!(ok, "password from stdin succeeds");
    assert!(!stdout.contains("password"), "{stdout}");
}
