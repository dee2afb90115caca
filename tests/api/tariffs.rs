//! Tariffs as data: the API and its validation, lots naming tariffs, and stays priced
//! with the lot's tariff per segment and by the working calendar's day types.

use chrono::{DateTime, Duration, Utc};
use citycore::{
    accounts::Role,
    config::BookingSettings,
    db::Db,
    parking::{
        booking::{
            lifecycle::{self, Actor},
            reserve::{self, BookingInput},
            sharing,
            windows::WindowInput,
        },
        live_pricing::prices,
    },
    with_pool,
};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Night 1 yuan/h, day 8 yuan/h until 20:00, evening 3 yuan/h on weekdays; 5 yuan/h all
/// weekend day and 9 yuan/h all holiday, with the rule off.
fn evening_tariff(code: &str) -> Value {
    json!({
        "code": code,
        "name": "Evening tariff",
        "bands": [
            {"day_type": "weekday", "start_minute": 0, "end_minute": 480, "rate_fen_per_hour": 100},
            {"day_type": "weekday", "start_minute": 480, "end_minute": 1200, "rate_fen_per_hour": 800},
            {"day_type": "weekday", "start_minute": 1200, "end_minute": 1440, "rate_fen_per_hour": 300},
            {"day_type": "weekend", "start_minute": 0, "end_minute": 1440, "rate_fen_per_hour": 500},
            {"day_type": "holiday", "start_minute": 0, "end_minute": 1440, "rate_fen_per_hour": 900},
        ],
        "rule": {"enabled": false},
    })
}

async fn create_tariff(admin: &Session, body: &Value) {
    let response = admin.post_json("/api/v1/parking/tariffs", body).await;
    assert_eq!(response.status(), 201, "tariff {} created", body["code"]);
}

async fn put_json(session: &Session, path: &str, body: &Value) -> reqwest::Response {
    let request = session.client.put(session.url(path)).header("x-csrf-token", &session.csrf_token);
    request.json(body).send().await.expect("request sent")
}

/// Inserts an open lot with one shared space and the given tariff code.
async fn insert_lot(db: &Db, lot_ref: &str, tariff_code: &str) -> i64 {
    let now = Utc::now();
    let lot_id: i64 = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO parking_lot (lot_ref, name, owner_type, capacity, longitude, latitude, \
             tariff_code, created_at, updated_at) \
             VALUES ($1, $1, 'public', 1, 116.47, 39.99, $2, $3, $3) RETURNING lot_id",
        )
        .bind(lot_ref)
        .bind(tariff_code)
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .expect("lot inserted");
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO parking_space (lot_id, space_ref, label, shared, closed, created_at, \
             updated_at) VALUES ($1, $2, $2, TRUE, FALSE, $3, $3)",
        )
        .bind(lot_id)
        .bind(format!("{lot_ref}-1"))
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
    .expect("space inserted");
    lot_id
}

#[tokio::test]
async fn tariff_api_creates_lists_and_replaces() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    create_tariff(&admin, &evening_tariff("evening")).await;
    let list: Value = admin.get("/api/v1/parking/tariffs").await.json().await.unwrap();
    let mut replaced = evening_tariff("ignored");
    replaced["name"] = json!("Evening tariff 2027");
    let put = put_json(&admin, "/api/v1/parking/tariffs/evening", &replaced).await;
    let again = admin.post_json("/api/v1/parking/tariffs", &evening_tariff("evening")).await;
    let missing = put_json(&admin, "/api/v1/parking/tariffs/nothing", &replaced).await;
    let fetched: Value = admin.get("/api/v1/parking/tariffs/evening").await.json().await.unwrap();

    let codes: Vec<&str> =
        list["tariffs"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["default", "evening"], "the default tariff is seeded");
    assert_eq!(put.status(), 200);
    assert_eq!(again.status(), 409);
    assert_eq!(missing.status(), 404);
    assert_eq!(fetched["name"], "Evening tariff 2027");
    assert_eq!(fetched["code"], "evening", "the path gives the code");
    assert_eq!(fetched["bands"].as_array().unwrap().len(), 5);
    assert_eq!(fetched["rule"]["enabled"], false);
    assert_eq!(fetched["rule"]["raise_at"], 0.8, "missing rule fields take the SFpark defaults");
}

#[tokio::test]
async fn default_tariff_equals_booking_rates() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;

    let default: Value = admin.get("/api/v1/parking/tariffs/default").await.json().await.unwrap();

    let weekday: Vec<(i64, i64, i64)> = default["bands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|band| band["day_type"] == "weekday")
        .map(|band| {
            let number = |name: &str| band[name].as_i64().unwrap();
            (number("start_minute"), number("end_minute"), number("rate_fen_per_hour"))
        })
        .collect();
    assert_eq!(weekday, [(0, 480, 200), (480, 1200, 600), (1200, 1440, 200)]);
    assert_eq!(default["rule"]["enabled"], true);
    assert_eq!(default["rule"]["period_days"], 28);
}

