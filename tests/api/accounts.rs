//! Login, lockout, sessions, CSRF, language and audit of the accounts context.

use chrono::{Duration, Utc};
use citycore::{
    accounts::{AccountStore, Role, SessionStore},
    audit::{AuditAction, AuditStore},
    with_pool,
};

use crate::helpers::{TestApp, csrf_field, spawn_app, spawn_app_with};

/// Posts the login form from a fresh visitor client and returns the response.
async fn attempt_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    let client = app.new_client();
    let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let form = [("username", username), ("password", password), ("csrf_token", &csrf_field(&page))];
    client.post(app.url("/login")).form(&form).send().await.unwrap()
}

/// Moves a session's timestamps, so tests control time instead of sleeping.
async fn set_session_times(
    app: &TestApp,
    session_id: &str,
    last_seen_minutes_ago: i64,
    expires_in_minutes: i64,
) {
    let now = Utc::now();
    let last_seen = now - Duration::minutes(last_seen_minutes_ago);
    let expires = now + Duration::minutes(expires_in_minutes);
    with_pool!(&app.db, |pool| {
        sqlx::query(
            "UPDATE user_session SET last_seen_at = $1, expires_at = $2 WHERE session_id = $3",
        )
        .bind(last_seen)
        .bind(expires)
        .bind(session_id)
        .execute(pool)
        .await
        .map(drop)
    })
    .expect("session times updated");
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let page = app.db.list_audit(None, 100, 0).await.unwrap();
    page.entries.into_iter().map(|e| (e.action, e.actor, e.detail)).collect()
}

#[tokio::test]
async fn login_with_valid_password_redirects_to_next() {
    let app = spawn_app().await;
    let (_, username, password) = app.create_user(Role::Administrator, &[]).await;
    let client = app.new_client();
    let page =
        client.get(app.url("/login?next=/users")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"next\" value=\"/users\""), "{page}");
    let form = [
        ("username", username.as_str()),
        ("password", password.as_str()),
        ("next", "/users"),
        ("csrf_token", &csrf_field(&page)),
    ];
    let response = client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/users");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("citycore_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["username"], username.as_str());
    assert_eq!(body["role"], "administrator");
}

#[tokio::test]
async fn session_cookie_is_secure_when_configured() {
    let app = spawn_app_with(|settings| settings.server.secure_cookies = true).await;
    let (_, username, password) = app.create_user(Role::Resident, &[]).await;
    let response = attempt_login(&app, &username, &password).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn login_failure_message_is_same_for_unknown_user() {
    let app = spawn_app().await;
    let (_, username, _) = app.create_user(Role::Resident, &[]).await;
    let wrong_password = attempt_login(&app, &username, "not-the-password").await;
    assert_eq!(wrong_password.status(), 401);
    let wrong_password = wrong_password.text().await.unwrap();
    let unknown_user = attempt_login(&app, "nobody-here", "not-the-password").await;
    assert_eq!(unknown_user.status(), 401);
    let unknown_user = unknown_user.text().await.unwrap();
    assert!(wrong_password.contains("用户名或密码错误"), "{wrong_password}");
    assert!(unknown_user.contains("用户名或密码错误"), "{unknown_user}");
    assert!(wrong_password.contains("aria-describedby=\"login-error\""));
}

#[tokio::test]
async fn lockout_follows_max_failures_until_unlocked() {
    let app = spawn_app_with(|settings| settings.auth.max_failed_logins = 3).await;
    let (user_id, username, password) = app.create_user(Role::Resident, &[]).await;
    for attempt in 1..=2 {
        let response = attempt_login(&app, &username, "wrong-password").await;
        assert_eq!(response.status(), 401, "attempt {attempt} is a plain failure");
    }
    let locking = attempt_login(&app, &username, "wrong-password").await;
    assert_eq!(locking.status(), 429, "third failure locks");
    assert!(locking.text().await.unwrap().contains("账户已锁定"));
    let correct_while_locked = attempt_login(&app, &username, &password).await;
    assert_eq!(correct_while_locked.status(), 429, "correct password is refused while locked");
    let user = app.db.user_by_id(user_id).await.unwrap().unwrap();
    assert!(user.is_locked(Utc::now()));

    let admin = app.login_as(Role::Administrator, &[]).await;
    let unlock = admin.post_form(&format!("/users/{user_id}/unlock"), &[]).await;
    assert_eq!(unlock.status(), 303);
    assert_eq!(attempt_login(&app, &username, &password).await.status(), 303);
    let actions = audit_actions(&app).await;
    for action in [AuditAction::AccountLocked, AuditAction::UserUnlocked, AuditAction::LoginFailed]
    {
        assert!(actions.iter().any(|(a, _, _)| a == action.as_str()), "{action:?} in {actions:?}");
    }
}

#[tokio::test]
async fn lock_expires_after_lockout_minutes() {
    let app = spawn_app_with(|settings| settings.auth.max_failed_logins = 1).await;
    let (user_id, username, password) = app.create_user(Role::Merchant, &[]).await;
    assert_eq!(attempt_login(&app, &username, "wrong-password").await.status(), 429);
    app.db.lock_user(user_id, Utc::now() - Duration::seconds(1)).await.unwrap();
    assert_eq!(attempt_login(&app, &username, &password).await.status(), 303);
}

#[tokio::test]
async fn success_resets_failure_count() {
    let app = spawn_app_with(|settings| settings.auth.max_failed_logins = 2).await;
    let (user_id, username, password) = app.create_user(Role::Resident, &[]).await;
    assert_eq!(attempt_login(&app, &username, "wrong-password").await.status(), 401);
    assert_eq!(attempt_login(&app, &username, &password).await.status(), 303);
    assert_eq!(app.db.user_by_id(user_id).await.unwrap().unwrap().failed_logins, 0);
    assert_eq!(attempt_login(&app, &username, "wrong-password").await.status(), 401);
}

#[tokio::test]
async fn idle_session_expires() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    let idle = app.settings.auth.session_idle_minutes;
    set_session_times(&app, &session.session_id(), idle - 1, 60).await;
    assert_eq!(session.get("/api/v1/me").await.status(), 200, "just inside the idle timeout");
    set_session_times(&app, &session.session_id(), idle + 1, 60).await;
    assert_eq!(session.get("/api/v1/me").await.status(), 401, "past the idle timeout");
    assert!(
        app.db.session_by_id(&session.session_id()).await.unwrap().is_none(),
        "expired session deleted"
    );
}

