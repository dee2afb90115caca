//! The console pages of the case loop: the report form, the queue, the case page's
//! action forms, the reporter's list and the public tracking page with its rating.

use citycore::{
    accounts::Role,
    cases::case::{CaseStore, Channel, Stage},
};

use crate::{
    cases_loop::{IN_GRID_A1, app_with_grids},
    helpers::{Session, TestApp, areas, csrf_field},
};

/// The fields of a report of exposed garbage at `point` (longitude, latitude).
fn report_fields(point: (f64, f64)) -> Vec<(&'static str, String)> {
    vec![
        ("category_code", "E0101".to_owned()),
        ("title", "小区门口暴露垃圾".to_owned()),
        ("description", "垃圾桶旁堆了三袋垃圾。".to_owned()),
        ("longitude", point.0.to_string()),
        ("latitude", point.1.to_string()),
    ]
}

async fn post_report(session: &Session, fields: &[(&str, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    session.post_form("/cases/new", &pairs).await
}

/// Reports through the form and returns the new case's id from the redirect.
async fn report_through_form(session: &Session, point: (f64, f64)) -> i64 {
    let response = post_report(session, &report_fields(point)).await;
    assert_eq!(response.status(), 303, "report form redirects");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("?notice=notice-case-reported"), "location {location}");
    let id = location.trim_start_matches("/cases/").split('?').next().unwrap();
    id.parse().expect("case id in the redirect")
}

/// Reads the `expected_version` hidden field of a case page.
fn version_field(html: &str) -> String {
    let marker = "name=\"expected_version\" value=\"";
    let start = html.find(marker).expect("page has an action form") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// Opens the case page as `session` and takes `action` with `fields` through its form.
async fn act(session: &Session, case_id: i64, action: &str, fields: &[(&str, &str)]) {
    let page = session.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{action}\"")), "{action} form shown");
    let version = version_field(&page);
    let mut form = vec![("action", action), ("expected_version", version.as_str())];
    form.extend_from_slice(fields);
    let response = session.post_form(&format!("/cases/{case_id}/actions"), &form).await;
    assert_eq!(response.status(), 303, "{action} redirects");
}

async fn stage_of(app: &TestApp, case_id: i64) -> Stage {
    app.db.case_by_id(case_id).await.unwrap().expect("case stored").stage
}

#[tokio::test]
async fn report_form_files_web_case_for_resident() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;

    let form = resident.get("/cases/new").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("<optgroup"), "categories grouped by major category");
    assert!(html.contains("name=\"latitude\""), "typed location works without scripts");
    assert!(!html.contains("caller_phone"), "residents get no caller fields");

    let case_id = report_through_form(&resident, IN_GRID_A1).await;
    let case = app.db.case_by_id(case_id).await.unwrap().unwrap();
    assert_eq!(case.channel, Channel::Web);
    assert_eq!(case.reporter_user_id, Some(resident.user_id));
    assert!(case.grid_id.is_some(), "located to its grid");

    let page = resident.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains("小区门口暴露垃圾"));
    assert!(page.contains(&format!("/track/{}", case.tracking_token)), "tracking link shown");
    let mine = resident.get("/cases/mine").await.text().await.unwrap();
    assert!(mine.contains(&format!("/cases/{case_id}")), "listed among own reports");
}

#[tokio::test]
async fn hotline_entry_records_caller_and_patrol_channel() {
    let app = app_with_grids().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let html = dispatcher.get("/cases/new").await.text().await.unwrap();
    assert!(html.contains("caller_phone"), "hotline entry asks for the caller");

    let mut fields = report_fields(IN_GRID_A1);
    fields.push(("caller_name", "王女士".to_owned()));
    fields.push(("caller_phone", "13800000000".to_owned()));
    let response = post_report(&dispatcher, &fields).await;
    assert_eq!(response.status(), 303);
    let cases = app.db.cases_by_reporter(dispatcher.user_id, 10).await.unwrap();
    assert_eq!(cases[0].channel, Channel::Hotline);
    assert_eq!(cases[0].reporter_contact.as_deref(), Some("王女士 13800000000"));

    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let case_id = report_through_form(&worker, IN_GRID_A1).await;
    let case = app.db.case_by_id(case_id).await.unwrap().unwrap();
    assert_eq!(case.channel, Channel::Patrol);
}

