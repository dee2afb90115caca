//! Shared-space bookings against the real database: the no-overlap rule at commit time,
//! buffer and vacate-by, pricing, overstay, no-show and cancellation.
//!
//! Tests that need a clock call the library with chosen instants; the API tests book
//! in 2027 so that their stays lie in the future.

use chrono::{DateTime, Utc};
use citycore::{
    accounts::Role,
    config::BookingSettings,
    db::Db,
    parking::booking::{
        BookingError, Status,
        lifecycle::{self, Actor},
        reserve::{self, BookingInput},
        store::{self, NewBooking},
        worker,
    },
    with_pool,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Inserts an open lot `lot_ref` owned by `owner` with `spaces` shared spaces named
/// `<lot_ref>-1`, `<lot_ref>-2`, …; returns the lot id and the space ids.
pub(crate) async fn insert_lot(
    db: &Db,
    lot_ref: &str,
    owner: Option<i64>,
    spaces: usize,
) -> (i64, Vec<i64>) {
    let now = Utc::now();
    let lot_id: i64 = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO parking_lot (lot_ref, name, owner_type, owner_user_id, capacity, \
             longitude, latitude, created_at, updated_at) \
             VALUES ($1, $1, 'residential', $2, $3, 116.47, 39.99, $4, $4) RETURNING lot_id",
        )
        .bind(lot_ref)
        .bind(owner)
        .bind(i32::try_from(spaces).unwrap())
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .expect("lot inserted");
    let mut space_ids = Vec::new();
    for number in 1..=spaces {
        let space_ref = format!("{lot_ref}-{number}");
        let space_id: i64 = with_pool!(db, |pool| {
            sqlx::query_scalar(
                "INSERT INTO parking_space (lot_id, space_ref, label, shared, closed, \
                 created_at, updated_at) VALUES ($1, $2, $2, TRUE, FALSE, $3, $3) \
                 RETURNING space_id",
            )
            .bind(lot_id)
            .bind(&space_ref)
            .bind(now)
            .fetch_one(pool)
            .await
        })
        .expect("space inserted");
        space_ids.push(space_id);
    }
    (lot_id, space_ids)
}

/// Publishes a one-off window on every shared space of `lot_ref` through the library.
pub(crate) async fn open_once(app: &TestApp, lot_ref: &str, from: &str, to: &str) {
    let input: citycore::parking::booking::windows::WindowInput = serde_json::from_value(json!({
        "kind": "once", "starts_at": from, "ends_at": to
    }))
    .unwrap();
    let window = input.parse("Asia/Shanghai").unwrap();
    let (admin_id, _, _) = app.create_user(Role::Administrator, &[]).await;
    let admin = Actor { user_id: admin_id, is_administrator: true };
    citycore::parking::booking::sharing::publish_window(
        &app.db,
        admin,
        lot_ref,
        &window,
        Utc::now(),
    )
    .await
    .expect("window published");
}

/// Books through the library at instant `now` as driver `driver`.
async fn book(
    app: &TestApp,
    driver: i64,
    lot_ref: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<citycore::parking::booking::Booking, BookingError> {
    let settings = BookingSettings::default();
    let input: BookingInput = serde_json::from_value(json!({
        "lot_ref": lot_ref, "plate": "京A12345", "driver_kind": "resident",
        "starts_at": from, "ends_at": to
    }))
    .unwrap();
    let request = input.parse(&settings, now)?;
    let areas = app.state.locator.snapshot();
    reserve::reserve(&app.db, &settings, &areas, driver, &request, now).await
}

async fn count_active(db: &Db, space_id: i64) -> i64 {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM parking_booking WHERE space_id = $1 \
             AND status IN ('requested', 'confirmed', 'checked_in')",
        )
        .bind(space_id)
        .fetch_one(pool)
        .await
    })
    .unwrap()
}

