//! Checks and steps of the notice API, between the handlers and the store.

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use super::{
    Channels, Notice, Priority, attachments,
    audience::{self, Audience, AudienceSpec},
    receipts::{self, FollowUpInput, NoticeCounts},
    store::{self, NewNotice},
};
use crate::{
    accounts::CurrentUser,
    audit::{Actor, AuditAction, AuditStore, NewAuditEntry},
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
    residents::{ResidentError, service::scope_grids},
};

const MAX_TITLE_CHARS: usize = 100;
const MAX_BODY_CHARS: usize = 4000;
const MAX_NOTE_CHARS: usize = 500;
/// Furthest a notice may be scheduled ahead, in days.
const MAX_SCHEDULE_DAYS: i64 = 90;
const DEFAULT_FOLLOW_UP_HOURS: i32 = 24;

/// A notice as the sender composes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NoticeInput {
    pub title: String,
    pub body: String,
    /// `normal` (the default) or `urgent`.
    pub priority: Option<String>,
    pub audience: AudienceSpec,
    /// When to send, with its offset; absent or past means now.
    pub send_at: Option<DateTime<FixedOffset>>,
    /// Hours after sending when unread recipients join the follow-up list; 24 by default.
    pub follow_up_hours: Option<i32>,
    /// Ids of the sender's uploads to attach, in order; see [`super::attachments`].
    pub attachment_ids: Vec<String>,
}

fn invalid(message: UserMessage, field: &str) -> ResidentError {
    ResidentError::Invalid(message.field(field))
}

fn check_text(
    text: &str,
    max: usize,
    code: &'static str,
    field: &str,
) -> Result<String, ResidentError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(invalid(UserMessage::new(code).arg("max", max), field));
    }
    Ok(text.to_owned())
}

/// Checks the fields of `input` other than the audience, and returns them as a notice
/// with an empty audience and no sender yet.
fn check_fields(input: &NoticeInput, now: DateTime<Utc>) -> Result<NewNotice, ResidentError> {
    let title = check_text(&input.title, MAX_TITLE_CHARS, "notice_title_invalid", "title")?;
    let body = check_text(&input.body, MAX_BODY_CHARS, "notice_body_invalid", "body")?;
    let priority = match input.priority.as_deref().map(str::trim) {
        None | Some("") => Priority::Normal,
        Some(text) => Priority::parse(text).ok_or_else(|| {
            invalid(UserMessage::new("notice_priority_invalid").arg("value", text), "priority")
        })?,
    };
    let follow_up_hours = input.follow_up_hours.unwrap_or(DEFAULT_FOLLOW_UP_HOURS);
    if !(1..=720).contains(&follow_up_hours) {
        return Err(invalid(UserMessage::new("notice_follow_up_hours"), "follow_up_hours"));
    }
    let send_at = input.send_at.map_or(now, |at| at.with_timezone(&Utc)).max(now);
    if send_at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        let message = UserMessage::new("notice_send_at_too_far").arg("days", MAX_SCHEDULE_DAYS);
        return Err(invalid(message, "send_at"));
    }
    Ok(NewNotice {
        title,
        body,
        priority,
        audience: Audience::default(),
        send_at,
        follow_up_hours,
        created_by: 0,
        attachment_ids: Vec::new(),
    })
}

/// Checks `input`, resolves its audience for `user` and stores it, sending it now
/// unless it is scheduled. Returns the notice and its counts.
///
/// # Errors
/// 422 naming the field for a bad title, body, priority, time, follow-up hours,
/// audience or attachment id, and for an empty audience.
pub async fn create_notice(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    actor: &Actor,
    input: NoticeInput,
    channels: Channels,
) -> Result<(Notice, NoticeCounts), ResidentError> {
    let now = Utc::now();
    let checked = check_fields(&input, now)?;

    let audience = audience::resolve(db, index, user, input.audience).await?;
    let count = audience::count(db, &audience).await?;
    if count == 0 {
        return Err(invalid(UserMessage::new("notice_audience_empty"), "audience"));
    }

    let attachment_ids = input.attachment_ids;
    attachments::check_pending(db, user.user_id, &attachment_ids, now).await?;

    let send_at = checked.send_at;
    let notice = NewNotice { audience, created_by: user.user_id, attachment_ids, ..checked };
    let (notice_id, recipients) = match store::insert_notice(db, &notice, now, channels).await {
        Ok(stored) => stored,
        // Another request bound or the cleanup removed an upload after the check.
        Err(sqlx::Error::RowNotFound) => {
            return Err(attachments::unusable_id(&notice.attachment_ids.join(", ")));
        }
        Err(error) => return Err(error.into()),
    };
    let detail =
        format!("recipients={recipients}; audience_now={count}; send_at={}", send_at.to_rfc3339());
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::NoticeSent,
        target: Some(format!("notice:{notice_id}")),
        detail: Some(detail),
    };
    if let Err(error) = db.append_audit(entry).await {
        tracing::error!(notice.id = notice_id, %error, "audit entry of a notice not written");
    }
    tracing::info!(notice.id = notice_id, recipients, scheduled = send_at > now, "notice stored");

    let stored = store::notice_by_id(db, notice_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("notice", notice_id))?;
    let counts = receipts::counts(db, notice_id, scope_grids(index, user).as_deref()).await?;
    Ok((stored, counts))
}

/// Loads a notice that `user` may see: an administrator any, others those they sent
/// or that reached their grids.
///
/// # Errors
/// 404 when it does not exist or lies outside the scope.
pub async fn visible_notice(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    notice_id: i64,
) -> Result<(Notice, NoticeCounts), ResidentError> {
    let notice = store::notice_by_id(db, notice_id)
        .await?
        .ok_or_else(|| ResidentError::not_found("notice", notice_id))?;
    let scope = scope_grids(index, user);
    let counts = receipts::counts(db, notice_id, scope.as_deref()).await?;
    if scope.is_some() && notice.created_by != user.user_id && counts.recipients == 0 {
        return Err(ResidentError::not_found("notice", notice_id));
    }
    Ok((notice, counts))
}

/// Records a call or visit to an unread recipient in `user`'s scope.
///
/// # Errors
/// 422 naming the field for a bad method, outcome or note; 404 for a resident who is
/// not a recipient in the scope.
pub async fn record_follow_up(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    notice_id: i64,
    input: FollowUpInput,
) -> Result<i64, ResidentError> {
    if !["call", "visit"].contains(&input.method.trim()) {
        let message = UserMessage::new("notice_follow_up_method").arg("value", input.method.trim());
        return Err(invalid(message, "method"));
    }
    if !["reached", "not_reached", "moved_away"].contains(&input.outcome.trim()) {
        let message =
            UserMessage::new("notice_follow_up_outcome").arg("value", input.outcome.trim());
        return Err(invalid(message, "outcome"));
    }
    if input.note.trim().chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(
            UserMessage::new("notice_note_too_long").arg("max", MAX_NOTE_CHARS),
            "note",
        ));
    }
    let grid = receipts::recipient_grid(db, notice_id, input.resident_id).await?;
    let in_scope = grid.is_some_and(|grid| user.can_access_area(index, grid));
    if !in_scope {
        return Err(ResidentError::not_found("resident", input.resident_id));
    }
    let follow_up_id =
        receipts::insert_follow_up(db, notice_id, &input, user.user_id, Utc::now()).await?;
    tracing::info!(
        notice.id = notice_id,
        resident.id = input.resident_id,
        follow_up.id = follow_up_id,
        "follow-up recorded"
    );
    Ok(follow_up_id)
}
