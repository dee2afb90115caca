//! Console pages of the resident registry and of notices to residents: the resident
//! list with its household pages, the import form and its progress page, the notice composer with its audience
//! preview, the notice list with receipts, and the follow-up list of grid workers.
//!
//! Handlers turn form fields into the inputs of the JSON API's domain functions
//! ([`crate::residents::service`], [`crate::residents::import`],
//! [`crate::residents::notices`]), so scope checks and validation live in one place.
//! Every form works without JavaScript and carries the session's CSRF token.

mod compose;
mod compose_files;
mod follow_up;
mod import;
mod import_job;
mod notices;
mod registry;
mod staging;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};

use crate::{
    http::{AppError, AppState},
    i18n::Locale,
    residents::notices::attachments::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_NOTICE},
};

/// Builds the `/residents` and `/resident-notices` console routes.
pub fn router() -> Router<AppState> {
    let upload = Router::new()
        .route("/residents/import", get(import::get_import).post(import::post_import))
        // Room for the file and the multipart framing, as on the import API.
        .layer(DefaultBodyLimit::max(crate::residents::import::MAX_FILE_BYTES + 64 * 1024));
    let compose = Router::new()
        .route("/resident-notices/new", get(compose::get_compose).post(compose::post_compose))
        // Room for a notice's files and the form's text around them.
        .layer(DefaultBodyLimit::max(COMPOSE_BODY_BYTES));
    Router::new()
        .route("/residents", get(registry::get_registry))
        .route("/residents/households/{household_id}", get(registry::get_household))
        .route("/residents/import/{import_id}", get(import_job::get_import_job))
        .route("/residents/import/{import_id}/progress", get(import_job::get_import_progress))
        .route("/resident-notices", get(notices::get_notices))
        .route("/resident-notices/follow-up", get(follow_up::get_follow_up))
        .route("/resident-notices/{notice_id}", get(notices::get_notice))
        .route("/resident-notices/{notice_id}/follow-ups", post(follow_up::post_follow_up))
        .merge(upload)
        .merge(compose)
}

/// Largest body of the notice composer: its files at their maximum size plus 1 MiB of
/// text fields and multipart framing.
const COMPOSE_BODY_BYTES: usize = MAX_ATTACHMENTS_PER_NOTICE * MAX_ATTACHMENT_BYTES + 1024 * 1024;

pub use crate::http::pages::FieldError;

/// Turns a validation or conflict error into a message for the form; other errors pass
/// through to the error page. API field names such as `audience.area_ids` become the
/// form's input ids (`area_ids`).
///
/// # Errors
/// Any error that is not about the input.
fn field_error(error: AppError, locale: Locale) -> Result<FieldError, AppError> {
    let mut found = crate::http::pages::field_error(error, locale)?;
    if let Some(id) = found.field.strip_prefix("audience.") {
        found.field = id.to_owned();
    }
    Ok(found)
}

/// Finds the message of `field` among `errors`.
fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
}

/// Formats an instant in the configured zone as `2026-12-04 17:30`.
fn local_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// Renders a page template with `status`.
fn render_page(page: &impl askama::Template, status: StatusCode) -> Result<Response, AppError> {
    crate::console::render(page).map(|html| (status, html).into_response())
}

/// Builds the 303 See Other response that ends a successful form POST.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Encodes one query-string value.
fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .unwrap_or_default()
        .trim_start_matches("v=")
        .to_owned()
}
