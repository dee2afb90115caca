//! The downloadable import template: the data sheet with the headers in the request's
//! language and one example row, as `.xlsx` or CSV.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{columns::Field, read::TEMPLATE_SHEETS, validate::EXAMPLE_IDENTITY};
use crate::i18n::Locale;

/// The example row, in template column order. Its identity number is the standard's
/// own example, and an import skips rows with it.
fn example_row(locale: Locale) -> [&'static str; 8] {
    match locale {
        Locale::ZhCn => [
            "春望里3号楼2单元101室",
            "110105001001001",
            "王秀英",
            EXAMPLE_IDENTITY,
            "户主",
            "13800138000",
            "wang.xiuying@example.com",
            "living_alone",
        ],
        Locale::En => [
            "Room 101, Unit 2, Building 3, Chunwangli",
            "110105001001001",
            "Wang Xiuying",
            EXAMPLE_IDENTITY,
            "head",
            "13800138000",
            "wang.xiuying@example.com",
            "living_alone",
        ],
    }
}

fn sheet_name(locale: Locale) -> &'static str {
    match locale {
        Locale::ZhCn => TEMPLATE_SHEETS[0],
        Locale::En => TEMPLATE_SHEETS[1],
    }
}

/// Builds the `.xlsx` template.
///
/// # Errors
/// When the workbook cannot be written, which only a bug in the writer causes.
pub fn template_xlsx(locale: Locale) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name(locale))?;
    let bold = Format::new().set_bold();
    // Text columns keep all 18 digits of an identity number typed in Excel, which
    // would otherwise store it as a number exact to only 15 digits.
    let text = Format::new().set_num_format("@");
    for (column, field) in Field::ALL.into_iter().enumerate() {
        let column = column as u16;
        sheet.write_string_with_format(0, column, field.header(locale), &bold)?;
        sheet.set_column_width(column, 22)?;
    }
    for (column, field) in Field::ALL.into_iter().enumerate() {
        if matches!(field, Field::IdentityNumber | Field::Phone | Field::Grid) {
            sheet.set_column_format(column as u16, &text)?;
        }
    }
    for (column, value) in example_row(locale).into_iter().enumerate() {
        sheet.write_string_with_format(1, column as u16, value, &text)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// Builds the CSV template: UTF-8 with a byte-order mark, which Excel needs to show
/// Chinese text of a CSV file correctly.
///
/// # Errors
/// When the CSV writer fails, which writing to memory does not.
pub fn template_csv(locale: Locale) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(Field::ALL.map(|field| field.header(locale)))?;
    writer.write_record(example_row(locale))?;
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::residents::import::read::read_sheet;

    #[test]
    fn templates_read_back_with_their_example_row() {
        for locale in Locale::ALL {
            let xlsx = template_xlsx(locale).unwrap();
            let sheet = read_sheet("template.xlsx", &xlsx, None, &HashMap::new()).unwrap();
            assert_eq!(sheet.name.as_deref(), Some(sheet_name(locale)), "{locale:?}");
            assert_eq!(sheet.rows.len(), 1, "{locale:?}: only the example row has values");
            assert_eq!(sheet.rows[0].cells[3], EXAMPLE_IDENTITY);
            let csv = template_csv(locale).unwrap();
            let sheet = read_sheet("template.csv", &csv, None, &HashMap::new()).unwrap();
            assert_eq!(sheet.headers[0], Field::Address.header(locale), "{locale:?}");
            assert_eq!(sheet.rows[0].number, 2);
        }
    }
}
