//! Queries of the Open311 request list, token lookup and department names.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{cases::case::Stage, db::Db, with_pool};

/// The conditions of `GET requests`, already validated.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// When given, only these cases, and the other conditions are ignored.
    pub case_ids: Vec<i64>,
    pub category_codes: Vec<String>,
    /// Cases created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Cases created at or before this instant.
    pub created_to: Option<DateTime<Utc>>,
    /// Only cases in these stages; empty means every stage.
    pub stages: Vec<Stage>,
    pub limit: i64,
}

/// Builds the query of [`request_case_ids`] with numbered placeholders, bound in the
/// order ids, codes, from, to, stages, limit.
fn request_query(filter: &RequestFilter) -> String {
    let mut next = 1;
    let mut placeholders = |count: usize| {
        let list: Vec<String> = (next..next + count).map(|n| format!("${n}")).collect();
        next += count;
        list.join(", ")
    };
    let mut conditions = Vec::new();
    if !filter.case_ids.is_empty() {
        conditions.push(format!("case_id IN ({})", placeholders(filter.case_ids.len())));
    }
    if !filter.category_codes.is_empty() {
        let list = placeholders(filter.category_codes.len());
        conditions.push(format!("category_code IN ({list})"));
    }
    if filter.created_from.is_some() {
        conditions.push(format!("created_at >= {}", placeholders(1)));
    }
    if filter.created_to.is_some() {
        conditions.push(format!("created_at <= {}", placeholders(1)));
    }
    if !filter.stages.is_empty() {
        conditions.push(format!("stage IN ({})", placeholders(filter.stages.len())));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let limit = placeholders(1);
    format!("SELECT case_id FROM service_case{clause} ORDER BY case_id DESC LIMIT {limit}")
}

/// Lists the ids of the cases matching `filter`, newest first.
pub async fn request_case_ids(db: &Db, filter: &RequestFilter) -> Result<Vec<i64>, sqlx::Error> {
    let query = request_query(filter);
    let rows: Vec<(i64,)> = with_pool!(db, |pool| {
        let mut select = sqlx::query_as(sqlx::AssertSqlSafe(query.clone()));
        for case_id in &filter.case_ids {
            select = select.bind(*case_id);
        }
        for code in &filter.category_codes {
            select = select.bind(code.clone());
        }
        if let Some(from) = filter.created_from {
            select = select.bind(from);
        }
        if let Some(to) = filter.created_to {
            select = select.bind(to);
        }
        for stage in &filter.stages {
            select = select.bind(stage.as_str());
        }
        select.bind(filter.limit).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|(case_id,)| case_id).collect())
}

/// Finds the case whose tracking token is `token`.
pub async fn case_id_by_token(db: &Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    let found: Option<(i64,)> = with_pool!(db, |pool| {
        sqlx::query_as("SELECT case_id FROM service_case WHERE tracking_token = $1")
            .bind(token)
            .fetch_optional(pool)
            .await
    })?;
    Ok(found.map(|(case_id,)| case_id))
}

/// Maps every department code to its name, for `agency_responsible`.
pub async fn department_names(db: &Db) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = with_pool!(db, |pool| {
        sqlx::query_as("SELECT department_code, name FROM department").fetch_all(pool).await
    })?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_query_numbers_placeholders_in_bind_order() {
        let filter = RequestFilter {
            category_codes: vec!["E0101".into(), "E0102".into()],
            created_from: Some(Utc::now()),
            stages: vec![Stage::Intake],
            limit: 10,
            ..RequestFilter::default()
        };
        assert_eq!(
            request_query(&filter),
            "SELECT case_id FROM service_case WHERE category_code IN ($1, $2) AND \
             created_at >= $3 AND stage IN ($4) ORDER BY case_id DESC LIMIT $5"
        );
    }
}
