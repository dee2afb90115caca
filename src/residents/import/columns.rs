//! The columns of a resident sheet: which header texts name which field, the explicit
//! mapping a request may add, and the relation words a sheet may use.

use std::collections::HashMap;

use serde::Serialize;

use crate::http::UserMessage;
use crate::{i18n::Locale, residents::Relation};

/// A field of the registry that a column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Address,
    Grid,
    Name,
    IdentityNumber,
    Relation,
    Phone,
    Email,
    Tags,
}

impl Field {
    /// Fields in template order.
    pub const ALL: [Field; 8] = [
        Field::Address,
        Field::Grid,
        Field::Name,
        Field::IdentityNumber,
        Field::Relation,
        Field::Phone,
        Field::Email,
        Field::Tags,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Address => "address",
            Field::Grid => "grid",
            Field::Name => "name",
            Field::IdentityNumber => "identity_number",
            Field::Relation => "relation",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Tags => "tags",
        }
    }

    pub fn parse(text: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.as_str() == text.trim())
    }

    /// Reports whether a row without this value is a problem.
    pub fn is_required(self) -> bool {
        !matches!(self, Field::Phone | Field::Email | Field::Tags)
    }

    /// Returns the header the template uses in `locale`.
    pub fn header(self, locale: Locale) -> &'static str {
        match locale {
            Locale::ZhCn => self.chinese_headers()[0],
            Locale::En => self.english_headers()[0],
        }
    }

    /// Chinese headers recognised for this field, the template's first. Street offices'
    /// own rosters use the others.
    fn chinese_headers(self) -> &'static [&'static str] {
        match self {
            Field::Address => &["地址", "住址", "户地址", "家庭住址", "现住址"],
            Field::Grid => &["网格", "所属网格", "网格编码", "网格名称"],
            Field::Name => &["姓名"],
            Field::IdentityNumber => &["公民身份号码", "身份证号", "身份证号码", "证件号码"],
            Field::Relation => &["与户主关系", "关系"],
            Field::Phone => &["联系电话", "电话", "手机", "手机号", "手机号码"],
            Field::Email => &["电子邮箱", "邮箱", "电子邮件", "邮箱地址", "电子邮箱地址"],
            Field::Tags => &["标签", "人员类别"],
        }
    }

    fn english_headers(self) -> &'static [&'static str] {
        match self {
            Field::Address => &["Address"],
            Field::Grid => &["Grid", "Grid code"],
            Field::Name => &["Name"],
            Field::IdentityNumber => &["Identity number", "ID number", "identity_number"],
            Field::Relation => &["Relation", "Relation to head"],
            Field::Phone => &["Phone", "Telephone", "Mobile"],
            Field::Email => &["E-mail", "Email", "E-mail address", "Email address", "Mail"],
            Field::Tags => &["Tags"],
        }
    }

    /// Finds the field a header names, ignoring case, spaces and a trailing `*` or `（必填）`.
    fn recognise(header: &str) -> Option<Field> {
        let normalised = normalise_header(header);
        Field::ALL.into_iter().find(|field| {
            let names = field.chinese_headers().iter().chain(field.english_headers());
            names.into_iter().any(|name| normalise_header(name) == normalised)
        })
    }
}

/// Reports whether a cell reads like a header: a recognised name or a key of the
/// request's mapping. Used to find the header row below any title rows.
pub fn is_header_like(text: &str, mapping: &HashMap<String, String>) -> bool {
    Field::recognise(text).is_some() || mapping.contains_key(text.trim())
}

fn normalise_header(header: &str) -> String {
    let text = header.trim().trim_end_matches(['*', '＊']).trim();
    let text = text.trim_end_matches("（必填）").trim_end_matches("(必填)").trim();
    text.chars().filter(|c| !c.is_whitespace() && *c != '_').flat_map(char::to_lowercase).collect()
}

