//! Case search through `GET /api/v1/cases?q=…`: Chinese words, English words, the
//! filters combined with a query, area scope, bad parameters and paging.

use citycore::{
    accounts::Role,
    cases::{
        import::{Mapping, insert_cases, parse_file},
        search::backfill,
    },
    db::Db,
};
use serde_json::{Value, json};

const DEFAULT_CSV: &str = include_str!("../../data/catalogue/default.csv");

use crate::{
    cases_loop::{IN_GRID_A1, IN_GRID_B1, app_with_grids},
    helpers::{Session, TestApp, areas},
};

/// Reports a case of exposed garbage (E0101) at `point` and returns its id.
async fn report(session: &Session, point: (f64, f64), title: &str, description: &str) -> i64 {
    let body = json!({
        "title": title,
        "description": description,
        "category_code": "E0101",
        "longitude": point.0,
        "latitude": point.1,
        "channel": "web",
    });
    let response = session.post_json("/api/v1/cases", &body).await;
    assert_eq!(response.status(), 201, "report accepted");
    let case: Value = response.json().await.unwrap();
    case["case_id"].as_i64().unwrap()
}

/// Lists cases with `query` and returns the status and the body.
async fn list(session: &Session, query: &str) -> (u16, Value) {
    let response = session.get(&format!("/api/v1/cases?{query}")).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Lists cases with `query`, expecting success, and returns their ids in order.
async fn ids(session: &Session, query: &str) -> Vec<i64> {
    let (status, body) = list(session, query).await;
    assert_eq!(status, 200, "{query}: {body}");
    body.as_array().unwrap().iter().map(|case| case["case_id"].as_i64().unwrap()).collect()
}

fn area_id(app: &TestApp, code: &str) -> i64 {
    let index = app.state.locator.snapshot();
    index.by_code(code).expect("area exists").area_id
}

/// Three cases in grid A1: a missing manhole cover, night-time noise and a lamp.
struct Reported {
    manhole: i64,
    noise: i64,
    lamp: i64,
}

async fn report_three(resident: &Session) -> Reported {
    let manhole = report(resident, IN_GRID_A1, "井盖丢失", "小区东门的井盖不见了，很危险").await;
    let noise = report(resident, IN_GRID_A1, "夜间施工", "工地凌晨还在施工，噪音扰民").await;
    let lamp = report(resident, IN_GRID_A1, "Street lamp out", "The LAMP at gate 3 is dark").await;
    Reported { manhole, noise, lamp }
}

#[tokio::test]
async fn two_character_chinese_words_match_only_their_cases() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    assert_eq!(ids(&dispatcher, "q=噪音").await, vec![cases.noise], "噪音");
    assert_eq!(ids(&dispatcher, "q=井盖").await, vec![cases.manhole], "井盖");
    assert_eq!(ids(&dispatcher, "q=噪声").await, Vec::<i64>::new(), "a word no case has");
    assert_eq!(ids(&dispatcher, "q=井盖丢失").await, vec![cases.manhole], "phrase");
    assert_eq!(ids(&dispatcher, "q=丢失井盖").await, Vec::<i64>::new(), "phrase out of order");
    assert_eq!(ids(&dispatcher, "q=井盖 噪音").await, Vec::<i64>::new(), "every word must match");
}

#[tokio::test]
async fn single_chinese_character_matches_anywhere_in_a_word() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    assert_eq!(ids(&dispatcher, "q=井").await, vec![cases.manhole], "first character of 井盖");
    assert_eq!(ids(&dispatcher, "q=民").await, vec![cases.noise], "last character of a run");
}

#[tokio::test]
async fn english_words_match_case_insensitively() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    assert_eq!(ids(&dispatcher, "q=lamp").await, vec![cases.lamp], "lowercase query");
    assert_eq!(ids(&dispatcher, "q=GATE%203").await, vec![cases.lamp], "word and digit");
    assert_eq!(ids(&dispatcher, "q=ｌａｍｐ").await, vec![cases.lamp], "full-width letters");
    assert_eq!(ids(&dispatcher, "q=lamps").await, Vec::<i64>::new(), "whole words only");
}

#[tokio::test]
async fn category_names_are_searchable_in_both_languages() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let all = vec![cases.lamp, cases.noise, cases.manhole];

    let mut found = ids(&dispatcher, "q=暴露垃圾").await;
    found.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(found, all, "E0101 is named 暴露垃圾");
    let mut found = ids(&dispatcher, "q=exposed%20garbage").await;
    found.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(found, all, "E0101 is named Exposed garbage");
}

