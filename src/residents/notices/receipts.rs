//! Receipts for staff after sending: per-notice counts of recipients, read receipts and
//! deliveries per channel, the recipients themselves, and the follow-up list of residents a
//! grid worker should call or visit because they have not read a notice in time.
//!
//! Every query is limited to the viewer's grids (`None` for administrators), and shows
//! phone numbers and e-mail addresses masked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{db::Db, with_pool};

/// Counts of one notice inside the viewer's grids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoticeCounts {
    pub recipients: i64,
    pub read: i64,
    pub unread: i64,
    /// Webhook deliveries by status.
    pub webhook_pending: i64,
    pub webhook_sent: i64,
    pub webhook_failed: i64,
    /// E-mail deliveries by status.
    pub email_pending: i64,
    pub email_sent: i64,
    pub email_failed: i64,
    /// Unread recipients with a follow-up that reached them or found them gone.
    pub followed_up: i64,
}

/// One recipient of a notice.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RecipientRow {
    pub notice_id: i64,
    pub resident_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: String,
    pub grid_id: i64,
    pub read_at: Option<DateTime<Utc>>,
    /// `pending`, `sent` or `failed`; none without a webhook delivery.
    pub webhook_status: Option<String>,
    /// `pending`, `sent` or `failed`; none without an e-mail delivery.
    pub email_status: Option<String>,
    /// The latest follow-up outcome recorded.
    pub follow_up: Option<String>,
}

/// The outcome of a call or visit.
#[derive(Debug, Clone, Deserialize)]
pub struct FollowUpInput {
    pub resident_id: i64,
    /// `call` or `visit`.
    pub method: String,
    /// `reached`, `not_reached` or `moved_away`.
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// `AND nr.grid_id IN (…)` for a scope, or nothing for every grid.
fn scope_sql(grid_ids: Option<&[i64]>) -> String {
    match grid_ids {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        // Grid ids come from the area index, never from the request text.
        Some(ids) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!(" AND nr.grid_id IN ({})", ids.join(","))
        }
    }
}

const SETTLED: &str = "EXISTS (SELECT 1 FROM notice_follow_up f WHERE f.notice_id = nr.notice_id \
     AND f.resident_id = nr.resident_id AND f.outcome IN ('reached', 'moved_away'))";

const RECIPIENT_SELECT: &str = "SELECT nr.notice_id, nr.resident_id, r.name, r.phone_masked AS phone, \
     r.email_masked AS email, h.address, nr.grid_id, nr.read_at, d.status AS webhook_status, \
     e.status AS email_status, \
     (SELECT f.outcome FROM notice_follow_up f WHERE f.notice_id = nr.notice_id \
      AND f.resident_id = nr.resident_id ORDER BY f.follow_up_id DESC LIMIT 1) AS follow_up \
     FROM notice_recipient nr JOIN resident r ON r.resident_id = nr.resident_id \
     JOIN household h ON h.household_id = r.household_id \
     LEFT JOIN notice_delivery d ON d.notice_id = nr.notice_id \
      AND d.resident_id = nr.resident_id AND d.channel = 'webhook' \
     LEFT JOIN notice_delivery e ON e.notice_id = nr.notice_id \
      AND e.resident_id = nr.resident_id AND e.channel = 'email'";

