//! Console pages of the case loop: the report form, the staff queue, the case page
//! with one form per allowed action, the reporter's own list and the public tracking
//! page with its rating form.
//!
//! Handlers parse form fields into the JSON inputs of [`crate::cases::case`] and call the
//! same domain functions as `/api/v1/cases`, so the transition table, scope checks and
//! validation rules live in one place. Every form works without JavaScript.

mod detail;
mod duplicates;
pub(crate) mod form_data;
mod queue;
mod queue_filter;
mod report;
mod track;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::{
    cases::case::{Action, Stage},
    http::{AppError, AppState},
    i18n::Locale,
};

/// Builds the `/cases` console routes and the public `/track/{token}` page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases", get(queue::get_queue))
        .route("/cases/mine", get(queue::get_my_cases))
        .route("/cases/new", get(report::get_new_case).post(report::post_new_case))
        .route("/cases/{case_id}", get(detail::get_case_page))
        .route("/cases/{case_id}/actions", post(detail::post_case_action))
        .route("/cases/{case_id}/photos/{attachment_id}", get(detail::get_photo))
        .route("/track/{token}", get(track::get_tracking_page).post(track::post_rating))
        // Photo forms stream their files and check each against the configured photo
        // size, so axum's 2 MB default gives way to the server-wide body limit.
        .layer(DefaultBodyLimit::disable())
}

/// A message about one form field, shown next to it and in the error summary.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The `id` of the input the message is about.
    pub field: String,
    pub message: String,
}

/// Turns a validation or conflict error into a message for the form. Other errors pass
/// through to the error page.
///
/// # Errors
/// Any error that is not about the input.
fn field_error(error: AppError, locale: Locale) -> Result<FieldError, AppError> {
    match error {
        AppError::Invalid(message) | AppError::Conflict(message) => {
            tracing::debug!(code = message.code, field = ?message.field, "form input rejected");
            Ok(FieldError {
                field: message.field.clone().unwrap_or_default(),
                message: message.render(locale),
            })
        }
        other => Err(other),
    }
}

/// Returns the stage's name in the page's language.
fn stage_label(locale: Locale, stage: Stage) -> String {
    locale.t(&format!("cases-page-stage-{}", stage.as_str().replace('_', "-")))
}

/// Returns the action's name in the page's language, such as 派遣 for `dispatch`.
fn action_label(locale: Locale, action: Option<Action>) -> String {
    let name = action.map_or("intake", Action::as_str);
    locale.t(&format!("cases-page-action-{}", name.replace('_', "-")))
}

/// Formats a local time as `2026-12-04 17:30`, the zone being the configured one.
fn local_time(at: chrono::DateTime<chrono::FixedOffset>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
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