#[tokio::test]
async fn session_expires_at_absolute_lifetime() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    set_session_times(&app, &session.session_id(), 0, -1).await;
    assert_eq!(session.get("/api/v1/me").await.status(), 401);
}

#[tokio::test]
async fn session_touch_limited_to_once_a_minute() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    let id = session.session_id();
    let before = app.db.session_by_id(&id).await.unwrap().unwrap().last_seen_at;
    session.get("/api/v1/me").await;
    let after = app.db.session_by_id(&id).await.unwrap().unwrap().last_seen_at;
    assert_eq!(before, after, "a request within a minute does not write");
    set_session_times(&app, &id, 2, 60).await;
    session.get("/api/v1/me").await;
    let touched = app.db.session_by_id(&id).await.unwrap().unwrap().last_seen_at;
    assert!(Utc::now() - touched < Duration::seconds(30), "a request after two minutes writes");
}

#[tokio::test]
async fn logout_invalidates_session() {
    let app = spawn_app().await;
    let session =
        app.login_as(Role::Dispatcher, crate::helpers::default_areas(Role::Dispatcher)).await;
    let token = session.session_token().unwrap();
    let response = session.post_form("/logout", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    assert_eq!(session.get("/api/v1/me").await.status(), 401);
    // Replaying the old cookie from another client fails too.
    let replay = app
        .new_client()
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("citycore_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let actions = audit_actions(&app).await;
    let logout = actions.iter().find(|(action, _, _)| action == "logout").expect("logout audited");
    assert_eq!(logout.1, session.username);
}

#[tokio::test]
async fn deactivated_user_session_is_rejected() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE app_user SET active = FALSE WHERE user_id = $1")
            .bind(session.user_id)
            .execute(pool)
            .await
            .map(drop)
    })
    .unwrap();
    assert_eq!(session.get("/api/v1/me").await.status(), 401);
    assert_eq!(attempt_login(&app, &session.username, &session.password).await.status(), 401);
}

#[tokio::test]
async fn anonymous_page_visit_redirects_to_login() {
    let app = spawn_app().await;
    let response =
        app.client.get(app.url("/users")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fusers");
}

#[tokio::test]
async fn login_rejects_open_redirects() {
    let app = spawn_app().await;
    let (_, username, password) = app.create_user(Role::Resident, &[]).await;
    let attempts =
        ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"];
    for next in attempts {
        let client = app.new_client();
        let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
        let form = [
            ("username", username.as_str()),
            ("password", password.as_str()),
            ("next", next),
            ("csrf_token", &csrf_field(&page)),
        ];
        let response = client.post(app.url("/login")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 303, "next={next}");
        assert_eq!(response.headers()["location"], "/", "next={next}");
    }
    let session = app.login_as(Role::Resident, &[]).await;
    let response =
        session.post_form("/locale", &[("locale", "en"), ("next", "//evil.example")]).await;
    assert_eq!(response.headers()["location"], "/", "locale form next");
}

#[tokio::test]
async fn locale_choice_is_remembered_across_logins() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    let response = session.post_form("/locale", &[("locale", "en"), ("next", "/login")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("citycore_lang=en") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );

    // A new browser without the language cookie gets English back at login.
    let response = attempt_login(&app, &session.username, &session.password).await;
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("citycore_lang=en")), "{cookies:?}");
}

#[tokio::test]
async fn visitor_locale_switch_sets_cookie_only() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("lang=\"zh-CN\""));
    let form = [("locale", "en"), ("next", "/login"), ("csrf_token", &csrf_field(&page))];
    let response = app.client.post(app.url("/locale")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let page = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("lang=\"en\""), "{page}");
    assert!(page.contains("Log in"), "{page}");
}

