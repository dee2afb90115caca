//! CSV import and export of the catalogue.
//!
//! One row per minor category with a header naming these columns (any order; extra
//! columns are ignored; lines starting with `#` are comments):
//!
//! | column | content |
//! |---|---|
//! | `code` | `C` (component, 部件) or `E` (event, 事件), 2-digit major, 2-digit minor: `E0101` |
//! | `major_name_zh`, `major_name_en` | the major category (大类) in Chinese and English |
//! | `name_zh`, `name_en` | the minor category (小类) in Chinese and English |
//! | `department_code`, `department_name` | default department: letters, digits, `-`, `_`; its name |
//! | `filing_criteria`, `closing_criteria` | 立案标准 and 结案标准 as free text |
//! | `dispatch_limit`, `dispatch_unit` | time to dispatch: a positive integer and `working_hours` or `working_days` |
//! | `handling_limit`, `handling_unit` | time to handle, the same way |
//! | `verification_limit`, `verification_unit` | time to verify, the same way |
//! | `duplicate_radius_m` | optional column: metres, 1–5000, empty for 250 |
//! | `duplicate_window_hours` | optional column: hours, 1–720, empty for 72 |
//!
//! Export writes the same columns in this order, so its output imports unchanged.

use std::{
    collections::HashMap,
    io::{Read, Write},
};

use super::{Category, CategoryCode, CategoryDraft};
use crate::{
    cases::row_error::{ImportErrors, RowError, column_indexes},
    http::UserMessage,
};

/// The columns in export order. Import requires every column but the last two.
pub const COLUMNS: [&str; 17] = [
    "code",
    "major_name_zh",
    "major_name_en",
    "name_zh",
    "name_en",
    "department_code",
    "department_name",
    "filing_criteria",
    "closing_criteria",
    "dispatch_limit",
    "dispatch_unit",
    "handling_limit",
    "handling_unit",
    "verification_limit",
    "verification_unit",
    "duplicate_radius_m",
    "duplicate_window_hours",
];

/// How many of [`COLUMNS`], at the end, a file may leave out.
const OPTIONAL_COLUMNS: usize = 2;

/// Parses and validates a catalogue file.
///
/// # Errors
/// Every problem of the file, each with its line and column: a missing column, an
/// unreadable line, an invalid value, a code used twice, or a major category or
/// department given two different names.
pub fn parse_catalogue(input: impl Read) -> Result<Vec<Category>, ImportErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|error| ImportErrors(vec![RowError::unreadable(1, &error)]))?
        .clone();
    let indexes = column_indexes(&headers, &COLUMNS[..COLUMNS.len() - OPTIONAL_COLUMNS])?;
    let optional = |name: &str| headers.iter().position(|header| header.trim() == name);
    let optional_indexes = [optional("duplicate_radius_m"), optional("duplicate_window_hours")];

    let mut categories = Vec::new();
    let mut errors = Vec::new();
    let mut groups = GroupCheck::default();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(RowError::unreadable(
                    error.position().map_or(0, csv::Position::line),
                    &error,
                ));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let (draft, mut found) = draft_from_record(&record, &indexes, optional_indexes, line);
        // Codes are checked for repeats even on invalid rows, so that one report
        // lists every problem.
        found.extend(groups.check_code(&draft.code, line));
        match draft.parse() {
            Ok(category) if found.is_empty() => {
                found.extend(groups.check_names(&category, line));
                categories.push(category);
            }
            Ok(_) => {}
            Err(messages) => {
                found.extend(messages.into_iter().map(|message| row_error(line, message)))
            }
        }
        errors.append(&mut found);
    }
    if errors.is_empty() { Ok(categories) } else { Err(ImportErrors(errors)) }
}

/// Writes `categories` as CSV with a header, in the order given.
///
/// # Errors
/// Fails when `output` fails.
pub fn write_catalogue(categories: &[Category], output: impl Write) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(output);
    writer.write_record(COLUMNS)?;
    for category in categories {
        writer.serialize(CategoryDraft::from(category))?;
    }
    writer.flush()?;
    Ok(())
}

