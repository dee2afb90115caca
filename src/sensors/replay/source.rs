//! Reading the four supported dataset files into device readings.
//!
//! Each format fixes the devices it creates, the attribute each column becomes, and the
//! clock of its `time` column (the zone stated by the dataset's documentation):
//!
//! | format | clock | device (kind) | column → attribute |
//! |---|---|---|---|
//! | `mantova-parking` | UTC | `replay-mantova-lot-0` (lot_counter, 68 spaces) | `percentage` → `availableSpotNumber` = round(68 × (1 − percentage)) |
//! | `beijing-air` | UTC+08:00 | `replay-beijing-aotizhongxin` (temperature_humidity) | `TEMP` → `temperature`, `DEWP` → `dewPoint` |
//! | `sceaux-power` | UTC+01:00, no summer time | `replay-sceaux-main`, `-kitchen`, `-laundry`, `-heating` (energy_meter) | cumulative `activeEnergyImport` in kWh |
//! | `melbourne-pedestrian` | Australia/Melbourne | `replay-melbourne-<Sensor_ID>` (people_counter) | `Hourly_Counts` → `peopleCount` |
//!
//! The Sceaux meters are counters. A reading at the end of minute m contains the energy
//! from the first row of the file through minute m, so the value of a minute does not
//! depend on which dates are replayed. Each minute adds `Global_active_power` / 60 kWh
//! to the main meter and `Sub_metering_N` / 1000 kWh to sub-meter N.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::sensors::{Attribute, devices::DeviceInput};

/// A dataset layout that `citycore replay` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Mantova parking lot occupancy, 5-minute bins (`time,percentage,park_id`).
    MantovaParking,
    /// Beijing Aotizhongxin station, hourly weather and air quality (UCI PRSA).
    BeijingAir,
    /// One household in Sceaux, France: minute power and sub-metering (UCI).
    SceauxPower,
    /// City of Melbourne pedestrian counting system, hourly counts per sensor.
    MelbournePedestrian,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::MantovaParking => "mantova-parking",
            Format::BeijingAir => "beijing-air",
            Format::SceauxPower => "sceaux-power",
            Format::MelbournePedestrian => "melbourne-pedestrian",
        }
    }

    /// Recognises a format from the header line of its CSV file.
    pub fn detect(header: &csv::StringRecord) -> Option<Format> {
        let has = |name: &str| header.iter().any(|column| column == name);
        if has("percentage") && has("park_id") {
            Some(Format::MantovaParking)
        } else if has("TEMP") && has("DEWP") && has("station") {
            Some(Format::BeijingAir)
        } else if has("Global_active_power") && has("Sub_metering_3") {
            Some(Format::SceauxPower)
        } else if has("Hourly_Counts") && has("Sensor_ID") {
            Some(Format::MelbournePedestrian)
        } else {
            None
        }
    }

    /// Returns the clock of the file's local times.
    fn clock(self) -> Clock {
        let fixed = |hours: i32| Clock::Fixed(FixedOffset::east_opt(hours * 3600).expect("offset"));
        match self {
            // The file does not state a zone; its grid ignores the Italian summer-time
            // changes, so it is read as UTC.
            Format::MantovaParking => fixed(0),
            Format::BeijingAir => fixed(8),
            // The minute grid has no gap or repeat at the summer-time changes.
            Format::SceauxPower => fixed(1),
            Format::MelbournePedestrian => Clock::Zone(chrono_tz::Australia::Melbourne),
        }
    }
}

/// The mapping of a dataset's wall-clock times to UTC.
#[derive(Debug, Clone, Copy)]
enum Clock {
    Fixed(FixedOffset),
    Zone(Tz),
}

impl Clock {
    /// Converts a local time to UTC milliseconds.
    ///
    /// NOTE: a time repeated when summer time ends is read as the first (summer) one,
    /// because the Melbourne file lists the repeated hour once and does not say which.
    fn to_utc_ms(self, local: NaiveDateTime) -> Option<i64> {
        match self {
            Clock::Fixed(offset) => offset.from_local_datetime(&local).single(),
            Clock::Zone(zone) => {
                zone.from_local_datetime(&local).earliest().map(|t| t.fixed_offset())
            }
        }
        .map(|time| time.timestamp_millis())
    }
}

