//! Reading an occupancy CSV into validated readings, counting every rejected row.

use std::{collections::BTreeMap, path::Path};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    ParkingError,
    columns::{CapacityColumn, Columns, OccupiedColumn, resolve_columns},
};

pub use super::columns::ColumnOptions;

/// Timestamp layouts accepted besides RFC 3339, read in the input time zone.
const LOCAL_TIME_FORMATS: &[&str] =
    &["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S"];

/// Examples kept per kind of data problem; the count is always complete.
pub const MAX_EXAMPLES: usize = 5;

/// One accepted reading: `0 <= occupied <= capacity`, both in spaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub lot: String,
    pub time: DateTime<Utc>,
    pub occupied: f64,
    pub capacity: f64,
    /// Vehicles that arrived since the lot's previous reading, if the file has that column.
    pub arrivals: Option<f64>,
    /// 1-based line number in the file, the header being line 1.
    pub line: u64,
}

/// A kind of input row or interval that the analysis does not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Unparseable,
    Negative,
    AboveCapacity,
    DuplicateTimestamp,
    Gap,
    /// Identical readings for longer than the flat-run threshold; kept unless dropped.
    FlatRun,
}

impl ProblemKind {
    /// Returns the Fluent message id that names this problem.
    pub fn message_id(self) -> &'static str {
        match self {
            ProblemKind::Unparseable => "parking-problem-unparseable",
            ProblemKind::Negative => "parking-problem-negative",
            ProblemKind::AboveCapacity => "parking-problem-above-capacity",
            ProblemKind::DuplicateTimestamp => "parking-problem-duplicate",
            ProblemKind::Gap => "parking-problem-gap",
            ProblemKind::FlatRun => "parking-problem-flat-run",
        }
    }
}

/// Count and first examples of one kind of problem.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProblemTally {
    pub count: u64,
    pub examples: Vec<String>,
}

/// All data problems found, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Problems(pub BTreeMap<ProblemKind, ProblemTally>);

impl Problems {
    /// Counts one problem and keeps `example` if fewer than [`MAX_EXAMPLES`] are kept.
    pub fn record(&mut self, kind: ProblemKind, example: impl FnOnce() -> String) {
        let tally = self.0.entry(kind).or_default();
        tally.count += 1;
        if tally.examples.len() < MAX_EXAMPLES {
            tally.examples.push(example());
        }
    }

    pub fn count(&self, kind: ProblemKind) -> u64 {
        self.0.get(&kind).map_or(0, |tally| tally.count)
    }
}

/// Readings in file order (duplicates removed) and the problems found.
#[derive(Debug, Clone)]
pub struct Series {
    pub readings: Vec<Reading>,
    pub problems: Problems,
    /// Number of data lines read, excluding the header.
    pub rows: u64,
    /// Header names of the columns used, for the report.
    pub columns_used: Vec<String>,
}

/// Reads and validates `path`, interpreting zone-less timestamps in `input_zone`.
///
/// # Errors
/// Fails when the file cannot be opened, the header cannot be read or a column cannot be
/// found; bad rows are counted in [`Series::problems`] instead.
pub fn read_series(
    path: &Path,
    options: &ColumnOptions,
    input_zone: Tz,
) -> Result<Series, ParkingError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|source| ParkingError::Io { path: shown.clone(), source })?;
    read_series_from(file, &shown, options, input_zone)
}

