//! The parking operator console on the real database. Covered: the report figures on a
//! known set of bookings, stored online rejections and the scheduled batch allocation
//! with the PostgreSQL lot lock. Also overstay warnings seen by driver and owner, API
//! timestamps with offsets, and the analysis upload page.

use chrono::{DateTime, Duration, Utc};
use citycore::{
    accounts::Role,
    config::BookingSettings,
    parking::booking::{
        BookingError, Status, batch,
        lifecycle::{self, Actor},
        reserve::{self, BookingInput},
        schedule::{self, BATCH_LOCK_CLASS},
        worker,
    },
    with_pool,
};
use serde_json::{Value, json};

use crate::{
    booking::{at, insert_lot, open_once},
    helpers::{TestApp, backend_is_postgres, default_areas, spawn_app},
};

/// Validates a request through the library at instant `now`.
fn request(
    lot_ref: &str,
    from: &str,
    to: &str,
    mode: &str,
    now: DateTime<Utc>,
) -> reserve::BookingRequest {
    let input: BookingInput = serde_json::from_value(json!({
        "lot_ref": lot_ref, "plate": "京B54321", "driver_kind": "visitor",
        "starts_at": from, "ends_at": to, "mode": mode
    }))
    .unwrap();
    input.parse(&BookingSettings::default(), now).unwrap()
}

async fn book_online(
    app: &TestApp,
    driver: i64,
    lot_ref: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<citycore::parking::booking::Booking, BookingError> {
    let settings = BookingSettings::default();
    let areas = app.state.locator.snapshot();
    let request = request(lot_ref, from, to, "online", now);
    reserve::reserve(&app.db, &settings, &areas, driver, &request, now).await
}

async fn queue_batch(
    app: &TestApp,
    driver: i64,
    lot_ref: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> i64 {
    let settings = BookingSettings::default();
    let request = request(lot_ref, from, to, "batch", now);
    batch::queue(&app.db, &settings, driver, &request, now).await.unwrap()
}

async fn status_of(app: &TestApp, booking_id: i64) -> String {
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT status FROM parking_booking WHERE booking_id = $1")
            .bind(booking_id)
            .fetch_one(pool)
            .await
    })
    .unwrap()
}

