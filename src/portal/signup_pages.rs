//! The public sign-up form (`/portal/signup`) and the staff page that verifies
//! sign-ups (`/portal/signups`).

use askama::Template;
use axum::{
    Form,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};

use super::{
    FieldError, render_page, see_other,
    signup::{self, SignupError, SignupInput},
    verify::{self, PendingSignup},
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    audit::Actor,
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
    residents::http::path_id,
};

#[derive(Template)]
#[template(path = "portal/signup.html")]
struct SignupPage {
    ctx: PageContext,
    /// The typed values, kept when the form comes back with errors; never the password.
    values: SignupInput,
    errors: Vec<FieldError>,
}

impl SignupPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// Lists the ids for an input's `aria-describedby`: its hint and its error, if any.
    fn described_by(&self, field: &str, hint: bool) -> String {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{field}-hint"));
        }
        if self.error_for(field).is_some() {
            ids.push(format!("{field}-error"));
        }
        ids.join(" ")
    }
}

#[tracing::instrument(skip_all)]
pub async fn get_signup(ctx: PageContext) -> Result<Response, AppError> {
    let page = SignupPage { ctx: ctx.at("signup"), values: SignupInput::default(), errors: vec![] };
    render_page(&page, StatusCode::OK)
}

/// Stores the sign-up and sends the visitor to the login page, or shows the form again
/// with one message per invalid field.
#[tracing::instrument(skip_all)]
pub async fn post_signup(
    State(state): State<AppState>,
    ctx: PageContext,
    client_ip: ClientIp,
    Form(input): Form<SignupInput>,
) -> Result<Response, AppError> {
    let actor =
        Actor { user_id: None, name: input.username.trim().to_owned(), client_ip: client_ip.0 };
    match signup::submit_signup(&state.db, &state.residents, &input, &actor).await {
        Ok(_) => Ok(see_other("/login?next=/portal&notice=notice-signup-received")),
        Err(SignupError::Other(error)) => Err(error),
        Err(SignupError::Fields(messages)) => {
            let fields: Vec<_> = messages.iter().filter_map(|m| m.field.as_deref()).collect();
            tracing::debug!(?fields, "sign-up rejected");
            let errors = messages
                .iter()
                .map(|message| FieldError {
                    field: message.field.clone().unwrap_or_default(),
                    message: message.render(ctx.locale),
                })
                .collect();
            let values = SignupInput { password: String::new(), ..input };
            let page = SignupPage { ctx: ctx.at("signup"), values, errors };
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// One pending sign-up as the verification page shows it.
struct SignupRow {
    signup: PendingSignup,
    created_at: String,
}

#[derive(Template)]
#[template(path = "portal/signups.html")]
struct SignupsPage {
    ctx: PageContext,
    rows: Vec<SignupRow>,
    errors: Vec<FieldError>,
    /// The typed reason of a rejection that failed, by sign-up id.
    reason: (i64, String),
}

impl SignupsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    fn reason_for(&self, signup_id: &i64) -> &str {
        if self.reason.0 == *signup_id { &self.reason.1 } else { "" }
    }
}

async fn signups_page(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    errors: Vec<FieldError>,
    reason: (i64, String),
) -> Result<SignupsPage, AppError> {
    let index = state.locator.snapshot();
    let pending = verify::pending_signups(&state.db, &index, user).await?;
    let zone = state.settings.time_zone();
    let rows = pending
        .into_iter()
        .map(|signup| SignupRow {
            created_at: signup.created_at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
            signup,
        })
        .collect();
    Ok(SignupsPage { ctx: ctx.at("signups"), rows, errors, reason })
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_signups(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let page = signups_page(&state, ctx, &user, Vec::new(), (0, String::new())).await?;
    render_page(&page, StatusCode::OK)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_approve(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    client_ip: ClientIp,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let signup_id = path_id(path, "sign-up")?;
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    match verify::approve_signup(&state.db, &index, &user, &actor, signup_id).await {
        Ok(()) => Ok(see_other("/portal/signups?notice=notice-signup-approved")),
        Err(error) => decision_failed(&state, ctx, &user, error, signup_id, None).await,
    }
}

/// The rejection form's field.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RejectForm {
    pub reason: String,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_reject(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    client_ip: ClientIp,
    path: Result<Path<i64>, PathRejection>,
    Form(form): Form<RejectForm>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let signup_id = path_id(path, "sign-up")?;
    let index = state.locator.snapshot();
    let actor = user.actor(&client_ip);
    let outcome =
        verify::reject_signup(&state.db, &index, &user, &actor, signup_id, &form.reason).await;
    match outcome {
        Ok(()) => Ok(see_other("/portal/signups?notice=notice-signup-rejected")),
        Err(error) => {
            decision_failed(&state, ctx, &user, error, signup_id, Some(form.reason)).await
        }
    }
}

/// Shows the list again with the message of a failed decision next to its sign-up;
/// other errors pass through to the error page. A rejection keeps its typed reason.
async fn decision_failed(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    error: AppError,
    signup_id: i64,
    reason: Option<String>,
) -> Result<Response, AppError> {
    let mut error = field_error(error, ctx.locale)?;
    if reason.is_none() {
        // An approval has no input, so its message belongs to the sign-up's card.
        error.field = format!("signup-{signup_id}");
    }
    let reason = (signup_id, reason.unwrap_or_default());
    let page = signups_page(state, ctx, user, vec![error], reason).await?;
    render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

fn field_error(error: AppError, locale: Locale) -> Result<FieldError, AppError> {
    match error {
        AppError::Invalid(message) | AppError::Conflict(message) => {
            tracing::debug!(code = message.code, field = ?message.field, "decision rejected");
            Ok(FieldError {
                field: message.field.clone().unwrap_or_default(),
                message: message.render(locale),
            })
        }
        other => Err(other),
    }
}
