//! The parking analysis and pricing simulation on a hand-checked file and on the real
//! Mantova series, each checked against arithmetic done here without the library.

use std::{collections::BTreeMap, path::Path, process::Command};

use citycore::parking::{
    align::{AlignOptions, align},
    analysis::analyze,
    series::{ColumnOptions, ProblemKind, read_series},
};

use crate::helpers::shared_data;

const MANTOVA_SPACES: f64 = 68.0;

/// Runs the `citycore` binary and returns its standard output.
fn citycore(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_citycore"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .env_remove("CITYCORE_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("citycore runs");
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// An office lot full by day and a residential lot full by night, hourly from Monday
/// 2024-01-01 00:00 UTC, with one row of each data problem.
const TWO_LOTS: &str = "\
lot,capacity,occupied,time
office,10,2,2024-01-01 00:00:00
homes,10,9,2024-01-01 00:00:00
office,10,9,2024-01-01 01:00:00
homes,10,2,2024-01-01 01:00:00
office,10,5,2024-01-01 01:00:00
homes,10,-1,2024-01-01 01:30:00
office,10,8,2024-01-01 02:00:00
homes,10,3,2024-01-01 02:00:00
office,10,12,2024-01-01 02:30:00
homes,10,abc,2024-01-01 02:45:00
office,10,1,2024-01-01 03:00:00
homes,10,8,2024-01-01 03:00:00
office,10,3,2024-01-01 05:00:00
";

fn write_two_lots(dir: &Path) -> String {
    let path = dir.join("two-lots.csv");
    std::fs::write(&path, TWO_LOTS).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn two_lot_gain_matches_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_two_lots(dir.path());
    let json = citycore(&[
        "parking",
        "analyze",
        &path,
        "--step-minutes",
        "60",
        "--max-gap-minutes",
        "60",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let series = &report["series"];
    // Common hours 00–04 (04:00 carries 03:00 forward): combined 11, 11, 11, 9, 9.
    let gain = &series["analysis"]["gain"];
    assert_eq!(gain["sum_of_peaks"], 18.0);
    assert_eq!(gain["combined_peak"], 11.0);
    assert_eq!(gain["gain_spaces"], 7.0);
    assert_eq!(gain["common_points"], 5);
    let percent = gain["gain_percent"].as_f64().unwrap();
    assert!((percent - 7.0 / 18.0 * 100.0).abs() < 1e-9, "{percent}");

    let problems = &series["problems"];
    for kind in ["unparseable", "negative", "above_capacity", "duplicate_timestamp", "gap"] {
        assert_eq!(problems[kind]["count"], 1, "{kind}");
    }

    // Office points 00–05: 2, 9 (the first of the duplicates), 8, 1, 1 carried, 3.
    let office = &series["analysis"]["lots"][1];
    assert_eq!(office["lot"], "office");
    assert_eq!(office["peak_occupied"], 9.0);
    assert_eq!(office["mean_occupied"], 4.0);
    assert_eq!(office["utilisation"], 0.4);
    assert_eq!(office["turnover"], serde_json::Value::Null);
}

#[test]
fn html_report_loads_nothing_from_network() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_two_lots(dir.path());
    let output = dir.path().join("report.html");
    let console = citycore(&[
        "parking",
        "analyze",
        &path,
        "--step-minutes",
        "60",
        "--max-gap-minutes",
        "60",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(console.contains("共享可节省 7.0 个车位"), "{console}");
    let html = std::fs::read_to_string(output).unwrap();
    assert!(html.contains("<svg"), "the page has inline charts");
    assert!(html.contains("停车占用与共享增益分析"));
    for external in ["http://", "https://", "<script src", "<link"] {
        assert!(!html.contains(external), "the page contains {external}");
    }
}

#[test]
fn english_csv_lists_each_lot_measure() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_two_lots(dir.path());
    let csv = citycore(&[
        "parking",
        "analyze",
        &path,
        "--step-minutes",
        "60",
        "--max-gap-minutes",
        "60",
        "--format",
        "csv",
        "--lang",
        "en",
    ]);
    assert!(csv.starts_with("section,key,measure,value\n"), "{csv}");
    assert!(csv.contains("gain,all,gain_spaces,7\n"), "{csv}");
    assert!(csv.contains("problem,gap,count,1\n"), "{csv}");
}

/// Mantova rows as (time text, occupied fraction), read with plain string splitting.
fn mantova_rows(file: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().map(str::trim_end), Some("time,percentage,park_id"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.trim_end().split(',').collect();
            assert_eq!(fields.len(), 3, "{line}");
            (fields[0].to_owned(), fields[1].parse::<f64>().unwrap())
        })
        .collect()
}

fn mantova_file() -> Option<std::path::PathBuf> {
    shared_data("mantova-parking-2019").map(|dir| dir.join("mantova_parking_occupancy.csv"))
}

#[test]
fn mantova_measures_match_plain_arithmetic() {
    let Some(file) = mantova_file() else { return };
    let rows = mantova_rows(&file);
    let fractions: Vec<f64> = rows.iter().map(|(_, fraction)| *fraction).collect();
    let expected_peak = fractions.iter().copied().fold(f64::MIN, f64::max) * MANTOVA_SPACES;
    let expected_mean = fractions.iter().sum::<f64>() / fractions.len() as f64 * MANTOVA_SPACES;
    let out_of_range = fractions.iter().filter(|f| !(0.0..=1.0).contains(*f)).count();
    // On the regular 5-minute grid a run of n equal values spans (n − 1) × 5 minutes, so
    // it is longer than 24 hours when n − 1 > 288.
    let flat_runs = fractions.chunk_by(|a, b| a == b).filter(|run| run.len() - 1 > 24 * 12).count();
    let mut seen = std::collections::HashSet::new();
    let duplicates = rows.iter().filter(|(time, _)| !seen.insert(time.clone())).count();

    let options = ColumnOptions {
        occupied_fraction_col: Some("percentage".into()),
        capacity: Some(MANTOVA_SPACES),
        ..ColumnOptions::default()
    };
    let mut series = read_series(&file, &options, chrono_tz::UTC).unwrap();
    let aligned = align(&series.readings, AlignOptions::new(5, 30).unwrap(), &mut series.problems);
    let analysis = analyze(&aligned, chrono_tz::UTC);
    let lot = &analysis.lots[0];

    assert_eq!(series.rows, rows.len() as u64);
    assert_eq!(analysis.lots.len(), 1, "park_id is always 0");
    assert!((lot.peak_occupied - expected_peak).abs() < 1e-9, "{}", lot.peak_occupied);
    assert!((lot.mean_occupied - expected_mean).abs() < 1e-6, "{}", lot.mean_occupied);
    assert!((lot.utilisation - expected_mean / MANTOVA_SPACES).abs() < 1e-9, "{}", lot.utilisation);
    assert_eq!(lot.covered_hours, rows.len() as f64 * 5.0 / 60.0, "a regular 5-minute grid");
    assert_eq!(series.problems.count(ProblemKind::Negative), 0);
    assert_eq!(series.problems.count(ProblemKind::AboveCapacity), out_of_range as u64);
    assert_eq!(series.problems.count(ProblemKind::DuplicateTimestamp), duplicates as u64);
    assert_eq!(series.problems.count(ProblemKind::Unparseable), 0);
    assert_eq!(series.problems.count(ProblemKind::Gap), 0);
    assert_eq!(series.problems.count(ProblemKind::FlatRun), flat_runs as u64);
    assert_eq!(analysis.gain.gain_spaces, 0.0, "one lot has nothing to share");
}

#[test]
fn mantova_target_share_before_pricing_matches_hourly_means() {
    let Some(file) = mantova_file() else { return };
    // Hourly means by the first 13 characters of the timestamp, "YYYY-MM-DD HH".
    let mut hours: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for (time, fraction) in mantova_rows(&file) {
        let entry = hours.entry(time[..13].to_owned()).or_default();
        entry.0 += fraction;
        entry.1 += 1;
    }
    let in_target = hours
        .values()
        .filter(|(sum, count)| (0.6..0.8).contains(&(sum / f64::from(*count))))
        .count();

    let json = citycore(&[
        "parking",
        "simulate-pricing",
        file.to_str().unwrap(),
        "--occupied-fraction-col",
        "percentage",
        "--capacity",
        "68",
        "--report-time-zone",
        "UTC",
        "--format",
        "json",
    ]);
    let simulation: serde_json::Value = serde_json::from_str(&json).unwrap();
    let before = &simulation["before"];
    let total = before["in_target"].as_u64().unwrap()
        + before["above"].as_u64().unwrap()
        + before["below"].as_u64().unwrap();
    assert_eq!(total, hours.len() as u64);
    assert_eq!(before["in_target"], in_target as u64);
    let changes = simulation["lots"][0]["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "the rule evaluated the bands");
}

#[test]
fn missing_capacity_column_error_names_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fraction.csv");
    std::fs::write(&path, "time,percentage,park_id\n2019-10-25 15:25:00,1.0,0\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_citycore"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["parking", "analyze", path.to_str().unwrap()])
        .args(["--occupied-fraction-col", "percentage"])
        .env_remove("CITYCORE_CONFIG")
        .output()
        .expect("citycore runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected =
        "column Capacity not found; available: time, percentage, park_id; pass --capacity-col";
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn turnover_reported_with_arrivals_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arrivals.csv");
    // One lot of 4 spaces read every 6 hours for one day: 4 space-days, 12 arrivals.
    let text = "lot,capacity,occupied,arrivals,time\n\
        A,4,1,0,2024-01-01 00:00:00\n\
        A,4,3,5,2024-01-01 06:00:00\n\
        A,4,2,4,2024-01-01 12:00:00\n\
        A,4,1,3,2024-01-01 18:00:00\n";
    std::fs::write(&path, text).unwrap();
    let json = citycore(&[
        "parking",
        "analyze",
        path.to_str().unwrap(),
        "--step-minutes",
        "360",
        "--max-gap-minutes",
        "360",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lot = &report["series"]["analysis"]["lots"][0];
    assert_eq!(lot["space_hours"], 96.0);
    assert_eq!(lot["turnover"], 3.0);
}
