//! Authorization matrix: the expected status of every endpoint for every role.
//!
//! Each row is one request; `by_role` lists the expected status in the order of
//! [`Role::ALL`]: administrator, dispatcher, handler, grid worker, community worker,
//! resident, merchant. A new capability adds its rows here. State-changing requests
//! carry a valid CSRF token, so the matrix tests authorization, not CSRF. `{target}`
//! in a path is replaced by the id of a resident account made for the purpose.

use citycore::accounts::Role;

use crate::helpers::{TestApp, csrf_field, default_areas, spawn_app};

struct Row {
    method: &'static str,
    path: &'static str,
    /// Form fields of a POST; the CSRF token is added.
    form: &'static [(&'static str, &'static str)],
    anonymous: u16,
    by_role: [u16; 7],
}

const ALL_200: [u16; 7] = [200; 7];
const ADMIN_ONLY: [u16; 7] = [200, 403, 403, 403, 403, 403, 403];
/// Every staff role; residents and merchants are refused.
const STAFF: [u16; 7] = [200, 200, 200, 200, 200, 403, 403];
/// Staff pass authorization and get 404 for a missing resource; others get 403 first.
const STAFF_NOT_FOUND: [u16; 7] = [404, 404, 404, 404, 404, 403, 403];

/// Rows run in this order for each role; `/logout` stays last because it ends the session.
const ROWS: &[Row] = &[
    Row { method: "GET", path: "/healthz", form: &[], anonymous: 200, by_role: ALL_200 },
    Row { method: "GET", path: "/readyz", form: &[], anonymous: 200, by_role: ALL_200 },
    // NOTE: metrics are public like the health checks; restrict them at the proxy.
    Row { method: "GET", path: "/metrics", form: &[], anonymous: 200, by_role: ALL_200 },
    Row { method: "GET", path: "/login", form: &[], anonymous: 200, by_role: ALL_200 },
    Row {
        method: "POST",
        path: "/login",
        form: &[("username", "nobody-at-all"), ("password", "wrong-password")],
        anonymous: 401,
        by_role: [401; 7],
    },
    Row {
        method: "POST",
        path: "/locale",
        form: &[("locale", "en"), ("next", "/login")],
        anonymous: 303,
        by_role: [303; 7],
    },
    Row { method: "GET", path: "/api/v1/me", form: &[], anonymous: 401, by_role: ALL_200 },
    Row { method: "GET", path: "/users", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row { method: "GET", path: "/users/new", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row {
        method: "POST",
        path: "/users/new",
        form: &[("username", "x")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row { method: "GET", path: "/users/{target}", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row {
        method: "POST",
        path: "/users/{target}",
        form: &[("display_name", "")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        path: "/users/{target}/password",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    Row {
        method: "POST",
        path: "/users/{target}/unlock",
        form: &[],
        anonymous: 401,
        by_role: [303, 403, 403, 403, 403, 403, 403],
    },
    Row { method: "GET", path: "/audit", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row { method: "GET", path: "/", form: &[], anonymous: 401, by_role: ALL_200 },
    Row { method: "GET", path: "/areas", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/areas/110105001", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/map", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/api/v1/categories", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/api/v1/calendar/2026", form: &[], anonymous: 401, by_role: STAFF },
    // Device readings authenticate by bearer token only, so a session does not help.
    Row { method: "POST", path: "/api/v1/readings", form: &[], anonymous: 401, by_role: [401; 7] },
    // A form body is not JSON, so the administrator gets past authorization to a 400.
    Row {
        method: "POST",
        path: "/api/v1/devices",
        form: &[],
        anonymous: 401,
        by_role: [400, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        path: "/api/v1/ingest-keys",
        form: &[],
        anonymous: 401,
        by_role: [400, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        path: "/api/v1/devices/no-such-device",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "GET",
        path: "/api/v1/devices/no-such-device/series?attribute=temperature&step=day&from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "GET",
        path: "/api/v1/devices/no-such-device/conflicts",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row { method: "POST", path: "/logout", form: &[], anonymous: 303, by_role: [303; 7] },
];

/// Builds a client and its CSRF token: a logged-in role or an anonymous visitor.
async fn client_for(app: &TestApp, role: Option<Role>) -> (reqwest::Client, String) {
    match role {
        Some(role) => {
            let session = app.login_as(role, default_areas(role)).await;
            (session.client, session.csrf_token)
        }
        None => {
            let client = app.new_client();
            let page = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
            let token = csrf_field(&page);
            (client, token)
        }
    }
}

async fn send(app: &TestApp, client: &reqwest::Client, csrf: &str, row: &Row, path: &str) -> u16 {
    let url = app.url(path);
    let request = match row.method {
        "GET" => client.get(url),
        "POST" => {
            let mut form: Vec<(&str, &str)> = row.form.to_vec();
            form.push(("csrf_token", csrf));
            client.post(url).form(&form)
        }
        other => panic!("add method {other} to the matrix runner"),
    };
    request.send().await.expect("request sent").status().as_u16()
}

#[tokio::test]
async fn every_endpoint_answers_each_role_as_expected() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let (target_id, _, _) = app.create_user(Role::Resident, &[]).await;
    let callers: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.map(Some)).collect();
    let mut failures = Vec::new();
    for role in callers {
        let (client, csrf) = client_for(&app, role).await;
        let role_name = role.map_or("anonymous", Role::as_str);
        for row in ROWS {
            let expected = match role {
                None => row.anonymous,
                Some(role) => row.by_role[Role::ALL.iter().position(|r| *r == role).unwrap()],
            };
            let path = row.path.replace("{target}", &target_id.to_string());
            let actual = send(&app, &client, &csrf, row, &path).await;
            if actual != expected {
                failures.push(format!(
                    "{} {path} as {role_name}: expected {expected}, got {actual}",
                    row.method
                ));
            }
        }
    }
    assert!(failures.is_empty(), "authorization mismatches:\n{}", failures.join("\n"));
}