#[tokio::test]
async fn report_form_names_invalid_field() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = [
        ("latitude", "abc", "id=\"latitude-error\""),
        ("latitude", "", "id=\"latitude-error\""),
        ("category_code", "X9999", "id=\"category_code-error\""),
        ("title", " ", "id=\"title-error\""),
        ("description", &"长".repeat(4_001), "id=\"description-error\""),
    ];
    for (field, value, marker) in cases {
        let mut fields = report_fields(IN_GRID_A1);
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value.to_owned()));
        let response = post_report(&resident, &fields).await;
        assert_eq!(response.status(), 422, "{field} = {value:.10}");
        let html = response.text().await.unwrap();
        assert!(html.contains(marker), "{field} error shown next to the field");
        assert!(html.contains("aria-invalid=\"true\""), "{field} marked invalid");
    }
    assert!(app.db.cases_by_reporter(resident.user_id, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn whole_loop_runs_through_case_page_forms() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;
    let worker = app.login_as(Role::GridWorker, &[areas::GRID_A1]).await;
    let case_id = report_through_form(&resident, IN_GRID_A1).await;

    let queue = dispatcher.get("/cases?stage=intake").await.text().await.unwrap();
    assert!(queue.contains(&format!("/cases/{case_id}\"")), "queue lists the new case");
    act(&dispatcher, case_id, "file", &[("comment", "属实")]).await;
    act(&dispatcher, case_id, "dispatch", &[]).await;
    act(&handler, case_id, "accept", &[]).await;
    act(&handler, case_id, "report_done", &[("comment", "已清运")]).await;
    act(&worker, case_id, "verify", &[("comment", "现场已干净")]).await;
    assert_eq!(stage_of(&app, case_id).await, Stage::Closed);

    let page = dispatcher.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains("已清运"), "log shows the comment");
    assert!(page.contains("测试用户"), "log shows the actor");

    // A visitor holding the link rates once, with the visitor cookie's CSRF token.
    let token = app.db.case_by_id(case_id).await.unwrap().unwrap().tracking_token;
    let visitor = app.new_client();
    let track_url = app.url(&format!("/track/{token}"));
    let html = visitor.get(&track_url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"rating\""), "closed case offers the rating form");
    assert!(!html.contains("测试用户"), "no names on the public page");
    assert!(!html.contains("现场已干净"), "no staff comments on the public page");
    let csrf = csrf_field(&html);
    let form = [("rating", "5"), ("comment", "很及时"), ("csrf_token", csrf.as_str())];
    let response = visitor.post(&track_url).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let case = app.db.case_by_id(case_id).await.unwrap().unwrap();
    assert_eq!((case.stage, case.rating), (Stage::Rated, Some(5)));

    let again = visitor.post(&track_url).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 422, "a second rating is rejected");
    let html = visitor.get(&track_url).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("name=\"rating\""), "rated case offers no form");
}