#[tokio::test]
async fn racing_requests_for_last_space_book_it_once() {
    let app = spawn_app().await;
    let (owner, _, _) = app.create_user(Role::Merchant, &[]).await;
    let (_, spaces) = insert_lot(&app.db, "RACE", Some(owner), 1).await;
    open_once(&app, "RACE", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let drivers = [
        app.login_as(Role::Resident, &[]).await,
        app.login_as(Role::Resident, &[]).await,
        app.login_as(Role::Resident, &[]).await,
    ];
    let attempts = (0..12).map(|i| {
        let driver = &drivers[i % drivers.len()];
        // Every stay overlaps every other, so only one can have the space.
        let body = json!({
            "lot_ref": "RACE", "plate": format!("京A1000{i}"), "driver_kind": "commuter",
            "starts_at": format!("2027-03-01T09:{:02}:00+08:00", i),
            "ends_at": "2027-03-01T12:00:00+08:00"
        });
        async move {
            let response = driver.post_json("/api/v1/parking/bookings", &body).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let won = results.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(won, 1, "exactly one request wins: {results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "a loser gets a conflict: {body}");
        let code = body["error"]["code"].as_str().unwrap();
        assert!(
            code == "parking_no_space_free" || code == "parking_space_taken",
            "a loser's code names the cause: {body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(count_active(&app.db, spaces[0]).await, 1);
}

#[tokio::test]
async fn concurrent_writes_of_one_span_commit_once() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    let (lot_id, spaces) = insert_lot(&app.db, "WRITES", None, 1).await;
    // Bypass the allocator: every writer sends the same span, as if all had read the
    // space as free, so only the database can stop the double booking.
    let writes = (0..16).map(|i| {
        let db = app.db.clone();
        let booking = NewBooking {
            lot_id,
            space_id: Some(spaces[0]),
            driver_user_id: driver,
            plate: format!("京C{i:05}"),
            driver_kind: citycore::parking::booking::DriverKind::Visitor,
            status: Status::Confirmed,
            starts_at: at("2027-03-01T10:00:00Z"),
            ends_at: at("2027-03-01T11:00:00Z"),
            occupied_until: at("2027-03-01T11:15:00Z"),
            vacate_by: None,
            quote_fen: None,
        };
        tokio::spawn(async move { store::insert_booking(&db, &booking, Utc::now()).await })
    });
    let results: Vec<_> = futures_util::future::join_all(writes)
        .await
        .into_iter()
        .map(|joined| joined.expect("writer task finished"))
        .collect();
    let committed = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(committed, 1, "one write commits: {results:?}");
    for result in results.iter().filter(|result| result.is_err()) {
        assert!(matches!(result, Err(BookingError::Overlap)), "got {result:?}");
    }
    assert_eq!(count_active(&app.db, spaces[0]).await, 1);
}

#[tokio::test]
async fn direct_insert_of_overlapping_booking_is_rejected() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    let (lot_id, spaces) = insert_lot(&app.db, "DIRECT", None, 1).await;
    let space_id = spaces[0];
    let insert = |from: &str, until: &str, status: &str| {
        let (db, from, until, status) = (app.db.clone(), at(from), at(until), status.to_owned());
        async move {
            with_pool!(&db, |pool| {
                sqlx::query(
                    "INSERT INTO parking_booking (lot_id, space_id, driver_user_id, plate, \
                     driver_kind, status, starts_at, ends_at, occupied_until, created_at, \
                     updated_at) VALUES ($1, $2, $3, 'X1', 'visitor', $4, $5, $6, $6, $5, $5)",
                )
                .bind(lot_id)
                .bind(space_id)
                .bind(driver)
                .bind(&status)
                .bind(from)
                .bind(until)
                .execute(pool)
                .await
                .map(drop)
            })
        }
    };
    insert("2027-03-01T10:00:00Z", "2027-03-01T12:00:00Z", "confirmed").await.unwrap();
    let overlapping = insert("2027-03-01T11:59:00Z", "2027-03-01T13:00:00Z", "checked_in").await;
    let error = overlapping.expect_err("the database rejects the overlap");
    assert!(store::is_overlap(&error), "the error names the no-overlap rule: {error}");
    // Half-open spans: a stay starting when the other's span ends does not overlap.
    insert("2027-03-01T12:00:00Z", "2027-03-01T13:00:00Z", "confirmed").await.unwrap();
    // A cancelled booking frees its span.
    insert("2027-03-01T10:30:00Z", "2027-03-01T11:00:00Z", "cancelled").await.unwrap();
    // Reactivating it would overlap, so the update is rejected as well.
    let reactivate = with_pool!(&app.db, |pool| {
        sqlx::query("UPDATE parking_booking SET status = 'confirmed' WHERE status = 'cancelled'")
            .execute(pool)
            .await
            .map(drop)
    });
    assert!(store::is_overlap(&reactivate.expect_err("reactivation rejected")));
    // The library's write maps the violation to the domain error.
    let booking = NewBooking {
        lot_id,
        space_id: Some(spaces[0]),
        driver_user_id: driver,
        plate: "X2".to_owned(),
        driver_kind: citycore::parking::booking::DriverKind::Visitor,
        status: Status::Confirmed,
        starts_at: at("2027-03-01T09:00:00Z"),
        ends_at: at("2027-03-01T10:00:00Z"),
        occupied_until: at("2027-03-01T10:15:00Z"),
        vacate_by: None,
        quote_fen: None,
    };
    let written = store::insert_booking(&app.db, &booking, Utc::now()).await;
    assert!(matches!(written, Err(BookingError::Overlap)), "got {written:?}");
    assert_eq!(count_active(&app.db, spaces[0]).await, 2);
}

#[tokio::test]
async fn buffer_must_fit_before_owner_returns() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "BUFFER", None, 2).await;
    open_once(&app, "BUFFER", "2027-03-01T10:00:00+08:00", "2027-03-01T12:00:00+08:00").await;
    let now = at("2027-03-01T08:00:00+08:00");
    // 11:50 plus the 15-minute buffer passes the owner's return at 12:00.
    let late =
        book(&app, driver, "BUFFER", "2027-03-01T10:00:00+08:00", "2027-03-01T11:50:00+08:00", now)
            .await;
    assert!(matches!(late, Err(BookingError::NoSpaceFree)), "got {late:?}");
    let first =
        book(&app, driver, "BUFFER", "2027-03-01T10:00:00+08:00", "2027-03-01T11:00:00+08:00", now)
            .await
            .unwrap();
    assert_eq!(first.occupied_until, at("2027-03-01T11:15:00+08:00"));
    assert_eq!(first.vacate_by, Some(at("2027-03-01T12:00:00+08:00")));
    // Starting inside the first booking's buffer needs the other space.
    let second =
        book(&app, driver, "BUFFER", "2027-03-01T11:05:00+08:00", "2027-03-01T11:30:00+08:00", now)
            .await
            .unwrap();
    assert_ne!(second.space_ref, first.space_ref);
    // After the buffer the first space is free again.
    let third =
        book(&app, driver, "BUFFER", "2027-03-01T11:15:00+08:00", "2027-03-01T11:40:00+08:00", now)
            .await
            .unwrap();
    assert_eq!(third.space_ref, first.space_ref);
}

#[tokio::test]
async fn overnight_overstay_is_warned_and_charged() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "NIGHT", None, 1).await;
    // The office owner shares the space overnight and is back at 08:00.
    open_once(&app, "NIGHT", "2027-03-01T18:00:00+08:00", "2027-03-02T08:00:00+08:00").await;
    let settings = BookingSettings::default();
    let me = Actor { user_id: driver, is_administrator: false };
    let booked = book(
        &app,
        driver,
        "NIGHT",
        "2027-03-01T18:00:00+08:00",
        "2027-03-02T07:30:00+08:00",
        at("2027-03-01T12:00:00+08:00"),
    )
    .await
    .unwrap();
    assert_eq!(booked.vacate_by, Some(at("2027-03-02T08:00:00+08:00")));
    let id = booked.booking_id;
    lifecycle::check_in(&app.db, &settings, me, id, at("2027-03-01T18:05:00+08:00")).await.unwrap();

    let before_end =
        worker::tick(&app.db, &settings, at("2027-03-02T07:00:00+08:00")).await.unwrap();
    assert!(before_end.overstays.is_empty());
    let flagged = worker::tick(&app.db, &settings, at("2027-03-02T07:40:00+08:00")).await.unwrap();
    assert_eq!(flagged.overstays, [id]);
    assert!(flagged.warnings.is_empty(), "07:40 is more than 15 minutes before 08:00");
    let warned = worker::tick(&app.db, &settings, at("2027-03-02T07:46:00+08:00")).await.unwrap();
    assert_eq!(warned.warnings, [id]);
    let again = worker::tick(&app.db, &settings, at("2027-03-02T07:50:00+08:00")).await.unwrap();
    assert!(again.warnings.is_empty(), "a booking is warned once");

    let done = lifecycle::check_out(&app.db, &settings, me, id, at("2027-03-02T08:10:00+08:00"))
        .await
        .unwrap();
    assert_eq!(done.status, Status::Completed);
    // 18:05–20:00 by day (115 min at 6 yuan/h), 20:00–07:30 by night (690 min at 2 yuan/h),
    // across midnight.
    assert_eq!(done.stay_fee_fen, 1150 + 2300);
    assert_eq!(done.overstay_minutes, 40);
    assert_eq!(done.overstay_fee_fen, (40 * 2000 + 30) / 60);
    assert!(done.overstay_warned_at.is_some());
}

