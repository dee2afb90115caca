//! CSV import and export of routing rules.
//!
//! One row per rule with a header naming these columns (any order; extra columns are
//! ignored; lines starting with `#` are comments):
//!
//! | column | content |
//! |---|---|
//! | `basis` | `owner` (权属) or `territory` (属地) |
//! | `area_code` | code of a street, community or grid |
//! | `category` | minor category `E0101`, major category `E01`, or empty for every category |
//! | `department_code` | a department of the catalogue |
//!
//! Export writes the same columns in this order, so its output imports unchanged.

use std::io::{Read, Write};

use super::{RoutingRule, service::RuleChecker, service::RuleDraft};
use crate::cases::row_error::{ImportErrors, RowError, column_indexes};

/// The columns in export order; all are required on import.
pub const COLUMNS: [&str; 4] = ["basis", "area_code", "category", "department_code"];

/// Parses and validates a rules file against `checker`.
///
/// # Errors
/// Every problem of the file, each with its line and column: a missing column, an
/// unreadable line, an invalid value or a rule given twice.
pub(super) fn parse_rules(
    input: impl Read,
    checker: &mut RuleChecker<'_>,
) -> Result<Vec<RoutingRule>, ImportErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|error| ImportErrors(vec![RowError::unreadable(1, &error)]))?
        .clone();
    let indexes = column_indexes(&headers, &COLUMNS)?;

    let mut rules = Vec::new();
    let mut errors = Vec::new();
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
        let cell = |column: usize| record.get(indexes[column]).unwrap_or_default().to_owned();
        let category = cell(2);
        let draft = RuleDraft {
            basis: cell(0),
            area_code: cell(1),
            category: (!category.is_empty()).then_some(category),
            department_code: cell(3),
        };
        match checker.check(&draft, line) {
            Ok(rule) => rules.push(rule),
            Err(messages) => errors.extend(messages.into_iter().map(|message| {
                let column = message.field.clone().unwrap_or_default();
                RowError::new(line, &column, message)
            })),
        }
    }
    if errors.is_empty() { Ok(rules) } else { Err(ImportErrors(errors)) }
}

/// Writes `rules` as CSV with a header, in the order given.
///
/// # Errors
/// Fails when `output` fails.
pub fn write_rules(rules: &[RoutingRule], output: impl Write) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(output);
    writer.write_record(COLUMNS)?;
    for rule in rules {
        let draft = RuleDraft::from(rule);
        writer.write_record([
            draft.basis.as_str(),
            draft.area_code.as_str(),
            draft.category.as_deref().unwrap_or_default(),
            draft.department_code.as_str(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}
