//! The `/open311/v2/` routes. Each handler reads the format from the path extension
//! and the language from `locale` or `Accept-Language`, calls one function and renders
//! its document or error in that format.

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::Response,
    routing::get,
};

use super::{
    error::Open311Error,
    format::{Document, Format},
    requests, services,
    submit::{self, Params},
};
use crate::{
    http::{AppError, AppState, UserMessage, error::request_locale},
    i18n::Locale,
};

/// Largest POST body, in bytes: a 4,000-character description of up to 4 bytes a
/// character in UTF-8, percent-encoded to three times that, plus the other parameters.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the `/open311/v2/` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(get_collection).post(post_collection))
        .route("/open311/v2/services/{file}", get(get_service))
        .route("/open311/v2/requests/{file}", get(get_request))
        .route("/open311/v2/tokens/{file}", get(get_token))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Reads query parameters; a malformed query string is a 400 naming it.
fn query_params(query: Option<&str>) -> Result<Params, Open311Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|_| Open311Error::bad_parameter("open311_malformed_body", "query", ""))?;
    Ok(collect_first(pairs))
}

fn collect_first(pairs: Vec<(String, String)>) -> Params {
    let mut params = Params::new();
    for (name, value) in pairs {
        params.entry(name).or_insert(value);
    }
    params
}

/// Picks the response language: the `locale` parameter, then the request headers.
fn locale_of(state: &AppState, headers: &HeaderMap, params: &Params) -> Locale {
    params
        .get("locale")
        .and_then(|tag| Locale::parse(tag))
        .unwrap_or_else(|| request_locale(headers, state.default_locale()))
}

/// Renders `result` in `format`, or a 404 in JSON when the extension is unknown.
fn respond(
    format: Option<Format>,
    locale: Locale,
    result: Result<Document, Open311Error>,
) -> Response {
    let Some(format) = format else {
        let error = AppError::NotFound(UserMessage::new("open311_unknown_format"));
        return Open311Error::from(error).render(Format::Json, locale);
    };
    match result {
        Ok(document) => document.render(format),
        Err(error) => error.render(format, locale),
    }
}

fn not_found(stem: &str) -> Open311Error {
    AppError::not_found("path", stem).into()
}

async fn get_collection(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (stem, format) = Format::split(&file).unzip();
    let params = query_params(query.as_deref());
    let locale = locale_of(&state, &headers, params.as_ref().unwrap_or(&Params::new()));
    let tz = state.settings.time_zone();
    let result = match (stem.unwrap_or_default(), params) {
        (_, Err(error)) => Err(error),
        ("discovery", Ok(_)) => Ok(services::discovery(&base_url(&state, &headers))),
        ("services", Ok(_)) => services::list_services(&state.db, locale).await,
        ("requests", Ok(params)) => requests::list_requests(&state.db, &params, locale, tz).await,
        (other, Ok(_)) => Err(not_found(other)),
    };
    respond(format, locale, result)
}

async fn post_collection(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (stem, format) = Format::split(&file).unzip();
    let params = body_params(&headers, body);
    let locale = locale_of(&state, &headers, params.as_ref().unwrap_or(&Params::new()));
    let result = match (stem.unwrap_or_default(), params) {
        ("requests", Ok(params)) => submit::create_request(&state, &params).await,
        ("requests", Err(error)) => Err(error),
        (other, _) => Err(not_found(other)),
    };
    respond(format, locale, result)
}

/// Reads a POST body: `application/x-www-form-urlencoded` as the specification
/// defines, or a JSON object whose values are strings or numbers.
fn body_params(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, Open311Error> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Open311Error::from(AppError::PayloadTooLarge);
        }
        Open311Error::bad_parameter("open311_malformed_body", "body", "")
    })?;
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let malformed =
        |reason: String| Open311Error::bad_parameter("open311_malformed_body", "body", &reason);
    if content_type.starts_with("application/json") {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).map_err(|error| malformed(error.to_string()))?;
        let mut params = Params::new();
        for (name, value) in object {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Null => continue,
                _ => return Err(malformed(format!("{name} is neither a string nor a number"))),
            };
            params.insert(name, text);
        }
        return Ok(params);
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|error| malformed(error.to_string()))?;
    Ok(collect_first(pairs))
}

async fn get_service(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (code, format) = Format::split(&file).unzip();
    let params = query_params(query.as_deref()).unwrap_or_default();
    let locale = locale_of(&state, &headers, &params);
    let result = services::service_definition(&state.db, code.unwrap_or_default()).await;
    respond(format, locale, result)
}

async fn get_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (id, format) = Format::split(&file).unzip();
    let params = query_params(query.as_deref()).unwrap_or_default();
    let locale = locale_of(&state, &headers, &params);
    let tz = state.settings.time_zone();
    let result = requests::get_request(&state.db, id.unwrap_or_default(), locale, tz).await;
    respond(format, locale, result)
}

async fn get_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (token, format) = Format::split(&file).unzip();
    let locale = locale_of(&state, &headers, &Params::new());
    let result = requests::get_token(&state.db, token.unwrap_or_default()).await;
    respond(format, locale, result)
}

/// Builds the URL of `/open311/v2` as the client reached it, for discovery.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    // Secure cookies are set only behind TLS, so the setting also gives the scheme.
    let scheme = if state.settings.server.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}/open311/v2")
}
