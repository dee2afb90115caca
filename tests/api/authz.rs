//! Authorization matrix: the expected status of every endpoint for every role.
//!
//! Each row is one request; `by_role` lists the expected status in the order of
//! [`Role::ALL`]: administrator, dispatcher, handler, grid worker, community worker,
//! resident, merchant. A new capability adds its rows here. State-changing requests
//! carry a valid CSRF token, so the matrix tests authorization, not CSRF. `{target}`
//! in a path is replaced by the id of a resident account made for the purpose, and
//! `{case}` by the id of a case another resident reported outside every grid, and
//! `{lot}` by the reference of a parking lot without an owner.

use citycore::accounts::Role;

use crate::helpers::{TestApp, csrf_field, default_areas, spawn_app};

struct Row {
    method: &'static str,
    path: &'static str,
    /// Form fields of a POST; the CSRF token is added. For `POST_JSON` the fields
    /// become a JSON object, each value parsed as JSON when it can be (so `"1"` is a
    /// number) and kept as a string otherwise.
    form: &'static [(&'static str, &'static str)],
    anonymous: u16,
    by_role: [u16; 7],
}

const ALL_200: [u16; 7] = [200; 7];
const ADMIN_ONLY: [u16; 7] = [200, 403, 403, 403, 403, 403, 403];
/// Every staff role; residents and merchants are refused.
const STAFF: [u16; 7] = [200, 200, 200, 200, 200, 403, 403];
/// Administrators, dispatchers, grid workers and community workers; handlers work on
/// single cases and are refused like residents.
const KPI_VIEWERS: [u16; 7] = [200, 200, 403, 200, 200, 403, 403];
/// A valid report of exposed garbage for `POST /api/v1/cases`.
const CASE_REPORT: &[(&str, &str)] = &[
    ("title", "暴露垃圾"),
    ("description", "路口有一堆垃圾"),
    ("category_code", "E0101"),
    ("longitude", "116.47"),
    ("latitude", "39.99"),
];

/// A valid Open311 report without an API key.
const OPEN311_REPORT: &[(&str, &str)] = &[
    ("service_code", "E0101"),
    ("description", "路口有一堆垃圾"),
    ("lat", "39.99"),
    ("long", "116.47"),
];

/// Administrators pass authorization and then meet a 422 for an invalid body.
const ADMIN_THEN_422: [u16; 7] = [422, 403, 403, 403, 403, 403, 403];
/// Staff pass authorization and get 404 for a missing resource; others get 403 first.
const STAFF_NOT_FOUND: [u16; 7] = [404, 404, 404, 404, 404, 403, 403];
/// The resident registry: administrators, grid workers and community workers.
const REGISTRY: [u16; 7] = [200, 403, 403, 200, 200, 403, 403];
/// Registry roles pass authorization and then meet a 422 or 404 of their own.
const fn registry_then(status: u16) -> [u16; 7] {
    [status, 403, 403, status, status, 403, 403]
}

/// The parking operator console and analysis: administrators and dispatchers.
const PARKING_OPERATORS: [u16; 7] = [200, 200, 403, 403, 403, 403, 403];
/// Parking operators pass authorization and then meet a status of their own.
const fn parking_operators_then(status: u16) -> [u16; 7] {
    [status, status, 403, 403, 403, 403, 403]
}

/// Administrators pass authorization and then meet a 404 for a missing resource.
const ADMIN_THEN_404: [u16; 7] = [404, 403, 403, 403, 403, 403, 403];
/// Those who acknowledge and clear alarms pass authorization and meet a 404 for a
/// missing alarm: administrators, dispatchers, grid workers and community workers.
const ALARM_HANDLERS_THEN_404: [u16; 7] = [404, 404, 403, 404, 404, 403, 403];

/// The resident portal's home: residents only.
const RESIDENT_ONLY: [u16; 7] = [403, 403, 403, 403, 403, 200, 403];

