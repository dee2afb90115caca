//! CSV import of holidays and make-up working days.
//!
//! Format: a header `date,kind,name` (extra columns are ignored), then one row per
//! date: `date` as `YYYY-MM-DD`, `kind` as `holiday` or `workday`, and a non-empty
//! `name`. Lines starting with `#` are comments. A file is all or nothing: any invalid
//! row rejects the whole file with one error per problem.

use std::{collections::HashMap, io::Read};

use chrono::NaiveDate;

use super::{DayKind, SpecialDay};
use crate::{
    cases::row_error::{ImportErrors, RowError, column_indexes},
    http::UserMessage,
};

/// The columns of a calendar file, in the order export writes them.
pub const COLUMNS: [&str; 3] = ["date", "kind", "name"];

/// The 2025 and 2026 mainland China schedules shipped with the binary.
pub const DEFAULT_FILES: [(&str, &str); 2] = [
    ("cn-2025.csv", include_str!("../../../data/calendar/cn-2025.csv")),
    ("cn-2026.csv", include_str!("../../../data/calendar/cn-2026.csv")),
];

/// Parses a calendar CSV file.
///
/// # Errors
/// Every missing column, unreadable line, invalid value and repeated date, each with
/// its line and column.
pub fn parse_days(input: impl Read) -> Result<Vec<SpecialDay>, ImportErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|error| ImportErrors(vec![RowError::unreadable(1, &error)]))?
        .clone();
    let [date_index, kind_index, name_index] = column_indexes(&headers, &COLUMNS)?[..] else {
        unreachable!("column_indexes returns one index per column");
    };

    let mut days = Vec::new();
    let mut errors = Vec::new();
    let mut first_line_of: HashMap<NaiveDate, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                errors.push(RowError::unreadable(line, &error));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |index: usize| record.get(index).unwrap_or_default();
        let date = NaiveDate::parse_from_str(cell(date_index), "%Y-%m-%d").map_err(|_| {
            RowError::new(
                line,
                "date",
                UserMessage::new("invalid_date").arg("value", cell(date_index)),
            )
        });
        let kind = DayKind::parse(cell(kind_index)).ok_or_else(|| {
            RowError::new(
                line,
                "kind",
                UserMessage::new("invalid_day_kind").arg("value", cell(kind_index)),
            )
        });
        let name = Some(cell(name_index).to_owned())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| RowError::new(line, "name", UserMessage::new("missing_value")));
        match (date, kind, name) {
            (Ok(date), Ok(kind), Ok(name)) => {
                if let Some(first) = first_line_of.insert(date, line) {
                    let message = UserMessage::new("duplicate_date")
                        .arg("value", date)
                        .arg("first_line", first);
                    errors.push(RowError::new(line, "date", message));
                }
                days.push(SpecialDay { date, kind, name });
            }
            (date, kind, name) => {
                errors.extend(date.err());
                errors.extend(kind.err());
                errors.extend(name.err());
            }
        }
    }
    if errors.is_empty() { Ok(days) } else { Err(ImportErrors(errors)) }
}

/// Parses the calendar files shipped with the binary.
///
/// # Panics
/// Panics when a shipped file is invalid, which the unit tests rule out.
pub fn default_days() -> Vec<SpecialDay> {
    DEFAULT_FILES
        .iter()
        .flat_map(|(name, text)| {
            parse_days(text.as_bytes()).unwrap_or_else(|errors| panic!("{name}: {errors:?}"))
        })
        .collect()
}
