//! Reading one case with its log, and listing cases in the user's scope.

use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;

use super::{
    access::{can_read, restrict_to_scope},
    error::CaseError,
    stage::Stage,
    store::{CaseFilter, CaseStore},
    transition::{Actor, allowed_actions},
    view::{CaseView, EventView},
};
use crate::{
    accounts::CurrentUser,
    cases::{
        catalogue::CategoryCode,
        search::{SearchQuery, SearchQueryError, query::MAX_QUERY_CHARS},
    },
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
};

/// Cases per list response unless `limit` requests another number.
pub const DEFAULT_LIST_LIMIT: i64 = 50;
/// Most cases one list response returns.
pub const MAX_LIST_LIMIT: i64 = 200;
/// Largest `offset`. Paging deeper than this is slow on large tables, and narrower
/// filters or a search find such cases faster.
pub const MAX_LIST_OFFSET: i64 = 10_000;

/// Filters of `GET /api/v1/cases`, as text so that a bad value gets our error format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Search text; see [`crate::cases::search`] for how it matches.
    pub q: Option<String>,
    pub stage: Option<String>,
    pub category: Option<String>,
    /// Id of a grid, community or any other area: only cases in it or below it.
    pub area: Option<String>,
    /// `true` lists only open cases past their current deadline.
    pub overdue: Option<String>,
    pub limit: Option<String>,
    /// Number of matching cases to skip, for paging.
    pub offset: Option<String>,
}

/// Loads a case with its log and the actions `user` may take on it.
///
/// # Errors
/// [`CaseError::NotFound`] for a missing case and for one the user may not read.
#[tracing::instrument(skip_all, fields(case.id = case_id, user.id = user.user_id))]
pub async fn read_case(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    case_id: i64,
) -> Result<CaseView, CaseError> {
    let case = db.case_by_id(case_id).await?.ok_or(CaseError::NotFound(case_id))?;
    if !can_read(user, index, &case) {
        tracing::debug!("case outside the user's scope");
        return Err(CaseError::NotFound(case_id));
    }
    let is_reporter = case.reporter_user_id == Some(user.user_id);
    let actor = Actor { role: user.role, is_reporter };
    let allowed = allowed_actions(case.stage, actor);
    let events = db.case_events(case_id).await?;
    let mut view = CaseView::new(case, tz, Utc::now(), is_reporter);
    view.allowed_actions = allowed;
    view.events = events.into_iter().map(|event| EventView::new(event, tz)).collect();
    Ok(view)
}

/// Lists the cases in `user`'s scope that match `query`: the most relevant first when
/// it has search text, else the newest first.
///
/// # Errors
/// [`CaseError::BadQuery`] naming the query parameter, or a storage failure.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn list_cases(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    query: ListQuery,
) -> Result<Vec<CaseView>, CaseError> {
    let mut filter = parse_filter(query, index)?;
    restrict_to_scope(user, index, &mut filter);
    let now = Utc::now();
    let cases = db.list_cases(&filter).await?;
    Ok(cases.into_iter().map(|case| CaseView::new(case, tz, now, false)).collect())
}

fn parse_filter(query: ListQuery, index: &AreaIndex) -> Result<CaseFilter, CaseError> {
    let invalid = |field: &str, value: &str| {
        CaseError::BadQuery(
            UserMessage::new("invalid_case_filter")
                .arg("name", field)
                .arg("value", value)
                .field(field),
        )
    };
    let search = parse_search(query.q.as_deref().unwrap_or_default())?;
    let chosen_area_ids = match query.area.as_deref() {
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .and_then(|area_id| area_and_descendants(index, area_id))
                .ok_or_else(|| {
                    let message = UserMessage::new("search_area_unknown").arg("value", text);
                    CaseError::BadQuery(message.field("area"))
                })?,
        ),
        None => None,
    };
    let stage = match query.stage.as_deref() {
        Some(text) => Some(Stage::parse(text).ok_or_else(|| invalid("stage", text))?),
        None => None,
    };
    let category_code = match query.category.as_deref() {
        Some(text) => {
            let code = CategoryCode::parse(text).ok_or_else(|| invalid("category", text))?;
            Some(code.as_str().to_owned())
        }
        None => None,
    };
    let overdue = match query.overdue.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(text) => return Err(invalid("overdue", text)),
    };
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIST_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_LIST_LIMIT).contains(limit))
            .ok_or_else(|| invalid("limit", text))?,
    };
    let offset = match query.offset.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|offset| (0..=MAX_LIST_OFFSET).contains(offset))
            .ok_or_else(|| {
                let message = UserMessage::new("search_offset_invalid")
                    .arg("value", text)
                    .arg("max", MAX_LIST_OFFSET);
                CaseError::BadQuery(message.field("offset"))
            })?,
    };
    Ok(CaseFilter {
        search,
        chosen_area_ids,
        offset,
        stage,
        category_code,
        overdue_at: overdue.then(Utc::now),
        limit,
        ..CaseFilter::default()
    })
}

fn parse_search(text: &str) -> Result<Option<SearchQuery>, CaseError> {
    SearchQuery::parse(text).map_err(|error| {
        let message = match error {
            SearchQueryError::TooLong(length) => UserMessage::new("search_query_too_long")
                .arg("length", length)
                .arg("max", MAX_QUERY_CHARS),
            SearchQueryError::NoTerms => UserMessage::new("search_query_no_terms"),
        };
        CaseError::BadQuery(message.field("q"))
    })
}

/// Lists `area_id` and every area below it, or `None` for an unknown area.
fn area_and_descendants(index: &AreaIndex, area_id: i64) -> Option<Vec<i64>> {
    index.area(area_id)?;
    let mut area_ids = vec![area_id];
    let mut next = 0;
    while let Some(&parent_id) = area_ids.get(next) {
        area_ids.extend(index.children(parent_id).iter().map(|child| child.area_id));
        next += 1;
    }
    Some(area_ids)
}
