//! Taking an action on a case: checks, side effects on deadlines and counts, and the
//! guarded store.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{
    access::can_read,
    error::CaseError,
    reclassify::reclassify,
    record::{Case, CaseEvent},
    stage::Action,
    store::{CaseStore, StoreError},
    transition::{Actor, next_stage, within_reopen_window},
};
use crate::{
    accounts::CurrentUser,
    cases::{
        calendar::{
            TimeUnit, WorkingAmount, WorkingCalendar, add_working_time, snapshot::current_calendar,
        },
        catalogue::{Category, CategoryCode, snapshot::cached_category},
    },
    config::Settings,
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
};

/// Maximum comment length, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// Most attachment ids one transition may record.
pub const MAX_ATTACHMENTS: usize = 20;

/// A transition request as it arrives in a JSON body; which fields apply depends on
/// the action.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TransitionInput {
    pub action: Option<String>,
    /// The case version the caller read; a different current version is a conflict.
    pub expected_version: Option<i64>,
    pub comment: Option<String>,
    pub attachment_ids: Vec<String>,
    /// Department of a dispatch, re-dispatch or re-classification. When absent, a
    /// dispatch keeps the department that routing chose and a re-classification routes
    /// the case again.
    pub department_code: Option<String>,
    /// The new category of a `reclassify`.
    pub category_code: Option<String>,
    /// Required for `return` and `void`.
    pub reason: Option<String>,
    /// Extra working time of `request_extension`, with `extension_unit`.
    pub extension_amount: Option<i64>,
    pub extension_unit: Option<String>,
    /// The surviving case of a `merge`.
    pub target_case_id: Option<i64>,
    /// 1–5 for `rate`.
    pub rating: Option<i64>,
}

/// The environment of one transition: who acts, when, and the category and calendar
/// that its deadlines come from.
pub(super) struct Context<'a> {
    pub(super) db: &'a Db,
    pub(super) index: &'a AreaIndex,
    settings: &'a Settings,
    user: &'a CurrentUser,
    pub(super) now: DateTime<Utc>,
    category: Category,
    calendar: Arc<WorkingCalendar>,
    tz: Tz,
}

impl Context<'_> {
    pub(super) fn after(
        &self,
        start: DateTime<Utc>,
        amount: WorkingAmount,
    ) -> Result<DateTime<Utc>, CaseError> {
        Ok(add_working_time(start, amount, &self.calendar, self.tz)?)
    }
}

/// Applies `input` to case `case_id` on behalf of `user` and returns the stored case.
///
/// # Errors
/// - [`CaseError::NotFound`] for a missing case or one outside the user's scope.
/// - [`CaseError::Invalid`] naming the invalid field.
/// - [`CaseError::Transition`] when the stage or role does not allow the action.
/// - [`CaseError::StaleVersion`] or a store version conflict when the case changed
///   since the caller read it.
#[tracing::instrument(skip_all, fields(case.id = case_id, user.id = user.user_id, case.action))]
pub async fn transition_case(
    db: &Db,
    index: &AreaIndex,
    settings: &Settings,
    user: &CurrentUser,
    case_id: i64,
    input: TransitionInput,
) -> Result<Case, CaseError> {
    let case = db.case_by_id(case_id).await?.ok_or(CaseError::NotFound(case_id))?;
    if !can_read(user, index, &case) {
        return Err(CaseError::NotFound(case_id));
    }
    let action = parse_action(input.action.as_deref())?;
    tracing::Span::current().record("case.action", action.as_str());
    let expected_version = input.expected_version.ok_or_else(|| {
        CaseError::Invalid(UserMessage::new("expected_version_missing").field("expected_version"))
    })?;
    if expected_version != case.version {
        return Err(CaseError::StaleVersion {
            case_id,
            expected: expected_version,
            current: case.version,
        });
    }

    let actor = Actor { role: user.role, is_reporter: case.reporter_user_id == Some(user.user_id) };
    let to_stage = next_stage(case.stage, action, actor)?;
    let (comment, attachment_ids) = parse_common(&input)?;
    let context = Context {
        db,
        index,
        settings,
        user,
        now: Utc::now().trunc_subsecs(3),
        category: category_of(db, &case).await?,
        calendar: current_calendar(db).await?,
        tz: settings.time_zone(),
    };

    let mut changed = Case { stage: to_stage, updated_at: context.now, ..case.clone() };
    let details = apply_effects(&context, action, &input, &mut changed).await?;
    let event = CaseEvent {
        case_event_id: None,
        action: Some(action),
        from_stage: Some(case.stage),
        to_stage,
        actor_user_id: Some(user.user_id),
        actor_role: Some(user.role.as_str().to_owned()),
        comment,
        reason: input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned),
        attachment_ids,
        details,
        occurred_at: context.now,
    };
    let stored = db.update_case(&changed, expected_version, &event).await?;
    tracing::info!(case.from = case.stage.as_str(), case.to = to_stage.as_str(), "case transition");
    Ok(stored)
}

