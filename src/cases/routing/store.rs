//! Storage of routing rules on SQLite and PostgreSQL.

use std::sync::Arc;

use sqlx::FromRow;

use super::{Basis, CategoryScope, RoutingRule};
use crate::{
    db::{Db, snapshot::Snapshots},
    with_pool,
};

/// The rules of each database as [`RoutingStore::list_routing_rules`] returns them, kept
/// between intakes; [`RoutingStore::replace_routing_rules`] drops them.
static RULES: Snapshots<Vec<RoutingRule>> = Snapshots::new();

/// Lists every rule like [`RoutingStore::list_routing_rules`], from memory when the
/// snapshot is recent (see [`crate::db::snapshot`]).
///
/// # Errors
/// Fails when the rules have to be read and the database fails or contains a corrupt one.
pub async fn cached_rules(db: &Db) -> Result<Arc<Vec<RoutingRule>>, StoreError> {
    RULES.get_or_load(db, db.list_routing_rules()).await
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored routing rule {rule_id} is corrupt: {reason}")]
    Corrupt { rule_id: i64, reason: String },
}

#[derive(FromRow)]
struct RuleRow {
    routing_rule_id: i64,
    basis: String,
    area_id: i64,
    area_code: String,
    category: Option<String>,
    department_code: String,
}

impl TryFrom<RuleRow> for RoutingRule {
    type Error = StoreError;
    fn try_from(row: RuleRow) -> Result<RoutingRule, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { rule_id: row.routing_rule_id, reason };
        let basis =
            Basis::parse(&row.basis).ok_or_else(|| corrupt(format!("basis {}", row.basis)))?;
        let text = row.category.clone().unwrap_or_default();
        let category =
            CategoryScope::parse(&text).ok_or_else(|| corrupt(format!("category {text}")))?;
        Ok(RoutingRule {
            routing_rule_id: Some(row.routing_rule_id),
            basis,
            area_id: row.area_id,
            area_code: row.area_code,
            category,
            department_code: row.department_code,
        })
    }
}

/// Storage of routing rules.
pub trait RoutingStore {
    /// Lists every rule ordered by area code, basis and category.
    fn list_routing_rules(
        &self,
    ) -> impl Future<Output = Result<Vec<RoutingRule>, StoreError>> + Send;
    /// Replaces every rule with `rules` in one transaction and returns their count;
    /// nothing changes on error.
    fn replace_routing_rules(
        &self,
        rules: &[RoutingRule],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Lists the codes of every department.
    fn department_codes(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

impl RoutingStore for Db {
    async fn list_routing_rules(&self) -> Result<Vec<RoutingRule>, StoreError> {
        let rows: Vec<RuleRow> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT r.routing_rule_id, r.basis, r.area_id, a.code AS area_code, r.category, \
                 r.department_code FROM routing_rule r JOIN area a ON a.area_id = r.area_id \
                 ORDER BY a.code, r.basis, COALESCE(r.category, '')",
            )
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(RoutingRule::try_from).collect()
    }

    async fn replace_routing_rules(&self, rules: &[RoutingRule]) -> Result<usize, StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM routing_rule").execute(&mut *tx).await?;
            for rule in rules {
                sqlx::query(
                    "INSERT INTO routing_rule (basis, area_id, category, department_code) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(rule.basis.as_str())
                .bind(rule.area_id)
                .bind(rule.category.to_text())
                .bind(&rule.department_code)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        RULES.forget(self);
        Ok(rules.len())
    }

    async fn department_codes(&self) -> Result<Vec<String>, StoreError> {
        let codes: Vec<String> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT department_code FROM department ORDER BY department_code")
                .fetch_all(pool)
                .await
        })?;
        Ok(codes)
    }
}
