//! Files attached to notices: PDF, JPEG, PNG, DOCX and XLSX, at most
//! [`MAX_ATTACHMENTS_PER_NOTICE`] per notice and [`MAX_ATTACHMENT_BYTES`] each.
//!
//! A sender uploads each file first (`POST /api/v1/resident-notices/attachments`) and
//! gets an id. The upload belongs to its uploader and expires after
//! [`UPLOAD_TTL_HOURS`] unless a notice takes it: creating the notice with
//! `attachment_ids` binds the uploads in the notice's own transaction, so a notice
//! never has half of its files. Expired uploads are removed with their files at the
//! next upload.
//!
//! A file's type must match both its first bytes and its name's extension
//! ([`kind`]); the client's content type is ignored. JPEG and PNG files are re-encoded
//! like case photos, which drops EXIF data such as the camera's position. Files live
//! under `<attachments dir>/notices`, named by a random id ([`crate::stored_files`]).
//! Staff download a notice's files when they may read the notice, and residents when
//! the notice reached them. Anyone else gets the same 404 as for a missing file.

pub mod http;
pub mod kind;
mod links;
pub mod store;

use std::path::PathBuf;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;

use self::kind::{FileKind, KindError, check_kind, sanitise_file_name};
pub use self::links::{AttachmentLink, kind_label, resident_links, size_label, staff_links};
use crate::{
    cases::attachment::photo::{PhotoError, clean_photo},
    config::Settings,
    db::Db,
    http::{AppError, UserMessage},
    residents::ResidentError,
    stored_files::{file_path, is_file_id, new_file_id, write_file},
};

/// Most files one notice may carry.
pub const MAX_ATTACHMENTS_PER_NOTICE: usize = 5;
/// Largest accepted file, in bytes: 10 MiB fits a scanned multi-page PDF.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Hours an upload waits for a notice before it expires.
pub const UPLOAD_TTL_HOURS: i64 = 24;
/// Most unexpired uploads one user may hold without a notice, which bounds the disk
/// space a sender can fill with uploads never sent: 20 × 10 MiB.
pub const MAX_PENDING_UPLOADS: i64 = 20;
/// Expired uploads removed per cleanup, which bounds the work one upload request does
/// for others.
const CLEANUP_BATCH: i64 = 100;

/// One row of `notice_attachment`: an upload, or a file of a notice once bound.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct NoticeAttachment {
    /// 128 random bits in hex, also the file name on disk.
    pub attachment_id: String,
    /// `None` while the upload waits for a notice.
    pub notice_id: Option<i64>,
    pub uploaded_by: i64,
    /// The uploader's file name, sanitised by [`kind::sanitise_file_name`].
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub created_at: DateTime<Utc>,
    /// When an unbound upload expires; `None` once a notice took it.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Failure of an attachment upload or download. Each variant names its status.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// 400: the multipart form has no file part named `file`.
    #[error("no file in the form")]
    MissingFile,
    /// 422: the file was sent without a usable name.
    #[error("file without a name")]
    NoName,
    /// 422: no accepted extension or content.
    #[error("{name}: not a PDF, JPEG, PNG, DOCX or XLSX file")]
    Unsupported { name: String },
    /// 422: the content is another accepted type than the extension claims.
    #[error("{name}: content is {content:?}, not what the extension says")]
    Mismatch { name: String, content: FileKind },
    /// 422: over [`MAX_ATTACHMENT_BYTES`].
    #[error("{name}: over {MAX_ATTACHMENT_BYTES} bytes")]
    TooLarge { name: String },
    /// 422: an image whose pixels cannot be read.
    #[error("{name}: {reason}")]
    Undecodable { name: String, reason: String },
    /// 422: the uploader has [`MAX_PENDING_UPLOADS`] unsent uploads already.
    #[error("too many pending uploads")]
    TooManyPending,
    /// 404: no such file on a notice the caller may read.
    #[error("attachment not found")]
    NotFound,
    /// 500: writing or reading the file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// 500: a database failure.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl AttachmentError {
    /// Builds the user message, naming `field` as the input that carried the file.
    pub fn message(&self, field: &str) -> Option<UserMessage> {
        let message = match self {
            AttachmentError::MissingFile => UserMessage::new("notice_attachment_missing_file"),
            AttachmentError::NoName => UserMessage::new("notice_attachment_no_name"),
            AttachmentError::Unsupported { name } => {
                UserMessage::new("notice_attachment_type").arg("name", name)
            }
            AttachmentError::Mismatch { name, content } => {
                UserMessage::new("notice_attachment_mismatch")
                    .arg("name", name)
                    .arg("content", content.label())
            }
            AttachmentError::TooLarge { name } => UserMessage::new("notice_attachment_too_large")
                .arg("name", name)
                .arg("max", MAX_ATTACHMENT_BYTES / (1024 * 1024)),
            AttachmentError::Undecodable { name, reason } => {
                UserMessage::new("notice_attachment_undecodable")
                    .arg("name", name)
                    .arg("reason", reason)
            }
            AttachmentError::TooManyPending => UserMessage::new("notice_attachment_pending")
                .arg("max", MAX_PENDING_UPLOADS)
                .arg("hours", UPLOAD_TTL_HOURS),
            AttachmentError::NotFound | AttachmentError::Io(_) | AttachmentError::Store(_) => {
                return None;
            }
        };
        Some(message.field(field))
    }
}

