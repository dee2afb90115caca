//! Catalogue operations shared by the HTTP routes and the command line.

use serde::Serialize;

use super::{
    Category, CategoryCode, CategoryDraft, CategoryKind,
    csv::{parse_catalogue, write_catalogue},
    store::{CatalogueStore, StoreError},
};
use crate::{
    cases::row_error::ImportErrors,
    db::Db,
    http::{AppError, UserMessage},
};

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Invalid fields of one category, each naming its field; becomes 422 with the first.
    #[error("invalid category: {0:?}")]
    Invalid(Vec<UserMessage>),
    /// A file with invalid rows; nothing was written. Becomes 422 with the first.
    #[error(transparent)]
    Import(#[from] ImportErrors),
    /// No category has this code; becomes 404.
    #[error("category {0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the catalogue: {0}")]
    Write(#[from] csv::Error),
}

impl From<CatalogueError> for AppError {
    fn from(error: CatalogueError) -> Self {
        match error {
            CatalogueError::Invalid(messages) => AppError::Invalid(
                messages.into_iter().next().unwrap_or(UserMessage::new("invalid_category_code")),
            ),
            CatalogueError::Import(errors) => AppError::Invalid(
                errors
                    .0
                    .into_iter()
                    .next()
                    .map(|row| row.message)
                    .unwrap_or(UserMessage::new("unreadable_csv")),
            ),
            CatalogueError::NotFound(code) => AppError::not_found("category", code),
            CatalogueError::Store(error) => AppError::Internal(error.into()),
            CatalogueError::Write(error) => AppError::Internal(error.into()),
        }
    }
}

/// A category in API responses: the CSV columns plus the parts of its code.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    pub kind: CategoryKind,
    pub major_code: String,
    pub minor_code: String,
    #[serde(flatten)]
    pub fields: CategoryDraft,
}

impl From<&Category> for CategoryView {
    fn from(category: &Category) -> CategoryView {
        CategoryView {
            kind: category.code.kind(),
            major_code: category.code.major_code().to_owned(),
            minor_code: category.code.minor_code().to_owned(),
            fields: CategoryDraft::from(category),
        }
    }
}

/// Whether [`save_category`] created the category or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Created,
    Updated,
}

/// Lists every category ordered by code.
///
/// # Errors
/// Fails when the database fails.
#[tracing::instrument(skip_all)]
pub async fn list_categories(db: &Db) -> Result<Vec<CategoryView>, CatalogueError> {
    let categories = db.list_categories().await?;
    Ok(categories.iter().map(CategoryView::from).collect())
}

/// Validates `draft` and stores it under `code`, creating or replacing the category.
///
/// # Errors
/// [`CatalogueError::Invalid`] naming each invalid field, including a body `code`
/// that differs from the URL's; nothing is written then.
#[tracing::instrument(skip_all, fields(category.code = %code))]
pub async fn save_category(
    db: &Db,
    code: &str,
    mut draft: CategoryDraft,
) -> Result<(CategoryView, Saved), CatalogueError> {
    let Some(code) = CategoryCode::parse(code) else {
        let message = UserMessage::new("invalid_category_code").arg("value", code).field("code");
        return Err(CatalogueError::Invalid(vec![message]));
    };
    if !draft.code.trim().is_empty() && CategoryCode::parse(&draft.code).as_ref() != Some(&code) {
        let message = UserMessage::new("code_mismatch")
            .arg("value", &draft.code)
            .arg("expected", code.as_str())
            .field("code");
        return Err(CatalogueError::Invalid(vec![message]));
    }
    draft.code = code.as_str().to_owned();
    let category = draft.parse().map_err(CatalogueError::Invalid)?;

    // TODO: record who changed which category in the audit log once it has actions
    // for catalogue and calendar changes; until then only the info log line shows it.
    let existed = db.category_by_code(&category.code).await?.is_some();
    db.upsert_categories(std::slice::from_ref(&category)).await?;
    let saved = if existed { Saved::Updated } else { Saved::Created };
    tracing::info!(category.saved = ?saved, "category saved");
    Ok((CategoryView::from(&category), saved))
}

/// Imports a catalogue CSV file, creating or replacing every category it lists.
///
/// # Errors
/// [`CatalogueError::Import`] listing every invalid row, with nothing written.
#[tracing::instrument(skip_all)]
pub async fn import_catalogue(db: &Db, input: impl std::io::Read) -> Result<usize, CatalogueError> {
    let categories = parse_catalogue(input)?;
    let count = db.upsert_categories(&categories).await?;
    tracing::info!(catalogue.categories = count, "catalogue imported");
    Ok(count)
}

/// Writes every category as CSV in the import format.
///
/// # Errors
/// Fails when the database or `output` fails.
#[tracing::instrument(skip_all)]
pub async fn export_catalogue(
    db: &Db,
    output: impl std::io::Write,
) -> Result<usize, CatalogueError> {
    let categories = db.list_categories().await?;
    write_catalogue(&categories, output)?;
    Ok(categories.len())
}
