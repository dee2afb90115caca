//! A resident's own notices: the inbox, read receipts and a live stream.
//!
//! A resident's account reaches the inbox of the registry record that a community
//! worker linked to it after checking who they are (`resident_account`). Reading a
//! notice records its receipt once; reading it again keeps the first time.

use std::{convert::Infallible, time::Duration};

use axum::response::sse::Event;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::attachments::{AttachmentLink, resident_links};
use crate::{
    accounts::{CurrentUser, Role},
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
    residents::{ResidentError, service::get_resident},
    with_pool,
};

/// How often an open event stream looks for new notices. Polling the database keeps
/// the stream right on every node of a cluster without a message bus.
const STREAM_POLL: Duration = Duration::from_secs(2);

/// One notice in a resident's inbox.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxEntry {
    pub notice_id: i64,
    pub title: String,
    pub body: String,
    pub priority: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    /// The notice's files, with download URLs of the resident API.
    #[sqlx(skip)]
    pub attachments: Vec<AttachmentLink>,
}

/// Fills in the attachments of `entries` with one query.
async fn with_attachments(
    db: &Db,
    mut entries: Vec<InboxEntry>,
) -> Result<Vec<InboxEntry>, sqlx::Error> {
    let ids: Vec<i64> = entries.iter().map(|entry| entry.notice_id).collect();
    let mut links = resident_links(db, &ids).await?;
    for entry in &mut entries {
        entry.attachments = links.remove(&entry.notice_id).unwrap_or_default();
    }
    Ok(entries)
}

const INBOX_SELECT: &str = "SELECT n.notice_id, n.title, n.body, n.priority, n.sent_at, \
     nr.read_at FROM notice_recipient nr JOIN notice n ON n.notice_id = nr.notice_id \
     WHERE nr.resident_id = $1";

/// Returns the registry record linked to `user_id`'s account.
///
/// # Errors
/// A database failure.
pub async fn resident_of_user(db: &Db, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT resident_id FROM resident_account WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
}

/// Returns the caller's registry record, or a 404 when no record is linked yet.
///
/// # Errors
/// 404 when the account has no linked record.
pub async fn own_resident(db: &Db, user: &CurrentUser) -> Result<i64, ResidentError> {
    resident_of_user(db, user.user_id)
        .await?
        .ok_or_else(|| ResidentError::NotFound(UserMessage::new("notice_no_linked_resident")))
}

/// Links resident account `account_user_id` to registry record `resident_id`, which
/// must lie in `verifier`'s scope; returns false when the link existed already.
///
/// # Errors
/// 404 for a record outside the scope, 422 for an account that is not a resident's or
/// a record linked to another account.
pub async fn link_account(
    db: &Db,
    index: &AreaIndex,
    verifier: &CurrentUser,
    account_user_id: i64,
    resident_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, ResidentError> {
    get_resident(db, index, verifier, resident_id).await?;
    let role: Option<String> = with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT role FROM app_user WHERE user_id = $1")
            .bind(account_user_id)
            .fetch_optional(pool)
            .await
    })?;
    if role.as_deref() != Some(Role::Resident.as_str()) {
        let message = UserMessage::new("notice_account_not_resident").arg("id", account_user_id);
        return Err(ResidentError::Invalid(message.field("user_id")));
    }
    let linked: Option<(i64, i64)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT user_id, resident_id FROM resident_account \
             WHERE user_id = $1 OR resident_id = $2",
        )
        .bind(account_user_id)
        .bind(resident_id)
        .fetch_optional(pool)
        .await
    })?;
    match linked {
        Some(pair) if pair == (account_user_id, resident_id) => return Ok(false),
        Some(_) => {
            let message = UserMessage::new("notice_account_linked_elsewhere");
            return Err(ResidentError::Duplicate(message.field("user_id")));
        }
        None => {}
    }
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO resident_account (user_id, resident_id, verified_by, verified_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(account_user_id)
        .bind(resident_id)
        .bind(verifier.user_id)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)
    })?;
    tracing::info!(user.id = account_user_id, resident.id = resident_id, "resident account linked");
    Ok(true)
}

/// Lists the newest `limit` notices of `resident_id`, unread urgent ones first.
///
/// # Errors
/// A database failure.
pub async fn inbox(db: &Db, resident_id: i64, limit: i64) -> Result<Vec<InboxEntry>, sqlx::Error> {
    let sql = format!(
        "{INBOX_SELECT} ORDER BY CASE WHEN nr.read_at IS NULL AND n.priority = 'urgent' \
         THEN 0 ELSE 1 END, n.notice_id DESC LIMIT $2"
    );
    let entries = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(resident_id)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    with_attachments(db, entries).await
}

/// Records that `resident_id` read `notice_id`, keeping an earlier receipt; returns the
/// entry, or `None` when the notice was not sent to them.
///
/// # Errors
/// A database failure.
pub async fn mark_read(
    db: &Db,
    resident_id: i64,
    notice_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<InboxEntry>, sqlx::Error> {
    let sql = format!("{INBOX_SELECT} AND nr.notice_id = $2");
    let entry: Option<InboxEntry> = with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE notice_recipient SET read_at = $3 \
             WHERE notice_id = $1 AND resident_id = $2 AND read_at IS NULL",
        )
        .bind(notice_id)
        .bind(resident_id)
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(resident_id)
            .bind(notice_id)
            .fetch_optional(pool)
            .await
    })?;
    match entry {
        Some(entry) => Ok(with_attachments(db, vec![entry]).await?.pop()),
        None => Ok(None),
    }
}

/// Streams the notices that reach `resident_id` from now on, one `notice` event each.
pub fn stream(db: Db, resident_id: i64) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = (db, None::<i64>);
    futures_util::stream::unfold(state, move |(db, last)| async move {
        let polled = match last {
            None => newest_notice(&db, resident_id).await.map(|id| (id, Vec::new())),
            Some(after) => newer_entries(&db, resident_id, after).await,
        };
        let (last, entries) = match polled {
            Ok((seen, entries)) => (Some(seen), entries),
            Err(error) => {
                tracing::warn!(resident.id = resident_id, %error, "notice stream poll failed");
                (last, Vec::new())
            }
        };
        if entries.is_empty() {
            tokio::time::sleep(STREAM_POLL).await;
        }
        let events: Vec<Result<Event, Infallible>> = entries
            .iter()
            .filter_map(|entry| Event::default().event("notice").json_data(entry).ok())
            .map(Ok)
            .collect();
        Some((futures_util::stream::iter(events), (db, last)))
    })
    .flatten()
}

async fn newest_notice(db: &Db, resident_id: i64) -> Result<i64, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COALESCE(MAX(notice_id), 0) FROM notice_recipient WHERE resident_id = $1",
        )
        .bind(resident_id)
        .fetch_one(pool)
        .await
    })
}

async fn newer_entries(
    db: &Db,
    resident_id: i64,
    after: i64,
) -> Result<(i64, Vec<InboxEntry>), sqlx::Error> {
    let sql = format!("{INBOX_SELECT} AND nr.notice_id > $2 ORDER BY n.notice_id");
    let entries: Vec<InboxEntry> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(resident_id)
            .bind(after)
            .fetch_all(pool)
            .await
    })?;
    let entries = with_attachments(db, entries).await?;
    let seen = entries.iter().map(|entry| entry.notice_id).max().unwrap_or(after);
    Ok((seen, entries))
}
