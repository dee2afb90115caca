//! The account inbox of reporter notices (消息): delivery of the `case_notice` outbox to
//! reporters who have an account.
//!
//! A transition of a followed case writes one notice per follower in its own
//! transaction (see `write_follow_ups!`). A reporter with an account reads them at
//! `GET /api/v1/notices` or on `/cases/mine`. A read sets `delivered_at` on every
//! notice up to the newest one shown, so the next read marks only later ones as new.
//! Reporters without an account follow their case through its tracking page, which
//! shows the surviving case's stage and history.

use axum::{Json, Router, extract::State, http::HeaderMap, routing::get};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::{
    accounts::CurrentUser,
    cases::{calendar::service::with_zone_offset, case::stage::Stage},
    db::Db,
    http::{AppError, AppState, error::request_locale},
    i18n::{Locale, arg},
    with_pool,
};

/// Notices shown per read, newest first.
pub const INBOX_LIMIT: i64 = 50;

/// One notice as stored, with whether this read delivered it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxNotice {
    pub case_notice_id: i64,
    /// The case that moved.
    pub case_id: i64,
    /// The case the recipient reported.
    pub source_case_id: i64,
    pub stage: String,
    pub message_key: String,
    pub created_at: DateTime<Utc>,
    /// True when the notice had not been delivered before this read.
    pub new: bool,
}

impl InboxNotice {
    /// Returns the notice's text in `locale`, the stage named in the same language.
    pub fn text(&self, locale: Locale) -> String {
        let stage = Stage::parse(&self.stage).map_or_else(
            || self.stage.clone(),
            |stage| locale.t(&format!("cases-page-stage-{}", stage.as_str().replace('_', "-"))),
        );
        locale.t_args(&self.message_key, &[("stage", arg(stage))])
    }
}

/// Returns the newest [`INBOX_LIMIT`] notices of `user_id` and, in the same transaction,
/// marks every undelivered one up to the newest as delivered at `now`.
///
/// # Errors
/// A database failure; nothing is marked then.
pub async fn deliver_notices(
    db: &Db,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<InboxNotice>, sqlx::Error> {
    with_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let notices: Vec<InboxNotice> = sqlx::query_as(
            "SELECT case_notice_id, case_id, source_case_id, stage, message_key, created_at, \
             delivered_at IS NULL AS new FROM case_notice WHERE recipient_user_id = $1 \
             ORDER BY case_notice_id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(INBOX_LIMIT)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(newest) = notices.first().filter(|_| notices.iter().any(|n| n.new)) {
            sqlx::query(
                "UPDATE case_notice SET delivered_at = $1 WHERE recipient_user_id = $2 \
                 AND delivered_at IS NULL AND case_notice_id <= $3",
            )
            .bind(now)
            .bind(user_id)
            .bind(newest.case_notice_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if notices.iter().any(|notice| notice.new) {
            tracing::info!(user.id = user_id, notices = notices.len(), "notices delivered");
        }
        Ok(notices)
    })
}

/// A notice as the API shows it.
#[derive(Debug, Serialize)]
pub struct NoticeView {
    pub case_id: i64,
    pub source_case_id: i64,
    pub stage: String,
    pub message_key: String,
    /// The message in the request's language.
    pub message: String,
    pub created_at: DateTime<FixedOffset>,
    pub new: bool,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/notices", get(get_notices))
}

/// Lists the caller's notices, newest first, and delivers them.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_notices(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Json<Vec<NoticeView>>, AppError> {
    let default = Locale::parse(&state.settings.ui.default_locale).unwrap_or_default();
    let locale = request_locale(&headers, default);
    let tz = state.settings.time_zone();
    let notices = deliver_notices(&state.db, user.user_id, Utc::now()).await?;
    let views = notices
        .into_iter()
        .map(|notice| NoticeView {
            message: notice.text(locale),
            created_at: with_zone_offset(notice.created_at, tz),
            case_id: notice.case_id,
            source_case_id: notice.source_case_id,
            stage: notice.stage,
            message_key: notice.message_key,
            new: notice.new,
        })
        .collect();
    Ok(Json(views))
}
