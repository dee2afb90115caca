//! The resident portal (居民端): the public sign-up form, the staff page that verifies
//! sign-ups, and a linked resident's own pages.
//!
//! - [`signup`]: sign-ups validated and stored as pending.
//! - [`verify`]: the worker's approval, which links the account to its registry record
//!   through `resident_account`, or rejection with a reason.
//! - `signup_pages`: `/portal/signup` for visitors and `/portal/signups` for the staff
//!   who manage residents.
//! - `pages`: `/portal` and its household and notice pages. An account reaches them
//!   only once it is linked to a registry record. Before that, `/portal` shows the state
//!   of its sign-up.
//!
//! Every page is server-rendered and every form posts without JavaScript. Identity and
//! phone numbers appear only masked. Reported cases stay on `/cases/mine` and
//! `/cases/new`, which the portal links to.

pub mod signup;
pub mod verify;

mod pages;
mod signup_pages;

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::http::AppState;

/// Builds the `/portal` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(pages::get_home))
        .route("/portal/household", get(pages::get_household))
        .route("/portal/notices", get(pages::get_notices))
        .route("/portal/notices/{notice_id}", get(pages::get_notice))
        .route("/portal/signup", get(signup_pages::get_signup).post(signup_pages::post_signup))
        .route("/portal/signups", get(signup_pages::get_signups))
        .route("/portal/signups/{signup_id}/approve", post(signup_pages::post_approve))
        .route("/portal/signups/{signup_id}/reject", post(signup_pages::post_reject))
}

/// A message about one form field, shown next to it and in the error summary.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The `id` of the input the message is about.
    pub field: String,
    pub message: String,
}

/// Builds the 303 See Other response that ends a successful form POST.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Renders a page template with `status`.
fn render_page(
    page: &impl askama::Template,
    status: StatusCode,
) -> Result<Response, crate::http::AppError> {
    crate::console::render(page).map(|html| (status, html).into_response())
}