impl From<AttachmentError> for AppError {
    fn from(error: AttachmentError) -> Self {
        let message = error.message("file");
        match (error, message) {
            (AttachmentError::MissingFile, Some(message)) => AppError::BadRequest(message),
            (_, Some(message)) => AppError::Invalid(message),
            (AttachmentError::Io(error), None) => AppError::Internal(error.into()),
            (AttachmentError::Store(error), None) => AppError::Internal(error.into()),
            (_, None) => AppError::not_found("attachment", "?"),
        }
    }
}

/// Returns the folder of notice attachments.
pub fn attachments_dir(settings: &Settings) -> PathBuf {
    settings.attachments_dir().join("notices")
}

/// Checks a file that `user_id` uploads under `raw_name`, writes it to disk and records
/// it as their upload, expiring [`UPLOAD_TTL_HOURS`] after `now`.
///
/// # Errors
/// 422 variants of [`AttachmentError`] for a bad name, type, size or image, or when
/// the user has too many unsent uploads. File and database failures.
#[tracing::instrument(skip_all, fields(user.id = user_id, attachment.id = tracing::field::Empty))]
pub async fn store_upload(
    db: &Db,
    settings: &Settings,
    user_id: i64,
    raw_name: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<NoticeAttachment, AttachmentError> {
    let file_name = sanitise_file_name(raw_name);
    if file_name.is_empty() {
        return Err(AttachmentError::NoName);
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge { name: file_name });
    }
    let (kind, bytes) = checked_content(file_name.clone(), bytes).await?;
    remove_expired(db, settings, now).await;
    if store::count_pending(db, user_id, now).await? >= MAX_PENDING_UPLOADS {
        return Err(AttachmentError::TooManyPending);
    }

    let now = now.trunc_subsecs(3);
    let attachment = NoticeAttachment {
        attachment_id: new_file_id(),
        notice_id: None,
        uploaded_by: user_id,
        file_name,
        content_type: kind.content_type().to_owned(),
        byte_size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        created_at: now,
        expires_at: Some(now + Duration::hours(UPLOAD_TTL_HOURS)),
    };
    tracing::Span::current().record("attachment.id", attachment.attachment_id.as_str());
    let directory = attachments_dir(settings);
    tokio::fs::create_dir_all(&directory).await?;
    let path = file_path(&directory, &attachment.attachment_id);
    write_file(&path, &bytes).await?;
    if let Err(error) = store::insert_upload(db, &attachment).await {
        tracing::error!(%error, "notice attachment row not stored; removing its file");
        let _ = tokio::fs::remove_file(&path).await;
        return Err(error.into());
    }
    tracing::info!(bytes = attachment.byte_size, kind = kind.label(), "notice attachment uploaded");
    Ok(attachment)
}

