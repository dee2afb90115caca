//! Live demand-responsive pricing: the occupancy history, the periodic review of each
//! lot's bands, announced changes charged only from their effective time, and the
//! prices and change APIs. Reviews run through the library at chosen instants.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use citycore::{
    accounts::Role,
    config::PricingSettings,
    db::Db,
    parking::{
        inventory,
        live_pricing::{
            history::{self, Sample},
            prices, recent_changes,
            review::{self, last_complete_period},
            utilisation,
        },
    },
    sensors::devices::{DeviceInput, register_devices},
    with_pool,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Wednesday 2027-03-10 noon in Beijing, the instant of the first review.
fn review_time() -> DateTime<Utc> {
    at("2027-03-10T12:00:00+08:00")
}

fn settings() -> PricingSettings {
    PricingSettings { min_samples: 5, ..PricingSettings::default() }
}

/// Inserts an open lot of 10 spaces on tariff `tariff_code` and returns its id.
async fn insert_lot(db: &Db, lot_ref: &str, tariff_code: &str) -> i64 {
    let now = Utc::now();
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO parking_lot (lot_ref, name, owner_type, capacity, longitude, latitude, \
             tariff_code, created_at, updated_at) \
             VALUES ($1, $1, 'public', 10, 116.47, 39.99, $2, $3, $3) RETURNING lot_id",
        )
        .bind(lot_ref)
        .bind(tariff_code)
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .expect("lot inserted")
}

/// Stores a 10:00 sample with `occupied` of 10 spaces on every weekday of the period
/// that ended last before `now`, which falls in the weekday day band 08:00–20:00.
async fn sample_period(db: &Db, lot_id: i64, occupied: i32, now: DateTime<Utc>) -> usize {
    let today = now.with_timezone(&ZONE).date_naive();
    let (mut date, end) = last_complete_period(today, 28);
    let mut stored = 0;
    while date < end {
        let local = date.and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        let instant = ZONE.from_local_datetime(&local).unwrap().with_timezone(&Utc);
        let weekday = chrono::Datelike::weekday(&date).number_from_monday() <= 5;
        if weekday {
            let sample = Sample {
                lot_id,
                slot_start_ms: instant.timestamp_millis(),
                interval_minutes: 15,
                occupied,
                open_capacity: 10,
            };
            history::insert_sample(db, &sample, instant.timestamp_millis()).await.unwrap();
            stored += 1;
        }
        date += Duration::days(1);
    }
    stored
}

async fn review_at(app: &TestApp, now: DateTime<Utc>) -> review::ReviewReport {
    review::review_prices(&app.db, ZONE, &settings(), now).await.expect("review ran")
}

fn all_time() -> (DateTime<Utc>, DateTime<Utc>) {
    (at("2000-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"))
}

#[tokio::test]
async fn rule_raises_lowers_and_holds_by_mean_occupancy() {
    let app = spawn_app().await;
    for (lot_ref, occupied) in [("RAISE", 9), ("LOWER", 3), ("HOLD", 7)] {
        let lot_id = insert_lot(&app.db, lot_ref, "").await;
        assert_eq!(sample_period(&app.db, lot_id, occupied, review_time()).await, 20);
    }

    let report = review_at(&app, review_time()).await;

    let moved: Vec<(&str, u32, u32)> = report
        .changes
        .iter()
        .map(|change| (change.lot_ref.as_str(), change.old_fen, change.new_fen))
        .collect();
    assert_eq!(moved, [("RAISE", 600, 650), ("LOWER", 600, 550)], "HOLD is in the target band");
    let raise = &report.changes[0];
    assert_eq!((raise.start_minute, raise.end_minute), (480, 1200), "the weekday day band");
    assert_eq!(raise.samples, 20);
    assert!((raise.mean_occupancy.unwrap() - 0.9).abs() < 1e-9);
    assert_eq!(raise.announced_at, review_time());
    assert_eq!(raise.effective_at, review_time() + Duration::days(7), "announced 7 days ahead");
    let (from, to) = all_time();
    assert_eq!(recent_changes(&app.db, from, to).await.unwrap().len(), 2);
}