/// One reading taken from the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceReading {
    /// Position in [`Series::devices`].
    pub device: usize,
    pub attribute: Attribute,
    pub value: f64,
    /// Measurement time in UTC milliseconds, before any replay shift.
    pub observed_at_ms: i64,
}

/// A row of the file, or one value of a row, that gave no reading, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRow {
    /// 1-based line number in the file, the header being line 1.
    pub line: u64,
    pub reason: String,
}

/// The readings of the selected dates of one file, in measurement-time order.
#[derive(Debug, Clone)]
pub struct Series {
    pub format: Format,
    pub file: PathBuf,
    pub devices: Vec<DeviceInput>,
    pub readings: Vec<SourceReading>,
    pub skipped: Vec<SkippedRow>,
}

/// Local dates to keep, `from` inclusive and `until` exclusive, on the file's own clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl DateRange {
    /// Checks that `until` is after `from` when both are given.
    ///
    /// # Errors
    /// Names both options and the fix when the range is reversed or empty.
    pub fn check(&self) -> anyhow::Result<()> {
        if let (Some(from), Some(until)) = (self.from, self.until)
            && until <= from
        {
            bail!(
                "--until {until} is not after --from {from}: --until is the first date left \
                 out, so give an --until date after --from (for one day, the day after it) \
                 or swap the two dates"
            );
        }
        Ok(())
    }

    fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.until.is_none_or(|until| date < until)
    }
}

/// Reads `path` (a CSV file, or a folder containing exactly one) as `format`, or as the
/// format its header shows when `format` is `None`.
///
/// # Errors
/// Fails when `range` is reversed or empty, the file cannot be read, its format is
/// unknown, or a needed column is missing. Rows with a missing or malformed value are
/// skipped and listed instead.
pub fn load(path: &Path, format: Option<Format>, range: DateRange) -> anyhow::Result<Series> {
    range.check()?;
    let file = csv_file_of(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .from_path(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let header = reader.headers().with_context(|| format!("{}", file.display()))?.clone();
    let format = match format.or_else(|| Format::detect(&header)) {
        Some(format) => format,
        None => bail!(
            "cannot tell the format of {} from its header; pass --format with one of \
             mantova-parking, beijing-air, sceaux-power, melbourne-pedestrian",
            file.display()
        ),
    };
    let columns = Columns { header, file: file.clone() };
    let mut series =
        Series { format, file, devices: Vec::new(), readings: Vec::new(), skipped: Vec::new() };
    let mut rows = RowReader { reader, clock: format.clock(), range, line: 1 };
    match format {
        Format::MantovaParking => super::formats::read_mantova(&columns, &mut rows, &mut series)?,
        Format::BeijingAir => super::formats::read_beijing(&columns, &mut rows, &mut series)?,
        Format::SceauxPower => super::formats::read_sceaux(&columns, &mut rows, &mut series)?,
        Format::MelbournePedestrian => {
            super::formats::read_melbourne(&columns, &mut rows, &mut series)?;
        }
    }
    series.readings.sort_by_key(|r| (r.observed_at_ms, r.device, r.attribute));
    Ok(series)
}

/// Picks the CSV file of a dataset folder, or returns `path` itself when it is a file.
fn csv_file_of(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_owned());
    }
    let entries =
        std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut csvs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
        .collect();
    match csvs.len() {
        1 => Ok(csvs.remove(0)),
        0 => bail!("{} contains no .csv file; give the data file itself", path.display()),
        _ => bail!("{} contains several .csv files; give the one to replay", path.display()),
    }
}

/// Column positions by header name.
pub(super) struct Columns {
    header: csv::StringRecord,
    file: PathBuf,
}

impl Columns {
    /// # Errors
    /// Names the missing column and the file.
    pub(super) fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.header.iter().position(|column| column == name).with_context(|| {
            format!("{} has no column {name}; check --format", self.file.display())
        })
    }
}

/// The rows of the file with their line numbers, the clock and the date range.
pub(super) struct RowReader {
    reader: csv::Reader<std::fs::File>,
    clock: Clock,
    range: DateRange,
    line: u64,
}

/// One row and where it is.
pub(super) struct Row {
    pub(super) record: csv::StringRecord,
    pub(super) line: u64,
}