/// Reads and validates CSV text from `input`, such as an uploaded file; `source_name`
/// names the input in errors and in the report.
///
/// # Errors
/// As [`read_series`], except opening the file.
pub fn read_series_from(
    input: impl std::io::Read,
    source_name: &str,
    options: &ColumnOptions,
    input_zone: Tz,
) -> Result<Series, ParkingError> {
    let shown = source_name.to_owned();
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| ParkingError::Header { path: shown.clone(), source })?
        .iter()
        .map(str::to_owned)
        .collect();
    let columns = resolve_columns(&header, options)?;
    let mut problems = Problems::default();
    let mut readings = Vec::new();
    let mut rows = 0;
    for (index, record) in reader.records().enumerate() {
        rows += 1;
        let line = index as u64 + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.record(ProblemKind::Unparseable, || format!("line {line}: {error}"));
                continue;
            }
        };
        match parse_record(&record, &columns, input_zone, line) {
            Ok(reading) => classify(reading, &mut problems, &mut readings),
            Err(reason) => {
                problems.record(ProblemKind::Unparseable, || format!("line {line}: {reason}"))
            }
        }
    }
    remove_duplicates(&mut readings, &mut problems);
    let mut columns_used = vec![header[columns.time].clone()];
    columns_used.extend(columns.lot.map(|i| header[i].clone()));
    columns_used.push(match columns.occupied {
        OccupiedColumn::Count(i) | OccupiedColumn::Fraction(i) => header[i].clone(),
    });
    if let CapacityColumn::Column(i) = columns.capacity {
        columns_used.push(header[i].clone());
    }
    Ok(Series { readings, problems, rows, columns_used })
}

/// Rejects negative and above-capacity readings instead of clamping them.
fn classify(reading: Reading, problems: &mut Problems, readings: &mut Vec<Reading>) {
    let example = || {
        format!(
            "line {}: lot {} at {} has {} of {} spaces occupied, arrivals {:?}",
            reading.line,
            reading.lot,
            reading.time,
            reading.occupied,
            reading.capacity,
            reading.arrivals
        )
    };
    if reading.occupied < 0.0 || reading.arrivals.is_some_and(|count| count < 0.0) {
        problems.record(ProblemKind::Negative, example);
    } else if reading.occupied > reading.capacity {
        problems.record(ProblemKind::AboveCapacity, example);
    } else {
        readings.push(reading);
    }
}

/// Keeps the first reading per lot and timestamp and counts the others.
fn remove_duplicates(readings: &mut Vec<Reading>, problems: &mut Problems) {
    readings.sort_by(|a, b| (&a.lot, a.time, a.line).cmp(&(&b.lot, b.time, b.line)));
    let mut kept: Vec<Reading> = Vec::with_capacity(readings.len());
    for reading in readings.drain(..) {
        match kept.last() {
            Some(last) if last.lot == reading.lot && last.time == reading.time => {
                let first_line = last.line;
                problems.record(ProblemKind::DuplicateTimestamp, || {
                    format!(
                        "line {}: lot {} at {} repeats line {first_line}",
                        reading.line, reading.lot, reading.time
                    )
                });
            }
            _ => kept.push(reading),
        }
    }
    *readings = kept;
}

fn parse_record(
    record: &csv::StringRecord,
    columns: &Columns,
    zone: Tz,
    line: u64,
) -> Result<Reading, String> {
    let field =
        |index: usize| record.get(index).ok_or_else(|| format!("column {} is missing", index + 1));
    let lot = match columns.lot {
        Some(index) => field(index)?.to_owned(),
        None => "1".to_owned(),
    };
    let time = parse_time(field(columns.time)?, zone)?;
    let capacity = match columns.capacity {
        CapacityColumn::Column(index) => parse_number(field(index)?)?,
        CapacityColumn::Fixed(spaces) => spaces,
    };
    if capacity <= 0.0 {
        return Err(format!("capacity {capacity} is not positive"));
    }
    let occupied = match columns.occupied {
        OccupiedColumn::Count(index) => parse_number(field(index)?)?,
        OccupiedColumn::Fraction(index) => parse_number(field(index)?)? * capacity,
    };
    let arrivals = match columns.arrivals {
        Some(index) => Some(parse_number(field(index)?)?),
        None => None,
    };
    Ok(Reading { lot, time, occupied, capacity, arrivals, line })
}

fn parse_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("\"{text}\" is not a number")),
    }
}

