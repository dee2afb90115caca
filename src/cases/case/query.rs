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
    accounts::CurrentUser, cases::catalogue::CategoryCode, db::Db, http::UserMessage,
    locate::AreaIndex,
};

/// Cases per list response unless `limit` requests another number.
pub const DEFAULT_LIST_LIMIT: i64 = 50;
/// Most cases one list response returns.
pub const MAX_LIST_LIMIT: i64 = 200;

/// Filters of `GET /api/v1/cases`, as text so that a bad value gets our error format.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub stage: Option<String>,
    pub category: Option<String>,
    /// `true` lists only open cases past their current deadline.
    pub overdue: Option<String>,
    pub limit: Option<String>,
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

/// Lists the newest cases in `user`'s scope that match `query`.
///
/// # Errors
/// [`CaseError::Invalid`] naming the query parameter, or a storage failure.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn list_cases(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    query: ListQuery,
) -> Result<Vec<CaseView>, CaseError> {
    let mut filter = parse_filter(query)?;
    restrict_to_scope(user, index, &mut filter);
    let now = Utc::now();
    let cases = db.list_cases(&filter).await?;
    Ok(cases.into_iter().map(|case| CaseView::new(case, tz, now, false)).collect())
}

fn parse_filter(query: ListQuery) -> Result<CaseFilter, CaseError> {
    let invalid = |field: &str, value: &str| {
        CaseError::Invalid(UserMessage::new("invalid_case_filter").arg("value", value).field(field))
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
    Ok(CaseFilter {
        stage,
        category_code,
        overdue_at: overdue.then(Utc::now),
        limit,
        ..CaseFilter::default()
    })
}