/// The position of each field's column in the sheet, and the header text of each, so
/// that problems name the column as the user sees it.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    positions: HashMap<Field, usize>,
    headers: Vec<String>,
    /// Headers that fill no field; the report lists them so a typo is noticed.
    pub ignored: Vec<String>,
}

impl ColumnMap {
    /// Maps the header row, an explicit `mapping` (header text to field name) first.
    ///
    /// # Errors
    /// A mapping naming an unknown field or a header the sheet lacks, two columns for
    /// one field, or a required field without a column.
    pub fn resolve(
        headers: &[String],
        mapping: &HashMap<String, String>,
    ) -> Result<ColumnMap, UserMessage> {
        let explicit = parse_mapping(headers, mapping)?;
        let mut positions = HashMap::new();
        let mut ignored = Vec::new();
        for (position, header) in headers.iter().enumerate() {
            let field = explicit.get(header.trim()).copied().or_else(|| Field::recognise(header));
            match field {
                Some(field) => {
                    if positions.insert(field, position).is_some() {
                        return Err(UserMessage::new("resident_import_column_twice")
                            .arg("field", field.as_str())
                            .arg("header", header.trim()));
                    }
                }
                None if header.trim().is_empty() => {}
                None => ignored.push(header.trim().to_owned()),
            }
        }
        let missing: Vec<&str> = Field::ALL
            .into_iter()
            .filter(|field| field.is_required() && !positions.contains_key(field))
            .map(Field::as_str)
            .collect();
        if !missing.is_empty() {
            let found: Vec<&str> =
                headers.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
            return Err(UserMessage::new("resident_import_columns_missing")
                .arg("missing", missing.join(", "))
                .arg("found", found.join(", ")));
        }
        Ok(ColumnMap { positions, headers: headers.to_vec(), ignored })
    }

    /// Returns the trimmed value of `field` in `row`, or `""` when the row or column lacks it.
    pub fn value<'a>(&self, row: &'a [String], field: Field) -> &'a str {
        let cell = self.positions.get(&field).and_then(|&position| row.get(position));
        cell.map(|value| value.trim()).unwrap_or_default()
    }

    /// Returns the column of `field` as the sheet shows it: letter and header, such as
    /// `D (公民身份号码)`.
    pub fn column_label(&self, field: Field) -> String {
        match self.positions.get(&field) {
            Some(&position) => {
                format!("{} ({})", column_letter(position), self.headers[position].trim())
            }
            None => field.as_str().to_owned(),
        }
    }

    pub fn position(&self, field: Field) -> Option<usize> {
        self.positions.get(&field).copied()
    }
}

fn parse_mapping(
    headers: &[String],
    mapping: &HashMap<String, String>,
) -> Result<HashMap<String, Field>, UserMessage> {
    let mut fields = HashMap::new();
    for (header, field_name) in mapping {
        let field = Field::parse(field_name).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.into_iter().map(Field::as_str).collect();
            UserMessage::new("resident_import_mapping_field")
                .arg("field", field_name)
                .arg("known", known.join(", "))
        })?;
        if !headers.iter().any(|h| h.trim() == header.trim()) {
            return Err(UserMessage::new("resident_import_mapping_header").arg("header", header));
        }
        fields.insert(header.trim().to_owned(), field);
    }
    Ok(fields)
}

/// Returns the spreadsheet letter of a zero-based column: 0 is `A`, 26 is `AA`.
pub fn column_letter(position: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = position + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + digit as u8));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Parses a relation to the head of the household as written in a roster: the
/// Chinese word, a common variant or the API's English code.
pub fn parse_relation(text: &str) -> Option<Relation> {
    let text = text.trim();
    if let Some(relation) = Relation::parse(&text.to_ascii_lowercase()) {
        return Some(relation);
    }
    let relation = match text {
        "户主" | "本人" => Relation::Head,
        "配偶" | "妻" | "妻子" | "夫" | "丈夫" => Relation::Spouse,
        "子女" | "子" | "女" | "儿子" | "女儿" | "长子" | "次子" | "长女" | "次女" => {
            Relation::Child
        }
        "父母" | "父亲" | "母亲" | "父" | "母" => Relation::Parent,
        "孙子女" | "孙子" | "孙女" | "外孙子" | "外孙女" | "外孙" => {
            Relation::Grandchild
        }
        "兄弟姐妹" | "兄" | "弟" | "姐" | "妹" | "哥哥" | "弟弟" | "姐姐" | "妹妹" => {
            Relation::Sibling
        }
        "其他" => Relation::Other,
        _ => return None,
    };
    Some(relation)
}

