//! CSV import and export of the gazetteer.
//!
//! One row per place with a header naming these columns (any order; extra columns are
//! ignored; lines starting with `#` are comments):
//!
//! | column | content |
//! |---|---|
//! | `name` | the official name, unique in the file, at most 100 characters |
//! | `aliases` | other names separated by `|`, `;` or `、`; may be empty |
//! | `kind` | `residential` 小区, `building` 楼栋, `road` 道路, `landmark` 地标 or `door` 门牌 |
//! | `longitude`, `latitude` | decimal degrees in the file's system (WGS-84 unless `--crs` names another) |
//!
//! Export writes the same columns, so its output imports unchanged.

use std::{
    collections::HashMap,
    io::{Read, Write},
};

use super::{MAX_NAME_CHARS, Place, PlaceKind, store::ALIAS_SEPARATOR};
use crate::{
    areas::crs::Crs,
    cases::row_error::{ImportErrors, RowError, column_indexes},
    http::UserMessage,
};

/// The columns in export order; every one is required on import.
pub const COLUMNS: [&str; 5] = ["name", "aliases", "kind", "longitude", "latitude"];
/// Characters that separate aliases in a cell.
const ALIAS_SEPARATORS: [char; 4] = [ALIAS_SEPARATOR, ';', '；', '、'];

/// One valid row, its point still in the file's coordinate system.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRow {
    pub line: u64,
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: PlaceKind,
    pub longitude: f64,
    pub latitude: f64,
}

/// Parses and validates a gazetteer file.
///
/// # Errors
/// Every problem of the file, each with its line and column: a missing column, an
/// unreadable line, an empty or repeated name, an unknown kind or a bad coordinate.
pub fn parse_places(input: impl Read) -> Result<Vec<PlaceRow>, ImportErrors> {
    let mut reader = ::csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|error| ImportErrors(vec![RowError::unreadable(1, &error)]))?
        .clone();
    let indexes = column_indexes(&headers, &COLUMNS)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut first_lines: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, ::csv::Position::line);
                errors.push(RowError::unreadable(line, &error));
                continue;
            }
        };
        let line = record.position().map_or(0, ::csv::Position::line);
        let cell = |column: usize| record.get(indexes[column]).unwrap_or_default();
        match parse_row(line, |column| cell(column)) {
            Ok(row) => {
                let first = *first_lines.entry(row.name.clone()).or_insert(line);
                if first == line {
                    rows.push(row);
                } else {
                    let message = UserMessage::new("place_name_repeated")
                        .arg("value", &row.name)
                        .arg("first_line", first);
                    errors.push(RowError::new(line, "name", message));
                }
            }
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(ImportErrors(errors)) }
}

/// Checks one row, where `cell(i)` returns the text of column `COLUMNS[i]`.
fn parse_row<'a>(line: u64, cell: impl Fn(usize) -> &'a str) -> Result<PlaceRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let name = cell(0);
    if name.is_empty() {
        errors.push(RowError::new(line, "name", UserMessage::new("place_name_missing")));
    } else if name.chars().count() > MAX_NAME_CHARS {
        let message = UserMessage::new("place_name_too_long").arg("max", MAX_NAME_CHARS);
        errors.push(RowError::new(line, "name", message));
    }
    let aliases: Vec<String> = cell(1)
        .split(ALIAS_SEPARATORS)
        .map(str::trim)
        .filter(|alias| !alias.is_empty() && *alias != name)
        .map(str::to_owned)
        .collect();
    let kind = PlaceKind::parse(cell(2));
    if kind.is_none() {
        let message = UserMessage::new("place_kind_unknown").arg("value", cell(2));
        errors.push(RowError::new(line, "kind", message));
    }
    let mut coordinate = |column: usize, limit: f64| {
        let text = cell(column);
        let value = text.parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= limit);
        if value.is_none() {
            let message =
                UserMessage::new("place_coordinate_invalid").arg("value", text).arg("limit", limit);
            errors.push(RowError::new(line, COLUMNS[column], message));
        }
        value.unwrap_or_default()
    };
    let longitude = coordinate(3, 180.0);
    let latitude = coordinate(4, 90.0);
    match kind {
        Some(kind) if errors.is_empty() => {
            Ok(PlaceRow { line, name: name.to_owned(), aliases, kind, longitude, latitude })
        }
        _ => Err(errors),
    }
}

/// Writes `places` as CSV with a header, their points converted to `crs`.
///
/// # Errors
/// Fails when `output` fails.
pub fn write_places(places: &[Place], crs: Crs, output: impl Write) -> Result<(), ::csv::Error> {
    let mut writer = ::csv::Writer::from_writer(output);
    writer.write_record(COLUMNS)?;
    for place in places {
        let (longitude, latitude) = crs.from_wgs84(place.longitude, place.latitude);
        writer.write_record([
            place.name.as_str(),
            &place.aliases.join(&ALIAS_SEPARATOR.to_string()),
            place.kind.as_str(),
            &format!("{longitude:.7}"),
            &format!("{latitude:.7}"),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_file_parses_with_aliases_and_chinese_kinds() {
        let file = "name,aliases,kind,longitude,latitude\n\
                    # a comment line\n\
                    春望里,春望小区、老春望,小区,116.455,39.984\n\
                    春望里3号楼,,building,116.456,39.985\n";
        let rows = parse_places(file.as_bytes()).expect("valid file");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].aliases, vec!["春望小区", "老春望"]);
        assert_eq!(rows[0].kind, PlaceKind::Residential);
        assert_eq!(rows[1].line, 4, "lines count the header and comments");
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let file = "name,aliases,kind,longitude,latitude\n\
                    ,,building,116.4,39.9\n\
                    甲,,castle,116.4,39.9\n\
                    乙,,road,east,95\n\
                    乙,,road,116.4,39.9\n\
                    乙,,road,116.4,39.9\n";
        let errors = parse_places(file.as_bytes()).unwrap_err().0;
        let found: Vec<(u64, Option<&str>, &str)> = errors
            .iter()
            .map(|error| (error.line, error.column.as_deref(), error.message.code))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, Some("name"), "place_name_missing"),
                (3, Some("kind"), "place_kind_unknown"),
                (4, Some("longitude"), "place_coordinate_invalid"),
                (4, Some("latitude"), "place_coordinate_invalid"),
                (6, Some("name"), "place_name_repeated"),
            ]
        );
    }

    #[test]
    fn missing_column_is_reported_on_the_header() {
        let errors = parse_places("name,kind,longitude,latitude\n".as_bytes()).unwrap_err().0;
        assert_eq!(errors[0].message.code, "missing_column");
        assert_eq!(errors[0].column, None);
    }
}
