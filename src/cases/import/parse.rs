//! Parsing the rows of a 311-style CSV into cases, with one error per bad cell.

use std::{collections::HashMap, path::Path};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The column mapping of a CSV export: the column of each field and the format and
/// zone of its times.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Name stored as `external_source`, such as `boston-311`.
    pub source: String,
    pub id_col: String,
    pub opened_col: String,
    pub closed_col: String,
    /// Optional column of the source's target (due) time.
    pub target_col: Option<String>,
    /// Optional status column; a value of `closed` (any case) requires a closed time.
    pub status_col: Option<String>,
    pub category_col: String,
    pub agency_col: String,
    pub lat_col: String,
    pub lon_col: String,
    /// chrono format of the times, such as `%m/%d/%Y %I:%M:%S %p`.
    pub time_format: String,
    /// Zone of the times in the file.
    pub time_zone: Tz,
    /// The source's placeholder point as (latitude, longitude), compared exactly.
    pub default_point: Option<(f64, f64)>,
}

impl Mapping {
    /// Returns the mapping of Boston's 311 export: local Boston times, City Hall at
    /// (42.3594, −71.0587) as the placeholder point.
    pub fn boston() -> Mapping {
        Mapping {
            source: "boston-311".to_owned(),
            id_col: "CASE_ENQUIRY_ID".to_owned(),
            opened_col: "OPEN_DT".to_owned(),
            closed_col: "CLOSED_DT".to_owned(),
            target_col: Some("TARGET_DT".to_owned()),
            status_col: Some("CASE_STATUS".to_owned()),
            category_col: "TYPE".to_owned(),
            agency_col: "Department".to_owned(),
            lat_col: "LATITUDE".to_owned(),
            lon_col: "LONGITUDE".to_owned(),
            time_format: "%m/%d/%Y %I:%M:%S %p".to_owned(),
            time_zone: chrono_tz::America::New_York,
            default_point: Some((42.3594, -71.0587)),
        }
    }
}

/// One valid row, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCase {
    pub external_id: String,
    pub category: String,
    pub agency: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub target_at: Option<DateTime<Utc>>,
    pub latitude: f64,
    pub longitude: f64,
    pub default_location: bool,
    /// Catalogue category to file the case under; `None` files it under the catch-all
    /// `E9999`. CSV imports leave it `None`; generated benchmark cases set it.
    pub category_code: Option<String>,
    /// The reporter's rating of a closed case, 1–5; a rated case is stored `rated`.
    pub rating: Option<i32>,
}

/// One invalid cell: the file line (the header is line 1), the column and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// Reads and parses every row of `path`.
///
/// # Errors
/// Every invalid cell, or one error on line 0 when the file cannot be read or lacks a
/// mapped column.
pub fn parse_file(path: &Path, mapping: &Mapping) -> Result<Vec<ImportedCase>, Vec<RowError>> {
    let file_error = |column: &str, reason: String| {
        vec![RowError { line: 0, column: column.to_owned(), reason }]
    };
    let mut reader =
        csv::Reader::from_path(path).map_err(|error| file_error("", error.to_string()))?;
    let headers = reader.headers().map_err(|error| file_error("", error.to_string()))?.clone();
    let positions: HashMap<&str, usize> =
        headers.iter().enumerate().map(|(i, name)| (name, i)).collect();
    let mut required = vec![
        &mapping.id_col,
        &mapping.opened_col,
        &mapping.closed_col,
        &mapping.category_col,
        &mapping.agency_col,
        &mapping.lat_col,
        &mapping.lon_col,
    ];
    required.extend(mapping.target_col.iter().chain(&mapping.status_col));
    if let Some(missing) = required.iter().find(|name| !positions.contains_key(name.as_str())) {
        return Err(file_error(missing, "column missing from the header".to_owned()));
    }
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |position| position.line());
                errors.push(RowError { line, column: String::new(), reason: error.to_string() });
                continue;
            }
        };
        let line = record.position().map_or(0, |position| position.line());
        let cells = Cells { record: &record, positions: &positions };
        match parse_row(&cells, mapping) {
            Ok(case) => cases.push(case),
            Err((column, reason)) => errors.push(RowError { line, column, reason }),
        }
    }
    if errors.is_empty() { Ok(cases) } else { Err(errors) }
}