/// Reads one record into a draft; integers that do not parse are reported here.
fn draft_from_record(
    record: &csv::StringRecord,
    indexes: &[usize],
    optional_indexes: [Option<usize>; OPTIONAL_COLUMNS],
    line: u64,
) -> (CategoryDraft, Vec<RowError>) {
    let cell = |column: usize| record.get(indexes[column]).unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    let mut integer = |column: usize| -> i64 {
        let text = cell(column);
        text.parse().unwrap_or_else(|_| {
            let message = UserMessage::new("invalid_integer").arg("value", &text);
            errors.push(RowError::new(line, COLUMNS[column], message));
            // A valid placeholder, so that validation does not report the cell twice;
            // the row is rejected by the error above.
            1
        })
    };
    let dispatch_limit = integer(9);
    let handling_limit = integer(11);
    let verification_limit = integer(13);
    let mut optional_integer = |position: usize| -> Option<i64> {
        let text = optional_indexes[position].and_then(|index| record.get(index))?;
        if text.is_empty() {
            return None;
        }
        let parsed = text.parse::<i64>().ok();
        if parsed.is_none() {
            let message = UserMessage::new("invalid_integer").arg("value", text);
            let column = COLUMNS[COLUMNS.len() - OPTIONAL_COLUMNS + position];
            errors.push(RowError::new(line, column, message));
        }
        parsed
    };
    let duplicate_radius_m = optional_integer(0);
    let duplicate_window_hours = optional_integer(1);
    let draft = CategoryDraft {
        code: cell(0),
        major_name_zh: cell(1),
        major_name_en: cell(2),
        name_zh: cell(3),
        name_en: cell(4),
        department_code: cell(5),
        department_name: cell(6),
        filing_criteria: cell(7),
        closing_criteria: cell(8),
        dispatch_limit,
        dispatch_unit: cell(10),
        handling_limit,
        handling_unit: cell(12),
        verification_limit,
        verification_unit: cell(14),
        duplicate_radius_m,
        duplicate_window_hours,
    };
    (draft, errors)
}

/// Checks across rows: unique codes, one name per major category and per department.
#[derive(Default)]
struct GroupCheck {
    code_lines: HashMap<CategoryCode, u64>,
    major_names: HashMap<(char, String), (String, String, u64)>,
    department_names: HashMap<String, (String, u64)>,
}

impl GroupCheck {
    fn check_code(&mut self, code: &str, line: u64) -> Option<RowError> {
        let code = CategoryCode::parse(code)?;
        let first = *self.code_lines.entry(code.clone()).or_insert(line);
        if first == line {
            return None;
        }
        let message = UserMessage::new("duplicate_category_code")
            .arg("value", code.as_str())
            .arg("first_line", first);
        Some(RowError::new(line, "code", message))
    }

    fn check_names(&mut self, category: &Category, line: u64) -> Vec<RowError> {
        let mut errors = Vec::new();
        let major = &category.major;
        let key = (major.kind.code_letter(), major.major_code.clone());
        let names = (major.name_zh.clone(), major.name_en.clone(), line);
        let first = self.major_names.entry(key).or_insert(names);
        if (&first.0, &first.1) != (&major.name_zh, &major.name_en) {
            let message = UserMessage::new("conflicting_major_name")
                .arg("major", &major.major_code)
                .arg("first_line", first.2);
            errors.push(RowError::new(line, "major_name_zh", message));
        }
        let department = &category.department;
        let first = self
            .department_names
            .entry(department.department_code.clone())
            .or_insert((department.name.clone(), line));
        if first.0 != department.name {
            let message = UserMessage::new("conflicting_department_name")
                .arg("department", &department.department_code)
                .arg("first_line", first.1);
            errors.push(RowError::new(line, "department_name", message));
        }
        errors
    }
}

fn row_error(line: u64, message: UserMessage) -> RowError {
    match message.field.clone() {
        Some(field) => RowError { line, column: Some(field), message },
        None => RowError::whole_line(line, message),
    }
}
