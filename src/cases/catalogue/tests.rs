//! Unit tests of category validation and the catalogue CSV format.

use super::{
    CategoryCode, CategoryDraft, CategoryKind,
    csv::{parse_catalogue, write_catalogue},
};
use crate::cases::calendar::TimeUnit;

const DEFAULT_CSV: &str = include_str!("../../../data/catalogue/default.csv");

/// Returns the shipped file's header and first row, to build bad files from.
fn header_and_first_row() -> (String, String) {
    let mut lines = DEFAULT_CSV.lines().filter(|line| !line.starts_with('#'));
    (lines.next().unwrap().to_owned(), lines.next().unwrap().to_owned())
}

/// `(line, column, code)` of every error in `input`.
fn import_errors(input: &str) -> Vec<(u64, String, &'static str)> {
    let errors = parse_catalogue(input.as_bytes()).unwrap_err().0;
    errors.iter().map(|e| (e.line, e.column.clone().unwrap_or_default(), e.message.code)).collect()
}

#[test]
fn default_catalogue_parses_with_required_categories() {
    let categories = parse_catalogue(DEFAULT_CSV.as_bytes()).unwrap();
    assert!(categories.len() >= 30, "{}", categories.len());
    let find = |code: &str| categories.iter().find(|c| c.code.as_str() == code).unwrap();
    let garbage = find("E0101");
    assert_eq!(garbage.name_zh, "暴露垃圾");
    assert_eq!(
        (garbage.handling_limit.amount, garbage.handling_limit.unit),
        (4, TimeUnit::WorkingHours)
    );
    let construction = find("E0104");
    assert_eq!(construction.name_zh, "私搭乱建");
    assert_eq!(
        (construction.handling_limit.amount, construction.handling_limit.unit),
        (20, TimeUnit::WorkingDays)
    );
    assert_eq!(find("C0101").code.kind(), CategoryKind::Component);
}

#[test]
fn csv_export_imports_unchanged() {
    let categories = parse_catalogue(DEFAULT_CSV.as_bytes()).unwrap();
    let mut exported = Vec::new();
    write_catalogue(&categories, &mut exported).unwrap();
    let reimported = parse_catalogue(exported.as_slice()).unwrap();
    assert_eq!(reimported, categories);
}

#[test]
fn csv_reports_bad_cells_with_line_and_column() {
    let (header, row) = header_and_first_row();
    let unknown_unit = row.replacen(",working_hours,", ",hours,", 1);
    let negative_limit =
        row.replacen("C0101", "C0198", 1).replacen(",1,working_hours,", ",-2,working_hours,", 1);
    let not_a_number = row.replacen("C0101", "C0199", 1).replacen(",100", ",wide", 1);
    let input = format!("{header}\n{unknown_unit}\n{negative_limit}\n{not_a_number}\n{row}\n");
    assert_eq!(
        import_errors(&input),
        vec![
            (2, "dispatch_unit".to_owned(), "invalid_time_unit"),
            (3, "dispatch_limit".to_owned(), "invalid_time_limit"),
            (4, "duplicate_radius_m".to_owned(), "invalid_integer"),
            (5, "code".to_owned(), "duplicate_category_code"),
        ]
    );
}

#[test]
fn csv_without_unit_column_is_rejected() {
    let (header, row) = header_and_first_row();
    let header = header.replace(",handling_unit", ",handling_unit_typo");
    assert_eq!(
        import_errors(&format!("{header}\n{row}\n")),
        vec![(1, String::new(), "missing_column")]
    );
}

#[test]
fn csv_rejects_two_names_for_one_major() {
    let (header, row) = header_and_first_row();
    let renamed = row.replacen("C0101", "C0190", 1).replacen("公用设施", "公共设施", 1);
    assert_eq!(
        import_errors(&format!("{header}\n{row}\n{renamed}\n")),
        vec![(3, "major_name_zh".to_owned(), "conflicting_major_name")]
    );
}

