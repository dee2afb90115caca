//! Re-classification (重新分类): a dispatcher corrects the category of a case.
//!
//! The case keeps its id. Unless the dispatcher names a department, routing runs again
//! for the new category. The deadline of the current clock is recomputed from the new
//! category's limit, counted on the working-time calendar from the moment that clock
//! started. The dispatch clock starts at intake or the last return. The handling clock
//! starts at the last dispatch, re-dispatch, rework or reopening, and the extensions
//! approved since then still apply. Clocks of later stages need no change, because each
//! starts when its stage begins and reads the case's category then.

use chrono::{DateTime, Utc};

use super::{
    error::CaseError,
    record::{Case, CaseEvent},
    stage::{Action, Stage},
    store::CaseStore,
    transitions::{Context, TransitionInput, named_department},
};
use crate::{
    cases::{
        calendar::{TimeUnit, WorkingAmount},
        catalogue::{CatalogueStore, Category, CategoryCode},
        routing::service::route_case,
    },
    http::UserMessage,
};

/// Changes the category, department and current deadline of `case` and returns the
/// details of the log entry: old and new category, department and how it was chosen.
///
/// # Errors
/// [`CaseError::Invalid`] for a missing, unknown or unchanged `category_code`, or an
/// unknown `department_code`.
pub(super) async fn reclassify(
    context: &Context<'_>,
    input: &TransitionInput,
    case: &mut Case,
) -> Result<serde_json::Value, CaseError> {
    let category = parse_new_category(context, input, case).await?;
    let routing = match named_department(context.db, input).await? {
        Some(code) => {
            case.department_code = code;
            serde_json::json!({ "basis": "dispatcher" })
        }
        None => {
            let route = route_case(context.db, context.index, &category, case.grid_id).await?;
            case.department_code = route.department_code.clone();
            route.details()
        }
    };
    let from_category =
        std::mem::replace(&mut case.category_code, category.code.as_str().to_owned());
    let events = context.db.case_events(case.case_id).await?;
    recompute_deadline(context, &category, &events, case)?;
    tracing::info!(
        case.from_category = %from_category,
        case.to_category = %case.category_code,
        "case reclassified"
    );
    Ok(serde_json::json!({
        "from_category": from_category,
        "to_category": case.category_code,
        "department_code": case.department_code,
        "routing": routing,
        "due_at": case.due_at,
    }))
}

async fn parse_new_category(
    context: &Context<'_>,
    input: &TransitionInput,
    case: &Case,
) -> Result<Category, CaseError> {
    let text = input.category_code.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        let message = UserMessage::new("routing_reclassify_category_missing");
        return Err(CaseError::Invalid(message.field("category_code")));
    }
    let unknown = || {
        CaseError::Invalid(
            UserMessage::new("unknown_category").arg("code", text).field("category_code"),
        )
    };
    let code = CategoryCode::parse(text).ok_or_else(unknown)?;
    if code.as_str() == case.category_code {
        let message = UserMessage::new("routing_reclassify_same_category").arg("code", text);
        return Err(CaseError::Invalid(message.field("category_code")));
    }
    context.db.category_by_code(&code).await?.ok_or_else(unknown)
}

/// Sets the deadline of the clock that runs in the case's (new) stage from the new
/// category's limit.
fn recompute_deadline(
    context: &Context<'_>,
    category: &Category,
    events: &[CaseEvent],
    case: &mut Case,
) -> Result<(), CaseError> {
    match case.stage {
        Stage::Intake | Stage::Filed => {
            let start = last_event_at(events, &[Action::Return]).unwrap_or(case.created_at);
            case.dispatch_due_at = Some(context.after(start, category.dispatch_limit)?);
            case.due_at = case.dispatch_due_at;
        }
        _ => {
            let starts = [Action::Dispatch, Action::Redispatch, Action::Rework, Action::Reopen];
            let start = last_event_at(events, &starts).unwrap_or(context.now);
            let mut due_at = context.after(start, category.handling_limit)?;
            // Extensions approved since the clock started still apply, in their order.
            for extension in approved_extensions_since(events, start) {
                due_at = context.after(due_at, extension)?;
            }
            case.handling_due_at = Some(due_at);
            case.due_at = case.handling_due_at;
        }
    }
    Ok(())
}

/// Lists the extensions approved at or after `start`, oldest first, from the
/// `extension` detail that approving stores.
fn approved_extensions_since(events: &[CaseEvent], start: DateTime<Utc>) -> Vec<WorkingAmount> {
    events
        .iter()
        .filter(|event| event.action == Some(Action::ApproveExtension))
        .filter(|event| event.occurred_at >= start)
        .filter_map(|event| {
            let extension = event.details.get("extension")?;
            let unit = TimeUnit::parse(extension.get("unit")?.as_str()?).ok()?;
            WorkingAmount::new(extension.get("amount")?.as_i64()?, unit).ok()
        })
        .collect()
}

/// Finds when the newest event of one of `actions` happened.
fn last_event_at(events: &[CaseEvent], actions: &[Action]) -> Option<DateTime<Utc>> {
    events
        .iter()
        .rev()
        .find(|event| event.action.is_some_and(|action| actions.contains(&action)))
        .map(|event| event.occurred_at)
}
