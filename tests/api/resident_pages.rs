//! The console pages of the registry and of notices: the resident list and household
//! page, the import form's dry run and apply, the notice composer with its preview and
//! field errors, the receipts page and the follow-up form.

use std::time::Duration;

use chrono::Utc;
use citycore::{accounts::Role, with_pool};

use crate::{
    helpers::{Session, TestApp, areas, spawn_app},
    notices::{identity, resident_account, street},
};

/// Returns the value of the hidden input `name` on `html`.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("page has {name}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// Posts the import form with `fields` and, when given, a file.
async fn post_import(
    session: &Session,
    file: Option<(&str, Vec<u8>)>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    if let Some((name, bytes)) = file {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        form = form.part("file", part);
    }
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    let url = session.url(&format!("/residents/import?csrf_token={}", session.csrf_token));
    session.client.post(url).multipart(form).send().await.expect("request sent")
}

/// Builds a roster of two residents of grid A1; with `bad`, a third row whose identity
/// number has a wrong check digit.
fn roster(bad: bool) -> Vec<u8> {
    let mut csv = String::from("地址,网格,姓名,公民身份号码,与户主关系,联系电话,标签\n");
    csv.push_str(&format!(
        "春望里9号,{},赵一,{},户主,13800138090,\n",
        areas::GRID_A1,
        identity(90)
    ));
    csv.push_str(&format!("春望里9号,{},赵二,{},子女,,\n", areas::GRID_A1, identity(91)));
    if bad {
        let mut wrong = identity(92);
        let last = if wrong.ends_with('0') { '1' } else { '0' };
        wrong.pop();
        wrong.push(last);
        csv.push_str(&format!("春望里9号,{},赵三,{wrong},子女,,\n", areas::GRID_A1));
    }
    csv.into_bytes()
}

async fn page(session: &Session, path: &str) -> (u16, String) {
    let response = session.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn registry_page_lists_own_grids_masked() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;

    let (status, html) = page(&worker, "/residents").await;
    assert_eq!(status, 200);
    assert!(html.contains("居民1<"), "grid A1's resident listed");
    assert!(!html.contains("居民7<"), "grid A2 is outside the grid worker's scope");
    assert!(html.contains("138****8001"), "phone masked");
    assert!(!html.contains("13800138001"), "clear phone never shown");
    assert!(!html.contains(&identity(1)), "clear identity number never shown");
    assert!(html.contains("href=\"/residents\""), "navigation links the registry");
    assert!(html.contains("/api/v1/residents/export?format=xlsx"), "export link");

    let (_, filtered) = page(&worker, "/residents?tag=returned&area=").await;
    assert!(filtered.contains("居民1<"), "tag filter");
    assert!(!filtered.contains("居民2<"), "tag filter");
    let (status, _) = page(&worker, "/residents?tag=nosuchtag").await;
    assert_eq!(status, 422, "unknown tag named");

    let household = hidden_household(&html);
    let (status, detail) = page(&worker, &format!("/residents/households/{household}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("居民1<"));

    let admin = app.login_as(Role::Administrator, &[]).await;
    let (_, all) = page(&admin, "/residents?area=110105001002").await;
    assert!(all.contains("居民10<"), "area filter on community B");
    assert!(!all.contains("居民1<"), "area filter on community B");
    let outside = hidden_household(&page(&admin, "/residents?area=110105001002").await.1);
    let (status, _) = page(&worker, &format!("/residents/households/{outside}")).await;
    assert_eq!(status, 404, "a household outside the scope is not found");
}

/// Reads the first household link of a resident table.
fn hidden_household(html: &str) -> i64 {
    let marker = "href=\"/residents/households/";
    let start = html.find(marker).expect("a household link") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].parse().unwrap()
}

#[tokio::test]
async fn import_page_checks_then_applies_staged_file() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    let (status, form) = page(&worker, "/residents/import").await;
    assert_eq!(status, 200);
    assert!(form.contains("/api/v1/resident-imports/template?format=csv"), "template link");

    let response = post_import(&worker, Some(("roster.csv", roster(true))), &[]).await;
    assert_eq!(response.status(), 200, "a dry run with problems still shows its report");
    let report = response.text().await.unwrap();
    assert!(report.contains("<th scope=\"row\">4</th>"), "the bad row named by number");
    assert!(!report.contains("name=\"staged_id\""), "no apply button with problems");

    let response = post_import(&worker, Some(("roster.csv", roster(false))), &[]).await;
    let report = response.text().await.unwrap();
    let staged_id = hidden_value(&report, "staged_id");
    let stored = with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM resident").fetch_one(pool).await.unwrap()
    });
    assert_eq!(stored, 0, "the dry run wrote nothing");
    let sealed = std::fs::read_to_string(
        app.settings.data_dir.join("resident-import-staging").join(format!("{staged_id}.bin")),
    )
    .expect("the clean file is staged");
    assert!(sealed.starts_with("v1:"), "the staged roster is sealed with the data key");
    assert!(!sealed.contains(&identity(90)), "no identity number in clear");

    let other = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let apply = [("mode", "apply"), ("staged_id", staged_id.as_str())];
    let response = post_import(&other, None, &apply).await;
    assert_eq!(response.status(), 422, "another user cannot apply the staged file");
    assert!(response.text().await.unwrap().contains("id=\"file-error\""));

    let pause = app.state.import_jobs.pause_next_write(1);
    let response = post_import(&worker, None, &apply).await;
    assert_eq!(response.status(), 303, "apply redirects");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/residents/import/"), "{location}");
    tokio::time::timeout(Duration::from_secs(30), pause.reached()).await.expect("write step");
    let (status, running) = page(&worker, &location).await;
    assert_eq!(status, 200);
    assert!(running.contains("data-state=\"writing\""), "{running}");
    assert!(running.contains("<progress id=\"import-progress\" max=\"2\" value=\"1\">"));
    assert!(running.contains(&format!("hx-get=\"{location}/progress\"")), "htmx polls");
    assert!(running.contains("<meta http-equiv=\"refresh\""), "reloads without JavaScript");
    assert_eq!(page(&other, &location).await.0, 404, "another user's job is not found");
    pause.release();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let fragment = loop {
        let (status, fragment) = page(&worker, &format!("{location}/progress")).await;
        assert_eq!(status, 200);
        if fragment.contains("data-state=\"done\"") {
            break fragment;
        }
        assert!(tokio::time::Instant::now() < deadline, "job still running: {fragment}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(fragment.contains("<a href=\"/residents\">"), "links to the registry");
    assert!(!fragment.contains("hx-get"), "polling stops once done");
    assert!(!fragment.contains("<html"), "the fragment is the progress block alone");
    let (_, finished) = page(&worker, &location).await;
    assert!(!finished.contains("http-equiv=\"refresh\""), "no reload once done");
    assert!(finished.contains("id=\"residents-written\">2<"), "{finished}");
    let (_, list) = page(&worker, "/residents").await;
    assert!(list.contains("赵一<"), "imported residents listed");
    assert!(list.contains("赵二<"), "imported residents listed");
    assert_eq!(post_import(&worker, None, &apply).await.status(), 422, "applied once only");

    let response = post_import(&worker, None, &[("mode", "dry_run")]).await;
    assert_eq!(response.status(), 422, "a check without a file");
    assert!(response.text().await.unwrap().contains("id=\"file-error\""));
}