#[tokio::test]
async fn operator_report_matches_hand_counted_figures() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "OPS", None, 2).await;
    insert_lot(&app.db, "IDLE", None, 0).await;
    // One window of 12 hours on both spaces: 24 published space-hours.
    open_once(&app, "OPS", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let early = at("2027-03-01T07:00:00+08:00");
    let me = Actor { user_id: driver, is_administrator: false };

    let stay = book_online(
        &app,
        driver,
        "OPS",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T11:00:00+08:00",
        early,
    )
    .await
    .unwrap();
    let no_show = book_online(
        &app,
        driver,
        "OPS",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T12:00:00+08:00",
        early,
    )
    .await
    .unwrap();
    let rejected = book_online(
        &app,
        driver,
        "OPS",
        "2027-03-01T09:30:00+08:00",
        "2027-03-01T10:30:00+08:00",
        early,
    )
    .await;
    assert!(matches!(rejected, Err(BookingError::NoSpaceFree)), "both spaces are taken at 09:30");
    let cancelled = book_online(
        &app,
        driver,
        "OPS",
        "2027-03-01T13:00:00+08:00",
        "2027-03-01T15:00:00+08:00",
        early,
    )
    .await
    .unwrap();
    for _ in 0..3 {
        queue_batch(
            &app,
            driver,
            "OPS",
            "2027-03-01T16:00:00+08:00",
            "2027-03-01T18:00:00+08:00",
            early,
        )
        .await;
    }
    let admin = Actor { user_id: 0, is_administrator: true };
    let placed = batch::allocate_pending(&app.db, &settings, admin, "OPS", early).await.unwrap();
    assert_eq!(
        (placed.confirmed.len(), placed.rejected.len()),
        (2, 1),
        "two spaces for three requests"
    );

    lifecycle::check_in(&app.db, &settings, me, stay.booking_id, at("2027-03-01T09:00:00+08:00"))
        .await
        .unwrap();
    let released = worker::tick(&app.db, &settings, at("2027-03-01T09:31:00+08:00")).await.unwrap();
    assert_eq!(released.no_shows, [no_show.booking_id]);
    let flagged = worker::tick(&app.db, &settings, at("2027-03-01T11:05:00+08:00")).await.unwrap();
    assert_eq!(flagged.overstays, [stay.booking_id]);
    lifecycle::check_out(&app.db, &settings, me, stay.booking_id, at("2027-03-01T11:20:00+08:00"))
        .await
        .unwrap();
    lifecycle::cancel(
        &app.db,
        &settings,
        me,
        cancelled.booking_id,
        at("2027-03-01T12:30:00+08:00"),
    )
    .await
    .unwrap();

    let dispatcher = app.login_as(Role::Dispatcher, default_areas(Role::Dispatcher)).await;
    let scoped: Value = dispatcher
        .get("/api/v1/parking/operator-report?from=2027-03-01&to=2027-03-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scoped["lots"], json!([]), "a lot in no grid is outside the dispatcher's areas");
    assert_eq!(scoped["total"]["served_online"], 0);

    let session = app.login_as(Role::Administrator, &[]).await;
    let response =
        session.get("/api/v1/parking/operator-report?from=2027-03-01&to=2027-03-01").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let lots = report["lots"].as_array().unwrap();
    assert_eq!(lots.len(), 1, "a lot without shared spaces or requests is left out: {lots:?}");
    let total = &report["total"];
    assert_eq!(total["shared_spaces"], 2);
    assert_eq!(total["published_space_hours"], 24.0);
    // Completed 09–11 and the two batch stays 16–18; the no-show and the cancelled stay
    // reserve nothing.
    assert_eq!(total["booked_space_hours"], 6.0);
    assert_eq!(total["sharing_utilisation"], 0.25);
    assert_eq!(total["completed_stays"], 1);
    assert_eq!(total["turnover_per_space_day"], 0.5, "1 completed stay / 2 spaces / 1 day");
    assert_eq!(total["served_online"], 3);
    assert_eq!(total["served_batch"], 2);
    assert_eq!(total["rejected_online"], 1);
    assert_eq!(total["rejected_batch"], 1);
    assert_eq!(total["served_share"], 5.0 / 7.0);
    assert_eq!(total["pending_batch"], 0);
    assert_eq!(total["no_shows"], 1);
    assert_eq!(total["cancellations"], 1);
    assert_eq!(total["overstays"], 1);
    // 2 h by day at 6 yuan; 20 minutes over at 20 yuan/h; a late cancellation of 5 yuan.
    assert_eq!(total["stay_fee_fen"], 1200);
    assert_eq!(total["overstay_fee_fen"], (20 * 2000 + 30) / 60);
    assert_eq!(total["cancel_fee_fen"], 500);
    assert_eq!(total["revenue_fen"], 1200 + 667 + 500);
    assert_eq!(lots[0]["lot_ref"], "OPS");
    assert_eq!(lots[0]["served_online"], 3);
    assert_eq!(report["bookings_per_day"], json!([{ "date": "2027-03-01", "bookings": 5 }]));

    let page = session.get("/parking/operator?from=2027-03-01&to=2027-03-01").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("operator-chart"), "the page carries the chart");
    assert!(html.contains("25.0 %"), "the page shows the utilisation");
}

#[tokio::test]
async fn operator_report_rejects_a_reversed_period() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let response =
        session.get("/api/v1/parking/operator-report?from=2027-03-05&to=2027-03-01").await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "to", "{body}");
    let page = session.get("/parking/operator?from=2027-03-05&to=2027-03-01").await;
    assert_eq!(page.status(), 422);
}