impl RowReader {
    /// Returns the next row, or a skipped row when the CSV itself is malformed there.
    pub(super) fn next_row(&mut self) -> Option<Result<Row, SkippedRow>> {
        let mut record = csv::StringRecord::new();
        self.line += 1;
        match self.reader.read_record(&mut record) {
            Ok(true) => Some(Ok(Row { record, line: self.line })),
            Ok(false) => None,
            Err(error) => Some(Err(SkippedRow { line: self.line, reason: error.to_string() })),
        }
    }

    /// Parses a local `YYYY-MM-DD HH:MM:SS` time and converts it to UTC milliseconds;
    /// `Ok(None)` when its date is outside the selected range.
    ///
    /// # Errors
    /// The reason, when the time is malformed or does not exist on the local clock.
    pub(super) fn time(&self, text: &str) -> Result<Option<i64>, String> {
        let local = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|_| format!("time {text:?} is not YYYY-MM-DD HH:MM:SS"))?;
        self.local_time(local)
    }

    /// Converts a local time already split into its parts, like [`RowReader::time`].
    pub(super) fn local_time(&self, local: NaiveDateTime) -> Result<Option<i64>, String> {
        if !self.range.contains(local.date()) {
            return Ok(None);
        }
        self.clock
            .to_utc_ms(local)
            .map(Some)
            .ok_or_else(|| format!("local time {local} does not exist (summer-time change)"))
    }
}

/// Parses a number cell; `NA` and empty cells are missing values.
///
/// # Errors
/// The reason, naming the column.
pub(super) fn number(row: &Row, index: usize, column: &str) -> Result<f64, String> {
    let text = row.record.get(index).unwrap_or("").trim();
    if text.is_empty() || text == "NA" {
        return Err(format!("{column} is missing"));
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("{column} {text:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn melbourne_clock_reads_repeated_hour_as_summer_time() {
        let clock = Format::MelbournePedestrian.clock();
        let local = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        // Summer time ended at 03:00 AEDT on 2016-04-03, so 02:30 happened twice.
        let repeated = clock.to_utc_ms(local("2016-04-03 02:30")).unwrap();
        assert_eq!(
            repeated,
            chrono::DateTime::parse_from_rfc3339("2016-04-03T02:30:00+11:00")
                .unwrap()
                .timestamp_millis()
        );
        // Clocks jumped from 02:00 to 03:00 on 2016-10-02.
        assert_eq!(clock.to_utc_ms(local("2016-10-02 02:30")), None);
    }

    #[test]
    fn load_skips_bad_rows_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lot.csv");
        let rows = "time,percentage,park_id\r\n\
                    2020-01-01 00:00:00,0.5,7\r\n\
                    2020-01-01 00:05,0.5,7\r\n\
                    2020-01-01 00:10:00,1.5,7\r\n\
                    2020-01-01 00:15:00,NA,7\r\n";
        std::fs::write(&file, rows).unwrap();
        let series = load(dir.path(), None, DateRange::default()).unwrap();
        assert_eq!(series.format, Format::MantovaParking);
        assert_eq!(series.devices.len(), 1);
        assert_eq!(series.devices[0].id, "replay-mantova-lot-7");
        assert_eq!(series.readings.len(), 1);
        assert_eq!(series.readings[0].value, 34.0);
        let lines: Vec<u64> = series.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(series.skipped[0].reason.contains("YYYY-MM-DD HH:MM:SS"));
        assert!(series.skipped[1].reason.contains("not 0 to 1"));
        assert!(series.skipped[2].reason.contains("percentage is missing"));
    }

    #[test]
    fn load_names_unknown_format() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("other.csv");
        std::fs::write(&file, "a,b\n1,2\n").unwrap();
        let error = load(&file, None, DateRange::default()).unwrap_err().to_string();
        assert!(error.contains("pass --format"), "{error}");
        let error = load(&file, Some(Format::BeijingAir), DateRange::default()).unwrap_err();
        assert!(error.to_string().contains("has no column year"), "{error}");
    }

    #[test]
    fn date_range_is_half_open() {
        let date = |d: u32| NaiveDate::from_ymd_opt(2019, 11, d).unwrap();
        let range = DateRange { from: Some(date(4)), until: Some(date(6)) };
        assert!(!range.contains(date(3)));
        assert!(range.contains(date(4)));
        assert!(range.contains(date(5)));
        assert!(!range.contains(date(6)));
    }
}
