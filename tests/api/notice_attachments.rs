//! Files attached to notices: upload checks, binding in the notice's transaction,
//! downloads for recipients and for staff in scope, and 404 for everyone else.

use chrono::{Duration, Utc};
use citycore::{accounts::Role, with_pool};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, areas, spawn_app},
    notices::{resident_account, returned_notice, send, street},
};

const UPLOADS: &str = "/api/v1/resident-notices/attachments";

/// Builds a small PDF: the magic bytes and enough structure to look like one.
fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% {text}\n%%EOF\n").into_bytes()
}

/// Encodes a real 4 × 3 PNG image.
fn png() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(4, 3, image::Rgb([200, 30, 30]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

async fn upload(session: &Session, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file_name.to_owned())
        // A lying content type: the server must judge the bytes and the name.
        .mime_str("application/pdf")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let request =
        session.client.post(session.url(UPLOADS)).header("x-csrf-token", &session.csrf_token);
    request.multipart(form).send().await.expect("request sent")
}

/// Uploads a file that must be accepted and returns its id.
async fn upload_id(session: &Session, file_name: &str, bytes: Vec<u8>) -> String {
    let response = upload(session, file_name, bytes).await;
    assert_eq!(response.status(), 201, "{file_name} uploaded");
    let body: Value = response.json().await.unwrap();
    body["attachment_id"].as_str().unwrap().to_owned()
}

/// Checks a 422 naming `field` with error `code`.
async fn assert_rejected(response: reqwest::Response, field: &str, code: &str, case: &str) {
    assert_eq!(response.status(), 422, "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], field, "{case}: {body}");
    assert_eq!(body["error"]["code"], code, "{case}: {body}");
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let sql = sql.to_owned();
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(pool).await.unwrap()
    })
}

fn notice_with(ids: &[&str]) -> Value {
    let mut notice = returned_notice();
    notice["attachment_ids"] = json!(ids);
    notice
}

#[tokio::test]
async fn recipient_downloads_an_attached_file() {
    let app = spawn_app().await;
    let ids = street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let guide = pdf("guide");
    let guide_id = upload_id(&worker, "C:\\fakepath\\登记指南.pdf", guide.clone()).await;
    let map_id = upload_id(&worker, "map.png", png()).await;

    let sent = send(&worker, &notice_with(&[&guide_id, &map_id])).await;
    let notice_id = sent["notice_id"].as_i64().unwrap();
    assert_eq!(sent["attachments"].as_array().unwrap().len(), 2, "{sent}");

    let reader = resident_account(&app, &worker, ids[&3]).await;
    let inbox: Vec<Value> = reader.get("/api/v1/my/notices").await.json().await.unwrap();
    let listed = &inbox[0]["attachments"];
    assert_eq!(listed[0]["file_name"], "登记指南.pdf", "folder dropped: {listed}");
    assert_eq!(listed[0]["content_type"], "application/pdf");
    assert_eq!(listed[0]["byte_size"], guide.len());
    assert_eq!(listed[1]["content_type"], "image/png", "order kept: {listed}");
    let url = listed[0]["download_url"].as_str().unwrap();
    assert_eq!(url, format!("/api/v1/my/notices/{notice_id}/attachments/{guide_id}"));

    let download = reader.get(url).await;
    assert_eq!(download.status(), 200);
    let header = |name: &str| download.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E7%99%BB%E8%AE%B0%E6%8C%87%E5%8D%97.pdf"),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), guide.as_slice());

    // Resident 2 has no returned tag, so the notice never reached them.
    let outsider = resident_account(&app, &worker, ids[&2]).await;
    assert_eq!(outsider.get(url).await.status(), 404, "non-recipient");
    let unknown = format!("/api/v1/my/notices/{notice_id}/attachments/{}", "0".repeat(32));
    assert_eq!(reader.get(&unknown).await.status(), 404, "unknown id");
    let traversal = format!("/api/v1/my/notices/{notice_id}/attachments/..%2F..%2Fcitycore.db");
    assert_eq!(reader.get(&traversal).await.status(), 404, "path outside the folder");
}

#[tokio::test]
async fn staff_download_follows_the_notice_scope() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let file_id = upload_id(&worker, "roster.pdf", pdf("roster")).await;
    let sent = send(&worker, &notice_with(&[&file_id])).await;
    let notice_id = sent["notice_id"].as_i64().unwrap();
    let path = format!("/api/v1/resident-notices/{notice_id}/attachments/{file_id}");

    let view: Value =
        worker.get(&format!("/api/v1/resident-notices/{notice_id}")).await.json().await.unwrap();
    assert_eq!(view["attachments"][0]["download_url"], path.as_str(), "{view}");
    assert_eq!(worker.get(&path).await.status(), 200, "sender");
    let grid_worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    assert_eq!(grid_worker.get(&path).await.status(), 200, "grid worker of a recipient");
    let other = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_B]).await;
    assert_eq!(other.get(&path).await.status(), 404, "community outside the audience");
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    assert_eq!(dispatcher.get(&path).await.status(), 403, "role without registry access");
}

