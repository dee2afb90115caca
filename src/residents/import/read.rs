//! Reading an uploaded file into rows of text: `.xlsx` through calamine, `.csv` in
//! UTF-8 (with or without BOM) or GB18030.
//!
//! Which sheet: the one named in the request, else the one named like the template's
//! (`居民` or `Residents`), else the first. The header row is the first of the top 10
//! rows with at least 3 recognised headers, so a title row above it is allowed. Row numbers are the ones the spreadsheet shows.

use std::{collections::HashMap, io::Cursor};

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde::Serialize;

use super::{MAX_ROWS, columns};
use crate::http::UserMessage;

/// Names of the template's data sheet, in each language.
pub const TEMPLATE_SHEETS: [&str; 2] = ["居民", "Residents"];
/// Rows searched for the header row from the top of the sheet.
const HEADER_SEARCH_ROWS: usize = 10;
/// Recognised headers a row needs to count as the header row: more than any title has.
const MIN_HEADER_CELLS: usize = 3;
/// Excel keeps numbers as 64-bit floats, exact to 15 digits; an 18-digit identity
/// number typed into a number cell has already lost its last digits.
const EXACT_DIGITS_LIMIT: f64 = 1e15;

/// The kind of file, decided by its content first and its name second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Csv,
}

/// One data row: its number as the spreadsheet shows it and its cells as text.
#[derive(Debug, Clone)]
pub struct SheetRow {
    pub number: u32,
    pub cells: Vec<String>,
    /// Columns whose cell held a number of 16 or more digits, which Excel cannot store exactly.
    pub inexact: Vec<usize>,
}

/// The data of a file, ready for the column map.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub format: Format,
    /// `utf-8` or `gb18030` for a CSV file.
    pub encoding: Option<&'static str>,
    /// The sheet read from a workbook, and the others it ignored.
    pub name: Option<String>,
    pub other_sheets: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<SheetRow>,
}

fn file_error(code: &'static str) -> UserMessage {
    UserMessage::new(code).field("file")
}

/// Reads `bytes` as a workbook or CSV file.
///
/// # Errors
/// A message with field `file` for an empty file, an old `.xls` or renamed file, an
/// unknown sheet, merged cells below the header, a missing header row, no data rows
/// or more than [`MAX_ROWS`] rows.
pub fn read_sheet(
    file_name: &str,
    bytes: &[u8],
    requested_sheet: Option<&str>,
    mapping: &HashMap<String, String>,
) -> Result<Sheet, UserMessage> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(file_error("resident_import_file_empty").arg("file", file_name));
    }
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    let mut sheet = match (bytes, extension.as_deref()) {
        ([b'P', b'K', 3, 4, ..], _) => read_xlsx(file_name, bytes, requested_sheet, mapping)?,
        ([0xD0, 0xCF, 0x11, 0xE0, ..], _) => {
            return Err(file_error("resident_import_file_xls").arg("file", file_name));
        }
        (_, Some("xlsx" | "xlsm")) => {
            return Err(file_error("resident_import_file_not_xlsx").arg("file", file_name));
        }
        (_, None | Some("csv" | "txt")) => read_csv(file_name, bytes, mapping)?,
        (_, Some(other)) => {
            return Err(file_error("resident_import_file_format").arg("extension", other));
        }
    };
    sheet.rows.retain(|row| row.cells.iter().any(|cell| !cell.trim().is_empty()));
    if sheet.rows.is_empty() {
        return Err(file_error("resident_import_no_rows").arg("file", file_name));
    }
    if sheet.rows.len() > MAX_ROWS {
        let message = file_error("resident_import_too_many_rows");
        return Err(message.arg("rows", sheet.rows.len()).arg("max", MAX_ROWS));
    }
    Ok(sheet)
}