#[tokio::test]
async fn rejected_online_request_is_stored_with_its_span() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "FULL", None, 1).await;
    let now = at("2027-03-01T07:00:00+08:00");
    let result = book_online(
        &app,
        driver,
        "FULL",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T10:00:00+08:00",
        now,
    )
    .await;
    assert!(matches!(result, Err(BookingError::NoSpaceFree)), "no window is published");
    let stored: Vec<(String, String, DateTime<Utc>)> = with_pool!(&app.db, |pool| {
        sqlx::query_as("SELECT driver_kind, reason, starts_at FROM parking_rejected_request")
            .fetch_all(pool)
            .await
    })
    .unwrap();
    assert_eq!(
        stored,
        [("visitor".to_owned(), "no_space_free".to_owned(), at("2027-03-01T09:00:00+08:00"))]
    );
}

#[tokio::test]
async fn scheduled_batch_places_requests_by_interval_and_cutoff() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "SCHED", None, 2).await;
    open_once(&app, "SCHED", "2027-03-01T08:00:00+08:00", "2027-03-02T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let now = at("2027-03-01T07:00:00+08:00");

    let off = BookingSettings { batch_every_minutes: 0, ..BookingSettings::default() };
    let first = queue_batch(
        &app,
        driver,
        "SCHED",
        "2027-03-01T18:00:00+08:00",
        "2027-03-01T19:00:00+08:00",
        now,
    )
    .await;
    let nothing = schedule::run_due(&app.db, &off, now).await.unwrap();
    assert!(nothing.lots_run.is_empty(), "0 minutes turns the schedule off");
    assert_eq!(status_of(&app, first).await, "requested");

    let ran = schedule::run_due(&app.db, &settings, now).await.unwrap();
    assert_eq!(ran.lots_run, ["SCHED"], "a lot that never ran is due");
    assert_eq!(ran.batch.confirmed, [first]);

    let later = queue_batch(
        &app,
        driver,
        "SCHED",
        "2027-03-02T18:00:00+08:00",
        "2027-03-02T19:00:00+08:00",
        now,
    )
    .await;
    let too_soon = schedule::run_due(&app.db, &settings, now + Duration::minutes(5)).await.unwrap();
    assert!(too_soon.lots_run.is_empty(), "5 minutes after a run with no start near");
    let soon = queue_batch(
        &app,
        driver,
        "SCHED",
        "2027-03-01T08:00:00+08:00",
        "2027-03-01T08:30:00+08:00",
        now,
    )
    .await;
    let cutoff = schedule::run_due(&app.db, &settings, now + Duration::minutes(6)).await.unwrap();
    assert_eq!(cutoff.lots_run, ["SCHED"], "a start within the 60-minute cut-off forces a run");
    assert_eq!(status_of(&app, soon).await, "confirmed");
    assert_eq!(status_of(&app, later).await, "confirmed", "the run places every pending request");
}

