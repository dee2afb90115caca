//! The decision on a sign-up by the staff who manage residents.
//!
//! A worker whose grids contain the registry record with the sign-up's identity number
//! approves it, which links the account to that record, or rejects it with a reason
//! that the resident reads after logging in.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    accounts::CurrentUser,
    audit::{self, Actor, AuditAction, NewAuditEntry},
    db::Db,
    http::{AppError, UserMessage},
    locate::AreaIndex,
    residents::{notices::inbox::link_account, service::scope_grids},
    with_pool,
};

/// Maximum length of a rejection reason, in characters. The column's CHECK has the same bound.
pub const MAX_REASON_CHARS: usize = 200;
/// Pending sign-ups shown on one verification page.
const PENDING_LIMIT: i64 = 200;

/// A pending sign-up with the registry record that has the same identity number.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PendingSignup {
    pub signup_id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub identity_masked: String,
    pub phone_masked: String,
    pub created_at: DateTime<Utc>,
    /// `None` when no registry record has the identity number.
    pub resident_id: Option<i64>,
    pub resident_name: Option<String>,
    pub household_address: Option<String>,
    pub grid_id: Option<i64>,
    /// Whether the phone number matches the one in the registry record.
    pub phone_matches: bool,
}

const PENDING_SELECT: &str = "SELECT s.signup_id, s.user_id, u.username, u.display_name, \
     s.identity_masked, s.phone_masked, s.created_at, r.resident_id, r.name AS resident_name, \
     h.address AS household_address, r.grid_id, \
     (r.phone_hash IS NOT NULL AND r.phone_hash = s.phone_hash) AS phone_matches \
     FROM resident_signup s JOIN app_user u ON u.user_id = s.user_id \
     LEFT JOIN resident r ON r.identity_hash = s.identity_hash \
     LEFT JOIN household h ON h.household_id = r.household_id \
     WHERE s.status = 'pending'";

/// Lists the pending sign-ups `verifier` may decide, oldest first: those matching a
/// registry record in their grids, and for administrators also those matching none.
///
/// # Errors
/// A database failure.
pub async fn pending_signups(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
) -> Result<Vec<PendingSignup>, sqlx::Error> {
    let sql = format!("{PENDING_SELECT} ORDER BY s.signup_id LIMIT $1");
    let rows: Vec<PendingSignup> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(PENDING_LIMIT).fetch_all(pool).await
    })?;
    // NOTE: the scope filter runs after the limit, so a worker of a busy street may see
    // fewer than the limit while older pending sign-ups of other grids wait.
    let grids = scope_grids(index, verifier);
    Ok(rows.into_iter().filter(|row| may_decide(grids.as_deref(), row.grid_id)).collect())
}

/// Administrators (`grids` of `None`) decide every sign-up; others those matched to a
/// record in one of their grids.
fn may_decide(grids: Option<&[i64]>, grid_id: Option<i64>) -> bool {
    match (grids, grid_id) {
        (None, _) => true,
        (Some(grids), Some(grid_id)) => grids.contains(&grid_id),
        (Some(_), None) => false,
    }
}

/// Returns one pending sign-up that `verifier` may decide.
///
/// # Errors
/// 404 when it does not exist, is decided already, or lies outside the scope.
async fn pending_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    signup_id: i64,
) -> Result<PendingSignup, AppError> {
    let sql = format!("{PENDING_SELECT} AND s.signup_id = $1");
    let row: Option<PendingSignup> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(signup_id).fetch_optional(pool).await
    })
    .map_err(|error| AppError::Internal(error.into()))?;
    let grids = scope_grids(index, verifier);
    row.filter(|row| may_decide(grids.as_deref(), row.grid_id)).ok_or_else(|| {
        AppError::NotFound(UserMessage::new("signup_not_found").arg("id", signup_id))
    })
}

/// Approves a pending sign-up: links the account to the matching registry record and
/// marks the request approved.
///
/// # Errors
/// 404 for a sign-up the verifier may not decide, 422 when no registry record has the
/// identity number or the record is linked to another account.
#[tracing::instrument(skip_all, fields(signup.id = signup_id, user.id = verifier.user_id))]
pub async fn approve_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    actor: &Actor,
    signup_id: i64,
) -> Result<(), AppError> {
    let signup = pending_signup(db, index, verifier, signup_id).await?;
    let Some(resident_id) = signup.resident_id else {
        let message = UserMessage::new("signup_no_record").field(format!("signup-{signup_id}"));
        return Err(AppError::Invalid(message));
    };
    let now = Utc::now();
    // NOTE: the link and the status change are two writes. Linking again is a no-op,
    // so a failure between them leaves a pending sign-up that a second approval ends.
    link_account(db, index, verifier, signup.user_id, resident_id, now).await?;
    decide(db, signup_id, "approved", None, Some(resident_id), verifier.user_id, now).await?;
    tracing::info!(resident.id = resident_id, "resident sign-up approved");
    let detail = format!("sign-up {signup_id} approved; linked to resident:{resident_id}");
    record_decision(db, actor, signup.user_id, detail).await;
    Ok(())
}

/// Rejects a pending sign-up with a reason the resident will read.
///
/// # Errors
/// 404 for a sign-up the verifier may not decide, 422 for a missing or long reason.
#[tracing::instrument(skip_all, fields(signup.id = signup_id, user.id = verifier.user_id))]
pub async fn reject_signup(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    actor: &Actor,
    signup_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    let reason = reason.trim();
    if !(1..=MAX_REASON_CHARS).contains(&reason.chars().count()) {
        let message = UserMessage::new("signup_reason_invalid").arg("max", MAX_REASON_CHARS);
        return Err(AppError::Invalid(message.field(format!("reason-{signup_id}"))));
    }
    let signup = pending_signup(db, index, verifier, signup_id).await?;
    decide(db, signup_id, "rejected", Some(reason), None, verifier.user_id, Utc::now())
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    tracing::info!("resident sign-up rejected");
    record_decision(db, actor, signup.user_id, format!("sign-up {signup_id} rejected")).await;
    Ok(())
}

async fn decide(
    db: &Db,
    signup_id: i64,
    status: &str,
    reason: Option<&str>,
    resident_id: Option<i64>,
    decided_by: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE resident_signup SET status = $2, reason = $3, resident_id = $4, \
             decided_by = $5, decided_at = $6 WHERE signup_id = $1 AND status = 'pending'",
        )
        .bind(signup_id)
        .bind(status)
        .bind(reason)
        .bind(resident_id)
        .bind(decided_by)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })
}

async fn record_decision(db: &Db, actor: &Actor, user_id: i64, detail: String) {
    let entry = NewAuditEntry {
        actor,
        action: AuditAction::UserUpdated,
        target: Some(format!("user:{user_id}")),
        detail: Some(detail),
    };
    audit::record(db, entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_decide_by_scope() {
        assert!(may_decide(None, None), "administrators decide unmatched sign-ups");
        assert!(may_decide(Some(&[3]), Some(3)));
        assert!(!may_decide(Some(&[3]), Some(4)));
        assert!(!may_decide(Some(&[3]), None), "unmatched sign-ups are for administrators");
    }
}