/// Loads the category of a stored case; a case whose category vanished is corrupt,
/// because the foreign key forbids deleting a category in use.
pub(super) async fn category_of(db: &Db, case: &Case) -> Result<Category, CaseError> {
    let corrupt = || StoreError::Corrupt {
        case_id: case.case_id,
        reason: format!("category {}", case.category_code),
    };
    let code = CategoryCode::parse(&case.category_code).ok_or_else(corrupt)?;
    Ok(cached_category(db, &code).await?.ok_or_else(corrupt)?)
}

fn parse_action(text: Option<&str>) -> Result<Action, CaseError> {
    let people_may = Action::ALL.into_iter().filter(|action| *action != Action::Note);
    let all = people_may.map(Action::as_str).collect::<Vec<_>>().join(", ");
    let text = text.map(str::trim).unwrap_or_default();
    Action::parse(text).ok_or_else(|| {
        CaseError::Invalid(
            UserMessage::new("unknown_case_action")
                .arg("value", text)
                .arg("allowed", all)
                .field("action"),
        )
    })
}

pub(super) fn parse_common(input: &TransitionInput) -> Result<(String, Vec<String>), CaseError> {
    let comment = input.comment.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        let message = UserMessage::new("case_comment_too_long").arg("max", MAX_COMMENT_CHARS);
        return Err(CaseError::Invalid(message.field("comment")));
    }
    let valid_id = |id: &String| !id.trim().is_empty() && id.len() <= 100;
    if input.attachment_ids.len() > MAX_ATTACHMENTS || !input.attachment_ids.iter().all(valid_id) {
        let message = UserMessage::new("case_attachments_invalid").arg("max", MAX_ATTACHMENTS);
        return Err(CaseError::Invalid(message.field("attachment_ids")));
    }
    Ok((comment, input.attachment_ids.clone()))
}

/// Changes the deadlines, counts and fields that `action` affects and returns the
/// details recorded in the log entry.
async fn apply_effects(
    context: &Context<'_>,
    action: Action,
    input: &TransitionInput,
    case: &mut Case,
) -> Result<serde_json::Value, CaseError> {
    let limits = &context.category;
    let now = context.now;
    match action {
        // next_stage has no rule for a note, so none reaches this point.
        Action::File | Action::Accept | Action::Note => {}
        Action::Dispatch | Action::Redispatch => {
            let named = named_department(context.db, input).await?;
            let chosen_by = if named.is_some() { "dispatcher" } else { "routing" };
            if let Some(code) = named {
                case.department_code = code;
            }
            start_handling(context, case)?;
            case.requested_extension = None;
            return Ok(serde_json::json!({
                "department_code": case.department_code,
                "chosen_by": chosen_by,
            }));
        }
        Action::Reclassify => return reclassify(context, input, case).await,
        Action::Return => {
            require_reason(input)?;
            case.dispatch_due_at = Some(context.after(now, limits.dispatch_limit)?);
            case.due_at = case.dispatch_due_at;
        }
        Action::RequestExtension => {
            let extension = parse_extension(input)?;
            case.requested_extension = Some(extension);
            return Ok(serde_json::json!({ "extension": extension }));
        }
        Action::ApproveExtension => {
            let Some(extension) = case.requested_extension.take() else {
                return Err(CaseError::Invalid(
                    UserMessage::new("extension_not_requested").field("action"),
                ));
            };
            let from = case.handling_due_at.unwrap_or(now);
            case.handling_due_at = Some(context.after(from, extension)?);
            case.due_at = case.handling_due_at;
            case.extension_count += 1;
            return Ok(serde_json::json!({ "extension": extension, "due_at": case.due_at }));
        }
        Action::RejectExtension => case.requested_extension = None,
        Action::ReportDone => {
            case.verification_due_at = Some(context.after(now, limits.verification_limit)?);
            case.due_at = case.verification_due_at;
        }
        Action::Verify => {
            case.closed_at = Some(now);
            case.due_at = None;
        }
        Action::Rework => {
            case.rework_count += 1;
            start_handling(context, case)?;
        }
        Action::Rate => {
            let rating = parse_rating(input)?;
            case.rating = Some(rating);
            return Ok(serde_json::json!({ "rating": rating }));
        }
        Action::Reopen => {
            let closed_at = case.closed_at.unwrap_or(case.updated_at);
            let window = context.settings.cases.reopen_window_days;
            if !within_reopen_window(closed_at, now, window) {
                let message = UserMessage::new("case_reopen_window_passed").arg("days", window);
                return Err(CaseError::Invalid(message.field("action")));
            }
            case.closed_at = None;
            case.rating = None;
            start_handling(context, case)?;
        }
        Action::Void => {
            require_reason(input)?;
            case.due_at = None;
        }
        Action::Merge => {
            // The store hands this case's followers to the target in the same
            // transaction, so its reporters hear of the target's later transitions.
            let target = parse_merge_target(context, input, case.case_id).await?;
            case.merged_into_case_id = Some(target);
            case.due_at = None;
            return Ok(serde_json::json!({ "target_case_id": target }));
        }
    }
    Ok(serde_json::json!({}))
}

