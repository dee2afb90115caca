//! The import page (`/residents/import`): upload a roster, read the dry run's problems
//! row by row, then apply the same file with one button.
//!
//! The dry run keeps the uploaded bytes in [`super::staging`] for 30 minutes when the
//! file has no problems, and the apply form names them by an unguessable id, so the
//! file is uploaded once. The apply runs as an import job, whose progress page is
//! [`super::import_job`].

use askama::Template;
use axum::{
    extract::{
        Multipart, State,
        multipart::{MultipartError, MultipartRejection},
    },
    http::StatusCode,
    response::Response,
};

use super::{FieldError, error_for, field_error, render_page, see_other, staging};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, pages::PageContext},
    residents::import::{
        ImportContext, ImportError, ImportReport, MAX_FILE_BYTES, Mode, Upload,
        job::{self, Progress},
        run_import,
    },
};

#[derive(Template)]
#[template(path = "residents/import.html")]
struct ImportPage {
    ctx: PageContext,
    errors: Vec<FieldError>,
    /// The report of the last dry run or rejected apply.
    report: Option<ImportReport>,
    /// The id of the staged file that the apply button sends; set after a clean dry run.
    staged_id: Option<String>,
    max_file_mib: usize,
}

impl ImportPage {
    fn new(ctx: PageContext) -> Self {
        ImportPage {
            ctx: ctx.at("residents"),
            errors: Vec::new(),
            report: None,
            staged_id: None,
            max_file_mib: MAX_FILE_BYTES / (1024 * 1024),
        }
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The fields of the import form.
#[derive(Default)]
struct ImportForm {
    /// The chosen file's name and bytes; `None` when the file input was left empty.
    file: Option<(String, Vec<u8>)>,
    sheet: Option<String>,
    mode: String,
    staged_id: String,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_import(user: CurrentUser, ctx: PageContext) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    render_page(&ImportPage::new(ctx), StatusCode::OK)
}

/// Checks an uploaded file (the dry run) and shows the report, or starts a job that
/// applies a staged one and redirects to its progress page.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_import(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    ctx: PageContext,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let multipart = multipart.map_err(|_| {
        AppError::BadRequest(UserMessage::new("resident_import_multipart").field("file"))
    })?;
    let form = read_form(multipart).await?;
    let mut page = ImportPage::new(ctx);
    let (upload, staged_id) = match upload_of(&state, &user, form).await {
        Ok(found) => found,
        Err(error) => {
            page.errors.push(field_error(error, page.ctx.locale)?);
            return render_page(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let actor = user.actor(&client_ip);
    if let Some(staged_id) = staged_id {
        // The job has its own copy of the bytes, and a second click finds no staged file.
        let locale = page.ctx.locale;
        let import_id = job::start_job(&state, user, actor, locale, upload).await?;
        staging::remove(&state.settings.data_dir, &staged_id).await;
        return Ok(see_other(&format!("/residents/import/{import_id}")));
    }
    let index = state.locator.snapshot();
    let import = ImportContext {
        db: &state.db,
        keys: &state.residents,
        index: &index,
        user: &user,
        actor: &actor,
        locale: page.ctx.locale,
    };
    // A dry run's file is kept once it turns out clean, so its bytes outlive the import.
    let dry_run_upload = upload.clone();
    let outcome = run_import(import, upload, &Progress::detached()).await;
    show_outcome(&state, &user, page, outcome, dry_run_upload).await
}

/// Shows a dry run's report. A clean dry run stages its file and offers the apply button.
async fn show_outcome(
    state: &AppState,
    user: &CurrentUser,
    mut page: ImportPage,
    outcome: Result<ImportReport, ImportError>,
    upload: Upload,
) -> Result<Response, AppError> {
    let data_dir = &state.settings.data_dir;
    match outcome {
        Ok(report) => {
            let clean = report.problem_count == 0 && report.residents_to_create > 0;
            if clean {
                let staged = staging::stage(
                    data_dir,
                    &state.residents,
                    user.user_id,
                    &upload.file_name,
                    upload.sheet,
                    &upload.bytes,
                );
                page.staged_id = Some(staged.await.map_err(|e| AppError::Internal(e.into()))?);
            }
            page.report = Some(report);
            render_page(&page, StatusCode::OK)
        }
        Err(ImportError::Rejected(report)) => {
            page.report = Some(*report);
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(error) => {
            page.errors.push(field_error(error.into(), page.ctx.locale)?);
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Picks the file to import: the staged one for an apply, the uploaded one for a dry
/// run. Returns it with the staged id to remove after a successful apply.
async fn upload_of(
    state: &AppState,
    user: &CurrentUser,
    form: ImportForm,
) -> Result<(Upload, Option<String>), AppError> {
    let mode = Mode::parse(&form.mode).ok_or_else(|| {
        AppError::BadRequest(UserMessage::new("resident_import_mode").field("file"))
    })?;
    if mode == Mode::Apply {
        let staged = staging::load(
            &state.settings.data_dir,
            &state.residents,
            user.user_id,
            &form.staged_id,
        )
        .await
        .ok_or_else(|| {
            AppError::Invalid(UserMessage::new("resident_page_staged_expired").field("file"))
        })?;
        let upload = Upload {
            file_name: staged.file_name,
            bytes: staged.bytes,
            mapping: Default::default(),
            sheet: staged.sheet,
            mode,
        };
        return Ok((upload, Some(form.staged_id)));
    }
    let (file_name, bytes) = form.file.ok_or_else(|| {
        AppError::BadRequest(UserMessage::new("resident_page_file_missing").field("file"))
    })?;
    Ok((Upload { file_name, bytes, mapping: Default::default(), sheet: form.sheet, mode }, None))
}

/// Reads the form: the file chunk by chunk up to [`MAX_FILE_BYTES`], and the text
/// fields `sheet`, `mode` and `staged_id`.
async fn read_form(mut multipart: Multipart) -> Result<ImportForm, AppError> {
    let mut form = ImportForm::default();
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                    return Err(ImportError::TooLarge.into());
                }
                bytes.extend_from_slice(&chunk);
            }
            // An empty file input still sends a part, without a name or bytes.
            if !file_name.is_empty() || !bytes.is_empty() {
                form.file = Some((file_name, bytes));
            }
            continue;
        }
        let text = field.text().await.map_err(form_error)?;
        match name.as_str() {
            "sheet" if !text.trim().is_empty() => form.sheet = Some(text.trim().to_owned()),
            "mode" => form.mode = text,
            "staged_id" => form.staged_id = text,
            _ => {}
        }
    }
    Ok(form)
}

fn form_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", error.body_text()))
}
