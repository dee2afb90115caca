//! The case page (`/cases/{case_id}`): details, the transition log, suggested
//! duplicates with a merge button and one small form per action the user may take now.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    FieldError, action_label,
    duplicates::{SuggestionRow, conflict_response, suggestion_rows},
    field_error,
    form_data::FormData,
    local_time, render_page, see_other, stage_label,
};
use crate::{
    accounts::{AccountStore, CurrentUser},
    cases::{
        attachment::{AttachmentStore, check_photos, read_photo, save_photos},
        case::{
            Action, CaseError, CaseStore,
            access::can_read,
            query::read_case,
            transitions::{TransitionInput, transition_case},
            view::{CaseView, EventView},
        },
        catalogue::CatalogueStore,
    },
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
};

/// One entry of the log as the page shows it.
pub struct EventRow {
    pub action_label: String,
    pub stage_label: String,
    /// Display name and role of the person who acted.
    pub actor: String,
    pub occurred_at: String,
    pub comment: String,
    pub reason: String,
    /// Links to the photos uploaded with this transition.
    pub photo_urls: Vec<String>,
}

/// One photo of the case with its EXIF location hint.
pub struct PhotoRow {
    pub url: String,
    /// `latitude, longitude` from the photo's EXIF GPS tags, or empty.
    pub gps_hint: String,
}

/// The form of one allowed action and the fields that action needs.
pub struct ActionForm {
    pub action: &'static str,
    pub label: String,
    pub needs_department: bool,
    pub needs_reason: bool,
    pub needs_extension: bool,
    pub needs_target: bool,
    pub needs_rating: bool,
    /// A new category and an optional department: re-classification.
    pub needs_category: bool,
    /// Before and after photos: on accepting, reporting done and verifying.
    pub needs_photos: bool,
}

impl ActionForm {
    fn new(action: Action, locale: Locale) -> ActionForm {
        use Action::*;
        ActionForm {
            action: action.as_str(),
            label: action_label(locale, Some(action)),
            needs_department: matches!(action, Dispatch | Redispatch),
            needs_reason: matches!(action, Return | Void),
            needs_extension: action == RequestExtension,
            needs_target: action == Merge,
            needs_rating: action == Rate,
            needs_category: action == Reclassify,
            needs_photos: matches!(action, Accept | ReportDone | Verify | Rework),
        }
    }
}

#[derive(Template)]
#[template(path = "cases/detail.html")]
struct CasePage {
    ctx: PageContext,
    case: CaseView,
    stage_label: String,
    due_at: String,
    created_at: String,
    events: Vec<EventRow>,
    photos: Vec<PhotoRow>,
    actions: Vec<ActionForm>,
    /// Open cases that may be duplicates of this one, nearest first.
    suggestions: Vec<SuggestionRow>,
    /// True when the user may merge this case into one of the suggestions.
    can_merge: bool,
    /// Code and name of every department, for dispatch.
    departments: Vec<(String, String)>,
    /// Code and `code name` label of every category, for re-classification.
    categories: Vec<(String, String)>,
    errors: Vec<FieldError>,
    time_zone: String,
}

async fn case_page(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    case_id: i64,
    errors: Vec<FieldError>,
) -> Result<CasePage, AppError> {
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let case = read_case(&state.db, &index, tz, user, case_id).await?;
    let locale = ctx.locale;
    let mut events = Vec::with_capacity(case.events.len());
    for event in &case.events {
        events.push(event_row(state, locale, case_id, event).await?);
    }
    let actions = case.allowed_actions.iter().map(|a| ActionForm::new(*a, locale)).collect();
    let can_merge = case.allowed_actions.contains(&Action::Merge);
    let suggestions = suggestion_rows(state, locale, user, case_id).await?;
    let photos = state
        .db
        .case_attachments(case_id)
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .into_iter()
        .map(|photo| PhotoRow {
            url: photo_url(case_id, &photo.attachment_id),
            gps_hint: photo
                .gps_hint
                .map(|(longitude, latitude)| format!("{latitude:.6}, {longitude:.6}"))
                .unwrap_or_default(),
        })
        .collect();
    Ok(CasePage {
        stage_label: stage_label(locale, case.stage),
        due_at: case.due_at.map(local_time).unwrap_or_default(),
        created_at: local_time(case.created_at),
        departments: departments(state).await?,
        categories: categories(state, locale).await?,
        ctx: ctx.at("cases"),
        case,
        events,
        photos,
        actions,
        suggestions,
        can_merge,
        errors,
        time_zone: tz.to_string(),
    })
}

async fn event_row(
    state: &AppState,
    locale: Locale,
    case_id: i64,
    event: &EventView,
) -> Result<EventRow, AppError> {
    let name = match event.actor_user_id {
        Some(user_id) => state.db.user_by_id(user_id).await?.map(|u| u.display_name),
        None => None,
    };
    let role = event
        .actor_role
        .as_deref()
        .and_then(crate::accounts::Role::parse)
        .map(|role| locale.t(&role.message_id()));
    let actor = [name, role].into_iter().flatten().collect::<Vec<_>>().join(" · ");
    Ok(EventRow {
        action_label: action_label(locale, Action::parse(&event.action)),
        stage_label: stage_label(locale, event.to_stage),
        actor,
        occurred_at: local_time(event.occurred_at),
        comment: event.comment.clone(),
        reason: event.reason.clone().unwrap_or_default(),
        photo_urls: event.attachment_ids.iter().map(|id| photo_url(case_id, id)).collect(),
    })
}

