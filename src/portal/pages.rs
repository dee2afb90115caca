//! A linked resident's own pages: `/portal` (home), `/portal/household` and
//! `/portal/notices`. Each reads only the caller's registry record, its household and
//! its inbox, so no id in a URL can reach another resident's data.

use askama::Template;
use axum::{
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, Utc};

use super::{render_page, see_other, signup};
use crate::{
    accounts::{CurrentUser, Role},
    db::Db,
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::Locale,
    residents::{
        Household, Resident,
        http::path_id,
        notices::inbox::{self, InboxEntry},
        store::{self, ResidentFilter},
    },
    with_pool,
};

/// Notices listed on the notices page, newest first after unread urgent ones.
const INBOX_LIMIT: i64 = 200;
/// Maximum members listed for one household, far above the size of a family.
const MEMBER_LIMIT: i64 = 100;

/// Returns the caller's registry record, `None` while the account is not linked.
///
/// # Errors
/// 403 for any role but a resident.
async fn linked_resident(db: &Db, user: &CurrentUser) -> Result<Option<i64>, AppError> {
    if user.role != Role::Resident {
        return Err(AppError::Forbidden);
    }
    Ok(inbox::resident_of_user(db, user.user_id).await?)
}

/// Formats a UTC time in the configured zone as `2026-12-06 09:30`.
fn local(state: &AppState, at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.with_timezone(&state.settings.time_zone()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "portal/pending.html")]
struct PendingPage {
    ctx: PageContext,
    /// `pending`, `rejected`, or `none` for an account made by staff and not yet linked.
    status: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    ctx: PageContext,
    unread: i64,
    urgent_unread: i64,
    address: String,
}

/// Shows the portal's home, or the state of the sign-up while the account is not linked.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_home(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let Some(resident_id) = linked_resident(&state.db, &user).await? else {
        let own = signup::own_signup(&state.db, user.user_id).await?;
        let (status, reason) = match own {
            Some(own) => (own.status, own.reason.unwrap_or_default()),
            None => ("none".to_owned(), String::new()),
        };
        let page = PendingPage { ctx: ctx.at("portal"), status, reason };
        return render_page(&page, StatusCode::OK);
    };
    let (unread, urgent_unread) = unread_counts(&state.db, resident_id).await?;
    let (household, _) = own_household(&state.db, resident_id).await?;
    let page =
        HomePage { ctx: ctx.at("portal"), unread, urgent_unread, address: household.address };
    render_page(&page, StatusCode::OK)
}

/// Counts the unread notices of `resident_id`, all and urgent.
async fn unread_counts(db: &Db, resident_id: i64) -> Result<(i64, i64), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(CASE WHEN n.priority = 'urgent' THEN 1 END) \
             FROM notice_recipient nr JOIN notice n ON n.notice_id = nr.notice_id \
             WHERE nr.resident_id = $1 AND nr.read_at IS NULL",
        )
        .bind(resident_id)
        .fetch_one(pool)
        .await
    })
}

/// Loads the household of `resident_id` and its members, numbers masked.
async fn own_household(db: &Db, resident_id: i64) -> Result<(Household, Vec<Resident>), AppError> {
    let missing = || AppError::NotFound(UserMessage::new("notice_no_linked_resident"));
    let resident = store::resident_by_id(db, resident_id).await?.ok_or_else(missing)?;
    let household = store::household_by_id(db, resident.household_id).await?.ok_or_else(missing)?;
    let filter = ResidentFilter {
        household_id: Some(household.household_id),
        limit: MEMBER_LIMIT,
        ..Default::default()
    };
    Ok((household, store::list_residents(db, &filter).await?))
}

/// One member of the household as the page shows it.
struct MemberRow {
    name: String,
    relation: String,
    identity_masked: String,
    phone_masked: String,
    is_self: bool,
}

#[derive(Template)]
#[template(path = "portal/household.html")]
struct HouseholdPage {
    ctx: PageContext,
    address: String,
    members: Vec<MemberRow>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_household(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let Some(resident_id) = linked_resident(&state.db, &user).await? else {
        return Ok(see_other("/portal"));
    };
    let (household, residents) = own_household(&state.db, resident_id).await?;
    let locale = ctx.locale;
    let members = residents
        .into_iter()
        .map(|member| MemberRow {
            relation: relation_label(locale, member.relation.as_str()),
            is_self: member.resident_id == resident_id,
            name: member.name,
            identity_masked: member.identity_number,
            phone_masked: member.phone.unwrap_or_default(),
        })
        .collect();
    let page = HouseholdPage { ctx: ctx.at("household"), address: household.address, members };
    render_page(&page, StatusCode::OK)
}

fn relation_label(locale: Locale, relation: &str) -> String {
    locale.t(&format!("portal-relation-{relation}"))
}

/// One notice of the list.
struct NoticeRow {
    notice_id: i64,
    title: String,
    urgent: bool,
    read: bool,
    sent_at: String,
}

#[derive(Template)]
#[template(path = "portal/notices.html")]
struct NoticesPage {
    ctx: PageContext,
    notices: Vec<NoticeRow>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_notices(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let Some(resident_id) = linked_resident(&state.db, &user).await? else {
        return Ok(see_other("/portal"));
    };
    let entries = inbox::inbox(&state.db, resident_id, INBOX_LIMIT).await?;
    let notices = entries
        .into_iter()
        .map(|entry| NoticeRow {
            notice_id: entry.notice_id,
            urgent: entry.priority == "urgent",
            read: entry.read_at.is_some(),
            sent_at: local(&state, entry.sent_at),
            title: entry.title,
        })
        .collect();
    render_page(&NoticesPage { ctx: ctx.at("notices"), notices }, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "portal/notice.html")]
struct NoticePage {
    ctx: PageContext,
    notice: InboxEntry,
    urgent: bool,
    sent_at: String,
}

/// Shows one notice and records its read receipt; another resident's notice is 404.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_notice(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, AppError> {
    let notice_id = path_id(path, "notice")?;
    let Some(resident_id) = linked_resident(&state.db, &user).await? else {
        return Ok(see_other("/portal"));
    };
    let notice = inbox::mark_read(&state.db, resident_id, notice_id, Utc::now())
        .await?
        .ok_or_else(|| {
            let message = UserMessage::new("not_found").arg("what", "notice").arg("id", notice_id);
            AppError::NotFound(message)
        })?;
    let page = NoticePage {
        ctx: ctx.at("notices"),
        urgent: notice.priority == "urgent",
        sent_at: local(&state, notice.sent_at),
        notice,
    };
    render_page(&page, StatusCode::OK)
}
