//! Storage of `notice_attachment` rows on SQLite and PostgreSQL. The files are on disk.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::NoticeAttachment;
use crate::{db::Db, with_pool};

const COLUMNS: &str = "attachment_id, notice_id, uploaded_by, file_name, content_type, \
     byte_size, created_at, expires_at";

/// Binds uploads `$ids` (`&[String]`) of user `$user_id` to notice `$notice_id` through
/// transaction `$tx`, in the given order. It evaluates to `Result<bool, sqlx::Error>`,
/// false when an id is not a pending, unexpired upload of that user. It is a macro
/// because the body is compiled once per backend, like the notice's fan-out.
#[macro_export]
macro_rules! bind_notice_attachments {
    ($tx:expr, $notice_id:expr, $ids:expr, $user_id:expr, $now:expr) => {{
        let mut all_bound = true;
        for (position, attachment_id) in $ids.iter().enumerate() {
            let bound = sqlx::query(
                "UPDATE notice_attachment SET notice_id = $1, position = $2, expires_at = NULL \
                 WHERE attachment_id = $3 AND uploaded_by = $4 AND notice_id IS NULL \
                 AND expires_at > $5",
            )
            .bind($notice_id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(attachment_id.as_str())
            .bind($user_id)
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            all_bound = all_bound && bound == 1;
        }
        Ok::<bool, sqlx::Error>(all_bound)
    }};
}

/// Inserts the row of a new upload.
pub async fn insert_upload(db: &Db, attachment: &NoticeAttachment) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO notice_attachment ({COLUMNS}) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7)"
    );
    with_pool!(db, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&attachment.attachment_id)
            .bind(attachment.uploaded_by)
            .bind(&attachment.file_name)
            .bind(&attachment.content_type)
            .bind(attachment.byte_size)
            .bind(attachment.created_at)
            .bind(attachment.expires_at)
            .execute(pool)
            .await
            .map(drop)
    })
}

/// Counts the uploads of `user_id` that are neither bound nor expired at `now`.
pub async fn count_pending(db: &Db, user_id: i64, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notice_attachment WHERE uploaded_by = $1 \
             AND notice_id IS NULL AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(pool)
        .await
    })
}

/// Lists the uploads among `ids` that belong to `user_id` and are neither bound nor
/// expired at `now`.
pub async fn pending_uploads(
    db: &Db,
    user_id: i64,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<NoticeAttachment>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM notice_attachment WHERE uploaded_by = $1 AND notice_id IS NULL \
         AND expires_at > $2 AND attachment_id IN ({})",
        placeholders.join(", ")
    );
    with_pool!(db, |pool| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(user_id).bind(now);
        for id in ids {
            query = query.bind(id.as_str());
        }
        query.fetch_all(pool).await
    })
}

/// Lists the attachments of each of `notice_ids`, in their order on the notice.
pub async fn for_notices(
    db: &Db,
    notice_ids: &[i64],
) -> Result<HashMap<i64, Vec<NoticeAttachment>>, sqlx::Error> {
    let mut by_notice: HashMap<i64, Vec<NoticeAttachment>> = HashMap::new();
    if notice_ids.is_empty() {
        return Ok(by_notice);
    }
    // Ids are integers, so listing them inline cannot inject SQL.
    let ids: Vec<String> = notice_ids.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM notice_attachment WHERE notice_id IN ({}) \
         ORDER BY notice_id, position",
        ids.join(",")
    );
    let rows: Vec<NoticeAttachment> = with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await
    })?;
    for row in rows {
        if let Some(notice_id) = row.notice_id {
            by_notice.entry(notice_id).or_default().push(row);
        }
    }
    Ok(by_notice)
}

/// Finds attachment `attachment_id` of notice `notice_id`.
pub async fn bound_attachment(
    db: &Db,
    notice_id: i64,
    attachment_id: &str,
) -> Result<Option<NoticeAttachment>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notice_attachment WHERE attachment_id = $1 AND notice_id = $2"
    );
    with_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(attachment_id)
            .bind(notice_id)
            .fetch_optional(pool)
            .await
    })
}

/// Reports whether notice `notice_id` reached resident `resident_id`.
pub async fn is_recipient(db: &Db, notice_id: i64, resident_id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT notice_id FROM notice_recipient WHERE notice_id = $1 AND resident_id = $2",
        )
        .bind(notice_id)
        .bind(resident_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}

/// Lists up to `limit` uploads that expired unbound before `now`.
pub async fn expired_uploads(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT attachment_id FROM notice_attachment WHERE notice_id IS NULL \
             AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Deletes upload `attachment_id` unless a notice bound it meanwhile; returns whether
/// the row was deleted.
pub async fn delete_expired(
    db: &Db,
    attachment_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let deleted = with_pool!(db, |pool| {
        sqlx::query(
            "DELETE FROM notice_attachment WHERE attachment_id = $1 AND notice_id IS NULL \
             AND expires_at <= $2",
        )
        .bind(attachment_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(deleted == 1)
}
