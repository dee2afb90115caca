//! The Open311 error body.
//!
//! The rest of the API returns errors as `{"error": {code, message, field}}`, written
//! by `crate::http::error`. Open311 clients instead expect the body the GeoReport v2
//! specification defines: a list of `{code, description}` in JSON, or
//! `<errors><error><code/><description/></error></errors>` in XML, where `code` repeats
//! the HTTP status. The handlers of this module therefore return [`Open311Error`], which
//! the router's edge renders after the one error map has chosen the status, logged
//! server errors and given them a reference.

use axum::{http::StatusCode, response::IntoResponse};

use super::format::{Document, Format};
use crate::{
    cases::case::CaseError,
    http::{AppError, UserMessage, error::ErrorReport},
    i18n::Locale,
};

/// A failed Open311 request.
#[derive(Debug)]
pub enum Open311Error {
    /// Any application error, with the status the one error map picks, except that
    /// 422 (input that breaks a rule) becomes 400, the status the specification uses
    /// for every bad request.
    App(AppError),
    /// 403 Forbidden: a POST without a valid `api_key`.
    InvalidApiKey,
}

impl From<AppError> for Open311Error {
    fn from(error: AppError) -> Self {
        Open311Error::App(error)
    }
}

impl From<CaseError> for Open311Error {
    fn from(error: CaseError) -> Self {
        Open311Error::App(error.into())
    }
}

impl From<sqlx::Error> for Open311Error {
    fn from(error: sqlx::Error) -> Self {
        Open311Error::App(error.into())
    }
}

impl Open311Error {
    /// Builds a 400 that names the Open311 `parameter`, with the message `code`.
    pub fn bad_parameter(code: &'static str, parameter: &str, value: &str) -> Open311Error {
        let message = UserMessage::new(code).arg("value", value).field(parameter);
        Open311Error::App(AppError::BadRequest(message))
    }

    /// Writes the error body in `format` and `locale`.
    pub fn render(self, format: Format, locale: Locale) -> axum::response::Response {
        let (status, description) = self.status_and_description(locale);
        // Server errors were logged with their cause by the error map; this line gives
        // the reason for a rejected request.
        tracing::debug!(http.status = status.as_u16(), error.description = %description, "Open311 request failed");
        let error = serde_json::json!({ "code": status.as_u16(), "description": description });
        let document =
            Document { status, root: "errors", value: serde_json::Value::Array(vec![error]) };
        document.render(format)
    }

    fn status_and_description(self, locale: Locale) -> (StatusCode, String) {
        let error = match self {
            Open311Error::App(error) => error,
            Open311Error::InvalidApiKey => {
                let message = UserMessage::new("open311_api_key_invalid");
                return (StatusCode::FORBIDDEN, format!("api_key: {}", message.render(locale)));
            }
        };
        let response = error.into_response();
        let mut status = response.status();
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            status = StatusCode::BAD_REQUEST;
        }
        let description = match response.extensions().get::<ErrorReport>() {
            Some(report) => {
                let text = report.message.render(locale);
                match report.message.field.as_deref() {
                    Some(field) => format!("{}: {text}", parameter_name(field)),
                    None => text,
                }
            }
            None => status.canonical_reason().unwrap_or("error").to_owned(),
        };
        (status, description)
    }
}

/// Renames a field of the case intake to the Open311 parameter the client sent.
fn parameter_name(field: &str) -> &str {
    match field {
        "category_code" => "service_code",
        "longitude" => "long",
        "latitude" => "lat",
        "reporter_contact" => "email",
        other => other,
    }
}
