//! Writing the search index, inside the transaction that writes the cases.
//!
//! SQLite keeps the terms in the FTS5 table `case_search`, whose rowid is the case id.
//! PostgreSQL keeps them as a `tsvector` with positions in `case_search`, under a GIN
//! index. Both hold the terms of `document_terms`, so the two backends find the same
//! cases; only the relevance scores differ.

use sqlx::{PgConnection, SqliteConnection};

use super::{query::quote_lexeme, tokenize::index_terms};

/// Cases read and indexed per statement when indexing many cases at once.
pub const INDEX_PAGE_ROWS: i64 = 1_000;
/// Rows per SQLite index insert: two parameters each, far under SQLite's default limit
/// of 32,766.
const SQLITE_INDEX_BATCH_ROWS: usize = 1_000;
/// Maximum `tsvector` position. PostgreSQL keeps later terms at this position, so a
/// phrase in the tail of a text of over 16,383 terms may match loosely.
const MAX_TSVECTOR_POSITION: usize = 16_383;

/// The searchable text of one case as stored: its own text and its category's names.
#[derive(Debug, sqlx::FromRow)]
pub struct CaseText {
    pub case_id: i64,
    pub title: String,
    pub description: String,
    pub address: Option<String>,
    pub name_zh: String,
    pub name_en: String,
}

/// Returns the index terms of a case: title, description, address and both category
/// names.
/// An imported case whose description repeats its title is indexed once.
fn document_terms(text: &CaseText) -> Vec<String> {
    let mut terms = index_terms(&text.title);
    if text.description != text.title {
        terms.extend(index_terms(&text.description));
    }
    if let Some(address) = &text.address {
        terms.extend(index_terms(address));
    }
    terms.extend(index_terms(&text.name_zh));
    terms.extend(index_terms(&text.name_en));
    terms
}

/// Builds the `tsvector` text of `terms` with 1-based positions, such as
/// `'井盖':1 '盖丢':2`, so that phrase queries can match on PostgreSQL.
fn tsvector_text(terms: &[String]) -> String {
    let lexemes: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(index, term)| {
            format!("{}:{}", quote_lexeme(term), (index + 1).min(MAX_TSVECTOR_POSITION))
        })
        .collect();
    lexemes.join(" ")
}