#[tokio::test]
async fn no_show_is_released_after_hold_time() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "HOLD", None, 1).await;
    open_once(&app, "HOLD", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let booked_at = at("2027-03-01T07:00:00+08:00");
    let booked = book(
        &app,
        driver,
        "HOLD",
        "2027-03-01T09:00:00+08:00",
        "2027-03-01T11:00:00+08:00",
        booked_at,
    )
    .await
    .unwrap();
    let within = worker::tick(&app.db, &settings, at("2027-03-01T09:29:00+08:00")).await.unwrap();
    assert!(within.no_shows.is_empty(), "the hold lasts 30 minutes");
    let after = worker::tick(&app.db, &settings, at("2027-03-01T09:31:00+08:00")).await.unwrap();
    assert_eq!(after.no_shows, [booked.booking_id]);
    let me = Actor { user_id: driver, is_administrator: false };
    let late = lifecycle::check_in(
        &app.db,
        &settings,
        me,
        booked.booking_id,
        at("2027-03-01T09:32:00+08:00"),
    )
    .await;
    assert!(
        matches!(late, Err(BookingError::WrongState { status: Status::NoShow, .. })),
        "got {late:?}"
    );
    // The released space takes the rest of the morning.
    let rebooked = book(
        &app,
        driver,
        "HOLD",
        "2027-03-01T09:35:00+08:00",
        "2027-03-01T11:00:00+08:00",
        at("2027-03-01T09:32:00+08:00"),
    )
    .await;
    assert!(rebooked.is_ok(), "got {rebooked:?}");
}

