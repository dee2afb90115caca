//! Routing operations shared by the HTTP routes, the console page and the command
//! line: validating a rule set, replacing it, and routing one case.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{
    Basis, CategoryScope, Route, RoutingRule, area_chain,
    csv::{parse_rules, write_rules},
    resolve,
    store::{RoutingStore, StoreError, cached_rules},
};
use crate::{
    areas::Level,
    cases::{
        catalogue::{self, CatalogueStore, Category},
        row_error::ImportErrors,
    },
    db::Db,
    http::{AppError, UserMessage},
    locate::AreaIndex,
};

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// A JSON rule set with an invalid rule. The message's field names the rule and its
    /// field, such as `rules[2].area_code`. Becomes 422, and nothing was written.
    #[error("invalid routing rule: {0:?}")]
    Invalid(UserMessage),
    /// A CSV file with invalid rows, each with its line and column. Becomes 422 with
    /// the first; nothing was written.
    #[error(transparent)]
    Import(#[from] ImportErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalogue(#[from] catalogue::store::StoreError),
    #[error("cannot write the routing rules: {0}")]
    Write(#[from] ::csv::Error),
}

impl From<RoutingError> for AppError {
    fn from(error: RoutingError) -> Self {
        match error {
            RoutingError::Invalid(message) => AppError::Invalid(message),
            RoutingError::Import(errors) => AppError::Invalid(
                errors
                    .0
                    .into_iter()
                    .next()
                    .map(|row| row.message)
                    .unwrap_or(UserMessage::new("unreadable_csv")),
            ),
            RoutingError::Store(error) => AppError::Internal(error.into()),
            RoutingError::Catalogue(error) => AppError::Internal(error.into()),
            RoutingError::Write(error) => AppError::Internal(error.into()),
        }
    }
}

/// A rule as it travels in CSV files and JSON bodies, before validation. Every field
/// has a default, so that a missing one gets an error naming it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleDraft {
    /// `owner` (权属) or `territory` (属地).
    pub basis: String,
    /// Code of a street, community or grid.
    pub area_code: String,
    /// `E0101`, `E01`, or empty (or `null` in JSON) for every category.
    pub category: Option<String>,
    pub department_code: String,
}

impl From<&RoutingRule> for RuleDraft {
    fn from(rule: &RoutingRule) -> RuleDraft {
        RuleDraft {
            basis: rule.basis.as_str().to_owned(),
            area_code: rule.area_code.clone(),
            category: rule.category.to_text(),
            department_code: rule.department_code.clone(),
        }
    }
}

/// A stored rule in API responses.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub routing_rule_id: Option<i64>,
    #[serde(flatten)]
    pub fields: RuleDraft,
}

impl From<&RoutingRule> for RuleView {
    fn from(rule: &RoutingRule) -> RuleView {
        RuleView { routing_rule_id: rule.routing_rule_id, fields: RuleDraft::from(rule) }
    }
}

/// The reference data a rule is checked against (areas, catalogue, departments) and the
/// keys of the rules seen so far in the same set.
pub(super) struct RuleChecker<'a> {
    index: &'a AreaIndex,
    categories: Vec<Category>,
    departments: HashSet<String>,
    /// Position of the first rule of each (basis, area, category) key.
    seen: HashMap<(Basis, i64, Option<String>), u64>,
}

impl<'a> RuleChecker<'a> {
    pub(super) async fn load(db: &Db, index: &'a AreaIndex) -> Result<Self, RoutingError> {
        Ok(RuleChecker {
            index,
            categories: db.list_categories().await?,
            departments: db.department_codes().await?.into_iter().collect(),
            seen: HashMap::new(),
        })
    }

    /// Validates one rule at `position` (a CSV line or a 1-based JSON rule number).
    ///
    /// # Errors
    /// One message per invalid field, each naming its field.
    pub(super) fn check(
        &mut self,
        draft: &RuleDraft,
        position: u64,
    ) -> Result<RoutingRule, Vec<UserMessage>> {
        let mut errors = Vec::new();

        let basis = Basis::parse(&draft.basis);
        if basis.is_none() {
            let message = UserMessage::new("routing_basis_invalid").arg("value", &draft.basis);
            errors.push(message.field("basis"));
        }
        let area = self.check_area(&draft.area_code).map_err(|message| errors.push(message)).ok();
        let category_text = draft.category.as_deref().unwrap_or_default();
        let category = self.check_category(category_text).map_err(|m| errors.push(m)).ok();
        let department_code = draft.department_code.trim();
        if !self.departments.contains(department_code) {
            let message = UserMessage::new("unknown_department").arg("code", department_code);
            errors.push(message.field("department_code"));
        }

        let (Some(basis), Some((area_id, area_code)), Some(category), true) =
            (basis, area, category, errors.is_empty())
        else {
            return Err(errors);
        };
        let key = (basis, area_id, category.to_text());
        let first = *self.seen.entry(key).or_insert(position);
        if first != position {
            let message = UserMessage::new("routing_rule_duplicate").arg("first", first);
            return Err(vec![message.field("category")]);
        }
        Ok(RoutingRule {
            routing_rule_id: None,
            basis,
            area_id,
            area_code,
            category,
            department_code: department_code.to_owned(),
        })
    }