/// Lists the departments of the catalogue, each once, in catalogue order.
async fn departments(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    let categories = state.db.list_categories().await.map_err(CaseError::from)?;
    let mut departments: Vec<(String, String)> = Vec::new();
    for category in categories {
        let department = category.department;
        if !departments.iter().any(|(code, _)| *code == department.department_code) {
            departments.push((department.department_code, department.name));
        }
    }
    Ok(departments)
}

/// Lists every category as its code and a label in `locale`, in catalogue order.
async fn categories(state: &AppState, locale: Locale) -> Result<Vec<(String, String)>, AppError> {
    let categories = state.db.list_categories().await.map_err(CaseError::from)?;
    let label = |category: &crate::cases::catalogue::Category| match locale {
        Locale::En => category.name_en.clone(),
        _ => category.name_zh.clone(),
    };
    Ok(categories
        .iter()
        .map(|category| {
            let code = category.code.as_str().to_owned();
            (code.clone(), format!("{code} {}", label(category)))
        })
        .collect())
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, case.id = case_id))]
pub async fn get_case_page(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(case_id): Path<i64>,
) -> Result<Response, AppError> {
    let page = case_page(&state, ctx, &user, case_id, Vec::new()).await?;
    render_page(&page, StatusCode::OK)
}

/// Builds the transition input from the fields of an action form.
fn transition_input(pairs: Vec<(String, String)>) -> TransitionInput {
    let mut input = TransitionInput::default();
    let number = |text: &str| text.trim().parse::<i64>().ok();
    for (name, value) in pairs {
        let present = !value.trim().is_empty();
        match name.as_str() {
            "action" => input.action = Some(value),
            "expected_version" => input.expected_version = number(&value),
            "comment" => input.comment = Some(value),
            "department_code" if present => input.department_code = Some(value),
            "category_code" => input.category_code = Some(value),
            "reason" => input.reason = Some(value),
            "extension_amount" => input.extension_amount = number(&value),
            "extension_unit" => input.extension_unit = Some(value),
            "target_case_id" => input.target_case_id = number(&value),
            "rating" => input.rating = number(&value),
            _ => {}
        }
    }
    input
}

/// Checks the user may read the case and that the form's version is current, stores
/// the photos sent with the action and applies the action with their ids.
///
/// NOTE: photos are stored before the transition, so a transition that then fails
/// (invalid input, or a conflict that arrives after the version check) leaves them on
/// the case page without a log entry.
async fn take_action(
    state: &AppState,
    user: &CurrentUser,
    case_id: i64,
    mut form: FormData,
) -> Result<(), AppError> {
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let current = read_case(&state.db, &index, tz, user, case_id).await?;
    let photos = check_photos(&state.settings, form.take_uploads()?).await?;
    let mut input = transition_input(form.pairs);
    if let Some(expected) = input.expected_version
        && expected != current.version
    {
        let current = current.version;
        return Err(CaseError::StaleVersion { case_id, expected, current }.into());
    }
    if !photos.is_empty() {
        input.attachment_ids =
            save_photos(&state.db, &state.settings, user.user_id, case_id, photos).await?;
    }
    transition_case(&state.db, &index, &state.settings, user, case_id, input).await?;
    Ok(())
}

/// Takes one action on the case and redirects back to it. A stale version gets the 409
/// conflict page, and other input errors re-render the page with the error next to
/// the action's form.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, case.id = case_id))]
pub async fn post_case_action(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(case_id): Path<i64>,
    form: FormData,
) -> Result<Response, AppError> {
    let action = form.pairs.iter().find(|(name, _)| name == "action").map(|(_, v)| v.clone());
    match take_action(&state, &user, case_id, form).await {
        Ok(()) => Ok(see_other(&format!("/cases/{case_id}?notice=notice-case-updated"))),
        Err(AppError::Conflict(message)) => {
            conflict_response(&state, ctx, case_id, action.as_deref(), &message).await
        }
        Err(error) => {
            let mut error = field_error(error, ctx.locale)?;
            // Each action's form prefixes its field ids with the action's name.
            error.field = format!("{}-{}", action.unwrap_or_default(), error.field);
            let page = case_page(&state, ctx, &user, case_id, vec![error]).await?;
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Builds the address of a case photo.
fn photo_url(case_id: i64, attachment_id: &str) -> String {
    format!("/cases/{case_id}/photos/{attachment_id}")
}

/// Serves a photo to users who may read its case; others get 404.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, case.id = case_id))]
pub async fn get_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((case_id, attachment_id)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let case = state.db.case_by_id(case_id).await.map_err(CaseError::from)?;
    let index = state.locator.snapshot();
    if !case.is_some_and(|case| can_read(&user, &index, &case)) {
        return Err(CaseError::NotFound(case_id).into());
    }
    let (attachment, bytes) =
        read_photo(&state.db, &state.settings, case_id, &attachment_id).await?;
    let headers = [
        (header::CONTENT_TYPE, attachment.content_type),
        (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    Ok((headers, bytes).into_response())
}