#[tokio::test]
async fn tracking_rating_outside_range_is_rejected() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let case_id = report_through_form(&resident, IN_GRID_A1).await;
    let token = app.db.case_by_id(case_id).await.unwrap().unwrap().tracking_token;
    let track_url = app.url(&format!("/track/{token}"));

    let html = resident.get(&format!("/track/{token}")).await.text().await.unwrap();
    assert!(!html.contains("name=\"rating\""), "open case offers no rating form");
    let form = [("rating", "9"), ("csrf_token", resident.csrf_token.as_str())];
    let response = resident.client.post(&track_url).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 422, "an open case cannot be rated");
    assert_eq!(stage_of(&app, case_id).await, Stage::Intake);

    let unknown = app.get("/track/not-a-token").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn case_page_of_another_grid_is_not_found() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let case_id = report_through_form(&resident, IN_GRID_A1).await;
    let outsider = app.login_as(Role::GridWorker, &[areas::GRID_B1]).await;

    let page = outsider.get(&format!("/cases/{case_id}")).await;
    assert_eq!(page.status(), 404);
    let version = [("action", "verify"), ("expected_version", "1")];
    let action = outsider.post_form(&format!("/cases/{case_id}/actions"), &version).await;
    assert_eq!(action.status(), 404);
    let queue = outsider.get("/cases").await.text().await.unwrap();
    assert!(!queue.contains(&format!("/cases/{case_id}\"")), "not in another grid's queue");
}

#[tokio::test]
async fn stale_action_form_shows_conflict() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let case_id = report_through_form(&resident, IN_GRID_A1).await;
    act(&dispatcher, case_id, "file", &[]).await;

    let stale = [("action", "dispatch"), ("expected_version", "1")];
    let response = dispatcher.post_form(&format!("/cases/{case_id}/actions"), &stale).await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("class=\"error-summary\""), "conflict explained on the page");
    assert_eq!(stage_of(&app, case_id).await, Stage::Filed);
}

/// Encodes a 40×20 JPEG, red on the left and blue on the right, with EXIF orientation
/// 6 (rotate 90° clockwise to display) and a GPS position at 39.905 N, 116.405 E.
fn jpeg_with_exif() -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let image = image::RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) }
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();

    let dms = |d: u32, m: u32, s: u32| {
        Value::Rational(vec![
            Rational::from((d, 1)),
            Rational::from((m, 1)),
            Rational::from((s, 1)),
        ])
    };
    let field = |tag, value| Field { tag, ifd_num: In::PRIMARY, value };
    let fields = [
        field(Tag::Orientation, Value::Short(vec![6])),
        field(Tag::GPSLatitudeRef, Value::Ascii(vec![b"N".to_vec()])),
        field(Tag::GPSLatitude, dms(39, 54, 18)),
        field(Tag::GPSLongitudeRef, Value::Ascii(vec![b"E".to_vec()])),
        field(Tag::GPSLongitude, dms(116, 24, 18)),
    ];
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();

    // An APP1 segment right after the SOI marker carries "Exif\0\0" and the TIFF data.
    let length = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Posts the report form as multipart with `photo` as its file field.
async fn post_report_with_photo(
    session: &Session,
    photo: Vec<u8>,
    file_name: &str,
    mime: &str,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in report_fields(IN_GRID_A1) {
        form = form.text(name, value);
    }
    let part = reqwest::multipart::Part::bytes(photo).file_name(file_name.to_owned());
    form = form.part("photo", part.mime_str(mime).unwrap());
    let url = session.url(&format!("/cases/new?csrf_token={}", session.csrf_token));
    session.client.post(url).multipart(form).send().await.expect("request sent")
}