/// Counts the recipients, receipts and deliveries of `notice_id` in the scope.
///
/// # Errors
/// A database failure.
pub async fn counts(
    db: &Db,
    notice_id: i64,
    grid_ids: Option<&[i64]>,
) -> Result<NoticeCounts, sqlx::Error> {
    let scope = scope_sql(grid_ids);
    let recipients = format!(
        "SELECT COUNT(*), COUNT(nr.read_at), \
         COALESCE(SUM(CASE WHEN nr.read_at IS NULL AND {SETTLED} THEN 1 ELSE 0 END), 0) \
         FROM notice_recipient nr WHERE nr.notice_id = $1{scope}"
    );
    let deliveries = format!(
        "SELECT d.channel, d.status, COUNT(*) FROM notice_delivery d JOIN notice_recipient nr \
         ON nr.notice_id = d.notice_id AND nr.resident_id = d.resident_id \
         WHERE d.notice_id = $1{scope} GROUP BY d.channel, d.status"
    );
    type Statuses = Vec<(String, String, i64)>;
    let ((recipients, read, followed_up), statuses): ((i64, i64, i64), Statuses) =
        with_pool!(db, |pool| {
            let totals = sqlx::query_as(sqlx::AssertSqlSafe(recipients.clone()))
                .bind(notice_id)
                .fetch_one(pool)
                .await?;
            let statuses = sqlx::query_as(sqlx::AssertSqlSafe(deliveries.clone()))
                .bind(notice_id)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>((totals, statuses))
        })?;
    let status = |channel: &str, name: &str| {
        let row = statuses.iter().find(|(c, s, _)| c == channel && s == name);
        row.map_or(0, |(_, _, n)| *n)
    };
    Ok(NoticeCounts {
        recipients,
        read,
        unread: recipients - read,
        webhook_pending: status("webhook", "pending"),
        webhook_sent: status("webhook", "sent"),
        webhook_failed: status("webhook", "failed"),
        email_pending: status("email", "pending"),
        email_sent: status("email", "sent"),
        email_failed: status("email", "failed"),
        followed_up,
    })
}

/// Lists the recipients of `notice_id` in the scope, by grid; only unread ones when
/// `unread_only`.
///
/// # Errors
/// A database failure.
pub async fn recipients(
    db: &Db,
    notice_id: i64,
    grid_ids: Option<&[i64]>,
    unread_only: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<RecipientRow>, sqlx::Error> {
    let unread = if unread_only { " AND nr.read_at IS NULL" } else { "" };
    let sql = format!(
        "{RECIPIENT_SELECT} WHERE nr.notice_id = $1{unread}{} \
         ORDER BY nr.grid_id, nr.resident_id LIMIT $2 OFFSET $3",
        scope_sql(grid_ids)
    );
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(notice_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
    })
}

/// Lists the residents in the scope who have not read a sent notice whose follow-up
/// time has passed and whom no call or visit has reached yet: urgent notices first,
/// then oldest first.
///
/// # Errors
/// A database failure.
pub async fn follow_up_list(
    db: &Db,
    grid_ids: Option<&[i64]>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RecipientRow>, sqlx::Error> {
    let sql = format!(
        "{RECIPIENT_SELECT} JOIN notice n ON n.notice_id = nr.notice_id \
         WHERE n.status = 'sent' AND n.follow_up_at <= $1 AND nr.read_at IS NULL \
         AND NOT {SETTLED}{} \
         ORDER BY CASE WHEN n.priority = 'urgent' THEN 0 ELSE 1 END, n.sent_at, \
         nr.grid_id, nr.resident_id LIMIT $2",
        scope_sql(grid_ids)
    );
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(now).bind(limit).fetch_all(pool).await
    })
}

/// Returns the grid of recipient `resident_id` of `notice_id`, if they are one.
///
/// # Errors
/// A database failure.
pub async fn recipient_grid(
    db: &Db,
    notice_id: i64,
    resident_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT grid_id FROM notice_recipient WHERE notice_id = $1 AND resident_id = $2",
        )
        .bind(notice_id)
        .bind(resident_id)
        .fetch_optional(pool)
        .await
    })
}

/// Stores a checked follow-up of `notice_id` by `user_id`; returns its id.
///
/// # Errors
/// A database failure.
pub async fn insert_follow_up(
    db: &Db,
    notice_id: i64,
    input: &FollowUpInput,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO notice_follow_up (notice_id, resident_id, method, outcome, note, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING follow_up_id",
        )
        .bind(notice_id)
        .bind(input.resident_id)
        .bind(input.method.trim())
        .bind(input.outcome.trim())
        .bind(input.note.trim())
        .bind(user_id)
        .bind(now)
        .fetch_one(pool)
        .await
    })
}