#[tokio::test]
async fn rule_keeps_prices_within_min_and_max() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let bands: Vec<Value> = ["weekday", "weekend", "holiday"]
        .iter()
        .map(|day| json!({"day_type": day, "start_minute": 0, "end_minute": 1440, "rate_fen_per_hour": 200}))
        .collect();
    let flat = json!({"code": "flat", "name": "Flat", "bands": bands,
                      "rule": {"min_fen": 200, "max_fen": 200}});
    assert_eq!(admin.post_json("/api/v1/parking/tariffs", &flat).await.status(), 201);
    for (lot_ref, occupied) in [("FULL", 10), ("EMPTY", 0)] {
        let lot_id = insert_lot(&app.db, lot_ref, "flat").await;
        sample_period(&app.db, lot_id, occupied, review_time()).await;
    }

    let report = review_at(&app, review_time()).await;

    assert!(report.changes.is_empty(), "a raise at the max and a cut at the min change nothing");
    let decisions: Vec<String> = with_pool!(&app.db, |pool| {
        sqlx::query_scalar(
            "SELECT decision FROM parking_price_review WHERE day_type = 'weekday' ORDER BY lot_id",
        )
        .fetch_all(pool)
        .await
    })
    .unwrap();
    assert_eq!(decisions, ["raise", "lower"]);
}

#[tokio::test]
async fn band_changes_once_per_period() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "ONCE", "").await;
    sample_period(&app.db, lot_id, 9, review_time()).await;

    let first = review_at(&app, review_time()).await;
    let same_time = review_at(&app, review_time()).await;
    let next_day = review_at(&app, review_time() + Duration::days(1)).await;
    let next_period = review_time() + Duration::days(28);
    sample_period(&app.db, lot_id, 9, next_period).await;
    let later = review_at(&app, next_period).await;

    assert_eq!(first.changes.len(), 1);
    assert_eq!(same_time, review::ReviewReport::default(), "the period is reviewed already");
    assert_eq!(next_day, review::ReviewReport::default(), "still the same period");
    assert_eq!(later.changes.len(), 1, "the next period may move the band again");
    assert_eq!((later.changes[0].old_fen, later.changes[0].new_fen), (650, 700));
}

#[tokio::test]
async fn concurrent_reviews_store_one_change() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "RACE", "").await;
    sample_period(&app.db, lot_id, 9, review_time()).await;

    let spawn_review = || {
        let db = app.db.clone();
        tokio::spawn(async move {
            review::review_prices(&db, ZONE, &settings(), review_time()).await.unwrap()
        })
    };
    let (left, right) = (spawn_review(), spawn_review());
    let (left, right) = (left.await.unwrap(), right.await.unwrap());

    let stored = left.changes.len() + right.changes.len();
    assert_eq!(stored, 1, "one of the two reviews stored the change");
    let (from, to) = all_time();
    assert_eq!(recent_changes(&app.db, from, to).await.unwrap().len(), 1);
    let reviews: i64 = with_pool!(&app.db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM parking_price_review WHERE lot_id = $1")
            .bind(lot_id)
            .fetch_one(pool)
            .await
    })
    .unwrap();
    assert_eq!(reviews, 9, "one review for each of the default tariff's nine bands");
}

#[tokio::test]
async fn announced_price_applies_only_from_effective_time() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "NOTICE", "").await;
    sample_period(&app.db, lot_id, 9, review_time()).await;
    review_at(&app, review_time()).await;
    let effective = review_time() + Duration::days(7);
    let day_band = |prices: &prices::LotPrices| {
        let band = prices.bands.iter().find(|band| {
            band.day_type == citycore::parking::tariff::DayType::Weekday && band.start_minute == 480
        });
        band.unwrap().price_fen
    };
    // One hour in the weekday day band, on a Monday before and after the change.
    let hour_from = |start: DateTime<Utc>| {
        prices::price_lot_stay(&app.db, ZONE, lot_id, "", start, start, start + Duration::hours(1))
    };

    let before =
        prices::lot_prices(&app.db, "NOTICE", effective - Duration::seconds(1)).await.unwrap();
    let after = prices::lot_prices(&app.db, "NOTICE", effective).await.unwrap();
    let stay_before = hour_from(at("2027-03-15T10:00:00+08:00")).await.unwrap();
    let stay_after = hour_from(at("2027-03-22T10:00:00+08:00")).await.unwrap();

    assert_eq!(day_band(&before), 600, "announced, not charged yet");
    assert_eq!(before.upcoming.len(), 1);
    assert_eq!(before.upcoming[0].new_fen, 650);
    assert_eq!(day_band(&after), 650);
    assert!(after.upcoming.is_empty());
    assert_eq!(stay_before, 600);
    assert_eq!(stay_after, 650);
}