#[test]
fn csv_without_duplicate_columns_uses_defaults() {
    let (header, row) = header_and_first_row();
    let header = header.replace(",duplicate_radius_m,duplicate_window_hours", "");
    let row = row.rsplitn(3, ',').last().unwrap();
    let categories = parse_catalogue(format!("{header}\n{row}\n").as_bytes()).unwrap();
    assert_eq!(categories[0].duplicate_radius_m, 250);
    assert_eq!(categories[0].duplicate_window_hours, 72);
}

#[test]
fn csv_window_column_is_read_and_checked() {
    let (header, row) = header_and_first_row();
    let row = row.rsplit_once(',').unwrap().0;
    let categories = parse_catalogue(format!("{header}\n{row},24\n").as_bytes()).unwrap();
    assert_eq!(categories[0].duplicate_window_hours, 24);

    let empty = parse_catalogue(format!("{header}\n{row},\n").as_bytes()).unwrap();
    assert_eq!(empty[0].duplicate_window_hours, 72, "empty cell takes the default");

    let errors = import_errors(&format!("{header}\n{row},soon\n"));
    assert_eq!(errors, vec![(2, "duplicate_window_hours".to_owned(), "invalid_integer")]);
}

#[test]
fn category_code_accepts_kind_letter_and_digits() {
    for (text, expected) in [
        ("E0101", Some("E0101")),
        ("c0203", Some("C0203")),
        ("X0101", None),
        ("E0001", None),
        ("E0100", None),
        ("E101", None),
        ("E01011", None),
        ("E01A1", None),
    ] {
        let parsed = CategoryCode::parse(text);
        assert_eq!(parsed.as_ref().map(CategoryCode::as_str), expected, "code {text}");
    }
}

#[test]
fn draft_reports_every_invalid_field() {
    let draft = CategoryDraft {
        code: "E0101".into(),
        major_name_zh: "市容环境".into(),
        major_name_en: "Street appearance".into(),
        name_zh: " ".into(),
        name_en: "Exposed garbage".into(),
        department_code: "环卫".into(),
        department_name: "环境卫生服务所".into(),
        filing_criteria: "x".repeat(2001),
        closing_criteria: "清理完毕".into(),
        dispatch_limit: 0,
        dispatch_unit: "working_hours".into(),
        handling_limit: 4,
        handling_unit: "minutes".into(),
        verification_limit: 1,
        verification_unit: "working_days".into(),
        duplicate_radius_m: Some(0),
        duplicate_window_hours: Some(721),
    };
    let errors = draft.parse().unwrap_err();
    let found: Vec<_> =
        errors.iter().map(|e| (e.code, e.field.clone().unwrap_or_default())).collect();
    assert_eq!(
        found,
        vec![
            ("missing_value", "name_zh".to_owned()),
            ("text_too_long", "filing_criteria".to_owned()),
            ("invalid_department_code", "department_code".to_owned()),
            ("invalid_time_limit", "dispatch_limit".to_owned()),
            ("invalid_time_unit", "handling_unit".to_owned()),
            ("invalid_radius", "duplicate_radius_m".to_owned()),
            ("dup_invalid_window", "duplicate_window_hours".to_owned()),
        ]
    );
}

#[test]
fn json_body_missing_fields_names_them() {
    let draft: CategoryDraft =
        serde_json::from_str(r#"{"name_zh": "暴露垃圾", "handling_limit": 4}"#).unwrap();
    let errors = draft.parse().unwrap_err();
    let fields: Vec<_> = errors.iter().filter_map(|e| e.field.clone()).collect();
    assert!(fields.contains(&"name_en".to_owned()), "{fields:?}");
    assert!(fields.contains(&"handling_unit".to_owned()), "{fields:?}");
    assert!(fields.contains(&"dispatch_limit".to_owned()), "{fields:?}");
    assert!(!fields.contains(&"name_zh".to_owned()), "{fields:?}");
}