#[tokio::test]
async fn bad_uploads_name_the_file_and_store_nothing() {
    let app = spawn_app().await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    let renamed = upload(&worker, "通知.pdf", png()).await;
    assert_rejected(renamed, "file", "notice_attachment_mismatch", "PNG renamed to .pdf").await;
    let program = upload(&worker, "setup.pdf", b"MZ\x90\0\x03\0\0\0".to_vec()).await;
    assert_rejected(program, "file", "notice_attachment_type", "program named .pdf").await;
    let script = upload(&worker, "page.html", b"<script>alert(1)</script>".to_vec()).await;
    assert_rejected(script, "file", "notice_attachment_type", "HTML file").await;
    let broken = upload(&worker, "broken.png", b"\x89PNG\r\n\x1a\ncut".to_vec()).await;
    assert_rejected(broken, "file", "notice_attachment_undecodable", "truncated PNG").await;
    let mut big = pdf("big");
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let oversize = upload(&worker, "big.pdf", big).await;
    assert_rejected(oversize, "file", "notice_attachment_too_large", "10 MiB + 1 byte").await;

    let error: Value = upload(&worker, "通知.pdf", png()).await.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("通知.pdf"), "message names the file: {message}");

    assert_eq!(count(&app, "SELECT COUNT(*) FROM notice_attachment").await, 0);
    let folder = app.settings.attachments_dir().join("notices");
    let files = std::fs::read_dir(&folder).map(|dir| dir.count()).unwrap_or(0);
    assert_eq!(files, 0, "no file left in {}", folder.display());
}

#[tokio::test]
async fn attachment_ids_must_be_own_unused_uploads() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let mut own = Vec::new();
    for n in 0..6 {
        own.push(upload_id(&worker, &format!("part-{n}.pdf"), pdf(&n.to_string())).await);
    }
    let foreign = upload_id(&admin, "admin.pdf", pdf("admin")).await;
    let own: Vec<&str> = own.iter().map(String::as_str).collect();

    let cases = [
        ("six files", notice_with(&own), "notice_attachment_too_many"),
        ("foreign upload", notice_with(&[own[0], &foreign]), "notice_attachment_unusable"),
        ("unknown id", notice_with(&[&"a".repeat(32)]), "notice_attachment_unusable"),
        ("same id twice", notice_with(&[own[0], own[0]]), "notice_attachment_twice"),
    ];
    for (case, body, code) in cases {
        let response = worker.post_json("/api/v1/resident-notices", &body).await;
        assert_rejected(response, "attachment_ids", code, case).await;
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notice").await, 0, "no notice stored");
    let bound = "SELECT COUNT(*) FROM notice_attachment WHERE notice_id IS NOT NULL";
    assert_eq!(count(&app, bound).await, 0, "no upload bound");

    send(&worker, &notice_with(&own[..5])).await;
    let again = worker.post_json("/api/v1/resident-notices", &notice_with(&[own[0]])).await;
    assert_rejected(again, "attachment_ids", "notice_attachment_unusable", "used twice").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notice").await, 1, "only the first notice");
}

#[tokio::test]
async fn expired_uploads_are_refused_and_removed() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let old = upload_id(&worker, "old.pdf", pdf("old")).await;
    let past = Utc::now() - Duration::hours(1);
    with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE notice_attachment SET expires_at = $1 WHERE attachment_id = $2")
            .bind(past)
            .bind(&old)
            .execute(pool)
            .await
            .unwrap();
    });

    let response = worker.post_json("/api/v1/resident-notices", &notice_with(&[&old])).await;
    assert_rejected(response, "attachment_ids", "notice_attachment_unusable", "expired").await;

    // The next upload clears expired ones, row and file.
    upload_id(&worker, "new.pdf", pdf("new")).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notice_attachment").await, 1);
    let old_file = app.settings.attachments_dir().join("notices").join(&old);
    assert!(!old_file.exists(), "{} removed", old_file.display());
}

/// Posts the notice composer as a browser does: multipart, with the CSRF token in the
/// query, `fields` as text and `files` in the `attachments` input.
async fn post_compose(
    session: &Session,
    fields: &[(&str, &str)],
    files: Vec<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    for (file_name, bytes) in files {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        form = form.part("attachments", part);
    }
    let url = session.url(&format!("/resident-notices/new?csrf_token={}", session.csrf_token));
    session.client.post(url).multipart(form).send().await.expect("request sent")
}

const RETURNED_FORM: &[(&str, &str)] = &[
    ("title", "返回人员健康登记"),
    ("body", "请近日从某地返回的居民到社区登记。"),
    ("tags", "returned"),
    ("tags_match", "any"),
    ("returned_from_area", "某地"),
    ("action", "send"),
];

#[tokio::test]
async fn compose_form_names_a_bad_file() {
    let app = spawn_app().await;
    street(&app).await;
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;

    let files = vec![("指南.pdf", pdf("guide")), ("假的.pdf", png())];
    let response = post_compose(&worker, RETURNED_FORM, files).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    let summary = html.split("error-summary").nth(1).expect("error summary shown");
    assert!(summary.contains("href=\"#attachments\""), "links to the file input");
    assert!(summary.contains("假的.pdf"), "names the bad file");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notice").await, 0, "nothing sent");
    let kept: String = with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT attachment_id FROM notice_attachment")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(
        html.contains(&format!("name=\"attachment_ids\" value=\"{kept}\" checked")),
        "the good file stays attached"
    );

    let mut fields = RETURNED_FORM.to_vec();
    fields.push(("attachment_ids", &kept));
    let response = post_compose(&worker, &fields, Vec::new()).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let detail = worker.get(location.split('?').next().unwrap()).await.text().await.unwrap();
    assert!(detail.contains("指南.pdf</a>"), "detail page lists the file");
    assert!(detail.contains(&format!("/attachments/{kept}\"")), "with its download link");
}