/// Writing index entries through one connection, usually inside a transaction.
pub trait SearchIndex {
    /// Replaces the index entry of one case with its current text.
    fn index_case(&mut self, case_id: i64) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Replaces the index entries of `case_ids` with their current text, with one
    /// statement of each kind per [`INDEX_PAGE_ROWS`] cases.
    fn index_cases(
        &mut self,
        case_ids: &[i64],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Indexes up to [`INDEX_PAGE_ROWS`] cases that have no index entry and ids above
    /// `after_case_id`. Returns the last case id indexed, or `None` when none was left.
    fn index_missing_page(
        &mut self,
        after_case_id: i64,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

    /// Indexes new cases whose text the caller already has, such as a batch of
    /// imported cases, without reading them back.
    fn index_new_cases(
        &mut self,
        texts: &[CaseText],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Removes the index entries of every case of `category_code` and queues them for
    /// [`super::backfill`], which indexes them again under the category's new names.
    fn unindex_category(
        &mut self,
        category_code: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Selects [`CaseText`] rows that meet `$condition`.
macro_rules! select_case_text {
    ($condition:expr) => {
        concat!(
            "SELECT c.case_id, c.title, c.description, c.address, g.name_zh, g.name_en \
             FROM service_case c JOIN category g ON g.category_code = c.category_code WHERE ",
            $condition
        )
    };
}

/// Returns `$1, $2, …` for `count` parameters.
fn placeholders(count: usize) -> String {
    let list: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    list.join(", ")
}

/// Implements [`SearchIndex`] for one connection type; `$key` is the case id column of
/// `case_search` and `$insert` stores a batch of rows.
macro_rules! impl_search_index {
    ($connection:ty, $key:literal, $insert:ident) => {
        impl SearchIndex for $connection {
            async fn index_case(&mut self, case_id: i64) -> Result<(), sqlx::Error> {
                let delete = concat!("DELETE FROM case_search WHERE ", $key, " = $1");
                sqlx::query(delete).bind(case_id).execute(&mut *self).await?;
                let texts: Vec<CaseText> = sqlx::query_as(select_case_text!("c.case_id = $1"))
                    .bind(case_id)
                    .fetch_all(&mut *self)
                    .await?;
                $insert(self, &texts).await
            }

            async fn index_cases(&mut self, case_ids: &[i64]) -> Result<(), sqlx::Error> {
                for page in case_ids.chunks(INDEX_PAGE_ROWS as usize) {
                    let list = placeholders(page.len());
                    let delete =
                        format!(concat!("DELETE FROM case_search WHERE ", $key, " IN ({})"), list);
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(delete));
                    for case_id in page {
                        query = query.bind(*case_id);
                    }
                    query.execute(&mut *self).await?;
                    let select = format!(select_case_text!("c.case_id IN ({})"), list);
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(select));
                    for case_id in page {
                        query = query.bind(*case_id);
                    }
                    let texts: Vec<CaseText> = query.fetch_all(&mut *self).await?;
                    $insert(self, &texts).await?;
                }
                Ok(())
            }

            async fn index_missing_page(
                &mut self,
                after_case_id: i64,
            ) -> Result<Option<i64>, sqlx::Error> {
                let select = select_case_text!(concat!(
                    "c.case_id > $1 AND NOT EXISTS (SELECT 1 FROM case_search s WHERE s.",
                    $key,
                    " = c.case_id) ORDER BY c.case_id LIMIT $2"
                ));
                let texts: Vec<CaseText> = sqlx::query_as(select)
                    .bind(after_case_id)
                    .bind(INDEX_PAGE_ROWS)
                    .fetch_all(&mut *self)
                    .await?;
                $insert(self, &texts).await?;
                Ok(texts.last().map(|text| text.case_id))
            }

            async fn index_new_cases(&mut self, texts: &[CaseText]) -> Result<(), sqlx::Error> {
                $insert(self, texts).await
            }

            async fn unindex_category(&mut self, category_code: &str) -> Result<(), sqlx::Error> {
                let first: (Option<i64>,) = sqlx::query_as(
                    "SELECT MIN(case_id) FROM service_case WHERE category_code = $1",
                )
                .bind(category_code)
                .fetch_one(&mut *self)
                .await?;
                let Some(first) = first.0 else {
                    return Ok(());
                };
                let delete = concat!(
                    "DELETE FROM case_search WHERE ",
                    $key,
                    " IN (SELECT case_id FROM service_case WHERE category_code = $1)"
                );
                sqlx::query(delete).bind(category_code).execute(&mut *self).await?;
                let after_case_id = first - 1;
                sqlx::query(
                    "UPDATE case_search_backfill SET after_case_id = $1 WHERE after_case_id > $1",
                )
                .bind(after_case_id)
                .execute(&mut *self)
                .await?;
                sqlx::query(
                    "INSERT INTO case_search_backfill (after_case_id) SELECT $1 \
                     WHERE NOT EXISTS (SELECT 1 FROM case_search_backfill)",
                )
                .bind(after_case_id)
                .execute(&mut *self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_search_index!(SqliteConnection, "rowid", insert_sqlite);
impl_search_index!(PgConnection, "case_id", insert_postgres);

/// Inserts FTS5 rows in multi-row statements of [`SQLITE_INDEX_BATCH_ROWS`]. Each
/// statement is one hand-off to the driver's worker thread, which in a profile of the
/// import benchmark cost more than SQLite's own work for a row.
async fn insert_sqlite(connection: &mut SqliteConnection, texts: &[CaseText]) -> sqlx::Result<()> {
    for batch in texts.chunks(SQLITE_INDEX_BATCH_ROWS) {
        let mut insert = sqlx::QueryBuilder::new("INSERT INTO case_search (rowid, terms) ");
        insert.push_values(batch, |mut values, text| {
            values.push_bind(text.case_id).push_bind(document_terms(text).join(" "));
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(())
}

/// Appends to `builder` the statements that insert the FTS5 rows of `texts`, each
/// ending in `;`, for a caller that sends them with other statements in one call.
pub fn push_sqlite_rows(builder: &mut sqlx::QueryBuilder<sqlx::Sqlite>, texts: &[CaseText]) {
    for batch in texts.chunks(SQLITE_INDEX_BATCH_ROWS) {
        builder.push("INSERT INTO case_search (rowid, terms) ");
        builder.push_values(batch, |mut values, text| {
            values.push_bind(text.case_id).push_bind(document_terms(text).join(" "));
        });
        builder.push(";\n");
    }
}

/// Inserts `tsvector` rows in one statement from two arrays, one round trip per batch.
async fn insert_postgres(connection: &mut PgConnection, texts: &[CaseText]) -> sqlx::Result<()> {
    if texts.is_empty() {
        return Ok(());
    }
    let case_ids: Vec<i64> = texts.iter().map(|text| text.case_id).collect();
    let documents: Vec<String> =
        texts.iter().map(|text| tsvector_text(&document_terms(text))).collect();
    sqlx::query(
        "INSERT INTO case_search (case_id, terms) \
         SELECT case_id, CAST(document AS tsvector) \
         FROM unnest($1::bigint[], $2::text[]) AS row (case_id, document)",
    )
    .bind(case_ids)
    .bind(documents)
    .execute(connection)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_covers_text_address_and_both_category_names() {
        let text = CaseText {
            case_id: 1,
            title: "井盖".to_owned(),
            description: "Loud noise".to_owned(),
            address: Some("春望里".to_owned()),
            name_zh: "噪音".to_owned(),
            name_en: "Noise".to_owned(),
        };
        let terms = document_terms(&text);
        assert_eq!(
            terms,
            ["井盖", "盖", "loud", "noise", "春望", "望里", "里", "噪音", "音", "noise"]
        );
    }

    #[test]
    fn tsvector_text_numbers_and_quotes_terms() {
        let terms = vec!["井盖".to_owned(), "it's".to_owned()];
        assert_eq!(tsvector_text(&terms), "'井盖':1 'it''s':2");
    }
}