#[tokio::test]
async fn csrf_rejects_missing_or_wrong_token_on_forms() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let user_path = format!("/users/{}", session.user_id);
    let routes = [
        "/logout".to_owned(),
        "/locale".to_owned(),
        "/login".to_owned(),
        "/users/new".to_owned(),
        user_path.clone(),
        format!("{user_path}/password"),
        format!("{user_path}/unlock"),
    ];
    for path in &routes {
        let missing =
            session.client.post(session.url(path)).form(&[("locale", "en")]).send().await.unwrap();
        assert_eq!(missing.status(), 403, "POST {path} without a token");
        let wrong = session
            .client
            .post(session.url(path))
            .form(&[("csrf_token", "0".repeat(64).as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403, "POST {path} with a wrong token");
    }
    assert_eq!(session.get("/api/v1/me").await.status(), 200, "session survived the attempts");
}

#[tokio::test]
async fn csrf_rejects_visitor_post_without_cookie_match() {
    let app = spawn_app().await;
    // A token that is not this visitor's cookie value, as a forged cross-site form would send.
    let form = [("username", "x"), ("password", "y"), ("csrf_token", &"a".repeat(64))];
    let client = app.new_client();
    let response = client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 403, "POST without the cookie");
    let page = client.get(app.url("/login")).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("citycore_csrf="), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let response = client.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 403, "POST with a cookie that differs from the field");
}

#[tokio::test]
async fn csrf_requires_header_on_cookie_authenticated_json() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let json = serde_json::json!({"locale": "en"});
    let without = session.client.post(session.url("/api/v1/me")).json(&json).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let body: serde_json::Value = without.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    let with = session.post_json("/api/v1/me", &json).await;
    assert_eq!(with.status(), 405, "token accepted, then the route has no POST");
    let in_query = session
        .client
        .post(session.url(&format!("/api/v1/me?csrf_token={}", session.csrf_token)))
        .json(&json)
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 403, "query token is only for multipart uploads");
}

#[tokio::test]
async fn csrf_skips_api_requests_without_session_cookie() {
    let app = spawn_app().await;
    let response = app
        .new_client()
        .post(app.url("/api/v1/me"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405, "reaches routing instead of the CSRF check");
}

#[tokio::test]
async fn password_absent_from_storage_and_audit() {
    let app = spawn_app().await;
    let (user_id, username, password) = app.create_user(Role::Resident, &[]).await;
    attempt_login(&app, &username, "typed-wrong-password").await;
    attempt_login(&app, &username, &password).await;
    let user = app.db.user_by_id(user_id).await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(!user.password_hash.contains(&password));
    let entries = app.db.list_audit(None, 100, 0).await.unwrap().entries;
    for entry in &entries {
        let text = format!("{entry:?}");
        assert!(!text.contains(&password), "{text}");
        assert!(!text.contains("typed-wrong-password"), "{text}");
    }
    let failure = entries.iter().find(|e| e.action == "login_failed").expect("failure audited");
    assert_eq!(failure.actor, username);
    assert!(failure.client_ip.as_deref() == Some("127.0.0.1"), "{failure:?}");
    let success = entries.iter().find(|e| e.action == "login_succeeded").expect("success audited");
    assert_eq!(success.actor_user_id, Some(user_id));
}

#[tokio::test]
async fn unknown_username_failure_is_audited_with_attempted_name() {
    let app = spawn_app().await;
    attempt_login(&app, "ghost-user", "whatever-password").await;
    let entries = app.db.list_audit(Some(AuditAction::LoginFailed), 10, 0).await.unwrap();
    assert_eq!(entries.total, 1);
    assert_eq!(entries.entries[0].actor, "ghost-user");
    assert_eq!(entries.entries[0].actor_user_id, None);
}

#[tokio::test]
async fn login_replaces_previous_session_of_browser() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    let old_id = session.session_id();
    let form = [
        ("username", session.username.as_str()),
        ("password", session.password.as_str()),
        ("csrf_token", session.csrf_token.as_str()),
    ];
    let response = session.client.post(session.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert!(app.db.session_by_id(&old_id).await.unwrap().is_none(), "old session ended");
    assert_ne!(session.session_id(), old_id, "browser holds a new token");
}

#[tokio::test]
async fn csrf_accepts_query_token_on_multipart_only() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let upload = || reqwest::multipart::Form::new().text("note", "photo");
    let path = format!("/api/v1/me?csrf_token={}", session.csrf_token);
    let with_token =
        session.client.post(session.url(&path)).multipart(upload()).send().await.unwrap();
    assert_eq!(with_token.status(), 405, "token accepted, then the route has no POST");
    let without =
        session.client.post(session.url("/api/v1/me")).multipart(upload()).send().await.unwrap();
    assert_eq!(without.status(), 403);
}

#[tokio::test]
async fn csrf_rejects_oversized_form_body() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Resident, &[]).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let response = session.post_form("/locale", &[("padding", &padding), ("locale", "en")]).await;
    assert_eq!(response.status(), 413);
}
