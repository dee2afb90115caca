//! Routing (派遣路由): which department a case goes to.
//!
//! A [`RoutingRule`] sends the cases of one area to a department on one basis: the
//! owner (权属) of the facilities there or the territory (属地), the unit responsible
//! for the place. A rule may be limited to a minor category (`E0101`), a major category
//! (`E01`) or apply to every category. [`resolve`] picks the department of a case from
//! its grid up through its community and street. Components (部件) try owner rules first
//! and territory rules second, events (事件) the other way round. Within one basis the
//! most specific area wins, then the most specific category. Without a matching rule,
//! and for cases outside every grid, the category's default department applies.
//!
//! Rules are data that administrators replace as a whole set: by CSV through
//! `citycore routing import|export`, by JSON through `GET/PUT /api/v1/routing-rules`,
//! and on the console page `/routing`. [`service`] validates every row and writes all
//! or nothing. A dispatcher may still name another department on dispatch.

pub mod cli;
pub mod csv;
pub mod http;
pub mod page;
pub mod service;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::{
    cases::catalogue::{Category, CategoryCode, CategoryKind},
    locate::AreaIndex,
};

pub use store::RoutingStore;

/// Whose responsibility a rule records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// 权属: the unit that owns the facilities in the area.
    Owner,
    /// 属地: the unit responsible for the place.
    Territory,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Owner => "owner",
            Basis::Territory => "territory",
        }
    }

    pub fn parse(text: &str) -> Option<Basis> {
        match text.trim() {
            "owner" => Some(Basis::Owner),
            "territory" => Some(Basis::Territory),
            _ => None,
        }
    }

    /// Returns the order in which the bases apply to a kind of category: owner first
    /// for components (部件), territory first for events (事件).
    pub fn order(kind: CategoryKind) -> [Basis; 2] {
        match kind {
            CategoryKind::Component => [Basis::Owner, Basis::Territory],
            CategoryKind::Event => [Basis::Territory, Basis::Owner],
        }
    }
}

/// The categories a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CategoryScope {
    /// Every category.
    Any,
    /// Every minor category of one major category (大类), written `E01`.
    Major { kind: CategoryKind, major_code: String },
    /// One minor category (小类), written `E0101`.
    Minor(CategoryCode),
}

impl CategoryScope {
    /// Parses an empty text as [`CategoryScope::Any`], a kind letter with two digits as
    /// a major category, and a full category code as a minor one. Accepts lower case.
    pub fn parse(text: &str) -> Option<CategoryScope> {
        let text = text.trim().to_ascii_uppercase();
        match text.len() {
            0 => Some(CategoryScope::Any),
            3 => {
                // A major code is the first three characters of any valid minor code.
                let code = CategoryCode::parse(&format!("{text}01"))?;
                let major_code = code.major_code().to_owned();
                Some(CategoryScope::Major { kind: code.kind(), major_code })
            }
            _ => CategoryCode::parse(&text).map(CategoryScope::Minor),
        }
    }

    /// Returns the stored and exported form; `None` for every category.
    pub fn to_text(&self) -> Option<String> {
        match self {
            CategoryScope::Any => None,
            CategoryScope::Major { kind, major_code } => {
                Some(format!("{}{major_code}", kind.code_letter()))
            }
            CategoryScope::Minor(code) => Some(code.as_str().to_owned()),
        }
    }

    pub fn matches(&self, code: &CategoryCode) -> bool {
        match self {
            CategoryScope::Any => true,
            CategoryScope::Major { kind, major_code } => {
                code.kind() == *kind && code.major_code() == major_code
            }
            CategoryScope::Minor(minor) => minor == code,
        }
    }

    /// Ranks scopes for [`resolve`]: a minor category beats a major one, which beats
    /// every category.
    fn specificity(&self) -> u8 {
        match self {
            CategoryScope::Any => 0,
            CategoryScope::Major { .. } => 1,
            CategoryScope::Minor(_) => 2,
        }
    }
}

/// One validated rule: cases of `category` in `area_id` go to `department_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRule {
    /// `None` before the rule is stored.
    pub routing_rule_id: Option<i64>,
    pub basis: Basis,
    pub area_id: i64,
    pub area_code: String,
    pub category: CategoryScope,
    pub department_code: String,
}

/// The department [`resolve`] chose and why, recorded in the case's log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub department_code: String,
    /// `owner` or `territory` when a rule chose, `category_default` otherwise.
    pub basis: &'static str,
    pub rule_id: Option<i64>,
    pub area_code: Option<String>,
    /// The rule's category scope; `None` when the rule applies to every category.
    pub category: Option<String>,
}

/// The `basis` of a [`Route`] that no rule chose.
pub const CATEGORY_DEFAULT: &str = "category_default";

impl Route {
    fn category_default(category: &Category) -> Route {
        Route {
            department_code: category.department.department_code.clone(),
            basis: CATEGORY_DEFAULT,
            rule_id: None,
            area_code: None,
            category: None,
        }
    }

    /// Returns the route as the JSON object stored under `routing` in event details.
    pub fn details(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Lists the area ids a case in `grid_id` is routed through: the grid first, then its
/// community, street and the areas above. Empty for a case outside every grid.
pub fn area_chain(index: &AreaIndex, grid_id: Option<i64>) -> Vec<i64> {
    let Some(grid_id) = grid_id else { return Vec::new() };
    let mut chain = vec![grid_id];
    chain.extend(index.ancestors(grid_id).iter().rev().map(|area| area.area_id));
    chain
}

/// Picks the department of a case of `category` located in `chain` (most specific area
/// first; see [`area_chain`]).
///
/// Each basis in [`Basis::order`] is tried in turn. Within a basis, the rule on the most
/// specific area wins, and among rules on that area the most specific category.
pub fn resolve(rules: &[RoutingRule], category: &Category, chain: &[i64]) -> Route {
    for basis in Basis::order(category.code.kind()) {
        for area_id in chain {
            let best = rules
                .iter()
                .filter(|rule| rule.basis == basis && rule.area_id == *area_id)
                .filter(|rule| rule.category.matches(&category.code))
                .max_by_key(|rule| rule.category.specificity());
            if let Some(rule) = best {
                return Route {
                    department_code: rule.department_code.clone(),
                    basis: basis.as_str(),
                    rule_id: rule.routing_rule_id,
                    area_code: Some(rule.area_code.clone()),
                    category: rule.category.to_text(),
                };
            }
        }
    }
    Route::category_default(category)
}

/// Builds the `/api/v1/routing-rules` routes and the `/routing` console page.
pub fn router() -> axum::Router<crate::http::AppState> {
    http::router().merge(page::router())
}

#[cfg(test)]
mod tests;
