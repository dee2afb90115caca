//! A parsed search query and its text in each backend's query language.

use super::tokenize::{QueryGroup, query_groups};
use crate::db::Backend;

/// Maximum query length, in characters. A longer query is almost certainly pasted
/// text, and every CJK character of it would become one more index lookup.
pub const MAX_QUERY_CHARS: usize = 100;

/// A query of `q`: the groups a case must all match, each non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    groups: Vec<QueryGroup>,
}

/// Reason a query text cannot be searched for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("the query has {0} characters, more than the maximum")]
    TooLong(usize),
    #[error("the query has no letters, digits or CJK characters")]
    NoTerms,
}

impl SearchQuery {
    /// Parses the text of a search box. Blank text means no search and gives `None`.
    ///
    /// # Errors
    /// [`SearchQueryError::TooLong`] over [`MAX_QUERY_CHARS`] characters, and
    /// [`SearchQueryError::NoTerms`] for text of punctuation only.
    pub fn parse(text: &str) -> Result<Option<SearchQuery>, SearchQueryError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let length = text.chars().count();
        if length > MAX_QUERY_CHARS {
            return Err(SearchQueryError::TooLong(length));
        }
        let groups = query_groups(text);
        if groups.is_empty() {
            return Err(SearchQueryError::NoTerms);
        }
        Ok(Some(SearchQuery { groups }))
    }

    /// Returns the query in the language of `backend`'s index: an FTS5 `MATCH`
    /// expression on SQLite, `tsquery` text on PostgreSQL.
    pub fn expression(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => self.fts5_expression(),
            Backend::Postgres => self.tsquery(),
        }
    }

    /// Builds an FTS5 expression such as `"井盖 盖丢" AND "noise" AND "井"*`, where
    /// a quoted list of terms is a phrase. Terms contain no quotes, so none are escaped.
    fn fts5_expression(&self) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|group| match group {
                QueryGroup::Word(word) => format!("\"{word}\""),
                QueryGroup::Phrase(bigrams) => format!("\"{}\"", bigrams.join(" ")),
                QueryGroup::Prefix(character) => format!("\"{character}\"*"),
            })
            .collect();
        groups.join(" AND ")
    }

    /// Builds `tsquery` text such as `'井盖' <-> '盖丢' & 'noise' & '井':*`.
    fn tsquery(&self) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|group| match group {
                QueryGroup::Word(word) => quote_lexeme(word),
                QueryGroup::Phrase(bigrams) => {
                    let lexemes: Vec<String> = bigrams.iter().map(|b| quote_lexeme(b)).collect();
                    format!("({})", lexemes.join(" <-> "))
                }
                QueryGroup::Prefix(character) => format!("{}:*", quote_lexeme(character)),
            })
            .collect();
        groups.join(" & ")
    }
}

/// Quotes a term as a PostgreSQL `tsvector`/`tsquery` lexeme. Terms hold only letters,
/// digits and CJK characters, but quoting keeps the text valid whatever they hold.
pub(super) fn quote_lexeme(term: &str) -> String {
    format!("'{}'", term.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_renders_for_both_backends() {
        let query = SearchQuery::parse(" 井盖丢失 Noise 井 ").unwrap().unwrap();
        assert_eq!(
            query.expression(Backend::Sqlite),
            "\"井盖 盖丢 丢失\" AND \"noise\" AND \"井\"*"
        );
        assert_eq!(
            query.expression(Backend::Postgres),
            "('井盖' <-> '盖丢' <-> '丢失') & 'noise' & '井':*"
        );
    }

    #[test]
    fn blank_query_is_no_search() {
        assert_eq!(SearchQuery::parse("   "), Ok(None));
    }

    #[test]
    fn bad_queries_are_rejected() {
        assert_eq!(SearchQuery::parse("？！"), Err(SearchQueryError::NoTerms));
        let long = "噪".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(SearchQuery::parse(&long), Err(SearchQueryError::TooLong(MAX_QUERY_CHARS + 1)));
    }
}
