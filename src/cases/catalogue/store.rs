//! Storage of departments, major categories and categories on SQLite and PostgreSQL.

use sqlx::FromRow;

use super::{
    Category, CategoryCode, CategoryKind, Department, MajorCategory, snapshot::forget_catalogue,
};
use crate::{
    cases::calendar::{TimeUnit, WorkingAmount},
    cases::search::SearchIndex,
    db::Db,
    with_pool,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("stored category {code} is corrupt: {reason}")]
    Corrupt { code: String, reason: String },
}

const SELECT_CATEGORIES: &str = "SELECT c.category_code, c.kind, m.name_zh AS major_name_zh, \
     m.name_en AS major_name_en, c.name_zh, c.name_en, d.department_code, \
     d.name AS department_name, c.filing_criteria, c.closing_criteria, c.dispatch_limit, \
     c.dispatch_unit, c.handling_limit, c.handling_unit, c.verification_limit, \
     c.verification_unit, c.duplicate_radius_m, c.duplicate_window_hours \
     FROM category c \
     JOIN category_major m ON m.kind = c.kind AND m.major_code = c.major_code \
     JOIN department d ON d.department_code = c.department_code";

#[derive(FromRow)]
struct CategoryRow {
    category_code: String,
    kind: String,
    major_name_zh: String,
    major_name_en: String,
    name_zh: String,
    name_en: String,
    department_code: String,
    department_name: String,
    filing_criteria: String,
    closing_criteria: String,
    dispatch_limit: i32,
    dispatch_unit: String,
    handling_limit: i32,
    handling_unit: String,
    verification_limit: i32,
    verification_unit: String,
    duplicate_radius_m: i32,
    duplicate_window_hours: i32,
}

impl TryFrom<CategoryRow> for Category {
    type Error = StoreError;
    fn try_from(row: CategoryRow) -> Result<Category, StoreError> {
        let corrupt =
            |reason: String| StoreError::Corrupt { code: row.category_code.clone(), reason };
        let code = CategoryCode::parse(&row.category_code).ok_or_else(|| corrupt("code".into()))?;
        if CategoryKind::parse(&row.kind) != Some(code.kind()) {
            return Err(corrupt(format!("kind {}", row.kind)));
        }
        let limit = |amount: i32, unit: &str| {
            TimeUnit::parse(unit)
                .and_then(|unit| WorkingAmount::new(i64::from(amount), unit))
                .map_err(|_| corrupt(format!("limit {amount} {unit}")))
        };
        let radius = u32::try_from(row.duplicate_radius_m).map_err(|_| corrupt("radius".into()))?;
        let window =
            u32::try_from(row.duplicate_window_hours).map_err(|_| corrupt("window".into()))?;
        Ok(Category {
            major: MajorCategory {
                kind: code.kind(),
                major_code: code.major_code().to_owned(),
                name_zh: row.major_name_zh,
                name_en: row.major_name_en,
            },
            dispatch_limit: limit(row.dispatch_limit, &row.dispatch_unit)?,
            handling_limit: limit(row.handling_limit, &row.handling_unit)?,
            verification_limit: limit(row.verification_limit, &row.verification_unit)?,
            code,
            name_zh: row.name_zh,
            name_en: row.name_en,
            department: Department {
                department_code: row.department_code,
                name: row.department_name,
            },
            filing_criteria: row.filing_criteria,
            closing_criteria: row.closing_criteria,
            duplicate_radius_m: radius,
            duplicate_window_hours: window,
        })
    }
}

