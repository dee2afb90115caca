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
//! Renaming a category removes its cases' entries in the renaming transaction and
//! queues them for [`backfill`], which indexes them again under the new names. Until it
//! has run, those cases are missing from search results.

pub mod index;
pub mod query;
pub mod tokenize;

pub use index::SearchIndex;
pub use query::{SearchQuery, SearchQueryError};

use crate::{db::Db, with_pool};

/// Indexes the cases that were stored before the search index existed, and those whose
/// category was renamed since.
///
/// The migration that creates the index, and every category rename, leave a row in
/// `case_search_backfill` with the last case id done. This function indexes the cases
/// without an entry in pages of [`index::INDEX_PAGE_ROWS`], one transaction each, and
/// deletes the row at the end. An interrupted back-fill therefore resumes where it
/// stopped. Runs in one process wait for each other, and on PostgreSQL each page locks
/// the row, so two nodes never index the same case twice. Once it is done, each call
/// costs one query.
///
/// # Errors
/// A database failure; the pages committed before it stay indexed.
#[tracing::instrument(skip_all)]
pub async fn backfill(db: &Db) -> Result<(), sqlx::Error> {
    static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _running = RUNNING.lock().await;
    let select = match db {
        Db::Sqlite(_) => "SELECT after_case_id FROM case_search_backfill",
        Db::Postgres(_) => "SELECT after_case_id FROM case_search_backfill FOR UPDATE",
    };
    let mut pages = 0_u64;
    with_pool!(db, |pool| {
        loop {
            let mut tx = pool.begin().await?;
            let pending: Option<(i64,)> = sqlx::query_as(select).fetch_optional(&mut *tx).await?;
            let Some((after_case_id,)) = pending else {
                break;
            };
            if pages == 0 {
                tracing::info!(after_case_id, "search index back-fill started");
            }
            pages += 1;
            match (*tx).index_missing_page(after_case_id).await? {
                Some(last_case_id) => {
                    sqlx::query("UPDATE case_search_backfill SET after_case_id = $1")
                        .bind(last_case_id)
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    sqlx::query("DELETE FROM case_search_backfill").execute(&mut *tx).await?;
                    tx.commit().await?;
                    tracing::info!(pages, "search index back-fill finished");
                    break;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    })
}

/// Runs [`backfill`] in a task of its own, so that a request which renamed a category
/// returns before the category's cases are indexed again.
pub fn backfill_in_background(db: Db) {
    tokio::spawn(async move {
        if let Err(error) = backfill(&db).await {
            tracing::error!(%error, "search index back-fill failed; it resumes at the next start");
        }
    });
}
