//! The notice list (`/resident-notices`) with status and counts, and a notice's
//! receipts page (`/resident-notices/{id}`) with its recipients, unread ones on request.
//! Counts and recipients are those inside the viewer's grids.

use askama::Template;
use axum::{
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{local_time, render_page};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, Query, pages::PageContext},
    locate::AreaIndex,
    residents::{
        http::path_id,
        notices::{
            Notice,
            attachments::{self, AttachmentLink},
            receipts::{self, NoticeCounts, RecipientRow},
            service, store,
        },
        service::scope_grids,
    },
};

/// Notices on the list, newest first.
const LIST_LIMIT: i64 = 100;
/// Recipients per page of the receipts page.
const RECIPIENT_ROWS: i64 = 100;

/// A notice on the list or the receipts page, as shown.
pub struct NoticeSummary {
    pub notice_id: i64,
    pub title: String,
    pub body: String,
    pub urgent: bool,
    pub status: String,
    pub send_at: String,
    pub sent_at: String,
    pub follow_up_hours: i32,
    pub counts: NoticeCounts,
}

impl NoticeSummary {
    fn new(notice: Notice, counts: NoticeCounts, ctx: &PageContext, tz: chrono_tz::Tz) -> Self {
        NoticeSummary {
            status: ctx.t(&format!("notice-page-status-{}", notice.status)),
            urgent: notice.priority == "urgent",
            send_at: local_time(notice.send_at, tz),
            sent_at: notice.sent_at.map(|at| local_time(at, tz)).unwrap_or_default(),
            notice_id: notice.notice_id,
            title: notice.title,
            body: notice.body,
            follow_up_hours: notice.follow_up_hours,
            counts,
        }
    }
}

#[derive(Template)]
#[template(path = "residents/notices.html")]
struct NoticesPage {
    ctx: PageContext,
    notices: Vec<NoticeSummary>,
    can_send: bool,
    time_zone: String,
}

/// Lists the notices the user sent or that reached their grids, newest first.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_notices(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    let scope = scope_grids(&index, &user);
    let tz = state.settings.time_zone();
    let notices =
        store::list_notices(&state.db, scope.as_deref(), user.user_id, LIST_LIMIT).await?;
    let mut summaries = Vec::with_capacity(notices.len());
    // NOTE: one count query per notice; 100 notices take 200 small queries.
    for notice in notices {
        let counts = receipts::counts(&state.db, notice.notice_id, scope.as_deref()).await?;
        summaries.push(NoticeSummary::new(notice, counts, &ctx, tz));
    }
    let page = NoticesPage {
        ctx: ctx.at("resident-notices"),
        notices: summaries,
        can_send: user.role.allows(Permission::SendNotices),
        time_zone: tz.to_string(),
    };
    render_page(&page, StatusCode::OK)
}

/// One recipient as the receipts page shows them.
pub struct RecipientView {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub grid: String,
    pub read_at: String,
    pub webhook_status: String,
    pub email: String,
    pub email_status: String,
    pub follow_up: String,
}

impl RecipientView {
    pub fn new(row: RecipientRow, ctx: &PageContext, index: &AreaIndex, tz: chrono_tz::Tz) -> Self {
        let label = |prefix: &str, value: Option<String>| {
            value.map(|v| ctx.t(&format!("{prefix}{}", v.replace('_', "-")))).unwrap_or_default()
        };
        RecipientView {
            grid: index.area(row.grid_id).map(|a| a.name.clone()).unwrap_or_default(),
            read_at: row.read_at.map(|at| local_time(at, tz)).unwrap_or_default(),
            webhook_status: label("notice-page-webhook-", row.webhook_status),
            email_status: label("notice-page-email-", row.email_status),
            email: row.email.unwrap_or_default(),
            follow_up: label("notice-page-outcome-", row.follow_up),
            name: row.name,
            phone: row.phone.unwrap_or_default(),
            address: row.address,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecipientQuery {
    /// Only recipients who have not read the notice.
    pub unread: bool,
    pub offset: i64,
}

#[derive(Template)]
#[template(path = "residents/notice.html")]
struct NoticePage {
    ctx: PageContext,
    notice: NoticeSummary,
    recipients: Vec<RecipientView>,
    unread_only: bool,
    time_zone: String,
    previous_page: Option<String>,
    next_page: Option<String>,
    attachments: Vec<AttachmentLink>,
}

/// Shows a notice's counts and recipients inside the user's grids.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_notice(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    path: Result<Path<i64>, PathRejection>,
    Query(query): Query<RecipientQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let notice_id = path_id(path, "notice")?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let (notice, counts) = service::visible_notice(&state.db, &index, &user, notice_id).await?;

    let scope = scope_grids(&index, &user);
    let offset = query.offset.max(0);
    let mut rows = receipts::recipients(
        &state.db,
        notice_id,
        scope.as_deref(),
        query.unread,
        RECIPIENT_ROWS + 1,
        offset,
    )
    .await?;
    let has_next = rows.len() as i64 > RECIPIENT_ROWS;
    rows.truncate(RECIPIENT_ROWS as usize);
    let recipients =
        rows.into_iter().map(|row| RecipientView::new(row, &ctx, &index, tz)).collect();

    let attachments = attachments::staff_links(&state.db, notice_id).await?;
    let base = format!("/resident-notices/{notice_id}?unread={}", query.unread);
    let page = NoticePage {
        attachments,
        notice: NoticeSummary::new(notice, counts, &ctx, tz),
        recipients,
        unread_only: query.unread,
        time_zone: tz.to_string(),
        previous_page: (offset > 0)
            .then(|| format!("{base}&offset={}", (offset - RECIPIENT_ROWS).max(0))),
        next_page: has_next.then(|| format!("{base}&offset={}", offset + RECIPIENT_ROWS)),
        ctx: ctx.at("resident-notices"),
    };
    render_page(&page, StatusCode::OK)
}