#[tokio::test]
async fn report_photo_is_rotated_and_stripped() {
    use citycore::cases::attachment::AttachmentStore;
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let upload = jpeg_with_exif();
    assert!(exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&upload)).is_ok());

    let response = post_report_with_photo(&resident, upload, "site.jpg", "image/jpeg").await;
    assert_eq!(response.status(), 303, "multipart report redirects");
    let case = app.db.cases_by_reporter(resident.user_id, 1).await.unwrap().remove(0);
    let attachments = app.db.case_attachments(case.case_id).await.unwrap();
    assert_eq!(attachments.len(), 1);
    let attachment = &attachments[0];
    assert_eq!(attachment.content_type, "image/jpeg");
    assert_eq!((attachment.width, attachment.height), (20, 40), "rotated upright");
    let (longitude, latitude) = attachment.gps_hint.expect("GPS kept as a hint");
    assert!((longitude - 116.405).abs() < 1e-6, "longitude {longitude}");
    assert!((latitude - 39.905).abs() < 1e-6, "latitude {latitude}");

    let path = app.settings.attachments_dir().join(&attachment.attachment_id);
    let stored = std::fs::read(&path).expect("file on disk");
    assert!(!stored.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF segment in the file");
    assert!(exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&stored)).is_err());
    let decoded = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (20, 40));
    // Orientation 6 turns the red left half to the top.
    assert!(decoded.get_pixel(10, 5)[0] > 200, "top is red");
    assert!(decoded.get_pixel(10, 35)[2] > 200, "bottom is blue");

    let url = format!("/cases/{}/photos/{}", case.case_id, attachment.attachment_id);
    let page = resident.get(&format!("/cases/{}", case.case_id)).await.text().await.unwrap();
    assert!(page.contains(&url), "case page shows the photo");
    let served = resident.get(&url).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(served.bytes().await.unwrap().to_vec(), stored);
    let outsider = app.login_as(Role::GridWorker, &[areas::GRID_B1]).await;
    assert_eq!(outsider.get(&url).await.status(), 404, "other grid cannot fetch it");
    assert_eq!(app.get(&url).await.status(), 401, "visitors cannot fetch it");
}

#[tokio::test]
async fn report_upload_rejects_non_image_and_oversize() {
    let app =
        crate::helpers::spawn_app_with(|settings| settings.cases.max_photo_bytes = 2_048).await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let cases = [
        ("text disguised as a photo", b"just some text".to_vec(), "fake.jpg"),
        ("photo over the limit", jpeg_with_noise(), "big.jpg"),
    ];
    for (description, bytes, name) in cases {
        let response = post_report_with_photo(&resident, bytes, name, "image/jpeg").await;
        assert_eq!(response.status(), 422, "{description}");
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"photo-error\""), "{description}: error next to the field");
        assert!(html.contains("photo"), "{description}: message names the field");
    }
    let stored = app.db.cases_by_reporter(resident.user_id, 10).await.unwrap();
    assert!(stored.is_empty(), "no case filed with a rejected photo");
}

/// Encodes a noisy 200×200 JPEG, well over 2 KiB.
fn jpeg_with_noise() -> Vec<u8> {
    let image = image::RgbImage::from_fn(200, 200, |x, y| {
        let v = ((x * 7919 + y * 104_729) % 251) as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_mul(7)])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    assert!(jpeg.len() > 2_048, "noise image is {} bytes", jpeg.len());
    jpeg
}

#[tokio::test]
async fn handler_attaches_after_photo_to_report_done() {
    let app = app_with_grids().await;
    let resident = app.login_as(Role::Resident, &[]).await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::STREET]).await;
    let handler = app.login_as(Role::Handler, &[areas::STREET]).await;
    let case_id = report_through_form(&resident, IN_GRID_A1).await;
    act(&dispatcher, case_id, "file", &[]).await;
    act(&dispatcher, case_id, "dispatch", &[]).await;
    act(&handler, case_id, "accept", &[]).await;

    let page = handler.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("action", "report_done")
        .text("expected_version", version_field(&page))
        .text("comment", "已清运，附处置后照片")
        .part("photo", reqwest::multipart::Part::bytes(jpeg_with_exif()).file_name("after.jpg"));
    let url = handler.url(&format!("/cases/{case_id}/actions?csrf_token={}", handler.csrf_token));
    let response = handler.client.post(url).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 303);

    let events = app.db.case_events(case_id).await.unwrap();
    let done = events.last().unwrap();
    assert_eq!(done.to_stage, Stage::Feedback);
    assert_eq!(done.attachment_ids.len(), 1, "after photo linked to the transition");
    let page = handler.get(&format!("/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains(&done.attachment_ids[0]), "log links the photo");
}