fn read_xlsx(
    file_name: &str,
    bytes: &[u8],
    requested_sheet: Option<&str>,
    mapping: &HashMap<String, String>,
) -> Result<Sheet, UserMessage> {
    // NOTE: calamine inflates the whole sheet in memory, and the upload cap bounds only
    // the compressed size, so a crafted zip could still claim a lot of memory.
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|_| file_error("resident_import_file_not_xlsx").arg("file", file_name))?;
    let names = workbook.sheet_names();
    let chosen = match requested_sheet.map(str::trim).filter(|name| !name.is_empty()) {
        Some(wanted) => {
            names.iter().find(|name| name.as_str() == wanted).cloned().ok_or_else(|| {
                file_error("resident_import_sheet_unknown")
                    .arg("sheet", wanted)
                    .arg("sheets", names.join(", "))
            })?
        }
        None => names
            .iter()
            .find(|name| TEMPLATE_SHEETS.contains(&name.as_str()))
            .or(names.first())
            .cloned()
            .ok_or_else(|| file_error("resident_import_file_not_xlsx").arg("file", file_name))?,
    };
    let other_sheets: Vec<String> = names.iter().filter(|n| **n != chosen).cloned().collect();
    let unreadable = |_| file_error("resident_import_file_not_xlsx").arg("file", file_name);
    let range = workbook.worksheet_range(&chosen).map_err(unreadable)?;
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::with_capacity(range.height());
    for (offset, cells) in range.rows().enumerate() {
        let number = first_row + offset as u32 + 1;
        // Pads the columns left of the used range, so positions are the sheet's own.
        let mut row = SheetRow {
            number,
            cells: vec![String::new(); first_column as usize],
            inexact: Vec::new(),
        };
        for cell in cells {
            if matches!(cell, Data::Float(value) if value.abs() >= EXACT_DIGITS_LIMIT) {
                row.inexact.push(row.cells.len());
            }
            row.cells.push(cell_text(cell));
        }
        rows.push(row);
    }
    let mut sheet = split_header(rows, mapping).ok_or_else(|| {
        file_error("resident_import_sheet_header_missing")
            .arg("rows", HEADER_SEARCH_ROWS)
            .arg("sheet", &chosen)
            .arg("sheets", names.join(", "))
    })?;
    let header_row = sheet.header_row;
    let merged = workbook.merge_cells_by_sheet_name(&chosen).map_err(unreadable)?;
    // Rows above the header may hold a merged title; below it every cell must be its own.
    if let Some(region) = merged.iter().find(|region| region.end.0 + 1 >= header_row) {
        let (start, end) = (region.start, region.end);
        let cells = format!(
            "{}{}:{}{}",
            columns::column_letter(start.1 as usize),
            start.0 + 1,
            columns::column_letter(end.1 as usize),
            end.0 + 1
        );
        return Err(file_error("resident_import_merged_cells")
            .arg("cells", cells)
            .arg("sheet", &chosen));
    }
    sheet.sheet.format = Format::Xlsx;
    sheet.sheet.name = Some(chosen);
    sheet.sheet.other_sheets = other_sheets;
    Ok(sheet.sheet)
}

/// Turns a cell into the text a user typed: whole numbers without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e18 => {
            format!("{}", *value as i64)
        }
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn read_csv(
    file_name: &str,
    bytes: &[u8],
    mapping: &HashMap<String, String>,
) -> Result<Sheet, UserMessage> {
    let (text, encoding) = decode_text(bytes)
        .ok_or_else(|| file_error("resident_import_csv_encoding").arg("file", file_name))?;
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(index as u64 + 1, |p| p.line());
            file_error("resident_import_csv_invalid").arg("line", line)
        })?;
        // The reader skips blank lines, which a spreadsheet still shows as rows.
        let number = record.position().map_or(index as u64 + 1, |p| p.line()) as u32;
        let cells = record.iter().map(str::to_owned).collect();
        rows.push(SheetRow { number, cells, inexact: Vec::new() });
    }
    let mut split = split_header(rows, mapping).ok_or_else(|| {
        file_error("resident_import_header_missing").arg("rows", HEADER_SEARCH_ROWS)
    })?;
    split.sheet.encoding = Some(encoding);
    Ok(split.sheet)
}

