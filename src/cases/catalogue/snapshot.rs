//! The category catalogue kept in memory between requests.
//!
//! Every intake reads its category twice (to validate and time the report, then to
//! bound the duplicate search), and the catalogue changes a few times a year. It is
//! kept in a [`Snapshots`]. [`CatalogueStore::upsert_categories`] drops it at once, and
//! a change by another node or process shows within [`crate::db::snapshot::MAX_AGE`].
//! A code missing from the snapshot is looked up in the database, so a category that
//! another writer has just added (such as the import's catch-all) is not rejected.

use std::collections::BTreeMap;

use super::{CatalogueStore, Category, CategoryCode, store::StoreError};
use crate::db::{Db, snapshot::Snapshots};

static CATALOGUES: Snapshots<BTreeMap<String, Category>> = Snapshots::new();

/// Loads every category by code.
async fn load_catalogue(db: &Db) -> Result<BTreeMap<String, Category>, StoreError> {
    let categories = db.list_categories().await?;
    Ok(categories
        .into_iter()
        .map(|category| (category.code.as_str().to_owned(), category))
        .collect())
}

/// Finds one category by code, from memory when the snapshot is recent.
///
/// # Errors
/// Fails when the database fails or contains a corrupt category.
pub async fn cached_category(db: &Db, code: &CategoryCode) -> Result<Option<Category>, StoreError> {
    let catalogue = CATALOGUES.get_or_load(db, load_catalogue(db)).await?;
    match catalogue.get(code.as_str()) {
        Some(category) => Ok(Some(category.clone())),
        None => db.category_by_code(code).await,
    }
}

/// Drops the snapshot of `db` after a change of its catalogue.
pub fn forget_catalogue(db: &Db) {
    CATALOGUES.forget(db);
}
