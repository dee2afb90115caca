//! The one place where errors become HTTP responses.
//!
//! Every context's error converts into [`AppError`]. `into_response` only records the
//! status and a [`ErrorReport`]; the [`render_errors`] middleware then writes the body in
//! the caller's language and format: JSON with a stable `code` for APIs, an HTML page
//! for the console, and a redirect to the login page for an anonymous page visit.
//! Server errors get a short reference id that also appears in the log line, and their
//! cause chain goes only to the log.

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::i18n::{Locale, arg};

/// A message for the user: a stable code, Fluent arguments and the offending field.
///
/// The catalog id is `error-` followed by the code with `_` replaced by `-`, so the code
/// `unknown_parent` reads `error-unknown-parent` in `locales/*/errors.ftl` or the
/// context's own catalog file.
#[derive(Debug, Clone, PartialEq)]
pub struct UserMessage {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// The input field, form field or file position the message is about.
    pub field: Option<String>,
    /// Further messages, one per problem, when one request has many (such as an
    /// import listing every invalid feature); JSON bodies list them under `details`.
    pub details: Vec<UserMessage>,
}

impl UserMessage {
    pub fn new(code: &'static str) -> Self {
        Self { code, args: Vec::new(), field: None, details: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn details(mut self, details: Vec<UserMessage>) -> Self {
        self.details = details;
        self
    }

    /// Returns the catalog id of this message.
    pub fn message_id(&self) -> String {
        format!("error-{}", self.code.replace('_', "-"))
    }

    /// Formats the message text in `locale`.
    pub fn render(&self, locale: Locale) -> String {
        let args: Vec<_> = self.args.iter().map(|(k, v)| (*k, arg(v.clone()))).collect();
        locale.t_args(&self.message_id(), &args)
    }
}

/// The application error. Each variant's doc names its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 Bad Request: malformed input.
    #[error("bad request: {0:?}")]
    BadRequest(UserMessage),
    /// 422 Unprocessable Content: well-formed input that breaks a rule.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    /// 401 Unauthorized, or a redirect to the login page for a page request.
    #[error("authentication required")]
    Unauthenticated,
    /// 401 Unauthorized for a device or client with a missing or unknown token; the
    /// message names which of the two and where to get a token.
    #[error("bad token: {0:?}")]
    BadToken(UserMessage),
    /// 403 Forbidden: logged in, but the role or area scope does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// 403 Forbidden: a state-changing request without a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// 404 Not Found.
    #[error("not found: {0:?}")]
    NotFound(UserMessage),
    /// 409 Conflict: a duplicate or a concurrent change.
    #[error("conflict: {0:?}")]
    Conflict(UserMessage),
    /// 413 Content Too Large.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 429 Too Many Requests: a locked account or a rate limit.
    #[error("too many requests: {0:?}")]
    TooManyRequests(UserMessage),
    /// 503 Service Unavailable: a dependency such as the database is down.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500 Internal Server Error; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(error: crate::db::DbError) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<crate::parking::inventory::InventoryError> for AppError {
    /// Invalid records, counts and unknown tariffs become 422, an unreadable file 400, a missing lot or
    /// space 404 and a taken ref 409.
    fn from(error: crate::parking::inventory::InventoryError) -> Self {
        use crate::parking::inventory::InventoryError as E;
        match error {
            E::Invalid(mut messages) => {
                let first = messages.remove(0);
                let mut all = vec![first.clone()];
                all.extend(messages);
                AppError::Invalid(first.details(all))
            }
            E::InvalidImport(records) => {
                let details = records
                    .into_iter()
                    .map(|(location, message)| {
                        let field = match &message.field {
                            Some(field) => format!("{location}: {field}"),
                            None => location.to_string(),
                        };
                        message.field(field)
                    })
                    .collect::<Vec<_>>();
                AppError::Invalid(
                    UserMessage::new("parking_import_invalid")
                        .arg("count", details.len())
                        .details(details),
                )
            }
            E::Unreadable(reason) => AppError::BadRequest(
                UserMessage::new("parking_import_unreadable").arg("reason", reason),
            ),
            E::LotNotFound(lot_ref) => AppError::NotFound(
                UserMessage::new("parking_lot_not_found").arg("ref", lot_ref).field("lot_ref"),
            ),
            E::SpaceNotFound(space_ref) => AppError::NotFound(
                UserMessage::new("parking_space_not_found")
                    .arg("ref", space_ref)
                    .field("space_ref"),
            ),
            E::Duplicate(taken) => {
                AppError::Conflict(UserMessage::new("parking_ref_taken").arg("ref", taken))
            }
            E::UnknownTariff { lot_ref, code } => AppError::Invalid(
                UserMessage::new("parking_tariff_unknown")
                    .arg("ref", lot_ref)
                    .arg("code", code)
                    .field("tariff_code"),
            ),
            E::UnknownOwner { lot_ref, username } => AppError::Invalid(
                UserMessage::new("parking_owner_unknown")
                    .arg("ref", lot_ref)
                    .arg("username", username)
                    .field("owner_username"),
            ),
            E::CountOutOfRange { occupied, open_capacity } => AppError::Invalid(
                UserMessage::new("parking_count_out_of_range")
                    .arg("value", occupied)
                    .arg("max", open_capacity)
                    .field("occupied"),
            ),
            E::Database(error) => AppError::Internal(error.into()),
        }
    }
}

/// Error details that `render_errors` turns into a body, carried as a response extension.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub message: UserMessage,
    /// Reference id of a server error, shown to the user and logged with the cause.
    pub reference: Option<String>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated | AppError::BadToken(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short helper for the common "this thing was not found" case.
    pub fn not_found(what: &str, id: impl ToString) -> Self {
        AppError::NotFound(UserMessage::new("not_found").arg("what", what).arg("id", id))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, reference) = match self {
            AppError::BadRequest(m)
            | AppError::Invalid(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::BadToken(m)
            | AppError::TooManyRequests(m) => (m, None),
            AppError::Unauthenticated => (UserMessage::new("unauthenticated"), None),
            AppError::Forbidden => (UserMessage::new("forbidden"), None),
            AppError::Csrf => (UserMessage::new("csrf"), None),
            AppError::PayloadTooLarge => (UserMessage::new("payload_too_large"), None),
            AppError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "dependency unavailable");
                (UserMessage::new("unavailable"), None)
            }
            AppError::Internal(error) => {
                let reference = short_reference();
                tracing::error!(
                    error.reference = %reference,
                    error.message = %error,
                    error.cause_chain = ?error,
                    "request failed"
                );
                (UserMessage::new("internal").arg("reference", &reference), Some(reference))
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorReport { message, reference });
        response
    }
}

