//! Storage of attachment rows on SQLite and PostgreSQL. The files themselves are on disk.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Attachment;
use crate::{db::Db, with_pool};

const COLUMNS: &str = "attachment_id, case_id, content_type, byte_size, width, height, \
     hint_longitude, hint_latitude, uploaded_by_user_id, created_at";

#[derive(FromRow)]
struct AttachmentRow {
    attachment_id: String,
    case_id: i64,
    content_type: String,
    byte_size: i64,
    width: i32,
    height: i32,
    hint_longitude: Option<f64>,
    hint_latitude: Option<f64>,
    uploaded_by_user_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<AttachmentRow> for Attachment {
    fn from(row: AttachmentRow) -> Attachment {
        Attachment {
            attachment_id: row.attachment_id,
            case_id: row.case_id,
            content_type: row.content_type,
            byte_size: row.byte_size,
            width: row.width,
            height: row.height,
            gps_hint: row.hint_longitude.zip(row.hint_latitude),
            uploaded_by_user_id: row.uploaded_by_user_id,
            created_at: row.created_at,
        }
    }
}

/// Storage of case attachments.
pub trait AttachmentStore {
    fn insert_attachment(
        &self,
        attachment: &Attachment,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    fn attachment_by_id(
        &self,
        attachment_id: &str,
    ) -> impl Future<Output = Result<Option<Attachment>, sqlx::Error>> + Send;
    /// Lists the attachments of a case, oldest first.
    fn case_attachments(
        &self,
        case_id: i64,
    ) -> impl Future<Output = Result<Vec<Attachment>, sqlx::Error>> + Send;
}

impl AttachmentStore for Db {
    async fn insert_attachment(&self, attachment: &Attachment) -> Result<(), sqlx::Error> {
        let query = format!(
            "INSERT INTO case_attachment ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(query.clone()))
                .bind(&attachment.attachment_id)
                .bind(attachment.case_id)
                .bind(&attachment.content_type)
                .bind(attachment.byte_size)
                .bind(attachment.width)
                .bind(attachment.height)
                .bind(attachment.gps_hint.map(|(longitude, _)| longitude))
                .bind(attachment.gps_hint.map(|(_, latitude)| latitude))
                .bind(attachment.uploaded_by_user_id)
                .bind(attachment.created_at)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    async fn attachment_by_id(
        &self,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, sqlx::Error> {
        let query = format!("SELECT {COLUMNS} FROM case_attachment WHERE attachment_id = $1");
        let row: Option<AttachmentRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone()))
                .bind(attachment_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Attachment::from))
    }

    async fn case_attachments(&self, case_id: i64) -> Result<Vec<Attachment>, sqlx::Error> {
        let query = format!(
            "SELECT {COLUMNS} FROM case_attachment WHERE case_id = $1 \
             ORDER BY created_at, attachment_id"
        );
        let rows: Vec<AttachmentRow> = with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(query.clone())).bind(case_id).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }
}
