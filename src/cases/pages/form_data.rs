//! The fields of a console form, URL-encoded or multipart with photos.

use axum::{
    Form,
    extract::{FromRequest, Multipart, Request, multipart::MultipartError},
    http::{StatusCode, header},
};

use crate::{
    cases::attachment::{AttachmentError, Upload},
    http::{AppError, AppState, UserMessage},
};

/// Text fields in order, plus the files of a multipart form. A file input left empty
/// sends a part without bytes, which is skipped.
#[derive(Debug, Default)]
pub struct FormData {
    pub pairs: Vec<(String, String)>,
    pub uploads: Vec<Upload>,
    /// The first file over the size limit. Its bytes were dropped, but the text fields
    /// were still read so that the form can be shown again with the user's input.
    pub oversize: Option<AttachmentError>,
    /// The browser's name of that file.
    pub oversize_file_name: Option<String>,
}

impl FormData {
    /// Returns the uploaded files, or the error of the first oversize file.
    ///
    /// # Errors
    /// [`AttachmentError::TooLarge`] naming the field.
    pub fn take_uploads(&mut self) -> Result<Vec<Upload>, AttachmentError> {
        match self.oversize.take() {
            Some(error) => Err(error),
            None => Ok(std::mem::take(&mut self.uploads)),
        }
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = AppError;

    /// Reads the body with the configured photo size as the file limit.
    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        FormData::read(request, state, state.settings.cases.max_photo_bytes).await
    }
}

impl FormData {
    /// Reads a URL-encoded or multipart body. Each file is read chunk by chunk and
    /// dropped as soon as it passes `max_file_bytes`, so a large upload never sits whole
    /// in memory.
    ///
    /// # Errors
    /// 400 for a malformed body, 413 over the route's body limit.
    pub async fn read(
        request: Request,
        state: &AppState,
        max_file_bytes: usize,
    ) -> Result<Self, AppError> {
        let content_type = request.headers().get(header::CONTENT_TYPE);
        let multipart = content_type
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
                .await
                .map_err(|rejection| {
                    let reason = rejection.body_text();
                    AppError::BadRequest(
                        UserMessage::new("invalid_form_body").arg("reason", reason),
                    )
                })?;
            return Ok(FormData { pairs, ..FormData::default() });
        }
        let multipart = Multipart::from_request(request, state).await.map_err(|rejection| {
            let reason = rejection.body_text();
            AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", reason))
        })?;
        read_multipart(multipart, max_file_bytes).await
    }
}

async fn read_multipart(mut multipart: Multipart, max_bytes: usize) -> Result<FormData, AppError> {
    let mut form = FormData::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_none() {
            let text = field.text().await.map_err(multipart_error)?;
            form.pairs.push((name, text));
            continue;
        }
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        let mut oversize = false;
        // An oversize file is read to its end without keeping it, within the server's
        // body limit, so that the fields after it still arrive.
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            oversize = oversize || bytes.len() + chunk.len() > max_bytes;
            if oversize {
                bytes.clear();
            } else {
                bytes.extend_from_slice(&chunk);
            }
        }
        if oversize {
            if form.oversize.is_none() {
                form.oversize = Some(AttachmentError::TooLarge { field: name, max_bytes });
                form.oversize_file_name = Some(file_name);
            }
        } else if !bytes.is_empty() {
            form.uploads.push(Upload { field: name, file_name, bytes });
        }
    }
    Ok(form)
}

fn multipart_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", error.body_text()))
}
