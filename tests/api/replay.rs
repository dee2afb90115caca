//! `citycore replay` on the real datasets: the stored hour and day rollups of a replayed
//! slice equal those computed here straight from the CSV, with days cut at Shanghai
//! midnight (16:00 UTC), which falls inside the dataset's own local day.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use citycore::sensors::{
    Attribute, SensorStore,
    replay::{self, DateRange, Format, PlayOptions, Shift, Sink, Speed, Summary},
    rollup::Step,
};

use crate::helpers::{TestApp, shared_data, spawn_app};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Asia/Shanghai is UTC+08:00 all year, so its days start at 16:00 UTC.
const SHANGHAI_OFFSET_MS: i64 = 8 * HOUR_MS;

/// One reading as this test reads it from the CSV, before the replay shift.
struct Point {
    device: String,
    attribute: Attribute,
    at_ms: i64,
    value: f64,
    /// The calendar date of the row on the dataset's own clock.
    local_date: NaiveDate,
}

/// Count, sum, extremes, and the first and last value by time of one bucket.
#[derive(Debug)]
struct Expected {
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
    first: (i64, f64),
    last: (i64, f64),
    local_dates: BTreeSet<NaiveDate>,
}

fn bucket_of(step: Step, at_ms: i64) -> i64 {
    match step {
        // The offset is a whole number of hours, so Shanghai hours are UTC hours.
        Step::Hour => at_ms.div_euclid(HOUR_MS) * HOUR_MS,
        Step::Day => (at_ms + SHANGHAI_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS,
        Step::Minute => unreachable!("minutes are not compared"),
    }
}

type Series = BTreeMap<(String, Attribute), BTreeMap<i64, Expected>>;

/// Aggregates `points`, moved by `shift_ms`, into buckets of `step`.
fn expected_rollups(points: &[Point], step: Step, shift_ms: i64) -> Series {
    let mut series: Series = BTreeMap::new();
    for point in points {
        let at = point.at_ms + shift_ms;
        let buckets = series.entry((point.device.clone(), point.attribute)).or_default();
        let bucket = buckets.entry(bucket_of(step, at)).or_insert_with(|| Expected {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            first: (i64::MAX, 0.0),
            last: (i64::MIN, 0.0),
            local_dates: BTreeSet::new(),
        });
        bucket.count += 1;
        bucket.sum += point.value;
        bucket.min = bucket.min.min(point.value);
        bucket.max = bucket.max.max(point.value);
        if at < bucket.first.0 {
            bucket.first = (at, point.value);
        }
        if at > bucket.last.0 {
            bucket.last = (at, point.value);
        }
        bucket.local_dates.insert(point.local_date);
    }
    series
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Replays `path` in process and returns the summary and the shift the test chose.
async fn replay_in_process(
    app: &TestApp,
    path: &std::path::Path,
    format: Format,
    range: DateRange,
    shift_ms: i64,
) -> Summary {
    let series = replay::load(path, Some(format), range).expect("dataset loads");
    replay::register_missing(&app.db, &app.settings, &series.devices).await.expect("registered");
    let sink = Sink::InProcess(app.state.clone());
    let options = PlayOptions { speed: Speed::Max, batch_size: 700, shift_ms, progress: false };
    replay::play(&series, &sink, &options).await.expect("replayed")
}

/// Whole weeks that move the newest point into the past week, chosen here on its own.
fn shift_for(points: &[Point]) -> i64 {
    let newest = points.iter().map(|p| p.at_ms).max().expect("points");
    (Utc::now().timestamp_millis() - newest).div_euclid(WEEK_MS) * WEEK_MS
}

/// Compares the stored hour and day rollups with those computed from `points`, and
/// checks that some day takes readings from two local dates of the dataset.
async fn assert_rollups_match(app: &TestApp, points: &[Point], shift_ms: i64) {
    let mut crossing_days = 0;
    for step in [Step::Hour, Step::Day] {
        for ((device, attribute), buckets) in expected_rollups(points, step, shift_ms) {
            let stored_device = app.db.device(&device).await.unwrap().expect("device registered");
            let from = *buckets.keys().next().unwrap();
            let to = *buckets.keys().last().unwrap() + 1;
            let stored = app
                .db
                .rollups(stored_device.device_id, attribute, step, from, to)
                .await
                .expect("rollups");
            let stored_starts: Vec<i64> = stored.iter().map(|(start, _)| *start).collect();
            let expected_starts: Vec<i64> = buckets.keys().copied().collect();
            assert_eq!(stored_starts, expected_starts, "{device} {attribute:?} {step:?} buckets");
            for ((start, got), want) in stored.iter().zip(buckets.values()) {
                let at = format!("{device} {attribute:?} {step:?} bucket {start}");
                assert_eq!(got.count, want.count, "{at}: count");
                assert!(close(got.sum, want.sum), "{at}: sum {} != {}", got.sum, want.sum);
                assert!(close(got.min, want.min), "{at}: min {} != {}", got.min, want.min);
                assert!(close(got.max, want.max), "{at}: max {} != {}", got.max, want.max);
                assert_eq!((got.first_at_ms, got.last_at_ms), (want.first.0, want.last.0), "{at}");
                assert!(close(got.first_value, want.first.1), "{at}: first value");
                assert!(close(got.last_value, want.last.1), "{at}: last value");
                if step == Step::Day && want.local_dates.len() > 1 {
                    crossing_days += 1;
                }
            }
        }
    }
    let zone_is_shanghai = points.iter().all(|p| {
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        shanghai.timestamp_millis_opt(p.at_ms).unwrap().date_naive() == p.local_date
    });
    if !zone_is_shanghai {
        assert!(crossing_days > 0, "no Shanghai day spans two local dates of the dataset");
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn csv_rows(path: &std::path::Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(path).expect("CSV opens");
    reader.records().map(|r| r.expect("CSV row")).collect()
}

#[tokio::test]
async fn replay_mantova_rollups_match_csv() {
    let Some(folder) = shared_data("mantova-parking-2019") else { return };
    let (from, until) = (date("2019-11-04"), date("2019-11-07"));
    let mut points = Vec::new();
    for row in csv_rows(&folder.join("mantova_parking_occupancy.csv")) {
        let time = local(&row[0]);
        if time.date() < from || time.date() >= until {
            continue;
        }
        let occupied: f64 = row[1].parse().unwrap();
        points.push(Point {
            device: "replay-mantova-lot-0".to_owned(),
            attribute: Attribute::AvailableSpotNumber,
            at_ms: time.and_utc().timestamp_millis(),
            value: (68.0 * (1.0 - occupied)).round(),
            local_date: time.date(),
        });
    }
    assert_eq!(points.len(), 3 * 288, "three days of 5-minute bins");

    let app = spawn_app().await;
    let shift = shift_for(&points);
    let range = DateRange { from: Some(from), until: Some(until) };
    let summary = replay_in_process(&app, &folder, Format::MantovaParking, range, shift).await;
    assert_eq!(summary.stored, points.len());
    assert_eq!(summary.rejected_total(), 0, "{:?}", summary.rejected);
    assert_rollups_match(&app, &points, shift).await;

    let again = replay_in_process(&app, &folder, Format::MantovaParking, range, shift).await;
    assert_eq!((again.stored, again.duplicates), (0, points.len()), "second replay");
    assert_rollups_match(&app, &points, shift).await;
}

#[tokio::test]
async fn replay_beijing_rollups_match_csv_skipping_na() {
    let Some(folder) = shared_data("beijing-air-quality-aotizhongxin") else { return };
    let (from, until) = (date("2016-09-24"), date("2016-09-27"));
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let file = folder.join("PRSA_Data_Aotizhongxin_20130301-20170228.csv");
    let mut points = Vec::new();
    let mut missing = 0;
    for row in csv_rows(&file) {
        let part = |i: usize| row[i].parse::<u32>().unwrap();
        let day = NaiveDate::from_ymd_opt(part(1) as i32, part(2), part(3)).unwrap();
        if day < from || day >= until {
            continue;
        }
        let at = beijing.from_local_datetime(&day.and_hms_opt(part(4), 0, 0).unwrap()).unwrap();
        for (column, attribute) in [(11, Attribute::Temperature), (13, Attribute::DewPoint)] {
            if &row[column] == "NA" {
                missing += 1;
                continue;
            }
            points.push(Point {
                device: "replay-beijing-aotizhongxin".to_owned(),
                attribute,
                at_ms: at.timestamp_millis(),
                value: row[column].parse().unwrap(),
                local_date: day,
            });
        }
    }
    assert!(missing > 0, "the slice should contain NA values");

    let app = spawn_app().await;
    let shift = shift_for(&points);
    let range = DateRange { from: Some(from), until: Some(until) };
    let summary = replay_in_process(&app, &folder, Format::BeijingAir, range, shift).await;
    assert_eq!(summary.stored, points.len());
    assert_eq!(summary.rejected_total(), 0, "{:?}", summary.rejected);
    assert_rollups_match(&app, &points, shift).await;
}

#[tokio::test]
async fn replay_sceaux_counters_match_csv() {
    let Some(folder) = shared_data("household-power-sceaux-2007-05") else { return };
    let (from, until) = (date("2007-05-14"), date("2007-05-16"));
    let cet = chrono::FixedOffset::east_opt(3600).unwrap();
    let meters = [
        (1, "main", 1.0 / 60.0),
        (5, "kitchen", 0.001),
        (6, "laundry", 0.001),
        (7, "heating", 0.001),
    ];
    let mut totals = [0.0_f64; 4];
    let mut points = Vec::new();
    for row in csv_rows(&folder.join("household_power_2007-05.csv")) {
        let time = local(&row[0]);
        for (meter, (column, name, kwh)) in meters.iter().enumerate() {
            totals[meter] += row[*column].parse::<f64>().unwrap() * kwh;
            if time.date() < from || time.date() >= until {
                continue;
            }
            let end = cet.from_local_datetime(&time).unwrap().timestamp_millis() + 60_000;
            points.push(Point {
                device: format!("replay-sceaux-{name}"),
                attribute: Attribute::ActiveEnergyImport,
                at_ms: end,
                value: totals[meter],
                local_date: time.date(),
            });
        }
    }
    assert_eq!(points.len(), 4 * 2 * 1440);

    let app = spawn_app().await;
    let shift = shift_for(&points);
    let range = DateRange { from: Some(from), until: Some(until) };
    let summary = replay_in_process(&app, &folder, Format::SceauxPower, range, shift).await;
    assert_eq!(summary.stored, points.len());
    assert_eq!(summary.rejected_total(), 0, "{:?}", summary.rejected);
    assert_rollups_match(&app, &points, shift).await;
}

#[tokio::test]
async fn replay_melbourne_rollups_match_csv_across_dst_end() {
    let Some(folder) = shared_data("melbourne-pedestrian-2016-2017") else { return };
    // Summer time ended on 2016-04-03, so that local day lasted 25 hours.
    let (from, until) = (date("2016-04-02"), date("2016-04-05"));
    let melbourne = chrono_tz::Australia::Melbourne;
    let mut points = Vec::new();
    for row in csv_rows(&folder.join("melbourne_hourly_pedestrian_counts.csv")) {
        let time = local(&row[0]);
        if time.date() < from || time.date() >= until {
            continue;
        }
        let at = melbourne.from_local_datetime(&time).earliest().expect("time exists");
        points.push(Point {
            device: format!("replay-melbourne-{}", &row[7]),
            attribute: Attribute::PeopleCount,
            at_ms: at.timestamp_millis(),
            value: row[9].parse().unwrap(),
            local_date: time.date(),
        });
    }
    assert!(points.len() > 7 * 60, "seven sensors, three days");

    let app = spawn_app().await;
    let shift = shift_for(&points);
    let range = DateRange { from: Some(from), until: Some(until) };
    let summary = replay_in_process(&app, &folder, Format::MelbournePedestrian, range, shift).await;
    assert_eq!(summary.stored, points.len());
    assert_eq!(summary.rejected_total(), 0, "{:?}", summary.rejected);
    assert_rollups_match(&app, &points, shift).await;
}

#[tokio::test]
async fn replay_to_server_posts_batches_with_gateway_key() {
    let Some(folder) = shared_data("mantova-parking-2019") else { return };
    let app = spawn_app().await;
    let key = citycore::sensors::cli::create_ingest_key(&app.db, "replay").await.unwrap();
    let range = DateRange { from: Some(date("2019-11-04")), until: Some(date("2019-11-05")) };
    let series = replay::load(&folder, None, range).expect("format detected from header");
    assert_eq!(series.format, Format::MantovaParking);
    let options =
        |shift_ms| PlayOptions { speed: Speed::Max, batch_size: 100, shift_ms, progress: false };
    let sink = Sink::http(&app.address, key, citycore::i18n::Locale::default()).unwrap();
    let shift = Shift::Auto.to_ms(&series, Utc::now().timestamp_millis());

    let unregistered = replay::play(&series, &sink, &options(shift)).await.unwrap();
    assert_eq!(unregistered.stored, 0);
    assert_eq!(unregistered.rejected["reading_unknown_device"].0, 288);

    replay::register_missing(&app.db, &app.settings, &series.devices).await.unwrap();
    let summary = replay::play(&series, &sink, &options(shift)).await.unwrap();
    assert_eq!((summary.stored, summary.batches), (288, 3));

    let unshifted = replay::play(&series, &sink, &options(0)).await.unwrap();
    assert_eq!(unshifted.rejected["reading_time_too_old"].0, 288);
}

/// Builds a replay's people counter at Melbourne, far from the test street.
fn melbourne_counter(id: &str) -> citycore::sensors::devices::DeviceInput {
    citycore::sensors::devices::DeviceInput {
        id: id.to_owned(),
        kind: "people_counter".to_owned(),
        name: format!("回放计数器 {id}"),
        longitude: 144.9631,
        latitude: -37.8136,
        crs: None,
        owner: "replay".to_owned(),
        capacity: None,
        parking_space: None,
        merchant: None,
        resident: None,
    }
}

#[tokio::test]
async fn place_warns_about_registered_devices() {
    let app = crate::cases_loop::app_with_grids().await;
    let community = crate::helpers::areas::COMMUNITY_A;
    let first = vec![melbourne_counter("replay-test-1"), melbourne_counter("replay-test-2")];
    let registered = replay::register_missing(&app.db, &app.settings, &first).await.unwrap();
    assert_eq!(registered, replay::Registration { added: 2, existing: 0 });
    assert_eq!(replay::kept_location_warning(Some(community), registered), None);

    // The second run places its devices in the community, but two exist already.
    let mut second = first.clone();
    second.push(melbourne_counter("replay-test-3"));
    let index = app.state.locator.snapshot();
    replay::place::place_in_area(&index, community, &mut second).unwrap();
    let registered = replay::register_missing(&app.db, &app.settings, &second).await.unwrap();
    assert_eq!(registered, replay::Registration { added: 1, existing: 2 });

    let warning = replay::kept_location_warning(Some(community), registered).expect("a warning");
    assert!(warning.contains("2 devices"), "names how many kept their location: {warning}");
    assert!(warning.contains(&format!("--place {community}")), "{warning}");
    assert_eq!(replay::kept_location_warning(None, registered), None, "no --place, no warning");
    let stored = app.db.device("replay-test-1").await.unwrap().expect("registered");
    assert!(stored.longitude > 100.0, "the registered device was not moved");
}

#[test]
fn reversed_dates_name_both_options() {
    let range = DateRange { from: Some(date("2017-04-12")), until: Some(date("2017-04-10")) };
    let error = replay::load(std::path::Path::new("no-such-dataset"), None, range)
        .expect_err("a reversed range is rejected");
    let message = error.to_string();
    assert!(message.contains("--until 2017-04-10"), "{message}");
    assert!(message.contains("--from 2017-04-12"), "{message}");
    assert!(message.contains("swap"), "says how to fix it: {message}");

    let same_day = DateRange { from: Some(date("2017-04-10")), until: Some(date("2017-04-10")) };
    let error = replay::load(std::path::Path::new("no-such-dataset"), None, same_day)
        .expect_err("an empty range is rejected");
    assert!(error.to_string().contains("--until"), "{error}");
}
