//! The files of the notice composer. Each new file becomes an upload of the sender
//! as soon as the form is posted, so a preview or a rejected field does not lose it:
//! the form shows it again as a checked box that keeps it attached.

use chrono::Utc;

use super::{FieldError, compose::ComposeValues};
use crate::{
    cases::attachment::Upload,
    http::{AppError, AppState, UserMessage},
    i18n::Locale,
    residents::notices::attachments::{self, AttachmentError, MAX_ATTACHMENTS_PER_NOTICE, store},
};

/// The id of the file input, which error messages about files point to.
pub const FILES_FIELD: &str = "attachments";

/// An upload the form keeps attached.
pub struct KeptFile {
    pub attachment_id: String,
    pub file_name: String,
    pub kind: &'static str,
    pub size: String,
}

/// Stores the new files of a submission as uploads of `user_id` and adds their ids to
/// `values`. Returns one message per rejected file, naming it; the accepted files
/// stay stored either way.
///
/// # Errors
/// A file or database failure.
pub async fn store_new_files(
    state: &AppState,
    user_id: i64,
    values: &mut ComposeValues,
    uploads: Vec<Upload>,
    oversize_file_name: Option<String>,
    locale: Locale,
) -> Result<Vec<FieldError>, AppError> {
    let mut errors = Vec::new();
    let reject =
        |error: AttachmentError, errors: &mut Vec<FieldError>| match error.message(FILES_FIELD) {
            Some(message) => {
                errors.push(FieldError {
                    field: FILES_FIELD.to_owned(),
                    message: message.render(locale),
                });
                Ok(())
            }
            None => Err(AppError::from(error)),
        };
    if let Some(name) = oversize_file_name {
        let name = attachments::kind::sanitise_file_name(&name);
        reject(AttachmentError::TooLarge { name }, &mut errors)?;
    }
    let uploads: Vec<Upload> = uploads.into_iter().filter(|u| u.field == FILES_FIELD).collect();
    if values.attachment_ids.len() + uploads.len() > MAX_ATTACHMENTS_PER_NOTICE {
        let message = UserMessage::new("notice_attachment_too_many")
            .arg("max", MAX_ATTACHMENTS_PER_NOTICE)
            .render(locale);
        errors.push(FieldError { field: FILES_FIELD.to_owned(), message });
        return Ok(errors);
    }
    for upload in uploads {
        let stored = attachments::store_upload(
            &state.db,
            &state.settings,
            user_id,
            &upload.file_name,
            upload.bytes,
            Utc::now(),
        )
        .await;
        match stored {
            Ok(attachment) => values.attachment_ids.push(attachment.attachment_id),
            Err(error) => reject(error, &mut errors)?,
        }
    }
    Ok(errors)
}

/// Lists the uploads of `user_id` among `ids` that can still be attached, in the
/// order of `ids`.
///
/// # Errors
/// A database failure.
pub async fn kept_files(
    state: &AppState,
    user_id: i64,
    ids: &[String],
) -> Result<Vec<KeptFile>, AppError> {
    let rows = store::pending_uploads(&state.db, user_id, ids, Utc::now()).await?;
    let mut kept = Vec::with_capacity(rows.len());
    for id in ids {
        let Some(row) = rows.iter().find(|row| &row.attachment_id == id) else {
            continue;
        };
        kept.push(KeptFile {
            attachment_id: row.attachment_id.clone(),
            file_name: row.file_name.clone(),
            kind: attachments::kind_label(&row.content_type),
            size: attachments::size_label(row.byte_size),
        });
    }
    Ok(kept)
}
