//! Handlers of the administrator's user pages: list, create, edit, reset a password
//! and unlock. Each checks [`Permission::ManageUsers`] first.

use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use chrono::Utc;

use super::{
    AccountStore, ClientIp, CurrentUser, Permission,
    login::{render_page, see_other},
    service,
    users_forms::{PasswordPage, UserFormPage, UserFormValues, UserRow, UsersPage, field_error},
};
use crate::{
    accounts::AccountError,
    http::{AppError, AppState, pages::PageContext},
};

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_users(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let index = state.locator.snapshot();
    let now = Utc::now();
    let users = state.db.list_users().await.map_err(AppError::from)?;
    let rows = users
        .iter()
        .map(|account| UserRow {
            user_id: account.user_id,
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role_label: match &account.department_code {
                Some(code) => format!("{} · {code}", ctx.t(&account.role.message_id())),
                None => ctx.t(&account.role.message_id()),
            },
            areas: index
                .areas()
                .iter()
                .filter(|a| account.area_ids.contains(&a.area_id))
                .map(|a| format!("{} ({})", a.name, a.code))
                .collect(),
            active: account.active,
            locked: account.is_locked(now),
        })
        .collect();
    render_page(&UsersPage { ctx: ctx.at("users"), users: rows }, StatusCode::OK)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_new_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let values = UserFormValues { active: true, ..UserFormValues::default() };
    let page = UserFormPage::new(ctx.at("users"), &state.locator.snapshot(), None, values, vec![]);
    render_page(&page, StatusCode::OK)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_new_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    client_ip: ClientIp,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let index = state.locator.snapshot();
    let values = UserFormValues::from_pairs(pairs);
    let outcome = match values.to_input() {
        Ok(input) => service::create_account(&state.db, &index, input, &user.actor(&client_ip))
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(created) => match created.generated_password {
            Some(password) => {
                let page = PasswordPage {
                    ctx: ctx.at("users"),
                    user_id: created.user_id,
                    username: values.username.trim().to_ascii_lowercase(),
                    password: password.expose().to_owned(),
                };
                no_store(render_page(&page, StatusCode::CREATED))
            }
            None => {
                Ok(see_other(&format!("/users/{}?notice=notice-user-created", created.user_id)))
            }
        },
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            let values = UserFormValues { password: String::new(), ..values };
            let page = UserFormPage::new(ctx.at("users"), &index, None, values, errors);
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, target.user_id = user_id))]
pub async fn get_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(user_id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let index = state.locator.snapshot();
    let account = state.db.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound(user_id))?;
    let values = UserFormValues::from_user(&account, &index);
    let mut page = UserFormPage::new(ctx.at("users"), &index, Some(user_id), values, vec![]);
    page.locked = account.is_locked(Utc::now());
    render_page(&page, StatusCode::OK)
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, target.user_id = user_id))]
pub async fn post_user(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    client_ip: ClientIp,
    Path(user_id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let index = state.locator.snapshot();
    let account = state.db.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound(user_id))?;
    let values =
        UserFormValues { username: account.username.clone(), ..UserFormValues::from_pairs(pairs) };
    let outcome = match values.to_edit() {
        Ok(edit) => {
            service::update_account(&state.db, &index, user_id, edit, &user.actor(&client_ip))
                .await
                .map_err(AppError::from)
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/users/{user_id}?notice=notice-user-updated"))),
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            let mut page =
                UserFormPage::new(ctx.at("users"), &index, Some(user_id), values, errors);
            page.locked = account.is_locked(Utc::now());
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, target.user_id = user_id))]
pub async fn post_password_reset(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    client_ip: ClientIp,
    Path(user_id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    let password = service::reset_password(&state.db, user_id, &user.actor(&client_ip)).await?;
    let account = state.db.user_by_id(user_id).await?.ok_or(AccountError::UserNotFound(user_id))?;
    let page = PasswordPage {
        ctx: ctx.at("users"),
        user_id,
        username: account.username,
        password: password.expose().to_owned(),
    };
    no_store(render_page(&page, StatusCode::OK))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, target.user_id = user_id))]
pub async fn post_unlock(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    Path(user_id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageUsers)?;
    service::unlock_account(&state.db, user_id, &user.actor(&client_ip)).await?;
    Ok(see_other(&format!("/users/{user_id}?notice=notice-user-unlocked")))
}

/// Keeps a page that shows a password out of browser and proxy caches.
fn no_store(response: Result<Response, AppError>) -> Result<Response, AppError> {
    let mut response = response?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