#[tokio::test]
async fn scheduled_batch_skips_locked_lot() {
    if !backend_is_postgres() {
        // SQLite serves one node, so there is no lock to contend for.
        return;
    }
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    let (lot_id, _) = insert_lot(&app.db, "LOCKED", None, 1).await;
    open_once(&app, "LOCKED", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let now = at("2027-03-01T07:00:00+08:00");
    let pending = queue_batch(
        &app,
        driver,
        "LOCKED",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T10:00:00+08:00",
        now,
    )
    .await;

    let citycore::db::Db::Postgres(pool) = &app.db else { unreachable!() };
    let mut other_node = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(BATCH_LOCK_CLASS)
        .bind(i32::try_from(lot_id).unwrap())
        .execute(&mut *other_node)
        .await
        .unwrap();
    let skipped = schedule::run_due(&app.db, &settings, now).await.unwrap();
    assert_eq!(skipped.lots_busy, ["LOCKED"]);
    assert!(skipped.lots_run.is_empty());
    assert_eq!(status_of(&app, pending).await, "requested");

    sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(BATCH_LOCK_CLASS)
        .bind(i32::try_from(lot_id).unwrap())
        .execute(&mut *other_node)
        .await
        .unwrap();
    let ran = schedule::run_due(&app.db, &settings, now).await.unwrap();
    assert_eq!(ran.lots_run, ["LOCKED"]);
    assert_eq!(status_of(&app, pending).await, "confirmed");
}

#[tokio::test]
async fn overstay_warning_reaches_driver_and_owner() {
    let app = spawn_app().await;
    let driver = app.login_as(Role::Resident, &[]).await;
    let owner = app.login_as(Role::Merchant, &[]).await;
    insert_lot(&app.db, "WARN", Some(owner.user_id), 1).await;
    open_once(&app, "WARN", "2027-03-01T08:00:00+08:00", "2027-03-01T12:00:00+08:00").await;
    let settings = BookingSettings::default();
    let me = Actor { user_id: driver.user_id, is_administrator: false };
    let booked = book_online(
        &app,
        driver.user_id,
        "WARN",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T11:00:00+08:00",
        at("2027-03-01T07:00:00+08:00"),
    )
    .await
    .unwrap();
    let id = booked.booking_id;
    lifecycle::check_in(&app.db, &settings, me, id, at("2027-03-01T09:00:00+08:00")).await.unwrap();
    worker::tick(&app.db, &settings, at("2027-03-01T11:30:00+08:00")).await.unwrap();
    let warned = worker::tick(&app.db, &settings, at("2027-03-01T11:50:00+08:00")).await.unwrap();
    assert_eq!(warned.warnings, [id]);

    let api: Value =
        driver.get(&format!("/api/v1/parking/bookings/{id}")).await.json().await.unwrap();
    assert_eq!(api["overstay_warning"], true, "{api}");
    assert_eq!(api["status"], Status::CheckedIn.as_str());
    let page = driver.get("/parking/bookings").await.text().await.unwrap();
    assert!(page.contains("overstay-warning"), "the driver's page shows the warning");
    assert!(page.contains("2027-03-01 12:00"), "the warning names the owner's return");
    let sharing = owner.get("/parking/lots/WARN/sharing").await.text().await.unwrap();
    let overstays = sharing.split("overstay-warning").nth(1).expect("the owner sees the overstay");
    assert!(overstays.contains(&format!(">{id}<")), "the overstay lists booking {id}");
}

#[tokio::test]
async fn api_timestamps_carry_zone_offset() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    insert_lot(&app.db, "ZONE", None, 1).await;
    let window = admin
        .post_json(
            "/api/v1/parking/lots/ZONE/windows",
            &json!({ "kind": "once", "starts_at": "2027-03-01T00:00:00Z", "ends_at": "2027-03-01T12:00:00Z" }),
        )
        .await;
    assert_eq!(window.status(), 201);
    let window: Value = window.json().await.unwrap();
    assert_eq!(window["starts_at"], "2027-03-01T08:00:00+08:00");
    let booking = admin
        .post_json(
            "/api/v1/parking/bookings",
            &json!({ "lot_ref": "ZONE", "plate": "京C11111", "driver_kind": "visitor",
                     "starts_at": "2027-03-01T01:00:00Z", "ends_at": "2027-03-01T03:00:00+00:00" }),
        )
        .await;
    assert_eq!(booking.status(), 201);
    let booking: Value = booking.json().await.unwrap();
    assert_eq!(booking["starts_at"], "2027-03-01T09:00:00+08:00");
    assert_eq!(booking["ends_at"], "2027-03-01T11:00:00+08:00");
    assert_eq!(booking["vacate_by"], "2027-03-01T20:00:00+08:00");
    let listed: Value = admin.get("/api/v1/parking/bookings").await.json().await.unwrap();
    assert_eq!(listed["bookings"][0]["occupied_until"], "2027-03-01T11:15:00+08:00");
}