/// Parses RFC 3339 (its offset wins) or a zone-less layout read in `zone`.
///
/// In the hour repeated when clocks go back, the earlier instant is taken.
pub fn parse_time(text: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let naive = LOCAL_TIME_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| format!("time \"{text}\" is invalid; use YYYY-MM-DD HH:MM:SS"))?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| format!("time \"{text}\" does not exist in {zone} (clocks went forward)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, options: &ColumnOptions) -> Result<Series, ParkingError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("occupancy.csv");
        std::fs::write(&path, text).unwrap();
        read_series(&path, options, chrono_tz::UTC)
    }

    #[test]
    fn detected_columns_read_counts() {
        let text = "SystemCodeNumber,Capacity,Occupancy,LastUpdated\nA,10,4,2016-10-04 07:59:42\n";
        let series = read(text, &ColumnOptions::default()).unwrap();
        assert_eq!(series.readings.len(), 1);
        assert_eq!(series.readings[0].lot, "A");
        assert_eq!(series.readings[0].occupied, 4.0);
        assert_eq!(series.readings[0].line, 2);
    }

    #[test]
    fn fraction_column_scales_by_capacity() {
        let options = ColumnOptions {
            occupied_fraction_col: Some("percentage".into()),
            capacity: Some(68.0),
            ..ColumnOptions::default()
        };
        let series =
            read("time,percentage,park_id\n2019-10-25 15:35:00,0.5,0\n", &options).unwrap();
        assert_eq!(series.readings[0].occupied, 34.0);
        assert_eq!(series.readings[0].capacity, 68.0);
    }

    #[test]
    fn missing_capacity_names_columns_and_flag() {
        let error = read(
            "time,percentage,park_id\n",
            &ColumnOptions { occupied_col: Some("percentage".into()), ..ColumnOptions::default() },
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("column Capacity not found"), "{error}");
        assert!(error.contains("available: time, percentage, park_id"), "{error}");
        assert!(error.contains("--capacity-col"), "{error}");
    }

    #[test]
    fn bad_rows_are_counted_not_used() {
        let text = "lot,capacity,occupied,time\n\
            A,10,-1,2024-01-01 00:00:00\n\
            A,10,11,2024-01-01 00:05:00\n\
            A,10,x,2024-01-01 00:10:00\n\
            A,10,3,yesterday\n\
            A,10,3,2024-01-01 00:15:00\n\
            A,10,4,2024-01-01 00:15:00\n";
        let series = read(text, &ColumnOptions::default()).unwrap();
        assert_eq!(series.rows, 6);
        assert_eq!(series.readings.len(), 1);
        assert_eq!(series.readings[0].occupied, 3.0, "the first duplicate is kept");
        assert_eq!(series.problems.count(ProblemKind::Negative), 1);
        assert_eq!(series.problems.count(ProblemKind::AboveCapacity), 1);
        assert_eq!(series.problems.count(ProblemKind::Unparseable), 2);
        assert_eq!(series.problems.count(ProblemKind::DuplicateTimestamp), 1);
        let example = &series.problems.0[&ProblemKind::Negative].examples[0];
        assert!(example.starts_with("line 2:"), "{example}");
    }

    #[test]
    fn arrivals_column_is_detected_and_checked() {
        let text = "lot,capacity,occupied,arrivals,time\n\
            A,10,4,3,2024-01-01 00:00:00\n\
            A,10,4,-2,2024-01-01 00:05:00\n";
        let series = read(text, &ColumnOptions::default()).unwrap();
        assert_eq!(series.readings.len(), 1);
        assert_eq!(series.readings[0].arrivals, Some(3.0));
        assert_eq!(series.problems.count(ProblemKind::Negative), 1, "negative arrivals");
    }

    #[test]
    fn local_time_is_read_in_input_zone() {
        let zone: Tz = "Asia/Shanghai".parse().unwrap();
        let time = parse_time("2024-01-01 08:00:00", zone).unwrap();
        assert_eq!(time.to_rfc3339(), "2024-01-01T00:00:00+00:00");
        let offset = parse_time("2024-01-01T08:00:00+08:00", chrono_tz::UTC).unwrap();
        assert_eq!(offset, time, "an explicit offset wins over the input zone");
    }

    #[test]
    fn skipped_local_time_is_rejected() {
        let zone: Tz = "Europe/Rome".parse().unwrap();
        assert!(parse_time("2020-03-29 02:30:00", zone).is_err());
    }
}