#[tokio::test]
async fn filters_combine_with_the_query() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let in_a1 = report(&resident, IN_GRID_A1, "噪音扰民", "广场舞音响太响").await;
    let in_b1 = report(&resident, IN_GRID_B1, "噪音扰民", "酒吧深夜放音乐").await;
    report(&resident, IN_GRID_B1, "路面破损", "人行道砖块松动").await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let file = json!({ "action": "file", "expected_version": 1, "comment": "立案" });
    let path = format!("/api/v1/cases/{in_b1}/transitions");
    assert_eq!(dispatcher.post_json(&path, &file).await.status(), 200, "case filed");

    let community_b = area_id(&app, areas::COMMUNITY_B);
    let grid_a1 = area_id(&app, areas::GRID_A1);
    let street = area_id(&app, areas::STREET);
    let checks: [(&str, String, Vec<i64>); 7] = [
        ("query alone", "q=噪音".to_owned(), vec![in_b1, in_a1]),
        ("with stage", "q=噪音&stage=filed".to_owned(), vec![in_b1]),
        ("with community", format!("q=噪音&area={community_b}"), vec![in_b1]),
        ("with grid", format!("q=噪音&area={grid_a1}"), vec![in_a1]),
        ("with street", format!("q=噪音&area={street}"), vec![in_b1, in_a1]),
        ("with other category", "q=噪音&category=C0101".to_owned(), vec![]),
        ("with overdue", "q=噪音&overdue=true".to_owned(), vec![]),
    ];
    for (description, query, expected) in checks {
        let mut found = ids(&dispatcher, &query).await;
        found.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(found, expected, "{description}: {query}");
    }
}

#[tokio::test]
async fn search_keeps_cases_of_other_areas_hidden() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let in_a1 = report(&resident, IN_GRID_A1, "噪音扰民", "广场舞音响太响").await;
    report(&resident, IN_GRID_B1, "噪音扰民", "酒吧深夜放音乐").await;
    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;

    assert_eq!(ids(&grid_worker, "q=噪音").await, vec![in_a1], "only the own grid");
    let community_b = area_id(&app, areas::COMMUNITY_B);
    let outside = format!("q=噪音&area={community_b}");
    assert_eq!(ids(&grid_worker, &outside).await, Vec::<i64>::new(), "area outside scope");
}

#[tokio::test]
async fn bad_parameters_get_400_naming_the_field() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let long_query = format!("q={}", "噪".repeat(101));
    let checks = [
        ("punctuation only", "q=%EF%BC%9F!", "q"),
        ("query too long", long_query.as_str(), "q"),
        ("unknown area", "area=999999", "area"),
        ("area not a number", "area=north", "area"),
        ("negative offset", "offset=-1", "offset"),
        ("offset too deep", "offset=10001", "offset"),
        ("unknown stage", "q=噪音&stage=lost", "stage"),
        ("bad overdue", "q=噪音&overdue=yes", "overdue"),
    ];
    for (description, query, field) in checks {
        let (status, body) = list(&dispatcher, query).await;
        assert_eq!(status, 400, "{description}: {body}");
        assert_eq!(body["error"]["field"], field, "{description}: {body}");
    }
}

#[tokio::test]
async fn blank_query_lists_every_case() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let found = ids(&dispatcher, "q=%20%20").await;
    assert_eq!(found, vec![cases.lamp, cases.noise, cases.manhole], "newest first");
}

#[tokio::test]
async fn results_are_ordered_by_relevance_and_paged() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let loud =
        report(&resident, IN_GRID_A1, "噪音扰民", "酒吧噪音很大，深夜噪音不断，噪音持续一周").await;
    let quiet = report(&resident, IN_GRID_A1, "路灯不亮", "路灯坏了一周，附近有点噪音").await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    assert_eq!(ids(&dispatcher, "").await, vec![quiet, loud], "newest first without q");
    assert_eq!(ids(&dispatcher, "q=噪音").await, vec![loud, quiet], "most mentions first");
    assert_eq!(ids(&dispatcher, "q=噪音&limit=1").await, vec![loud], "first page");
    assert_eq!(ids(&dispatcher, "q=噪音&limit=1&offset=1").await, vec![quiet], "second page");
    assert_eq!(ids(&dispatcher, "q=噪音&offset=2").await, Vec::<i64>::new(), "past the end");
}

/// Removes the index entry of a case, as if it was stored before the index existed.
async fn drop_index_entry(db: &Db, case_id: i64) {
    let rows_affected = match db {
        Db::Sqlite(pool) => {
            let delete = sqlx::query("DELETE FROM case_search WHERE rowid = $1");
            delete.bind(case_id).execute(pool).await.map(|done| done.rows_affected())
        }
        Db::Postgres(pool) => {
            let delete = sqlx::query("DELETE FROM case_search WHERE case_id = $1");
            delete.bind(case_id).execute(pool).await.map(|done| done.rows_affected())
        }
    };
    assert_eq!(rows_affected.expect("index entry deleted"), 1);
}

#[tokio::test]
async fn backfill_indexes_cases_stored_before_the_index() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    drop_index_entry(&app.db, cases.noise).await;
    assert_eq!(ids(&dispatcher, "q=噪音").await, Vec::<i64>::new(), "entry removed");

    backfill(&app.db).await.expect("no back-fill pending is a no-op");
    assert_eq!(ids(&dispatcher, "q=噪音").await, Vec::<i64>::new(), "nothing pending");

    let pending = "INSERT INTO case_search_backfill (after_case_id) VALUES (0)";
    match &app.db {
        Db::Sqlite(pool) => sqlx::query(pending).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::query(pending).execute(pool).await.map(drop),
    }
    .expect("back-fill scheduled");
    backfill(&app.db).await.expect("back-fill runs");

    assert_eq!(ids(&dispatcher, "q=噪音").await, vec![cases.noise], "indexed again");
    assert_eq!(ids(&dispatcher, "q=井盖").await, vec![cases.manhole], "others kept once");
}