#[tokio::test]
async fn invalid_tariff_fields_are_named() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let mut gap = evening_tariff("gap");
    gap["bands"][1]["start_minute"] = json!(500);
    let mut bad_day = evening_tariff("bad-day");
    bad_day["bands"][2]["day_type"] = json!("friday");
    let mut bad_rule = evening_tariff("bad-rule");
    bad_rule["rule"] = json!({"period_days": 7, "notice_days": 7});
    let mut outside = evening_tariff("outside");
    outside["rule"] = json!({"enabled": true, "max_fen": 700});

    for (body, field, code) in [
        (gap, "bands", "parking_tariff_coverage"),
        (bad_day, "bands[2].day_type", "parking_band_day_type"),
        (bad_rule, "rule.notice_days", "parking_rule_notice"),
        (outside, "bands[1].rate_fen_per_hour", "parking_band_rate_outside_bounds"),
    ] {
        let response = admin.post_json("/api/v1/parking/tariffs", &body).await;
        assert_eq!(response.status(), 422, "{field}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field);
        assert_eq!(error["error"]["code"], code, "{field}");
    }
    let list: Value = admin.get("/api/v1/parking/tariffs").await.json().await.unwrap();
    assert_eq!(list["tariffs"].as_array().unwrap().len(), 1, "nothing was stored");
}

#[tokio::test]
async fn lot_with_unknown_tariff_code_is_rejected() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    create_tariff(&admin, &evening_tariff("evening")).await;
    let lot = |lot_ref: &str, tariff: &str| {
        json!({"lot_ref": lot_ref, "name": lot_ref, "owner_type": "public", "capacity": 5,
               "longitude": 116.47, "latitude": 39.99, "tariff_code": tariff})
    };

    let unknown = admin.post_json("/api/v1/parking/lots", &lot("lot-a", "nope")).await;
    let known = admin.post_json("/api/v1/parking/lots", &lot("lot-b", "evening")).await;
    let empty = admin.post_json("/api/v1/parking/lots", &lot("lot-c", "")).await;
    let update = put_json(&admin, "/api/v1/parking/lots/lot-b", &lot("lot-b", "gone")).await;
    let csv = "lot_ref,name,owner_type,capacity,longitude,latitude,tariff_code\n\
               lot-d,D,public,5,116.47,39.99,missing\n";
    let import = admin
        .client
        .post(admin.url("/api/v1/parking/import"))
        .header("x-csrf-token", &admin.csrf_token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();

    assert_eq!(unknown.status(), 422);
    let error: Value = unknown.json().await.unwrap();
    assert_eq!(error["error"]["field"], "tariff_code");
    assert_eq!(error["error"]["code"], "parking_tariff_unknown");
    assert_eq!(known.status(), 201);
    assert_eq!(empty.status(), 201, "an empty code means the default tariff");
    assert_eq!(update.status(), 422);
    assert_eq!(import.status(), 422, "an import naming an unknown tariff writes nothing");
    let missing = admin.get("/api/v1/parking/lots/lot-d").await;
    assert_eq!(missing.status(), 404);
}

/// Publishes a one-off window on `lot_ref` and books `[from, to)` at instant `now`.
async fn book(
    app: &TestApp,
    lot_ref: &str,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> (Actor, citycore::parking::booking::Booking) {
    let (admin_id, _, _) = app.create_user(Role::Administrator, &[]).await;
    let admin = Actor { user_id: admin_id, is_administrator: true };
    let window: WindowInput = serde_json::from_value(json!({
        "kind": "once", "starts_at": "2027-03-01T00:00:00+08:00",
        "ends_at": "2027-03-20T00:00:00+08:00"
    }))
    .unwrap();
    let window = window.parse("Asia/Shanghai").unwrap();
    sharing::publish_window(&app.db, admin, lot_ref, &window, now).await.unwrap();
    let input: BookingInput = serde_json::from_value(json!({
        "lot_ref": lot_ref, "plate": "京A12345", "driver_kind": "visitor",
        "starts_at": from, "ends_at": to
    }))
    .unwrap();
    let settings = BookingSettings::default();
    let request = input.parse(&settings, now).unwrap();
    let areas = app.state.locator.snapshot();
    let booking = reserve::reserve(&app.db, &settings, &areas, admin_id, &request, now)
        .await
        .expect("booked");
    (admin, booking)
}

#[tokio::test]
async fn overnight_stay_uses_lot_tariff_bands() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    create_tariff(&admin, &evening_tariff("evening")).await;
    insert_lot(&app.db, "EVE", "evening").await;
    let settings = BookingSettings::default();
    // Tuesday 18:00 to Wednesday 09:00 Beijing time: 2 h day, 4 h evening, 8 h night,
    // 1 h day.
    let expected = 2 * 800 + 4 * 300 + 8 * 100 + 800;
    let (from, to) = ("2027-03-02T18:00:00+08:00", "2027-03-03T09:00:00+08:00");
    let now = at("2027-03-01T10:00:00+08:00");

    let (actor, booking) = book(&app, "EVE", from, to, now).await;
    lifecycle::check_in(&app.db, &settings, actor, booking.booking_id, at(from)).await.unwrap();
    let done =
        lifecycle::check_out(&app.db, &settings, actor, booking.booking_id, at(to)).await.unwrap();

    assert_eq!(booking.quote_fen, Some(expected), "quoted when booked");
    assert_eq!(done.stay_fee_fen, expected, "charged at check-out");
    assert_eq!(done.overstay_fee_fen, 0);
}

