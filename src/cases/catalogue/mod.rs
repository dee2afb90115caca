//! The case category catalogue: components (部件) and events (事件) in major (大类)
//! and minor (小类) categories.
//!
//! A [`Category`] is one minor category with everything a case of that kind needs.
//! It has names in Chinese and English, the default department, filing (立案) and
//! closing (结案) criteria, and a [`WorkingAmount`] limit for each of dispatch,
//! handling and verification. Its duplicate radius, in metres, bounds the search for
//! open cases that may report the same problem. [`CategoryDraft`] is the unvalidated
//! form that arrives as a CSV row or a JSON body, and [`CategoryDraft::parse`] is the
//! one place that validates it.
//!
//! Invariants: codes are unique and encode the kind, major and minor code. Limits are
//! positive. The names of a major category and of a department are stored once, so
//! the last import or edit of any category in that group sets them for all.

pub mod cli;
pub mod csv;
pub mod http;
pub mod service;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod tests;
mod validate;

use serde::{Deserialize, Serialize};

use crate::cases::calendar::WorkingAmount;

pub use store::CatalogueStore;

/// Radius for the duplicate search when a category sets none, in metres: about one
/// city block, wide enough for a reporter's imprecise location.
pub const DEFAULT_DUPLICATE_RADIUS_M: u32 = 250;
/// Default age limit of duplicate suggestions, in hours: three days, so that a report
/// made after a weekend still finds the one made before it.
pub const DEFAULT_DUPLICATE_WINDOW_HOURS: u32 = 72;

/// Whether a category is about a facility with an owner or about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a facility such as a manhole cover; its owner is responsible first.
    Component,
    /// 事件: an event such as exposed garbage; the territory is responsible first.
    Event,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Event => "event",
        }
    }

    pub fn parse(text: &str) -> Option<CategoryKind> {
        match text {
            "component" => Some(CategoryKind::Component),
            "event" => Some(CategoryKind::Event),
            _ => None,
        }
    }

    /// Returns the first letter of this kind's codes: `C` for components, `E` for events.
    pub fn code_letter(self) -> char {
        match self {
            CategoryKind::Component => 'C',
            CategoryKind::Event => 'E',
        }
    }
}

/// A validated category code such as `E0101`: kind letter, 2-digit major code,
/// 2-digit minor code, neither of them `00`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    /// Parses a code, accepting a lower-case kind letter.
    pub fn parse(text: &str) -> Option<CategoryCode> {
        let code = text.trim().to_ascii_uppercase();
        let valid_shape = code.len() == 5
            && matches!(&code[..1], "C" | "E")
            && code[1..].bytes().all(|byte| byte.is_ascii_digit());
        (valid_shape && &code[1..3] != "00" && &code[3..] != "00").then_some(CategoryCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> CategoryKind {
        if self.0.starts_with('C') { CategoryKind::Component } else { CategoryKind::Event }
    }

    pub fn major_code(&self) -> &str {
        &self.0[1..3]
    }

    pub fn minor_code(&self) -> &str {
        &self.0[3..]
    }
}

impl From<CategoryCode> for String {
    fn from(code: CategoryCode) -> String {
        code.0
    }
}

/// A major category (大类), such as 市容环境 for events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MajorCategory {
    pub kind: CategoryKind,
    pub major_code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A department that handles cases, such as 环境卫生服务所.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    pub department_code: String,
    pub name: String,
}

/// One validated minor category (小类).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub code: CategoryCode,
    pub major: MajorCategory,
    pub name_zh: String,
    pub name_en: String,
    pub department: Department,
    /// 立案标准: when a report becomes a case of this category.
    pub filing_criteria: String,
    /// 结案标准: what the site must look like before the case closes.
    pub closing_criteria: String,
    pub dispatch_limit: WorkingAmount,
    pub handling_limit: WorkingAmount,
    pub verification_limit: WorkingAmount,
    pub duplicate_radius_m: u32,
    /// Only cases reported at most this many hours earlier are suggested as duplicates.
    pub duplicate_window_hours: u32,
}

/// A category as it travels in CSV files and JSON bodies, before validation.
///
/// The fields are the CSV columns in order; limits are a number and a unit column each.
/// Every field has a default when deserialized, so that a JSON body missing a field
/// gets a validation error naming that field rather than a bare parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryDraft {
    /// Optional in a JSON body, where the URL carries the code.
    pub code: String,
    pub major_name_zh: String,
    pub major_name_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub department_code: String,
    pub department_name: String,
    pub filing_criteria: String,
    pub closing_criteria: String,
    pub dispatch_limit: i64,
    pub dispatch_unit: String,
    pub handling_limit: i64,
    pub handling_unit: String,
    pub verification_limit: i64,
    pub verification_unit: String,
    /// Metres; [`DEFAULT_DUPLICATE_RADIUS_M`] when absent.
    pub duplicate_radius_m: Option<i64>,
    /// Hours; [`DEFAULT_DUPLICATE_WINDOW_HOURS`] when absent.
    pub duplicate_window_hours: Option<i64>,
}

impl From<&Category> for CategoryDraft {
    fn from(category: &Category) -> CategoryDraft {
        CategoryDraft {
            code: category.code.as_str().to_owned(),
            major_name_zh: category.major.name_zh.clone(),
            major_name_en: category.major.name_en.clone(),
            name_zh: category.name_zh.clone(),
            name_en: category.name_en.clone(),
            department_code: category.department.department_code.clone(),
            department_name: category.department.name.clone(),
            filing_criteria: category.filing_criteria.clone(),
            closing_criteria: category.closing_criteria.clone(),
            dispatch_limit: i64::from(category.dispatch_limit.amount),
            dispatch_unit: category.dispatch_limit.unit.as_str().to_owned(),
            handling_limit: i64::from(category.handling_limit.amount),
            handling_unit: category.handling_limit.unit.as_str().to_owned(),
            verification_limit: i64::from(category.verification_limit.amount),
            verification_unit: category.verification_limit.unit.as_str().to_owned(),
            duplicate_radius_m: Some(i64::from(category.duplicate_radius_m)),
            duplicate_window_hours: Some(i64::from(category.duplicate_window_hours)),
        }
    }
}

/// Builds the `/api/v1/categories` routes.
pub fn router() -> axum::Router<crate::http::AppState> {
    http::router()
}