#[tokio::test]
async fn late_cancellation_is_charged() {
    let app = spawn_app().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    insert_lot(&app.db, "CANCEL", None, 2).await;
    open_once(&app, "CANCEL", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let me = Actor { user_id: driver, is_administrator: false };
    let now = at("2027-03-01T06:00:00+08:00");
    let early =
        book(&app, driver, "CANCEL", "2027-03-01T10:00:00+08:00", "2027-03-01T11:00:00+08:00", now)
            .await
            .unwrap();
    let late =
        book(&app, driver, "CANCEL", "2027-03-01T10:00:00+08:00", "2027-03-01T11:00:00+08:00", now)
            .await
            .unwrap();
    let free = lifecycle::cancel(
        &app.db,
        &settings,
        me,
        early.booking_id,
        at("2027-03-01T09:00:00+08:00"),
    )
    .await
    .unwrap();
    assert_eq!(free.status, Status::Cancelled);
    assert_eq!(free.cancel_fee_fen, 0);
    let charged =
        lifecycle::cancel(&app.db, &settings, me, late.booking_id, at("2027-03-01T09:30:00+08:00"))
            .await
            .unwrap();
    assert_eq!(charged.cancel_fee_fen, 500);
    let twice =
        lifecycle::cancel(&app.db, &settings, me, late.booking_id, at("2027-03-01T09:31:00+08:00"))
            .await;
    assert!(matches!(twice, Err(BookingError::WrongState { .. })), "got {twice:?}");
}

#[tokio::test]
async fn owner_shares_and_resident_books_through_api() {
    let app = spawn_app().await;
    let owner = app.login_as(Role::Merchant, &[]).await;
    insert_lot(&app.db, "API", Some(owner.user_id), 1).await;
    // Weekday nights 19:00 to 08:00 for residents (2027-03-01 is a Monday).
    let window = json!({
        "kind": "weekly", "weekdays": [1, 2, 3, 4, 5], "start_time": "19:00",
        "end_time": "08:00", "audience": "resident"
    });
    let response = owner.post_json("/api/v1/parking/lots/API/windows", &window).await;
    assert_eq!(response.status(), 201);
    let window: Value = response.json().await.unwrap();
    let window_id = window["window_id"].as_i64().unwrap();

    let resident = app.login_as(Role::Resident, &[]).await;
    let stay = |kind: &str| {
        json!({
            "lot_ref": "API", "plate": "京B54321", "driver_kind": kind,
            "starts_at": "2027-03-01T20:00:00+08:00", "ends_at": "2027-03-02T07:00:00+08:00"
        })
    };
    let commuter = resident.post_json("/api/v1/parking/bookings", &stay("commuter")).await;
    assert_eq!(commuter.status(), 409, "the night window is for residents only");
    let response = resident.post_json("/api/v1/parking/bookings", &stay("resident")).await;
    assert_eq!(response.status(), 201);
    let booking: Value = response.json().await.unwrap();
    let booking_id = booking["booking_id"].as_i64().unwrap();
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booking["space_ref"], "API-1");
    // API timestamps are shown in the configured zone, Asia/Shanghai by default.
    assert_eq!(booking["vacate_by"], "2027-03-02T08:00:00+08:00");

    let mine: Value = resident.get("/api/v1/parking/bookings").await.json().await.unwrap();
    assert_eq!(mine["bookings"].as_array().unwrap().len(), 1);
    let stranger = app.login_as(Role::Resident, &[]).await;
    let hidden = stranger.get(&format!("/api/v1/parking/bookings/{booking_id}")).await;
    assert_eq!(hidden.status(), 404, "another resident cannot see the booking");
    let theirs: Value = stranger.get("/api/v1/parking/bookings").await.json().await.unwrap();
    assert!(theirs["bookings"].as_array().unwrap().is_empty());
    let lot: Value = owner.get("/api/v1/parking/bookings?lot_ref=API").await.json().await.unwrap();
    assert_eq!(lot["bookings"].as_array().unwrap().len(), 1, "the owner sees the lot's bookings");

    let early = resident
        .post_json(&format!("/api/v1/parking/bookings/{booking_id}/check-in"), &json!({}))
        .await;
    assert_eq!(early.status(), 422);

    let removal = owner
        .client
        .delete(owner.url(&format!("/api/v1/parking/windows/{window_id}")))
        .header("x-csrf-token", &owner.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(removal.status(), 409, "the window carries a booking");
    let body: Value = removal.json().await.unwrap();
    assert_eq!(body["error"]["code"], "parking_window_in_use");
    assert!(body["error"]["message"].as_str().unwrap().contains(&booking_id.to_string()));

    let cancelled = resident
        .post_json(&format!("/api/v1/parking/bookings/{booking_id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status(), 200);
    let removal = owner
        .client
        .delete(owner.url(&format!("/api/v1/parking/windows/{window_id}")))
        .header("x-csrf-token", &owner.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(removal.status(), 204);
}

#[tokio::test]
async fn window_and_booking_input_errors_name_the_field() {
    let app = spawn_app().await;
    let owner = app.login_as(Role::Merchant, &[]).await;
    insert_lot(&app.db, "INPUT", Some(owner.user_id), 1).await;
    let cases = [
        (
            "weekday out of range",
            "/api/v1/parking/lots/INPUT/windows",
            json!({"kind": "weekly", "weekdays": [0], "start_time": "08:00", "end_time": "18:00"}),
            "weekdays",
        ),
        (
            "unknown audience",
            "/api/v1/parking/lots/INPUT/windows",
            json!({"kind": "once", "starts_at": "2027-03-01T08:00:00Z", "ends_at": "2027-03-01T09:00:00Z", "audience": "everyone"}),
            "audience",
        ),
        (
            "reversed stay",
            "/api/v1/parking/bookings",
            json!({"lot_ref": "INPUT", "plate": "京A1", "driver_kind": "visitor",
                   "starts_at": "2027-03-01T10:00:00Z", "ends_at": "2027-03-01T09:00:00Z"}),
            "ends_at",
        ),
        (
            "unknown driver kind",
            "/api/v1/parking/bookings",
            json!({"lot_ref": "INPUT", "plate": "京A1", "driver_kind": "boss",
                   "starts_at": "2027-03-01T08:00:00Z", "ends_at": "2027-03-01T09:00:00Z"}),
            "driver_kind",
        ),
    ];
    for (description, path, body, field) in cases {
        let response = owner.post_json(path, &body).await;
        assert_eq!(response.status(), 422, "{description}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{description}");
    }
    let stranger = app.login_as(Role::Merchant, &[]).await;
    let window = json!({"kind": "once", "starts_at": "2027-03-01T08:00:00Z", "ends_at": "2027-03-01T09:00:00Z"});
    let response = stranger.post_json("/api/v1/parking/lots/INPUT/windows", &window).await;
    assert_eq!(response.status(), 403, "only the owner publishes windows");
}

#[tokio::test]
async fn batch_allocation_serves_more_than_arrival_order() {
    let app = spawn_app().await;
    let owner = app.login_as(Role::Merchant, &[]).await;
    insert_lot(&app.db, "BATCH", Some(owner.user_id), 1).await;
    open_once(&app, "BATCH", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let driver = app.login_as(Role::Resident, &[]).await;
    // In arrival order the long stay would block both others; the batch takes the two.
    let stays = [
        ("2027-03-01T09:00:00+08:00", "2027-03-01T17:00:00+08:00"),
        ("2027-03-01T08:00:00+08:00", "2027-03-01T11:45:00+08:00"),
        ("2027-03-01T12:00:00+08:00", "2027-03-01T19:00:00+08:00"),
    ];
    let mut ids = Vec::new();
    for (from, to) in stays {
        let body = json!({
            "lot_ref": "BATCH", "plate": "京D11111", "driver_kind": "visitor",
            "starts_at": from, "ends_at": to, "mode": "batch"
        });
        let response = driver.post_json("/api/v1/parking/bookings", &body).await;
        assert_eq!(response.status(), 202);
        let booking: Value = response.json().await.unwrap();
        assert_eq!(booking["status"], "requested");
        assert!(booking["space_ref"].is_null());
        ids.push(booking["booking_id"].as_i64().unwrap());
    }
    let refused = driver.post_json("/api/v1/parking/lots/BATCH/allocation", &json!({})).await;
    assert_eq!(refused.status(), 403, "only the owner runs the allocation");
    let response = owner.post_json("/api/v1/parking/lots/BATCH/allocation", &json!({})).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["confirmed"], json!([ids[1], ids[2]]));
    assert_eq!(report["rejected"], json!([ids[0]]));
    let second: Value =
        driver.get(&format!("/api/v1/parking/bookings/{}", ids[1])).await.json().await.unwrap();
    assert_eq!(second["status"], "confirmed");
    assert_eq!(second["space_ref"], "BATCH-1");
    assert_eq!(second["vacate_by"], "2027-03-01T20:00:00+08:00");
}

#[tokio::test]
async fn area_request_finds_a_lot_in_the_area() {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let (driver, _, _) = app.create_user(Role::Resident, &[]).await;
    let (lot_a, _) = insert_lot(&app.db, "AREA-A", None, 1).await;
    let (lot_b, _) = insert_lot(&app.db, "AREA-B", None, 1).await;
    let grid = |code: &str| app.state.locator.snapshot().by_code(code).unwrap().area_id;
    for (lot_id, area_id) in [
        (lot_a, grid(crate::helpers::areas::GRID_A1)),
        (lot_b, grid(crate::helpers::areas::GRID_B1)),
    ] {
        with_pool!(&app.db, |pool| {
            sqlx::query("UPDATE parking_lot SET grid_area_id = $2 WHERE lot_id = $1")
                .bind(lot_id)
                .bind(area_id)
                .execute(pool)
                .await
                .map(drop)
        })
        .unwrap();
    }
    open_once(&app, "AREA-A", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    open_once(&app, "AREA-B", "2027-03-01T08:00:00+08:00", "2027-03-01T20:00:00+08:00").await;
    let settings = BookingSettings::default();
    let request = |area: &str| {
        let input: BookingInput = serde_json::from_value(json!({
            "area_code": area, "plate": "京E22222", "driver_kind": "visitor",
            "starts_at": "2027-03-01T09:00:00+08:00", "ends_at": "2027-03-01T10:00:00+08:00"
        }))
        .unwrap();
        input.parse(&settings, at("2027-03-01T07:00:00+08:00")).unwrap()
    };
    let areas = app.state.locator.snapshot();
    let now = at("2027-03-01T07:00:00+08:00");
    let in_b = reserve::reserve(
        &app.db,
        &settings,
        &areas,
        driver,
        &request(crate::helpers::areas::COMMUNITY_B),
        now,
    )
    .await
    .unwrap();
    assert_eq!(in_b.lot_ref, "AREA-B", "the community holds only lot B");
    let full = reserve::reserve(
        &app.db,
        &settings,
        &areas,
        driver,
        &request(crate::helpers::areas::COMMUNITY_B),
        now,
    )
    .await;
    assert!(matches!(full, Err(BookingError::NoSpaceFree)), "got {full:?}");
    let in_street = reserve::reserve(
        &app.db,
        &settings,
        &areas,
        driver,
        &request(crate::helpers::areas::STREET),
        now,
    )
    .await
    .unwrap();
    assert_eq!(in_street.lot_ref, "AREA-A", "lot B is full, so the street request takes lot A");
}
