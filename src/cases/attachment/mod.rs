//! Photos attached to cases: reporters' photos and handlers' before/after photos.
//!
//! An upload is checked by its magic bytes (JPEG, PNG or WebP only), limited in size,
//! rotated upright by its EXIF orientation and re-encoded, which drops every EXIF tag
//! (see [`photo`]). Its EXIF GPS position survives only as a location hint in the
//! database row. Files live under [`crate::config::Settings::attachments_dir`], named
//! by a random id, and are served only to users who may read the case.
//!
//! A transition records the ids of the photos uploaded with it in its log entry.
//! NOTE: a case and its photos are stored in separate steps, so a crash between them
//! leaves a case without its photos, never a photo without its case.

pub mod photo;
pub mod store;

use chrono::{DateTime, SubsecRound, Utc};

use self::photo::{CleanPhoto, PhotoError, clean_photo};
pub use self::store::AttachmentStore;
use crate::{
    config::Settings,
    db::Db,
    http::{AppError, UserMessage},
    stored_files::{file_path, is_file_id, new_file_id, write_file},
};

/// One stored photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// 128 random bits in hex, also the file name.
    pub attachment_id: String,
    pub case_id: i64,
    pub content_type: String,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    /// WGS-84 (longitude, latitude) from the upload's EXIF GPS tags.
    pub gps_hint: Option<(f64, f64)>,
    pub uploaded_by_user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A file from a multipart form, before any check.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form field it came in, named in error messages.
    pub field: String,
    /// The file name the browser sent, unchecked; empty when it sent none.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Failure of a photo upload or download.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// The file is not JPEG, PNG or WebP by its first bytes; becomes 422.
    #[error("field {field}: not a JPEG, PNG or WebP image")]
    NotAnImage { field: String },
    /// The file is over the configured size; becomes 422.
    #[error("field {field}: file over {max_bytes} bytes")]
    TooLarge { field: String, max_bytes: usize },
    /// More files than one submission may carry; becomes 422.
    #[error("more than {max} photos")]
    TooMany { field: String, max: usize },
    /// The file claims an image type but cannot be decoded; becomes 422.
    #[error("field {field}: {reason}")]
    Undecodable { field: String, reason: String },
    /// No such photo on a case the user may read; becomes 404.
    #[error("attachment not found")]
    NotFound,
    /// Writing or reading the file failed; becomes 500.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<AttachmentError> for AppError {
    fn from(error: AttachmentError) -> Self {
        let invalid = |code: &'static str, field: String| UserMessage::new(code).field(field);
        match error {
            AttachmentError::NotAnImage { field } => {
                AppError::Invalid(invalid("photo_not_image", field.clone()).arg("field", field))
            }
            AttachmentError::TooLarge { field, max_bytes } => AppError::Invalid(
                invalid("photo_too_large", field.clone())
                    .arg("field", field)
                    .arg("max", max_bytes / (1024 * 1024)),
            ),
            AttachmentError::TooMany { field, max } => {
                AppError::Invalid(invalid("photo_too_many", field).arg("max", max))
            }
            AttachmentError::Undecodable { field, reason } => AppError::Invalid(
                invalid("photo_undecodable", field.clone())
                    .arg("field", field)
                    .arg("reason", reason),
            ),
            AttachmentError::NotFound => AppError::not_found("attachment", "?"),
            AttachmentError::Io(error) => AppError::Internal(error.into()),
            AttachmentError::Store(error) => AppError::Internal(error.into()),
        }
    }
}

/// A checked photo waiting for its case id.
#[derive(Debug, Clone)]
pub struct CheckedPhoto(CleanPhoto);

impl CheckedPhoto {
    /// Returns the EXIF GPS position of the upload, WGS-84 (longitude, latitude).
    pub fn gps_hint(&self) -> Option<(f64, f64)> {
        self.0.gps_hint
    }
}

/// Checks and cleans every upload on a blocking thread, before anything is written.
///
/// # Errors
/// The first upload that is too large, not an image or undecodable, naming its field,
/// and [`AttachmentError::TooMany`] over the configured count.
pub async fn check_photos(
    settings: &Settings,
    uploads: Vec<Upload>,
) -> Result<Vec<CheckedPhoto>, AttachmentError> {
    let max_bytes = settings.cases.max_photo_bytes;
    let max_count = settings.cases.max_photos_per_upload;
    if let Some(extra) = uploads.get(max_count) {
        return Err(AttachmentError::TooMany { field: extra.field.clone(), max: max_count });
    }
    let work = move || {
        uploads
            .into_iter()
            .map(|upload| {
                if upload.bytes.len() > max_bytes {
                    return Err(AttachmentError::TooLarge { field: upload.field, max_bytes });
                }
                clean_photo(&upload.bytes).map(CheckedPhoto).map_err(|error| match error {
                    PhotoError::NotAnImage => AttachmentError::NotAnImage { field: upload.field },
                    PhotoError::Undecodable(reason) => {
                        AttachmentError::Undecodable { field: upload.field, reason }
                    }
                })
            })
            .collect()
    };
    tokio::task::spawn_blocking(work).await.map_err(std::io::Error::other)?
}

/// Writes checked photos of `case_id` to disk and records them; returns their ids.
///
/// # Errors
/// A file or database failure. A file whose row could not be stored is removed.
#[tracing::instrument(skip_all, fields(case.id = case_id, user.id = user_id, photo.count = photos.len()))]
pub async fn save_photos(
    db: &Db,
    settings: &Settings,
    user_id: i64,
    case_id: i64,
    photos: Vec<CheckedPhoto>,
) -> Result<Vec<String>, AttachmentError> {
    let directory = settings.attachments_dir();
    tokio::fs::create_dir_all(&directory).await?;
    let mut ids = Vec::with_capacity(photos.len());
    for CheckedPhoto(photo) in photos {
        let attachment = Attachment {
            attachment_id: new_file_id(),
            case_id,
            content_type: photo.format.content_type().to_owned(),
            byte_size: i64::try_from(photo.bytes.len()).unwrap_or(i64::MAX),
            width: i32::try_from(photo.width).unwrap_or(i32::MAX),
            height: i32::try_from(photo.height).unwrap_or(i32::MAX),
            gps_hint: photo.gps_hint,
            uploaded_by_user_id: Some(user_id),
            created_at: Utc::now().trunc_subsecs(3),
        };
        let path = file_path(&directory, &attachment.attachment_id);
        write_file(&path, &photo.bytes).await?;
        if let Err(error) = db.insert_attachment(&attachment).await {
            tracing::error!(error = %error, attachment.id = %attachment.attachment_id, "attachment row not stored; removing its file");
            let _ = tokio::fs::remove_file(&path).await;
            return Err(error.into());
        }
        ids.push(attachment.attachment_id);
    }
    tracing::info!("photos attached");
    Ok(ids)
}

/// Reads a stored photo of `case_id`. The caller checks that the user may read the case.
///
/// # Errors
/// [`AttachmentError::NotFound`] for an unknown id or one of another case.
pub async fn read_photo(
    db: &Db,
    settings: &Settings,
    case_id: i64,
    attachment_id: &str,
) -> Result<(Attachment, Vec<u8>), AttachmentError> {
    if !is_file_id(attachment_id) {
        return Err(AttachmentError::NotFound);
    }
    let attachment = db.attachment_by_id(attachment_id).await?.filter(|a| a.case_id == case_id);
    let attachment = attachment.ok_or(AttachmentError::NotFound)?;
    let bytes = tokio::fs::read(file_path(&settings.attachments_dir(), attachment_id)).await?;
    Ok((attachment, bytes))
}