    fn check_area(&self, code: &str) -> Result<(i64, String), UserMessage> {
        let code = code.trim();
        let Some(area) = self.index.by_code(code) else {
            return Err(UserMessage::new("routing_area_unknown")
                .arg("code", code)
                .field("area_code"));
        };
        if !matches!(area.level, Level::Street | Level::Community | Level::Grid) {
            let message = UserMessage::new("routing_area_level").arg("code", code);
            return Err(message.field("area_code"));
        }
        Ok((area.area_id, area.code.clone()))
    }

    fn check_category(&self, text: &str) -> Result<CategoryScope, UserMessage> {
        let invalid = |id: &'static str| UserMessage::new(id).arg("value", text).field("category");
        let scope =
            CategoryScope::parse(text).ok_or_else(|| invalid("routing_category_invalid"))?;
        let known = match &scope {
            CategoryScope::Any => true,
            _ => self.categories.iter().any(|category| scope.matches(&category.code)),
        };
        if known { Ok(scope) } else { Err(invalid("routing_category_unknown")) }
    }
}

/// Lists every routing rule.
///
/// # Errors
/// Fails when the database fails.
pub async fn list_rules(db: &Db) -> Result<Vec<RuleView>, RoutingError> {
    Ok(db.list_routing_rules().await?.iter().map(RuleView::from).collect())
}

/// Validates `drafts` and replaces every rule with them.
///
/// # Errors
/// [`RoutingError::Invalid`] for the first invalid field, named like
/// `rules[0].area_code`; nothing is written then.
#[tracing::instrument(skip_all, fields(routing.rules = drafts.len()))]
pub async fn replace_rules(
    db: &Db,
    index: &AreaIndex,
    drafts: &[RuleDraft],
) -> Result<Vec<RuleView>, RoutingError> {
    let mut checker = RuleChecker::load(db, index).await?;
    let mut rules = Vec::with_capacity(drafts.len());
    for (number, draft) in drafts.iter().enumerate() {
        let rule = checker.check(draft, number as u64 + 1).map_err(|errors| {
            let mut message =
                errors.into_iter().next().unwrap_or(UserMessage::new("unreadable_csv"));
            let field = message.field.take().unwrap_or_default();
            RoutingError::Invalid(message.field(format!("rules[{number}].{field}")))
        })?;
        rules.push(rule);
    }
    db.replace_routing_rules(&rules).await?;
    tracing::info!("routing rules replaced");
    list_rules(db).await
}

/// Imports a CSV file of routing rules, replacing every rule.
///
/// # Errors
/// [`RoutingError::Import`] listing every invalid row, with nothing written.
#[tracing::instrument(skip_all)]
pub async fn import_rules(
    db: &Db,
    index: &AreaIndex,
    input: impl std::io::Read,
) -> Result<usize, RoutingError> {
    let mut checker = RuleChecker::load(db, index).await?;
    let rules = parse_rules(input, &mut checker)?;
    let count = db.replace_routing_rules(&rules).await?;
    tracing::info!(routing.rules = count, "routing rules imported");
    Ok(count)
}

/// Writes every rule as CSV in the import format and returns their count.
///
/// # Errors
/// Fails when the database or `output` fails.
pub async fn export_rules(db: &Db, output: impl std::io::Write) -> Result<usize, RoutingError> {
    let rules = db.list_routing_rules().await?;
    write_rules(&rules, output)?;
    Ok(rules.len())
}

/// Routes a case of `category` located in `grid_id` (`None` outside every grid).
///
/// # Errors
/// Fails when the database fails.
pub async fn route_case(
    db: &Db,
    index: &AreaIndex,
    category: &Category,
    grid_id: Option<i64>,
) -> Result<Route, StoreError> {
    let chain = area_chain(index, grid_id);
    if chain.is_empty() {
        return Ok(resolve(&[], category, &chain));
    }
    let rules = cached_rules(db).await?;
    Ok(resolve(&rules, category, &chain))
}
