//! Listing cases: the filters of the queue and the API, with optional full-text search.

use chrono::{DateTime, Utc};

use super::{
    StoreError,
    rows::{CASE_COLUMNS, CaseRow},
};
use crate::{
    cases::{
        case::{record::Case, stage::Stage},
        search::SearchQuery,
    },
    db::{Backend, Db},
    with_pool,
};

/// The conditions of [`CaseStore::list_cases`](super::CaseStore::list_cases).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only cases in one of these grids or communities; `None` means every area.
    pub area_ids: Option<Vec<i64>>,
    /// Also cases located in no grid, which only dispatchers place.
    pub include_outside_grids: bool,
    /// Only cases in one of these grids or communities, as the user chose them. This
    /// narrows `area_ids` and never widens it.
    pub chosen_area_ids: Option<Vec<i64>>,
    /// Only cases matching this query, most relevant first.
    pub search: Option<SearchQuery>,
    pub stage: Option<Stage>,
    pub category_code: Option<String>,
    /// Only cases dispatched to this department: at or after dispatch and with this
    /// `department_code`.
    pub dispatched_to: Option<String>,
    /// Only open cases whose current deadline is before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Largest number of cases returned.
    pub limit: i64,
    /// Number of matching cases skipped before the first one returned.
    pub offset: i64,
}

/// A value bound to a numbered placeholder of the list query.
enum Param {
    Integer(i64),
    Text(String),
    Time(DateTime<Utc>),
}

/// SQL text and its parameters, numbered in the order they are pushed.
#[derive(Default)]
struct ListQuery {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl ListQuery {
    fn placeholder(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    /// Adds `(grid_id IN (…) OR community_id IN (…))`, plus cases outside every grid
    /// when `outside` is set. An empty list matches no case.
    fn push_areas(&mut self, area_ids: &[i64], outside: bool) {
        let list = |query: &mut ListQuery| {
            let placeholders: Vec<String> =
                area_ids.iter().map(|id| query.placeholder(Param::Integer(*id))).collect();
            if placeholders.is_empty() { "NULL".to_owned() } else { placeholders.join(", ") }
        };
        let grids = list(self);
        let communities = list(self);
        let outside = if outside { " OR outside_grids" } else { "" };
        self.conditions
            .push(format!("(grid_id IN ({grids}) OR community_id IN ({communities}){outside})"));
    }
}

/// The join that keeps matching cases with their score, and the order by that score.
///
/// NOTE: both backends score every match before `LIMIT` applies, so a term found in
/// millions of cases makes the query slow. The cost at that scale is not measured.
fn search_join(backend: Backend, placeholder: &str) -> (String, &'static str) {
    match backend {
        // bm25() is lower for better matches.
        Backend::Sqlite => (
            format!(
                " JOIN (SELECT rowid AS case_id, bm25(case_search) AS rank FROM case_search \
                 WHERE case_search MATCH {placeholder}) s USING (case_id)"
            ),
            "s.rank, ",
        ),
        Backend::Postgres => (
            format!(
                " JOIN (SELECT case_id, ts_rank(terms, query) AS rank \
                 FROM case_search, CAST({placeholder} AS tsquery) AS query \
                 WHERE terms @@ query) s USING (case_id)"
            ),
            "s.rank DESC, ",
        ),
    }
}

/// Builds the `SELECT` of [`list_cases`] and its parameters in placeholder order.
fn list_query(filter: &CaseFilter, backend: Backend) -> (String, Vec<Param>) {
    let mut query = ListQuery::default();
    let (join, rank_order) = match &filter.search {
        Some(search) => {
            let placeholder = query.placeholder(Param::Text(search.expression(backend)));
            search_join(backend, &placeholder)
        }
        None => (String::new(), ""),
    };
    if let Some(area_ids) = &filter.area_ids {
        query.push_areas(area_ids, filter.include_outside_grids);
    }
    if let Some(area_ids) = &filter.chosen_area_ids {
        query.push_areas(area_ids, false);
    }
    if let Some(stage) = filter.stage {
        let stage = query.placeholder(Param::Text(stage.as_str().to_owned()));
        query.conditions.push(format!("stage = {stage}"));
    }
    if let Some(code) = &filter.category_code {
        let code = query.placeholder(Param::Text(code.clone()));
        query.conditions.push(format!("category_code = {code}"));
    }
    if let Some(department_code) = &filter.dispatched_to {
        let department_code = query.placeholder(Param::Text(department_code.clone()));
        query.conditions.push(format!(
            "department_code = {department_code} \
             AND stage NOT IN ('intake', 'filed', 'voided', 'merged')"
        ));
    }
    if let Some(now) = filter.overdue_at {
        let now = query.placeholder(Param::Time(now));
        query.conditions.push(format!(
            "due_at < {now} AND due_at IS NOT NULL \
             AND stage NOT IN ('closed', 'rated', 'voided', 'merged')"
        ));
    }
    let clause = if query.conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", query.conditions.join(" AND "))
    };
    let limit = query.placeholder(Param::Integer(filter.limit));
    let offset = query.placeholder(Param::Integer(filter.offset));
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM service_case{join}{clause} \
         ORDER BY {rank_order}case_id DESC LIMIT {limit} OFFSET {offset}"
    );
    (sql, query.params)
}

/// Lists the cases matching `filter`: by relevance when it has a search query, else
/// newest first.
pub(super) async fn list_cases(db: &Db, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
    let (sql, params) = list_query(filter, db.backend());
    let rows: Vec<CaseRow> = with_pool!(db, |pool| {
        let mut select = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for param in &params {
            select = match param {
                Param::Integer(value) => select.bind(*value),
                Param::Text(value) => select.bind(value.clone()),
                Param::Time(value) => select.bind(*value),
            };
        }
        select.fetch_all(pool).await
    })?;
    rows.into_iter().map(Case::try_from).collect()
}