/// Checks the type of the content; images are re-encoded on a blocking thread, which
/// also proves that they decode.
async fn checked_content(
    name: String,
    bytes: Vec<u8>,
) -> Result<(FileKind, Vec<u8>), AttachmentError> {
    if bytes.is_empty() {
        return Err(AttachmentError::Unsupported { name });
    }
    let kind = check_kind(&name, &bytes).map_err(|error| match error {
        KindError::Unsupported => AttachmentError::Unsupported { name: name.clone() },
        KindError::Mismatch { content } => {
            AttachmentError::Mismatch { name: name.clone(), content }
        }
    })?;
    if !matches!(kind, FileKind::Jpeg | FileKind::Png) {
        return Ok((kind, bytes));
    }
    let cleaned = tokio::task::spawn_blocking(move || clean_photo(&bytes))
        .await
        .map_err(std::io::Error::other)?;
    match cleaned {
        Ok(photo) => Ok((kind, photo.bytes)),
        Err(PhotoError::NotAnImage) => Err(AttachmentError::Unsupported { name }),
        Err(PhotoError::Undecodable(reason)) => Err(AttachmentError::Undecodable { name, reason }),
    }
}

/// Checks the `attachment_ids` of a new notice before its transaction: at most
/// [`MAX_ATTACHMENTS_PER_NOTICE`], no id twice, and each a pending upload of `user_id`.
///
/// # Errors
/// 422 naming `attachment_ids` with the first offending id.
pub async fn check_pending(
    db: &Db,
    user_id: i64,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), ResidentError> {
    let invalid = |message: UserMessage| ResidentError::Invalid(message.field("attachment_ids"));
    if ids.len() > MAX_ATTACHMENTS_PER_NOTICE {
        let message =
            UserMessage::new("notice_attachment_too_many").arg("max", MAX_ATTACHMENTS_PER_NOTICE);
        return Err(invalid(message));
    }
    for (index, id) in ids.iter().enumerate() {
        if ids[..index].contains(id) {
            return Err(invalid(UserMessage::new("notice_attachment_twice").arg("id", id)));
        }
    }
    let found = store::pending_uploads(db, user_id, ids, now).await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|row| &row.attachment_id == *id))
    {
        return Err(unusable_id(missing));
    }
    Ok(())
}

/// Builds the 422 of an attachment id that is unknown, another user's, already used
/// or expired. One message for all four, so an id reveals nothing about other users.
pub fn unusable_id(id: &str) -> ResidentError {
    let message = UserMessage::new("notice_attachment_unusable").arg("id", id);
    ResidentError::Invalid(message.field("attachment_ids"))
}

/// Reads file `attachment_id` of notice `notice_id`. The caller has checked that the
/// user may read the notice.
///
/// # Errors
/// [`AttachmentError::NotFound`] for a malformed id or one of another notice.
pub async fn read_attachment(
    db: &Db,
    settings: &Settings,
    notice_id: i64,
    attachment_id: &str,
) -> Result<(NoticeAttachment, Vec<u8>), AttachmentError> {
    if !is_file_id(attachment_id) {
        return Err(AttachmentError::NotFound);
    }
    let attachment = store::bound_attachment(db, notice_id, attachment_id)
        .await?
        .ok_or(AttachmentError::NotFound)?;
    let path = file_path(&attachments_dir(settings), attachment_id);
    let bytes = tokio::fs::read(path).await?;
    Ok((attachment, bytes))
}

/// Removes one batch of uploads that expired unbound, rows first, so that
/// a file is never missing under a live row. Failures are logged, not returned,
/// because the next upload retries them.
pub async fn remove_expired(db: &Db, settings: &Settings, now: DateTime<Utc>) {
    let ids = match store::expired_uploads(db, now, CLEANUP_BATCH).await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::warn!(%error, "listing expired notice uploads failed");
            return;
        }
    };
    let directory = attachments_dir(settings);
    for id in ids {
        match store::delete_expired(db, &id, now).await {
            Ok(true) => {
                if let Err(error) = tokio::fs::remove_file(file_path(&directory, &id)).await {
                    tracing::warn!(%error, attachment.id = %id, "expired upload's file not removed");
                }
                tracing::debug!(attachment.id = %id, "expired notice upload removed");
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, attachment.id = %id, "expired notice upload not removed");
            }
        }
    }
}
