//! Per-row error reports for the all-or-nothing CSV imports of this context.

use std::fmt;

use crate::{http::UserMessage, i18n::Locale};

/// One problem in an imported file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// 1-based line number in the file, counting the header and comment lines, so that
    /// it matches what an editor shows.
    pub line: u64,
    /// The column header, or `None` when the whole line is unreadable.
    pub column: Option<String>,
    pub message: UserMessage,
}

impl RowError {
    pub fn new(line: u64, column: &str, message: UserMessage) -> RowError {
        RowError { line, column: Some(column.to_owned()), message: message.field(column) }
    }

    pub fn whole_line(line: u64, message: UserMessage) -> RowError {
        RowError { line, column: None, message }
    }

    /// Builds the error for a line the CSV reader cannot split into fields, such as
    /// one with an unclosed quote.
    pub fn unreadable(line: u64, error: &csv::Error) -> RowError {
        RowError::whole_line(line, UserMessage::new("unreadable_csv").arg("reason", error))
    }
}

/// Every problem found in one file; nothing was written when this is returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportErrors(pub Vec<RowError>);

impl ImportErrors {
    /// Renders one line per problem in `locale`, such as
    /// `line 3, column handling_unit: …`.
    pub fn render(&self, locale: Locale) -> String {
        let mut text = String::new();
        for error in &self.0 {
            let position = match &error.column {
                Some(column) => locale.t_args(
                    "import-position-column",
                    &[
                        ("line", crate::i18n::arg(error.line.to_string())),
                        ("column", crate::i18n::arg(column.clone())),
                    ],
                ),
                None => locale.t_args(
                    "import-position-line",
                    &[("line", crate::i18n::arg(error.line.to_string()))],
                ),
            };
            text.push_str(&format!("{position}: {}\n", error.message.render(locale)));
        }
        text
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} errors in the file; nothing was imported", self.0.len())
    }
}

impl std::error::Error for ImportErrors {}

/// Reads a CSV header and returns the index of each required column, in order.
///
/// # Errors
/// One `missing_column` error per absent column, on the header's line.
pub fn column_indexes(
    headers: &csv::StringRecord,
    required: &[&str],
) -> Result<Vec<usize>, ImportErrors> {
    let mut indexes = Vec::with_capacity(required.len());
    let mut missing = Vec::new();
    for column in required {
        match headers.iter().position(|header| header.trim() == *column) {
            Some(index) => indexes.push(index),
            None => missing.push(RowError::whole_line(
                headers.position().map_or(1, csv::Position::line),
                UserMessage::new("missing_column").arg("column", column).field(*column),
            )),
        }
    }
    if missing.is_empty() { Ok(indexes) } else { Err(ImportErrors(missing)) }
}
