//! HTTP endpoints of the import: the template download and the upload.
//!
//! - `GET /api/v1/resident-imports/template?format=xlsx|csv&locale=en`
//! - `POST /api/v1/resident-imports?mode=dry_run|apply`, a multipart form with `file`
//!   and optional `mode`, `sheet` and `mapping` (a JSON object of header to field).
//!   With `Prefer: respond-async` or `?async=true` the import runs as a [`super::job`]:
//!   202 Accepted with the job and `Location: /api/v1/resident-imports/{import_id}`.
//! - `GET /api/v1/resident-imports/{import_id}`: the job's state, counts and, once it
//!   has ended, its report.

use std::collections::HashMap;

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Multipart, Path, State,
        multipart::{Field as MultipartField, MultipartError, MultipartRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    ImportContext, ImportError, MAX_FILE_BYTES, Mode, Upload,
    job::{self, ImportJob, Progress},
    run_import, template,
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, error::request_locale},
    i18n::Locale,
};

/// Room for the form's other fields and the multipart framing around the file.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/resident-imports/template", get(get_template))
        .route("/api/v1/resident-imports", post(post_import))
        .route("/api/v1/resident-imports/{import_id}", get(get_import_job))
        .layer(DefaultBodyLimit::max(MAX_FILE_BYTES + FORM_OVERHEAD_BYTES))
}

/// Picks the language of a file or report: `locale` in the query, else the user's
/// preference, else the request's language.
pub fn file_locale(
    state: &AppState,
    user: &CurrentUser,
    headers: &HeaderMap,
    requested: Option<&str>,
) -> Locale {
    requested
        .and_then(Locale::parse)
        .or(user.locale)
        .unwrap_or_else(|| request_locale(headers, state.default_locale()))
}

/// Builds a file download response.
pub fn attachment(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    (headers, body).into_response()
}

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV_TYPE: &str = "text/csv; charset=utf-8";

#[derive(Debug, Deserialize)]
struct TemplateQuery {
    format: Option<String>,
    locale: Option<String>,
}

async fn get_template(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<TemplateQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let locale = file_locale(&state, &user, &headers, query.locale.as_deref());
    match query.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => {
            let body = template::template_xlsx(locale).map_err(|e| AppError::Internal(e.into()))?;
            Ok(attachment(XLSX_TYPE, "residents-template.xlsx", body))
        }
        "csv" => {
            let body = template::template_csv(locale).map_err(|e| AppError::Internal(e.into()))?;
            Ok(attachment(CSV_TYPE, "residents-template.csv", body))
        }
        _ => Err(AppError::BadRequest(UserMessage::new("resident_file_format").field("format"))),
    }
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    mode: Option<String>,
    locale: Option<String>,
    /// Runs the import as a job, like `Prefer: respond-async`.
    #[serde(rename = "async")]
    run_async: Option<bool>,
}

/// Reports whether the request wants a job (`?async=true`, or the `respond-async`
/// preference of RFC 7240 in a `Prefer` header), and whether the header requested it.
fn wants_job(headers: &HeaderMap, query: &ImportQuery) -> (bool, bool) {
    let preferred = headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split([',', ';']).any(|token| token.trim().eq_ignore_ascii_case("respond-async"))
    });
    (preferred || query.run_async == Some(true), preferred)
}

/// Checks an upload, and writes it with `mode=apply`: 200 with the report for a dry
/// run, 201 for a written apply, 422 with the same report when rows have problems. As
/// a job, 202 with the job at once; see [`get_import_job`].
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn post_import(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    headers: HeaderMap,
    Query(query): Query<ImportQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let multipart = multipart.map_err(|_| {
        AppError::BadRequest(UserMessage::new("resident_import_multipart").field("file"))
    })?;
    let upload = read_form(multipart, query.mode.as_deref()).await?;
    let locale = file_locale(&state, &user, &headers, query.locale.as_deref());
    let actor = user.actor(&client_ip);
    if let (true, preferred) = wants_job(&headers, &query) {
        let import_id = job::start_job(&state, user.clone(), actor, locale, upload).await?;
        let job = job::find_job(&state.import_jobs, &state.db, &user, &import_id, locale).await?;
        return Ok(accepted(&import_id, job, preferred));
    }
    let index = state.locator.snapshot();
    let ctx = ImportContext {
        db: &state.db,
        keys: &state.residents,
        index: &index,
        user: &user,
        actor: &actor,
        locale,
    };
    match run_import(ctx, upload, &Progress::detached()).await {
        Ok(report) if report.applied => Ok((StatusCode::CREATED, Json(report)).into_response()),
        Ok(report) => Ok(Json(report).into_response()),
        Err(ImportError::Rejected(report)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// Builds the 202 Accepted response of a started job, pointing at its progress.
fn accepted(import_id: &str, job: Option<ImportJob>, preferred: bool) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(job)).into_response();
    let headers = response.headers_mut();
    let location = format!("/api/v1/resident-imports/{import_id}");
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    if preferred {
        headers.insert("preference-applied", HeaderValue::from_static("respond-async"));
    }
    response
}

/// Returns an import job of the user, or any job to an administrator: its state and
/// counts, and once it has ended the report that the synchronous call returns. Others'
/// jobs and unknown ids get 404.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, import.id = %import_id))]
async fn get_import_job(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(import_id): Path<String>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let locale = file_locale(&state, &user, &headers, None);
    let job = job::find_job(&state.import_jobs, &state.db, &user, &import_id, locale)
        .await?
        .ok_or_else(|| AppError::NotFound(UserMessage::new("resident_import_job_not_found")))?;
    Ok(Json(job).into_response())
}

/// Reads the form fields: the file chunk by chunk up to [`MAX_FILE_BYTES`], and the
/// text fields `mode`, `sheet` and `mapping`.
async fn read_form(mut multipart: Multipart, query_mode: Option<&str>) -> Result<Upload, AppError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut mode_text = query_mode.unwrap_or_default().to_owned();
    let mut sheet = None;
    let mut mapping = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                file = Some((name, read_file(field).await?));
            }
            "mode" => mode_text = field.text().await.map_err(form_error)?,
            "sheet" => sheet = Some(field.text().await.map_err(form_error)?),
            "mapping" => {
                let text = field.text().await.map_err(form_error)?;
                if !text.trim().is_empty() {
                    mapping = serde_json::from_str(&text).map_err(|_| {
                        AppError::BadRequest(
                            UserMessage::new("resident_import_mapping_json").field("mapping"),
                        )
                    })?;
                }
            }
            _ => {}
        }
    }
    let (file_name, bytes) = file.ok_or_else(|| {
        AppError::BadRequest(UserMessage::new("resident_import_file_missing").field("file"))
    })?;
    let mode = Mode::parse(&mode_text).ok_or_else(|| {
        AppError::BadRequest(UserMessage::new("resident_import_mode").field("mode"))
    })?;
    Ok(Upload { file_name, bytes, mapping, sheet, mode })
}

async fn read_file(mut field: MultipartField<'_>) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
        if bytes.len() + chunk.len() > MAX_FILE_BYTES {
            return Err(ImportError::TooLarge.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn form_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge;
    }
    AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", error.body_text()))
}
