//! Storage of notices and their fan-out.
//!
//! Sending a notice is one transaction. It writes the notice row and one
//! `notice_recipient` row per resident of the audience (one `INSERT … SELECT`). When the
//! webhook channel is on, it adds one `notice_delivery` row per recipient with a phone
//! number, and when the e-mail channel is on, one per recipient with an e-mail address.
//! Last, it marks the notice sent with its recipient count. A scheduled notice is
//! claimed by the conditional update of its status inside that transaction, so two
//! nodes never send it twice.

use chrono::{DateTime, Utc};

use super::{
    Channels, NOTICE_COLUMNS, Notice, Priority,
    audience::{Audience, where_clause},
};
use crate::{db::Db, with_pool};

/// A notice to store.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub title: String,
    pub body: String,
    pub priority: Priority,
    pub audience: Audience,
    pub send_at: DateTime<Utc>,
    pub follow_up_hours: i32,
    pub created_by: i64,
    /// Uploads of `created_by` to bind to the notice, in order.
    pub attachment_ids: Vec<String>,
}

/// Fans notice `$notice_id` out to `$audience` through `$tx` and marks it sent; evaluates
/// to the recipient count. A macro because the body is compiled once per backend.
macro_rules! fan_out {
    ($tx:expr, $notice_id:expr, $audience:expr, $hours:expr, $now:expr, $channels:expr) => {{
        let (clause, binds) = where_clause($audience, 2);
        let insert = format!(
            "INSERT INTO notice_recipient (notice_id, resident_id, grid_id) \
             SELECT $1, r.resident_id, r.grid_id FROM resident r WHERE {clause}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(insert)).bind($notice_id);
        let recipients =
            $crate::bind_audience!(query, &binds).execute(&mut *$tx).await?.rows_affected();
        let channels: Channels = $channels;
        // Column names are constants of this file, never request text.
        let enabled = [
            (channels.webhook, "webhook", "phone_sealed"),
            (channels.email, "email", "email_sealed"),
        ];
        for (_, channel, contact) in enabled.into_iter().filter(|(on, _, _)| *on) {
            let insert = format!(
                "INSERT INTO notice_delivery (notice_id, resident_id, channel, status, \
                 next_attempt_at) SELECT nr.notice_id, nr.resident_id, $3, 'pending', $2 \
                 FROM notice_recipient nr JOIN resident r ON r.resident_id = nr.resident_id \
                 WHERE nr.notice_id = $1 AND r.{contact} IS NOT NULL"
            );
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind($notice_id)
                .bind($now)
                .bind(channel)
                .execute(&mut *$tx)
                .await?;
        }
        let count = i64::try_from(recipients).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE notice SET status = 'sent', sent_at = $2, recipient_count = $3, \
             follow_up_at = $4 WHERE notice_id = $1",
        )
        .bind($notice_id)
        .bind($now)
        .bind(count)
        .bind($now + chrono::Duration::hours(i64::from($hours)))
        .execute(&mut *$tx)
        .await?;
        count
    }};
}

/// Stores `notice`; when its send time has come, fans it out in the same transaction.
/// Returns its id and recipient count (0 for a scheduled notice).
///
/// # Errors
/// A database failure, and [`sqlx::Error::RowNotFound`] when an attachment id is not a
/// pending upload of the sender; nothing is written then.
pub async fn insert_notice(
    db: &Db,
    notice: &NewNotice,
    now: DateTime<Utc>,
    channels: Channels,
) -> Result<(i64, i64), sqlx::Error> {
    let due = notice.send_at <= now;
    let audience = serde_json::to_string(&notice.audience)
        .map_err(|error| sqlx::Error::Encode(error.into()))?;
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let notice_id: i64 = sqlx::query_scalar(
            "INSERT INTO notice (title, body, priority, audience, status, send_at, \
             follow_up_hours, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING notice_id",
        )
        .bind(notice.title.as_str())
        .bind(notice.body.as_str())
        .bind(notice.priority.as_str())
        .bind(audience.as_str())
        .bind(if due { "sending" } else { "scheduled" })
        .bind(notice.send_at)
        .bind(notice.follow_up_hours)
        .bind(notice.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let ids = &notice.attachment_ids;
        if !crate::bind_notice_attachments!(tx, notice_id, ids, notice.created_by, now)? {
            return Err(sqlx::Error::RowNotFound);
        }
        let recipients = if due {
            fan_out!(tx, notice_id, &notice.audience, notice.follow_up_hours, now, channels)
        } else {
            0
        };
        tx.commit().await?;
        Ok((notice_id, recipients))
    })
}

/// Sends every scheduled notice whose time has come; returns how many it sent. Each is
/// claimed inside its own transaction, so a notice another node sent first is skipped.
///
/// # Errors
/// A database failure or a stored audience that cannot be read.
pub async fn send_due_notices(
    db: &Db,
    now: DateTime<Utc>,
    channels: Channels,
) -> Result<usize, sqlx::Error> {
    let due: Vec<(i64, String, i32)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT notice_id, audience, follow_up_hours FROM notice WHERE status = 'scheduled' \
             AND send_at <= $1 ORDER BY send_at, notice_id LIMIT 20",
        )
        .bind(now)
        .fetch_all(pool)
        .await
    })?;
    let mut sent = 0;
    for (notice_id, audience, hours) in due {
        let audience: Audience =
            serde_json::from_str(&audience).map_err(|error| sqlx::Error::Decode(error.into()))?;
        let recipients: Option<i64> = with_pool!(db, |pool| {
            async {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "UPDATE notice SET status = 'sending' WHERE notice_id = $1 AND status = 'scheduled'",
            )
            .bind(notice_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                return Ok::<_, sqlx::Error>(None);
            }
            let count = fan_out!(tx, notice_id, &audience, hours, now, channels);
            tx.commit().await?;
            Ok(Some(count))
        }
        .await
        })?;
        if let Some(recipients) = recipients {
            if recipients == 0 {
                tracing::warn!(notice.id = notice_id, "scheduled notice has no recipients");
            }
            tracing::info!(notice.id = notice_id, recipients, "scheduled notice sent");
            sent += 1;
        }
    }
    Ok(sent)
}

/// Finds a notice by id.
///
/// # Errors
/// A database failure.
pub async fn notice_by_id(db: &Db, notice_id: i64) -> Result<Option<Notice>, sqlx::Error> {
    let sql = format!("SELECT {NOTICE_COLUMNS} FROM notice n WHERE n.notice_id = $1");
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(notice_id).fetch_optional(pool).await
    })
}

/// Lists the newest notices that reached a grid of `grid_ids` (`None`: all) or that
/// `user_id` created.
///
/// # Errors
/// A database failure.
pub async fn list_notices(
    db: &Db,
    grid_ids: Option<&[i64]>,
    user_id: i64,
    limit: i64,
) -> Result<Vec<Notice>, sqlx::Error> {
    let scope = match grid_ids {
        None => String::new(),
        Some(ids) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            let ids = if ids.is_empty() { "NULL".to_owned() } else { ids.join(",") };
            format!(
                " WHERE n.created_by = $2 OR EXISTS (SELECT 1 FROM notice_recipient nr \
                 WHERE nr.notice_id = n.notice_id AND nr.grid_id IN ({ids}))"
            )
        }
    };
    let sql =
        format!("SELECT {NOTICE_COLUMNS} FROM notice n{scope} ORDER BY n.notice_id DESC LIMIT $1");
    with_pool!(db, |pool| {
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(limit);
        let query = if grid_ids.is_some() { query.bind(user_id) } else { query };
        query.fetch_all(pool).await
    })
}