/// Decodes CSV bytes: UTF-8 with or without BOM, else GB18030, the encoding of Chinese
/// Excel's "CSV" export. `None` when neither decodes cleanly.
fn decode_text(bytes: &[u8]) -> Option<(String, &'static str)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some((text.to_owned(), "utf-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    (!had_errors).then(|| (text.into_owned(), "gb18030"))
}

struct SplitSheet {
    sheet: Sheet,
    /// Zero-based row index of the header in the sheet.
    header_row: u32,
}

/// Splits the rows at the header row; `None` when no row of the top ones reads like it.
fn split_header(mut rows: Vec<SheetRow>, mapping: &HashMap<String, String>) -> Option<SplitSheet> {
    // A short explicit mapping may be all that names the header row's cells.
    let needed =
        if mapping.is_empty() { MIN_HEADER_CELLS } else { MIN_HEADER_CELLS.min(mapping.len()) };
    let header_at = rows.iter().take(HEADER_SEARCH_ROWS).position(|row| {
        row.cells.iter().filter(|c| columns::is_header_like(c, mapping)).count() >= needed
    })?;
    let data = rows.split_off(header_at + 1);
    let header = rows.pop().unwrap_or_else(|| SheetRow {
        number: 1,
        cells: Vec::new(),
        inexact: Vec::new(),
    });
    let sheet = Sheet {
        format: Format::Csv,
        encoding: None,
        name: None,
        other_sheets: Vec::new(),
        headers: header.cells,
        rows: data,
    };
    Some(SplitSheet { sheet, header_row: header.number - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_mapping() -> HashMap<String, String> {
        HashMap::new()
    }

    #[test]
    fn csv_in_gb18030_and_with_bom_reads_the_same() {
        let text = "地址,网格,姓名,公民身份号码,与户主关系\n春望里1号,110105001001001,王秀英,11010519491231002X,户主\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let gb_sheet = read_sheet("名册.csv", &gb, None, &no_mapping()).unwrap();
        assert_eq!(gb_sheet.encoding, Some("gb18030"));
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let utf_sheet = read_sheet("roster.csv", &with_bom, None, &no_mapping()).unwrap();
        assert_eq!(utf_sheet.encoding, Some("utf-8"));
        assert_eq!(gb_sheet.headers, utf_sheet.headers);
        assert_eq!(gb_sheet.rows[0].cells, utf_sheet.rows[0].cells);
        assert_eq!(utf_sheet.rows[0].number, 2, "the header is row 1");
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let text = "花家地社区居民花名册,,,,\n\n地址,网格,姓名,公民身份号码,与户主关系\n春望里1号,A1,王秀英,11010519491231002X,户主\n";
        let sheet = read_sheet("roster.csv", text.as_bytes(), None, &no_mapping()).unwrap();
        assert_eq!(sheet.headers[0], "地址");
        assert_eq!(sheet.rows[0].number, 4);
    }

    #[test]
    fn bad_files_are_named() {
        let cases: [(&str, &[u8], &str); 5] = [
            ("empty", b"", "resident_import_file_empty"),
            ("renamed text", b"not a workbook", "resident_import_file_not_xlsx"),
            ("old xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "resident_import_file_xls"),
            ("no header", b"a,b,c\n1,2,3\n", "resident_import_header_missing"),
            ("header only", "姓名,地址,网格\n".as_bytes(), "resident_import_no_rows"),
        ];
        for (description, bytes, code) in cases {
            let name = if description == "renamed text" { "x.xlsx" } else { "x.csv" };
            let name = if description == "old xls" { "x.xls" } else { name };
            let error = read_sheet(name, bytes, None, &no_mapping()).expect_err(description);
            assert_eq!(error.code, code, "{description}");
            assert_eq!(error.field.as_deref(), Some("file"), "{description}");
        }
    }
}
