//! Duplicate suggestions on the case page and the page that explains a version
//! conflict, when another user acted on the case first.

use askama::Template;
use axum::{http::StatusCode, response::Response};

use super::{action_label, local_time, render_page, stage_label};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::case::{
        Action, CaseError, CaseStore,
        duplicates::{DuplicateView, find_duplicates},
    },
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::Locale,
};

/// One suggested duplicate on the case page.
pub struct SuggestionRow {
    pub case_id: i64,
    pub title: String,
    pub stage_label: String,
    /// Whole metres, such as `120`.
    pub distance_m: String,
    pub created_at: String,
}

/// Lists the suggested duplicates of an open case for staff who may view cases; other
/// users and finished cases get none.
///
/// # Errors
/// A storage failure.
pub async fn suggestion_rows(
    state: &AppState,
    locale: Locale,
    user: &CurrentUser,
    case_id: i64,
) -> Result<Vec<SuggestionRow>, AppError> {
    if !user.role.allows(Permission::ViewCases) {
        return Ok(Vec::new());
    }
    let case = state.db.case_by_id(case_id).await.map_err(CaseError::from)?;
    let Some(case) = case.filter(|case| case.stage.is_open()) else {
        return Ok(Vec::new());
    };
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let duplicates = find_duplicates(&state.db, &index, user, &case).await?;
    let rows = duplicates
        .into_iter()
        .map(|duplicate| {
            let view = DuplicateView::new(duplicate, tz);
            SuggestionRow {
                case_id: view.case_id,
                title: view.title,
                stage_label: stage_label(locale, view.stage),
                distance_m: format!("{:.0}", view.distance_m),
                created_at: local_time(view.created_at),
            }
        })
        .collect();
    Ok(rows)
}

#[derive(Template)]
#[template(path = "cases/conflict.html")]
struct ConflictPage {
    ctx: PageContext,
    case_id: i64,
    /// The action the user tried, in the page's language.
    action_label: String,
    /// The stage the case is in now, after the other user's action.
    stage_label: String,
    message: String,
}

/// Renders the 409 page for an action posted with a stale case version: it names what
/// happened, states that nothing changed and links to the case's current state.
///
/// # Errors
/// A storage failure while loading the current stage.
pub async fn conflict_response(
    state: &AppState,
    ctx: PageContext,
    case_id: i64,
    action: Option<&str>,
    message: &UserMessage,
) -> Result<Response, AppError> {
    let case = state.db.case_by_id(case_id).await.map_err(CaseError::from)?;
    let case = case.ok_or(CaseError::NotFound(case_id))?;
    let locale = ctx.locale;
    tracing::info!(case.id = case_id, case.version = case.version, "stale case form rejected");
    let page = ConflictPage {
        action_label: action_label(locale, action.and_then(Action::parse)),
        stage_label: stage_label(locale, case.stage),
        message: message.render(locale),
        ctx: ctx.at("cases"),
        case_id,
    };
    render_page(&page, StatusCode::CONFLICT)
}
