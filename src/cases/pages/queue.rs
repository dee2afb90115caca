//! The staff queue (`/cases`) and the reporter's own list (`/cases/mine`).

use crate::http::Query;
use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};
use chrono::Utc;

use super::{
    local_time,
    queue_filter::{AreaOption, QUEUE_PAGE_ROWS, QueueQuery, area_options},
    render_page,
    report::{CategoryGroup, group_categories},
    stage_label,
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::{
        calendar::service::with_zone_offset,
        case::{
            CaseError, CaseStore, Stage, followers::surviving_case, query::list_cases,
            view::CaseView,
        },
        catalogue::CatalogueStore,
        inbox::deliver_notices,
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

/// One notice on the reporter's own list.
pub struct NoticeRow {
    pub case_id: i64,
    pub text: String,
    pub created_at: String,
    /// Not shown before this page view.
    pub new: bool,
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
    /// True on `/cases/mine`, which has no filters.
    mine: bool,
    query: QueueQuery,
    stages: Vec<StageOption>,
    categories: Vec<CategoryGroup>,
    areas: Vec<AreaOption>,
    rows: Vec<CaseRow>,
    /// On `/cases/mine`: the reporter's notices, newest first.
    notices: Vec<NoticeRow>,
    time_zone: String,
    previous_page: Option<String>,
    next_page: Option<String>,
}

/// Lists the cases in the user's area scope that match the search form: overdue ones
/// first without search text, the most relevant first with it.
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
    let mut views = list_cases(&state.db, &index, tz, &user, query.list_query()).await?;
    let has_next = views.len() as i64 > QUEUE_PAGE_ROWS;
    views.truncate(QUEUE_PAGE_ROWS as usize);
    if !query.is_search() {
        // A stable sort keeps the newest-first order within the overdue and on-time
        // groups of this page.
        views.sort_by_key(|view| !view.overdue);
    }

    let locale = ctx.locale;
    let stages = Stage::ALL
        .into_iter()
        .map(|stage| StageOption {
            value: stage.as_str(),
            label: stage_label(locale, stage),
            selected: query.stage == stage.as_str(),
        })
        .collect();
    let categories = state.db.list_categories().await.map_err(CaseError::from)?;
    let categories = group_categories(locale, &categories, &query.category);
    let areas = area_options(&user, &index, &query.area);
    let offset = query.offset_rows();
    let previous_page = (offset > 0).then(|| query.page_url((offset - QUEUE_PAGE_ROWS).max(0)));
    let next_page = has_next.then(|| query.page_url(offset + QUEUE_PAGE_ROWS));
    let rows = views.iter().map(|view| CaseRow::new(view, locale)).collect();
    let page = QueuePage {
        ctx: ctx.at("cases"),
        mine: false,
        query,
        stages,
        categories,
        areas,
        rows,
        notices: Vec::new(),
        time_zone: tz.to_string(),
        previous_page,
        next_page,
    };
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
    let notices = deliver_notices(&state.db, user.user_id, now)
        .await?
        .into_iter()
        .map(|notice| NoticeRow {
            case_id: notice.case_id,
            text: notice.text(locale),
            created_at: local_time(with_zone_offset(notice.created_at, tz)),
            new: notice.new,
        })
        .collect();
    let page = QueuePage {
        ctx: ctx.at("mine"),
        notices,
        mine: true,
        query: QueueQuery::default(),
        stages: Vec::new(),
        categories: Vec::new(),
        areas: Vec::new(),
        rows,
        time_zone: tz.to_string(),
        previous_page: None,
        next_page: None,
    };
    render_page(&page, StatusCode::OK)
}