#[tokio::test]
async fn imported_cases_are_searchable() {
    let app = app_with_grids().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("small.csv");
    std::fs::write(
        &path,
        "CASE_ENQUIRY_ID,OPEN_DT,TARGET_DT,CLOSED_DT,CASE_STATUS,TYPE,Department,LATITUDE,LONGITUDE\n\
         1,06/01/2015 12:28:00 AM,,06/02/2015 01:00:00 PM,Closed,Graffiti Removal,PWDx,42.35,-71.06\n\
         2,06/01/2015 01:28:00 AM,,,Open,Pothole Repair,PWDx,42.35,-71.06\n",
    )
    .unwrap();
    let mapping = Mapping::boston();
    let cases = parse_file(&path, &mapping).expect("rows parse");
    let index = app.state.locator.snapshot();
    insert_cases(&app.db, &index, &mapping.source, &cases).await.expect("cases stored");
    let admin = app.login_as(Role::Administrator, &[]).await;

    let (_, found) = list(&admin, "q=graffiti").await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["title"], "Graffiti Removal");
    let (_, found) = list(&admin, "q=外部导入案件").await;
    assert_eq!(found.as_array().unwrap().len(), 2, "category name of imported cases");

    let later = folder.path().join("later.csv");
    std::fs::write(
        &later,
        "CASE_ENQUIRY_ID,OPEN_DT,TARGET_DT,CLOSED_DT,CASE_STATUS,TYPE,Department,LATITUDE,LONGITUDE\n\
         3,06/02/2015 09:00:00 AM,,,Open,Graffiti Removal,PWDx,42.35,-71.06\n",
    )
    .unwrap();
    let cases = parse_file(&later, &mapping).expect("rows parse");
    insert_cases(&app.db, &index, &mapping.source, &cases).await.expect("second file stored");
    let (_, found) = list(&admin, "q=graffiti").await;
    assert_eq!(found.as_array().unwrap().len(), 2, "second file of the same source: {found}");
}

#[tokio::test]
async fn queue_page_searches_and_filters_with_a_get_form() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let link = |case_id: i64| format!("/cases/{case_id}\"");

    let page = dispatcher.get("/cases?q=噪音&stage=&category=&area=").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&link(cases.noise)), "matching case listed");
    assert!(!html.contains(&link(cases.manhole)), "other case left out");
    assert!(html.contains("name=\"q\" type=\"search\" value=\"噪音\""), "search text kept");
    assert!(html.contains("<select id=\"area\" name=\"area\">"), "area filter shown");
    assert!(html.contains("name=\"overdue\" value=\"true\""), "overdue filter shown");
    assert!(html.contains("暴露垃圾"), "category filter lists category names");

    let grid_a1 = area_id(&app, areas::GRID_A1);
    let page = dispatcher.get(&format!("/cases?q=lamp&area={grid_a1}&overdue=true")).await;
    let html = page.text().await.unwrap();
    assert!(!html.contains(&link(cases.lamp)), "fresh case is not overdue");
    assert!(html.contains(&format!("<option value=\"{grid_a1}\" selected>")), "area kept");

    let page = dispatcher.get("/cases?q=%EF%BC%9F").await;
    assert_eq!(page.status(), 400, "query without terms");
}

#[tokio::test]
async fn renamed_category_is_found_under_its_new_names_only() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = report_three(&resident).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let renamed = DEFAULT_CSV.replace(",暴露垃圾,Exposed garbage,", ",裸露垃圾,Littered waste,");
    assert_ne!(renamed, DEFAULT_CSV, "E0101 is in the file");
    citycore::cases::catalogue::service::import_catalogue(&app.db, renamed.as_bytes())
        .await
        .expect("import renamed catalogue");
    assert!(ids(&dispatcher, "q=暴露垃圾").await.is_empty(), "queued, not yet indexed");
    backfill(&app.db).await.expect("back-fill");

    let mut found = ids(&dispatcher, "q=裸露垃圾").await;
    found.sort_unstable();
    let mut all = vec![cases.manhole, cases.noise, cases.lamp];
    all.sort_unstable();
    assert_eq!(found, all, "new Chinese name");
    assert_eq!(ids(&dispatcher, "q=littered").await.len(), 3, "new English name");
    assert!(ids(&dispatcher, "q=暴露垃圾").await.is_empty(), "old Chinese name");
    assert!(ids(&dispatcher, "q=exposed").await.is_empty(), "old English name");
    assert_eq!(ids(&dispatcher, "q=井盖").await, vec![cases.manhole], "own text still indexed");

    // Importing the same names again queues nothing.
    citycore::cases::catalogue::service::import_catalogue(&app.db, renamed.as_bytes())
        .await
        .expect("import again");
    assert_eq!(ids(&dispatcher, "q=裸露垃圾").await.len(), 3, "entries kept");
}