#[tokio::test]
async fn prices_and_changes_apis_show_times_with_offset() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "API", "").await;
    sample_period(&app.db, lot_id, 9, review_time()).await;
    review_at(&app, review_time()).await;
    let driver = app.login_as(Role::Resident, &[]).await;
    let staff = app.login_as(Role::Administrator, &[]).await;

    let prices: Value = driver.get("/api/v1/parking/lots/API/prices").await.json().await.unwrap();
    let changes: Value = staff
        .get("/api/v1/parking/price-changes?lot=API&from=2027-03-01T00:00:00%2B08:00&to=2027-04-01T00:00:00%2B08:00")
        .await
        .json()
        .await
        .unwrap();
    let bad = staff.get("/api/v1/parking/price-changes?from=yesterday").await;
    let missing = driver.get("/api/v1/parking/lots/NOPE/prices").await;

    assert_eq!(prices["tariff_code"], "default");
    assert_eq!(prices["bands"].as_array().unwrap().len(), 9);
    let upcoming = &prices["upcoming"][0];
    assert_eq!(upcoming["new_fen"], 650);
    assert_eq!(upcoming["effective_at"], "2027-03-17T12:00:00+08:00");
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1);
    assert_eq!(changes["changes"][0]["announced_at"], "2027-03-10T12:00:00+08:00");
    assert_eq!(bad.status(), 422);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["error"]["field"], "from");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn occupancy_sampled_once_per_slot() {
    let app = spawn_app().await;
    insert_lot(&app.db, "LIVE", "").await;
    insert_lot(&app.db, "STALE", "").await;
    let (user_id, _, _) = app.create_user(Role::Administrator, &[]).await;
    let now = at("2027-03-10T12:05:00+08:00");
    let now_ms = now.timestamp_millis();
    inventory::record_count(&app.db, "LIVE", 4, now_ms - 60_000, user_id).await.unwrap();
    let stale_ms = now_ms - 2 * 3_600_000;
    inventory::record_count(&app.db, "STALE", 4, stale_ms, user_id).await.unwrap();
    let settings = settings();

    let first = history::record_samples(&app.db, &settings, 60, now).await.unwrap();
    let same_slot =
        history::record_samples(&app.db, &settings, 60, now + Duration::minutes(5)).await.unwrap();
    inventory::record_count(&app.db, "LIVE", 8, now_ms + 15 * 60_000, user_id).await.unwrap();
    let next_slot =
        history::record_samples(&app.db, &settings, 60, now + Duration::minutes(15)).await.unwrap();
    let rows =
        utilisation(&app.db, now - Duration::hours(1), now + Duration::hours(1)).await.unwrap();

    assert_eq!(first, 1, "the stale lot is not sampled");
    assert_eq!(same_slot, 0, "one sample per slot");
    assert_eq!(next_slot, 1);
    assert_eq!(rows.len(), 1);
    let live = &rows[0];
    assert_eq!(live.lot_ref, "LIVE");
    assert_eq!(live.samples, 2);
    assert!((live.occupied_space_hours - 3.0).abs() < 1e-9, "(4 + 8) spaces × 0.25 h");
    assert!((live.available_space_hours - 5.0).abs() < 1e-9, "2 × 10 spaces × 0.25 h");
    assert!((live.utilisation.unwrap() - 0.6).abs() < 1e-9);
}

#[tokio::test]
async fn worker_tick_samples_and_reviews() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "TICK", "").await;
    sample_period(&app.db, lot_id, 9, review_time()).await;
    let (user_id, _, _) = app.create_user(Role::Administrator, &[]).await;
    let now = review_time();
    inventory::record_count(&app.db, "TICK", 5, now.timestamp_millis(), user_id).await.unwrap();
    let mut last_slot = None;

    let report = citycore::parking::live_pricing::worker::tick(&app.state, now, &mut last_slot)
        .await
        .unwrap();

    assert_eq!(report.changes.len(), 1, "20 samples meet the default min_samples of 20");
    assert_eq!(report.unchanged, 8, "the other bands have too few samples");
    let sampled =
        history::samples_between(&app.db, lot_id, now.timestamp_millis(), i64::MAX).await.unwrap();
    assert_eq!(sampled.len(), 1, "the live count was sampled");
    assert_eq!(last_slot, Some(now.timestamp_millis()), "noon starts a slot");
}

