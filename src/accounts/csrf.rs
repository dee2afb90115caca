//! CSRF protection for every state-changing request (POST, PUT, PATCH, DELETE).
//!
//! A logged-in request must present its session's `csrf_token`. A visitor's request
//! must present the value of the `citycore_csrf` cookie (double submit), and this
//! middleware sets that cookie when it is missing. The token is read from the `x-csrf-token`
//! header, from a `csrf_token` field of an `application/x-www-form-urlencoded` body,
//! or, for `multipart/form-data` uploads whose body is not buffered here, from a
//! `csrf_token` query parameter. A request to `/api/` without a session cookie is not
//! checked: it carries no ambient credential that a forged request could borrow.
//!
//! The middleware also loads the session once per request and leaves the user and the
//! token in the request extensions for [`super::CurrentUser`] and page templates.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use subtle::ConstantTimeEq;

use super::session::{self, SameSite};
use crate::http::{AppError, AppState, pages::CsrfToken};

/// Name of the visitor's double-submit cookie.
pub const CSRF_COOKIE: &str = "citycore_csrf";
/// Name of the header, form field and query parameter that carry the token.
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";
/// Largest form body buffered to find the token, in bytes. Console forms are a few
/// kilobytes; uploads use multipart, which is not buffered.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The session loaded by the middleware, so that extractors do not load it again.
/// `None` means the request has no valid session.
#[derive(Debug, Clone)]
pub struct LoadedSession(pub Option<super::CurrentUser>);

/// Checks the CSRF token of state-changing requests; see the module documentation.
///
/// # Errors
/// [`AppError::Csrf`] for a missing or wrong token, [`AppError::PayloadTooLarge`] for a
/// form body over 1 MiB, and an internal error when the session cannot be loaded.
pub async fn verify_csrf(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let session_token = session::session_token(request.headers());
    let user = match &session_token {
        Some(token) => session::load_user(&state.db, &state.settings.auth, token).await?,
        None => None,
    };
    let visitor_token = CookieJar::from_headers(request.headers())
        .get(CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| session::is_token(token));
    let new_visitor_token = match (&user, &visitor_token) {
        (None, None) => Some(session::new_token()),
        _ => None,
    };
    let expected = user
        .as_ref()
        .map(|user| user.csrf_token.clone())
        .or(visitor_token)
        .or_else(|| new_visitor_token.clone())
        .unwrap_or_default();
    request.extensions_mut().insert(LoadedSession(user));
    request.extensions_mut().insert(CsrfToken(expected.clone()));

    let exempt = session_token.is_none() && request.uri().path().starts_with("/api/");
    let mut response = if is_state_changing(request.method()) && !exempt {
        let (checked, presented) = presented_token(request).await?;
        let matches =
            presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(expected.as_bytes())));
        if matches {
            next.run(checked).await
        } else {
            tracing::warn!(http.path = %checked.uri().path(), "CSRF token missing or wrong");
            AppError::Csrf.into_response()
        }
    } else {
        next.run(request).await
    };
    // NOTE: a rejected request loses this header because the error renderer builds a
    // new response. The visitor gets the cookie with the next page they load.
    if let Some(token) = new_visitor_token {
        let secure = state.settings.server.secure_cookies;
        let cookie = session::set_cookie(CSRF_COOKIE, &token, None, SameSite::Strict, secure);
        session::append_cookie(response.headers_mut(), cookie);
    }
    Ok(response)
}

fn is_state_changing(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Finds the token the client sent, buffering a form body and putting it back.
async fn presented_token(request: Request) -> Result<(Request, Option<String>), AppError> {
    if let Some(value) = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let value = value.to_owned();
        return Ok((request, Some(value)));
    }
    match content_type(request.headers()).as_str() {
        "application/x-www-form-urlencoded" => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| AppError::PayloadTooLarge)?;
            let token = field_value(&bytes);
            Ok((Request::from_parts(parts, Body::from(bytes)), token))
        }
        "multipart/form-data" => {
            let token = request.uri().query().and_then(|query| field_value(query.as_bytes()));
            Ok((request, token))
        }
        _ => Ok((request, None)),
    }
}

fn field_value(urlencoded: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(urlencoded)
        .ok()?
        .into_iter()
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value)
}