/// A table row: description, form fields, and the id of the error expected.
type FormCase = (&'static str, &'static [(&'static str, &'static str)], &'static str);

#[tokio::test]
async fn compose_form_shows_field_errors() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let cases: [FormCase; 5] = [
        ("empty title", &[("title", " "), ("body", "正文")], "title-error"),
        ("empty body", &[("title", "标题"), ("body", "")], "body-error"),
        (
            "bad send time",
            &[("title", "标题"), ("body", "正文"), ("send_at", "明天")],
            "send_at-error",
        ),
        (
            "bad hours",
            &[("title", "标题"), ("body", "正文"), ("follow_up_hours", "0")],
            "follow_up_hours-error",
        ),
        (
            "nobody",
            &[
                ("title", "标题"),
                ("body", "正文"),
                ("tags", "returned"),
                ("returned_from_area", "别处"),
            ],
            "audience-error",
        ),
    ];
    for (name, fields, error_id) in cases {
        let mut form = fields.to_vec();
        form.push(("action", "send"));
        let response = worker.post_form("/resident-notices/new", &form).await;
        assert_eq!(response.status(), 422, "{name}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("id=\"{error_id}\"")), "{name}: {error_id} shown");
    }
    let stored = with_pool!(&app.db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM notice").fetch_one(pool).await.unwrap()
    });
    assert_eq!(stored, 0, "nothing stored");
}

/// Returns the form of an urgent notice to the residents who returned from 某地.
fn returned_form(action: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("title", "返回人员健康登记"),
        ("body", "请近日从某地返回的居民到社区登记。"),
        ("priority", "urgent"),
        ("tags", "returned"),
        ("tags_match", "any"),
        ("returned_from_area", "某地"),
        ("returned_since", "2026-11-01"),
        ("follow_up_hours", "12"),
        ("action", action),
    ]
}