/// Returns the word for a relation in an exported sheet, which [`parse_relation`] reads back.
pub fn relation_label(relation: Relation, locale: Locale) -> &'static str {
    match locale {
        Locale::En => relation.as_str(),
        Locale::ZhCn => match relation {
            Relation::Head => "户主",
            Relation::Spouse => "配偶",
            Relation::Child => "子女",
            Relation::Parent => "父母",
            Relation::Grandchild => "孙子女",
            Relation::Sibling => "兄弟姐妹",
            Relation::Other => "其他",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| (*text).to_owned()).collect()
    }

    #[test]
    fn resolve_recognises_chinese_and_english_headers() {
        let chinese = headers(&["姓名", "公民身份号码", "与户主关系", "地址", "网格", "备注"]);
        let map = ColumnMap::resolve(&chinese, &HashMap::new()).unwrap();
        assert_eq!(map.position(Field::IdentityNumber), Some(1));
        assert_eq!(map.ignored, vec!["备注".to_owned()]);
        let english = headers(&["Address", "grid", "NAME", "Identity number", "Relation"]);
        let map = ColumnMap::resolve(&english, &HashMap::new()).unwrap();
        assert_eq!(map.position(Field::Name), Some(2));
        assert_eq!(map.position(Field::Email), None, "the e-mail column is optional");
        assert_eq!(map.column_label(Field::Name), "C (NAME)");
    }

    #[test]
    fn resolve_applies_an_explicit_mapping_and_names_missing_columns() {
        let odd = headers(&["住户", "片区", "户主姓名", "证号", "身份"]);
        let missing = ColumnMap::resolve(&odd, &HashMap::new()).unwrap_err();
        assert_eq!(missing.code, "resident_import_columns_missing");
        let mapping: HashMap<String, String> = [
            ("住户", "address"),
            ("片区", "grid"),
            ("户主姓名", "name"),
            ("证号", "identity_number"),
            ("身份", "relation"),
        ]
        .into_iter()
        .map(|(header, field)| (header.to_owned(), field.to_owned()))
        .collect();
        let map = ColumnMap::resolve(&odd, &mapping).unwrap();
        assert_eq!(map.position(Field::Grid), Some(1));
        let mut wrong = mapping.clone();
        wrong.insert("证号".to_owned(), "passport".to_owned());
        let error = ColumnMap::resolve(&odd, &wrong).unwrap_err();
        assert_eq!(error.code, "resident_import_mapping_field");
    }

    #[test]
    fn resolve_recognises_email_header_aliases() {
        let base = ["地址", "网格", "姓名", "公民身份号码", "与户主关系"];
        for alias in ["电子邮箱", "邮箱", "E-mail", "email", "Email address"] {
            let mut texts = base.to_vec();
            texts.push(alias);
            let map = ColumnMap::resolve(&headers(&texts), &HashMap::new()).unwrap();
            assert_eq!(map.position(Field::Email), Some(5), "{alias}");
        }
    }

    #[test]
    fn column_letters_follow_spreadsheets() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn relations_read_chinese_words_and_codes() {
        assert_eq!(parse_relation("户主"), Some(Relation::Head));
        assert_eq!(parse_relation("女儿"), Some(Relation::Child));
        assert_eq!(parse_relation("Spouse"), Some(Relation::Spouse));
        assert_eq!(parse_relation("表哥"), None);
        for relation in Relation::ALL {
            assert_eq!(parse_relation(relation_label(relation, Locale::ZhCn)), Some(relation));
        }
    }
}
