//! The account inbox: notices of followed cases at `GET /api/v1/notices` and on
//! `/cases/mine`, delivered once and kept per recipient.

use citycore::accounts::Role;
use serde_json::{Value, json};

use crate::{
    cases_loop::{IN_GRID_A1, app_with_grids},
    duplicates::{east_of_a1, id_of, report_at, transition},
    helpers::{Session, areas},
};

async fn notices(session: &Session) -> Vec<Value> {
    let response = session.get("/api/v1/notices").await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap().as_array().cloned().expect("a list")
}

fn flags(list: &[Value]) -> Vec<bool> {
    list.iter().map(|notice| notice["new"].as_bool().expect("new flag")).collect()
}

#[tokio::test]
async fn notices_reach_each_reporter_once() {
    let app = app_with_grids().await;
    let first = app.login_as(Role::Resident, &[]).await;
    let second = app.login_as(Role::Resident, &[]).await;
    let bystander = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;

    let survivor = id_of(&report_at(&first, "E0101", IN_GRID_A1).await);
    let merged = id_of(&report_at(&second, "E0101", east_of_a1(40.0)).await);
    transition(&dispatcher, merged, "merge", json!({ "target_case_id": survivor })).await;
    transition(&dispatcher, survivor, "file", json!({})).await;

    let list = notices(&second).await;
    let keys: Vec<_> = list.iter().map(|notice| notice["message_key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["dup-notice-stage-changed", "dup-notice-merged"], "newest first");
    assert_eq!(flags(&list), [true, true]);
    assert_eq!(list[0]["case_id"], survivor);
    assert_eq!(list[0]["source_case_id"], merged);
    assert_eq!(list[0]["stage"], "filed");
    assert_eq!(list[0]["message"], "您关注的案件进入新阶段：立案。", "{}", list[0]);
    assert!(list[0]["created_at"].as_str().unwrap().ends_with("+08:00"), "{}", list[0]);

    assert_eq!(flags(&notices(&second).await), [false, false], "delivered by the first read");
    transition(&dispatcher, survivor, "dispatch", json!({})).await;
    let list = notices(&second).await;
    assert_eq!(flags(&list), [true, false, false], "only the dispatch is new");
    assert_eq!(list[0]["stage"], "dispatched");

    assert!(notices(&bystander).await.is_empty(), "no one else's notices");
    let english = second
        .client
        .get(second.url("/api/v1/notices"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let english: Value = english.json().await.unwrap();
    assert_eq!(english[0]["message"], "A case you follow moved to a new stage: Dispatched.");

    let page = first.get("/cases/mine").await.text().await.unwrap();
    assert!(page.contains("id=\"notices-heading\">消息"), "inbox on my cases");
    assert!(page.contains("<strong class=\"badge\">新</strong>"), "new notices marked");
    assert!(page.contains(&format!("href=\"/cases/{survivor}\">案件 {survivor}</a>")));
    let again = first.get("/cases/mine").await.text().await.unwrap();
    assert!(!again.contains("class=\"badge\""), "read once, then no longer new");
    assert_eq!(flags(&notices(&first).await), [false, false], "the page delivered them");
}