#[tokio::test]
async fn notice_from_form_reaches_inboxes_and_follow_up() {
    let app = spawn_app().await;
    let ids = street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let reader = resident_account(&app, &worker, ids[&3]).await;

    let response = worker.post_form("/resident-notices/new", &returned_form("preview")).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    // Odd residents of community A: 1, 3, 5, 7, 9.
    assert!(html.contains("将发给 5 位居民"), "preview count shown");
    assert!(html.contains("value=\"某地\""), "the form keeps its values");

    let response = worker.post_form("/resident-notices/new", &returned_form("send")).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let notice_path = location.split('?').next().unwrap().to_owned();
    let inbox: serde_json::Value = reader.get("/api/v1/my/notices").await.json().await.unwrap();
    assert_eq!(inbox[0]["title"], "返回人员健康登记", "the notice reached the inbox");
    let notice_id = inbox[0]["notice_id"].as_i64().unwrap();
    let read = reader
        .post_json(&format!("/api/v1/my/notices/{notice_id}/read"), &serde_json::json!({}))
        .await;
    assert_eq!(read.status(), 200);

    let (status, receipts) = page(&worker, &notice_path).await;
    assert_eq!(status, 200);
    assert!(receipts.contains("id=\"count-read\">1<"), "one read receipt");
    assert!(receipts.contains("id=\"count-unread\">4<"), "four unread");
    let (_, unread) = page(&worker, &format!("{notice_path}?unread=true")).await;
    assert!(!unread.contains("居民3<"), "unread filter");
    assert!(unread.contains("居民1<"), "unread filter");
    let (_, list) = page(&worker, "/resident-notices").await;
    assert!(list.contains(&notice_path), "listed");

    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let (_, empty) = page(&grid_worker, "/resident-notices/follow-up").await;
    assert!(!empty.contains("居民1<"), "not due before the follow-up hours");
    with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE notice SET follow_up_at = $1")
            .bind(Utc::now())
            .execute(pool)
            .await
            .unwrap();
    });
    let (_, due) = page(&grid_worker, "/resident-notices/follow-up").await;
    assert!(due.contains("居民1<"), "grid A1's unread recipients");
    assert!(due.contains("居民5<"), "grid A1's unread recipients");
    assert!(!due.contains("居民3<"), "read or outside the grid");
    assert!(!due.contains("居民7<"), "read or outside the grid");
    assert!(due.contains("138****8001"), "masked phone");

    let path = format!("/resident-notices/{notice_id}/follow-ups");
    let one = ids[&1].to_string();
    let five = ids[&5].to_string();
    let long_note = "长".repeat(501);
    let fields = [
        ("resident_id", five.as_str()),
        ("method", "call"),
        ("outcome", "not_reached"),
        ("note", long_note.as_str()),
    ];
    let response = grid_worker.post_form(&path, &fields).await;
    assert_eq!(response.status(), 422, "note too long");
    assert!(
        response.text().await.unwrap().contains(&format!("id=\"note-{notice_id}-{five}-error\""))
    );

    let fields = [
        ("resident_id", one.as_str()),
        ("method", "visit"),
        ("outcome", "reached"),
        ("note", "已上门告知"),
    ];
    assert_eq!(grid_worker.post_form(&path, &fields).await.status(), 303);
    let fields = [
        ("resident_id", five.as_str()),
        ("method", "call"),
        ("outcome", "not_reached"),
        ("note", ""),
    ];
    assert_eq!(grid_worker.post_form(&path, &fields).await.status(), 303);
    let (_, after) =
        page(&grid_worker, "/resident-notices/follow-up?notice=notice-follow-up-recorded").await;
    assert!(!after.contains("居民1<"), "a reached resident leaves the list");
    assert!(after.contains("居民5<"), "the outcome is shown");
    assert!(after.contains("未联系到"), "the outcome is shown");
    assert!(after.contains("回访已记录"), "flash shown");

    let outsider = app.login_as(Role::GridWorker, &[areas::GRID_B1]).await;
    let fields = [("resident_id", five.as_str()), ("method", "call"), ("outcome", "reached")];
    assert_eq!(outsider.post_form(&path, &fields).await.status(), 404, "outside the scope");
}

#[tokio::test]
async fn pages_render_only_for_registry_roles() {
    let app = spawn_app().await;
    street(&app).await;
    let pages =
        ["/residents", "/residents/import", "/resident-notices", "/resident-notices/follow-up"];
    for role in [Role::Administrator, Role::GridWorker, Role::CommunityWorker] {
        let session = login(&app, role).await;
        for path in pages {
            let (status, _) = page(&session, path).await;
            assert_eq!(status, 200, "{path} as {}", role.as_str());
        }
        let compose = page(&session, "/resident-notices/new").await.0;
        let expected = if role == Role::GridWorker { 403 } else { 200 };
        assert_eq!(compose, expected, "composer as {}", role.as_str());
    }
    for role in [Role::Dispatcher, Role::Handler, Role::Resident, Role::Merchant] {
        let session = login(&app, role).await;
        for path in pages.into_iter().chain(["/resident-notices/new"]) {
            let (status, _) = page(&session, path).await;
            assert_eq!(status, 403, "{path} refused to {}", role.as_str());
        }
        let (_, home) = page(&session, "/").await;
        assert!(!home.contains("href=\"/residents\""), "no registry link for {}", role.as_str());
    }
    let english = login(&app, Role::CommunityWorker).await;
    let switch = english.post_form("/locale", &[("locale", "en"), ("next", "/residents")]).await;
    assert_eq!(switch.status(), 303);
    let (_, html) = page(&english, "/resident-notices/new").await;
    assert!(html.contains("Preview count"), "English labels");
    assert!(html.contains("lang=\"en\""), "English labels");
}

async fn login(app: &TestApp, role: Role) -> Session {
    app.login_as(role, crate::helpers::default_areas(role)).await
}