/// Registers a space sensor on `space_ref` and posts one status `status_text` measured
/// `minutes_ago` before now.
async fn sensor_status(
    app: &TestApp,
    id: &str,
    space_ref: &str,
    status_text: &str,
    minutes_ago: i64,
) {
    let input = DeviceInput {
        id: id.to_owned(),
        kind: "parking_space_sensor".to_owned(),
        name: format!("车位传感器 {id}"),
        longitude: 116.47,
        latitude: 39.99,
        crs: None,
        owner: "街道办".to_owned(),
        capacity: None,
        parking_space: Some(space_ref.to_owned()),
        merchant: None,
        resident: None,
    };
    let index = app.state.locator.snapshot();
    let token = register_devices(&app.db, &index, vec![input]).await.unwrap().remove(0).token;
    let observed_at = (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339();
    let body = json!({"readings": [{"device": id, "attribute": "status", "value": status_text,
        "observed_at": observed_at}]});
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "reading of {id} accepted");
}

#[tokio::test]
async fn old_sensor_statuses_are_sampled_as_known_spaces() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    let lot = json!({"lot_ref": "SENS", "name": "SENS", "owner_type": "public", "capacity": 3,
                     "longitude": 116.47, "latitude": 39.99});
    assert_eq!(admin.post_json("/api/v1/parking/lots", &lot).await.status(), 201);
    for space_ref in ["SENS-1", "SENS-2", "SENS-3"] {
        let space = json!({"space_ref": space_ref, "lot_ref": "SENS"});
        assert_eq!(admin.post_json("/api/v1/parking/spots", &space).await.status(), 201);
    }
    // Three hours old, far past max_data_age_minutes; SENS-3 has no sensor at all.
    sensor_status(&app, "sens-a", "SENS-1", "occupied", 180).await;
    sensor_status(&app, "sens-b", "SENS-2", "free", 180).await;
    let now = Utc::now();

    let stored = history::record_samples(&app.db, &settings(), 60, now).await.unwrap();
    let rows =
        utilisation(&app.db, now - Duration::hours(1), now + Duration::hours(1)).await.unwrap();

    assert_eq!(stored, 1);
    assert_eq!(rows[0].lot_ref, "SENS");
    assert!((rows[0].utilisation.unwrap() - 0.5).abs() < 1e-9, "1 of the 2 known spaces");
}

#[tokio::test]
async fn operator_report_shows_occupancy_and_prices() {
    let app = spawn_app().await;
    let lot_id = insert_lot(&app.db, "RAISE", "").await;
    assert_eq!(sample_period(&app.db, lot_id, 9, review_time()).await, 20);
    assert_eq!(review_at(&app, review_time()).await.changes.len(), 1);
    let session = app.login_as(Role::Administrator, &[]).await;

    let response =
        session.get("/api/v1/parking/operator-report?from=2027-01-01&to=2027-03-10").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let pricing = &report["pricing"];
    let lot = &pricing["occupancy"][0];
    assert_eq!(lot["lot_ref"], "RAISE", "{pricing}");
    assert_eq!(lot["samples"], 20);
    // 20 samples of 15 minutes: 9 and 10 spaces for a quarter hour each.
    assert_eq!(lot["occupied_space_hours"], 45.0);
    assert_eq!(lot["available_space_hours"], 50.0);
    assert!((pricing["pooled_utilisation"].as_f64().unwrap() - 0.9).abs() < 1e-9);
    let change = &pricing["price_changes"][0];
    assert_eq!((change["old_fen"].as_u64(), change["new_fen"].as_u64()), (Some(600), Some(650)));
    assert_eq!(change["announced_at"], "2027-03-10T12:00:00+08:00");

    let page = session.get("/parking/operator?from=2027-01-01&to=2027-03-10").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("90.0 %"), "the utilisation is shown");
    assert!(html.contains("2027-03-17 12:00"), "the effective time is shown in local time");

    // A period before the review contains no sample and no price change.
    let earlier: Value = session
        .get("/api/v1/parking/operator-report?from=2026-01-01&to=2026-01-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(earlier["pricing"]["occupancy"], json!([]));
    assert_eq!(earlier["pricing"]["price_changes"], json!([]));
}
