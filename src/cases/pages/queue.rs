//! The staff queue (`/cases`) and the reporter's own list (`/cases/mine`).

use askama::Template;
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;

use super::{local_time, render_page, stage_label};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::case::{
        CaseStore, Stage,
        followers::surviving_case,
        query::{ListQuery, list_cases},
        view::CaseView,
    },
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
};

/// Cases shown on the reporter's own list.
const MY_CASES_LIMIT: i64 = 100;

/// One row of a case table.
pub struct CaseRow {
    pub case_id: i64,
    pub title: String,
    pub category_code: String,
    pub stage_label: String,
    /// Local deadline of the current stage, empty once no clock runs.
    pub due_at: String,
    pub overdue: bool,
}

impl CaseRow {
    fn new(view: &CaseView, locale: Locale) -> CaseRow {
        CaseRow {
            case_id: view.case_id,
            title: view.title.clone(),
            category_code: view.category_code.clone(),
            stage_label: stage_label(locale, view.stage),
            due_at: view.due_at.map(local_time).unwrap_or_default(),
            overdue: view.overdue,
        }
    }
}

/// One option of the stage filter.
pub struct StageOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "cases/queue.html")]
struct QueuePage {
    ctx: PageContext,
    /// True on `/cases/mine`, which has no stage filter.
    mine: bool,
    stages: Vec<StageOption>,
    rows: Vec<CaseRow>,
    time_zone: String,
}

/// Filters of the queue page. An empty stage means every stage.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    pub stage: String,
}

/// Lists the cases in the user's area scope, overdue ones first.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<QueueQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewCases)?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let stage = (!query.stage.is_empty()).then(|| query.stage.clone());
    let list_query = ListQuery { stage, limit: Some("200".to_owned()), ..ListQuery::default() };
    let mut views = list_cases(&state.db, &index, tz, &user, list_query).await?;
    // A stable sort keeps the newest-first order within the overdue and on-time groups.
    views.sort_by_key(|view| !view.overdue);

    let locale = ctx.locale;
    let stages = Stage::ALL
        .into_iter()
        .map(|stage| StageOption {
            value: stage.as_str(),
            label: stage_label(locale, stage),
            selected: query.stage == stage.as_str(),
        })
        .collect();
    let rows = views.iter().map(|view| CaseRow::new(view, locale)).collect();
    let page =
        QueuePage { ctx: ctx.at("cases"), mine: false, stages, rows, time_zone: tz.to_string() };
    render_page(&page, StatusCode::OK)
}

/// Lists the cases the user reported, newest first. A merged case shows the stage of
/// the case it was merged into, since that is where the work happens.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_my_cases(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let tz = state.settings.time_zone();
    let now = Utc::now();
    let cases = state
        .db
        .cases_by_reporter(user.user_id, MY_CASES_LIMIT)
        .await
        .map_err(crate::cases::case::CaseError::from)?;
    let locale = ctx.locale;
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let merged = case.stage == Stage::Merged;
        let mut row = CaseRow::new(&CaseView::new(case.clone(), tz, now, true), locale);
        if merged {
            let survivor = surviving_case(&state.db, &case).await?;
            let survivor_stage = stage_label(locale, survivor.stage);
            row.stage_label = ctx.t1("dup-page-merged-stage", "stage", &survivor_stage);
        }
        rows.push(row);
    }
    let page = QueuePage {
        ctx: ctx.at("mine"),
        mine: true,
        stages: Vec::new(),
        rows,
        time_zone: tz.to_string(),
    };
    render_page(&page, StatusCode::OK)
}
