//! Routes of notice attachments: the upload for senders and the downloads for staff
//! and recipients.
//!
//! - `POST /api/v1/resident-notices/attachments`: a multipart form with one part
//!   `file`; returns 201 with the upload's id, to pass in the notice's
//!   `attachment_ids` within [`UPLOAD_TTL_HOURS`](super::UPLOAD_TTL_HOURS) hours.
//! - `GET /api/v1/resident-notices/{notice_id}/attachments/{attachment_id}`: staff
//!   who may read the notice.
//! - `GET /api/v1/my/notices/{notice_id}/attachments/{attachment_id}`: residents the
//!   notice reached.

use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Multipart, Path, State,
        multipart::{MultipartError, MultipartRejection},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::Utc;

use super::{AttachmentError, MAX_ATTACHMENT_BYTES, NoticeAttachment, read_attachment, store};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage},
    residents::{
        ResidentError,
        notices::{inbox, service},
    },
    stored_files::content_disposition,
};

/// Room for the multipart framing and headers around the one file.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

/// Builds the attachment routes.
pub fn router() -> Router<AppState> {
    let upload = Router::new()
        .route("/api/v1/resident-notices/attachments", post(upload_attachment))
        .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES + FORM_OVERHEAD_BYTES));
    Router::new()
        .route(
            "/api/v1/resident-notices/{notice_id}/attachments/{attachment_id}",
            get(download_as_staff),
        )
        .route(
            "/api/v1/my/notices/{notice_id}/attachments/{attachment_id}",
            get(download_as_recipient),
        )
        .merge(upload)
}

/// Stores the file of part `file` as the caller's upload.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn upload_attachment(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<NoticeAttachment>), AppError> {
    user.require(Permission::SendNotices)?;
    let multipart = multipart.map_err(|_| AttachmentError::MissingFile)?;
    let (name, bytes) = read_file_part(multipart).await?;
    let attachment =
        super::store_upload(&state.db, &state.settings, user.user_id, &name, bytes, Utc::now())
            .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// Reads part `file` chunk by chunk. An oversize file is read to its end without
/// keeping it, so the client gets the 422 instead of a reset connection.
async fn read_file_part(mut multipart: Multipart) -> Result<(String, Vec<u8>), AppError> {
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        let mut oversize = false;
        while let Some(chunk) = field.chunk().await.map_err(form_error)? {
            oversize = oversize || bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES;
            if oversize {
                bytes.clear();
            } else {
                bytes.extend_from_slice(&chunk);
            }
        }
        if oversize {
            let name = super::kind::sanitise_file_name(&name);
            return Err(AttachmentError::TooLarge { name }.into());
        }
        return Ok((name, bytes));
    }
    Err(AttachmentError::MissingFile.into())
}

fn form_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", error.body_text()))
}

/// Serves a file of a notice the caller may read as staff; others get 404.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, notice.id = notice_id))]
async fn download_as_staff(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((notice_id, attachment_id)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    match service::visible_notice(&state.db, &index, &user, notice_id).await {
        Ok(_) => {}
        Err(ResidentError::NotFound(_)) => return Err(AttachmentError::NotFound.into()),
        Err(error) => return Err(error.into()),
    }
    let (attachment, bytes) =
        read_attachment(&state.db, &state.settings, notice_id, &attachment_id).await?;
    Ok(file_response(&attachment, bytes))
}

/// Serves a file of a notice that reached the caller's registry record. Every other
/// case, including an account without a record, gets the same 404.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, notice.id = notice_id))]
async fn download_as_recipient(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((notice_id, attachment_id)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let resident_id = inbox::resident_of_user(&state.db, user.user_id).await?;
    let Some(resident_id) = resident_id else {
        return Err(AttachmentError::NotFound.into());
    };
    if !store::is_recipient(&state.db, notice_id, resident_id).await? {
        return Err(AttachmentError::NotFound.into());
    }
    let (attachment, bytes) =
        read_attachment(&state.db, &state.settings, notice_id, &attachment_id).await?;
    Ok(file_response(&attachment, bytes))
}

/// Builds the download: always `attachment`, so no file renders inside citycore's
/// origin, and `nosniff`, so the browser keeps the checked type.
fn file_response(attachment: &NoticeAttachment, bytes: Vec<u8>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, attachment.content_type.clone()),
        (header::CONTENT_DISPOSITION, content_disposition(&attachment.file_name)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    (headers, bytes).into_response()
}