/// Storage of the category catalogue.
pub trait CatalogueStore {
    /// Lists every category ordered by code, so components come before events.
    fn list_categories(&self) -> impl Future<Output = Result<Vec<Category>, StoreError>> + Send;
    /// Finds one category by code.
    fn category_by_code(
        &self,
        code: &CategoryCode,
    ) -> impl Future<Output = Result<Option<Category>, StoreError>> + Send;
    /// Inserts or updates `categories`, their major categories and departments in one
    /// transaction; nothing is written on error. Categories absent from the batch stay.
    fn upsert_categories(
        &self,
        categories: &[Category],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

impl CatalogueStore for Db {
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError> {
        let query = format!("{SELECT_CATEGORIES} ORDER BY c.category_code");
        let rows: Vec<CategoryRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone())).fetch_all(pool).await
        })?;
        rows.into_iter().map(Category::try_from).collect()
    }

    async fn category_by_code(&self, code: &CategoryCode) -> Result<Option<Category>, StoreError> {
        let query = format!("{SELECT_CATEGORIES} WHERE c.category_code = $1");
        let row: Option<CategoryRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(code.as_str())
                .fetch_optional(pool)
                .await
        })?;
        row.map(Category::try_from).transpose()
    }

    async fn upsert_categories(&self, categories: &[Category]) -> Result<usize, StoreError> {
        let stored = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for category in categories {
                let names: Option<(String, String)> = sqlx::query_as(
                    "SELECT name_zh, name_en FROM category WHERE category_code = $1",
                )
                .bind(category.code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if names.is_some_and(|(zh, en)| zh != category.name_zh || en != category.name_en) {
                    (*tx).unindex_category(category.code.as_str()).await?;
                }
                let department = &category.department;
                sqlx::query(
                    "INSERT INTO department (department_code, name) VALUES ($1, $2) \
                     ON CONFLICT (department_code) DO UPDATE SET name = excluded.name",
                )
                .bind(&department.department_code)
                .bind(&department.name)
                .execute(&mut *tx)
                .await?;
                let major = &category.major;
                sqlx::query(
                    "INSERT INTO category_major (kind, major_code, name_zh, name_en) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (kind, major_code) \
                     DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en",
                )
                .bind(major.kind.as_str())
                .bind(&major.major_code)
                .bind(&major.name_zh)
                .bind(&major.name_en)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO category (category_code, kind, major_code, minor_code, name_zh, \
                     name_en, department_code, filing_criteria, closing_criteria, dispatch_limit, \
                     dispatch_unit, handling_limit, handling_unit, verification_limit, \
                     verification_unit, duplicate_radius_m, duplicate_window_hours) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                     $17) \
                     ON CONFLICT (category_code) DO UPDATE SET name_zh = excluded.name_zh, \
                     name_en = excluded.name_en, department_code = excluded.department_code, \
                     filing_criteria = excluded.filing_criteria, \
                     closing_criteria = excluded.closing_criteria, \
                     dispatch_limit = excluded.dispatch_limit, dispatch_unit = excluded.dispatch_unit, \
                     handling_limit = excluded.handling_limit, handling_unit = excluded.handling_unit, \
                     verification_limit = excluded.verification_limit, \
                     verification_unit = excluded.verification_unit, \
                     duplicate_radius_m = excluded.duplicate_radius_m, \
                     duplicate_window_hours = excluded.duplicate_window_hours",
                )
                .bind(category.code.as_str())
                .bind(category.code.kind().as_str())
                .bind(category.code.major_code())
                .bind(category.code.minor_code())
                .bind(&category.name_zh)
                .bind(&category.name_en)
                .bind(&department.department_code)
                .bind(&category.filing_criteria)
                .bind(&category.closing_criteria)
                .bind(stored_integer(category.dispatch_limit.amount))
                .bind(category.dispatch_limit.unit.as_str())
                .bind(stored_integer(category.handling_limit.amount))
                .bind(category.handling_limit.unit.as_str())
                .bind(stored_integer(category.verification_limit.amount))
                .bind(category.verification_limit.unit.as_str())
                .bind(stored_integer(category.duplicate_radius_m))
                .bind(stored_integer(category.duplicate_window_hours))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(categories.len())
        });
        forget_catalogue(self);
        stored
    }
}

/// Limits and radii are 32-bit `INTEGER` columns; validation keeps them far below
/// `i32::MAX`, so the saturation never happens in practice.
fn stored_integer(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
