//! Resident tags: definitions that administrators create, and their assignment to
//! residents with the attributes each kind needs.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::ResidentError;
use crate::{db::Db, http::UserMessage, with_pool};

/// Disability categories of the national disability certificate (残疾人证).
pub const DISABILITY_CATEGORIES: [&str; 7] =
    ["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"];

/// The kind of a tag, which decides the attributes its assignments carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    /// Nothing more, such as 独居老人 or 志愿者.
    Plain,
    /// A disability category and grade 1–4.
    Disability,
    /// The area the resident returned from and the date since.
    Returned,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Plain => "plain",
            TagKind::Disability => "disability",
            TagKind::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<TagKind> {
        [TagKind::Plain, TagKind::Disability, TagKind::Returned]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A tag definition.
#[derive(Debug, Clone, Serialize)]
pub struct TagDefinition {
    pub tag_id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: TagKind,
}

/// A new tag definition as the API receives it.
#[derive(Debug, Clone, Deserialize)]
pub struct NewTag {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
}

/// A tag on a resident, with its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagAssignment {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disability_grade: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_area: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
}

#[derive(FromRow)]
struct TagRow {
    tag_id: i64,
    code: String,
    name_zh: String,
    name_en: String,
    kind: String,
}

impl TagRow {
    fn into_definition(self) -> TagDefinition {
        TagDefinition {
            tag_id: self.tag_id,
            kind: TagKind::parse(&self.kind).unwrap_or(TagKind::Plain),
            code: self.code,
            name_zh: self.name_zh,
            name_en: self.name_en,
        }
    }
}

/// Lists tag definitions by code.
pub async fn list_tags(db: &Db) -> Result<Vec<TagDefinition>, sqlx::Error> {
    let rows: Vec<TagRow> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT tag_id, code, name_zh, name_en, kind FROM resident_tag ORDER BY code",
        )
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(TagRow::into_definition).collect())
}

/// Checks and stores a tag definition.
///
/// # Errors
/// 422 naming the field for an empty or long name or an unknown kind, 409 for a code
/// in use.
pub async fn create_tag(db: &Db, tag: NewTag) -> Result<TagDefinition, ResidentError> {
    let invalid = |code: &'static str, field: &str| {
        ResidentError::Invalid(UserMessage::new(code).field(field))
    };
    let code = tag.code.trim();
    let code_ok = (1..=40).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        return Err(invalid("resident_tag_code_invalid", "code"));
    }
    let name_zh = tag.name_zh.trim();
    let name_en = tag.name_en.trim();
    if !(1..=50).contains(&name_zh.chars().count()) {
        return Err(invalid("resident_tag_name_invalid", "name_zh"));
    }
    if !(1..=80).contains(&name_en.chars().count()) {
        return Err(invalid("resident_tag_name_invalid", "name_en"));
    }
    let kind = TagKind::parse(tag.kind.trim())
        .ok_or_else(|| invalid("resident_tag_kind_invalid", "kind"))?;
    let inserted: Result<i64, sqlx::Error> = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO resident_tag (code, name_zh, name_en, kind, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING tag_id",
        )
        .bind(code)
        .bind(name_zh)
        .bind(name_en)
        .bind(kind.as_str())
        .bind(Utc::now())
        .fetch_one(pool)
        .await
    });
    let tag_id = inserted.map_err(|error| match is_unique_violation(&error) {
        true => ResidentError::Duplicate(
            UserMessage::new("resident_tag_duplicate").arg("code", code).field("code"),
        ),
        false => error.into(),
    })?;
    let (code, name_zh, name_en) = (code.to_owned(), name_zh.to_owned(), name_en.to_owned());
    Ok(TagDefinition { tag_id, code, name_zh, name_en, kind })
}

/// Reports whether a database error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// Checks that each assignment names a defined tag once and carries exactly the
/// attributes of its kind; returns the tag id of each.
///
/// # Errors
/// 422 naming `tags[i].<attribute>` and what to change.
pub fn check_assignments(
    definitions: &[TagDefinition],
    assignments: &[TagAssignment],
) -> Result<Vec<i64>, ResidentError> {
    let mut ids = Vec::with_capacity(assignments.len());
    for (position, tag) in assignments.iter().enumerate() {
        let invalid = |code: &'static str, attribute: &str| {
            let message = UserMessage::new(code).arg("tag", &tag.code);
            ResidentError::Invalid(message.field(format!("tags[{position}].{attribute}")))
        };
        let Some(definition) = definitions.iter().find(|d| d.code == tag.code) else {
            return Err(invalid("resident_tag_unknown", "code"));
        };
        if ids.contains(&definition.tag_id) {
            return Err(invalid("resident_tag_repeated", "code"));
        }
        let has_disability = tag.disability_category.is_some() || tag.disability_grade.is_some();
        let has_return = tag.from_area.is_some() || tag.since.is_some();
        match definition.kind {
            TagKind::Disability => {
                let category_ok = tag
                    .disability_category
                    .as_deref()
                    .is_some_and(|c| DISABILITY_CATEGORIES.contains(&c));
                if !category_ok {
                    return Err(invalid("resident_disability_category", "disability_category"));
                }
                if tag.disability_grade.is_none_or(|g| !(1..=4).contains(&g)) {
                    return Err(invalid("resident_disability_grade", "disability_grade"));
                }
            }
            TagKind::Returned => {
                let area_ok = tag
                    .from_area
                    .as_deref()
                    .is_some_and(|a| (1..=100).contains(&a.chars().count()));
                if !area_ok {
                    return Err(invalid("resident_return_area", "from_area"));
                }
                if tag.since.is_none_or(|d| d > Utc::now().date_naive()) {
                    return Err(invalid("resident_return_since", "since"));
                }
            }
            TagKind::Plain => {}
        }
        if (has_disability && definition.kind != TagKind::Disability)
            || (has_return && definition.kind != TagKind::Returned)
        {
            return Err(invalid("resident_tag_attributes", "code"));
        }
        ids.push(definition.tag_id);
    }
    Ok(ids)
}
