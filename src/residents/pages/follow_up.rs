//! The follow-up list (`/resident-notices/follow-up`) of grid workers and community
//! workers: residents of their grids who have not read a notice in time, each with a
//! small form to record a call or visit and its outcome.

use std::collections::HashMap;

use askama::Template;
use axum::{
    Form,
    extract::{
        Path, State,
        rejection::{FormRejection, PathRejection},
    },
    http::StatusCode,
    response::Response,
};
use chrono::Utc;
use serde::Deserialize;

use super::{FieldError, field_error, render_page, see_other};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, pages::PageContext},
    residents::{
        http::path_id,
        notices::{
            receipts::{self, FollowUpInput},
            service, store,
        },
        service::scope_grids,
    },
};

/// Rows on the list; the most urgent and oldest come first.
const LIST_LIMIT: i64 = 500;

/// One unread resident on the list.
pub struct FollowUpRow {
    pub notice_id: i64,
    pub resident_id: i64,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub notice_title: String,
    pub urgent: bool,
    /// The latest outcome recorded, such as 未联系到, empty before the first.
    pub last_outcome: String,
    /// The message of a rejected form of this row.
    pub error: Option<String>,
}

impl FollowUpRow {
    /// Returns the suffix that makes the input ids of this row unique.
    pub fn key(&self) -> String {
        format!("{}-{}", self.notice_id, self.resident_id)
    }
}

#[derive(Template)]
#[template(path = "residents/follow_up.html")]
struct FollowUpPage {
    ctx: PageContext,
    rows: Vec<FollowUpRow>,
    errors: Vec<FieldError>,
    can_record: bool,
}

async fn follow_up_page(
    state: &AppState,
    user: &CurrentUser,
    ctx: PageContext,
    errors: Vec<FieldError>,
) -> Result<FollowUpPage, AppError> {
    let index = state.locator.snapshot();
    let scope = scope_grids(&index, user);
    let recipients =
        receipts::follow_up_list(&state.db, scope.as_deref(), Utc::now(), LIST_LIMIT).await?;
    let mut notice_ids: Vec<i64> = recipients.iter().map(|row| row.notice_id).collect();
    notice_ids.sort_unstable();
    notice_ids.dedup();
    let mut notices = HashMap::new();
    for notice_id in notice_ids {
        if let Some(notice) = store::notice_by_id(&state.db, notice_id).await? {
            notices.insert(notice_id, notice);
        }
    }
    let rows = recipients
        .into_iter()
        .map(|row| {
            let notice = notices.get(&row.notice_id);
            let suffix = format!("-{}-{}", row.notice_id, row.resident_id);
            FollowUpRow {
                notice_id: row.notice_id,
                resident_id: row.resident_id,
                notice_title: notice.map(|n| n.title.clone()).unwrap_or_default(),
                urgent: notice.is_some_and(|n| n.priority == "urgent"),
                last_outcome: row
                    .follow_up
                    .map(|o| ctx.t(&format!("notice-page-outcome-{}", o.replace('_', "-"))))
                    .unwrap_or_default(),
                error: errors
                    .iter()
                    .find(|e| e.field.ends_with(&suffix))
                    .map(|e| e.message.clone()),
                name: row.name,
                phone: row.phone.unwrap_or_default(),
                address: row.address,
            }
        })
        .collect();
    Ok(FollowUpPage {
        ctx: ctx.at("follow-up"),
        rows,
        errors,
        can_record: user.role.allows(Permission::ManageResidents),
    })
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_follow_up(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let page = follow_up_page(&state, &user, ctx, Vec::new()).await?;
    render_page(&page, StatusCode::OK)
}

/// The fields of one row's form.
#[derive(Debug, Deserialize)]
pub struct FollowUpForm {
    pub resident_id: i64,
    pub method: String,
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// Records a call or visit and returns to the list, where a reached or moved-away
/// resident is gone and one not reached shows the outcome.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_follow_up(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    path: Result<Path<i64>, PathRejection>,
    form: Result<Form<FollowUpForm>, FormRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageResidents)?;
    let Form(form) = form.map_err(|rejection| {
        let reason = rejection.body_text();
        AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", reason))
    })?;
    let notice_id = path_id(path, "notice")?;
    let index = state.locator.snapshot();
    let resident_id = form.resident_id;
    let input =
        FollowUpInput { resident_id, method: form.method, outcome: form.outcome, note: form.note };
    match service::record_follow_up(&state.db, &index, &user, notice_id, input).await {
        Ok(_) => Ok(see_other("/resident-notices/follow-up?notice=notice-follow-up-recorded")),
        Err(error) => {
            let mut error = field_error(error.into(), ctx.locale)?;
            error.field = format!("{}-{notice_id}-{resident_id}", error.field);
            let page = follow_up_page(&state, &user, ctx, vec![error]).await?;
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