fn short_reference() -> String {
    let bytes: [u8; 4] = rand::random();
    hex::encode(bytes)
}

/// Decides whether the caller gets an HTML page (browsers) or JSON (APIs).
fn wants_html(request: &Request) -> bool {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/open311/") {
        return false;
    }
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Picks the language of a request: the language cookie, then `Accept-Language`, then the default.
pub fn request_locale(headers: &axum::http::HeaderMap, default: Locale) -> Locale {
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == crate::i18n::LOCALE_COOKIE)
        .and_then(|(_, value)| Locale::parse(value));
    from_cookie
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        })
        .unwrap_or(default)
}

/// Writes the body of every error response in the caller's language and format.
pub async fn render_errors(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let html = wants_html(&request);
    let locale = request_locale(request.headers(), state.default_locale());
    let next_path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let response = next.run(request).await;
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    let status = response.status();
    if html && status == StatusCode::UNAUTHORIZED {
        let target = format!("/login?next={}", urlencode(&next_path));
        return Redirect::to(&target).into_response();
    }
    let text = report.message.render(locale);
    let mut rendered = if html {
        let page = super::pages::ErrorPage {
            locale,
            status: status.as_u16(),
            title: locale.t(&format!("http-status-{}", status.as_u16())),
            message: text,
        };
        (status, Html(page.render_html())).into_response()
    } else {
        let details: Vec<_> = report
            .message
            .details
            .iter()
            .map(|detail| {
                serde_json::json!({
                    "code": detail.code,
                    "message": detail.render(locale),
                    "field": detail.field,
                })
            })
            .collect();
        let body = serde_json::json!({
            "error": {
                "code": report.message.code,
                "message": text,
                "field": report.message.field,
                "details": details,
                "reference": report.reference,
            }
        });
        (status, axum::Json(body)).into_response()
    };
    rendered.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(locale.tag()));
    rendered
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
