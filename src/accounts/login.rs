//! Handlers of `/login`, `/logout`, `/locale` and `/api/v1/me`.

use crate::http::Query;
use askama::Template;
use axum::{
    Form, Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;

use super::{
    AccountStore, ClientIp, CurrentUser, MaybeUser,
    auth::{self, LoginError},
    password::Password,
    session::{self, SESSION_COOKIE, SameSite},
};
use crate::{
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::{LOCALE_COOKIE, Locale},
};

/// How long the language cookie lasts: one year, in seconds.
const LOCALE_COOKIE_MAX_AGE_SECONDS: i64 = 365 * 24 * 60 * 60;

/// A local path to return to after a form, or `/` for anything that could leave the
/// site: absolute URLs, scheme-relative `//host`, backslashes (which browsers read as
/// slashes) and control characters.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Renders a page template with a status.
pub(crate) fn render_page(page: &impl Template, status: StatusCode) -> Result<Response, AppError> {
    let html = page.render().map_err(|error| AppError::Internal(error.into()))?;
    Ok((status, Html(html)).into_response())
}

/// Builds a 303 See Other response to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
pub struct LoginPage {
    pub ctx: PageContext,
    pub next: String,
    pub username: String,
    /// The message of a failed attempt, shown above the form and linked to the fields.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn get_login(
    ctx: PageContext,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    render_page(&LoginPage { ctx, next, username: String::new(), error: None }, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    password: Password,
    #[serde(default)]
    next: String,
}

#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn post_login(
    State(state): State<AppState>,
    ctx: PageContext,
    client_ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next));
    let previous = session::session_token(&headers);
    let (db, auth) = (&state.db, &state.settings.auth);
    let outcome =
        auth::log_in(db, auth, &form.username, &form.password, previous.as_deref(), client_ip.0)
            .await;
    let (status, error) = match outcome {
        Ok(logged_in) => return Ok(logged_in_response(&state, logged_in, &next)),
        Err(LoginError::InvalidCredentials) => (StatusCode::UNAUTHORIZED, ctx.t("login-invalid")),
        Err(LoginError::Locked { until }) => {
            // Round up, so that "try again in 1 minute" never shows as 0.
            let minutes = ((until - Utc::now()).num_seconds().max(0) + 59) / 60;
            (StatusCode::TOO_MANY_REQUESTS, ctx.t1("login-locked", "minutes", &minutes.to_string()))
        }
        Err(LoginError::Account(error)) => return Err(error.into()),
    };
    let page = LoginPage { ctx, next, username: form.username, error: Some(error) };
    render_page(&page, status)
}

fn logged_in_response(state: &AppState, logged_in: auth::LoggedIn, next: &str) -> Response {
    tracing::Span::current().record("user.id", logged_in.user_id);
    let secure = state.settings.server.secure_cookies;
    let mut response = see_other(next);
    let headers = response.headers_mut();
    let cookie =
        session::set_cookie(SESSION_COOKIE, &logged_in.session_token, None, SameSite::Lax, secure);
    session::append_cookie(headers, cookie);
    if let Some(locale) = logged_in.locale {
        append_locale_cookie(headers, locale, secure);
    }
    response
}

fn append_locale_cookie(headers: &mut HeaderMap, locale: Locale, secure: bool) {
    let max_age = Some(LOCALE_COOKIE_MAX_AGE_SECONDS);
    let cookie = session::set_cookie(LOCALE_COOKIE, locale.tag(), max_age, SameSite::Lax, secure);
    session::append_cookie(headers, cookie);
}

#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn post_logout(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    client_ip: ClientIp,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let (Some(user), Some(token)) = (user, session::session_token(&headers)) {
        tracing::Span::current().record("user.id", user.user_id);
        auth::log_out(&state.db, &token, &user.actor(&client_ip)).await?;
    }
    let mut response = see_other("/login");
    let secure = state.settings.server.secure_cookies;
    let removal = session::set_cookie(SESSION_COOKIE, "", Some(0), SameSite::Lax, secure);
    session::append_cookie(response.headers_mut(), removal);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LocaleForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    next: String,
}

/// Remembers a language choice in a cookie and, for a logged-in user, on the account.
#[tracing::instrument(skip_all, fields(user.id = tracing::field::Empty))]
pub async fn post_locale(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Form(form): Form<LocaleForm>,
) -> Result<Response, AppError> {
    let locale = Locale::parse(&form.locale).ok_or_else(|| {
        AppError::BadRequest(
            UserMessage::new("locale_invalid").arg("locale", &form.locale).field("locale"),
        )
    })?;
    if let Some(user) = &user {
        tracing::Span::current().record("user.id", user.user_id);
        state.db.set_user_locale(user.user_id, Some(locale)).await?;
    }
    let mut response = see_other(&safe_next(Some(&form.next)));
    append_locale_cookie(response.headers_mut(), locale, state.settings.server.secure_cookies);
    Ok(response)
}

/// Returns the logged-in account as JSON, with its areas' codes and names.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_me(State(state): State<AppState>, user: CurrentUser) -> Json<serde_json::Value> {
    let index = state.locator.snapshot();
    let areas: Vec<_> = index
        .areas()
        .iter()
        .filter(|area| user.area_ids.contains(&area.area_id))
        .map(|area| {
            serde_json::json!({
                "area_id": area.area_id,
                "code": area.code,
                "name": area.name,
                "level": area.level,
            })
        })
        .collect();
    Json(serde_json::json!({
        "user_id": user.user_id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "locale": user.locale.map(Locale::tag),
        "areas": areas,
        "department_code": user.department_code,
    }))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn safe_next_keeps_local_paths_only() {
        let cases = [
            (Some("/users?page=2"), "/users?page=2", "local path with query"),
            (Some("//evil.example/"), "/", "scheme-relative URL"),
            (Some("https://evil.example/"), "/", "absolute URL"),
            (Some("/\\evil.example"), "/", "backslash read as slash"),
            (Some("/\t/evil.example"), "/", "control character"),
            (Some("users"), "/", "relative path"),
            (None, "/", "missing"),
        ];
        for (input, expected, description) in cases {
            assert_eq!(safe_next(input), expected, "{description}");
        }
    }
}
