//! Full-text search over case text, in Chinese and in English.
//!
//! [`tokenize`] turns text into index terms: overlapping bigrams for CJK runs, so that
//! a two-character word such as 噪音 or 井盖 is a term, and lowercased words for Latin
//! letters and digits. The same tokenizer parses queries into [`SearchQuery`]: a CJK run
//! of three or more characters must appear as written (consecutive bigrams), and a
//! single CJK character matches every indexed occurrence of it. Every group of a query
//! must match.
//!
//! [`index`] stores the terms of a case's title, description, address and category
//! names (zh and en) in `case_search`: an FTS5 table on SQLite and a `tsvector` under a GIN index
//! on PostgreSQL. Case writes update it in their own transaction, and [`backfill`]
//! indexes the cases that existed before the index did. Listing cases with `q` lives
//! in the case store; this module does not decide who may see a case.
//!
//! NOTE: renaming a category does not re-index its cases, so they stay findable under
//! the old names until they are re-indexed.

pub mod index;
pub mod query;
pub mod tokenize;

pub use index::SearchIndex;
pub use query::{SearchQuery, SearchQueryError};

use crate::{db::Db, with_pool};

/// Indexes the cases that were stored before the search index existed.
///
/// The migration that creates the index leaves a row in `case_search_backfill` with the
/// last case id done. This function indexes the cases in pages of
/// [`index::INDEX_PAGE_ROWS`], one transaction each, and deletes the row at the end.
/// An interrupted back-fill therefore resumes where it stopped. Once it is done, each
/// start costs one query.
///
/// # Errors
/// A database failure; the pages committed before it stay indexed.
#[tracing::instrument(skip_all)]
pub async fn backfill(db: &Db) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        let pending: Option<(i64,)> =
            sqlx::query_as("SELECT after_case_id FROM case_search_backfill")
                .fetch_optional(pool)
                .await?;
        let Some((mut after_case_id,)) = pending else {
            return Ok(());
        };
        tracing::info!(after_case_id, "search index back-fill started");
        loop {
            let mut tx = pool.begin().await?;
            match (*tx).index_missing_page(after_case_id).await? {
                Some(last_case_id) => {
                    sqlx::query("UPDATE case_search_backfill SET after_case_id = $1")
                        .bind(last_case_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    after_case_id = last_case_id;
                }
                None => {
                    sqlx::query("DELETE FROM case_search_backfill").execute(&mut *tx).await?;
                    tx.commit().await?;
                    break;
                }
            }
        }
        tracing::info!(after_case_id, "search index back-fill finished");
        Ok(())
    })
}