/// Posts `csv` to the analysis page with extra form fields.
async fn upload(
    session: &crate::helpers::Session,
    csv: Vec<u8>,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv).file_name("lots.csv"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let url = session.url(&format!("/parking/analysis?csrf_token={}", session.csrf_token));
    session.client.post(url).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn analysis_page_reports_and_names_bad_columns() {
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let mut csv = String::from("lot,capacity,occupied,time\n");
    for hour in 0..24 {
        csv.push_str(&format!("A,10,{},2027-03-01T{hour:02}:00:00Z\n", hour % 10));
        csv.push_str(&format!("B,10,{},2027-03-01T{hour:02}:00:00Z\n", 9 - hour % 10));
    }
    let shown = upload(&session, csv.clone().into_bytes(), &[("time_zone", "UTC")]).await;
    assert_eq!(shown.status(), 200);
    let html = shown.text().await.unwrap();
    assert!(html.contains("parking-report"), "the report section is shown");
    assert!(html.contains("data:application/json"), "the JSON download is offered");
    assert!(html.contains("data:text/csv"), "the CSV download is offered");

    let bad =
        upload(&session, csv.into_bytes(), &[("time_col", "when"), ("time_zone", "UTC")]).await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("--time-col"), "the error names the column option");
    assert!(html.contains("href=\"#time_col\""), "the error links the field");

    let too_large = vec![b'x'; citycore::parking::operator::analysis::MAX_UPLOAD_BYTES + 1];
    let rejected = upload(&session, too_large, &[]).await;
    assert_eq!(rejected.status(), 422);
    assert!(rejected.text().await.unwrap().contains("href=\"#file\""));
}

#[tokio::test]
async fn analysis_page_matches_library_on_mantova() {
    let Some(dir) = crate::helpers::shared_data("mantova-parking-2019") else { return };
    let file = dir.join("mantova_parking_occupancy.csv");
    let app = spawn_app().await;
    let session = app.login_as(Role::Administrator, &[]).await;
    let fields =
        [("occupied_fraction_col", "percentage"), ("capacity", "68"), ("time_zone", "UTC")];
    let response = upload(&session, std::fs::read(&file).unwrap(), &fields).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let encoded = html
        .split("data:application/json;charset=utf-8;base64,")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page links the JSON download");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    let downloaded: Value = serde_json::from_slice(&bytes).unwrap();

    use citycore::parking::{align::AlignOptions, report::SeriesReport, series};
    let options = series::ColumnOptions {
        occupied_fraction_col: Some("percentage".into()),
        capacity: Some(68.0),
        ..series::ColumnOptions::default()
    };
    let read = series::read_series(&file, &options, chrono_tz::UTC).unwrap();
    let alignment = AlignOptions::new(5, 30).unwrap();
    let zone = app.settings.time_zone();
    let expected = SeriesReport::build("lots.csv", read, alignment, chrono_tz::UTC, zone).unwrap();
    // Parsed from text like the download, because serde_json's default float parsing
    // may differ from the in-memory value in the last bit.
    let expected: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&expected).unwrap()).unwrap();
    assert_eq!(downloaded["series"]["analysis"], expected["analysis"]);
    assert_eq!(downloaded["series"]["problems"], expected["problems"]);
    let mean = downloaded["series"]["analysis"]["lots"][0]["mean_occupied"].as_f64().unwrap();
    assert!((mean - 58.7).abs() < 0.05, "README's mean of 58.7 spaces, got {mean}");
}

#[tokio::test]
async fn operator_report_shows_lots_in_reader_areas() {
    use crate::helpers::areas;
    let app = spawn_app().await;
    let dispatcher = app.login_as(Role::Dispatcher, &[areas::COMMUNITY_A]).await;
    let index = app.state.locator.snapshot();
    for (lot_ref, grid) in [("INSIDE", areas::GRID_A1), ("OUTSIDE", areas::GRID_B1)] {
        let (lot_id, _) = insert_lot(&app.db, lot_ref, None, 1).await;
        let area_id = index.by_code(grid).expect("test grid exists").area_id;
        with_pool!(&app.db, |pool| {
            sqlx::query("UPDATE parking_lot SET grid_area_id = $1 WHERE lot_id = $2")
                .bind(area_id)
                .bind(lot_id)
                .execute(pool)
                .await
                .map(drop)
        })
        .unwrap();
    }
    let report: Value =
        dispatcher.get("/api/v1/parking/operator-report").await.json().await.unwrap();
    let shown: Vec<&str> = report["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|lot| lot["lot_ref"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["INSIDE"], "a community dispatcher sees the lots of its grids only");
    assert_eq!(report["total"]["shared_spaces"], 1);
}