/// Starts a fresh handling clock of the category's handling limit from now.
fn start_handling(context: &Context<'_>, case: &mut Case) -> Result<(), CaseError> {
    case.handling_due_at = Some(context.after(context.now, context.category.handling_limit)?);
    case.due_at = case.handling_due_at;
    Ok(())
}

fn require_reason(input: &TransitionInput) -> Result<(), CaseError> {
    if input.reason.as_deref().is_some_and(|reason| !reason.trim().is_empty()) {
        return Ok(());
    }
    Err(CaseError::Invalid(UserMessage::new("case_reason_missing").field("reason")))
}

/// Returns the department the dispatcher named, or `None` when the input names none.
///
/// # Errors
/// `unknown_department` on `department_code` when no department has that code.
pub(super) async fn named_department(
    db: &Db,
    input: &TransitionInput,
) -> Result<Option<String>, CaseError> {
    let Some(code) = input.department_code.as_deref().map(str::trim) else {
        return Ok(None);
    };
    if db.department_exists(code).await? {
        return Ok(Some(code.to_owned()));
    }
    let message = UserMessage::new("unknown_department").arg("code", code);
    Err(CaseError::Invalid(message.field("department_code")))
}

fn parse_extension(input: &TransitionInput) -> Result<WorkingAmount, CaseError> {
    let invalid = |message: UserMessage, field: &str| CaseError::Invalid(message.field(field));
    let amount = input
        .extension_amount
        .ok_or_else(|| invalid(UserMessage::new("extension_amount_missing"), "extension_amount"))?;
    let unit = TimeUnit::parse(input.extension_unit.as_deref().unwrap_or_default())
        .map_err(|message| invalid(message, "extension_unit"))?;
    let extension = WorkingAmount::new(amount, unit).map_err(|m| invalid(m, "extension_amount"))?;
    if extension.amount == 0 {
        let message = UserMessage::new("invalid_amount")
            .arg("value", 0)
            .arg("max", crate::cases::calendar::MAX_AMOUNT);
        return Err(invalid(message, "extension_amount"));
    }
    Ok(extension)
}

pub(super) fn parse_rating(input: &TransitionInput) -> Result<i32, CaseError> {
    match input.rating {
        Some(rating @ 1..=5) => Ok(rating as i32),
        _ => Err(CaseError::Invalid(UserMessage::new("case_rating_invalid").field("rating"))),
    }
}

/// Checks the surviving case of a merge: another open case that `user` may read.
async fn parse_merge_target(
    context: &Context<'_>,
    input: &TransitionInput,
    case_id: i64,
) -> Result<i64, CaseError> {
    let invalid = |target: String| {
        let message = UserMessage::new("case_merge_target_invalid").arg("id", target);
        CaseError::Invalid(message.field("target_case_id"))
    };
    let Some(target_id) = input.target_case_id else {
        return Err(invalid("-".to_owned()));
    };
    let target = context.db.case_by_id(target_id).await?;
    let usable = target.is_some_and(|target| {
        target_id != case_id
            && target.stage.is_open()
            && can_read(context.user, context.index, &target)
    });
    if usable { Ok(target_id) } else { Err(invalid(target_id.to_string())) }
}
