//! Notes: entries of a case's log that leave its stage as it is, written by another
//! context on the system's behalf, such as an IoT alarm reporting that it cleared.

use chrono::{SubsecRound, Utc};

use super::{
    error::CaseError, record::CaseEvent, stage::Action, store::CaseStore,
    transitions::MAX_COMMENT_CHARS,
};
use crate::db::Db;

/// Appends a note with `comment` and `details` to case `case_id`, with no person as its
/// actor, and returns the stored entry. The case's stage and version stay as they are,
/// so the note never conflicts with a transition in progress.
///
/// # Errors
/// [`CaseError::NotFound`] for a missing case, [`CaseError::Invalid`] for a comment over
/// [`MAX_COMMENT_CHARS`], or a storage failure.
#[tracing::instrument(skip_all, fields(case.id = case_id))]
pub async fn add_system_note(
    db: &Db,
    case_id: i64,
    comment: &str,
    details: serde_json::Value,
) -> Result<CaseEvent, CaseError> {
    if comment.chars().count() > MAX_COMMENT_CHARS {
        let message =
            crate::http::UserMessage::new("case_comment_too_long").arg("max", MAX_COMMENT_CHARS);
        return Err(CaseError::Invalid(message.field("comment")));
    }
    let case = db.case_by_id(case_id).await?.ok_or(CaseError::NotFound(case_id))?;
    let event = CaseEvent {
        case_event_id: None,
        action: Some(Action::Note),
        from_stage: Some(case.stage),
        to_stage: case.stage,
        actor_user_id: None,
        actor_role: None,
        comment: comment.to_owned(),
        reason: None,
        attachment_ids: Vec::new(),
        details,
        occurred_at: Utc::now().trunc_subsecs(3),
    };
    db.insert_note(case_id, &event).await?;
    tracing::info!("case note added");
    Ok(event)
}
