//! Validation of a [`CategoryDraft`] into a [`Category`].

use super::{
    Category, CategoryCode, CategoryDraft, DEFAULT_DUPLICATE_RADIUS_M,
    DEFAULT_DUPLICATE_WINDOW_HOURS, Department, MajorCategory,
};
use crate::{
    cases::calendar::{MAX_AMOUNT, TimeUnit, WorkingAmount},
    http::UserMessage,
};

/// Longest accepted name, in characters; longer text is a pasted description.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest accepted criteria text, in characters.
pub const MAX_CRITERIA_CHARS: usize = 2000;
/// Widest accepted duplicate-search radius, in metres: beyond a street's extent.
pub const MAX_DUPLICATE_RADIUS_M: i64 = 5000;
/// Longest accepted duplicate-search window, in hours: 30 days.
pub const MAX_DUPLICATE_WINDOW_HOURS: i64 = 720;

impl CategoryDraft {
    /// Validates every field, reporting each problem with its field name.
    ///
    /// # Errors
    /// One message per invalid field, in column order.
    pub fn parse(&self) -> Result<Category, Vec<UserMessage>> {
        let mut errors = Vec::new();
        let code = CategoryCode::parse(&self.code);
        if code.is_none() {
            errors.push(
                UserMessage::new("invalid_category_code").arg("value", &self.code).field("code"),
            );
        }
        let mut text = |value: &str, field: &'static str, max: usize| {
            checked_text(value, field, max)
                .map_err(|message| errors.push(message))
                .unwrap_or_default()
        };
        let major_name_zh = text(&self.major_name_zh, "major_name_zh", MAX_NAME_CHARS);
        let major_name_en = text(&self.major_name_en, "major_name_en", MAX_NAME_CHARS);
        let name_zh = text(&self.name_zh, "name_zh", MAX_NAME_CHARS);
        let name_en = text(&self.name_en, "name_en", MAX_NAME_CHARS);
        let department_code = text(&self.department_code, "department_code", MAX_NAME_CHARS);
        let department_name = text(&self.department_name, "department_name", MAX_NAME_CHARS);
        let filing_criteria = text(&self.filing_criteria, "filing_criteria", MAX_CRITERIA_CHARS);
        let closing_criteria = text(&self.closing_criteria, "closing_criteria", MAX_CRITERIA_CHARS);
        if !department_code.is_empty() && !is_department_code(&department_code) {
            errors.push(
                UserMessage::new("invalid_department_code")
                    .arg("value", &department_code)
                    .field("department_code"),
            );
        }

        let mut limit = |amount: i64, unit: &str, prefix: &'static str| {
            checked_limit(amount, unit, prefix).map_err(|mut found| errors.append(&mut found)).ok()
        };
        let dispatch_limit = limit(self.dispatch_limit, &self.dispatch_unit, "dispatch");
        let handling_limit = limit(self.handling_limit, &self.handling_unit, "handling");
        let verification_limit =
            limit(self.verification_limit, &self.verification_unit, "verification");

        let radius = self.duplicate_radius_m.unwrap_or(i64::from(DEFAULT_DUPLICATE_RADIUS_M));
        let duplicate_radius_m = u32::try_from(radius)
            .ok()
            .filter(|radius| (1..=MAX_DUPLICATE_RADIUS_M).contains(&i64::from(*radius)));
        if duplicate_radius_m.is_none() {
            errors.push(
                UserMessage::new("invalid_radius")
                    .arg("value", radius)
                    .arg("max", MAX_DUPLICATE_RADIUS_M)
                    .field("duplicate_radius_m"),
            );
        }

        let window =
            self.duplicate_window_hours.unwrap_or(i64::from(DEFAULT_DUPLICATE_WINDOW_HOURS));
        let duplicate_window_hours = u32::try_from(window)
            .ok()
            .filter(|hours| (1..=MAX_DUPLICATE_WINDOW_HOURS).contains(&i64::from(*hours)));
        if duplicate_window_hours.is_none() {
            errors.push(
                UserMessage::new("dup_invalid_window")
                    .arg("value", window)
                    .arg("max", MAX_DUPLICATE_WINDOW_HOURS)
                    .field("duplicate_window_hours"),
            );
        }

        let limits = (dispatch_limit, handling_limit, verification_limit);
        let duplicates = (duplicate_radius_m, duplicate_window_hours);
        match (code, limits, duplicates) {
            (
                Some(code),
                (Some(dispatch_limit), Some(handling_limit), Some(verification_limit)),
                (Some(duplicate_radius_m), Some(duplicate_window_hours)),
            ) if errors.is_empty() => {
                let major = MajorCategory {
                    kind: code.kind(),
                    major_code: code.major_code().to_owned(),
                    name_zh: major_name_zh,
                    name_en: major_name_en,
                };
                Ok(Category {
                    code,
                    major,
                    name_zh,
                    name_en,
                    department: Department { department_code, name: department_name },
                    filing_criteria,
                    closing_criteria,
                    dispatch_limit,
                    handling_limit,
                    verification_limit,
                    duplicate_radius_m,
                    duplicate_window_hours,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Trims `value` and checks that it is non-empty and at most `max` characters long.
fn checked_text(value: &str, field: &'static str, max: usize) -> Result<String, UserMessage> {
    let value = value.trim();
    if value.is_empty() {
        return Err(UserMessage::new("missing_value").field(field));
    }
    let length = value.chars().count();
    if length > max {
        return Err(UserMessage::new("text_too_long")
            .arg("length", length)
            .arg("max", max)
            .field(field));
    }
    Ok(value.to_owned())
}

/// Department codes are short identifiers: ASCII letters, digits, `-` and `_`.
fn is_department_code(code: &str) -> bool {
    code.len() <= 32
        && code.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Checks that `amount` is positive and `unit` is known. Errors name the fields
/// `<prefix>_limit` and `<prefix>_unit`.
fn checked_limit(
    amount: i64,
    unit: &str,
    prefix: &'static str,
) -> Result<WorkingAmount, Vec<UserMessage>> {
    let mut errors = Vec::new();
    if !(1..=i64::from(MAX_AMOUNT)).contains(&amount) {
        errors.push(
            UserMessage::new("invalid_time_limit")
                .arg("value", amount)
                .arg("max", MAX_AMOUNT)
                .field(format!("{prefix}_limit")),
        );
    }
    let unit = TimeUnit::parse(unit)
        .map_err(|message| errors.push(message.field(format!("{prefix}_unit"))));
    match unit {
        Ok(unit) if errors.is_empty() => WorkingAmount::new(amount, unit)
            .map_err(|message| vec![message.field(format!("{prefix}_limit"))]),
        _ => Err(errors),
    }
}
