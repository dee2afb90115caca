//! The page context that every console page gives the layout template.

use askama::Template;

use super::AppError;
use crate::i18n::Locale;

/// Data the layout (`templates/layout.html`) needs on every page.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub locale: Locale,
    /// The logged-in user's display name and role label; `None` for visitors.
    pub user: Option<NavUser>,
    /// The session's (or visitor's) CSRF token, placed in every form.
    pub csrf_token: String,
    /// The navigation entry to mark as current, such as `dashboard` or `map`.
    pub current: &'static str,
    /// A one-off notice shown at the top of the page after a redirect.
    pub flash: Option<String>,
    /// The path of this page, so that the language switch returns here.
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct NavUser {
    pub display_name: String,
    pub role_label: String,
    /// Whether the user may manage accounts, which shows the Users entry.
    pub can_manage_users: bool,
    /// Whether the user may see the case queue; others see only their own reports.
    pub can_view_cases: bool,
    /// Shows the KPIs entry.
    pub can_view_kpis: bool,
    /// Shows the residents, notices and follow-up entries.
    pub can_view_residents: bool,
    /// Shows the resident portal entry.
    pub is_resident: bool,
    /// Shows the parking operations and parking analysis entries.
    pub can_view_parking_operations: bool,
    /// Shows the sign-up verification entry to those who manage residents.
    pub can_verify_signups: bool,
}

impl PageContext {
    /// Looks up a catalog message in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.locale.t(id)
    }

    /// Looks up a catalog message with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        self.locale.t_args(id, &[(name, crate::i18n::arg(value.to_owned()))])
    }

    /// Looks up a catalog message, leaving its arguments as `{name}` placeholders for a script.
    pub fn t_template(&self, id: &str, first: &str, second: &str) -> String {
        let placeholder = |name: &str| crate::i18n::arg(format!("{{{name}}}"));
        let mut args = vec![(first, placeholder(first))];
        if !second.is_empty() {
            args.push((second, placeholder(second)));
        }
        self.locale.t_args(id, &args)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    /// `aria-current` value for a navigation entry.
    pub fn aria_current(&self, entry: &str) -> &'static str {
        if self.current == entry { "page" } else { "false" }
    }
}

/// A message shown next to a form input and in the page's error summary.
pub struct FieldError {
    /// The `id` of the input the message is about.
    pub field: String,
    pub message: String,
}

/// Turns a rejected input into a message for the form; other errors pass through.
///
/// # Errors
/// Any error that is not about the input (400, 409 or 422).
pub fn field_error(error: AppError, locale: Locale) -> Result<FieldError, AppError> {
    match error {
        AppError::Invalid(message)
        | AppError::Conflict(message)
        | AppError::BadRequest(message) => {
            tracing::debug!(code = message.code, field = ?message.field, "form input rejected");
            let field = message.field.clone().unwrap_or_default();
            Ok(FieldError { field, message: message.render(locale) })
        }
        other => Err(other),
    }
}

/// Finds the message of `field` among `errors`, for the template beside that input.
pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors.iter().find(|error| error.field == field).map(|error| error.message.as_str())
}

/// A full-page error for browsers; APIs get JSON instead.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub locale: Locale,
    pub status: u16,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    pub fn t(&self, id: &str) -> String {
        self.locale.t(id)
    }

    /// Renders the page; a template failure falls back to the bare message.
    pub fn render_html(&self) -> String {
        self.render().unwrap_or_else(|_| self.message.clone())
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }
}

/// The CSRF token of the current request, put in the request extensions by the CSRF
/// middleware: the session's token for a logged-in user, the visitor cookie's otherwise.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl axum::extract::FromRequestParts<super::AppState> for PageContext {
    type Rejection = super::AppError;

    /// Builds the layout data: language, logged-in user, CSRF token and path.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> Result<Self, Self::Rejection> {
        let crate::accounts::MaybeUser(user) =
            crate::accounts::MaybeUser::from_request_parts(parts, state).await?;
        let locale = user.as_ref().and_then(|u| u.locale).unwrap_or_else(|| {
            super::error::request_locale(&parts.headers, state.default_locale())
        });
        let csrf_token = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .or_else(|| user.as_ref().map(|u| u.csrf_token.clone()))
            .unwrap_or_default();
        let flash = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "notice").map(|(_, v)| v))
            .filter(|id| id.starts_with("notice-") && id.len() < 64)
            .map(|id| locale.t(&id));
        let nav_user = user.as_ref().map(|u| NavUser {
            display_name: u.display_name.clone(),
            role_label: locale.t(&u.role.message_id()),
            can_manage_users: u.role.allows(crate::accounts::Permission::ManageUsers),
            can_view_cases: u.role.allows(crate::accounts::Permission::ViewCases),
            can_view_kpis: u.role.allows(crate::accounts::Permission::ViewKpis),
            can_view_residents: u.role.allows(crate::accounts::Permission::ViewResidents),
            is_resident: u.role == crate::accounts::Role::Resident,
            can_view_parking_operations: u
                .role
                .allows(crate::accounts::Permission::ViewParkingOperations),
            can_verify_signups: u.role.allows(crate::accounts::Permission::ManageResidents),
        });
        Ok(PageContext {
            locale,
            user: nav_user,
            csrf_token,
            current: "",
            flash,
            path: parts.uri.path().to_owned(),
        })
    }
}

impl PageContext {
    /// Marks the navigation entry of this page.
    pub fn at(mut self, entry: &'static str) -> Self {
        self.current = entry;
        self
    }
}