type CellError = (String, String);

/// The cells of one record, looked up by column name.
struct Cells<'a> {
    record: &'a csv::StringRecord,
    positions: &'a HashMap<&'a str, usize>,
}

impl Cells<'_> {
    /// Returns the trimmed cell, or "" for a column the header lacks or a short row.
    fn get(&self, name: &str) -> &str {
        self.positions.get(name).and_then(|&i| self.record.get(i)).unwrap_or("").trim()
    }
}

fn parse_row(cells: &Cells<'_>, mapping: &Mapping) -> Result<ImportedCase, CellError> {
    let cell = |name: &str| cells.get(name);
    let time = |column: &str| {
        parse_time(cell(column), mapping).map_err(|reason| (column.to_owned(), reason))
    };
    let required = |column: &str| {
        let value = cell(column);
        if value.is_empty() {
            Err((column.to_owned(), "value missing".to_owned()))
        } else {
            Ok(value.to_owned())
        }
    };

    let external_id = required(&mapping.id_col)?;
    let opened_at = time(&mapping.opened_col)?
        .ok_or_else(|| (mapping.opened_col.clone(), "value missing".to_owned()))?;
    let closed_at = time(&mapping.closed_col)?;
    let target_at = match &mapping.target_col {
        Some(column) => time(column)?,
        None => None,
    };
    if let Some(column) = &mapping.status_col
        && cell(column).eq_ignore_ascii_case("closed")
        && closed_at.is_none()
    {
        return Err((
            mapping.closed_col.clone(),
            "status is closed but the closed time is missing".to_owned(),
        ));
    }

    let coordinate = |column: &str, limit: f64| {
        let text = cell(column);
        text.parse::<f64>().ok().filter(|value| value.abs() <= limit).ok_or_else(|| {
            (
                column.to_owned(),
                format!("invalid coordinate {text:?}; expected decimal degrees within ±{limit}"),
            )
        })
    };
    let latitude = coordinate(&mapping.lat_col, 90.0)?;
    let longitude = coordinate(&mapping.lon_col, 180.0)?;

    Ok(ImportedCase {
        external_id,
        category: required(&mapping.category_col)?,
        agency: required(&mapping.agency_col)?,
        opened_at,
        closed_at,
        target_at,
        latitude,
        longitude,
        default_location: mapping.default_point == Some((latitude, longitude)),
        category_code: None,
        rating: None,
    })
}

/// Parses a local time of the file, `None` for an empty cell. An ambiguous time at the
/// end of daylight saving time is read as the earlier instant.
fn parse_time(text: &str, mapping: &Mapping) -> Result<Option<DateTime<Utc>>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let local = NaiveDateTime::parse_from_str(text, &mapping.time_format).map_err(|error| {
        format!("invalid time {text:?} ({error}); expected the format {}", mapping.time_format)
    })?;
    let instant = mapping.time_zone.from_local_datetime(&local).earliest().ok_or_else(|| {
        format!("time {text:?} does not exist in {} (daylight saving gap)", mapping.time_zone)
    })?;
    Ok(Some(instant.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boston_time_converts_to_utc() {
        let mapping = Mapping::boston();
        let parsed = parse_time("06/01/2015 12:28:00 AM", &mapping).unwrap().unwrap();
        assert_eq!(parsed.to_rfc3339(), "2015-06-01T04:28:00+00:00", "EDT is UTC−4");
    }

    #[test]
    fn bad_time_names_value_and_format() {
        let error = parse_time("2015-06-01", &Mapping::boston()).unwrap_err();
        assert!(error.contains("\"2015-06-01\""), "{error}");
        assert!(error.contains("%m/%d/%Y"), "{error}");
    }

    #[test]
    fn empty_time_is_none() {
        assert_eq!(parse_time("", &Mapping::boston()), Ok(None));
    }
}