/// A portal page for a resident whose account is not linked yet: a redirect to `/portal`.
const RESIDENT_REDIRECTED: [u16; 7] = [403, 403, 403, 403, 403, 303, 403];

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
    Row { method: "GET", path: "/api/v1/areas", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "GET",
        path: "/api/v1/areas/110105001",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
    },
    Row { method: "GET", path: "/api/v1/areas.geojson", form: &[], anonymous: 401, by_role: STAFF },
    // Public: the residents' report form locates points before anyone logs in. The test
    // street has no polygons, so every caller gets the not-found answer.
    Row {
        method: "GET",
        path: "/api/v1/locate?lat=39.9&lon=116.4",
        form: &[],
        anonymous: 404,
        by_role: [404; 7],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/areas/import?dry_run=true",
        form: &[("type", "FeatureCollection"), ("features", "[]")],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    // Everyone who may report can look addresses up. The test street has no places, so
    // the response is an empty list.
    Row { method: "GET", path: "/api/v1/places?q=x", form: &[], anonymous: 401, by_role: ALL_200 },
    // The resident registry. Writes name no real grid, household or resident, so the
    // roles allowed get a 422 or 404 and the registry stays empty.
    Row {
        method: "GET",
        path: "/api/v1/resident-tags",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/resident-tags",
        form: &[
            ("code", "volunteer"),
            ("name_zh", "志愿者"),
            ("name_en", "Volunteer"),
            ("kind", "x"),
        ],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row { method: "GET", path: "/api/v1/residents", form: &[], anonymous: 401, by_role: REGISTRY },
    Row {
        method: "POST_JSON",
        path: "/api/v1/households",
        form: &[("address", "春望里1号楼101"), ("grid_code", "no-such-grid")],
        anonymous: 401,
        by_role: registry_then(422),
    },
    Row {
        method: "GET",
        path: "/api/v1/households/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/residents",
        form: &[
            ("household_id", "0"),
            ("name", "张三"),
            ("identity_number", "11010519491231002X"),
            ("relation", "head"),
        ],
        anonymous: 401,
        by_role: registry_then(422),
    },
    Row {
        method: "GET",
        path: "/api/v1/residents/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    // A contact change on a missing resident: the registry roles reach the 404.
    Row {
        method: "PATCH_JSON",
        path: "/api/v1/residents/0",
        form: &[("email", "zhang.san@example.com")],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "GET",
        path: "/api/v1/organisations",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "GET",
        path: "/api/v1/organisations/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/organisations",
        form: &[("name", "春望超市"), ("kind", "merchant"), ("premises", "[]")],
        anonymous: 401,
        by_role: registry_then(422),
    },
    // Only administrators and community workers may reveal a number.
    Row {
        method: "POST_JSON",
        path: "/api/v1/residents/0/reveal",
        form: &[("field", "phone"), ("reason", "上门走访")],
        anonymous: 401,
        by_role: [404, 403, 403, 403, 404, 403, 403],
    },
    // Import and export of the registry. The import gets a URL-encoded form instead of
    // a multipart upload, so the roles allowed get 400 and nothing is written.
    Row {
        method: "GET",
        path: "/api/v1/resident-imports/template",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "POST",
        path: "/api/v1/resident-imports",
        form: &[("mode", "dry_run")],
        anonymous: 401,
        by_role: registry_then(400),
    },
    Row {
        method: "POST",
        path: "/api/v1/resident-imports?async=true",
        form: &[("mode", "apply")],
        anonymous: 401,
        by_role: registry_then(400),
    },
    // Import jobs: registry roles read their own; an unknown id is 404 for them.
    Row {
        method: "GET",
        path: "/api/v1/resident-imports/00000000-0000-4000-8000-000000000000",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "GET",
        path: "/api/v1/residents/export?format=csv",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    // Notices: administrators and community workers send, and registry roles read
    // receipts and follow up. The registry is empty, so a notice has no audience (422).
    Row {
        method: "GET",
        path: "/api/v1/resident-notices",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/resident-notices/audience",
        form: &[("tags_match", "any")],
        anonymous: 401,
        by_role: [200, 403, 403, 403, 200, 403, 403],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/resident-notices",
        form: &[("title", "停水通知"), ("body", "明日停水")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 422, 403, 403],
    },
    // Attachments: the upload wants a multipart form, so a URL-encoded one passes
    // authorization and gets 400. No notice 0 exists, so downloads are 404 for everyone
    // allowed to ask.
    Row {
        method: "POST",
        path: "/api/v1/resident-notices/attachments",
        form: &[("file", "x")],
        anonymous: 401,
        by_role: [400, 403, 403, 403, 400, 403, 403],
    },
    Row {
        method: "GET",
        path: "/api/v1/resident-notices/0/attachments/00000000000000000000000000000000",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "GET",
        path: "/api/v1/my/notices/0/attachments/00000000000000000000000000000000",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "GET",
        path: "/api/v1/resident-notices/follow-up",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "GET",
        path: "/api/v1/resident-notices/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "GET",
        path: "/api/v1/resident-notices/0/recipients?unread=true",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/resident-notices/0/follow-ups",
        form: &[("resident_id", "0"), ("method", "call"), ("outcome", "reached")],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/residents/0/account",
        form: &[("user_id", "0")],
        anonymous: 401,
        by_role: registry_then(404),
    },
    // A resident's own inbox: no account here is linked to a record, so every role
    // passes authorization and hears that no record is linked.
    Row { method: "GET", path: "/api/v1/my/notices", form: &[], anonymous: 401, by_role: [404; 7] },
    Row {
        method: "GET",
        path: "/api/v1/my/notices/events",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/my/notices/0/read",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    // Console pages of the registry and notices, with the same roles as their APIs.
    Row { method: "GET", path: "/residents", form: &[], anonymous: 401, by_role: REGISTRY },
    Row {
        method: "GET",
        path: "/residents/households/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row { method: "GET", path: "/residents/import", form: &[], anonymous: 401, by_role: REGISTRY },
    Row {
        method: "GET",
        path: "/residents/import/00000000-0000-4000-8000-000000000000",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "GET",
        path: "/residents/import/00000000-0000-4000-8000-000000000000/progress",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    // The import form is multipart; a URL-encoded body passes authorization and gets 400.
    Row {
        method: "POST",
        path: "/residents/import",
        form: &[("mode", "dry_run")],
        anonymous: 401,
        by_role: registry_then(400),
    },
    Row { method: "GET", path: "/resident-notices", form: &[], anonymous: 401, by_role: REGISTRY },
    Row {
        method: "GET",
        path: "/resident-notices/new",
        form: &[],
        anonymous: 401,
        by_role: [200, 403, 403, 403, 200, 403, 403],
    },
    Row {
        method: "POST",
        path: "/resident-notices/new",
        form: &[("title", "停水通知"), ("body", "明日停水"), ("action", "send")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 422, 403, 403],
    },
    Row {
        method: "GET",
        path: "/resident-notices/follow-up",
        form: &[],
        anonymous: 401,
        by_role: REGISTRY,
    },
    Row {
        method: "GET",
        path: "/resident-notices/0",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST",
        path: "/resident-notices/0/follow-ups",
        form: &[("resident_id", "0"), ("method", "call"), ("outcome", "reached")],
        anonymous: 401,
        by_role: registry_then(404),
    },
    // The resident portal, for residents only. No resident account here is linked to a
    // record, so `/portal` shows the sign-up state and the other pages redirect to it.
    Row { method: "GET", path: "/portal", form: &[], anonymous: 401, by_role: RESIDENT_ONLY },
    Row {
        method: "GET",
        path: "/portal/household",
        form: &[],
        anonymous: 401,
        by_role: RESIDENT_REDIRECTED,
    },
    Row {
        method: "GET",
        path: "/portal/notices",
        form: &[],
        anonymous: 401,
        by_role: RESIDENT_REDIRECTED,
    },
    Row {
        method: "GET",
        path: "/portal/notices/0",
        form: &[],
        anonymous: 401,
        by_role: RESIDENT_REDIRECTED,
    },
    // Sign-up is public; the invalid username stores nothing.
    Row { method: "GET", path: "/portal/signup", form: &[], anonymous: 200, by_role: ALL_200 },
    Row {
        method: "POST",
        path: "/portal/signup",
        form: &[("username", "x")],
        anonymous: 422,
        by_role: [422; 7],
    },
    // Verification: the registry roles, who then find no pending sign-up 0.
    Row { method: "GET", path: "/portal/signups", form: &[], anonymous: 401, by_role: REGISTRY },
    Row {
        method: "POST",
        path: "/portal/signups/0/approve",
        form: &[],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row {
        method: "POST",
        path: "/portal/signups/0/reject",
        form: &[("reason", "证件信息不符")],
        anonymous: 401,
        by_role: registry_then(404),
    },
    Row { method: "GET", path: "/api/v1/categories", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/api/v1/calendar/2026", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/api/v1/cases", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "GET",
        path: "/api/v1/cases?q=noise&overdue=true&offset=0",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
    },
    Row { method: "GET", path: "/api/v1/kpis", form: &[], anonymous: 401, by_role: KPI_VIEWERS },
    Row { method: "GET", path: "/kpis", form: &[], anonymous: 401, by_role: KPI_VIEWERS },
    Row {
        method: "GET",
        path: "/kpis/export.csv",
        form: &[],
        anonymous: 401,
        by_role: KPI_VIEWERS,
    },
    Row {
        method: "GET",
        path: "/kpis/export.xlsx",
        form: &[],
        anonymous: 401,
        by_role: KPI_VIEWERS,
    },
    Row {
        method: "GET",
        path: "/api/v1/kpis/cases?metric=closure&group=",
        form: &[],
        anonymous: 401,
        by_role: KPI_VIEWERS,
    },
    // The case lies in no grid: only administrators, dispatchers and handlers reach it.
    Row {
        method: "GET",
        path: "/api/v1/cases/{case}",
        form: &[],
        anonymous: 401,
        by_role: [200, 200, 200, 404, 404, 404, 404],
    },
    // Suggestions follow the case's read scope, and need the right to view cases.
    Row {
        method: "GET",
        path: "/api/v1/cases/{case}/duplicates",
        form: &[],
        anonymous: 401,
        by_role: [200, 200, 200, 404, 404, 403, 403],
    },
    Row { method: "GET", path: "/api/v1/routing-rules", form: &[], anonymous: 401, by_role: STAFF },
    // The rule names no real area, so the administrator gets past authorization to a
    // 422 and the empty rule set stays.
    Row {
        method: "PUT_JSON",
        path: "/api/v1/routing-rules",
        form: &[("rules", r#"[{"basis":"owner","area_code":"0","department_code":"HWS"}]"#)],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/cases",
        form: CASE_REPORT,
        anonymous: 401,
        by_role: [201; 7],
    },
    // Only dispatchers may merge; theirs fails on the missing target, so nothing changes.
    Row {
        method: "POST_JSON",
        path: "/api/v1/cases/{case}/transitions",
        form: &[("action", "merge"), ("expected_version", "1")],
        anonymous: 401,
        by_role: [403, 422, 403, 404, 404, 404, 404],
    },
    // Open311 reads are public, and a POST needs an API key rather than a session, so
    // a session of any role without a key is refused.
    Row {
        method: "GET",
        path: "/open311/v2/discovery.json",
        form: &[],
        anonymous: 200,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/open311/v2/services.xml",
        form: &[],
        anonymous: 200,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/open311/v2/services/E0101.json",
        form: &[],
        anonymous: 200,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/open311/v2/requests.json",
        form: &[],
        anonymous: 200,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/open311/v2/requests/{case}.json",
        form: &[],
        anonymous: 200,
        by_role: ALL_200,
    },
    Row {
        method: "POST",
        path: "/open311/v2/requests.json",
        form: OPEN311_REPORT,
        anonymous: 403,
        by_role: [403; 7],
    },
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
    // Alarm rules: staff read, administrators write. Alarms: staff read; administrators,
    // dispatchers, grid and community workers acknowledge and clear.
    Row { method: "GET", path: "/api/v1/sensor-rules", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "POST_JSON",
        path: "/api/v1/sensor-rules",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_422,
    },
    Row {
        method: "PUT_JSON",
        path: "/api/v1/sensor-rules/999999",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_404,
    },
    Row {
        method: "DELETE",
        path: "/api/v1/sensor-rules/999999",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_404,
    },
    Row { method: "GET", path: "/api/v1/alarms", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "POST_JSON",
        path: "/api/v1/alarms/999999/acknowledge",
        form: &[],
        anonymous: 401,
        by_role: ALARM_HANDLERS_THEN_404,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/alarms/999999/clear",
        form: &[],
        anonymous: 401,
        by_role: ALARM_HANDLERS_THEN_404,
    },
    Row { method: "GET", path: "/sensor-rules", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row {
        method: "GET",
        path: "/sensor-rules/new",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    Row {
        method: "GET",
        path: "/sensor-rules/999999",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_404,
    },
    Row {
        method: "POST",
        path: "/sensor-rules",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_422,
    },
    Row {
        method: "POST",
        path: "/sensor-rules/999999",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_404,
    },
    Row {
        method: "POST",
        path: "/sensor-rules/999999/delete",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_THEN_404,
    },
    Row { method: "GET", path: "/alarms", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "POST",
        path: "/alarms/999999/acknowledge",
        form: &[],
        anonymous: 401,
        by_role: ALARM_HANDLERS_THEN_404,
    },
    Row {
        method: "POST",
        path: "/alarms/999999/clear",
        form: &[],
        anonymous: 401,
        by_role: ALARM_HANDLERS_THEN_404,
    },
    // The smart core dashboard: staff, each in their own area when none is named.
    Row { method: "GET", path: "/smart-core", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/smart-core/alarms", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "GET",
        path: "/api/v1/smart-core/series?from=2026-12-01T00:00:00%2B08:00&to=2026-12-02T00:00:00%2B08:00",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
    },
    Row {
        method: "GET",
        path: "/api/v1/smart-core/events",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
    },
    // Parking inventory: staff read and count, administrators write and import.
    Row { method: "GET", path: "/parking/lots", form: &[], anonymous: 401, by_role: STAFF },
    Row { method: "GET", path: "/api/v1/parking/lots", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "GET",
        path: "/api/v1/parking/lots/no-such-lot",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/lots/no-such-lot/spots",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/lots/no-such-lot/group",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/spots/no-such-space",
        form: &[],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/lots/no-such-lot/counts",
        form: &[("occupied", "1")],
        anonymous: 401,
        by_role: STAFF_NOT_FOUND,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/lots",
        form: &[("name", "缺少编号的停车场")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "PUT_JSON",
        path: "/api/v1/parking/lots/no-such-lot",
        form: &[("name", "缺少其他字段")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/spots",
        form: &[("label", "缺少编号的车位")],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "PUT_JSON",
        path: "/api/v1/parking/spots/no-such-space",
        form: &[("label", "1号")],
        anonymous: 401,
        by_role: [404, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/import?dry_run=true",
        form: &[],
        anonymous: 401,
        by_role: [400, 403, 403, 403, 403, 403, 403],
    },
    Row { method: "GET", path: "/cases", form: &[], anonymous: 401, by_role: STAFF },
    Row {
        method: "GET",
        path: "/cases?q=noise&overdue=true",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
    },
    Row { method: "GET", path: "/routing", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row {
        method: "GET",
        path: "/routing/export.csv",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    // A form without a file: the administrator gets past authorization to a 422.
    Row {
        method: "POST",
        path: "/routing/import",
        form: &[],
        anonymous: 401,
        by_role: [422, 403, 403, 403, 403, 403, 403],
    },
    Row { method: "GET", path: "/cases/mine", form: &[], anonymous: 401, by_role: ALL_200 },
    Row { method: "GET", path: "/api/v1/notices", form: &[], anonymous: 401, by_role: ALL_200 },
    Row { method: "GET", path: "/cases/new", form: &[], anonymous: 401, by_role: ALL_200 },
    Row {
        method: "GET",
        path: "/cases/{case}",
        form: &[],
        anonymous: 401,
        by_role: [200, 200, 200, 404, 404, 404, 404],
    },
    Row {
        method: "POST",
        path: "/cases/new",
        form: CASE_REPORT,
        anonymous: 401,
        by_role: [303; 7],
    },
    // Only dispatchers may reclassify; theirs fails on the missing category.
    Row {
        method: "POST_JSON",
        path: "/api/v1/cases/{case}/transitions",
        form: &[("action", "reclassify"), ("expected_version", "1")],
        anonymous: 401,
        by_role: [403, 422, 403, 404, 404, 404, 404],
    },
    // The same merge as through the JSON API, through the case page's action form.
    Row {
        method: "POST",
        path: "/cases/{case}/actions",
        form: &[("action", "merge"), ("expected_version", "1")],
        anonymous: 401,
        by_role: [403, 422, 403, 404, 404, 404, 404],
    },
    // No photo has this id, and readers and others alike get 404.
    Row {
        method: "GET",
        path: "/cases/{case}/photos/00000000000000000000000000000000",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    // An unknown tracking token: the page is public, so nobody gets more than a 404.
    Row {
        method: "GET",
        path: "/track/00000000000000000000000000000000",
        form: &[],
        anonymous: 404,
        by_role: [404; 7],
    },
    Row {
        method: "POST",
        path: "/track/00000000000000000000000000000000",
        form: &[("rating", "5")],
        anonymous: 404,
        by_role: [404; 7],
    },
    // Shared parking: `{lot}` is a lot without an owner, so only administrators manage it.
    Row {
        method: "GET",
        path: "/api/v1/parking/lots/{lot}/windows",
        form: &[],
        anonymous: 401,
        by_role: ALL_200,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/lots/{lot}/windows",
        form: &[
            ("kind", "once"),
            ("starts_at", "2027-03-01T08:00:00Z"),
            ("ends_at", "2027-03-01T18:00:00Z"),
        ],
        anonymous: 401,
        by_role: [201, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/lots/{lot}/allocation",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    Row {
        method: "DELETE",
        path: "/api/v1/parking/windows/999999",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/bookings",
        form: &[],
        anonymous: 401,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/bookings?lot_ref={lot}",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    // Everyone may book; this request then fails on its driver kind.
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/bookings",
        form: &[
            ("lot_ref", "AUTHZ-LOT"),
            ("plate", "京A00001"),
            ("driver_kind", "pilot"),
            ("starts_at", "2027-03-01T09:00:00Z"),
            ("ends_at", "2027-03-01T10:00:00Z"),
        ],
        anonymous: 401,
        by_role: [422; 7],
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/bookings/999999",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/bookings/999999/cancel",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/bookings/999999/check-in",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/bookings/999999/check-out",
        form: &[],
        anonymous: 401,
        by_role: [404; 7],
    },
    // The parking operator console, its JSON report and the analysis upload page.
    Row {
        method: "GET",
        path: "/parking/operator",
        form: &[],
        anonymous: 401,
        by_role: PARKING_OPERATORS,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/operator-report",
        form: &[],
        anonymous: 401,
        by_role: PARKING_OPERATORS,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/operator-report?from=2027-02-30",
        form: &[],
        anonymous: 401,
        by_role: parking_operators_then(422),
    },
    Row {
        method: "GET",
        path: "/parking/analysis",
        form: &[],
        anonymous: 401,
        by_role: PARKING_OPERATORS,
    },
    // A form that is not multipart: operators pass authorization and get 400.
    Row {
        method: "POST",
        path: "/parking/analysis",
        form: &[("time_zone", "UTC")],
        anonymous: 401,
        by_role: parking_operators_then(400),
    },
    // Tariffs: administrators only. Invalid bodies make the administrator's call a 422.
    Row { method: "GET", path: "/parking/tariffs", form: &[], anonymous: 401, by_role: ADMIN_ONLY },
    Row {
        method: "POST",
        path: "/parking/tariffs",
        form: &[("code", "authz"), ("name", "Authz"), ("bands", "weekday 00:00 08:00 100")],
        anonymous: 401,
        by_role: ADMIN_THEN_422,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/tariffs",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    Row {
        method: "POST_JSON",
        path: "/api/v1/parking/tariffs",
        form: &[("code", "authz"), ("name", "Authz"), ("bands", "[]")],
        anonymous: 401,
        by_role: ADMIN_THEN_422,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/tariffs/default",
        form: &[],
        anonymous: 401,
        by_role: ADMIN_ONLY,
    },
    Row {
        method: "PUT_JSON",
        path: "/api/v1/parking/tariffs/default",
        form: &[("name", "Default"), ("bands", "[]")],
        anonymous: 401,
        by_role: ADMIN_THEN_422,
    },
    // Drivers read a lot's prices; staff read the log of price changes.
    Row {
        method: "GET",
        path: "/api/v1/parking/lots/{lot}/prices",
        form: &[],
        anonymous: 401,
        by_role: ALL_200,
    },
    Row {
        method: "GET",
        path: "/api/v1/parking/price-changes?lot={lot}",
        form: &[],
        anonymous: 401,
        by_role: STAFF,
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

/// Turns fields into a JSON object, parsing each value as JSON when it can be.
fn json_object(fields: &[(&str, &str)]) -> serde_json::Value {
    let object: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(key, value)| {
            let parsed =
                serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(*value));
            ((*key).to_owned(), parsed)
        })
        .collect();
    object.into()
}

/// Reference of the lot that [`insert_parking_lot`] creates for the `{lot}` rows.
const PARKING_LOT: &str = "AUTHZ-LOT";

/// Inserts a lot with no owner and one shared space, as the inventory would.
async fn insert_parking_lot(app: &TestApp) {
    let now = chrono::Utc::now();
    citycore::with_pool!(&app.db, |pool| {
        sqlx::query(
            "INSERT INTO parking_lot (lot_ref, name, owner_type, capacity, longitude, latitude, \
             created_at, updated_at) VALUES ($1, $1, 'public', 1, 116.47, 39.99, $2, $2)",
        )
        .bind(PARKING_LOT)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
    .expect("parking lot inserted");
}

/// Reports a case as a resident of its own and returns its id.
async fn report_case(app: &TestApp) -> i64 {
    let reporter = app.login_as(Role::Resident, &[]).await;
    let response = reporter.post_json("/api/v1/cases", &json_object(CASE_REPORT)).await;
    assert_eq!(response.status(), 201, "case reported");
    let case: serde_json::Value = response.json().await.unwrap();
    case["case_id"].as_i64().expect("case id")
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
        "POST_JSON" => client.post(url).header("x-csrf-token", csrf).json(&json_object(row.form)),
        "PUT_JSON" => client.put(url).header("x-csrf-token", csrf).json(&json_object(row.form)),
        "PATCH_JSON" => client.patch(url).header("x-csrf-token", csrf).json(&json_object(row.form)),
        "DELETE" => client.delete(url).header("x-csrf-token", csrf),
        other => panic!("add method {other} to the matrix runner"),
    };
    request.send().await.expect("request sent").status().as_u16()
}

#[tokio::test]
async fn every_endpoint_answers_each_role_as_expected() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let (target_id, _, _) = app.create_user(Role::Resident, &[]).await;
    let case_id = report_case(&app).await;
    insert_parking_lot(&app).await;
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
            let path = row
                .path
                .replace("{target}", &target_id.to_string())
                .replace("{case}", &case_id.to_string())
                .replace("{lot}", PARKING_LOT);
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
