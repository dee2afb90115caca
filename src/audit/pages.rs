//! `GET /audit`: the administrator's view of the audit log, newest first, paged and
//! filterable by action.

use crate::http::Query;
use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use serde::Deserialize;

use super::{AuditAction, AuditEntry, AuditStore};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, pages::PageContext},
};

/// Entries per page.
const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(get_audit))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    /// 1-based page number.
    page: Option<i64>,
}

/// One row of the table, formatted for display.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub occurred_at: String,
    pub actor: String,
    pub action_label: String,
    pub target: String,
    pub detail: String,
    pub client_ip: String,
}

/// One option of the action filter.
#[derive(Debug, Clone)]
pub struct ActionOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "accounts/audit.html")]
pub struct AuditPageView {
    pub ctx: PageContext,
    pub rows: Vec<AuditRow>,
    pub actions: Vec<ActionOption>,
    pub action: String,
    pub page: i64,
    pub last_page: i64,
    pub total: i64,
}

impl AuditPageView {
    /// Formats "Page 2 of 5" in the page's language.
    pub fn page_label(&self) -> String {
        let page = crate::i18n::arg(self.page.to_string());
        let last = crate::i18n::arg(self.last_page.to_string());
        self.ctx.locale.t_args("audit-page-of", &[("page", page), ("last", last)])
    }

    /// Builds the link to another page, keeping the filter.
    pub fn page_link(&self, page: &i64) -> String {
        let query = serde_urlencoded::to_string([
            ("action", self.action.as_str()),
            ("page", &page.to_string()),
        ]);
        format!("/audit?{}", query.unwrap_or_default())
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewAudit)?;
    let action = match query.action.as_str() {
        "" => None,
        text => Some(AuditAction::parse(text).ok_or_else(|| {
            AppError::BadRequest(
                UserMessage::new("audit_action_invalid").arg("action", text).field("action"),
            )
        })?),
    };
    let page = query.page.unwrap_or(1).max(1);
    let listed = state.db.list_audit(action, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let zone = state.settings.time_zone();
    let rows = listed.entries.iter().map(|entry| audit_row(entry, &ctx, zone)).collect();
    let actions = AuditAction::ALL
        .into_iter()
        .map(|a| ActionOption {
            value: a.as_str(),
            label: ctx.t(&a.message_id()),
            selected: Some(a) == action,
        })
        .collect();
    let view = AuditPageView {
        ctx: ctx.at("audit"),
        rows,
        actions,
        action: query.action,
        page,
        last_page: ((listed.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        total: listed.total,
    };
    crate::accounts::render_page(&view, StatusCode::OK)
}

fn audit_row(entry: &AuditEntry, ctx: &PageContext, zone: chrono_tz::Tz) -> AuditRow {
    let action_label = AuditAction::parse(&entry.action)
        .map(|a| ctx.t(&a.message_id()))
        .unwrap_or_else(|| entry.action.clone());
    AuditRow {
        occurred_at: entry.occurred_at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: entry.actor.clone(),
        action_label,
        target: entry.target.clone().unwrap_or_default(),
        detail: entry.detail.clone().unwrap_or_default(),
        client_ip: entry.client_ip.clone().unwrap_or_default(),
    }
}