#[tokio::test]
async fn calendar_decides_holiday_and_make_up_rates() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    create_tariff(&admin, &evening_tariff("evening")).await;
    let lot_id = insert_lot(&app.db, "CAL", "evening").await;
    let zone = chrono_tz::Asia::Shanghai;
    let one_hour = |start: &str| {
        let start = at(start);
        prices::price_lot_stay(
            &app.db,
            zone,
            lot_id,
            "evening",
            start,
            start,
            start + Duration::hours(1),
        )
    };

    // Thursday 2026-10-01 is National Day; Saturday 2026-10-10 is a make-up working day
    // in the seeded calendar; Saturday 2026-10-17 is an ordinary weekend day.
    let holiday = one_hour("2026-10-01T10:00:00+08:00").await.unwrap();
    let make_up = one_hour("2026-10-10T10:00:00+08:00").await.unwrap();
    let weekend = one_hour("2026-10-17T10:00:00+08:00").await.unwrap();
    let weekday = one_hour("2026-10-13T10:00:00+08:00").await.unwrap();

    assert_eq!(holiday, 900, "holiday band");
    assert_eq!(make_up, 800, "weekday day band");
    assert_eq!(weekend, 500, "weekend band");
    assert_eq!(weekday, 800, "weekday day band");
}

#[tokio::test]
async fn tariff_page_creates_and_replaces_through_the_form() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let bands = "weekday 00:00 08:00 100\nweekday 08:00 24:00 800\n\
                 weekend 00:00 24:00 500\nholiday 00:00 24:00 900";
    let form = |name: &'static str, bands: &'static str| {
        vec![
            ("code", "page"),
            ("name", name),
            ("bands", bands),
            ("rule_enabled", "on"),
            ("raise_at", "0.85"),
            ("lower_below", "0.6"),
            ("step_fen", "50"),
            ("min_fen", "50"),
            ("max_fen", "1500"),
            ("period_days", "14"),
            ("notice_days", "3"),
        ]
    };

    let page = admin.get("/parking/tariffs").await;
    let created = admin.post_form("/parking/tariffs", &form("Page tariff", bands)).await;
    let replaced = admin.post_form("/parking/tariffs", &form("Page tariff 2", bands)).await;
    let gap = admin
        .post_form(
            "/parking/tariffs",
            &form("Gap", "weekday 00:00 08:00 100\nweekday 09:00 24:00 800"),
        )
        .await;
    let stored: Value = admin.get("/api/v1/parking/tariffs/page").await.json().await.unwrap();

    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("weekday 08:00 20:00 600"), "default listed");
    assert_eq!(created.status(), 303);
    assert_eq!(replaced.status(), 303);
    assert_eq!(stored["name"], "Page tariff 2");
    assert_eq!(stored["rule"]["raise_at"], 0.85);
    assert_eq!(stored["rule"]["period_days"], 14);
    assert_eq!(gap.status(), 422);
    let html = gap.text().await.unwrap();
    assert!(html.contains("href=\"#bands\""), "the summary links the bands");
    assert!(html.contains("08:00"), "the message names the uncovered time");
}

#[tokio::test]
async fn sharing_page_lists_band_prices() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    insert_lot(&app.db, "SHOW", "").await;

    let page = admin.get("/parking/lots/SHOW/sharing").await.text().await.unwrap();

    assert!(page.contains("08:00–20:00"), "the day band is listed");
    assert!(page.contains("6.00"), "its price in yuan per hour");
    assert!(page.contains("暂无已公布的调价"), "no change is announced");
}
